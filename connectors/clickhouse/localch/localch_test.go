package localch

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"
)

// requireBinary fails rather than skips: a machine without ClickHouse cannot
// run the project's tests, and a skip would hide that.
func requireBinary(t *testing.T) {
	t.Helper()
	if _, err := FindBinary(); err != nil {
		t.Fatalf("these tests need a ClickHouse server: %v", err)
	}
}

func connect(t *testing.T, s *Server, user, database string) driver.Conn {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr: []string{s.NativeAddr()},
		Auth: clickhouse.Auth{Username: user, Database: database},
	})
	if err != nil {
		t.Fatalf("open as %s: %v", user, err)
	}
	return conn
}

func TestLifecycle(t *testing.T) {
	requireBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	dir := t.TempDir()
	t.Cleanup(func() { _, _ = Stop(context.Background(), dir) })

	// Test binaries of several packages may share one directory: two
	// concurrent starts must end with one server.
	var started [2]*Server
	errs := make(chan error, 2)
	for i := range started {
		go func() {
			var err error
			started[i], err = Start(ctx, Options{Dir: dir})
			errs <- err
		}()
	}
	for range started {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	s := started[0]
	if started[1].PID != s.PID {
		t.Fatalf("concurrent starts gave pids %d and %d, want one server", s.PID, started[1].PID)
	}
	t.Logf("%s\n%s", s, s.ConnectHint())

	st, err := Status(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Running || st.Version == "" || st.PID != s.PID || st.NativePort != s.NativePort {
		t.Fatalf("status after start = %+v, want running %+v with a version", st, s)
	}
	if !strings.Contains(s.ConnectHint(), "export ERPFLOW_CLICKHOUSE_ADDR=127.0.0.1:") {
		t.Errorf("connect hint %q lacks the env export", s.ConnectHint())
	}

	t.Run("users", func(t *testing.T) { checkUsers(ctx, t, s) })

	again, err := Start(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if again.PID != s.PID || again.NativePort != s.NativePort {
		t.Fatalf("second start gave pid %d port %d, want the running pid %d port %d", again.PID, again.NativePort, s.PID, s.NativePort)
	}

	res, err := Stop(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !res.WasRunning || res.PID != s.PID || res.Killed {
		t.Fatalf("stop = %+v, want a clean stop of pid %d", res, s.PID)
	}
	if c, err := net.DialTimeout("tcp", s.NativeAddr(), time.Second); err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections after stop", s.NativeAddr())
	}
	if st, err := Status(ctx, dir); err != nil || st.Running {
		t.Fatalf("status after stop = %+v, %v; want not running", st, err)
	}
	if res, err := Stop(ctx, dir); err != nil || res.WasRunning || res.Note == "" {
		t.Fatalf("second stop = %+v, %v; want a note that it was not running", res, err)
	}

	// A restart keeps the data and, when they are free, the ports.
	re, err := Start(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if re.NativePort != s.NativePort {
		t.Errorf("restart moved the native port from %d to %d", s.NativePort, re.NativePort)
	}
	conn := connect(t, re, "analyst", "")
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM erpflow.payments").Scan(&n); err != nil || n != 1 {
		t.Errorf("after restart: %d rows, %v; want the 1 row written before", n, err)
	}
	conn.Close()
	if _, err := Stop(ctx, dir); err != nil {
		t.Fatal(err)
	}
}

func checkUsers(ctx context.Context, t *testing.T, s *Server) {
	// The pipeline's user bootstraps its own database from a bare connection.
	erp := connect(t, s, "erpflow", "")
	defer erp.Close()
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS erpflow",
		"CREATE TABLE erpflow.payments (id String, version UInt64, amount Decimal(18, 2)) ENGINE = ReplacingMergeTree(version) ORDER BY id",
	} {
		if err := erp.Exec(ctx, q); err != nil {
			t.Fatalf("as erpflow: %s: %v", q, err)
		}
	}
	if err := insertPayment(ctx, erp, "p1"); err != nil {
		t.Fatalf("insert as erpflow: %v", err)
	}
	if err := erp.Exec(ctx, "CREATE DATABASE other"); err == nil || !strings.Contains(err.Error(), "Access denied") {
		t.Errorf("erpflow creating database other: err %v, want access denied", err)
	}
	if err := erp.Exec(ctx, "CREATE TABLE default.t (x UInt8) ENGINE = Memory"); err == nil || !strings.Contains(err.Error(), "Access denied") {
		t.Errorf("erpflow creating a table in default: err %v, want access denied", err)
	}
	own := connect(t, s, "erpflow", "erpflow")
	defer own.Close()
	if err := own.Ping(ctx); err != nil {
		t.Errorf("erpflow cannot connect to its own database: %v", err)
	}

	analyst := connect(t, s, "analyst", "erpflow")
	defer analyst.Close()
	var n uint64
	if err := analyst.QueryRow(ctx, "SELECT count() FROM erpflow.payments").Scan(&n); err != nil || n != 1 {
		t.Fatalf("analyst select: count %d, err %v; want 1 row", n, err)
	}
	if err := insertPayment(ctx, analyst, "p2"); err == nil || !strings.Contains(strings.ToLower(err.Error()), "readonly") {
		t.Errorf("analyst insert: err %v, want a readonly error", err)
	}
	if err := analyst.Exec(ctx, "DROP TABLE erpflow.payments"); err == nil {
		t.Error("analyst dropped a table")
	}

	// 18.16 names its UTC "Etc/UTC" and prints second 0 as a zero date, so
	// compare a rendered time a day in.
	def := connect(t, s, "default", "")
	defer def.Close()
	var epoch string
	if err := def.QueryRow(ctx, "SELECT toString(toDateTime(86400))").Scan(&epoch); err != nil || epoch != "1970-01-02 00:00:00" {
		t.Errorf("epoch renders as %q, %v; want 1970-01-02 00:00:00 (server time zone UTC)", epoch, err)
	}
}

// insertPayment sends a block, as the sink does: an INSERT ... VALUES through
// Exec waits forever on 18.16, which asks the client for data blocks even
// when the query carries its own.
func insertPayment(ctx context.Context, conn driver.Conn, id string) error {
	b, err := conn.PrepareBatch(ctx, "INSERT INTO erpflow.payments (id, version, amount)")
	if err != nil {
		return err
	}
	if err := b.Append(id, uint64(1), decimal.RequireFromString("12.34")); err != nil {
		return err
	}
	return b.Send()
}

func TestStaleState(t *testing.T) {
	ctx := context.Background()
	for name, pid := range map[string]int{
		"another process": os.Getpid(),
		"gone":            deadPID(t),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			l := newLayout(dir)
			b, _ := json.Marshal(Server{PID: pid, NativePort: 1, HTTPPort: 2, Binary: "clickhouse-server"})
			if err := os.WriteFile(l.State, b, 0o644); err != nil {
				t.Fatal(err)
			}
			st, err := Status(ctx, dir)
			if err != nil || st.Running || !strings.Contains(st.Note, "stale") {
				t.Fatalf("status = %+v, %v; want not running with a stale note", st, err)
			}
			res, err := Stop(ctx, dir)
			if err != nil || res.WasRunning {
				t.Fatalf("stop = %+v, %v; want not running", res, err)
			}
			if _, err := os.Stat(l.State); !os.IsNotExist(err) {
				t.Errorf("stale state file left behind: %v", err)
			}
		})
	}
}

