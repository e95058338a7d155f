package match

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
)

// StageName is the matching stage's name in metrics and dead letters.
const StageName = "match"

// History replays what landed of one company, so that a stage taking over
// its partitions starts from the state the records so far make.
type History interface {
	// Companies lists the companies whose records came through the given
	// input partitions (topic -> partition ids), each with every partition
	// its records came through, in order: one under co-partitioning.
	Companies(ctx context.Context, parts map[string][]int) (map[string][]int32, error)
	// Records calls add with every landed version of company's records.
	// One that reads again after a read failed part way calls restart
	// first: what add was given before is then to be forgotten, so that
	// a connection lost mid-read costs a second read, not the run.
	Records(ctx context.Context, company string, add func(*record.Record), restart func()) error
	// Decisions are the review decisions recorded for a company, oldest
	// first.
	Decisions(ctx context.Context, company string) ([]Decision, error)
}

// StageOptions configure the matching stage.
type StageOptions struct {
	// Topics are the input topics; a partition's watermark is the oldest
	// of their newest event times on it, so no topic's records are matched
	// ahead of another's.
	Topics []string
	// Drained says whether an input partition had nothing to read when
	// last checked (kafka.Source.Drained); such a partition does not hold
	// the others back before its first record. Nil: every partition is
	// waited for until it brings a record or is read to its end.
	Drained func(topic string, partition int32) bool
	// Lateness, when positive, bounds how far one input topic may lag the
	// others before records are matched without waiting for it. It trades
	// determinism (a record more than Lateness behind is matched out of
	// order) for bounded memory when a topic stalls; zero waits.
	Lateness time.Duration
	// Workers is how many companies a batch may release at once: 1 (or
	// a negative count) one after another; 0 one a core, but only once
	// every input partition is read to its end (the end of a backfill).
	Workers int
	// Settings per company; companies not named take Default.
	Settings map[string]Settings
	Default  Settings
	// History rebuilds the state of every company of the assigned
	// partitions when an assignment begins (and of a company new to
	// ClickHouse when its first record comes); nil starts empty.
	History History
	// Assignment reports the current assignment generation and its input
	// partitions (kafka.Source.Assignment); nil rebuilds companies only
	// as their records come.
	Assignment func() (epoch int64, parts map[string][]int)
	// MatchesTopic and ExceptionsTopic receive confirmed matches and
	// exceptions for other systems; empty publishes nothing.
	MatchesTopic, ExceptionsTopic string
	// ReviewsTopic carries review decisions (DecisionNote); the decode
	// stage must pass its messages through. Empty: no decisions.
	ReviewsTopic string
	Registerer   prometheus.Registerer
}

// Stage matches records as they stream: it holds each company's records
// until the watermark of its partition (of each, if they came through
// several) passes them, feeds them to the company's Reconciler in
// event-time order, and puts what came out into the batch as rows (and
// notes) that land with it.
type Stage struct {
	opt     StageOptions
	epoch   int64
	recs    map[string]*Reconciler
	held    map[string]*queue       // by company, not yet behind the watermark
	part    map[string]int32        // company -> the first partition its records came through
	newest  map[topicPart]time.Time // newest event time per input partition
	atEnd   map[topicPart]bool      // input partitions read to their end at the last fetch
	latest  map[string]time.Time    // per company, event time of the latest record fed
	version map[string]uint64       // per company, the last row version emitted
	// split are the other partitions of this member's a company's records
	// came through: none when producers key by company, as DESIGN.md asks,
	// but a system keying by document number spreads a company, and its
	// records then wait for every one of those partitions, not just the
	// last one they came from. whole are the partitions assigned on every
	// input topic (nil: not known, all of them): a partition missing on
	// one topic would hold its companies back for good. spread are the
	// companies seen on more than one partition, this member's or not.
	split  map[string][]int32
	whole  map[int32]bool
	spread map[string]bool
	// em turns results into the batch's rows and notes; lanes are the
	// companies released in parallel, each with an emitter of its own.
	em       emitter
	rowsLast map[*pipeline.Table]int // rows of each table the last batch got, for roomy
	lanes    []lane
	emitters map[string]*emitter // by company, for parallel lanes
	workers  int                 // how many companies are released at once (0: automatic)
	cores    int                 // how many, automatically, at the input's end
	// parallelFrom is parallelFrom but for tests.
	parallelFrom int
	parallel     int // how many times they were (for tests)
	metrics      stageMetrics
	// pending are decisions waiting for the records they are about: those
	// a rebuild replays, and live ones that came while the company still
	// had records held back.
	pending map[string][]pendingDecision
	applied map[decisionKey]bool
	// historyUntil is, per company being rebuilt, the newest event time of
	// its replayed history.
	historyUntil map[string]time.Time
	// acks lets a rebuild wait for the batches before it to land;
	// processed is whether any batch went through the stage yet.
	acks      pipeline.AckGate
	processed bool
}

