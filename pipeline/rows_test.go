package pipeline

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/erpflow/erpflow/pipeline/record"
)

// TestRowsKeepEveryValue appends rows with a value of every type and reads
// each back, arrays included, in the order appended.
func TestRowsKeepEveryValue(t *testing.T) {
	tab := &Table{Name: "t", Columns: []string{"s", "u8", "u32", "u64", "f", "at", "m", "ss", "bs"}}
	cny := record.MustCurrency("CNY")
	at := time.Date(2025, 4, 16, 14, 30, 0, 0, time.UTC)
	want := [][]any{
		{"报销", uint8(1), uint32(2), uint64(3), 0.5, at, record.Money{Minor: 123450, Currency: cny}, []string{"x", "y"}, []uint8{1, 0}},
		{"", uint8(0), uint32(0), uint64(0), 0.0, time.Time{}, record.Money{}, []string{}, []uint8{}},
		{"c", uint8(255), uint32(7), uint64(1 << 63), -1.0, at, record.Money{Minor: -5, Currency: cny}, []string{""}, []uint8{9}},
	}
	b := &Batch{}
	for _, v := range want {
		b.Derive(tab).Str(v[0].(string)).Uint8(v[1].(uint8)).Uint32(v[2].(uint32)).Uint64(v[3].(uint64)).Float64(v[4].(float64)).
			Time(v[5].(time.Time)).Money(v[6].(record.Money)).Strs(v[7].([]string)).Uint8s(v[8].([]uint8)).End()
	}
	if len(b.Rows) != 1 || b.Rows[0].Len() != len(want) {
		t.Fatalf("%d tables, want 1 with %d rows", len(b.Rows), len(want))
	}
	for i, row := range want {
		for j, v := range row {
			if got := b.Rows[0].Value(i, j); !reflect.DeepEqual(got, v) {
				t.Errorf("row %d column %s: %#v, want %#v", i, tab.Columns[j], got, v)
			}
		}
	}
}

// TestRowsResetKeepsRoom: emptied rows take the same rows again without
// allocating, and hold only the new ones.
func TestRowsResetKeepsRoom(t *testing.T) {
	tab := &Table{Name: "t", Columns: []string{"s", "u8", "u32", "u64", "f", "at", "m", "ss", "bs"}}
	cny := record.MustCurrency("CNY")
	r := NewRows(tab)
	// Arrays of another length the second time, so that array ends left
	// over from the first would show.
	fill := func(tag string, arr []string) {
		for i := range 100 {
			r.Str(tag).Uint8(uint8(i)).Uint32(uint32(i)).Uint64(uint64(i)).Float64(float64(i)).Time(time.Unix(int64(i), 0)).
				Money(record.Money{Minor: int64(i), Currency: cny}).Strs(arr).Uint8s([]uint8{uint8(i)}).End()
		}
	}
	fill("old", []string{"old", "old", "old"})
	r.Reset()
	if r.Len() != 0 {
		t.Fatalf("%d rows after Reset", r.Len())
	}
	// The room kept holds no old value: emptied rows keep nothing alive.
	strs, arr := *r.cols[0].(*[]string), r.cols[7].(*Array[string]).Vals
	for _, v := range append(strs[:cap(strs)], arr[:cap(arr)]...) {
		if v != "" {
			t.Fatalf("an old value %q is still in the emptied rows' room", v)
		}
	}
	if n := testing.AllocsPerRun(10, func() { r.Reset(); fill("new", []string{"new", "new"}) }); n != 0 {
		t.Errorf("%.0f allocations refilling emptied rows, want 0", n)
	}
	if r.Len() != 100 {
		t.Fatalf("%d rows, want 100", r.Len())
	}
	for i := range 100 {
		if got := r.Value(i, 0); got != "new" {
			t.Fatalf("row %d: %v, want new", i, got)
		}
		if got := r.Value(i, 7); !reflect.DeepEqual(got, []string{"new", "new"}) {
			t.Fatalf("row %d array: %v", i, got)
		}
		if got := r.Value(i, 2); got != uint32(i) {
			t.Fatalf("row %d: %v, want %d", i, got, i)
		}
	}
}

// TestDeriveKeepsTablesInOrder: each table has one Rows, in the order
// stages first derived rows for it.
func TestDeriveKeepsTablesInOrder(t *testing.T) {
	a, c := &Table{Name: "a", Columns: []string{"x"}}, &Table{Name: "c", Columns: []string{"x"}}
	b := &Batch{}
	b.Derive(c).Str("1").End()
	b.Derive(a).Str("2").End()
	b.Derive(c).Str("3").End()
	if len(b.Rows) != 2 || b.Rows[0].Table != c || b.Rows[1].Table != a || b.Rows[0].Len() != 2 {
		t.Fatalf("tables %v", b.Rows)
	}
}

