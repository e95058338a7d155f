package kafka

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/erpflow/erpflow/pipeline"
)

// Dead-letter headers added to the original message's own headers.
const (
	HeaderReason    = "erpflow-reason"
	HeaderStage     = "erpflow-stage"
	HeaderMessage   = "erpflow-message"
	HeaderTopic     = "erpflow-topic"
	HeaderPartition = "erpflow-partition"
	HeaderOffset    = "erpflow-offset"
	// HeaderValueOmitted and HeaderValueSHA256 are on a dead letter whose
	// message was too large to copy into the dead-letter topic: the
	// original's size in bytes and its SHA-256 (hex). The value stays in
	// its source topic at the offset the other headers give, while
	// retention keeps it.
	HeaderValueOmitted = "erpflow-value-omitted"
	HeaderValueSHA256  = "erpflow-value-sha256"
	// HeaderHeadersOmitted is on a dead letter whose message's own headers
	// were too large to copy: how many there were.
	HeaderHeadersOmitted = "erpflow-headers-omitted"
	// HeaderKeyOmitted and HeaderKeySHA256 are on a dead letter whose
	// message's key alone was too large to copy: its size and SHA-256.
	// Such a dead letter keeps no value either (HeaderValueOmitted), as it
	// could not be replayed without its key.
	HeaderKeyOmitted = "erpflow-key-omitted"
	HeaderKeySHA256  = "erpflow-key-sha256"
	// HeaderValueGone is on a dead letter without a value because the
	// value was let go once decoded and, when the record was refused
	// later, retention or compaction had removed it from its source topic:
	// what the partition held instead.
	HeaderValueGone = "erpflow-value-gone"
)

// NewWriter returns a synchronous writer that routes each message to its own
// Topic. Keys are hashed with murmur2, as Kafka's Java client and librdkafka
// do, so that records produced by other systems with the same company key
// land in the same partition as ours.
func NewWriter(c Cluster) *kafkago.Writer {
	return &kafkago.Writer{
		Addr:         kafkago.TCP(c.Brokers...),
		Transport:    c.transport(),
		Balancer:     &kafkago.Murmur2Balancer{},
		RequiredAcks: kafkago.RequireAll,
		BatchSize:    5000,
		// A produce request's record batch must fit the broker's
		// message.max.bytes, 1 MiB by default in Kafka and kfake alike.
		BatchBytes: 900 << 10,
		// kafka-go waits up to BatchTimeout (1 s by default) for a batch to
		// fill; a small dead-letter batch should not hold a commit that long.
		BatchTimeout: 5 * time.Millisecond,
		MaxAttempts:  5,
	}
}

// DeadLetters writes dead letters to the dead-letter topic: original key,
// value and headers, plus the reason headers.
type DeadLetters struct {
	w       *kafkago.Writer
	client  *kafkago.Client
	cluster Cluster
	topic   string
}

// NewDeadLetters returns a dead-letter sink writing to topic.
func NewDeadLetters(c Cluster, topic string) *DeadLetters {
	return &DeadLetters{w: NewWriter(c), client: c.client(0), cluster: c, topic: topic}
}

// WriteDead implements pipeline.DeadLetterSink. A message whose bytes were
// released after decoding (a record refused later: a version conflict, the
// sink) is read again from its topic, since its offset is not committed.
// If retention or compaction removed it meanwhile, it is dead-lettered
// without a value (HeaderValueGone): waiting would not bring it back, and
// its batch, and every batch after it, would wait for good.
func (d *DeadLetters) WriteDead(ctx context.Context, dead []pipeline.DeadLetter) error {
	gone, err := d.restore(ctx, dead)
	if err != nil {
		return err
	}
	msgs := make([]kafkago.Message, len(dead))
	for i, dl := range dead {
		msgs[i] = DeadLetterMessage(d.topic, dl)
		if g := gone[i]; g != nil {
			msgs[i].Headers = append(msgs[i].Headers, kafkago.Header{Key: HeaderValueGone, Value: []byte(g.Error())})
		}
	}
	if err := d.w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("write %d dead letters to %s: %w", len(msgs), d.topic, Summarize(err))
	}
	return nil
}

