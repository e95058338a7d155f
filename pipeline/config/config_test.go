package config

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "erpflow.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadOverridesDefaults(t *testing.T) {
	t.Setenv(EnvKafkaBrokers, "")
	t.Setenv(EnvClickHouseAddr, "")
	p := write(t, "kafka:\n  group_id: fin\n  topics:\n    invoices: ap.invoices\npipeline:\n  batch_wait: 250ms\n")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Kafka.GroupID != "fin" || c.Kafka.Topics.Invoices != "ap.invoices" || c.Pipeline.BatchWait.D() != 250*time.Millisecond {
		t.Fatalf("%+v", c)
	}
	if c.Kafka.Topics.Payments != "erp.payments" || c.Pipeline.BatchSize != 20000 {
		t.Fatalf("defaults lost: %+v", c)
	}
}

func TestEnvironmentWinsOverFile(t *testing.T) {
	t.Setenv(EnvKafkaBrokers, "k1:9092, k2:9092")
	t.Setenv(EnvClickHouseAddr, "ch:9000")
	t.Setenv(EnvClickHousePassword, "s3cret")
	p := write(t, "clickhouse:\n  addr: other:9000\n  password_file: /nonexistent\n")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Kafka.Brokers, ",") != "k1:9092,k2:9092" || c.ClickHouse.Addr != "ch:9000" || c.ClickHouse.Password != "s3cret" {
		t.Fatalf("%+v", c)
	}
}

