package kafka

import (
	"context"
	"fmt"
	"sort"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// ReadTopic calls f for every message of every partition of topic, from the
// first offset to the end as it stood when called, partition by partition.
// It joins no group and commits nothing: it is for inspecting a topic, such
// as the dead letters, not for consuming it.
func ReadTopic(ctx context.Context, c Cluster, topic string, f func(kafkago.Message) error) error {
	client := c.client(10 * time.Second)
	md, err := client.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return fmt.Errorf("read %s: metadata: %w", topic, err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		return fmt.Errorf("read %s: topic not found: %v", topic, md.Topics)
	}
	var ids []int
	req := &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{}}
	for _, p := range md.Topics[0].Partitions {
		ids = append(ids, p.ID)
		req.Topics[topic] = append(req.Topics[topic], kafkago.FirstOffsetOf(p.ID), kafkago.LastOffsetOf(p.ID))
	}
	sort.Ints(ids)
	res, err := client.ListOffsets(ctx, req)
	if err != nil {
		return fmt.Errorf("read %s: offsets: %w", topic, err)
	}
	bounds := map[int][2]int64{}
	for _, p := range res.Topics[topic] {
		if p.Error != nil {
			return fmt.Errorf("read %s/%d: %w", topic, p.Partition, p.Error)
		}
		bounds[p.Partition] = [2]int64{p.FirstOffset, p.LastOffset}
	}
	for _, id := range ids {
		first, end := bounds[id][0], bounds[id][1]
		if first >= end {
			continue
		}
		if err := readPartition(ctx, c, topic, id, first, end, f); err != nil {
			return err
		}
	}
	return nil
}

func readPartition(ctx context.Context, c Cluster, topic string, partition int, first, end int64, f func(kafkago.Message) error) error {
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: c.Brokers, Dialer: c.dialer(), Topic: topic, Partition: partition, MaxWait: 100 * time.Millisecond, MaxBytes: 8 << 20})
	defer r.Close()
	if err := r.SetOffset(first); err != nil {
		return err
	}
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			return fmt.Errorf("read %s/%d: %w", topic, partition, err)
		}
		if err := f(m); err != nil {
			return err
		}
		if m.Offset+1 >= end {
			return nil
		}
	}
}