// restore reads again the values of dead's released messages, each
// partition's in one pass of one reader, and points each such dead letter
// at a copy of its message holding the value: the batch's message stays as
// it was, and a write tried again does not read them again. A message gone
// from its topic gets its goneError at its index instead (still released).
func (d *DeadLetters) restore(ctx context.Context, dead []pipeline.DeadLetter) (map[int]*goneError, error) {
	byPart := map[topicPartition][]int{}
	for i, dl := range dead {
		if dl.Msg.Released {
			tp := topicPartition{dl.Msg.Topic, dl.Msg.Partition}
			byPart[tp] = append(byPart[tp], i)
		}
	}
	gone := map[int]*goneError{}
	for tp, idx := range byPart {
		offsets := make([]int64, len(idx))
		for j, i := range idx {
			offsets[j] = dead[i].Msg.Offset
		}
		vals, lost, err := d.originals(ctx, tp.topic, tp.partition, offsets)
		if err != nil {
			return nil, fmt.Errorf("dead letters of %s/%d: read the originals again: %w", tp.topic, tp.partition, err)
		}
		for _, i := range idx {
			off := dead[i].Msg.Offset
			if g := lost[off]; g != nil {
				gone[i] = g
				continue
			}
			m := *dead[i].Msg
			m.Value, m.Released = vals[off], false
			dead[i].Msg = &m
		}
	}
	return gone, nil
}

// skipAhead is how many messages originals reads past rather than seek
// over: a seek costs a fetch of its own.
const skipAhead = 2000

// originals reads the values of the messages at offsets of a partition,
// in one pass. They are usually there: the offsets are not committed yet,
// and retention deletes from the start of the log, so only a consumer
// close to the retention limit, or a compacted topic, sees one go; that
// one is in lost with what the partition holds instead.
func (d *DeadLetters) originals(ctx context.Context, topic string, partition int32, offsets []int64) (vals map[int64][]byte, lost map[int64]*goneError, err error) {
	res, err := d.client.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{
		topic: {kafkago.FirstOffsetOf(int(partition)), kafkago.LastOffsetOf(int(partition))}}})
	if err != nil {
		return nil, nil, fmt.Errorf("list offsets: %w", err)
	}
	vals, lost = map[int64][]byte{}, map[int64]*goneError{}
	first, last := int64(-1), int64(-1)
	for _, p := range res.Topics[topic] {
		switch {
		case p.Partition != int(partition):
		case errors.Is(p.Error, kafkago.UnknownTopicOrPartition):
			for _, o := range offsets {
				lost[o] = &goneError{what: "the partition no longer exists"}
			}
			return vals, lost, nil
		case p.Error != nil:
			return nil, nil, fmt.Errorf("list offsets: %w", p.Error)
		default:
			first, last = p.FirstOffset, p.LastOffset
		}
	}
	if first < 0 {
		return nil, nil, fmt.Errorf("list offsets: no answer for partition %d", partition)
	}
	want := slices.Clone(offsets)
	slices.Sort(want)
	want = slices.Compact(want)
	var r *kafkago.Reader
	defer func() {
		if r != nil {
			r.Close()
		}
	}()
	pos := int64(-1) // the offset the reader reads next; -1 before the first seek
	for i := 0; i < len(want); {
		off := want[i]
		if off < first || off >= last {
			if first == last {
				lost[off] = &goneError{what: fmt.Sprintf("the partition is empty, its next offset %d", last)}
			} else {
				lost[off] = &goneError{what: fmt.Sprintf("the partition holds offsets %d to %d", first, last-1)}
			}
			i++
			continue
		}
		if r == nil {
			r = kafkago.NewReader(kafkago.ReaderConfig{Brokers: d.cluster.Brokers, Dialer: d.cluster.dialer(), Topic: topic, Partition: int(partition),
				MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond})
		}
		if pos < 0 || off-pos > skipAhead {
			if err := r.SetOffset(off); err != nil {
				return nil, nil, err
			}
		}
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		m, err := r.FetchMessage(fctx)
		cancel()
		if err != nil {
			return nil, nil, err
		}
		pos = m.Offset + 1
		// A wanted offset below the one read is not in the partition any
		// more (compaction keeps offsets but not every message).
		for ; i < len(want) && want[i] < m.Offset; i++ {
			lost[want[i]] = &goneError{what: fmt.Sprintf("the partition holds offset %d next", m.Offset)}
		}
		if i < len(want) && want[i] == m.Offset {
			vals[m.Offset] = m.Value
			i++
		}
	}
	return vals, lost, nil
}

// Summarize shortens kafka-go's per-message write errors, which list one
// error for each of thousands of messages, to a count and the distinct
// errors.
func Summarize(err error) error {
	var we kafkago.WriteErrors
	if !errors.As(err, &we) {
		return err
	}
	seen := map[string]bool{}
	var distinct []string
	failed := 0
	for _, e := range we {
		if e == nil {
			continue
		}
		failed++
		if msg := e.Error(); !seen[msg] && len(distinct) < 3 {
			seen[msg] = true
			distinct = append(distinct, msg)
		}
	}
	return fmt.Errorf("%d of %d messages failed: %s", failed, len(we), strings.Join(distinct, "; "))
}

