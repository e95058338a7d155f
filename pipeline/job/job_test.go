package job_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/shopspring/decimal"

	"github.com/erpflow/erpflow/connectors/clickhouse"
	"github.com/erpflow/erpflow/connectors/clickhouse/chtest"
	"github.com/erpflow/erpflow/connectors/generator"
	"github.com/erpflow/erpflow/connectors/kafka"
	"github.com/erpflow/erpflow/connectors/kafka/kafkatest"
	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/config"
	"github.com/erpflow/erpflow/pipeline/job"
	"github.com/erpflow/erpflow/pipeline/record"
	"github.com/erpflow/erpflow/transforms/match"
)

// world is generated once for the package: a few days of three companies.
var world struct {
	once sync.Once
	dir  string
	err  error
}

func worldDir(t *testing.T) string {
	t.Helper()
	world.once.Do(func() {
		world.dir, world.err = os.MkdirTemp("", "erpflow-job-test")
		if world.err == nil {
			_, world.err = generator.WriteFiles(generator.Config{Seed: 7, Days: 20, Companies: 3, OrdersPerDay: 25}, world.dir, nil)
		}
	})
	if world.err != nil {
		t.Fatal(world.err)
	}
	return world.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if world.dir != "" {
		os.RemoveAll(world.dir)
	}
	os.Exit(code)
}

// expected reads what ClickHouse must hold: per kind, the number of distinct
// records and the sum of their main amount at their latest version.
type expectation struct {
	rows    map[record.Kind]uint64
	sums    map[record.Kind]decimal.Decimal
	msgs    int
	resends int // lines identical to an earlier line
}

func mainAmount(r *record.Record) (record.Money, string) {
	switch b := r.Body.(type) {
	case *record.Invoice:
		return b.Total, "total"
	case *record.Payment:
		return b.Amount, "amount"
	case *record.BankTxn:
		return b.Amount, "amount"
	case *record.SalesOrder:
		return b.Total, "total"
	case *record.PurchaseOrder:
		return b.Total, "total"
	case *record.ExpenseClaim:
		return b.Amount, "amount"
	}
	return record.Money{}, ""
}

func expected(t *testing.T, path string) expectation {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type key struct {
		k        record.Kind
		c, s, id string
	}
	latest := map[key]record.Record{}
	d := record.NewDecoder()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	e := expectation{rows: map[record.Kind]uint64{}, sums: map[record.Kind]decimal.Decimal{}}
	lines := map[string]bool{}
	for sc.Scan() {
		e.msgs++
		if lines[sc.Text()] {
			e.resends++
		}
		lines[sc.Text()] = true
		var r record.Record
		if err := d.Decode(sc.Bytes(), &r); err != nil {
			t.Fatalf("generated record does not decode: %v", err)
		}
		k := key{r.Kind, r.Company, r.Source, r.ID}
		if old, ok := latest[k]; !ok || r.Version >= old.Version {
			latest[k] = r
		}
	}
	for k, r := range latest {
		e.rows[k.k]++
		if m, _ := mainAmount(&r); m.Currency != (record.Currency{}) {
			e.sums[k.k] = e.sums[k.k].Add(decimal.New(m.Minor, -int32(m.Currency.Scale())))
		}
	}
	return e
}

// verify compares ClickHouse, read with FINAL, to the expectation.
func verify(t *testing.T, chCfg clickhouse.Config, e expectation) {
	t.Helper()
	ctx := context.Background()
	conn := openClickHouse(t, chCfg)
	for k, table := range clickhouse.Tables {
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM "+table+" FINAL").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != e.rows[k] {
			t.Errorf("%s: %d rows with FINAL, want %d", table, n, e.rows[k])
		}
		var r record.Record
		r.Body = record.NewBody(k)
		if _, col := mainAmount(&r); col != "" {
			var sum decimal.Decimal
			if err := conn.QueryRow(ctx, "SELECT sum("+col+") FROM "+table+" FINAL").Scan(&sum); err != nil {
				t.Fatal(err)
			}
			if !sum.Equal(e.sums[k]) {
				t.Errorf("%s: sum(%s) = %s, want %s", table, col, sum, e.sums[k])
			}
		}
	}
}

