package mapping

import (
	"embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/erpflow/erpflow/pipeline/record"
	"github.com/erpflow/erpflow/transforms/clean"
)

// Mapping is a loaded, checked mapping file, ready to apply.
type Mapping struct {
	Name    string
	Version uint32
	Source  string
	File    string
	rules   []*rule
	// keys is the tree of the objects the rules read from, keyNodes the
	// number of its nodes, keyIDs the numbers of the keys the getters name.
	keys     *keyNode
	keyNodes int
	keyIDs   map[string]int32
}

type rule struct {
	index     int
	when      *getter
	whenIn    map[string]bool
	kind      record.Kind
	company   *fieldPlan // nil: the Kafka key
	id        *fieldPlan
	version   *fieldPlan // nil: event time in milliseconds
	eventTime *fieldPlan
	fields    []*fieldPlan
	lines     *linesPlan
}

type linesPlan struct {
	at     *getter // the source list
	fields []*linePlan
}

type linePlan struct {
	fieldPlan
	set      func(l *record.Line, v *value)
	required bool // sku and quantity, as the decoder requires them
}

// fieldPlan is how one canonical value is made.
type fieldPlan struct {
	name     string // canonical name, for reasons
	typ      valueType
	set      func(record.Body, *value)
	get      *getter // nil with constant
	constant *string
	valueMap map[string]string // normalised source word -> canonical
	vocab    *clean.StatusMap  // built-in words of an enumerated field
	lookup   map[string]string
	def      *string
	sign     map[string]string // "negative"/"positive" -> word
	abs      bool
	epoch    uint64            // a version's Unix time unit, in ms (1 or 1000); 0: a counter
	columns  map[string]string // a first_of amount's direction by column (normal keys)
	currency *getter
	opts     options
}

// getter reads a source value: a top-level key, a nested path, or the
// first non-blank of several keys.
type getter struct {
	keys    []string // path segments, or candidates with firstOf
	hashes  []uint32 // keyHash of each key, to find it in the record's index
	ids     []int32  // the number of each key, to find it in a known shape
	firstOf bool
	text    string // how the mapping file named it, for messages
}

// options are the resolved parser options of one field.
type options struct {
	amount clean.AmountOptions
	date   clean.DateOptions
}

// Load reads, checks and compiles a mapping file. Every problem is an
// error naming the file, line and key. Lookup files are found relative to
// the mapping file, inside its folder.
func Load(path string) (*Mapping, error) {
	return LoadFS(os.DirFS(filepath.Dir(path)), filepath.Base(path), path)
}

//go:embed sources
var shipped embed.FS

// Shipped lists the mapping files that come with erpflow
// (transforms/mapping/sources), by name.
func Shipped() []string {
	entries, _ := shipped.ReadDir("sources")
	var out []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			out = append(out, n)
		}
	}
	return out
}

// LoadShipped loads a mapping that comes with erpflow, by name (reimb_cn,
// erp_cn, sap_en, shop, bank_a, bank_b).
func LoadShipped(name string) (*Mapping, error) {
	return LoadFS(shipped, "sources/"+name+".yaml", "shipped mapping "+name)
}

// LoadFS is Load over a file system: name is the file's path in fsys and
// display how messages name it.
func LoadFS(fsys fs.FS, name, display string) (*Mapping, error) {
	spec, pos, err := readSpec(fsys, name, display)
	if err != nil {
		return nil, err
	}
	c := &compiler{pos: pos, spec: spec, file: display, fsys: fsys, dir: path.Dir(name)}
	m := c.compile()
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	return m, nil
}

type compiler struct {
	pos     positions
	spec    *fileSpec
	file    string
	fsys    fs.FS
	dir     string // the mapping file's folder in fsys
	errs    []error
	lookups map[string]map[string]string
}

func (c *compiler) fail(key string, err error) { c.errs = append(c.errs, c.pos.errAt(key, err)) }

