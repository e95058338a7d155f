// Package localch runs a private ClickHouse server out of one data directory,
// so `make test`, `make demo` and `erpflow clickhouse start` get a server on a
// fresh machine without touching the system's own ClickHouse.
//
// The server is detached from the caller (its own session), and everything
// needed to find it again lives in the directory: config.xml, users.xml and a
// state file with its pid and ports. Start, Stop and Status hold a lock file
// in the directory, so parallel test binaries sharing one directory start one
// server between them.
package localch

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// ErrNoServer is returned when no ClickHouse server binary can be found.
var ErrNoServer = errors.New("no ClickHouse server binary found: install one with " +
	"`apt-get install clickhouse-server clickhouse-client`, " +
	"or put a `clickhouse` binary (https://clickhouse.com/docs/install) on PATH")

// Host is the only address the server listens on.
const Host = "127.0.0.1"

// Options configures Start.
type Options struct {
	// Dir holds config, data, logs and state, e.g. ".erpflow/clickhouse".
	Dir string
	// Binary overrides the search for a server binary. A binary named
	// "clickhouse" is run as `clickhouse server`.
	Binary string
	// StartTimeout bounds the wait for the server to answer; 60 s if zero.
	StartTimeout time.Duration
}

// Server describes a local server as the state file and the server itself
// report it.
type Server struct {
	Running    bool   `json:"-"`
	PID        int    `json:"pid"`
	NativePort int    `json:"native_port"`
	HTTPPort   int    `json:"http_port"`
	Binary     string `json:"binary"`
	Version    string `json:"version,omitempty"`
	Dir        string `json:"-"`
	// Note explains a server that is not running (no state file, a stale
	// one, a process that does not answer).
	Note string `json:"-"`
}

// NativeAddr is the host:port for clickhouse-go and ERPFLOW_CLICKHOUSE_ADDR.
func (s *Server) NativeAddr() string {
	return net.JoinHostPort(Host, strconv.Itoa(s.NativePort))
}

// ConnectHint tells a person how to reach the server.
func (s *Server) ConnectHint() string {
	return fmt.Sprintf("clickhouse-client --host %s --port %d\nexport ERPFLOW_CLICKHOUSE_ADDR=%s",
		Host, s.NativePort, s.NativeAddr())
}

func (s *Server) String() string {
	if !s.Running {
		msg := "clickhouse: not running (data dir " + s.Dir + ")"
		if s.Note != "" {
			msg += ": " + s.Note
		}
		return msg
	}
	return fmt.Sprintf("clickhouse %s: running, pid %d, native %s, http %s:%d, data dir %s",
		s.Version, s.PID, s.NativeAddr(), Host, s.HTTPPort, s.Dir)
}

// StopResult says what Stop did.
type StopResult struct {
	WasRunning bool
	PID        int
	// Killed is set when the server ignored SIGTERM for the grace period.
	Killed bool
	Note   string
}

func (r StopResult) String() string {
	switch {
	case !r.WasRunning:
		return "clickhouse: was not running: " + r.Note
	case r.Killed:
		return fmt.Sprintf("clickhouse: pid %d ignored SIGTERM and was killed", r.PID)
	default:
		return fmt.Sprintf("clickhouse: stopped pid %d", r.PID)
	}
}

// FindBinary returns the server command: a `clickhouse` multi-tool on PATH
// first (what current releases ship), then `clickhouse-server` (Debian's 18.16).
func FindBinary() (string, error) {
	for _, name := range []string{"clickhouse", "clickhouse-server"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	for _, p := range fallbackBinaries {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", ErrNoServer
}

// fallbackBinaries are tried after PATH: Debian installs the server in
// /usr/sbin, which is often missing from a non-root PATH.
var fallbackBinaries = []string{"/usr/sbin/clickhouse-server"}

func serverArgs(binary, config string) []string {
	args := []string{"--config-file=" + config}
	if filepath.Base(binary) == "clickhouse" {
		return append([]string{"server"}, args...)
	}
	return args
}

// Start returns the server running from opts.Dir, starting one if needed.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("start clickhouse: no data directory given")
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("start clickhouse: %w", err)
	}
	l := newLayout(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("start clickhouse: %w", err)
	}
	unlock, err := lockDir(ctx, l.Lock)
	if err != nil {
		return nil, fmt.Errorf("start clickhouse: %w", err)
	}
	defer unlock()

	if s, ok := readState(l); ok {
		if ours(s.PID, l.Config) {
			// Running already, or still starting after another Start gave
			// up waiting: wait for it rather than start a second server on
			// the same data, which it would refuse anyway.
			ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
			defer cancel()
			if err := waitReady(ctx, s, nil); err != nil {
				return nil, fmt.Errorf("start clickhouse: pid %d from %s does not answer: %w", s.PID, l.State, err)
			}
			return s, nil
		}
		if err := removeState(l); err != nil {
			return nil, fmt.Errorf("start clickhouse: %w", err)
		}
	}

	binary := opts.Binary
	if binary == "" {
		if binary, err = FindBinary(); err != nil {
			return nil, fmt.Errorf("start clickhouse: %w", err)
		}
	}
	// Free ports are only free until someone else takes them; a server that
	// loses the race exits at once and we try again with new ones.
	for attempt := 1; ; attempt++ {
		s, err := launch(ctx, l, binary, opts.StartTimeout)
		if err == nil {
			return s, nil
		}
		if attempt == 3 || !errors.Is(err, errAddrInUse) {
			return nil, fmt.Errorf("start clickhouse: %w", err)
		}
	}
}

