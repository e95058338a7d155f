package clickhouse_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"

	"github.com/erpflow/erpflow/connectors/clickhouse"
	"github.com/erpflow/erpflow/connectors/clickhouse/chtest"
	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
	"github.com/erpflow/erpflow/transforms/decode"
)

func docBatch(t *testing.T) *pipeline.Batch {
	t.Helper()
	doc, err := os.ReadFile("../../docs/records.md")
	if err != nil {
		t.Fatal(err)
	}
	b := &pipeline.Batch{}
	for i, m := range regexp.MustCompile("(?s)```json\n(.*?)\n```").FindAllSubmatch(doc, -1) {
		b.Messages = append(b.Messages, pipeline.Message{Topic: "t", Partition: 0, Offset: int64(i), Value: m[1]})
	}
	if err := decode.New(nil).Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if len(b.Dead) != 0 {
		t.Fatalf("doc examples dead-lettered: %+v", b.Dead[0])
	}
	return b
}

func TestMigrateIsRecordedAndIdempotent(t *testing.T) {
	cfg := chtest.Config(t)
	ctx := context.Background()
	again, err := clickhouse.Migrate(ctx, cfg)
	if err != nil || len(again) != 0 {
		t.Fatalf("second migrate applied %d, %v", len(again), err)
	}
	conn, err := clickhouse.Open(ctx, cfg, cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Run every statement again, as after a crash before the migrations
	// were recorded: it must still succeed.
	if err := conn.Exec(ctx, "DROP TABLE schema_migrations"); err != nil {
		t.Fatal(err)
	}
	if again, err := clickhouse.Migrate(ctx, cfg); err != nil || len(again) == 0 {
		t.Fatalf("re-running the migrations: %d applied, %v", len(again), err)
	}
	ms, _ := clickhouse.Migrations()
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM schema_migrations").Scan(&n); err != nil || n != uint64(len(ms)) {
		t.Fatalf("schema_migrations has %d rows (%v), want %d", n, err, len(ms))
	}
	for _, table := range clickhouse.Tables {
		var engine string
		if err := conn.QueryRow(ctx, "SELECT engine FROM system.tables WHERE database = ? AND name = ?", cfg.Database, table).Scan(&engine); err != nil {
			t.Fatalf("table %s: %v", table, err)
		}
		if engine != "ReplacingMergeTree" {
			t.Errorf("table %s engine %s", table, engine)
		}
	}
}

