package analytics_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/erpflow/erpflow/analytics"
	"github.com/erpflow/erpflow/connectors/clickhouse"
	"github.com/erpflow/erpflow/connectors/clickhouse/chtest"
	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/transforms/decode"
)

// land writes canonical JSON records into the test database.
func land(t *testing.T, cfg clickhouse.Config, lines ...string) {
	t.Helper()
	ctx := context.Background()
	b := &pipeline.Batch{}
	for i, l := range lines {
		b.Messages = append(b.Messages, pipeline.Message{Offset: int64(i), Value: []byte(l)})
	}
	if err := decode.New(nil).Process(ctx, b); err != nil {
		t.Fatal(err)
	}
	if len(b.Dead) > 0 {
		t.Fatalf("fixture refused: %s", b.Dead[0].Message)
	}
	conn, err := clickhouse.Open(ctx, cfg, cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := clickhouse.NewSink(conn).Write(ctx, b); err != nil {
		t.Fatal(err)
	}
}

func bank(company, id, dir, date, amount, cur string, version int) string {
	return fmt.Sprintf(`{"kind":"bank_txn","company":%q,"source":"icbc","id":%q,"version":%d,"event_time":"%sT08:00:00Z","body":{"account":"A1","booking_date":%q,"direction":%q,"amount":{"amount":%q,"currency":%q}}}`,
		company, id, version, date, date, dir, amount, cur)
}

func invoice(company, id, customer, due, status, total string, version int, eventDay string) string {
	return fmt.Sprintf(`{"kind":"invoice","company":%q,"source":"erp","id":%q,"version":%d,"event_time":"%sT08:00:00Z","body":{"number":%q,"direction":"AR","party":{"id":%q,"name":"Name of %s"},"issue_date":"2025-01-01","due_date":%q,"total":{"amount":%q,"currency":"CNY"},"status":%q}}`,
		company, id, version, eventDay, id, customer, customer, due, total, status)
}

func query(t *testing.T, cfg clickhouse.Config, name string) [][]string {
	t.Helper()
	conn, err := clickhouse.Open(context.Background(), cfg, cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tab, err := analytics.Query(context.Background(), conn, name)
	if err != nil {
		t.Fatal(err)
	}
	return tab.Rows
}

func TestCashReceivedByMonth(t *testing.T) {
	cfg := chtest.Config(t)
	land(t, cfg,
		bank("SH01", "b1", "credit", "2025-01-05", "100.50", "CNY", 1),
		bank("SH01", "b2", "credit", "2025-01-20", "200.00", "CNY", 1),
		bank("SH01", "b2", "credit", "2025-01-20", "250.00", "CNY", 2), // corrected line replaces b2
		bank("SH01", "b3", "debit", "2025-01-21", "999.00", "CNY", 1),  // money out: not a receipt
		bank("SH01", "b4", "credit", "2025-02-01", "10.00", "USD", 1),
		bank("BJ02", "b5", "credit", "2025-02-03", "7.00", "CNY", 1),
	)
	land(t, cfg, bank("SH01", "b1", "credit", "2025-01-05", "100.50", "CNY", 1)) // re-sent
	got := query(t, cfg, "cash_received_by_month")
	want := [][]string{
		{"BJ02", "2025-02-01", "CNY", "1", "7.00"},
		{"SH01", "2025-01-01", "CNY", "2", "350.50"},
		{"SH01", "2025-02-01", "USD", "1", "10.00"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

// insertRow writes one row of a derived table, as a stage's rows land.
func insertRow(t *testing.T, cfg clickhouse.Config, insert string, row ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := clickhouse.Open(ctx, cfg, cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	b, err := conn.PrepareBatch(ctx, insert)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Append(row...); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
}

// matched writes a bank line's current match applying it to an invoice,
// as the matching stage would (recon_matches and recon_match_lines).
func matched(t *testing.T, cfg clickhouse.Config, company, line, match, invoiceID, booked, outcome string) {
	t.Helper()
	day, err := time.Parse("2006-01-02", booked)
	if err != nil {
		t.Fatal(err)
	}
	insertRow(t, cfg, "INSERT INTO recon_matches (company, line_id, match_id, booking_date, outcome, version)",
		company, line, match, day, outcome, uint64(1))
	insertRow(t, cfg, "INSERT INTO recon_match_lines (company, line_id, match_id, outcome, target_kind, target_id, version)",
		company, line, match, outcome, "invoice", company+"/erp/"+invoiceID, uint64(1))
}

func TestTopLatePayers(t *testing.T) {
	cfg := chtest.Config(t)
	land(t, cfg,
		invoice("SH01", "i1", "C1", "2025-02-01", "open", "100.00", 1, "2025-01-01"),
		invoice("SH01", "i1", "C1", "2025-02-01", "paid", "100.00", 2, "2025-02-11"), // 10 days late
		invoice("SH01", "i2", "C1", "2025-02-01", "paid", "100.00", 1, "2025-02-01"), // on time
		invoice("SH01", "i3", "C2", "2025-02-01", "paid", "100.00", 1, "2025-02-04"), // 3 late
		invoice("SH01", "i4", "C3", "2025-02-01", "paid", "100.00", 1, "2025-01-20"), // early
		invoice("SH01", "i5", "C3", "2025-02-01", "open", "100.00", 1, "2025-03-20"), // unpaid
		// The ERP posted i6 paid ten days after the bank booked the money,
		// on its due day: on time, by the match.
		invoice("SH01", "i6", "C4", "2025-02-01", "paid", "100.00", 1, "2025-02-11"),
		// A credit note refunded late is not the customer paying late.
		invoice("SH01", "cn1", "C5", "2025-02-01", "paid", "-50.00", 1, "2025-02-20"),
	)
	matched(t, cfg, "SH01", "SH01/icbc/L6", "m6", "i6", "2025-02-01", "confirmed")
	got := query(t, cfg, "top_late_payers")
	want := [][]string{
		{"SH01", "C1", "Name of C1", "2", "1", "5", "10"},
		{"SH01", "C2", "Name of C2", "1", "1", "3", "3"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

// openItem writes matching's view of an AR invoice (recon_open_items), as
// the matching stage would: what is still open of it, and its status.
func openItem(t *testing.T, cfg clickhouse.Config, company, id, total, open, status string) {
	t.Helper()
	due := time.Date(2025, 3, 15, 0, 0, 0, 0, time.UTC)
	insertRow(t, cfg, "INSERT INTO recon_open_items (company, kind, source, id, number, direction, party_key, currency, total, open, due_date, status, event_time, version)",
		company, "invoice", "erp", id, id, "AR", "c1", "CNY", decimal.RequireFromString(total), decimal.RequireFromString(open), due, status, due, uint64(1))
}

func TestARAging(t *testing.T) {
	cfg := chtest.Config(t)
	land(t, cfg,
		bank("SH01", "b1", "credit", "2025-04-30", "1.00", "CNY", 1), // the data's "today"
		invoice("SH01", "i1", "C1", "2025-05-10", "open", "100.00", 1, "2025-04-01"),
		invoice("SH01", "i2", "C1", "2025-04-20", "open", "200.00", 1, "2025-04-01"),
		invoice("SH01", "i3", "C1", "2025-03-15", "partially_paid", "300.00", 1, "2025-04-01"),
		invoice("SH01", "i4", "C1", "2024-12-01", "open", "400.00", 1, "2025-04-01"),
		invoice("SH01", "i5", "C1", "2024-12-01", "paid", "500.00", 1, "2025-04-01"),
		invoice("SH01", "i6", "C1", "2025-03-15", "open", "600.00", 1, "2025-04-01"),
	)
	// Matching knows that 100.00 of i3 is still open, and that a bank line
	// settled i6, which the ERP has not marked paid yet.
	openItem(t, cfg, "SH01", "i3", "300.00", "100.00", "open")
	openItem(t, cfg, "SH01", "i6", "600.00", "0.00", "settled")
	got := query(t, cfg, "ar_aging")
	want := [][]string{
		{"SH01", "CNY", "1-30", "1", "200.00"},
		{"SH01", "CNY", "31-60", "1", "100.00"},
		{"SH01", "CNY", "90+", "1", "400.00"},
		{"SH01", "CNY", "not due", "1", "100.00"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

// TestARAgingWithoutBankLines: with no bank statement yet (an ERP-only
// start), the data's day is the latest invoice change, not 0000-00-00,
// which aged everything as not due.
func TestARAgingWithoutBankLines(t *testing.T) {
	cfg := chtest.Config(t)
	land(t, cfg, invoice("SH01", "i1", "C1", "2024-12-01", "open", "400.00", 1, "2025-04-01"))
	got := query(t, cfg, "ar_aging")
	want := [][]string{{"SH01", "CNY", "90+", "1", "400.00"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

func TestEveryQueryIsTested(t *testing.T) {
	tested := map[string]bool{"cash_received_by_month": true, "top_late_payers": true, "ar_aging": true}
	for _, n := range analytics.Names() {
		if !tested[n] {
			t.Errorf("query %s has no test with known answers", n)
		}
	}
}
