// Package kafka connects erpflow to Kafka through kafka-go: a consumer-group
// source, producers for canonical and dead-letter topics, and the embedded
// Kafka-protocol broker for the demo and tests.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
)

// SourceConfig configures a consumer-group source. Zero durations and sizes
// take the defaults noted.
type SourceConfig struct {
	Cluster Cluster
	GroupID string
	Topics  []string
	// Group timings; kafka-go's defaults (30 s session, 5 s join back-off)
	// make tests and restarts slow.
	SessionTimeout    time.Duration // default 10s
	HeartbeatInterval time.Duration // default 1s
	RebalanceTimeout  time.Duration // default 10s
	JoinGroupBackoff  time.Duration // default 500ms
	// Fetch tuning per partition. kafka-go's MinBytes of 1 makes a fetch
	// return after every few records under load; larger fetches cost fewer
	// round trips.
	// Memory is bounded by partitions × (MaxBytes + QueueCapacity messages)
	// plus Buffer messages (per partition with EventTimeOrder): with 36
	// partitions, 8 MiB fetches alone could hold 288 MiB.
	MinBytes      int           // default 64 KiB
	MaxBytes      int           // default 1 MiB
	MaxWait       time.Duration // default 250ms
	QueueCapacity int           // messages queued per partition reader; default 500
	// Buffer is how many messages wait between the readers and Fetch: in
	// all (default 20000), or with EventTimeOrder per partition (default 500).
	Buffer int
	// EventTimeOrder makes Fetch hand out the partitions' messages oldest
	// first (see Source); otherwise they come as the readers deliver them.
	// IdleWait is then how long Fetch holds the others back for a partition
	// whose reader has nothing ready although the partition has more;
	// default 20ms.
	EventTimeOrder bool
	IdleWait       time.Duration
	// LagInterval is how often the lag gauges of the partitions this
	// member reads are brought up to date from the broker, whether or not
	// anything is committed; default 15s.
	LagInterval time.Duration
	Log         *slog.Logger
	Metrics     *pipeline.Metrics
}

