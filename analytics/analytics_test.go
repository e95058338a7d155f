package analytics_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/erpflow/erpflow/analytics"
	"github.com/erpflow/erpflow/connectors/clickhouse"
	"github.com/erpflow/erpflow/connectors/clickhouse/chtest"
	"github.com/erpflow/erpflow/dashboards"
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
	tested := map[string]bool{"cash_received_by_month": true, "top_late_payers": true, "ar_aging": true, "order_to_cash": true}
	for _, n := range analytics.Names() {
		if !tested[n] {
			t.Errorf("query %s has no test with known answers", n)
		}
	}
}

func salesOrder(id, day, status string) string {
	return fmt.Sprintf(`{"kind":"sales_order","company":"SH01","source":"shop","id":%q,"version":1,"event_time":"%sT08:00:00Z","body":{"number":%q,"customer":{"id":"C1","name":"Name of C1"},"order_date":%q,"status":%q,"total":{"amount":"100.00","currency":"CNY"}}}`,
		id, day, id, day, status)
}

func shipment(id, order, shipped, delivered, status string) string {
	d := ""
	if delivered != "" {
		d = fmt.Sprintf(`"delivered_date":%q,`, delivered)
	}
	return fmt.Sprintf(`{"kind":"shipment","company":"SH01","source":"wms","id":%q,"version":1,"event_time":"%sT08:00:00Z","body":{"number":%q,"order_ref":%q,"customer":{"id":"C1"},"ship_date":%q,%s"status":%q}}`,
		id, shipped, id, order, shipped, d, status)
}

func arInvoice(id, order, status, total, cur, eventDay string) string {
	return arInvoiceIssued(id, order, status, total, cur, eventDay, "2025-01-06")
}

func arInvoiceIssued(id, order, status, total, cur, eventDay, issued string) string {
	return fmt.Sprintf(`{"kind":"invoice","company":"SH01","source":"erp","id":%q,"version":1,"event_time":"%sT08:00:00Z","body":{"number":%q,"direction":"AR","party":{"id":"C1","name":"Name of C1"},"issue_date":%q,"due_date":"2025-02-05","total":{"amount":%q,"currency":%q},"status":%q,"order_ref":%q}}`,
		id, eventDay, id, issued, total, cur, status, order)
}

// applied writes a bank line's match applying amount to an AR invoice, as
// the matching stage would (recon_matches and recon_match_lines).
func applied(t *testing.T, cfg clickhouse.Config, line, match, invoiceID, booked, outcome, amount, cur string) {
	t.Helper()
	day, err := time.Parse("2006-01-02", booked)
	if err != nil {
		t.Fatal(err)
	}
	insertRow(t, cfg, "INSERT INTO recon_matches (company, line_id, match_id, booking_date, outcome, version)",
		"SH01", line, match, day, outcome, uint64(1))
	insertRow(t, cfg, "INSERT INTO recon_match_lines (company, line_id, match_id, outcome, target_kind, target_id, currency, amount, version)",
		"SH01", line, match, outcome, "invoice", "SH01/erp/"+invoiceID, cur, decimal.RequireFromString(amount), uint64(1))
}

