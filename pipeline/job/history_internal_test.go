package job

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/erpflow/erpflow/pipeline/record"
	"github.com/erpflow/erpflow/transforms/match"
)

// flakyHistory fails its first fails reads; with partial set, a failing
// read gives one record before it fails.
type flakyHistory struct {
	match.History
	fails, reads int
	partial      bool
}

func (h *flakyHistory) Records(ctx context.Context, company string, f func(*record.Record)) error {
	h.reads++
	if h.reads <= h.fails {
		if h.partial {
			f(&record.Record{Envelope: record.Envelope{ID: "partial"}})
		}
		return errors.New("connection refused")
	}
	f(&record.Record{Envelope: record.Envelope{ID: "a"}})
	f(&record.Record{Envelope: record.Envelope{ID: "b"}})
	return nil
}

// Matching's history is read again while nothing of a failed read reached
// the stage, and never after: the stage would take those records twice.
func TestRetryingHistoryNeverGivesARecordTwice(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	h := &flakyHistory{fails: 2}
	var got []string
	err := retryingHistory{h, log}.Records(context.Background(), "SH01", func(r *record.Record) { got = append(got, r.ID) })
	if err != nil || h.reads != 3 || len(got) != 2 {
		t.Fatalf("after two failed reads: %v, %d reads, records %v; want nil, 3, [a b]", err, h.reads, got)
	}
	h = &flakyHistory{fails: 1, partial: true}
	got = nil
	err = retryingHistory{h, log}.Records(context.Background(), "SH01", func(r *record.Record) { got = append(got, r.ID) })
	if err == nil || h.reads != 1 || len(got) != 1 {
		t.Fatalf("a read that failed after a record: %v, %d reads, records %v; want its error, 1 read, [partial]", err, h.reads, got)
	}
}
