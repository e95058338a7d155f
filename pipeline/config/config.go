// Package config is erpflow's one configuration file (erpflow.yaml): typed
// keys with defaults, environment overrides for the two servers, and checks
// that name the key at fault.
package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/erpflow/erpflow/pipeline/record"
	"github.com/erpflow/erpflow/transforms/match"
)

// Config is the whole file. Every key has a default (Default).
type Config struct {
	Kafka      Kafka      `yaml:"kafka"`
	Sources    []Source   `yaml:"sources"`
	ClickHouse ClickHouse `yaml:"clickhouse"`
	Pipeline   Pipeline   `yaml:"pipeline"`
	Matching   Matching   `yaml:"matching"`
	HTTP       HTTP       `yaml:"http"`
	Log        Log        `yaml:"log"`
}

// Kafka says where records come from and go to.
type Kafka struct {
	Brokers []string `yaml:"brokers"`
	GroupID string   `yaml:"group_id"`
	// Partitions is used when erpflow creates topics (the embedded broker);
	// topics that are matched against each other need the same count.
	Partitions       int      `yaml:"partitions"`
	Topics           Topics   `yaml:"topics"`
	SessionTimeout   Duration `yaml:"session_timeout"`
	RebalanceTimeout Duration `yaml:"rebalance_timeout"`
	MaxWait          Duration `yaml:"max_wait"`
	MinBytes         int      `yaml:"min_bytes"`
	MaxBytes         int      `yaml:"max_bytes"`
	// EventTimeOrder reads the input partitions oldest first, by the
	// erpflow-event-time header (docs/matching.md, "Order"): for long
	// backfills with matching, whose held records otherwise grow with the
	// span. Off by default: it costs speed (every batch writes every
	// table) and waits up to 20 ms for a partition that falls behind.
	EventTimeOrder bool `yaml:"event_time_order"`
	// TLS and SASL are what a managed cluster asks for; both off by
	// default, as the embedded broker and a local Kafka take.
	TLS  TLS       `yaml:"tls"`
	SASL KafkaSASL `yaml:"sasl"`
}

// TLS configures an encrypted connection.
type TLS struct {
	Enabled bool `yaml:"enabled"`
	// CAFile is the PEM bundle the server's certificate must chain to;
	// empty: the system's roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the client's own certificate and key (PEM),
	// for a server that asks for one (mutual TLS); both or neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName is the name the certificate must carry; empty: the host
	// dialled.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify accepts any certificate: for trying a setup out,
	// never for money.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// KafkaSASL authenticates to the brokers.
type KafkaSASL struct {
	Mechanism    string `yaml:"mechanism"`     // empty (none), PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
	Username     string `yaml:"username"`      // env ERPFLOW_KAFKA_SASL_USERNAME
	Password     string `yaml:"password"`      // env ERPFLOW_KAFKA_SASL_PASSWORD
	PasswordFile string `yaml:"password_file"` // read at start; wins over password
}

// SASLMechanisms are the SASL mechanisms erpflow speaks.
var SASLMechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}

// Topics names every topic erpflow reads or writes.
type Topics struct {
	Invoices       string `yaml:"invoices"`
	Payments       string `yaml:"payments"`
	ExpenseClaims  string `yaml:"expense_claims"`
	Approvals      string `yaml:"approvals"`
	PurchaseOrders string `yaml:"purchase_orders"`
	GoodsReceipts  string `yaml:"goods_receipts"`
	BankTxns       string `yaml:"bank_transactions"`
	SalesOrders    string `yaml:"sales_orders"`
	Shipments      string `yaml:"shipments"`
	DeadLetter     string `yaml:"dead_letter"`
	Matches        string `yaml:"matches"`
	Exceptions     string `yaml:"exceptions"`
	// Reviews carries review decisions on matches (erpflow recon accept,
	// reject, unmatch, or another system's), which matching consumes.
	Reviews string `yaml:"reviews"`
}

// ForKind returns the canonical topic of kind k.
func (t Topics) ForKind(k record.Kind) string {
	switch k {
	case record.KindInvoice:
		return t.Invoices
	case record.KindPayment:
		return t.Payments
	case record.KindBankTxn:
		return t.BankTxns
	case record.KindSalesOrder:
		return t.SalesOrders
	case record.KindShipment:
		return t.Shipments
	case record.KindPurchaseOrder:
		return t.PurchaseOrders
	case record.KindGoodsReceipt:
		return t.GoodsReceipts
	case record.KindExpenseClaim:
		return t.ExpenseClaims
	case record.KindApproval:
		return t.Approvals
	}
	return ""
}

