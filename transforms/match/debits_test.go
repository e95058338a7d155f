package match

import (
	"testing"

	"github.com/erpflow/erpflow/connectors/generator"
	"github.com/erpflow/erpflow/pipeline/record"
	"github.com/erpflow/erpflow/transforms/clean"
)

func TestDebitRules(t *testing.T) {
	e, _ := NewEngine(DefaultConfig(), DefaultRefPatterns)
	b := e.Book("SH01")
	out := func(kind record.Kind, id, party string, minor int64) OpenItem {
		m := record.Money{Minor: minor, Currency: cny}
		return OpenItem{Kind: kind, Source: "erp", ID: id, Number: id, Direction: "out", PartyKey: party, Total: m, Open: m}
	}
	b.Put(out(record.KindPayment, "PAY-2025-000001", "acme", 500000))
	b.Put(out(record.KindPayment, "PAY-2025-000002", "acme", 120000))
	b.Put(out(record.KindExpenseClaim, "BX-2025-000001", "linqiang", 62377))
	b.Put(out(record.KindExpenseClaim, "BX-2025-000002", "linqiang", 84400))
	b.Put(out(record.KindExpenseClaim, "BX-2025-000003", "wangfang", 10000))
	b.Put(out(record.KindExpenseClaim, "BX-2025-000004", "wangfang", 20000))
	b.Put(out(record.KindExpenseClaim, "BX-2025-000005", "wangfang", 30000))
	debit := func(id string, minor int64, payee, remit string) Line {
		return Line{Company: "SH01", Source: "bank", ID: id, Direction: "debit", Amount: record.Money{Minor: minor, Currency: cny},
			PayerKey: payee, Remittance: remit}
	}
	for _, c := range []struct {
		name    string
		l       Line
		outcome Outcome
		rule    string
		parts   int
	}{
		{"a wire fee quoting the payment is not the payment", debit("D0", 2500, "", "WIRE TRANSFER FEE PAY-2025-000001"), Review, "reference", 1},
		{"payment by reference", debit("D1", 500000, "acme", "PAY-2025-000001 货款"), Confirmed, "reference", 1},
		{"payment by payee and amount", debit("D2", 120000, "acme", ""), Confirmed, "party+amount", 1},
		{"claims by reference", debit("D3", 146777, "linqiang", "报销 BX-2025-000001 BX-2025-000002"), Confirmed, "reference", 2},
		{"claims adding up, twice: ambiguous", debit("D4", 30000, "wangfang", "报销"), Review, "party+amount", 1},
		{"reimbursed to someone else", debit("D5", 10000, "zhaolei", ""), Unmatched, "", 0},
	} {
		m := e.MatchLine(c.l)
		if m.Outcome != c.outcome || m.Rule != c.rule || len(m.Parts) != c.parts {
			t.Errorf("%s: %s %s %d parts (%+v)", c.name, m.Outcome, m.Rule, len(m.Parts), m.Criteria)
		}
	}
	if b.Get(record.KindPayment, "erp", "PAY-2025-000001") != nil || b.Get(record.KindExpenseClaim, "erp", "BX-2025-000002") != nil {
		t.Error("confirmed items are still open")
	}
}

// TestOutgoingAgainstTruth matches a generated world's bank debits to its
// outgoing payments and approved expense claims and scores the confirmed
// links against the truth.
func TestOutgoingAgainstTruth(t *testing.T) {
	dir := t.TempDir()
	if _, err := generator.WriteFiles(generator.Config{Seed: 4, Days: 60, Companies: 3, OrdersPerDay: 40}, dir, nil); err != nil {
		t.Fatal(err)
	}
	truth, lines := map[[2]string]bool{}, map[string]bool{}
	for x := range truthLines(t, dir) {
		if x["type"] == "link" && (x["target_kind"] == "payment" || x["target_kind"] == "expense_claim") {
			truth[[2]string{x["bank_txn"], x["target_id"]}] = true
			lines[x["bank_txn"]] = true
		}
	}
	e, _ := NewEngine(DefaultConfig(), DefaultRefPatterns)
	seen := map[string]bool{} // items put once: a later version must not reopen what a line settled
	confirmed, review := map[[2]string]bool{}, 0
	for r := range recordLines(t, dir) {
		book := e.Book(r.Company)
		full := r.Company + "/" + r.Source + "/" + r.ID
		switch b := r.Body.(type) {
		case *record.Payment:
			if b.Direction != "out" {
				continue
			}
			if b.Status == "cancelled" || b.Status == "returned" {
				book.Remove(record.KindPayment, r.Source, r.ID)
			} else if !seen[full] {
				seen[full] = true
				book.Put(OpenItem{Kind: record.KindPayment, Source: r.Source, ID: r.ID, Number: b.Number, Direction: "out",
					PartyID: b.Party.ID, PartyKey: clean.MatchKey(b.Party.Name), Total: b.Amount, Open: b.Amount, DueDate: b.ValueDate, Version: r.Version})
			}
		case *record.ExpenseClaim:
			if b.ApprovalStatus == "approved" && !seen[full] {
				seen[full] = true
				book.Put(OpenItem{Kind: record.KindExpenseClaim, Source: r.Source, ID: r.ID, Number: b.Number,
					PartyID: b.Employee.ID, PartyKey: clean.MatchKey(b.Employee.Name), Total: b.Amount, Open: b.Amount, DueDate: b.ClaimDate, Version: r.Version})
			}
		case *record.BankTxn:
			if b.Direction != "debit" {
				continue
			}
			m := e.MatchLine(Line{Company: r.Company, Source: r.Source, ID: r.ID, Direction: b.Direction, Amount: b.Amount,
				Date: b.BookingDate, PayerKey: clean.MatchKey(b.Counterparty.Name), Remittance: b.Remittance})
			switch {
			case m.Outcome == Confirmed:
				for _, p := range m.Parts {
					confirmed[[2]string{m.Line, r.Company + "/" + p.Source + "/" + p.ID}] = true
				}
			case m.Outcome == Review && lines[m.Line]:
				review++
			}
		}
	}
	right := 0
	for k := range confirmed {
		if truth[k] {
			right++
		} else {
			t.Logf("false: %v", k)
		}
	}
	precision := float64(right) / float64(max(len(confirmed), 1))
	recall := float64(right) / float64(max(len(truth), 1))
	share := float64(review) / float64(max(len(lines), 1))
	t.Logf("debit lines with links %d, truth links %d, confirmed %d: precision %.4f recall %.4f review %.4f", len(lines), len(truth), len(confirmed), precision, recall, share)
	if precision < 0.995 || recall < 0.97 || share > 0.05 {
		t.Fatalf("precision %.4f recall %.4f review %.4f: the targets are 0.995 / 0.97 / 0.05", precision, recall, share)
	}
}
