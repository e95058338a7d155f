package match

import (
	"testing"

	"github.com/erpflow/erpflow/connectors/generator"
	"github.com/erpflow/erpflow/pipeline/record"
)

// TestReconcilerAgainstTruth runs every check of the reconciler over a
// generated world, company by company in event-time order, and holds what
// it reports to the world's truth: links confirmed, planted exceptions found
// with their type and subject, control totals balanced.
func TestReconcilerAgainstTruth(t *testing.T) {
	dir := t.TempDir()
	if _, err := generator.WriteFiles(generator.Config{Seed: 4, Days: 60, Companies: 3, OrdersPerDay: 40}, dir, nil); err != nil {
		t.Fatal(err)
	}
	links := map[[2]string]bool{}
	planted := map[[2]string]bool{}
	for x := range truthLines(t, dir) {
		switch x["type"] {
		case "link":
			links[[2]string{x["bank_txn"], x["target_id"]}] = true
		case "exception":
			planted[[2]string{x["exception"], x["subject_id"]}] = true
		}
	}
	recs := map[string]*Reconciler{}
	var out Output
	lines := map[string]LineResult{}
	byID := map[string]Exception{} // the latest of each exception
	var totals []ControlTotal
	collect := func() {
		for _, l := range out.Lines {
			lines[l.Line] = l
		}
		for _, x := range out.Exceptions {
			byID[x.ID] = x
		}
		totals = append(totals, out.Totals...)
		out.Reset()
	}
	var last record.Record
	for r := range recordLines(t, dir) {
		rc := recs[r.Company]
		if rc == nil {
			var err error
			if rc, err = NewReconciler(r.Company, DefaultSettings()); err != nil {
				t.Fatal(err)
			}
			recs[r.Company] = rc
		}
		rc.Add(r, &out)
		collect()
		last = *r
	}
	for _, rc := range recs {
		rc.Close(last.EventTime, &out)
		collect()
	}

	raised := map[[2]string]Exception{}
	for _, x := range byID {
		raised[[2]string{x.Type, x.Subject}] = x
	}
	right, confirmed := 0, 0
	for _, l := range lines {
		if l.Outcome != Confirmed {
			continue
		}
		for _, p := range l.Parts {
			confirmed++
			if links[[2]string{l.Line, l.Company + "/" + p.Source + "/" + p.ID}] {
				right++
			}
		}
	}
	precision, recall := float64(right)/float64(confirmed), float64(right)/float64(len(links))
	t.Logf("%d lines, %d links confirmed, precision %.4f recall %.4f, %d exceptions raised, %d planted", len(lines), confirmed, precision, recall, len(raised), len(planted))
	if precision < 0.995 || recall < 0.9 {
		t.Errorf("precision %.4f recall %.4f: below the floors 0.995 / 0.90", precision, recall)
	}
	// Every planted duplicate payment, three-way mismatch and approval
	// breach is found, and nothing else of those types is raised.
	for _, typ := range []string{ExcDuplicatePayment, ExcThreeWayMismatch, ExcApprovalBreach} {
		n := 0
		for k := range planted {
			if k[0] != typ {
				continue
			}
			n++
			if _, ok := raised[k]; !ok {
				t.Errorf("planted %s %s not raised", typ, k[1])
			}
		}
		if n == 0 {
			t.Errorf("the world plants no %s: the test proves nothing about it", typ)
		}
	}
	// Overdue invoices at the end depend on which receipts matching
	// confirmed: a receipt left in review leaves its invoice looking unpaid.
	// They are held to floors, not to the exact truth.
	overduePlanted, overdueFound, overdueFalse := 0, 0, 0
	for k := range planted {
		if k[0] == ExcUnpaidOverdue || k[0] == ExcUnderpaidOverdue {
			overduePlanted++
			if x, ok := raised[k]; ok && x.Status == StatusOpen {
				overdueFound++
			}
		}
	}
	for k, x := range raised {
		switch k[0] {
		case ExcDuplicatePayment, ExcThreeWayMismatch, ExcApprovalBreach:
			if !planted[k] {
				t.Errorf("raised %s %s (%s), not planted", k[0], k[1], x.Reason)
			}
		case ExcUnpaidOverdue, ExcUnderpaidOverdue:
			if x.Status == StatusOpen && !planted[k] {
				overdueFalse++
			}
		case ExcUnbalanced:
			t.Errorf("control totals unbalanced: %s", k[1])
		}
	}
	t.Logf("overdue at the end: %d planted, %d found, %d raised and not planted", overduePlanted, overdueFound, overdueFalse)
	if overduePlanted == 0 || overdueFound*10 < overduePlanted*9 || overdueFalse*10 > overduePlanted {
		t.Errorf("overdue: %d of %d planted found, %d false: below the floors (90 %% found, at most 10 %% false)", overdueFound, overduePlanted, overdueFalse)
	}
	if len(totals) == 0 {
		t.Fatal("no control totals reported")
	}
	for _, c := range totals {
		if !c.Balanced() {
			t.Errorf("%s %s %s: lines %d != %d + %d + %d", c.Company, c.Currency, c.Day, c.Amount, c.Matched, c.Review, c.Unmatched)
		}
	}
}
