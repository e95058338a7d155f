package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/spf13/cobra"

	"github.com/erpflow/erpflow/analytics"
	"github.com/erpflow/erpflow/connectors/clickhouse"
	"github.com/erpflow/erpflow/connectors/clickhouse/localch"
	"github.com/erpflow/erpflow/connectors/generator"
	"github.com/erpflow/erpflow/connectors/kafka"
	"github.com/erpflow/erpflow/pipeline/config"
	"github.com/erpflow/erpflow/pipeline/job"
	"github.com/erpflow/erpflow/pipeline/record"
)

// hostile are messages no producer should send; the demo adds them to show
// that each lands in the dead-letter topic with its reason.
var hostile = [][]byte{
	[]byte(`{"kind":"invoice","company":"SH01","source":"erp","id":"BROKEN-1","version":1`),
	[]byte(`{"kind":"voucher","company":"SH01","source":"erp","id":"V-1","version":1,"event_time":"2025-01-02T00:00:00Z","body":{}}`),
	[]byte(`{"kind":"invoice","company":"SH01","source":"erp","id":"BROKEN-2","version":1,"event_time":"2025-01-02T00:00:00Z","body":{"direction":"AR"}}`),
	[]byte("{\"kind\":\"invoice\",\"company\":\"\xc9\xcf\xba\xa3\"}"),
	[]byte(`{"kind":"payment","company":"SH01","source":"erp","id":"BROKEN-3","version":"2","event_time":"2025-01-02T00:00:00Z","body":{}}`),
	[]byte(`{"kind":"bank_txn","company":"SH01","source":"icbc","id":"BROKEN-4","version":1,"event_time":"2025-01-02T00:00:00Z","body":{"account":"CN-1","booking_date":"2025-01-02","direction":"credit","amount":{"amount":"1,234.50","currency":"CNY"}}}`),
	{},
}

