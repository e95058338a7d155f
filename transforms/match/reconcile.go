package match

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/erpflow/erpflow/pipeline/record"
	"github.com/erpflow/erpflow/transforms/clean"
)

// Exception types the reconciler raises besides the checkers' own
// (ExcUnpaidOverdue, ExcUnderpaidOverdue).
const (
	ExcDuplicatePayment    = "duplicate_payment"
	ExcThreeWayMismatch    = "three_way_mismatch"
	ExcApprovalBreach      = "approval_breach"
	ExcFeeDeducted         = "fee_deducted"
	ExcUnidentifiedReceipt = "unidentified_receipt"
	ExcUnidentifiedPayment = "unidentified_payment" // a debit line nothing in the books accounts for
	ExcPayable             = "payable_mismatch"     // the ERP's payment against its AP invoices
	ExcReopened            = "reopened"             // a matched document cancelled, amended or returned
	ExcUnbalanced          = "control_unbalanced"   // a day's control totals do not add up
	ExcDuplicateDocument   = "duplicate_document"   // cleaning flagged a document as another's copy under a new id
	ExcReviewRefused       = "review_refused"       // a review decision that no longer fits its match
	ExcOverpayment         = "overpayment"          // a customer paid more than it owed: surplus or paid_twice
	ExcAmountDifference    = "amount_difference"    // a quoted invoice paid short beyond the fee tolerance
)

// Exception statuses.
const (
	StatusOpen     = "open"
	StatusResolved = "resolved"
)

// Exception is one thing finance operations must look at, with what was
// checked and a next step a clerk can take.
type Exception struct {
	ID          string
	Company     string
	Type        string
	Reason      string // the variant, when a type has several
	SubjectKind record.Kind
	Subject     string // company/source/id
	Related     string // the other record of the anomaly, if any
	Amount      record.Money
	Status      string
	Criteria    []Criterion
	NextStep    string
	Date        record.Date
	At          time.Time // event time of the record that raised or resolved it
}

// LineResult is a bank line's current outcome.
type LineResult struct {
	Match
	Company         string
	Direction       string
	Amount, Charges record.Money
	Date            record.Date
	At              time.Time
	DecidedBy       string // who, when a person decided the outcome
	Reason          string // and why
}

// ItemState is an open item after a change: Status is open, settled or
// removed.
type ItemState struct {
	OpenItem
	Company string
	Status  string
	At      time.Time
}

// ControlTotal is one company's bank lines of one direction, currency and
// booking day against what became of them, in minor units: receipts
// (credit) and money out (debit) apart, since a day's receipts and
// payments netting to nothing would hide both.
type ControlTotal struct {
	Company                    string
	Direction                  string // credit or debit
	Currency                   record.Currency
	Day                        record.Date
	Lines                      int
	Amount                     int64
	Matched, Review, Unmatched int64
	// Overflowed is set once a sum would have left the int64 range (a day
	// of bank lines near record.MaxMajor by the hundred): the sums then
	// stop counting, and the day is never balanced.
	Overflowed bool
	At         time.Time
}

// Balanced is true when every line's money is accounted for exactly once.
func (c ControlTotal) Balanced() bool {
	return !c.Overflowed && c.Amount == c.Matched+c.Review+c.Unmatched
}

// add adds v to one of c's sums, unless the result would leave the int64
// range: wrapped, the sums would be wrong and could still balance.
func (c *ControlTotal) add(sum *int64, v int64) {
	if r := *sum + v; (v > 0 && r < *sum) || (v < 0 && r > *sum) {
		c.Overflowed = true
	} else {
		*sum = r
	}
}

// Output collects what the records given to Add changed.
type Output struct {
	Lines      []LineResult
	Items      []ItemState
	Exceptions []Exception
	Totals     []ControlTotal
}

// Reset empties o, keeping its memory.
func (o *Output) Reset() {
	clear(o.Lines)
	clear(o.Items)
	clear(o.Exceptions)
	clear(o.Totals)
	o.Lines, o.Items, o.Exceptions, o.Totals = o.Lines[:0], o.Items[:0], o.Exceptions[:0], o.Totals[:0]
}

// Len is how many results o holds.
func (o *Output) Len() int { return len(o.Lines) + len(o.Items) + len(o.Exceptions) + len(o.Totals) }

// Settings are one company's reconciliation parameters.
type Settings struct {
	Rules         Config
	RefPatterns   []string
	ThreeWay      ThreeWayTolerance
	DuplicateDays int // outgoing payments this close with the same payee and amount are duplicates
	UnmatchedDays int // a credit line that matches nothing this long is an exception
	RetainDays    int // settled state with no record for this long is forgotten
	// ApprovalLevels is the approval policy by amount; the workflow's own
	// required levels count too.
	ApprovalLevels []LevelRule
	// ClearedDays is how far apart a line in review and the ERP's marking
	// one of its candidate invoices paid may be for that to settle it.
	ClearedDays int
}

// DefaultSettings are the defaults of every company.
func DefaultSettings() Settings {
	return Settings{Rules: DefaultConfig(), RefPatterns: DefaultRefPatterns, ThreeWay: DefaultThreeWayTolerance(),
		DuplicateDays: 14, UnmatchedDays: 14, RetainDays: 120, ClearedDays: 5}
}

// Reconciler runs every check of one company over its records, taken in
// event-time order: cash application and bank debits, the three-way match,
// approval trails, duplicate payments, payables and order to cash, each
// result reported once, and a day's end (overdue invoices, lines waiting
// too long, control totals) when event time passes into the next day.
type Reconciler struct {
	company string
	set     Settings
	engine  *Engine
	three   *ThreeWay
	appr    *Approvals
	dups    *Duplicates
	pay     *Payables
	o2c     *OrderToCash

	day           record.Date                // event date of the latest record
	known         map[itemKey]OpenItem       // documents as last put in the book, to see amendments and reopen them
	ages          ageQueue[itemKey]          // known documents by touched, for forgetKnown
	lines         map[string]*lineState      // bank lines by company/source/id, for control totals
	lineAges      ageQueue[string]           // the lines by booking day, for forgetting them
	waiting       map[string]Line            // lines the engine holds until their document arrives
	byMatch       map[string]string          // current match id -> bank line, for decisions
	fees          map[string][]Exception     // exceptions of a line's current match (fee, surplus, short paid), to resolve on a reversal
	totals        map[totalKey]*ControlTotal // by currency and booking day
	dirty         map[totalKey]bool          // totals changed since the last report
	overdue       map[string]Exception       // open overdue exceptions by invoice (company/source/id)
	reported      map[string]bool            // exception ids raised once and for all
	cleared       clearedSet                 // open AR invoices the ERP marked paid lately
	settledOn     map[itemKey]record.Date    // AR invoices a line settled part of lately, by the line's date
	reviewBy      map[itemKey][]string       // lines in review by the items of their candidates
	reviewByParty map[string][]string        // and by the party of them all
	byNumber      map[string]itemKey         // AR invoices known, by number, to see one paid twice
	byOrder       map[string][]itemKey       // and by order, to see what a credit note touches
	pending       map[string][]Exception     // paid_twice by line, short_paid by invoice (one a short payment): resolved when no longer true
	receipts      map[itemKey]*receipt       // the ERP's receipts (latest versions, withdrawn ones too), until forgotten
	receiptsBy    map[meetKey][]*receipt     // transfer receipts a line may still bring (or bring better), by receiptKeys
	creditsBy     map[meetKey][]*lineState   // credit lines of the last days, by lineKeys, for receipts still to come
	creditAges    ageQueue[meetKey]          // creditsBy's keys by their lines' booking days, to prune them
	receiptAges   ageQueue[itemKey]          // receipts by value date, to forget them
	receiptIdx    ageQueue[itemKey]          // receipts in receiptsBy, by the last day a line may bring them
	accounts      map[string]bool            // our accounts whose statements have come
	paidBefore    map[string][]*receipt      // receipts of drafts, cash or cards, by a number they name before its invoice came
	paidAgain     map[itemKey][]*receipt     // and by an invoice they found settled already, to pay it should it open again
	receiptsDue   ageQueue[itemKey]          // waiting receipts by value date, to raise them when due
}

