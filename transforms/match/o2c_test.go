package match

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/erpflow/erpflow/connectors/generator"
	"github.com/erpflow/erpflow/pipeline/record"
)

func TestOrderToCashChain(t *testing.T) {
	rec := func(id string, body record.Body) *record.Record {
		return &record.Record{Envelope: record.Envelope{Company: "SH01", Source: "erp", ID: id, Version: 1}, Body: body}
	}
	day := func(d int) record.Date { return record.MakeDate(2025, 3, d) }
	money := func(m int64) record.Money { return record.Money{Minor: m, Currency: cny} }
	o := NewOrderToCash()
	o.Add(rec("SO-1", &record.SalesOrder{Number: "SO-1", OrderDate: day(1), Status: "open"}))
	o.Add(rec("SH-1", &record.Shipment{Number: "SH-1", OrderRef: "SO-1", ShipDate: day(3), Status: "shipped"}))
	c := o.Add(rec("SH-1", &record.Shipment{Number: "SH-1", OrderRef: "SO-1", ShipDate: day(3), DeliveredDate: day(5), Status: "delivered"}))
	if c.Status != "delivered" || len(c.Shipments) != 1 {
		t.Fatalf("after delivery: %s, %d shipments", c.Status, len(c.Shipments))
	}
	o.Add(rec("INV-1", &record.Invoice{Number: "INV-1", Direction: "AR", OrderRef: "SO-1", IssueDate: day(6), DueDate: day(20), Total: money(1000), Status: "open"}))
	o.Add(rec("INV-2", &record.Invoice{Number: "INV-2", Direction: "AR", OrderRef: "SO-1", IssueDate: day(7), DueDate: day(21), Total: money(500), Status: "open"}))
	if got := o.Overdue(day(22)); len(got) != 2 || got[0].Type != ExcUnpaidOverdue || got[0].Residual.Minor != 1000 || got[0].DaysLate != 2 {
		t.Fatalf("nothing paid, both past due: %+v", got)
	}
	if c = o.Settled("m1", "SH01/erp/INV-1", money(1000), day(18)); c.Status != "partially_paid" || c.Paid != record.NoDate {
		t.Fatalf("one of two invoices paid: %s, paid %v", c.Status, c.Paid)
	}
	o.Settled("m2", "SH01/erp/INV-2", money(200), day(19))
	if got := o.Overdue(day(22)); len(got) != 1 || got[0].Type != ExcUnderpaidOverdue || got[0].Residual.Minor != 300 || got[0].NextStep() == "" {
		t.Fatalf("INV-2 part paid: %+v", got)
	}
	if got := o.Overdue(day(20)); len(got) != 0 {
		t.Fatalf("INV-2 is not due by the 20th: %+v", got)
	}
	c = o.Settled("m3", "SH01/erp/INV-2", money(300), day(25))
	if c.Status != "paid" || c.Paid != day(25) {
		t.Fatalf("all paid: %s on %v", c.Status, c.Paid)
	}
	ship, deliver, invoice, cash := c.Days()
	if ship != 2 || deliver != 2 || invoice != 1 || cash != 19 {
		t.Errorf("days per step: %d %d %d %d, want 2 2 1 19", ship, deliver, invoice, cash)
	}
	// A bank fee the ERP wrote off: paid, though the bank brought less.
	o.Add(rec("INV-3", &record.Invoice{Number: "INV-3", Direction: "AR", OrderRef: "SO-3", IssueDate: day(6), DueDate: day(10), Total: money(1000), Status: "open"}))
	o.Settled("m4", "SH01/erp/INV-3", money(960), day(9))
	o.Add(rec("INV-3", &record.Invoice{Number: "INV-3", Direction: "AR", OrderRef: "SO-3", IssueDate: day(6), DueDate: day(10), Total: money(1000), Status: "paid"}))
	for _, it := range o.Overdue(day(30)) {
		if it.Invoice == "SH01/erp/INV-3" {
			t.Errorf("a written-off fee is overdue: %+v", it)
		}
	}
	if o.Settled("m5", "SH01/erp/INV-9", money(1), day(9)) != nil {
		t.Error("money for an unknown invoice moved a chain")
	}

	// A replayed match is not money again.
	o.Add(rec("INV-4", &record.Invoice{Number: "INV-4", Direction: "AR", OrderRef: "SO-4", IssueDate: day(1), DueDate: day(5), Total: money(1000), Status: "open"}))
	o.Settled("m6", "SH01/erp/INV-4", money(600), day(4))
	if c := o.Settled("m6", "SH01/erp/INV-4", money(600), day(4)); c.Status != "partially_paid" {
		t.Errorf("a replayed receipt paid the invoice: %s", c.Status)
	}
	// A credit note nets against its order's invoice.
	o.Add(rec("INV-5", &record.Invoice{Number: "INV-5", Direction: "AR", OrderRef: "SO-5", IssueDate: day(1), DueDate: day(5), Total: money(1000), Status: "open"}))
	o.Add(rec("CN-5", &record.Invoice{Number: "CN-5", Direction: "AR", OrderRef: "SO-5", IssueDate: day(2), DueDate: day(5), Total: money(-200), Status: "open"}))
	if c := o.Settled("m7", "SH01/erp/INV-5", money(800), day(4)); c.Status != "paid" {
		t.Errorf("invoice less its credit note paid: %s", c.Status)
	}
	for _, it := range o.Overdue(day(30)) {
		if it.Invoice == "SH01/erp/INV-5" || it.Invoice == "SH01/erp/CN-5" {
			t.Errorf("netted by its credit note, yet overdue: %+v", it)
		}
	}
	// Cancelling the only invoice takes the chain back to its goods.
	o.Add(rec("SO-6", &record.SalesOrder{Number: "SO-6", OrderDate: day(1), Status: "open"}))
	o.Add(rec("SH-6", &record.Shipment{Number: "SH-6", OrderRef: "SO-6", ShipDate: day(2), DeliveredDate: day(3), Status: "delivered"}))
	o.Add(rec("INV-6", &record.Invoice{Number: "INV-6", Direction: "AR", OrderRef: "SO-6", IssueDate: day(3), DueDate: day(9), Total: money(100), Status: "open"}))
	o.Settled("m8", "SH01/erp/INV-6", money(40), day(4))
	cancelled := rec("INV-6", &record.Invoice{Number: "INV-6", Direction: "AR", OrderRef: "SO-6", IssueDate: day(3), DueDate: day(9), Total: money(100), Status: "cancelled"})
	cancelled.Version = 2
	if c := o.Add(cancelled); c.Status != "delivered" {
		t.Errorf("after its only invoice was cancelled: %s", c.Status)
	}
	// The ERP calling an invoice paid with no receipt seen still dates it.
	paid := rec("INV-7", &record.Invoice{Number: "INV-7", Direction: "AR", OrderRef: "SO-7", IssueDate: day(3), DueDate: day(9), Total: money(100), Status: "paid"})
	paid.EventTime = time.Date(2025, 3, 8, 10, 0, 0, 0, time.UTC)
	if c := o.Add(paid); c.Status != "paid" || c.Paid != day(8) {
		t.Errorf("paid by the ERP: %s on %v", c.Status, c.Paid)
	}
}

