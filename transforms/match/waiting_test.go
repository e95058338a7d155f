package match

import (
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
		credit("L3", 3, 777, "key-C9", "unknown"),
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
