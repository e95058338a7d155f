package match

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/erpflow/erpflow/connectors/generator"
	"github.com/erpflow/erpflow/pipeline/record"
	"github.com/erpflow/erpflow/transforms/clean"
)

func TestEngineRules(t *testing.T) {
	cfg := DefaultConfig()
	cfg.TieOldestDue = true // the named tie rule, configured
	e, err := NewEngine(cfg, DefaultRefPatterns)
	if err != nil {
		t.Fatal(err)
	}
	b := e.Book("SH01")
	b.Put(inv("INV-2025-000001", "C1", 100000, 10, 1))
	b.Put(inv("INV-2025-000002", "C1", 50000, 12, 1))
	b.Put(inv("INV-2025-000003", "C2", 70000, 12, 1))
	b.Put(inv("INV-2025-000004", "C2", 70000, 20, 1))
	line := func(id string, amount, charges int64, payer, remit string) Line {
		l := Line{Company: "SH01", Source: "bank", ID: id, Direction: "credit", Amount: record.Money{Minor: amount, Currency: cny},
			PayerKey: payer, Remittance: remit}
		if charges > 0 {
			l.Charges = record.Money{Minor: charges, Currency: cny}
		}
		return l
	}
	cases := []struct {
		name    string
		l       Line
		outcome Outcome
		rule    string
		ids     []string
	}{
		{"reference, fee reported", line("L1", 98500, 1500, "", "货款 ＩＮＶ－２０２５－０００００１"), Confirmed, "reference", []string{"INV-2025-000001"}},
		{"party and amount", line("L2", 50000, 0, "key-C1", "thanks"), Confirmed, "party+amount", []string{"INV-2025-000002"}},
		{"equal amounts: oldest due first", line("L3", 70000, 0, "key-C2", ""), Confirmed, "party+amount", []string{"INV-2025-000003"}},
		{"nothing open of that amount", line("L4", 12345, 0, "key-C2", ""), Unmatched, "", nil},
		{"a customer's invoice is not what a debit pays", Line{Company: "SH01", ID: "L5", Direction: "debit", Amount: record.Money{Minor: 70000, Currency: cny},
			PayerKey: "key-C2", Remittance: "INV-2025-000004"}, Unmatched, "", nil},
		// Money of another currency never settles an invoice, even quoted
		// by number with the same digits.
		{"USD against a CNY invoice", Line{Company: "SH01", ID: "L7", Direction: "credit", Amount: record.Money{Minor: 70000, Currency: record.MustCurrency("USD")},
			PayerKey: "key-C2", Remittance: "INV-2025-000004"}, Unmatched, "", nil},
		{"zero amount", line("L8", 0, 0, "key-C2", "INV-2025-000004"), Unmatched, "", nil},
		{"negative amount (a reversal line)", line("L9", -70000, 0, "key-C2", "INV-2025-000004"), Unmatched, "", nil},
		{"charges alone", line("L10", 0, 70000, "key-C2", "INV-2025-000004"), Unmatched, "", nil},
		// Still open after all of them: the CNY line settles it.
		{"then the CNY payment", line("L11", 70000, 0, "key-C2", "INV-2025-000004"), Confirmed, "reference", []string{"INV-2025-000004"}},
	}
	for _, c := range cases {
		m := e.MatchLine(c.l)
		var ids []string
		for _, p := range m.Parts {
			ids = append(ids, p.ID)
		}
		if m.Outcome != c.outcome || m.Rule != c.rule || len(ids) != len(c.ids) || (len(ids) > 0 && ids[0] != c.ids[0]) {
			t.Errorf("%s: %s %s %v (score %.2f, %+v)", c.name, m.Outcome, m.Rule, ids, m.Score, m.Criteria)
		}
		if c.outcome == Confirmed && (m.ID == "" || len(m.Criteria) == 0) {
			t.Errorf("%s: no id or explanation", c.name)
		}
	}
	// What was settled is no longer open; a replay of the same line finds
	// nothing to pay twice.
	if b.Get(record.KindInvoice, "erp", "INV-2025-000001") != nil {
		t.Error("a settled invoice is still open")
	}
	if m := e.MatchLine(line("L1", 98500, 1500, "", "INV-2025-000001")); m.Outcome == Confirmed {
		t.Error("an invoice was paid twice")
	}

	// Without the tie rule, a party's equal amounts are never picked
	// arbitrarily: the line goes to review with every candidate.
	e2, _ := NewEngine(DefaultConfig(), DefaultRefPatterns)
	e2.Book("SH01").Put(inv("INV-2025-000005", "C3", 9000, 10, 1))
	e2.Book("SH01").Put(inv("INV-2025-000006", "C3", 9000, 20, 1))
	m := e2.MatchLine(line("L6", 9000, 0, "key-C3", ""))
	if m.Outcome != Review || len(m.Alternatives) != 1 {
		t.Errorf("equal amounts without a tie rule: %s with %d alternatives", m.Outcome, len(m.Alternatives))
	}
}

