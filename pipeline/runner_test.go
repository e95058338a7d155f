package pipeline

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/erpflow/erpflow/pipeline/record"
)

// memSource is an in-memory partitioned log with a committed offset per
// partition, standing in for a consumer group in unit tests of the runner.
type memSource struct {
	mu        sync.Mutex
	parts     [][]Message
	next      []int64 // fetch position
	committed []int64
	commits   [][]Mark
	// check, when set, vets every mark before it is committed.
	check func(Mark) error
	// refuse, while above 0, makes Commit fail (and counts down); ahead is
	// the most messages fetched but not committed at any Fetch.
	refuse, ahead int
}

func newMemSource(partitions, perPartition int) *memSource {
	s := &memSource{parts: make([][]Message, partitions), next: make([]int64, partitions), committed: make([]int64, partitions)}
	for p := range s.parts {
		for o := 0; o < perPartition; o++ {
			s.parts[p] = append(s.parts[p], Message{Topic: "t", Partition: int32(p), Offset: int64(o),
				Key: []byte(fmt.Sprintf("k%d", p)), Value: []byte(fmt.Sprintf("p%d-o%d", p, o))})
		}
	}
	return s
}

// Fetch interleaves partitions, a few messages from each, like a consumer
// reading several partitions at once.
func (s *memSource) Fetch(ctx context.Context, max int, wait time.Duration) ([]Message, error) {
	s.mu.Lock()
	ahead := 0
	for p := range s.parts {
		ahead += int(s.next[p] - s.committed[p])
	}
	if ahead > s.ahead {
		s.ahead = ahead
	}
	var out []Message
	for len(out) < max {
		progressed := false
		for p := range s.parts {
			for k := 0; k < 3 && len(out) < max && s.next[p] < int64(len(s.parts[p])); k++ {
				out = append(out, s.parts[p][s.next[p]])
				s.next[p]++
				progressed = true
			}
		}
		if !progressed {
			break
		}
	}
	s.mu.Unlock()
	if len(out) == 0 {
		select {
		case <-time.After(min(wait, 5*time.Millisecond)):
		case <-ctx.Done():
		}
	}
	return out, nil
}

func (s *memSource) Commit(ctx context.Context, marks []Mark) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse > 0 {
		s.refuse--
		return errors.New("coordinator moving")
	}
	for _, m := range marks {
		if s.check != nil {
			if err := s.check(m); err != nil {
				panic(err) // a commit ahead of the sink is the bug under test
			}
		}
		if m.Next < s.committed[m.Partition] {
			return fmt.Errorf("commit went backwards on partition %d: %d < %d", m.Partition, m.Next, s.committed[m.Partition])
		}
		s.committed[m.Partition] = m.Next
	}
	s.commits = append(s.commits, append([]Mark(nil), marks...))
	return nil
}

func (s *memSource) Lag(ctx context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var lag int64
	for p := range s.parts {
		lag += int64(len(s.parts[p])) - s.committed[p]
	}
	return lag, nil
}

func (s *memSource) committedOffsets() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.committed...)
}

// toItems is a minimal first stage: every message becomes an item, except
// values listed in reject, which are dead-lettered.
type toItems struct {
	reject map[string]bool
	seen   map[int32][]int64
	fail   error
}

func (s *toItems) Name() string { return "decode" }
func (s *toItems) Process(ctx context.Context, b *Batch) error {
	if s.fail != nil {
		return s.fail
	}
	for i := range b.Messages {
		m := &b.Messages[i]
		if s.seen != nil {
			s.seen[m.Partition] = append(s.seen[m.Partition], m.Offset)
		}
		if s.reject[string(m.Value)] {
			b.Reject(i, "decode", "invalid_json", "test rejection")
			continue
		}
		if m.Control {
			continue
		}
		b.Items = append(b.Items, Item{Msg: i, Rec: record.Record{Envelope: record.Envelope{Kind: record.KindInvoice, ID: string(m.Value)}}})
	}
	return nil
}

// memSink records what it acknowledged; failures and gates let a test hold
// or break a write.
type memSink struct {
	mu       sync.Mutex
	ids      []string
	rows     []string              // first value of each derived row
	failures int                   // fail this many writes first
	gate     map[uint64]chan error // batch seq -> write waits here
	arrived  chan uint64           // a write reached its gate
	written  chan uint64
}