// TestOrderToCashAgainstTruth feeds a generated world's orders, shipments
// and invoices, with the truth's receipts as the matches, and requires
// exactly the planted overdue exceptions at the window's end, residuals
// included.
func TestOrderToCashAgainstTruth(t *testing.T) {
	dir := t.TempDir()
	cfg := generator.Config{Seed: 4, Days: 60, Companies: 3, OrdersPerDay: 40}
	if _, err := generator.WriteFiles(cfg, dir, nil); err != nil {
		t.Fatal(err)
	}
	type link struct {
		target string
		amount record.Money
	}
	links := map[string][]link{}
	fees := map[string]record.Money{} // fees deducted unreported, by bank line
	planted := map[[3]string]bool{}
	for x := range truthLines(t, dir) {
		switch {
		case x["type"] == "link" && x["target_kind"] == "invoice":
			links[x["bank_txn"]] = append(links[x["bank_txn"]], link{x["target_id"], mustMoney(t, x["amount"])})
		case x["exception"] == generator.ExcFeeDeducted:
			fees[x["subject_id"]] = mustMoney(t, x["amount"])
		case x["exception"] == ExcUnpaidOverdue || x["exception"] == ExcUnderpaidOverdue:
			planted[[3]string{x["exception"], x["subject_id"], x["amount"]}] = true
		}
	}
	o := NewOrderToCash()
	seenLine := map[string]bool{}
	for r := range recordLines(t, dir) {
		if b, ok := r.Body.(*record.BankTxn); ok {
			full := r.Company + "/" + r.Source + "/" + r.ID
			if seenLine[full] {
				continue // a re-sent line: dedupe's work in the pipeline
			}
			seenLine[full] = true
			// Matching settles a fee-short invoice in full (the fee within
			// tolerance); the truth's links carry what the bank brought, and
			// the fee is written off against the line's last invoice.
			ls := append([]link(nil), links[full]...)
			if n := len(ls); n > 0 {
				ls[n-1].amount.Minor += fees[full].Minor
			}
			for _, l := range ls {
				// Currency comes from the invoice: the truth's amount is a
				// bare decimal.
				l.amount.Currency = b.Amount.Currency
				if o.Settled(full, l.target, l.amount, b.BookingDate) == nil {
					t.Fatalf("truth link to %s, an invoice the tracker has not seen", l.target)
				}
			}
			continue
		}
		if p, ok := r.Body.(*record.Payment); ok && p.Direction == "in" && p.Method == "draft" && len(p.InvoiceRefs) == 1 {
			// A bank acceptance draft pays its invoice with no bank line,
			// as the reconciler's receipts tell the tracker.
			o.Settled("receipt|"+r.Company+"/"+r.Source+"/"+r.ID, r.Company+"/erp/"+p.InvoiceRefs[0], p.Amount, p.ValueDate)
			continue
		}
		o.Add(r)
	}
	start, _ := record.ParseDate("2025-01-01")
	found := map[[3]string]bool{}
	for _, it := range o.Overdue(start + record.Date(cfg.Days) - 1) {
		found[[3]string{it.Type, it.Invoice, it.Residual.String()}] = true
		if it.Order == "" {
			t.Errorf("%s: overdue invoice without its order", it.Invoice)
		}
	}
	for k := range planted {
		if !found[k] {
			t.Errorf("planted, not found: %v", k)
		}
	}
	for k := range found {
		if !planted[k] {
			t.Errorf("found, not planted: %v", k)
		}
	}
	paid := 0
	for _, c := range o.chains {
		if c.Status == "paid" {
			paid++
			if s, dl, i, cash := c.Days(); s < 0 || dl < 0 || i < 0 || cash < 0 {
				t.Errorf("%s paid with a step missing or backwards: %d %d %d %d", c.Order, s, dl, i, cash)
			}
		}
	}
	t.Logf("%d chains, %d paid, %d overdue planted, %d found", len(o.chains), paid, len(planted), len(found))
	if paid == 0 || len(planted) == 0 {
		t.Fatal("the world has no paid chain or no overdue invoice: nothing was tested")
	}
}

