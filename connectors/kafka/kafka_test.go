package kafka

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/erpflow/erpflow/pipeline"
)

func TestCoPartitionBalancer(t *testing.T) {
	// Metadata order is deliberately shuffled, as brokers return it.
	var parts []kafkago.Partition
	for _, id := range []int{2, 0, 3, 1} {
		parts = append(parts, kafkago.Partition{Topic: "erp.invoices", ID: id})
	}
	for _, id := range []int{1, 3, 0, 2} {
		parts = append(parts, kafkago.Partition{Topic: "bank.transactions", ID: id})
	}
	cases := []struct {
		members int
		want    [][]int // per member (sorted by id), partitions of every topic
	}{
		{1, [][]int{{0, 1, 2, 3}}},
		{2, [][]int{{0, 1}, {2, 3}}},
		{3, [][]int{{0, 1}, {2}, {3}}},
		{5, [][]int{{0}, {1}, {2}, {3}, nil}},
	}
	for _, c := range cases {
		var ms []kafkago.GroupMember
		for i := c.members - 1; i >= 0; i-- {
			ms = append(ms, kafkago.GroupMember{ID: "m" + strconv.Itoa(i), Topics: []string{"erp.invoices", "bank.transactions"}})
		}
		got := CoPartitionBalancer{}.AssignGroups(ms, parts)
		for i, want := range c.want {
			a := got["m"+strconv.Itoa(i)]
			if !reflect.DeepEqual(a["erp.invoices"], want) || !reflect.DeepEqual(a["bank.transactions"], want) {
				t.Errorf("%d members: m%d got %v, want %v in both topics", c.members, i, a, want)
			}
		}
	}
}