type lineState struct {
	id      string // company/source/id
	account string // our account the statement is of
	line    Line
	aliases [][2]string // payer name or account and party keys of the aliases an accept of this line taught
	// reviewParty are, for a line in review, the party of all its
	// candidates and the one its payer name stands for.
	reviewParty [2]string
	result      Match // the line's current outcome, for a person's decision on it
	counted     bool  // a line with money, in its direction's control totals
	day         record.Date
	key         totalKey
	amount      int64
	outcome     Outcome
	receipt     *receipt // the ERP receipt whose cash the line brought
}

type totalKey struct {
	dir string
	cur record.Currency
	day record.Date
}

// NewReconciler returns the reconciler of one company.
func NewReconciler(company string, set Settings) (*Reconciler, error) {
	e, err := NewEngine(set.Rules, set.RefPatterns)
	if err != nil {
		return nil, fmt.Errorf("reconcile %s: %w", company, err)
	}
	rc := &Reconciler{company: company, set: set, engine: e, three: NewThreeWay(set.ThreeWay), appr: NewApprovals(set.ApprovalLevels...),
		dups: NewDuplicates(set.DuplicateDays), pay: NewPayables(), o2c: NewOrderToCash(),
		known: map[itemKey]OpenItem{}, lines: map[string]*lineState{}, waiting: map[string]Line{}, byMatch: map[string]string{}, fees: map[string][]Exception{}, totals: map[totalKey]*ControlTotal{},
		dirty: map[totalKey]bool{}, overdue: map[string]Exception{}, reported: map[string]bool{},
		cleared: newClearedSet(), settledOn: map[itemKey]record.Date{}, reviewBy: map[itemKey][]string{}, reviewByParty: map[string][]string{}, byNumber: map[string]itemKey{}, byOrder: map[string][]itemKey{}, pending: map[string][]Exception{},
		receipts: map[itemKey]*receipt{}, receiptsBy: map[meetKey][]*receipt{}, creditsBy: map[meetKey][]*lineState{}, accounts: map[string]bool{},
		paidBefore: map[string][]*receipt{}, paidAgain: map[itemKey][]*receipt{}}
	// A known document is parked while it is open; leaving the book is
	// what may make it forgettable.
	rc.ages.woken = true
	rc.Book().gone = rc.ages.wake
	return rc, nil
}

// Book is the company's open items.
func (rc *Reconciler) Book() *Book { return rc.engine.Book(rc.company) }

// Add takes the company's next record in event-time order and appends what
// it changed to out. A record of another company is a caller's bug.
func (rc *Reconciler) Add(r *record.Record, out *Output) {
	if r.Company != rc.company {
		panic("reconcile: record of company " + r.Company + " given to " + rc.company)
	}
	if d := record.DateOf(r.EventTime); d > rc.day {
		if rc.day != 0 {
			rc.endOfDay(rc.day, r.EventTime, out)
		}
		rc.day = d
	}
	at := r.EventTime
	if r.Flags.DuplicateOf != "" && (r.Kind == record.KindInvoice || r.Kind == record.KindExpenseClaim) {
		// The same document sent again under another id (cleaning's
		// near-duplicate flag): counting it would bill or pay it twice.
		rc.raise(out, Exception{Type: ExcDuplicateDocument, Reason: r.Kind.String(), SubjectKind: r.Kind, Subject: rc.full(r.Source, r.ID),
			Related: rc.full(r.Source, r.Flags.DuplicateOf), NextStep: fmt.Sprintf("confirm with the source system that %s %s repeats %s and cancel the copy",
				r.Kind, r.ID, r.Flags.DuplicateOf)}, at)
		return
	}
	switch b := r.Body.(type) {
	case *record.Invoice:
		if b.Direction == "AR" {
			held := rc.Book().Get(record.KindInvoice, r.Source, r.ID)
			if k := partyKey(b.Party); b.Party.Account != "" && k != "" && (held == nil || r.Version >= held.Version) {
				// The ERP's customer record is the authority on whose
				// account it is: lines from it are the customer's, whatever
				// name the bank writes, and what a rule or a person taught
				// otherwise gives way.
				rc.engine.Alias(rc.company, accountKey(b.Party.Account), k)
			}
			rc.o2c.Add(r)
			rc.putItem(r, OpenItem{Kind: record.KindInvoice, Source: r.Source, ID: r.ID, Number: b.Number, OrderRef: b.OrderRef,
				Direction: "AR", PartyID: b.Party.ID, PartyKey: partyKey(b.Party), Total: b.Total, Open: b.Total,
				IssueDate: b.IssueDate, DueDate: b.DueDate, Version: r.Version}, b.Status == "cancelled", out)
			rc.invoiceCame(b.Number, at, out)
			rc.erpStatus(r, b.Status, out)
			break
		}
		rc.threeWay(rc.three.Add(r), b.Total, at, out)
		if full := rc.full(r.Source, r.ID); rc.three.Withdrawn(full) {
			// The check leaves withdrawn invoices out: a mismatch it
			// raised on this one is over (unless this version came late:
			// then the newest, not withdrawn, stands).
			rc.settlePending(out, threeWayKey(full), "none: the supplier invoice was withdrawn", at)
		}
		rc.payable(r, b.Total, at, out)
	case *record.Payment:
		if b.Direction == "in" {
			rc.receiptIn(r, b, at, out) // the ERP's own receipt (receipts.go)
			break
		}
		if b.Direction != "out" {
			break
		}
		for _, d := range rc.dups.Add(r) {
			rc.raise(out, Exception{Type: ExcDuplicatePayment, SubjectKind: record.KindPayment, Subject: d.Subject, Related: d.Original,
				Amount: d.Amount, Criteria: d.Criteria, NextStep: d.NextStep}, at)
		}
		rc.breaches(rc.appr.Add(r), at, out)
		rc.payable(r, b.Amount, at, out)
		gone := b.Status == "cancelled" || b.Status == "returned"
		rc.putItem(r, OpenItem{Kind: record.KindPayment, Source: r.Source, ID: r.ID, Number: b.Number, Direction: "out",
			PartyID: b.Party.ID, PartyKey: partyKey(b.Party), Total: b.Amount, Open: b.Amount, DueDate: b.ValueDate,
			Version: r.Version}, gone, out)
	case *record.ExpenseClaim:
		rc.breaches(rc.appr.Add(r), at, out)
		if b.ApprovalStatus == "approved" || b.ApprovalStatus == "rejected" {
			rc.putItem(r, OpenItem{Kind: record.KindExpenseClaim, Source: r.Source, ID: r.ID, Number: b.Number, Direction: "out",
				PartyID: b.Employee.ID, PartyKey: partyKey(b.Employee), Total: b.Amount, Open: b.Amount, DueDate: b.ClaimDate,
				Version: r.Version}, b.ApprovalStatus == "rejected", out)
		}
	case *record.Approval:
		rc.breaches(rc.appr.Add(r), at, out)
	case *record.PurchaseOrder, *record.GoodsReceipt:
		rc.threeWay(rc.three.Add(r), record.Money{}, at, out)
	case *record.SalesOrder, *record.Shipment:
		rc.o2c.Add(r)
	case *record.BankTxn:
		rc.bankLine(r, b, out)
	}
}

