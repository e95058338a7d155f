package match

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/erpflow/erpflow/pipeline/record"
)

// TestERPClearing: a line in review is confirmed when the ERP marks
// exactly one of its candidates paid soon after it, and only then.
func TestERPClearing(t *testing.T) {
	day := record.MakeDate(2025, 4, 1).Time()
	type step struct {
		at     int    // hours after the first day's midnight
		kind   string // inv, paid, part, line
		id     string
		party  string
		minor  int64
		remit  string
		booked int // a line's booking time in hours, if not at
	}
	inv := func(id string, minor int64) step {
		return step{kind: "inv", id: id, party: "Acme Trading", minor: minor}
	}
	for _, c := range []struct {
		name  string
		steps []step
		off   bool
		order []string
		want  map[string][]string // line -> invoices it settles; absent: not confirmed
	}{
		{name: "one of two equal invoices cleared the next day",
			steps: []step{inv("INV-1", 25000), inv("INV-2", 25000), {at: 10, kind: "line", id: "L1", party: "Acme Trading", minor: 25000},
				{at: 30, kind: "paid", id: "INV-2"}},
			want: map[string][]string{"L1": {"INV-2"}}},
		{name: "the switch is off",
			steps: []step{inv("INV-1", 25000), inv("INV-2", 25000), {at: 10, kind: "line", id: "L1", party: "Acme Trading", minor: 25000},
				{at: 30, kind: "paid", id: "INV-2"}},
			off: true},
		{name: "cleared after the window",
			steps: []step{inv("INV-1", 25000), inv("INV-2", 25000), {at: 10, kind: "line", id: "L1", party: "Acme Trading", minor: 25000},
				{at: 24 * 7, kind: "paid", id: "INV-2"}}},
		{name: "cleared before the line: another payment's clearing",
			steps: []step{inv("INV-1", 25000), inv("INV-2", 25000), {at: 1, kind: "paid", id: "INV-2"},
				{at: 30, kind: "line", id: "L1", party: "Acme Trading", minor: 25000}}},
		{name: "two lines in review could have been cleared by it",
			steps: []step{inv("INV-1", 25000), inv("INV-2", 25000), {at: 10, kind: "line", id: "L1", party: "Acme Trading", minor: 25000},
				{at: 11, kind: "line", id: "L2", party: "Acme Trading", minor: 25000}, {at: 30, kind: "paid", id: "INV-2"}}},
		{name: "both candidates cleared",
			steps: []step{inv("INV-1", 25000), inv("INV-2", 25000), {at: 10, kind: "line", id: "L1", party: "Acme Trading", minor: 25000},
				{at: 30, kind: "paid", id: "INV-1"}, {at: 31, kind: "paid", id: "INV-2"}},
			// The first clearing settles it before the second arrives:
			// evidence is taken as it comes, in event-time order.
			want: map[string][]string{"L1": {"INV-1"}}},
		{name: "a cut remittance names two of three invoices; the ERP clears the third",
			// Paid from an account in another name, so only the reference
			// rule looks, and INV-3, next in order, is not paid.
			steps: []step{inv("INV-2025-000001", 10000), inv("INV-2025-000002", 20000), inv("INV-2025-000003", 45000), inv("INV-2025-000004", 30000),
				{at: 10, kind: "line", id: "L1", party: "Zhang San", minor: 60000, remit: "INV-2025-000001 INV-2025-000002"},
				{at: 30, kind: "paid", id: "INV-2025-000001"}, {at: 31, kind: "paid", id: "INV-2025-000002"}, {at: 32, kind: "paid", id: "INV-2025-000004"}},
			want: map[string][]string{"L1": {"INV-2025-000001", "INV-2025-000002", "INV-2025-000004"}}},
		{name: "an instalment of an invoice the rules did not propose",
			steps: []step{inv("INV-1", 300000), inv("INV-2", 40000), inv("INV-3", 60400),
				// 1000.00 is a third of INV-1, but INV-2 + INV-3 less a
				// 4.00 fee are 1000.00 too: the subset rule proposes them.
				{at: 10, kind: "line", id: "L1", party: "Acme Trading", minor: 100000},
				{at: 30, kind: "part", id: "INV-1"}},
			want: map[string][]string{"L1": {"INV-1"}}},
		{name: "a partly-paid marking while another line of the payer waits",
			// L2 matches nothing: the marking may be for its part.
			steps: []step{inv("INV-1", 300000), inv("INV-2", 40000), inv("INV-3", 60400),
				{at: 10, kind: "line", id: "L1", party: "Acme Trading", minor: 100000},
				{at: 11, kind: "line", id: "L2", party: "Acme Trading", minor: 77700},
				{at: 30, kind: "part", id: "INV-1"}}},
		{name: "a match the ERP's marking made, reversed, is not made again",
			steps: []step{inv("INV-1", 25000), inv("INV-2", 25000), inv("INV-3", 25000),
				{at: 10, kind: "line", id: "L1", party: "Acme Trading", minor: 25000},
				{at: 30, kind: "paid", id: "INV-2"}, {at: 40, kind: "unmatch", id: "L1"}}},
		{name: "after a reversal, the ERP's marking of the invoice counts again",
			// L1 paid INV-1 by reference and was reversed; the ERP then marks
			// INV-1 paid, which must be L2's doing, not L1's old match.
			steps: []step{inv("INV-2025-000001", 25000), inv("INV-2025-000002", 25000), inv("INV-2025-000003", 25000),
				{at: 10, kind: "line", id: "L1", party: "Acme Trading", minor: 25000, remit: "INV-2025-000001"},
				{at: 12, kind: "unmatch", id: "L1"},
				{at: 14, kind: "line", id: "L2", party: "Acme Trading", minor: 25000},
				{at: 30, kind: "paid", id: "INV-2025-000001"}},
			want: map[string][]string{"L2": {"INV-2025-000001"}}},
		{name: "an invoice no rule proposed, with two lines of the payer in review",
			steps: []step{inv("INV-1", 25000), inv("INV-2", 25000),
				{at: 10, kind: "line", id: "L1", party: "Acme Trading", minor: 25000},
				{at: 11, kind: "line", id: "L2", party: "Acme Trading", minor: 25000},
				{at: 20, kind: "inv", id: "INV-3", party: "Acme Trading", minor: 25000},
				{at: 30, kind: "paid", id: "INV-3"}}},
		{name: "one partly-paid marking settles one line only",
			steps: []step{inv("INV-1", 300000), inv("INV-2", 40000), inv("INV-3", 60400),
				{at: 10, kind: "line", id: "L1", party: "Acme Trading", minor: 100000},
				{at: 30, kind: "part", id: "INV-1"},
				// Booked the day before the marking, read after it.
				{at: 40, booked: 12, kind: "line", id: "L2", party: "Acme Trading", minor: 100000}},
			want: map[string][]string{"L1": {"INV-1"}}},
		{name: "a credit note the ERP marks paid is no part of a line",
			steps: []step{inv("INV-1", 10000), inv("INV-5", 10000), inv("CN-1", -2345), inv("INV-4", 12345),
				{at: 10, kind: "line", id: "L1", party: "Acme Trading", minor: 10000},
				{at: 30, kind: "paid", id: "CN-1"}, {at: 31, kind: "paid", id: "INV-4"}}},
		{name: "a run of five invoices without a reference, cleared over two days",
			// Five invoices, not the oldest-due run: more than the subset
			// rule tries, so the line matches nothing and waits.
			steps: []step{inv("INV-1", 10000), inv("INV-2", 20000), inv("INV-3", 30000), inv("INV-4", 40000), inv("INV-5", 50000), inv("INV-6", 70000),
				{at: 10, kind: "line", id: "L1", party: "Acme Trading", minor: 210000},
				{at: 30, kind: "paid", id: "INV-2"}, {at: 31, kind: "paid", id: "INV-3"}, {at: 32, kind: "paid", id: "INV-4"},
				{at: 50, kind: "paid", id: "INV-5"}, {at: 51, kind: "paid", id: "INV-6"}},
			want: map[string][]string{"L1": {"INV-2", "INV-3", "INV-4", "INV-5", "INV-6"}}},
		{name: "two waiting lines of the payer brought the same amount",
			steps: []step{inv("INV-1", 10000), inv("INV-2", 20000), inv("INV-3", 30000), inv("INV-4", 40000), inv("INV-5", 50000), inv("INV-6", 70000),
				{at: 10, kind: "line", id: "L1", party: "Acme Trading", minor: 210000}, {at: 12, kind: "line", id: "L2", party: "Acme Trading", minor: 210000},
				{at: 30, kind: "paid", id: "INV-2"}, {at: 31, kind: "paid", id: "INV-3"}, {at: 32, kind: "paid", id: "INV-4"},
				{at: 50, kind: "paid", id: "INV-5"}, {at: 51, kind: "paid", id: "INV-6"}}},
		{name: "a garbled reference names another customer's invoice",
			steps: []step{inv("INV-2025-000001", 10000), inv("INV-2025-000002", 20000),
				{kind: "inv", id: "INV-2025-000003", party: "Beta Materials", minor: 5000},
				// INV-2025-000003 for INV-2025-000002: Beta's, so review.
				{at: 10, kind: "line", id: "L1", party: "Acme Trading", minor: 30000, remit: "INV-2025-000003 INV-2025-000001"},
				{at: 30, kind: "paid", id: "INV-2025-000001"}, {at: 31, kind: "paid", id: "INV-2025-000002"}},
			// Only the reference rule, so no party rule finds Acme's two.
			order: []string{RuleReference},
			want:  map[string][]string{"L1": {"INV-2025-000001", "INV-2025-000002"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			set := DefaultSettings()
			if c.off {
				set.Rules.Off = []string{RuleERPCleared}
			}
			set.Rules.Order = c.order
			rc, err := NewReconciler("SH01", set)
			if err != nil {
				t.Fatal(err)
			}
			var out Output
			got := map[string]LineResult{}
			versions := map[string]uint64{}
			totals := map[string]int64{}
			for _, s := range c.steps {
				at := day.Add(time.Duration(s.at) * time.Hour)
				var r *record.Record
				switch s.kind {
				case "inv":
					totals[s.id] = s.minor
					r = &record.Record{Envelope: record.Envelope{Kind: record.KindInvoice, Company: "SH01", Source: "erp", ID: s.id, Version: 1, EventTime: at},
						Body: &record.Invoice{Number: s.id, Direction: "AR", Party: record.Party{Name: s.party}, IssueDate: record.DateOf(at) - 20,
							DueDate: record.DateOf(at) + 10, Total: record.Money{Minor: s.minor, Currency: cny}, Status: "open"}}
				case "paid", "part":
					status := map[string]string{"paid": "paid", "part": "partially_paid"}[s.kind]
					versions[s.id]++
					r = &record.Record{Envelope: record.Envelope{Kind: record.KindInvoice, Company: "SH01", Source: "erp", ID: s.id, Version: 1 + versions[s.id], EventTime: at},
						Body: &record.Invoice{Number: s.id, Direction: "AR", Party: record.Party{Name: "Acme Trading"}, IssueDate: record.DateOf(day) - 20,
							DueDate: record.DateOf(day) + 10, Total: record.Money{Minor: totals[s.id], Currency: cny}, Status: status}}
				case "line":
					booked := at
					if s.booked != 0 {
						booked = day.Add(time.Duration(s.booked) * time.Hour)
					}
					r = &record.Record{Envelope: record.Envelope{Kind: record.KindBankTxn, Company: "SH01", Source: "bank", ID: s.id, Version: 1, EventTime: at},
						Body: &record.BankTxn{Direction: "credit", BookingDate: record.DateOf(booked), Amount: record.Money{Minor: s.minor, Currency: cny},
							Counterparty: record.Party{Name: s.party}, Remittance: s.remit}}
				case "unmatch":
					out.Reset()
					if err := rc.Decide(Decision{MatchID: got[s.id].ID, Action: ActionUnmatch, By: "clerk", At: at}, &out); err != nil {
						t.Fatalf("unmatch %s: %v", s.id, err)
					}
				}
				if r != nil {
					out.Reset()
					rc.Add(r, &out)
				}
				for _, l := range out.Lines {
					got[strings.TrimPrefix(l.Line, "SH01/bank/")] = l
				}
			}
			for line, l := range got {
				want, ok := c.want[line]
				if !ok {
					if l.Outcome == Confirmed {
						t.Errorf("%s confirmed by %s: %v", line, l.Rule, l.Parts)
					}
					continue
				}
				var ids []string
				for _, p := range l.Parts {
					ids = append(ids, p.ID)
				}
				if l.Outcome != Confirmed || l.Rule != "erp_cleared" || strings.Join(ids, " ") != strings.Join(want, " ") {
					t.Errorf("%s: %s by %s %v, want erp_cleared %v", line, l.Outcome, l.Rule, ids, want)
				}
				if !strings.Contains(critText(l.Criteria), "the ERP marked "+want[0]) {
					t.Errorf("%s: the explanation does not name the ERP's clearing: %v", line, l.Criteria)
				}
			}
			// Nothing settled twice: every invoice's open amount plus what
			// the confirmed lines took is its total.
			took := map[string]int64{}
			for _, l := range got {
				if l.Outcome == Confirmed {
					for _, p := range l.Parts {
						took[p.ID] += p.Amount.Minor
					}
				}
			}
			for id, total := range totals {
				open := int64(0)
				if it := rc.Book().Get(record.KindInvoice, "erp", id); it != nil {
					open = it.Open.Minor
				}
				if open+took[id] != total {
					t.Errorf("%s: open %d + taken %d != total %d", id, open, took[id], total)
				}
			}
		})
	}
}

func critText(cs []Criterion) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.Name + ": " + c.Detail + "; ")
	}
	return b.String()
}