func (c *SourceConfig) defaults() {
	setDur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	setDur(&c.SessionTimeout, 10*time.Second)
	setDur(&c.HeartbeatInterval, time.Second)
	setDur(&c.RebalanceTimeout, 10*time.Second)
	setDur(&c.JoinGroupBackoff, 500*time.Millisecond)
	setDur(&c.MaxWait, 250*time.Millisecond)
	setDur(&c.IdleWait, defaultIdleWait)
	setDur(&c.LagInterval, 15*time.Second)
	setInt := func(i *int, v int) {
		if *i <= 0 {
			*i = v
		}
	}
	setInt(&c.MinBytes, 64<<10)
	setInt(&c.MaxBytes, 1<<20)
	setInt(&c.QueueCapacity, 500)
	if c.EventTimeOrder {
		setInt(&c.Buffer, 500)
	}
	setInt(&c.Buffer, 20000)
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Source reads all input topics as one member of a consumer group. Each
// generation's partitions are read by one kafka-go Reader each, starting at
// the group's committed offset; commits go through the generation, so a
// commit for a partition this member lost is refused rather than applied.
//
// With EventTimeOrder, Fetch hands out the partitions' messages oldest
// first, by event time where the producer said it (the erpflow-event-time
// header) and else by the message's timestamp. Matching holds every record
// until all topics of its partition have passed it in event time; read in
// arrival order, a topic with few records a day (payments) runs months
// ahead of one with many (sales orders) during a backfill, and matching
// held all of it (239k records, 695 MiB, in a 180-day world; 28.8k and
// 544 MiB read in event-time order). Arrival order is the default because
// it is cheaper: a backfill's small topics are read first, later batches
// write fewer tables, and nothing waits for a partition that falls behind.
type Source struct {
	cfg    SourceConfig
	group  *kafkago.ConsumerGroup
	client *kafkago.Client
	dialer *kafkago.Dialer // the partition readers' (one for all: it holds no connection)
	// msgs holds the readers' messages in arrival order. With
	// EventTimeOrder, queues holds them per partition of the current
	// generation instead, and notify wakes a Fetch waiting for one.
	msgs   chan pipeline.Message
	queues atomic.Pointer[[]*partQueue]
	notify chan struct{}

	mu       sync.Mutex
	gen      *kafkago.Generation
	assigned map[string][]int
	// epoch counts generations; messages carry the epoch they were read in.
	epoch atomic.Int64
	// hwm holds each partition's high watermark as last seen on a fetched
	// message, so a commit can update the lag gauge without a round trip.
	hwm sync.Map // topicPartition -> *atomic.Int64
	// drained is, per input topic and partition, whether the group had
	// read everything there at the last Lag call; nil before the first.
	drained map[string]map[int]bool

	cancel context.CancelFunc
	done   chan struct{}
	// lagDone is closed when the lag refresh has stopped (nil without
	// metrics).
	lagDone chan struct{}
}

// NewSource joins the group and starts reading in the background.
func NewSource(cfg SourceConfig) (*Source, error) {
	cfg.defaults()
	if len(cfg.Cluster.Brokers) == 0 || cfg.GroupID == "" || len(cfg.Topics) == 0 {
		return nil, errors.New("kafka source: brokers, group id and topics are required")
	}
	g, err := kafkago.NewConsumerGroup(kafkago.ConsumerGroupConfig{
		ID:                cfg.GroupID,
		Brokers:           cfg.Cluster.Brokers,
		Dialer:            cfg.Cluster.dialer(),
		Topics:            cfg.Topics,
		GroupBalancers:    []kafkago.GroupBalancer{CoPartitionBalancer{}},
		SessionTimeout:    cfg.SessionTimeout,
		HeartbeatInterval: cfg.HeartbeatInterval,
		RebalanceTimeout:  cfg.RebalanceTimeout,
		JoinGroupBackoff:  cfg.JoinGroupBackoff,
		StartOffset:       kafkago.FirstOffset,
		// Partitions added to an input topic (DESIGN's way to scale out)
		// must trigger a rebalance, or nobody reads them.
		WatchPartitionChanges: true,
		ErrorLogger:           kafkago.LoggerFunc(func(f string, a ...any) { cfg.Log.Warn("kafka-go group", "msg", fmt.Sprintf(f, a...)) }),
	})
	if err != nil {
		return nil, fmt.Errorf("kafka source: join group %s: %w", cfg.GroupID, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Source{
		cfg:    cfg,
		group:  g,
		client: cfg.Cluster.client(10 * time.Second),
		dialer: cfg.Cluster.dialer(),
		notify: make(chan struct{}, 1),
		cancel: cancel,
		done:   make(chan struct{}),
	}
	if !cfg.EventTimeOrder {
		s.msgs = make(chan pipeline.Message, cfg.Buffer)
	}
	go s.run(ctx)
	if cfg.Metrics != nil {
		for _, t := range cfg.Topics {
			// At zero from the start, so the first abort is an increase
			// the alert sees.
			cfg.Metrics.AbortedTransactions.WithLabelValues(t)
		}
		s.lagDone = make(chan struct{})
		go func() {
			defer close(s.lagDone)
			s.refreshLag(ctx)
		}()
	}
	return s, nil
}

// refreshLag brings the lag gauges up to date every LagInterval. Commits
// update them too, but a member that commits nothing (stuck, or with no
// input) would otherwise show what it last committed, or nothing, while
// its partitions fill up.
func (s *Source) refreshLag(ctx context.Context) {
	t := time.NewTicker(s.cfg.LagInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ends, err := s.endOffsets(ctx)
		if err == nil {
			var committed map[string]map[int]int64
			if committed, err = s.committed(ctx, ends); err == nil {
				s.showLag(ends, committed)
			}
		}
		if err != nil && ctx.Err() == nil {
			s.cfg.Log.Debug("lag gauges not refreshed", "err", err)
		}
	}
}

// showLag sets the lag gauges of the partitions this member reads, and
// only those: with several members each reports its own, so their sum is
// the group's lag.
func (s *Source) showLag(ends map[string]map[int][2]int64, committed map[string]map[int]int64) {
	if s.cfg.Metrics == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, parts := range s.assigned {
		for _, p := range parts {
			if bounds, ok := ends[t][p]; ok {
				s.cfg.Metrics.SetLag(t, int32(p), max(bounds[1]-committed[t][p], 0))
			}
		}
	}
}

// run follows the group from generation to generation.
func (s *Source) run(ctx context.Context) {
	defer close(s.done)
	for {
		gen, err := s.group.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, kafkago.ErrGroupClosed) {
				return
			}
			s.cfg.Log.Warn("consumer group: waiting for next generation", "err", err)
			continue
		}
		s.mu.Lock()
		s.gen = gen
		epoch := s.epoch.Add(1)
		prev := s.assigned
		s.assigned = map[string][]int{}
		for topic, parts := range gen.Assignments {
			for _, p := range parts {
				s.assigned[topic] = append(s.assigned[topic], p.ID)
			}
			sort.Ints(s.assigned[topic])
		}
		if s.cfg.Metrics != nil {
			// Another member reports a partition this one lost.
			for topic, parts := range prev {
				for _, p := range parts {
					if !slices.Contains(s.assigned[topic], p) {
						s.cfg.Metrics.Lag.DeleteLabelValues(topic, strconv.Itoa(p))
					}
				}
			}
		}
		s.mu.Unlock()
		ends, err := s.endOffsets(ctx)
		if err != nil {
			s.cfg.Log.Warn("cannot check the committed offsets against the partitions' ends", "err", err)
		}
		var assigned []string
		var queues []*partQueue
		for topic, parts := range gen.Assignments {
			for _, p := range parts {
				if b, ok := ends[topic][p.ID]; ok && p.Offset > b[1] {
					// The group committed past the partition's end: the log
					// was cut back (an unclean leader election, a broker
					// that lost its data). kafka-go would wait at that
					// offset for good and never read what is written below
					// it. Nothing tells how much was cut, so the partition
					// is read again from its start: what landed before is
					// absorbed by dedupe and the tables' keys.
					s.cfg.Log.Error("committed offset past the partition's end: reading it again from its start",
						"topic", topic, "partition", p.ID, "committed", p.Offset, "start", b[0], "end", b[1])
					p.Offset = b[0]
				}
				assigned = append(assigned, fmt.Sprintf("%s/%d@%d", topic, p.ID, p.Offset))
				// Until its first message, a partition may hold the oldest
				// records of all: wait for it like for one that has more
				// (up to IdleWait, as an empty one never delivers).
				q := &partQueue{ch: s.msgs, more: true, last: math.MinInt64, topic: topic, partition: p.ID, start: p.Offset}
				q.pos.Store(-1)
				q.end.Store(endUnknown)
				if s.cfg.EventTimeOrder {
					q.ch = make(chan pipeline.Message, s.cfg.Buffer)
				}
				queues = append(queues, q)
				topic, p := topic, p
				gen.Start(func(gctx context.Context) { s.read(gctx, topic, p, epoch, q) })
			}
		}
		s.queues.Store(&queues)
		sort.Strings(assigned)
		s.cfg.Log.Info("partitions assigned", "generation", gen.ID, "member", gen.MemberID, "partitions", assigned)
	}
}

// read copies one partition into the shared queue until the generation ends.
func (s *Source) read(ctx context.Context, topic string, pa kafkago.PartitionAssignment, epoch int64, q *partQueue) {
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:       s.cfg.Cluster.Brokers,
		Topic:         topic,
		Partition:     pa.ID,
		MinBytes:      s.cfg.MinBytes,
		MaxBytes:      s.cfg.MaxBytes,
		MaxWait:       s.cfg.MaxWait,
		QueueCapacity: s.cfg.QueueCapacity,
		Dialer:        s.dialer,
		// Warn, not Debug: this is where kafka-go reports skipping records
		// that retention deleted before they were consumed.
		ErrorLogger: kafkago.LoggerFunc(func(f string, a ...any) { s.cfg.Log.Warn("kafka-go reader", "msg", fmt.Sprintf(f, a...)) }),
	})
	// The reader stops taking messages at once, but Close waits for the
	// fetch it has in flight, up to MaxWait: 180 ms of every run that
	// stopped when caught up, and of every rebalance. Nothing it still
	// reads reaches anyone (this function has returned, and offsets are
	// committed through the generation), so the wait goes on without us.
	defer func() { go r.Close() }()
	hwmV, _ := s.hwm.LoadOrStore(topicPartition{topic, int32(pa.ID)}, new(atomic.Int64))
	hwm := hwmV.(*atomic.Int64)
	if err := r.SetOffset(pa.Offset); err != nil {
		s.cfg.Log.Error("set offset", "topic", topic, "partition", pa.ID, "offset", pa.Offset, "err", err)
		return
	}
	var headers []pipeline.Header
	for failed := 0; ; {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return
			}
			// kafka-go hands on a failed fetch (an error code from the
			// broker, a leader moving) and goes on trying with back-off.
			// Returning here would end the whole generation
			// (Generation.Start): every partition rejoined, every batch in
			// flight read again, matching rebuilt, for one partition's
			// hiccup.
			failed++
			s.cfg.Log.Warn("fetch failed; kafka-go tries again", "topic", topic, "partition", pa.ID, "failures", failed, "err", err)
			if s.cfg.Metrics != nil {
				s.cfg.Metrics.FetchErrors.WithLabelValues(topic, strconv.Itoa(pa.ID)).Inc()
			}
			continue
		}
		if failed > 0 {
			s.cfg.Log.Info("fetch works again", "topic", topic, "partition", pa.ID, "failures", failed)
			failed = 0
		}
		hwm.Store(m.HighWaterMark)
		if isAbortMarker(m) {
			s.cfg.Log.Error("a transactional producer aborted a transaction: its records were read as data, since kafka-go cannot tell them; check the records before this offset",
				"topic", topic, "partition", pa.ID, "offset", m.Offset)
			if s.cfg.Metrics != nil {
				s.cfg.Metrics.AbortedTransactions.WithLabelValues(topic).Inc()
			}
		}
		pm := pipeline.Message{Topic: m.Topic, Partition: int32(m.Partition), Offset: m.Offset,
			Key: m.Key, Value: m.Value, Time: m.Time, Epoch: epoch, HighWater: m.HighWaterMark,
			Control: isControlRecord(m)}
		if n := len(m.Headers); n > 0 {
			// Headers are cut from a shared block: one allocation per
			// message was a twentieth of a run's objects. Capped, so an
			// append to one message's headers cannot reach the next's.
			if cap(headers)-len(headers) < n {
				headers = make([]pipeline.Header, 0, max(n, headerBlock))
			}
			at := len(headers)
			for _, h := range m.Headers {
				headers = append(headers, pipeline.Header{Key: h.Key, Value: h.Value})
			}
			pm.Headers = headers[at:len(headers):len(headers)]
		}
		select {
		case q.ch <- pm:
		case <-ctx.Done():
			return
		}
		// After the send: AtEnd must not see a message as handed on while
		// it is still on its way into the queue.
		q.hw.Store(m.HighWaterMark)
		q.pos.Store(m.Offset + 1)
		if s.cfg.EventTimeOrder {
			select {
			case s.notify <- struct{}{}:
			default:
			}
		}
	}
}