// deadPID returns the pid of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	return p.Pid
}

func TestNoBinaryMessage(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	saved := fallbackBinaries
	fallbackBinaries = nil
	defer func() { fallbackBinaries = saved }()
	_, err := FindBinary()
	if !errors.Is(err, ErrNoServer) || !strings.Contains(err.Error(), "apt-get install clickhouse-server clickhouse-client") {
		t.Fatalf("find binary with none installed: %v, want ErrNoServer with the install hint", err)
	}
}

// fakeServer writes a shell script standing in for the server binary.
func fakeServer(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "clickhouse-server")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStartFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("server exits", func(t *testing.T) {
		dir := t.TempDir()
		bin := fakeServer(t, "echo 'Code: 999. DB::Exception: broken config' >&2; echo '7. /usr/bin/clickhouse(main+0x1)' >&2; exit 1")
		_, err := Start(ctx, Options{Dir: dir, Binary: bin, StartTimeout: 20 * time.Second})
		if err == nil || !strings.Contains(err.Error(), "broken config") || !strings.Contains(err.Error(), "server exited") {
			t.Fatalf("start = %v, want the server's last words", err)
		}
		if strings.Contains(err.Error(), "main+0x1") {
			t.Errorf("start error carries a stack frame: %v", err)
		}
		if _, err := os.Stat(newLayout(dir).State); !os.IsNotExist(err) {
			t.Errorf("failed start left a state file: %v", err)
		}
	})
	t.Run("server hangs", func(t *testing.T) {
		dir := t.TempDir()
		bin := fakeServer(t, "echo 'still loading' >&2; exec sleep 60")
		begin := time.Now()
		_, err := Start(ctx, Options{Dir: dir, Binary: bin, StartTimeout: time.Second})
		if err == nil || !strings.Contains(err.Error(), "deadline exceeded") || !strings.Contains(err.Error(), "still loading") {
			t.Fatalf("start = %v, want a timeout with the log tail", err)
		}
		if d := time.Since(begin); d > 10*time.Second {
			t.Errorf("start took %v with a 1s timeout", d)
		}
	})
}
