package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/erpflow/erpflow/connectors/clickhouse"
	"github.com/erpflow/erpflow/connectors/clickhouse/chtest"
	"github.com/erpflow/erpflow/connectors/generator"
	"github.com/erpflow/erpflow/connectors/kafka"
	"github.com/erpflow/erpflow/pipeline/config"
)

// bin is the erpflow binary, built once for the package.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "erpflow-cli")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "erpflow")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build erpflow: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

func erpflow(t *testing.T, env []string, a ...string) result {
	t.Helper()
	cmd := exec.Command(bin, a...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

func TestExitCodes(t *testing.T) {
	// A mapping naming its lookup table by an absolute path, one that
	// exists: lookups live in the mapping's folder, so it is refused.
	absDir := t.TempDir()
	claims, err := os.ReadFile("../../transforms/mapping/testdata/claims.yaml")
	if err != nil {
		t.Fatal(err)
	}
	gl, _ := filepath.Abs("../../transforms/mapping/testdata/lookups/gl.csv")
	absMapping := filepath.Join(absDir, "claims.yaml")
	os.WriteFile(absMapping, []byte(strings.Replace(string(claims), "file: lookups/gl.csv", "file: "+gl, 1)), 0o600)
	twoClaims := filepath.Join(absDir, "two.ndjson")
	os.WriteFile(twoClaims, []byte("{\"单据编号\":\"BX-1\"}\n{\"单据编号\":\"BX-2\"}\n"), 0o600)
	records := filepath.Join(absDir, "records.ndjson")
	os.WriteFile(records, []byte(`{"kind":"payment","company":"SH01","source":"erp","id":"P1","version":1}`+"\n"), 0o600)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("pipeline:\n  batch_size: -1\n"), 0o600)
	good := filepath.Join(t.TempDir(), "good.yaml")
	os.WriteFile(good, []byte("kafka:\n  group_id: finance\n"), 0o600)
	scram := filepath.Join(t.TempDir(), "scram.yaml")
	os.WriteFile(scram, []byte("kafka:\n  sasl: {mechanism: SCRAM-SHA-256, username: erpflow, password: s3cret}\n"), 0o600)
	noCA := filepath.Join(t.TempDir(), "noca.yaml")
	os.WriteFile(noCA, []byte("kafka:\n  tls: {enabled: true, ca_file: /nonexistent/ca.pem}\n"), 0o600)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "Exit codes"},
		{[]string{"run", "--help"}, 0, "--until-caught-up"},
		{[]string{"generate"}, 2, "--out DIR is required"},
		{[]string{"bogus"}, 2, "unknown command"},
		{[]string{"help", "bogus"}, 2, "not a command"},
		{[]string{"help", "dlq", "replay"}, 0, "--dry-run"},
		{[]string{"dlq"}, 2, "needs a sub-command"},
		{[]string{"dlq", "lst"}, 2, "unknown command"},
		{[]string{"clickhouse", "strat"}, 2, "unknown command"},
		{[]string{"config", "chek", "x"}, 2, "unknown command"},
		{[]string{"run", "extra"}, 2, "unknown command"},
		{[]string{"run", "--no-such-flag"}, 2, "unknown flag"},
		{[]string{"produce"}, 2, "requires at least 1 arg"},
		{[]string{"produce", "/nonexistent.ndjson"}, 2, "no such file"},
		{[]string{"dlq", "show", "x"}, 2, "PARTITION:OFFSET"},
		{[]string{"config", "check", bad}, 1, "pipeline.batch_size"},
		{[]string{"config", "check", good}, 0, "ok"},
		{[]string{"config", "check", scram}, 0, "ok"},
		{[]string{"config", "check", noCA}, 1, "kafka.tls.ca_file"},
		{[]string{"demo", "--config", scram}, 2, "embedded broker"},
		{[]string{"bench", "--config", scram}, 2, "embedded broker"},
		{[]string{"generate", "--out", t.TempDir(), "--start", "2025-13-01"}, 2, "--start"},
		{[]string{"generate", "--out", t.TempDir(), "--days", "5000"}, 2, "more than ten years"},
		{[]string{"generate", "--out", t.TempDir(), "--start", "1969-12-30"}, 2, "outside 1970-01-02"},
		{[]string{"generate", "--out", t.TempDir(), "--start", "2105-12-30", "--days", "5"}, 2, "ends too late"},
		{[]string{"recon", "exceptions", "--status", "bogus"}, 2, "open, resolved or all"},
		{[]string{"recon", "exceptions", "--type", "duplicate_paymnet"}, 2, "not an exception type"},
		{[]string{"recon", "matches", "--outcome", "confirm"}, 2, "not an outcome"},
		{[]string{"clean", "parse", "--as", "amount", "--default-currency", "CNY", "-5"}, 2, "put -- before the values"},
		{[]string{"clean", "parse", "--as", "amount", "--default-currency", "CNY", "--", "-5"}, 0, "-5.00\n"},
		{[]string{"clean", "parse", "--as", "status", "作废中"}, 1, "none of invoice.status, expense_claim.approval_status"},
		{[]string{"clean", "parse", "--as", "amount", "--default-currency", "CNY", "¥1,234.50", "壹仟贰佰叁拾肆元伍角整", "-"}, 0, "1234.50\n1234.50\nMISSING\n"},
		{[]string{"clean", "parse", "--as", "amount", "--currency", "CNY", "12.345"}, 1, "ERROR: amount \"12.345\""},
		{[]string{"clean", "parse", "--as", "date", "--date-order", "DMY", "16.04.2025", "２０２５年４月１６日"}, 0, "2025-04-16\n2025-04-16\n"},
		{[]string{"clean", "parse", "--as", "date", "03/04/2025"}, 1, "ERROR:"},
		{[]string{"clean", "parse", "--as", "datetime", "--tz", "Asia/Shanghai", "2025年4月16日 14时30分"}, 0, "2025-04-16T06:30:00Z\n"},
		{[]string{"clean", "parse", "--as", "currency", "人民币", "美元"}, 0, "CNY\nUSD\n"},
		{[]string{"clean", "parse", "--as", "status", "已付款", "驳回"}, 0, "paid\nrejected\n"},
		{[]string{"clean", "parse", "--as", "weight", "1"}, 2, "--as"},
		{[]string{"mapping", "check", "../../transforms/mapping/testdata/claims.yaml"}, 0, "ok (mapping test_claims version 2"},
		{[]string{"mapping", "check", bad}, 1, "bad.yaml"},
		{[]string{"mapping", "check", "/nonexistent/claims.yaml"}, 2, "/nonexistent/claims.yaml"},
		{[]string{"mapping", "check", absMapping}, 1, "lookup files live in the mapping file's folder"},
		{[]string{"mapping", "try", "/nonexistent/claims.yaml", records}, 2, "/nonexistent/claims.yaml"},
		{[]string{"mapping", "try", "../../transforms/mapping/testdata/claims.yaml", twoClaims}, 2, "holds 2 lines"},
		{[]string{"config", "check", "/nonexistent/erpflow.yaml"}, 2, "no such file"},
		{[]string{"recon", "score", "--truth", "/nonexistent/truth.ndjson"}, 2, "--truth"},
		{[]string{"recon", "score", "--truth", records}, 1, `truth line 1: no "type"`},
	}
	for _, c := range cases {
		r := erpflow(t, []string{"ERPFLOW_KAFKA_BROKERS=", "ERPFLOW_CLICKHOUSE_ADDR="}, c.args...)
		if r.code != c.code || !strings.Contains(r.stdout+r.stderr, c.want) {
			t.Errorf("erpflow %v: exit %d, output %q; want exit %d mentioning %q", c.args, r.code, r.stdout+r.stderr, c.code, c.want)
		}
	}
}