func mustMoney(t *testing.T, s string) record.Money {
	t.Helper()
	f, err := record.ParseFixed(s)
	if err != nil {
		t.Fatalf("truth amount %q: %v", s, err)
	}
	return record.Money{Minor: int64(f) / 100}
}

// BenchmarkOverdue times a day's end of order to cash for a company with
// 100,000 AR invoices of which 95 % are paid and 5,000 are due with money
// to come: "walk" is Overdue's look at every invoice owed money, "changes"
// what the reconciler calls once per company and event day, here a day on
// which one receipt came in.
func BenchmarkOverdue(b *testing.B) {
	o := NewOrderToCash()
	start := record.MakeDate(2025, 1, 1)
	for i := range 100_000 {
		id := fmt.Sprintf("INV-%06d", i)
		r := &record.Record{Envelope: record.Envelope{Kind: record.KindInvoice, Company: "SH01", Source: "erp", ID: id, Version: 1, EventTime: start.Time()},
			Body: &record.Invoice{Number: id, Direction: "AR", OrderRef: fmt.Sprintf("SO-%06d", i), IssueDate: start, DueDate: start + record.Date(i%60),
				Total: record.Money{Minor: 10000, Currency: cny}, Status: "open"}}
		o.Add(r)
		if i%20 != 0 {
			o.Settled("m"+id, "SH01/erp/"+id, record.Money{Minor: 10000, Currency: cny}, start+30)
		}
	}
	b.Run("walk", func(b *testing.B) {
		for range b.N {
			if len(o.Overdue(start+90)) != 5000 {
				b.Fatal("wrong count")
			}
		}
	})
	o.OverdueChanges(start + 90)
	seq := 0 // match ids stay new across the framework's runs
	b.Run("changes", func(b *testing.B) {
		for range b.N {
			seq++
			id := fmt.Sprintf("INV-%06d", 20*(seq%5000))
			o.Settled(fmt.Sprintf("r%d", seq), "SH01/erp/"+id, record.Money{Minor: 1, Currency: cny}, start+90)
			if items, checked := o.OverdueChanges(start + 90); len(items) != 1 || len(checked) != 1 {
				b.Fatalf("one receipt, %d items and %d invoices looked at", len(items), len(checked))
			}
		}
	})
}

