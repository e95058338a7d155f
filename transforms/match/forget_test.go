package match

import (
	"testing"
	"time"

	"github.com/erpflow/erpflow/connectors/generator"
	"github.com/erpflow/erpflow/pipeline/record"
)

// TestForget: state ages on event time; what is settled and quiet goes,
// what is still owed stays however old.
func TestForget(t *testing.T) {
	at := func(day int) time.Time { return time.Date(2025, 3, day, 9, 0, 0, 0, time.UTC) }
	rec := func(id string, day int, body record.Body) *record.Record {
		return &record.Record{Envelope: record.Envelope{Company: "SH01", Source: "erp", ID: id, Version: 1, EventTime: at(day)}, Body: body}
	}
	cny100 := record.Money{Minor: 100, Currency: cny}
	cutoff := record.MakeDate(2025, 3, 20)

	tw := NewThreeWay(DefaultThreeWayTolerance())
	tw.Add(rec("PO-1", 1, &record.PurchaseOrder{Number: "PO-1", Status: "open"}))
	tw.Add(rec("PO-2", 25, &record.PurchaseOrder{Number: "PO-2", Status: "open"}))
	if n := tw.Forget(cutoff, nil); n != 1 || len(tw.orders) != 1 {
		t.Errorf("three-way: forgot %d, kept %d orders", n, len(tw.orders))
	}

	p := NewPayables()
	p.Add(rec("AP-1", 1, &record.Invoice{Number: "AP-1", Direction: "AP", Party: record.Party{ID: "S1"}, Total: cny100, Status: "open"}))
	p.Add(rec("AP-2", 1, &record.Invoice{Number: "AP-2", Direction: "AP", Party: record.Party{ID: "S1"}, Total: cny100, Status: "open"}))
	p.Add(rec("PAY-1", 2, &record.Payment{Number: "PAY-1", Direction: "out", Party: record.Party{ID: "S1"}, Amount: cny100,
		Status: "executed", InvoiceRefs: []string{"AP-1"}}))
	if n := p.Forget(cutoff); n != 2 || p.invoices[payableKey("SH01", "S1", "AP-2")] == nil {
		t.Errorf("payables: forgot %d; the unpaid AP-2 kept: %v", n, p.invoices[payableKey("SH01", "S1", "AP-2")] != nil)
	}

	a := NewApprovals()
	a.Add(rec("PAY-9/1", 1, &record.Approval{SubjectKind: record.KindPayment, SubjectID: "PAY-9", Step: 1, Level: 1, RequiredLevels: 1, Action: "approve"}))
	a.Add(rec("PAY-8/1", 22, &record.Approval{SubjectKind: record.KindPayment, SubjectID: "PAY-8", Step: 1, Level: 1, RequiredLevels: 1, Action: "approve"}))
	if n := a.Forget(cutoff); n != 1 || len(a.trails) != 1 {
		t.Errorf("approvals: forgot %d, kept %d trails", n, len(a.trails))
	}

	o := NewOrderToCash()
	o.Add(rec("INV-1", 1, &record.Invoice{Number: "INV-1", Direction: "AR", OrderRef: "SO-1", Total: cny100, Status: "open"}))
	o.Settled("m1", "SH01/erp/INV-1", cny100, record.MakeDate(2025, 3, 5))
	o.Add(rec("INV-2", 1, &record.Invoice{Number: "INV-2", Direction: "AR", OrderRef: "SO-2", Total: cny100, Status: "open"}))
	if n := o.Forget(cutoff); n != 1 || o.chains["SO-2"] == nil || o.invoices["SH01/erp/INV-1"] != nil {
		t.Errorf("order to cash: forgot %d; unpaid SO-2 kept %v", n, o.chains["SO-2"] != nil)
	}
}