// TestOrderToCash: every status a chain can reach, with the day of each
// step and the days between; credit notes net against their own currency
// only, money comes from current matches (not reversed ones), and the
// ERP calling every invoice paid settles a chain a bank fee left short.
func TestOrderToCash(t *testing.T) {
	cfg := chtest.Config(t)
	land(t, cfg,
		salesOrder("SO1", "2025-01-01", "invoiced"),
		shipment("SH1", "SO1", "2025-01-03", "2025-01-05", "delivered"),
		arInvoice("I1", "SO1", "open", "100.00", "CNY", "2025-01-06"),
		salesOrder("SO2", "2025-01-02", "cancelled"),
		salesOrder("SO3", "2025-01-03", "open"),
		shipment("SH3", "SO3", "2025-01-04", "", "shipped"),
		salesOrder("SO4", "2025-01-04", "open"),
		arInvoice("I4", "SO4", "cancelled", "40.00", "CNY", "2025-01-06"),
		salesOrder("SO5", "2025-01-05", "invoiced"),
		arInvoice("I5", "SO5", "open", "200.00", "CNY", "2025-01-06"),
		salesOrder("SO6", "2025-01-05", "invoiced"),
		arInvoice("I6", "SO6", "paid", "100.00", "CNY", "2025-02-20"),
		salesOrder("SO7", "2025-01-05", "invoiced"),
		arInvoice("I7a", "SO7", "open", "100.00", "CNY", "2025-01-06"),
		arInvoice("I7b", "SO7", "open", "-30.00", "CNY", "2025-01-06"),
		arInvoice("I7c", "SO7", "open", "30.00", "CNY", "2025-01-06"),
		salesOrder("SO8", "2025-01-05", "invoiced"),
		arInvoice("I8a", "SO8", "open", "100.00", "CNY", "2025-01-06"),
		arInvoice("I8b", "SO8", "open", "50.00", "USD", "2025-01-06"),
		salesOrder("SO9", "2025-01-05", "invoiced"),
		arInvoice("I9b", "SO9", "open", "100.00", "CNY", "2025-01-06"),
		// Billed in dollars, cancelled and billed again in yuan, which
		// came short by a fee the ERP wrote off.
		salesOrder("SO10", "2025-01-05", "invoiced"),
		arInvoice("I10a", "SO10", "cancelled", "15.00", "USD", "2025-01-06"),
		arInvoice("I10b", "SO10", "paid", "100.00", "CNY", "2025-02-08"),
		// Billed in dollars and paid, then cancelled (the money goes back)
		// and billed again in yuan: the cancelled invoice's issue day and
		// money are not the chain's.
		salesOrder("SO11", "2025-01-02", "invoiced"),
		arInvoiceIssued("I11a", "SO11", "cancelled", "15.00", "USD", "2025-03-05", "2025-01-03"),
		arInvoiceIssued("I11b", "SO11", "paid", "100.00", "CNY", "2025-02-08", "2025-01-08"),
		arInvoice("I9", "", "open", "80.00", "CNY", "2025-01-06"),
		arInvoice("I10", "SO-X", "open", "10.00", "CNY", "2025-01-06"),
	)
	applied(t, cfg, "SH01/icbc/L1", "m1", "I1", "2025-02-01", "confirmed", "100.00", "CNY")
	applied(t, cfg, "SH01/icbc/L5", "m5", "I5", "2025-02-02", "accepted", "50.00", "CNY")
	// Confirmed, then unmatched by a person: the line's match moves to a
	// new id, and its old match line stays as it was.
	applied(t, cfg, "SH01/icbc/L5r", "m5r", "I5", "2025-02-03", "confirmed", "150.00", "CNY")
	insertRow(t, cfg, "INSERT INTO recon_matches (company, line_id, match_id, booking_date, outcome, version)",
		"SH01", "SH01/icbc/L5r", "m5u", time.Date(2025, 2, 3, 0, 0, 0, 0, time.UTC), "unmatched", uint64(2))
	applied(t, cfg, "SH01/icbc/L6", "m6", "I6", "2025-02-10", "confirmed", "99.50", "CNY")
	applied(t, cfg, "SH01/icbc/L7", "m7", "I7a", "2025-02-03", "confirmed", "100.00", "CNY")
	applied(t, cfg, "SH01/icbc/L8", "m8", "I8a", "2025-02-04", "confirmed", "100.00", "CNY")
	applied(t, cfg, "SH01/icbc/L9", "m9", "I9b", "2025-02-05", "confirmed", "120.00", "CNY") // paid over
	applied(t, cfg, "SH01/icbc/L10", "m10", "I10b", "2025-02-06", "confirmed", "99.80", "CNY")
	applied(t, cfg, "SH01/icbc/L11a", "m11a", "I11a", "2025-03-01", "confirmed", "15.00", "USD")
	applied(t, cfg, "SH01/icbc/L11b", "m11b", "I11b", "2025-02-06", "confirmed", "100.00", "CNY")
	got := query(t, cfg, "order_to_cash")
	const N = "NULL"
	want := [][]string{
		{"SH01", "", "", "invoiced", N, N, N, "2025-01-06", N, N, N, N, N, "[SH01/erp/I9]"},
		{"SH01", "SO-X", "", "invoiced", N, N, N, "2025-01-06", N, N, N, N, N, "[SH01/erp/I10]"},
		{"SH01", "SO1", "SH01/shop/SO1", "paid", "2025-01-01", "2025-01-03", "2025-01-05", "2025-01-06", "2025-02-01", "2", "2", "1", "26", "[SH01/erp/I1]"},
		{"SH01", "SO10", "SH01/shop/SO10", "paid", "2025-01-05", N, N, "2025-01-06", "2025-02-08", N, N, N, "33", "[SH01/erp/I10a, SH01/erp/I10b]"},
		{"SH01", "SO11", "SH01/shop/SO11", "paid", "2025-01-02", N, N, "2025-01-08", "2025-02-08", N, N, N, "31", "[SH01/erp/I11a, SH01/erp/I11b]"},
		{"SH01", "SO2", "SH01/shop/SO2", "cancelled", "2025-01-02", N, N, N, N, N, N, N, N, "[]"},
		{"SH01", "SO3", "SH01/shop/SO3", "shipped", "2025-01-03", "2025-01-04", N, N, N, "1", N, N, N, "[]"},
		{"SH01", "SO4", "SH01/shop/SO4", "ordered", "2025-01-04", N, N, N, N, N, N, N, N, "[SH01/erp/I4]"},
		{"SH01", "SO5", "SH01/shop/SO5", "partially_paid", "2025-01-05", N, N, "2025-01-06", N, N, N, N, N, "[SH01/erp/I5]"},
		{"SH01", "SO6", "SH01/shop/SO6", "paid", "2025-01-05", N, N, "2025-01-06", "2025-02-20", N, N, N, "45", "[SH01/erp/I6]"},
		{"SH01", "SO7", "SH01/shop/SO7", "paid", "2025-01-05", N, N, "2025-01-06", "2025-02-03", N, N, N, "28", "[SH01/erp/I7a, SH01/erp/I7b, SH01/erp/I7c]"},
		{"SH01", "SO8", "SH01/shop/SO8", "partially_paid", "2025-01-05", N, N, "2025-01-06", N, N, N, N, N, "[SH01/erp/I8a, SH01/erp/I8b]"},
		{"SH01", "SO9", "SH01/shop/SO9", "paid", "2025-01-05", N, N, "2025-01-06", "2025-02-05", N, N, N, "30", "[SH01/erp/I9b]"},
	}
	if !reflect.DeepEqual(got, want) {
		for i := range max(len(got), len(want)) {
			var g, w []string
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("row %d:\n got  %v\n want %v", i, g, w)
			}
		}
	}
}

