package clickhouse

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"sync"

	chproto "github.com/ClickHouse/ch-go/proto"
	chcolumn "github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/shopspring/decimal"
)

// Decimal and array columns reach clickhouse-go in ClickHouse's native
// form rather than as Go values. clickhouse-go converts every decimal
// through big.Int (about seven allocations a value) and walks an array
// column by reflection, boxing each element: together more than half of
// the objects a sink write allocated. A column of a fresh insert is filled
// instead through its Decode, the method clickhouse-go reads the server's
// blocks with, from the bytes the native protocol defines for its type, and
// the block then goes to the server like any other. A column whose type is
// not the one these bytes are for (a table that drifted from the
// migrations) is given the same values as Go values through Append, and
// takes or refuses them as clickhouse-go does; a value the Int64 of a
// Decimal(18, 4) cannot hold is refused before either.

// decimalType is the type of every money and quantity column.
const decimalType = "Decimal(18, 4)"

// nativeColumn is a column's values kept in the form its native bytes are
// made from.
type nativeColumn interface {
	// chType is the ClickHouse type the native bytes are for.
	chType() string
	// native appends the values in native form to dst, or says which value
	// the column type cannot hold.
	native(dst []byte) ([]byte, error)
	// values gives the same values as a slice clickhouse-go can Append.
	values() (any, error)
}

// decimalColumn holds Decimal(18, 4) values as ClickHouse stores them: the
// amount times 10^4 in an Int64.
type decimalColumn struct {
	vals []int64
	bad  error // the first value that does not fit
}

func (c *decimalColumn) data() any { return c }

func (c *decimalColumn) add(minor int64, scale uint8) {
	c.vals = addScaled(c.vals, &c.bad, minor, scale)
}

// addScaled appends minor·10^-scale at the columns' scale to vals, keeping
// in bad the first value that does not fit.
func addScaled(vals []int64, bad *error, minor int64, scale uint8) []int64 {
	v, err := scaleTo4(minor, scale)
	if err != nil && *bad == nil {
		*bad = err
	}
	return append(vals, v)
}

func (c *decimalColumn) chType() string { return decimalType }

func (c *decimalColumn) native(dst []byte) ([]byte, error) {
	if c.bad != nil {
		return dst, c.bad
	}
	return appendInt64s(dst, c.vals), nil
}

func (c *decimalColumn) values() (any, error) {
	if c.bad != nil {
		return nil, c.bad
	}
	return decimals(c.vals), nil
}

// arrays holds an array column: every row's values one after another, and
// where each row ends. That is also its native form: the rows' end offsets,
// then all of its elements.
type arrays[T any] struct {
	ends []uint64
	vals []T
}

func newArrays[T any](rows, vals int) arrays[T] {
	return arrays[T]{ends: make([]uint64, 0, rows), vals: make([]T, 0, vals)}
}

// endRow closes the row whose values were added since the last endRow.
func (c *arrays[T]) endRow() { c.ends = append(c.ends, uint64(len(c.vals))) }

// splitRows gives each row's values, as sub-slices of all.
func splitRows[T, E any](c *arrays[T], all []E) [][]E {
	out := make([][]E, len(c.ends))
	start := uint64(0)
	for i, end := range c.ends {
		out[i] = all[start:end:end]
		start = end
	}
	return out
}

// decimalArrays is an Array(Decimal(18, 4)) column.
type decimalArrays struct {
	arrays[int64]
	bad error
}

func (c *decimalArrays) data() any { return c }

func (c *decimalArrays) add(minor int64, scale uint8) {
	c.vals = addScaled(c.vals, &c.bad, minor, scale)
}

func (c *decimalArrays) chType() string { return "Array(" + decimalType + ")" }

func (c *decimalArrays) native(dst []byte) ([]byte, error) {
	if c.bad != nil {
		return dst, c.bad
	}
	return appendInt64s(appendUint64s(dst, c.ends), c.vals), nil
}

func (c *decimalArrays) values() (any, error) {
	if c.bad != nil {
		return nil, c.bad
	}
	return splitRows(&c.arrays, decimals(c.vals)), nil
}

// stringArrays is an Array(String) column.
type stringArrays struct{ arrays[string] }

func (c *stringArrays) data() any { return c }

func (c *stringArrays) chType() string { return "Array(String)" }

// A String is its length as an unsigned varint, then its bytes.
func (c *stringArrays) native(dst []byte) ([]byte, error) {
	return appendStrings(appendUint64s(dst, c.ends), c.vals), nil
}

func (c *stringArrays) values() (any, error) { return splitRows(&c.arrays, c.vals), nil }

// uint8Arrays is an Array(UInt8) column (flags, one a criterion).
type uint8Arrays struct{ arrays[uint8] }

func (c *uint8Arrays) chType() string { return "Array(UInt8)" }

func (c *uint8Arrays) native(dst []byte) ([]byte, error) {
	return append(appendUint64s(dst, c.ends), c.vals...), nil
}

