package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"

	"github.com/erpflow/erpflow/pipeline/record"
	"github.com/erpflow/erpflow/transforms/match"
)

// flakyHistory fails its first fails reads (with err, or a connection
// error); with partial set, a failing read gives one record before it
// fails. seen, when set, is called at each read.
type flakyHistory struct {
	match.History
	fails, reads int
	partial      bool
	err          error
	seen         func()
}

func (h *flakyHistory) Records(ctx context.Context, company string, f func(*record.Record), restart func()) error {
	h.reads++
	if h.seen != nil {
		h.seen()
	}
	if h.reads <= h.fails {
		if h.partial {
			f(&record.Record{Envelope: record.Envelope{ID: "partial"}})
		}
		if h.err != nil {
			return h.err
		}
		return errors.New("connection refused")
	}
	f(&record.Record{Envelope: record.Envelope{ID: "a"}})
	f(&record.Record{Envelope: record.Envelope{ID: "b"}})
	return nil
}

// Matching's history is read again after a failed read, and a read that
// failed after some records came is read again from the first, the stage
// told to forget those (restart) before any record comes a second time.
func TestRetryingHistoryStartsAgainAfterAPartialRead(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		name     string
		h        *flakyHistory
		restarts int
	}{
		{"failed before a record", &flakyHistory{fails: 2}, 0},
		{"failed after a record", &flakyHistory{fails: 2, partial: true}, 2},
	} {
		var got, log2 []string
		restarts := 0
		add := func(r *record.Record) { got = append(got, r.ID); log2 = append(log2, r.ID) }
		restart := func() { restarts++; got = got[:0]; log2 = append(log2, "restart") }
		err := retryingHistory{tc.h, &loads{log: log}}.Records(context.Background(), "SH01", add, restart)
		if err != nil || tc.h.reads != 3 || !slices.Equal(got, []string{"a", "b"}) || restarts != tc.restarts {
			t.Errorf("%s: %v, %d reads, records %v, %d restarts (%v); want nil, 3, [a b], %d",
				tc.name, err, tc.h.reads, got, restarts, log2, tc.restarts)
		}
	}
}

// While a load fails, /readyz says so; an answer that the load cannot be
// done (ClickHouse refusing the query) is not retried but ends the run.
func TestLoadsReportFailureAndGiveUpOnRefusals(t *testing.T) {
	ld := &loads{log: slog.New(slog.DiscardHandler)}
	var unready []error
	h := &flakyHistory{fails: 2}
	h.seen = func() { unready = append(unready, ld.healthy()) }
	if err := (retryingHistory{h, ld}).Records(context.Background(), "SH01", func(*record.Record) {}, func() {}); err != nil {
		t.Fatal(err)
	}
	if len(unready) != 3 || unready[0] != nil || unready[1] == nil || unready[2] == nil || ld.healthy() != nil {
		t.Fatalf("health at each read %v, after %v; want ready, then the failure twice, then ready", unready, ld.healthy())
	}
	h = &flakyHistory{fails: 5, err: fmt.Errorf("read: %w", &proto.Exception{Code: 60, Message: "Table erpflow.invoices_versions doesn't exist"})}
	err := (retryingHistory{h, ld}).Records(context.Background(), "SH01", func(*record.Record) {}, func() {})
	if err == nil || h.reads != 1 || ld.healthy() != nil {
		t.Fatalf("a refused query: %v after %d reads (health %v); want its error after one", err, h.reads, ld.healthy())
	}
}