// A usage error writes nothing to stdout, help included: a script reading
// a command's output must not take the help text for it.
func TestUsageErrorsLeaveStdoutEmpty(t *testing.T) {
	for _, args := range [][]string{{"dlq"}, {"clean"}, {"recon"}, {"bogus"}, {"run", "--no-such-flag"}, {"generate"}} {
		r := erpflow(t, []string{"ERPFLOW_KAFKA_BROKERS=", "ERPFLOW_CLICKHOUSE_ADDR="}, args...)
		if r.code != 2 || r.stdout != "" || r.stderr == "" {
			t.Errorf("erpflow %v: exit %d, stdout %q; want exit 2, the help and the error on stderr only", args, r.code, r.stdout)
		}
	}
}

func TestGenerateIsByteIdentical(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if r := erpflow(t, nil, "generate", "--seed", "3", "--days", "4", "--companies", "2", "--orders-per-day", "10", "--out", dir); r.code != 0 {
			t.Fatalf("generate: %d %s", r.code, r.stderr)
		}
	}
	for _, f := range []string{"records.ndjson", "truth.ndjson"} {
		x, _ := os.ReadFile(filepath.Join(a, f))
		y, _ := os.ReadFile(filepath.Join(b, f))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s differs between equal runs (%d and %d bytes)", f, len(x), len(y))
		}
	}
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startBroker runs erpflow broker on a free port for the test, waits for
// its first line (which must name the address) and returns the address.
func startBroker(t *testing.T) string {
	t.Helper()
	addr := freePort(t)
	broker := exec.Command(bin, "broker", "--listen", addr)
	stdout, _ := broker.StdoutPipe()
	if err := broker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broker.Process.Signal(os.Interrupt); broker.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.Contains(line, addr) {
		t.Fatalf("broker said %q, %v", line, err)
	}
	return addr
}