// headerBlock is how many message headers read allocates at a time.
const headerBlock = 1024

// partQueue is one partition's messages between its reader and Fetch,
// with the one Fetch took out to compare (head) and its order key.
type partQueue struct {
	ch   chan pipeline.Message
	head pipeline.Message
	at   int64
	full bool
	// last is the order key of the last message handed out, and more
	// whether the partition had more after it when it was read.
	last int64
	more bool
	// stalled is when Fetch started waiting for this partition.
	stalled time.Time

	// For AtEnd: the partition, the offset its reader started at, and,
	// once it has queued a message, the offset after it (pos, else -1)
	// and the high watermark the broker reported with it.
	topic     string
	partition int
	start     int64
	pos, hw   atomic.Int64
	// end is the partition's end as AtEnd learnt it while the reader had
	// queued nothing (endUnknown until then).
	end atomic.Int64
}

// HeaderEventTime carries a record's event time (RFC 3339) on its
// message, so that consumers can read topics in event-time order without
// decoding: erpflow produce sets it. Not the message timestamp: Kafka
// deletes by timestamp, and a backfill stamped with last year's dates
// would be deleted on arrival under a retention of days.
const HeaderEventTime = "erpflow-event-time"

// orderKey is when a message happened, as far as the source can tell
// without decoding it: its event-time header, else its timestamp, in
// microseconds since 1970 (nanoseconds would overflow outside 1678–2262,
// and a message without a timestamp has the year 1).
func orderKey(m *pipeline.Message) int64 {
	for _, h := range m.Headers {
		if h.Key == HeaderEventTime {
			if t, ok := record.ParseUTCSeconds(h.Value); ok {
				return t.UnixMicro()
			}
			if t, err := time.Parse(time.RFC3339Nano, string(h.Value)); err == nil {
				return t.UnixMicro()
			}
			break
		}
	}
	return m.Time.UnixMicro()
}

