package clickhouse

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
)

// A migration's ADD COLUMN run again after a crash meets its column: 18.16
// says so with code 44, current releases with 15. Either is done already;
// other statements and other codes are failures.
func TestAlreadyDone(t *testing.T) {
	add := "ALTER TABLE invoices ADD COLUMN party_key String DEFAULT ''"
	for _, c := range []struct {
		stmt string
		err  error
		want bool
	}{
		{add, &proto.Exception{Code: 44, Message: "Cannot add column party_key: column with this name already exists"}, true},
		{add, fmt.Errorf("apply: %w", &proto.Exception{Code: 15, Message: "Cannot add column party_key: column with this name already exists"}), true},
		{add, &proto.Exception{Code: 60, Message: "Table erpflow.invoices doesn't exist"}, false},
		{add, io.EOF, false},
		{"CREATE TABLE x (a UInt8) ENGINE = Memory", &proto.Exception{Code: 15}, false},
	} {
		if got := alreadyDone(c.stmt, c.err); got != c.want {
			t.Errorf("alreadyDone(%.30q, %v) = %v, want %v", c.stmt, c.err, got, c.want)
		}
	}
}

// Refused: a query the server cannot run as written (waiting will not help)
// against one it could not run now, which a load tries again.
func TestRefused(t *testing.T) {
	for _, c := range []struct {
		code int32
		want bool
	}{
		{60, true},   // UNKNOWN_TABLE
		{47, true},   // UNKNOWN_IDENTIFIER
		{62, true},   // SYNTAX_ERROR
		{497, true},  // ACCESS_DENIED
		{516, true},  // AUTHENTICATION_FAILED
		{394, false}, // QUERY_WAS_CANCELLED: a server shutting down kills its queries
		{241, false}, // MEMORY_LIMIT_EXCEEDED
		{159, false}, // TIMEOUT_EXCEEDED
		{202, false}, // TOO_MANY_SIMULTANEOUS_QUERIES
		{209, false}, // SOCKET_TIMEOUT
		{3, false},   // UNEXPECTED_END_OF_FILE
	} {
		err := fmt.Errorf("read: %w", &proto.Exception{Code: c.code, Message: "x"})
		if got := Refused(err); got != c.want {
			t.Errorf("Refused(code %d) = %v, want %v", c.code, got, c.want)
		}
	}
	if Refused(io.ErrUnexpectedEOF) {
		t.Error("a broken connection is refused")
	}
}

// Topic names go into the text of the Companies query: one that is not a
// Kafka topic name is refused before any query is made.
func TestCompaniesRefusesAForeignTopicName(t *testing.T) {
	h := &History{} // no connection: it must not get that far
	for _, topic := range []string{`x\' OR 1=1 --`, "x' OR 1=1 --", "", "erp invoices"} {
		if _, err := h.Companies(context.Background(), map[string][]int{topic: {0}}); err == nil {
			t.Errorf("topic %q: no error", topic)
		}
	}
}
