package pipeline

import (
	"fmt"
	"reflect"
	"time"

	"github.com/erpflow/erpflow/pipeline/record"
)

// Table names a table of derived rows and its columns, in the order a row's
// values are appended.
type Table struct {
	Name    string
	Columns []string
}

// Rows are the rows stages derived for one table, held as columns: a stage
// appends a row's values in column order and ends the row. Each column
// holds one Go type, fixed by its first value: string, uint8, uint32,
// uint64, float64, time.Time, record.Money (which lands in a Decimal column
// at that column's scale), or an array of strings or of uint8. Nothing is
// boxed on the way: matching derives a row for every few records, and a
// row of fourteen values as []any was fifteen allocations.
type Rows struct {
	Table *Table
	cols  []any // each a *[]T or an *Array[T], T fixed by the first row
	n     int   // complete rows
	j     int   // the next column of the row being appended
	// room is how many rows a column is made with room for: columns grown
	// from nothing by append were twice or more the bytes they ended with,
	// and matching's rows were a third of what it allocated.
	room int
}

// Array is a column of arrays: the elements of every row one after the
// other, and where each row's end.
type Array[T any] struct {
	Vals []T
	Ends []uint64 // Ends[i] is len(Vals) after row i, as ClickHouse sends array offsets
}

// NewRows returns an empty set of rows for t.
func NewRows(t *Table) *Rows { return &Rows{Table: t, cols: make([]any, len(t.Columns))} }

// Derive returns the batch's rows for t, added the first time t is asked
// for, so that tables land in the order stages first derived rows for them.
func (b *Batch) Derive(t *Table) *Rows { return b.DeriveSized(t, 0) }

// DeriveSized is Derive for a stage that knows about how many rows of t a
// batch gets (the last batch's count, say): rows it adds make each column
// with room for n rows.
func (b *Batch) DeriveSized(t *Table, n int) *Rows {
	for _, r := range b.Rows {
		if r.Table == t {
			return r
		}
	}
	r := NewRows(t)
	r.room = n
	b.Rows = append(b.Rows, r)
	return r
}

// Len is the number of complete rows.
func (r *Rows) Len() int { return r.n }

// column gives the row's next column as a *C, made on first use. A value of
// another Go type than the column holds, or past the last column, is a bug
// in the stage deriving the rows, not bad input: it panics.
func column[C any](r *Rows) *C {
	if r.j >= len(r.cols) {
		panic(fmt.Sprintf("pipeline: a row of %s has more values than its %d columns", r.Table.Name, len(r.cols)))
	}
	c, ok := r.cols[r.j].(*C)
	if !ok {
		if r.cols[r.j] != nil {
			panic(fmt.Sprintf("pipeline: column %s.%s holds %T, not %T", r.Table.Name, r.Table.Columns[r.j], r.cols[r.j], c))
		}
		c = new(C)
		r.cols[r.j] = c
	}
	r.j++
	return c
}

func put[T any](r *Rows, v T) *Rows {
	c := column[[]T](r)
	if cap(*c) == 0 && r.room > 0 {
		*c = make([]T, 0, r.room)
	}
	*c = append(*c, v)
	return r
}

func putArray[T any](r *Rows, vs []T) *Rows {
	c := column[Array[T]](r)
	if cap(c.Ends) == 0 && r.room > 0 {
		c.Ends = make([]uint64, 0, r.room)
	}
	c.Vals = append(c.Vals, vs...)
	c.Ends = append(c.Ends, uint64(len(c.Vals)))
	return r
}

// Str appends a String value to the row.
func (r *Rows) Str(v string) *Rows { return put(r, v) }

// Uint8 appends a UInt8 value to the row.
func (r *Rows) Uint8(v uint8) *Rows { return put(r, v) }

// Uint32 appends a UInt32 value to the row.
func (r *Rows) Uint32(v uint32) *Rows { return put(r, v) }

// Uint64 appends a UInt64 value to the row.
func (r *Rows) Uint64(v uint64) *Rows { return put(r, v) }

// Float64 appends a Float64 value to the row.
func (r *Rows) Float64(v float64) *Rows { return put(r, v) }

// Time appends a DateTime (or Date) value to the row.
func (r *Rows) Time(v time.Time) *Rows { return put(r, v) }

// Money appends an amount for a Decimal column to the row.
func (r *Rows) Money(v record.Money) *Rows { return put(r, v) }

// Strs appends an Array(String) value to the row; vs is copied.
func (r *Rows) Strs(vs []string) *Rows { return putArray(r, vs) }

// Uint8s appends an Array(UInt8) value to the row; vs is copied.
func (r *Rows) Uint8s(vs []uint8) *Rows { return putArray(r, vs) }