// Assigned returns the partitions this member reads in the current
// generation, sorted, by topic.
func (s *Source) Assigned() map[string][]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]int, len(s.assigned))
	for t, ps := range s.assigned {
		out[t] = append([]int(nil), ps...)
	}
	return out
}

// Fetch implements pipeline.Source. Messages of an ended generation are
// dropped here: they are not committed, so whoever owns their partition now
// reads them again.
func (s *Source) Fetch(ctx context.Context, max int, wait time.Duration) ([]pipeline.Message, error) {
	if !s.cfg.EventTimeOrder {
		return s.fetchArrived(ctx, max, wait)
	}
	deadline := time.Now().Add(wait)
	var out []pipeline.Message
	for len(out) < max {
		qp := s.queues.Load()
		if qp == nil {
			qp = &[]*partQueue{}
		}
		queues := *qp
		// The oldest ready head goes first, unless a partition with nothing
		// ready yet may bring an older one (its next message is no older
		// than its last, and it had more): then wait for it, for up to
		// IdleWait from when it ran dry. A partition read to its end is not
		// waited for, and a difference under orderSlack is not worth it.
		now := time.Now()
		best, waitFor, until := -1, int64(math.MaxInt64), time.Time{}
		for i, q := range queues {
			if !q.full {
				select {
				case m := <-q.ch:
					q.head, q.at, q.full, q.stalled = m, orderKey(&m), true, time.Time{}
				default:
					if q.more {
						if q.stalled.IsZero() {
							q.stalled = now
						}
						if end := q.stalled.Add(s.cfg.IdleWait); now.Before(end) {
							waitFor = min(waitFor, q.last)
							if until.IsZero() || end.Before(until) {
								until = end
							}
						}
					}
					continue
				}
			}
			if best < 0 || q.at < queues[best].at {
				best = i
			}
		}
		if best >= 0 && waitFor < math.MaxInt64 && (waitFor == math.MinInt64 || queues[best].at-waitFor > orderSlack.Microseconds()) {
			best = -1
		}
		if best >= 0 {
			q := queues[best]
			q.full = false
			q.last, q.more = q.at, q.head.HighWater > q.head.Offset+1
			if q.head.Epoch == s.epoch.Load() {
				if out == nil {
					out = make([]pipeline.Message, 0, min(max, 4096))
				}
				out = append(out, q.head)
			}
			q.head = pipeline.Message{}
			continue
		}
		// Nothing to hand out now: what is here goes (the runner asks
		// again), or wait for a reader, for the stall to run out, or for
		// the caller's time to.
		if len(out) > 0 || !now.Before(deadline) {
			return out, nil
		}
		next := deadline
		if !until.IsZero() && until.Before(next) {
			next = until
		}
		t := time.NewTimer(next.Sub(now))
		select {
		case <-s.notify:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return out, nil
		}
		t.Stop()
	}
	return out, nil
}