// TestForgetLeavesNothingForgettable runs a generated world through the
// reconcilers with a short memory and, at every day's end, walks all they
// hold: no known document that is out of the book and untouched since the
// cut, and no paid or cancelled chain untouched since it, may be left.
// Forgetting looks only at what aged past the cut (ageQueue), so an entry
// it loses track of would stay here for ever.
func TestForgetLeavesNothingForgettable(t *testing.T) {
	dir := t.TempDir()
	if _, err := generator.WriteFiles(generator.Config{Seed: 2, Days: 75, Companies: 2, OrdersPerDay: 20}, dir, nil); err != nil {
		t.Fatal(err)
	}
	set := DefaultSettings()
	set.RetainDays = 20
	rcs := map[string]*Reconciler{}
	var out Output
	forgotten, days := map[string]int{}, 0
	for r := range recordLines(t, dir) {
		rc := reconcilerOf(t, rcs, r.Company, set)
		before, known, chains := rc.day, len(rc.known), len(rc.o2c.chains)
		rc.Add(r, &out)
		out.Reset()
		if rc.day == before || before == 0 {
			continue
		}
		days++
		forgotten["known"] += max(known-len(rc.known), 0)
		forgotten["chains"] += max(chains-len(rc.o2c.chains), 0)
		cut := before - record.Date(set.RetainDays)
		for k, it := range rc.known {
			if it.touched < cut && rc.Book().Get(k.kind, k.source, k.id) == nil {
				t.Fatalf("%s, end of %s: %v out of the book and untouched since %s, still known", r.Company, before, k, it.touched)
			}
		}
		for k, c := range rc.o2c.chains {
			if c.touched < cut && (c.Status == "paid" || c.Status == "cancelled") {
				t.Fatalf("%s, end of %s: chain %s %s and untouched since %s, still held", r.Company, before, k, c.Status, c.touched)
			}
		}
	}
	if days < 100 || forgotten["known"] < 200 || forgotten["chains"] < 200 {
		t.Fatalf("%d days' ends forgot %v: too little to test", days, forgotten)
	}
	t.Logf("%d days' ends forgot %v", days, forgotten)
}