// TestCommandsTogether drives the scripted path: broker, produce (canonical
// and verbatim), run --until-caught-up, dlq list and show.
func TestCommandsTogether(t *testing.T) {
	ch := chtest.Config(t)
	env := []string{"ERPFLOW_CLICKHOUSE_ADDR=" + ch.Addr, "ERPFLOW_CLICKHOUSE_DATABASE=" + ch.Database}
	addr := startBroker(t)

	world := t.TempDir()
	if r := erpflow(t, nil, "generate", "--days", "3", "--companies", "2", "--orders-per-day", "10", "--out", world); r.code != 0 {
		t.Fatal(r.stderr)
	}
	hostile := filepath.Join(t.TempDir(), "hostile.ndjson")
	os.WriteFile(hostile, []byte("{\"kind\":\"invoice\"\nnot json at all\n\xff\xfe\n"), 0o600)

	if r := erpflow(t, nil, "produce", "--brokers", addr, hostile); r.code != 1 || !strings.Contains(r.stderr, "hostile.ndjson:1:") {
		t.Errorf("canonical produce of a broken file: exit %d %q; want it refused naming line 1", r.code, r.stderr)
	}
	r := erpflow(t, nil, "produce", "--brokers", addr, filepath.Join(world, "records.ndjson"))
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	var sent int
	fmt.Sscanf(r.stdout, "sent %d records", &sent)
	// The generator re-sends some records byte for byte, as at-least-once
	// producers do; the pipeline counts those as duplicates.
	raw, _ := os.ReadFile(filepath.Join(world, "records.ndjson"))
	unique := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		unique[l] = true
	}
	dups := sent - len(unique)
	if r := erpflow(t, nil, "produce", "--brokers", addr, "--topic", "erp.invoices", hostile); r.code != 0 || !strings.Contains(r.stdout, "sent 3 records") {
		t.Fatalf("verbatim produce: %d %q %q", r.code, r.stdout, r.stderr)
	}

	r = erpflow(t, env, "run", "--until-caught-up", "--brokers", addr, "--http-listen", "")
	if r.code != 0 {
		t.Fatalf("run: %d %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	want := fmt.Sprintf("consumed=%d landed=%d dead_lettered=3 duplicates=%d", sent+3, sent-dups, dups)
	if last := lines[len(lines)-1]; last != want {
		t.Fatalf("last line %q, want %q", last, want)
	}

	r = erpflow(t, nil, "dlq", "list", "--brokers", addr, "--format", "json")
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	reasons := map[string]bool{}
	var first deadLetter
	for i, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var d deadLetter
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("dlq list line %q: %v", l, err)
		}
		if i == 0 {
			first = d
		}
		reasons[d.Reason] = true
		if d.Topic != "erp.invoices" || d.Stage != "decode" {
			t.Errorf("dead letter %+v", d)
		}
	}
	for _, want := range []string{"invalid_json", "invalid_utf8"} {
		if !reasons[want] {
			t.Errorf("no dead letter with reason %s in %v", want, reasons)
		}
	}
	r = erpflow(t, nil, "dlq", "show", "--brokers", addr, fmt.Sprintf("%d:%d", first.DLQPartition, first.DLQOffset))
	if r.code != 0 || !strings.Contains(r.stdout, "reason:  "+first.Reason) {
		t.Errorf("dlq show: %d %q", r.code, r.stdout)
	}
	if r := erpflow(t, nil, "dlq", "list", "--brokers", addr); r.code != 0 || !strings.Contains(r.stdout, "3 dead letters") {
		t.Errorf("dlq list table: %q", r.stdout)
	}
	testReplay(t, env, addr, reasons, filepath.Join(world, "records.ndjson"))
}

