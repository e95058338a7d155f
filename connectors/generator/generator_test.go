package generator

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/erpflow/erpflow/pipeline/record"
)

// generated is one run read back from its bytes, the way a consumer sees it.
type generated struct {
	cfg     Config
	st      Stats
	records []byte
	truth   []byte

	byKey  map[string]*record.Record // latest version, by kind + " " + company/source/id; no orders or shipments
	first  map[string]int            // line of the first version, by the same key
	bankAt map[string]int            // line of each bank line, by company/source/id
	links  []map[string]string
	excs   []map[string]string
}

func key(k record.Kind, full string) string { return k.String() + " " + full }

func fullID(r *record.Record) string { return r.Company + "/" + r.Source + "/" + r.ID }

func generate(t testing.TB, cfg Config) *generated {
	t.Helper()
	norm, err := cfg.normalize()
	if err != nil {
		t.Fatal(err)
	}
	g := &generated{cfg: norm}
	var rb, tb bytes.Buffer
	g.st, err = Generate(cfg, func(r *record.Record) error {
		rb.Write(record.AppendJSON(nil, r))
		return rb.WriteByte('\n')
	}, func(tr Truth) error {
		tb.Write(tr.AppendJSON(nil))
		return tb.WriteByte('\n')
	})
	if err != nil {
		t.Fatal(err)
	}
	g.records, g.truth = rb.Bytes(), tb.Bytes()
	return g
}

var (
	sharedOnce sync.Once
	shared     *generated
)

// sharedRun is the default volume over a shorter window, parsed once for the
// tests that inspect content.
func sharedRun(t *testing.T) *generated {
	t.Helper()
	sharedOnce.Do(func() {
		g := generate(t, Config{Seed: 7, Days: 60, Companies: 1})
		g.parse(t)
		shared = g
	})
	if shared == nil || shared.byKey == nil {
		t.Fatal("shared run failed")
	}
	return shared
}

// parse decodes every line, checking that it re-encodes to the same bytes,
// that time never goes back, that versions grow, and that the only repeated
// lines are adjacent exact duplicates. Orders and shipments, most of the
// volume, are checked but not kept: the truth never names them.
func (g *generated) parse(t testing.TB) {
	t.Helper()
	g.byKey, g.first, g.bankAt = map[string]*record.Record{}, map[string]int{}, map[string]int{}
	type seen struct {
		version uint64
		at      time.Time
	}
	last := map[string]seen{}
	dec := record.NewDecoder()
	var prev, enc []byte
	var prevAt time.Time
	dups := 0
	sc := bufio.NewScanner(bytes.NewReader(g.records))
	sc.Buffer(nil, 1<<20)
	var r record.Record
	for n := 0; sc.Scan(); n++ {
		line := sc.Bytes()
		if bytes.Equal(line, prev) {
			dups++
			continue
		}
		if err := dec.Decode(line, &r); err != nil {
			t.Fatalf("line %d: %v\n%s", n+1, err, line)
		}
		if enc = record.AppendJSON(enc[:0], &r); !bytes.Equal(enc, line) {
			t.Fatalf("line %d re-encodes differently:\n got %s\nwant %s", n+1, enc, line)
		}
		if r.EventTime.Before(prevAt) {
			t.Fatalf("line %d: event time %s before the previous line's %s", n+1, r.EventTime, prevAt)
		}
		if h := r.EventTime.Hour(); h > 14 {
			t.Errorf("line %d: %s at %s UTC is outside China business hours", n+1, r.ID, r.EventTime)
		}
		k := key(r.Kind, fullID(&r))
		if old, ok := last[k]; ok {
			if r.Kind == record.KindBankTxn || r.Kind == record.KindApproval {
				t.Fatalf("line %d: %s repeats an id that never changes", n+1, k)
			}
			if r.Version <= old.version || !r.EventTime.After(old.at) {
				t.Fatalf("line %d: %s v%d at %s after v%d at %s", n+1, k, r.Version, r.EventTime, old.version, old.at)
			}
		} else {
			g.first[k] = n
		}
		last[k] = seen{r.Version, r.EventTime}
		if r.Kind == record.KindBankTxn {
			g.bankAt[fullID(&r)] = n
		}
		if r.Kind != record.KindSalesOrder && r.Kind != record.KindShipment {
			kept := r
			g.byKey[k] = &kept
		}
		prev = append(prev[:0], line...)
		prevAt = r.EventTime
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if dups != g.st.Duplicates {
		t.Errorf("found %d adjacent duplicates, stats say %d", dups, g.st.Duplicates)
	}
	for _, line := range bytes.Split(bytes.TrimSpace(g.truth), []byte("\n")) {
		if len(line) == 0 {
			continue // a window too short for any truth
		}
		var m map[string]string
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("truth %s: %v", line, err)
		}
		switch m["type"] {
		case TruthLink:
			g.links = append(g.links, m)
		case TruthException:
			g.excs = append(g.excs, m)
		default:
			t.Fatalf("truth line of type %q: %s", m["type"], line)
		}
	}
}