func (c *compiler) compile() *Mapping {
	s := c.spec
	m := &Mapping{Name: s.Name, Version: s.Version, Source: s.Source, File: c.file}
	if s.Name == "" {
		c.fail("name", errors.New("a mapping needs a name (stored with every row)"))
	}
	if s.Version == 0 {
		c.fail("version", errors.New("a mapping needs a version of 1 or more (stored with every row)"))
	}
	if s.Source == "" {
		c.fail("source", errors.New("a mapping needs the source system id its records carry"))
	}
	base, _ := c.options("options", options{}, s.Options)
	c.lookups = map[string]map[string]string{}
	for _, name := range sortedKeys(s.Lookups) {
		c.lookups[name] = c.loadLookup("lookups."+name, s.Lookups[name])
	}
	if len(s.Rules) == 0 {
		c.fail("rules", ErrNoRules)
	}
	for i, rs := range s.Rules {
		if i > 0 && s.Rules[i-1].When == nil {
			c.fail(fmt.Sprintf("rules[%d]", i), errors.New("unreachable: the rule before it has no when and takes every record"))
		}
		if r := c.rule(i, rs, base); r != nil {
			m.rules = append(m.rules, r)
		}
	}
	keyTree(m)
	return m
}

func (c *compiler) options(key string, base options, o ParserOptions) (options, bool) {
	ok := true
	bad := func(k string, format string, a ...any) {
		c.fail(key+"."+k, fmt.Errorf("%w: "+format, append([]any{ErrBadOption}, a...)...))
		ok = false
	}
	if o.Currency != "" {
		cur, err := clean.ParseCurrency(o.Currency)
		if err != nil {
			bad("currency", "%v", err)
		}
		base.amount.Currency = cur
	}
	if o.DefaultCurrency != "" {
		cur, err := clean.ParseCurrency(o.DefaultCurrency)
		if err != nil {
			bad("default_currency", "%v", err)
		}
		base.amount.DefaultCurrency = cur
	}
	if o.Decimal != "" {
		d, err := clean.ParseDecimal(o.Decimal)
		if err != nil {
			bad("decimal", "%v", err)
		}
		base.amount.Decimal = d
	}
	if o.DateOrder != "" {
		d, err := clean.ParseDateOrder(o.DateOrder)
		if err != nil {
			bad("date_order", "%v", err)
		}
		base.date.Order = d
	}
	if o.TZ != "" {
		loc, err := time.LoadLocation(o.TZ)
		if err != nil {
			bad("tz", "%v", err)
		}
		base.date.TZ = loc
	}
	switch o.Excel {
	case "":
	case "1900":
		base.date.Excel = clean.Excel1900
	case "1904":
		base.date.Excel = clean.Excel1904
	default:
		bad("excel", "%q is not 1900 or 1904", o.Excel)
	}
	return base, ok
}

func (c *compiler) loadLookup(key string, l lookupSpec) map[string]string {
	if l.File == "" || l.Key == "" || l.Value == "" {
		c.fail(key, fmt.Errorf("%w: file, key and value are required", ErrBadLookup))
		return nil
	}
	name := path.Join(c.dir, l.File)
	// path.Join would make /abs/x.csv relative to the folder and send the
	// reader to look for a file that was never meant.
	if path.IsAbs(l.File) || filepath.IsAbs(l.File) || !fs.ValidPath(name) {
		c.fail(key+".file", fmt.Errorf("%w: %s: lookup files live in the mapping file's folder or below it", ErrBadLookup, l.File))
		return nil
	}
	f, err := c.fsys.Open(name)
	if err != nil {
		c.fail(key+".file", fmt.Errorf("%w: %v", ErrBadLookup, err))
		return nil
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		c.fail(key+".file", fmt.Errorf("%w: %s: %v", ErrBadLookup, l.File, err))
		return nil
	}
	ki, vi := -1, -1
	for i, h := range header {
		switch strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) {
		case l.Key:
			ki = i
		case l.Value:
			vi = i
		}
	}
	if ki < 0 || vi < 0 {
		c.fail(key, fmt.Errorf("%w: %s has no column %q or %q (header %v)", ErrBadLookup, l.File, l.Key, l.Value, header))
		return nil
	}
	out := map[string]string{}
	for {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			c.fail(key+".file", fmt.Errorf("%w: %s: %v", ErrBadLookup, l.File, err))
			return nil
		}
		k, v := normalize(row[ki]), strings.TrimSpace(row[vi])
		if v == "" {
			// A blank would set the field to nothing, which reads as
			// absent: the record would land without it, unrefused.
			line, _ := r.FieldPos(vi)
			c.fail(key+".file", fmt.Errorf("%w: %s:%d: key %q has no %s", ErrBadLookup, l.File, line, k, l.Value))
		}
		if old, ok := out[k]; ok && old != v {
			line, _ := r.FieldPos(ki)
			c.fail(key+".file", fmt.Errorf("%w: %s:%d: key %q maps to both %q and %q", ErrBadLookup, l.File, line, k, old, v))
		}
		out[k] = v
	}
	return out
}