// TestRowsRefuseAMalformedRow: a stage that appends a value of the wrong
// type, too many values or too few has a bug, and hears of it at once.
func TestRowsRefuseAMalformedRow(t *testing.T) {
	tab := &Table{Name: "t", Columns: []string{"id", "n"}}
	cases := map[string]struct {
		f    func(r *Rows)
		want string
	}{
		"wrong type": {func(r *Rows) { r.Str("a").Uint32(1).End(); r.Str("b").Uint64(2) }, "column t.n holds *[]uint32, not *[]uint64"},
		"too many":   {func(r *Rows) { r.Str("a").Uint32(1).Str("c") }, "more values than its 2 columns"},
		"too few":    {func(r *Rows) { r.Str("a").End() }, "has 1 values for 2 columns"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), c.want) {
					t.Errorf("panic %v, want one saying %q", p, c.want)
				}
			}()
			c.f(NewRows(tab))
		})
	}
}

// TestAppendRows: rows of one table append, arrays' ends moved on; rows of
// another table, of another type in a column, or with a row not ended are
// refused with the table and column named.
func TestAppendRows(t *testing.T) {
	tab := &Table{Name: "t", Columns: []string{"id", "tags"}}
	r, o := NewRows(tab), NewRows(tab)
	r.Str("1").Strs([]string{"x"}).End()
	o.Str("2").Strs([]string{"y", "z"}).End()
	if err := r.AppendRows(o); err != nil {
		t.Fatal(err)
	}
	if r.Len() != 2 || fmt.Sprint(r.Value(1, 1), r.Column(1).(Array[string]).Ends) != "[y z] [1 3]" {
		t.Errorf("appended: %d rows, row 2 tags %v", r.Len(), r.Value(1, 1))
	}
	other := NewRows(&Table{Name: "u", Columns: tab.Columns})
	other.Str("3").Strs(nil).End()
	wrongType := NewRows(tab)
	wrongType.Str("4").Uint8s(nil).End()
	open := NewRows(tab)
	open.Str("5")
	for name, c := range map[string]struct {
		o    *Rows
		want string
	}{
		"other table": {other, "rows of u appended to rows of t"},
		"other type":  {wrongType, "column t.tags"},
		"open row":    {open, "a row is not ended"},
	} {
		if err := r.AppendRows(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, c.want)
		}
		if r.Len() != 2 || len(r.Column(0).([]string)) != 2 {
			t.Errorf("%s: the refused append left %d rows and %d ids, want 2", name, r.Len(), len(r.Column(0).([]string)))
		}
	}
}

// TestDeriveSizedMakesRoomOnce: rows derived with room for n take n rows of
// every column type, arrays' ends included, with one allocation a column,
// and hold what plain rows hold; rows merged into them keep the room too.
func TestDeriveSizedMakesRoomOnce(t *testing.T) {
	tab := &Table{Name: "t", Columns: []string{"s", "u8", "u32", "u64", "f", "at", "m", "ss", "bs"}}
	cny := record.MustCurrency("CNY")
	const n = 100
	fill := func(r *Rows) {
		for i := range n {
			r.Str(fmt.Sprint(i)).Uint8(uint8(i)).Uint32(uint32(i)).Uint64(uint64(i)).Float64(float64(i)).Time(time.Unix(int64(i), 0)).
				Money(record.Money{Minor: int64(i), Currency: cny}).Strs([]string{"a"}).Uint8s([]uint8{uint8(i)}).End()
		}
	}
	sized, plain := &Batch{}, &Batch{}
	fill(sized.DeriveSized(tab, n))
	fill(plain.Derive(tab))
	for j := range tab.Columns {
		if got, want := sized.Rows[0].Column(j), plain.Rows[0].Column(j); !reflect.DeepEqual(got, want) {
			t.Errorf("column %s: %v, want %v", tab.Columns[j], got, want)
		}
	}
	for j, c := range sized.Rows[0].cols {
		switch c := c.(type) {
		case *[]string:
			if cap(*c) != n {
				t.Errorf("column %s grew to %d, want room for %d made once", tab.Columns[j], cap(*c), n)
			}
		case *[]time.Time:
			if cap(*c) != n {
				t.Errorf("column %s grew to %d, want room for %d made once", tab.Columns[j], cap(*c), n)
			}
		case *Array[uint8]:
			if cap(c.Ends) != n {
				t.Errorf("column %s ends grew to %d, want room for %d made once", tab.Columns[j], cap(c.Ends), n)
			}
		}
	}
	merged := &Batch{}
	if err := merged.DeriveSized(tab, 2*n).AppendRows(plain.Rows[0]); err != nil {
		t.Fatal(err)
	}
	if c := merged.Rows[0].cols[0].(*[]string); cap(*c) != 2*n || len(*c) != n {
		t.Errorf("merged column: %d values in room for %d, want %d in %d", len(*c), cap(*c), n, 2*n)
	}
}