// testReplay sends the dead letters of TestCommandsTogether back to their
// topic and runs again: the same bytes come back to the same partitions
// and are refused again, each with one set of erpflow headers, and a
// second replay takes only the newer dead letters. Then a canonical record
// produced to a wrong topic is dead-lettered, replayed to the right one,
// and lands.
func testReplay(t *testing.T, env []string, addr string, reasons map[string]bool, records string) {
	t.Helper()
	run := func(want string) {
		t.Helper()
		r := erpflow(t, env, "run", "--until-caught-up", "--brokers", addr, "--http-listen", "")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.code != 0 || lines[len(lines)-1] != want {
			t.Fatalf("run: %d, last line %q, want %q; %s", r.code, lines[len(lines)-1], want, r.stderr)
		}
	}
	list := func() []deadLetter {
		t.Helper()
		r := erpflow(t, nil, "dlq", "list", "--brokers", addr, "--format", "json")
		var all []deadLetter
		for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			var d deadLetter
			if err := json.Unmarshal([]byte(l), &d); err != nil {
				t.Fatalf("dlq list line %q: %v", l, err)
			}
			all = append(all, d)
		}
		return all
	}
	if r := erpflow(t, nil, "dlq", "replay", "--brokers", addr, "99:99"); r.code != 1 || !strings.Contains(r.stderr, "no dead letter at 99:99") {
		t.Errorf("replay of coordinates not there: %d %q", r.code, r.stderr)
	}
	first := list()[0]
	if r := erpflow(t, nil, "dlq", "replay", "--brokers", addr, "--source-topic", "raw.shop", fmt.Sprintf("%d:%d", first.DLQPartition, first.DLQOffset)); r.code != 1 || !strings.Contains(r.stderr, "is not what") {
		t.Errorf("replay of coordinates the other selectors leave out: %d %q", r.code, r.stderr)
	}
	if r := erpflow(t, nil, "dlq", "replay", "--brokers", addr, "--all", "--to", "erpflow.dlq"); r.code != 2 {
		t.Errorf("replay into the dead-letter topic: exit %d %q", r.code, r.stderr)
	}
	// Two of the hostile lines are broken JSON, the third broken UTF-8.
	r := erpflow(t, nil, "dlq", "replay", "--brokers", addr, "--dry-run", "--reason", "invalid_json")
	if r.code != 0 || !strings.HasSuffix(strings.TrimSpace(r.stdout), "would_replay=2") {
		t.Errorf("dry run of the invalid_json dead letters (reasons %v): %d %q %q", reasons, r.code, r.stdout, r.stderr)
	}
	for round := 1; round <= 2; round++ {
		r = erpflow(t, nil, "dlq", "replay", "--brokers", addr, "--source-topic", "erp.invoices")
		if r.code != 0 || !strings.Contains(r.stdout, "sent 3 to erp.invoices") || !strings.HasSuffix(strings.TrimSpace(r.stdout), "replayed=3") {
			t.Fatalf("replay %d: %d %q %q", round, r.code, r.stdout, r.stderr)
		}
		run("consumed=3 landed=0 dead_lettered=3 duplicates=0")
	}
	all := list()
	byAt := map[string]deadLetter{}
	values := map[string]int{}
	for _, d := range all {
		byAt[fmt.Sprintf("erpflow.dlq/%d/%d", d.DLQPartition, d.DLQOffset)] = d
		values[d.Value]++
	}
	if len(all) != 9 || len(values) != 3 {
		t.Errorf("%d dead letters of %d values after two replays, want each of 3 values three times", len(all), len(values))
	}
	for _, d := range all {
		// Each replay went back to the partition its original came from.
		if d.ReplayOf != "" {
			if from, ok := byAt[d.ReplayOf]; !ok || from.Partition != d.Partition || from.Value != d.Value {
				t.Errorf("dead letter %d:%d replays %q: partition %s, value %q; that one %+v", d.DLQPartition, d.DLQOffset, d.ReplayOf, d.Partition, d.Value, from)
			}
		}
		// Replayed without their erpflow headers, they were dead-lettered
		// again with one set, not two.
		r = erpflow(t, nil, "dlq", "show", "--brokers", addr, fmt.Sprintf("%d:%d", d.DLQPartition, d.DLQOffset))
		if n := strings.Count(r.stdout, "erpflow-reason:"); r.code != 0 || n != 1 {
			t.Errorf("dead letter %d:%d carries %d erpflow-reason headers, want 1:\n%s", d.DLQPartition, d.DLQOffset, n, r.stdout)
		}
	}

	// Replayed twice before a run, each message has two newer dead letters;
	// the next replay takes one of each.
	for range 2 {
		if r := erpflow(t, nil, "dlq", "replay", "--brokers", addr, "--source-topic", "erp.invoices"); r.code != 0 || !strings.HasSuffix(strings.TrimSpace(r.stdout), "replayed=3") {
			t.Fatalf("replay before a run: %d %q %q", r.code, r.stdout, r.stderr)
		}
	}
	run("consumed=6 landed=0 dead_lettered=6 duplicates=0")
	r = erpflow(t, nil, "dlq", "replay", "--brokers", addr, "--source-topic", "erp.invoices", "--dry-run")
	if r.code != 0 || !strings.HasSuffix(strings.TrimSpace(r.stdout), "would_replay=3") || !strings.Contains(r.stdout, "left out 12 ") {
		t.Errorf("replay after duplicate dead letters: %d %q %q", r.code, r.stdout, r.stderr)
	}

	// A sales order sent to a bank's raw topic is refused there; replayed
	// to the orders topic, it lands.
	raw, err := os.ReadFile(records)
	if err != nil {
		t.Fatal(err)
	}
	var order string
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.Contains(l, `"kind":"sales_order"`) {
			order = strings.Replace(l, `"id":"`, `"id":"MISROUTED-`, 1)
			break
		}
	}
	if !strings.Contains(order, "MISROUTED-") {
		t.Fatalf("no sales order in %s to misroute", records)
	}
	misrouted := filepath.Join(t.TempDir(), "misrouted.ndjson")
	os.WriteFile(misrouted, []byte(order+"\n"), 0o600)
	if r := erpflow(t, nil, "produce", "--brokers", addr, "--topic", "raw.bank_a", misrouted); r.code != 0 {
		t.Fatalf("produce to raw.bank_a: %d %q", r.code, r.stderr)
	}
	run("consumed=1 landed=0 dead_lettered=1 duplicates=0")
	r = erpflow(t, nil, "dlq", "replay", "--brokers", addr, "--source-topic", "raw.bank_a", "--to", "sales.orders")
	if r.code != 0 || !strings.HasSuffix(strings.TrimSpace(r.stdout), "replayed=1") {
		t.Fatalf("replay to sales.orders: %d %q %q", r.code, r.stdout, r.stderr)
	}
	run("consumed=1 landed=1 dead_lettered=0 duplicates=0")
}