type topicPart struct {
	topic string
	part  int32
}

type stageMetrics struct {
	lines      *prometheus.CounterVec
	exceptions *prometheus.CounterVec
	late       prometheus.Counter
	held       prometheus.Gauge
	unbalanced prometheus.Counter
	rebuilt    prometheus.Counter
	decisions  *prometheus.CounterVec
	totals     *prometheus.GaugeVec
	totalDay   map[[3]string]record.Date // the day totals shows, per company, direction and currency
	totalMu    sync.Mutex                // for totalDay, as companies emit in parallel
	waiting    *prometheus.GaugeVec
	split      prometheus.Gauge
}

// NewStage returns a matching stage.
func NewStage(opt StageOptions) (*Stage, error) {
	if opt.Default.Rules.Confirm == 0 {
		opt.Default = DefaultSettings()
	}
	// Compile every company's patterns now: a bad one is a start-up error.
	for c, set := range opt.Settings {
		if _, err := NewRefFinder(set.RefPatterns); err != nil {
			return nil, fmt.Errorf("matching settings of %s: %w", c, err)
		}
	}
	if _, err := NewRefFinder(opt.Default.RefPatterns); err != nil {
		return nil, fmt.Errorf("matching settings: %w", err)
	}
	s := &Stage{opt: opt, epoch: -1, workers: opt.Workers, cores: runtime.GOMAXPROCS(0), parallelFrom: parallelFrom,
		rowsLast: map[*pipeline.Table]int{}}
	s.reset()
	m := &s.metrics
	m.lines = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "erpflow_match_lines_total",
		Help: "Bank line outcomes reported by matching (a line matched late counts again under its new outcome)."}, []string{"outcome"})
	m.exceptions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "erpflow_match_exceptions_total",
		Help: "Exceptions raised or resolved, by type and status."}, []string{"type", "status"})
	m.late = prometheus.NewCounter(prometheus.CounterOpts{Name: "erpflow_match_late_records_total",
		Help: "Records older than what their company's matching had already passed: matched out of event-time order."})
	m.held = prometheus.NewGauge(prometheus.GaugeOpts{Name: "erpflow_match_held_records",
		Help: "Records waiting for their partition's watermark."})
	m.unbalanced = prometheus.NewCounter(prometheus.CounterOpts{Name: "erpflow_match_unbalanced_days_total",
		Help: "Control totals (company, direction, currency, day) whose bank lines do not equal matched + review + unmatched."})
	m.rebuilt = prometheus.NewCounter(prometheus.CounterOpts{Name: "erpflow_match_rebuilt_records_total",
		Help: "Records replayed from ClickHouse to rebuild matching state after an assignment."})
	m.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "erpflow_match_decisions_total",
		Help: "Review decisions applied, by action."}, []string{"action"})
	// Minor units, exact in a float64 up to 2^53: money is never a
	// fraction here either.
	m.totals = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "erpflow_match_control_total_minor_units",
		Help: "The latest booking day's control totals per company, direction (credit: money in, debit: money out) " +
			"and currency, in minor units: bucket lines = matched + review + unmatched."}, []string{"company", "direction", "currency", "bucket"})
	m.totalDay = map[[3]string]record.Date{}
	m.waiting = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "erpflow_match_waiting_lines",
		Help: "Credit lines that matched nothing yet and wait for their document, per company: each becomes an " +
			"unidentified receipt once it has waited matching's unmatched_days."}, []string{"company"})
	m.split = prometheus.NewGauge(prometheus.GaugeOpts{Name: "erpflow_match_split_companies",
		Help: "Companies whose records came through more than one partition (in this member's input, or in what " +
			"had landed when its assignment began): a producer does not key by company. Their records wait for " +
			"every such partition this member reads; where other members read some, each matches the company " +
			"without the others' records."})
	if opt.Registerer != nil {
		for _, c := range []prometheus.Collector{m.lines, m.exceptions, m.late, m.held, m.unbalanced, m.rebuilt, m.decisions, m.totals, m.waiting, m.split} {
			if err := opt.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("matching metrics: %w", err)
			}
		}
	}
	return s, nil
}

