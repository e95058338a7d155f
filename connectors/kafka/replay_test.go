package kafka

import (
	"errors"
	"reflect"
	"testing"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/erpflow/erpflow/pipeline"
)

// TestReplayUndoesDeadLettering: a message dead-lettered and replayed is
// the message it was, header for header, bound for its own topic or the
// one asked for; a message erpflow did not dead-letter is refused.
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
	} {
		t.Run(c.name, func(t *testing.T) {
			orig := &pipeline.Message{Topic: "erp.invoices", Partition: 3, Offset: 17, Key: c.key, Value: c.value, Headers: c.headers}
			dead := DeadLetterMessage("erpflow.dlq", pipeline.DeadLetter{Msg: orig, Stage: "decode", Reason: "invalid_json", Message: "unexpected end"})
			dead.Partition, dead.Offset = 1, 5
			got, err := ReplayMessage(dead, "")
			if err != nil {
				t.Fatal(err)
			}
			var want []kafkago.Header
			for _, h := range c.headers {
				want = append(want, kafkago.Header{Key: h.Key, Value: h.Value})
			}
			if got.Topic != "erp.invoices" || string(got.Key) != string(c.key) || string(got.Value) != string(c.value) || !reflect.DeepEqual(got.Headers, want) {
				t.Errorf("replayed %+v, want the original on erp.invoices with headers %v", got, want)
			}
			if got.Partition != 0 || got.Offset != 0 {
				t.Errorf("replay keeps the dead letter's coordinates %d:%d; the writer must choose", got.Partition, got.Offset)
			}
			if to, _ := ReplayMessage(dead, "raw.erp_cn"); to.Topic != "raw.erp_cn" {
				t.Errorf("replay to raw.erp_cn went to %q", to.Topic)
			}
		})
	}
	if _, err := ReplayMessage(kafkago.Message{Value: []byte("x")}, ""); !errors.Is(err, ErrNoSourceTopic) {
		t.Errorf("a message without %s: %v", HeaderTopic, err)
	}
}