// openClickHouse connects to the test's database, closed when the test ends.
func openClickHouse(t *testing.T, c clickhouse.Config) driver.Conn {
	t.Helper()
	conn, err := clickhouse.Open(context.Background(), c, c.Database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func setup(t *testing.T) (config.Config, *kafka.Broker) {
	t.Helper()
	cfg := config.Default()
	b, err := kafka.StartBroker(kafka.BrokerConfig{Topics: cfg.AllTopics(), Partitions: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	ch := chtest.Config(t)
	cfg.Kafka.Brokers = []string{b.Addr()}
	cfg.ClickHouse = config.ClickHouse{Addr: ch.Addr, User: ch.User, Password: ch.Password, Database: ch.Database}
	cfg.HTTP.Listen = ""
	cfg.Pipeline.BatchSize = 1000
	cfg.Pipeline.BatchWait = config.Duration(50 * time.Millisecond)
	cfg.Kafka.MaxWait = config.Duration(50 * time.Millisecond)
	return cfg, b
}

func produceWorld(t *testing.T, cfg config.Config, b *kafka.Broker) int64 {
	t.Helper()
	w := kafka.NewWriter(kafka.Plaintext(b.Addr()))
	defer w.Close()
	n, err := kafka.ProduceFile(context.Background(), w, filepath.Join(worldDir(t), "records.ndjson"), kafka.ProduceOptions{TopicFor: cfg.Kafka.Topics.ForKind})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func runUntilCaughtUp(t *testing.T, cfg config.Config) job.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := job.Run(ctx, cfg, job.Options{UntilCaughtUp: true})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestEndToEndExactCountsAndSums(t *testing.T) {
	cfg, b := setup(t)
	e := expected(t, filepath.Join(worldDir(t), "records.ndjson"))
	produced := produceWorld(t, cfg, b)
	if produced != int64(e.msgs) {
		t.Fatalf("produced %d of %d lines", produced, e.msgs)
	}
	res := runUntilCaughtUp(t, cfg)
	if res.Consumed != produced || res.Landed+res.DeadLettered+res.Duplicates != produced || res.DeadLettered != 0 {
		t.Fatalf("stats %+v for %d produced", res.Stats, produced)
	}
	if e.resends == 0 {
		t.Fatal("the test world has no re-sends to count")
	}
	if res.Duplicates != int64(e.resends) {
		t.Errorf("duplicates %d, want the %d exact re-sends in the file", res.Duplicates, e.resends)
	}
	chCfg := chConfig(t, cfg.ClickHouse)
	verify(t, chCfg, e)
}

func TestRestartMidStreamLosesAndDuplicatesNothing(t *testing.T) {
	cfg, b := setup(t)
	e := expected(t, filepath.Join(worldDir(t), "records.ndjson"))
	produced := produceWorld(t, cfg, b)

	// First run: stop as soon as a few batches are committed, mid-stream,
	// and, as a crash would, abandon whatever is in flight (no drain time):
	// some of it may be in ClickHouse already but not committed.
	crashCfg := cfg
	crashCfg.Pipeline.DrainTimeout = config.Duration(time.Nanosecond)
	ctx, cancel := context.WithCancel(context.Background())
	var first pipeline.Stats
	res, err := job.Run(ctx, crashCfg, job.Options{Progress: func(s pipeline.Stats, _ int64) {
		if s.Batches >= 3 {
			cancel()
		}
	}})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	first = res.Stats
	if first.Consumed == 0 || first.Consumed >= produced {
		t.Fatalf("first run consumed %d of %d; the test needs a stop mid-stream", first.Consumed, produced)
	}
	// Second run picks up from the committed offsets.
	second := runUntilCaughtUp(t, cfg)
	if first.Consumed+second.Consumed < produced {
		t.Fatalf("runs consumed %d + %d < %d produced: something was skipped", first.Consumed, second.Consumed, produced)
	}
	verify(t, chConfig(t, cfg.ClickHouse), e)
}

// TestReadAgainCountsNoDuplicates reads every message a second time, as a
// restart does with the batches that landed but were not committed before
// a crash (here a group that committed nothing, so all of them): the
// records are written again, which the tables absorb, and only the world's
// exact re-sends are counted as duplicates, in the run and in the
// duplicates table.
func TestReadAgainCountsNoDuplicates(t *testing.T) {
	cfg, b := setup(t)
	e := expected(t, filepath.Join(worldDir(t), "records.ndjson"))
	produced := produceWorld(t, cfg, b)
	first := runUntilCaughtUp(t, cfg)
	again := cfg
	again.Kafka.GroupID += "-again"
	second := runUntilCaughtUp(t, again)
	if second.Consumed != produced || second.Landed != first.Landed || second.Duplicates != int64(e.resends) {
		t.Errorf("read again: stats %+v; want %d consumed, %d landed as the first time, %d duplicates", second.Stats, produced, first.Landed, e.resends)
	}
	chCfg := chConfig(t, cfg.ClickHouse)
	conn := openClickHouse(t, chCfg)
	var n uint64
	if err := conn.QueryRow(context.Background(), "SELECT count() FROM duplicates FINAL").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != uint64(e.resends) {
		t.Errorf("duplicates table: %d rows, want the %d exact re-sends", n, e.resends)
	}
	verify(t, chCfg, e)
}

func TestBadInputIsDeadLetteredNothingLost(t *testing.T) {
	cfg, b := setup(t)
	e := expected(t, filepath.Join(worldDir(t), "records.ndjson"))
	produced := produceWorld(t, cfg, b)
	bad := map[string]string{
		`{"kind":"invoice"`:                               "invalid_json",
		`{"kind":"memo","company":"SH01"}`:                "unknown_kind",
		"{\"kind\":\"invoice\",\"company\":\"\xc9\xcf\"}": "invalid_utf8",
		`{"kind":"invoice","company":"SH01","source":"erp","id":"X1","version":1,"event_time":"2025-01-01T00:00:00Z","body":{"number":"X1"}}`: "missing_field:body.direction",
		`{"kind":"payment","company":"SH01","source":"erp","id":"X2","version":1.5,"event_time":"2025-01-01T00:00:00Z","body":{}}`:            "wrong_type:version",
		`{"kind":"approval","company":"SH01","source":"erp","id":"X3","version":1,"event_time":"2025-01-01T00:00:00Z","body":{},"extra":1}`:   "unknown_field:extra",
		"   ": "empty_body",
	}
	// A record sent again under its id and version with other content is
	// refused after decoding, when its bytes are no longer held: the dead
	// letter must still carry them.
	conflict := conflictingResend(t, filepath.Join(worldDir(t), "records.ndjson"))
	bad[conflict] = "version_conflict"
	w := kafka.NewWriter(kafka.Plaintext(b.Addr()))
	var msgs []kafkago.Message
	topics := cfg.Kafka.Topics.Inputs()
	i := 0
	for v := range bad {
		if v == conflict {
			msgs = append(msgs, kafkago.Message{Topic: cfg.Kafka.Topics.Invoices, Key: []byte(gjson(t, v, "company")), Value: []byte(v)})
			continue
		}
		msgs = append(msgs, kafkago.Message{Topic: topics[i%len(topics)], Key: []byte("SH01"), Value: []byte(v)})
		i++
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	w.Close()

	res := runUntilCaughtUp(t, cfg)
	total := produced + int64(len(bad))
	if res.Consumed != total || res.DeadLettered != int64(len(bad)) || res.Landed+res.DeadLettered+res.Duplicates != total {
		t.Fatalf("stats %+v; produced %d good and %d bad", res.Stats, produced, len(bad))
	}
	verify(t, chConfig(t, cfg.ClickHouse), e)

	got := map[string]string{}
	err := kafka.ReadTopic(context.Background(), kafka.Plaintext(cfg.Kafka.Brokers...), cfg.Kafka.Topics.DeadLetter, func(m kafkago.Message) error {
		for _, h := range m.Headers {
			if h.Key == kafka.HeaderReason {
				got[string(m.Value)] = string(h.Value)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for v, reason := range bad {
		if got[v] != reason {
			t.Errorf("dead letter for %q: reason %q, want %q", v, got[v], reason)
		}
	}
}

// conflictingResend returns an invoice of the world that has one version
// only, with another status: the same id and version, other content.
func conflictingResend(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	versions := map[string]int{}
	key := func(l string) string {
		return gjson(t, l, "kind") + "/" + gjson(t, l, "company") + "/" + gjson(t, l, "source") + "/" + gjson(t, l, "id")
	}
	for _, l := range lines {
		versions[key(l)]++
	}
	for _, l := range lines {
		if versions[key(l)] == 1 && gjson(t, l, "kind") == "invoice" && strings.Contains(l, `"status":"open"`) {
			return strings.Replace(l, `"status":"open"`, `"status":"cancelled"`, 1)
		}
	}
	t.Fatal("the world has no invoice with one version, open")
	return ""
}

// gjson reads a top-level string field of a JSON line.
func gjson(t *testing.T, line, field string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatal(err)
	}
	v, _ := m[field].(string)
	return v
}

func TestHTTPEndpointsAndGracefulStop(t *testing.T) {
	cfg, b := setup(t)
	produced := produceWorld(t, cfg, b)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.Listen = l.Addr().String()
	l.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	caughtUp := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		_, err := job.Run(ctx, cfg, job.Options{Progress: func(s pipeline.Stats, _ int64) {
			if s.Consumed == produced {
				once.Do(func() { close(caughtUp) })
			}
		}})
		done <- err
	}()
	select {
	case <-caughtUp:
	case err := <-done:
		t.Fatalf("run ended early: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("not caught up")
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + cfg.HTTP.Listen + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz %d", code)
	}
	if code, body := get("/readyz"); code != 200 {
		t.Errorf("/readyz %d %s", code, body)
	}
	_, metrics := get("/metrics")
	for _, want := range []string{
		`erpflow_records_total{kind="invoice",outcome="ok",stage="decode"}`,
		`erpflow_sink_rows_total{kind="bank_txn"}`,
		`erpflow_consumer_lag_messages{partition="0",topic="erp.invoices"}`,
		`erpflow_batch_duration_seconds_bucket{phase="sink"`,
		`erpflow_offset_commits_total{outcome="ok"}`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	cancel() // as SIGTERM does
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("graceful stop returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop")
	}
}

// TestTwoMembersShareTheStream starts a second member in the same group
// while the first is mid-stream, so partitions move with batches in
// flight; between them every record must land once as readers see it.
func TestTwoMembersShareTheStream(t *testing.T) {
	cfg, b := setup(t)
	e := expected(t, filepath.Join(worldDir(t), "records.ndjson"))
	produced := produceWorld(t, cfg, b)
	cfg.Pipeline.BatchSize = 200
	cfg.Kafka.SessionTimeout = config.Duration(2 * time.Second)
	cfg.Kafka.RebalanceTimeout = config.Duration(2 * time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	started := make(chan struct{})
	var once sync.Once
	results := make(chan job.Result, 2)
	errs := make(chan error, 2)
	run := func(progress func(pipeline.Stats, int64)) {
		res, err := job.Run(ctx, cfg, job.Options{UntilCaughtUp: true, Progress: progress})
		results <- res
		errs <- err
	}
	go run(func(s pipeline.Stats, _ int64) {
		if s.Batches >= 2 {
			once.Do(func() { close(started) })
		}
	})
	select {
	case <-started:
	case err := <-errs:
		t.Fatalf("first member ended before the second joined: %v", err)
	}
	go run(nil)
	var total int64
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		total += (<-results).Consumed
	}
	if total < produced {
		t.Fatalf("members consumed %d of %d", total, produced)
	}
	verify(t, chConfig(t, cfg.ClickHouse), e)
}

// TestRawSourcesEndToEnd runs a generated raw world (six source systems'
// own shapes plus the kinds that stay canonical) through the pipeline and
// checks, per kind and company, counts and amount sums against the
// canonical records the raw ones must become, and every planted bad
// record in the dead-letter topic with its reason.
func TestRawSourcesEndToEnd(t *testing.T) {
	cfg, b := setup(t)
	dir := t.TempDir()
	st, err := generator.WriteRawFiles(generator.Config{Seed: 3, Days: 90, Companies: 3, OrdersPerDay: 15}, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	mappings, err := job.LoadMappings(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w := kafka.NewWriter(kafka.Plaintext(b.Addr()))
	var produced int64
	for _, src := range cfg.Sources {
		topic := src.TopicName()
		n, err := kafka.ProduceFile(ctx, w, filepath.Join(dir, "raw", src.Name+".ndjson"),
			kafka.ProduceOptions{Topic: topic, KeyFor: mappings[topic].NewMapper().Company, TimeFor: mappings[topic].NewMapper().EventTime})
		if err != nil {
			t.Fatal(err)
		}
		produced += n
	}
	n, err := kafka.ProduceFile(ctx, w, filepath.Join(dir, "records.ndjson"),
		kafka.ProduceOptions{TopicFor: cfg.Kafka.Topics.ForKind, Keep: generator.IsPassthrough})
	if err != nil {
		t.Fatal(err)
	}
	produced += n
	w.Close()

	res := runUntilCaughtUp(t, cfg)
	planted, resends := 0, 0
	for _, r := range st.Raw {
		planted += r.DeadLetters
		resends += r.Duplicates
	}
	if res.Consumed != produced || res.DeadLettered != int64(planted) || res.Duplicates != int64(resends) ||
		res.Landed != int64(st.Records) {
		t.Fatalf("stats %+v; want %d consumed, %d landed, %d dead letters, %d duplicates", res.Stats, produced, st.Records, planted, resends)
	}
	verifyByCompany(t, chConfig(t, cfg.ClickHouse), filepath.Join(dir, "records.ndjson"))

	// Party names carry their match keys: look-alike spellings of one
	// name share a key.
	conn, err := clickhouse.Open(ctx, chConfig(t, cfg.ClickHouse), cfg.ClickHouse.Database)
	if err != nil {
		t.Fatal(err)
	}
	var unkeyed, names, keys uint64
	if err := conn.QueryRow(ctx, "SELECT countIf(party_key = '' AND party_name != ''), uniqExact(party_name), uniqExact(party_key) FROM invoices FINAL").Scan(&unkeyed, &names, &keys); err != nil {
		t.Fatal(err)
	}
	// Every planted near-duplicate lands, flagged with the record it copies.
	truthFile, err := os.ReadFile(filepath.Join(dir, "truth.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	nearDups := 0
	for _, l := range strings.Split(strings.TrimSpace(string(truthFile)), "\n") {
		if !strings.Contains(l, `"type":"near_duplicate"`) {
			continue
		}
		var x struct {
			Kind      string `json:"kind"`
			SubjectID string `json:"subject_id"`
			RelatedID string `json:"related_id"`
		}
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatal(err)
		}
		nearDups++
		parts := strings.SplitN(x.SubjectID, "/", 3)
		related := strings.SplitN(x.RelatedID, "/", 3)
		k, _ := record.ParseKind(x.Kind)
		var dupOf string
		err := conn.QueryRow(ctx, "SELECT duplicate_of FROM "+clickhouse.Tables[k]+" FINAL WHERE company = ? AND source = ? AND id = ?",
			parts[0], parts[1], parts[2]).Scan(&dupOf)
		if err != nil || dupOf != related[2] {
			t.Errorf("near duplicate %s: duplicate_of %q (%v), want %s", x.SubjectID, dupOf, err, related[2])
		}
	}
	if nearDups == 0 {
		t.Error("the test world has no near duplicates")
	}
	conn.Close()
	if unkeyed != 0 || keys == 0 || keys >= names {
		t.Errorf("invoices: %d named parties without a key; %d names, %d keys (want fewer keys than spellings)", unkeyed, names, keys)
	}

	want := map[string]int{}
	for reason, n := range st.DeadLetters {
		want[reason] = n
	}
	got := map[string]int{}
	err = kafka.ReadTopic(ctx, kafka.Plaintext(cfg.Kafka.Brokers...), cfg.Kafka.Topics.DeadLetter, func(m kafkago.Message) error {
		for _, h := range m.Headers {
			if h.Key == kafka.HeaderReason {
				got[string(h.Value)]++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("dead letters by reason %v, want %v", got, want)
	}
}

// verifyByCompany compares ClickHouse (FINAL) with a canonical file per kind
// and company: distinct records and the sum of their main amount.
func verifyByCompany(t *testing.T, chCfg clickhouse.Config, records string) {
	t.Helper()
	type key struct {
		kind    record.Kind
		company string
	}
	type rec struct {
		version uint64
		minor   decimal.Decimal
	}
	latest := map[string]rec{}
	kindOf := map[string]key{}
	d := record.NewDecoder()
	data, err := os.ReadFile(records)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var r record.Record
		if err := d.Decode([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		id := r.Kind.String() + "/" + r.Company + "/" + r.Source + "/" + r.ID
		m, _ := mainAmount(&r)
		amt := decimal.Zero
		if m.Currency != (record.Currency{}) {
			amt = decimal.New(m.Minor, -int32(m.Currency.Scale()))
		}
		if old, ok := latest[id]; !ok || r.Version >= old.version {
			latest[id] = rec{r.Version, amt}
		}
		kindOf[id] = key{r.Kind, r.Company}
	}
	rows := map[key]uint64{}
	sums := map[key]decimal.Decimal{}
	for id, r := range latest {
		k := kindOf[id]
		rows[k]++
		sums[k] = sums[k].Add(r.minor)
	}
	conn := openClickHouse(t, chCfg)
	for k, table := range clickhouse.Tables {
		var probe record.Record
		probe.Body = record.NewBody(k)
		_, col := mainAmount(&probe)
		sumExpr := "toDecimal64(0, 4)"
		if col != "" {
			sumExpr = "sum(" + col + ")"
		}
		res, err := conn.Query(context.Background(), "SELECT company, count(), "+sumExpr+" FROM "+table+" FINAL GROUP BY company")
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for res.Next() {
			var company string
			var n uint64
			var sum decimal.Decimal
			if err := res.Scan(&company, &n, &sum); err != nil {
				t.Fatal(err)
			}
			seen[company] = true
			kk := key{k, company}
			if n != rows[kk] || (col != "" && !sum.Equal(sums[kk])) {
				t.Errorf("%s %s: %d rows sum %s, want %d rows sum %s", table, company, n, sum, rows[kk], sums[kk])
			}
		}
		res.Close()
		for kk, n := range rows {
			if kk.kind == k && !seen[kk.company] && n > 0 {
				t.Errorf("%s %s: no rows, want %d", table, kk.company, n)
			}
		}
	}
}

// TestDuplicatesAfterRestart sends the world twice, with a restart in
// between: the second copy must be counted as duplicates, not landed, and
// the count must be in ClickHouse.
func TestDuplicatesAfterRestart(t *testing.T) {
	cfg, b := setup(t)
	e := expected(t, filepath.Join(worldDir(t), "records.ndjson"))
	produced := produceWorld(t, cfg, b)
	first := runUntilCaughtUp(t, cfg)
	produceWorld(t, cfg, b)
	second := runUntilCaughtUp(t, cfg)
	if second.Consumed != produced || second.Landed != 0 || second.Duplicates != produced {
		t.Fatalf("second run %+v: want all %d records counted as duplicates", second.Stats, produced)
	}
	verify(t, chConfig(t, cfg.ClickHouse), e)
	conn := openClickHouse(t, chConfig(t, cfg.ClickHouse))
	var n uint64
	if err := conn.QueryRow(context.Background(), "SELECT count() FROM duplicates FINAL").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if int64(n) != first.Duplicates+second.Duplicates {
		t.Errorf("duplicates table has %d rows, runs counted %d + %d", n, first.Duplicates, second.Duplicates)
	}
}

// TestFlagsSurviveRestart lands a world, restarts, and sends a copy of one
// of its AP invoices under a new id: the copy must be flagged as a
// near-duplicate of the original although that landed before the restart.
func TestFlagsSurviveRestart(t *testing.T) {
	cfg, b := setup(t)
	produceWorld(t, cfg, b)
	runUntilCaughtUp(t, cfg)

	data, err := os.ReadFile(filepath.Join(worldDir(t), "records.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	var orig record.Record
	d := record.NewDecoder()
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, `"direction":"AP"`) && strings.Contains(l, `"kind":"invoice"`) && strings.Contains(l, `"status":"open"`) {
			if err := d.Decode([]byte(l), &orig); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if orig.ID == "" {
		t.Fatal("no open AP invoice in the test world")
	}
	dup := orig
	body := *orig.Body.(*record.Invoice)
	body.Number = "DUP-" + orig.ID
	dup.Body, dup.ID, dup.Version = &body, "DUP-"+orig.ID, 1
	dup.EventTime = dup.EventTime.Add(time.Hour)
	w := kafka.NewWriter(kafka.Plaintext(b.Addr()))
	err = w.WriteMessages(context.Background(), kafkago.Message{Topic: cfg.Kafka.Topics.Invoices, Key: []byte(dup.Company), Value: record.Marshal(&dup)})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	runUntilCaughtUp(t, cfg)

	ch := chConfig(t, cfg.ClickHouse)
	conn := openClickHouse(t, ch)
	var dupOf string
	if err := conn.QueryRow(context.Background(), "SELECT duplicate_of FROM invoices FINAL WHERE id = ?", dup.ID).Scan(&dupOf); err != nil {
		t.Fatal(err)
	}
	if dupOf != orig.ID {
		t.Fatalf("duplicate_of %q, want %s (landed before the restart)", dupOf, orig.ID)
	}
}

// reconState is what matching left in ClickHouse, or what a direct replay
// of the records makes: each bank line's outcome and match id, and each
// exception's type, subject and status.
type reconState struct {
	lines      map[string]string // line id -> outcome/match id
	exceptions map[string]string // exception id -> type/subject/status
}

func readRecon(t *testing.T, chCfg clickhouse.Config) reconState {
	t.Helper()
	ctx := context.Background()
	conn := openClickHouse(t, chCfg)
	st := reconState{lines: map[string]string{}, exceptions: map[string]string{}}
	rows, err := conn.Query(ctx, "SELECT line_id, outcome, match_id FROM recon_matches FINAL")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line, outcome, id string
		if err := rows.Scan(&line, &outcome, &id); err != nil {
			t.Fatal(err)
		}
		st.lines[line] = outcome + "/" + id
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read recon_matches back: %v", err)
	}
	rows.Close()
	rows, err = conn.Query(ctx, "SELECT exception_id, type, subject_id, status FROM recon_exceptions FINAL")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, typ, subject, status string
		if err := rows.Scan(&id, &typ, &subject, &status); err != nil {
			t.Fatal(err)
		}
		st.exceptions[id] = typ + "/" + subject + "/" + status
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read recon_exceptions back: %v", err)
	}
	rows.Close()
	return st
}

// replayRecon matches the world's records directly, company by company in
// matching order, each version once, as the stage must whatever the
// interleaving of topics and batches it saw.
func replayRecon(t *testing.T) reconState {
	t.Helper()
	f, err := os.Open(filepath.Join(worldDir(t), "records.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	byCompany := map[string][]record.Record{}
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	d := record.NewDecoder()
	for sc.Scan() {
		var r record.Record
		if err := d.Decode(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		k := fmt.Sprintf("%s/%s/%s/%s/%d", r.Kind, r.Company, r.Source, r.ID, r.Version)
		if seen[k] {
			continue
		}
		seen[k] = true
		byCompany[r.Company] = append(byCompany[r.Company], r)
	}
	st := reconState{lines: map[string]string{}, exceptions: map[string]string{}}
	for c, recs := range byCompany {
		match.SortForMatching(recs)
		rc, err := match.NewReconciler(c, match.DefaultSettings())
		if err != nil {
			t.Fatal(err)
		}
		var out match.Output
		collect := func() {
			for _, l := range out.Lines {
				st.lines[l.Line] = string(l.Outcome) + "/" + l.ID
			}
			for _, x := range out.Exceptions {
				st.exceptions[x.ID] = x.Type + "/" + x.Subject + "/" + x.Status
			}
			out.Reset()
		}
		for i := range recs {
			rc.Add(&recs[i], &out)
			collect()
		}
		rc.Close(recs[len(recs)-1].EventTime, &out)
		collect()
	}
	return st
}

func diffRecon(t *testing.T, got, want reconState) {
	t.Helper()
	if len(want.lines) == 0 || len(want.exceptions) == 0 {
		t.Fatalf("the replay made %d lines and %d exceptions: the test world proves nothing", len(want.lines), len(want.exceptions))
	}
	bad := 0
	for _, m := range []struct {
		what      string
		got, want map[string]string
	}{{"line", got.lines, want.lines}, {"exception", got.exceptions, want.exceptions}} {
		for k, w := range m.want {
			if g := m.got[k]; g != w && bad < 10 {
				bad++
				t.Errorf("%s %s: stream %q, replay %q", m.what, k, g, w)
			}
		}
		for k, g := range m.got {
			if _, ok := m.want[k]; !ok && bad < 10 {
				bad++
				t.Errorf("%s %s: stream %q, not in the replay", m.what, k, g)
			}
		}
	}
}

// TestMatchingStreamEqualsReplay runs matching through Kafka and
// ClickHouse, where topics interleave as fetches happen to come, and
// holds the result to a direct replay of the records in event-time order.
func TestMatchingStreamEqualsReplay(t *testing.T) {
	cfg, b := setup(t)
	produceWorld(t, cfg, b)
	runUntilCaughtUp(t, cfg)
	diffRecon(t, readRecon(t, chConfig(t, cfg.ClickHouse)), replayRecon(t))
}

// TestMatchingRestartGivesTheSameMatches lands the first half of a
// world, then produces the rest and stops the job mid-stream as a crash
// would, then runs it again: each run rebuilds every company from
// ClickHouse, and the end state is that of an unbroken replay.
func TestMatchingRestartGivesTheSameMatches(t *testing.T) {
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprintf("event_time_order=%v", ordered), func(t *testing.T) { testRestart(t, ordered) })
	}
}

func testRestart(t *testing.T, eventTimeOrder bool) {
	cfg, b := setup(t)
	cfg.Kafka.EventTimeOrder = eventTimeOrder
	data, err := os.ReadFile(filepath.Join(worldDir(t), "records.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	dir := t.TempDir()
	half := len(lines) / 2
	w := kafka.NewWriter(kafka.Plaintext(b.Addr()))
	defer w.Close()
	produce := func(part [][]byte) int64 {
		path := filepath.Join(dir, "part.ndjson")
		if err := os.WriteFile(path, bytes.Join(part, nil), 0o644); err != nil {
			t.Fatal(err)
		}
		n, err := kafka.ProduceFile(context.Background(), w, path, kafka.ProduceOptions{TopicFor: cfg.Kafka.Topics.ForKind})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	produce(lines[:half])
	runUntilCaughtUp(t, cfg)
	chCfg := chConfig(t, cfg.ClickHouse)
	if first := readRecon(t, chCfg); len(first.lines) == 0 {
		t.Fatal("the first half matched no line: the restarts would rebuild nothing")
	}

	rest := produce(lines[half:])
	crashCfg := cfg
	crashCfg.Pipeline.DrainTimeout = config.Duration(time.Nanosecond)
	// Small batches, so that the cancel below comes with most of the rest
	// still to land: on a loaded machine one fetch brought all of it into
	// one batch, and the run ended before a stop could come mid-stream.
	crashCfg.Pipeline.BatchSize = max(int(rest/8), 1)
	ctx, cancel := context.WithCancel(context.Background())
	var consumed int64
	_, err = job.Run(ctx, crashCfg, job.Options{Progress: func(s pipeline.Stats, _ int64) {
		if consumed = s.Consumed; s.Consumed >= rest/3 {
			cancel()
		}
	}})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if consumed == 0 || consumed >= rest {
		t.Fatalf("the crashed run consumed %d of %d; the test needs a stop mid-stream", consumed, rest)
	}
	// ClickHouse merges parts in its own time, and once merged the tables
	// keep only each record's newest version. Merge now: the rebuild must
	// still replay every version matching saw (an expense claim approved,
	// paid by a bank debit, then marked paid by the ERP).
	mergeAll(t, chCfg)
	runUntilCaughtUp(t, cfg)
	diffRecon(t, readRecon(t, chCfg), replayRecon(t))
}

// mergeAll makes ClickHouse merge every canonical table down to one row per
// record, as it eventually would on its own. OPTIMIZE does nothing, without
// an error, while a merge of the table is running: it is retried until
// every table holds one row per record.
func mergeAll(t *testing.T, chCfg clickhouse.Config) {
	t.Helper()
	ctx := context.Background()
	conn := openClickHouse(t, chCfg)
	for _, k := range record.Kinds {
		table := clickhouse.Tables[k]
		for try := 0; ; try++ {
			if err := conn.Exec(ctx, "OPTIMIZE TABLE "+table+" FINAL"); err != nil {
				t.Fatal(err)
			}
			var extra int64
			if err := conn.QueryRow(ctx, "SELECT count() - uniqExact(company, source, id) FROM "+table).Scan(&extra); err != nil {
				t.Fatal(err)
			}
			if extra == 0 {
				break
			}
			if try == 50 {
				t.Fatalf("%s still holds %d older versions after %d merges", table, extra, try+1)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// TestReviewDecisionsThroughTheStream: a reversal published on the reviews
// topic reopens what the match settled and sends the line back without it;
// bad decisions are dead-lettered with a reason; and a restart, rebuilding
// from ClickHouse with the recorded decisions, ends in the same state.
func TestReviewDecisionsThroughTheStream(t *testing.T) {
	cfg, b := setup(t)
	produceWorld(t, cfg, b)
	runUntilCaughtUp(t, cfg)
	chCfg := chConfig(t, cfg.ClickHouse)
	ctx := context.Background()
	conn := openClickHouse(t, chCfg)
	var company, line, matchID, target string
	err := conn.QueryRow(ctx, `SELECT m.company, m.line_id, m.match_id, l.target_id FROM recon_matches AS m FINAL
		INNER JOIN (SELECT line_id, match_id, target_id FROM recon_match_lines FINAL) AS l USING (line_id, match_id)
		WHERE m.outcome = 'confirmed' ORDER BY m.line_id LIMIT 1`).Scan(&company, &line, &matchID, &target)
	if err != nil {
		t.Fatalf("no confirmed match to reverse: %v", err)
	}
	w := kafka.NewWriter(kafka.Plaintext(b.Addr()))
	defer w.Close()
	note := match.DecisionNote{Company: company, MatchID: matchID, Action: match.ActionUnmatch, By: "clerk",
		Reason: "the payer says it paid another invoice", DecidedAt: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	bad := match.DecisionNote{Company: company, MatchID: "no-such-match", Action: match.ActionAccept, By: "clerk", DecidedAt: note.DecidedAt}
	if err := w.WriteMessages(ctx,
		kafkago.Message{Topic: cfg.Kafka.Topics.Reviews, Key: []byte(company), Value: note.Encode()},
		kafkago.Message{Topic: cfg.Kafka.Topics.Reviews, Key: []byte(company), Value: bad.Encode()},
		kafkago.Message{Topic: cfg.Kafka.Topics.Reviews, Key: []byte(company), Value: []byte(`{"company":"` + company + `","match_id":"x","action":"approve","by":"clerk","decided_at":"2026-11-23T09:00:00Z"}`)},
	); err != nil {
		t.Fatal(err)
	}
	res := runUntilCaughtUp(t, cfg)
	// The rebuilt history is matched first (no topic has anything new to
	// wait for), so the decision naming no match is refused at once, like
	// the malformed one.
	if res.Consumed != 3 || res.DeadLettered != 2 || res.Landed+res.DeadLettered+res.Duplicates != res.Consumed {
		t.Fatalf("second run %+v: want the 3 decisions consumed, 2 of them dead-lettered, the one applied landed", res.Stats)
	}
	var outcome, by string
	if err := conn.QueryRow(ctx, "SELECT outcome, decided_by FROM recon_matches FINAL WHERE company = ? AND line_id = ?", company, line).Scan(&outcome, &by); err != nil {
		t.Fatal(err)
	}
	if outcome == "confirmed" || by != "clerk" {
		t.Errorf("after the reversal the line is %s, decided by %q", outcome, by)
	}
	parts := strings.SplitN(target, "/", 3)
	var status string
	if err := conn.QueryRow(ctx, "SELECT status FROM recon_open_items FINAL WHERE company = ? AND source = ? AND id = ?", parts[0], parts[1], parts[2]).Scan(&status); err != nil {
		t.Fatal(err)
	}
	if status != "open" {
		t.Errorf("%s is %s after the reversal, want open", target, status)
	}
	var reviews uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM recon_reviews FINAL WHERE match_id = ? AND action = 'unmatch'", matchID).Scan(&reviews); err != nil || reviews != 1 {
		t.Errorf("recon_reviews rows for the reversal: %d, %v", reviews, err)
	}
	reasons := map[string]bool{}
	if err := kafka.ReadTopic(ctx, kafka.Plaintext(b.Addr()), cfg.Kafka.Topics.DeadLetter, func(m kafkago.Message) error {
		for _, h := range m.Headers {
			if h.Key == kafka.HeaderReason {
				reasons[string(h.Value)] = true
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !reasons["invalid_value:action"] || !reasons["unknown_match"] {
		t.Errorf("dead-letter reasons %v, want invalid_value:action and unknown_match", reasons)
	}

	// A new group rebuilds everything from ClickHouse, decisions included,
	// and must leave every line and exception as it was.
	before := readRecon(t, chCfg)
	again := cfg
	again.Kafka.GroupID = "erpflow-rebuild"
	runUntilCaughtUp(t, again)
	after := readRecon(t, chCfg)
	// The new group reads the reviews topic from its start too: the applied
	// decision is recognised and applied once, but the refused one is
	// refused again, as an exception when the rebuilt history was still
	// held back as it came (its message is committed by then).
	for id, x := range after.exceptions {
		if strings.HasPrefix(x, match.ExcReviewRefused+"/no-such-match/") {
			delete(after.exceptions, id)
		}
	}
	diffRecon(t, after, before)
}

// TestStopDuringStartIsClean: a SIGTERM while the job starts (migrating,
// seeding dedupe, joining the group) is a clean stop, exit 0, as one
// while it consumes is; it returned the start-up step's context error.
func TestStopDuringStartIsClean(t *testing.T) {
	cfg, _ := setup(t)
	for _, after := range []time.Duration{0, 30 * time.Millisecond, 150 * time.Millisecond} {
		// Cancelled, as a signal does: a deadline would also set the
		// connections' I/O deadlines, which can fire before ctx reports it.
		ctx, cancel := context.WithCancel(context.Background())
		stop := time.AfterFunc(after, cancel)
		_, err := job.Run(ctx, cfg, job.Options{})
		stop.Stop()
		cancel()
		if err != nil {
			t.Errorf("stopped %v after the start: %v, want a clean stop", after, err)
		}
	}
}

// TestSecureKafkaEndToEnd: the whole run (group, readers, commits, lag,
// dead letters, notes), and the writer erpflow produce makes, reach a
// broker that speaks TLS only and asks for SCRAM, from the
// configuration's kafka.tls and kafka.sasl, the CA certificate read from
// its file. (The readiness check's Ping is tested in connectors/kafka.)
func TestSecureKafkaEndToEnd(t *testing.T) {
	cert, _, caPEM := kafkatest.SelfSigned(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	b, err := kafka.StartBroker(kafka.BrokerConfig{Topics: cfg.AllTopics(), Partitions: 4,
		TLS:   &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		Users: []kafka.SASLUser{{Mechanism: "SCRAM-SHA-512", Name: "erpflow", Password: "s3cret"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	ch := chtest.Config(t)
	cfg.Kafka.Brokers = []string{b.Addr()}
	cfg.Kafka.TLS = config.TLS{Enabled: true, CAFile: caFile}
	cfg.Kafka.SASL = config.KafkaSASL{Mechanism: "SCRAM-SHA-512", Username: "erpflow", Password: "s3cret"}
	cfg.ClickHouse = config.ClickHouse{Addr: ch.Addr, User: ch.User, Password: ch.Password, Database: ch.Database}
	cfg.HTTP.Listen = ""
	cfg.Pipeline.BatchSize = 1000
	cfg.Pipeline.BatchWait = config.Duration(50 * time.Millisecond)
	cfg.Kafka.MaxWait = config.Duration(50 * time.Millisecond)
	cluster, err := job.KafkaCluster(cfg.Kafka)
	if err != nil {
		t.Fatal(err)
	}
	w := kafka.NewWriter(cluster)
	produced, err := kafka.ProduceFile(context.Background(), w, filepath.Join(worldDir(t), "records.ndjson"), kafka.ProduceOptions{TopicFor: cfg.Kafka.Topics.ForKind})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	res := runUntilCaughtUp(t, cfg)
	if res.Consumed != produced || res.Landed+res.DeadLettered+res.Duplicates != produced {
		t.Fatalf("stats %+v for %d produced", res.Stats, produced)
	}
	// The configuration names what it cannot use.
	bad := cfg.Kafka
	bad.TLS.CAFile = filepath.Join(t.TempDir(), "missing.pem")
	if _, err := job.KafkaCluster(bad); err == nil || !strings.Contains(err.Error(), "kafka.tls.ca_file") {
		t.Errorf("a missing CA file: %v", err)
	}
}

// chConfig is job.ClickHouseConfig for a test's configuration.
func chConfig(t *testing.T, c config.ClickHouse) clickhouse.Config {
	t.Helper()
	ch, err := job.ClickHouseConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}
