package match

import (
	"fmt"

	"github.com/erpflow/erpflow/pipeline/record"
)

// PayableOutcome is what the ERP's outgoing payment made of the supplier
// invoices it names.
type PayableOutcome string

// Outcomes of applying a payment to its invoices. PayableMatched and
// PayablePartial are the normal course; the others are exceptions for
// accounts payable.
const (
	PayableMatched    PayableOutcome = "matched"
	PayablePartial    PayableOutcome = "partial"           // an instalment on one invoice; the rest stays open
	PayableDifference PayableOutcome = "amount_difference" // the invoices' open total differs from the payment
	PayableSettled    PayableOutcome = "already_settled"   // every invoice named was paid before: money out twice
	PayableUnknown    PayableOutcome = "unknown_invoice"   // an invoice named is not an open AP invoice of the supplier
	PayableReturned   PayableOutcome = "returned"          // applied, then returned or cancelled: its invoices are open again
)

// PayableCheck is the result for one payment, with its explanation.
type PayableCheck struct {
	Payment  string
	Outcome  PayableOutcome
	Parts    []Part
	Criteria []Criterion
	NextStep string
}

// Payables applies the ERP's outgoing payments to the supplier invoices
// they name, once each, when they are executed, and takes the money back
// off them when a payment is returned. Versions older than one seen
// change nothing.
type Payables struct {
	// invoices are by company, supplier and number: two suppliers may
	// number their invoices alike, and a payment names its supplier's.
	invoices map[string]*payable
	payments map[string]*applied // by company/source/id
	// at is where each invoice document (company/source/id) is in
	// invoices: a new version naming another supplier moves it.
	at map[string]string
}

// payableKey is an AP invoice's place in Payables.invoices.
func payableKey(company, supplier, number string) string {
	return company + "\x00" + supplier + "\x00" + number
}

type payable struct {
	doc         string // company/source/id
	source, id  string
	supplier    string
	open, total record.Money // a credit note's are negative
	version     uint64
	cancelled   bool
	touched     record.Date // event date of the latest record about it
}

type applied struct {
	version uint64
	parts   []*payable
	amounts []int64
	done    bool // applied and not returned
	touched record.Date
	checked bool // its executed version was checked: a re-sent one is not
}

// NewPayables returns an empty ledger.
func NewPayables() *Payables {
	return &Payables{invoices: map[string]*payable{}, payments: map[string]*applied{}, at: map[string]string{}}
}

// Add takes AP invoices and outgoing payments in event-time order and
// returns the check of a payment when it is executed or returned.
func (p *Payables) Add(r *record.Record) *PayableCheck {
	full := r.Company + "/" + r.Source + "/" + r.ID
	switch b := r.Body.(type) {
	case *record.Invoice:
		if b.Direction != "AP" {
			return nil
		}
		k := payableKey(r.Company, b.Party.ID, b.Number)
		if old, ok := p.at[full]; ok && old != k {
			// Another supplier or number than the version before: the
			// document moves, unless an older version comes late.
			if moved := p.invoices[old]; moved != nil && moved.version > r.Version {
				return nil
			} else if moved != nil && p.invoices[k] == nil {
				delete(p.invoices, old)
				p.invoices[k] = moved
			}
		}
		p.at[full] = k
		inv := p.invoices[k]
		switch {
		case inv == nil:
			inv = &payable{doc: full, source: r.Source, id: r.ID, open: b.Total}
			p.invoices[k] = inv
		case inv.version > r.Version:
			return nil
		case inv.total != b.Total:
			// An amended total moves what is open by the difference.
			inv.open.Minor += b.Total.Minor - inv.total.Minor
		}
		inv.supplier, inv.total, inv.version, inv.cancelled = b.Party.ID, b.Total, r.Version, b.Status == "cancelled"
		inv.touched = max(inv.touched, record.DateOf(r.EventTime))
	case *record.Payment:
		if b.Direction != "out" {
			return nil
		}
		a := p.payments[full]
		if a == nil {
			a = &applied{}
			p.payments[full] = a
		}
		if a.version > r.Version {
			return nil
		}
		a.version, a.touched = r.Version, max(a.touched, record.DateOf(r.EventTime))
		switch {
		case b.Status == "executed" && !a.checked:
			a.checked = true
			return p.apply(r.Company, full, b, a)
		case (b.Status == "returned" || b.Status == "cancelled") && a.done:
			return p.reverse(full, b, a)
		}
	}
	return nil
}