// TestCashApplicationAgainstTruth runs a generated world's AR invoices and
// bank receipts through the engine and scores the confirmed matches
// against the generator's ground truth links.
func TestCashApplicationAgainstTruth(t *testing.T) {
	dir := t.TempDir()
	if _, err := generator.WriteFiles(generator.Config{Seed: 4, Days: 60, Companies: 3, OrdersPerDay: 40}, dir, nil); err != nil {
		t.Fatal(err)
	}
	truth := map[[2]string]bool{}
	for x := range truthLines(t, dir) {
		if x["type"] == "link" && x["target_kind"] == "invoice" {
			truth[[2]string{x["bank_txn"], x["target_id"]}] = true
		}
	}
	e, _ := NewEngine(DefaultConfig(), DefaultRefPatterns)
	confirmed, review, lines := map[[2]string]bool{}, 0, 0
	arLines := map[string]bool{}
	for k := range truth {
		arLines[k[0]] = true
	}
	for r := range recordLines(t, dir) {
		switch b := r.Body.(type) {
		case *record.Invoice:
			if b.Direction != "AR" {
				continue
			}
			book := e.Book(r.Company)
			if b.Status == "cancelled" {
				book.Remove(record.KindInvoice, r.Source, r.ID)
			} else if book.Get(record.KindInvoice, r.Source, r.ID) == nil && r.Version == 1 {
				book.Put(OpenItem{Kind: record.KindInvoice, Source: r.Source, ID: r.ID, Number: b.Number, OrderRef: b.OrderRef, Direction: "AR",
					PartyID: b.Party.ID, PartyKey: clean.MatchKey(b.Party.Name), Total: b.Total, Open: b.Total,
					IssueDate: b.IssueDate, DueDate: b.DueDate, Version: r.Version})
			}
		case *record.BankTxn:
			if b.Direction != "credit" {
				continue
			}
			lines++
			m := e.MatchLine(Line{Company: r.Company, Source: r.Source, ID: r.ID, Direction: b.Direction, Amount: b.Amount,
				Charges: b.Charges, Date: b.BookingDate, PayerKey: clean.MatchKey(b.Counterparty.Name), Remittance: b.Remittance})
			switch m.Outcome {
			case Confirmed:
				for _, p := range m.Parts {
					k := [2]string{m.Line, r.Company + "/" + p.Source + "/" + p.ID}
					confirmed[k] = true
					if !truth[k] && os.Getenv("MATCH_DEBUG") != "" {
						t.Logf("false: %s %s %.2f remit=%q payer=%q amount=%s", k, m.Rule, m.Score, b.Remittance, b.Counterparty.Name, b.Amount)
					}
				}
			case Review:
				if arLines[m.Line] {
					review++
				}
			}
			if m.Outcome != Confirmed && arLines[m.Line] && os.Getenv("MATCH_DEBUG") != "" {
				t.Logf("miss: %s %s %s %v remit=%q payer=%q key=%q amount=%s charges=%s", m.Line, m.Outcome, m.Rule, m.Criteria, b.Remittance, b.Counterparty.Name, clean.MatchKey(b.Counterparty.Name), b.Amount, b.Charges)
			}
		}
	}
	right := 0
	for k := range confirmed {
		if truth[k] {
			right++
		}
	}
	precision := float64(right) / float64(max(len(confirmed), 1))
	recall := float64(right) / float64(max(len(truth), 1))
	t.Logf("receipts %d, truth links %d, confirmed %d: precision %.4f recall %.4f, in review %d", lines, len(truth), len(confirmed), precision, recall, review)
	// Floors that catch a regression of these rules: precision is at the
	// matching issue's target (0.995); recall is not yet (target 0.97) and
	// its floor rises as rules are added.
	if precision < 0.995 || recall < 0.92 {
		t.Fatalf("precision %.4f recall %.4f fell below the floors 0.995 / 0.92", precision, recall)
	}
}

