package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/erpflow/erpflow/pipeline/record"
)

// Config tunes the runner. Zero values take the defaults below.
type Config struct {
	BatchSize       int           // messages per batch; default 20000
	BatchWait       time.Duration // longest a partly filled batch waits; default 500ms
	SinkConcurrency int           // batches written at once; default 2
	// SinkLinger is how long a sink writer that took a batch waits for
	// more to land with it in one insert (GroupSink); 0 takes only those
	// already waiting. Negative means 0.
	SinkLinger   time.Duration
	RetryMin     time.Duration // first back-off after a failed write; default 200ms
	RetryMax     time.Duration // longest back-off; default 10s
	DrainTimeout time.Duration // on shutdown, time to finish in-flight batches; default 15s
	// CommitInterval is how often a failed commit is tried again while no
	// batch lands; default 1s.
	CommitInterval time.Duration
	// UntilCaughtUp makes Run return once every input partition is consumed
	// to its end and committed (the source must be a LagReporter).
	UntilCaughtUp bool
}

func (c *Config) defaults() {
	if c.BatchSize <= 0 {
		c.BatchSize = 20000
	}
	if c.BatchWait <= 0 {
		c.BatchWait = 500 * time.Millisecond
	}
	if c.SinkConcurrency <= 0 {
		c.SinkConcurrency = 2
	}
	if c.RetryMin <= 0 {
		c.RetryMin = 200 * time.Millisecond
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 10 * time.Second
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 15 * time.Second
	}
	if c.CommitInterval <= 0 {
		c.CommitInterval = time.Second
	}
}

// Stats are the runner's totals over acknowledged batches.
type Stats struct {
	Consumed     int64 // messages in acknowledged batches, transaction markers not counted
	Landed       int64 // records the sink acknowledged, and messages applied whole (Batch.Applied)
	DeadLettered int64 // messages stored in the dead-letter topic
	Duplicates   int64 // records recognised as already landed
	Batches      int64
}

// Runner moves messages from a Source through Stages into a Sink.
type Runner struct {
	cfg     Config
	src     Source
	stages  []Stage
	sink    Sink
	dlq     DeadLetterSink
	metrics *Metrics
	log     *slog.Logger

	consumed, landed, dead, dups, batches atomic.Int64
	sinkOK, dlqOK, commitOK               atomic.Bool
	// gather lets one sink writer at a time take batches, so that a writer
	// lingering for more does not share them out with the other writers.
	gather sync.Mutex
	// slots bounds the batches fetched but not yet committed: when one
	// batch cannot land, the later ones wait for it (they cannot commit
	// before it), and without a bound the fetcher would go on reading the
	// whole topic into memory; when commits fail, a crash would read again
	// everything landed since the last one that worked.
	slots chan struct{}
	// issued and committed count batches: the fetcher has handed out
	// batches [0, issued) and offsets of [0, committed) are committed.
	issued, committed atomic.Uint64
	// taken counts batches the sink writers have taken; filling says the
	// fetcher holds messages for a batch not yet handed out, and drained
	// that its last fetch found none. Together they hint to a lingering
	// writer whether another batch will come soon: a fetcher held back by
	// the slots is not drained (commits will free them), one whose
	// last batch closed on an empty fetch is. A wrong hint only makes a
	// group smaller, or its write later by at most SinkLinger.
	taken            atomic.Uint64
	filling, drained atomic.Bool
	// waiters are the stages that may wait for acknowledgements.
	waiters []AckWaiter
	// Progress, when set, is called after every commit.
	Progress func(Stats)
}