// TestOrderToCashDaysEndAgreesWithWalks drives order-to-cash through
// random invoices, versions, receipts (some dated back), reversals,
// forgetting and cut-offs (now and then an earlier one), and keeps what
// OverdueChanges reports as a caller does. After every call that must
// equal the full walk of Overdue, by type and residual (what the
// reconciler compares): an invoice whose change was not noticed would keep
// a stale exception or miss a new one. Forget must drop exactly the chains
// a walk of all of them would: paid or cancelled, untouched since the cut.
func TestOrderToCashDaysEndAgreesWithWalks(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		o := NewOrderToCash()
		start := record.MakeDate(2025, 1, 1)
		day := start
		versions := map[string]uint64{}
		type applied struct {
			match, invoice string
			amount         record.Money
		}
		var matches []applied
		held := map[string]OverdueItem{}
		var cut record.Date
		for step := range 3000 {
			switch n := rng.IntN(100); {
			case n < 40:
				id := fmt.Sprintf("INV-%02d", rng.IntN(60))
				versions[id] += uint64(1 + rng.IntN(2))
				total := int64(100 * (1 + rng.IntN(20)))
				if rng.IntN(8) == 0 {
					total = -total / 4 // a credit note
				}
				status := []string{"open", "open", "open", "cancelled", "paid"}[rng.IntN(5)]
				o.Add(&record.Record{Envelope: record.Envelope{Company: "SH01", Source: "erp", ID: id, Version: versions[id] - uint64(rng.IntN(3)),
					EventTime: day.Time()}, Body: &record.Invoice{Number: id, Direction: "AR", OrderRef: fmt.Sprintf("SO-%d", rng.IntN(15)),
					IssueDate: day, DueDate: day + record.Date(rng.IntN(20)) - 5, Total: record.Money{Minor: total, Currency: cny}, Status: status}})
			case n < 70:
				m := applied{fmt.Sprintf("m%d", step), fmt.Sprintf("SH01/erp/INV-%02d", rng.IntN(60)), record.Money{Minor: int64(50 * (1 + rng.IntN(10))), Currency: cny}}
				if len(matches) > 0 && rng.IntN(5) == 0 {
					m = matches[rng.IntN(len(matches))] // a replay
				}
				if o.Settled(m.match, m.invoice, m.amount, day-record.Date(rng.IntN(3)*rng.IntN(10))) != nil {
					matches = append(matches, m)
				}
			case n < 78:
				if len(matches) > 0 {
					m := matches[rng.IntN(len(matches))]
					o.Unsettled(m.match, m.invoice, m.amount)
				}
			case n < 80:
				cut = max(cut, day-record.Date(rng.IntN(10))) // event days only move on
				want := map[string]bool{}
				for k, c := range o.chains {
					if c.touched >= cut || (c.Status != "paid" && c.Status != "cancelled") {
						want[k] = true
					}
				}
				if n := o.Forget(cut); n != len(o.chains)+n-len(want) || len(o.chains) != len(want) {
					t.Fatalf("seed %d step %d: forgot %d, kept %d chains, a walk keeps %d", seed, step, n, len(o.chains), len(want))
				}
				for k := range want {
					if o.chains[k] == nil {
						t.Fatalf("seed %d step %d: forgot %s, which a walk keeps", seed, step, k)
					}
				}
			default:
				if rng.IntN(10) == 0 {
					day -= record.Date(rng.IntN(4)) // an earlier cut-off
				} else {
					day += record.Date(rng.IntN(3))
				}
				items, checked := o.OverdueChanges(day)
				now := map[string]bool{}
				for _, it := range items {
					held[it.Invoice], now[it.Invoice] = it, true
				}
				for _, id := range checked {
					if !now[id] {
						delete(held, id)
					}
				}
				want := map[string]OverdueItem{}
				for _, it := range o.Overdue(day) {
					want[it.Invoice] = it
				}
				if len(want) != len(held) {
					t.Fatalf("seed %d step %d: %d overdue kept from the changes, %d by a full walk", seed, step, len(held), len(want))
				}
				for id, w := range want {
					if g, ok := held[id]; !ok || g.Type != w.Type || g.Residual != w.Residual {
						t.Fatalf("seed %d step %d: %s kept as %+v (%v), a full walk says %+v", seed, step, id, g, ok, w)
					}
				}
			}
		}
	}
}