func TestDeterminism(t *testing.T) {
	t.Parallel()
	base := Config{Seed: 42, Days: 21, Companies: 2, OrdersPerDay: 25}
	other := base
	other.Seed = 43
	start := base
	start.Start = record.MakeDate(2025, 6, 1)
	ref := generate(t, base)
	for _, tc := range []struct {
		name string
		cfg  Config
		same bool
	}{
		{"same config", base, true},
		{"other seed", other, false},
		{"other start", start, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := generate(t, tc.cfg)
			same := bytes.Equal(g.records, ref.records) && bytes.Equal(g.truth, ref.truth)
			if same != tc.same {
				t.Errorf("output identical = %v, want %v", same, tc.same)
			}
		})
	}

	// A company's world depends on the seed and its position only, so adding
	// companies leaves the first one's records as they were (exact
	// duplicates aside: those are drawn over the merged stream).
	one := base
	one.Companies = 1
	if a, b := companyLines(generate(t, one).records, "SH01"), companyLines(ref.records, "SH01"); !bytes.Equal(a, b) {
		t.Errorf("SH01 records change with the number of companies")
	}

	// WriteFiles writes exactly what Generate emits.
	dir := t.TempDir()
	st, err := WriteFiles(base, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{RecordsFile: ref.records, TruthFile: ref.truth} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from Generate's output", name)
		}
	}
	if st.Records != ref.st.Records || st.Links != ref.st.Links {
		t.Errorf("WriteFiles stats %+v, Generate stats %+v", st, ref.st)
	}
}

// companyLines returns the lines of one company with exact duplicates removed.
func companyLines(records []byte, company string) []byte {
	var out, prev []byte
	tag := []byte(`"company":"` + company + `"`)
	for _, line := range bytes.SplitAfter(records, []byte("\n")) {
		if bytes.Contains(line, tag) && !bytes.Equal(line, prev) {
			out = append(out, line...)
		}
		prev = line
	}
	return out
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{Config{Days: -1}, false},
		{Config{Companies: -2}, false},
		{Config{OrdersPerDay: -5}, false},
		{Config{Companies: 100}, false},
		{Config{Days: 4000}, false},
		{Config{Start: record.MakeDate(2105, time.June, 1), Days: 30}, false},   // its dates would pass 2105
		{Config{Start: record.MakeDate(2105, time.January, 1), Days: 1}, false}, // due a year after
	} {
		got, err := tc.cfg.normalize()
		if (err == nil) != tc.ok {
			t.Errorf("%+v: err = %v", tc.cfg, err)
		}
		if tc.ok && (got.Days != DefaultDays || got.Companies != DefaultCompanies ||
			got.OrdersPerDay != DefaultOrdersPerDay || got.Start != DefaultStart) {
			t.Errorf("defaults not applied: %+v", got)
		}
	}
}

// TestWriteKeepsTheOldWorldOnFailure: a world that cannot be made, refused
// at once or failing part way, leaves the files already there untouched
// and no half-written ones beside them.
func TestWriteKeepsTheOldWorldOnFailure(t *testing.T) {
	dir := t.TempDir()
	small := Config{Seed: 3, Days: 2, Companies: 1, OrdersPerDay: 5}
	if _, err := WriteRawFiles(small, dir, nil); err != nil {
		t.Fatal(err)
	}
	snapshot := func() map[string]string {
		got := map[string]string{}
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(p)
				got[p] = string(b)
			}
			return nil
		})
		return got
	}
	before := snapshot()
	if len(before) != 2+len(RawSources) || before[filepath.Join(dir, RecordsFile)] == "" {
		t.Fatalf("the first world: %d files", len(before))
	}
	if _, err := WriteFiles(Config{Days: 5000}, dir, nil); err == nil {
		t.Fatal("5000 days: no error")
	}
	if _, err := WriteRawFiles(Config{Companies: 500}, dir, nil); err == nil {
		t.Fatal("500 companies: no error")
	}
	// A file that cannot be created part way through: the truth file's
	// place is taken by a directory.
	if err := os.Mkdir(filepath.Join(dir, TruthFile+partialSuffix), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteFiles(small, dir, nil); err == nil {
		t.Fatal("truth file not creatable: no error")
	}
	os.Remove(filepath.Join(dir, TruthFile+partialSuffix))
	if after := snapshot(); !maps.Equal(after, before) {
		for p := range after {
			if after[p] != before[p] {
				t.Errorf("%s changed (%d bytes, was %d)", p, len(after[p]), len(before[p]))
			}
		}
		t.Errorf("%d files after the failures, %d before", len(after), len(before))
	}
}

func TestStatsAddUp(t *testing.T) {
	t.Parallel()
	g := sharedRun(t)
	n := bytes.Count(g.records, []byte("\n"))
	kinds := 0
	for _, v := range g.st.ByKind {
		kinds += v
	}
	if n != g.st.Records || kinds+g.st.Duplicates != n {
		t.Errorf("%d lines, stats: %d records, %d by kind + %d duplicates", n, g.st.Records, kinds, g.st.Duplicates)
	}
	if len(g.links) != g.st.Links {
		t.Errorf("%d links, stats say %d", len(g.links), g.st.Links)
	}
	for _, k := range record.Kinds {
		if g.st.ByKind[k.String()] == 0 {
			t.Errorf("no %s records", k)
		}
	}
}

// TestWindows runs the edges: a single day, tiny volumes, and a window that
// crosses a year end and every quarter's interest day.
func TestWindows(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{Seed: 3, Days: 1, Companies: 1, OrdersPerDay: 1},
		{Seed: 3, Days: 370, Companies: 1, OrdersPerDay: 1, Start: record.MakeDate(2025, 3, 1)},
		{Seed: 3, Days: 10, Companies: 14, OrdersPerDay: 3},
	} {
		t.Run(fmt.Sprintf("%dd_%dc", cfg.Days, cfg.Companies), func(t *testing.T) {
			g := generate(t, cfg)
			g.parse(t)
			if g.st.Records == 0 {
				t.Fatal("no records")
			}
		})
	}
}
