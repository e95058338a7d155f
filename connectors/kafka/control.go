package kafka

import kafkago "github.com/segmentio/kafka-go"

// isControlRecord says whether m is a transaction marker: the record a
// broker appends when a transactional producer commits or aborts. Kafka's
// clients hide them; kafka-go v0.4.51 parses the batch attribute that marks
// them but hands them out as messages all the same (segmentio/kafka-go#1446
// would change that), so erpflow tells them by their fixed shape: a key of
// version 0 and type 0 (abort) or 1 (commit), two 16-bit integers, and a
// value of version 0 and the coordinator's 32-bit epoch, with no headers.
// Left to decoding, each would be dead-lettered as invalid JSON, one per
// partition per transaction. A data message of exactly this shape is not a
// record in any format erpflow reads; it is passed over like a marker.
func isControlRecord(m kafkago.Message) bool {
	k, v := m.Key, m.Value
	return len(k) == 4 && k[0] == 0 && k[1] == 0 && k[2] == 0 && k[3] <= 1 &&
		len(v) == 6 && v[0] == 0 && v[1] == 0 && len(m.Headers) == 0
}

// isAbortMarker says whether m, a control record, ends a transaction the
// producer aborted. kafka-go has already handed out that transaction's
// records as data: it neither filters them (read_committed's list of
// aborted transactions is parsed and dropped) nor says which producer
// wrote a message, so the source can only report it.
func isAbortMarker(m kafkago.Message) bool { return isControlRecord(m) && m.Key[3] == 0 }