func (c *uint8Arrays) values() (any, error) { return splitRows(&c.arrays, c.vals), nil }

func appendStrings(dst []byte, ss []string) []byte {
	for _, s := range ss {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	return dst
}

// nativeSize is how many bytes native will append, so that the buffer is
// made once.
func nativeSize(c nativeColumn) int {
	switch c := c.(type) {
	case *decimalColumn:
		return 8 * len(c.vals)
	case *decimalArrays:
		return 8 * (len(c.ends) + len(c.vals))
	case *uint8Arrays:
		return 8*len(c.ends) + len(c.vals)
	case *stringArrays:
		return 8*len(c.ends) + stringsSize(c.vals)
	}
	return 0
}

// fill puts c's rows into col, an empty column of a prepared insert. A
// value the column cannot hold is a *dataError; a *fillError means the
// native bytes did not make the rows they should, which is no record's
// fault.
func fill(col chcolumn.Interface, c nativeColumn, rows int) error {
	if string(col.Type()) != c.chType() || col.Rows() != 0 {
		v, err := c.values()
		if err != nil {
			return &dataError{err, false}
		}
		if _, err := col.Append(v); err != nil {
			return err
		}
		return nil
	}
	bp := buffers.Get().(*[]byte)
	defer buffers.Put(bp)
	if n := nativeSize(c); cap(*bp) < n {
		*bp = make([]byte, 0, n)
	}
	buf, err := c.native((*bp)[:0])
	if err != nil {
		return &dataError{err, false}
	}
	*bp = buf[:0] // Decode copies the values out
	rd := readers.Get().(*nativeReader)
	defer readers.Put(rd)
	rd.src.Reset(buf)
	rd.br.Reset(&rd.src)
	if err := col.Decode(chproto.NewReader(rd.br), rows); err != nil {
		return &fillError{fmt.Errorf("fill %s column from native form: %w", c.chType(), err)}
	}
	// Every byte read, and the rows asked for: fewer values than rows fail
	// above, more would otherwise go unnoticed.
	if col.Rows() != rows || rd.br.Buffered() != 0 || rd.src.Len() != 0 {
		return &fillError{fmt.Errorf("fill %s column from native form: %d rows of %d, %d of %d bytes left unread",
			c.chType(), col.Rows(), rows, rd.br.Buffered()+rd.src.Len(), len(buf))}
	}
	return nil
}

// fillError is a native fill that went wrong on our side.
type fillError struct{ err error }

func (e *fillError) Error() string { return e.err.Error() }
func (e *fillError) Unwrap() error { return e.err }

// buffers hold native bytes while a column decodes them.
var buffers = sync.Pool{New: func() any { return new([]byte) }}

// nativeReader is what a column decodes from: a buffered reader as large as
// the one proto.NewReader makes, which bufio then uses as it is instead of
// allocating another, over the native bytes.
type nativeReader struct {
	br  *bufio.Reader
	src bytes.Reader
}

var readers = sync.Pool{New: func() any { return &nativeReader{br: bufio.NewReaderSize(nil, 128<<10)} }}

func appendInt64s(dst []byte, vs []int64) []byte {
	for _, v := range vs {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(v))
	}
	return dst
}

func appendUint64s(dst []byte, vs []uint64) []byte {
	for _, v := range vs {
		dst = binary.LittleEndian.AppendUint64(dst, v)
	}
	return dst
}

func decimals(vs []int64) []decimal.Decimal {
	out := make([]decimal.Decimal, len(vs))
	for i, v := range vs {
		out[i] = decimal.New(v, -columnScale)
	}
	return out
}

// columnScale is the scale of every Decimal column (Decimal(18, 4)).
const columnScale = 4

// scaleTo4 gives minor·10^-scale times 10^4, as a Decimal(18, 4) column
// stores it in an Int64, or why the column cannot hold it exactly. Like
// clickhouse-go, which this replaces, it refuses what overflows the Int64
// and not what merely exceeds eighteen digits: a canonical amount is
// bounded well inside both (record.MaxMajor), and a sum matching derives
// from many of them is kept rather than holding the batch back.
func scaleTo4(minor int64, scale uint8) (int64, error) {
	if scale > columnScale {
		return 0, fmt.Errorf("%s has more than %d decimal places", decimal.New(minor, -int32(scale)), columnScale)
	}
	v := minor
	for range columnScale - scale {
		if v > math.MaxInt64/10 || v < math.MinInt64/10 {
			return 0, doesNotFit(minor, scale)
		}
		v *= 10
	}
	return v, nil
}

func doesNotFit(minor int64, scale uint8) error {
	return fmt.Errorf("%s does not fit %s", decimal.New(minor, -int32(scale)), decimalType)
}

func stringsSize(ss []string) int {
	n := 0
	for _, s := range ss {
		n += binary.MaxVarintLen64 + len(s)
	}
	return n
}