func (s *Stage) reset() {
	s.recs, s.held, s.part = map[string]*Reconciler{}, map[string]*queue{}, map[string]int32{}
	s.split, s.spread, s.whole = map[string][]int32{}, map[string]bool{}, nil
	s.newest, s.latest, s.atEnd = map[topicPart]time.Time{}, map[string]time.Time{}, map[topicPart]bool{}
	s.version = map[string]uint64{}
	s.emitters = map[string]*emitter{}
	s.pending = map[string][]pendingDecision{}
	s.applied = map[decisionKey]bool{}
	s.historyUntil = map[string]time.Time{}
	// The control totals and waiting lines shown are of the companies this
	// member holds now; the rebuild reports them again. (nil before NewStage
	// sets the metrics up.)
	if s.metrics.totals != nil {
		s.metrics.totals.Reset()
		clear(s.metrics.totalDay)
		s.metrics.waiting.Reset()
		s.metrics.split.Set(0)
	}
}

// Name implements pipeline.Stage.
func (s *Stage) Name() string { return StageName }

// Acked implements pipeline.Acker: batches are acknowledged in order.
func (s *Stage) Acked(b *pipeline.Batch) { s.acks.Acked(b) }

// waitLanded waits until every batch before seq is acknowledged.
func (s *Stage) waitLanded(ctx context.Context, seq uint64) error {
	if !s.processed {
		return nil
	}
	return s.acks.Wait(ctx, seq)
}

// WaitingForAcks implements pipeline.AckWaiter: true while Process waits
// for the batches before the one it holds to land.
func (s *Stage) WaitingForAcks() bool { return s.acks.Waiting() }

var _ pipeline.AckWaiter = (*Stage)(nil)

