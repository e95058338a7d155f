package match

import (
	"cmp"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/erpflow/erpflow/pipeline/record"
)

// TestERPReceipts: an ERP receipt is banked by the credit line that brought
// its cash, and one no line brought within UnmatchedDays is an exception
// that stands until a line does or the ERP withdraws the receipt.
func TestERPReceipts(t *testing.T) {
	day := record.MakeDate(2025, 4, 1).Time()
	type step struct {
		at    int    // hours after the first day's midnight
		kind  string // inv, paid (its next version), line, rcpt, cancel, tick (a record that only moves time on)
		id    string
		party string
		minor int64
		remit string
		refs  []string
		value *int   // a receipt's value date or a line's booking date, in days from the first day, if not at's
		acct  string // the payer's account
		ver   uint64 // a receipt's version, if not the next
		// method is a receipt's, if not bank_transfer; ours is our
		// account a receipt or a line names.
		method, ours string
	}
	const acme, beta = "Acme Trading", "Beta Materials"
	// Time moves on by records: a day ends when a record of a later day
	// comes. Every case has records on the days a receipt of the first
	// days falls due (UnmatchedDays, 14).
	inv := func(id string, minor int64) step { return step{kind: "inv", id: id, party: acme, minor: minor} }
	v := func(days int) *int { return &days }
	for _, c := range []struct {
		name  string
		steps []step
		// want is every unbanked_receipt reported, in order: subject
		// receipt, status and reason.
		want []string
		// cleared, when set, is the line the receipt's evidence must
		// confirm, and the invoice it must settle.
		cleared [2]string
		// unconfirmed are lines no evidence may confirm.
		unconfirmed []string
		// retain, if set, is RetainDays; with forgotten, the receipts
		// and their indexes must be empty at the end.
		retain    int
		forgotten bool
		// rows, if set, is each receipt's last state in the open-items
		// table.
		rows map[string]string
	}{
		{name: "booked two days after the line that brought it",
			steps: []step{inv("INV-2025-000001", 25000),
				{at: 10, kind: "line", id: "L1", party: acme, minor: 25000, remit: "INV-2025-000001"},
				{at: 58, kind: "rcpt", id: "RC-1", party: acme, minor: 25000, refs: []string{"INV-2025-000001"}, value: v(0)},
				{at: 24 * 14, kind: "tick"}, {at: 24 * 15, kind: "tick"}, {at: 24 * 16, kind: "tick"}},
			rows: map[string]string{"RC-1": "settled"}},
		{name: "no line brought it",
			steps: []step{inv("INV-2025-000001", 25000),
				{at: 10, kind: "rcpt", id: "RC-1", party: acme, minor: 25000, refs: []string{"INV-2025-000001"}},
				{at: 24 * 14, kind: "tick"}, {at: 24 * 15, kind: "tick"}},
			want: []string{"RC-1 open"}, rows: map[string]string{"RC-1": "open 250.00"}},
		{name: "a line of another customer, or of another amount, or outside the window, does not bank it",
			steps: []step{inv("INV-2025-000001", 25000),
				{at: 5, kind: "line", id: "L1", party: beta, minor: 25000},
				{at: 6, kind: "line", id: "L2", party: acme, minor: 15000},
				{at: 7, kind: "line", id: "L3", party: acme, minor: 25000, value: v(-6)},
				{at: 10, kind: "rcpt", id: "RC-1", party: acme, minor: 25000, refs: []string{"INV-2025-000001"}},
				{at: 24 * 14, kind: "tick"}, {at: 24 * 15, kind: "tick"}},
			want: []string{"RC-1 open"}},
		{name: "a statement that comes late resolves it",
			steps: []step{inv("INV-2025-000001", 25000),
				{at: 10, kind: "rcpt", id: "RC-1", party: acme, minor: 25000, refs: []string{"INV-2025-000001"}},
				{at: 24 * 14, kind: "tick"}, {at: 24 * 15, kind: "tick"},
				{at: 24*15 + 2, kind: "line", id: "L1", party: acme, minor: 25000, value: v(1)}},
			want: []string{"RC-1 open", "RC-1 resolved"}},
		{name: "the ERP cancels it",
			steps: []step{inv("INV-2025-000001", 25000),
				{at: 10, kind: "rcpt", id: "RC-1", party: acme, minor: 25000, refs: []string{"INV-2025-000001"}},
				{at: 24 * 14, kind: "tick"}, {at: 24 * 15, kind: "tick"},
				{at: 24 * 16, kind: "cancel", id: "RC-1", party: acme, minor: 25000, refs: []string{"INV-2025-000001"}}},
			want: []string{"RC-1 open", "RC-1 resolved"}, rows: map[string]string{"RC-1": "removed"}},
		{name: "the bank kept a fee the receipt does not show",
			steps: []step{inv("INV-2025-000001", 1000000),
				{at: 10, kind: "line", id: "L1", party: acme, minor: 998500},
				{at: 30, kind: "rcpt", id: "RC-1", party: acme, minor: 1000000, refs: []string{"INV-2025-000001"}, value: v(0)},
				{at: 24 * 14, kind: "tick"}, {at: 24 * 15, kind: "tick"}, {at: 24 * 16, kind: "tick"}}},
		{name: "a receipt takes a line from one that only fitted it with a fee",
			// Lines from the customer's owner's own account match nothing,
			// and meet the receipts by the account. RC-1 (10,000.00) fits
			// L1 (9,985.00) with a fee, and L1 is the only line when it
			// comes; RC-2 (9,985.00) fits L1 exactly and takes it, and RC-1
			// goes to L2, which brought 10,000.00.
			steps: []step{inv("INV-2025-000001", 1000000), inv("INV-2025-000002", 998500),
				{at: 10, kind: "line", id: "L1", party: "Zhang San", acct: "6222000011112222", minor: 998500},
				{at: 20, kind: "rcpt", id: "RC-1", party: acme, acct: "6222000011112222", minor: 1000000, refs: []string{"INV-2025-000001"}, value: v(1)},
				{at: 30, kind: "line", id: "L2", party: "Zhang San", acct: "6222000011112222", minor: 1000000},
				{at: 40, kind: "rcpt", id: "RC-2", party: acme, acct: "6222000011112222", minor: 998500, refs: []string{"INV-2025-000002"}, value: v(0)},
				{at: 24 * 14, kind: "tick"}, {at: 24 * 15, kind: "tick"}, {at: 24 * 16, kind: "tick"}}},
		{name: "the line was matched to another invoice",
			steps: []step{inv("INV-2025-000001", 25000), inv("INV-2025-000002", 25000),
				{at: 10, kind: "line", id: "L1", party: acme, minor: 25000, remit: "INV-2025-000002"},
				{at: 30, kind: "rcpt", id: "RC-1", party: acme, minor: 25000, refs: []string{"INV-2025-000001"}, value: v(0)},
				{at: 24 * 14, kind: "tick"}, {at: 24 * 15, kind: "tick"}, {at: 24 * 16, kind: "tick"}},
			want: []string{"RC-1 open applied_elsewhere"}},
		{name: "the receipt settles the line in review between two equal invoices",
			steps: []step{inv("INV-2025-000001", 25000), inv("INV-2025-000002", 25000),
				{at: 10, kind: "line", id: "L1", party: acme, minor: 25000},
				{at: 30, kind: "rcpt", id: "RC-1", party: acme, minor: 25000, refs: []string{"INV-2025-000002"}, value: v(0)},
				{at: 24 * 14, kind: "tick"}, {at: 24 * 15, kind: "tick"}, {at: 24 * 16, kind: "tick"}},
			cleared: [2]string{"L1", "INV-2025-000002"}},
		{name: "the ERP cancels the receipt a line brought: the line brings a waiting one",
			steps: []step{
				{at: 10, kind: "line", id: "L1", party: acme, minor: 25000},
				{at: 20, kind: "rcpt", id: "RC-1", party: acme, minor: 25000, value: v(0)},
				{at: 21, kind: "rcpt", id: "RC-2", party: acme, minor: 25000, value: v(0)},
				{at: 30, kind: "cancel", id: "RC-1", party: acme, minor: 25000, value: v(0)},
				{at: 24 * 14, kind: "tick"}, {at: 24 * 15, kind: "tick"}, {at: 24 * 16, kind: "tick"}}},
		{name: "a receipt cancelled before its line marks nothing",
			steps: []step{inv("INV-2025-000001", 25000), inv("INV-2025-000002", 25000),
				{at: 5, kind: "rcpt", id: "RC-1", party: acme, minor: 25000, refs: []string{"INV-2025-000002"}, value: v(0)},
				{at: 6, kind: "cancel", id: "RC-1", party: acme, minor: 25000, refs: []string{"INV-2025-000002"}, value: v(0)},
				{at: 10, kind: "line", id: "L1", party: acme, minor: 25000},
				{at: 24 * 14, kind: "tick"}, {at: 24 * 15, kind: "tick"}, {at: 24 * 16, kind: "tick"}},
			unconfirmed: []string{"L1"}},
		{name: "a receipt booked twelve days after its line",
			steps: []step{
				{at: 10, kind: "line", id: "L1", party: acme, minor: 25000},
				{at: 24 * 11, kind: "tick"},
				{at: 24 * 12, kind: "rcpt", id: "RC-1", party: acme, minor: 25000, value: v(0)},
				{at: 24 * 14, kind: "tick"}, {at: 24 * 15, kind: "tick"}, {at: 24 * 16, kind: "tick"}}},
		{name: "an old version sent again after the cancellation changes nothing",
			steps: []step{
				{at: 10, kind: "rcpt", id: "RC-1", party: acme, minor: 25000, value: v(0)},
				{at: 20, kind: "cancel", id: "RC-1", party: acme, minor: 25000, value: v(0)},
				{at: 30, kind: "rcpt", id: "RC-1", party: acme, minor: 25000, value: v(0), ver: 1},
				{at: 24 * 14, kind: "tick"}, {at: 24 * 15, kind: "tick"}, {at: 24 * 16, kind: "tick"}}},
		{name: "an amended receipt is due again from its new value date",
			steps: []step{inv("INV-2025-000001", 25000),
				{at: 10, kind: "rcpt", id: "RC-1", party: acme, minor: 25000, refs: []string{"INV-2025-000001"}, value: v(0)},
				{at: 24 * 14, kind: "tick"}, {at: 24 * 15, kind: "tick"},
				{at: 24 * 16, kind: "rcpt", id: "RC-1", party: acme, minor: 30000, refs: []string{"INV-2025-000001"}, value: v(20)},
				{at: 24 * 30, kind: "tick"}, {at: 24 * 34, kind: "tick"}, {at: 24 * 35, kind: "tick"}},
			want: []string{"RC-1 open", "RC-1 resolved", "RC-1 open"}},
		{name: "two lines could have brought it: no evidence for either",
			steps: []step{inv("INV-2025-000001", 25000), inv("INV-2025-000002", 25000),
				{at: 10, kind: "line", id: "L1", party: acme, minor: 25000},
				{at: 11, kind: "line", id: "L2", party: acme, minor: 25000},
				{at: 30, kind: "rcpt", id: "RC-1", party: acme, minor: 25000, refs: []string{"INV-2025-000002"}, value: v(0)},
				{at: 24 * 14, kind: "tick"}, {at: 24 * 15, kind: "tick"}, {at: 24 * 16, kind: "tick"}},
			unconfirmed: []string{"L1", "L2"}},
		{name: "receipts, lines and their keys are forgotten",
			steps: []step{inv("INV-2025-000001", 25000),
				{at: 10, kind: "line", id: "L1", party: acme, minor: 25000, remit: "INV-2025-000001"},
				{at: 20, kind: "rcpt", id: "RC-1", party: acme, minor: 25000, refs: []string{"INV-2025-000001"}, value: v(0)},
				{at: 21, kind: "rcpt", id: "RC-2", party: beta, minor: 9900, value: v(0)},
				// A draft naming an invoice that never comes.
				{at: 22, kind: "rcpt", id: "RC-3", party: acme, minor: 100, refs: []string{"INV-2025-000099"}, value: v(0), method: "draft"},
				{at: 24 * 14, kind: "tick"}, {at: 24 * 15, kind: "tick"}, {at: 24 * 60, kind: "tick"}, {at: 24 * 61, kind: "tick"}},
			want: []string{"RC-2 open"}, retain: 30, forgotten: true},
		{name: "a receipt banked on a fee-short line moves to the line that names its invoice",
			// RC-1 is banked on L2 (249.00, fee-short) before L1 (250.00,
			// quoting INV-1) comes; L1 takes it, and RC-2 finds L2 free.
			steps: []step{inv("INV-2025-000001", 25000), inv("INV-2025-000002", 25000),
				{at: 5, kind: "rcpt", id: "RC-1", party: acme, minor: 25000, refs: []string{"INV-2025-000001"}, value: v(0)},
				{at: 10, kind: "line", id: "L2", party: acme, minor: 24900},
				{at: 11, kind: "line", id: "L1", party: acme, minor: 25000, remit: "INV-2025-000001"},
				{at: 20, kind: "rcpt", id: "RC-2", party: acme, minor: 25000, refs: []string{"INV-2025-000002"}, value: v(0)},
				{at: 24 * 14, kind: "tick"}, {at: 24 * 15, kind: "tick"}, {at: 24 * 16, kind: "tick"}}},
		{name: "a line another receipt holds could have brought it: no evidence",
			steps: []step{inv("INV-2025-000001", 25000), inv("INV-2025-000002", 25000),
				{at: 10, kind: "line", id: "L1", party: acme, minor: 25000},
				// RC-Q (251.00, a fee over) meets only L2, by its account.
				{at: 11, kind: "line", id: "L2", party: acme, minor: 25000, acct: "6222000099998888"},
				{at: 20, kind: "rcpt", id: "RC-Q", party: beta, acct: "6222000099998888", minor: 25100, value: v(0)},
				{at: 30, kind: "rcpt", id: "RC-1", party: acme, minor: 25000, refs: []string{"INV-2025-000002"}, value: v(0)},
				{at: 24 * 14, kind: "tick"}, {at: 24 * 15, kind: "tick"}, {at: 24 * 16, kind: "tick"}},
			unconfirmed: []string{"L1", "L2"}},
		{name: "lines a day apart could both have brought it: no evidence",
			steps: []step{inv("INV-2025-000001", 25000), inv("INV-2025-000002", 25000),
				{at: 10, kind: "line", id: "L1", party: acme, minor: 25000},
				{at: 34, kind: "line", id: "L2", party: acme, minor: 25000},
				{at: 40, kind: "rcpt", id: "RC-1", party: acme, minor: 25000, refs: []string{"INV-2025-000002"}, value: v(1)},
				{at: 24 * 14, kind: "tick"}, {at: 24 * 15, kind: "tick"}, {at: 24 * 16, kind: "tick"}},
			unconfirmed: []string{"L1", "L2"}},
		{name: "a receipt of cash or a draft is not held to the bank, nor evidence",
			steps: []step{inv("INV-2025-000001", 25000), inv("INV-2025-000002", 25000),
				{at: 10, kind: "line", id: "L1", party: acme, minor: 25000},
				{at: 20, kind: "rcpt", id: "RC-1", party: acme, minor: 25000, refs: []string{"INV-2025-000002"}, value: v(0), method: "draft"},
				{at: 21, kind: "rcpt", id: "RC-2", party: acme, minor: 7700, refs: []string{"INV-2025-000001"}, value: v(0), method: "cash"},
				// The ERP marks the drafted invoice paid: the draft's
				// doing, no evidence about L1.
				{at: 30, kind: "paid", id: "INV-2025-000002", party: acme, minor: 25000},
				{at: 24 * 14, kind: "tick"}, {at: 24 * 15, kind: "tick"}, {at: 24 * 16, kind: "tick"}},
			unconfirmed: []string{"L1"}},
		{name: "a receipt into another of our accounts, or one whose statements never come",
			// L1 is of the CNY account; RC-1 names the USD one's, whose
			// statements come (L9), so it is raised; RC-2 names an account
			// no statement is of, so it is not held to the bank.
			steps: []step{inv("INV-2025-000001", 25000),
				{at: 9, kind: "line", id: "L9", party: beta, minor: 100, ours: "BOC-USD"},
				{at: 10, kind: "line", id: "L1", party: acme, minor: 25000, ours: "ICBC-CNY"},
				{at: 20, kind: "rcpt", id: "RC-1", party: acme, minor: 25000, refs: []string{"INV-2025-000001"}, value: v(0), ours: "BOC-USD"},
				{at: 21, kind: "rcpt", id: "RC-2", party: acme, minor: 9900, refs: []string{"INV-2025-000001"}, value: v(0), ours: "CMB-CNY"},
				{at: 24 * 14, kind: "tick"}, {at: 24 * 15, kind: "tick"}, {at: 24 * 16, kind: "tick"}},
			want: []string{"RC-1 open"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			set := DefaultSettings()
			if c.retain != 0 {
				set.RetainDays = c.retain
			}
			// Twice, each with a reconciler of its own: the same records
			// must give the same results.
			var runs [2]string
			for run := range runs {
				rc, err := NewReconciler("SH01", set)
				if err != nil {
					t.Fatal(err)
				}
				var out Output
				var got []string
				var transcript strings.Builder
				lines := map[string]LineResult{}
				rows := map[string]string{}
				versions := map[string]uint64{}
				for _, s := range c.steps {
					at := day.Add(time.Duration(s.at) * time.Hour)
					d := record.DateOf(at)
					if s.value != nil {
						d = record.DateOf(day) + record.Date(*s.value)
					}
					var r *record.Record
					switch s.kind {
					case "inv", "paid":
						versions[s.id]++
						status := map[string]string{"inv": "open", "paid": "paid"}[s.kind]
						r = &record.Record{Envelope: record.Envelope{Kind: record.KindInvoice, Company: "SH01", Source: "erp", ID: s.id, Version: versions[s.id], EventTime: at},
							Body: &record.Invoice{Number: s.id, Direction: "AR", Party: record.Party{Name: s.party}, IssueDate: record.DateOf(day) - 20,
								DueDate: record.DateOf(day) + 10, Total: record.Money{Minor: s.minor, Currency: cny}, Status: status}}
					case "line":
						r = &record.Record{Envelope: record.Envelope{Kind: record.KindBankTxn, Company: "SH01", Source: "bank", ID: s.id, Version: 1, EventTime: at},
							Body: &record.BankTxn{Direction: "credit", BookingDate: d, Amount: record.Money{Minor: s.minor, Currency: cny},
								Counterparty: record.Party{Name: s.party, Account: s.acct}, Remittance: s.remit, Account: s.ours}}
					case "rcpt", "cancel":
						versions[s.id]++
						ver := versions[s.id]
						if s.ver != 0 {
							ver = s.ver
						}
						status := map[string]string{"rcpt": "executed", "cancel": "cancelled"}[s.kind]
						r = &record.Record{Envelope: record.Envelope{Kind: record.KindPayment, Company: "SH01", Source: "erp", ID: s.id, Version: ver, EventTime: at},
							Body: &record.Payment{Number: s.id, Direction: "in", Party: record.Party{Name: s.party}, Amount: record.Money{Minor: s.minor, Currency: cny},
								ValueDate: d, Status: status, InvoiceRefs: s.refs, Method: cmp.Or(s.method, "bank_transfer"), CounterpartyAccount: s.acct,
								BankAccount: s.ours}}
					case "tick":
						r = &record.Record{Envelope: record.Envelope{Kind: record.KindApproval, Company: "SH01", Source: "erp", ID: "tick", Version: uint64(s.at), EventTime: at},
							Body: &record.Approval{SubjectKind: record.KindInvoice, SubjectID: "none", Step: 1, Level: 1, Action: "approve"}}
					}
					out.Reset()
					rc.Add(r, &out)
					for _, x := range out.Exceptions {
						fmt.Fprintf(&transcript, "%+v\n", x)
						if x.Type != ExcUnbankedReceipt {
							continue
						}
						got = append(got, strings.TrimSpace(strings.TrimPrefix(x.Subject, "SH01/erp/")+" "+string(x.Status)+" "+x.Reason))
						if x.Status == StatusOpen && len(s.refs) > 0 && (!strings.Contains(x.NextStep, strings.TrimPrefix(x.Subject, "SH01/erp/")) || x.Related != "SH01/erp/INV-2025-000001") {
							t.Errorf("%s: next step %q, related %q", x.Subject, x.NextStep, x.Related)
						}
					}
					for _, it := range out.Items {
						if it.Kind == record.KindPayment {
							rows[it.ID] = it.Status
							if it.Open.Minor != 0 {
								rows[it.ID] += " " + it.Open.String()
							}
						}
					}
					for _, l := range out.Lines {
						fmt.Fprintf(&transcript, "%+v\n", l)
						lines[strings.TrimPrefix(l.Line, "SH01/bank/")] = l
					}
				}
				runs[run] = transcript.String()
				if run > 0 {
					if runs[0] != runs[1] {
						t.Errorf("a second run of the same records gave other results:\n%s\n---\n%s", runs[0], runs[1])
					}
					continue
				}
				if strings.Join(got, ", ") != strings.Join(c.want, ", ") {
					t.Errorf("unbanked receipts %q, want %q", got, c.want)
				}
				if c.cleared[0] != "" {
					l := lines[c.cleared[0]]
					if l.Outcome != Confirmed || l.Rule != "erp_cleared" || len(l.Parts) != 1 || l.Parts[0].ID != c.cleared[1] ||
						!strings.Contains(critText(l.Criteria), "by receipt RC-1") {
						t.Errorf("%s: %s by %s %v %v, want erp_cleared %s by receipt RC-1", c.cleared[0], l.Outcome, l.Rule, l.Parts, l.Criteria, c.cleared[1])
					}
				}
				for id, want := range c.rows {
					if rows[id] != want {
						t.Errorf("%s's open-items row %q, want %q", id, rows[id], want)
					}
				}
				for _, id := range c.unconfirmed {
					if l := lines[id]; l.Outcome == Confirmed {
						t.Errorf("%s confirmed by %s %v %v", id, l.Rule, l.Parts, l.Criteria)
					}
				}
				if c.forgotten && (len(rc.receipts) != 0 || len(rc.receiptsBy) != 0 || len(rc.creditsBy) != 0 || len(rc.paidBefore) != 0) {
					t.Errorf("remembered: %d receipts, %d waiting keys, %d line keys, %d numbers paid before", len(rc.receipts), len(rc.receiptsBy),
						len(rc.creditsBy), len(rc.paidBefore))
				}
			}
		})
	}
}