// dropAfter drops databases a command made beside the test's own (which
// chtest drops) when the test ends.
func dropAfter(t *testing.T, ch clickhouse.Config, dbs ...string) {
	t.Cleanup(func() {
		conn, err := clickhouse.Open(context.Background(), ch, "")
		if err != nil {
			return
		}
		defer conn.Close()
		for _, db := range dbs {
			conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
		}
	})
}

// TestDemoSmall runs the demo path at small scale against the test's
// ClickHouse.
func TestDemoSmall(t *testing.T) {
	ch := chtest.Config(t)
	env := []string{"ERPFLOW_CLICKHOUSE_ADDR=" + ch.Addr}
	db := ch.Database + "_demo"
	dropAfter(t, ch, db)
	start := time.Now()
	dir := t.TempDir()
	r := erpflow(t, env, "demo", "--days", "50", "--companies", "2", "--orders-per-day", "30", "--dir", dir, "--database", db)
	if r.code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// Every planted bad record of the raw world and the 7 hand-made broken
	// messages must be dead-lettered; every canonical record must land.
	var records, resends, planted, consumed, landed, dead, dups int
	for _, l := range strings.Split(r.stdout, "\n") {
		switch {
		case strings.Contains(l, "canonical records to make"):
			fmt.Sscanf(strings.TrimSpace(l), "%d canonical records to make from 6 sources, %d raw re-sends, %d planted bad records", &records, &resends, &planted)
		case strings.HasPrefix(l, "consumed="):
			fmt.Sscanf(l, "consumed=%d landed=%d dead_lettered=%d duplicates=%d", &consumed, &landed, &dead, &dups)
		}
	}
	if records == 0 || planted == 0 {
		t.Fatalf("demo did not report its world:\n%s", r.stdout)
	}
	if landed != records || dead != planted+7 || dups != resends {
		t.Errorf("landed %d dead %d duplicates %d; want %d, %d+7, %d", landed, dead, dups, records, planted, resends)
	}
	for _, want := range []string{"records/s", "peak memory of erpflow run", "Rows in ClickHouse",
		"unknown_kind", "unmapped_value:body.status", "Cash received per month and company", "Top late payers", "clickhouse-client --host"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.stdout)
		}
	}
	t.Logf("demo took %s", time.Since(start))
	checkRecon(t, env, db, dir, r.stdout)
}

