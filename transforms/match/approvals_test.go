package match

import (
	"fmt"
	"testing"

	"github.com/erpflow/erpflow/connectors/generator"
	"github.com/erpflow/erpflow/pipeline/record"
)

// TestApprovalsAgainstTruth runs a generated world through the checker
// and requires exactly the planted approval breaches, with their reasons.
func TestApprovalsAgainstTruth(t *testing.T) {
	dir := t.TempDir()
	st, err := generator.WriteFiles(generator.Config{Seed: 11, Days: 90, Companies: 3, OrdersPerDay: 20}, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	planted := map[[2]string]bool{}
	for x := range truthLines(t, dir) {
		if x["exception"] == generator.ExcApprovalBreach {
			planted[[2]string{x["subject_id"], x["reason"]}] = true
		}
	}
	reasons := map[string]int{}
	for k := range planted {
		reasons[k[1]]++
	}
	if len(planted) != st.Exceptions[generator.ExcApprovalBreach] || reasons[BreachMissingLevel] == 0 ||
		reasons[BreachPaidAfterReject] == 0 || reasons[BreachSelfApproval] == 0 {
		t.Fatalf("the world plants %v (stats %d): every reason is needed to test", reasons, st.Exceptions[generator.ExcApprovalBreach])
	}
	a := NewApprovals()
	found := map[[2]string]bool{}
	for r := range recordLines(t, dir) {
		for _, b := range a.Add(r) {
			found[[2]string{b.Subject, b.Reason}] = true
			if b.NextStep == "" || len(b.Criteria) == 0 {
				t.Errorf("%v: no next step or criteria", b)
			}
		}
	}
	for k := range planted {
		if !found[k] {
			t.Errorf("planted breach not found: %v", k)
		}
	}
	for k := range found {
		if !planted[k] {
			t.Errorf("breach raised that was not planted: %v", k)
		}
	}
	t.Logf("planted %v, found %d", reasons, len(found))
}

func TestApprovalTrails(t *testing.T) {
	rec := func(id string, body record.Body) *record.Record {
		return &record.Record{Envelope: record.Envelope{Company: "SH01", Source: "erp", ID: id, Version: 1}, Body: body}
	}
	step := func(subject string, k record.Kind, n, level, required uint32, who, action string) *record.Record {
		return rec(fmt.Sprintf("%s/%d", subject, n), &record.Approval{SubjectKind: k, SubjectID: subject, Step: n, Level: level,
			RequiredLevels: required, Approver: record.Party{ID: who}, Action: action})
	}
	pay := func(status string) *record.Record {
		return rec("PAY-1", &record.Payment{Number: "PAY-1", Direction: "out", Status: status})
	}
	claim := func(status string) *record.Record {
		return rec("BX-1", &record.ExpenseClaim{Number: "BX-1", Employee: record.Party{ID: "E1"}, ApprovalStatus: status})
	}
	p, c := record.KindPayment, record.KindExpenseClaim
	cases := []struct {
		name    string
		records []*record.Record
		want    []string // reasons, in order
	}{
		{"two levels approved, then paid", []*record.Record{pay("pending"), step("PAY-1", p, 1, 1, 2, "M1", "approve"),
			step("PAY-1", p, 2, 2, 2, "M2", "approve"), pay("executed")}, nil},
		{"a level missing", []*record.Record{pay("pending"), step("PAY-1", p, 1, 1, 2, "M1", "approve"), pay("executed")},
			[]string{BreachMissingLevel}},
		{"no approval at all", []*record.Record{pay("pending"), pay("executed")}, []string{BreachMissingLevel}},
		{"paid after a rejection, reported once however often re-sent", []*record.Record{pay("pending"),
			step("PAY-1", p, 1, 1, 3, "M1", "reject"), pay("executed"), pay("executed")}, []string{BreachPaidAfterReject}},
		{"rejected, resubmitted, approved", []*record.Record{pay("pending"), step("PAY-1", p, 1, 1, 1, "M1", "reject"),
			step("PAY-1", p, 2, 0, 1, "U1", "submit"), step("PAY-1", p, 3, 1, 1, "M1", "approve"), pay("executed")}, nil},
		{"returned and resubmitted claim", []*record.Record{claim("pending"), step("BX-1", c, 1, 1, 1, "M1", "return"),
			step("BX-1", c, 2, 0, 1, "E1", "submit"), step("BX-1", c, 3, 1, 1, "M1", "approve"), claim("approved")}, nil},
		{"claimant approves own claim", []*record.Record{claim("pending"), step("BX-1", c, 1, 1, 1, "E1", "approve"), claim("approved")},
			[]string{BreachSelfApproval}},
		{"self-approval step ahead of its claim", []*record.Record{step("BX-1", c, 1, 1, 1, "E1", "approve"), claim("pending")},
			[]string{BreachSelfApproval}},
		{"returned and paid without resubmission", []*record.Record{pay("pending"), step("PAY-1", p, 1, 1, 1, "M1", "approve"),
			step("PAY-1", p, 2, 1, 1, "M1", "return"), pay("executed")}, []string{BreachMissingLevel}},
		{"a stale step redelivered changes nothing", func() []*record.Record {
			approved := step("PAY-1", p, 1, 1, 1, "M1", "approve")
			approved.Version = 2 // the approver changed a first rejection
			return []*record.Record{pay("pending"), approved, step("PAY-1", p, 1, 1, 1, "M1", "reject"), pay("executed")}
		}(), nil},
		{"a middle level skipped", []*record.Record{pay("pending"), step("PAY-1", p, 1, 1, 3, "M1", "approve"),
			step("PAY-1", p, 2, 3, 3, "M3", "approve"), pay("executed")}, []string{BreachSkippedLevel}},
		{"the first level skipped, and the top missing", []*record.Record{claim("pending"), step("BX-1", c, 1, 2, 3, "M2", "approve"),
			claim("approved")}, []string{BreachMissingLevel, BreachSkippedLevel}},
		{"returned at level 2, resubmitted, resumed there", []*record.Record{pay("pending"),
			step("PAY-1", p, 1, 1, 2, "M1", "approve"), step("PAY-1", p, 2, 2, 2, "M2", "return"),
			step("PAY-1", p, 3, 0, 2, "U1", "submit"), step("PAY-1", p, 4, 2, 2, "M2", "approve"), pay("executed")}, nil},
		{"rejected, resubmitted, approved at level 2 alone", []*record.Record{pay("pending"),
			step("PAY-1", p, 1, 1, 2, "M1", "approve"), step("PAY-1", p, 2, 2, 2, "M2", "reject"),
			step("PAY-1", p, 3, 0, 2, "U1", "submit"), step("PAY-1", p, 4, 2, 2, "M2", "approve"), pay("executed")},
			[]string{BreachSkippedLevel}},
		{"levels approved out of step order", []*record.Record{pay("pending"), step("PAY-1", p, 1, 2, 2, "M2", "approve"),
			step("PAY-1", p, 2, 1, 2, "M1", "approve"), pay("executed")}, nil},
		{"an unpaid payment breaches nothing yet", []*record.Record{pay("pending"), step("PAY-1", p, 1, 1, 2, "M1", "approve")}, nil},
	}
	for _, tc := range cases {
		a := NewApprovals()
		var got []string
		for _, r := range tc.records {
			for _, b := range a.Add(r) {
				got = append(got, b.Reason)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestApprovalPolicyByAmount: a company's policy asks for more levels
// above an amount than the workflow's steps state; money out above it with
// fewer is a missing level, at or below it is fine, and another currency's
// threshold does not apply.
func TestApprovalPolicyByAmount(t *testing.T) {
	policy := []LevelRule{{Above: record.Money{Minor: 1000000, Currency: cny}, Levels: 2},
		{Above: record.Money{Minor: 5000000, Currency: cny}, Levels: 3}}
	for _, c := range []struct {
		name   string
		amount record.Money
		levels uint32 // approved
		breach bool
	}{
		{"at the threshold, one level", record.Money{Minor: 1000000, Currency: cny}, 1, false},
		{"above it, one level", record.Money{Minor: 1000001, Currency: cny}, 1, true},
		{"above it, two levels", record.Money{Minor: 2000000, Currency: cny}, 2, false},
		{"above the second, two levels", record.Money{Minor: 6000000, Currency: cny}, 2, true},
		{"dollars: no dollar threshold", record.Money{Minor: 9000000, Currency: record.MustCurrency("USD")}, 1, false},
	} {
		a := NewApprovals(policy...)
		var out []Breach
		for lvl := uint32(1); lvl <= c.levels; lvl++ {
			out = append(out, a.Add(&record.Record{Envelope: record.Envelope{Kind: record.KindApproval, Company: "SH01", Source: "erp",
				ID: fmt.Sprintf("P1/%d", lvl), Version: 1}, Body: &record.Approval{SubjectKind: record.KindPayment, SubjectID: "P1",
				Step: lvl, Level: lvl, RequiredLevels: 1, Approver: record.Party{ID: fmt.Sprintf("M%d", lvl)}, Action: "approve"}})...)
		}
		out = append(out, a.Add(&record.Record{Envelope: record.Envelope{Kind: record.KindPayment, Company: "SH01", Source: "erp", ID: "P1", Version: 2},
			Body: &record.Payment{Number: "P1", Direction: "out", Amount: c.amount, Status: "executed"}})...)
		if got := len(out) == 1 && out[0].Reason == BreachMissingLevel; got != c.breach || len(out) > 1 {
			t.Errorf("%s: %+v", c.name, out)
		}
	}
}