func TestSinkLandsEveryKindIdempotently(t *testing.T) {
	cfg := chtest.Config(t)
	ctx := context.Background()
	conn, err := clickhouse.Open(ctx, cfg, cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sink := clickhouse.NewSink(conn)
	b := docBatch(t)
	// Written twice, as after a crash before the commit: readers using FINAL
	// still see one row per record.
	for i := 0; i < 2; i++ {
		if err := sink.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	for _, table := range clickhouse.Tables {
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM "+table+" FINAL").Scan(&n); err != nil || n != 1 {
			t.Errorf("%s: %d rows with FINAL (%v), want 1", table, n, err)
		}
	}
	var total decimal.Decimal
	var name string
	var due time.Time
	var qty []decimal.Decimal
	err = conn.QueryRow(ctx, "SELECT total, party_name, due_date, line_quantity FROM invoices FINAL WHERE id = 'INV-2025-0042'").Scan(&total, &name, &due, &qty)
	if err != nil {
		t.Fatal(err)
	}
	if total.String() != "11300" || name != "上海华东贸易有限公司" || due.Format("2006-01-02") != "2025-05-16" || len(qty) != 1 || qty[0].String() != "20" {
		t.Errorf("invoice row: total %s name %s due %s qty %v", total, name, due, qty)
	}
	var delivered *time.Time
	if err := conn.QueryRow(ctx, "SELECT delivered_date FROM shipments FINAL").Scan(&delivered); err != nil || delivered == nil {
		t.Errorf("delivered_date %v %v", delivered, err)
	}

	// A newer version with another total replaces the row; an older one
	// written after it does not.
	for _, w := range []struct {
		version uint64
		minor   int64
	}{{4, 1200000}, {2, 5}} {
		inv := b.Items[0]
		body := *inv.Rec.Body.(*record.Invoice)
		body.Total.Minor = w.minor
		inv.Rec.Body, inv.Rec.Version = &body, w.version
		if err := sink.Write(ctx, &pipeline.Batch{Messages: b.Messages[:1], Items: []pipeline.Item{inv}}); err != nil {
			t.Fatal(err)
		}
	}
	var v, n uint64
	if err := conn.QueryRow(ctx, "SELECT any(version), any(total), count() FROM invoices FINAL").Scan(&v, &total, &n); err != nil {
		t.Fatal(err)
	}
	if v != 4 || n != 1 || total.String() != "12000" {
		t.Errorf("after versions 4 and 2: version %d total %s rows %d; want 4, 12000, 1", v, total, n)
	}
}

// TestSinkRefusesOnlyRecordsThatDoNotFit narrows a column so that some
// values no longer fit (as a schema change could): those records are
// dead-lettered as sink_refused, the rest of the batch lands, and the
// write succeeds instead of retrying forever.
func TestSinkRefusesOnlyRecordsThatDoNotFit(t *testing.T) {
	ctx := context.Background()
	conn := altered(t, "ALTER TABLE invoices MODIFY COLUMN total Decimal(9, 2)", "ALTER TABLE invoices_versions MODIFY COLUMN total Decimal(9, 2)")
	b := docBatch(t) // the invoice's total is 11300.00: fits Decimal(9,2)
	big := b.Items[0]
	body := *big.Rec.Body.(*record.Invoice)
	body.Total.Minor = 12345678900 // 123456789.00 does not fit Decimal(9,2)
	big.Rec.Body, big.Rec.ID = &body, "INV-BIG"
	b.Items = append(b.Items, big)
	n := len(b.Items)
	if err := clickhouse.NewSink(conn).Write(ctx, b); err != nil {
		t.Fatalf("write: %v", err)
	}
	if len(b.Items) != n-1 || len(b.Dead) != 1 || b.Dead[0].Reason != clickhouse.ReasonRefused || b.Dead[0].Stage != clickhouse.SinkStageName {
		t.Fatalf("items %d of %d, dead %+v", len(b.Items), n, b.Dead)
	}
	var rows uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM invoices FINAL").Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("invoices: %d rows (%v), want the one that fits", rows, err)
	}
	for _, table := range []string{"payments", "bank_txns", "approvals"} {
		if err := conn.QueryRow(ctx, "SELECT count() FROM "+table+" FINAL").Scan(&rows); err != nil || rows != 1 {
			t.Errorf("%s: %d rows (%v): the other kinds must land", table, rows, err)
		}
	}
}

// TestSinkRefusesEachValueTooLargeEvenIfAllAre: when every invoice of a
// batch has a total the narrowed column cannot hold, the client finds each
// value too large: each is that record's fault and dead-lettered, not a
// table that cannot take invoices at all (which would hold the batch for
// ever, as TestSinkRetriesATableThatDrifted's does).
func TestSinkRefusesEachValueTooLargeEvenIfAllAre(t *testing.T) {
	ctx := context.Background()
	conn := altered(t, "ALTER TABLE invoices MODIFY COLUMN total Decimal(9, 2)", "ALTER TABLE invoices_versions MODIFY COLUMN total Decimal(9, 2)")
	b := docBatch(t)
	first := b.Items[0]
	body := *first.Rec.Body.(*record.Invoice)
	body.Total.Minor = 12345678900 // 123456789.00 does not fit Decimal(9,2)
	b.Items[0].Rec.Body = &body
	second := b.Items[0]
	second.Rec.ID = "INV-BIG"
	b.Items = append(b.Items, second)
	n := len(b.Items)
	if err := clickhouse.NewSink(conn).Write(ctx, b); err != nil {
		t.Fatalf("write: %v", err)
	}
	if len(b.Items) != n-2 || len(b.Dead) != 2 || b.Dead[0].Reason != clickhouse.ReasonRefused || b.Dead[1].Reason != clickhouse.ReasonRefused {
		t.Fatalf("items %d of %d, dead %+v; want both invoices refused", len(b.Items), n, b.Dead)
	}
	var rows uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM invoices").Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("invoices: %d rows (%v), want none", rows, err)
	}
	if err := conn.QueryRow(ctx, "SELECT count() FROM payments FINAL").Scan(&rows); err != nil || rows != 1 {
		t.Errorf("payments: %d rows (%v): the other kinds must land", rows, err)
	}
}