// TestDraftReceiptPays: a receipt of a bank acceptance draft is not held
// to the bank, but its invoice has received the money: no overdue
// exception, whether the receipt comes after its invoice or before it;
// once the ERP cancels the draft's receipt, the invoice is overdue again.
func TestDraftReceiptPays(t *testing.T) {
	for _, receiptFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("receipt first %v", receiptFirst), func(t *testing.T) {
			rc, err := NewReconciler("SH01", DefaultSettings())
			if err != nil {
				t.Fatal(err)
			}
			day := record.MakeDate(2025, 3, 1)
			at := func(d int) time.Time { return (day + record.Date(d)).Time().Add(2 * time.Hour) }
			overdue := map[string]string{} // exception subject → status
			add := func(r *record.Record) {
				var out Output
				rc.Add(r, &out)
				for _, x := range out.Exceptions {
					if x.Type == ExcUnpaidOverdue || x.Type == ExcUnbankedReceipt {
						overdue[x.Type+" "+x.Subject] = string(x.Status)
					}
				}
			}
			receipt := func(d int, ver uint64, status string) *record.Record {
				return &record.Record{Envelope: record.Envelope{Kind: record.KindPayment, Company: "SH01", Source: "erp", ID: "RC-7", Version: ver, EventTime: at(d)},
					Body: &record.Payment{Number: "RC-7", Direction: "in", Party: record.Party{Name: "Acme Trading"}, Method: "draft",
						Amount: record.Money{Minor: 500000, Currency: cny}, ValueDate: day + 1, Status: status, InvoiceRefs: []string{"INV-9"}}}
			}
			tick := func(d int) *record.Record {
				return &record.Record{Envelope: record.Envelope{Kind: record.KindApproval, Company: "SH01", Source: "erp", ID: "tick", Version: uint64(d), EventTime: at(d)},
					Body: &record.Approval{SubjectKind: record.KindInvoice, SubjectID: "none", Step: 1, Level: 1, Action: "approve"}}
			}
			add(&record.Record{Envelope: record.Envelope{Kind: record.KindSalesOrder, Company: "SH01", Source: "shop", ID: "SO-9", Version: 1, EventTime: at(0)},
				Body: &record.SalesOrder{Number: "SO-9", Customer: record.Party{Name: "Acme Trading"}, OrderDate: day, Status: "open",
					Total: record.Money{Minor: 500000, Currency: cny}}})
			invoice := &record.Record{Envelope: record.Envelope{Kind: record.KindInvoice, Company: "SH01", Source: "erp", ID: "INV-9", Version: 1, EventTime: at(1)},
				Body: &record.Invoice{Number: "INV-9", Direction: "AR", OrderRef: "SO-9", Party: record.Party{Name: "Acme Trading"}, IssueDate: day + 1,
					DueDate: day + 10, Total: record.Money{Minor: 500000, Currency: cny}, Status: "open"}}
			if receiptFirst {
				add(receipt(1, 1, "executed"))
				add(invoice)
			} else {
				add(invoice)
				add(receipt(1, 1, "executed"))
			}
			if it := rc.Book().Get(record.KindInvoice, "erp", "INV-9"); it != nil {
				t.Errorf("paid by draft, yet open in the book for %s", it.Open)
			}
			for d := 6; d <= 30; d++ {
				add(tick(d))
			}
			if len(overdue) != 0 {
				t.Fatalf("paid by draft, yet %v", overdue)
			}
			add(receipt(31, 2, "cancelled"))
			add(tick(32))
			add(tick(33))
			if overdue["unpaid_overdue SH01/erp/INV-9"] != string(StatusOpen) || len(overdue) != 1 {
				t.Errorf("the draft's receipt cancelled: %v, want INV-9 unpaid and overdue", overdue)
			}
			if it := rc.Book().Get(record.KindInvoice, "erp", "INV-9"); it == nil || it.Open.Minor != 500000 {
				t.Errorf("the draft's receipt cancelled: INV-9 open %v, want 5000.00", it)
			}
		})
	}
}

