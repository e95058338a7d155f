package clickhouse

import (
	"bytes"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"

	chproto "github.com/ClickHouse/ch-go/proto"
	chcolumn "github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

// TestScaleTo4 checks that an amount brought to the columns' scale keeps
// its value exactly, and that one the column cannot hold is refused with
// the amount named rather than rounded or wrapped.
func TestScaleTo4(t *testing.T) {
	for _, tc := range []struct {
		minor int64
		scale uint8
		want  int64
		err   string
	}{
		{123450, 2, 12345000, ""},
		{-5, 2, -500, ""},
		{7, 0, 70000, ""},
		{1234, 3, 12340, ""},
		{12345, 4, 12345, ""},
		{999_999_999_999_999_999, 4, 999_999_999_999_999_999, ""}, // eighteen digits
		{math.MaxInt64, 4, math.MaxInt64, ""},                     // beyond them, as clickhouse-go took it
		{math.MaxInt64 / 10, 3, math.MaxInt64 / 10 * 10, ""},
		{math.MinInt64 / 10, 3, math.MinInt64 / 10 * 10, ""},
		{math.MaxInt64/10 + 1, 3, 0, "922337203685477.581 does not fit Decimal(18, 4)"}, // would wrap the Int64
		{math.MaxInt64 / 10, 2, 0, "9223372036854775.8 does not fit"},
		{math.MinInt64, 0, 0, "-9223372036854775808 does not fit"},
		{123456, 6, 0, "0.123456 has more than 4 decimal places"},
	} {
		got, err := scaleTo4(tc.minor, tc.scale)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("scaleTo4(%d, %d) = %d, %v; want %d", tc.minor, tc.scale, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("scaleTo4(%d, %d) = %d, %v; want an error containing %q", tc.minor, tc.scale, got, err, tc.err)
		}
	}
}

// nativeCases are columns as the sink fills them: negative and zero
// amounts, empty arrays, text needing a two-byte length, Chinese text.
func nativeCases() map[string]nativeColumn {
	dec := &decimalColumn{}
	for _, m := range []struct {
		minor int64
		scale uint8
	}{{123450, 2}, {-5, 2}, {0, 0}, {7, 0}, {1234, 3}, {999_999_999_999_999_999, 4}, {math.MinInt64, 4}} {
		dec.add(m.minor, m.scale)
	}
	decs := &decimalArrays{}
	decs.endRow() // no lines
	decs.add(15000, 4)
	decs.add(-123, 2)
	decs.endRow()
	decs.add(1, 0)
	decs.endRow()
	decs.endRow()
	strs := &stringArrays{}
	strs.endRow()
	strs.vals = append(strs.vals, "SKU-1", "", "办公用品 A4 纸", strings.Repeat("长", 200))
	strs.endRow()
	strs.vals = append(strs.vals, "x")
	strs.endRow()
	flags := &uint8Arrays{}
	flags.vals = append(flags.vals, 1, 0, 1)
	flags.endRow()
	flags.endRow()
	flags.vals = append(flags.vals, 0)
	flags.endRow()
	return map[string]nativeColumn{"decimals": dec, "decimal arrays": decs, "string arrays": strs, "uint8 arrays": flags}
}

// TestFillEncodesAsAppend holds the native form to what clickhouse-go
// sends for the same values given as Go values: the two columns must
// encode to the same bytes for the server.
func TestFillEncodesAsAppend(t *testing.T) {
	for name, c := range nativeCases() {
		t.Run(name, func(t *testing.T) {
			rows := rowsOf(c)
			native, viaAppend := newColumn(t, c.chType()), newColumn(t, c.chType())
			if err := fill(native, c, rows); err != nil {
				t.Fatal(err)
			}
			// The pooled buffer and reader go on to other columns: what
			// this one holds must be its own copy.
			for _, other := range nativeCases() {
				if err := fill(newColumn(t, other.chType()), other, rowsOf(other)); err != nil {
					t.Fatal(err)
				}
			}
			v, err := c.values()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := viaAppend.Append(v); err != nil {
				t.Fatal(err)
			}
			if native.Rows() != rows || viaAppend.Rows() != rows {
				t.Fatalf("rows: native %d, append %d, want %d", native.Rows(), viaAppend.Rows(), rows)
			}
			var a, b chproto.Buffer
			native.Encode(&a)
			viaAppend.Encode(&b)
			if !bytes.Equal(a.Buf, b.Buf) {
				t.Errorf("native form encodes to\n%x\nclickhouse-go's Append to\n%x", a.Buf, b.Buf)
			}
		})
	}
}

// TestFillOtherTypes checks that a column whose type is not the one the
// native bytes are for gets the values through Append: an amount column
// someone made Decimal(18, 2) still receives 1234.50, and a String column
// given arrays refuses them as clickhouse-go would.
func TestFillOtherTypes(t *testing.T) {
	c := &decimalColumn{}
	c.add(123450, 2)
	col := newColumn(t, "Decimal(18, 2)")
	if err := fill(col, c, 1); err != nil {
		t.Fatal(err)
	}
	if got := col.Row(0, false); got.(interface{ String() string }).String() != "1234.5" {
		t.Errorf("Decimal(18, 2) got %v, want 1234.5", got)
	}
	var conv *chcolumn.ColumnConverterError
	if err := fill(newColumn(t, "String"), &stringArrays{arrays[string]{ends: []uint64{0}}}, 1); !errors.As(err, &conv) {
		t.Errorf("arrays into a String column: %v, want clickhouse-go's conversion error", err)
	}
}

// TestFillRefusesWhatDoesNotFit checks that a value the column cannot hold
// makes the insert's data error, naming the value, on both paths.
func TestFillRefusesWhatDoesNotFit(t *testing.T) {
	for _, typ := range []string{decimalType, "Decimal(18, 2)"} {
		c := &decimalColumn{}
		c.add(5, 2)
		c.add(math.MaxInt64/10, 2)
		err := fill(newColumn(t, typ), c, 2)
		var de *dataError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), "9223372036854775.8 does not fit") {
			t.Errorf("%s: %v, want a data error naming 9223372036854775.8", typ, err)
		}
	}
}