// TestSinkRetriesATableThatDrifted changes a column's type so that no
// invoice fits: that is the table's fault, not the records', so the write
// fails (to be retried with offsets held) instead of dead-lettering them.
func TestSinkRetriesATableThatDrifted(t *testing.T) {
	ctx := context.Background()
	conn := altered(t, "ALTER TABLE invoices MODIFY COLUMN party_name UInt64", "ALTER TABLE invoices_versions MODIFY COLUMN party_name UInt64")
	b := docBatch(t)
	second := b.Items[0]
	second.Rec.ID = "INV-OTHER"
	b.Items = append(b.Items, second)
	err := clickhouse.NewSink(conn).Write(ctx, b)
	if err == nil || len(b.Dead) != 0 {
		t.Fatalf("write %v with %d dead letters; want an error and none", err, len(b.Dead))
	}
}

// altered is a connection to a fresh test database whose schema one ALTER
// has changed, as drift or a hand edit would.
// TestSinkLandsWithAColumnAddedByHand: a column someone adds to a
// canonical table does not stop the sink (which names its columns) nor the
// copy into the _versions table (whose view names its own).
func TestSinkLandsWithAColumnAddedByHand(t *testing.T) {
	ctx := context.Background()
	conn := altered(t, "ALTER TABLE invoices ADD COLUMN reviewed_by String")
	b := docBatch(t)
	if err := clickhouse.NewSink(conn).Write(ctx, b); err != nil {
		t.Fatalf("write: %v", err)
	}
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM invoices_versions").Scan(&n); err != nil || n != 1 {
		t.Fatalf("invoices_versions: %d rows (%v), want the invoice", n, err)
	}
}

// altered changes a table as a migration would, the table of its versions
// (migration 0008) with it.
func altered(t *testing.T, alters ...string) driver.Conn {
	t.Helper()
	cfg := chtest.Config(t)
	conn, err := clickhouse.Open(context.Background(), cfg, cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	for _, alter := range alters {
		if err := conn.Exec(context.Background(), alter); err != nil {
			t.Fatal(err)
		}
	}
	return conn
}

// TestSinkLandsLongTextExactly lands enough invoices that the sink sizes
// the string columns ahead (makeRoom) and reads every name and line
// description back as sent.
func TestSinkLandsLongTextExactly(t *testing.T) {
	ctx := context.Background()
	conn := altered(t)
	b := docBatch(t)
	inv := b.Items[0]
	if inv.Rec.Kind != record.KindInvoice {
		t.Fatalf("the first example is a %s, want an invoice", inv.Rec.Kind)
	}
	want := map[string][2]string{}
	batch := &pipeline.Batch{Messages: b.Messages[:1]}
	for i := range 600 {
		body := *inv.Rec.Body.(*record.Invoice)
		body.Party.Name = fmt.Sprintf("客户%d %s", i, strings.Repeat("有限公司", i%7))
		body.Lines = append([]record.Line(nil), body.Lines...)
		body.Lines[0].Description = strings.Repeat("x", i%31) + fmt.Sprint(i)
		it := inv
		it.Rec.ID = fmt.Sprintf("INV-LONG-%04d", i)
		it.Rec.Body = &body
		batch.Items = append(batch.Items, it)
		want[it.Rec.ID] = [2]string{body.Party.Name, body.Lines[0].Description}
	}
	if err := clickhouse.NewSink(conn).Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, "SELECT id, party_name, line_description[1] FROM invoices")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, name, desc string
		if err := rows.Scan(&id, &name, &desc); err != nil {
			t.Fatal(err)
		}
		n++
		if w := want[id]; w != [2]string{name, desc} {
			t.Errorf("%s: landed %q / %q, sent %q / %q", id, name, desc, w[0], w[1])
		}
	}
	if err := rows.Err(); err != nil || n != len(want) {
		t.Fatalf("read %d invoices (%v), landed %d", n, err, len(want))
	}
}