// NewRunner wires a runner. metrics and log may be nil.
func NewRunner(cfg Config, src Source, stages []Stage, sink Sink, dlq DeadLetterSink, metrics *Metrics, log *slog.Logger) *Runner {
	cfg.defaults()
	if metrics == nil {
		metrics = NewMetrics(nil)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Runner{cfg: cfg, src: src, stages: stages, sink: sink, dlq: dlq, metrics: metrics, log: log,
		slots: make(chan struct{}, cfg.SinkConcurrency+3)}
	for _, s := range stages {
		if w, ok := s.(AckWaiter); ok {
			r.waiters = append(r.waiters, w)
		}
	}
	r.sinkOK.Store(true)
	r.dlqOK.Store(true)
	r.commitOK.Store(true)
	return r
}

// Stats returns the totals so far.
func (r *Runner) Stats() Stats {
	return Stats{Consumed: r.consumed.Load(), Landed: r.landed.Load(), DeadLettered: r.dead.Load(),
		Duplicates: r.dups.Load(), Batches: r.batches.Load()}
}

// Healthy says why the runner cannot land records right now, or nil: the
// last sink write and the last dead-letter write must have succeeded.
func (r *Runner) Healthy() error {
	switch {
	case !r.sinkOK.Load():
		return errors.New("the last sink write failed")
	case !r.dlqOK.Load():
		return errors.New("the last dead-letter write failed")
	case !r.commitOK.Load():
		// Fetching stops once every slot waits for a commit.
		return errors.New("the last offset commit failed")
	}
	return nil
}

// Run works until ctx is cancelled (then in-flight batches get DrainTimeout
// to land, and whatever has not landed is left uncommitted) or, with
// UntilCaughtUp, until the input is consumed. A clean stop returns nil.
func (r *Runner) Run(ctx context.Context) error {
	var lagger LagReporter
	if r.cfg.UntilCaughtUp {
		var ok bool
		if lagger, ok = r.src.(LagReporter); !ok {
			return errors.New("run until caught up: the source cannot report lag")
		}
	}
	// drainCtx outlives ctx by DrainTimeout so that batches already fetched
	// can still land after a shutdown signal.
	drainCtx, drainCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer drainCancel()
	stopDrain := context.AfterFunc(ctx, func() {
		time.AfterFunc(r.cfg.DrainTimeout, drainCancel)
	})
	defer stopDrain()

	// failCtx ends everything when a stage fails.
	failCtx, fail := context.WithCancelCause(drainCtx)
	defer fail(nil)
	fetchCtx, fetchCancel := context.WithCancel(ctx)
	defer fetchCancel()
	context.AfterFunc(failCtx, fetchCancel)

	// Queues are short on purpose: every queued batch is memory, and the
	// sink writers are what limits throughput anyway.
	toProcess := make(chan *Batch, 1)
	toSink := make(chan *Batch, 1)
	acks := make(chan *Batch, r.cfg.SinkConcurrency)

	var wg sync.WaitGroup
	var fetchErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(toProcess)
		fetchErr = r.fetch(fetchCtx, lagger, toProcess)
		if fetchErr != nil {
			fail(fetchErr)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(toSink)
		if err := r.process(failCtx, toProcess, toSink); err != nil {
			fail(err)
		}
	}()
	var sinkWG sync.WaitGroup
	for i := 0; i < r.cfg.SinkConcurrency; i++ {
		sinkWG.Add(1)
		go func() {
			defer sinkWG.Done()
			r.write(failCtx, toSink, acks)
		}()
	}
	go func() { sinkWG.Wait(); close(acks) }()

	r.commitLoop(drainCtx, acks)
	wg.Wait()
	if err := context.Cause(failCtx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// fetch fills batches by size or wait and hands them on in order.
func (r *Runner) fetch(ctx context.Context, lagger LagReporter, out chan<- *Batch) error {
	backoff := r.cfg.RetryMin
	finalSent := false
	// idle is how long an empty batch waits for messages while running
	// until caught up and nothing is in flight: the end comes when the
	// batches in flight are committed, which a poll of BatchWait would
	// notice up to that late, twice over (the last batch, then the final
	// one). It starts short and doubles while nothing comes, up to
	// BatchWait, since each look then asks the broker for the lag.
	var idle time.Duration
	// ender, when running until caught up, lets a partly filled batch go
	// as soon as the input is read to its end.
	var ender EndReporter
	if lagger != nil {
		ender, _ = r.src.(EndReporter)
	}
	for {
		select {
		case r.slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		b := &Batch{Seq: r.issued.Load()}
		var deadline time.Time
		for len(b.Messages) < r.cfg.BatchSize {
			wait := r.cfg.BatchWait
			if len(b.Messages) > 0 {
				wait = time.Until(deadline)
				if wait <= 0 {
					break
				}
				if ender != nil {
					wait = min(wait, endPoll)
				}
			} else if lagger != nil {
				if r.committed.Load() != r.issued.Load() {
					// Nothing is known until the batches in flight (the
					// final one, say) are committed, and looking costs
					// nothing until then: look again soon.
					wait = min(2*time.Millisecond, r.cfg.BatchWait)
				} else {
					idle = min(max(2*idle, 10*time.Millisecond), r.cfg.BatchWait)
					wait = idle
				}
			}
			msgs, err := r.src.Fetch(ctx, r.cfg.BatchSize-len(b.Messages), wait)
			if ctx.Err() != nil {
				<-r.slots
				return nil
			}
			if err != nil {
				r.log.Warn("fetch failed; retrying", "err", err, "backoff", backoff)
				if !sleep(ctx, backoff) {
					<-r.slots
					return nil
				}
				backoff = min(backoff*2, r.cfg.RetryMax)
				continue
			}
			backoff = r.cfg.RetryMin
			r.drained.Store(len(msgs) == 0)
			if len(msgs) == 0 {
				if len(b.Messages) > 0 {
					if ender != nil && ender.AtEnd(ctx) {
						break
					}
					continue
				}
				if lagger != nil {
					done, err := r.caughtUp(ctx, lagger)
					if err != nil {
						r.log.Warn("lag check failed", "err", err)
					}
					if done && !finalSent {
						// One empty batch through the stages first,
						// so that held-back records land too.
						finalSent = true
						b.Final, b.Fetched = true, time.Now()
						break
					}
					if done {
						<-r.slots
						return nil
					}
				}
				continue
			}
			if len(b.Messages) == 0 {
				b.Fetched = time.Now()
				deadline = b.Fetched.Add(r.cfg.BatchWait)
			}
			idle = 0
			if b.Messages == nil {
				b.Messages = msgs // the source's to give (Source.Fetch): no copy
			} else {
				b.Messages = append(b.Messages, msgs...)
			}
			r.filling.Store(true)
			// Messages after a final batch need one of their own.
			finalSent = false
		}
		r.issued.Add(1)
		r.filling.Store(false)
		r.metrics.InFlight.Inc()
		r.metrics.BatchSize.Observe(float64(len(b.Messages)))
		select {
		case out <- b:
		case <-ctx.Done():
			// The batch was fetched but never processed: it is simply not
			// committed, and the next run reads it again.
			r.metrics.InFlight.Dec()
			<-r.slots
			return nil
		}
	}
}

// endPoll is how long a partly filled batch waits for messages, when
// running until caught up, before it asks the source whether there are
// any left to wait for.
const endPoll = 5 * time.Millisecond

// caughtUp is true once every batch handed out is committed and the group's
// lag over all input partitions is zero.
func (r *Runner) caughtUp(ctx context.Context, lagger LagReporter) (bool, error) {
	if r.committed.Load() != r.issued.Load() {
		return false, nil
	}
	lag, err := lagger.Lag(ctx)
	if err != nil {
		return false, err
	}
	return lag == 0 && r.committed.Load() == r.issued.Load(), nil
}

// process runs every stage in a goroutine of its own, joined by unbuffered
// queues: while matching works on one batch, decoding works on the next, so
// the stages' time per batch is no longer added up on one core. Each stage
// still sees the batches one at a time and in order, which is all a stateful
// stage relies on. The first stage to fail stops the others.
func (r *Runner) process(ctx context.Context, in <-chan *Batch, out chan<- *Batch) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		failOnce sync.Once
		failed   error
	)
	up := in
	for i, s := range r.stages {
		down := out
		var next chan *Batch
		if i < len(r.stages)-1 {
			next = make(chan *Batch)
			down = next
		}
		last := i == len(r.stages)-1
		wg.Add(1)
		go func(up <-chan *Batch) {
			defer wg.Done()
			if next != nil {
				defer close(next)
			}
			if err := r.runStage(ctx, s, last, up, down); err != nil {
				failOnce.Do(func() { failed = err })
				cancel()
			}
		}(up)
		up = next
	}
	if len(r.stages) == 0 {
		r.forward(ctx, in, out)
	}
	wg.Wait()
	return failed
}

// runStage feeds one stage until its input ends or ctx does.
func (r *Runner) runStage(ctx context.Context, s Stage, last bool, in <-chan *Batch, out chan<- *Batch) error {
	for {
		var b *Batch
		select {
		case b = <-in:
		case <-ctx.Done():
			return nil
		}
		if b == nil {
			return nil
		}
		start := time.Now()
		dead, dups := len(b.Dead), len(b.Duplicates)
		if err := s.Process(ctx, b); err != nil {
			return fmt.Errorf("stage %s: %w", s.Name(), err)
		}
		b.busy += time.Since(start)
		r.countStage(s.Name(), b, len(b.Dead)-dead, b.Duplicates[min(dups, len(b.Duplicates)):])
		if last {
			r.metrics.BatchSeconds.WithLabelValues("process").Observe(b.busy.Seconds())
		}
		select {
		case out <- b:
		case <-ctx.Done():
			return nil
		}
	}
}

// forward hands batches on untouched when there are no stages.
func (r *Runner) forward(ctx context.Context, in <-chan *Batch, out chan<- *Batch) {
	for b := range in {
		r.metrics.BatchSeconds.WithLabelValues("process").Observe(0)
		select {
		case out <- b:
		case <-ctx.Done():
			return
		}
	}
}

// countStage records what left a stage: items by kind, the duplicates it
// took out by kind, and the messages it dead-lettered (whose kind may be
// unknowable, so they count as "unknown").
func (r *Runner) countStage(stage string, b *Batch, dead int, dups []Item) {
	var perKind, dupKind [16]int
	for i := range b.Items {
		perKind[b.Items[i].Rec.Kind&15]++
	}
	for i := range dups {
		dupKind[dups[i].Rec.Kind&15]++
	}
	for k := range perKind {
		if n := perKind[k]; n > 0 {
			r.metrics.Records.WithLabelValues(stage, record.Kind(k).String(), "ok").Add(float64(n))
		}
		if n := dupKind[k]; n > 0 {
			r.metrics.Records.WithLabelValues(stage, record.Kind(k).String(), "duplicate").Add(float64(n))
		}
	}
	if dead > 0 {
		r.metrics.Records.WithLabelValues(stage, "unknown", "dead_letter").Add(float64(dead))
	}
}

// write lands a batch: items in the sink, then dead letters, each retried
// with back-off until it succeeds or the runner is told to stop. Only a batch
// that got through both is acknowledged.
//
// Batches already waiting when a writer takes one go with it, up to
// maxGroup, if the sink can write them together (GroupSink): one insert
// per table instead of one per table and batch. If that write fails, each
// batch is written alone as usual, which retries and sorts out refusals.
func (r *Runner) write(ctx context.Context, in <-chan *Batch, acks chan<- *Batch) {
	gs, _ := r.sink.(GroupSink)
	var group []*Batch
	for {
		group = r.take(in, gs != nil, group[:0])
		if len(group) == 0 {
			return
		}
		start := time.Now()
		together := false
		if len(group) > 1 {
			err := gs.WriteGroup(ctx, group)
			together = err == nil
			switch {
			case together:
				r.sinkOK.Store(true)
			case ctx.Err() == nil:
				r.metrics.SinkErrors.Inc()
				r.log.Info("group write failed; writing its batches one by one", "batches", len(group), "err", err)
			}
		}
		if together {
			r.metrics.SinkWrites.WithLabelValues(strconv.Itoa(len(group))).Inc()
		} else {
			r.metrics.SinkWrites.WithLabelValues("1").Add(float64(len(group)))
		}
		for _, b := range group {
			ok := together || r.retry(ctx, "sink", &r.sinkOK, func() error { return r.sink.Write(ctx, b) })
			if ok && len(b.Dead) > 0 {
				ok = r.retry(ctx, "dead-letter", &r.dlqOK, func() error { return r.dlq.WriteDead(ctx, b.Dead) })
			}
			if !ok {
				// Abandoned during shutdown: not acknowledged, never committed.
				continue
			}
			took := time.Since(start)
			r.metrics.BatchSeconds.WithLabelValues("sink").Observe(took.Seconds())
			r.log.Debug("batch landed", "seq", b.Seq, "messages", len(b.Messages), "records", len(b.Items),
				"dead", len(b.Dead), "sink", took, "since_fetch", time.Since(b.Fetched), "group", len(group))
			acks <- b
		}
		clear(group)
	}
}

// take appends the next batch to group and, when grouping, those that are
// waiting or arrive within SinkLinger of it, up to maxGroup. It waits no
// longer once no batch can come: none is between the fetcher and the
// writers, the fetcher has nothing for the next one and the source had
// nothing either (the end of a run, a quiet topic). A final batch ends the
// wait too. It returns group unchanged once in is closed.
func (r *Runner) take(in <-chan *Batch, grouping bool, group []*Batch) []*Batch {
	r.gather.Lock()
	defer r.gather.Unlock()
	b, ok := <-in
	if !ok {
		return group
	}
	r.taken.Add(1)
	group = append(group, b)
	if !grouping {
		return group
	}
	var timeout, look <-chan time.Time
	for len(group) < maxGroup && !b.Final {
		if nb, ok := tryRecv(in); ok {
			r.taken.Add(1)
			b = nb
			group = append(group, b)
			continue
		}
		if r.cfg.SinkLinger <= 0 || r.nothingComing() {
			break
		}
		if timeout == nil {
			t := time.NewTimer(r.cfg.SinkLinger)
			defer t.Stop()
			tick := time.NewTicker(lingerLook)
			defer tick.Stop()
			timeout, look = t.C, tick.C
		}
		select {
		case nb, ok := <-in:
			if !ok {
				return group
			}
			r.taken.Add(1)
			b = nb
			group = append(group, b)
		case <-timeout:
			return group
		case <-look:
		}
	}
	return group
}

// lingerLook is how often a lingering writer looks whether a batch can
// still come.
const lingerLook = 5 * time.Millisecond

// nothingComing is true when no batch is on its way to the sink writers,
// the fetcher holds no messages for the next, and the source had none; or
// when a stage waits for the batches the writers hold to land.
func (r *Runner) nothingComing() bool {
	for _, w := range r.waiters {
		if w.WaitingForAcks() {
			return true
		}
	}
	return r.issued.Load() == r.taken.Load() && !r.filling.Load() && r.drained.Load()
}

// maxGroup is the most batches a sink writer lands together.
const maxGroup = 3

// tryRecv takes a batch from in if one is waiting.
func tryRecv(in <-chan *Batch) (*Batch, bool) {
	select {
	case b, ok := <-in:
		return b, ok
	default:
		return nil, false
	}
}

func (r *Runner) retry(ctx context.Context, what string, healthy *atomic.Bool, f func() error) bool {
	err := Retry(ctx, r.cfg.RetryMin, r.cfg.RetryMax, f, func(attempt int, err error, wait time.Duration) {
		healthy.Store(false)
		r.metrics.SinkErrors.Inc()
		r.log.Warn(what+" write failed; holding offsets and retrying", "attempt", attempt, "err", err, "backoff", wait)
	})
	if err != nil {
		healthy.Store(false)
		return false
	}
	healthy.Store(true)
	return true
}

// commitLoop commits offsets only over the contiguous prefix of acknowledged
// batches: batch n+1 may land before batch n, but its offsets wait for n.
func (r *Runner) commitLoop(ctx context.Context, acks <-chan *Batch) {
	pending := map[uint64]*Batch{}
	next := uint64(0)
	var marks []Mark
	// held counts the batches accounted whose slots wait for their commit:
	// while commits fail, the fetcher stops once every slot is held, so
	// that what a crash reads again stays bounded.
	held := 0
	release := func() {
		for ; held > 0; held-- {
			<-r.slots
		}
	}
	ticker := time.NewTicker(r.cfg.CommitInterval)
	defer ticker.Stop()
	flush := func() {
		if len(marks) == 0 {
			// Nothing to commit: the batches acknowledged so far had no
			// messages (the final batch), or their marks are committed.
			r.committed.Store(next)
			release()
			return
		}
		if err := r.src.Commit(ctx, marks); err != nil {
			r.commitOK.Store(false)
			r.metrics.Commits.WithLabelValues("error").Inc()
			r.log.Warn("offset commit failed; will retry", "err", err)
			return
		}
		r.commitOK.Store(true)
		r.metrics.Commits.WithLabelValues("ok").Inc()
		marks = marks[:0]
		r.committed.Store(next)
		release()
		if r.Progress != nil {
			r.Progress(r.Stats())
		}
	}
	for {
		select {
		case b, ok := <-acks:
			if !ok {
				flush()
				return
			}
			pending[b.Seq] = b
			for {
				nb, ok := pending[next]
				if !ok {
					break
				}
				delete(pending, next)
				next++
				marks = mergeMarks(marks, nb.marks())
				r.account(nb)
				held++
			}
			flush()
		case <-ticker.C:
			flush()
		}
	}
}

func (r *Runner) account(b *Batch) {
	for _, s := range r.stages {
		if a, ok := s.(Acker); ok {
			a.Acked(b)
		}
	}
	r.metrics.InFlight.Dec()
	controls := 0
	for i := range b.Messages {
		if b.Messages[i].Control {
			controls++
		}
	}
	if controls > 0 {
		r.metrics.Records.WithLabelValues("source", "unknown", "control_record").Add(float64(controls))
	}
	r.consumed.Add(int64(len(b.Messages) - controls))
	r.landed.Add(int64(len(b.Items) + b.Applied))
	r.dead.Add(int64(len(b.Dead)))
	r.dups.Add(int64(len(b.Duplicates)))
	r.batches.Add(1)
	r.metrics.Duplicates.Add(float64(len(b.Duplicates)))
	var perKind [16]int
	for i := range b.Items {
		perKind[b.Items[i].Rec.Kind&15]++
	}
	for k, n := range perKind {
		if n > 0 {
			r.metrics.SinkRows.WithLabelValues(record.Kind(k).String()).Add(float64(n))
		}
	}
	for _, d := range b.Dead {
		// The label is the reason without its field path: paths come from
		// the input, and a hostile producer must not mint series.
		reason, _, _ := strings.Cut(d.Reason, ":")
		r.metrics.DeadLetters.WithLabelValues(d.Stage, reason).Inc()
	}
	if !b.Fetched.IsZero() {
		r.metrics.BatchSeconds.WithLabelValues("total").Observe(time.Since(b.Fetched).Seconds())
	}
}

// mergeMarks keeps the furthest mark per partition; later batches come later.
func mergeMarks(into, from []Mark) []Mark {
	for _, m := range from {
		found := false
		for i := range into {
			if into[i].Topic == m.Topic && into[i].Partition == m.Partition {
				if m.Next > into[i].Next || m.Epoch != into[i].Epoch {
					into[i] = m
				}
				found = true
				break
			}
		}
		if !found {
			into = append(into, m)
		}
	}
	return into
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
