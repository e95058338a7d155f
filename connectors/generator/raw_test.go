package generator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erpflow/erpflow/pipeline/record"
)

// rawRun is one raw-mode run held in memory.
type rawRun struct {
	cfg     Config
	st      Stats
	raw     map[string][]byte
	records []byte
	truth   []byte

	// Filled by parse: every canonical record decoded, with its line.
	recs     []*record.Record
	recLines [][]byte
	parseErr error
}

// parse decodes every canonical record once for the tests that read them,
// checking that each encodes back to its bytes.
func (g *rawRun) parse() {
	dec := record.NewDecoder()
	for i, l := range lines(g.records) {
		r := &record.Record{}
		if err := dec.Decode(l, r); err != nil {
			g.parseErr = fmt.Errorf("record %d: %v\n%s", i+1, err, l)
			return
		}
		if enc := record.AppendJSON(nil, r); !bytes.Equal(enc, l) {
			g.parseErr = fmt.Errorf("record %d re-encodes differently:\n got %s\nwant %s", i+1, enc, l)
			return
		}
		g.recs, g.recLines = append(g.recs, r), append(g.recLines, l)
	}
}

func generateRaw(t testing.TB, cfg Config) *rawRun {
	t.Helper()
	g := &rawRun{cfg: cfg, raw: map[string][]byte{}}
	bufs := map[string]*bytes.Buffer{}
	for _, s := range RawSources {
		bufs[s.Name] = &bytes.Buffer{}
	}
	var rb, tb bytes.Buffer
	var err error
	g.st, err = GenerateRaw(cfg, func(src string, line []byte) error {
		b := bufs[src]
		if b == nil {
			return fmt.Errorf("raw line of unknown source %q", src)
		}
		b.Write(line)
		return b.WriteByte('\n')
	}, func(r *record.Record) error {
		rb.Write(record.AppendJSON(nil, r))
		return rb.WriteByte('\n')
	}, func(tr Truth) error {
		tb.Write(tr.AppendJSON(nil))
		return tb.WriteByte('\n')
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, b := range bufs {
		g.raw[k] = b.Bytes()
	}
	g.records, g.truth = rb.Bytes(), tb.Bytes()
	return g
}

var (
	rawOnce   sync.Once
	rawShared *rawRun
	docOnce   sync.Once
	docShared *docSpec
	docErr    error
)

// sharedRawRun covers both ERPs (SH01, SZ03 on erp_cn, BJ02 on SAP) over a
// window long enough for USD receipts, payment runs and closings.
//
// The shop's orders and shipments are two thirds of the lines and the
// least varied; the per-line checks that cost most look at every
// shopSample-th of them (and the key check at every other ERP line).
func sharedRawRun(t *testing.T) *rawRun {
	t.Helper()
	rawOnce.Do(func() {
		g := generateRaw(t, Config{Seed: 5, Days: 40, Companies: 3, OrdersPerDay: 16})
		g.parse()
		rawShared = g
	})
	if rawShared == nil {
		t.Fatal("shared raw run failed")
	}
	if rawShared.parseErr != nil {
		t.Fatal(rawShared.parseErr)
	}
	return rawShared
}

func sharedDoc(t *testing.T) *docSpec {
	t.Helper()
	docOnce.Do(func() { docShared, docErr = readDocSpec() })
	if docErr != nil {
		t.Fatal(docErr)
	}
	return docShared
}

const shopSample = 8

func lines(b []byte) [][]byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	if len(b) == 0 {
		return nil
	}
	return bytes.Split(b, []byte("\n"))
}

func truthLines(t *testing.T, b []byte) []map[string]any {
	var out []map[string]any
	for _, l := range lines(b) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("truth %s: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func rawKinds(src string) []record.Kind {
	for _, s := range RawSources {
		if s.Name == src {
			return s.Kinds
		}
	}
	return nil
}

func TestRawDeterminism(t *testing.T) {
	t.Parallel()
	base := Config{Seed: 9, Days: 12, Companies: 3, OrdersPerDay: 10}
	ref := generateRaw(t, base)
	same := func(a, b *rawRun) bool {
		if !bytes.Equal(a.records, b.records) || !bytes.Equal(a.truth, b.truth) {
			return false
		}
		for k := range a.raw {
			if !bytes.Equal(a.raw[k], b.raw[k]) {
				return false
			}
		}
		return true
	}
	if !same(ref, generateRaw(t, base)) {
		t.Error("two runs of one config differ")
	}
	other := base
	other.Seed++
	if same(ref, generateRaw(t, other)) {
		t.Error("another seed gives the same output")
	}

	// A company's raw lines do not depend on how many others there are,
	// exact duplicates aside.
	one := base
	one.Companies = 1
	solo := generateRaw(t, one)
	for _, src := range RawSources {
		a, b := companyRaw(solo.raw[src.Name], src.KeyField, "SH01"), companyRaw(ref.raw[src.Name], src.KeyField, "SH01")
		if !slices.EqualFunc(a, b, bytes.Equal) {
			t.Errorf("%s: SH01's lines change with the number of companies", src.Name)
		}
	}

	// WriteRawFiles writes what GenerateRaw hands over.
	dir := t.TempDir()
	st, err := WriteRawFiles(base, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{RecordsFile: ref.records, TruthFile: ref.truth}
	for k, v := range ref.raw {
		files[filepath.Join(RawDir, k+".ndjson")] = v
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from GenerateRaw's output", name)
		}
	}
	if st.Records != ref.st.Records || st.Duplicates != ref.st.Duplicates {
		t.Errorf("WriteRawFiles stats %d/%d, GenerateRaw %d/%d", st.Records, st.Duplicates, ref.st.Records, ref.st.Duplicates)
	}
}

// companyRaw returns a company's lines with exact re-sends removed.
func companyRaw(b []byte, keyField, company string) [][]byte {
	var out [][]byte
	var prev []byte
	tag := []byte(`"` + keyField + `":"` + company + `"`)
	for _, l := range lines(b) {
		if bytes.Contains(l, tag) && !bytes.Equal(l, prev) {
			out = append(out, l)
		}
		prev = l
	}
	return out
}

// TestRawRecordsDecode: every canonical record decodes and encodes back to
// its bytes (sharedRawRun checks that); time never goes back; versions grow
// per id; every record is of a kind its source sends, or stays canonical.
func TestRawRecordsDecode(t *testing.T) {
	t.Parallel()
	g := sharedRawRun(t)
	var prev time.Time
	type seen struct {
		version uint64
		at      time.Time
	}
	last := map[string]seen{}
	passthrough := 0
	for i, r := range g.recs {
		if r.EventTime.Before(prev) {
			t.Fatalf("record %d: event time %s before %s", i+1, r.EventTime, prev)
		}
		prev = r.EventTime
		k := r.Kind.String() + " " + fullID(r)
		if old, ok := last[k]; ok && (r.Version <= old.version || !r.EventTime.After(old.at)) {
			t.Fatalf("record %d: %s v%d at %s after v%d at %s", i+1, k, r.Version, r.EventTime, old.version, old.at)
		}
		last[k] = seen{r.Version, r.EventTime}
		if IsPassthrough(r.Kind) {
			passthrough++
			if src := r.Source; src != RawReimbCN && src != RawERPCN && src != RawSAPEN {
				t.Fatalf("record %d: %s of source %s", i+1, r.Kind, src)
			}
		} else if !slices.Contains(rawKinds(r.Source), r.Kind) {
			t.Fatalf("record %d: %s of source %s, which does not send it", i+1, r.Kind, r.Source)
		}
	}
	if passthrough != g.st.Passthrough || passthrough == 0 {
		t.Errorf("%d records stay canonical, stats say %d", passthrough, g.st.Passthrough)
	}
	if len(g.recs) != g.st.Records {
		t.Errorf("%d records, stats say %d", len(g.recs), g.st.Records)
	}
}

// TestRawFieldsDocumented: every raw line is a JSON object whose keys are
// the ones docs/sources.md lists for its source, in the listed order, with
// the company code in the key field.
func TestRawFieldsDocumented(t *testing.T) {
	t.Parallel()
	g := sharedRawRun(t)
	doc := sharedDoc(t)
	companies := map[string]bool{"SH01": true, "BJ02": true, "SZ03": true}
	for _, src := range RawSources {
		tables := doc.fields[src.Name]
		if len(tables) == 0 {
			t.Fatalf("docs/sources.md has no field table for %s", src.Name)
		}
		used := map[string]bool{}
		for i, l := range lines(g.raw[src.Name]) {
			if (src.Name == RawShop && i%shopSample != 0) || ((src.Name == RawERPCN || src.Name == RawSAPEN) && i%2 != 0) {
				continue
			}
			if !json.Valid(l) {
				t.Fatalf("%s line %d: not JSON\n%s", src.Name, i+1, l)
			}
			l = tidyHeaders(l)
			if k := keyValue(l, src.KeyField); !companies[k] {
				t.Fatalf("%s line %d: key field %s is %q", src.Name, i+1, src.KeyField, k)
			}
			keys, err := orderedKeys(l)
			if err != nil {
				t.Fatalf("%s line %d: %v", src.Name, i+1, err)
			}
			ok := false
			for _, table := range tables {
				if isSubsequence(keys, table) {
					ok = true
					break
				}
			}
			if !ok {
				t.Fatalf("%s line %d: keys %v are not a documented field list in order\n%s", src.Name, i+1, keys, l)
			}
			for _, k := range keys {
				used[k] = true
			}
		}
		for _, table := range tables {
			for _, f := range table {
				if !used[f] {
					t.Errorf("%s: documented field %s never appears", src.Name, f)
				}
			}
		}
	}
}

// keyValue is the string value of a top-level key (the key field is the
// first or second key, never nested), or "".
func keyValue(line []byte, key string) string {
	tag := []byte(`"` + key + `":"`)
	i := bytes.Index(line, tag)
	if i < 0 {
		return ""
	}
	rest := line[i+len(tag):]
	return string(rest[:bytes.IndexByte(rest, '"')])
}

// orderedKeys lists an object's key paths in the order written.
func orderedKeys(line []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	var out []string
	var walk func(prefix string) error
	walk = func(prefix string) error {
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return err
			}
			path := prefix + k.(string)
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			switch tok {
			case json.Delim('{'):
				if err := walk(path + "."); err != nil {
					return err
				}
				dec.Token()
			case json.Delim('['):
				seen := false
				for dec.More() {
					t2, err := dec.Token()
					if err != nil {
						return err
					}
					if t2 != json.Delim('{') {
						continue // an array of strings
					}
					before := len(out)
					if err := walk(path + "[]."); err != nil {
						return err
					}
					dec.Token()
					if seen {
						out = out[:before] // every item has the first one's keys
					}
					seen = true
				}
				dec.Token()
				if !seen {
					out = append(out, path)
				}
			default:
				out = append(out, path)
			}
		}
		return nil
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	return out, walk("")
}

// isSubsequence reports whether keys appear in list, in its order.
func isSubsequence(keys, list []string) bool {
	i := 0
	for _, k := range keys {
		for i < len(list) && list[i] != k {
			i++
		}
		if i == len(list) {
			return false
		}
		i++
	}
	return true
}

// TestRawCounts: per source, raw lines = canonical records + dead letters +
// exact duplicates, and the stats agree.
func TestRawCounts(t *testing.T) {
	t.Parallel()
	g := sharedRawRun(t)
	canon := map[string]int{}
	for _, r := range g.recs {
		if !IsPassthrough(r.Kind) {
			canon[r.Source]++
		}
	}
	dead := map[string]int{}
	for _, tr := range truthLines(t, g.truth) {
		if tr["type"] == TruthDeadLetter {
			dead[tr["source"].(string)]++
		}
	}
	for _, src := range RawSources {
		ls := lines(g.raw[src.Name])
		dups := 0
		for i := 1; i < len(ls); i++ {
			if bytes.Equal(ls[i], ls[i-1]) {
				dups++
			}
		}
		n := src.Name
		if len(ls) == 0 || canon[n] == 0 {
			t.Errorf("%s: %d lines, %d records", n, len(ls), canon[n])
		}
		if len(ls) != canon[n]+dead[n]+dups {
			t.Errorf("%s: %d lines, %d records + %d dead letters + %d duplicates", n, len(ls), canon[n], dead[n], dups)
		}
		if want := (RawStats{Lines: len(ls), Records: canon[n], DeadLetters: dead[n], Duplicates: dups}); g.st.Raw[n] != want {
			t.Errorf("%s: stats %+v, files %+v", n, g.st.Raw[n], want)
		}
	}
}

// TestRawTruth: every id the truth names exists in records.ndjson (link
// targets before their bank line), near duplicates repeat their original,
// and each dead letter's line is the record it names.
func TestRawTruth(t *testing.T) {
	t.Parallel()
	g := sharedRawRun(t)
	type rec struct {
		at int
		r  *record.Record
	}
	byID := map[string]rec{}
	for i, r := range g.recs {
		if r.Kind != record.KindSalesOrder && r.Kind != record.KindShipment && r.Kind != record.KindApproval {
			at := i // where the record first appears
			if old, ok := byID[fullID(r)]; ok {
				at = old.at
			}
			byID[fullID(r)] = rec{at, r}
		}
	}
	raws := map[string][][]byte{}
	for _, s := range RawSources {
		raws[s.Name] = lines(g.raw[s.Name])
	}
	need := func(id string, tr map[string]any) rec {
		x, ok := byID[id]
		if !ok {
			t.Fatalf("truth names %s, which is no record: %v", id, tr)
		}
		return x
	}
	counts := map[string]int{}
	for _, tr := range truthLines(t, g.truth) {
		typ := tr["type"].(string)
		counts[typ]++
		switch typ {
		case TruthLink:
			bank, target := need(tr["bank_txn"].(string), tr), need(tr["target_id"].(string), tr)
			if bank.r.Kind != record.KindBankTxn || target.r.Kind.String() != tr["target_kind"] || target.at >= bank.at {
				t.Fatalf("link %v: bank %s at %d, target %s at %d", tr, bank.r.Kind, bank.at, target.r.Kind, target.at)
			}
		case TruthException:
			need(tr["subject_id"].(string), tr)
			if rel, ok := tr["related_id"].(string); ok {
				need(rel, tr)
			}
		case TruthNearDuplicate:
			a, b := need(tr["subject_id"].(string), tr), need(tr["related_id"].(string), tr)
			if a.r.Kind.String() != tr["kind"] || b.r.Kind != a.r.Kind || a.r.ID == b.r.ID || a.at <= b.at {
				t.Fatalf("near duplicate %v", tr)
			}
			switch x := a.r.Body.(type) {
			case *record.Invoice:
				y := b.r.Body.(*record.Invoice)
				if x.Party != y.Party || x.Total != y.Total || x.IssueDate != y.IssueDate || x.OrderRef != y.OrderRef {
					t.Errorf("near duplicate invoices differ: %+v, %+v", x, y)
				}
			case *record.ExpenseClaim:
				y := b.r.Body.(*record.ExpenseClaim)
				if x.Employee != y.Employee || x.Amount != y.Amount || x.ClaimDate != y.ClaimDate || x.ExpenseType != y.ExpenseType {
					t.Errorf("near duplicate claims differ: %+v, %+v", x, y)
				}
			}
		case TruthDeadLetter:
			src := tr["source"].(string)
			n := int(tr["line"].(float64))
			ls := raws[src]
			if n < 1 || n > len(ls) {
				t.Fatalf("dead letter %v: %s has %d lines", tr, src, len(ls))
			}
			var obj map[string]any
			json.Unmarshal(tidyHeaders(ls[n-1]), &obj)
			idField := map[string]string{RawReimbCN: "单据编号", RawERPCN: "单据编号", RawSAPEN: "BELNR",
				RawBankA: "交易流水号", RawBankB: "Bank Reference"}[src]
			id, _ := getPath(obj, idField)
			if src == RawShop {
				id, _ = getPath(obj, "order_no")
				if obj["event_type"] == "shipment" {
					id, _ = getPath(obj, "shipment_no")
				}
			}
			key := ""
			for _, s := range RawSources {
				if s.Name == src {
					key, _ = getPath(obj, s.KeyField)
				}
			}
			if canonText(id) != tr["raw_id"] || key != tr["company"] {
				t.Fatalf("dead letter %v: line %d is %s", tr, n, ls[n-1])
			}
		default:
			t.Fatalf("truth line of type %q", typ)
		}
	}
	if counts[TruthLink] != g.st.Links || counts[TruthNearDuplicate] != g.st.NearDuplicates || counts[TruthNearDuplicate] == 0 {
		t.Errorf("truth counts %v, stats %d links, %d near duplicates", counts, g.st.Links, g.st.NearDuplicates)
	}
	dl := 0
	for _, n := range g.st.DeadLetters {
		dl += n
	}
	if counts[TruthDeadLetter] != dl || dl == 0 {
		t.Errorf("%d dead letters, stats say %d", counts[TruthDeadLetter], dl)
	}
}

// TestRawMapsBack is the contract test: the reference mapping written from
// docs/sources.md turns every raw line into exactly the canonical record
// records.ndjson has for it, and refuses every dead letter with its reason.
func TestRawMapsBack(t *testing.T) {
	t.Parallel()
	g := sharedRawRun(t)
	doc := sharedDoc(t)
	want := map[string][][]byte{}
	for i, r := range g.recs {
		if !IsPassthrough(r.Kind) {
			want[r.Source] = append(want[r.Source], g.recLines[i])
		}
	}
	deadAt := map[string]string{}
	for _, tr := range truthLines(t, g.truth) {
		if tr["type"] == TruthDeadLetter {
			deadAt[fmt.Sprintf("%s:%d", tr["source"], int(tr["line"].(float64)))] = tr["reason"].(string)
		}
	}
	for _, src := range RawSources {
		ls := lines(g.raw[src.Name])
		next := 0
		mapped := map[string][]byte{} // id and version → canonical bytes, for the conflicts
		for i, l := range ls {
			if i > 0 && bytes.Equal(l, ls[i-1]) {
				continue // an exact re-send
			}
			wantReason, dead := deadAt[fmt.Sprintf("%s:%d", src.Name, i+1)]
			var got *record.Record
			var reason string
			var enc []byte
			if dead || src.Name != RawShop || i%shopSample == 0 {
				got, reason = refMap(doc, src.Name, l)
				if got != nil {
					enc = record.AppendJSON(nil, got)
				}
			}
			if dead {
				if wantReason == ReasonVersionConflict {
					k := fmt.Sprintf("%s %s %d", got.Kind, got.ID, got.Version)
					if reason != "" || mapped[k] == nil || bytes.Equal(mapped[k], enc) {
						t.Errorf("%s line %d: a version conflict that is none (%s)\n%s", src.Name, i+1, reason, l)
					}
					continue
				}
				if reason != wantReason {
					t.Errorf("%s line %d: refused as %q, truth says %q\n%s", src.Name, i+1, reason, wantReason, l)
				}
				continue
			}
			if reason != "" {
				t.Fatalf("%s line %d: refused as %s\n%s", src.Name, i+1, reason, l)
			}
			if enc == nil { // a shop line not sampled
				next++
				continue
			}
			if next >= len(want[src.Name]) {
				t.Fatalf("%s line %d: more raw records than canonical ones", src.Name, i+1)
			}
			if !bytes.Equal(enc, want[src.Name][next]) {
				t.Fatalf("%s line %d maps to\n%s\nrecords.ndjson has\n%s\nraw: %s", src.Name, i+1, enc, want[src.Name][next], l)
			}
			mapped[fmt.Sprintf("%s %s %d", got.Kind, got.ID, got.Version)] = enc
			next++
		}
		if next != len(want[src.Name]) {
			t.Errorf("%s: %d canonical records, %d raw records map to them", src.Name, len(want[src.Name]), next)
		}
	}
}

// TestRawBreaks plants every kind of bad record on a record of its source
// and checks that the reference mapping refuses it with the reason the
// truth would give, whether or not the shared run drew it.
func TestRawBreaks(t *testing.T) {
	t.Parallel()
	g := sharedRawRun(t)
	doc := sharedDoc(t)
	samples := map[string]*record.Record{}
	for _, r := range g.recs {
		k := r.Source + "/" + r.Kind.String()
		if _, ok := badKinds[k]; ok && samples[k] == nil {
			samples[k] = r
		}
	}
	co := &rawCo{code: "SH01", seed: 1, rng: rand.New(rand.NewPCG(1, 2)), series: map[string]int{},
		st: &Stats{Mess: map[string]int{}}}
	for k, kinds := range badKinds {
		r := samples[k]
		if r == nil {
			t.Errorf("no %s record to break", k)
			continue
		}
		src, _, _ := strings.Cut(k, "/")
		c := converted{src: src, canon: r, ctx: rawCtx{first: r.EventTime}}
		if _, reason := refMap(doc, src, co.render(c)); reason != "" {
			t.Fatalf("%s: the unbroken record is refused as %s", k, reason)
		}
		for _, bk := range kinds {
			for range 5 { // forms are drawn at random
				line := co.renderBroken(c, bk.brk)
				if _, reason := refMap(doc, src, line); reason != bk.reason {
					t.Fatalf("%s broken by %s: refused as %q, want %q\n%s", k, bk.brk, reason, bk.reason, line)
				}
			}
		}
	}
}

// TestRawValueMapsDocumented: every raw word the generator writes is in the
// value map docs/sources.md gives for it, mapping to the right value.
func TestRawValueMapsDocumented(t *testing.T) {
	doc := sharedDoc(t)
	for _, tc := range []struct {
		doc   string
		words map[string]*formTable
	}{
		{"`审批状态`", wApproval}, {"`付款状态`", wPaid}, {"`币别`", wERPCur}, {"`结算方式`", wERPMethod},
		{"`单据状态` (销售发票)", wERPAR}, {"`单据状态` (采购发票)", wERPAP}, {"`单据状态` (付款单)", wERPPay},
		{"`单据状态` (收款单)", wERPRcpt}, {"`WAERS`", wSAPCur}, {"`ZLSCH`", wSAPMethod}, {"`status` (order)", wShopOrder},
		{"`status` (shipment)", wShopShip}, {"`payment.currency`", wShopCur}, {"`借贷标志`", wBankADir}, {"`币种`", wBankACur},
	} {
		m := doc.maps[tc.doc]
		if m == nil {
			t.Errorf("docs/sources.md has no value map %s", tc.doc)
			continue
		}
		for canon, ft := range tc.words {
			for _, w := range ft.names {
				if m[w] != canon {
					t.Errorf("value map %s: %q is %q, the generator means %q", tc.doc, w, m[w], canon)
				}
			}
		}
	}
	for canon, w := range sapInvoiceStatus {
		if doc.maps["`STATUS` (DR, KR)"][w] != canon {
			t.Errorf("STATUS %s is not %s in the docs", w, canon)
		}
	}
	for canon, w := range sapPaymentStatus {
		if doc.maps["`STATUS` (KZ, DZ)"][w] != canon {
			t.Errorf("STATUS %s is not %s in the docs", w, canon)
		}
	}
	if len(doc.gl) != len(claimTypes) {
		t.Errorf("expense_gl.csv has %d rows, the generator %d expense types", len(doc.gl), len(claimTypes))
	}
	for _, ct := range claimTypes {
		if doc.gl[ct.name] != ct.gl {
			t.Errorf("expense_gl.csv: %s is %q, want %s", ct.name, doc.gl[ct.name], ct.gl)
		}
	}
}

func TestAmountForms(t *testing.T) {
	for _, tc := range []struct {
		minor int64
		want  string
	}{
		{123450, "壹仟贰佰叁拾肆元伍角整"},
		{2000000, "贰万元整"},
		{1000505, "壹万零伍元零伍分"},
		{10000000, "壹拾万元整"},
		{104005, "壹仟零肆拾元零伍分"},
		{100050000, "壹佰万零伍佰元整"},
		{2056, "贰拾元伍角陆分"},
		{50, "伍角整"},
		{12345678901, "壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元零壹分"},
	} {
		if got := capitalAmount(tc.minor); got != tc.want {
			t.Errorf("capitalAmount(%d) = %s, want %s", tc.minor, got, tc.want)
		}
	}
	for _, tc := range []struct {
		minor int64
		want  string
		ok    bool
	}{{1200000, "1.2万", true}, {1234000, "1.234万", true}, {3000000, "3万", true}, {1234500, "", false}, {900000, "", false}} {
		if got, ok := wanAmount(tc.minor); got != tc.want || ok != tc.ok {
			t.Errorf("wanAmount(%d) = %q, %v", tc.minor, got, ok)
		}
	}
	if got := groupedAmount(123456789, '.', ','); got != "1.234.567,89" {
		t.Errorf("groupedAmount = %s", got)
	}
	// Every form reads back to the amount.
	r := rand.New(rand.NewPCG(3, 4))
	co := &rawCo{rng: r, st: &Stats{Mess: map[string]int{}}}
	for range 1000 {
		minor := logUniform(r, 1, 5_000_000_000)
		for _, ft := range []*formTable{fReimbAmount, fERPCNY, fERPUSD, fBankAAmount} {
			s := co.amount(ft, minor)
			if m, err := refAmount(s, cny, false); err != nil || m.Minor != minor {
				t.Fatalf("%d written %q reads as %d, %v", minor, s, m.Minor, err)
			}
		}
		if s, ok := wanAmount(minor); ok {
			if m, err := refAmount(s, cny, false); err != nil || m.Minor != minor {
				t.Fatalf("%d written %q reads as %d, %v", minor, s, m.Minor, err)
			}
		}
	}
}

func TestCanonText(t *testing.T) {
	for in, want := range map[string]string{
		"  上海华东贸易有限公司 ":  "上海华东贸易有限公司",
		`"Acme Trading"`: "Acme Trading",
		"华东贸易（上海）有限公司":   "华东贸易(上海)有限公司",
		"Ａｃｍｅ　Ｔｒａｄｉｎｇ":   "Acme Trading",
		"北京出差  高铁+酒店":    "北京出差 高铁+酒店",
		"\t6222123":      "6222123",
	} {
		if got := canonText(in); got != want {
			t.Errorf("canonText(%q) = %q, want %q", in, got, want)
		}
	}
	if got := fullWidth("1,234.50"); got != "１，２３４．５０" || canonText(got) != "1,234.50" {
		t.Errorf("fullWidth = %q", got)
	}
}

// TestRawMessDrawn: every value form of weight 5% or more is drawn in the
// shared run, so the tests above saw it written and read back. (Every
// status word is checked against the docs by TestRawValueMapsDocumented,
// every amount form by TestAmountForms.)
func TestRawMessDrawn(t *testing.T) {
	t.Parallel()
	g := sharedRawRun(t)
	for _, ft := range []*formTable{fReimbAmount, fReimbTime, fReimbPaid, fReimbBlank, fERPDate, fERPCNY, fERPUSD,
		fERPBlank, fSAPDate, fSAPAmount, fSAPName, fShopPhone, fBankADate, fBankAAmount, fBankABlank, fBankAAcct,
		fBankBAmount} {
		prev := 0
		for i, k := range ft.keys {
			if ft.cum[i]-prev >= 50 && g.st.Mess[k] == 0 {
				t.Errorf("form %s never drawn", k)
			}
			prev = ft.cum[i]
		}
	}
}

// TestDateForms: every date and time form reads back, as the docs say
// each source's parser is configured.
func TestDateForms(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	co := &rawCo{rng: r, st: &Stats{Mess: map[string]int{}}}
	for range 500 {
		d := record.MakeDate(2024, 1, 1) + record.Date(r.IntN(800))
		for _, tc := range []struct {
			ft         *formTable
			dmy, excel bool
		}{{fReimbPaid, false, false}, {fERPDate, false, false}, {fSAPDate, true, false}, {fBankADate, false, false}} {
			s := co.date(tc.ft, d)
			if got, err := refDate(s, tc.dmy, tc.excel); err != nil || got != d {
				t.Fatalf("%s written %q reads as %s, %v", d, s, got, err)
			}
		}
		for _, s := range []string{dateDMY(d), excelSerial(d)} {
			if got, err := refDate(s, true, true); err != nil || got != d {
				t.Fatalf("bank_b: %s written %q reads as %s, %v", d, s, got, err)
			}
		}
		if _, err := refDate(ambiguous(d), false, false); err != errAmbiguous {
			t.Fatalf("%q is not ambiguous: %v", ambiguous(d), err)
		}
		at := d.Time().Add(time.Duration(r.IntN(86400)) * time.Second)
		for _, s := range []string{localSeconds(at), localOffset(at), utcZ(at)} {
			if got, err := refTime(s, false); err != nil || !got.Equal(at) {
				t.Fatalf("%s written %q reads as %s, %v", at, s, got, err)
			}
		}
		if got, err := refTime(utcSeconds(at), true); err != nil || !got.Equal(at) {
			t.Fatalf("%s written %q reads as %s, %v", at, utcSeconds(at), got, err)
		}
		for _, s := range []string{localCJKMinutes(at), fullWidth(localCJKMinutes(at))} {
			if got, err := refTime(s, false); err != nil || !got.Equal(at.Truncate(time.Minute)) {
				t.Fatalf("%s written %q reads as %s, %v", at, s, got, err)
			}
			if got, err := refDate(s, false, false); err != nil || got != localDate(at) {
				t.Fatalf("%s written %q is day %s, %v", at, s, got, err)
			}
		}
	}
	if got := excelSerial(record.MakeDate(2025, 5, 20)); got != "45797" {
		t.Errorf("Excel serial of 2025-05-20 is %s", got)
	}
}

// TestHeaderMess: the CSV sources' exports sometimes come with the headers
// a spreadsheet left (a byte-order mark, a trailing space); the JSON
// sources' never. The stats count every such line.
func TestHeaderMess(t *testing.T) {
	t.Parallel()
	g := sharedRawRun(t)
	forms := map[string]int{}
	for _, src := range RawSources {
		messy := 0
		for _, l := range lines(g.raw[src.Name]) {
			if bytes.Equal(tidyHeaders(l), l) {
				continue
			}
			messy++
			var obj map[string]any
			if err := json.Unmarshal(l, &obj); err != nil {
				t.Fatal(err)
			}
			for k := range obj {
				switch {
				case strings.HasPrefix(k, "\ufeff"):
					forms["byte-order mark"]++
				case strings.HasSuffix(k, " "), strings.HasSuffix(k, "\u3000"):
					forms["trailing space"]++
				}
			}
		}
		_, csv := messyHeader[src.Name]
		counted := g.st.Mess[src.Name+".headers.bom"] + g.st.Mess[src.Name+".headers.space"]
		switch {
		case !csv && messy > 0:
			t.Errorf("%s: %d lines with messy headers; it is not a CSV export", src.Name, messy)
		case counted != messy:
			t.Errorf("%s: %d lines with messy headers, stats say %d", src.Name, messy, counted)
		}
	}
	if forms["byte-order mark"] == 0 || forms["trailing space"] == 0 {
		t.Errorf("messy headers of the forms %v; want both", forms)
	}
}