func TestSimilarityAndAliases(t *testing.T) {
	for _, c := range []struct {
		a, b  string
		alike bool
	}{
		{"上海华东贸易", "上海华东贸易", true},
		{"上海华东贸易", "上海华冻贸易", true}, // a typo
		{"acmetrading", "acmetradng", true},
		{"上海华东贸易", "北京安捷贸易", false},
		{"keystonematerials", "keystonemachinery", false},
		{"嘉禾精密制造北京", "北京嘉禾精密制造", true}, // the city moved into brackets
	} {
		if got := similarity(c.a, c.b) >= nameSimilarity; got != c.alike {
			t.Errorf("similarity(%s, %s) = %.2f", c.a, c.b, similarity(c.a, c.b))
		}
	}
	// A line confirmed by reference teaches the payer's spelling, so a later
	// line without a reference finds the customer by it.
	e, _ := NewEngine(DefaultConfig(), DefaultRefPatterns)
	b := e.Book("SH01")
	b.Put(inv("INV-2025-000010", "C1", 1000, 10, 1))
	b.Put(inv("INV-2025-000011", "C1", 2500, 10, 1))
	l := Line{Company: "SH01", Source: "bank", ID: "A", Direction: "credit", Amount: record.Money{Minor: 1000, Currency: cny},
		PayerKey: "key-C1x", Remittance: "INV-2025-000010"}
	if m := e.MatchLine(l); m.Outcome != Confirmed {
		t.Fatalf("reference match with a near payer name: %s", m.Outcome)
	}
	l.ID, l.Remittance, l.Amount.Minor = "B", "payment", 2500
	if m := e.MatchLine(l); m.Outcome != Confirmed || m.Parts[0].ID != "INV-2025-000011" {
		t.Fatalf("the learned alias did not resolve the payer: %s %v", m.Outcome, m.Parts)
	}
}

// TestPaymentRuns covers a payer settling everything due up to a date:
// with a remittance the bank cut short, and with none.
func TestPaymentRuns(t *testing.T) {
	for _, c := range []struct {
		name, remit string
		amount      int64
		rule        string
		want        []string
	}{
		{"truncated remittance", "货款 INV-2025-000001", 65000, "reference", []string{"INV-2025-000001", "INV-2025-000002", "INV-2025-000003"}},
		{"no remittance", "", 35000, "party+oldest-due", []string{"INV-2025-000001", "INV-2025-000002"}},
		{"more than quoted, no run adds up: a person decides", "INV-2025-000001", 45000, "", nil},
		{"an older unpaid invoice is not in the run", "INV-2025-000002", 55000, "reference", []string{"INV-2025-000002", "INV-2025-000003"}},
		{"a run short by a whole fee", "INV-2025-000001", 61500, "reference", []string{"INV-2025-000001", "INV-2025-000002", "INV-2025-000003"}},
	} {
		e, _ := NewEngine(DefaultConfig(), DefaultRefPatterns)
		b := e.Book("SH01")
		b.Put(inv("INV-2025-000001", "C1", 10000, 1, 1))
		b.Put(inv("INV-2025-000002", "C1", 25000, 2, 1))
		b.Put(inv("INV-2025-000003", "C1", 30000, 3, 1))
		b.Put(inv("INV-2025-000004", "C1", 40000, 20, 1))
		m := e.MatchLine(Line{Company: "SH01", Source: "bank", ID: "L", Direction: "credit", Date: record.MakeDate(2025, 5, 4),
			Amount: record.Money{Minor: c.amount, Currency: cny}, PayerKey: "key-C1", Remittance: c.remit})
		var got []string
		for _, p := range m.Parts {
			got = append(got, p.ID)
		}
		if c.want == nil {
			if m.Outcome == Confirmed {
				t.Errorf("%s: confirmed %s %v", c.name, m.Rule, got)
			}
			continue
		}
		if m.Outcome != Confirmed || m.Rule != c.rule || fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: %s %s %v (%+v)", c.name, m.Outcome, m.Rule, got, m.Criteria)
		}
	}
}

