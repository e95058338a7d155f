package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/erpflow/erpflow/pipeline/record"
)

// Landed calls f with the newest landed version of each record ingested
// since since, newest records first, at most limit per kind. The dedupe
// stage seeds its memory from it after a restart: ClickHouse holds only
// what the sink acknowledged, so nothing unlanded is ever taken as seen.
func Landed(ctx context.Context, conn driver.Conn, since time.Time, limit int,
	f func(k record.Kind, company, source, id string, version uint64, sha256hex string)) (int, error) {
	n := 0
	for _, k := range record.Kinds {
		q := fmt.Sprintf(`SELECT company, source, id, max(version), argMax(raw_sha256, version)
			FROM %s WHERE ingest_time >= toDateTime('%s', 'UTC')
			GROUP BY company, source, id ORDER BY max(ingest_time) DESC LIMIT %d`,
			Tables[k], since.UTC().Format("2006-01-02 15:04:05"), limit)
		rows, err := conn.Query(ctx, q)
		if err != nil {
			return n, fmt.Errorf("read landed %s: %w", Tables[k], err)
		}
		for rows.Next() {
			var company, source, id, sha string
			var version uint64
			if err := rows.Scan(&company, &source, &id, &version, &sha); err != nil {
				rows.Close()
				return n, fmt.Errorf("read landed %s: %w", Tables[k], err)
			}
			f(k, company, source, id, version, sha)
			n++
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return n, fmt.Errorf("read landed %s: %w", Tables[k], err)
		}
	}
	return n, nil
}