func newDemo(g *globals) *cobra.Command {
	var f generateFlags
	var workDir, database string
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole path on embedded defaults and show the result",
		Long: `Makes sure a ClickHouse answers (starting a local one under .erpflow/clickhouse
if not), starts the embedded broker, generates a company world, produces it
together with a few broken messages, runs the pipeline as a child process until
it has caught up, and prints what landed, what was dead-lettered, the
throughput, the pipeline's peak memory and a few query results.

The demo owns its database (default erpflow_demo) and recreates it each run.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			if err := embeddedBrokerOnly(cfg); err != nil {
				return err
			}
			gcfg, err := f.config()
			if err != nil {
				return err
			}
			cfg.ClickHouse.Database = database
			return runDemo(cmd.Context(), cmd.OutOrStdout(), g.configPath, cfg, gcfg, workDir)
		},
	}
	f.add(c, 90, 3)
	c.Flags().StringVar(&workDir, "dir", ".erpflow/demo", "where the generated world is written")
	c.Flags().StringVar(&database, "database", "erpflow_demo", "ClickHouse database the demo recreates and fills")
	return c
}

func runDemo(ctx context.Context, w io.Writer, configPath string, cfg config.Config, gcfg generator.Config, workDir string) error {
	step := func(format string, a ...any) { fmt.Fprintf(w, "==> "+format+"\n", a...) }

	step("ClickHouse")
	chBase, err := job.ClickHouseConfig(cfg.ClickHouse)
	if err != nil {
		return err
	}
	chCfg, err := ownDatabase(ctx, w, chBase)
	if err != nil {
		return err
	}

	step("embedded Kafka-protocol broker")
	b, err := kafka.StartBroker(kafka.BrokerConfig{Topics: cfg.AllTopics(), Partitions: cfg.Kafka.Partitions})
	if err != nil {
		return err
	}
	defer b.Close()
	fmt.Fprintf(w, "    listening on %s, %d topics x %d partitions\n", b.Addr(), len(cfg.AllTopics()), cfg.Kafka.Partitions)

	step("generate %d days for %d companies (seed %d), as the source systems send them", gcfg.Days, gcfg.Companies, gcfg.Seed)
	st, err := writeWorld(gcfg, workDir, true)
	if err != nil {
		return err
	}
	planted := 0
	for _, n := range st.DeadLetters {
		planted += n
	}
	fmt.Fprintf(w, "    %d canonical records to make from %d sources, %d raw re-sends, %d planted bad records, in %s\n",
		st.Records, len(st.Raw), st.Duplicates, planted, workDir)

	step("produce")
	sent, err := produceRaw(ctx, w, cfg, b.Addr(), workDir, st)
	if err != nil {
		return err
	}
	wr := kafka.NewWriter(kafka.Plaintext(b.Addr()))
	msgs := make([]kafkago.Message, len(hostile))
	for i, v := range hostile {
		msgs[i] = kafkago.Message{Topic: cfg.Kafka.Topics.ForKind(record.KindInvoice), Key: []byte("SH01"), Value: v}
	}
	err = wr.WriteMessages(ctx, msgs...)
	wr.Close()
	if err != nil {
		return fmt.Errorf("produce broken examples: %w", err)
	}
	fmt.Fprintf(w, "    %d messages in all, with %d hand-made broken ones\n", sent+int64(len(hostile)), len(hostile))

	step("erpflow run --until-caught-up (child process)")
	run, err := runChild(ctx, configPath, b.Addr(), chCfg)
	if err != nil {
		return err
	}
	return summary(ctx, w, cfg, chCfg, b.Addr(), run.last, run.elapsed, run.rssKiB, workDir)
}

func ping(ctx context.Context, c clickhouse.Config) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := clickhouse.Open(ctx, c, "")
	if err != nil {
		return err
	}
	return conn.Close()
}

// ownDatabase makes sure a ClickHouse answers, starting the local one when
// none does, and recreates the database that the demo or bench owns.
func ownDatabase(ctx context.Context, w io.Writer, c clickhouse.Config) (clickhouse.Config, error) {
	if err := ping(ctx, c); err != nil {
		fmt.Fprintf(w, "    nothing answers at %s (%v); starting a local server\n", c.Addr, err)
		s, err := localch.Start(ctx, localch.Options{Dir: defaultCHDir})
		if err != nil {
			return c, err
		}
		c.Addr = s.NativeAddr()
	}
	fmt.Fprintf(w, "    using %s, database %s (recreated)\n", c.Addr, c.Database)
	return c, recreate(ctx, c)
}

func recreate(ctx context.Context, c clickhouse.Config) error {
	conn, err := clickhouse.Open(ctx, c, "")
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+c.Database); err != nil {
		return fmt.Errorf("recreate %s: %w", c.Database, err)
	}
	_, err = clickhouse.Migrate(ctx, c)
	return err
}

// runMeasured runs cmd and returns the peak resident memory of the process
// it started, in KiB (0 where /proc is not there to tell).
//
// Not the rusage maxrss of the child: os/exec starts it with CLONE_VM, and
// Linux records the high-water mark of the memory it shared with this
// process when it execs, so the child's maxrss is never below this
// process's own peak (here, the embedded broker holding the whole world).
// The child's VmHWM covers only its own address space; it is read until
// the child exits and only grows, so the last reading is the peak up to
// the final few milliseconds, when a run is shutting down.
func runMeasured(cmd *exec.Cmd) (peakKiB int64, err error) {
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, rerr := os.ReadFile(status); rerr == nil {
			if kib, ok := vmHWM(b); ok && kib > peakKiB {
				peakKiB = kib
			}
		}
		select {
		case err := <-done:
			return peakKiB, err
		case <-tick.C:
		}
	}
}

// vmHWM reads the VmHWM line (peak resident set, in kB) of a
// /proc/PID/status file.
func vmHWM(status []byte) (int64, bool) {
	for _, line := range strings.Split(string(status), "\n") {
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// childRun is what runChild measured of one erpflow run.
type childRun struct {
	last    string        // its last line: consumed=N landed=N ...
	elapsed time.Duration // process start to exit
	rssKiB  int64         // peak resident memory
	cpu     time.Duration // its own user and system time
	// machine is the CPU time every process on the machine used while it
	// ran (ClickHouse and the broker beside erpflow), of cores × elapsed.
	machine time.Duration
	cores   int
	// self is this process's CPU time while the run went on: the embedded
	// broker serving it. What neither took of machine is ClickHouse's,
	// whose share moves most between runs (docs/benchmarks.md).
	self time.Duration
}

// rest is the CPU time of the run that was neither erpflow's nor the
// broker's: ClickHouse's, and whatever else ran.
func (r childRun) rest() time.Duration { return max(r.machine-r.cpu-r.self, 0) }

// runChild runs the pipeline as its own process so that its memory is
// measured alone, apart from the broker and the generator in this one.
func runChild(ctx context.Context, configPath, broker string, c clickhouse.Config, extra ...string) (childRun, error) {
	var run childRun
	exe, err := os.Executable()
	if err != nil {
		return run, err
	}
	args := []string{"run", "--until-caught-up", "--brokers", broker, "--clickhouse", c.Addr, "--http-listen", "127.0.0.1:0", "--log-level", "warn"}
	if configPath != "" {
		args = append(args, "--config", configPath)
	}
	args = append(args, extra...)
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), config.EnvClickHouseDatabase+"="+c.Database)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	busy0, _ := machineBusy()
	self0 := selfCPU()
	start := time.Now()
	run.rssKiB, err = runMeasured(cmd)
	if err != nil {
		return run, fmt.Errorf("erpflow run: %w", err)
	}
	run.elapsed = time.Since(start)
	run.self = selfCPU() - self0
	if busy1, ok := machineBusy(); ok && busy0 > 0 {
		run.machine = busy1 - busy0
	}
	run.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	run.cores = runtime.NumCPU()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	run.last = lines[len(lines)-1]
	return run, nil
}

// selfCPU is the user and system time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineBusy is the CPU time all processes have used since boot, from
// /proc/stat (false where there is none).
func machineBusy() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	return procStatBusy(b)
}

// procStatBusy reads the first line of /proc/stat ("cpu  user nice system
// idle iowait irq softirq steal ..." in clock ticks) and returns the time
// the machine's processes used: not idle, not waiting for I/O, not stolen
// by the hypervisor. Ticks are USER_HZ, 100 a second on every Linux build
// Go supports.
func procStatBusy(stat []byte) (time.Duration, bool) {
	line, _, _ := strings.Cut(string(stat), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, false
	}
	var busy int64
	for i, v := range f[1:min(len(f), 9)] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false
		}
		if i != 3 && i != 4 && i != 7 { // idle, iowait, steal
			busy += n
		}
	}
	return time.Duration(busy) * (time.Second / 100), true
}

func summary(ctx context.Context, w io.Writer, cfg config.Config, c clickhouse.Config, broker, last string, elapsed time.Duration, rssKiB int64, workDir string) error {
	conn, err := clickhouse.Open(ctx, c, c.Database)
	if err != nil {
		return err
	}
	defer conn.Close()

	fmt.Fprintf(w, "\n%s\n", last)
	var consumed int64
	fmt.Sscanf(last, "consumed=%d", &consumed)
	fmt.Fprintf(w, "throughput: %.0f records/s topic to ClickHouse (%d in %s); peak memory of erpflow run: %d MiB\n",
		float64(consumed)/elapsed.Seconds(), consumed, elapsed.Round(time.Millisecond), rssKiB/1024)

	fmt.Fprintf(w, "\nRows in ClickHouse (FINAL: one per record id, latest version)\n")
	kinds := make([]record.Kind, 0, len(clickhouse.Tables))
	for k := range clickhouse.Tables {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return kinds[i] < kinds[j] })
	for _, k := range kinds {
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM "+clickhouse.Tables[k]+" FINAL").Scan(&n); err != nil {
			return err
		}
		fmt.Fprintf(w, "  %-16s %8d\n", clickhouse.Tables[k], n)
	}

	byReason := map[string]int{}
	n := 0
	err = kafka.ReadTopic(ctx, kafka.Plaintext(broker), cfg.Kafka.Topics.DeadLetter, func(m kafkago.Message) error {
		n++
		byReason[toDeadLetter(m).Reason]++
		return nil
	})
	if err != nil {
		return err
	}
	printReasons(w, n, byReason)
	if err := reconSummary(ctx, w, conn, filepath.Join(workDir, "truth.ndjson")); err != nil {
		return err
	}

	for _, q := range []struct{ name, title string }{
		{"cash_received_by_month", "Cash received per month and company"},
		{"top_late_payers", "Top late payers"},
		{"ar_aging", "Open receivables by age"},
	} {
		t, err := analytics.Query(ctx, conn, q.name)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\n%s (analytics/queries/%s.sql)\n", q.title, q.name)
		t.Write(w)
	}
	host, port, _ := strings.Cut(c.Addr, ":")
	fmt.Fprintf(w, "\nQuery further:\n  clickhouse-client --host %s --port %s --database %s\n  e.g. SELECT status, count(), sum(total) FROM invoices FINAL GROUP BY status\n", host, port, c.Database)
	if n == 0 {
		return errors.New("demo: the broken examples did not reach the dead-letter topic")
	}
	return nil
}

// produceRaw sends a raw world: each source's file to its raw topic, keyed
// by the company its mapping reads, and the kinds with no raw shape
// (purchase orders, goods receipts, approval steps) to their canonical
// topics. It returns the messages sent.
func produceRaw(ctx context.Context, w io.Writer, cfg config.Config, broker, dir string, st generator.Stats) (int64, error) {
	wr := kafka.NewWriter(kafka.Plaintext(broker))
	defer wr.Close()
	var sent int64
	for _, src := range cfg.Sources {
		file := filepath.Join(dir, "raw", src.Name+".ndjson")
		if _, err := os.Stat(file); err != nil {
			continue
		}
		topic, keyFor, timeFor, err := sourceRoute(cfg, src.Name)
		if err != nil {
			return sent, err
		}
		p := newProgress("produce "+src.Name, int64(st.Raw[src.Name].Lines))
		n, err := kafka.ProduceFile(ctx, wr, file, kafka.ProduceOptions{Topic: topic, KeyFor: keyFor, TimeFor: timeFor, Progress: p.Set})
		p.Finish()
		if err != nil {
			return sent, err
		}
		fmt.Fprintf(w, "    %-9s %7d raw records to %s\n", src.Name, n, topic)
		sent += n
	}
	n, err := kafka.ProduceFile(ctx, wr, filepath.Join(dir, "records.ndjson"),
		kafka.ProduceOptions{TopicFor: cfg.Kafka.Topics.ForKind, Keep: generator.IsPassthrough})
	if err != nil {
		return sent, err
	}
	fmt.Fprintf(w, "    %-9s %7d canonical records (kinds with no raw shape)\n", "canonical", n)
	return sent + n, nil
}

// reconSummary prints what matching made of the world: bank lines by
// outcome, exceptions by type, the control totals, two explanations and the
// score against the generator's truth.
func reconSummary(ctx context.Context, w io.Writer, conn driver.Conn, truthPath string) error {
	fmt.Fprintf(w, "\nReconciliation (erpflow recon matches|exceptions|explain for more)\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  bank lines\toutcome\tlines\tamount\t")
	err := eachRow(ctx, conn, `SELECT direction, outcome, count(), toString(sum(amount)) FROM recon_matches FINAL
		GROUP BY direction, outcome ORDER BY direction, outcome`, func(r driver.Rows) error {
		var dir, outcome, sum string
		var n uint64
		if err := r.Scan(&dir, &outcome, &n, &sum); err != nil {
			return err
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t\n", dir, outcome, n, trimDec(sum))
		return nil
	})
	if err != nil {
		return err
	}
	tw.Flush()
	fmt.Fprintln(w, "  open exceptions by type:")
	err = eachRow(ctx, conn, `SELECT type, count() FROM recon_exceptions FINAL WHERE status = 'open' GROUP BY type ORDER BY type`,
		func(r driver.Rows) error {
			var typ string
			var n uint64
			if err := r.Scan(&typ, &n); err != nil {
				return err
			}
			fmt.Fprintf(w, "    %-22s %6d\n", typ, n)
			return nil
		})
	if err != nil {
		return err
	}
	var inDays, inBalanced, outDays, outBalanced uint64
	if err := conn.QueryRow(ctx, `SELECT countIf(direction = 'credit'), sumIf(balanced, direction = 'credit'),
		countIf(direction = 'debit'), sumIf(balanced, direction = 'debit') FROM recon_control_totals FINAL`).Scan(&inDays, &inBalanced, &outDays, &outBalanced); err != nil {
		return fmt.Errorf("control totals: %w", err)
	}
	fmt.Fprintf(w, "  control totals: %d of %d company/currency/days of receipts and %d of %d of money out balance (bank lines = matched + in review + unmatched)\n",
		inBalanced, inDays, outBalanced, outDays)
	for _, ex := range []struct{ title, q string }{
		{"a confirmed match of a line short by a bank fee", `SELECT match_id FROM recon_matches FINAL
			WHERE outcome = 'confirmed' AND direction = 'credit' AND arrayExists(d -> d LIKE '%fee%', criterion_detail)
			ORDER BY line_id LIMIT 1`},
		{"a line left for review", `SELECT match_id FROM recon_matches FINAL WHERE outcome = 'review' AND length(alternatives) > 0 ORDER BY line_id LIMIT 1`},
		{"a line among equal invoices, settled by the ERP's clearing", `SELECT match_id FROM recon_matches FINAL
			WHERE outcome = 'confirmed' AND rule = 'erp_cleared' AND arrayExists(d -> d LIKE '%candidates were in review by party+amount%', criterion_detail)
			ORDER BY line_id LIMIT 1`},
	} {
		var id string
		if err := eachRow(ctx, conn, ex.q, func(r driver.Rows) error { return r.Scan(&id) }); err != nil {
			return err
		}
		if id == "" {
			continue
		}
		e, err := explain(ctx, conn, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\n  Example, %s:\n", ex.title)
		var b strings.Builder
		e.print(&b)
		for _, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	truth, err := readTruthFile(truthPath)
	if err != nil {
		return err
	}
	sc, err := scoreFromClickHouse(ctx, conn, truth)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n  Against the generator's truth (erpflow recon score):\n")
	for _, line := range strings.Split(strings.TrimRight(sc.String(), "\n"), "\n") {
		fmt.Fprintf(w, "  %s\n", line)
	}
	return nil
}

// embeddedBrokerOnly refuses a configuration with Kafka TLS or SASL for
// the commands that run erpflow against their own embedded broker, which
// speaks plaintext: the run would try to authenticate and wait for good.
func embeddedBrokerOnly(cfg config.Config) error {
	if cfg.Kafka.TLS.Enabled || cfg.Kafka.SASL.Mechanism != "" {
		return usagef("this command runs erpflow against its own embedded broker, which takes neither TLS nor SASL: give it a configuration without kafka.tls and kafka.sasl")
	}
	return nil
}
