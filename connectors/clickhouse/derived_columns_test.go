package clickhouse

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
)

// TestDerivedColumn checks the form each column of derived rows goes to
// clickhouse-go in: amounts and arrays native, amounts for a wider Decimal
// as exact decimals, the rest as the slices the stage filled.
func TestDerivedColumn(t *testing.T) {
	cny := record.MustCurrency("CNY")
	cols := []string{"s", "m", "tags", "pass", "at", "v", "f", "u8", "u32"}
	rows := pipeline.NewRows(&pipeline.Table{Name: "t", Columns: cols})
	at := time.Unix(0, 0)
	rows.Str("a").Money(record.Money{Minor: 1, Currency: cny}).Strs([]string{"x"}).Uint8s([]uint8{1}).Time(at).Uint64(1).
		Float64(0.5).Uint8(1).Uint32(1).End()
	rows.Str("b").Money(record.Money{Minor: 2, Currency: cny}).Strs(nil).Uint8s(nil).Time(at).Uint64(2).
		Float64(1).Uint8(0).Uint32(2).End()
	types := []string{"String", "Decimal(18, 4)", "Array(String)", "Array(UInt8)", "DateTime", "UInt64", "Float64", "UInt8", "UInt32"}
	got := ""
	for j := range cols {
		got += fmt.Sprintf(" %T", derivedColumn(rows.Column(j), types[j]))
	}
	want := " []string *clickhouse.decimalColumn *clickhouse.stringArrays *clickhouse.uint8Arrays []time.Time []uint64 []float64 []uint8 []uint32"
	if got != want {
		t.Errorf("columns%s, want%s", got, want)
	}
	if d := derivedColumn(rows.Column(1), types[1]).(*decimalColumn); len(d.vals) != 2 || d.vals[0] != 100 || d.vals[1] != 200 {
		t.Errorf("amounts %v, want [100 200] (0.01 and 0.02 at scale 4)", d.vals)
	}
	if a := derivedColumn(rows.Column(2), types[2]).(*stringArrays); fmt.Sprint(a.ends, a.vals) != "[1 1] [x]" {
		t.Errorf("tags: ends %v, values %v; want [1 1] and [x]", a.ends, a.vals)
	}
	// Into a wider Decimal the amounts go as exact decimals, which
	// clickhouse-go scales itself.
	d, isDec := derivedColumn(rows.Column(1), "Decimal(38, 4)").([]decimal.Decimal)
	if !isDec || len(d) != 2 || d[0].String() != "0.01" || d[1].String() != "0.02" {
		t.Errorf("amounts for a Decimal(38, 4) column: %#v, want 0.01 and 0.02 as decimals", d)
	}
}

// TestMergeRows: rows of a table from several batches become one set, the
// arrays' row ends moved past the rows before; a table only one batch has
// rows for is passed on as it is, and no batch's own rows change.
func TestMergeRows(t *testing.T) {
	a := &pipeline.Table{Name: "a", Columns: []string{"id", "tags"}}
	b := &pipeline.Table{Name: "b", Columns: []string{"id"}}
	b1, b2, b3 := &pipeline.Batch{}, &pipeline.Batch{}, &pipeline.Batch{}
	b1.Derive(a).Str("1").Strs([]string{"x", "y"}).End()
	b1.Derive(b).Str("only").End()
	b3.Derive(a).Str("2").Strs([]string{"z"}).End()
	b3.Derive(a).Str("3").Strs(nil).End()
	merged, err := mergeRows([]*pipeline.Batch{b1, b2, b3})
	if err != nil {
		t.Fatal(err)
	}
	if len(merged) != 2 || merged[0].Table != a || merged[1].Table != b {
		t.Fatalf("merged %d tables, want a then b", len(merged))
	}
	if merged[1] != b1.Rows[1] {
		t.Error("rows of a table only one batch has were copied")
	}
	tags := merged[0].Column(1).(pipeline.Array[string])
	if ids := merged[0].Column(0).([]string); fmt.Sprint(ids, tags.Vals, tags.Ends) != "[1 2 3] [x y z] [2 3 3]" {
		t.Errorf("merged ids %v, tags %v ending at %v; want [1 2 3], [x y z], [2 3 3]", ids, tags.Vals, tags.Ends)
	}
	own := func(r *pipeline.Rows) string {
		tags := r.Column(1).(pipeline.Array[string])
		return fmt.Sprint(r.Len(), r.Column(0), tags.Vals, tags.Ends)
	}
	if got := own(b1.Rows[0]) + " / " + own(b3.Rows[0]); got != "1 [1] [x y] [2] / 2 [2 3] [z] [1 1]" {
		t.Errorf("the batches' own rows changed: %s", got)
	}
}
