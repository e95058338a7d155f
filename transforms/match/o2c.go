package match

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

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
	cancelled bool
	lastMoney record.Date // the latest receipt, or the ERP calling an invoice paid
	touched   record.Date // event date of the latest record about it
	key       string      // in OrderToCash.chains: the order number
	// queued says the chain has a turn in OrderToCash.ages: a new chain's
	// touched date, zero, is also 1970-01-01, a date records may carry.
	queued bool
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
}

// NextStep is what a clerk should do about it; built on demand, since most
// days most overdue invoices are as they were the day before.
func (it OverdueItem) NextStep() string {
	if it.Type == ExcUnpaidOverdue {
		// Most days' overdue rows are reminders: joined, not formatted.
		return "send a reminder for " + it.Residual.String() + " " + it.Residual.Currency.String() + ", " + strconv.Itoa(it.DaysLate) + " days past due"
	}
	return fmt.Sprintf("ask the customer about the remaining %s %s, or for a remittance advice if it was paid under another reference",
		it.Residual, it.Residual.Currency)
}

// OrderToCash links sales orders, shipments, AR invoices and the receipts
// matched to them. It takes records in event-time order; receipts come from
// confirmed matches through Settled. A record version older than one seen
// changes nothing.
type OrderToCash struct {
	// chains are by order number: a tracker serves one company (its
	// Reconciler's), so the company need not be part of the key.
	chains   map[string]*Chain
	invoices map[string]*arState
	versions map[string]uint64 // of orders and shipments
	// owing are the invoices with money still to come (not cancelled, not
	// called paid by the ERP): the only ones Overdue need look at, where
	// walking every invoice every day cost more than the rest of the day.
	owing map[string]*arState
	// changed are the chains OverdueChanges must look at again, gone the
	// invoices of chains forgotten since, dueQ the chains of owed invoices
	// not yet due at passed (the latest cut-off asked about), by due date.
	// An entry of dueQ may be stale (the invoice paid or its due date moved
	// since): it then costs one look at the chain, nothing more.
	changed map[string]bool
	gone    []string
	dueQ    aged[string]
	passed  record.Date
	ages    ageQueue[string] // chains by touched, for Forget
}

type arState struct {
	id, chain string
	due       record.Date
	total     record.Money // negative for a credit note
	received  int64
	version   uint64
	cancelled bool
	// erpPaid is the ERP calling the invoice paid: it writes off a bank
	// fee's shortfall, which no bank line will ever bring.
	erpPaid bool
	matches map[string]bool // ids of the matches applied, so a replay is not money; made at the first
	paidOn  record.Date     // the latest money for it: a receipt, or the ERP calling it paid
}

// NewOrderToCash returns an empty tracker.
func NewOrderToCash() *OrderToCash {
	o := &OrderToCash{chains: map[string]*Chain{}, invoices: map[string]*arState{}, versions: map[string]uint64{}, owing: map[string]*arState{},
		changed: map[string]bool{}}
	// A chain is parked while money is owed on it; settle wakes it once it
	// is paid or cancelled.
	o.ages.woken = true
	return o
}

func (o *OrderToCash) chain(number string) *Chain {
	c := o.chains[number]
	if c == nil {
		c = &Chain{key: number, Number: number, Status: "ordered", Ordered: record.NoDate, Shipped: record.NoDate,
			Delivered: record.NoDate, Invoiced: record.NoDate, Paid: record.NoDate}
		if strings.HasPrefix(number, soloPrefix) {
			c.Number = "" // no order: the chain is the invoice alone
		}
		o.chains[number] = c
	}
	return c
}

// soloPrefix keys the chain of an AR invoice that bills no order (a
// service, a fee): it is owed and falls overdue like any other, so it
// gets a chain of its own, under a key no order number has.
const soloPrefix = "\x00"

// chainOf is the key of the chain an AR invoice belongs to.
func chainOf(full, orderRef string) string {
	if orderRef == "" {
		return soloPrefix + full
	}
	return orderRef
}

