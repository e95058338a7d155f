package match

import (
	"fmt"
	"testing"
	"time"

	"github.com/erpflow/erpflow/connectors/generator"
	"github.com/erpflow/erpflow/pipeline/record"
)

func TestDuplicatePayments(t *testing.T) {
	version := map[string]uint64{}
	pay := func(id, party string, minor int64, day int, status string, refs ...string) *record.Record {
		version[id]++
		// Drawn up two days before its value date.
		at := time.Date(2025, 3, day-2, 9, 0, 0, 0, time.UTC)
		return &record.Record{Envelope: record.Envelope{Company: "SH01", Source: "erp", ID: id, Version: version[id], EventTime: at},
			Body: &record.Payment{Number: id, Direction: "out", Party: record.Party{ID: party}, Status: status,
				Amount: record.Money{Minor: minor, Currency: cny}, ValueDate: record.MakeDate(2025, 3, day), InvoiceRefs: refs}}
	}
	cases := []struct {
		name string
		in   []*record.Record
		want string // "subject<original" pairs found
	}{
		{"drawn twice for the same invoice", []*record.Record{pay("P1", "S1", 500, 3, "executed", "AP-1"), pay("P2", "S1", 500, 5, "pending", "AP-1")},
			"[SH01/erp/P2<SH01/erp/P1]"},
		{"recurring rent, different invoices", []*record.Record{pay("P1", "S1", 500, 3, "executed", "AP-1"), pay("P2", "S1", 500, 5, "pending", "AP-2")}, "[]"},
		{"no invoices named: party, amount and date decide", []*record.Record{pay("P1", "S1", 500, 3, "executed"), pay("P2", "S1", 500, 5, "pending")},
			"[SH01/erp/P2<SH01/erp/P1]"},
		{"outside the window", []*record.Record{pay("P1", "S1", 500, 3, "executed", "AP-1"), pay("P2", "S1", 500, 28, "pending", "AP-1")}, "[]"},
		{"another supplier or amount", []*record.Record{pay("P1", "S1", 500, 3, "executed", "AP-1"), pay("P2", "S2", 500, 4, "pending", "AP-1"),
			pay("P3", "S1", 501, 4, "pending", "AP-1")}, "[]"},
		{"a cancelled first draft is no original", []*record.Record{pay("P1", "S1", 500, 3, "pending", "AP-1"), pay("P1", "S1", 500, 3, "cancelled", "AP-1"),
			pay("P2", "S1", 500, 5, "pending", "AP-1")}, "[]"},
		{"a new version of one payment is not its own duplicate, and a duplicate is told once",
			[]*record.Record{pay("P1", "S1", 500, 3, "pending", "AP-1"), pay("P1", "S1", 500, 3, "executed", "AP-1"),
				pay("P2", "S1", 500, 5, "pending", "AP-1"), pay("P2", "S1", 500, 5, "executed", "AP-1")}, "[SH01/erp/P2<SH01/erp/P1]"},
	}
	cases = append(cases, []struct {
		name string
		in   []*record.Record
		want string
	}{
		{"the original changing after its copy is drawn up stays the original",
			[]*record.Record{pay("P1", "S1", 500, 5, "pending", "AP-1"), pay("P2", "S1", 500, 6, "pending", "AP-1"), pay("P1", "S1", 500, 5, "executed", "AP-1")},
			"[SH01/erp/P2<SH01/erp/P1]"},
		{"a payment scheduled ahead does not age the others out",
			func() []*record.Record {
				ahead := pay("P8", "S8", 800, 30, "pending", "AP-8")
				ahead.EventTime = time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC) // drawn up on the 4th for the 30th
				return []*record.Record{pay("P1", "S1", 500, 5, "executed", "AP-1"), ahead, pay("P2", "S1", 500, 7, "pending", "AP-1")}
			}(), "[SH01/erp/P2<SH01/erp/P1]"},
		{"a stale version of a cancelled payment changes nothing", func() []*record.Record {
			p1 := pay("P1", "S1", 500, 5, "pending", "AP-1")
			p1c := pay("P1", "S1", 500, 5, "cancelled", "AP-1")
			return []*record.Record{p1, p1c, p1, pay("P2", "S1", 500, 6, "pending", "AP-1")}
		}(), "[]"},
	}...)
	for _, c := range cases {
		clear(version)
		d := NewDuplicates(14)
		var got []string
		for _, r := range c.in {
			for _, x := range d.Add(r) {
				got = append(got, x.Subject+"<"+x.Original)
				if x.NextStep == "" || len(x.Criteria) < 5 {
					t.Errorf("%s: no next step or criteria: %+v", c.name, x)
				}
			}
		}
		if fmt.Sprint(got) != c.want {
			t.Errorf("%s: %v, want %s", c.name, got, c.want)
		}
	}
	// Memory follows the window of event time: a payment a window old is
	// forgotten.
	d := NewDuplicates(14)
	d.Add(pay("P1", "S1", 500, 3, "executed", "AP-1"))
	d.Add(pay("P9", "S9", 900, 30, "executed", "AP-9"))
	if len(d.byID) != 1 || d.byID["SH01/erp/P9"] == nil {
		t.Errorf("after a window: %d payments held", len(d.byID))
	}
}

// TestDuplicatePaymentsAgainstTruth requires exactly the planted duplicate
// payments of a generated world, each paired with its original.
func TestDuplicatePaymentsAgainstTruth(t *testing.T) {
	dir := t.TempDir()
	st, err := generator.WriteFiles(generator.Config{Seed: 5, Days: 90, Companies: 3, OrdersPerDay: 20}, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	planted := map[[2]string]bool{}
	for x := range truthLines(t, dir) {
		if x["exception"] == generator.ExcDuplicatePayment {
			planted[[2]string{x["subject_id"], x["related_id"]}] = true
		}
	}
	if len(planted) < 3 || len(planted) != st.Exceptions[generator.ExcDuplicatePayment] {
		t.Fatalf("%d planted duplicate payments (stats %d): too few to test", len(planted), st.Exceptions[generator.ExcDuplicatePayment])
	}
	d := NewDuplicates(14)
	found := map[[2]string]bool{}
	for r := range recordLines(t, dir) {
		for _, x := range d.Add(r) {
			found[[2]string{x.Subject, x.Original}] = true
		}
	}
	for k := range planted {
		if !found[k] {
			t.Errorf("planted duplicate payment not found: %v", k)
		}
	}
	for k := range found {
		if !planted[k] {
			t.Errorf("duplicate raised that was not planted: %v", k)
		}
	}
	t.Logf("%d planted, %d found", len(planted), len(found))
}