// Process implements pipeline.Stage.
func (s *Stage) Process(ctx context.Context, b *pipeline.Batch) error {
	s.em.b, s.em.dst, s.em.notes = b, roomy{b, s.rowsLast}, &b.Notes
	defer func() {
		s.em.b, s.em.dst, s.em.notes = nil, nil, nil
		for _, r := range b.Rows {
			s.rowsLast[r.Table] = min(r.Len(), maxRoom)
		}
	}()
	// A new assignment generation may have moved companies to or from this
	// instance: start over, rebuilding every company of the assigned
	// partitions from what landed, whether or not its records come again.
	if s.opt.Assignment != nil {
		if epoch, parts := s.opt.Assignment(); epoch != s.epoch {
			// Batches matched before are still on their way to ClickHouse;
			// the rebuild must see them, or their records (which dedupe
			// will drop when they come again) would be lost to matching.
			if err := s.waitLanded(ctx, b.Seq); err != nil {
				return err
			}
			s.reset()
			s.epoch = epoch
			s.whole = wholePartitions(s.opt.Topics, parts)
			if err := s.rebuild(ctx, parts, b); err != nil {
				return err
			}
		}
	} else {
		for i := range b.Messages {
			if e := b.Messages[i].Epoch; e > s.epoch {
				if s.epoch >= 0 {
					s.reset()
				}
				s.epoch = e
			}
		}
	}
	// Messages come in runs from one partition (a fetch's worth each), and
	// only the last of a run, or its newest record, can change what the
	// maps hold: they are written once a run rather than once a message
	// (two map writes a record were a twentieth of the stage).
	for i := range b.Messages {
		m := &b.Messages[i]
		if i+1 < len(b.Messages) && b.Messages[i+1].Partition == m.Partition && b.Messages[i+1].Topic == m.Topic {
			continue
		}
		s.atEnd[topicPart{m.Topic, m.Partition}] = m.HighWater > 0 && m.Offset+1 >= m.HighWater
	}
	var run topicPart
	var runNewest time.Time
	inRun := false
	endRun := func() {
		if !inRun {
			return
		}
		if n, ok := s.newest[run]; !ok || runNewest.After(n) {
			s.newest[run] = runNewest
		}
	}
	// Topics are keyed by company, so records come in runs of one company
	// and partition: their maps are looked up once a run. The records are
	// held past this batch, so they are copied, one allocation each: one
	// block a batch, kept whole by any record still held, cost the
	// collector more than the allocations saved.
	var (
		co   string
		q    *queue
		part int32
	)
	for i := range b.Items {
		it := &b.Items[i]
		r := &it.Rec
		m := &b.Messages[it.Msg]
		if tp := (topicPart{m.Topic, m.Partition}); !inRun || tp != run {
			endRun()
			run, runNewest, inRun = tp, r.EventTime, true
		} else if r.EventTime.After(runNewest) {
			runNewest = r.EventTime
		}
		if q == nil || r.Company != co {
			if _, ok := s.recs[r.Company]; !ok {
				if err := s.load(ctx, r.Company, b); err != nil {
					return err
				}
			}
			co, q = r.Company, s.queue(r.Company)
			part = m.Partition
			s.notePartition(co, part)
		} else if m.Partition != part {
			part = m.Partition
			s.notePartition(co, part)
		}
		if !matched(r.Kind) {
			continue
		}
		q.add(holdOf(r))
	}
	endRun()
	if err := s.releaseAll(b); err != nil {
		return err
	}
	if err := s.decisions(ctx, b); err != nil {
		return err
	}
	if b.Final {
		for _, c := range sortedKeys(s.recs) {
			s.recs[c].Close(s.latest[c], &s.em.out)
			s.emitNow(c, s.latest[c], true)
		}
	}
	n := 0
	for _, q := range s.held {
		n += q.len()
	}
	s.metrics.held.Set(float64(n))
	for c, rc := range s.recs {
		s.metrics.waiting.WithLabelValues(c).Set(float64(rc.engine.Waiting(c)))
	}
	s.processed = true
	return nil
}

func (s *Stage) rebuild(ctx context.Context, parts map[string][]int, b *pipeline.Batch) error {
	if s.opt.History == nil {
		return nil
	}
	companies, err := s.opt.History.Companies(ctx, parts)
	if err != nil {
		return fmt.Errorf("rebuild matching state: %w", err)
	}
	for _, c := range sortedKeys(companies) {
		// Its history is released by its own partitions' watermark; those
		// of other members' cannot be waited for, only reported.
		ps := companies[c]
		for _, p := range ps {
			if s.whole == nil || s.whole[p] {
				s.notePartition(c, p)
			}
		}
		if _, ok := s.part[c]; !ok {
			// None of its partitions is assigned on every topic here: wait
			// for one this member reads at least.
			for _, p := range ps {
				if assignedHere(s.opt.Topics, parts, p) {
					s.part[c] = p
					break
				}
			}
		}
		if len(ps) > 1 {
			s.noteSpread(c)
		}
		if err := s.load(ctx, c, b); err != nil {
			return err
		}
	}
	return nil
}