// goneError says a message is no longer in its topic, and what is there.
type goneError struct{ what string }

func (e *goneError) Error() string { return "gone from its topic: " + e.what }

// DeadLetterMessage builds the dead-letter form of dl for topic. A message
// too large to copy whole into the dead-letter topic (a source topic may
// allow larger messages, or compress them) loses its own headers if that
// is enough (HeaderHeadersOmitted), else its value (HeaderValueOmitted,
// HeaderValueSHA256) and, if need be, its headers too: a dead letter that
// can never be written would hold its batch, and every batch after it,
// for good.
func DeadLetterMessage(topic string, dl pipeline.DeadLetter) kafkago.Message {
	m := dl.Msg
	hs := make([]kafkago.Header, 0, len(m.Headers)+10)
	key, value, own := m.Key, m.Value, m.Headers
	headers := 0
	for _, h := range own {
		headers += len(h.Key) + len(h.Value)
	}
	// A key too large alone goes, and with it the value: a dead letter
	// without its key cannot be replayed, and lands on any partition.
	keyOmitted := len(key) > maxDeadLetterBytes
	if keyOmitted {
		sum := sha256.Sum256(key)
		hs = append(hs,
			kafkago.Header{Key: HeaderKeyOmitted, Value: strconv.AppendInt(nil, int64(len(key)), 10)},
			kafkago.Header{Key: HeaderKeySHA256, Value: []byte(hex.EncodeToString(sum[:]))})
		key = nil
	}
	if !keyOmitted && len(key)+len(value)+headers > maxDeadLetterBytes && len(key)+len(value) <= maxDeadLetterBytes {
		hs = append(hs, kafkago.Header{Key: HeaderHeadersOmitted, Value: strconv.AppendInt(nil, int64(len(own)), 10)})
		own = nil
	} else if keyOmitted || len(key)+len(value)+headers > maxDeadLetterBytes {
		sum := sha256.Sum256(value)
		hs = append(hs,
			kafkago.Header{Key: HeaderValueOmitted, Value: strconv.AppendInt(nil, int64(len(value)), 10)},
			kafkago.Header{Key: HeaderValueSHA256, Value: []byte(hex.EncodeToString(sum[:]))})
		value = nil
		if len(key)+headers > maxDeadLetterBytes {
			hs = append(hs, kafkago.Header{Key: HeaderHeadersOmitted, Value: strconv.AppendInt(nil, int64(len(own)), 10)})
			own = nil
		}
	}
	for _, h := range own {
		hs = append(hs, kafkago.Header{Key: h.Key, Value: h.Value})
	}
	hs = append(hs,
		// A reason names a field, and a field's name can be a producer's
		// key: bounded like the message, so the dead letter stays
		// writable whatever the reason says.
		kafkago.Header{Key: HeaderReason, Value: truncate(dl.Reason, maxMessageHeader)},
		kafkago.Header{Key: HeaderStage, Value: []byte(dl.Stage)},
		kafkago.Header{Key: HeaderMessage, Value: truncate(dl.Message, maxMessageHeader)},
		kafkago.Header{Key: HeaderTopic, Value: []byte(m.Topic)},
		kafkago.Header{Key: HeaderPartition, Value: strconv.AppendInt(nil, int64(m.Partition), 10)},
		kafkago.Header{Key: HeaderOffset, Value: strconv.AppendInt(nil, m.Offset, 10)},
	)
	return kafkago.Message{Topic: topic, Key: key, Value: value, Headers: hs}
}

// maxDeadLetterBytes bounds the key, value and headers a dead letter copies
// from its message: below NewWriter's BatchBytes, which kafka-go checks
// each message against, with room for the reason headers.
const maxDeadLetterBytes = 800 << 10

// Close flushes and closes the writer.
func (d *DeadLetters) Close() error { return d.w.Close() }

// maxMessageHeader bounds the erpflow-message header: messages may quote
// the offending value, and a dead letter that outgrows the topic's message
// size limit could never be written, holding its batch forever.
const maxMessageHeader = 1024

// truncate cuts s to at most n bytes on a UTF-8 boundary, marking the cut.
func truncate(s string, n int) []byte {
	if len(s) <= n {
		return []byte(s)
	}
	const mark = "…(truncated)"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return []byte(s[:cut] + mark)
}
