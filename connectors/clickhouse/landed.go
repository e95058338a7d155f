package clickhouse

import (
	"context"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
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

// LandedAfter calls f with the place (topic, partition, offset) of every
// version of every record that landed from a partition of from at or past
// the offset from gives it, at most limit places. These are the messages a
// group reading on from those offsets reads a second time: after a crash,
// the batches that landed but were not committed. It reads the _versions
// tables, which keep every version (the canonical ones keep the newest).
// The count returned is of the places f was called with; more is true if
// some were left out for limit.
func LandedAfter(ctx context.Context, conn driver.Conn, from map[string]map[int]int64, limit int,
	f func(topic string, partition int32, offset int64)) (n int, more bool, err error) {
	var where []string
	for t, parts := range from {
		if !kafkaName(t) {
			return 0, false, fmt.Errorf("read landed places: topic %q is not a Kafka topic name", t)
		}
		for p, off := range parts {
			where = append(where, fmt.Sprintf("(src_topic = '%s' AND src_partition = %d AND src_offset >= %d)", t, p, off))
		}
	}
	if len(where) == 0 {
		return 0, false, nil
	}
	sort.Strings(where) // one query text for the same offsets
	cond := strings.Join(where, " OR ")
	for _, k := range record.Kinds {
		q := fmt.Sprintf("SELECT src_topic, src_partition, src_offset FROM %s WHERE %s LIMIT %d", VersionsTable(k), cond, limit-n+1)
		rows, err := conn.Query(ctx, q)
		if err != nil {
			return n, false, fmt.Errorf("read landed places %s: %w", VersionsTable(k), err)
		}
		for rows.Next() {
			var topic string
			var partition uint32
			var offset uint64
			if err := rows.Scan(&topic, &partition, &offset); err != nil {
				rows.Close()
				return n, false, fmt.Errorf("read landed places %s: %w", VersionsTable(k), err)
			}
			if n == limit {
				more = true
				break
			}
			f(topic, int32(partition), int64(offset))
			n++
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return n, false, fmt.Errorf("read landed places %s: %w", VersionsTable(k), err)
		}
		if more {
			return n, true, nil
		}
	}
	return n, false, nil
}

// kafkaName says whether s is a legal Kafka topic name: ASCII letters,
// digits, '.', '_' and '-', so that it can stand in a query as it is.
func kafkaName(s string) bool {
	if s == "" || len(s) > 249 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