// threeWay raises a mismatch as an exception that stands until it is no
// longer true: a later receipt, order or invoice version that makes the
// invoice agree resolves it, and a mismatch for another reason takes its
// place. amount is the invoice's total when an invoice was checked.
func (rc *Reconciler) threeWay(checks []ThreeWayCheck, amount record.Money, at time.Time, out *Output) {
	for _, c := range checks {
		key := threeWayKey(c.Invoice)
		switch c.Outcome {
		case ThreeWayMismatch:
			if ps := rc.pending[key]; len(ps) > 0 && ps[len(ps)-1].Reason != c.Reason {
				rc.settlePending(out, key, "none: the invoice is now a "+c.Reason+" mismatch instead", at)
			}
			rc.raisePending(out, key, Exception{Type: ExcThreeWayMismatch, Reason: c.Reason, SubjectKind: record.KindInvoice, Subject: c.Invoice,
				Related: c.Order, Amount: amount, Criteria: c.Criteria, NextStep: c.NextStep}, at)
		case ThreeWayMatched:
			rc.settlePending(out, key, "none: the invoice now agrees with its order and receipts", at)
		}
	}
}

// threeWayKey is where a supplier invoice's standing mismatch waits in
// pending.
func threeWayKey(invoice string) string { return "three_way|" + invoice }

func partyKey(p record.Party) string {
	if p.Key != "" {
		return p.Key
	}
	return clean.MatchKey(p.Name)
}

// putItem files a document in the book, or takes it out when gone. A
// document that a match already touched and that is now cancelled,
// returned or amended is reopened as it now stands, with an exception.
func (rc *Reconciler) putItem(r *record.Record, it OpenItem, gone bool, out *Output) {
	k := itemKey{it.Kind, it.Source, it.ID}
	book := rc.Book()
	prevItem, seen := rc.known[k]
	prev := prevItem.Total
	held := book.Get(it.Kind, it.Source, it.ID)
	if held != nil && it.Version < held.Version || held == nil && seen && it.Version < prevItem.Version {
		// Older than what is known, whether still open or settled since:
		// a late re-send of a paid invoice's first version is no amendment.
		return
	}
	touched := seen && (held == nil || held.Open.Minor != prev.Minor)
	if !seen && it.Version > 1 && statusOf(r) == "paid" {
		// A later version of a document not known (forgotten after
		// retain_days, or from before the history) that the ERP calls
		// paid owes nothing: opening it at its total would let a new
		// payment settle it again.
		return
	}
	if gone {
		if !seen {
			return // never opened: nothing to take back
		}
		rc.forget(k)
		book.Remove(it.Kind, it.Source, it.ID)
		rc.item(out, it, "removed", r.EventTime)
		if touched {
			rc.raise(out, Exception{Type: ExcReopened, Reason: "cancelled", SubjectKind: it.Kind, Subject: rc.full(it.Source, it.ID),
				Amount: prev, NextStep: fmt.Sprintf("%s %s was settled by a match and is now %s: reverse the match (erpflow recon unmatch) or refund the payer",
					it.Kind, it.Number, statusOf(r))}, r.EventTime)
		}
		return
	}
	if seen {
		if prev == it.Total && (it.Total.Minor <= 0 || prevItem.OrderRef == it.OrderRef && prevItem.Number == it.Number &&
			prevItem.PartyKey == it.PartyKey && prevItem.DueDate == it.DueDate) {
			return // a re-send or a change matching does not see (a credit note's other fields: a person nets it)
		}
		// An amended amount: what was settled stays settled, the
		// difference opens or closes. (Or the same amount under another
		// order, number, party or due date: the book and its indexes
		// take the new ones.)
		settled := prev.Minor
		if held != nil {
			settled -= held.Open.Minor
		}
		it.Open.Minor = it.Total.Minor - settled
		if prev.Currency != it.Total.Currency {
			// Money settled in one currency says nothing of another: the
			// new total is open whole, and a person sorts out the match.
			it.Open.Minor = it.Total.Minor
			if touched {
				rc.raise(out, Exception{Type: ExcReopened, Reason: "amended", SubjectKind: it.Kind, Subject: rc.full(it.Source, it.ID),
					Amount: it.Open, NextStep: fmt.Sprintf("%s %s changed currency from %s to %s after a payment was applied: reverse the match (erpflow recon unmatch) and apply the payment again",
						it.Kind, it.Number, prev.Currency, it.Total.Currency)}, r.EventTime)
			}
			touched = false
		}
		if touched && prev != it.Total {
			rc.raise(out, Exception{Type: ExcReopened, Reason: "amended", SubjectKind: it.Kind, Subject: rc.full(it.Source, it.ID),
				Amount: it.Open, NextStep: fmt.Sprintf("%s %s changed from %s to %s after a payment was applied: check the residual %s",
					it.Kind, it.Number, prev, it.Total, it.Open)}, r.EventTime)
		}
		if it.Open.Minor <= 0 {
			book.Remove(it.Kind, it.Source, it.ID)
			rc.touchKnown(k, &it, prevItem.touched, seen)
			rc.known[k] = it
			rc.reindex(k, prevItem, it, seen)
			rc.item(out, it, "settled", r.EventTime)
			return
		}
	}
	fresh := !seen
	rc.touchKnown(k, &it, prevItem.touched, seen)
	rc.known[k] = it
	rc.reindex(k, prevItem, it, seen)
	if fresh && it.Kind == record.KindInvoice && it.Total.Minor < 0 {
		rc.creditNote(it, r.EventTime, out)
	}
	ms := rc.engine.PutItem(rc.company, it)
	rc.item(out, it, "open", r.EventTime)
	for _, m := range ms {
		rc.lineOutcome(m, r.EventTime, out)
	}
}

