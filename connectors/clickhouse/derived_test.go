package clickhouse_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/erpflow/erpflow/connectors/clickhouse"
	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
	"github.com/erpflow/erpflow/transforms/match"
)

// TestSinkLandsDerivedRows lands derived rows of every Go type the stages
// use and reads each value back as sent (amounts as decimals: servers
// differ in how they print them): once from one batch, and once from two
// batches written together, whose rows merge into one insert while each
// batch keeps its own (the group may fail and each be written alone).
func TestSinkLandsDerivedRows(t *testing.T) {
	ctx := context.Background()
	conn := altered(t)
	for _, name := range []string{"derived_one", "derived_group"} {
		if err := conn.Exec(ctx, "CREATE TABLE "+name+` (name String, amount Decimal(18, 4), tags Array(String),
			pass Array(UInt8), at DateTime, version UInt64, score Float64, flag UInt8, n UInt32) ENGINE = MergeTree ORDER BY name`); err != nil {
			t.Fatal(err)
		}
	}
	cols := []string{"name", "amount", "tags", "pass", "at", "version", "score", "flag", "n"}
	one := &pipeline.Table{Name: "derived_one", Columns: cols}
	group := &pipeline.Table{Name: "derived_group", Columns: cols}
	at := time.Date(2025, 4, 16, 14, 30, 0, 0, time.UTC)
	add := func(b *pipeline.Batch, t *pipeline.Table, name string, m record.Money, tags []string, pass []uint8, at time.Time,
		version uint64, score float64, flag uint8, n uint32) {
		b.Derive(t).Str(name).Money(m).Strs(tags).Uint8s(pass).Time(at).Uint64(version).Float64(score).Uint8(flag).Uint32(n).End()
	}
	rows := func(b1, b2 *pipeline.Batch, t *pipeline.Table) {
		add(b1, t, "a", record.Money{Minor: 123450, Currency: record.MustCurrency("CNY")}, []string{"x", "办公用品"}, []uint8{1, 0}, at, 7, 0.5, 1, 3)
		add(b1, t, "b", record.Money{Minor: -5, Currency: record.MustCurrency("USD")}, []string{}, []uint8{}, at.Add(time.Hour), 8, 0.25, 0, 0)
		add(b2, t, "c", record.Money{Minor: 7, Currency: record.MustCurrency("JPY")}, []string{""}, []uint8{0}, at, 9, 1.0, 1, 1)
	}
	single := &pipeline.Batch{}
	rows(single, single, one)
	sink := clickhouse.NewSink(conn)
	if err := sink.Write(ctx, single); err != nil {
		t.Fatal(err)
	}
	g1, g2 := &pipeline.Batch{}, &pipeline.Batch{}
	rows(g1, g2, group)
	if err := sink.WriteGroup(ctx, []*pipeline.Batch{g1, g2}); err != nil {
		t.Fatal(err)
	}
	if g1.Rows[0].Len() != 2 || g2.Rows[0].Len() != 1 {
		t.Errorf("the group write changed its batches' rows: %d and %d, want 2 and 1", g1.Rows[0].Len(), g2.Rows[0].Len())
	}
	want := []string{
		`a 1234.5 ["x" "办公用品"] [1 0] 2025-04-16T14:30:00Z 7 0.5 1 3`,
		`b -0.05 [] [] 2025-04-16T15:30:00Z 8 0.25 0 0`,
		`c 7 [""] [0] 2025-04-16T14:30:00Z 9 1 1 1`,
	}
	for _, table := range []string{"derived_one", "derived_group"} {
		rows, err := conn.Query(ctx, "SELECT name, amount, tags, pass, at, version, score, flag, n FROM "+table+" ORDER BY name")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var (
				name    string
				amount  decimal.Decimal
				tags    []string
				pass    []uint8
				when    time.Time
				version uint64
				score   float64
				flag    uint8
				n       uint32
			)
			if err := rows.Scan(&name, &amount, &tags, &pass, &when, &version, &score, &flag, &n); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmtRow(name, amount.String(), tags, pass, when.UTC().Format(time.RFC3339), version, score, flag, n))
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("read %s back: %v", table, err)
		}
		rows.Close()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", table, got, want)
		}
	}
}

func fmtRow(name, amount string, tags []string, pass []uint8, at string, version uint64, score float64, flag uint8, n uint32) string {
	return fmt.Sprintf("%s %s %q %v %s %d %v %d %d", name, amount, tags, pass, at, version, score, flag, n)
}

// TestSinkLandsControlTotalsPastDecimal18 lands a day's control totals
// larger than a Decimal(18, 4) holds, as ten bank lines of the largest
// amount a record may carry add up to: the row lands exactly instead of
// holding its batch back for ever.
func TestSinkLandsControlTotalsPastDecimal18(t *testing.T) {
	ctx := context.Background()
	conn := altered(t)
	cny := record.MustCurrency("CNY")
	line := int64(record.MaxMajor*100 - 1) // 99,999,999,999,999.99
	sum := record.Money{Minor: 10 * line, Currency: cny}
	zero := record.Money{Currency: cny}
	b := &pipeline.Batch{}
	b.Derive(match.TotalsTable).Str("SH01").Str("credit").Str("CNY").Time(time.Date(2025, 4, 16, 0, 0, 0, 0, time.UTC)).Uint32(10).
		Money(sum).Money(zero).Money(zero).Money(sum).Uint8(1).Uint64(1).End()
	if err := clickhouse.NewSink(conn).Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	var lines, unmatched decimal.Decimal
	if err := conn.QueryRow(ctx, "SELECT lines_amount, unmatched_amount FROM recon_control_totals").Scan(&lines, &unmatched); err != nil {
		t.Fatal(err)
	}
	if want := "999999999999999.9"; lines.String() != want || unmatched.String() != want {
		t.Errorf("totals landed as %s and %s, want %s", lines, unmatched, want)
	}
}