// TestEngineEdgeCases are cases a review found: each once gave a wrong
// confirmation.
func TestEngineEdgeCases(t *testing.T) {
	newEngine := func(items ...OpenItem) *Engine {
		e, _ := NewEngine(DefaultConfig(), DefaultRefPatterns)
		for _, it := range items {
			e.Book("SH01").Put(it)
		}
		return e
	}
	credit := func(minor int64, payer, remit string) Line {
		return Line{Company: "SH01", Source: "bank", ID: "L", Direction: "credit", Amount: record.Money{Minor: minor, Currency: cny},
			PayerKey: payer, Remittance: remit}
	}
	withOrder := inv("INV-2025-000001", "C1", 100000, 1, 1)
	withOrder.OrderRef = "SO-2025-000001"

	// Quoting an invoice by its number and its order's is one invoice, not
	// two: twice its amount is no match for it.
	e := newEngine(withOrder)
	if m := e.MatchLine(credit(200000, "key-C1", "SO-2025-000001 INV-2025-000001")); m.Outcome == Confirmed {
		t.Errorf("one invoice quoted twice paid twice: %s %v", m.Rule, m.Parts)
	}

	// One invoice of the amount, and an oldest-due run adding up to it:
	// a person decides.
	e = newEngine(inv("INV-2025-000001", "C1", 10000, 1, 1), inv("INV-2025-000002", "C1", 20000, 2, 1), inv("INV-2025-000003", "C1", 30000, 3, 1))
	if m := e.MatchLine(credit(30000, "key-C1", "")); m.Outcome != Review || len(m.Alternatives) != 1 {
		t.Errorf("invoice against run: %s %s, %d alternatives", m.Outcome, m.Rule, len(m.Alternatives))
	}

	// A credit note is never netted into a run by the engine.
	cn := inv("CN-2025-000001", "C1", -3000, 1, 1)
	e = newEngine(cn, inv("INV-2025-000002", "C1", 10000, 2, 1), inv("INV-2025-000003", "C1", 10000, 3, 1))
	if m := e.MatchLine(credit(17000, "key-C1", "")); m.Outcome == Confirmed {
		t.Errorf("a run netted a credit note: %s %v", m.Rule, m.Parts)
	}

	// A credit note reached through its order's reference (or its own
	// number) is not netted by the reference rule either: it settled
	// nothing, so every later line quoting it netted it again. It stays
	// open, whole, for a person.
	cnOrder := inv("CN-2025-000009", "C1", -20000, 1, 1)
	cnOrder.OrderRef = "SO-2025-000001"
	other := inv("INV-2025-000005", "C1", 50000, 2, 1)
	e = newEngine(withOrder, cnOrder, other)
	for _, l := range []Line{credit(80000, "key-C1", "SO-2025-000001"), credit(30000, "key-C1", "INV-2025-000005 CN-2025-000009")} {
		m := e.MatchLine(l)
		for _, p := range m.Parts {
			if p.ID == cnOrder.ID {
				t.Errorf("line of %s quoting %q: the credit note is part of a %s match: %v", l.Amount, l.Remittance, m.Outcome, m.Parts)
			}
		}
	}
	if got := e.Book("SH01").Get(record.KindInvoice, "erp", cnOrder.ID); got == nil || got.Open.Minor != -20000 {
		t.Errorf("credit note after two lines quoting it: %+v, want open at -200.00", got)
	}

	// Candidates of different kinds with the same id are different.
	a := candidate{parts: []Part{{Kind: record.KindPayment, Source: "erp", ID: "1001"}}}
	b := candidate{parts: []Part{{Kind: record.KindExpenseClaim, Source: "reimb", ID: "1001"}}}
	if sameItems(a, b) {
		t.Error("a payment and a claim sharing an id are the same item")
	}
}

// TestFixedFeeOnSmallPayment: a bank's fixed fee may be a large share of a
// small payment; it is taken when it is a whole amount, within the bound,
// and only one invoice fits so.
func TestFixedFeeOnSmallPayment(t *testing.T) {
	for _, c := range []struct {
		name     string
		invoices []int64
		line     int64
		want     Outcome
	}{
		{"USD 40 off 774.20", []int64{77420}, 73420, Confirmed},
		{"38.42 is no bank fee", []int64{77420}, 73578, Unmatched},
		{"two invoices fit: a person decides", []int64{77420, 77520}, 73420, Unmatched},
		{"more than the bound", []int64{77420}, 71420, Unmatched},
	} {
		e, _ := NewEngine(DefaultConfig(), DefaultRefPatterns)
		for i, minor := range c.invoices {
			e.Book("SH01").Put(inv(fmt.Sprintf("INV-2025-00000%d", i+1), "C1", minor, 1+i, 1))
		}
		m := e.MatchLine(Line{Company: "SH01", Source: "bank", ID: "L", Direction: "credit", PayerKey: "key-C1",
			Amount: record.Money{Minor: c.line, Currency: cny}})
		if m.Outcome != c.want {
			t.Errorf("%s: %s %s (%+v)", c.name, m.Outcome, m.Rule, m.Criteria)
		}
	}
}