// TestForgetStateFromTheEpoch: state whose only records are dated
// 1970-01-01, the same number as "not touched yet", is forgotten like any
// other once it ages past the cut: a cancelled order's chain, and an
// invoice a bank line paid in full.
func TestForgetStateFromTheEpoch(t *testing.T) {
	epoch := time.Date(1970, 1, 1, 1, 0, 0, 0, time.UTC)
	o := NewOrderToCash()
	o.Add(&record.Record{Envelope: record.Envelope{Company: "SH01", Source: "erp", ID: "SO-1", Version: 1, EventTime: epoch},
		Body: &record.SalesOrder{Number: "SO-1", OrderDate: record.DateOf(epoch), Status: "cancelled"}})
	if n := o.Forget(record.MakeDate(2025, 1, 1)); n != 1 || len(o.chains) != 0 {
		t.Errorf("order to cash forgot %d, kept %d chains", n, len(o.chains))
	}
	rc, err := NewReconciler("SH01", DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	var out Output
	rc.Add(&record.Record{Envelope: record.Envelope{Kind: record.KindInvoice, Company: "SH01", Source: "erp", ID: "INV-2", Version: 1, EventTime: epoch},
		Body: &record.Invoice{Number: "INV-2", Direction: "AR", Party: record.Party{ID: "C1", Name: "Acme"}, Total: record.Money{Minor: 100, Currency: cny},
			IssueDate: record.DateOf(epoch), DueDate: record.DateOf(epoch), Status: "open"}}, &out)
	rc.Add(&record.Record{Envelope: record.Envelope{Kind: record.KindBankTxn, Company: "SH01", Source: "bank", ID: "L-1", Version: 1, EventTime: epoch.Add(time.Hour)},
		Body: &record.BankTxn{Account: "6222", BookingDate: record.DateOf(epoch), ValueDate: record.DateOf(epoch), Direction: "credit",
			Amount: record.Money{Minor: 100, Currency: cny}, Counterparty: record.Party{Name: "Acme"}, Remittance: "INV-2"}}, &out)
	held := 0
	for k := range rc.known {
		if rc.Book().Get(k.kind, k.source, k.id) == nil {
			held++
		}
	}
	if held == 0 {
		t.Fatalf("no settled document known (%d known): the test needs one", len(rc.known))
	}
	rc.forgetKnown(record.MakeDate(2025, 1, 1))
	for k, it := range rc.known {
		if rc.Book().Get(k.kind, k.source, k.id) == nil {
			t.Errorf("%v, out of the book since %s, still known", k, it.touched)
		}
	}
}

// TestForgetParkedDocumentOnceItLeavesTheBook: an open document untouched
// since the cut is parked, not checked again at every day's end; leaving
// the book wakes it, and the next day's end forgets it.
func TestForgetParkedDocumentOnceItLeavesTheBook(t *testing.T) {
	rc, err := NewReconciler("SH01", DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 1, 2, 9, 0, 0, 0, time.UTC)
	var out Output
	for _, id := range []string{"INV-1", "INV-2"} {
		rc.Add(&record.Record{Envelope: record.Envelope{Kind: record.KindInvoice, Company: "SH01", Source: "erp", ID: id, Version: 1, EventTime: at},
			Body: &record.Invoice{Number: id, Direction: "AR", Party: record.Party{ID: "C1", Name: "Acme"}, Total: record.Money{Minor: 100, Currency: cny},
				IssueDate: record.DateOf(at), DueDate: record.DateOf(at), Status: "open"}}, &out)
	}
	k1 := itemKey{record.KindInvoice, "erp", "INV-1"}
	k2 := itemKey{record.KindInvoice, "erp", "INV-2"}
	cut := record.DateOf(at) + 10
	rc.forgetKnown(cut)
	rc.forgetKnown(cut + 1)
	if _, ok := rc.known[k1]; !ok {
		t.Fatal("an open document was forgotten")
	}
	if _, ok := rc.ages.parked[k1]; !ok {
		t.Fatalf("an open document untouched since the cut is not parked: %v", rc.ages.parked)
	}
	// Out of the book without a record touching it: no path does that
	// today (a match or a new version touches the document), but one that
	// did would leave it parked for ever without the wake.
	rc.Book().Remove(k1.kind, k1.source, k1.id)
	rc.forgetKnown(cut + 2)
	if _, ok := rc.known[k1]; ok {
		t.Error("a document out of the book and untouched since the cut is still known")
	}
	if _, ok := rc.ages.parked[k1]; ok {
		t.Error("a forgotten document is still parked")
	}
	if _, ok := rc.known[k2]; !ok {
		t.Error("the document still open was forgotten with the other")
	}
}

// TestForgetParkedChainOncePaid: a chain with money owed is parked, not
// checked again at every Forget; once settle finds it paid it is woken,
// and the next Forget lets it go.
func TestForgetParkedChainOncePaid(t *testing.T) {
	o := NewOrderToCash()
	at := time.Date(2025, 1, 2, 9, 0, 0, 0, time.UTC)
	day := record.DateOf(at)
	o.Add(&record.Record{Envelope: record.Envelope{Kind: record.KindSalesOrder, Company: "SH01", Source: "shop", ID: "SO-1", Version: 1, EventTime: at},
		Body: &record.SalesOrder{Number: "SO-1", OrderDate: day, Status: "open"}})
	o.Add(&record.Record{Envelope: record.Envelope{Kind: record.KindInvoice, Company: "SH01", Source: "erp", ID: "INV-1", Version: 1, EventTime: at},
		Body: &record.Invoice{Number: "INV-1", Direction: "AR", OrderRef: "SO-1", Party: record.Party{ID: "C1", Name: "Acme"},
			Total: record.Money{Minor: 100, Currency: cny}, IssueDate: day, DueDate: day, Status: "open"}})
	o.Forget(day + 10)
	o.Forget(day + 11)
	c := o.chains["SO-1"]
	if c == nil {
		t.Fatal("a chain with money owed was forgotten")
	}
	if _, ok := o.ages.parked["SO-1"]; !ok {
		t.Fatalf("a chain owed and untouched since the cut is not parked (status %s)", c.Status)
	}
	// Paid without a touch (no path does that today: a match touches
	// the chain first), which would leave it parked for ever unwoken.
	o.invoices["SH01/erp/INV-1"].received = 100
	o.settle(c)
	if c.Status != "paid" {
		t.Fatalf("status %s, want paid", c.Status)
	}
	if n := o.Forget(day + 12); n != 1 || o.chains["SO-1"] != nil {
		t.Errorf("Forget let go of %d chains, SO-1 kept: %v", n, o.chains["SO-1"] != nil)
	}
	if _, ok := o.ages.parked["SO-1"]; ok {
		t.Error("a forgotten chain is still parked")
	}
}
