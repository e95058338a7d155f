package match

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/erpflow/erpflow/pipeline/record"
)

// TestReconcilerNeverOverApplies drives the reconciler with random
// streams of invoices, outgoing payments, bank lines (exact, short by fees, partial, quoting
// right, wrong or no numbers, in two currencies, zero and negative), ERP
// status changes, cancellations and people's decisions, and checks after
// every step that:
//   - no invoice takes more than its total from the current matches;
//   - no line gives more than it brought plus its charges and a fee within
//     the bound, and never money of another currency;
//   - every open item's open amount is its total less what current
//     matches take from it;
//   - every line's money is counted once in the control totals.
func TestReconcilerNeverOverApplies(t *testing.T) {
	for seed := range uint64(300) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { checkRandomStream(t, seed) })
	}
}

func checkRandomStream(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 7))
	set := DefaultSettings()
	rc, err := NewReconciler("SH01", set)
	if err != nil {
		t.Fatal(err)
	}
	usd := record.MustCurrency("USD")
	parties := []string{"Acme Trading", "Acme Tradng", "Beta Materials", "上海华东贸易有限公司"}
	amounts := []int64{10000, 10000, 25000, 25000, 35000, 60000, 100000, 99990}
	type invoice struct {
		kind      record.Kind // an AR invoice, or a payment out
		id        string
		total     record.Money
		party     string
		version   uint64
		cancelled bool
	}
	var invs []*invoice
	lines := map[string]LineResult{}
	lineAmount := map[string]record.Money{}
	var out Output
	at := record.MakeDate(2025, 3, 1).Time()
	step := func(rec *record.Record) {
		out.Reset()
		rc.Add(rec, &out)
	}
	for i := range 80 {
		at = at.Add(time.Duration(1+r.IntN(10)) * time.Hour)
		switch x := r.IntN(20); {
		case x < 7 || len(invs) == 0:
			cur := cny
			if r.IntN(5) == 0 {
				cur = usd
			}
			v := &invoice{kind: record.KindInvoice, id: fmt.Sprintf("INV-2025-%06d", i), total: record.Money{Minor: amounts[r.IntN(len(amounts))], Currency: cur},
				party: parties[r.IntN(len(parties))], version: 1}
			if r.IntN(4) == 0 {
				v.kind, v.id = record.KindPayment, fmt.Sprintf("PAY-2025-%06d", i)
				step(paymentRecord(v.id, v.party, v.total, v.version, "executed", at))
			} else {
				step(invoiceRecord(v.id, v.party, v.total, v.version, "open", at))
			}
			invs = append(invs, v)
		case x < 14:
			v := invs[r.IntN(len(invs))]
			amt := v.total
			switch r.IntN(6) {
			case 0:
				amt.Minor -= int64(1 + r.IntN(5000)) // a fee, or more
			case 1:
				amt.Minor /= int64(2 + r.IntN(3)) // a part
			case 2:
				amt.Minor = int64(r.IntN(3)) - 1 // zero or negative
			case 3:
				amt.Minor += v.total.Minor // two invoices' worth
			}
			if r.IntN(8) == 0 {
				amt.Currency = usd
			}
			remit := ""
			switch r.IntN(3) {
			case 0:
				remit = "货款 " + v.id
			case 1:
				remit = invs[r.IntN(len(invs))].id
			}
			id := fmt.Sprintf("L%d", i)
			lineAmount["SH01/bank/"+id] = amt
			direction := "credit"
			if v.kind == record.KindPayment {
				direction = "debit"
			}
			step(&record.Record{Envelope: record.Envelope{Kind: record.KindBankTxn, Company: "SH01", Source: "bank", ID: id, Version: 1, EventTime: at},
				Body: &record.BankTxn{Direction: direction, BookingDate: record.DateOf(at), Amount: amt,
					Counterparty: record.Party{Name: parties[r.IntN(len(parties))]}, Remittance: remit}})
		case x < 16:
			v := invs[r.IntN(len(invs))]
			v.version++
			if v.kind == record.KindPayment {
				status := []string{"executed", "returned", "cancelled"}[r.IntN(3)]
				v.cancelled = v.cancelled || status != "executed"
				step(paymentRecord(v.id, v.party, v.total, v.version, status, at))
				break
			}
			status := []string{"paid", "partially_paid", "cancelled"}[r.IntN(3)]
			v.cancelled = v.cancelled || status == "cancelled"
			step(invoiceRecord(v.id, v.party, v.total, v.version, status, at))
		default:
			var ids []string
			for _, l := range lines {
				if l.ID != "" && l.Outcome != Unmatched {
					ids = append(ids, l.ID)
				}
			}
			if len(ids) == 0 {
				continue
			}
			slices.Sort(ids)
			out.Reset()
			action := []string{ActionAccept, ActionReject, ActionUnmatch}[r.IntN(3)]
			_ = rc.Decide(Decision{MatchID: ids[r.IntN(len(ids))], Action: action, By: "prop", At: at}, &out) // refusals are fine
		}
		for _, l := range out.Lines {
			lines[l.Line] = l
		}

		took := map[string]int64{}
		for line, l := range lines {
			if l.Outcome != Confirmed && l.Outcome != Accepted {
				continue
			}
			amt := lineAmount[line]
			var gave int64
			for _, p := range l.Parts {
				if p.Amount.Currency != amt.Currency || p.Amount.Minor <= 0 {
					t.Fatalf("step %d: %s gives %s of %s to %s", i, line, p.Amount, amt, p.ID)
				}
				gave += p.Amount.Minor
				took[p.ID] += p.Amount.Minor
			}
			if gave > amt.Minor+set.Rules.FeeMinor {
				t.Fatalf("step %d: %s brought %s and gives %d (%s %s %v)", i, line, amt, gave, l.Outcome, l.Rule, l.Criteria)
			}
		}
		for _, v := range invs {
			if v.cancelled {
				continue // cancelled after a match: reopened as an exception, its money to be refunded
			}
			if took[v.id] > v.total.Minor {
				t.Fatalf("step %d: %s of %s takes %d from current matches", i, v.id, v.total, took[v.id])
			}
			if it := rc.Book().Get(v.kind, "erp", v.id); it != nil && it.Open.Minor != v.total.Minor-took[v.id] {
				t.Fatalf("step %d: %s open %s, total %s less %d taken", i, v.id, it.Open, v.total, took[v.id])
			}
		}
		for _, c := range rc.totals {
			if !c.Balanced() {
				t.Fatalf("step %d: %s %s: %d != %d + %d + %d", i, c.Currency, c.Day, c.Amount, c.Matched, c.Review, c.Unmatched)
			}
		}
	}
}

func invoiceRecord(id, party string, total record.Money, version uint64, status string, at time.Time) *record.Record {
	return &record.Record{Envelope: record.Envelope{Kind: record.KindInvoice, Company: "SH01", Source: "erp", ID: id, Version: version, EventTime: at},
		Body: &record.Invoice{Number: id, Direction: "AR", Party: record.Party{Name: party}, IssueDate: record.MakeDate(2025, 2, 20),
			DueDate: record.MakeDate(2025, 3, 20), Total: total, Status: status}}
}

func paymentRecord(id, party string, amount record.Money, version uint64, status string, at time.Time) *record.Record {
	return &record.Record{Envelope: record.Envelope{Kind: record.KindPayment, Company: "SH01", Source: "erp", ID: id, Version: version, EventTime: at},
		Body: &record.Payment{Number: id, Direction: "out", Party: record.Party{ID: "S-" + party, Name: party}, Amount: amount, Method: "bank_transfer",
			ValueDate: record.DateOf(at), Status: status, Remittance: id}}
}
