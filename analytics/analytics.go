// Package analytics holds the named SQL that reports and boards run against
// ClickHouse, and runs it. Every query is a file in queries/, tested against
// rows with known answers.
package analytics

import (
	"context"
	"embed"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"
)

//go:embed queries/*.sql
var queries embed.FS

// Names lists the named queries.
func Names() []string {
	entries, _ := queries.ReadDir("queries")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".sql"))
	}
	sort.Strings(out)
	return out
}

// SQL returns a named query's text.
func SQL(name string) (string, error) {
	b, err := queries.ReadFile("queries/" + name + ".sql")
	if err != nil {
		return "", fmt.Errorf("no query named %q (have %s)", name, strings.Join(Names(), ", "))
	}
	return string(b), nil
}

// Table is a query result with every value rendered as text.
type Table struct {
	Columns []string
	Rows    [][]string
}

// Query runs a named query on conn (whose database holds erpflow's tables).
func Query(ctx context.Context, conn driver.Conn, name string) (*Table, error) {
	sql, err := SQL(name)
	if err != nil {
		return nil, err
	}
	t, err := QuerySQL(ctx, conn, sql)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", name, err)
	}
	return t, nil
}

// QuerySQL runs sql on conn and renders every value as text.
func QuerySQL(ctx context.Context, conn driver.Conn, sql string) (*Table, error) {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	t := &Table{Columns: rows.Columns()}
	for rows.Next() {
		dest := make([]any, len(types))
		for i, ct := range types {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		row := make([]string, len(dest))
		for i, d := range dest {
			row[i] = render(reflect.ValueOf(d).Elem().Interface())
		}
		t.Rows = append(t.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return t, nil
}

func render(v any) string {
	// A Nullable column scans into a pointer, nil for NULL.
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "NULL"
		}
		return render(rv.Elem().Interface())
	}
	switch x := v.(type) {
	case []string:
		return "[" + strings.Join(x, ", ") + "]"
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 {
			return x.Format("2006-01-02")
		}
		return x.UTC().Format(time.RFC3339)
	case decimal.Decimal:
		return x.StringFixed(2)
	}
	return fmt.Sprint(v)
}

// Write prints the table with aligned columns.
func (t *Table) Write(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.Columns, "\t"))
	for _, r := range t.Rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}
