package kafka

import (
	"sort"

	kafkago "github.com/segmentio/kafka-go"
)

// CoPartitionBalancer gives every member the same partition numbers of every
// topic it reads, so that one instance sees all records of a company across
// invoices, payments and bank lines (keys are company codes, and all topics
// have the same partition count). kafka-go's RangeGroupBalancer takes
// partitions in metadata order, which is not sorted, and can hand one member
// erp.invoices 1,2 but bank.transactions 0,1.
type CoPartitionBalancer struct{}

// ProtocolName implements kafkago.GroupBalancer.
func (CoPartitionBalancer) ProtocolName() string { return "erpflow-copartition" }

// UserData implements kafkago.GroupBalancer.
func (CoPartitionBalancer) UserData() ([]byte, error) { return nil, nil }

// AssignGroups splits the sorted partition numbers into contiguous ranges,
// one per member in member-id order, and gives each member its range in every
// topic it subscribed to.
func (CoPartitionBalancer) AssignGroups(members []kafkago.GroupMember, partitions []kafkago.Partition) kafkago.GroupMemberAssignments {
	ms := append([]kafkago.GroupMember(nil), members...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].ID < ms[j].ID })

	byTopic := map[string][]int{}
	idSet := map[int]bool{}
	for _, p := range partitions {
		byTopic[p.Topic] = append(byTopic[p.Topic], p.ID)
		idSet[p.ID] = true
	}
	ids := make([]int, 0, len(idSet))
	for id := range idSet {
		ids = append(ids, id)
	}
	sort.Ints(ids)

	owner := map[int]string{}
	n := len(ms)
	for i, id := range ids {
		if n == 0 {
			break
		}
		// Member k owns the k-th contiguous range; earlier members take the
		// remainder, as Kafka's range assignor does.
		owner[id] = ms[rangeIndex(i, len(ids), n)].ID
	}

	out := kafkago.GroupMemberAssignments{}
	for _, m := range ms {
		out[m.ID] = map[string][]int{}
	}
	for _, m := range ms {
		for _, t := range m.Topics {
			parts := append([]int(nil), byTopic[t]...)
			sort.Ints(parts)
			for _, id := range parts {
				if owner[id] == m.ID {
					out[m.ID][t] = append(out[m.ID][t], id)
				}
			}
		}
	}
	return out
}

// rangeIndex returns which of n members owns the i-th of total items when
// items are split into contiguous ranges, the first total%n ranges one longer.
func rangeIndex(i, total, n int) int {
	size, extra := total/n, total%n
	// The first extra members own size+1 items each.
	if i < extra*(size+1) {
		return i / (size + 1)
	}
	return extra + (i-extra*(size+1))/size
}
