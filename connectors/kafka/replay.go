package kafka

import (
	"errors"
	"fmt"

	kafkago "github.com/segmentio/kafka-go"
)

// ErrNoSourceTopic is a dead letter without the erpflow-topic header: it
// was not written by erpflow, and where it came from is not known.
var ErrNoSourceTopic = errors.New("no " + HeaderTopic + " header: not an erpflow dead letter")

// deadLetterHeaders are the headers DeadLetterMessage adds.
var deadLetterHeaders = map[string]bool{HeaderReason: true, HeaderStage: true, HeaderMessage: true,
	HeaderTopic: true, HeaderPartition: true, HeaderOffset: true}

// ReplayMessage turns a dead letter back into the message it was: its key,
// value and own headers, without the ones dead-lettering added, for the
// topic it came from, or for to when to is not empty. Sent again once the
// cause is mended (a mapping file, a source system's fix), it goes through
// the pipeline like any message; one that landed before is a duplicate to
// dedupe, so a replay sent twice lands once.
func ReplayMessage(dead kafkago.Message, to string) (kafkago.Message, error) {
	topic := to
	var hs []kafkago.Header
	for _, h := range dead.Headers {
		if h.Key == HeaderTopic && topic == "" {
			topic = string(h.Value)
		}
		if !deadLetterHeaders[h.Key] {
			hs = append(hs, h)
		}
	}
	if topic == "" {
		return kafkago.Message{}, fmt.Errorf("replay dead letter %d:%d: %w", dead.Partition, dead.Offset, ErrNoSourceTopic)
	}
	return kafkago.Message{Topic: topic, Key: dead.Key, Value: dead.Value, Headers: hs}, nil
}