// reindex files a known invoice under its number and order, and takes it
// from those an earlier version (prev, when seen) had.
func (rc *Reconciler) reindex(k itemKey, prev, it OpenItem, seen bool) {
	if seen && prev.OrderRef != it.OrderRef {
		rc.byOrder[prev.OrderRef] = slices.DeleteFunc(rc.byOrder[prev.OrderRef], func(x itemKey) bool { return x == k })
		if len(rc.byOrder[prev.OrderRef]) == 0 {
			delete(rc.byOrder, prev.OrderRef)
		}
	}
	if seen && prev.Number != it.Number && rc.byNumber[prev.Number] == k {
		delete(rc.byNumber, prev.Number)
	}
	if it.Kind == record.KindInvoice && it.Number != "" {
		rc.byNumber[it.Number] = k
	}
	if it.Kind == record.KindInvoice && it.OrderRef != "" && !slices.Contains(rc.byOrder[it.OrderRef], k) {
		rc.byOrder[it.OrderRef] = append(rc.byOrder[it.OrderRef], k)
	}
}

func statusOf(r *record.Record) string {
	switch b := r.Body.(type) {
	case *record.Invoice:
		return b.Status
	case *record.Payment:
		return b.Status
	case *record.ExpenseClaim:
		return b.ApprovalStatus
	}
	return "changed"
}

func (rc *Reconciler) full(source, id string) string { return rc.company + "/" + source + "/" + id }

// unidentifiedPayments raises an exception for every debit line booked
// before cutoff that is still unmatched, and stops waiting for it: money
// left the account and no payment or claim in the books accounts for it
// (DESIGN: unmatched past a configured age).
func (rc *Reconciler) unidentifiedPayments(cutoff record.Date, at time.Time, out *Output) {
	for _, l := range rc.engine.ExpireDebits(rc.company, cutoff) {
		full := rc.full(l.Source, l.ID)
		delete(rc.waiting, full)
		if st := rc.lines[full]; st == nil || st.result.Outcome != Unmatched {
			continue
		}
		reason := "unknown_payee"
		step := fmt.Sprintf("find who authorised the payment of %s %s on %s and book it in the ERP", l.Amount, l.Amount.Currency, l.Date)
		if l.PayerKey == "" && l.PayerAccount == "" {
			// No counterparty: the bank's own fee or charge, which the
			// ERP has not booked.
			reason = "bank_charge"
			step = fmt.Sprintf("book the bank's own charge of %s %s on %s, or ask the bank what it is", l.Amount, l.Amount.Currency, l.Date)
		}
		rc.raise(out, Exception{Type: ExcUnidentifiedPayment, Reason: reason, SubjectKind: record.KindBankTxn, Subject: full, Amount: l.Amount,
			Criteria: []Criterion{{"matched", false, fmt.Sprintf("no payment or claim matched it in %d days", rc.set.UnmatchedDays)}}, NextStep: step}, at)
	}
}

func (rc *Reconciler) item(out *Output, it OpenItem, status string, at time.Time) {
	out.Items = append(out.Items, ItemState{OpenItem: it, Company: rc.company, Status: status, At: at})
}

// bankLine matches a statement line and records it for the control totals.
func (rc *Reconciler) bankLine(r *record.Record, b *record.BankTxn, out *Output) {
	full := rc.full(r.Source, r.ID)
	if _, dup := rc.lines[full]; dup {
		return // a newer version of a line already matched: the bank does not amend lines
	}
	l := Line{Company: rc.company, Source: r.Source, ID: r.ID, Direction: b.Direction, Amount: b.Amount, Charges: b.Charges,
		Date: b.BookingDate, PayerKey: partyKey(b.Counterparty), PayerAccount: b.Counterparty.Account, Remittance: b.Remittance}
	st := &lineState{id: full, outcome: Unmatched, day: b.BookingDate, line: l, account: b.Account}
	if b.Account != "" {
		rc.accounts[b.Account] = true
	}
	rc.lines[full] = st
	rc.lineAges.touch(st.day, full)
	if b.Amount.Minor > 0 {
		st.key, st.amount, st.counted = totalKey{b.Direction, b.Amount.Currency, b.BookingDate}, b.Amount.Minor, true
		t := rc.total(st.key)
		t.Lines++
		t.add(&t.Amount, b.Amount.Minor)
		t.add(&t.Unmatched, b.Amount.Minor)
	}
	if b.Direction == "credit" && b.Amount.Minor > 0 {
		if x, twice := rc.paidTwice(l, full); twice {
			// Unmatched, and waiting: a reversal of the first match, or the
			// customer's next invoice, may yet take it.
			rc.engine.Hold(l)
			rc.waiting[full] = l
			rc.lineResult(Match{Line: full, Outcome: Unmatched, Criteria: x.Criteria}, l, r.EventTime, out)
			rc.raisePending(out, full, x, r.EventTime)
			return
		}
	}
	m := rc.engine.MatchLine(l)
	if m.Outcome == Unmatched && l.Amount.Minor > 0 {
		rc.waiting[full] = l // the engine holds it too, and hands it back matched or expired
	}
	rc.lineResult(m, l, r.EventTime, out)
}

// creditNote raises, for a credit note whose order has an invoice a match
// already settled, in full or in part, a reopened exception on that
// invoice: the customer is owed the credit back, or it goes against their
// open invoices. A credit note of an order still wholly open stays in the
// book for a person to net against it.
func (rc *Reconciler) creditNote(cn OpenItem, at time.Time, out *Output) {
	book := rc.Book()
	for _, k := range rc.byOrder[cn.OrderRef] {
		inv, ok := rc.known[k]
		if !ok || inv.Total.Minor <= 0 || inv.Total.Currency != cn.Total.Currency {
			continue
		}
		if held := book.Get(k.kind, k.source, k.id); held != nil && held.Open.Minor == inv.Total.Minor {
			continue // untouched by any match
		}
		credit := record.Money{Minor: -cn.Total.Minor, Currency: cn.Total.Currency}
		rc.raisePending(out, "credit_note|"+rc.full(k.source, k.id), Exception{Type: ExcReopened, Reason: "credit_note", SubjectKind: record.KindInvoice, Subject: rc.full(k.source, k.id),
			Related: rc.full(cn.Source, cn.ID), Amount: credit,
			Criteria: []Criterion{{"order", true, "credit note " + cn.Number + " credits order " + cn.OrderRef},
				{"paid", true, inv.Number + " was settled by a match, in full or in part"}},
			NextStep: fmt.Sprintf("credit note %s credits %s %s on %s, which was paid: refund the customer or apply the credit to their open invoices",
				cn.Number, credit, credit.Currency, inv.Number)}, at)
	}
}