// checkRecon holds the demo's reconciliation to its truth and drives the
// recon commands over what it stored.
func checkRecon(t *testing.T, env []string, db, dir, demoOut string) {
	t.Helper()
	for _, want := range []string{"Reconciliation", "open exceptions by type", "control totals:", "Example, a line left for review", "precision="} {
		if !strings.Contains(demoOut, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	score := erpflow(t, env, "recon", "score", "--database", db, "--truth", filepath.Join(dir, "truth.ndjson"))
	if score.code != 0 {
		t.Fatalf("recon score: exit %d\n%s", score.code, score.stderr)
	}
	lines := strings.Split(strings.TrimSpace(score.stdout), "\n")
	var p, rc, rv float64
	var found, planted int
	if n, _ := fmt.Sscanf(lines[len(lines)-1], "precision=%f recall=%f review=%f exceptions_found=%d exceptions_planted=%d", &p, &rc, &rv, &found, &planted); n != 5 {
		t.Fatalf("recon score's last line %q is not the parseable summary", lines[len(lines)-1])
	}
	if p < 0.995 || rc < 0.95 || rv > 0.05 || planted == 0 {
		t.Errorf("precision %.4f recall %.4f review %.4f (floors 0.995, 0.95, at most 0.05), %d planted", p, rc, rv, planted)
	}
	t.Logf("demo world: %s", lines[len(lines)-1])
	// --misses lists what the summary counts: one line per missed or
	// wrong link, five fields each, before the same summary.
	ms := erpflow(t, env, "recon", "score", "--database", db, "--truth", filepath.Join(dir, "truth.ndjson"), "--misses")
	var missed, wrong int
	for _, l := range strings.Split(ms.stdout, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && (f[0] == "missed" || f[0] == "wrong") {
			if len(f) != 5 || !strings.Contains(f[1], "/") || !strings.Contains(f[2], "/") {
				t.Errorf("--misses line %q", l)
			}
			*map[string]*int{"missed": &missed, "wrong": &wrong}[f[0]]++
		}
	}
	var links, confirmed, right int
	fmt.Sscanf(lines[0], "links: %d confirmed, %d of them right, %d in the truth", &confirmed, &right, &links)
	if ms.code != 0 || links == 0 || missed != links-right || wrong != confirmed-right {
		t.Errorf("--misses: exit %d, %d missed and %d wrong listed, want %d and %d (%q)", ms.code, missed, wrong, links-right, confirmed-right, lines[0])
	}
	for _, l := range lines {
		var typ string
		var a, b int
		if n, _ := fmt.Sscanf(l, "exceptions %s %d of %d planted found", &typ, &a, &b); n == 3 {
			switch typ {
			case "duplicate_payment", "three_way_mismatch", "approval_breach":
				if a != b {
					t.Errorf("%s: %d of %d planted found", typ, a, b)
				}
			}
		}
	}

	m := erpflow(t, env, "recon", "matches", "--database", db, "--outcome", "review", "--format", "json", "--limit", "3")
	if m.code != 0 {
		t.Fatalf("recon matches: exit %d\n%s", m.code, m.stderr)
	}
	var review []map[string]string
	for _, l := range strings.Split(strings.TrimSpace(m.stdout), "\n") {
		var x map[string]string
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatalf("recon matches --format json: %q: %v", l, err)
		}
		review = append(review, x)
	}
	if len(review) == 0 || review[0]["outcome"] != "review" || review[0]["match_id"] == "" || review[0]["applied_to"] == "" {
		t.Fatalf("recon matches in review: %v", review)
	}
	id := review[0]["match_id"]
	if e := erpflow(t, env, "recon", "explain", "--database", db, id); e.code != 0 || !strings.Contains(e.stdout, "criteria:") ||
		!strings.Contains(e.stdout, "proposes") {
		t.Errorf("recon explain %s: exit %d\n%s%s", id, e.code, e.stdout, e.stderr)
	}
	if e := erpflow(t, env, "recon", "explain", "--database", db, "--format", "csv", id); e.code != 0 {
		t.Errorf("recon explain --format csv %s: exit %d\n%s", id, e.code, e.stderr)
	} else {
		rows, err := csv.NewReader(strings.NewReader(e.stdout)).ReadAll()
		if err != nil || len(rows) < 3 || strings.Join(rows[0], ",") != "what,id,part,name,pass,value" {
			t.Fatalf("recon explain --format csv: %v\n%s", err, e.stdout)
		}
		parts := map[string]int{}
		for _, r := range rows[1:] {
			if r[0] != "match" || r[1] != id {
				t.Errorf("row %v is not of match %s", r, id)
			}
			parts[r[2]]++
			if r[2] == "criterion" && r[4] != "true" && r[4] != "false" {
				t.Errorf("criterion row %v: pass is not true or false", r)
			}
		}
		if parts["field"] == 0 || parts["proposes"] == 0 || parts["criterion"] == 0 {
			t.Errorf("recon explain --format csv lacks fields, proposals or criteria: %v", parts)
		}
	}
	if e := erpflow(t, env, "recon", "explain", "--database", db, "--format", "yaml", id); e.code != 2 {
		t.Errorf("recon explain --format yaml: exit %d, want 2", e.code)
	}
	if e := erpflow(t, env, "recon", "explain", "--database", db, "no-such-id"); e.code != 1 {
		t.Errorf("explain of an unknown id: exit %d, want 1", e.code)
	}
	if e := erpflow(t, env, "recon", "reject", "--database", db, id, "--by", "clerk", "--publish=false"); e.code != 2 {
		t.Errorf("reject without --reason: exit %d, want 2", e.code)
	}
	if e := erpflow(t, env, "recon", "accept", "--database", db, id, "--by", "clerk", "--publish=false"); e.code != 0 {
		t.Fatalf("accept: exit %d %s", e.code, e.stderr)
	}
	if e := erpflow(t, env, "recon", "accept", "--database", db, id, "--by", "clerk", "--publish=false"); e.code != 1 || !strings.Contains(e.stderr, "accepted") {
		t.Errorf("accepting twice: exit %d %s", e.code, e.stderr)
	}
	acc := erpflow(t, env, "recon", "matches", "--database", db, "--outcome", "accepted", "--format", "csv")
	if acc.code != 0 || !strings.Contains(acc.stdout, id) || !strings.HasPrefix(acc.stdout, "match_id,line_id,") {
		t.Errorf("accepted match not listed as accepted:\n%s", acc.stdout)
	}
	if e := erpflow(t, env, "recon", "unmatch", "--database", db, id, "--by", "clerk", "--reason", "payer says it paid INV-2", "--publish=false"); e.code != 0 {
		t.Errorf("unmatch an accepted match: exit %d %s", e.code, e.stderr)
	}
	ex := erpflow(t, env, "recon", "exceptions", "--database", db, "--type", "duplicate_payment", "--format", "csv", "--limit", "0")
	if ex.code != 0 || strings.Count(ex.stdout, "duplicate_payment") == 0 {
		t.Errorf("recon exceptions: exit %d\n%s", ex.code, ex.stdout)
	}
}

func TestMappingTry(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"公司代码":"SH01","单据编号":"BX-1","版本号":"3","最后修改时间":"2025-04-16 14:30:05","工号":"E0042","报销人":"王芳","部门":"销售部","报销金额":"¥1,234.50","报销日期":"2025年4月16日","费用类型":"差旅费","付款状态":"已付款","审批状态":"已审批"}`+"\n"), 0o600)
	r := erpflow(t, nil, "mapping", "try", "../../transforms/mapping/testdata/claims.yaml", good)
	if r.code != 0 || !strings.Contains(r.stdout, `"amount":{"amount":"1234.50","currency":"CNY"}`) || !strings.Contains(r.stdout, `"gl_account":"6601.02"`) {
		t.Fatalf("try: %d %s %s", r.code, r.stdout, r.stderr)
	}
	bad := filepath.Join(dir, "bad.json")
	raw, _ := os.ReadFile(good)
	os.WriteFile(bad, []byte(strings.Replace(string(raw), "已审批", "作废中", 1)), 0o600)
	r = erpflow(t, nil, "mapping", "try", "../../transforms/mapping/testdata/claims.yaml", bad)
	if r.code != 1 || !strings.Contains(r.stdout, "dead letter: unmapped_value:body.approval_status") {
		t.Fatalf("try bad: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// TestRawSourceThroughCLI generates a raw world, sends one source's file
// with produce --source and runs the pipeline: every line becomes a row, a
// dead letter or a counted re-send, in the numbers generate reported.
func TestRawSourceThroughCLI(t *testing.T) {
	ch := chtest.Config(t)
	env := []string{"ERPFLOW_CLICKHOUSE_ADDR=" + ch.Addr, "ERPFLOW_CLICKHOUSE_DATABASE=" + ch.Database}
	addr := startBroker(t)
	world := t.TempDir()
	r := erpflow(t, nil, "generate", "--raw", "--days", "30", "--companies", "2", "--orders-per-day", "20", "--out", world)
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	var lines, records, dead, resends int
	for _, l := range strings.Split(r.stdout, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "reimb_cn" {
			fmt.Sscanf(strings.Join(f[1:], " "), "%d = %d + %d + %d", &lines, &records, &dead, &resends)
		}
	}
	if lines == 0 || records+dead+resends != lines {
		t.Fatalf("generate did not report reimb_cn: %q", r.stdout)
	}
	if r := erpflow(t, nil, "produce", "--brokers", addr, "--source", "reimb_cn", filepath.Join(world, "raw", "reimb_cn.ndjson")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r = erpflow(t, env, "run", "--until-caught-up", "--brokers", addr, "--http-listen", "")
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	want := fmt.Sprintf("consumed=%d landed=%d dead_lettered=%d duplicates=%d", lines, records, dead, resends)
	if got := strings.TrimSpace(r.stdout); !strings.HasSuffix(got, want) {
		t.Fatalf("run: %q, want %q", got, want)
	}
	if r := erpflow(t, nil, "produce", "--brokers", addr, "--source", "nosuch", filepath.Join(world, "raw", "reimb_cn.ndjson")); r.code != 2 {
		t.Errorf("unknown source: exit %d", r.code)
	}
}

// TestBenchSmall runs the whole bench on a tiny world: every measured run
// must read every record, and the minimal loop must have landed each one.
func TestBenchSmall(t *testing.T) {
	ch := chtest.Config(t)
	env := []string{"ERPFLOW_CLICKHOUSE_ADDR=" + ch.Addr}
	db := ch.Database + "_bench"
	dropAfter(t, ch, db, db+"_nomatch")
	dir := t.TempDir()
	r := erpflow(t, env, "bench", "--days", "3", "--companies", "2", "--orders-per-day", "5", "--dir", dir, "--database", db)
	if r.code != 0 {
		t.Fatalf("bench: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var world int64
	var ours, bare, ratio, noMatch, cpu, noMatchCPU, minimal float64
	var rss int
	for _, l := range strings.Split(r.stdout, "\n") {
		switch {
		case strings.HasPrefix(l, "world: "):
			fmt.Sscanf(l, "world: %d", &world)
		case strings.HasPrefix(l, "bench "):
			if n, _ := fmt.Sscanf(l, "bench ours=%f bare=%f ratio_to_bare=%f rss_mib=%d no_matching=%f cpu_us=%f no_matching_cpu_us=%f minimal=%f",
				&ours, &bare, &ratio, &rss, &noMatch, &cpu, &noMatchCPU, &minimal); n != 8 {
				t.Fatalf("bench's last line %q is not the parseable summary", l)
			}
		}
	}
	if world == 0 || ours <= 0 || bare <= 0 || noMatch <= 0 || minimal <= 0 || rss <= 0 {
		t.Fatalf("world %d, rates ours %.0f bare %.0f without matching %.0f minimal %.0f, rss %d:\n%s", world, ours, bare, noMatch, minimal, rss, r.stdout)
	}
	for _, want := range []string{"ClickHouse Kafka engine, flat rows", "minimal loop: decode, envelope to one table", "precision="} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("bench output lacks %q:\n%s", want, r.stdout)
		}
	}
	conn, err := clickhouse.Open(context.Background(), ch, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var rows, ids uint64
	if err := conn.QueryRow(context.Background(), "SELECT count(), uniqExact(kind, company, source, id, version) FROM "+minimalTable).Scan(&rows, &ids); err != nil {
		t.Fatal(err)
	}
	// The world re-sends some records byte for byte: each lands again.
	data, err := os.ReadFile(filepath.Join(dir, "records.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	distinct := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		distinct[l] = true
	}
	if int64(rows) != world || int(ids) != len(distinct) {
		t.Errorf("minimal loop landed %d rows of %d distinct records, want the world's %d of %d", rows, ids, world, len(distinct))
	}
}

// TestMinimalLoopFillsBatches runs the bench's minimal loop with batches
// of seven rows, so that full batches go to both inserters and a partial
// one ends the run: every record lands once.
func TestMinimalLoopFillsBatches(t *testing.T) {
	ch := chtest.Config(t)
	ctx := context.Background()
	cfg := config.Default()
	dir := t.TempDir()
	if _, err := generator.WriteFiles(generator.Config{Seed: 3, Days: 2, Companies: 2, OrdersPerDay: 4}, dir, nil); err != nil {
		t.Fatal(err)
	}
	b, err := kafka.StartBroker(kafka.BrokerConfig{Topics: cfg.AllTopics(), Partitions: cfg.Kafka.Partitions})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	w := kafka.NewWriter(kafka.Plaintext(b.Addr()))
	n, err := kafka.ProduceFile(ctx, w, filepath.Join(dir, "records.ndjson"), kafka.ProduceOptions{TopicFor: cfg.Kafka.Topics.ForKind})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := minimalLoop(ctx, ch, []string{b.Addr()}, cfg.InputTopics(), cfg.Kafka, 7)
	if err != nil {
		t.Fatal(err)
	}
	if got != n || n < 30 {
		t.Fatalf("minimal loop read %d of %d records (want at least 30, for several batches)", got, n)
	}
	conn, err := clickhouse.Open(ctx, ch, ch.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var rows uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+minimalTable).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if int64(rows) != n {
		t.Errorf("minimal loop landed %d rows, want %d", rows, n)
	}
}