// TestReceiptsOfOtherMethods: a new version of a draft's receipt with the
// same money keeps what it paid (a wire paying the invoice again stays a
// paid-twice exception, and takes nothing); a draft for an invoice a wire
// settled is a paid-twice exception of its own, resolved when the ERP
// cancels it; a cheque's receipt is held to the bank like a transfer's,
// its deposit the line that brings it.
func TestReceiptsOfOtherMethods(t *testing.T) {
	day := record.MakeDate(2025, 3, 1)
	at := func(h int) time.Time { return day.Time().Add(time.Duration(h) * time.Hour) }
	invoice := &record.Record{Envelope: record.Envelope{Kind: record.KindInvoice, Company: "SH01", Source: "erp", ID: "INV-2025-000009", Version: 1, EventTime: at(1)},
		Body: &record.Invoice{Number: "INV-2025-000009", Direction: "AR", Party: record.Party{Name: "Acme Trading"}, IssueDate: day,
			DueDate: day + 30, Total: record.Money{Minor: 1000000, Currency: cny}, Status: "open"}}
	receipt := func(h int, ver uint64, method string) *record.Record {
		return &record.Record{Envelope: record.Envelope{Kind: record.KindPayment, Company: "SH01", Source: "erp", ID: "RC-7", Version: ver, EventTime: at(h)},
			Body: &record.Payment{Number: "RC-7", Direction: "in", Party: record.Party{Name: "Acme Trading"}, Method: method,
				Amount: record.Money{Minor: 1000000, Currency: cny}, ValueDate: day, Status: "executed", InvoiceRefs: []string{"INV-2025-000009"},
				Remittance: fmt.Sprintf("version %d", ver)}}
	}
	line := func(h int, remit string) *record.Record {
		return &record.Record{Envelope: record.Envelope{Kind: record.KindBankTxn, Company: "SH01", Source: "bank", ID: "L1", Version: 1, EventTime: at(h)},
			Body: &record.BankTxn{Direction: "credit", BookingDate: day, Amount: record.Money{Minor: 1000000, Currency: cny},
				Counterparty: record.Party{Name: "Acme Trading"}, Remittance: remit}}
	}
	t.Run("draft sent again", func(t *testing.T) {
		rc, err := NewReconciler("SH01", DefaultSettings())
		if err != nil {
			t.Fatal(err)
		}
		var out Output
		open := map[string]string{}
		var lines []LineResult
		add := func(r *record.Record) {
			out.Reset()
			rc.Add(r, &out)
			for _, x := range out.Exceptions {
				open[x.Type+" "+x.Subject] = string(x.Status)
			}
			lines = append(lines, out.Lines...)
		}
		add(invoice)
		add(receipt(2, 1, "draft"))
		add(line(3, "INV-2025-000009"))
		add(receipt(4, 2, "draft"))
		if open["overpayment SH01/bank/L1"] != string(StatusOpen) {
			t.Errorf("a wire paying a drafted invoice again: %v, want an open overpayment", open)
		}
		for _, l := range lines {
			if l.Outcome == Confirmed {
				t.Errorf("the wire confirmed by %s to %v after the draft's receipt came again", l.Rule, l.Parts)
			}
		}
		if it := rc.Book().Get(record.KindInvoice, "erp", "INV-2025-000009"); it != nil {
			t.Errorf("the drafted invoice open again for %s", it.Open)
		}
	})
	t.Run("draft after the wire", func(t *testing.T) {
		rc, err := NewReconciler("SH01", DefaultSettings())
		if err != nil {
			t.Fatal(err)
		}
		var out Output
		open := map[string]string{}
		add := func(r *record.Record) {
			out.Reset()
			rc.Add(r, &out)
			for _, x := range out.Exceptions {
				open[x.Type+" "+x.Reason+" "+x.Subject+" "+x.Related] = string(x.Status)
			}
		}
		add(invoice)
		add(line(2, "INV-2025-000009"))
		add(receipt(3, 1, "draft"))
		if open["overpayment paid_twice SH01/erp/RC-7 SH01/erp/INV-2025-000009"] != string(StatusOpen) {
			t.Errorf("a draft for an invoice a wire settled: %v, want an open paid_twice on the receipt", open)
		}
		add(&record.Record{Envelope: record.Envelope{Kind: record.KindPayment, Company: "SH01", Source: "erp", ID: "RC-7", Version: 2, EventTime: at(5)},
			Body: &record.Payment{Number: "RC-7", Direction: "in", Party: record.Party{Name: "Acme Trading"}, Method: "draft",
				Amount: record.Money{Minor: 1000000, Currency: cny}, ValueDate: day, Status: "cancelled", InvoiceRefs: []string{"INV-2025-000009"}}})
		if open["overpayment paid_twice SH01/erp/RC-7 SH01/erp/INV-2025-000009"] != string(StatusResolved) {
			t.Errorf("the draft's receipt cancelled: %v, want the paid_twice resolved", open)
		}
	})
	t.Run("the wire's match reversed", func(t *testing.T) {
		// The paid-twice's next step is to check the wire's match; a
		// person reverses it, and the draft pays the invoice.
		rc, err := NewReconciler("SH01", DefaultSettings())
		if err != nil {
			t.Fatal(err)
		}
		var out Output
		open := map[string]string{}
		matchOf := ""
		note := func() {
			for _, x := range out.Exceptions {
				open[x.Type+" "+x.Reason+" "+x.Subject] = string(x.Status)
			}
			for _, l := range out.Lines {
				if l.Line == "SH01/bank/L1" && l.Outcome == Confirmed {
					matchOf = l.ID
				}
			}
			out.Reset()
		}
		rc.Add(invoice, &out)
		rc.Add(line(2, "INV-2025-000009"), &out)
		note()
		rc.Add(receipt(3, 1, "draft"), &out)
		note()
		if matchOf == "" || open["overpayment paid_twice SH01/erp/RC-7"] != string(StatusOpen) {
			t.Fatalf("match %q, exceptions %v", matchOf, open)
		}
		if err := rc.Decide(Decision{MatchID: matchOf, Action: ActionUnmatch, By: "clerk", At: at(4)}, &out); err != nil {
			t.Fatal(err)
		}
		note()
		if open["overpayment paid_twice SH01/erp/RC-7"] != string(StatusResolved) {
			t.Errorf("the wire's match reversed: %v, want the draft's paid_twice resolved", open)
		}
		if it := rc.Book().Get(record.KindInvoice, "erp", "INV-2025-000009"); it != nil {
			t.Errorf("the wire's match reversed: the invoice open for %s, want the draft to pay it", it.Open)
		}
	})
	t.Run("two drafts, the first cancelled", func(t *testing.T) {
		rc, err := NewReconciler("SH01", DefaultSettings())
		if err != nil {
			t.Fatal(err)
		}
		var out Output
		rc.Add(invoice, &out)
		rc.Add(receipt(2, 1, "draft"), &out)
		second := receipt(3, 1, "draft")
		second.ID = "RC-8"
		second.Body.(*record.Payment).Number = "RC-8"
		rc.Add(second, &out)
		cancel := receipt(4, 2, "draft")
		cancel.Body.(*record.Payment).Status = "cancelled"
		rc.Add(cancel, &out)
		if it := rc.Book().Get(record.KindInvoice, "erp", "INV-2025-000009"); it != nil {
			t.Errorf("RC-7 cancelled: the invoice open for %s, want RC-8 to pay it", it.Open)
		}
	})
	t.Run("a same-money version still waiting for an invoice", func(t *testing.T) {
		rc, err := NewReconciler("SH01", DefaultSettings())
		if err != nil {
			t.Fatal(err)
		}
		var out Output
		rc.Add(invoice, &out)
		r1 := receipt(2, 1, "draft")
		r1.Body.(*record.Payment).Amount.Minor = 1500000
		r1.Body.(*record.Payment).InvoiceRefs = []string{"INV-2025-000009", "INV-2025-000010"}
		rc.Add(r1, &out)
		r2 := receipt(3, 2, "draft")
		r2.Body.(*record.Payment).Amount.Minor = 1500000
		r2.Body.(*record.Payment).InvoiceRefs = []string{"INV-2025-000009", "INV-2025-000010"}
		rc.Add(r2, &out)
		later := *invoice
		later.ID = "INV-2025-000010"
		b := *invoice.Body.(*record.Invoice)
		b.Number, b.Total = "INV-2025-000010", record.Money{Minor: 500000, Currency: cny}
		later.Body = &b
		later.EventTime = at(4)
		rc.Add(&later, &out)
		if it := rc.Book().Get(record.KindInvoice, "erp", "INV-2025-000010"); it != nil {
			t.Errorf("the invoice the receipt waited for: open for %s, want paid by it", it.Open)
		}
	})
	t.Run("a same-money version, then the wire's match reversed", func(t *testing.T) {
		rc, err := NewReconciler("SH01", DefaultSettings())
		if err != nil {
			t.Fatal(err)
		}
		var out Output
		other := *invoice
		other.ID = "INV-2025-000010"
		b := *invoice.Body.(*record.Invoice)
		b.Number, b.Total = "INV-2025-000010", record.Money{Minor: 500000, Currency: cny}
		other.Body = &b
		rc.Add(invoice, &out)
		rc.Add(&other, &out)
		wire := line(2, "INV-2025-000010")
		wire.Body.(*record.BankTxn).Amount.Minor = 500000
		out.Reset()
		rc.Add(wire, &out)
		matchOf := ""
		for _, l := range out.Lines {
			if l.Outcome == Confirmed {
				matchOf = l.ID
			}
		}
		for v := uint64(1); v <= 2; v++ { // the second the same money again
			r := receipt(2+int(v), v, "draft")
			r.Body.(*record.Payment).Amount.Minor = 1500000
			r.Body.(*record.Payment).InvoiceRefs = []string{"INV-2025-000009", "INV-2025-000010"}
			rc.Add(r, &out)
		}
		if matchOf == "" {
			t.Fatal("the wire was not confirmed")
		}
		if err := rc.Decide(Decision{MatchID: matchOf, Action: ActionUnmatch, By: "clerk", At: at(6)}, &out); err != nil {
			t.Fatal(err)
		}
		if it := rc.Book().Get(record.KindInvoice, "erp", "INV-2025-000010"); it != nil {
			t.Errorf("the wire's match reversed: INV-2025-000010 open for %s, want the draft's rest to pay it", it.Open)
		}
	})
	t.Run("cheque deposited", func(t *testing.T) {
		rc, err := NewReconciler("SH01", DefaultSettings())
		if err != nil {
			t.Fatal(err)
		}
		var out Output
		rc.Add(invoice, &out)
		rc.Add(receipt(2, 1, "cheque"), &out)
		if rc.Book().Get(record.KindInvoice, "erp", "INV-2025-000009") == nil {
			t.Fatal("a cheque's receipt settled the invoice: its deposit is to do that")
		}
		out.Reset()
		rc.Add(line(30, ""), &out)
		p := rc.receipts[itemKey{record.KindPayment, "erp", "RC-7"}]
		if p == nil || p.line == nil || p.line.id != "SH01/bank/L1" {
			t.Errorf("the cheque's deposit did not bank its receipt: %+v", p)
		}
		if len(out.Lines) == 0 || out.Lines[len(out.Lines)-1].Outcome != Confirmed {
			t.Errorf("the deposit: %+v, want it confirmed to the invoice", out.Lines)
		}
	})
}