// fetchArrived hands out messages in the order the readers delivered them.
func (s *Source) fetchArrived(ctx context.Context, max int, wait time.Duration) ([]pipeline.Message, error) {
	t := time.NewTimer(wait)
	defer t.Stop()
	var out []pipeline.Message
	select {
	case m := <-s.msgs:
		if m.Epoch == s.epoch.Load() {
			out = append(make([]pipeline.Message, 0, min(max, len(s.msgs)+1)), m)
		}
	case <-t.C:
		return nil, nil
	case <-ctx.Done():
		return nil, nil
	}
	for len(out) < max {
		select {
		case m := <-s.msgs:
			if m.Epoch == s.epoch.Load() {
				out = append(out, m)
			}
		default:
			return out, nil
		}
	}
	return out, nil
}

// defaultIdleWait is how long Fetch holds the other partitions back for one
// whose reader has nothing ready although the partition has more: about a
// fetch round trip to a nearby broker. Longer waits ordered no better (a 180-day
// world held at most 28.8k records with 200 ms and with 20 ms) but added
// up on small inputs, where readers often sit between two fetches.
const defaultIdleWait = 20 * time.Millisecond

// orderSlack is how far in event time Fetch lets partitions drift apart
// before it waits for the one behind. Matching needs them within days, not
// seconds, and waiting for every round trip of a busy partition's reader
// would cost more than it saves.
const orderSlack = time.Hour

