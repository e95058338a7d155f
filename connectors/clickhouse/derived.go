package clickhouse

import (
	"context"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
)

// sendRows lands the rows stages derived, one insert per table, tables in
// the order they come. The stages hand them over as typed columns, which
// reach clickhouse-go as whole slices, amounts and arrays in native form.
func (s *Sink) sendRows(ctx context.Context, tables []*pipeline.Rows) error {
	for _, r := range tables {
		if r.Len() == 0 {
			continue
		}
		t := r.Table
		batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+t.Name+" ("+strings.Join(t.Columns, ", ")+")")
		if err != nil {
			return fmt.Errorf("insert %s: prepare: %w", t.Name, err)
		}
		chCols := batch.Columns()
		cols := make([]column, len(t.Columns))
		for j, name := range t.Columns {
			chType := ""
			if j < len(chCols) {
				chType = string(chCols[j].Type())
			}
			cols[j] = column{name, derivedColumn(r.Column(j), chType)}
		}
		makeRoom(chCols, cols)
		for j, c := range cols {
			if nc, native := c.data.(nativeColumn); native && j < len(chCols) {
				err = fill(chCols[j], nc, r.Len())
			} else {
				err = batch.Column(j).Append(c.data)
			}
			if err != nil {
				batch.Abort()
				return fmt.Errorf("insert %s: column %s: %w", t.Name, c.name, err)
			}
		}
		if err := batch.Send(); err != nil {
			return fmt.Errorf("insert %s: %d rows: %w", t.Name, r.Len(), err)
		}
	}
	return nil
}

// derivedColumn gives a column of derived rows in the form it goes to
// clickhouse-go in: amounts natively into a Decimal(18, 4) column and as
// exact decimals into any other (clickhouse-go scales those itself),
// arrays natively, everything else as the slice it is.
func derivedColumn(c any, chType string) any {
	switch c := c.(type) {
	case []record.Money:
		if chType == decimalType {
			d := &decimalColumn{vals: make([]int64, 0, len(c))}
			for _, m := range c {
				d.add(m.Minor, m.Currency.Scale())
			}
			return d
		}
		out := make([]decimal.Decimal, len(c))
		for i, m := range c {
			out[i] = decimal.New(m.Minor, -int32(m.Currency.Scale()))
		}
		return out
	case pipeline.Array[string]:
		return &stringArrays{arrays[string]{ends: c.Ends, vals: c.Vals}}
	case pipeline.Array[uint8]:
		return &uint8Arrays{arrays[uint8]{ends: c.Ends, vals: c.Vals}}
	}
	return c
}

// mergeRows puts the batches' derived rows of each table together, for one
// insert per table. A table only one batch has rows for keeps them as they
// are; the others get new rows, leaving every batch's own untouched, since
// a failed group write is followed by each batch written alone.
func mergeRows(bs []*pipeline.Batch) ([]*pipeline.Rows, error) {
	var out []*pipeline.Rows
	at := map[*pipeline.Table]int{}
	owned := map[*pipeline.Table]bool{}
	for _, b := range bs {
		for _, r := range b.Rows {
			i, seen := at[r.Table]
			if !seen {
				at[r.Table] = len(out)
				out = append(out, r)
				continue
			}
			if !owned[r.Table] {
				m := pipeline.NewRows(r.Table)
				if err := m.AppendRows(out[i]); err != nil {
					return nil, err
				}
				out[i], owned[r.Table] = m, true
			}
			if err := out[i].AppendRows(r); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
