package match

import (
	"fmt"
	"strings"
	"testing"
)

func TestScore(t *testing.T) {
	truth, err := ReadTruth(strings.NewReader(`{"type":"link","bank_txn":"C/b/L1","target_kind":"invoice","target_id":"C/e/I1","amount":"10.00"}
{"type":"link","bank_txn":"C/b/L1","target_kind":"invoice","target_id":"C/e/I2","amount":"5.00"}
{"type":"link","bank_txn":"C/b/L2","target_kind":"invoice","target_id":"C/e/I3","amount":"7.00"}
{"type":"link","bank_txn":"C/b/L3","target_kind":"expense_claim","target_id":"C/r/X1","amount":"7.00"}
{"type":"exception","exception":"duplicate_payment","subject_id":"C/e/P2","related_id":"C/e/P1"}
{"type":"exception","exception":"approval_breach","subject_id":"C/r/X9","reason":"self_approval"}
{"type":"dead_letter","source":"bank_a","company":"C","raw_id":"9","line":3,"reason":"invalid_json"}
`))
	if err != nil {
		t.Fatal(err)
	}
	confirmed := []Link{{"C/b/L1", "C/e/I1"}, {"C/b/L1", "C/e/I2"}, {"C/b/L1", "C/e/I2"}, {"C/b/L3", "C/e/I3"}}
	outcomes := map[string]Outcome{"C/b/L1": Confirmed, "C/b/L2": Review, "C/b/L3": Confirmed}
	found := map[Finding]bool{{"duplicate_payment", "C/e/P2"}: true, {"approval_breach", "C/r/X1"}: true}
	s := Score(truth, confirmed, outcomes, found)
	// 3 distinct confirmed links, 2 right; 4 truth links; 3 linked lines,
	// 1 in review; 1 of 2 planted exceptions found (the other has the
	// wrong subject).
	if s.Confirmed != 3 || s.Right != 2 || s.Links != 4 || s.InReview != 1 || s.LinkedLines != 3 || s.Found != 1 || s.Planted != 2 {
		t.Fatalf("%+v", s)
	}
	// Missed: L2's I3 (the line is in review) and L3's X1 (confirmed to
	// another document); wrong: L3 to I3.
	if fmt.Sprint(s.Missed, s.Wrong) != "[{C/b/L2 C/e/I3} {C/b/L3 C/r/X1}] [{C/b/L3 C/e/I3}]" || s.MissedBy[Review] != 1 || s.MissedBy[Confirmed] != 1 {
		t.Errorf("missed %v wrong %v by %v", s.Missed, s.Wrong, s.MissedBy)
	}
	if !strings.Contains(s.String(), "links missed, by what became of their line: confirmed 1, review 1\n") {
		t.Errorf("report without the missed tally:\n%s", s)
	}
	last := strings.TrimSpace(s.String())
	last = last[strings.LastIndex(last, "\n")+1:]
	if want := "precision=0.6667 recall=0.5000 review=0.3333 exceptions_found=1 exceptions_planted=2"; last != want {
		t.Errorf("last line %q, want %q", last, want)
	}
	if _, err := ReadTruth(strings.NewReader("{\"type\":\"link\"}\nnot json\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("a link without ids: %v", err)
	}
	if _, err := ReadTruth(strings.NewReader("{\"type\":\"exception\"}\nnot json\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a line that is not JSON: %v", err)
	}
}
