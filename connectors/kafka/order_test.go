package kafka

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
)

func TestOrderKey(t *testing.T) {
	at := time.Date(2025, 4, 16, 6, 30, 5, 0, time.UTC)
	msgTime := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name   string
		header string // "" for none
		want   time.Time
	}{
		{"the common form", "2025-04-16T06:30:05Z", at},
		{"fractions and an offset", "2025-04-16T14:30:05.25+08:00", at.Add(250 * time.Millisecond)},
		{"no header: the message's timestamp", "", msgTime},
		{"an unreadable header: the timestamp", "2025-13-16T06:30:05Z", msgTime},
		{"not a time at all", "yesterday", msgTime},
		{"a date only", "2025-04-16", msgTime},
		{"the last day ClickHouse can store and beyond nanoseconds", "9999-12-31T23:59:59Z", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
	}
	for _, c := range cases {
		m := pipeline.Message{Time: msgTime}
		if c.header != "" {
			m.Headers = []pipeline.Header{{Key: "other", Value: []byte("x")}, {Key: HeaderEventTime, Value: []byte(c.header)}}
		}
		if got := orderKey(&m); got != c.want.UnixMicro() {
			t.Errorf("%s: orderKey = %v, want %v", c.name, time.UnixMicro(got).UTC(), c.want)
		}
	}
}

// FuzzOrderKey: the fast path for the common form changes nothing: the
// order key of any header is what time.Parse makes of it, or the message's
// timestamp when time.Parse cannot read it.
func FuzzOrderKey(f *testing.F) {
	for _, s := range []string{"2025-04-16T06:30:05Z", "1970-01-01T00:00:00Z", "2025-02-30T00:00:00Z", "2024-02-29T23:59:59Z",
		"2025-04-16T24:00:00Z", "0000-01-01T0:00:00Z", "２０２５-04-16T06:30:05Z", "2025-04-16T06:30:05+08:00", ""} {
		f.Add(s)
	}
	msgTime := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		m := pipeline.Message{Time: msgTime, Headers: []pipeline.Header{{Key: HeaderEventTime, Value: []byte(s)}}}
		want := msgTime.UnixMicro()
		if p, err := time.Parse(time.RFC3339Nano, s); err == nil {
			want = p.UnixMicro()
		}
		if got := orderKey(&m); got != want {
			t.Fatalf("orderKey(%q) = %v, want %v", s, time.UnixMicro(got).UTC(), time.UnixMicro(want).UTC())
		}
	})
}

