package clickhouse

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/erpflow/erpflow/pipeline/record"
)

// Landed calls f with the newest landed version of each record ingested
// since since, newest records first, at most limit per kind: of the record
// only the envelope's key and version and the provenance (where the message
// was read, its SHA-256) are filled. The dedupe stage seeds its memory from
// it after a restart: ClickHouse holds only what the sink acknowledged, so
// nothing unlanded is ever taken as seen. A row whose raw_sha256 is not a
// SHA-256 is left out, since the record could not be compared with it; the
// count returned is of the records f was called with.
func Landed(ctx context.Context, conn driver.Conn, since time.Time, limit int, f func(r *record.Record)) (int, error) {
	n := 0
	for _, k := range record.Kinds {
		q := fmt.Sprintf(`SELECT company, source, id, max(version), argMax(raw_sha256, version),
			argMax(src_topic, version), argMax(src_partition, version), argMax(src_offset, version)
			FROM %s WHERE ingest_time >= toDateTime('%s', 'UTC')
			GROUP BY company, source, id ORDER BY max(ingest_time) DESC LIMIT %d`,
			Tables[k], since.UTC().Format("2006-01-02 15:04:05"), limit)
		rows, err := conn.Query(ctx, q)
		if err != nil {
			return n, fmt.Errorf("read landed %s: %w", Tables[k], err)
		}
		var r record.Record
		r.Kind = k
		for rows.Next() {
			var sha string
			var partition uint32
			var offset uint64
			p := &r.Provenance
			if err := rows.Scan(&r.Company, &r.Source, &r.ID, &r.Version, &sha, &p.Topic, &partition, &offset); err != nil {
				rows.Close()
				return n, fmt.Errorf("read landed %s: %w", Tables[k], err)
			}
			if len(sha) != 2*len(p.SHA256) {
				continue
			}
			if _, err := hex.Decode(p.SHA256[:], []byte(sha)); err != nil {
				continue
			}
			p.Partition, p.Offset = int32(partition), int64(offset)
			f(&r)
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
