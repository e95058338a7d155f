// Package chtest gives integration tests a real ClickHouse database of their
// own. There is no fallback: without a server the tests fail and say how to
// get one, because a skipped integration test proves nothing.
package chtest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/erpflow/erpflow/connectors/clickhouse"
)

// Config returns the ClickHouse of ERPFLOW_CLICKHOUSE_ADDR with a fresh
// database named after the test, migrated, and dropped when the test ends.
func Config(t testing.TB) clickhouse.Config {
	t.Helper()
	addr := os.Getenv("ERPFLOW_CLICKHOUSE_ADDR")
	if addr == "" {
		t.Fatal("integration test needs ClickHouse: ERPFLOW_CLICKHOUSE_ADDR is not set. Run `make test`, which starts a local server, or export ERPFLOW_CLICKHOUSE_ADDR=host:port")
	}
	cfg := clickhouse.Config{
		Addr:     addr,
		User:     os.Getenv("ERPFLOW_CLICKHOUSE_USER"),
		Password: os.Getenv("ERPFLOW_CLICKHOUSE_PASSWORD"),
		Database: fmt.Sprintf("erpflow_test_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9),
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := clickhouse.Migrate(ctx, cfg); err != nil {
		t.Fatalf("integration test needs ClickHouse at %s: %v", addr, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := clickhouse.Open(ctx, cfg, "")
		if err != nil {
			t.Errorf("drop test database: %v", err)
			return
		}
		defer conn.Close()
		if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+cfg.Database); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return cfg
}