func (p *Payables) apply(company, full string, b *record.Payment, a *applied) *PayableCheck {
	c := &PayableCheck{Payment: full}
	var items []*payable
	var open int64
	settled, named := 0, 0
	seen := map[string]bool{}
	for _, ref := range b.InvoiceRefs {
		if seen[ref] {
			continue // named twice is paid once
		}
		seen[ref] = true
		named++
		inv := p.invoices[payableKey(company, b.Party.ID, ref)]
		switch {
		case inv == nil || inv.cancelled || inv.supplier != b.Party.ID || inv.open.Currency != b.Amount.Currency:
			c.Outcome = PayableUnknown
			c.Criteria = append(c.Criteria, Criterion{"invoice " + ref, false, "not an open invoice of supplier " + b.Party.ID + " in " + b.Amount.Currency.String()})
		case inv.open.Minor == 0:
			settled++
			c.Criteria = append(c.Criteria, Criterion{"invoice " + ref, false, "already paid in full"})
		default:
			items = append(items, inv)
			open += inv.open.Minor
			c.Criteria = append(c.Criteria, Criterion{"invoice " + ref, true, fmt.Sprintf("%s open", inv.open)})
		}
	}
	cur := b.Amount.Currency
	switch {
	case c.Outcome == PayableUnknown:
		c.NextStep = "check the invoice numbers on the payment with AP before the supplier is paid again"
		return c
	case named == 0:
		c.Outcome = PayableUnknown
		c.Criteria = append(c.Criteria, Criterion{"invoices", false, "the payment names none"})
		c.NextStep = "ask AP which invoices the payment settles"
		return c
	case settled == named:
		c.Outcome = PayableSettled
		c.NextStep = fmt.Sprintf("every invoice was paid before: ask the supplier to refund %s %s", b.Amount, cur)
		return c
	case open == b.Amount.Minor:
		c.Outcome = PayableMatched
		c.Criteria = append(c.Criteria, Criterion{"amount", true, "equal to the open total of the invoices named"})
		p.settle(c, a, items, nil)
	case b.Amount.Minor < open && len(items) == 1 && b.Amount.Minor > 0:
		c.Outcome = PayablePartial
		c.Criteria = append(c.Criteria, Criterion{"amount", true, fmt.Sprintf("an instalment of %s on %s open; %s stays open",
			b.Amount, items[0].open, minor(open-b.Amount.Minor, cur))})
		p.settle(c, a, items, []int64{b.Amount.Minor})
	case b.Amount.Minor > open:
		// The invoices are paid whatever else happened; the excess is the
		// exception.
		c.Outcome = PayableDifference
		c.Criteria = append(c.Criteria, Criterion{"amount", false, fmt.Sprintf("paid %s against %s open", b.Amount, minor(open, cur))})
		c.NextStep = fmt.Sprintf("overpaid by %s: ask the supplier for a refund or a credit note", minor(b.Amount.Minor-open, cur))
		p.settle(c, a, items, nil)
	default:
		// Less than several invoices: which of them it pays is for AP to
		// say, so nothing is settled.
		c.Outcome = PayableDifference
		c.Criteria = append(c.Criteria, Criterion{"amount", false, fmt.Sprintf("paid %s against %s open", b.Amount, minor(open, cur))})
		c.NextStep = fmt.Sprintf("underpaid by %s: say which invoices it pays, pay the rest, or record the deduction agreed with the supplier",
			minor(open-b.Amount.Minor, cur))
	}
	return c
}

// settle applies amounts (nil: everything open) to items and remembers
// it on the payment, so that a return can take it back.
func (p *Payables) settle(c *PayableCheck, a *applied, items []*payable, amounts []int64) {
	a.done = true
	for i, inv := range items {
		amt := inv.open.Minor
		if amounts != nil {
			amt = amounts[i]
		}
		inv.open.Minor -= amt
		a.parts, a.amounts = append(a.parts, inv), append(a.amounts, amt)
		c.Parts = append(c.Parts, Part{Kind: record.KindInvoice, Source: inv.source, ID: inv.id, Amount: record.Money{Minor: amt, Currency: inv.open.Currency}})
	}
}

// reverse reopens what a returned or cancelled payment had settled.
func (p *Payables) reverse(full string, b *record.Payment, a *applied) *PayableCheck {
	c := &PayableCheck{Payment: full, Outcome: PayableReturned,
		NextStep: "the money came back: check the supplier's bank details and pay the reopened invoices again"}
	for i, inv := range a.parts {
		inv.open.Minor += a.amounts[i]
		c.Parts = append(c.Parts, Part{Kind: record.KindInvoice, Source: inv.source, ID: inv.id, Amount: record.Money{Minor: a.amounts[i], Currency: inv.open.Currency}})
	}
	c.Criteria = []Criterion{{"status", false, fmt.Sprintf("payment %s %s after it was applied", b.Number, b.Status)}}
	a.done, a.checked, a.parts, a.amounts = false, false, nil, nil
	return c
}

// Forget drops settled or cancelled invoices and payments with no record
// since before cutoff (an event date) and returns how many. Open invoices
// are kept however old: they are what AP still owes. A payment naming a
// forgotten invoice later is an unknown invoice, for AP to look at.
func (p *Payables) Forget(cutoff record.Date) int {
	n := 0
	for k, inv := range p.invoices {
		if inv.touched < cutoff && (inv.open.Minor == 0 || inv.cancelled) {
			delete(p.invoices, k)
			if p.at[inv.doc] == k {
				delete(p.at, inv.doc)
			}
			n++
		}
	}
	for k, a := range p.payments {
		if a.touched < cutoff {
			delete(p.payments, k)
			n++
		}
	}
	return n
}