// TestFixedFeeOnQuotedInvoice: a line quoting its invoice and short by a
// whole amount within the fee bound settles the invoice in full (the fee is
// the exception to post); short by anything else it is a partial payment
// leaving the rest open; from another payer it is not settled in full.
func TestFixedFeeOnQuotedInvoice(t *testing.T) {
	for _, c := range []struct {
		name    string
		line    int64
		payer   string
		outcome Outcome
		applied int64
	}{
		{"36.00 off 1526.63: a fixed fee", 149063, "key-C1", Confirmed, 152663},
		{"38.42 off: a partial payment", 148821, "key-C1", Confirmed, 148821},
		{"60.00 off: beyond the fee bound, partial", 146663, "key-C1", Confirmed, 146663},
		{"another payer, 36.00 off: not settled in full", 149063, "hangzhoudongfang", Review, 152663},
	} {
		e, _ := NewEngine(DefaultConfig(), DefaultRefPatterns)
		e.Book("SH01").Put(inv("INV-2025-000001", "C1", 152663, 1, 1))
		m := e.MatchLine(Line{Company: "SH01", Source: "bank", ID: "L", Direction: "credit", PayerKey: c.payer,
			Amount: record.Money{Minor: c.line, Currency: cny}, Remittance: "INV-2025-000001"})
		if m.Outcome != c.outcome || len(m.Parts) != 1 || m.Parts[0].Amount.Minor != c.applied {
			t.Errorf("%s: %s %s %+v (%+v)", c.name, m.Outcome, m.Rule, m.Parts, m.Criteria)
		}
	}
}

// TestInstalments: with no reference, a line that is one of equal parts of
// one of the payer's invoices settles that part and leaves the rest open;
// the last part settles the rest; parts that fit two invoices go to review.
func TestInstalments(t *testing.T) {
	e, _ := NewEngine(DefaultConfig(), DefaultRefPatterns)
	b := e.Book("SH01")
	b.Put(inv("INV-2025-000001", "C1", 3000050, 1, 1)) // 30,000.50 in three parts of 10,000.00
	b.Put(inv("INV-2025-000002", "C2", 500000, 1, 1))
	b.Put(inv("INV-2025-000003", "C2", 500000, 9, 1))
	line := func(id, payer string, minor int64) Match {
		return e.MatchLine(Line{Company: "SH01", Source: "bank", ID: id, Direction: "credit", Date: record.MakeDate(2025, 5, 4),
			Amount: record.Money{Minor: minor, Currency: cny}, PayerKey: payer})
	}
	for i, want := range []struct {
		minor int64
		open  int64
		rule  string
	}{{1000000, 2000050, "party+instalment"}, {1000000, 1000050, "party+instalment"}, {1000050, 0, "party+amount"}} {
		m := line(fmt.Sprintf("L%d", i), "key-C1", want.minor)
		it := b.Get(record.KindInvoice, "erp", "INV-2025-000001")
		open := int64(0)
		if it != nil {
			open = it.Open.Minor
		}
		if m.Outcome != Confirmed || m.Rule != want.rule || open != want.open {
			t.Errorf("part %d: %s %s, open %d, want %s and %d (%+v)", i+1, m.Outcome, m.Rule, open, want.rule, want.open, m.Criteria)
		}
	}
	if m := line("L9", "key-C2", 250000); m.Outcome != Review {
		t.Errorf("half of either of two equal invoices: %s %s", m.Outcome, m.Rule)
	}
}

