package match

import (
	"bufio"
	"encoding/json"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"testing"

	"github.com/erpflow/erpflow/pipeline/record"
)

// truthLines yields the objects of a generated world's truth file, keys to
// their values as strings.
func truthLines(t testing.TB, dir string) iter.Seq[map[string]string] {
	return func(yield func(map[string]string) bool) {
		f, err := os.Open(filepath.Join(dir, "truth.ndjson"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var raw map[string]any
			if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
				t.Fatal(err)
			}
			x := make(map[string]string, len(raw))
			for k, v := range raw {
				x[k] = fmt.Sprint(v) // a raw world's dead letters carry line numbers
			}
			if !yield(x) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// recordLines yields a generated world's records in file (event) order.
func recordLines(t testing.TB, dir string) iter.Seq[*record.Record] {
	return func(yield func(*record.Record) bool) {
		f, err := os.Open(filepath.Join(dir, "records.ndjson"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		d := record.NewDecoder()
		for sc.Scan() {
			r := new(record.Record)
			if err := d.Decode(sc.Bytes(), r); err != nil {
				t.Fatal(err)
			}
			if !yield(r) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// reconcilerOf returns company's reconciler from rcs, made with set on
// the company's first record: a generated world interleaves companies.
func reconcilerOf(tb testing.TB, rcs map[string]*Reconciler, company string, set Settings) *Reconciler {
	rc := rcs[company]
	if rc == nil {
		var err error
		if rc, err = NewReconciler(company, set); err != nil {
			tb.Fatal(err)
		}
		rcs[company] = rc
	}
	return rc
}