// Commit implements pipeline.Source: it commits marks of the current
// generation and ignores older ones.
func (s *Source) Commit(ctx context.Context, marks []pipeline.Mark) error {
	s.mu.Lock()
	gen, epoch := s.gen, s.epoch.Load()
	s.mu.Unlock()
	if gen == nil {
		return errors.New("kafka source: no generation to commit in")
	}
	offsets := map[string]map[int]int64{}
	for _, m := range marks {
		if m.Epoch != epoch {
			continue
		}
		if offsets[m.Topic] == nil {
			offsets[m.Topic] = map[int]int64{}
		}
		offsets[m.Topic][int(m.Partition)] = m.Next
	}
	if len(offsets) == 0 {
		return nil
	}
	if err := gen.CommitOffsets(offsets); err != nil {
		return fmt.Errorf("commit offsets: %w", err)
	}
	if s.cfg.Metrics != nil {
		// Under mu, and only while the generation is the one committed in:
		// a rebalance meanwhile may have taken these partitions away, and
		// their gauges with them (run).
		s.mu.Lock()
		if s.epoch.Load() == epoch {
			for _, m := range marks {
				if v, ok := s.hwm.Load(topicPartition{m.Topic, m.Partition}); ok && m.Epoch == epoch {
					s.cfg.Metrics.SetLag(m.Topic, m.Partition, max(v.(*atomic.Int64).Load()-m.Next, 0))
				}
			}
		}
		s.mu.Unlock()
	}
	return nil
}

type topicPartition struct {
	topic     string
	partition int32
}

// Lag implements pipeline.LagReporter over all partitions of all input
// topics, whoever owns them, and updates the lag gauges of those this
// member reads.
func (s *Source) Lag(ctx context.Context) (int64, error) {
	ends, err := s.endOffsets(ctx)
	if err != nil {
		return 0, err
	}
	committed, err := s.committed(ctx, ends)
	if err != nil {
		return 0, fmt.Errorf("lag: %w", err)
	}
	var total int64
	drained := map[string]map[int]bool{}
	for t, parts := range ends {
		drained[t] = map[int]bool{}
		for p, bounds := range parts {
			lag := max(bounds[1]-committed[t][p], 0)
			total += lag
			drained[t][p] = lag == 0
		}
	}
	s.showLag(ends, committed)
	s.mu.Lock()
	s.drained = drained
	s.mu.Unlock()
	return total, nil
}

// Committed returns where the group goes on reading each partition of
// every input topic: its committed offset, or the log's start where it has
// none (or retention deleted past it).
func (s *Source) Committed(ctx context.Context) (map[string]map[int]int64, error) {
	ends, err := s.endOffsets(ctx)
	if err != nil {
		return nil, err
	}
	return s.committed(ctx, ends)
}

// committed is Committed for the partitions of ends, which hold each
// one's first and end offsets.
func (s *Source) committed(ctx context.Context, ends map[string]map[int][2]int64) (map[string]map[int]int64, error) {
	req := &kafkago.OffsetFetchRequest{GroupID: s.cfg.GroupID, Topics: map[string][]int{}}
	for t, parts := range ends {
		for p := range parts {
			req.Topics[t] = append(req.Topics[t], p)
		}
	}
	res, err := s.client.OffsetFetch(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("fetch committed offsets: %w", err)
	}
	// A group that has never committed has no offsets yet, which some
	// brokers report as an error of its own.
	if res.Error != nil && !errors.Is(res.Error, kafkago.GroupIdNotFound) {
		return nil, fmt.Errorf("fetch committed offsets: %w", res.Error)
	}
	out := make(map[string]map[int]int64, len(ends))
	for t, parts := range ends {
		got := map[int]int64{}
		for _, p := range res.Topics[t] {
			got[p.Partition] = p.CommittedOffset
		}
		out[t] = make(map[int]int64, len(parts))
		for p, bounds := range parts {
			// Below the log's start there is nothing left to read:
			// retention deleted it, and the reader starts past it. Past
			// its end the log was cut back, and the reader starts again at
			// its start (run).
			c, ok := got[p]
			if !ok || c < bounds[0] || c > bounds[1] {
				c = bounds[0]
			}
			out[t][p] = c
		}
	}
	return out, nil
}

// Assignment returns the current generation's epoch (as messages carry
// it) and the input partitions it gave this member.
func (s *Source) Assignment() (int64, map[string][]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]int, len(s.assigned))
	for t, ps := range s.assigned {
		out[t] = append([]int(nil), ps...)
	}
	return s.epoch.Load(), out
}