// Inputs are the canonical topics the pipeline consumes.
func (t Topics) Inputs() []string {
	out := make([]string, 0, len(record.Kinds))
	for _, k := range record.Kinds {
		out = append(out, t.ForKind(k))
	}
	return out
}

// All is every topic, inputs and outputs, for creating them.
func (t Topics) All() []string {
	return append(t.Inputs(), t.DeadLetter, t.Matches, t.Exceptions, t.Reviews)
}

// Source is a system whose records arrive in its own shape on a raw topic
// and become canonical through a mapping file (docs/mapping.md).
type Source struct {
	Name    string `yaml:"name"`    // the source's name, e.g. reimb_cn
	Topic   string `yaml:"topic"`   // default raw.<name>
	Mapping string `yaml:"mapping"` // a shipped mapping's name, or a file path; default the name
}

// TopicName is the source's raw topic.
func (s Source) TopicName() string {
	if s.Topic != "" {
		return s.Topic
	}
	return "raw." + s.Name
}

// MappingName is the shipped mapping or file the source uses.
func (s Source) MappingName() string {
	if s.Mapping != "" {
		return s.Mapping
	}
	return s.Name
}

// RawTopics are the raw topics of all sources.
func (c *Config) RawTopics() []string {
	out := make([]string, len(c.Sources))
	for i, s := range c.Sources {
		out[i] = s.TopicName()
	}
	return out
}

// InputTopics are all topics the pipeline consumes: the canonical ones and
// every source's raw topic.
func (c *Config) InputTopics() []string { return append(c.Kafka.Topics.Inputs(), c.RawTopics()...) }

// AllTopics are every topic erpflow reads or writes, for creating them.
func (c *Config) AllTopics() []string { return append(c.Kafka.Topics.All(), c.RawTopics()...) }