// TestOrderToCashInvoiceWithoutOrder: an AR invoice billing no order (a
// service, a fee) is owed like any other: unpaid past its due date it is
// overdue, and paid it is not.
func TestOrderToCashInvoiceWithoutOrder(t *testing.T) {
	o := NewOrderToCash()
	day := record.MakeDate(2025, 3, 1)
	inv := func(id string) *record.Record {
		return &record.Record{Envelope: record.Envelope{Company: "SH01", Source: "erp", ID: id, Version: 1, EventTime: day.Time()},
			Body: &record.Invoice{Number: id, Direction: "AR", IssueDate: day, DueDate: day + 30,
				Total: record.Money{Minor: 80000, Currency: cny}, Status: "open"}}
	}
	if c := o.Add(inv("SVC-1")); c == nil || c.Number != "" || c.Status != "invoiced" {
		t.Fatalf("chain of an invoice without an order: %+v", c)
	}
	o.Add(inv("SVC-2"))
	o.Settled("m1", "SH01/erp/SVC-2", record.Money{Minor: 80000, Currency: cny}, day+10)
	items, _ := o.OverdueChanges(day + 45)
	if len(items) != 1 || items[0].Invoice != "SH01/erp/SVC-1" || items[0].Order != "" || items[0].Residual.Minor != 80000 || items[0].DaysLate != 15 {
		t.Errorf("overdue 15 days after SVC-1 fell due, SVC-2 paid: %+v", items)
	}
}

// TestOrderToCashCurrencies: an order billed in CNY with a credit note in
// USD is not paid by the credit note, and the CNY invoice falls overdue
// whole.
func TestOrderToCashCurrencies(t *testing.T) {
	o := NewOrderToCash()
	day := record.MakeDate(2025, 3, 1)
	usd, _ := record.ParseCurrency("USD")
	inv := func(id string, m record.Money) *record.Record {
		return &record.Record{Envelope: record.Envelope{Company: "SH01", Source: "erp", ID: id, Version: 1, EventTime: day.Time()},
			Body: &record.Invoice{Number: id, Direction: "AR", OrderRef: "SO-9", IssueDate: day, DueDate: day + 30, Total: m, Status: "open"}}
	}
	o.Add(inv("INV-9", record.Money{Minor: 50000, Currency: cny}))
	c := o.Add(inv("CN-9", record.Money{Minor: -50000, Currency: usd}))
	if c == nil || c.Status == "paid" {
		t.Fatalf("a USD credit note called a CNY invoice paid: %+v", c)
	}
	items, _ := o.OverdueChanges(day + 40)
	if len(items) != 1 || items[0].Invoice != "SH01/erp/INV-9" || items[0].Residual.Minor != 50000 || items[0].Type != ExcUnpaidOverdue {
		t.Errorf("overdue: %+v, want INV-9's 500.00 unpaid", items)
	}
}

// TestOrderToCashInvoiceNamesItsOrderLater: an invoice first sent without
// its order, then again naming it, joins the order's chain and leaves the
// one it had alone; paid, it makes the order paid.
func TestOrderToCashInvoiceNamesItsOrderLater(t *testing.T) {
	o := NewOrderToCash()
	day := record.MakeDate(2025, 3, 1)
	inv := func(version uint64, ref string) *record.Record {
		return &record.Record{Envelope: record.Envelope{Company: "SH01", Source: "erp", ID: "INV-7", Version: version, EventTime: day.Time()},
			Body: &record.Invoice{Number: "INV-7", Direction: "AR", OrderRef: ref, IssueDate: day, DueDate: day + 30,
				Total: record.Money{Minor: 80000, Currency: cny}, Status: "open"}}
	}
	o.Add(&record.Record{Envelope: record.Envelope{Company: "SH01", Source: "shop", ID: "SO-7", Version: 1, EventTime: day.Time()},
		Body: &record.SalesOrder{Number: "SO-7", OrderDate: day, Status: "open"}})
	o.Add(inv(1, ""))
	c := o.Add(inv(2, "SO-7"))
	if c == nil || c.Number != "SO-7" || len(c.Invoices) != 1 {
		t.Fatalf("after version 2 names SO-7: %+v", c)
	}
	if n := len(o.chains); n != 1 {
		t.Errorf("%d chains, want SO-7's alone (the invoice's own went empty)", n)
	}
	if c := o.Settled("m1", "SH01/erp/INV-7", record.Money{Minor: 80000, Currency: cny}, day+5); c == nil || c.Status != "paid" {
		t.Errorf("SO-7 after INV-7 was paid: %+v", c)
	}
}

