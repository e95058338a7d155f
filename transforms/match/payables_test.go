package match

import (
	"testing"

	"github.com/erpflow/erpflow/connectors/generator"
	"github.com/erpflow/erpflow/pipeline/record"
)

func TestPayables(t *testing.T) {
	rec := func(id string, body record.Body) *record.Record {
		return &record.Record{Envelope: record.Envelope{Company: "SH01", Source: "erp", ID: id, Version: 1}, Body: body}
	}
	ap := func(no, supplier string, minor int64, status string) *record.Record {
		return rec(no, &record.Invoice{Number: no, Direction: "AP", Party: record.Party{ID: supplier}, Status: status,
			Total: record.Money{Minor: minor, Currency: cny}})
	}
	version := map[string]uint64{}
	payAs := func(no, status string, minor int64, refs ...string) *record.Record {
		version[no]++
		r := rec(no, &record.Payment{Number: no, Direction: "out", Party: record.Party{ID: "S1"}, Status: status,
			Amount: record.Money{Minor: minor, Currency: cny}, InvoiceRefs: refs})
		r.Version = version[no]
		return r
	}
	pay := func(no string, minor int64, refs ...string) *record.Record {
		return payAs(no, "executed", minor, refs...)
	}
	p := NewPayables()
	p.Add(ap("AP-1", "S1", 1000, "open"))
	p.Add(ap("AP-2", "S1", 500, "open"))
	p.Add(ap("AP-3", "S1", 700, "open"))
	p.Add(ap("AP-3", "S1", 600, "open")) // amended
	p.Add(ap("AP-4", "S2", 100, "open"))
	p.Add(ap("AP-5", "S1", 100, "cancelled"))
	p.Add(ap("AP-10", "S1", 1000, "open"))
	p.Add(ap("AP-11", "S1", 1000, "open"))
	p.Add(ap("AP-12", "S1", 1000, "open"))
	p.Add(ap("CN-1", "S1", -200, "open"))
	p.Add(ap("AP-13", "S1", 100, "open"))
	p.Add(ap("AP-14", "S1", 100, "open"))
	// A stale version redelivered changes nothing.
	v2 := ap("AP-15", "S1", 600, "open")
	v2.Version = 2
	p.Add(v2)
	p.Add(ap("AP-15", "S1", 700, "open"))
	for _, c := range []struct {
		name string
		r    *record.Record
		want PayableOutcome
	}{
		{"two invoices in one run", pay("PAY-1", 1500, "AP-1", "AP-2"), PayableMatched},
		{"the same payment re-sent is applied once", pay("PAY-1", 1500, "AP-1", "AP-2"), ""},
		{"paid again under a new number", pay("PAY-2", 1500, "AP-1", "AP-2"), PayableSettled},
		{"more than the amended invoice", pay("PAY-3", 700, "AP-3"), PayableDifference},
		{"another supplier's invoice", pay("PAY-4", 100, "AP-4"), PayableUnknown},
		{"a cancelled invoice", pay("PAY-5", 100, "AP-5"), PayableUnknown},
		{"no invoice named", pay("PAY-6", 100), PayableUnknown},
		{"the overpaid invoice is settled", pay("PAY-7", 600, "AP-3"), PayableSettled},
		{"the current version's amount", pay("PAY-16", 600, "AP-15"), PayableMatched},
		{"an invoice named twice is paid once", pay("PAY-8", 2000, "AP-10", "AP-10"), PayableDifference},
		{"an instalment", pay("PAY-9", 600, "AP-11"), PayablePartial},
		{"the rest of it", pay("PAY-10", 400, "AP-11"), PayableMatched},
		{"and then once too often", pay("PAY-11", 1000, "AP-11"), PayableSettled},
		{"a return reopens", payAs("PAY-10", "returned", 400, "AP-11"), PayableReturned},
		{"so the repayment matches", pay("PAY-12", 400, "AP-11"), PayableMatched},
		{"a credit note nets", pay("PAY-13", 800, "AP-12", "CN-1"), PayableMatched},
		{"less than two invoices: nothing is guessed", pay("PAY-14", 100, "AP-13", "AP-14"), PayableDifference},
		{"the first of them is still open in full", pay("PAY-15", 100, "AP-13"), PayableMatched},
	} {
		got := p.Add(c.r)
		if c.want == "" {
			if got != nil {
				t.Errorf("%s: checked again: %+v", c.name, got)
			}
			continue
		}
		if got == nil || got.Outcome != c.want {
			t.Errorf("%s: %+v, want %s", c.name, got, c.want)
			continue
		}
		if c.want != PayableMatched && c.want != PayablePartial && got.NextStep == "" {
			t.Errorf("%s: no next step", c.name)
		}
	}
}