// TestFinanceBoardQueries runs every ClickHouse panel of the boards on a
// real server over known rows: a panel showing an analytics query carries
// that query's SQL exactly, and the board's own panels give the known
// answers.
func TestFinanceBoardQueries(t *testing.T) {
	cfg := chtest.Config(t)
	land(t, cfg,
		bank("SH01", "b1", "credit", "2025-01-05", "100.50", "CNY", 1),
		invoice("SH01", "i1", "C1", "2025-02-01", "open", "100.00", 1, "2025-01-01"),
	)
	matched(t, cfg, "SH01", "SH01/icbc/L1", "m1", "i1", "2025-02-01", "review")
	insertRow(t, cfg, "INSERT INTO recon_exceptions (company, exception_id, type, status, version)", "SH01", "x1", "duplicate_payment", "open", uint64(1))
	insertRow(t, cfg, "INSERT INTO recon_exceptions (company, exception_id, type, status, version)", "SH01", "x2", "duplicate_payment", "open", uint64(1))
	insertRow(t, cfg, "INSERT INTO recon_exceptions (company, exception_id, type, status, version)", "SH01", "x3", "fee_deducted", "resolved", uint64(1))
	insertRow(t, cfg, "INSERT INTO recon_control_totals (company, direction, currency, day, balanced, version)",
		"SH01", "debit", "CNY", time.Date(2025, 1, 5, 0, 0, 0, 0, time.UTC), uint8(1), uint64(1))
	want := map[string][][]string{
		"Open exceptions by type":       {{"duplicate_payment", "2"}},
		"Bank lines waiting for review": {{"SH01", "1", "2025-02-01"}},
		"Control totals":                {{"SH01", "debit", "CNY", "1", "1"}},
	}
	panels, err := dashboards.SQLPanels()
	if err != nil {
		t.Fatal(err)
	}
	if len(panels) < len(want) {
		t.Fatalf("%d ClickHouse panels, want at least %d", len(panels), len(want))
	}
	conn, err := clickhouse.Open(context.Background(), cfg, cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	named := 0
	for _, p := range panels {
		if p.Query != "" {
			named++
			sql, err := analytics.SQL(p.Query)
			if err != nil {
				t.Errorf("%s / %s: %v", p.Board, p.Title, err)
			} else if strings.TrimSpace(sql) != strings.TrimSpace(p.SQL) {
				t.Errorf("%s / %s: the panel's SQL is not analytics/queries/%s.sql: copy the file into its rawSql", p.Board, p.Title, p.Query)
			}
		}
		// As Grafana's plugin runs it: under a deadline, which the driver
		// sends as max_execution_time.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		got, err := analytics.QuerySQL(ctx, conn, p.SQL)
		cancel()
		if err != nil {
			t.Errorf("%s / %s does not run on this server: %v", p.Board, p.Title, err)
			continue
		}
		if w, ok := want[p.Title]; ok && !reflect.DeepEqual(got.Rows, w) {
			t.Errorf("%s / %s: %v, want %v", p.Board, p.Title, got.Rows, w)
		}
		delete(want, p.Title)
	}
	for title := range want {
		t.Errorf("no panel %q", title)
	}
	if named < 3 {
		t.Errorf("%d panels name the analytics query they show, want 3: a description no longer names its file?", named)
	}
}