func (c *compiler) rule(i int, rs ruleSpec, base options) *rule {
	key := fmt.Sprintf("rules[%d]", i)
	k, ok := record.ParseKind(rs.Kind)
	if !ok {
		c.fail(key+".kind", fmt.Errorf("%q is not a kind (invoice, payment, bank_txn, sales_order, shipment, purchase_order, goods_receipt, expense_claim, approval)", rs.Kind))
		return nil
	}
	r := &rule{index: i, kind: k}
	if rs.When != nil {
		g := c.getter(key+".when", rs.When.Field, rs.When.Path, nil)
		if len(rs.When.In) == 0 {
			c.fail(key+".when.in", errors.New("list the source values this rule maps"))
		}
		r.when, r.whenIn = g, map[string]bool{}
		for _, v := range rs.When.In {
			r.whenIn[normalize(v)] = true
		}
	}
	env := c.spec.Envelope
	pick := func(own, shared *fieldSpec) (*fieldSpec, string) {
		if own != nil {
			return own, key + ".envelope"
		}
		return shared, "envelope"
	}
	if fs, at := pick(rs.Envelope.Company, env.Company); fs != nil {
		r.company = c.field(at+".company", "company", tString, nil, *fs, base, k)
	}
	fs, at := pick(rs.Envelope.ID, env.ID)
	if fs == nil {
		c.fail(key+".envelope.id", errors.New("say where the record id comes from (envelope.id)"))
	} else {
		r.id = c.field(at+".id", "id", tString, nil, *fs, base, k)
	}
	if fs, at := pick(rs.Envelope.Version, env.Version); fs != nil {
		r.version = c.field(at+".version", "version", tVersion, nil, *fs, base, k)
	}
	fs, at = pick(rs.Envelope.EventTime, env.EventTime)
	if fs == nil {
		c.fail(key+".envelope.event_time", errors.New("say where the event time comes from (envelope.event_time)"))
	} else {
		r.eventTime = c.field(at+".event_time", "event_time", tDateTime, nil, *fs, base, k)
	}
	ts := targets[k]
	mapped := map[string]bool{}
	for _, name := range sortedKeys(rs.Fields) {
		fkey := key + ".fields." + name
		t, ok := ts[name]
		if !ok {
			c.fail(fkey, fmt.Errorf("%w %s", ErrUnknownField, k))
			continue
		}
		if p := c.field(fkey, "body."+name, t.typ, t.set, rs.Fields[name], base, k); p != nil {
			r.fields = append(r.fields, p)
			mapped[name] = true
		}
	}
	if rs.Lines != nil {
		r.lines = c.lines(key+".lines", rs.Lines, base, k)
	}
	for _, req := range record.RequiredFields(k) {
		if !mapped[req] {
			c.fail(key+".fields", fmt.Errorf("%w: %s.%s", ErrMissingRequired, k, req))
		}
	}
	return r
}

func (c *compiler) lines(key string, ls *linesSpec, base options, k record.Kind) *linesPlan {
	if record.LinesOf(record.NewBody(k)) == nil {
		c.fail(key, fmt.Errorf("%s has no line items", k))
		return nil
	}
	if ls.Path == "" {
		c.fail(key+".path", errors.New("give the path of the source array of items"))
		return nil
	}
	lp := &linesPlan{at: c.getter(key+".path", "", ls.Path, nil)}
	for _, name := range sortedKeys(ls.Fields) {
		lt, ok := lineTargets[name]
		if !ok {
			c.fail(key+".fields."+name, fmt.Errorf("%w line item (sku, description, quantity, unit_price, amount)", ErrUnknownField))
			continue
		}
		if p := c.field(key+".fields."+name, "body.lines."+name, lt.typ, nil, ls.Fields[name], base, k); p != nil {
			lp.fields = append(lp.fields, &linePlan{fieldPlan: *p, set: lt.set, required: name == "sku" || name == "quantity"})
		}
	}
	for _, req := range []string{"sku", "quantity"} {
		if _, ok := ls.Fields[req]; !ok {
			c.fail(key+".fields", fmt.Errorf("%w: line %s", ErrMissingRequired, req))
		}
	}
	return lp
}