// TestContinuedRun: a remittance cut short after the first invoices of a
// run, in document order; the rest follow in that order, though not in
// due-date order.
func TestContinuedRun(t *testing.T) {
	e, _ := NewEngine(DefaultConfig(), DefaultRefPatterns)
	b := e.Book("SH01")
	b.Put(inv("INV-2025-000001", "C1", 1000000, 5, 1))
	b.Put(inv("INV-2025-000002", "C1", 2000000, 9, 1))
	b.Put(inv("INV-2025-000003", "C1", 700000, 4, 1))
	b.Put(inv("INV-2025-000004", "C1", 300000, 6, 1))
	m := e.MatchLine(Line{Company: "SH01", Source: "bank", ID: "L", Direction: "credit", Date: record.MakeDate(2025, 5, 12),
		Amount: record.Money{Minor: 3700000, Currency: cny}, PayerKey: "key-C1", Remittance: "货款 INV-2025-000001"})
	var got []string
	for _, p := range m.Parts {
		got = append(got, p.ID)
	}
	if m.Outcome != Confirmed || m.Rule != "reference" || fmt.Sprint(got) != "[INV-2025-000001 INV-2025-000002 INV-2025-000003]" {
		t.Errorf("%s %s %v (%+v)", m.Outcome, m.Rule, got, m.Criteria)
	}
}

// TestRuleOrderAndSwitches: the rule families are tried in the configured
// order, stopping at the first confirmation, and single rules can be off.
func TestRuleOrderAndSwitches(t *testing.T) {
	book := func(cfg Config) *Engine {
		e, err := NewEngine(cfg, DefaultRefPatterns)
		if err != nil {
			t.Fatal(err)
		}
		b := e.Book("SH01")
		b.Put(inv("INV-2025-000001", "C1", 10000, 1, 1))
		b.Put(inv("INV-2025-000003", "C1", 10000, 3, 1))
		b.Put(inv("INV-2025-000005", "C1", 3000000, 5, 1))
		return e
	}
	line := func(minor int64, remit string) Line {
		return Line{Company: "SH01", Source: "bank", ID: "L", Direction: "credit", Date: record.MakeDate(2025, 5, 4),
			Amount: record.Money{Minor: minor, Currency: cny}, PayerKey: "key-C1", Remittance: remit}
	}
	with := func(order, off []string) Config {
		c := DefaultConfig()
		c.Order, c.Off = order, off
		return c
	}
	for _, c := range []struct {
		name    string
		cfg     Config
		l       Line
		outcome Outcome
	}{
		{"reference first: the quoted one", DefaultConfig(), line(10000, "INV-2025-000001"), Confirmed},
		{"party first: two of the amount, a person decides", with([]string{RuleParty, RuleReference}, nil), line(10000, "INV-2025-000001"), Review},
		{"reference only: no reference, no match", with([]string{RuleReference}, nil), line(10000, ""), Unmatched},
		{"an instalment", DefaultConfig(), line(1500000, ""), Confirmed},
		{"instalments off", with(nil, []string{RuleInstalment}), line(1500000, ""), Unmatched},
	} {
		if m := book(c.cfg).MatchLine(c.l); m.Outcome != c.outcome {
			t.Errorf("%s: %s %s (%+v)", c.name, m.Outcome, m.Rule, m.Criteria)
		}
	}
	for _, bad := range []Config{with([]string{"amount"}, nil), with([]string{RuleParty, RuleParty}, nil), with(nil, []string{"reference"})} {
		if _, err := NewEngine(bad, DefaultRefPatterns); err == nil {
			t.Errorf("order %v, off %v: accepted", bad.Order, bad.Off)
		}
	}
}

// TestProposalsAreNeverConfirmedAndCanBeRejected: a quoted invoice whose
// amount disagrees is only a proposal, even with thresholds at or below
// its score, and rejecting it keeps it from being proposed again.
func TestProposalsAreNeverConfirmedAndCanBeRejected(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Confirm, cfg.Review = 0.6, 0.5
	e, _ := NewEngine(cfg, DefaultRefPatterns)
	e.Book("SH01").Put(inv("INV-2025-000001", "C1", 100000, 1, 1))
	l := Line{Company: "SH01", Source: "bank", ID: "L", Direction: "credit", Date: record.MakeDate(2025, 5, 4),
		Amount: record.Money{Minor: 120000, Currency: cny}, PayerKey: "key-C1", Remittance: "INV-2025-000001"}
	m := e.MatchLine(l)
	if m.Outcome != Review || e.Book("SH01").Get(record.KindInvoice, "erp", "INV-2025-000001").Open.Minor != 100000 {
		t.Fatalf("a disagreeing amount: %s %s", m.Outcome, m.Rule)
	}
	e.Reject(m.Line, m.Parts)
	if again := e.MatchLine(l); again.Outcome != Unmatched || again.ID == m.ID {
		t.Errorf("after the reject: %s %s %+v", again.Outcome, again.Rule, again.Parts)
	}
}