// ClickHouse says where records land.
type ClickHouse struct {
	Addr         string `yaml:"addr"` // native protocol host:port
	User         string `yaml:"user"`
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"password_file"` // read at start; wins over password
	Database     string `yaml:"database"`
	// TLS is for a server's secure native port (9440 by convention, as
	// ClickHouse Cloud asks); off: plaintext.
	TLS TLS `yaml:"tls"`
}

// Pipeline tunes batching.
type Pipeline struct {
	BatchSize       int      `yaml:"batch_size"`
	BatchWait       Duration `yaml:"batch_wait"`
	SinkConcurrency int      `yaml:"sink_concurrency"`
	// SinkLinger is how long a sink writer waits for more batches to land
	// with the one it took, in one insert per table (see pipeline.Config).
	// 500ms by default: fewer, larger inserts are fewer parts for
	// ClickHouse to write and merge. Against 200ms, in two rotations of
	// eight runs (the bench's world, matching on) it landed 4 % sooner, for
	// 3 % more of erpflow's CPU and 30 % less of ClickHouse's; raw input
	// and runs without matching came out level (docs/benchmarks.md,
	// eleventh session).
	SinkLinger   Duration `yaml:"sink_linger"`
	DrainTimeout Duration `yaml:"drain_timeout"`
}

// Matching configures the reconciliation stage (transforms/match).
type Matching struct {
	Enabled bool `yaml:"enabled"`
	// Lateness, when set, is how far one input topic may lag the others,
	// in event time, before records are matched without waiting for it;
	// 0 (the default) always waits, which keeps matching deterministic.
	Lateness Duration `yaml:"lateness"`
	// Workers is how many companies a batch may release at once, each on
	// a goroutine (docs/matching.md, "Companies in parallel"). 0, the
	// default, releases them one after another until every input partition
	// is read to its end, then one a core: on two cores shared with
	// ClickHouse, lanes running beside the other stages made the collector
	// run more often than they saved. 1 is always one after another.
	Workers int        `yaml:"workers"`
	Rules   MatchRules `yaml:"rules"`
	// Companies override rules per company code; a key left out (or zero)
	// takes the value of matching.rules.
	Companies map[string]MatchRules `yaml:"companies"`
}

// MatchRules are one company's matching parameters.
type MatchRules struct {
	Confirm float64 `yaml:"confirm"` // score at or above which a match is confirmed
	Review  float64 `yaml:"review"`  // score at or above which it goes to review
	Margin  float64 `yaml:"margin"`  // candidates closer than this are ambiguous
	// A payer's bank may keep a fee: up to fee_max_minor (minor units)
	// and fee_basis_points of the amount.
	FeeMaxMinor    int64 `yaml:"fee_max_minor"`
	FeeBasisPoints int64 `yaml:"fee_basis_points"`
	MaxSubset      int   `yaml:"max_subset"` // invoices one line may pay by subset sum
	// PartyWindowDays bounds the party rules' dates: a line booked more
	// than this many days after the due date of what it would pay is
	// proposed for review, not confirmed.
	PartyWindowDays int `yaml:"party_window_days"`
	// TieOldestDue settles a payer's equal open amounts oldest due first
	// instead of sending them to review.
	TieOldestDue  *bool `yaml:"tie_oldest_due"`
	UnmatchedDays int   `yaml:"unmatched_days"` // a bank line unmatched, or an ERP receipt unbanked, this long is an exception
	DuplicateDays int   `yaml:"duplicate_days"` // same payee and amount this close: a duplicate payment
	RetainDays    int   `yaml:"retain_days"`    // settled state idle this long is forgotten
	// ClearedDays is how long after a line in review the ERP's marking
	// one of its candidate invoices paid still settles it.
	ClearedDays int      `yaml:"erp_cleared_days"`
	RefPatterns []string `yaml:"ref_patterns"` // document numbers in remittance text (three groups each)
	// ApprovalLevels is the approval policy by amount: money out of more
	// than above (a decimal in currency) needs approval up to levels.
	ApprovalLevels []ApprovalLevel `yaml:"approval_levels"`
	// Order lists the rule families in the order they are tried
	// (reference, party); one left out is off. Off turns single rules off
	// (run, subset, instalment, fixed_fee, erp_cleared).
	Order []string `yaml:"order"`
	Off   []string `yaml:"off"`
	// ThreeWay bounds how far a supplier invoice may bill beyond its
	// purchase order and goods receipts; a company's block replaces the
	// default one whole.
	ThreeWay *ThreeWayRules `yaml:"three_way"`
}

// ThreeWayRules are the three-way match's tolerances. Billing less than
// ordered or received is never a mismatch.
type ThreeWayRules struct {
	QuantityBasisPoints int64  `yaml:"quantity_basis_points"` // billed over received, per SKU
	PriceBasisPoints    int64  `yaml:"price_basis_points"`    // unit price over the order's
	PriceAbs            string `yaml:"price_abs"`             // and a fixed allowance on the unit price (a decimal; empty: none)
}

// Fixed parses PriceAbs.
func (t ThreeWayRules) Fixed() (record.Fixed, error) {
	if t.PriceAbs == "" {
		return 0, nil
	}
	return record.ParseFixed(t.PriceAbs)
}

// ApprovalLevel is one threshold of the approval policy.
type ApprovalLevel struct {
	Currency string `yaml:"currency"`
	Above    string `yaml:"above"`
	Levels   uint32 `yaml:"levels"`
}

// Money parses the threshold.
func (l ApprovalLevel) Money() (record.Money, error) {
	c, err := record.ParseCurrency(l.Currency)
	if err != nil {
		return record.Money{}, err
	}
	return record.ParseMoney(l.Above, c)
}

// For returns a company's rules: its overrides over matching.rules.
func (m Matching) For(company string) MatchRules {
	r := m.Rules
	o, ok := m.Companies[company]
	if !ok {
		return r
	}
	for _, f := range []struct {
		dst *float64
		src float64
	}{{&r.Confirm, o.Confirm}, {&r.Review, o.Review}, {&r.Margin, o.Margin}} {
		if f.src != 0 {
			*f.dst = f.src
		}
	}
	for _, f := range []struct {
		dst *int64
		src int64
	}{{&r.FeeMaxMinor, o.FeeMaxMinor}, {&r.FeeBasisPoints, o.FeeBasisPoints}} {
		if f.src != 0 {
			*f.dst = f.src
		}
	}
	for _, f := range []struct {
		dst *int
		src int
	}{{&r.MaxSubset, o.MaxSubset}, {&r.PartyWindowDays, o.PartyWindowDays}, {&r.UnmatchedDays, o.UnmatchedDays}, {&r.DuplicateDays, o.DuplicateDays}, {&r.RetainDays, o.RetainDays}, {&r.ClearedDays, o.ClearedDays}} {
		if f.src != 0 {
			*f.dst = f.src
		}
	}
	if o.TieOldestDue != nil {
		r.TieOldestDue = o.TieOldestDue
	}
	if len(o.RefPatterns) > 0 {
		r.RefPatterns = o.RefPatterns
	}
	if len(o.ApprovalLevels) > 0 {
		r.ApprovalLevels = o.ApprovalLevels
	}
	if o.Order != nil {
		r.Order = o.Order
	}
	if o.Off != nil {
		r.Off = o.Off
	}
	if o.ThreeWay != nil {
		r.ThreeWay = o.ThreeWay
	}
	return r
}

// HTTP serves /metrics, /healthz and /readyz.
type HTTP struct {
	Listen string `yaml:"listen"` // empty disables the server
}

// Log sets the structured log.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// Default returns the configuration used when a key is not set.
func Default() Config {
	return Config{
		Kafka: Kafka{
			Brokers:    []string{"127.0.0.1:9092"},
			GroupID:    "erpflow",
			Partitions: 4,
			Topics: Topics{
				Invoices: "erp.invoices", Payments: "erp.payments", ExpenseClaims: "erp.expense_claims",
				Approvals: "erp.approvals", PurchaseOrders: "erp.purchase_orders", GoodsReceipts: "erp.goods_receipts",
				BankTxns: "bank.transactions", SalesOrders: "sales.orders", Shipments: "sales.shipments",
				DeadLetter: "erpflow.dlq", Matches: "erpflow.matches", Exceptions: "erpflow.exceptions", Reviews: "erpflow.reviews",
			},
			SessionTimeout:   Duration(10 * time.Second),
			RebalanceTimeout: Duration(10 * time.Second),
			MaxWait:          Duration(250 * time.Millisecond),
			MinBytes:         64 << 10,
			MaxBytes:         1 << 20,
		},
		Sources:    []Source{{Name: "reimb_cn"}, {Name: "erp_cn"}, {Name: "sap_en"}, {Name: "shop"}, {Name: "bank_a"}, {Name: "bank_b"}},
		ClickHouse: ClickHouse{Addr: "127.0.0.1:9000", User: "default", Database: "erpflow"},
		Pipeline:   Pipeline{BatchSize: 20000, BatchWait: Duration(500 * time.Millisecond), SinkConcurrency: 2, SinkLinger: Duration(500 * time.Millisecond), DrainTimeout: Duration(15 * time.Second)},
		Matching: Matching{Enabled: true, Rules: MatchRules{
			Confirm: 0.9, Review: 0.5, Margin: 0.05, FeeMaxMinor: 5000, FeeBasisPoints: 50, MaxSubset: 4, PartyWindowDays: 180,
			UnmatchedDays: 14, DuplicateDays: 14, RetainDays: 120, ClearedDays: 5,
			// Half a percent on price, for rounding of converted or
			// tax-inclusive unit prices (match.DefaultThreeWayTolerance).
			ThreeWay: &ThreeWayRules{PriceBasisPoints: 50}}},
		HTTP: HTTP{Listen: "127.0.0.1:9464"},
		Log:  Log{Level: "info", Format: "text"},
	}
}

// Load reads path over the defaults (an empty path means defaults only),
// applies the environment and checks the result. Unknown keys are errors:
// a misspelt key silently ignored is a setting that silently does not apply.
func Load(path string) (Config, error) {
	cfg := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		// go-yaml zeroes the whole struct for an empty document (or one
		// of comments only), which would wipe the defaults.
		var doc any
		if err := guarded(func() error { return yaml.Unmarshal(data, &doc) }); err != nil {
			_, msg := describe(data, err)
			return cfg, fmt.Errorf("config %s:%s", path, msg)
		}
		if doc != nil {
			var problems []error
			cfg, problems = decodeAll(path, data)
			if len(problems) > 0 {
				// What decoded is checked too, so that one run of
				// config check lists every problem of the file.
				if err := cfg.Check(); err != nil {
					problems = append(problems, err)
				}
				return cfg, errors.Join(problems...)
			}
		}
	}
	if err := cfg.ApplyEnv(os.LookupEnv); err != nil {
		return cfg, err
	}
	if err := cfg.resolveSecrets(); err != nil {
		return cfg, err
	}
	return cfg, cfg.Check()
}

// maxDecodeProblems bounds decodeAll's passes over a file.
const maxDecodeProblems = 50

// decodeAll decodes data over the defaults and reports every key go-yaml
// refuses, not only the first, where it stops: each refused key's line,
// and the lines indented under it, are blanked (so that lines keep their
// numbers) and the rest decoded again. A problem whose line cannot be told
// ends the search.
func decodeAll(path string, data []byte) (Config, []error) {
	type problem struct {
		line int
		err  error
	}
	var found []problem
	// In the file's order, as a person reads it; go-yaml finds them in
	// the order of the configuration's fields.
	sorted := func() []error {
		slices.SortStableFunc(found, func(a, b problem) int { return cmp.Compare(a.line, b.line) })
		out := make([]error, len(found))
		for i, p := range found {
			out[i] = p.err
		}
		return out
	}
	for range maxDecodeProblems {
		cfg := Default()
		var doc any
		if guarded(func() error { return yaml.Unmarshal(data, &doc) }) == nil && doc == nil {
			// Nothing left: go-yaml would zero the defaults.
			return cfg, sorted()
		}
		err := guarded(func() error { return yaml.UnmarshalWithOptions(data, &cfg, yaml.DisallowUnknownField()) })
		if err == nil {
			return cfg, sorted()
		}
		line, msg := describe(data, err)
		found = append(found, problem{line, fmt.Errorf("config %s:%s", path, msg)})
		if line == 0 || strings.TrimSpace(strings.Split(string(data), "\n")[line-1]) == "" {
			// Where it is cannot be told, or blanking did not move
			// go-yaml on: stop rather than report it again.
			return cfg, sorted()
		}
		data = blankEntry(data, line)
	}
	return Default(), sorted()
}

// guarded runs f, turning a panic into an error: go-yaml v1.19 panics on
// some malformed files (a tag before a block of keys; mapping's FuzzLoad
// found one).
func guarded(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("not YAML erpflow can read (the YAML library failed: %v)", r)
		}
	}()
	return f()
}

// describe renders a decoding error as "line: key.path: reason" and
// returns its line (1-based), or 0 when it cannot be told.
func describe(data []byte, err error) (int, string) {
	lines := strings.Split(string(data), "\n")
	var bv *badValue
	if errors.As(err, &bv) {
		for i, l := range lines {
			_, v, ok := strings.Cut(l, ":")
			if ok && strings.Trim(strings.TrimSpace(v), `"'`) == bv.value {
				return i + 1, fmt.Sprintf("%d: %s: %v", i+1, keyPath(lines, i), bv)
			}
		}
		return 0, " " + bv.Error()
	}
	var ye yaml.Error
	if !errors.As(err, &ye) || ye.GetToken() == nil {
		return 0, "\n" + yaml.FormatError(err, false, true)
	}
	tk := ye.GetToken()
	i := tk.Position.Line - 1
	if i < 0 || i >= len(lines) {
		return 0, "\n" + yaml.FormatError(err, false, true)
	}
	reason := ye.GetMessage()
	var te *yaml.TypeError
	var ue *yaml.UnknownFieldError
	switch {
	case errors.As(err, &ue):
		reason = "unknown key"
	case errors.As(err, &te) && te.SrcType != nil && te.SrcType.Kind() != reflect.String:
		reason = fmt.Sprintf("%s is not %s", kindOf(te.SrcType), kindOf(te.DstType))
	case errors.As(err, &te):
		reason = fmt.Sprintf("%q is not %s", tk.Value, kindOf(te.DstType))
	}
	return i + 1, fmt.Sprintf("%d:%d: %s: %s", i+1, tk.Position.Column, keyPath(lines, i), reason)
}

