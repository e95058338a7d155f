package match

import (
	"bufio"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/erpflow/erpflow/connectors/generator"
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

// TestEveryExceptionConstantIsListed: every Exc… constant of the package's
// source is in ExceptionTypes. A world test only sees the types its world
// happens to raise; this one sees a type the day it is declared.
func TestEveryExceptionConstantIsListed(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Exc") || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					n++
					if v, _ := strconv.Unquote(lit.Value); !slices.Contains(ExceptionTypes, v) {
						t.Errorf("%s (%s = %s) is not in ExceptionTypes", f, name.Name, lit.Value)
					}
				}
			}
		}
	}
	if n < len(ExceptionTypes) {
		t.Errorf("found %d exception constants, fewer than the %d types listed: the scan misses some", n, len(ExceptionTypes))
	}
}

// TestExceptionTypesAreListed: every exception a world raises has a type
// ExceptionTypes lists, which `erpflow recon exceptions --type` accepts.
func TestExceptionTypesAreListed(t *testing.T) {
	recs := worldOf(t, generator.Config{Seed: 7, Days: 45, Companies: 2, OrdersPerDay: 20})
	rcs := map[string]*Reconciler{}
	seen := map[string]int{}
	var out Output
	note := func() {
		for _, x := range out.Exceptions {
			seen[x.Type]++
		}
		out.Reset()
	}
	for _, r := range recs {
		reconcilerOf(t, rcs, r.Company, DefaultSettings()).Add(r, &out)
		note()
	}
	for _, rc := range rcs {
		rc.Close(recs[len(recs)-1].EventTime, &out)
		note()
	}
	for typ, n := range seen {
		if !slices.Contains(ExceptionTypes, typ) {
			t.Errorf("%d exceptions of type %q, which ExceptionTypes does not list", n, typ)
		}
	}
	if len(seen) < 5 {
		t.Errorf("the world raised only %v: too few types to check the list against", seen)
	}
}