// TestPayablesAgainstTruth applies a generated world's payments to its
// supplier invoices: every one matches except the planted duplicate
// payments, which find their invoices already settled.
func TestPayablesAgainstTruth(t *testing.T) {
	dir := t.TempDir()
	if _, err := generator.WriteFiles(generator.Config{Seed: 5, Days: 90, Companies: 3, OrdersPerDay: 20}, dir, nil); err != nil {
		t.Fatal(err)
	}
	dups := map[string]bool{}
	for x := range truthLines(t, dir) {
		if x["exception"] == generator.ExcDuplicatePayment {
			dups[x["subject_id"]] = true
		}
	}
	p := NewPayables()
	matched, settledDups := 0, 0
	for r := range recordLines(t, dir) {
		c := p.Add(r)
		switch {
		case c == nil:
		case c.Outcome == PayableMatched && !dups[c.Payment]:
			matched++
		case c.Outcome == PayableSettled && dups[c.Payment]:
			settledDups++
		default:
			t.Errorf("%s: %s %+v", c.Payment, c.Outcome, c.Criteria)
		}
	}
	if matched < 50 || settledDups != len(dups) {
		t.Fatalf("%d payments matched; %d of %d planted duplicates found their invoices settled", matched, settledDups, len(dups))
	}
	t.Logf("%d payments matched, %d duplicates", matched, settledDups)
}

// TestPayablesSuppliersNumberAlike: two suppliers may both have an invoice
// 1001; each payment settles its own supplier's, and a version moving an
// invoice to another supplier moves it (an older one coming late does not).
func TestPayablesSuppliersNumberAlike(t *testing.T) {
	ap := func(id, supplier string, version uint64, minor int64) *record.Record {
		return &record.Record{Envelope: record.Envelope{Company: "SH01", Source: "erp", ID: id, Version: version},
			Body: &record.Invoice{Number: "1001", Direction: "AP", Party: record.Party{ID: supplier}, Status: "open",
				Total: record.Money{Minor: minor, Currency: cny}}}
	}
	p := NewPayables()
	p.Add(ap("A-1001", "SA", 1, 500000))
	p.Add(ap("B-1001", "SB", 1, 300000))
	payment := func(id, supplier string, minor int64) *record.Record {
		return &record.Record{Envelope: record.Envelope{Company: "SH01", Source: "erp", ID: id, Version: 1},
			Body: &record.Payment{Number: id, Direction: "out", Party: record.Party{ID: supplier}, Status: "executed",
				Amount: record.Money{Minor: minor, Currency: cny}, InvoiceRefs: []string{"1001"}}}
	}
	if c := p.Add(payment("PAY-A", "SA", 500000)); c == nil || c.Outcome != PayableMatched || len(c.Parts) != 1 || c.Parts[0].ID != "A-1001" {
		t.Fatalf("supplier A's payment of its 1001: %+v", c)
	}
	if c := p.Add(payment("PAY-B", "SB", 300000)); c == nil || c.Outcome != PayableMatched || len(c.Parts) != 1 || c.Parts[0].ID != "B-1001" {
		t.Fatalf("supplier B's payment of its 1001: %+v", c)
	}
	// C's invoice was booked to D by mistake, then corrected; D's old
	// version coming late changes nothing.
	p.Add(ap("C-1001", "SD", 1, 1000))
	p.Add(ap("C-1001", "SC", 2, 1000))
	p.Add(ap("C-1001", "SD", 1, 1000))
	if c := p.Add(payment("PAY-D", "SD", 1000)); c == nil || c.Outcome != PayableUnknown {
		t.Errorf("a payment to D of the invoice moved to C: %+v", c)
	}
	if c := p.Add(payment("PAY-C", "SC", 1000)); c == nil || c.Outcome != PayableMatched || c.Parts[0].ID != "C-1001" {
		t.Errorf("C's payment of its corrected invoice: %+v", c)
	}
}
