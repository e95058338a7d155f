package match

import (
	"fmt"

	"github.com/erpflow/erpflow/pipeline/record"
)

// PayableOutcome is what the ERP's outgoing payment made of the supplier
// invoices it names.
type PayableOutcome string

// Outcomes of applying a payment to its invoices. Everything but
// PayableMatched is an exception for accounts payable.
const (
	PayableMatched    PayableOutcome = "matched"
	PayableDifference PayableOutcome = "amount_difference" // the invoices' open total differs from the payment
	PayableSettled    PayableOutcome = "already_settled"   // every invoice named was paid before: money out twice
	PayableUnknown    PayableOutcome = "unknown_invoice"   // an invoice named is not an open AP invoice of the supplier
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
// they name, once each, when they are executed.
type Payables struct {
	invoices map[string]*payable // by company/number
	applied  map[string]bool     // payments already applied
}

type payable struct {
	source, id  string
	supplier    string
	open, total record.Money
	cancelled   bool
}

// NewPayables returns an empty ledger.
func NewPayables() *Payables {
	return &Payables{invoices: map[string]*payable{}, applied: map[string]bool{}}
}

// Add takes AP invoices and outgoing payments in event-time order and
// returns the check of a payment when it is executed.
func (p *Payables) Add(r *record.Record) *PayableCheck {
	full := r.Company + "/" + r.Source + "/" + r.ID
	switch b := r.Body.(type) {
	case *record.Invoice:
		if b.Direction != "AP" {
			return nil
		}
		k := r.Company + "/" + b.Number
		inv := p.invoices[k]
		if inv == nil {
			inv = &payable{source: r.Source, id: r.ID, open: b.Total}
			p.invoices[k] = inv
		} else if inv.total != b.Total {
			// An amended total moves what is open by the difference.
			inv.open.Minor += b.Total.Minor - inv.total.Minor
		}
		inv.supplier, inv.total, inv.cancelled = b.Party.ID, b.Total, b.Status == "cancelled"
	case *record.Payment:
		if b.Direction != "out" || b.Status != "executed" || p.applied[full] {
			return nil
		}
		p.applied[full] = true
		return p.apply(r.Company, full, b)
	}
	return nil
}

func (p *Payables) apply(company, full string, b *record.Payment) *PayableCheck {
	c := &PayableCheck{Payment: full}
	var items []*payable
	var open int64
	settled := 0
	for _, ref := range b.InvoiceRefs {
		inv := p.invoices[company+"/"+ref]
		switch {
		case inv == nil || inv.cancelled || inv.supplier != b.Party.ID || inv.open.Currency != b.Amount.Currency:
			c.Outcome = PayableUnknown
			c.Criteria = append(c.Criteria, Criterion{"invoice " + ref, false, "not an open invoice of supplier " + b.Party.ID + " in " + b.Amount.Currency.String()})
		case inv.open.Minor <= 0:
			settled++
			c.Criteria = append(c.Criteria, Criterion{"invoice " + ref, false, "already paid in full"})
		default:
			items = append(items, inv)
			open += inv.open.Minor
			c.Criteria = append(c.Criteria, Criterion{"invoice " + ref, true, fmt.Sprintf("%s open", inv.open)})
		}
	}
	switch {
	case c.Outcome == PayableUnknown:
		c.NextStep = "check the invoice numbers on the payment with AP before the supplier is paid again"
		return c
	case len(b.InvoiceRefs) == 0:
		c.Outcome = PayableUnknown
		c.Criteria = append(c.Criteria, Criterion{"invoices", false, "the payment names none"})
		c.NextStep = "ask AP which invoices the payment settles"
		return c
	case settled == len(b.InvoiceRefs):
		c.Outcome = PayableSettled
		c.NextStep = fmt.Sprintf("every invoice was paid before: ask the supplier to refund %s %s", b.Amount, b.Amount.Currency)
		return c
	case open != b.Amount.Minor:
		c.Outcome = PayableDifference
		c.Criteria = append(c.Criteria, Criterion{"amount", false, fmt.Sprintf("paid %s against %s open", b.Amount, minor(open, b.Amount.Currency))})
		if b.Amount.Minor > open {
			c.NextStep = fmt.Sprintf("overpaid by %s: ask the supplier for a refund or a credit note", minor(b.Amount.Minor-open, b.Amount.Currency))
		} else {
			c.NextStep = fmt.Sprintf("underpaid by %s: pay the rest or record the deduction agreed with the supplier", minor(open-b.Amount.Minor, b.Amount.Currency))
		}
		return c
	}
	c.Outcome = PayableMatched
	c.Criteria = append(c.Criteria, Criterion{"amount", true, "equal to the open total of the invoices named"})
	for _, inv := range items {
		c.Parts = append(c.Parts, Part{Kind: record.KindInvoice, Source: inv.source, ID: inv.id, Amount: inv.open})
		inv.open.Minor = 0
	}
	return c
}