func startBroker(t *testing.T, topics ...string) *Broker {
	t.Helper()
	b, err := StartBroker(BrokerConfig{Topics: topics, Partitions: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func testSource(t *testing.T, b *Broker, group string, topics ...string) *Source {
	t.Helper()
	return testSourceWith(t, b, group, nil, topics...)
}

// testSourceWith is testSource counting into metrics (nil: none).
func testSourceWith(t *testing.T, b *Broker, group string, metrics *pipeline.Metrics, topics ...string) *Source {
	t.Helper()
	s, err := NewSource(SourceConfig{Cluster: Plaintext(b.Addr()), GroupID: group, Topics: topics,
		SessionTimeout: time.Second, HeartbeatInterval: 100 * time.Millisecond, RebalanceTimeout: 2 * time.Second,
		JoinGroupBackoff: 100 * time.Millisecond, MaxWait: 50 * time.Millisecond, Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func produce(t *testing.T, b *Broker, topic string, n int) {
	t.Helper()
	w := NewWriter(Plaintext(b.Addr()))
	defer w.Close()
	var msgs []kafkago.Message
	for i := 0; i < n; i++ {
		msgs = append(msgs, kafkago.Message{Topic: topic, Key: []byte(fmt.Sprintf("C%02d", i%7)), Value: []byte(strconv.Itoa(i))})
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
}

func TestSourceReadsCommitsAndReportsLag(t *testing.T) {
	b := startBroker(t, "erp.invoices", "bank.transactions")
	produce(t, b, "erp.invoices", 300)
	produce(t, b, "bank.transactions", 200)
	s := testSource(t, b, "g1", "erp.invoices", "bank.transactions")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	lag, err := s.Lag(ctx)
	if err != nil || lag != 500 {
		t.Fatalf("lag before = %d, %v; want 500", lag, err)
	}
	type tp struct {
		topic string
		p     int32
	}
	seen := map[tp]int64{} // next expected offset
	var got []pipeline.Message
	for len(got) < 500 && ctx.Err() == nil {
		msgs, err := s.Fetch(ctx, 100, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			k := tp{m.Topic, m.Partition}
			if m.Offset != seen[k] {
				t.Fatalf("%v: offset %d, want %d (order per partition)", k, m.Offset, seen[k])
			}
			seen[k] = m.Offset + 1
		}
		got = append(got, msgs...)
	}
	if len(got) != 500 {
		t.Fatalf("read %d messages", len(got))
	}
	var marks []pipeline.Mark
	for k, next := range seen {
		marks = append(marks, pipeline.Mark{Topic: k.topic, Partition: k.p, Next: next, Epoch: got[0].Epoch})
	}
	// A mark of an older generation must not be committed.
	stale := []pipeline.Mark{{Topic: "erp.invoices", Partition: 0, Next: 9999, Epoch: got[0].Epoch - 1}}
	if err := s.Commit(ctx, stale); err != nil {
		t.Fatal(err)
	}
	if lag, _ := s.Lag(ctx); lag != 500 {
		t.Fatalf("stale commit changed lag to %d", lag)
	}
	if err := s.Commit(ctx, marks); err != nil {
		t.Fatal(err)
	}
	if lag, err := s.Lag(ctx); err != nil || lag != 0 {
		t.Fatalf("lag after commit = %d, %v", lag, err)
	}
}

func TestTwoMembersGetSamePartitionsOfEveryTopic(t *testing.T) {
	b := startBroker(t, "erp.invoices", "bank.transactions")
	topics := []string{"erp.invoices", "bank.transactions"}
	s1 := testSource(t, b, "g2", topics...)
	s2 := testSource(t, b, "g2", topics...)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		a1, a2 := s1.Assigned(), s2.Assigned()
		if len(a1["erp.invoices"])+len(a2["erp.invoices"]) == 4 && len(a1["erp.invoices"]) > 0 && len(a2["erp.invoices"]) > 0 {
			for _, a := range []map[string][]int{a1, a2} {
				if !reflect.DeepEqual(a["erp.invoices"], a["bank.transactions"]) {
					t.Fatalf("member assignment not co-partitioned: %v", a)
				}
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("group did not settle on two members: %v %v", s1.Assigned(), s2.Assigned())
}

// TestLagGaugesAreEachMembersOwn: each member of a group reports the lag
// of the partitions it reads and no others, so the group's lag is the sum
// over members; it reports it without committing anything (a member stuck,
// or with nothing to do, shows what waits); and a partition it loses to a
// new member leaves its gauges.
func TestLagGaugesAreEachMembersOwn(t *testing.T) {
	b := startBroker(t, "erp.invoices")
	produce(t, b, "erp.invoices", 70)
	newMember := func() (*Source, *prometheus.Registry) {
		reg := prometheus.NewRegistry()
		s, err := NewSource(SourceConfig{Cluster: Plaintext(b.Addr()), GroupID: "g-lag", Topics: []string{"erp.invoices"},
			SessionTimeout: time.Second, HeartbeatInterval: 100 * time.Millisecond, RebalanceTimeout: 2 * time.Second,
			JoinGroupBackoff: 100 * time.Millisecond, MaxWait: 50 * time.Millisecond, LagInterval: 50 * time.Millisecond,
			Metrics: pipeline.NewMetrics(reg)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s, reg
	}
	// lags reads a member's lag gauges by partition.
	lags := func(reg *prometheus.Registry) map[string]float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, mf := range mfs {
			if mf.GetName() != "erpflow_consumer_lag_messages" {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "partition" {
						out[l.GetValue()] = m.GetGauge().GetValue()
					}
				}
			}
		}
		return out
	}
	total := func(m map[string]float64) (n float64) {
		for _, v := range m {
			n += v
		}
		return n
	}
	s1, r1 := newMember()
	deadline := time.Now().Add(30 * time.Second)
	for l := lags(r1); len(l) != 4 || total(l) != 70; l = lags(r1) {
		if time.Now().After(deadline) {
			t.Fatalf("alone, nothing read or committed: lag gauges %v, want all 4 partitions summing to 70", l)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s2, r2 := newMember()
	for {
		a1, a2 := s1.Assigned()["erp.invoices"], s2.Assigned()["erp.invoices"]
		l1, l2 := lags(r1), lags(r2)
		own := func(a []int, l map[string]float64) bool {
			if len(a) == 0 || len(l) != len(a) {
				return false
			}
			for _, p := range a {
				if _, ok := l[strconv.Itoa(p)]; !ok {
					return false
				}
			}
			return true
		}
		if len(a1)+len(a2) == 4 && own(a1, l1) && own(a2, l2) && total(l1)+total(l2) == 70 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("members read %v and %v, report %v and %v: want each its own partitions, summing to 70", a1, a2, l1, l2)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDeadLettersKeepOriginalAndAddReason(t *testing.T) {
	b := startBroker(t, "erpflow.dlq")
	d := NewDeadLetters(Plaintext(b.Addr()), "erpflow.dlq")
	defer d.Close()
	orig := pipeline.Message{Topic: "erp.invoices", Partition: 3, Offset: 41, Key: []byte("SH01"), Value: []byte("{broken"),
		Headers: []pipeline.Header{{Key: "trace", Value: []byte("abc")}}}
	err := d.WriteDead(context.Background(), []pipeline.DeadLetter{{Msg: &orig, Stage: "decode", Reason: "invalid_json", Message: "unexpected end"}})
	if err != nil {
		t.Fatal(err)
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{b.Addr()}, Topic: "erpflow.dlq", Partition: partitionOf(t, "SH01", 4), MaxWait: 50 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := r.ReadMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Key) != "SH01" || string(m.Value) != "{broken" {
		t.Fatalf("key %q value %q", m.Key, m.Value)
	}
	h := map[string]string{}
	for _, x := range m.Headers {
		h[x.Key] = string(x.Value)
	}
	want := map[string]string{"trace": "abc", HeaderReason: "invalid_json", HeaderStage: "decode", HeaderMessage: "unexpected end",
		HeaderTopic: "erp.invoices", HeaderPartition: "3", HeaderOffset: "41"}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("headers %v, want %v", h, want)
	}
}

// partitionOf is where murmur2 puts key among n partitions, as Kafka's own
// clients compute it.
func partitionOf(t *testing.T, key string, n int) int {
	parts := make([]int, n)
	for i := range parts {
		parts[i] = i
	}
	return (&kafkago.Murmur2Balancer{}).Balance(kafkago.Message{Key: []byte(key)}, parts...)
}

func TestLagIgnoresMissingTopics(t *testing.T) {
	b, err := StartBroker(BrokerConfig{Topics: []string{"erp.invoices"}, Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	produce(t, b, "erp.invoices", 10)
	// The source is given a topic nobody created: lag must still be known,
	// or run --until-caught-up would wait for it forever.
	s := &Source{cfg: SourceConfig{Cluster: Plaintext(b.Addr()), GroupID: "g-missing", Topics: []string{"erp.invoices", "erp.nowhere"}},
		client: &kafkago.Client{Addr: kafkago.TCP(b.Addr()), Timeout: 5 * time.Second}}
	lag, err := s.Lag(context.Background())
	if err != nil || lag != 10 {
		t.Fatalf("lag %d, %v; want 10", lag, err)
	}
}

func TestTruncateKeepsUTF8(t *testing.T) {
	long := strings.Repeat("报销金额", 200) // 2,400 bytes
	got := truncate(long, maxMessageHeader)
	if len(got) > maxMessageHeader || !utf8.Valid(got) || !strings.HasSuffix(string(got), "(truncated)") {
		t.Fatalf("len %d valid %v", len(got), utf8.Valid(got))
	}
	if string(truncate("short", 10)) != "short" {
		t.Fatal("short message changed")
	}
}

// TestDeadLettersReadReleasedOriginalsAgain: a message whose bytes were
// let go after decoding is dead-lettered with its original value, read
// again from its topic.
func TestDeadLettersReadReleasedOriginalsAgain(t *testing.T) {
	b := startBroker(t, "erp.invoices", "erpflow.dlq")
	w := NewWriter(Plaintext(b.Addr()))
	var msgs []kafkago.Message
	for i := range 5 {
		msgs = append(msgs, kafkago.Message{Topic: "erp.invoices", Key: []byte("SH01"), Value: []byte(fmt.Sprintf("v%d", i))})
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	w.Close()
	p := int32(partitionOf(t, "SH01", 4))
	d := NewDeadLetters(Plaintext(b.Addr()), "erpflow.dlq")
	defer d.Close()
	ctx := context.Background()
	released := pipeline.Message{Topic: "erp.invoices", Partition: p, Offset: 2, Key: []byte("SH01"), Released: true}
	if err := d.WriteDead(ctx, []pipeline.DeadLetter{{Msg: &released, Stage: "dedupe", Reason: "version_conflict"}}); err != nil {
		t.Fatal(err)
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{b.Addr()}, Topic: "erpflow.dlq", Partition: int(p), MaxWait: 50 * time.Millisecond})
	defer r.Close()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m, err := r.ReadMessage(rctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Value) != "v2" {
		t.Errorf("dead letter value %q, want the original %q", m.Value, "v2")
	}
	if released.Value != nil || !released.Released {
		t.Error("WriteDead changed the batch's message")
	}

	// Retention deletes the partition's first three messages: one of them,
	// and one past the end (as in a topic deleted and made again), can
	// never be read. They are dead-lettered without a value, saying so,
	// rather than holding every batch after theirs for good.
	deleteRecords(t, b, "erp.invoices", map[int32]int64{p: 3})
	gone := []pipeline.Message{
		{Topic: "erp.invoices", Partition: p, Offset: 1, Key: []byte("SH01"), Released: true},
		{Topic: "erp.invoices", Partition: p, Offset: 999, Key: []byte("SH01"), Released: true},
	}
	err = d.WriteDead(ctx, []pipeline.DeadLetter{{Msg: &gone[0], Stage: "sink", Reason: "sink_refused"}, {Msg: &gone[1], Stage: "dedupe", Reason: "version_conflict"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"gone from its topic: the partition holds offsets 3 to 4", "gone from its topic: the partition holds offsets 3 to 4"} {
		m, err := r.ReadMessage(rctx)
		if err != nil {
			t.Fatal(err)
		}
		var got, reason string
		for _, h := range m.Headers {
			switch h.Key {
			case HeaderValueGone:
				got = string(h.Value)
			case HeaderReason:
				reason = string(h.Value)
			}
		}
		if got != want || len(m.Value) != 0 || reason == "" || string(m.Key) != "SH01" {
			t.Errorf("dead letter at %d: value %q, %s %q, reason %q; want no value and %q", m.Offset, m.Value, HeaderValueGone, got, reason, want)
		}
		if _, err := ReplayMessage(m, "erpflow.dlq", ""); !errors.Is(err, ErrValueGone) {
			t.Errorf("replay of a dead letter without its value: %v, want %v", err, ErrValueGone)
		}
	}
}

// deleteRecords deletes the records of partitions of topic before the
// offsets given (-1: all), as retention does.
func deleteRecords(t *testing.T, b *Broker, topic string, before map[int32]int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kmsg.NewPtrDeleteRecordsRequest()
	req.TimeoutMillis = 5000
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = topic
	for p, off := range before {
		rp := kmsg.NewDeleteRecordsRequestTopicPartition()
		rp.Partition, rp.Offset = p, off
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range resp.Topics {
		for _, p := range tp.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				t.Fatalf("delete records of %s/%d: %v", tp.Topic, p.Partition, err)
			}
		}
	}
}

// TestSourceKeepsEachMessagesHeaders: headers are cut from shared blocks;
// every message still gets exactly its own, across block boundaries, and
// appending to one message's headers leaves the next message's alone.
func TestSourceKeepsEachMessagesHeaders(t *testing.T) {
	b := startBroker(t, "erp.invoices")
	const n = 3 * headerBlock / 2
	var msgs []kafkago.Message
	for i := 0; i < n; i++ {
		m := kafkago.Message{Topic: "erp.invoices", Key: []byte("SH01"), Value: []byte(fmt.Sprint(i))}
		for j := 0; j < i%4; j++ {
			m.Headers = append(m.Headers, kafkago.Header{Key: fmt.Sprint("h", j), Value: []byte(fmt.Sprint(i, "/", j))})
		}
		msgs = append(msgs, m)
	}
	w := NewWriter(Plaintext(b.Addr()))
	defer w.Close()
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	s := testSource(t, b, "g-headers", "erp.invoices")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got []pipeline.Message
	for len(got) < n && ctx.Err() == nil {
		batch, err := s.Fetch(ctx, 500, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, batch...)
	}
	if len(got) != n {
		t.Fatalf("read %d messages, want %d", len(got), n)
	}
	for k, m := range got {
		i, err := strconv.Atoi(string(m.Value))
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Headers) != i%4 || cap(m.Headers) != len(m.Headers) {
			t.Fatalf("message %d: %d headers (capacity %d), want %d", i, len(m.Headers), cap(m.Headers), i%4)
		}
		for j, h := range m.Headers {
			if h.Key != fmt.Sprint("h", j) || string(h.Value) != fmt.Sprint(i, "/", j) {
				t.Fatalf("message %d header %d: %s=%s", i, j, h.Key, h.Value)
			}
		}
		if k > 0 {
			prev := got[k-1].Headers
			before := fmt.Sprint(m.Headers)
			_ = append(prev, pipeline.Header{Key: "appended"})
			if after := fmt.Sprint(m.Headers); after != before {
				t.Fatalf("appending to message %d's headers changed the next one's: %s, was %s", k-1, after, before)
			}
		}
	}
}

// TestSourceKnowsWhenItIsAtTheEnd: AtEnd is false while anything is left to
// hand out, true once everything is, including partitions that never had
// a message, and true for a restarted member whose group committed
// everything already.
func TestSourceKnowsWhenItIsAtTheEnd(t *testing.T) {
	b := startBroker(t, "erp.invoices", "bank.transactions")
	produce(t, b, "erp.invoices", 30) // bank.transactions stays empty
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := testSource(t, b, "g-end", "erp.invoices", "bank.transactions")

	if s.AtEnd(ctx) {
		t.Fatal("at the end before anything was fetched")
	}
	var got []pipeline.Message
	for len(got) == 0 && ctx.Err() == nil {
		msgs, err := s.Fetch(ctx, 5, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, msgs...)
	}
	if s.AtEnd(ctx) {
		t.Fatalf("at the end after %d of 30 messages", len(got))
	}
	for len(got) < 30 && ctx.Err() == nil {
		msgs, err := s.Fetch(ctx, 100, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, msgs...)
	}
	if len(got) != 30 {
		t.Fatalf("fetched %d of 30", len(got))
	}
	// A reader notes a message as handed on just after queueing it.
	for !s.AtEnd(ctx) {
		if ctx.Err() != nil {
			t.Fatal("never at the end after fetching everything")
		}
		time.Sleep(10 * time.Millisecond)
	}

	next := map[int32]int64{}
	for _, m := range got {
		next[m.Partition] = max(next[m.Partition], m.Offset+1)
	}
	var marks []pipeline.Mark
	for p, n := range next {
		marks = append(marks, pipeline.Mark{Topic: "erp.invoices", Partition: p, Next: n, Epoch: got[0].Epoch})
	}
	if err := s.Commit(ctx, marks); err != nil {
		t.Fatal(err)
	}
	s.Close()

	again := testSource(t, b, "g-end", "erp.invoices", "bank.transactions")
	for !again.AtEnd(ctx) {
		if ctx.Err() != nil {
			t.Fatal("a member starting where its group committed everything is never at the end")
		}
		time.Sleep(10 * time.Millisecond)
	}
	produce(t, b, "erp.invoices", 3)
	for again.AtEnd(ctx) {
		if ctx.Err() != nil {
			t.Fatal("still at the end after three new messages")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var more []pipeline.Message
	for len(more) < 3 && ctx.Err() == nil {
		msgs, err := again.Fetch(ctx, 100, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		more = append(more, msgs...)
	}
	for !again.AtEnd(ctx) {
		if ctx.Err() != nil {
			t.Fatalf("never at the end again after fetching %d new messages", len(more))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAtEndCases: AtEnd over hand-set partition states, asking a real
// broker for the ends of partitions that have queued nothing.
func TestAtEndCases(t *testing.T) {
	b := startBroker(t, "erp.invoices", "bank.transactions")
	produce(t, b, "erp.invoices", 40) // bank.transactions stays empty
	ends := map[int]int64{}
	client := &kafkago.Client{Addr: kafkago.TCP(b.Addr())}
	req := &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{"erp.invoices": {
		kafkago.LastOffsetOf(0), kafkago.LastOffsetOf(1), kafkago.LastOffsetOf(2), kafkago.LastOffsetOf(3)}}}
	res, err := client.ListOffsets(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	full := -1
	for _, p := range res.Topics["erp.invoices"] {
		ends[p.Partition] = p.LastOffset
		if p.LastOffset > 0 {
			full = p.Partition
		}
	}
	if full < 0 {
		t.Fatal("no partition of erp.invoices has messages")
	}
	// state builds one partition's queue: pos < 0 is one that has queued
	// nothing; waiting is a message still in its queue.
	state := func(topic string, partition int, start, pos, hw int64, waiting bool) *partQueue {
		q := &partQueue{ch: make(chan pipeline.Message, 1), topic: topic, partition: partition, start: start}
		q.pos.Store(pos)
		q.hw.Store(hw)
		q.end.Store(endUnknown)
		if waiting {
			q.ch <- pipeline.Message{}
		}
		return q
	}
	end := ends[full]
	held := func(q *partQueue) *partQueue { q.full = true; return q }
	for _, c := range []struct {
		name   string
		queues []*partQueue
		want   bool
	}{
		{"handed out to the high watermark", []*partQueue{state("erp.invoices", full, -2, end, end, false)}, true},
		{"a message still queued", []*partQueue{state("erp.invoices", full, -2, end, end, true)}, false},
		{"behind the high watermark", []*partQueue{state("erp.invoices", full, -2, end-1, end, false)}, false},
		{"silent and empty", []*partQueue{state("bank.transactions", 0, -2, -1, 0, false)}, true},
		{"silent, never committed, has messages", []*partQueue{state("erp.invoices", full, -2, -1, 0, false)}, false},
		{"silent, committed at the end", []*partQueue{state("erp.invoices", full, end, -1, 0, false)}, true},
		{"silent, committed before the end", []*partQueue{state("erp.invoices", full, end-1, -1, 0, false)}, false},
		{"one done, one silent with messages", []*partQueue{
			state("bank.transactions", 1, -2, -1, 0, false), state("erp.invoices", full, -2, -1, 0, false)}, false},
		{"no generation yet", nil, false},
		{"a high watermark never reported", []*partQueue{state("erp.invoices", full, -2, 3, 0, false)}, false},
		{"a head held back for event-time order", []*partQueue{held(state("erp.invoices", full, -2, end, end, false))}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &Source{client: client}
			if c.queues != nil {
				s.queues.Store(&c.queues)
			}
			if got := s.AtEnd(context.Background()); got != c.want {
				t.Fatalf("AtEnd = %v, want %v", got, c.want)
			}
		})
	}

	// A silent partition's end is asked once a generation: with the
	// broker gone, what was learnt still answers, and nothing new can be.
	q := state("erp.invoices", full, end, -1, 0, false)
	s := &Source{client: client}
	s.queues.Store(&[]*partQueue{q})
	if !s.AtEnd(context.Background()) {
		t.Fatal("a member that starts at its partition's end is not at the end")
	}
	gone := &Source{client: &kafkago.Client{Addr: kafkago.TCP("127.0.0.1:1"), Timeout: time.Second}}
	gone.queues.Store(&[]*partQueue{q})
	if !gone.AtEnd(context.Background()) {
		t.Fatal("the end learnt before was asked for again")
	}
	fresh := state("erp.invoices", full, end, -1, 0, false)
	gone.queues.Store(&[]*partQueue{fresh})
	if gone.AtEnd(context.Background()) {
		t.Fatal("at the end without a broker to say so")
	}
}

// TestLagStartsAtTheLogStart: a partition whose records retention deleted
// has nothing to read; a fresh group's lag there is zero and the partition
// is drained, or "run until caught up" would wait for records that no
// longer exist, and matching would hold its companies back for good.
func TestLagStartsAtTheLogStart(t *testing.T) {
	b := startBroker(t, "erp.invoices")
	produce(t, b, "erp.invoices", 40)
	deleteRecords(t, b, "erp.invoices", map[int32]int64{0: -1, 1: -1, 2: -1, 3: -1}) // up to the high watermark
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := testSource(t, b, "g-retention", "erp.invoices")
	if lag, err := s.Lag(ctx); err != nil || lag != 0 {
		t.Fatalf("lag over deleted records = %d, %v; want 0", lag, err)
	}
	for p := range int32(4) {
		if !s.Drained("erp.invoices", p) {
			t.Errorf("partition %d not drained though its records are gone", p)
		}
	}
}

// TestDeadLetterTooLargeToCopy: a message larger than a dead letter may be
// (a source topic may allow more, or compress) is dead-lettered without
// its value, with its size and SHA-256, reason and source coordinates; one
// whose own headers are the bulk keeps its value and loses the headers.
// Before, such a dead letter could never be written, and the runner
// retried its batch for good.
func TestDeadLetterTooLargeToCopy(t *testing.T) {
	b := startBroker(t, "erpflow.dlq")
	d := NewDeadLetters(Plaintext(b.Addr()), "erpflow.dlq")
	defer d.Close()
	big := bytes.Repeat([]byte("x"), 950<<10)
	msgs := []pipeline.Message{
		{Topic: "raw.erp_cn", Partition: 1, Offset: 7, Key: []byte("SH01"), Value: big, Headers: []pipeline.Header{{Key: "trace", Value: []byte("abc")}}},
		{Topic: "raw.erp_cn", Partition: 1, Offset: 8, Key: []byte("SH01"), Value: []byte("{}"), Headers: []pipeline.Header{{Key: "bulk", Value: big}}},
	}
	dead := []pipeline.DeadLetter{{Msg: &msgs[0], Stage: "decode", Reason: "invalid_json", Message: "unexpected end"},
		{Msg: &msgs[1], Stage: "decode", Reason: "empty_body"}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := d.WriteDead(ctx, dead); err != nil {
		t.Fatalf("dead letters of %d-byte messages: %v", len(big), err)
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{b.Addr()}, Topic: "erpflow.dlq", Partition: partitionOf(t, "SH01", 4), MaxWait: 50 * time.Millisecond})
	defer r.Close()
	for i, want := range []struct {
		value   string
		headers map[string]string
		replay  error
	}{
		{"", map[string]string{"trace": "abc", HeaderReason: "invalid_json", HeaderStage: "decode", HeaderMessage: "unexpected end",
			HeaderTopic: "raw.erp_cn", HeaderPartition: "1", HeaderOffset: "7", HeaderValueOmitted: strconv.Itoa(len(big)),
			HeaderValueSHA256: sha256hex(big)}, ErrValueOmitted},
		{"{}", map[string]string{HeaderReason: "empty_body", HeaderStage: "decode", HeaderMessage: "", HeaderTopic: "raw.erp_cn",
			HeaderPartition: "1", HeaderOffset: "8", HeaderHeadersOmitted: "1"}, nil},
	} {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		h := map[string]string{}
		for _, x := range m.Headers {
			h[x.Key] = string(x.Value)
		}
		if string(m.Value) != want.value || string(m.Key) != "SH01" || !reflect.DeepEqual(h, want.headers) {
			t.Errorf("dead letter %d: key %q, value of %d bytes, headers %v; want SH01, %q, %v", i, m.Key, len(m.Value), h, want.value, want.headers)
		}
		if _, err := ReplayMessage(m, "erpflow.dlq", ""); !errors.Is(err, want.replay) {
			t.Errorf("dead letter %d: replay gave %v, want %v", i, err, want.replay)
		}
	}
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestDeadLetterOfAHugeKey: a message whose key alone is too large for a
// dead letter is dead-lettered without key and value, with their sizes and
// SHA-256: before, its dead letter could never be written, and the runner
// retried its batch for good. It cannot be replayed.
func TestDeadLetterOfAHugeKey(t *testing.T) {
	b := startBroker(t, "erpflow.dlq")
	d := NewDeadLetters(Plaintext(b.Addr()), "erpflow.dlq")
	defer d.Close()
	key := bytes.Repeat([]byte("k"), 900<<10)
	msg := pipeline.Message{Topic: "raw.erp_cn", Partition: 2, Offset: 9, Key: key, Value: []byte("{}"),
		Headers: []pipeline.Header{{Key: "trace", Value: []byte("abc")}}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := d.WriteDead(ctx, []pipeline.DeadLetter{{Msg: &msg, Stage: "decode", Reason: "invalid_json"}}); err != nil {
		t.Fatalf("dead letter of a %d-byte key: %v", len(key), err)
	}
	want := map[string]string{"trace": "abc", HeaderReason: "invalid_json", HeaderStage: "decode", HeaderMessage: "",
		HeaderTopic: "raw.erp_cn", HeaderPartition: "2", HeaderOffset: "9",
		HeaderKeyOmitted: strconv.Itoa(len(key)), HeaderKeySHA256: sha256hex(key),
		HeaderValueOmitted: "2", HeaderValueSHA256: sha256hex([]byte("{}"))}
	found := 0
	for p := range 4 { // a dead letter without a key lands on any partition
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{b.Addr()}, Topic: "erpflow.dlq", Partition: p, MaxWait: 50 * time.Millisecond})
		rctx, rcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		m, err := r.ReadMessage(rctx)
		rcancel()
		r.Close()
		if err != nil {
			continue
		}
		found++
		h := map[string]string{}
		for _, x := range m.Headers {
			h[x.Key] = string(x.Value)
		}
		if m.Key != nil || len(m.Value) != 0 || !reflect.DeepEqual(h, want) {
			t.Errorf("key of %d bytes, value %q, headers %v; want none, none, %v", len(m.Key), m.Value, h, want)
		}
		if _, err := ReplayMessage(m, "erpflow.dlq", ""); !errors.Is(err, ErrValueOmitted) {
			t.Errorf("replay gave %v, want %v", err, ErrValueOmitted)
		}
	}
	if found != 1 {
		t.Errorf("%d dead letters, want 1", found)
	}
}

// TestFailedFetchKeepsTheGeneration: a fetch the broker answers with an
// error (here a storage error on the partition) is tried again by the
// partition's reader; it does not end the generation, which would make the
// member rejoin and every batch in flight be read again.
func TestFailedFetchKeepsTheGeneration(t *testing.T) {
	b := startBroker(t, "erp.invoices")
	produce(t, b, "erp.invoices", 40)
	metrics := pipeline.NewMetrics(nil)
	s := testSourceWith(t, b, "g-fetch-errors", metrics, "erp.invoices")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	read := func(want int) {
		t.Helper()
		for n := 0; n < want; {
			msgs, err := s.Fetch(ctx, 100, 50*time.Millisecond)
			if err != nil {
				t.Fatalf("after %d of %d messages: %v", n, want, err)
			}
			n += len(msgs)
		}
	}
	read(40)
	epoch, _ := s.Assignment()
	var failed atomic.Int32
	b.c.ControlKey(int16(kmsg.Fetch), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		if failed.Load() >= 3 {
			return nil, nil, false // and dropped: fetches go through again
		}
		b.c.KeepControl()
		req := kr.(*kmsg.FetchRequest)
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewFetchResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewFetchResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, kerr.KafkaStorageError.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		failed.Add(1)
		return resp, nil, true
	})
	produce(t, b, "erp.invoices", 20)
	read(20)
	if failed.Load() < 3 {
		t.Fatalf("%d fetches failed, want 3", failed.Load())
	}
	if now, _ := s.Assignment(); now != epoch {
		t.Errorf("failed fetches ended generation %d (now %d)", epoch, now)
	}
	// The failures are counted, by topic and partition (here every
	// partition's fetches failed, so only the sum is known).
	var counted float64
	for p := range 4 {
		counted += testutil.ToFloat64(metrics.FetchErrors.WithLabelValues("erp.invoices", strconv.Itoa(p)))
	}
	if counted < 1 {
		t.Errorf("erpflow_source_fetch_errors_total counted %v failed fetches, want at least 1", counted)
	}
}

// TestDeadLettersReadOriginalsInOnePass: many released dead letters of a
// batch (a source re-sent thousands of versions with other content) are
// read again with a few fetches, not one reader and fetch each, and a
// write tried again does not read them again.
func TestDeadLettersReadOriginalsInOnePass(t *testing.T) {
	b := startBroker(t, "erp.invoices", "erpflow.dlq")
	w := NewWriter(Plaintext(b.Addr()))
	var msgs []kafkago.Message
	for i := range 600 {
		msgs = append(msgs, kafkago.Message{Topic: "erp.invoices", Key: []byte(fmt.Sprintf("C%02d", i%7)), Value: []byte(fmt.Sprintf("v%d", i))})
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	w.Close()
	// What the broker holds, read back: every third message of every
	// partition is refused after decoding.
	var dead []pipeline.DeadLetter
	want := map[string]string{}
	for p := range 4 {
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{b.Addr()}, Topic: "erp.invoices", Partition: p, MaxWait: 50 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		for {
			lag, err := r.ReadLag(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if lag == 0 && r.Offset() > 0 {
				break
			}
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if m.Offset%3 == 1 {
				msg := pipeline.Message{Topic: m.Topic, Partition: int32(m.Partition), Offset: m.Offset, Key: m.Key, Released: true}
				dead = append(dead, pipeline.DeadLetter{Msg: &msg, Stage: "dedupe", Reason: "version_conflict"})
				want[fmt.Sprintf("%d/%d", m.Partition, m.Offset)] = string(m.Value)
			}
		}
		cancel()
		r.Close()
	}
	var fetches atomic.Int32
	b.c.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		b.c.KeepControl()
		fetches.Add(1)
		return nil, nil, false
	})
	d := NewDeadLetters(Plaintext(b.Addr()), "erpflow.dlq")
	defer d.Close()
	if err := d.WriteDead(context.Background(), dead); err != nil {
		t.Fatal(err)
	}
	first := fetches.Load()
	if first > 12 {
		t.Errorf("%d fetches for %d dead letters in 4 partitions", first, len(dead))
	}
	for _, dl := range dead {
		k := fmt.Sprintf("%d/%d", dl.Msg.Partition, dl.Msg.Offset)
		if dl.Msg.Released || string(dl.Msg.Value) != want[k] {
			t.Fatalf("dead letter %s: value %q (released %v), want %q", k, dl.Msg.Value, dl.Msg.Released, want[k])
		}
	}
	if err := d.WriteDead(context.Background(), dead); err != nil {
		t.Fatal(err)
	}
	if again := fetches.Load() - first; again != 0 {
		t.Errorf("a second write of the same dead letters fetched %d times", again)
	}
	t.Logf("%d dead letters, %d fetches", len(dead), first)
}

// TestCommitPastTheEndReadsFromTheStart: the group's committed offset lies
// past the partition's end (the log was cut back by an unclean leader
// election). kafka-go would wait at that offset for good, never reading
// what is below it; the source reads the partition again from its start,
// and Committed and Lag see the same.
func TestCommitPastTheEndReadsFromTheStart(t *testing.T) {
	b := startBroker(t, "erp.invoices")
	w := NewWriter(Plaintext(b.Addr()))
	var msgs []kafkago.Message
	for i := range 5 {
		msgs = append(msgs, kafkago.Message{Topic: "erp.invoices", Key: []byte("SH01"), Value: []byte(strconv.Itoa(i))})
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	w.Close()
	p := int32(partitionOf(t, "SH01", 4))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A commit outside any generation, as a tool resetting offsets makes.
	res, err := (&kafkago.Client{Addr: kafkago.TCP(b.Addr())}).OffsetCommit(ctx, &kafkago.OffsetCommitRequest{
		GroupID: "g-truncated", GenerationID: -1,
		Topics: map[string][]kafkago.OffsetCommit{"erp.invoices": {{Partition: int(p), Offset: 500}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Topics["erp.invoices"][0].Error; err != nil {
		t.Fatalf("commit 500: %v", err)
	}
	s := testSource(t, b, "g-truncated", "erp.invoices")
	if lag, err := s.Lag(ctx); err != nil || lag != 5 {
		t.Errorf("lag %d (%v), want the partition's 5 messages", lag, err)
	}
	var got []string
	for len(got) < 5 {
		batch, err := s.Fetch(ctx, 100, 50*time.Millisecond)
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		for _, m := range batch {
			got = append(got, string(m.Value))
		}
	}
	if !slices.Equal(got, []string{"0", "1", "2", "3", "4"}) {
		t.Errorf("read %v, want the partition from its start", got)
	}
}