// TestDraftPartNotEvidence: the ERP marking partly paid an invoice a
// draft paid half of books the draft, and confirms no customer's line
// (its other half would look like an equal instalment of a line in
// review).
func TestDraftPartNotEvidence(t *testing.T) {
	rc, err := NewReconciler("SH01", DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	day := record.MakeDate(2025, 3, 1)
	at := func(h int) time.Time { return day.Time().Add(time.Duration(h) * time.Hour) }
	inv := func(id string, ver uint64, minor int64, status string, h int) *record.Record {
		return &record.Record{Envelope: record.Envelope{Kind: record.KindInvoice, Company: "SH01", Source: "erp", ID: id, Version: ver, EventTime: at(h)},
			Body: &record.Invoice{Number: id, Direction: "AR", Party: record.Party{Name: "Acme Trading"}, IssueDate: day - 10,
				DueDate: day + 30, Total: record.Money{Minor: minor, Currency: cny}, Status: status}}
	}
	var out Output
	var lines []LineResult
	add := func(r *record.Record) {
		out.Reset()
		rc.Add(r, &out)
		lines = append(lines, out.Lines...)
	}
	add(inv("INV-2025-000001", 1, 1000000, "open", 1))
	add(inv("INV-2025-000002", 1, 500000, "open", 1))
	add(inv("INV-2025-000003", 1, 500000, "open", 1))
	add(&record.Record{Envelope: record.Envelope{Kind: record.KindBankTxn, Company: "SH01", Source: "bank", ID: "L1", Version: 1, EventTime: at(2)},
		Body: &record.BankTxn{Direction: "credit", BookingDate: day, Amount: record.Money{Minor: 500000, Currency: cny},
			Counterparty: record.Party{Name: "Acme Trading"}}})
	if len(lines) == 0 || lines[len(lines)-1].Outcome != Review {
		t.Fatalf("L1: %+v, want it in review between the two equal invoices", lines)
	}
	add(&record.Record{Envelope: record.Envelope{Kind: record.KindPayment, Company: "SH01", Source: "erp", ID: "RC-7", Version: 1, EventTime: at(3)},
		Body: &record.Payment{Number: "RC-7", Direction: "in", Party: record.Party{Name: "Acme Trading"}, Method: "draft",
			Amount: record.Money{Minor: 500000, Currency: cny}, ValueDate: day, Status: "executed", InvoiceRefs: []string{"INV-2025-000001"}}})
	add(inv("INV-2025-000001", 2, 1000000, "partially_paid", 30))
	for _, l := range lines {
		if l.Outcome == Confirmed {
			t.Errorf("L1 confirmed by %s to %v on the ERP's marking of the draft's part", l.Rule, l.Parts)
		}
	}
}