// End completes the row; it panics unless every column got a value.
func (r *Rows) End() {
	if r.j != len(r.cols) {
		panic(fmt.Sprintf("pipeline: a row of %s has %d values for %d columns", r.Table.Name, r.j, len(r.cols)))
	}
	r.j = 0
	r.n++
}

// Column gives column j: a []T for the scalar types, an Array[T] for
// arrays, nil while there is no row.
func (r *Rows) Column(j int) any {
	switch c := r.cols[j].(type) {
	case *[]string:
		return *c
	case *[]uint8:
		return *c
	case *[]uint32:
		return *c
	case *[]uint64:
		return *c
	case *[]float64:
		return *c
	case *[]time.Time:
		return *c
	case *[]record.Money:
		return *c
	case *Array[string]:
		return *c
	case *Array[uint8]:
		return *c
	}
	return nil
}

// Value gives row i's value of column j (an array as a slice of it), for
// reading rows back one at a time, as tests and tools do.
func (r *Rows) Value(i, j int) any {
	switch c := r.Column(j).(type) {
	case []string:
		return c[i]
	case []uint8:
		return c[i]
	case []uint32:
		return c[i]
	case []uint64:
		return c[i]
	case []float64:
		return c[i]
	case []time.Time:
		return c[i]
	case []record.Money:
		return c[i]
	case Array[string]:
		return arrayRow(c, i)
	case Array[uint8]:
		return arrayRow(c, i)
	}
	return nil
}

func arrayRow[T any](c Array[T], i int) []T {
	start := uint64(0)
	if i > 0 {
		start = c.Ends[i-1]
	}
	return c.Vals[start:c.Ends[i]:c.Ends[i]]
}

// Reset empties r for reuse, keeping its columns' room. Old values are
// cleared, so that emptied columns keep nothing alive.
func (r *Rows) Reset() {
	for _, c := range r.cols {
		switch c := c.(type) {
		case *[]string:
			resetCol(c)
		case *[]uint8:
			resetCol(c)
		case *[]uint32:
			resetCol(c)
		case *[]uint64:
			resetCol(c)
		case *[]float64:
			resetCol(c)
		case *[]time.Time:
			resetCol(c)
		case *[]record.Money:
			resetCol(c)
		case *Array[string]:
			resetCol(&c.Vals)
			resetCol(&c.Ends)
		case *Array[uint8]:
			resetCol(&c.Vals)
			resetCol(&c.Ends)
		}
	}
	r.n, r.j = 0, 0
}

func resetCol[T any](c *[]T) {
	clear(*c)
	*c = (*c)[:0]
}

// AppendRows appends o's rows to r; both must be rows of one table with
// the same Go type in each column.
func (r *Rows) AppendRows(o *Rows) error {
	if r.Table != o.Table {
		return fmt.Errorf("rows of %s appended to rows of %s", o.Table.Name, r.Table.Name)
	}
	if r.j != 0 || o.j != 0 {
		return fmt.Errorf("rows of %s: a row is not ended", r.Table.Name)
	}
	// Every column is checked before any is touched: a refusal leaves r as
	// it was.
	for j, oc := range o.cols {
		if oc != nil && r.cols[j] != nil && reflect.TypeOf(oc) != reflect.TypeOf(r.cols[j]) {
			return fmt.Errorf("column %s.%s: %T appended to %T", r.Table.Name, r.Table.Columns[j], oc, r.cols[j])
		}
	}
	for j, oc := range o.cols {
		switch c := oc.(type) {
		case *[]string:
			appendCol(r, j, c)
		case *[]uint8:
			appendCol(r, j, c)
		case *[]uint32:
			appendCol(r, j, c)
		case *[]uint64:
			appendCol(r, j, c)
		case *[]float64:
			appendCol(r, j, c)
		case *[]time.Time:
			appendCol(r, j, c)
		case *[]record.Money:
			appendCol(r, j, c)
		case *Array[string]:
			appendArray(r, j, c)
		case *Array[uint8]:
			appendArray(r, j, c)
		}
	}
	r.n += o.n
	return nil
}

// into gives r's column j as a *C, made if r has none yet; the caller
// has checked that it holds C.
func into[C any](r *Rows, j int) *C {
	if c, ok := r.cols[j].(*C); ok {
		return c
	}
	c := new(C)
	r.cols[j] = c
	return c
}

func appendCol[T any](r *Rows, j int, src *[]T) {
	dst := into[[]T](r, j)
	if cap(*dst) == 0 && r.room > len(*src) {
		*dst = make([]T, 0, r.room)
	}
	*dst = append(*dst, *src...)
}

func appendArray[T any](r *Rows, j int, src *Array[T]) {
	dst := into[Array[T]](r, j)
	base := uint64(len(dst.Vals))
	dst.Vals = append(dst.Vals, src.Vals...)
	for _, e := range src.Ends {
		dst.Ends = append(dst.Ends, base+e)
	}
}