func (s *memSink) Write(ctx context.Context, b *Batch) error {
	s.mu.Lock()
	gate := s.gate[b.Seq]
	if s.failures > 0 {
		s.failures--
		s.mu.Unlock()
		return errors.New("clickhouse: connection refused")
	}
	s.mu.Unlock()
	if gate != nil {
		if s.arrived != nil {
			s.arrived <- b.Seq
		}
		select {
		case err := <-gate:
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	for _, it := range b.Items {
		s.ids = append(s.ids, it.Rec.ID)
	}
	for _, r := range b.Rows {
		for i := range r.Len() {
			s.rows = append(s.rows, r.Value(i, 0).(string))
		}
	}
	s.mu.Unlock()
	if s.written != nil {
		s.written <- b.Seq
	}
	return nil
}

type memDLQ struct {
	mu       sync.Mutex
	dead     []DeadLetter
	failures int
}

func (d *memDLQ) WriteDead(ctx context.Context, dead []DeadLetter) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failures > 0 {
		d.failures--
		return errors.New("broker unavailable")
	}
	d.dead = append(d.dead, dead...)
	return nil
}

func fastCfg() Config {
	return Config{BatchSize: 10, BatchWait: 5 * time.Millisecond, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond,
		DrainTimeout: time.Second, UntilCaughtUp: true}
}

func TestRunnerKeepsPartitionOrderAndLandsEverything(t *testing.T) {
	src := newMemSource(4, 50)
	stage := &toItems{seen: map[int32][]int64{}}
	sink := &memSink{}
	cfg := fastCfg()
	cfg.SinkConcurrency = 1
	r := NewRunner(cfg, src, []Stage{stage}, sink, &memDLQ{}, nil, nil)
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for p, offs := range stage.seen {
		for i, o := range offs {
			if o != int64(i) {
				t.Fatalf("partition %d: stage saw offset %d at position %d", p, o, i)
			}
		}
	}
	// With one sink writer the sink also sees each partition in order.
	last := map[string]int{}
	for _, id := range sink.ids {
		var p, o int
		fmt.Sscanf(id, "p%d-o%d", &p, &o)
		if prev, ok := last[fmt.Sprint(p)]; ok && o != prev+1 {
			t.Fatalf("sink saw p%d o%d after o%d", p, o, prev)
		}
		last[fmt.Sprint(p)] = o
	}
	st := r.Stats()
	if st.Consumed != 200 || st.Landed != 200 || len(sink.ids) != 200 {
		t.Fatalf("stats %+v, sink %d", st, len(sink.ids))
	}
	for p, c := range src.committedOffsets() {
		if c != 50 {
			t.Errorf("partition %d committed %d, want 50", p, c)
		}
	}
}

// TestRunnerCommitsPastTransactionMarkers flags the last message of each
// partition as a transaction marker: it is not counted as consumed, and the
// commit still moves past it, so that the run sees itself caught up.
func TestRunnerCommitsPastTransactionMarkers(t *testing.T) {
	src := newMemSource(2, 10)
	for p := range src.parts {
		src.parts[p][9].Control = true
	}
	reg := prometheus.NewRegistry()
	r := NewRunner(fastCfg(), src, []Stage{&toItems{}}, &memSink{}, &memDLQ{}, NewMetrics(reg), nil)
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); st.Consumed != 18 || st.Landed != 18 || st.DeadLettered != 0 {
		t.Fatalf("stats %+v, want 18 consumed and landed", st)
	}
	for p, c := range src.committedOffsets() {
		if c != 10 {
			t.Errorf("partition %d committed %d, want 10 (past the marker)", p, c)
		}
	}
	if n := testutil.ToFloat64(r.metrics.Records.WithLabelValues("source", "unknown", "control_record")); n != 2 {
		t.Errorf("control records counted %v, want 2", n)
	}
}

// While commits fail (the group coordinator moving, say), batches go on
// landing, but the fetcher stops once as many batches as it may have in
// flight wait for their commit: a crash then re-reads a bounded tail, not
// everything read since the last commit that worked.
func TestRunnerHoldsFetchingWhileCommitsFail(t *testing.T) {
	src := newMemSource(2, 500)
	src.refuse = 40
	cfg := fastCfg()
	cfg.CommitInterval = time.Millisecond
	r := NewRunner(cfg, src, []Stage{&toItems{}}, &memSink{}, &memDLQ{}, nil, nil)
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Each slot holds a batch; one more may be filling.
	if limit := (cap(r.slots) + 1) * cfg.BatchSize; src.ahead > limit {
		t.Fatalf("%d messages read past the last commit, more than the %d of the batches the runner may hold", src.ahead, limit)
	}
	if st := r.Stats(); st.Landed != 1000 || src.refuse != 0 {
		t.Fatalf("stats %+v, %d refusals left: everything lands once commits work again", st, src.refuse)
	}
	if err := r.Healthy(); err != nil {
		t.Fatalf("unhealthy once commits work again: %v", err)
	}
}

