package mapping

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/erpflow/erpflow/pipeline/record"
	"github.com/erpflow/erpflow/transforms/clean"
)

// rename returns an edit that moves a key of the object at path (empty for
// the record itself; an array on the way means its first element) to a new
// spelling.
func rename(from, to string, path ...string) func(map[string]any) {
	return func(doc map[string]any) {
		obj := doc
		for _, p := range path {
			switch x := obj[p].(type) {
			case map[string]any:
				obj = x
			case []any:
				obj = x[0].(map[string]any)
			}
		}
		v, ok := obj[from]
		if !ok {
			panic("no key " + from)
		}
		delete(obj, from)
		obj[to] = v
	}
}

func TestMessyKeysAreReadInNormalForm(t *testing.T) {
	cases := []struct {
		name, source, golden string
		edit                 func(map[string]any)
	}{
		{"byte-order mark before the first header", "reimb_cn", "reimb_cn_1", rename("公司代码", "\ufeff公司代码")},
		{"trailing space", "reimb_cn", "reimb_cn_1", rename("报销金额", "报销金额 ")},
		{"ideographic space", "reimb_cn", "reimb_cn_1", rename("报销金额", "报销金额\u3000")},
		{"leading space on an optional field", "reimb_cn", "reimb_cn_1", rename("事由", " 事由")},
		{"zero-width space", "reimb_cn", "reimb_cn_1", rename("审批状态", "审批\u200b状态")},
		{"full-width letters", "sap_en", "sap_en_1", rename("BELNR", "ＢＥＬＮＲ")},
		{"doubled space inside", "bank_b", "bank_b_1", spaced},
		{"line items' key", "shop", "shop_1", rename("items", "items ")},
		{"key inside a line item", "shop", "shop_1", rename("qty", "qty\u3000", "items")},
		{"key of a nested object", "shop", "shop_1", rename("name", " name", "buyer")},
		{"stray quotes", "shop", "shop_1", rename("order_no", `"order_no"`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, err := mapEdited(t, c.source, c.golden, func(map[string]any) {})
			if err != nil {
				t.Fatal(err)
			}
			got, err := mapEdited(t, c.source, c.golden, c.edit)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if g, w := string(record.Marshal(&got)), string(record.Marshal(&want)); g != w {
				t.Errorf("got  %s\nwant %s", g, w)
			}
		})
	}
}

// spaced doubles the space inside the first key of bank_b_1 that has one.
func spaced(doc map[string]any) {
	for k, v := range doc {
		if strings.Contains(k, " ") {
			delete(doc, k)
			doc[strings.Replace(k, " ", "  ", 1)] = v
			return
		}
	}
	panic("bank_b_1 has no key with a space")
}