// TestFixedFeeOff: with fixed_fee off, a quoted invoice short by a whole
// 36.00 is a partial payment, not settled in full.
func TestFixedFeeOff(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Off = []string{RuleFixedFee}
	e, _ := NewEngine(cfg, DefaultRefPatterns)
	e.Book("SH01").Put(inv("INV-2025-000001", "C1", 152663, 1, 1))
	m := e.MatchLine(Line{Company: "SH01", Source: "bank", ID: "L", Direction: "credit", PayerKey: "key-C1",
		Amount: record.Money{Minor: 149063, Currency: cny}, Remittance: "INV-2025-000001"})
	if m.Outcome != Confirmed || len(m.Parts) != 1 || m.Parts[0].Amount.Minor != 149063 {
		t.Errorf("%s %s %+v", m.Outcome, m.Rule, m.Parts)
	}
}

// referenceSimilarity is similarity as first written, with maps and
// []rune: the oracle for the stack-and-sort version.
func referenceSimilarity(a, b string) float64 {
	if a == b {
		return 1
	}
	pairs := func(s string) map[[2]rune]int {
		r := []rune(s)
		out := map[[2]rune]int{}
		for i := 0; i+1 < len(r); i++ {
			out[[2]rune{r[i], r[i+1]}]++
		}
		return out
	}
	dice := func() float64 {
		pa, pb := pairs(a), pairs(b)
		na, nb, both := 0, 0, 0
		for p, n := range pa {
			na += n
			both += min(n, pb[p])
		}
		for _, n := range pb {
			nb += n
		}
		if na+nb == 0 {
			return 0
		}
		return 2 * float64(both) / float64(na+nb)
	}
	edit := func() float64 {
		ra, rb := []rune(a), []rune(b)
		if len(ra) == 0 || len(rb) == 0 {
			return 0
		}
		prev, cur := make([]int, len(rb)+1), make([]int, len(rb)+1)
		for j := range prev {
			prev[j] = j
		}
		for i := 1; i <= len(ra); i++ {
			cur[0] = i
			for j := 1; j <= len(rb); j++ {
				cost := 1
				if ra[i-1] == rb[j-1] {
					cost = 0
				}
				cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			}
			prev, cur = cur, prev
		}
		return 1 - float64(prev[len(rb)])/float64(max(len(ra), len(rb)))
	}
	return max(edit(), dice())
}

func FuzzSimilarityAsReference(f *testing.F) {
	for _, p := range [][2]string{{"北京嘉禾精密制造", "嘉禾精密制造（北京）"}, {"acme", "acme trading"}, {"aaaa", "aa"},
		{"", "x"}, {"\xff\xfe", "\xff"}, {strings.Repeat("长", 70), strings.Repeat("长", 69) + "短"}} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if got, want := similarity(a, b), referenceSimilarity(a, b); got != want {
			t.Fatalf("similarity(%q, %q) = %v, want %v", a, b, got, want)
		}
	})
}

// TestPayerLikeOneCustomer: a payer name no customer has, like exactly
// one customer's with an open invoice of the amount, is proposed for
// review, never confirmed, with the likeness in the criteria; two alike
// customers, a name unlike any, or a payer with open invoices of its own
// get no such guess.
func TestPayerLikeOneCustomer(t *testing.T) {
	line := func(id, payer string, minor int64) Line {
		return Line{Company: "SH01", Source: "bank", ID: id, Direction: "credit", Date: record.MakeDate(2025, 5, 2),
			Amount: record.Money{Minor: minor, Currency: cny}, PayerKey: payer}
	}
	cases := []struct {
		name  string
		items []OpenItem
		line  Line
		want  Outcome
	}{
		{"a typo of one customer's name", []OpenItem{inv("INV-1", "上海华东贸易", 50000, 10, 1)},
			line("L1", "key-上海华冬贸易", 50000), Review},
		{"two customers alike", []OpenItem{inv("INV-1", "上海华东贸易", 50000, 10, 1), inv("INV-2", "上海华栋贸易", 50000, 11, 1)},
			line("L1", "key-上海华冬贸易", 50000), Unmatched},
		{"a name like no customer's", []OpenItem{inv("INV-1", "上海华东贸易", 50000, 10, 1)},
			line("L1", "key-北京恒信建材", 50000), Unmatched},
		{"alike, but not of the amount", []OpenItem{inv("INV-1", "上海华东贸易", 50000, 10, 1)},
			line("L1", "key-上海华冬贸易", 40000), Unmatched},
		{"the payer has open invoices of its own", []OpenItem{inv("INV-1", "上海华东贸易", 50000, 10, 1), inv("INV-9", "上海华冬贸易", 12300, 10, 1)},
			line("L1", "key-上海华冬贸易", 50000), Unmatched},
	}
	for _, c := range cases {
		e, _ := NewEngine(DefaultConfig(), DefaultRefPatterns)
		for _, it := range c.items {
			e.PutItem("SH01", it)
		}
		m := e.MatchLine(c.line)
		if m.Outcome != c.want {
			t.Errorf("%s: %s %+v, want %s", c.name, m.Outcome, m, c.want)
			continue
		}
		if c.want == Review {
			if len(m.Parts) != 1 || m.Parts[0].ID != "INV-1" || !slices.ContainsFunc(m.Criteria, func(x Criterion) bool {
				return x.Name == "party" && !x.Pass && strings.Contains(x.Detail, "only like")
			}) {
				t.Errorf("%s: proposal %+v", c.name, m)
			}
			if it := e.Book("SH01").Get(record.KindInvoice, "erp", "INV-1"); it.Open.Minor != 50000 {
				t.Errorf("%s: a proposal settled %s", c.name, it.Open)
			}
		}
	}
}

