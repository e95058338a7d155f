package mapping

import (
	"fmt"
	"testing"
	"unsafe"

	"github.com/erpflow/erpflow/transforms/clean"
)

// TestNormalizedMatchesNormalize checks that the Mapper's memory of normal
// forms gives what clean.Normalize gives, the first time and again.
func TestNormalizedMatchesNormalize(t *testing.T) {
	mp := &Mapper{}
	for _, s := range []string{"已付款", "  人民币 ", "１，２３４．５０", "\"上海华东贸易有限公司\"", "ＡＢＣ\u200b", "paid", "", "费用  类型"} {
		for range 2 {
			if got, want := mp.normalized(s), clean.Normalize(s); got != want {
				t.Errorf("normalized(%q) = %q, want %q", s, got, want)
			}
		}
	}
}

// TestNormalizedKeepsCopies feeds values that are views of a buffer the
// parser reuses, as asText returns them: what the Mapper remembers must not
// change when the buffer does.
func TestNormalizedKeepsCopies(t *testing.T) {
	mp := &Mapper{}
	buf := []byte("已审批")
	view := unsafe.String(&buf[0], len(buf))
	first := mp.normalized(view)
	copy(buf, "审批中")
	if got := mp.normalized("已审批"); got != "已审批" || first != "已审批" {
		t.Fatalf("after the buffer changed: normalized(已审批) = %q, first result now %q", got, first)
	}
	if got := mp.normalized(view); got != "审批中" {
		t.Fatalf("normalized of the changed buffer = %q, want 审批中", got)
	}
}

// TestNormalizedIsBounded checks that a source with endless distinct words
// does not grow the Mapper's memory past its bound.
func TestNormalizedIsBounded(t *testing.T) {
	mp := &Mapper{}
	for i := range 3 * maxNormTexts {
		s := fmt.Sprintf("客户%d", i)
		if got := mp.normalized(s); got != s {
			t.Fatalf("normalized(%q) = %q", s, got)
		}
		if len(mp.norms) > maxNormTexts {
			t.Fatalf("%d values remembered, bound %d", len(mp.norms), maxNormTexts)
		}
	}
}