func rowsOf(c nativeColumn) int {
	switch c := c.(type) {
	case *decimalColumn:
		return len(c.vals)
	case *decimalArrays:
		return len(c.ends)
	case *stringArrays:
		return len(c.ends)
	case *uint8Arrays:
		return len(c.ends)
	}
	return 0
}

func newColumn(t *testing.T, typ string) chcolumn.Interface {
	t.Helper()
	col, err := chcolumn.Type(typ).Column("c", &chcolumn.ServerContext{})
	if err != nil {
		t.Fatal(err)
	}
	return col
}

// TestFillCountsRows checks that native bytes making more or fewer rows
// than the insert has are an error of ours, not the data's: no record is
// refused for it.
func TestFillCountsRows(t *testing.T) {
	for _, rows := range []int{2, 4} {
		c := &decimalColumn{}
		for i := range 3 {
			c.add(int64(i), 2)
		}
		err := fill(newColumn(t, decimalType), c, rows)
		var fe *fillError
		var de *dataError
		if !errors.As(err, &fe) || errors.As(err, &de) {
			t.Errorf("3 values filled as %d rows: %v, want a fill error and no data error", rows, err)
		}
	}
}

// TestMakeRoomSizesStringColumns: after makeRoom, a String column takes
// all its values without growing (its text and its row positions were
// made at their size), and gives every value back as appended.
func TestMakeRoomSizesStringColumns(t *testing.T) {
	vals := make([]string, 5000)
	for i := range vals {
		vals[i] = strings.Repeat("x", i%7) + "单据" + strings.Repeat("y", i%3)
	}
	col, err := chcolumn.Type("String").Column("c", &chcolumn.ServerContext{})
	if err != nil {
		t.Fatal(err)
	}
	makeRoom([]chcolumn.Interface{col}, []column{{"c", vals}})
	if col.Rows() != 0 {
		t.Fatalf("makeRoom left %d rows", col.Rows())
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := col.Append(vals); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	// Append's own bookkeeping (a nulls slice) may allocate; a column
	// growing step by step allocates a dozen times or more.
	if n := after.Mallocs - before.Mallocs; n > 2 {
		t.Errorf("appending 5,000 values to a sized column allocated %d times", n)
	}
	if col.Rows() != len(vals) {
		t.Fatalf("%d rows, want %d", col.Rows(), len(vals))
	}
	for i, v := range vals {
		if got := col.Row(i, false).(string); got != v {
			t.Fatalf("row %d: %q, want %q", i, got, v)
		}
	}
	// What goes to the server is what a column never sized sends.
	fresh, err := chcolumn.Type("String").Column("c", &chcolumn.ServerContext{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Append(vals); err != nil {
		t.Fatal(err)
	}
	var got, want chproto.Buffer
	col.Encode(&got)
	fresh.Encode(&want)
	if !bytes.Equal(got.Buf, want.Buf) {
		t.Errorf("a sized column encodes %d bytes unlike a fresh one's %d", len(got.Buf), len(want.Buf))
	}
}
