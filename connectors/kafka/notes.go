package kafka

import (
	"context"
	"fmt"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/erpflow/erpflow/pipeline"
)

// Notes publishes the messages stages write for other systems (confirmed
// matches, exceptions), keyed by company like every erpflow topic.
type Notes struct {
	w *kafkago.Writer
}

// NewNotes returns a publisher on the cluster.
func NewNotes(c Cluster) *Notes { return &Notes{w: NewWriter(c)} }

// Publish sends notes and returns once the brokers have them all. A failed
// call may have sent some: the caller retries the whole batch, and readers
// dedupe on the ids inside (the delivery is at least once).
func (n *Notes) Publish(ctx context.Context, notes []pipeline.Note) error {
	if len(notes) == 0 {
		return nil
	}
	msgs := make([]kafkago.Message, len(notes))
	for i, x := range notes {
		msgs[i] = kafkago.Message{Topic: x.Topic, Key: x.Key, Value: x.Value}
	}
	if err := n.w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("publish %d notes: %w", len(notes), err)
	}
	return nil
}

// Close flushes and closes the writer.
func (n *Notes) Close() error { return n.w.Close() }
