package clean

import (
	"errors"
	"testing"

	"github.com/erpflow/erpflow/pipeline/record"
)

func TestNormalize(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"abc", "abc"},
		{"  abc  ", "abc"},
		{"a \t\n b", "a b"},
		{"a  b   c", "a b c"},
		{"\ta\r\nb\n", "a b"},
		{"１２３４．５０", "1234.50"},
		{"ＡＢＣ－１２３", "ABC-123"},
		{"２０２５年４月１６日", "2025年4月16日"},
		{"上海\u3000华东", "上海 华东"},
		{"\u3000\u3000上海\u3000", "上海"},
		{"a\u00a0b", "a b"},
		{"a\u2003\u2003b", "a b"},
		{"￥１，２３４", "¥1,234"},
		{"（１２）", "(12)"},
		{"\ufeffabc", "abc"},
		{"a\u200bb", "ab"},
		{`"abc"`, "abc"},
		{`" abc "`, "abc"},
		{`'abc'`, "abc"},
		{"“上海华东”", "上海华东"},
		{"‘abc’", "abc"},
		{"「上海华东」", "上海华东"},
		{"『上海』", "上海"},
		{`"「abc」"`, "abc"},
		{`""`, ""},
		{`"abc`, `"abc`},
		{`5'`, `5'`},
		{`"a" and "b"`, `a" and "b`}, // a matched wrapping pair, however odd
		{"＂abc＂", "abc"},
		{"ｅ\u0301", "é"},
		{"000000000\xf1ǉ", "000000000\ufffdlj"}, // found by FuzzNormalize
		{"ＩＮＶ－２０２５\u3000００４２", "INV-2025 0042"},
		{"\u3000１\u3000\u3000２\u3000", "1 2"},
		{"＂\u3000１２\u3000＂", "12"},
		{"～！", "~!"},
	} {
		if got := Normalize(c.in); got != c.want {
			t.Errorf("Normalize(%q) = %q; want %q", c.in, got, c.want)
		}
		if got := Normalize(Normalize(c.in)); got != Normalize(c.in) {
			t.Errorf("Normalize is not idempotent on %q: %q", c.in, got)
		}
	}
}

func TestNormalizeNoAlloc(t *testing.T) {
	for _, in := range []string{"1,234.50", "  2025-04-16 ", `"INV-2025-0042"`, "a b c"} {
		if n := testing.AllocsPerRun(100, func() { _ = Normalize(in) }); n != 0 {
			t.Errorf("Normalize(%q) allocates %v times", in, n)
		}
	}
}

// TestNormalizeWideAgreesWithNFKC holds the full-width shortcut to NFKC for
// every character it takes, alone and among ASCII, spaces and quotes.
func TestNormalizeWideAgreesWithNFKC(t *testing.T) {
	wide := []rune{ideographicSpace}
	for r := rune(fullWidthFirst); r <= fullWidthLast; r++ {
		wide = append(wide, r)
	}
	for _, r := range wide {
		for _, in := range []string{string(r), "a" + string(r) + "1", " " + string(r) + " ", `"` + string(r) + `"`, string(r) + string(r) + "x"} {
			if got, want := Normalize(in), normalizeNFKC(in); got != want {
				t.Errorf("Normalize(%q) = %q, by NFKC %q", in, got, want)
			}
			if _, ok := normalizeWide(in); !ok {
				t.Errorf("normalizeWide(%q) declined", in)
			}
		}
	}
	// Anything else outside ASCII goes the full way.
	for _, in := range []string{"１２\u00a0３", "ｅ\u0301", "￥１", "１\u200b２", "１\xff"} {
		if _, ok := normalizeWide(in); ok {
			t.Errorf("normalizeWide(%q) took a text it cannot", in)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = Normalize("１，２３４．５０") }); n > 1 {
		t.Errorf("Normalize of a full-width number allocates %v times", n)
	}
}

func TestMatchKey(t *testing.T) {
	same := [][]string{
		{"上海华东贸易有限公司", "上海华东贸易", "上海华东贸易股份有限公司", "上海华东贸易有限责任公司", "「上海华东贸易有限公司」", "上海华东贸易 有限公司"},
		{"上海华东集团有限公司", "上海华东集团", "上海华东"},
		{"ACME Trading Co., Ltd.", "Acme Trading", "ACME TRADING CO LTD", "Acme Trading Co. Ltd", "Acme Trading Limited",
			"Acme-Trading Inc.", "Acme Trading, Inc", "acme trading llc", "Acme Trading Corp.", "Acme Trading Corporation",
			"ＡＣＭＥ Ｔｒａｄｉｎｇ", "Acme Trading Pte Ltd", "Acme Trading Pte. Ltd.", "Acme Trading Group"},
		{"Müller Industrietechnik GmbH", "MÜLLER INDUSTRIETECHNIK", "Müller Industrietechnik G.m.b.H."},
		{"Nestlé S.A.", "Nestle\u0301 SA", "NESTLÉ"},
		{"Siemens AG", "Siemens"},
	}
	for _, group := range same {
		want := MatchKey(group[0])
		if want == "" {
			t.Errorf("MatchKey(%q) is empty", group[0])
		}
		for _, n := range group[1:] {
			if got := MatchKey(n); got != want {
				t.Errorf("MatchKey(%q) = %q; want %q as for %q", n, got, want, group[0])
			}
		}
	}
	for in, want := range map[string]string{
		"上海华东贸易有限公司":             "上海华东贸易",
		"ACME Trading Co., Ltd.": "acmetrading",
		"Limited":                "limited",
		"有限公司":                   "有限公司",
		"Co. Ltd.":               "co",
		"":                       "",
		"  ":                     "",
		"3M Company":             "3m",
		"A & B Co.":              "ab",
	} {
		if got := MatchKey(in); got != want {
			t.Errorf("MatchKey(%q) = %q; want %q", in, got, want)
		}
	}
	differ := [][2]string{{"上海华东贸易有限公司", "上海华西贸易有限公司"}, {"Acme Trading", "Acme Holding"}}
	for _, d := range differ {
		if MatchKey(d[0]) == MatchKey(d[1]) {
			t.Errorf("MatchKey(%q) == MatchKey(%q)", d[0], d[1])
		}
	}
}

// TestNumberLookalikes: characters NFKC turns into digits are refused by
// the number parsers rather than read as digits; digits a source writes
// and Chinese numerals are not lookalikes.
func TestNumberLookalikes(t *testing.T) {
	for in, want := range map[string]rune{"1234¹": '¹', "H₂O 5": '₂', "③": '③', "1,234.50": 0, "１２３４": 0, "二〇二五年": 0, "Ⅻ": 0, "": 0,
		"12345678.90¹": '¹', "2025-04-16T14:30:0⁶": '⁶', "2025-04-16T14:30:06Z": 0, "1234567": 0, "12345678": 0} {
		r, ok := NumberLookalike(in)
		if ok != (want != 0) || r != want {
			t.Errorf("NumberLookalike(%q) = %q, %v; want %q", in, r, ok, want)
		}
	}
	if _, err := ParseAmount("1234¹", AmountOptions{DefaultCurrency: record.MustCurrency("CNY")}); !errors.Is(err, ErrNumberLookalike) {
		t.Errorf("ParseAmount(1234¹): %v, want ErrNumberLookalike", err)
	}
	if _, err := ParseDate("2025-04-1⁶", DateOptions{}); !errors.Is(err, ErrNumberLookalike) {
		t.Errorf("ParseDate(2025-04-1⁶): %v, want ErrNumberLookalike", err)
	}
}