// kindOf says in words what a Go type of the configuration holds.
func kindOf(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "text"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping of keys"
	}
	return "of type " + t.String()
}

// keyPath is the dotted path of the key on line i of a block-style YAML
// file: its own key and those of the lines above indented less.
func keyPath(lines []string, i int) string {
	indent := func(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }
	key := func(l string) string {
		k, _, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "- ")), ":")
		return strings.TrimSpace(k)
	}
	path := []string{key(lines[i])}
	for at, j := indent(lines[i]), i-1; j >= 0 && at > 0; j-- {
		l := lines[j]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") || indent(l) >= at {
			continue
		}
		at = indent(l)
		path = append([]string{key(l)}, path...)
	}
	return strings.Join(path, ".")
}

// blankEntry empties line n (1-based) and the lines after it indented
// more deeply (its value, when that is a block), keeping every line's
// number.
func blankEntry(data []byte, n int) []byte {
	lines := strings.Split(string(data), "\n")
	indent := func(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }
	at := indent(lines[n-1])
	lines[n-1] = ""
	for j := n; j < len(lines); j++ {
		if strings.TrimSpace(lines[j]) != "" && indent(lines[j]) <= at {
			break
		}
		lines[j] = ""
	}
	return []byte(strings.Join(lines, "\n"))
}