// replaying says whether a company's rebuilt history is still being
// matched (held back behind the watermark): a decision on a match of it
// must wait until it comes.
func (s *Stage) replaying(company string) bool {
	until, ok := s.historyUntil[company]
	if ok && !s.latest[company].Before(until) {
		delete(s.historyUntil, company)
		return false
	}
	return ok
}

type decisionKey struct {
	company, match, action string
	at                     int64
}

type pendingDecision struct {
	Decision
	live bool // came on the reviews topic in this run, not replayed
}

// decisions applies the waiting decisions whose matches are known by now,
// then those of this batch. A decision of this batch is applied at once,
// or dead-lettered when it cannot apply (an unknown match, an outcome it
// does not fit), unless its company's rebuilt history is still being
// replayed, which may bring its match: then it waits with the others. A
// live decision that still cannot apply once the history is through
// becomes a review_refused exception, since its message is committed by
// then.
func (s *Stage) decisions(ctx context.Context, b *pipeline.Batch) error {
	for _, c := range sortedKeys(s.pending) {
		rc := s.recs[c]
		settled := b.Final || !s.replaying(c)
		keep := s.pending[c][:0]
		for _, d := range s.pending[c] {
			_, known := rc.LineOfMatch(d.MatchID)
			if !settled && (!known || s.latest[c].Before(d.After)) {
				keep = append(keep, d)
				continue
			}
			if err := s.decide(b, c, d.Decision, d.live); err != nil && d.live {
				rc.raise(&s.em.out, Exception{Type: ExcReviewRefused, Reason: d.Action, Subject: d.MatchID,
					Criteria: []Criterion{{"decision", false, err.Error()}},
					NextStep: fmt.Sprintf("check the decision of %s (%s): the match is no longer current", d.By, d.Reason)}, d.At)
				s.emitNow(c, d.At, true)
			}
			// A replayed decision that no longer fits was refused when it
			// first came, or its line moved on since: nothing to apply.
		}
		if s.pending[c] = keep; len(keep) == 0 {
			delete(s.pending, c)
		}
	}
	if s.opt.ReviewsTopic == "" {
		return nil
	}
	for i := range b.Messages {
		m := &b.Messages[i]
		if m.Topic != s.opt.ReviewsTopic || m.Control {
			continue
		}
		company, d, reason, msg := ParseDecision(m.Value)
		if reason != "" {
			b.Reject(i, StageName, reason, msg)
			continue
		}
		// Counted landed unless refused below (the runner's identity:
		// every message landed, dead-lettered or a duplicate).
		b.Applied++
		if s.known(company, d) {
			continue // read again (a rebalance, a crash): applied or waiting already
		}
		if _, ok := s.recs[company]; !ok {
			s.part[company] = m.Partition // co-partitioned with its records
			if err := s.load(ctx, company, b); err != nil {
				return err
			}
		}
		if _, ok := s.recs[company].LineOfMatch(d.MatchID); !ok && s.replaying(company) && !b.Final {
			// Its message commits with this batch: record the decision now
			// (under its match, its line not known yet), so that a crash
			// before it applies leaves it for the next rebuild to replay.
			reviewRow(b, company, "match:"+d.MatchID, d, s.nextVersion(company, d.At))
			s.pending[company] = append(s.pending[company], pendingDecision{d, true})
			continue
		}
		if err := s.decide(b, company, d, true); err != nil {
			reason := "review_refused"
			if errors.Is(err, ErrUnknownMatch) {
				reason = "unknown_match"
			}
			b.Reject(i, StageName, reason, err.Error())
			b.Applied--
		}
	}
	return nil
}

// known says whether a decision is applied or waiting already.
func (s *Stage) known(company string, d Decision) bool {
	key := decisionKey{company, d.MatchID, d.Action, d.At.Unix()}
	if s.applied[key] {
		return true
	}
	for _, p := range s.pending[company] {
		if p.MatchID == d.MatchID && p.Action == d.Action && p.At.Unix() == d.At.Unix() {
			return true
		}
	}
	return false
}

