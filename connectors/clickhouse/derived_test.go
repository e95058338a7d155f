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
// use, as columns, and reads each value back as sent (amounts as decimals:
// servers differ in how they print them); a table whose amount
// column holds two Go types goes row by row and lands the same.
func TestSinkLandsDerivedRows(t *testing.T) {
	ctx := context.Background()
	conn := altered(t)
	for _, name := range []string{"derived_columns", "derived_rows"} {
		if err := conn.Exec(ctx, "CREATE TABLE "+name+` (name String, amount Decimal(18, 4), tags Array(String),
			pass Array(UInt8), at DateTime, version UInt64, score Float64, flag UInt8, n UInt32) ENGINE = MergeTree ORDER BY name`); err != nil {
			t.Fatal(err)
		}
	}
	cols := []string{"name", "amount", "tags", "pass", "at", "version", "score", "flag", "n"}
	columns := &pipeline.Table{Name: "derived_columns", Columns: cols}
	rowwise := &pipeline.Table{Name: "derived_rows", Columns: cols}
	at := time.Date(2025, 4, 16, 14, 30, 0, 0, time.UTC)
	values := [][]any{
		{"a", record.Money{Minor: 123450, Currency: record.MustCurrency("CNY")}, []string{"x", "办公用品"}, []uint8{1, 0}, at, uint64(7), 0.5, uint8(1), uint32(3)},
		{"b", record.Money{Minor: -5, Currency: record.MustCurrency("USD")}, []string{}, []uint8{}, at.Add(time.Hour), uint64(8), 0.25, uint8(0), uint32(0)},
		{"c", record.Money{Minor: 7, Currency: record.MustCurrency("JPY")}, []string{""}, []uint8{0}, at, uint64(9), 1.0, uint8(1), uint32(1)},
	}
	b := &pipeline.Batch{}
	for i, v := range values {
		b.Rows = append(b.Rows, pipeline.Row{Table: columns, Values: v})
		w := append([]any(nil), v...)
		if i == 2 {
			w[1] = decimal.New(7, 0) // a decimal among amounts: the rows go one by one
		}
		b.Rows = append(b.Rows, pipeline.Row{Table: rowwise, Values: w})
	}
	if err := clickhouse.NewSink(conn).Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`a 1234.5 ["x" "办公用品"] [1 0] 2025-04-16T14:30:00Z 7 0.5 1 3`,
		`b -0.05 [] [] 2025-04-16T15:30:00Z 8 0.25 0 0`,
		`c 7 [""] [0] 2025-04-16T14:30:00Z 9 1 1 1`,
	}
	for _, table := range []string{"derived_columns", "derived_rows"} {
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
	b := &pipeline.Batch{Rows: []pipeline.Row{{Table: match.TotalsTable, Values: []any{"SH01", "CNY",
		time.Date(2025, 4, 16, 0, 0, 0, 0, time.UTC), uint32(10), sum, zero, zero, sum, uint8(1), uint64(1)}}}}
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
