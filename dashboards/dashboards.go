// Package dashboards holds erpflow's Grafana boards and their provisioning,
// and reads the SQL of the boards that query ClickHouse, so that tests can
// run it against a real server.
package dashboards

import (
	"embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

//go:embed *.json
var boards embed.FS

// ClickHouseDatasource is the Grafana plugin the finance board reads
// ClickHouse through.
const ClickHouseDatasource = "grafana-clickhouse-datasource"

// SQLPanel is one ClickHouse panel of a board.
type SQLPanel struct {
	Board, Title string
	SQL          string
	// Query names the analytics query (analytics/queries/<Query>.sql)
	// the panel shows, when its description says so; its SQL must be
	// that file's.
	Query string
}

var namedQuery = regexp.MustCompile(`analytics/queries/([a-z0-9_]+)\.sql`)

// SQLPanels lists every ClickHouse panel of every board, in file order.
func SQLPanels() ([]SQLPanel, error) {
	entries, err := boards.ReadDir(".")
	if err != nil {
		return nil, err
	}
	var out []SQLPanel
	for _, e := range entries {
		raw, err := boards.ReadFile(e.Name())
		if err != nil {
			return nil, err
		}
		var b struct {
			Panels []struct {
				Title       string `json:"title"`
				Description string `json:"description"`
				Datasource  struct {
					Type string `json:"type"`
				} `json:"datasource"`
				Targets []struct {
					RawSQL string `json:"rawSql"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		for _, p := range b.Panels {
			if p.Datasource.Type != ClickHouseDatasource {
				continue
			}
			var query string
			if m := namedQuery.FindStringSubmatch(p.Description); m != nil {
				query = m[1]
			}
			for _, t := range p.Targets {
				out = append(out, SQLPanel{Board: strings.TrimSuffix(e.Name(), ".json"), Title: p.Title, SQL: t.RawSQL, Query: query})
			}
		}
	}
	return out, nil
}