// applyDue applies the replayed decisions that were first applied before
// the stream reached event time t (and whose matches are known), in that
// order: a rebuild takes them at the point the live run did.
func (s *Stage) applyDue(b *pipeline.Batch, company string, t time.Time) {
	rc := s.recs[company]
	keep := s.pending[company][:0]
	for _, d := range s.pending[company] {
		if _, known := rc.LineOfMatch(d.MatchID); !d.live && known && !d.After.IsZero() && d.After.Before(t) {
			s.decide(b, company, d.Decision, false) // refused when first applied: refused again, quietly
			continue
		}
		keep = append(keep, d)
	}
	s.pending[company] = keep
}

// decide applies one decision and lands it with what it changed; count is
// false for a rebuild's replay of a decision applied before.
func (s *Stage) decide(b *pipeline.Batch, company string, d Decision, count bool) error {
	// The same decision read again (the reviews topic replayed, or sent
	// twice) has been applied: nothing to do.
	key := decisionKey{company, d.MatchID, d.Action, d.At.Unix()}
	if s.applied[key] {
		return nil
	}
	rc := s.recs[company]
	line, _ := rc.LineOfMatch(d.MatchID)
	if d.After.IsZero() {
		d.After = s.latest[company]
	}
	if err := rc.Decide(d, &s.em.out); err != nil {
		s.em.out.Reset()
		return err
	}
	s.applied[key] = true
	if count {
		s.metrics.decisions.WithLabelValues(d.Action).Inc()
	}
	reviewRow(b, company, line, d, s.nextVersion(company, d.At))
	s.emitNow(company, d.At, count)
	return nil
}

// load creates a company's reconciler, replaying what landed of it. The
// replay's rows land again with this batch: they are the same rows, so
// writing them twice changes nothing, and rows a crash kept from landing
// land now.
func (s *Stage) load(ctx context.Context, company string, b *pipeline.Batch) error {
	set, ok := s.opt.Settings[company]
	if !ok {
		set = s.opt.Default
	}
	rc, err := NewReconciler(company, set)
	if err != nil {
		return err
	}
	s.recs[company] = rc
	if s.opt.History == nil {
		return nil
	}
	q, n := s.queue(company), 0
	base := len(q.fresh)
	var until time.Time
	add := func(r *record.Record) {
		if !matched(r.Kind) {
			return
		}
		h := holdOf(r)
		h.replayed = true
		q.add(h)
		n++
		if r.EventTime.After(until) {
			until = r.EventTime
		}
	}
	restart := func() {
		clear(q.fresh[base:])
		q.fresh, n, until = q.fresh[:base], 0, time.Time{}
	}
	if err := s.opt.History.Records(ctx, company, add, restart); err != nil {
		return fmt.Errorf("rebuild matching state of %s: %w", company, err)
	}
	s.metrics.rebuilt.Add(float64(n))
	if n > 0 {
		s.historyUntil[company] = until
	}
	ds, err := s.opt.History.Decisions(ctx, company)
	if err != nil {
		return fmt.Errorf("rebuild matching state of %s: %w", company, err)
	}
	for _, d := range ds {
		s.pending[company] = append(s.pending[company], pendingDecision{d, false})
	}
	return nil
}

// notePartition records that company c's records come through partition
// p of this member's.
func (s *Stage) notePartition(c string, p int32) {
	first, ok := s.part[c]
	switch {
	case !ok:
		s.part[c] = p
	case first == p || slices.Contains(s.split[c], p):
	case s.whole != nil && !s.whole[p]:
		s.noteSpread(c)
	default:
		s.split[c] = append(s.split[c], p)
		s.noteSpread(c)
	}
}

// noteSpread counts c among the companies on more than one partition.
func (s *Stage) noteSpread(c string) {
	if !s.spread[c] {
		s.spread[c] = true
		s.metrics.split.Set(float64(len(s.spread)))
	}
}

