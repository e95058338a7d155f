package match

import (
	"fmt"
	"sort"

	"github.com/erpflow/erpflow/pipeline/record"
)

// Exception types of the order-to-cash chain at a cut-off date.
const (
	ExcUnpaidOverdue    = "unpaid_overdue"    // due by the cut-off, nothing received
	ExcUnderpaidOverdue = "underpaid_overdue" // due by the cut-off, part received
)

// Chain is one sales order's way to cash: its shipments, invoices and the
// money received against them, with the date each step was first reached.
type Chain struct {
	Order     string // company/source/id
	Number    string
	Status    string // the furthest step: ordered, shipped, delivered, invoiced, partially_paid, paid, cancelled
	Ordered   record.Date
	Shipped   record.Date // first shipment
	Delivered record.Date // first delivery signed off
	Invoiced  record.Date // first invoice issued
	Paid      record.Date // when the last invoice was settled in full
	Shipments []string
	Invoices  []string
	received  record.Date // the latest receipt against any of its invoices
}

// Days is how long each step took, in days; a step not reached is -1.
func (c *Chain) Days() (toShip, toDeliver, toInvoice, toCash int) {
	span := func(from, to record.Date) int {
		if from == record.NoDate || to == record.NoDate {
			return -1
		}
		return int(to - from)
	}
	return span(c.Ordered, c.Shipped), span(c.Shipped, c.Delivered), span(c.Delivered, c.Invoiced), span(c.Invoiced, c.Paid)
}

// OverdueItem is an AR invoice due by a cut-off with money still to come,
// and what a clerk should do about it.
type OverdueItem struct {
	Invoice  string
	Order    string
	Type     string // ExcUnpaidOverdue or ExcUnderpaidOverdue
	Residual record.Money
	DaysLate int
	NextStep string
}

// OrderToCash links sales orders, shipments, AR invoices and the receipts
// matched to them. It takes records in event-time order; receipts come from
// confirmed matches through Settled.
type OrderToCash struct {
	chains   map[string]*Chain // by company/order number
	invoices map[string]*arState
}

type arState struct {
	id, chain string
	due       record.Date
	total     record.Money
	received  int64
	cancelled bool
	// erpPaid is the ERP calling the invoice paid: it writes off a bank
	// fee's shortfall, which no bank line will ever bring.
	erpPaid bool
}

// NewOrderToCash returns an empty tracker.
func NewOrderToCash() *OrderToCash {
	return &OrderToCash{chains: map[string]*Chain{}, invoices: map[string]*arState{}}
}

func (o *OrderToCash) chain(company, number string) *Chain {
	k := company + "/" + number
	c := o.chains[k]
	if c == nil {
		c = &Chain{Number: number, Status: "ordered", Ordered: record.NoDate, Shipped: record.NoDate,
			Delivered: record.NoDate, Invoiced: record.NoDate, Paid: record.NoDate}
		o.chains[k] = c
	}
	return c
}

// Add takes a sales order, shipment or AR invoice and returns the chain it
// moved, or nil.
func (o *OrderToCash) Add(r *record.Record) *Chain {
	full := r.Company + "/" + r.Source + "/" + r.ID
	switch b := r.Body.(type) {
	case *record.SalesOrder:
		c := o.chain(r.Company, b.Number)
		c.Order, c.Ordered = full, b.OrderDate
		if b.Status == "cancelled" {
			c.Status = "cancelled"
		}
		return c
	case *record.Shipment:
		if b.OrderRef == "" {
			return nil
		}
		c := o.chain(r.Company, b.OrderRef)
		c.Shipments = addOnce(c.Shipments, full)
		if b.Status == "shipped" || b.Status == "delivered" {
			c.Shipped = earliest(c.Shipped, b.ShipDate)
			c.advance("shipped")
		}
		if b.Status == "delivered" && b.DeliveredDate != record.NoDate {
			c.Delivered = earliest(c.Delivered, b.DeliveredDate)
			c.advance("delivered")
		}
		return c
	case *record.Invoice:
		if b.Direction != "AR" || b.OrderRef == "" {
			return nil
		}
		c := o.chain(r.Company, b.OrderRef)
		c.Invoices = addOnce(c.Invoices, full)
		st := o.invoices[full]
		if st == nil {
			st = &arState{id: full, chain: r.Company + "/" + b.OrderRef}
			o.invoices[full] = st
		}
		st.due, st.total, st.cancelled, st.erpPaid = b.DueDate, b.Total, b.Status == "cancelled", b.Status == "paid"
		if !st.cancelled {
			c.Invoiced = earliest(c.Invoiced, b.IssueDate)
			c.advance("invoiced")
		}
		o.settle(c)
		return c
	}
	return nil
}

// Settled records money a confirmed match applied to an AR invoice on the
// bank line's date, and returns the invoice's chain, or nil when the
// invoice is not one the tracker has seen.
func (o *OrderToCash) Settled(invoice string, amount record.Money, on record.Date) *Chain {
	st := o.invoices[invoice]
	if st == nil || amount.Currency != st.total.Currency {
		return nil
	}
	st.received += amount.Minor
	c := o.chains[st.chain]
	c.received = max(c.received, on)
	o.settle(c)
	return c
}

// settle works out whether the chain's invoices are paid in full, in part
// or not at all.
func (o *OrderToCash) settle(c *Chain) {
	if c.Status == "cancelled" || len(c.Invoices) == 0 {
		return
	}
	open, some, all := 0, false, true
	for _, id := range c.Invoices {
		st := o.invoices[id]
		if st.cancelled {
			continue
		}
		open++
		some = some || st.received > 0
		all = all && (st.erpPaid || st.received >= st.total.Minor)
	}
	switch {
	case open > 0 && all:
		c.Status, c.Paid = "paid", c.received
	case some:
		c.Status, c.Paid = "partially_paid", record.NoDate
	default:
		c.Paid = record.NoDate
	}
}

// Overdue lists the AR invoices due on or before cutoff with money still to
// come, in a fixed order.
func (o *OrderToCash) Overdue(cutoff record.Date) []OverdueItem {
	var out []OverdueItem
	for _, st := range o.invoices {
		if st.cancelled || st.erpPaid || st.due > cutoff || st.received >= st.total.Minor || st.total.Minor <= 0 {
			continue
		}
		it := OverdueItem{Invoice: st.id, Order: o.chains[st.chain].Order, DaysLate: int(cutoff - st.due),
			Residual: record.Money{Minor: st.total.Minor - st.received, Currency: st.total.Currency}}
		if st.received == 0 {
			it.Type = ExcUnpaidOverdue
			it.NextStep = fmt.Sprintf("send a reminder for %s %s, %d days past due", it.Residual, it.Residual.Currency, it.DaysLate)
		} else {
			it.Type = ExcUnderpaidOverdue
			it.NextStep = fmt.Sprintf("ask the customer about the remaining %s %s, or for a remittance advice if it was paid under another reference",
				it.Residual, it.Residual.Currency)
		}
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Invoice < out[j].Invoice })
	return out
}

var chainRank = map[string]int{"ordered": 0, "shipped": 1, "delivered": 2, "invoiced": 3, "partially_paid": 4, "paid": 5}

func (c *Chain) advance(step string) {
	if c.Status != "cancelled" && chainRank[step] > chainRank[c.Status] {
		c.Status = step
	}
}

func earliest(a, b record.Date) record.Date {
	if a == record.NoDate || (b != record.NoDate && b < a) {
		return b
	}
	return a
}

func addOnce(list []string, id string) []string {
	for _, x := range list {
		if x == id {
			return list
		}
	}
	return append(list, id)
}