// TestOrderToCashMistypedOrder: an invoice names a mistyped order, is paid,
// then a new version names the right one. The mistyped chain goes, and
// the order is paid, on the day the money came.
func TestOrderToCashMistypedOrder(t *testing.T) {
	o := NewOrderToCash()
	day := record.MakeDate(2025, 3, 1)
	inv := func(version uint64, ref string) *record.Record {
		return &record.Record{Envelope: record.Envelope{Company: "SH01", Source: "erp", ID: "INV-8", Version: version, EventTime: day.Time()},
			Body: &record.Invoice{Number: "INV-8", Direction: "AR", OrderRef: ref, IssueDate: day, DueDate: day + 30,
				Total: record.Money{Minor: 60000, Currency: cny}, Status: "open"}}
	}
	o.Add(&record.Record{Envelope: record.Envelope{Company: "SH01", Source: "shop", ID: "SO-8", Version: 1, EventTime: day.Time()},
		Body: &record.SalesOrder{Number: "SO-8", OrderDate: day, Status: "open"}})
	o.Add(inv(1, "SO-8X"))
	o.Settled("m1", "SH01/erp/INV-8", record.Money{Minor: 60000, Currency: cny}, day+4)
	c := o.Add(inv(2, "SO-8"))
	if c == nil || c.Number != "SO-8" || c.Status != "paid" || c.Paid != day+4 {
		t.Fatalf("SO-8 after INV-8 named it: %+v", c)
	}
	if _, ok := o.chains["SO-8X"]; ok || len(o.chains) != 1 {
		t.Errorf("chains %v: the mistyped order's should be gone", slices.Collect(maps.Keys(o.chains)))
	}
}

// TestOrderToCashMovedInvoiceBringsItsPayment: an invoice paid under one
// order moves to another while the first keeps an invoice of its own: the
// new order is paid on the day the moved invoice's money came.
func TestOrderToCashMovedInvoiceBringsItsPayment(t *testing.T) {
	o := NewOrderToCash()
	day := record.MakeDate(2025, 3, 1)
	inv := func(id string, version uint64, ref string) *record.Record {
		return &record.Record{Envelope: record.Envelope{Company: "SH01", Source: "erp", ID: id, Version: version, EventTime: day.Time()},
			Body: &record.Invoice{Number: id, Direction: "AR", OrderRef: ref, IssueDate: day, DueDate: day + 30,
				Total: record.Money{Minor: 60000, Currency: cny}, Status: "open"}}
	}
	o.Add(&record.Record{Envelope: record.Envelope{Company: "SH01", Source: "shop", ID: "SO-8", Version: 1, EventTime: day.Time()},
		Body: &record.SalesOrder{Number: "SO-8", OrderDate: day, Status: "open"}})
	o.Add(inv("INV-8", 1, "SO-8X"))
	o.Add(inv("INV-9", 1, "SO-8X"))
	o.Settled("m1", "SH01/erp/INV-8", record.Money{Minor: 60000, Currency: cny}, day+4)
	o.Settled("m2", "SH01/erp/INV-9", record.Money{Minor: 60000, Currency: cny}, day+9)
	c := o.Add(inv("INV-8", 2, "SO-8"))
	if c == nil || c.Status != "paid" || c.Paid != day+4 {
		t.Errorf("SO-8 after INV-8 moved to it: %+v, want paid on %s", c, day+4)
	}
	if k := o.chains["SO-8X"]; k == nil || len(k.Invoices) != 1 {
		t.Errorf("SO-8X should keep INV-9: %+v", k)
	}
}