// wholePartitions are the partition ids assigned on every one of topics
// that has any partition assigned: a configured topic that does not exist
// (a raw source not in use) has none, and holds nothing back (Drained).
func wholePartitions(topics []string, parts map[string][]int) map[int32]bool {
	count, present := map[int32]int{}, 0
	for _, t := range topics {
		if len(parts[t]) > 0 {
			present++
		}
		for _, p := range parts[t] {
			count[int32(p)]++
		}
	}
	whole := map[int32]bool{}
	for p, n := range count {
		if n == present {
			whole[p] = true
		}
	}
	return whole
}

// assignedHere says whether partition p of some input topic is this
// member's.
func assignedHere(topics []string, parts map[string][]int, p int32) bool {
	for _, t := range topics {
		if slices.Contains(parts[t], int(p)) {
			return true
		}
	}
	return false
}

// companyWatermark is the event time up to which company c's records can
// be matched: its partition's watermark, or the oldest of them if its
// records came from more than one.
func (s *Stage) companyWatermark(c string) time.Time {
	wm := s.watermark(s.part[c])
	for _, p := range s.split[c] {
		if wm.IsZero() {
			break
		}
		if w := s.watermark(p); w.Before(wm) {
			wm = w
		}
	}
	return wm
}

// watermark is the event time up to which a partition's records can be
// matched: the oldest of the input topics' newest times on it. A topic
// partition read to its end holds nothing back (what comes later is new),
// nor does one that had nothing to read (Drained); one that has brought
// nothing yet but has records waits for them. With Lateness set, no topic
// holds the others back by more than that.
func (s *Stage) watermark(p int32) time.Time {
	var newest time.Time
	for _, t := range s.opt.Topics {
		if n := s.newest[topicPart{t, p}]; n.After(newest) {
			newest = n
		}
	}
	wm, limited := newest, false
	for _, t := range s.opt.Topics {
		tp := topicPart{t, p}
		n, seen := s.newest[tp]
		switch {
		case s.atEnd[tp]:
		case !seen && s.opt.Drained != nil && s.opt.Drained(t, p):
		case !seen:
			return time.Time{} // nothing can go before its first record
		default:
			limited = true
			if n.Before(wm) {
				wm = n
			}
		}
	}
	if !limited {
		// Every topic of the partition is read to its end or had nothing
		// to read: nothing still to come can go before what is held (a
		// rebuilt history of a quiet company, say).
		return farFuture
	}
	if s.opt.Lateness > 0 && !newest.IsZero() {
		if floor := newest.Add(-s.opt.Lateness); floor.After(wm) {
			wm = floor
		}
	}
	return wm
}

// farFuture is a watermark that holds nothing back.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

func (s *Stage) queue(company string) *queue {
	q := s.held[company]
	if q == nil {
		q = &queue{}
		s.held[company] = q
	}
	return q
}

// queue holds one company's records until the watermark passes them:
// those already in matching order, and those come since, sorted and merged
// in only when some are released, so a long wait does not sort the same
// records again and again.
type queue struct {
	sorted, fresh []*heldRecord
}

// heldRecord is what the stage keeps of a record until the watermark
// passes it: the record less what matching never reads (its company, which
// its queue says, the ingest time and the provenance). A backfill holds a
// hundred thousand records at its peak, and the whole record took twice
// the room, all of it heap the collector works under.
type heldRecord struct {
	Kind record.Kind
	// replayed is a record of a rebuild's history: what it yields was
	// counted by the run that first matched it, so the stage's counters
	// leave it out (a restart or rebalance would otherwise add the whole
	// history to them, and re-raise the alerts on them).
	replayed  bool
	Source    string
	ID        string
	Version   uint64
	EventTime time.Time
	Body      record.Body
	Flags     record.Flags
}

func holdOf(r *record.Record) *heldRecord {
	return &heldRecord{Kind: r.Kind, Source: r.Source, ID: r.ID, Version: r.Version,
		EventTime: matchTime(r.EventTime), Body: r.Body, Flags: r.Flags}
}