// Drained says whether the group had nothing left to read on a partition
// at the last Lag call: a stage waiting for records of every topic need not
// wait for that one. A topic that did not exist then has nothing to read;
// before the first Lag call nothing is known to be drained.
func (s *Source) Drained(topic string, partition int32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.drained == nil {
		return false
	}
	parts, ok := s.drained[topic]
	if !ok {
		return true
	}
	return parts[int(partition)]
}

// AtEnd implements pipeline.EndReporter: every partition of the
// generation has queued its messages up to the high watermark the broker
// last reported for it, and nothing read waits in the queues. It runs on
// the goroutine that calls Fetch (it reads what Fetch holds back), and it
// reads the readers' positions before the queues: a reader notes a
// message after queueing it, so a message noted is either still queued,
// seen below, or already handed out. A partition that has queued nothing
// is asked for its end, once a generation: it is at its end when its
// reader started there. Any doubt answers false, which only costs a batch
// its full wait.
func (s *Source) AtEnd(ctx context.Context) bool {
	qp := s.queues.Load()
	if qp == nil {
		return false
	}
	var silent []*partQueue
	done := true
	for _, q := range *qp {
		pos, hw := q.pos.Load(), q.hw.Load()
		switch {
		case pos < 0:
			silent = append(silent, q)
		case hw <= 0 || pos < hw:
			done = false
		}
	}
	if !done || len(s.msgs) > 0 {
		return false
	}
	for _, q := range *qp {
		if q.full || len(q.ch) > 0 {
			return false
		}
	}
	var ask []*partQueue
	for _, q := range silent {
		if q.end.Load() == endUnknown {
			ask = append(ask, q)
		}
	}
	if len(ask) > 0 {
		req := &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{}}
		for _, q := range ask {
			req.Topics[q.topic] = append(req.Topics[q.topic], kafkago.LastOffsetOf(q.partition))
		}
		res, err := s.client.ListOffsets(ctx, req)
		if err != nil {
			return false
		}
		for _, q := range ask {
			for _, p := range res.Topics[q.topic] {
				if p.Partition == q.partition && p.Error == nil && p.LastOffset >= 0 {
					q.end.Store(p.LastOffset)
				}
			}
		}
	}
	for _, q := range silent {
		// start is FirstOffset (negative) for a group that never
		// committed: only an empty partition is then known to be done.
		// One whose messages retention deleted stays in doubt; its end is
		// not asked again, so the broker is not asked every poll.
		end := q.end.Load()
		if end == endUnknown || (end > 0 && q.start < end) {
			return false
		}
	}
	return true
}

// endUnknown marks a partQueue whose partition's end AtEnd has not learnt.
const endUnknown = -1

// endOffsets returns the high watermark of every partition of the inputs.
// endOffsets gives every input partition's log start and end.
func (s *Source) endOffsets(ctx context.Context) (map[string]map[int][2]int64, error) {
	md, err := s.client.Metadata(ctx, &kafkago.MetadataRequest{Topics: s.cfg.Topics})
	if err != nil {
		return nil, fmt.Errorf("lag: metadata: %w", err)
	}
	req := &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{}}
	for _, t := range md.Topics {
		if errors.Is(t.Error, kafkago.UnknownTopicOrPartition) {
			continue // nothing to consume there yet: no lag
		}
		if t.Error != nil {
			return nil, fmt.Errorf("lag: topic %s: %w", t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			req.Topics[t.Name] = append(req.Topics[t.Name], kafkago.FirstOffsetOf(p.ID), kafkago.LastOffsetOf(p.ID))
		}
	}
	if len(req.Topics) == 0 {
		return map[string]map[int][2]int64{}, nil
	}
	res, err := s.client.ListOffsets(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("lag: list offsets: %w", err)
	}
	out := map[string]map[int][2]int64{}
	for t, parts := range res.Topics {
		out[t] = map[int][2]int64{}
		for _, p := range parts {
			if p.Error != nil {
				return nil, fmt.Errorf("lag: %s/%d: %w", t, p.Partition, p.Error)
			}
			out[t][p.Partition] = [2]int64{p.FirstOffset, p.LastOffset}
		}
	}
	return out, nil
}

// Close leaves the group; uncommitted work is read again by the next owner.
func (s *Source) Close() error {
	s.cancel()
	err := s.group.Close()
	<-s.done
	if s.lagDone != nil {
		<-s.lagDone
	}
	return err
}