// TestProduceStampsEventTime: canonical records carry their event_time,
// and a raw source's records the time its mapping reads, in the
// erpflow-event-time header; a line with neither goes without one.
func TestProduceStampsEventTime(t *testing.T) {
	b := startBroker(t, "erp.invoices", "raw.x")
	dir := t.TempDir()
	canon := filepath.Join(dir, "c.ndjson")
	writeFile(t, canon, []byte(`{"kind":"invoice","company":"SH01","source":"erp","id":"1","version":1,"event_time":"2025-04-16T06:30:05Z","body":{}}
{"kind":"invoice","company":"SH01","source":"erp","id":"2","version":1,"body":{}}
`))
	raw := filepath.Join(dir, "r.ndjson")
	writeFile(t, raw, []byte("{\"when\":\"a\"}\n{\"when\":\"b\"}\n"))
	w := NewWriter(Plaintext(b.Addr()))
	defer w.Close()
	ctx := context.Background()
	if _, err := ProduceFile(ctx, w, canon, ProduceOptions{TopicFor: func(record.Kind) string { return "erp.invoices" }}); err != nil {
		t.Fatal(err)
	}
	timeFor := func(line []byte) (time.Time, bool) {
		if string(line) == `{"when":"a"}` {
			return time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("CST", 8*3600)), true
		}
		return time.Time{}, false
	}
	if _, err := ProduceFile(ctx, w, raw, ProduceOptions{Topic: "raw.x", KeyFor: func([]byte) []byte { return []byte("SH01") }, TimeFor: timeFor}); err != nil {
		t.Fatal(err)
	}
	read := func(topic string) map[string]string {
		p := partitionOf(t, "SH01", 4)
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{b.Addr()}, Topic: topic, Partition: p, MaxWait: 50 * time.Millisecond})
		defer r.Close()
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		got := map[string]string{}
		for i := 0; i < 2; i++ {
			m, err := r.ReadMessage(rctx)
			if err != nil {
				t.Fatal(err)
			}
			got[string(m.Value)] = ""
			for _, h := range m.Headers {
				if h.Key == HeaderEventTime {
					got[string(m.Value)] = string(h.Value)
				}
			}
		}
		return got
	}
	c := read("erp.invoices")
	want := map[string]string{
		`{"kind":"invoice","company":"SH01","source":"erp","id":"1","version":1,"event_time":"2025-04-16T06:30:05Z","body":{}}`: "2025-04-16T06:30:05Z",
		`{"kind":"invoice","company":"SH01","source":"erp","id":"2","version":1,"body":{}}`:                                     "",
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("canonical headers %v, want %v", c, want)
	}
	r := read("raw.x")
	if r[`{"when":"a"}`] != "2025-01-01T19:04:05Z" || r[`{"when":"b"}`] != "" {
		t.Errorf("raw headers %v", r)
	}
}