// matched says whether the reconciler reads records of kind k. Shipments
// it does not: they moved only the order-to-cash chain's goods steps,
// which nothing of matching reports (analytics' order_to_cash works them
// out from the tables), and held and replayed they were a quarter of the
// records it kept and six per cent of a run's CPU. They still count
// towards the watermark, as every input topic does.
func matched(k record.Kind) bool { return k != record.KindShipment }

// matchTime is an event time as matching orders by it: in whole seconds,
// as ClickHouse stores it, so that a rebuild from the tables takes records
// in the order the live run did (and gives their rows the same versions).
// Two lines a fraction of a second apart that could pay the same invoice
// went to one line live and to the other after a rebuild.
func matchTime(t time.Time) time.Time { return t.Truncate(time.Second) }

// record is h as company's record, for the reconciler, which does not keep it.
func (h *heldRecord) record(company string) record.Record {
	return record.Record{Envelope: record.Envelope{Kind: h.Kind, Company: company, Source: h.Source,
		ID: h.ID, Version: h.Version, EventTime: h.EventTime}, Body: h.Body, Flags: h.Flags}
}

func (q *queue) add(r *heldRecord) { q.fresh = append(q.fresh, r) }
func (q *queue) len() int          { return len(q.sorted) + len(q.fresh) }

// order merges the fresh records into the sorted ones.
func (q *queue) order() {
	if len(q.fresh) == 0 {
		return
	}
	slices.SortStableFunc(q.fresh, compareHeld)
	if len(q.sorted) == 0 {
		q.sorted, q.fresh = q.fresh, q.sorted[:0]
		return
	}
	merged := make([]*heldRecord, 0, len(q.sorted)+len(q.fresh))
	i, j := 0, 0
	for i < len(q.sorted) && j < len(q.fresh) {
		// Equal records keep the held one first, as a stable sort would.
		if before(q.fresh[j], q.sorted[i]) {
			merged = append(merged, q.fresh[j])
			j++
		} else {
			merged = append(merged, q.sorted[i])
			i++
		}
	}
	merged = append(merged, q.sorted[i:]...)
	merged = append(merged, q.fresh[j:]...)
	clear(q.fresh)
	q.sorted, q.fresh = merged, q.fresh[:0]
}

// SortForMatching puts records in the order matching takes them, the
// order a replay of the same records must reproduce.
func SortForMatching(recs []record.Record) {
	sort.SliceStable(recs, func(i, j int) bool {
		a, b := &recs[i], &recs[j]
		ha := heldRecord{Kind: a.Kind, Source: a.Source, ID: a.ID, Version: a.Version, EventTime: matchTime(a.EventTime)}
		hb := heldRecord{Kind: b.Kind, Source: b.Source, ID: b.ID, Version: b.Version, EventTime: matchTime(b.EventTime)}
		return before(&ha, &hb)
	})
}

// before orders records for matching: event time, then documents before
// the bank lines that pay them, then kind, source, id and version, so that
// equal times never depend on arrival.
func before(a, b *heldRecord) bool { return compareHeld(a, b) < 0 }

// compareHeld is before as a three-way comparison, for slices' sorts.
func compareHeld(a, b *heldRecord) int {
	if c := a.EventTime.Compare(b.EventTime); c != 0 {
		return c
	}
	ab, bb := a.Kind == record.KindBankTxn, b.Kind == record.KindBankTxn
	switch {
	case ab && !bb:
		return 1
	case bb && !ab:
		return -1
	}
	if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	if c := strings.Compare(a.Source, b.Source); c != 0 {
		return c
	}
	if c := strings.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	return cmp.Compare(a.Version, b.Version)
}

// nextVersion is the version of a company's next row: the event time in
// microseconds times 1000, or one above the company's last version if
// that is higher, so versions never go back.
func (s *Stage) nextVersion(company string, at time.Time) uint64 {
	v := max(uint64(max(at.UnixMicro(), 0))*1000, s.version[company]) + 1
	s.version[company] = v
	return v
}