// paidTwice says whether a credit line quotes an invoice of its payer, by
// its number or its order's, that a line already settled, and brings that
// invoice's amount: the customer paid it twice. It is asked before the
// rules, which would otherwise take the money for another invoice of the
// same amount.
func (rc *Reconciler) paidTwice(l Line, full string) (Exception, bool) {
	for _, ref := range rc.engine.refs.Find(l.Remittance) {
		keys := rc.byOrder[ref]
		if k, ok := rc.byNumber[ref]; ok {
			keys = []itemKey{k}
		}
		var hit *OpenItem
		for _, k := range keys {
			if rc.Book().Get(k.kind, k.source, k.id) != nil {
				continue // still open: a payment of it, not a second one
			}
			it := rc.known[k]
			if it.Total.Currency != l.Amount.Currency || it.Total.Minor <= 0 || it.PartyKey == "" || similarity(rc.payerParty(l), it.PartyKey) < nameSimilarity {
				continue
			}
			if d := it.Total.Minor - rc.appliedBy(l); d < 0 || d > 0 && !rc.feeFits(it.Total.Minor, d, 1, l.Amount.Currency) {
				continue
			}
			if hit != nil {
				hit = nil // two of the order's invoices fit: not this rule's to say
				break
			}
			hit = &it
		}
		if hit == nil {
			continue
		}
		how := "quotes " + hit.Number + ", settled already"
		if hit.Number != ref {
			how = "quotes order " + ref + ", whose invoice " + hit.Number + " is settled already"
		}
		return Exception{Type: ExcOverpayment, Reason: "paid_twice", SubjectKind: record.KindBankTxn, Subject: full,
			Related: rc.full(hit.Source, hit.ID), Amount: l.Amount,
			Criteria: []Criterion{{"reference", true, how}, {"party", true, "payer name matches the customer"}, {"amount", true, "the invoice's amount"}},
			NextStep: fmt.Sprintf("the customer paid %s twice: refund %s %s or apply it to their open invoices; if they did not, "+
				"the match that settled %s first is wrong: unmatch it (erpflow recon matches lists it)", hit.Number, l.Amount, l.Amount.Currency, hit.Number)}, true
	}
	return Exception{}, false
}

// lineOutcome reports a waiting line matched later, when the document it
// pays arrived.
func (rc *Reconciler) lineOutcome(m Match, at time.Time, out *Output) {
	l, ok := rc.waiting[m.Line]
	if !ok {
		return
	}
	delete(rc.waiting, m.Line)
	rc.lineResult(m, l, at, out)
}

func (rc *Reconciler) lineResult(m Match, l Line, at time.Time, out *Output) {
	rc.decided(m, l, at, "", "", out)
}

// decided reports a line's new outcome, by the rules or by a person.
func (rc *Reconciler) decided(m Match, l Line, at time.Time, by, why string, out *Output) {
	out.Lines = append(out.Lines, LineResult{Match: m, Company: rc.company, Direction: l.Direction, Amount: l.Amount,
		Charges: l.Charges, Date: l.Date, At: at, DecidedBy: by, Reason: why})
	st := rc.lines[m.Line]
	if st != nil {
		if st.result.ID != "" {
			delete(rc.byMatch, st.result.ID)
		}
		rc.indexReview(m.Line, st.result, m)
		st.result = m
		st.aliases = append(st.aliases, m.taught...) // a reversal takes them back
		if m.ID != "" {
			rc.byMatch[m.ID] = m.Line
		}
	}
	rc.afterMatch(m, l, at, out)
	if st != nil && m.Outcome == Review {
		rc.settleCleared(m.Line, at, out) // the ERP may have cleared it first
	}
	rc.creditSeen(m.Line, at, out)
}

func (rc *Reconciler) afterMatch(m Match, l Line, at time.Time, out *Output) {
	if st := rc.lines[m.Line]; st != nil && st.counted && st.outcome != m.Outcome {
		t := rc.total(st.key)
		t.add(rc.bucket(t, st.outcome), -st.amount)
		t.add(rc.bucket(t, m.Outcome), st.amount)
		st.outcome = m.Outcome
	}
	if m.Outcome != Confirmed && m.Outcome != Accepted {
		return
	}
	// A line matched after all did not pay anything twice.
	rc.settlePending(out, m.Line, "none: the line was matched ("+m.Rule+")", at)
	book := rc.Book()
	var applied int64
	for _, p := range m.Parts {
		applied += p.Amount.Minor
		st := ItemState{Company: rc.company, Status: "settled", At: at,
			OpenItem: OpenItem{Kind: p.Kind, Source: p.Source, ID: p.ID}}
		if it := book.Get(p.Kind, p.Source, p.ID); it != nil {
			st.OpenItem, st.Status = *it, "open"
			before := *it
			before.Open.Minor += p.Amount.Minor
			_, planned := instalment(&before, p.Amount) // an equal part of a plan is no surprise
			if m.Outcome == Confirmed && m.Rule == "reference" && l.Direction == "credit" && p.Kind == record.KindInvoice && !planned {
				// The customer quoted the invoice and paid less, by more
				// than a bank's fee: someone should ask why.
				rc.raiseForMatch(out, m.Line, Exception{Type: ExcAmountDifference, Reason: "short_paid", SubjectKind: record.KindInvoice, Subject: rc.full(p.Source, p.ID),
					Related: m.Line, Amount: it.Open, Criteria: m.Criteria,
					NextStep: fmt.Sprintf("%s was paid %s of %s: ask the customer whether the %s %s left is coming, disputed or deducted",
						it.Number, p.Amount, it.Total, it.Open, it.Open.Currency)}, at)
				if n := len(out.Exceptions); n > 0 && out.Exceptions[n-1].Type == ExcAmountDifference {
					x := out.Exceptions[n-1]
					rc.pending[x.Subject] = append(rc.pending[x.Subject], x)
				}
			}
		} else if k, ok := rc.known[itemKey{p.Kind, p.Source, p.ID}]; ok {
			st.OpenItem = k
			st.Open = record.Money{Currency: k.Total.Currency}
			// Paid in full now: a short payment asked about is made up.
			rc.settlePending(out, rc.full(p.Source, p.ID), "none: the rest was paid by "+m.Line, at)
		}
		out.Items = append(out.Items, st)
		if l.Direction == "credit" && p.Kind == record.KindInvoice {
			rc.o2c.Settled(m.ID, rc.full(p.Source, p.ID), p.Amount, l.Date)
			rc.settledOn[itemKey{p.Kind, p.Source, p.ID}] = l.Date
		}
		ik := itemKey{p.Kind, p.Source, p.ID}
		if k, ok := rc.known[ik]; ok {
			rc.touchKnown(ik, &k, k.touched, true)
			rc.known[ik] = k
		}
	}
	if l.Direction != "credit" {
		return
	}
	// What the line brought plus the charges it reports is what it paid;
	// anything the invoices took beyond that the bank kept as a fee nobody
	// has booked yet.
	fee := applied - l.Amount.Minor
	if l.Charges.Currency == l.Amount.Currency {
		fee -= l.Charges.Minor
	}
	if fee < 0 && len(m.Parts) > 0 {
		// The line brought more than its documents take: money the
		// customer is owed back, or holds on account.
		surplus := record.Money{Minor: -fee, Currency: l.Amount.Currency}
		rc.raiseForMatch(out, m.Line, Exception{Type: ExcOverpayment, Reason: "surplus", SubjectKind: record.KindBankTxn, Subject: m.Line, Amount: surplus,
			Criteria: m.Criteria, NextStep: fmt.Sprintf("%s %s of the line is not applied: refund it to the payer or hold it on account against their next invoice",
				surplus, surplus.Currency)}, at)
	}
	if fee > 0 {
		money := record.Money{Minor: fee, Currency: l.Amount.Currency}
		x := Exception{Type: ExcFeeDeducted, SubjectKind: record.KindBankTxn, Subject: m.Line, Amount: money,
			Criteria: m.Criteria, NextStep: fmt.Sprintf("post the %s %s bank fee the payer's bank deducted", money, money.Currency)}
		rc.raiseForMatch(out, m.Line, x, at)
	}
}

