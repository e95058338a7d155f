package mapping

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/erpflow/erpflow/connectors/generator"
	"github.com/erpflow/erpflow/pipeline/record"
)

// rawWorld is a generated raw world, shared by the tests of this file.
var rawWorld struct {
	once  sync.Once
	dir   string
	truth []generator.Truth
	err   error
}

func world(t *testing.T) (string, []generator.Truth) {
	t.Helper()
	rawWorld.once.Do(func() {
		rawWorld.dir, rawWorld.err = os.MkdirTemp("", "erpflow-raw")
		if rawWorld.err != nil {
			return
		}
		cfg := generator.Config{Seed: 11, Days: 45, Companies: 3, OrdersPerDay: 40}
		_, rawWorld.err = generator.GenerateRaw(cfg, func(string, []byte) error { return nil },
			func(*record.Record) error { return nil },
			func(tr generator.Truth) error { rawWorld.truth = append(rawWorld.truth, tr); return nil })
		if rawWorld.err == nil {
			_, rawWorld.err = generator.WriteRawFiles(cfg, rawWorld.dir, nil)
		}
	})
	if rawWorld.err != nil {
		t.Fatal(rawWorld.err)
	}
	return rawWorld.dir, rawWorld.truth
}

func lines(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
}

func codeOf(err error) string {
	var me *Error
	var de *record.DecodeError
	switch {
	case errors.As(err, &me):
		return me.Code()
	case errors.As(err, &de):
		return de.Code()
	}
	return "?"
}

// TestShippedMappingsReproduceTheGeneratorsCanonicalRecords maps every raw
// line of every source with the shipped mapping files and compares the
// result with the canonical records the generator says they must become,
// byte for byte, and every planted bad record with its expected reason.
func TestShippedMappingsReproduceTheGeneratorsCanonicalRecords(t *testing.T) {
	dir, truth := world(t)
	type pos struct {
		source string
		line   int
	}
	dead := map[pos]string{}
	for _, tr := range truth {
		if tr.Type == "dead_letter" {
			dead[pos{tr.Source, tr.Line}] = tr.Reason
		}
	}
	want := map[string][][]byte{} // canonical lines by source
	for _, l := range lines(t, filepath.Join(dir, "records.ndjson")) {
		var r record.Record
		if err := record.NewDecoder().Decode(l, &r); err != nil {
			t.Fatal(err)
		}
		if !generator.IsPassthrough(r.Kind) { // those stay canonical
			want[r.Source] = append(want[r.Source], l)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "raw", "*.ndjson"))
	if len(files) != 6 {
		t.Fatalf("raw files %v", files)
	}
	for _, f := range files {
		source := strings.TrimSuffix(filepath.Base(f), ".ndjson")
		t.Run(source, func(t *testing.T) {
			m, err := Load(filepath.Join("sources", source+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			mp := m.NewMapper()
			var got [][]byte
			var kept []record.Record
			var prev []byte
			refused := 0
			for i, l := range lines(t, f) {
				n := i + 1
				reason, bad := dead[pos{source, n}]
				var r record.Record
				err := mp.Map(nil, l, &r)
				switch {
				case bad && reason == "version_conflict":
					// Maps cleanly; the dedupe stage refuses it.
					if err != nil {
						t.Errorf("line %d: %v", n, err)
					}
				case bad:
					refused++
					if err == nil || codeOf(err) != reason {
						t.Errorf("line %d: want dead letter %s, got %v", n, reason, err)
					}
				case err != nil:
					t.Errorf("line %d: %v\n%s", n, err, l)
				case bytes.Equal(l, prev):
					// An exact re-send: the dedupe stage counts it.
				default:
					kept = append(kept, r)
				}
				prev = l
			}
			// Encode only after the whole file is mapped, as the pipeline
			// keeps records past the next parse: a record still viewing the
			// parser's buffer would show here.
			for i := range kept {
				got = append(got, record.Marshal(&kept[i]))
			}
			exp := want[source]
			if len(got) != len(exp) {
				t.Errorf("%d canonical records, want %d", len(got), len(exp))
			}
			for i := 0; i < min(len(got), len(exp)); i++ {
				if !bytes.Equal(got[i], exp[i]) {
					t.Fatalf("record %d differs:\n got %s\nwant %s", i, got[i], exp[i])
				}
			}
			if refused == 0 && len(dead) > 0 {
				t.Logf("no planted bad records in %s at this size", source)
			}
		})
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if rawWorld.dir != "" {
		os.RemoveAll(rawWorld.dir)
	}
	os.Exit(code)
}

// TestGolden maps one raw record of every source shape (testdata/golden,
// <source>_<n>.raw.json) and compares it with the canonical JSON beside it.
func TestGolden(t *testing.T) {
	raws, _ := filepath.Glob("testdata/golden/*.raw.json")
	if len(raws) < 10 {
		t.Fatalf("only %d golden records", len(raws))
	}
	for _, raw := range raws {
		name := strings.TrimSuffix(filepath.Base(raw), ".raw.json")
		source := name[:strings.LastIndex(name, "_")]
		t.Run(name, func(t *testing.T) {
			m, err := Load(filepath.Join("sources", source+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			in, _ := os.ReadFile(raw)
			want, err := os.ReadFile(strings.TrimSuffix(raw, ".raw.json") + ".want.json")
			if err != nil {
				t.Fatal(err)
			}
			var r record.Record
			if err := m.NewMapper().Map(nil, bytes.TrimSpace(in), &r); err != nil {
				t.Fatal(err)
			}
			if got := record.Marshal(&r); !bytes.Equal(got, bytes.TrimSpace(want)) {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}