func TestPasswordFile(t *testing.T) {
	t.Setenv(EnvClickHousePassword, "")
	os.Unsetenv(EnvClickHousePassword)
	secret := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(secret, []byte("from-file\n"), 0o600)
	c, err := Load(write(t, "clickhouse:\n  password_file: "+secret+"\n"))
	if err != nil || c.ClickHouse.Password != "from-file" {
		t.Fatalf("password %q, %v", c.ClickHouse.Password, err)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	t.Setenv(EnvKafkaBrokers, "")
	t.Setenv(EnvClickHouseAddr, "")
	cases := []struct{ body, want string }{
		{"kafka:\n  grup_id: x\n", "2:3: kafka.grup_id: unknown key"},
		{"kafka:\n  partitions: many\n", `2:15: kafka.partitions: "many" is not a whole number`},
		{"pipeline:\n  batch_size: 0\n", "pipeline.batch_size: must be between 1"},
		{"pipeline:\n  batch_wait: soon\n", "batch_wait"},
		{"pipeline:\n  sink_linger: -1s\n", "pipeline.sink_linger: must be between 0s"},
		{"pipeline:\n  sink_linger: 2m\n", "pipeline.sink_linger: must be between 0s"},
		{"kafka:\n  topics:\n    payments: erp.invoices\n", "kafka.topics.payments: topic \"erp.invoices\" is also kafka.topics.invoices"},
		{"clickhouse:\n  addr: localhost\n", "clickhouse.addr"},
		{"log:\n  level: loud\n", "log.level"},
		{"matching:\n  workers: -1\n", "matching.workers: must be between 0"},
		{"kafka:\n  brokers: [nohost]\n", "kafka.brokers"},
	}
	for _, c := range cases {
		_, err := Load(write(t, c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to mention %q", c.body, err, c.want)
		}
	}
	// YAML errors carry the line.
	_, err := Load(write(t, "kafka:\n  group_id: x\n  grup_id: y\n"))
	if err == nil || !strings.Contains(err.Error(), "3:") {
		t.Errorf("want a line number in %v", err)
	}
}

// TestEveryProblemAtOnce: go-yaml stops at the first key it refuses; Load
// reports every one, in the file's order with line and key path, and then
// what Check finds in the rest.
func TestEveryProblemAtOnce(t *testing.T) {
	t.Setenv(EnvKafkaBrokers, "")
	t.Setenv(EnvClickHouseAddr, "")
	body := "pipeline:\n  batch_size: -1\n  batch_wait: fast\nlog:\n  level: loud\n  colour: blue\n" +
		"kafka:\n  partitions: many\n  topics:\n    invoices: erp.invoices\n    bogus:\n      a: 1\n  max_wait: 5s\n"
	_, err := Load(write(t, body))
	if err == nil {
		t.Fatal("no error")
	}
	var lines []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if _, after, ok := strings.Cut(l, ".yaml:"); ok {
			l = after
		}
		lines = append(lines, l)
	}
	want := []string{
		`3: pipeline.batch_wait: "fast" is not a duration such as 500ms or 10s`,
		"6:3: log.colour: unknown key",
		`8:15: kafka.partitions: "many" is not a whole number`,
		"11:5: kafka.topics.bogus: unknown key",
		"pipeline.batch_size: must be between 1 and 1000000, got -1",
		`log.level: "loud" is not one of debug, info, warn, error`,
	}
	if !slices.Equal(lines, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestEmptyFileKeepsDefaults(t *testing.T) {
	t.Setenv(EnvKafkaBrokers, "")
	t.Setenv(EnvClickHouseAddr, "")
	for _, body := range []string{"", "# all defaults\n", "\n\n"} {
		c, err := Load(write(t, body))
		if err != nil || c.Kafka.GroupID != "erpflow" || c.Pipeline.BatchSize != 20000 || c.Pipeline.SinkLinger.D() != 500*time.Millisecond {
			t.Errorf("%q: %v, %+v", body, err, c.Pipeline)
		}
	}
}

func TestSources(t *testing.T) {
	t.Setenv(EnvKafkaBrokers, "")
	t.Setenv(EnvClickHouseAddr, "")
	c, err := Load(write(t, "sources:\n  - name: reimb_cn\n  - name: my_bank\n    topic: bank.raw\n    mapping: /etc/erpflow/my_bank.yaml\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sources) != 2 || c.Sources[0].TopicName() != "raw.reimb_cn" || c.Sources[0].MappingName() != "reimb_cn" ||
		c.Sources[1].TopicName() != "bank.raw" || c.Sources[1].MappingName() != "/etc/erpflow/my_bank.yaml" {
		t.Fatalf("%+v", c.Sources)
	}
	if got := c.InputTopics(); len(got) != 11 || got[9] != "raw.reimb_cn" {
		t.Fatalf("inputs %v", got)
	}
	if d := Default(); len(d.Sources) != 6 {
		t.Fatalf("default sources %+v", d.Sources)
	}
	_, err = Load(write(t, "sources:\n  - name: x\n    topic: erp.invoices\n"))
	if err == nil || !strings.Contains(err.Error(), "sources[0].topic") {
		t.Fatalf("a source on a canonical topic: %v", err)
	}
}

func TestMatchingRulesPerCompany(t *testing.T) {
	t.Setenv(EnvKafkaBrokers, "")
	t.Setenv(EnvClickHouseAddr, "")
	p := write(t, `matching:
  rules:
    confirm: 0.95
    approval_levels:
      - {currency: CNY, above: "10000.00", levels: 2}
  companies:
    SH01:
      review: 0.6
      tie_oldest_due: true
      order: [party, reference]
      off: [subset, erp_cleared]
      erp_cleared_days: 3
      approval_levels:
        - {currency: CNY, above: "50000", levels: 3}
    GZ03:
      three_way: {quantity_basis_points: 200, price_abs: "0.05"}
`)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	sh, bj := c.Matching.For("SH01"), c.Matching.For("BJ02")
	if sh.Confirm != 0.95 || sh.Review != 0.6 || sh.TieOldestDue == nil || !*sh.TieOldestDue || sh.FeeMaxMinor != 5000 ||
		len(sh.ApprovalLevels) != 1 || sh.ApprovalLevels[0].Levels != 3 || fmt.Sprint(sh.Order, sh.Off) != "[party reference] [subset erp_cleared]" || sh.ClearedDays != 3 {
		t.Errorf("SH01 rules %+v", sh)
	}
	if bj.Review != 0.5 || bj.ClearedDays != 5 || bj.TieOldestDue != nil || bj.Order != nil || len(bj.ApprovalLevels) != 1 || bj.ApprovalLevels[0].Above != "10000.00" ||
		*bj.ThreeWay != (ThreeWayRules{PriceBasisPoints: 50}) {
		t.Errorf("BJ02 takes the defaults: %+v", bj)
	}
	// A company's three-way block replaces the default one whole: what it
	// leaves out is zero, not the default's.
	if gz := c.Matching.For("GZ03"); *gz.ThreeWay != (ThreeWayRules{QuantityBasisPoints: 200, PriceAbs: "0.05"}) {
		t.Errorf("GZ03 three-way tolerances %+v", *gz.ThreeWay)
	}
	for body, key := range map[string]string{
		"matching:\n  companies:\n    SH01:\n      review: 0.99\n":                                          "matching.companies.SH01.confirm",
		"matching:\n  rules:\n    approval_levels:\n      - {currency: CNY, above: \"1.234\", levels: 2}\n": "matching.rules.approval_levels[0]",
		"matching:\n  rules:\n    approval_levels:\n      - {currency: XXX, above: \"1\", levels: 2}\n":     "matching.rules.approval_levels[0]",
		"matching:\n  rules:\n    max_subset: 20\n":                                                         "matching.rules.max_subset",
		"matching:\n  rules:\n    erp_cleared_days: -1\n":                                                   "matching.rules.erp_cleared_days",
		"matching:\n  rules:\n    party_window_days: -3\n":                                                  "matching.rules.party_window_days",
		"matching:\n  rules:\n    retain_days: 18\n":                                                        "matching.rules.retain_days",
		"matching:\n  companies:\n    SH01:\n      three_way: {price_basis_points: -1}\n":                   "matching.companies.SH01.three_way",
		"matching:\n  rules:\n    three_way: {price_abs: \"0.00001\"}\n":                                    "matching.rules.three_way.price_abs",
		"matching:\n  rules:\n    three_way: {price_abs: \"-1\"}\n":                                         "matching.rules.three_way.price_abs",
	} {
		if _, err := Load(write(t, body)); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%q: %v, want an error naming %s", body, err, key)
		}
	}
}

// TestKafkaSecurity: kafka.tls and kafka.sasl are read, the password from
// its file or the environment, and every inconsistent setting is refused
// naming its key.
func TestKafkaSecurity(t *testing.T) {
	t.Setenv(EnvKafkaBrokers, "")
	t.Setenv(EnvClickHouseAddr, "")
	secret := filepath.Join(t.TempDir(), "kafka-password")
	if err := os.WriteFile(secret, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(write(t, `kafka:
  tls: {enabled: true, ca_file: /etc/ssl/kafka-ca.pem, server_name: kafka.internal}
  sasl: {mechanism: SCRAM-SHA-512, username: erpflow, password_file: `+secret+`}
`))
	if err != nil {
		t.Fatal(err)
	}
	if k := c.Kafka; !k.TLS.Enabled || k.TLS.CAFile != "/etc/ssl/kafka-ca.pem" || k.TLS.ServerName != "kafka.internal" ||
		k.SASL.Mechanism != "SCRAM-SHA-512" || k.SASL.Username != "erpflow" || k.SASL.Password != "from-file" {
		t.Errorf("kafka security read as %+v %+v", k.TLS, k.SASL)
	}
	t.Setenv(EnvKafkaSASLUsername, "svc")
	t.Setenv(EnvKafkaSASLPassword, "from-env")
	if c, err = Load(write(t, "kafka:\n  sasl: {mechanism: SCRAM-SHA-256, username: erpflow, password_file: "+secret+"}\n")); err != nil {
		t.Fatal(err)
	} else if c.Kafka.SASL.Username != "svc" || c.Kafka.SASL.Password != "from-env" {
		t.Errorf("the environment does not win: %+v", c.Kafka.SASL)
	}
	// An empty password in the environment is none: the file stays.
	t.Setenv(EnvKafkaSASLUsername, "")
	t.Setenv(EnvKafkaSASLPassword, "")
	if c, err = Load(write(t, "kafka:\n  sasl: {mechanism: SCRAM-SHA-256, username: erpflow, password_file: "+secret+"}\n")); err != nil {
		t.Fatal(err)
	} else if c.Kafka.SASL.Password != "from-file" {
		t.Errorf("an empty %s wiped the password file: %+v", EnvKafkaSASLPassword, c.Kafka.SASL)
	}
	os.Unsetenv(EnvKafkaSASLPassword)
	for body, key := range map[string]string{
		"kafka:\n  sasl: {mechanism: GSSAPI, username: u, password: p}\n":            "kafka.sasl.mechanism",
		"kafka:\n  sasl: {mechanism: PLAIN, password: p}\n":                          "kafka.sasl.username",
		"kafka:\n  sasl: {mechanism: SCRAM-SHA-256, username: u}\n":                  "kafka.sasl.password",
		"kafka:\n  tls: {ca_file: /x.pem}\n":                                         "kafka.tls.enabled",
		"kafka:\n  tls: {enabled: true, cert_file: /c.pem}\n":                        "kafka.tls.cert_file",
		"kafka:\n  sasl: {mechanism: PLAIN, username: u, password_file: /nowhere}\n": "kafka.sasl.password_file",
		"kafka:\n  sasl: {mechanism: PLAIN, username: u, password: p}\n":             "PLAIN sends the password in clear",
		"kafka:\n  sasl: {password: p}\n":                                            "kafka.sasl.mechanism",
		"clickhouse:\n  tls: {server_name: ch.internal}\n":                           "clickhouse.tls.enabled",
		"clickhouse:\n  tls: {enabled: true, key_file: /k.pem}\n":                    "clickhouse.tls.cert_file",
	} {
		if _, err := Load(write(t, body)); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%q: %v, want an error naming %s", body, err, key)
		}
	}
}