func (o *OrderToCash) stale(full string, v uint64) bool {
	if o.versions[full] > v {
		return true
	}
	o.versions[full] = v
	return false
}

// Add takes a sales order, shipment or AR invoice and returns the chain it
// moved, or nil.
func (o *OrderToCash) Add(r *record.Record) *Chain {
	c := o.add(r)
	if c != nil {
		o.touch(c, record.DateOf(r.EventTime))
	}
	return c
}

func (o *OrderToCash) add(r *record.Record) *Chain {
	full := r.Company + "/" + r.Source + "/" + r.ID
	switch b := r.Body.(type) {
	case *record.SalesOrder:
		if o.stale(full, r.Version) {
			return nil
		}
		c := o.chain(b.Number)
		c.Order, c.Ordered, c.cancelled = full, b.OrderDate, b.Status == "cancelled"
		o.settle(c)
		return c
	case *record.Shipment:
		if b.OrderRef == "" || o.stale(full, r.Version) {
			return nil
		}
		c := o.chain(b.OrderRef)
		c.Shipments = addOnce(c.Shipments, full)
		if b.Status == "shipped" || b.Status == "delivered" {
			c.Shipped = earliest(c.Shipped, b.ShipDate)
		}
		if b.Status == "delivered" && b.DeliveredDate != record.NoDate {
			c.Delivered = earliest(c.Delivered, b.DeliveredDate)
		}
		o.settle(c)
		return c
	case *record.Invoice:
		if b.Direction != "AR" {
			return nil
		}
		st := o.invoices[full]
		if st == nil {
			st = &arState{id: full, chain: chainOf(full, b.OrderRef)}
			o.invoices[full] = st
		} else if st.version > r.Version {
			return nil
		} else if k := chainOf(full, b.OrderRef); k != st.chain {
			// A new version names another order (or its first one, the
			// invoice having billed none): it leaves the chain it was on.
			if old := o.chains[st.chain]; old != nil {
				old.Invoices = slices.DeleteFunc(old.Invoices, func(id string) bool { return id == full })
				if len(old.Invoices) == 0 && old.Order == "" && len(old.Shipments) == 0 {
					// Its own chain, or one of a mistyped order nothing
					// else names: empty now, nothing to keep.
					delete(o.chains, old.key)
					o.ages.unpark(old.key)
				} else {
					o.changed[old.key] = true
					o.settle(old)
				}
			}
			st.chain = k
		}
		c := o.chains[st.chain]
		if c == nil {
			c = o.chain(st.chain)
		}
		c.lastMoney = max(c.lastMoney, st.paidOn) // a moved invoice's money comes with it
		c.Invoices = addOnce(c.Invoices, full)
		st.version, st.due, st.total = r.Version, b.DueDate, b.Total
		st.cancelled, st.erpPaid = b.Status == "cancelled", b.Status == "paid"
		if !st.cancelled {
			c.Invoiced = earliest(c.Invoiced, b.IssueDate)
		}
		if st.erpPaid {
			st.paidOn = max(st.paidOn, record.DateOf(r.EventTime))
			c.lastMoney = max(c.lastMoney, st.paidOn)
		}
		o.track(st)
		o.settle(c)
		return c
	}
	return nil
}

// Settled records what confirmed match matchID applied to an AR invoice,
// on the bank line's date, and returns the invoice's chain. A match
// applied before is not money again (a replay), and an invoice the tracker
// has not seen moves nothing (nil).
func (o *OrderToCash) Settled(matchID, invoice string, amount record.Money, on record.Date) *Chain {
	st := o.invoices[invoice]
	if st == nil || amount.Currency != st.total.Currency {
		return nil
	}
	c := o.chains[st.chain]
	if st.matches[matchID] {
		return c
	}
	if st.matches == nil {
		st.matches = map[string]bool{}
	}
	st.matches[matchID] = true
	st.received += amount.Minor
	st.paidOn = max(st.paidOn, on)
	o.track(st)
	c.lastMoney = max(c.lastMoney, on)
	o.touch(c, on)
	o.settle(c)
	return c
}