func (c *compiler) getter(key, field, path string, firstOf []string) *getter {
	n := 0
	for _, set := range []bool{field != "", path != "", len(firstOf) > 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		c.fail(key, ErrBadSource)
		return nil
	}
	// Keys are matched in normal form, as a record's keys are read
	// (tidyKeys); text keeps the mapping's own spelling for messages.
	switch {
	case field != "":
		return newGetter([]string{field}, false, field)
	case path != "":
		return newGetter(strings.Split(path, "."), false, path)
	}
	return newGetter(slices.Clone(firstOf), true, strings.Join(firstOf, "|"))
}

// newGetter puts keys in normal form, in place, and hashes them.
func newGetter(keys []string, firstOf bool, text string) *getter {
	g := &getter{keys: keys, hashes: make([]uint32, len(keys)), firstOf: firstOf, text: text}
	for i, k := range keys {
		keys[i] = normalize(k)
		g.hashes[i] = keyHash(keys[i])
	}
	return g
}

func (c *compiler) field(key, name string, typ valueType, set func(record.Body, *value), fs fieldSpec, base options, k record.Kind) *fieldPlan {
	p := &fieldPlan{name: name, typ: typ, set: set, def: fs.Default, abs: fs.Abs}
	if fs.Const != nil {
		if fs.Field != "" || fs.Path != "" || len(fs.FirstOf) > 0 {
			c.fail(key, ErrBadSource)
			return nil
		}
		p.constant = fs.Const
	} else if p.get = c.getter(key, fs.Field, fs.Path, fs.FirstOf); p.get == nil {
		return nil
	}
	var ok bool
	if p.opts, ok = c.options(key, base, fs.ParserOptions); !ok {
		return nil
	}
	canon := strings.TrimPrefix(name, "body.")
	if sf, ok := statusFields[k][canon]; ok {
		vocab, err := clean.NewStatusMap(sf, nil)
		if err != nil {
			c.fail(key, err)
			return nil
		}
		p.vocab = vocab
	}
	ways := 0
	for _, set := range []bool{len(fs.Map) > 0, fs.Lookup != "", len(fs.Sign) > 0} {
		if set {
			ways++
		}
	}
	if ways > 1 {
		c.fail(key, fmt.Errorf("%w: give one of map, lookup or sign", ErrBadOption))
		return nil
	}
	allowed := record.AllowedValues(k, canon)
	if typ == tBool {
		allowed = []string{"true", "false"}
	}
	checkWord := func(at, v string) {
		if allowed != nil && !contains(allowed, v) {
			c.fail(at, fmt.Errorf("%w: %q is not one of %s", ErrBadMapValue, v, strings.Join(allowed, ", ")))
		}
	}
	if len(fs.Map) > 0 {
		p.valueMap = map[string]string{}
		from := map[string]string{}
		for _, src := range sortedKeys(fs.Map) {
			checkWord(key+".map."+src, fs.Map[src])
			n := normalize(src)
			// Source words are matched in normal form: two that read
			// alike (OPEN, ＯＰＥＮ) are one word, and two meanings for it
			// would let the sort order pick one.
			if other, ok := from[n]; ok && fs.Map[other] != fs.Map[src] {
				c.fail(key+".map."+src, fmt.Errorf("%w: %q and %q read alike (%q) but map to %q and %q", ErrBadMapValue, other, src, n, fs.Map[other], fs.Map[src]))
			}
			from[n] = src
			p.valueMap[n] = fs.Map[src]
		}
	}
	if fs.Default != nil && p.valueMap != nil {
		if _, ok := p.valueMap[normalize(*fs.Default)]; !ok {
			c.fail(key+".default", fmt.Errorf("%w: default %q is a source value, and the map has no entry for it", ErrBadMapValue, *fs.Default))
		}
	}
	if fs.Const != nil && p.valueMap == nil {
		checkWord(key+".const", *fs.Const)
	}
	if len(fs.Sign) > 0 {
		for _, s := range sortedKeys(fs.Sign) {
			if s != "negative" && s != "positive" {
				c.fail(key+".sign."+s, fmt.Errorf("%w: sign keys are negative and positive", ErrBadOption))
			}
			checkWord(key+".sign."+s, fs.Sign[s])
		}
		if typ == tMoney {
			c.fail(key+".sign", fmt.Errorf("%w: sign gives a word for an amount's sign (a direction); an amount keeps its own sign, or drops it with abs", ErrBadOption))
		}
		if fs.Sign["negative"] == "" || fs.Sign["positive"] == "" {
			// One left out gave every amount of that sign an empty word,
			// which reads as absent.
			c.fail(key+".sign", fmt.Errorf("%w: sign needs a word for negative and for positive", ErrBadOption))
		}
		p.sign = fs.Sign
	}
	if fs.Abs && typ != tMoney {
		c.fail(key+".abs", fmt.Errorf("%w: abs is for amounts (it was ignored elsewhere)", ErrBadOption))
	}
	if fs.Lookup != "" {
		lk, ok := c.lookups[fs.Lookup]
		if !ok {
			if _, declared := c.spec.Lookups[fs.Lookup]; !declared {
				c.fail(key+".lookup", fmt.Errorf("%w %q", ErrUnknownLookup, fs.Lookup))
			}
			return nil
		}
		p.lookup = lk
		if fs.Default != nil {
			if _, ok := lk[normalize(*fs.Default)]; !ok {
				c.fail(key+".default", fmt.Errorf("%w: default %q is a source value, and the lookup table has no row for it", ErrBadMapValue, *fs.Default))
			}
		}
	}
	if len(fs.Columns) > 0 {
		c.columns(key, p, fs, k)
	}
	switch fs.Epoch {
	case "":
	case "ms", "s":
		if typ != tVersion {
			c.fail(key+".epoch", fmt.Errorf("%w: epoch is for the version", ErrBadOption))
		}
		p.epoch = map[string]uint64{"ms": 1, "s": 1000}[fs.Epoch]
	default:
		c.fail(key+".epoch", fmt.Errorf("%w: epoch is ms or s, not %q", ErrBadOption, fs.Epoch))
	}
	if fs.CurrencyField != "" || fs.CurrencyPath != "" {
		if typ != tMoney {
			c.fail(key, fmt.Errorf("%w: currency_field is for amounts", ErrBadOption))
		}
		if fs.Currency != "" {
			// The currency the record names would win over the one
			// forced, without a word: say which is meant.
			c.fail(key+".currency", fmt.Errorf("%w: currency forces one currency and currency_field reads it from the record; give one of them", ErrBadOption))
		}
		p.currency = c.getter(key, fs.CurrencyField, fs.CurrencyPath, nil)
	}
	if p.constant != nil && p.currency == nil {
		// A constant is read as a source value is, at every record: one
		// that cannot be read (2025-02-30, a version that is not an
		// epoch time) would refuse every record the rule maps.
		var out value
		mp := &Mapper{kept: new(record.Interned)}
		err := guarded(func() error { return mp.evalIn(nil, nil, p, &out) })
		if err != nil && !errors.Is(err, errBlank) {
			c.fail(key+".const", fmt.Errorf("%w: the constant cannot be read as %s: %v", ErrBadOption, name, err))
		}
	}
	return p
}

// columns checks and compiles a first_of amount's directions by column.
func (c *compiler) columns(key string, p *fieldPlan, fs fieldSpec, k record.Kind) {
	if p.typ != tMoney || len(fs.FirstOf) == 0 {
		c.fail(key+".columns", fmt.Errorf("%w: columns is for an amount read with first_of", ErrBadOption))
		return
	}
	allowed := record.AllowedValues(k, "direction")
	if allowed == nil {
		c.fail(key+".columns", fmt.Errorf("%w: %s has no direction", ErrBadOption, k))
		return
	}
	p.columns = map[string]string{}
	for _, col := range sortedKeys(fs.Columns) {
		if !contains(fs.FirstOf, col) {
			c.fail(key+".columns."+col, fmt.Errorf("%w: %s is not one of first_of", ErrBadOption, col))
		}
		if !contains(allowed, fs.Columns[col]) {
			c.fail(key+".columns."+col, fmt.Errorf("%w: %q is not one of %s", ErrBadMapValue, fs.Columns[col], strings.Join(allowed, ", ")))
		}
		p.columns[normalize(col)] = fs.Columns[col]
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