func (rc *Reconciler) bucket(t *ControlTotal, o Outcome) *int64 {
	switch o {
	case Confirmed, Accepted:
		return &t.Matched
	case Review:
		return &t.Review
	}
	return &t.Unmatched
}

// subject names the day in a control_unbalanced exception: company,
// currency and day for receipts (as before money out was counted, so that
// their ids stay), with "/debit" after for money out.
func (k totalKey) subject(company string) string {
	if k.dir == "debit" {
		return fmt.Sprintf("%s/%s/%s/debit", company, k.cur, k.day)
	}
	return fmt.Sprintf("%s/%s/%s", company, k.cur, k.day)
}

func (rc *Reconciler) total(k totalKey) *ControlTotal {
	t := rc.totals[k]
	if t == nil {
		t = &ControlTotal{Company: rc.company, Direction: k.dir, Currency: k.cur, Day: k.day}
		rc.totals[k] = t
	}
	rc.dirty[k] = true
	return t
}

func (rc *Reconciler) breaches(bs []Breach, at time.Time, out *Output) {
	for _, b := range bs {
		rc.raise(out, Exception{Type: ExcApprovalBreach, Reason: b.Reason, SubjectKind: b.Kind, Subject: b.Subject,
			Criteria: b.Criteria, NextStep: b.NextStep}, at)
	}
}

func (rc *Reconciler) payable(r *record.Record, amount record.Money, at time.Time, out *Output) {
	c := rc.pay.Add(r)
	if c == nil {
		return
	}
	switch c.Outcome {
	case PayableMatched, PayablePartial:
		return
	}
	related := ""
	if len(c.Parts) > 0 {
		related = rc.full(c.Parts[0].Source, c.Parts[0].ID)
	}
	rc.raise(out, Exception{Type: ExcPayable, Reason: string(c.Outcome), SubjectKind: record.KindPayment, Subject: c.Payment,
		Related: related, Amount: amount, Criteria: c.Criteria, NextStep: c.NextStep}, at)
}

// raise reports an exception once: its id is derived from type, reason
// and subject, so a replay raises the same one.
func (rc *Reconciler) raise(out *Output, x Exception, at time.Time) bool {
	x.Company, x.At = rc.company, at
	if x.Status == "" {
		x.Status = StatusOpen
	}
	if x.Date == 0 {
		x.Date = record.DateOf(at)
	}
	x.ID = exceptionID(x)
	if rc.reported[x.ID] {
		return false
	}
	rc.reported[x.ID] = true
	out.Exceptions = append(out.Exceptions, x)
	return true
}

// raisePending raises an exception that stands until what it says stops
// being true (settlePending, under key).
func (rc *Reconciler) raisePending(out *Output, key string, x Exception, at time.Time) {
	if rc.raise(out, x, at) {
		rc.pending[key] = append(rc.pending[key], out.Exceptions[len(out.Exceptions)-1])
	}
}

// settlePending resolves the pending exceptions under key, if any: every
// short payment of an invoice asked about is made up once the rest is paid.
func (rc *Reconciler) settlePending(out *Output, key, step string, at time.Time) {
	xs := rc.pending[key]
	delete(rc.pending, key)
	for _, x := range xs {
		delete(rc.reported, x.ID)
		// Resolved now, it is not the reversal's to resolve again. (Only
		// a line's own exceptions are there: a mismatch's Related is an
		// order, which must not get an entry.)
		if fs, ok := rc.fees[x.Related]; ok {
			rc.fees[x.Related] = slices.DeleteFunc(fs, func(f Exception) bool { return f.ID == x.ID })
		}
		x.Status, x.Date, x.At, x.NextStep = StatusResolved, record.DateOf(at), at, step
		out.Exceptions = append(out.Exceptions, x)
	}
}

// raiseForMatch raises an exception a line's current match gave rise to
// (a fee, a surplus, a short payment), and keeps it to resolve should the
// match be reversed.
func (rc *Reconciler) raiseForMatch(out *Output, line string, x Exception, at time.Time) {
	if rc.raise(out, x, at) {
		rc.fees[line] = append(rc.fees[line], out.Exceptions[len(out.Exceptions)-1])
	}
}

func exceptionID(x Exception) string {
	sum := sha256.Sum256([]byte(x.Company + "|" + x.Type + "|" + x.Reason + "|" + x.Subject + "|" + x.Related))
	return hex.EncodeToString(sum[:12])
}