// TestSourceHandsOutInEventTimeOrder: one topic sent whole before the
// other, on the same partition, comes out merged by event time, each
// partition in its own order; without EventTimeOrder it comes as read.
func TestSourceHandsOutInEventTimeOrder(t *testing.T) {
	b := startBroker(t, "erp.payments", "sales.orders")
	day := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	send := func(topic string, offset time.Duration) {
		w := NewWriter(Plaintext(b.Addr()))
		defer w.Close()
		var msgs []kafkago.Message
		for i := 0; i < 200; i++ {
			at := day.Add(time.Duration(i)*24*time.Hour + offset).Format(time.RFC3339)
			msgs = append(msgs, kafkago.Message{Topic: topic, Key: []byte("SH01"), Value: []byte(at),
				Headers: []kafkago.Header{{Key: HeaderEventTime, Value: []byte(at)}}})
		}
		if err := w.WriteMessages(context.Background(), msgs...); err != nil {
			t.Fatal(err)
		}
	}
	send("erp.payments", 0)
	send("sales.orders", 12*time.Hour)
	read := func(group string, ordered bool) []pipeline.Message {
		s, err := NewSource(SourceConfig{Cluster: Plaintext(b.Addr()), GroupID: group, Topics: []string{"erp.payments", "sales.orders"},
			SessionTimeout: time.Second, HeartbeatInterval: 100 * time.Millisecond, RebalanceTimeout: 2 * time.Second,
			JoinGroupBackoff: 100 * time.Millisecond, MaxWait: 50 * time.Millisecond, EventTimeOrder: ordered,
			// Small queues make the merge wait for the readers, and a long
			// IdleWait lets it, however busy the machine.
			QueueCapacity: 16, Buffer: 16, IdleWait: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var got []pipeline.Message
		for len(got) < 400 && ctx.Err() == nil {
			msgs, err := s.Fetch(ctx, 50, 100*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, msgs...)
		}
		if len(got) != 400 {
			t.Fatalf("read %d messages, want 400", len(got))
		}
		return got
	}
	got := read("g-ordered", true)
	next := map[string]int64{}
	for i, m := range got {
		if m.Offset != next[m.Topic] {
			t.Fatalf("%s: offset %d, want %d", m.Topic, m.Offset, next[m.Topic])
		}
		next[m.Topic]++
		if i > 0 && string(m.Value) < string(got[i-1].Value) {
			t.Fatalf("message %d (%s %s) came after %s", i, m.Topic, m.Value, got[i-1].Value)
		}
	}
	// The same messages as read: the payments first (the orders topic
	// sent later) or interleaved as the readers happen to deliver them,
	// but not in event-time order.
	got = read("g-arrival", false)
	inversions := 0
	for i := 1; i < len(got); i++ {
		if string(got[i].Value) < string(got[i-1].Value) {
			inversions++
		}
	}
	if inversions == 0 {
		t.Error("without EventTimeOrder the messages came in event-time order too: the test shows nothing")
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// orderedSource is a Source in event-time order over hand-filled queues,
// without Kafka: what Fetch does with what its readers have delivered.
func orderedSource(idle time.Duration, queues ...*partQueue) *Source {
	s := &Source{cfg: SourceConfig{EventTimeOrder: true, IdleWait: idle}, notify: make(chan struct{}, 1)}
	s.epoch.Store(1)
	s.queues.Store(&queues)
	return s
}

func queued(msgs ...pipeline.Message) *partQueue {
	q := &partQueue{ch: make(chan pipeline.Message, 16), more: true, last: math.MinInt64}
	for _, m := range msgs {
		m.Epoch = 1
		q.ch <- m
	}
	return q
}

func at(day int, offset, highWater int64) pipeline.Message {
	return pipeline.Message{Offset: offset, HighWater: highWater, Time: time.Date(2025, 1, day, 0, 0, 0, 0, time.UTC)}
}

// TestOrderedFetchWaits: Fetch keeps its contract in event-time order too:
// what is ready goes without waiting out the caller's time, a partition
// that may bring something older is waited for only IdleWait, and what it
// brings meanwhile goes first.
func TestOrderedFetchWaits(t *testing.T) {
	ctx := context.Background()
	const long = 20 * time.Second // a Fetch that waited this long failed
	t.Run("ready, nothing to wait for", func(t *testing.T) {
		s := orderedSource(long, queued(at(3, 0, 1))) // its partition's end: nothing more
		start := time.Now()
		got, _ := s.Fetch(ctx, 10, long)
		if len(got) != 1 || time.Since(start) > long/2 {
			t.Fatalf("got %d messages after %v; want the one ready, at once", len(got), time.Since(start))
		}
	})
	t.Run("a dry partition is waited for IdleWait", func(t *testing.T) {
		behind := queued(at(1, 0, 5)) // more after it
		ahead := queued(at(9, 0, 5))
		s := orderedSource(50*time.Millisecond, behind, ahead)
		first, _ := s.Fetch(ctx, 1, long)
		if len(first) != 1 || !first[0].Time.Equal(at(1, 0, 0).Time) {
			t.Fatalf("first fetch %v, want day 1", first)
		}
		start := time.Now()
		got, _ := s.Fetch(ctx, 1, long)
		if len(got) != 1 || !got[0].Time.Equal(at(9, 0, 0).Time) || time.Since(start) > long/2 {
			t.Fatalf("got %v after %v; want day 9 once the dry partition's wait ran out", got, time.Since(start))
		}
	})
	t.Run("what the dry partition brings meanwhile goes first", func(t *testing.T) {
		behind := queued(at(1, 0, 5))
		ahead := queued(at(9, 0, 5))
		s := orderedSource(long, behind, ahead)
		if first, _ := s.Fetch(ctx, 1, long); len(first) != 1 {
			t.Fatal("no first message")
		}
		go func() {
			time.Sleep(20 * time.Millisecond)
			m := at(2, 1, 5)
			m.Epoch = 1
			behind.ch <- m
			s.notify <- struct{}{}
		}()
		got, _ := s.Fetch(ctx, 1, long)
		if len(got) != 1 || !got[0].Time.Equal(at(2, 0, 0).Time) {
			t.Fatalf("got %v, want day 2 from the partition waited for", got)
		}
	})
}