func TestKeysAlikeRefuseTheRecord(t *testing.T) {
	golden := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", "golden", name+".raw.json"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	reimb, shop := golden("reimb_cn_1"), golden("shop_1")
	cases := []struct {
		name, source, data string
		detail             []string // all in the reason's detail
	}{
		{"the same key twice", "reimb_cn", `{"报销金额":"1.00",` + reimb[1:],
			[]string{`key "报销金额" appears twice in the record`}},
		{"two keys that read alike", "reimb_cn", `{"报销金额 ":"1.00",` + reimb[1:],
			[]string{`keys "报销金额 " and "报销金额" in the record both read as "报销金额"`}},
		{"inside a line item", "shop", strings.Replace(shop, `"qty":6`, `"qty":6,"qty":60`, 1),
			[]string{`key "qty" appears twice in items[0]`}},
		{"inside a nested object", "shop", strings.Replace(shop, `"id":"C0038"`, `"id":"C0038","ｉｄ":"C0039"`, 1),
			[]string{`keys "id" and "ｉｄ" in buyer both read as "id"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := LoadShipped(c.source)
			if err != nil {
				t.Fatal(err)
			}
			var r record.Record
			err = m.NewMapper().Map(nil, []byte(c.data), &r)
			var de *record.DecodeError
			if !errors.As(err, &de) || de.Code() != record.ReasonInvalidJSON {
				t.Fatalf("got %v, want invalid_json", err)
			}
			for _, d := range c.detail {
				if !strings.Contains(de.Detail, d) {
					t.Errorf("detail %q does not say %q", de.Detail, d)
				}
			}
		})
	}
}

// TestKeysAlikeThatAreNotReadAreLetBe: two keys alike that the mapping
// never reads (two blank header cells of a CSV export) change nothing.
func TestKeysAlikeThatAreNotReadAreLetBe(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "golden", "reimb_cn_1.raw.json"))
	if err != nil {
		t.Fatal(err)
	}
	clean := strings.TrimSpace(string(b))
	m, err := LoadShipped("reimb_cn")
	if err != nil {
		t.Fatal(err)
	}
	var want record.Record
	if err := m.NewMapper().Map(nil, []byte(clean), &want); err != nil {
		t.Fatal(err)
	}
	for _, extra := range []string{`"":"a","":"b",`, `"备注":"a","备注 ":"b",`, `"备注":"a","备注":"b",`} {
		var r record.Record
		if err := m.NewMapper().Map(nil, []byte("{"+extra+clean[1:]), &r); err != nil {
			t.Errorf("%s: %v", extra, err)
		} else if g, w := string(record.Marshal(&r)), string(record.Marshal(&want)); g != w {
			t.Errorf("%s:\n got %s\nwant %s", extra, g, w)
		}
	}
}

func TestMappingKeysAreReadInNormalForm(t *testing.T) {
	src, err := os.ReadFile("testdata/claims.yaml")
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(src), "{field: 报销金额}", `{field: "报销金额\u3000"}`, 1)
	if edited == string(src) {
		t.Fatal("claims.yaml no longer maps 报销金额")
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "claims.yaml"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	var r record.Record
	if err := load(t, filepath.Join(dir, "claims.yaml")).NewMapper().Map([]byte("SH01"), []byte(claim), &r); err != nil {
		t.Fatal(err)
	}
	if got := r.Body.(*record.ExpenseClaim).Amount.String(); got != "1234.50" {
		t.Errorf("amount %s, want 1234.50", got)
	}
}

func TestCompanyOfAMessyKey(t *testing.T) {
	m, err := LoadShipped("reimb_cn")
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(`{"` + "\ufeff" + `公司代码":"SH01","单据编号":"BX-1"}`)
	if got := string(m.NewMapper().Company(data)); got != "SH01" {
		t.Errorf("company %q, want SH01", got)
	}
}

// FuzzPlainKey checks the shortcut against Normalize: a key plainKey passes
// must be in normal form already, or tidyKeys would leave it unread.
func FuzzPlainKey(f *testing.F) {
	for _, s := range []string{"", "BELNR", "报销金额", "Due Date", "Due  Date", " a", "a ", "\ufeffa", "金额（元）", "ＢＥＬＮＲ", `"a"`, "a\u3000", "㐀", "鿿", "\u00e9", "a\tb"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, k []byte) {
		if !utf8.Valid(k) || !plainKey(k) {
			return
		}
		if n := clean.Normalize(string(k)); n != string(k) {
			t.Errorf("plainKey passes %q, whose normal form is %q", k, n)
		}
	})
}

// TestShapesChangeNothing maps a stream of one source's records, clean and
// messy, in shapes seen before and new ones, through one Mapper, which
// learns shapes, and each through a new Mapper, which knows none: the
// results must be the same.
func TestShapesChangeNothing(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "golden", "reimb_cn_1.raw.json"))
	if err != nil {
		t.Fatal(err)
	}
	clean := strings.TrimSpace(string(b))
	bom := strings.Replace(clean, `"公司代码"`, "\"\ufeff公司代码\"", 1)
	spaced := strings.Replace(clean, `"报销金额"`, `"报销金额 "`, 1)
	twice := `{"报销金额":"1.00",` + clean[1:]
	twiceSpaced := `{"报销金额 ":"1.00",` + clean[1:]
	// The same keys in another order: a shape of the same length.
	reordered := `{"单据编号":"BX-2025-000001","公司代码":"SH01",` + strings.Replace(strings.Replace(clean[1:], `"公司代码":"SH01",`, "", 1), `"单据编号":"BX-2025-000001",`, "", 1)
	other := strings.Replace(clean, `"报销金额":"4440.81"`, `"报销金额":"12.00"`, 1)
	stream := []string{clean, clean, bom, clean, spaced, twice, clean, reordered, other, twiceSpaced, reordered, clean, bom, bom, other}

	m, err := LoadShipped("reimb_cn")
	if err != nil {
		t.Fatal(err)
	}
	long := m.NewMapper()
	result := func(mp *Mapper, data string) string {
		var r record.Record
		if err := mp.Map(nil, []byte(data), &r); err != nil {
			return "refused: " + err.Error()
		}
		return string(record.Marshal(&r))
	}
	// A record is of a known shape when an earlier record accepted whole
	// had its keys in its order: clean and other share theirs, reordered
	// has its own; the messy and doubled ones are never learned.
	known := map[int]bool{1: true, 3: true, 6: true, 8: true, 10: true, 11: true, 14: true}
	for i, data := range stream {
		got, want := result(long, data), result(m.NewMapper(), data)
		if got != want {
			t.Errorf("record %d: with shapes learned\n got %s\nwant %s", i, got, want)
		}
		if (long.shape != nil) != known[i] {
			t.Errorf("record %d: of a known shape %v, want %v", i, long.shape != nil, known[i])
		}
	}
	if r := result(long, twice); !strings.Contains(r, "refused") {
		t.Errorf("a record with a key twice: %s", r)
	}
}
