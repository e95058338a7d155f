package clickhouse

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
)

// TestDerivedColumns checks which rows become columns, and as what: every
// type matching's rows hold takes the column path (amounts and arrays in
// native form), and a column holding two Go types, a row of another
// length or a type not known sends the table row by row.
func TestDerivedColumns(t *testing.T) {
	cny := record.MustCurrency("CNY")
	row := func(v ...any) pipeline.Row { return pipeline.Row{Values: v} }
	at := time.Unix(0, 0)
	good := []pipeline.Row{
		row("a", record.Money{Minor: 1, Currency: cny}, []string{"x"}, []uint8{1}, at, uint64(1), 0.5, uint8(1), uint32(1)),
		row("b", record.Money{Minor: 2, Currency: cny}, []string{}, []uint8{}, at, uint64(2), 1.0, uint8(0), uint32(2)),
	}
	types := []string{"String", "Decimal(18, 4)", "Array(String)", "Array(UInt8)", "DateTime", "UInt64", "Float64", "UInt8", "UInt32"}
	cols, ok := derivedColumns(good, []int{0, 1}, types)
	if !ok {
		t.Fatal("rows of one type a column went row by row")
	}
	want := "[]string *clickhouse.decimalColumn *clickhouse.stringArrays *clickhouse.uint8Arrays []time.Time []uint64 []float64 []uint8 []uint32"
	if got := fmt.Sprintf("%T", cols[0]) + fmt.Sprintf(" %T %T %T %T %T %T %T %T", cols[1:]...); got != want {
		t.Errorf("columns %s, want %s", got, want)
	}
	if d := cols[1].(*decimalColumn); len(d.vals) != 2 || d.vals[0] != 100 || d.vals[1] != 200 {
		t.Errorf("amounts %v, want [100 200] (0.01 and 0.02 at scale 4)", d.vals)
	}
	// Into a wider Decimal the amounts go as exact decimals, which
	// clickhouse-go scales itself.
	wide := append([]string(nil), types...)
	wide[1] = "Decimal(38, 4)"
	if cols, ok = derivedColumns(good, []int{0, 1}, wide); !ok {
		t.Fatal("rows for a Decimal(38, 4) column went row by row")
	}
	if d, isDec := cols[1].([]decimal.Decimal); !isDec || len(d) != 2 || d[0].String() != "0.01" || d[1].String() != "0.02" {
		t.Errorf("amounts for a Decimal(38, 4) column: %#v, want 0.01 and 0.02 as decimals", cols[1])
	}
	for name, rows := range map[string][]pipeline.Row{
		"two types":    {good[0], row("b", decimal.New(2, -2), []string{}, []uint8{}, at, uint64(2), 1.0, uint8(0), uint32(2))},
		"short row":    {good[0], row("b")},
		"type unknown": {row(int8(1), record.Money{}, []string{}, []uint8{}, at, uint64(1), 0.5, uint8(1), uint32(1))},
	} {
		idx := make([]int, len(rows))
		for i := range idx {
			idx[i] = i
		}
		if _, ok := derivedColumns(rows, idx, types); ok {
			t.Errorf("%s: took the column path", name)
		}
	}
}