// TestSinkWritesBatchesTogether lands three batches in one group write:
// every record of each, and each batch's duplicates, one insert per table
// (each table's parts span one block number).
// A value that does not fit fails the group whole, dead-lettering nothing,
// and the batches written one by one then refuse only that record.
func TestSinkWritesBatchesTogether(t *testing.T) {
	ctx := context.Background()
	conn := altered(t, "ALTER TABLE invoices MODIFY COLUMN total Decimal(9, 2)", "ALTER TABLE invoices_versions MODIFY COLUMN total Decimal(9, 2)")
	sink := clickhouse.NewSink(conn)
	batches := func(suffix string) []*pipeline.Batch {
		var bs []*pipeline.Batch
		for g := 0; g < 3; g++ {
			b := docBatch(t)
			for i := range b.Items {
				b.Items[i].Rec.ID += fmt.Sprintf("-%s%d", suffix, g)
			}
			dup := b.Items[0]
			dup.Rec.Provenance.Offset = int64(1000 + g)
			b.Duplicates = append(b.Duplicates, dup)
			bs = append(bs, b)
		}
		return bs
	}
	count := func(table, like string) uint64 {
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM "+table+" FINAL WHERE id LIKE '"+like+"'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	bs := batches("a")
	if err := sink.WriteGroup(ctx, bs); err != nil {
		t.Fatal(err)
	}
	for _, table := range clickhouse.Tables {
		if n := count(table, "%-a_"); n != 3 {
			t.Errorf("%s: %d rows, want one from each of the 3 batches", table, n)
		}
	}
	if n := count("duplicates", "%-a_"); n != 3 {
		t.Errorf("duplicates: %d rows, want 3", n)
	}
	// One insert per table: every part of a table (merged or not) spans
	// the one block number that insert took.
	tables := []string{"duplicates"}
	for _, table := range clickhouse.Tables {
		tables = append(tables, table)
	}
	for _, table := range tables {
		var lo, hi int64
		if err := conn.QueryRow(ctx, "SELECT min(min_block_number), max(max_block_number) FROM system.parts WHERE database = currentDatabase() AND table = ? AND active", table).Scan(&lo, &hi); err != nil {
			t.Fatal(err)
		}
		if lo != hi {
			t.Errorf("%s: blocks %d to %d, want one insert for the three batches", table, lo, hi)
		}
	}

	bs = batches("b")
	body := *bs[1].Items[0].Rec.Body.(*record.Invoice)
	body.Total.Minor = 12345678900 // does not fit Decimal(9, 2)
	bs[1].Items[0].Rec.Body = &body
	if err := sink.WriteGroup(ctx, bs); err == nil {
		t.Fatal("a group with a value that does not fit was written")
	}
	for _, b := range bs {
		if len(b.Dead) != 0 || len(b.Items) != len(bs[0].Items) {
			t.Fatalf("a failed group write changed its batches: %d items, %d dead", len(b.Items), len(b.Dead))
		}
	}
	for _, b := range bs {
		if err := sink.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if len(bs[1].Dead) != 1 || bs[1].Dead[0].Reason != clickhouse.ReasonRefused || len(bs[0].Dead)+len(bs[2].Dead) != 0 {
		t.Fatalf("dead letters %d, %d, %d; want only the invoice that does not fit", len(bs[0].Dead), len(bs[1].Dead), len(bs[2].Dead))
	}
	if n := count("invoices", "%-b_"); n != 2 {
		t.Errorf("invoices: %d rows, want the 2 that fit", n)
	}
	if n := count("payments", "%-b_"); n != 3 {
		t.Errorf("payments: %d rows, want 3", n)
	}
}

// TestSinkSendsRowsInClickHousesKeyOrder: the sink sends each insert's rows
// in key order so that ClickHouse need not sort them. The order must be
// ClickHouse's own, bytes and all: case, a prefix, non-ASCII text, two
// versions of one id in different batches.
func TestSinkSendsRowsInClickHousesKeyOrder(t *testing.T) {
	ctx := context.Background()
	conn := altered(t)
	inv := docBatch(t).Items[0]
	var bs []*pipeline.Batch
	keys := []struct {
		company, source, id string
		version             uint64
	}{
		{"SH01", "erp", "b", 1}, {"SH01", "erp", "B", 1}, {"sh01", "erp", "a", 1}, {"SH0", "erp", "z", 1},
		{"SH01", "ERP", "a", 1}, {"SH01", "erp", "ab", 1}, {"SH01", "erp", "a", 1}, {"SH01", "erp", "中", 1},
		{"SH01", "erp", "é", 1}, {"SH01", "erp", "a", 7}, {"SH01", "erp", "Z", 1}, {"SH01", "erp", "a b", 1},
	}
	for g := 0; g < 2; g++ {
		b := &pipeline.Batch{}
		for i := g; i < len(keys); i += 2 {
			it := inv
			it.Rec.Company, it.Rec.Source, it.Rec.ID, it.Rec.Version = keys[i].company, keys[i].source, keys[i].id, keys[i].version
			b.Items = append(b.Items, it)
		}
		bs = append(bs, b)
	}
	ours := clickhouse.SentKeys(bs, record.KindInvoice)
	if err := clickhouse.NewSink(conn).WriteGroup(ctx, bs); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, "SELECT company, source, id, version FROM invoices_versions ORDER BY company, source, id, version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var theirs []string
	for rows.Next() {
		var c, s, id string
		var v uint64
		if err := rows.Scan(&c, &s, &id, &v); err != nil {
			t.Fatal(err)
		}
		theirs = append(theirs, fmt.Sprintf("%s|%s|%s|%d", c, s, id, v))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read the invoices back: %v", err)
	}
	if strings.Join(ours, "\n") != strings.Join(theirs, "\n") {
		t.Errorf("sent in this order:\n%s\nClickHouse orders them:\n%s", strings.Join(ours, "\n"), strings.Join(theirs, "\n"))
	}
}

// TestControlTotalsGainTheirDirection: a database from before migration
// 0012 keeps its control totals, as credit rows (which they were), and a
// debit row of the same day is a row of its own, not a newer version of
// the credit one. The table is put back in its old shape and the
// migrations run again whole, as after a crash before they were recorded.
func TestControlTotalsGainTheirDirection(t *testing.T) {
	cfg := chtest.Config(t)
	ctx := context.Background()
	conn, err := clickhouse.Open(ctx, cfg, cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, stmt := range []string{
		"DROP TABLE recon_control_totals",
		`CREATE TABLE recon_control_totals (company String, currency String, day Date, lines UInt32,
			lines_amount Decimal(38, 4), matched_amount Decimal(38, 4), review_amount Decimal(38, 4),
			unmatched_amount Decimal(38, 4), balanced UInt8, version UInt64
		) ENGINE = ReplacingMergeTree(version) ORDER BY (company, currency, day)`,
		"DROP TABLE schema_migrations",
	} {
		if err := conn.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	day := time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	oldShapeTotal(t, conn, day)
	if _, err := clickhouse.Migrate(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	debit, err := conn.PrepareBatch(ctx, "INSERT INTO recon_control_totals (company, direction, currency, day, lines, lines_amount, matched_amount, review_amount, unmatched_amount, balanced, version)")
	if err != nil {
		t.Fatal(err)
	}
	if err := debit.Append("SH01", "debit", "CNY", day, uint32(1), decimal.RequireFromString("5.00"), decimal.RequireFromString("5.00"),
		decimal.Zero, decimal.Zero, uint8(1), uint64(8)); err != nil {
		t.Fatal(err)
	}
	if err := debit.Send(); err != nil {
		t.Fatal(err)
	}
	got := controlTotals(t, conn, 2)
	if want := []string{`"credit" 2 30.0000`, `"debit" 1 5.0000`}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("control totals after the migration: %v, want %v", got, want)
	}
	// A crash before 0012 was recorded: it runs again over a row of the
	// old shape (a member not yet upgraded wrote it, or the delete had
	// not run), which becomes the credit row it was, once.
	oldShapeTotal(t, conn, day)
	if err := conn.Exec(ctx, "DROP TABLE schema_migrations"); err != nil {
		t.Fatal(err)
	}
	if _, err := clickhouse.Migrate(ctx, cfg); err != nil {
		t.Fatalf("0012 run again: %v", err)
	}
	got = controlTotals(t, conn, 2)
	if want := []string{`"credit" 2 30.0000`, `"debit" 1 5.0000`}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("control totals after 0012 ran again: %v, want %v", got, want)
	}
}

// oldShapeTotal writes a day's credit control totals as a member from
// before migration 0012 does: without a direction.
func oldShapeTotal(t *testing.T, conn driver.Conn, day time.Time) {
	t.Helper()
	b, err := conn.PrepareBatch(context.Background(), "INSERT INTO recon_control_totals (company, currency, day, lines, lines_amount, matched_amount, review_amount, unmatched_amount, balanced, version)")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Append("SH01", "CNY", day, uint32(2), decimal.RequireFromString("30.00"), decimal.RequireFromString("20.00"),
		decimal.Zero, decimal.RequireFromString("10.00"), uint8(1), uint64(7)); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
}

// controlTotals reads the control totals, direction, lines and amount,
// waiting up to 20 s for them to be n rows: 18.16 runs an ALTER's DELETE
// as a mutation after the ALTER has returned.
func controlTotals(t *testing.T, conn driver.Conn, n int) []string {
	t.Helper()
	ctx := context.Background()
	var got []string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		rows, err := conn.Query(ctx, "SELECT direction, lines, toString(lines_amount) FROM recon_control_totals FINAL ORDER BY direction")
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for rows.Next() {
			var dir, amount string
			var lines uint32
			if err := rows.Scan(&dir, &lines, &amount); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%q %d %s", dir, lines, amount))
		}
		rows.Close()
		if len(got) == n || time.Now().After(deadline) {
			return got
		}
	}
}

// TestOpenSpeaksTLSWhenConfigured: a configuration with TLS makes the
// connection start with a TLS handshake: the local server's plaintext
// native port answers it with something that is not TLS, and Open says
// so rather than talking plaintext.
func TestOpenSpeaksTLSWhenConfigured(t *testing.T) {
	cfg := chtest.Config(t)
	cfg.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := clickhouse.Open(ctx, cfg, cfg.Database)
	if err == nil {
		conn.Close()
		t.Fatal("a TLS connection to a plaintext port succeeded: TLS was not used")
	}
	if !strings.Contains(strings.ToLower(err.Error()), "tls") && !strings.Contains(err.Error(), "EOF") {
		t.Errorf("the failure is not TLS's: %v", err)
	}
	cfg.TLS = nil
	conn, err = clickhouse.Open(ctx, cfg, cfg.Database)
	if err != nil {
		t.Fatalf("plaintext as before: %v", err)
	}
	conn.Close()
}
