package match

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// marshalled is what encoding/json makes of v, nil when it refuses.
func marshalled(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

func sameAsEncodingJSON(t *testing.T, m *MatchNote, x *ExceptionNote) {
	t.Helper()
	if got, want := appendMatchNote(nil, m), marshalled(m); !bytes.Equal(got, want) {
		t.Fatalf("match note:\ngot  %s\nwant %s", got, want)
	}
	if got, want := appendExceptionNote(nil, x), marshalled(x); !bytes.Equal(got, want) {
		t.Fatalf("exception note:\ngot  %s\nwant %s", got, want)
	}
}

func TestNotesAsEncodingJSON(t *testing.T) {
	texts := []string{"", "plain", `q"uo\te`, "<a href='x'>&amp;</a>", "tab\tnl\ncr\rbs\bff\f\x00\x1f\x7f",
		"上海博远精密制造股份有限公司", "bad \xff\xfe bytes \xe4\xb8", "line\u2028para\u2029end", "emoji 😀"}
	scores := []float64{0, 1, 0.5, 0.875, -0.25, 1e-7, 1e-6, 123456789, 1e20, 1e21, 2.5e-9, math.Copysign(0, -1),
		math.NaN(), math.Inf(1)}
	for i, s := range texts {
		m := &MatchNote{MatchID: s, Company: "SH01", BankLine: "SH01/bank_a/" + s, Outcome: "confirmed", DecidedBy: s,
			Amount: "1234.50", Currency: "CNY", Rule: s, RulesVersion: i, Score: scores[i%len(scores)],
			Applied:  []NotePart{{"invoice", s, "1.00"}, {"payment", "x", s}},
			Criteria: []NoteCriterion{{s, true, s}, {"amount", false, ""}}}
		x := &ExceptionNote{ExceptionID: s, Company: "SH01", Type: "fee_deducted", Reason: s, Status: "open", Subject: s,
			Related: s, Amount: s, Currency: s, Date: "2025-04-16", NextStep: s, Criteria: m.Criteria}
		sameAsEncodingJSON(t, m, x)
	}
	for _, sc := range scores {
		sameAsEncodingJSON(t, &MatchNote{Score: sc}, &ExceptionNote{})
	}
	// nil and empty lists differ in encoding/json: null and [].
	sameAsEncodingJSON(t, &MatchNote{Applied: []NotePart{}, Criteria: []NoteCriterion{}}, &ExceptionNote{Criteria: []NoteCriterion{}})
}

func FuzzNotesAsEncodingJSON(f *testing.F) {
	f.Add("SH01/bank_a/ICBC1", "<&>\u2028", 0.75, true, uint8(2))
	f.Add("\xff", "", 1e-9, false, uint8(0))
	f.Fuzz(func(t *testing.T, a, b string, score float64, pass bool, n uint8) {
		var parts []NotePart
		var crit []NoteCriterion
		for i := range int(n % 4) {
			parts = append(parts, NotePart{a, b, a + b})
			crit = append(crit, NoteCriterion{b, pass == (i%2 == 0), a})
		}
		m := &MatchNote{MatchID: a, Company: b, BankLine: a, Outcome: b, DecidedBy: a, Amount: b, Currency: a, Rule: b,
			RulesVersion: int(n), Score: score, Applied: parts, Criteria: crit}
		x := &ExceptionNote{ExceptionID: a, Company: b, Type: a, Reason: b, Status: a, Subject: b, Related: a, Amount: b,
			Currency: a, Date: b, NextStep: a, Criteria: crit}
		sameAsEncodingJSON(t, m, x)
	})
}