// Unsettled takes back what match matchID applied to an AR invoice (a
// person reversed the match); a match never applied changes nothing.
func (o *OrderToCash) Unsettled(matchID, invoice string, amount record.Money) *Chain {
	st := o.invoices[invoice]
	if st == nil || !st.matches[matchID] {
		return nil
	}
	delete(st.matches, matchID)
	st.received -= amount.Minor
	o.track(st)
	c := o.chains[st.chain]
	o.settle(c)
	return c
}

// touch moves the chain's touched date on to day, if later.
func (o *OrderToCash) touch(c *Chain, day record.Date) {
	if day > c.touched || !c.queued {
		c.touched, c.queued = max(c.touched, day), true
		o.ages.touch(c.touched, c.key)
	}
}

// track keeps an invoice in owing while it has money to come, and marks
// its chain for OverdueChanges: every change to an invoice comes through
// here.
func (o *OrderToCash) track(st *arState) {
	o.changed[st.chain] = true
	if !st.cancelled && !st.erpPaid && st.total.Minor > 0 && st.received < st.total.Minor {
		o.owing[st.id] = st
		if st.due > o.passed {
			o.dueQ.push(agedKey[string]{st.due, st.chain})
		}
	} else {
		delete(o.owing, st.id)
	}
}

// settle works out the chain's status from scratch: how far the goods and
// invoices got, then whether its invoices, net of credit notes, are paid
// in full, in part or not at all.
func (o *OrderToCash) settle(c *Chain) {
	defer o.wakeDone(c)
	c.Paid = record.NoDate
	switch {
	case c.cancelled:
		c.Status = "cancelled"
		return
	case c.Delivered != record.NoDate:
		c.Status = "delivered"
	case c.Shipped != record.NoDate:
		c.Status = "shipped"
	default:
		c.Status = "ordered"
	}
	// What is still to come, by currency: a credit note in one currency
	// pays nothing of an invoice in another.
	type owed struct {
		cur  record.Currency
		left int64
	}
	var buf [2]owed
	left := buf[:0]
	billed := 0
	some, allByERP := false, true
	for _, id := range c.Invoices {
		st := o.invoices[id]
		if st.cancelled {
			continue
		}
		billed++
		i := slices.IndexFunc(left, func(w owed) bool { return w.cur == st.total.Currency })
		if i < 0 {
			left, i = append(left, owed{cur: st.total.Currency}), len(left)
		}
		left[i].left += st.total.Minor - st.received
		some = some || st.received > 0 || st.erpPaid
		allByERP = allByERP && (st.erpPaid || st.total.Minor <= 0)
	}
	paid := !slices.ContainsFunc(left, func(w owed) bool { return w.left > 0 })
	switch {
	case billed == 0:
	case paid || allByERP:
		c.Status, c.Paid = "paid", c.lastMoney
	case some:
		c.Status = "partially_paid"
	default:
		c.Status = "invoiced"
	}
}

// Overdue lists the AR invoices due on or before cutoff with money still to
// come, in a fixed order. A chain's credit notes are netted against its
// invoices, oldest first, before anything is called overdue.
func (o *OrderToCash) Overdue(cutoff record.Date) []OverdueItem {
	// Only chains with an invoice due and not fully received can have
	// anything overdue; most chains are paid, so find those first rather
	// than walk every chain every day.
	due := map[string]bool{}
	for _, st := range o.owing {
		if st.due <= cutoff {
			due[st.chain] = true
		}
	}
	var out []OverdueItem
	for k := range due {
		out = o.chainOverdue(k, cutoff, out)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Invoice < out[j].Invoice })
	return out
}