var errAddrInUse = errors.New("port taken")

func launch(ctx context.Context, l layout, binary string, timeout time.Duration) (*Server, error) {
	var err error
	if l.NativePort, l.HTTPPort, err = pickPorts(l); err != nil {
		return nil, err
	}
	if err := writeConfig(l); err != nil {
		return nil, err
	}
	// Truncated per start so the tail in an error is about this start.
	out, err := os.Create(l.Stderr)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	_ = os.Remove(l.ErrorLog)

	cmd := exec.Command(binary, serverArgs(binary, l.Config)...)
	cmd.Dir = l.Dir
	cmd.Stdout, cmd.Stderr = out, out
	// Current releases can fork a watchdog parent; without one the pid in the
	// state file is the server's own, which is what Stop must signal.
	cmd.Env = append(os.Environ(), "CLICKHOUSE_WATCHDOG_ENABLE=0")
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", binary, err)
	}
	// Reap the child if it dies while we are still here, so a zombie never
	// looks like a live server.
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()

	s := &Server{Running: true, PID: cmd.Process.Pid, NativePort: l.NativePort, HTTPPort: l.HTTPPort, Binary: binary, Dir: l.Dir}
	// Written before the wait so that Stop can find a server that hangs.
	if err := writeState(l, s); err != nil {
		_ = cmd.Process.Kill()
		return nil, err
	}

	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := waitReady(wctx, s, exited); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		_ = removeState(l)
		tail := logTail(l)
		if strings.Contains(tail, "Address already in use") {
			err = fmt.Errorf("%w: %w", errAddrInUse, err)
		}
		return nil, fmt.Errorf("%s did not come up on %s: %w\n%s", binary, s.NativeAddr(), err, tail)
	}
	if err := writeState(l, s); err != nil {
		return nil, err
	}
	return s, nil
}

// Status reports the server running from dir, asking the server itself for
// its version so that "running" means "answers queries".
func Status(ctx context.Context, dir string) (*Server, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("clickhouse status: %w", err)
	}
	l := newLayout(dir)
	s, ok := readState(l)
	if !ok {
		return &Server{Dir: dir, Note: "no state file " + l.State}, nil
	}
	if !ours(s.PID, l.Config) {
		return &Server{Dir: dir, Note: fmt.Sprintf("stale state file: pid %d is not a clickhouse server from %s", s.PID, l.Config)}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := ping(ctx, s); err != nil {
		s.Running = false
		s.Note = fmt.Sprintf("pid %d is alive but does not answer on %s: %v", s.PID, s.NativeAddr(), err)
	}
	return s, nil
}

// Stop ends the server running from dir: SIGTERM, then SIGKILL after 30 s.
func Stop(ctx context.Context, dir string) (StopResult, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return StopResult{}, fmt.Errorf("stop clickhouse: %w", err)
	}
	l := newLayout(dir)
	if _, err := os.Stat(dir); err != nil {
		return StopResult{Note: "no data directory " + dir}, nil
	}
	unlock, err := lockDir(ctx, l.Lock)
	if err != nil {
		return StopResult{}, fmt.Errorf("stop clickhouse: %w", err)
	}
	defer unlock()

	s, ok := readState(l)
	if !ok {
		return StopResult{Note: "no state file " + l.State}, nil
	}
	if !ours(s.PID, l.Config) {
		if err := removeState(l); err != nil {
			return StopResult{}, fmt.Errorf("stop clickhouse: %w", err)
		}
		return StopResult{Note: fmt.Sprintf("stale state file removed: pid %d is not a clickhouse server from %s", s.PID, l.Config)}, nil
	}
	res := StopResult{WasRunning: true, PID: s.PID}
	if res.Killed, err = terminate(ctx, s.PID, l.Config, 30*time.Second); err != nil {
		return res, fmt.Errorf("stop clickhouse: pid %d: %w", s.PID, err)
	}
	if err := removeState(l); err != nil {
		return res, fmt.Errorf("stop clickhouse: %w", err)
	}
	return res, nil
}

