package match

import (
	"fmt"

	"testing"

	"github.com/erpflow/erpflow/pipeline/record"
)

func TestInvoiceAfterItsMoney(t *testing.T) {
	e, _ := NewEngine(DefaultConfig(), DefaultRefPatterns)
	credit := func(id string, day int, minor int64, payer, remit string) Line {
		return Line{Company: "SH01", Source: "bank", ID: id, Direction: "credit", Date: record.MakeDate(2025, 5, day),
			Amount: record.Money{Minor: minor, Currency: cny}, PayerKey: payer, Remittance: remit}
	}
	// Money first: nothing to match it to yet.
	for _, l := range []Line{
		credit("L1", 1, 50000, "key-C1", "货款 INV-2025-000001"),
		credit("L2", 2, 30000, "key-C2", ""),
		credit("L3", 3, 777, "key-STRANGERTRADING", "unknown"),
	} {
		if m := e.MatchLine(l); m.Outcome != Unmatched {
			t.Fatalf("%s matched with nothing open: %s", l.ID, m.Outcome)
		}
	}
	if e.Waiting("SH01") != 3 {
		t.Fatalf("%d lines waiting, want 3", e.Waiting("SH01"))
	}
	// The invoice it quotes arrives: matched then.
	got := e.PutItem("SH01", inv("INV-2025-000001", "C1", 50000, 10, 1))
	if len(got) != 1 || got[0].Line != "SH01/bank/L1" || got[0].Outcome != Confirmed || got[0].Rule != "reference" {
		t.Fatalf("invoice after its money: %+v", got)
	}
	// One of the payer's, of the amount, without a reference.
	got = e.PutItem("SH01", inv("INV-2025-000002", "C2", 30000, 10, 1))
	if len(got) != 1 || got[0].Line != "SH01/bank/L2" || got[0].Outcome != Confirmed {
		t.Fatalf("payer's invoice after the money: %+v", got)
	}
	// Another customer's invoice wakes nothing.
	if got = e.PutItem("SH01", inv("INV-2025-000003", "C5", 777, 10, 1)); len(got) != 0 || e.Waiting("SH01") != 1 {
		t.Fatalf("another customer's invoice: %+v, %d waiting", got, e.Waiting("SH01"))
	}
	// Waiting ends: the old line comes back for a person.
	if old := e.ExpireWaiting("SH01", record.MakeDate(2025, 5, 4)); len(old) != 1 || old[0].ID != "L3" || e.Waiting("SH01") != 0 {
		t.Fatalf("expired %+v, %d still waiting", old, e.Waiting("SH01"))
	}
}

// TestWaitingForEachPayer: lines of several payers wait interleaved, two
// of them from one payer (one payer group, one verdict a document); a
// document of one customer finds exactly that payer's lines, whichever
// payer's line waits first, and a reference finds its line whoever paid.
func TestWaitingForEachPayer(t *testing.T) {
	e, _ := NewEngine(DefaultConfig(), DefaultRefPatterns)
	line := func(id, payer, remit string) Line {
		return Line{Company: "SH01", Source: "bank", ID: id, Direction: "credit", Date: record.MakeDate(2025, 5, 1),
			Amount: record.Money{Minor: 123, Currency: cny}, PayerKey: payer, Remittance: remit}
	}
	for _, l := range []Line{line("A1", "key-ALPHAMACHINERY", ""), line("B1", "key-ZENITHSTEELWORKS", ""), line("A2", "key-ALPHAMACHINERY", ""),
		line("X1", "key-QUORUMLOGISTICS", "INV-2025-000077"), line("B2", "key-ZENITHSTEELWORKS", "")} {
		e.Hold(l)
	}
	for _, c := range []struct {
		doc  OpenItem
		want string
	}{
		{inv("INV-2025-000070", "ALPHAMACHINERY", 999, 10, 1), "[A1 A2]"},
		{inv("INV-2025-000071", "ZENITHSTEELWORKS", 999, 10, 1), "[B1 B2]"},
		{inv("INV-2025-000077", "HARBOURFOODS", 999, 10, 1), "[X1]"},
		{inv("INV-2025-000078", "HARBOURFOODS", 999, 10, 1), "[]"},
	} {
		var got []string
		for _, l := range e.WaitingFor("SH01", &c.doc) {
			got = append(got, l.ID)
		}
		if fmt.Sprint(got) != c.want {
			t.Errorf("%s of %s: waiting lines %v, want %v", c.doc.Number, c.doc.PartyKey, got, c.want)
		}
	}
}

// TestPayerGroupsCompacted: once expired lines leave most payer groups
// empty, the groups are numbered again, and the lines still waiting are
// found by their payer as before.
func TestPayerGroupsCompacted(t *testing.T) {
	e, _ := NewEngine(DefaultConfig(), DefaultRefPatterns)
	for i := range 1200 {
		e.Hold(Line{Company: "SH01", Source: "bank", ID: fmt.Sprint("OLD", i), Direction: "credit", Date: record.MakeDate(2025, 1, 1),
			Amount: record.Money{Minor: 1, Currency: cny}, PayerKey: fmt.Sprint("key-payer number ", i)})
	}
	e.Hold(Line{Company: "SH01", Source: "bank", ID: "NEW", Direction: "credit", Date: record.MakeDate(2025, 5, 1),
		Amount: record.Money{Minor: 1, Currency: cny}, PayerKey: "key-ALPHAMACHINERY"})
	if old := e.ExpireWaiting("SH01", record.MakeDate(2025, 2, 1)); len(old) != 1200 {
		t.Fatalf("expired %d lines, want 1200", len(old))
	}
	if n := len(e.groups["SH01"].ids); n != 1 {
		t.Fatalf("%d payer groups after the expiry, want the one still waiting", n)
	}
	doc := inv("INV-2025-000090", "ALPHAMACHINERY", 999, 10, 1)
	if got := e.WaitingFor("SH01", &doc); len(got) != 1 || got[0].ID != "NEW" {
		t.Fatalf("waiting lines for the payer's invoice: %+v", got)
	}
}