// OverdueChanges is Overdue for a caller that keeps what it was told: it
// looks only at the chains that changed since the previous call (an
// invoice, a receipt, a reversal, the chain forgotten) or had an invoice
// fall due since the previous cut-off. Every other chain's items are as
// they were but for the days late, and walking them all every event day
// cost more than the rest of the day's end. checked lists, sorted, every
// invoice those chains held: one of them the caller had as overdue and
// that is not among items is no longer overdue. Cut-offs are meant to
// grow; an earlier one makes the next call look at every chain owed money.
func (o *OrderToCash) OverdueChanges(cutoff record.Date) (items []OverdueItem, checked []string) {
	if cutoff < o.passed {
		for _, st := range o.owing {
			o.changed[st.chain] = true
		}
		clear(o.dueQ)
		o.dueQ = o.dueQ[:0]
		for _, st := range o.owing {
			if st.due > cutoff {
				o.dueQ.push(agedKey[string]{st.due, st.chain})
			}
		}
	}
	o.passed = cutoff
	for len(o.dueQ) > 0 && o.dueQ[0].day <= cutoff {
		o.changed[o.dueQ.pop().key] = true
	}
	checked = append(checked, o.gone...)
	o.gone = o.gone[:0]
	for k := range o.changed {
		items = o.chainOverdue(k, cutoff, items)
		if c := o.chains[k]; c != nil {
			checked = append(checked, c.Invoices...)
		}
	}
	if len(o.changed) > 64 {
		o.changed = map[string]bool{} // clear costs a map's largest size, every day
	} else {
		clear(o.changed)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Invoice < items[j].Invoice })
	sort.Strings(checked)
	return items, checked
}

// chainOverdue appends the overdue items of chain k at cutoff to out.
func (o *OrderToCash) chainOverdue(k string, cutoff record.Date, out []OverdueItem) []OverdueItem {
	c := o.chains[k]
	if c == nil {
		return out
	}
	// Credit notes net against invoices of their own currency only. Most
	// chains have none, and no map.
	var credit map[record.Currency]int64
	for _, id := range c.Invoices {
		if st := o.invoices[id]; !st.cancelled && st.total.Minor < 0 {
			if credit == nil {
				credit = map[record.Currency]int64{}
			}
			credit[st.total.Currency] -= st.total.Minor
		}
	}
	for _, id := range c.Invoices {
		st := o.invoices[id]
		if st.cancelled || st.erpPaid || st.total.Minor <= 0 {
			continue
		}
		residual := st.total.Minor - st.received
		use := min(max(residual, 0), credit[st.total.Currency])
		if use > 0 {
			residual, credit[st.total.Currency] = residual-use, credit[st.total.Currency]-use
		}
		if residual <= 0 || st.due > cutoff {
			continue
		}
		it := OverdueItem{Invoice: st.id, Order: c.Order, DaysLate: int(cutoff - st.due),
			Residual: record.Money{Minor: residual, Currency: st.total.Currency}, Type: ExcUnderpaidOverdue}
		if st.received == 0 && use == 0 {
			it.Type = ExcUnpaidOverdue
		}
		out = append(out, it)
	}
	return out
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

// wakeDone has the next Forget look at c again once nothing is owed on it.
func (o *OrderToCash) wakeDone(c *Chain) {
	if c.Status == "paid" || c.Status == "cancelled" {
		o.ages.wake(c.key)
	}
}

// Forget drops the chains that are paid or cancelled and had no record
// since before cutoff (an event date), with their invoices, and returns
// how many. Chains with money still to come are kept however old: they
// are what Overdue reports.
func (o *OrderToCash) Forget(cutoff record.Date) int {
	n := 0
	o.ages.sweep(cutoff, func(k string) bool {
		c := o.chains[k]
		if c == nil || c.touched >= cutoff {
			return false
		}
		if c.Status != "paid" && c.Status != "cancelled" {
			return true // owed money: kept, and looked at again every sweep
		}
		for _, id := range c.Invoices {
			delete(o.invoices, id)
			delete(o.owing, id)
		}
		o.gone = append(o.gone, c.Invoices...)
		for _, id := range c.Shipments {
			delete(o.versions, id)
		}
		delete(o.versions, c.Order)
		delete(o.chains, k)
		o.ages.unpark(k)
		n++
		return false
	})
	return n
}
