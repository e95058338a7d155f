// Package clickhouse lands canonical records in ClickHouse over the native
// protocol (clickhouse-go's HTTP protocol does not work against 18.16) and
// keeps the schema with numbered migrations.
package clickhouse

import (
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
)

// Config says how to reach ClickHouse.
type Config struct {
	Addr     string // host:port of the native protocol
	User     string
	Password string
	Database string
	TLS      *tls.Config // nil: plaintext
}

var dbName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Open connects and pings. database overrides cfg.Database; "" uses the
// server's default database (needed before ours exists).
func Open(ctx context.Context, cfg Config, database string) (driver.Conn, error) {
	conn, err := ch.Open(&ch.Options{
		Addr:        []string{cfg.Addr},
		Auth:        ch.Auth{Database: database, Username: cfg.User, Password: cfg.Password},
		TLS:         cfg.TLS,
		DialTimeout: 5 * time.Second,
		ReadTimeout: 5 * time.Minute,
		// Inserts are large and few; compression costs CPU we need for
		// decoding on a small box and buys little on loopback.
		MaxOpenConns: 8,
		// The driver writes an insert's block to the socket whenever its
		// buffer passes this size, after a column. The default, 10 MiB,
		// let every pooled connection keep a buffer that large, and that
		// memory stayed live for the collector to scan: with 256 KiB a run
		// with matching took about 3 % less CPU (docs/benchmarks.md).
		MaxCompressionBuffer: 256 << 10,
	})
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", cfg.Addr, err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse %s: %w", cfg.Addr, err)
	}
	return conn, nil
}

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migration is one numbered SQL file.
type Migration struct {
	Version    uint32
	Name       string
	Statements []string
}

var migrationFile = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// Migrations returns the embedded migrations in order.
func Migrations() ([]Migration, error) {
	entries, err := migrationFS.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		m := migrationFile.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration file %s: name must be NNNN_name.sql", e.Name())
		}
		v, _ := strconv.ParseUint(m[1], 10, 32)
		body, err := migrationFS.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: uint32(v), Name: m[2], Statements: splitStatements(string(body))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("two migrations numbered %04d", out[i].Version)
		}
	}
	return out, nil
}

// splitStatements drops comment lines and splits on semicolons; our
// migrations keep semicolons out of string literals.
func splitStatements(sql string) []string {
	var b strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	var out []string
	for _, s := range strings.Split(b.String(), ";") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Migrate creates the database if needed and applies, in order, every
// migration not yet recorded in schema_migrations. It returns those it
// applied. Statements may run twice (two instances migrating at once, a
// crash before the record): tables are created IF NOT EXISTS and columns
// that exist already count as added.
func Migrate(ctx context.Context, cfg Config) ([]Migration, error) {
	if !dbName.MatchString(cfg.Database) {
		return nil, fmt.Errorf("migrate: database name %q is not a plain identifier", cfg.Database)
	}
	ms, err := Migrations()
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	boot, err := Open(ctx, cfg, "")
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	err = boot.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+cfg.Database)
	boot.Close()
	if err != nil {
		return nil, fmt.Errorf("migrate: create database %s: %w", cfg.Database, err)
	}
	conn, err := Open(ctx, cfg, cfg.Database)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version UInt32, name String, applied_at DateTime('UTC')
	) ENGINE = MergeTree ORDER BY version`); err != nil {
		return nil, fmt.Errorf("migrate: schema_migrations: %w", err)
	}
	done := map[uint32]bool{}
	rows, err := conn.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("migrate: read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("migrate: read schema_migrations: %w", err)
		}
		done[v] = true
	}
	rows.Close()
	// A read cut short would make applied migrations look new.
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate: read schema_migrations: %w", err)
	}
	var applied []Migration
	for _, m := range ms {
		if done[m.Version] {
			continue
		}
		for i, stmt := range m.Statements {
			if err := conn.Exec(ctx, stmt); err != nil && !alreadyDone(stmt, err) {
				return applied, fmt.Errorf("migrate: %04d_%s statement %d: %w", m.Version, m.Name, i+1, err)
			}
		}
		if err := recordMigration(ctx, conn, m); err != nil {
			return applied, fmt.Errorf("migrate: record %04d_%s: %w", m.Version, m.Name, err)
		}
		applied = append(applied, m)
	}
	return applied, nil
}

// alreadyDone reports whether a failed statement had already been applied:
// 18.16 has no ADD COLUMN IF NOT EXISTS, so a migration interrupted before
// it was recorded, or run by two instances at once, meets its own columns
// when it runs again. 18.16 says so with code 44 (ILLEGAL_COLUMN), current
// releases with 15 (DUPLICATE_COLUMN).
func alreadyDone(stmt string, err error) bool {
	var ex *proto.Exception
	return errors.As(err, &ex) && (ex.Code == 44 || ex.Code == 15) &&
		strings.HasPrefix(strings.ToUpper(strings.TrimSpace(stmt)), "ALTER TABLE") &&
		strings.Contains(strings.ToUpper(stmt), "ADD COLUMN")
}

// recordMigration notes a migration as applied. It inserts through PrepareBatch: on
// 18.16 an INSERT ... VALUES sent with Exec waits forever for data blocks.
func recordMigration(ctx context.Context, conn driver.Conn, m Migration) error {
	b, err := conn.PrepareBatch(ctx, "INSERT INTO schema_migrations (version, name, applied_at)")
	if err != nil {
		return err
	}
	if err := b.Append(m.Version, m.Name, time.Now().UTC()); err != nil {
		b.Abort()
		return err
	}
	return b.Send()
}

// Refused says whether err is the server's answer that a query cannot run
// as written here (an unknown table or column, a syntax or type error, no
// access), which waiting does not mend. Any other exception may pass: a
// query cancelled by a server shutting down (394), memory or time limits
// of a busy server (241, 159), too many queries at once (202).
func Refused(err error) bool {
	var ex *proto.Exception
	return errors.As(err, &ex) && refusedCodes[ex.Code]
}

// refusedCodes are ClickHouse exceptions about the query or the user, not
// the server's state.
var refusedCodes = map[int32]bool{
	16:  true, // NO_SUCH_COLUMN_IN_TABLE
	36:  true, // BAD_ARGUMENTS
	43:  true, // ILLEGAL_TYPE_OF_ARGUMENT
	44:  true, // ILLEGAL_COLUMN
	46:  true, // UNKNOWN_FUNCTION
	47:  true, // UNKNOWN_IDENTIFIER
	48:  true, // NOT_IMPLEMENTED
	53:  true, // TYPE_MISMATCH
	60:  true, // UNKNOWN_TABLE
	62:  true, // SYNTAX_ERROR
	81:  true, // UNKNOWN_DATABASE
	164: true, // READONLY
	192: true, // UNKNOWN_USER
	193: true, // WRONG_PASSWORD
	194: true, // REQUIRED_PASSWORD
	195: true, // IP_ADDRESS_NOT_ALLOWED
	497: true, // ACCESS_DENIED
	516: true, // AUTHENTICATION_FAILED
}
