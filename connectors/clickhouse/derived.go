package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
)

// sendRows lands the rows stages derived, one insert per table, tables in
// the order they first appear. A table's rows are turned into columns
// first, so that they reach clickhouse-go as whole slices (and amounts and
// arrays in native form) rather than value by value through its row
// conversion; rows whose columns do not each hold one Go type go row by
// row as before.
func (s *Sink) sendRows(ctx context.Context, rows []pipeline.Row) error {
	var order []*pipeline.Table
	byTable := map[*pipeline.Table][]int{}
	for i := range rows {
		t := rows[i].Table
		if _, ok := byTable[t]; !ok {
			order = append(order, t)
		}
		byTable[t] = append(byTable[t], i)
	}
	for _, t := range order {
		idx := byTable[t]
		batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+t.Name+" ("+strings.Join(t.Columns, ", ")+")")
		if err != nil {
			return fmt.Errorf("insert %s: prepare: %w", t.Name, err)
		}
		chCols := batch.Columns()
		types := make([]string, len(chCols))
		for j, c := range chCols {
			types[j] = string(c.Type())
		}
		if cols, ok := derivedColumns(rows, idx, types); ok {
			sized := make([]column, len(cols))
			for j, c := range cols {
				sized[j] = column{t.Columns[j], c}
			}
			makeRoom(chCols, sized)
			for j, c := range cols {
				if nc, native := c.(nativeColumn); native && j < len(chCols) {
					err = fill(chCols[j], nc, len(idx))
				} else {
					err = batch.Column(j).Append(c)
				}
				if err != nil {
					batch.Abort()
					return fmt.Errorf("insert %s: column %s: %w", t.Name, t.Columns[j], err)
				}
			}
		} else {
			for _, i := range idx {
				if err := batch.Append(rowValues(rows[i].Values)...); err != nil {
					batch.Abort()
					return fmt.Errorf("insert %s: %w", t.Name, err)
				}
			}
		}
		if err := batch.Send(); err != nil {
			return fmt.Errorf("insert %s: %d rows: %w", t.Name, len(idx), err)
		}
	}
	return nil
}

// derivedColumns gives the rows idx as columns of the given ClickHouse
// types, each a slice of the Go type its first row holds, or false when
// some row holds another type there (or a type not known here). Amounts
// go to a Decimal(18, 4) column in native form and to any other as exact
// decimals.
func derivedColumns(rows []pipeline.Row, idx []int, types []string) ([]any, bool) {
	n := len(types)
	for _, i := range idx {
		if len(rows[i].Values) != n {
			return nil, false
		}
	}
	cols := make([]any, n)
	for j := range n {
		var c any
		ok := false
		switch rows[idx[0]].Values[j].(type) {
		case string:
			c, ok = gather[string](rows, idx, j)
		case uint8:
			c, ok = gather[uint8](rows, idx, j)
		case uint32:
			c, ok = gather[uint32](rows, idx, j)
		case uint64:
			c, ok = gather[uint64](rows, idx, j)
		case float64:
			c, ok = gather[float64](rows, idx, j)
		case time.Time:
			c, ok = gather[time.Time](rows, idx, j)
		case record.Money:
			if types[j] == decimalType {
				c, ok = gatherMoney(rows, idx, j)
			} else {
				c, ok = gatherDecimals(rows, idx, j)
			}
		case []string:
			c, ok = gatherStrings(rows, idx, j)
		case []uint8:
			c, ok = gatherBytes(rows, idx, j)
		}
		if !ok {
			return nil, false
		}
		cols[j] = c
	}
	return cols, true
}

func gather[T any](rows []pipeline.Row, idx []int, j int) ([]T, bool) {
	out := make([]T, len(idx))
	for k, i := range idx {
		v, ok := rows[i].Values[j].(T)
		if !ok {
			return nil, false
		}
		out[k] = v
	}
	return out, true
}

func gatherMoney(rows []pipeline.Row, idx []int, j int) (*decimalColumn, bool) {
	c := &decimalColumn{vals: make([]int64, 0, len(idx))}
	for _, i := range idx {
		m, ok := rows[i].Values[j].(record.Money)
		if !ok {
			return nil, false
		}
		c.add(m.Minor, m.Currency.Scale())
	}
	return c, true
}

func gatherDecimals(rows []pipeline.Row, idx []int, j int) ([]decimal.Decimal, bool) {
	out := make([]decimal.Decimal, len(idx))
	for k, i := range idx {
		m, ok := rows[i].Values[j].(record.Money)
		if !ok {
			return nil, false
		}
		out[k] = decimal.New(m.Minor, -int32(m.Currency.Scale()))
	}
	return out, true
}

func gatherStrings(rows []pipeline.Row, idx []int, j int) (*stringArrays, bool) {
	c := &stringArrays{newArrays[string](len(idx), 0)}
	return c, gatherArrays(rows, idx, j, &c.arrays)
}

func gatherBytes(rows []pipeline.Row, idx []int, j int) (*uint8Arrays, bool) {
	c := &uint8Arrays{newArrays[uint8](len(idx), 0)}
	return c, gatherArrays(rows, idx, j, &c.arrays)
}

func gatherArrays[T any](rows []pipeline.Row, idx []int, j int, c *arrays[T]) bool {
	for _, i := range idx {
		v, ok := rows[i].Values[j].([]T)
		if !ok {
			return false
		}
		c.vals = append(c.vals, v...)
		c.endRow()
	}
	return true
}

// rowValues gives a row's values as clickhouse-go takes them one by one:
// an amount as a decimal.
func rowValues(vals []any) []any {
	var out []any // a copy, made at the first amount: the row stays as the stage made it
	for j, v := range vals {
		if m, ok := v.(record.Money); ok {
			if out == nil {
				out = append([]any(nil), vals...)
			}
			out[j] = decimal.New(m.Minor, -int32(m.Currency.Scale()))
		}
	}
	if out == nil {
		return vals
	}
	return out
}