// endOfDay closes event day d: credit lines waiting too long become
// exceptions, overdue invoices open or resolve theirs, the day's control
// totals are reported, and state nobody needs any more is forgotten. at is
// the event time of the record that moved time on.
func (rc *Reconciler) endOfDay(d record.Date, at time.Time, out *Output) {
	for _, l := range rc.engine.ExpireWaiting(rc.company, d-record.Date(rc.set.UnmatchedDays)+1) {
		delete(rc.waiting, rc.full(l.Source, l.ID))
		if len(rc.pending[rc.full(l.Source, l.ID)]) > 0 {
			continue // paid twice: identified, the overpayment says what to do
		}
		rc.raise(out, Exception{Type: ExcUnidentifiedReceipt, SubjectKind: record.KindBankTxn, Subject: rc.full(l.Source, l.ID),
			Amount: l.Amount, NextStep: fmt.Sprintf("ask the payer for a remittance advice for %s %s received %s", l.Amount, l.Amount.Currency, l.Date)}, at)
	}
	rc.unidentifiedPayments(d-record.Date(rc.set.UnmatchedDays)+1, at, out)
	rc.unbankedReceipts(d-record.Date(rc.set.UnmatchedDays)+1, at, out)
	items, checked := rc.o2c.OverdueChanges(d)
	for _, it := range items {
		if old, ok := rc.overdue[it.Invoice]; ok && old.Type == it.Type && old.Amount == it.Residual {
			continue // still the same: the day count alone changes nothing worth a row
		}
		x := Exception{Type: it.Type, SubjectKind: record.KindInvoice, Subject: it.Invoice, Related: it.Order, Amount: it.Residual,
			Status: StatusOpen, NextStep: it.NextStep(), Company: rc.company, Date: d, At: at,
			Criteria: []Criterion{{"paid", false, it.Residual.String() + " still to come, " + strconv.Itoa(it.DaysLate) + " days past due"}}}
		x.ID = exceptionID(Exception{Company: rc.company, Type: "overdue", Subject: it.Invoice})
		rc.overdue[it.Invoice] = x
		out.Exceptions = append(out.Exceptions, x)
	}
	j := 0 // items and checked are both sorted by invoice
	for _, id := range checked {
		for j < len(items) && items[j].Invoice < id {
			j++
		}
		if j < len(items) && items[j].Invoice == id {
			continue
		}
		if x, ok := rc.overdue[id]; ok {
			x.Status, x.At, x.Date = StatusResolved, at, d
			out.Exceptions = append(out.Exceptions, x)
			delete(rc.overdue, id)
		}
	}
	keys := make([]totalKey, 0, len(rc.dirty))
	for k := range rc.dirty {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].day != keys[j].day {
			return keys[i].day < keys[j].day
		}
		if keys[i].dir != keys[j].dir {
			return keys[i].dir < keys[j].dir
		}
		return keys[i].cur.String() < keys[j].cur.String()
	})
	for _, k := range keys {
		t := *rc.totals[k]
		t.At = at
		out.Totals = append(out.Totals, t)
		switch {
		case t.Overflowed:
			rc.raise(out, Exception{Type: ExcUnbalanced, Reason: "overflow", Subject: k.subject(rc.company),
				NextStep: "the day's bank lines add up past what the control totals can count: look for amounts entered in the wrong unit at the bank or the source"}, at)
		case !t.Balanced():
			rc.raise(out, Exception{Type: ExcUnbalanced, Subject: k.subject(rc.company),
				Amount:   record.Money{Minor: t.Amount - t.Matched - t.Review - t.Unmatched, Currency: k.cur},
				NextStep: "report a matching defect: a bank line is counted twice or not at all"}, at)
		}
	}
	clear(rc.dirty)
	cut := d - record.Date(rc.set.RetainDays)
	// By booking day, not a walk over every line kept: a backfill of
	// years ends a day every few hundred records, and the walk over the
	// RetainDays of lines behind each was a tenth of matching's time.
	rc.lineAges.sweep(cut, func(id string) bool {
		st := rc.lines[id]
		if st == nil || st.day >= cut {
			return false
		}
		rc.indexReview(id, st.result, Match{}) // while the line is still there to unindex
		delete(rc.lines, id)                   // a re-send this old is not matched again: dedupe has seen it
		delete(rc.byMatch, st.result.ID)
		delete(rc.fees, id)
		delete(rc.pending, id)
		rc.engine.ForgetLine(id)
		return false
	})
	for k := range rc.totals {
		if k.day < cut {
			delete(rc.totals, k)
		}
	}
	rc.forgetCleared(d)
	rc.forgetReceipts(d, cut)
	rc.forgetKnown(cut)
	// A forgotten order's invoices' standing mismatches go with it.
	rc.three.Forget(cut, func(invoice string) { delete(rc.pending, threeWayKey(invoice)) })
	rc.appr.Forget(cut)
	rc.pay.Forget(cut)
	rc.o2c.Forget(cut)
}

// forgetKnown drops documents no longer open that nothing touched since
// cut: like old lines, they will not be reopened or paid twice any more,
// and keeping them would grow the state without end.
func (rc *Reconciler) forgetKnown(cut record.Date) {
	book := rc.Book()
	rc.ages.sweep(cut, func(k itemKey) bool {
		it, ok := rc.known[k]
		if !ok || it.touched >= cut {
			return false
		}
		if book.Get(k.kind, k.source, k.id) != nil {
			return true // still open: kept, and looked at again every sweep
		}
		rc.forget(k)
		return false
	})
}

// touchKnown marks a known document touched today; was is its touched
// date until now, and known whether it was known (and so queued) before:
// a new document's zero date is also 1970-01-01, a date records may carry.
func (rc *Reconciler) touchKnown(k itemKey, it *OpenItem, was record.Date, known bool) {
	it.touched = rc.day
	if rc.day != was || !known {
		rc.ages.touch(rc.day, k)
	}
}

// forget drops a known document and its indexes.
func (rc *Reconciler) forget(k itemKey) {
	it := rc.known[k]
	delete(rc.known, k)
	delete(rc.paidAgain, k)
	rc.ages.unpark(k)
	delete(rc.pending, rc.full(k.source, k.id))
	if rc.byNumber[it.Number] == k {
		delete(rc.byNumber, it.Number)
	}
	if it.OrderRef != "" {
		unindex(rc.byOrder, it.OrderRef, k)
	}
}