// TestClearedSetAsMap: whatever is put, replaced and deleted, the set
// answers as the plain map would; the slot counts only save lookups.
func TestClearedSetAsMap(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 11))
	set, want := newClearedSet(), map[itemKey]clearing{}
	key := func() itemKey {
		// Few ids, so that puts replace and deletes hit; some share slots.
		return itemKey{record.KindInvoice, "erp", fmt.Sprintf("INV-%d", rnd.IntN(40))}
	}
	for i := range 20000 {
		k := key()
		switch rnd.IntN(3) {
		case 0, 1:
			v := clearing{day: record.Date(i), status: "paid", version: uint64(i)}
			set.put(k, v)
			want[k] = v
		case 2:
			set.del(k)
			delete(want, k)
		}
		q := key()
		got, ok := set.get(q)
		if w, wok := want[q]; ok != wok || got != w {
			t.Fatalf("step %d: get(%v) = %v, %v; the map holds %v, %v", i, q, got, ok, w, wok)
		}
		if set.len() != len(want) {
			t.Fatalf("step %d: len %d, the map holds %d", i, set.len(), len(want))
		}
	}
	for k := range want {
		set.del(k)
	}
	if set.slots != ([256]uint16{}) {
		t.Fatal("slot counts left over once every clearing is deleted")
	}
}