// Duration is a time.Duration written as "500ms" or "10s".
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return &badValue{value: string(b), want: "a duration such as 500ms or 10s"}
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// badValue is an error from one of our value types, which go-yaml reports
// without a position; positioned finds the line itself.
type badValue struct{ value, want string }

func (e *badValue) Error() string { return fmt.Sprintf("%q is not %s", e.value, e.want) }

// Env names the variables that override the file, as DESIGN.md lists them.
const (
	EnvKafkaBrokers       = "ERPFLOW_KAFKA_BROKERS"
	EnvClickHouseAddr     = "ERPFLOW_CLICKHOUSE_ADDR"
	EnvClickHouseUser     = "ERPFLOW_CLICKHOUSE_USER"
	EnvClickHousePassword = "ERPFLOW_CLICKHOUSE_PASSWORD"
	EnvClickHouseDatabase = "ERPFLOW_CLICKHOUSE_DATABASE"
	// Not in DESIGN.md's list: the Kafka credentials, which a container
	// gets from its environment rather than a file it ships with.
	EnvKafkaSASLUsername = "ERPFLOW_KAFKA_SASL_USERNAME"
	EnvKafkaSASLPassword = "ERPFLOW_KAFKA_SASL_PASSWORD"
)

// ApplyEnv overrides keys from the environment.
func (c *Config) ApplyEnv(lookup func(string) (string, bool)) error {
	if v, ok := lookup(EnvKafkaBrokers); ok && v != "" {
		c.Kafka.Brokers = SplitList(v)
	}
	for env, dst := range map[string]*string{
		EnvClickHouseAddr: &c.ClickHouse.Addr, EnvClickHouseUser: &c.ClickHouse.User,
		EnvClickHouseDatabase: &c.ClickHouse.Database,
	} {
		if v, ok := lookup(env); ok && v != "" {
			*dst = v
		}
	}
	if v, ok := lookup(EnvClickHousePassword); ok {
		c.ClickHouse.Password = v
		c.ClickHouse.PasswordFile = ""
	}
	if v, ok := lookup(EnvKafkaSASLUsername); ok && v != "" {
		c.Kafka.SASL.Username = v
	}
	if v, ok := lookup(EnvKafkaSASLPassword); ok && v != "" {
		c.Kafka.SASL.Password = v
		c.Kafka.SASL.PasswordFile = ""
	}
	return nil
}

