// Package pipeline runs records from a source through ordered stages into a
// sink, committing source offsets only once everything up to them has landed
// in the sink or in the dead-letter topic.
package pipeline

import (
	"context"
	"time"

	"github.com/erpflow/erpflow/pipeline/record"
)

// Header is one Kafka message header.
type Header struct {
	Key   string
	Value []byte
}

// Message is one message as a source hands it over.
type Message struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   []Header
	Time      time.Time
	// Epoch is the source's assignment generation when the message was
	// fetched; a source refuses to commit marks from an older epoch, since
	// the partition may belong to someone else by then.
	Epoch int64
	// HighWater is the partition's end when the message was fetched (the
	// offset the next produced message gets); 0 when the source cannot
	// tell. A message at HighWater-1 was the last one there was.
	HighWater int64
	// Released says Value was let go once the message was decoded: the
	// bytes of a batch in flight are a large share of the heap, and only a
	// dead letter after decoding needs them, which the dead-letter sink
	// reads again from the source topic at Offset.
	Released bool
	// Control says the message is a transaction marker the broker wrote
	// (the commit or abort of a transactional producer), not a record:
	// stages pass over it and it is not counted as consumed, but its
	// offset is committed with the batch like any other.
	Control bool
}

// Mark is a commit point: the next offset to read on one partition.
type Mark struct {
	Topic     string
	Partition int32
	Next      int64
	Epoch     int64
}

// Item is a record on its way through the stages, tied to the message it
// came from so that a later stage can still dead-letter the original bytes.
type Item struct {
	Rec record.Record
	Msg int // index into Batch.Messages
}

// DeadLetter is a message that will not reach the sink, with the reason.
type DeadLetter struct {
	Msg     *Message
	Stage   string
	Reason  string // machine-readable code, e.g. missing_field:body.number
	Message string // for a person
}

// Batch is the unit of work and of acknowledgement.
type Batch struct {
	Seq      uint64
	Messages []Message
	Items    []Item
	Dead     []DeadLetter
	// Duplicates are records a stage recognised as already landed (a
	// re-send, or an older version): not written to their tables and not
	// dead-lettered, but recorded, so that counts survive restarts.
	Duplicates []Item
	// Rows are what stages derived from the records (matches, exceptions):
	// the sink lands them with the batch, so they share its acknowledgement.
	// Derived rows must be safe to land twice (a replay lands them again).
	// One Rows a table (Derive), in the order stages first derived them.
	Rows []*Rows
	// Notes are messages stages publish for other systems, sent by the sink
	// before the batch is acknowledged (at least once: consumers dedupe on
	// the ids inside).
	Notes []Note
	// Applied counts messages a stage took in whole that are not records
	// (matching's review decisions): they land as the rows the stage
	// derived from them, and count as landed, so that every message is
	// landed, dead-lettered or a duplicate.
	Applied int
	Fetched time.Time
	// Final marks the empty batch the runner hands through the stages once
	// the input is consumed (Config.UntilCaughtUp), so that a stage holding
	// records back (matching waits for its event-time watermark) can let
	// them go before the run ends.
	Final bool
	// busy is the time the stages spent on the batch, queues left out.
	busy time.Duration
}

// Note is one message for another system.
type Note struct {
	Topic      string
	Key, Value []byte
}

// Reject moves message i to the dead letters.
func (b *Batch) Reject(i int, stage, reason, msg string) {
	b.Dead = append(b.Dead, DeadLetter{Msg: &b.Messages[i], Stage: stage, Reason: reason, Message: msg})
}

// Keep filters Items in place, keeping those for which keep returns true.
func (b *Batch) Keep(keep func(*Item) bool) {
	n := 0
	for i := range b.Items {
		if keep(&b.Items[i]) {
			// Items are large and hold pointers: copying one onto itself,
			// as most are before the first one dropped, costs a move with
			// write barriers for nothing.
			if n != i {
				b.Items[n] = b.Items[i]
			}
			n++
		}
	}
	clear(b.Items[n:])
	b.Items = b.Items[:n]
}

// marks returns, per partition, the offset after the last message of the batch.
func (b *Batch) marks() []Mark {
	var out []Mark
	for i := range b.Messages {
		m := &b.Messages[i]
		found := false
		for j := range out {
			if out[j].Topic == m.Topic && out[j].Partition == m.Partition {
				if m.Offset+1 > out[j].Next {
					out[j].Next = m.Offset + 1
				}
				out[j].Epoch = m.Epoch
				found = true
				break
			}
		}
		if !found {
			out = append(out, Mark{Topic: m.Topic, Partition: m.Partition, Next: m.Offset + 1, Epoch: m.Epoch})
		}
	}
	return out
}

// Stage is one step between source and sink. Process sees batches in fetch
// order, one at a time, so per-partition order holds inside a stage. A record
// that fails goes to b.Reject and out of b.Items; an error return means the
// stage itself is broken and stops the runner.
type Stage interface {
	Name() string
	Process(ctx context.Context, b *Batch) error
}

// Acker is a stage that must learn when a batch it processed has landed
// (for example to remember its records as seen). Acked is called once per
// acknowledged batch, in batch order, from another goroutine than Process.
type Acker interface {
	Acked(b *Batch)
}

// AckWaiter is an Acker whose Process may wait until the batches before
// the one it holds have landed (matching, rebuilding its state after a
// rebalance, must see them in ClickHouse). While it does, a sink writer
// writes the batches it has at once instead of lingering for more: those
// would only come after the ones it holds.
type AckWaiter interface {
	Acker
	WaitingForAcks() bool
}

// Sink lands a batch's items. Write must be safe to repeat after a failure
// (the runner retries it), and a nil return is the acknowledgement that
// every item is stored.
type Sink interface {
	Write(ctx context.Context, b *Batch) error
}

// GroupSink is a sink that can also land several batches in one write.
// WriteGroup lands every batch whole or returns an error, after which the
// runner writes each batch with Write: what the failed group write landed
// must land again harmlessly. It dead-letters nothing itself; a record the
// store refuses fails the group, and Write sorts it out.
type GroupSink interface {
	Sink
	WriteGroup(ctx context.Context, bs []*Batch) error
}

// DeadLetterSink stores dead letters; nil means they are stored.
type DeadLetterSink interface {
	WriteDead(ctx context.Context, dead []DeadLetter) error
}

// Source hands out messages and takes commits.
type Source interface {
	// Fetch returns up to max messages, waiting at most wait for the first;
	// an empty result is not an error. The slice is the caller's: the
	// runner makes it the batch's, and appends to it.
	Fetch(ctx context.Context, max int, wait time.Duration) ([]Message, error)
	// Commit records that everything before each mark is done.
	Commit(ctx context.Context, marks []Mark) error
}

// LagReporter is a source that can say how far behind its group is: the
// messages between committed offsets and the ends of all input partitions.
type LagReporter interface {
	Lag(ctx context.Context) (int64, error)
}

// EndReporter is a source that can tell it has handed out everything its
// input holds for now. A run until caught up then closes a partly filled
// batch at once: waiting BatchWait for messages that are not there would
// leave the machine idle for most of it at the end of every backfill. The
// runner calls AtEnd from the goroutine that calls Fetch.
type EndReporter interface {
	AtEnd(ctx context.Context) bool
}
