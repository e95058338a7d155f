package clickhouse

import (
	"context"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
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
// tables, which keep every version (the canonical ones keep the newest),
// in one query: it runs at every start. The count returned is of the
// places f was called with; more is true if some were left out for limit.
func LandedAfter(ctx context.Context, conn driver.Conn, from map[string]map[int]int64, limit int,
	f func(topic string, partition int32, offset int64)) (n int, more bool, err error) {
	var keys []string
	for t, parts := range from {
		if !kafkaName(t) {
			return 0, false, fmt.Errorf("read landed places: topic %q is not a Kafka topic name", t)
		}
		for p := range parts {
			keys = append(keys, fmt.Sprintf("%s/%d", t, p))
		}
	}
	if len(keys) == 0 {
		return 0, false, nil
	}
	sort.Strings(keys) // one query text for the same offsets
	var names, offsets strings.Builder
	for i, k := range keys {
		if i > 0 {
			names.WriteByte(',')
			offsets.WriteByte(',')
		}
		t, p, _ := strings.Cut(k, "/")
		pn, _ := strconv.Atoi(p)
		fmt.Fprintf(&names, "'%s'", k)
		fmt.Fprintf(&offsets, "%d", from[t][pn])
	}
	// A partition's offset looked up by name in two arrays keeps the query
	// short however many partitions there are (max_query_size is 256 KiB);
	// a place from elsewhere gets one no offset reaches.
	cond := fmt.Sprintf("src_offset >= transform(concat(src_topic, '/', toString(src_partition)), [%s], [%s], toUInt64(18446744073709551615))",
		names.String(), offsets.String())
	parts := make([]string, 0, len(record.Kinds))
	for _, k := range record.Kinds {
		parts = append(parts, fmt.Sprintf("SELECT src_topic, src_partition, src_offset FROM %s WHERE %s", VersionsTable(k), cond))
	}
	q := fmt.Sprintf("SELECT * FROM (%s) LIMIT %d", strings.Join(parts, " UNION ALL "), limit+1)
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return 0, false, fmt.Errorf("read landed places: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var topic string
		var partition uint32
		var offset uint64
		if err := rows.Scan(&topic, &partition, &offset); err != nil {
			return n, false, fmt.Errorf("read landed places: %w", err)
		}
		if n == limit {
			return n, true, nil
		}
		f(topic, int32(partition), int64(offset))
		n++
	}
	if err := rows.Err(); err != nil {
		return n, false, fmt.Errorf("read landed places: %w", err)
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
