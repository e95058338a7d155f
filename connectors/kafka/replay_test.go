package kafka

import (
	"errors"
	"reflect"
	"testing"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/erpflow/erpflow/pipeline"
)

// TestReplayUndoesDeadLettering: a message dead-lettered and replayed is
// the message it was, header for header, plus the dead letter it was sent
// from, bound for its own topic and partition, or for the topic asked for
// by key; a message erpflow did not dead-letter is refused.
func TestReplayUndoesDeadLettering(t *testing.T) {
	for _, c := range []struct {
		name    string
		headers []pipeline.Header
		key     []byte
		value   []byte
	}{
		{"no headers", nil, []byte("SH01"), []byte(`{"kind":"invoice"`)},
		{"own headers", []pipeline.Header{{Key: "erpflow-event-time", Value: []byte("2025-04-16T00:00:00Z")}, {Key: "trace", Value: nil}},
			[]byte("SH01"), []byte("\xff\xfe")},
		{"no key", []pipeline.Header{{Key: "a", Value: []byte("1")}, {Key: "a", Value: []byte("2")}}, nil, []byte("x")},
		{"replayed before", []pipeline.Header{{Key: HeaderReplayOf, Value: []byte("erpflow.dlq/0/1")}}, []byte("SH01"), []byte("y")},
	} {
		t.Run(c.name, func(t *testing.T) {
			orig := &pipeline.Message{Topic: "erp.invoices", Partition: 3, Offset: 17, Key: c.key, Value: c.value, Headers: c.headers}
			dead := DeadLetterMessage("erpflow.dlq", pipeline.DeadLetter{Msg: orig, Stage: "decode", Reason: "invalid_json", Message: "unexpected end"})
			dead.Partition, dead.Offset = 1, 5
			got, err := ReplayMessage(dead, "erpflow.dlq", "")
			if err != nil {
				t.Fatal(err)
			}
			var want []kafkago.Header
			for _, h := range c.headers {
				if h.Key != HeaderReplayOf {
					want = append(want, kafkago.Header{Key: h.Key, Value: h.Value})
				}
			}
			want = append(want, kafkago.Header{Key: HeaderReplayOf, Value: []byte("erpflow.dlq/1/5")})
			if got.Topic != "erp.invoices" || got.WriterData != ReplayPartition(3) || string(got.Key) != string(c.key) || string(got.Value) != string(c.value) ||
				!reflect.DeepEqual(got.Headers, want) {
				t.Errorf("replayed %+v, want the original on erp.invoices/3 with headers %v", got, want)
			}
			// Dead-lettered again, it names the dead letter it replaced.
			again := DeadLetterMessage("erpflow.dlq", pipeline.DeadLetter{Msg: &pipeline.Message{Topic: got.Topic, Headers: toPipeline(got.Headers)}})
			if p, o, ok := ReplayedFrom(again, "erpflow.dlq"); !ok || p != 1 || o != 5 {
				t.Errorf("the dead letter of the replay says it replaced %d:%d (%v), want 1:5", p, o, ok)
			}
			to, _ := ReplayMessage(dead, "erpflow.dlq", "raw.erp_cn")
			if to.Topic != "raw.erp_cn" || to.WriterData != nil {
				t.Errorf("replay to raw.erp_cn went to %s/%v, want the key to choose", to.Topic, to.WriterData)
			}
		})
	}
	if _, err := ReplayMessage(kafkago.Message{Value: []byte("x")}, "erpflow.dlq", ""); !errors.Is(err, ErrNoSourceTopic) {
		t.Errorf("a message without %s: %v", HeaderTopic, err)
	}
	if _, _, ok := ReplayedFrom(kafkago.Message{Headers: []kafkago.Header{{Key: HeaderReplayOf, Value: []byte("other.dlq/1/5")}}}, "erpflow.dlq"); ok {
		t.Error("a replay of another dead-letter topic's message read as this one's")
	}
}

func toPipeline(hs []kafkago.Header) []pipeline.Header {
	out := make([]pipeline.Header, len(hs))
	for i, h := range hs {
		out[i] = pipeline.Header{Key: h.Key, Value: h.Value}
	}
	return out
}

// TestReplayBalancerKeepsThePartition: a replayed message goes back to its
// partition while the topic has it, and by key otherwise.
func TestReplayBalancerKeepsThePartition(t *testing.T) {
	b := &ReplayBalancer{}
	parts := []int{0, 1, 2, 3}
	if p := b.Balance(kafkago.Message{Key: []byte("SH01"), WriterData: ReplayPartition(2)}, parts...); p != 2 {
		t.Errorf("partition 2 kept as %d", p)
	}
	byKey := (&kafkago.Murmur2Balancer{}).Balance(kafkago.Message{Key: []byte("SH01")}, parts...)
	for _, wd := range []any{nil, ReplayPartition(7), 2} {
		if got := b.Balance(kafkago.Message{Key: []byte("SH01"), WriterData: wd}, parts...); got != byKey {
			t.Errorf("writer data %v: sent to %d, want %d by key", wd, got, byKey)
		}
	}
}