// Close ends the latest event day, as if time had moved on: the end of a
// run over a finite input.
func (rc *Reconciler) Close(at time.Time, out *Output) {
	if rc.day != 0 {
		rc.endOfDay(rc.day, at, out)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Decision is a person's decision on a match: accept or reject a match in
// review, or unmatch (reverse) a confirmed or accepted one.
type Decision struct {
	MatchID string
	Action  string // accept, reject, unmatch
	By      string
	Reason  string
	At      time.Time
	// After is the event time matching had reached for the company when
	// the decision first applied; a rebuild applies it at the same point.
	After time.Time
}

// Decision actions.
const (
	ActionAccept  = "accept"
	ActionReject  = "reject"
	ActionUnmatch = "unmatch"
)

// ErrUnknownMatch and ErrNotAllowed are why a decision cannot apply.
var (
	ErrUnknownMatch = errors.New("no current match with this id")
	ErrNotAllowed   = errors.New("decision not allowed")
)

// LineOfMatch returns the bank line a current match belongs to.
func (rc *Reconciler) LineOfMatch(matchID string) (string, bool) {
	l, ok := rc.byMatch[matchID]
	return l, ok
}

// Decide applies a person's decision and appends what it changed to out.
//   - accept: the proposed documents are settled, and the payer's name
//     becomes an alias of the party for later lines;
//   - reject: the documents are never proposed for the line again, and
//     the line is matched again without them (or waits);
//   - unmatch: what the match settled is open again, the pair is never
//     proposed again, and the line is matched again without it.
func (rc *Reconciler) Decide(d Decision, out *Output) error {
	line, ok := rc.byMatch[d.MatchID]
	st := rc.lines[line]
	if !ok || st == nil {
		return fmt.Errorf("%w: %s", ErrUnknownMatch, d.MatchID)
	}
	cur := st.result
	allowed := map[string][]Outcome{ActionAccept: {Review}, ActionReject: {Review}, ActionUnmatch: {Confirmed, Accepted}}[d.Action]
	if !slices.Contains(allowed, cur.Outcome) {
		return fmt.Errorf("%w: cannot %s match %s: it is %s", ErrNotAllowed, d.Action, d.MatchID, cur.Outcome)
	}
	book := rc.Book()
	switch d.Action {
	case ActionAccept:
		items := make([]*OpenItem, len(cur.Parts))
		for i, p := range cur.Parts {
			it := book.Get(p.Kind, p.Source, p.ID)
			if it == nil || it.Open.Currency != p.Amount.Currency || it.Open.Minor < p.Amount.Minor {
				return fmt.Errorf("%w: cannot accept match %s: %s %s is no longer open for %s", ErrNotAllowed, d.MatchID, p.Kind, p.ID, p.Amount)
			}
			if p.Amount.Currency != st.line.Amount.Currency {
				return fmt.Errorf("%w: cannot accept match %s: %s %s is in %s, the line in %s", ErrNotAllowed, d.MatchID, p.Kind, p.ID,
					p.Amount.Currency, st.line.Amount.Currency)
			}
			items[i] = it
		}
		// A proposal may ask more than the line brought: accepted, the
		// line pays what it brought, in the proposal's order, and the
		// rest stays open.
		parts, partial := rc.fitLine(st.line, cur.Parts)
		if len(parts) == 0 {
			return fmt.Errorf("%w: cannot accept match %s: the line brings nothing to apply", ErrNotAllowed, d.MatchID)
		}
		items = items[:len(parts)]
		for i, it := range items {
			if st.line.Direction == "credit" && it.PartyKey != "" {
				rc.teach(st, st.line.PayerKey, it.PartyKey)
				if st.line.PayerAccount != "" {
					rc.teach(st, accountKey(st.line.PayerAccount), it.PartyKey)
				}
			}
			book.Settle(it, parts[i].Amount)
		}
		m := cur
		m.Outcome, m.Parts, m.Alternatives = Accepted, parts, nil
		if partial {
			m.Criteria = append(slices.Clip(m.Criteria), Criterion{"amount", true,
				fmt.Sprintf("accepted for the %s the line brought; the rest stays open", minor(rc.appliedBy(st.line), st.line.Amount.Currency))})
			m.ID = matchID(m)
		}
		m.Criteria = append(slices.Clip(m.Criteria), Criterion{"review", true, "accepted by " + d.By})
		rc.decided(m, st.line, d.At, d.By, d.Reason, out)
	case ActionReject, ActionUnmatch:
		rc.engine.Reject(line, cur.Parts)
		if d.Action == ActionUnmatch {
			rc.undoMatch(line, st.line, d.At, out)
			for _, p := range cur.Parts {
				it := book.Get(p.Kind, p.Source, p.ID)
				var back OpenItem
				if it != nil {
					back = *it
					back.Open.Minor += p.Amount.Minor
				} else if k, ok := rc.known[itemKey{p.Kind, p.Source, p.ID}]; ok {
					back = k
					back.Open = p.Amount
				} else {
					continue // forgotten long ago: nothing to reopen
				}
				// Lines waiting for a document like this one may take it now.
				// Back in the book quietly first: a receipt of a draft that
				// found it paid pays it now, before any waiting line may.
				if st.line.Direction == "credit" && p.Kind == record.KindInvoice {
					// A marking of the ERP's after this is not ours any more
					// (a receipt that pays it now sets its own).
					delete(rc.settledOn, itemKey{p.Kind, p.Source, p.ID})
				}
				book.Put(back)
				rc.openAgain(itemKey{p.Kind, p.Source, p.ID}, d.At, out)
				if now := book.Get(p.Kind, p.Source, p.ID); now != nil { // else the receipt paid it all (and reported it)
					ms := rc.engine.PutItem(rc.company, *now)
					rc.item(out, *now, "open", d.At)
					for _, m := range ms {
						rc.lineOutcome(m, d.At, out)
					}
				}
				if st.line.Direction == "credit" && p.Kind == record.KindInvoice {
					// Unpaid again, the invoice owes nothing back for its
					// credit note: the credit reduces what is open instead.
					rc.settlePending(out, "credit_note|"+rc.full(p.Source, p.ID), "none: the payment was reversed; net the credit note against the open invoice", d.At)
					rc.o2c.Unsettled(cur.ID, rc.full(p.Source, p.ID), p.Amount)
				}
			}
		}
		delete(rc.waiting, line)
		m := rc.engine.MatchLine(st.line)
		if m.Outcome == Unmatched {
			rc.waiting[line] = st.line
		}
		m.Criteria = append(slices.Clip(m.Criteria), Criterion{"review", false, fmt.Sprintf("%s %s by %s", cur.ID, pastTense(d.Action), d.By)})
		rc.decided(m, st.line, d.At, d.By, d.Reason, out)
	}
	return nil
}

// fitLine caps parts at what line l brought: whole parts in order while
// the money lasts, then the part it still covers. Parts that ask more
// only by a fee within the tolerance are left whole: the fee is the
// payer's bank's.
func (rc *Reconciler) fitLine(l Line, parts []Part) ([]Part, bool) {
	var sum int64
	for _, p := range parts {
		sum += p.Amount.Minor
	}
	have := rc.appliedBy(l)
	if over := sum - have; over <= 0 || rc.engine.withinFee(sum, over) {
		return parts, false
	}
	var out []Part
	for _, p := range parts {
		if have <= 0 {
			break
		}
		p.Amount.Minor = min(p.Amount.Minor, have)
		have -= p.Amount.Minor
		out = append(out, p)
	}
	return out, true
}

// teach makes a payer name key or account key stand for a party, as an
// accept of the line shows, unless it stands for one already or is the
// party's own key; the line remembers it to take it back on a reversal.
func (rc *Reconciler) teach(st *lineState, payer, party string) {
	if payer == "" || payer == party || rc.engine.AliasOf(rc.company, payer) != "" {
		return
	}
	rc.engine.Alias(rc.company, payer, party)
	st.aliases = append(st.aliases, [2]string{payer, party})
}

// undoMatch takes back what a reversed match taught or raised: the alias
// its accept taught, and its fee_deducted exception.
func (rc *Reconciler) undoMatch(line string, l Line, at time.Time, out *Output) {
	// Only an alias this line's accept taught goes: one learned elsewhere
	// (another line, another decision) still stands.
	if st := rc.lines[line]; st != nil {
		for _, a := range st.aliases {
			rc.engine.Unalias(rc.company, a[0], a[1])
		}
		st.aliases = nil
	}
	for _, x := range rc.fees[line] {
		if ps := slices.DeleteFunc(rc.pending[x.Subject], func(p Exception) bool { return p.ID == x.ID }); len(ps) > 0 {
			rc.pending[x.Subject] = ps
		} else {
			delete(rc.pending, x.Subject)
		}
		delete(rc.reported, x.ID) // a later match of the line may raise it again
		x.Status, x.Date, x.At = StatusResolved, record.DateOf(at), at
		x.NextStep = "none: the match it came from was reversed"
		out.Exceptions = append(out.Exceptions, x)
	}
	delete(rc.fees, line)
}

func pastTense(action string) string {
	return map[string]string{ActionReject: "rejected", ActionUnmatch: "reversed"}[action]
}

// ExceptionTypes are the type of every exception matching raises, for
// tools that filter by it: a filter word that is none of them is a
// mistake, not an empty list.
var ExceptionTypes = []string{ExcUnpaidOverdue, ExcUnderpaidOverdue, ExcDuplicatePayment, ExcThreeWayMismatch,
	ExcApprovalBreach, ExcFeeDeducted, ExcUnidentifiedReceipt, ExcUnidentifiedPayment, ExcPayable, ExcReopened, ExcUnbalanced,
	ExcDuplicateDocument, ExcReviewRefused, ExcOverpayment, ExcAmountDifference, ExcUnbankedReceipt}

// LineOutcomes are every outcome a bank line's match row can carry: the
// rules' and those of a person's decision.
var LineOutcomes = []string{string(Confirmed), string(Review), string(Unmatched), string(Accepted),
	pastTense(ActionReject), pastTense(ActionUnmatch)}