// A commit that fails makes the runner unhealthy (/readyz) until one works:
// fetching stops once every slot waits for a commit.
func TestRunnerUnhealthyWhileCommitsFail(t *testing.T) {
	src := newMemSource(1, 50)
	src.refuse = 1 << 30
	cfg := fastCfg()
	cfg.UntilCaughtUp = false
	cfg.CommitInterval = time.Millisecond
	sink := &memSink{written: make(chan uint64, 100)}
	r := NewRunner(cfg, src, []Stage{&toItems{}}, sink, &memDLQ{}, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	<-sink.written
	hang := time.After(30 * time.Second) // a guard against hanging, not a measure
	for r.Healthy() == nil {
		select {
		case <-hang:
			t.Fatal("healthy while every commit fails")
		default:
			runtime.Gosched()
		}
	}
	src.mu.Lock()
	src.refuse = 0
	src.mu.Unlock()
	for r.Healthy() != nil {
		select {
		case <-hang:
			t.Fatalf("still unhealthy once commits work: %v", r.Healthy())
		default:
			runtime.Gosched()
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRunnerCommitsOnlyAcknowledgedPrefix(t *testing.T) {
	src := newMemSource(1, 30)
	gate0 := make(chan error)
	sink := &memSink{gate: map[uint64]chan error{0: gate0}, written: make(chan uint64, 10)}
	cfg := fastCfg()
	cfg.SinkConcurrency = 2
	r := NewRunner(cfg, src, []Stage{&toItems{}}, sink, &memDLQ{}, nil, nil)
	done := make(chan error)
	go func() { done <- r.Run(context.Background()) }()

	// Batch 1 lands while batch 0 is held: nothing may be committed.
	if seq := <-sink.written; seq != 1 {
		t.Fatalf("first landed batch %d, want 1", seq)
	}
	time.Sleep(30 * time.Millisecond)
	if c := src.committedOffsets()[0]; c != 0 {
		t.Fatalf("committed %d while batch 0 is unacknowledged", c)
	}
	gate0 <- nil
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c := src.committedOffsets()[0]; c != 30 {
		t.Fatalf("committed %d, want 30", c)
	}
}

func TestRunnerRetriesSinkWithoutCommitting(t *testing.T) {
	src := newMemSource(2, 10)
	sink := &memSink{failures: 3}
	dlq := &memDLQ{failures: 2}
	stage := &toItems{reject: map[string]bool{"p0-o3": true, "p1-o9": true}}
	// Every offset below a commit mark must already be in the sink or in
	// the dead letters when the commit happens.
	src.check = func(m Mark) error {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		dlq.mu.Lock()
		defer dlq.mu.Unlock()
		stored := map[string]bool{}
		for _, id := range sink.ids {
			stored[id] = true
		}
		for _, d := range dlq.dead {
			stored[string(d.Msg.Value)] = true
		}
		for o := int64(0); o < m.Next; o++ {
			if v := fmt.Sprintf("p%d-o%d", m.Partition, o); !stored[v] {
				return fmt.Errorf("commit of partition %d up to %d before %s was stored", m.Partition, m.Next, v)
			}
		}
		return nil
	}
	r := NewRunner(fastCfg(), src, []Stage{stage}, sink, dlq, nil, nil)
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	if st.Landed != 18 || st.DeadLettered != 2 || st.Consumed != 20 {
		t.Fatalf("stats %+v", st)
	}
	if len(dlq.dead) != 2 {
		t.Fatalf("dead letters %d", len(dlq.dead))
	}
	for _, d := range dlq.dead {
		if d.Reason != "invalid_json" || d.Stage != "decode" || (string(d.Msg.Value) != "p0-o3" && string(d.Msg.Value) != "p1-o9") {
			t.Errorf("dead letter %+v", d)
		}
		if string(d.Msg.Key) != fmt.Sprintf("k%d", d.Msg.Partition) {
			t.Errorf("dead letter lost its key: %q", d.Msg.Key)
		}
	}
}

func TestRunnerShutdownAbandonsUnlandedBatch(t *testing.T) {
	src := newMemSource(1, 100)
	gate := make(chan error) // never released: batch 2 cannot land
	sink := &memSink{gate: map[uint64]chan error{2: gate}, written: make(chan uint64, 100)}
	cfg := fastCfg()
	cfg.UntilCaughtUp = false
	cfg.SinkConcurrency = 1
	cfg.DrainTimeout = 50 * time.Millisecond
	r := NewRunner(cfg, src, []Stage{&toItems{}}, sink, &memDLQ{}, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	<-sink.written
	<-sink.written
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown returned %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("runner did not stop")
	}
	if c := src.committedOffsets()[0]; c != 20 {
		t.Fatalf("committed %d, want exactly the two landed batches (20)", c)
	}
}

func TestRunnerShutdownFinishesInFlightBatch(t *testing.T) {
	src := newMemSource(1, 100)
	gate := make(chan error)
	sink := &memSink{gate: map[uint64]chan error{1: gate}, arrived: make(chan uint64, 1), written: make(chan uint64, 100)}
	cfg := fastCfg()
	cfg.UntilCaughtUp = false
	cfg.SinkConcurrency = 1
	r := NewRunner(cfg, src, []Stage{&toItems{}}, sink, &memDLQ{}, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	// Stop only once batch 1 is in the sink's hands: stopping earlier
	// leaves no batch in flight, and nothing would take the gate.
	<-sink.arrived
	cancel()
	select {
	case gate <- nil: // the held batch lands within the drain timeout
	case err := <-done:
		t.Fatalf("the runner stopped (%v) without waiting for the batch in flight", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c := src.committedOffsets()[0]
	if c < 20 || c != r.Stats().Consumed {
		t.Fatalf("committed %d, consumed %d: in-flight batch should land and commit", c, r.Stats().Consumed)
	}
}

func TestRunnerStageFailureStops(t *testing.T) {
	src := newMemSource(1, 10)
	r := NewRunner(fastCfg(), src, []Stage{&toItems{fail: errors.New("mapping table missing")}}, &memSink{}, &memDLQ{}, nil, nil)
	err := r.Run(context.Background())
	if err == nil || err.Error() != "stage decode: mapping table missing" {
		t.Fatalf("Run = %v", err)
	}
	if c := src.committedOffsets()[0]; c != 0 {
		t.Fatalf("committed %d after a stage failure", c)
	}
}

func TestMergeMarks(t *testing.T) {
	got := mergeMarks([]Mark{{Topic: "a", Partition: 0, Next: 5, Epoch: 1}},
		[]Mark{{Topic: "a", Partition: 0, Next: 9, Epoch: 1}, {Topic: "b", Partition: 0, Next: 2, Epoch: 1}})
	if len(got) != 2 || got[0].Next != 9 || got[1].Next != 2 {
		t.Fatalf("%+v", got)
	}
	// A new epoch restarts a partition from its committed offset, which may
	// be lower; the newer epoch's mark wins.
	got = mergeMarks(got, []Mark{{Topic: "a", Partition: 0, Next: 7, Epoch: 2}})
	if got[0].Next != 7 || got[0].Epoch != 2 {
		t.Fatalf("%+v", got)
	}
}

// dropAsDuplicate takes the items whose id it names out as duplicates, as
// the dedupe stage does.
type dropAsDuplicate map[string]bool

func (dropAsDuplicate) Name() string { return "dedupe" }
func (d dropAsDuplicate) Process(ctx context.Context, b *Batch) error {
	b.Keep(func(it *Item) bool {
		if d[it.Rec.ID] {
			b.Duplicates = append(b.Duplicates, *it)
			return false
		}
		return true
	})
	return nil
}

// untouched hands every batch on as it came.
type untouched struct{}

func (untouched) Name() string                          { return "keys" }
func (untouched) Process(context.Context, *Batch) error { return nil }

func TestRunnerMetrics(t *testing.T) {
	src := newMemSource(2, 10)
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	stage := &toItems{reject: map[string]bool{"p0-o3": true}}
	r := NewRunner(fastCfg(), src, []Stage{stage, dropAsDuplicate{"p1-o4": true, "p1-o5": true}, untouched{}}, &memSink{}, &memDLQ{}, m, nil)
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		c    prometheus.Collector
		want float64
	}{
		{m.Records.WithLabelValues("decode", "invoice", "ok"), 19},
		{m.Records.WithLabelValues("decode", "unknown", "dead_letter"), 1},
		{m.Records.WithLabelValues("dedupe", "invoice", "ok"), 17},
		{m.Records.WithLabelValues("dedupe", "invoice", "duplicate"), 2},
		// A stage counts the duplicates it took out, not those before it.
		{m.Records.WithLabelValues("keys", "invoice", "ok"), 17},
		{m.Records.WithLabelValues("keys", "invoice", "duplicate"), 0},
		{m.DeadLetters.WithLabelValues("decode", "invalid_json"), 1},
		{m.SinkRows.WithLabelValues("invoice"), 17},
		{m.Duplicates, 2},
		{m.InFlight, 0},
	}
	for i, c := range checks {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("check %d: got %v, want %v", i, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.Commits); n == 0 {
		t.Error("no commit metric")
	}
}

// TestRunnerBoundsBatchesBehindAStuckOne holds batch 0 in the sink: later
// batches may land, but the fetcher must stop instead of reading the whole
// topic into memory while nothing can commit.
func TestRunnerBoundsBatchesBehindAStuckOne(t *testing.T) {
	src := newMemSource(1, 10000)
	gate := make(chan error)
	sink := &memSink{gate: map[uint64]chan error{0: gate}}
	cfg := fastCfg()
	cfg.SinkConcurrency = 2
	r := NewRunner(cfg, src, []Stage{&toItems{}}, sink, &memDLQ{}, nil, nil)
	done := make(chan error)
	go func() { done <- r.Run(context.Background()) }()
	time.Sleep(300 * time.Millisecond)
	issued := r.issued.Load()
	if limit := uint64(cfg.SinkConcurrency + 3); issued > limit {
		t.Fatalf("fetched %d batches behind a stuck one; want at most %d", issued, limit)
	}
	if c := src.committedOffsets()[0]; c != 0 {
		t.Fatalf("committed %d with batch 0 unlanded", c)
	}
	gate <- nil
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c := src.committedOffsets()[0]; c != 10000 {
		t.Fatalf("committed %d, want 10000", c)
	}
}

// holdBack derives one row per record but only from the final batch, as
// matching does with records behind its watermark.
type holdBack struct {
	held   []string
	finals int
}

func (h *holdBack) Name() string { return "hold" }
func (h *holdBack) Process(ctx context.Context, b *Batch) error {
	for _, it := range b.Items {
		h.held = append(h.held, it.Rec.ID)
	}
	if b.Final {
		h.finals++
		if len(b.Messages) != 0 {
			return errors.New("the final batch carries messages")
		}
		table := &Table{Name: "held", Columns: []string{"id"}}
		for _, id := range h.held {
			b.Derive(table).Str(id).End()
		}
		h.held = nil
	}
	return nil
}

func TestRunnerHandsAFinalBatchThroughWhenCaughtUp(t *testing.T) {
	src := newMemSource(2, 25)
	hold := &holdBack{}
	sink := &memSink{}
	r := NewRunner(fastCfg(), src, []Stage{&toItems{}, hold}, sink, &memDLQ{}, nil, nil)
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if hold.finals != 1 {
		t.Fatalf("the stages saw %d final batches, want 1", hold.finals)
	}
	if len(sink.rows) != 50 || len(sink.ids) != 50 {
		t.Fatalf("sink got %d derived rows and %d records, want 50 of each", len(sink.rows), len(sink.ids))
	}
	for p, c := range src.committedOffsets() {
		if c != 25 {
			t.Errorf("partition %d committed %d, want 25", p, c)
		}
	}
}

// TestRunnerSendsAnotherFinalBatchAfterNewMessages: messages that arrive
// after a final batch get a final batch of their own before the run ends.
func TestRunnerSendsAnotherFinalBatchAfterNewMessages(t *testing.T) {
	src := newMemSource(1, 20)
	hold := &holdBack{}
	more := &appendOnFinal{src: src, hold: hold}
	sink := &memSink{}
	r := NewRunner(fastCfg(), src, []Stage{&toItems{}, more}, sink, &memDLQ{}, nil, nil)
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if hold.finals != 2 || len(sink.rows) != 25 {
		t.Fatalf("%d final batches, %d derived rows; want 2 and 25", hold.finals, len(sink.rows))
	}
}

// appendOnFinal produces five more messages when the first final batch
// comes through, then behaves like holdBack.
type appendOnFinal struct {
	src  *memSource
	hold *holdBack
	done bool
}

func (a *appendOnFinal) Name() string { return "append" }
func (a *appendOnFinal) Process(ctx context.Context, b *Batch) error {
	if err := a.hold.Process(ctx, b); err != nil {
		return err
	}
	if b.Final && !a.done {
		a.done = true
		a.src.mu.Lock()
		for o := 20; o < 25; o++ {
			a.src.parts[0] = append(a.src.parts[0], Message{Topic: "t", Offset: int64(o), Value: []byte(fmt.Sprintf("late-%d", o))})
		}
		a.src.mu.Unlock()
	}
	return nil
}

// stepStage is a stage after decode that notes the batches it saw, can
// fail on one, and runs hold, when set, on each batch before letting it go.
type stepStage struct {
	name   string
	seqs   []uint64
	failAt uint64 // fail on the batch with this Seq (they count from 0), if not 0
	hold   func(ctx context.Context, b *Batch) error
}

func (s *stepStage) Name() string { return s.name }
func (s *stepStage) Process(ctx context.Context, b *Batch) error {
	s.seqs = append(s.seqs, b.Seq)
	if s.hold != nil {
		if err := s.hold(ctx, b); err != nil {
			return err
		}
	}
	if s.failAt != 0 && b.Seq == s.failAt {
		return errors.New("reconciler state lost")
	}
	return nil
}

// TestRunnerOverlapsStages holds the last stage on the first batch until
// the first stage has taken the next one: run one after the other per
// batch, as they were, the stages would never get there, and the hold
// gives up with an error. Every stage still sees every batch in order.
func TestRunnerOverlapsStages(t *testing.T) {
	src := newMemSource(1, 100)
	first := &toItems{}
	took := make(chan struct{}, 100)
	counting := &stepStage{name: "count", hold: func(ctx context.Context, b *Batch) error {
		took <- struct{}{}
		return nil
	}}
	var overlapped bool
	last := &stepStage{name: "match", hold: func(ctx context.Context, b *Batch) error {
		if overlapped {
			return nil
		}
		// The counting stage has taken this batch; wait for it to take
		// the next while this one is still here.
		<-took
		select {
		case <-took:
			overlapped = true
			return nil
		case <-time.After(10 * time.Second):
			return errors.New("the earlier stages did not move on to the next batch")
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	sink := &memSink{}
	r := NewRunner(fastCfg(), src, []Stage{first, counting, last}, sink, &memDLQ{}, nil, nil)
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !overlapped {
		t.Fatal("the last stage never held a batch while the next was in an earlier stage")
	}
	for _, s := range []*stepStage{counting, last} {
		for i, seq := range s.seqs {
			if i > 0 && seq <= s.seqs[i-1] {
				t.Fatalf("stage %s saw batch %d after %d", s.name, seq, s.seqs[i-1])
			}
		}
	}
	if len(counting.seqs) != len(last.seqs) || len(sink.ids) != 100 {
		t.Fatalf("stages saw %d and %d batches, sink landed %d of 100", len(counting.seqs), len(last.seqs), len(sink.ids))
	}
}

// TestRunnerLaterStageFailureStops fails the last of three stages on the
// third batch: the run ends with that stage's error and commits nothing
// from that batch on, though earlier stages had already moved past it.
func TestRunnerLaterStageFailureStops(t *testing.T) {
	src := newMemSource(1, 100)
	r := NewRunner(fastCfg(), src, []Stage{&toItems{}, &stepStage{name: "flags"}, &stepStage{name: "match", failAt: 2}},
		&memSink{}, &memDLQ{}, nil, nil)
	err := r.Run(context.Background())
	if err == nil || err.Error() != "stage match: reconciler state lost" {
		t.Fatalf("Run = %v", err)
	}
	// Batches are 10 messages: at most the first two can have landed.
	if c := src.committedOffsets()[0]; c > 20 {
		t.Fatalf("committed %d, past the batch the last stage failed on", c)
	}
}

// msgSink counts the messages of the batches it is given.
type msgSink struct {
	mu   sync.Mutex
	msgs map[int32][]int64
}

func (s *msgSink) Write(_ context.Context, b *Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range b.Messages {
		s.msgs[m.Partition] = append(s.msgs[m.Partition], m.Offset)
	}
	return nil
}

// TestRunnerWithoutStages: with no stage the runner hands every batch to
// the sink as fetched, each partition in order with one writer, and
// commits everything once the sink has it.
func TestRunnerWithoutStages(t *testing.T) {
	src := newMemSource(3, 25)
	sink := &msgSink{msgs: map[int32][]int64{}}
	cfg := fastCfg()
	cfg.SinkConcurrency = 1
	r := NewRunner(cfg, src, nil, sink, &memDLQ{}, NewMetrics(prometheus.NewRegistry()), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // a lost batch never catches up
	defer cancel()
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	for p := range int32(3) {
		if got := sink.msgs[p]; len(got) != 25 || !slices.IsSorted(got) || got[0] != 0 {
			t.Errorf("partition %d: the sink got offsets %v, want 0..24 in order", p, got)
		}
	}
	for p, c := range src.committedOffsets() {
		if c != 25 {
			t.Errorf("partition %d committed %d, want 25", p, c)
		}
	}
	if st := r.Stats(); st.Consumed != 75 {
		t.Errorf("stats %+v, want 75 consumed", st)
	}
}

// groupSink is a memSink that also writes batches together, recording how
// many went in each group write, and failing the first failGroups of them.
type groupSink struct {
	memSink
	groups     []int
	failGroups int
}

func (s *groupSink) WriteGroup(ctx context.Context, bs []*Batch) error {
	s.mu.Lock()
	s.groups = append(s.groups, len(bs))
	if s.failGroups > 0 {
		s.failGroups--
		s.mu.Unlock()
		return errors.New("clickhouse: value out of range")
	}
	s.mu.Unlock()
	for _, b := range bs {
		if err := s.memSink.Write(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// TestRunnerWritesWaitingBatchesTogether holds the first batch's write
// until later batches wait behind it: they then go to the sink in one
// group write, every record lands once and everything is committed. When
// the group write fails, each of its batches is written on its own.
func TestRunnerWritesWaitingBatchesTogether(t *testing.T) {
	for _, fail := range []bool{false, true} {
		src := newMemSource(1, 60)
		gate := make(chan error)
		sink := &groupSink{memSink: memSink{gate: map[uint64]chan error{0: gate}}}
		if fail {
			sink.failGroups = 1 << 30
		}
		cfg := fastCfg()
		cfg.SinkConcurrency = 1
		r := NewRunner(cfg, src, []Stage{&toItems{}}, sink, &memDLQ{}, nil, nil)
		done := make(chan error)
		go func() { done <- r.Run(context.Background()) }()
		// Batch 0 is held at the sink; wait for the rest of the slots to
		// fill behind it.
		for deadline := time.Now().Add(5 * time.Second); r.issued.Load() < uint64(cfg.SinkConcurrency+3); {
			if time.Now().After(deadline) {
				t.Fatalf("only %d batches fetched behind the held one", r.issued.Load())
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond) // for the stages to pass them on
		gate <- nil
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		grouped := 0
		for _, n := range sink.groups {
			if n < 2 || n > maxGroup {
				t.Fatalf("a group write of %d batches", n)
			}
			grouped += n
		}
		if grouped < 2 {
			t.Fatalf("fail=%v: no batches went together: %v", fail, sink.groups)
		}
		seen := map[string]int{}
		for _, id := range sink.ids {
			seen[id]++
		}
		if len(seen) != 60 || len(sink.ids) != 60 {
			t.Fatalf("fail=%v: %d records landed, %d distinct, want 60 once each", fail, len(sink.ids), len(seen))
		}
		if st := r.Stats(); st.Landed != 60 {
			t.Fatalf("fail=%v: stats %+v", fail, st)
		}
		if c := src.committedOffsets()[0]; c != 60 {
			t.Fatalf("fail=%v: committed %d, want 60", fail, c)
		}
	}
}

// TestRunnerLingersForBatchesToWriteTogether paces batches through a slow
// stage, so that none is ever waiting when the writer takes one: with a
// linger the writer still gathers them, three to a group write, and the
// last batch, behind which nothing can come, is written at once instead of
// after the (hour-long) linger.
func TestRunnerLingersForBatchesToWriteTogether(t *testing.T) {
	src := newMemSource(1, 70)
	slow := &stepStage{name: "match", hold: func(ctx context.Context, b *Batch) error {
		if !b.Final {
			time.Sleep(20 * time.Millisecond)
		}
		return nil
	}}
	sink := runLingering(t, src, 70, "a writer lingered for batches that could not come", &toItems{}, slow)
	if fmt.Sprint(sink.groups) != "[3 3]" {
		t.Fatalf("group writes %v, want [3 3] (then the seventh batch alone)", sink.groups)
	}
}

// runLingering runs src through stages with one sink writer that would
// linger an hour, and fails unless the run ends well before that with all
// n records landed and committed; stuck says what would have held it.
func runLingering(t *testing.T, src *memSource, n int, stuck string, stages ...Stage) *groupSink {
	t.Helper()
	sink := &groupSink{}
	cfg := fastCfg()
	cfg.SinkConcurrency = 1
	cfg.SinkLinger = time.Hour
	r := NewRunner(cfg, src, stages, sink, &memDLQ{}, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the run did not finish: " + stuck)
	}
	if len(sink.ids) != n || src.committedOffsets()[0] != int64(n) {
		t.Fatalf("%d records landed, %d committed, want %d", len(sink.ids), src.committedOffsets()[0], n)
	}
	return sink
}

// ackGate is a stage that, on batch at, waits until every batch before it
// has been acknowledged, as matching does after a rebalance.
type ackGate struct {
	at      uint64
	landed  atomic.Uint64
	waiting atomic.Bool
}

func (g *ackGate) Name() string         { return "gate" }
func (g *ackGate) Acked(b *Batch)       { g.landed.Store(b.Seq + 1) }
func (g *ackGate) WaitingForAcks() bool { return g.waiting.Load() }
func (g *ackGate) Process(ctx context.Context, b *Batch) error {
	if b.Seq != g.at {
		return nil
	}
	g.waiting.Store(true)
	defer g.waiting.Store(false)
	for g.landed.Load() < b.Seq {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// TestRunnerLingerGivesWayToAStageWaitingForAcks: a writer lingering (an
// hour) for more batches holds the ones a stage waits to see landed; it
// must write them as soon as the stage says it waits, or both wait for the
// linger to run out.
func TestRunnerLingerGivesWayToAStageWaitingForAcks(t *testing.T) {
	runLingering(t, newMemSource(1, 60), 60, "the writer lingered while a stage waited for its batches to land",
		&toItems{}, &ackGate{at: 2})
}

// endSource is a memSource that can tell when everything was fetched,
// and that, like a real source, waits all of wait when it has nothing.
type endSource struct {
	*memSource
	asked int
}

func (s *endSource) Fetch(ctx context.Context, max int, wait time.Duration) ([]Message, error) {
	out, err := s.memSource.Fetch(ctx, max, 0)
	if len(out) == 0 && err == nil {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	return out, err
}

func (s *endSource) AtEnd(ctx context.Context) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked++
	for p := range s.parts {
		if s.next[p] < int64(len(s.parts[p])) {
			return false
		}
	}
	return true
}

// TestRunnerClosesAPartBatchAtTheEnd: running until caught up, a batch
// that is not full goes on once the source says nothing is left, instead of
// waiting BatchWait (an hour here, which would outlast the test's context):
// the runner must ask between short fetches, since a fetch of a source
// with nothing to give waits all it is allowed to.
func TestRunnerClosesAPartBatchAtTheEnd(t *testing.T) {
	src := &endSource{memSource: newMemSource(3, 40)}
	sink := &memSink{}
	cfg := fastCfg()
	cfg.BatchSize, cfg.BatchWait = 1000, time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := NewRunner(cfg, src, []Stage{&toItems{}}, sink, &memDLQ{}, nil, nil)
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the run waited out its context: the part batch was held for BatchWait")
	}
	if len(sink.ids) != 120 || src.asked == 0 {
		t.Fatalf("sink got %d records (want 120); the source was asked %d times", len(sink.ids), src.asked)
	}
	for p, c := range src.committedOffsets() {
		if c != 40 {
			t.Errorf("partition %d committed %d, want 40", p, c)
		}
	}
}

// TestRunnerKeepsWaitingWhenNotRunningToTheEnd: a run that follows the
// topics never asks whether they are at their end; batch_wait is the
// operator's trade of latency for fewer, larger inserts.
func TestRunnerKeepsWaitingWhenNotRunningToTheEnd(t *testing.T) {
	src := &endSource{memSource: newMemSource(2, 10)}
	sink := &memSink{}
	cfg := fastCfg()
	cfg.UntilCaughtUp = false
	cfg.BatchSize, cfg.BatchWait = 1000, 200*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	r := NewRunner(cfg, src, []Stage{&toItems{}}, sink, &memDLQ{}, nil, nil)
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if src.asked != 0 {
		t.Fatalf("the source was asked %d times whether it was at its end", src.asked)
	}
	if len(sink.ids) != 20 {
		t.Fatalf("sink got %d records, want 20", len(sink.ids))
	}
}
