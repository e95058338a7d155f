package mapping

import (
	"os"
	"testing"
	"testing/fstest"
)

// FuzzLoad: whatever a mapping file holds, loading it gives a mapping or
// an error, never a panic (the checks walk the file's syntax tree too).
func FuzzLoad(f *testing.F) {
	if b, err := os.ReadFile("testdata/claims.yaml"); err == nil {
		f.Add(string(b))
	}
	for _, s := range []string{"", "version: 1\n", "rules:\n  - kind: invoice\n    fields:\n      number: {const: 0001}\n",
		"map: {010: a}\n", "- a\n- b\n", "rules: [{fields: {x: {in: [01, 0x1]}}}]\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		fsys := fstest.MapFS{"m.yaml": {Data: []byte(body)}}
		m, err := LoadFS(fsys, "m.yaml", "m.yaml")
		if err == nil && m == nil {
			t.Fatal("no mapping and no error")
		}
	})
}