// TestPartyDateWindow: the party rules say when the line was booked
// against the due date, and one booked past the window after it, or well
// before the invoice was issued, is proposed, not confirmed.
func TestPartyDateWindow(t *testing.T) {
	for _, c := range []struct {
		name string
		day  record.Date
		want Outcome
		says string
	}{
		{"a week late", record.MakeDate(2025, 5, 17), Confirmed, "booked 7 days after the due date"},
		{"on the day", record.MakeDate(2025, 5, 10), Confirmed, "booked on the due date"},
		{"half a year late", record.MakeDate(2025, 12, 1), Review, "outside the window"},
		{"two months before it was issued", record.MakeDate(2025, 2, 1), Review, "outside the window"},
	} {
		cfg := DefaultConfig()
		e, _ := NewEngine(cfg, DefaultRefPatterns)
		it := inv("INV-1", "C1", 50000, 10, 1)
		it.IssueDate = record.MakeDate(2025, 4, 10)
		e.PutItem("SH01", it)
		m := e.MatchLine(Line{Company: "SH01", Source: "bank", ID: "L1", Direction: "credit", Date: c.day,
			Amount: record.Money{Minor: 50000, Currency: cny}, PayerKey: "key-C1"})
		i := slices.IndexFunc(m.Criteria, func(x Criterion) bool { return x.Name == "days" })
		if m.Outcome != c.want || i < 0 || !strings.Contains(m.Criteria[i].Detail, c.says) || m.Criteria[i].Pass != (c.want == Confirmed) {
			t.Errorf("%s: %s %+v", c.name, m.Outcome, m.Criteria)
		}
	}
	// Several invoices: the line must come after, or near, the issue of
	// every one of them, not just the first.
	e, _ := NewEngine(DefaultConfig(), DefaultRefPatterns)
	a, b := inv("INV-A", "C1", 30000, 10, 1), inv("INV-B", "C1", 20000, 12, 1)
	a.IssueDate, b.IssueDate = record.MakeDate(2025, 1, 1), record.MakeDate(2025, 5, 1)
	e.PutItem("SH01", a)
	e.PutItem("SH01", b)
	if m := e.MatchLine(Line{Company: "SH01", Source: "bank", ID: "L2", Direction: "credit", Date: record.MakeDate(2025, 2, 1),
		Amount: record.Money{Minor: 50000, Currency: cny}, PayerKey: "key-C1"}); m.Outcome != Review || len(m.Parts) != 2 {
		t.Errorf("a line paying an invoice issued three months after it: %s %+v", m.Outcome, m.Parts)
	}
	// The window is configurable.
	cfg := DefaultConfig()
	cfg.WindowDays = 5
	e, _ = NewEngine(cfg, DefaultRefPatterns)
	e.PutItem("SH01", inv("INV-1", "C1", 50000, 10, 1))
	if m := e.MatchLine(Line{Company: "SH01", Source: "bank", ID: "L1", Direction: "credit", Date: record.MakeDate(2025, 5, 17),
		Amount: record.Money{Minor: 50000, Currency: cny}, PayerKey: "key-C1"}); m.Outcome != Review {
		t.Errorf("a week late with a 5-day window: %s", m.Outcome)
	}
}
