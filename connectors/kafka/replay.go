package kafka

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	kafkago "github.com/segmentio/kafka-go"
)

// HeaderReplayOf on a replayed message names the dead letter it was sent
// from, as dead-letter-topic/partition/offset. The message keeps it through
// the pipeline, so a replay that is dead-lettered again says which dead
// letter it supersedes, and a later replay takes only the newest copy.
const HeaderReplayOf = "erpflow-replay-of"

// ErrNoSourceTopic is a dead letter without the erpflow-topic header: it
// was not written by erpflow, and where it came from is not known.
var ErrNoSourceTopic = errors.New("no " + HeaderTopic + " header: not an erpflow dead letter")

// ErrValueOmitted is a dead letter whose message was too large to keep
// (HeaderValueOmitted): there is nothing to replay from it.
var ErrValueOmitted = errors.New("its value was too large to keep in the dead-letter topic: read it from its source topic")

// ErrValueGone is a dead letter whose message was gone from its source
// topic when it was written (HeaderValueGone): there is nothing to replay.
var ErrValueGone = errors.New("its value was gone from its source topic when it was dead-lettered")

// deadLetterHeaders are the headers DeadLetterMessage and WriteDead add.
var deadLetterHeaders = map[string]bool{HeaderReason: true, HeaderStage: true, HeaderMessage: true,
	HeaderTopic: true, HeaderPartition: true, HeaderOffset: true, HeaderValueOmitted: true, HeaderValueSHA256: true,
	HeaderHeadersOmitted: true, HeaderKeyOmitted: true, HeaderKeySHA256: true, HeaderValueGone: true}

// ValueOmitted says whether dead lost its value for its size.
func ValueOmitted(dead kafkago.Message) bool {
	return slices.ContainsFunc(dead.Headers, func(h kafkago.Header) bool { return h.Key == HeaderValueOmitted })
}

// ValueGone says whether dead has no value because its message was gone
// from its source topic.
func ValueGone(dead kafkago.Message) bool {
	return slices.ContainsFunc(dead.Headers, func(h kafkago.Header) bool { return h.Key == HeaderValueGone })
}

// ReplayPartition, as a message's WriterData, is the partition
// ReplayBalancer sends it to.
type ReplayPartition int

// ReplayMessage turns dead, a message of the dead-letter topic dlqTopic,
// back into the message it was: its key, value and own headers, without
// the ones dead-lettering added, plus HeaderReplayOf. It is bound for the
// topic it came from and, there, the partition it came from (WriterData, a
// ReplayPartition), since a producer's partitioner other than ours may
// have put it where our hash would not; with to not empty, for to and the
// partition its key hashes to.
func ReplayMessage(dead kafkago.Message, dlqTopic, to string) (kafkago.Message, error) {
	var topic, part string
	hs := make([]kafkago.Header, 0, len(dead.Headers)+1)
	for _, h := range dead.Headers {
		switch h.Key {
		case HeaderTopic:
			topic = string(h.Value)
		case HeaderPartition:
			part = string(h.Value)
		}
		if !deadLetterHeaders[h.Key] && h.Key != HeaderReplayOf {
			hs = append(hs, h)
		}
	}
	if topic == "" && to == "" {
		return kafkago.Message{}, fmt.Errorf("replay dead letter %d:%d: %w", dead.Partition, dead.Offset, ErrNoSourceTopic)
	}
	if ValueOmitted(dead) {
		return kafkago.Message{}, fmt.Errorf("replay dead letter %d:%d: %w", dead.Partition, dead.Offset, ErrValueOmitted)
	}
	if ValueGone(dead) {
		return kafkago.Message{}, fmt.Errorf("replay dead letter %d:%d: %w", dead.Partition, dead.Offset, ErrValueGone)
	}
	hs = append(hs, kafkago.Header{Key: HeaderReplayOf, Value: fmt.Appendf(nil, "%s/%d/%d", dlqTopic, dead.Partition, dead.Offset)})
	m := kafkago.Message{Topic: topic, Key: dead.Key, Value: dead.Value, Headers: hs}
	if to != "" {
		m.Topic = to
	} else if p, err := strconv.Atoi(part); err == nil && p >= 0 {
		m.WriterData = ReplayPartition(p)
	}
	return m, nil
}

// ReplayedFrom reads a dead letter's HeaderReplayOf: the partition and
// offset, in dlqTopic, of the dead letter it is a replay of.
func ReplayedFrom(dead kafkago.Message, dlqTopic string) (partition int, offset int64, ok bool) {
	for _, h := range dead.Headers {
		if h.Key != HeaderReplayOf {
			continue
		}
		rest, found := strings.CutPrefix(string(h.Value), dlqTopic+"/")
		p, o, cut := strings.Cut(rest, "/")
		if !found || !cut {
			return 0, 0, false
		}
		part, err1 := strconv.Atoi(p)
		off, err2 := strconv.ParseInt(o, 10, 64)
		return part, off, err1 == nil && err2 == nil
	}
	return 0, 0, false
}

// ReplayBalancer sends a message whose WriterData is a ReplayPartition to
// that partition while its topic has it, and any other by its key, as
// NewWriter does. (kafka-go's Message.Partition is not for writers to set.)
type ReplayBalancer struct{ byKey kafkago.Murmur2Balancer }

// Balance implements kafkago.Balancer.
func (b *ReplayBalancer) Balance(m kafkago.Message, partitions ...int) int {
	if p, ok := m.WriterData.(ReplayPartition); ok && slices.Contains(partitions, int(p)) {
		return int(p)
	}
	return b.byKey.Balance(m, partitions...)
}

// NewReplayWriter is NewWriter with ReplayBalancer.
func NewReplayWriter(c Cluster) *kafkago.Writer {
	w := NewWriter(c)
	w.Balancer = &ReplayBalancer{}
	return w
}