func (c *Config) resolveSecrets() error {
	for _, f := range []struct {
		key, file string
		dst       *string
	}{{"clickhouse.password_file", c.ClickHouse.PasswordFile, &c.ClickHouse.Password},
		{"kafka.sasl.password_file", c.Kafka.SASL.PasswordFile, &c.Kafka.SASL.Password}} {
		if f.file == "" {
			continue
		}
		b, err := os.ReadFile(f.file)
		if err != nil {
			return fmt.Errorf("%s: %w", f.key, err)
		}
		*f.dst = string(bytes.TrimRight(b, "\r\n"))
	}
	return nil
}

// SplitList splits a comma-separated list, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Check validates every key and reports all problems at once, each naming
// its key.
func (c *Config) Check() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if len(c.Kafka.Brokers) == 0 {
		bad("kafka.brokers", "at least one host:port is required")
	}
	for _, b := range c.Kafka.Brokers {
		if !strings.Contains(b, ":") {
			bad("kafka.brokers", "%q is not host:port", b)
		}
	}
	if c.Kafka.GroupID == "" {
		bad("kafka.group_id", "must not be empty")
	}
	if c.Kafka.Partitions < 1 {
		bad("kafka.partitions", "must be at least 1, got %d", c.Kafka.Partitions)
	}
	seen := map[string]string{}
	for _, tk := range []struct{ key, name string }{
		{"invoices", c.Kafka.Topics.Invoices}, {"payments", c.Kafka.Topics.Payments},
		{"expense_claims", c.Kafka.Topics.ExpenseClaims}, {"approvals", c.Kafka.Topics.Approvals},
		{"purchase_orders", c.Kafka.Topics.PurchaseOrders}, {"goods_receipts", c.Kafka.Topics.GoodsReceipts},
		{"bank_transactions", c.Kafka.Topics.BankTxns}, {"sales_orders", c.Kafka.Topics.SalesOrders},
		{"shipments", c.Kafka.Topics.Shipments}, {"dead_letter", c.Kafka.Topics.DeadLetter},
		{"matches", c.Kafka.Topics.Matches}, {"exceptions", c.Kafka.Topics.Exceptions}, {"reviews", c.Kafka.Topics.Reviews},
	} {
		key := "kafka.topics." + tk.key
		switch {
		case tk.name == "":
			bad(key, "must not be empty")
		case seen[tk.name] != "":
			bad(key, "topic %q is also kafka.topics.%s", tk.name, seen[tk.name])
		default:
			seen[tk.name] = tk.key
		}
	}
	for i, src := range c.Sources {
		key := fmt.Sprintf("sources[%d]", i)
		switch {
		case src.Name == "":
			bad(key+".name", "must not be empty")
		case seen[src.TopicName()] != "":
			bad(key+".topic", "topic %q is also kafka.topics.%s", src.TopicName(), seen[src.TopicName()])
		default:
			seen[src.TopicName()] = key
		}
	}
	for key, d := range map[string]Duration{"kafka.session_timeout": c.Kafka.SessionTimeout,
		"kafka.rebalance_timeout": c.Kafka.RebalanceTimeout, "kafka.max_wait": c.Kafka.MaxWait,
		"pipeline.batch_wait": c.Pipeline.BatchWait, "pipeline.drain_timeout": c.Pipeline.DrainTimeout} {
		if d <= 0 {
			bad(key, "must be a positive duration such as 500ms or 10s")
		}
	}
	if c.Kafka.MinBytes < 1 || c.Kafka.MaxBytes < c.Kafka.MinBytes {
		bad("kafka.min_bytes", "need 1 <= min_bytes <= max_bytes, got %d and %d", c.Kafka.MinBytes, c.Kafka.MaxBytes)
	}
	if !strings.Contains(c.ClickHouse.Addr, ":") {
		bad("clickhouse.addr", "%q is not host:port of the native protocol", c.ClickHouse.Addr)
	}
	if c.ClickHouse.Database == "" {
		bad("clickhouse.database", "must not be empty")
	}
	if c.Pipeline.BatchSize < 1 || c.Pipeline.BatchSize > 1_000_000 {
		bad("pipeline.batch_size", "must be between 1 and 1000000, got %d", c.Pipeline.BatchSize)
	}
	if c.Pipeline.SinkConcurrency < 1 || c.Pipeline.SinkConcurrency > 16 {
		bad("pipeline.sink_concurrency", "must be between 1 and 16, got %d", c.Pipeline.SinkConcurrency)
	}
	if c.Pipeline.SinkLinger < 0 || c.Pipeline.SinkLinger.D() > time.Minute {
		bad("pipeline.sink_linger", "must be between 0s (write what is waiting) and 1m, got %s", c.Pipeline.SinkLinger.D())
	}
	if c.Matching.Workers < 0 || c.Matching.Workers > 256 {
		bad("matching.workers", "must be between 0 (automatic) and 256, got %d", c.Matching.Workers)
	}
	if c.Matching.Lateness < 0 {
		bad("matching.lateness", "must be 0 (wait for every topic) or a positive duration such as 24h")
	}
	checkRules := func(key string, r MatchRules) {
		if !(0 < r.Review && r.Review <= r.Confirm && r.Confirm <= 1) {
			bad(key+".confirm", "need 0 < review <= confirm <= 1, got review %g and confirm %g", r.Review, r.Confirm)
		}
		if r.Margin < 0 || r.Margin >= 1 {
			bad(key+".margin", "must be in [0, 1), got %g", r.Margin)
		}
		if r.FeeMaxMinor < 0 || r.FeeBasisPoints < 0 || r.FeeBasisPoints > 10000 {
			bad(key+".fee_max_minor", "fees must be >= 0 and fee_basis_points <= 10000, got %d and %d", r.FeeMaxMinor, r.FeeBasisPoints)
		}
		if r.MaxSubset < 1 || r.MaxSubset > 8 {
			bad(key+".max_subset", "must be between 1 and 8, got %d", r.MaxSubset)
		}
		if err := match.CheckRules(r.Order, r.Off); err != nil {
			bad(key+".order", "%v", err)
		}
		for i, l := range r.ApprovalLevels {
			if _, err := l.Money(); err != nil {
				bad(fmt.Sprintf("%s.approval_levels[%d]", key, i), "currency %q and above %q: %v", l.Currency, l.Above, err)
			}
			if l.Levels < 1 {
				bad(fmt.Sprintf("%s.approval_levels[%d].levels", key, i), "must be at least 1")
			}
		}
		if t := r.ThreeWay; t != nil {
			if t.QuantityBasisPoints < 0 || t.PriceBasisPoints < 0 || t.QuantityBasisPoints > 10000 || t.PriceBasisPoints > 10000 {
				bad(key+".three_way", "basis points must be between 0 and 10000, got quantity %d and price %d", t.QuantityBasisPoints, t.PriceBasisPoints)
			}
			if f, err := t.Fixed(); err != nil || f < 0 {
				bad(key+".three_way.price_abs", "want a decimal of at least 0 with at most 4 fractional digits, got %q", t.PriceAbs)
			}
		}
		for name, v := range map[string]int{"unmatched_days": r.UnmatchedDays, "duplicate_days": r.DuplicateDays, "retain_days": r.RetainDays,
			"erp_cleared_days": r.ClearedDays, "party_window_days": r.PartyWindowDays} {
			if v < 1 {
				bad(key+"."+name, "must be at least 1, got %d", v)
			}
		}
		if r.RetainDays < r.UnmatchedDays+r.ClearedDays {
			// Lines and the ERP's receipts find each other that long.
			bad(key+".retain_days", "must be at least unmatched_days + erp_cleared_days (%d), got %d", r.UnmatchedDays+r.ClearedDays, r.RetainDays)
		}
	}
	for key, t := range map[string]TLS{"kafka.tls": c.Kafka.TLS, "clickhouse.tls": c.ClickHouse.TLS} {
		if !t.Enabled && (t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != "" || t.InsecureSkipVerify) {
			bad(key+".enabled", "is false, but other %s keys are set: say enabled: true, or leave them out", key)
		}
		if (t.CertFile == "") != (t.KeyFile == "") {
			bad(key+".cert_file", "a client certificate needs its key_file, and a key its cert_file")
		}
	}
	if a := c.Kafka.SASL; a.Mechanism != "" || a.Username != "" || a.Password != "" {
		if !slices.Contains(SASLMechanisms, a.Mechanism) {
			bad("kafka.sasl.mechanism", "%q is not one of %s", a.Mechanism, strings.Join(SASLMechanisms, ", "))
		}
		if a.Username == "" {
			bad("kafka.sasl.username", "is required with a mechanism (or %s)", EnvKafkaSASLUsername)
		}
		if a.Password == "" {
			bad("kafka.sasl.password", "is required with a mechanism (or password_file, or %s)", EnvKafkaSASLPassword)
		}
		// PLAIN sends the password as it is: only inside TLS.
		if a.Mechanism == "PLAIN" && !c.Kafka.TLS.Enabled {
			bad("kafka.sasl.mechanism", "PLAIN sends the password in clear: use it with kafka.tls.enabled, or use SCRAM")
		}
	}
	checkRules("matching.rules", c.Matching.Rules)
	for _, company := range slices.Sorted(maps.Keys(c.Matching.Companies)) {
		checkRules("matching.companies."+company, c.Matching.For(company))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "%q is not text or json", c.Log.Format)
	}
	return errors.Join(errs...)
}
