package match

import (
	"context"
	"testing"
	"time"

	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
)

// stageBatch builds a batch of records, each its own message on the given
// topic and partition 0; end marks the last message of each topic as the
// end of its partition.
func stageBatch(end bool, recs ...struct {
	topic string
	r     *record.Record
}) *pipeline.Batch {
	b := &pipeline.Batch{}
	for i, x := range recs {
		m := pipeline.Message{Topic: x.topic, Offset: int64(i), HighWater: 1000, Epoch: 1}
		if end {
			m.HighWater = int64(i) + 1
		}
		b.Messages = append(b.Messages, m)
		b.Items = append(b.Items, pipeline.Item{Rec: *x.r, Msg: i})
	}
	return b
}

type topicRec = struct {
	topic string
	r     *record.Record
}

func arInvoice(id string, minor int64, at time.Time) *record.Record {
	return &record.Record{Envelope: record.Envelope{Kind: record.KindInvoice, Company: "SH01", Source: "erp", ID: id, Version: 1, EventTime: at},
		Body: &record.Invoice{Number: id, Direction: "AR", Party: record.Party{Name: "Acme"}, IssueDate: record.DateOf(at),
			DueDate: record.DateOf(at) + 30, Total: record.Money{Minor: minor, Currency: cny}, Status: "open"}}
}

func creditLine(id, remit string, minor int64, at time.Time) *record.Record {
	return &record.Record{Envelope: record.Envelope{Kind: record.KindBankTxn, Company: "SH01", Source: "bank", ID: id, Version: 1, EventTime: at},
		Body: &record.BankTxn{Direction: "credit", BookingDate: record.DateOf(at), Amount: record.Money{Minor: minor, Currency: cny},
			Counterparty: record.Party{Name: "Acme"}, Remittance: remit}}
}

// TestStageWaitsForEveryTopic: the bank topic runs a month ahead of the
// invoices topic; the stage matches nothing until the invoices catch up,
// then matches in event-time order, and the final batch lets the rest go.
func TestStageWaitsForEveryTopic(t *testing.T) {
	s, err := NewStage(StageOptions{Topics: []string{"inv", "bank"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	day := record.MakeDate(2025, 3, 1).Time()
	// The bank lines come first: they pay invoices not yet read.
	b1 := stageBatch(false, topicRec{"bank", creditLine("L1", "INV-1", 100000, day.AddDate(0, 0, 20))},
		topicRec{"bank", creditLine("L2", "INV-2", 50000, day.AddDate(0, 0, 25))})
	if err := s.Process(ctx, b1); err != nil {
		t.Fatal(err)
	}
	if len(b1.Rows) != 0 {
		t.Fatalf("matched before the invoices topic brought anything: %d rows", len(b1.Rows))
	}
	// The invoices arrive; the watermark is now the invoices' newest (day 5):
	// both invoices open, no line is past it yet.
	b2 := stageBatch(false, topicRec{"inv", arInvoice("INV-1", 100000, day)}, topicRec{"inv", arInvoice("INV-2", 50000, day.AddDate(0, 0, 5))})
	if err := s.Process(ctx, b2); err != nil {
		t.Fatal(err)
	}
	if n := rowsOf(b2, MatchesTable); n != 0 {
		t.Fatalf("%d lines matched while the invoices topic is at day 5", n)
	}
	if n := rowsOf(b2, OpenItemsTable); n != 2 {
		t.Fatalf("%d open-item rows, want the 2 invoices", n)
	}
	// The invoices topic reaches its end: it holds nothing back any more.
	b3 := stageBatch(true, topicRec{"inv", arInvoice("INV-3", 70000, day.AddDate(0, 0, 6))})
	if err := s.Process(ctx, b3); err != nil {
		t.Fatal(err)
	}
	if n := rowsOf(b3, MatchesTable); n != 2 {
		t.Fatalf("%d lines matched once every topic passed them, want 2", n)
	}
	for _, r := range b3.Rows {
		if r.Table == MatchesTable && r.Values[8] != string(Confirmed) {
			t.Errorf("line %v: %v", r.Values[1], r.Values[8])
		}
	}
	// The final batch closes the day: control totals and an overdue-free end.
	fin := &pipeline.Batch{Final: true}
	if err := s.Process(ctx, fin); err != nil {
		t.Fatal(err)
	}
	if rowsOf(fin, TotalsTable) == 0 {
		t.Error("the final batch reported no control totals")
	}
	if len(s.held) != 0 {
		t.Errorf("records still held after the final batch: %d companies", len(s.held))
	}
}

// TestStageVersionsNeverGoBack: a record older than what its company has
// passed (a late one) still gets row versions above everything before.
func TestStageVersionsNeverGoBack(t *testing.T) {
	s, _ := NewStage(StageOptions{Topics: []string{"inv"}})
	ctx := context.Background()
	day := record.MakeDate(2025, 3, 1).Time()
	b1 := stageBatch(false, topicRec{"inv", arInvoice("INV-1", 100, day.AddDate(0, 0, 9))})
	s.Process(ctx, b1)
	b2 := stageBatch(false, topicRec{"inv", arInvoice("INV-0", 100, day)})
	s.Process(ctx, b2)
	v1, v2 := b1.Rows[len(b1.Rows)-1].Values, b2.Rows[0].Values
	if last, late := v1[len(v1)-1].(uint64), v2[len(v2)-1].(uint64); late <= last {
		t.Errorf("the late record's row has version %d, not above %d", late, last)
	}
}

func rowsOf(b *pipeline.Batch, t *pipeline.Table) int {
	n := 0
	for _, r := range b.Rows {
		if r.Table == t {
			n++
		}
	}
	return n
}