// waitReady polls until the server answers, ctx ends, or exited closes.
func waitReady(ctx context.Context, s *Server, exited <-chan struct{}) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	// The reason to report is why the server refused, not that we stopped
	// asking, so each attempt gets its own deadline.
	var last error
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := ping(pctx, s)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() == nil {
			last = err
		}
		select {
		case <-exited:
			return errors.New("server exited")
		case <-ctx.Done():
			if last == nil {
				return ctx.Err()
			}
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// ping connects as default and fills in the version the server reports.
func ping(ctx context.Context, s *Server) error {
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{s.NativeAddr()},
		Auth:        clickhouse.Auth{Username: "default"},
		DialTimeout: 2 * time.Second,
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	var v string
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&v); err != nil {
		return err
	}
	s.Version, s.Running = v, true
	return nil
}

// pickPorts prefers the ports of the previous run, so an exported
// ERPFLOW_CLICKHOUSE_ADDR survives a restart, and otherwise takes any free ones.
func pickPorts(l layout) (native, http int, err error) {
	var prev struct {
		Native int `xml:"tcp_port"`
		HTTP   int `xml:"http_port"`
	}
	if b, err := os.ReadFile(l.Config); err == nil {
		_ = xml.Unmarshal(b, &prev)
	}
	var ports [2]int
	for i, want := range []int{prev.Native, prev.HTTP} {
		ln, err := net.Listen("tcp", net.JoinHostPort(Host, strconv.Itoa(want)))
		if err != nil && want != 0 {
			ln, err = net.Listen("tcp", net.JoinHostPort(Host, "0"))
		}
		if err != nil {
			return 0, 0, fmt.Errorf("pick a free port: %w", err)
		}
		// Held until both are picked so the two differ.
		defer ln.Close()
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports[0], ports[1], nil
}

func readState(l layout) (*Server, bool) {
	b, err := os.ReadFile(l.State)
	if err != nil {
		return nil, false
	}
	s := &Server{Dir: l.Dir}
	// A torn or hand-edited file is as good as none: the pid check that
	// follows is what protects a live server.
	if json.Unmarshal(b, s) != nil || s.PID <= 0 {
		return nil, false
	}
	return s, true
}

func writeState(l layout, s *Server) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	tmp := l.State + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Rename(tmp, l.State); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

func removeState(l layout) error {
	if err := os.Remove(l.State); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove state: %w", err)
	}
	return nil
}

// logTail gathers what the server said about failing: early errors (a bad
// config, a taken port on 18.16) go to stderr before the logger exists.
func logTail(l layout) string {
	var b strings.Builder
	for _, f := range []string{l.ErrorLog, l.Stderr} {
		data, err := os.ReadFile(f)
		if err != nil || len(strings.TrimSpace(string(data))) == 0 {
			continue
		}
		var lines []string
		for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
			// Every 18.16 error carries a stack trace that would push the
			// messages out of the tail.
			if !isStackFrame(line) {
				lines = append(lines, line)
			}
		}
		if len(lines) > 20 {
			lines = lines[len(lines)-20:]
		}
		fmt.Fprintf(&b, "--- last lines of %s ---\n%s\n", f, strings.Join(lines, "\n"))
	}
	if b.Len() == 0 {
		return "(the server wrote nothing to " + l.Logs + ")"
	}
	return b.String()
}

// isStackFrame matches "12. /usr/bin/clickhouse(...)" and "0x1f3e... in ...".
func isStackFrame(line string) bool {
	line = strings.TrimSpace(line)
	i := strings.IndexFunc(line, func(r rune) bool { return r < '0' || r > '9' })
	return i > 0 && strings.HasPrefix(line[i:], ". ") || strings.HasPrefix(line, "0x")
}
