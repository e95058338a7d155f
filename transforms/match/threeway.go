package match

import (
	"fmt"
	"slices"

	"github.com/erpflow/erpflow/pipeline/record"
)

// ThreeWayOutcome is what the three-way check made of a supplier invoice.
type ThreeWayOutcome string

// Outcomes of the three-way check. Only Mismatch is an exception; an
// invoice Awaiting its goods receipt is checked again when one arrives.
const (
	ThreeWayMatched  ThreeWayOutcome = "matched"
	ThreeWayMismatch ThreeWayOutcome = "mismatch"
	ThreeWayAwaiting ThreeWayOutcome = "awaiting_receipt"
	ThreeWayNoOrder  ThreeWayOutcome = "no_order"
)

// ThreeWayTolerance bounds how far a supplier invoice may bill beyond its
// purchase order and goods receipts. Billing less is never a mismatch: a
// supplier may invoice a delivery in parts.
type ThreeWayTolerance struct {
	// In basis points (1/100 of a percent), so that the limits are exact.
	QuantityBP int64        // billed over received, per SKU, all invoices of the order together
	PriceBP    int64        // unit price over the order's
	PriceAbs   record.Fixed // and an absolute allowance on the unit price
}

// DefaultThreeWayTolerance allows no extra quantity and half a percent on
// price, for rounding of converted or tax-inclusive unit prices.
func DefaultThreeWayTolerance() ThreeWayTolerance {
	return ThreeWayTolerance{PriceBP: 50}
}

// ThreeWayCheck is the result for one supplier invoice, with the reason a
// clerk can verify and what to do next.
type ThreeWayCheck struct {
	Invoice  string // company/source/id
	Order    string // the purchase order's company/source/id, when found
	Outcome  ThreeWayOutcome
	Reason   string // for a mismatch: quantity, price, sku (a SKU the order lacks), currency or cancelled_order
	Criteria []Criterion
	NextStep string
}

// ThreeWay holds, per company, the purchase orders, their goods receipts
// and what has been billed against them, and checks each supplier
// invoice when it arrives (again when a receipt it waited for arrives).
type ThreeWay struct {
	tol    ThreeWayTolerance
	orders map[orderKey]*orderState
	// invoices is each supplier invoice's newest version known, whatever
	// order it names (or none): whether it is withdrawn, and the order it
	// is billed against.
	invoices map[string]*apState
}

type apState struct {
	version   uint64
	cancelled bool
	order     orderKey // the order its newest version names; zero for none
	touched   record.Date
}

type orderKey struct{ company, number string }

type orderState struct {
	id        string
	cancelled bool
	currency  record.Currency         // of the order's total; zero when it has none
	ordered   map[string]record.Fixed // SKU → quantity
	price     map[string]record.Fixed // SKU → highest unit price on the order
	receipts  map[string][]record.Line
	invoices  map[string]*billedInvoice // by invoice id; a re-sent version replaces
	arrival   []string                  // invoice ids in the order they first came
	versions  map[string]uint64         // of the order and its receipts (invoices: ThreeWay.invoices)
	touched   record.Date               // event date of its latest record
}

type billedInvoice struct {
	lines     []record.Line
	currency  record.Currency
	cancelled bool
	verdict   string // outcome and reason last reported, to report changes only
}

// NewThreeWay returns a checker with tol.
func NewThreeWay(tol ThreeWayTolerance) *ThreeWay {
	return &ThreeWay{tol: tol, orders: map[orderKey]*orderState{}, invoices: map[string]*apState{}}
}

func (t *ThreeWay) order(company, number string) *orderState {
	k := orderKey{company, number}
	o := t.orders[k]
	if o == nil {
		o = &orderState{receipts: map[string][]record.Line{}, invoices: map[string]*billedInvoice{}, versions: map[string]uint64{}}
		t.orders[k] = o
	}
	return o
}

// stale says whether r is older than a version of it already taken.
func (o *orderState) stale(full string, v uint64) bool {
	if o.versions[full] > v {
		return true
	}
	o.versions[full] = v
	return false
}

// Add takes a purchase order, goods receipt or AP invoice in event-time
// order and returns the checks whose verdict it changed: any record of an
// order can change the verdict on each of its invoices (a receipt
// arriving or returned, an amended invoice). An unchanged verdict is not
// reported again, and a version older than one seen changes nothing.
func (t *ThreeWay) Add(r *record.Record) []ThreeWayCheck {
	full := r.Company + "/" + r.Source + "/" + r.ID
	var o *orderState
	var number string
	switch b := r.Body.(type) {
	case *record.PurchaseOrder:
		o, number = t.order(r.Company, b.Number), b.Number
		if o.stale(full, r.Version) {
			return nil
		}
		o.id, o.cancelled, o.currency = full, b.Status == "cancelled", b.Total.Currency
		o.ordered, o.price = map[string]record.Fixed{}, map[string]record.Fixed{}
		for _, l := range b.Lines {
			o.ordered[l.SKU] += l.Quantity
			o.price[l.SKU] = max(o.price[l.SKU], l.UnitPrice)
		}
	case *record.GoodsReceipt:
		o, number = t.order(r.Company, b.PORef), b.PORef
		if o.stale(full, r.Version) {
			return nil
		}
		if b.Status == "received" {
			o.receipts[full] = b.Lines
		} else {
			delete(o.receipts, full) // returned or cancelled: nothing received
		}
	case *record.Invoice:
		if b.Direction != "AP" {
			return nil
		}
		st := t.invoices[full]
		if st == nil {
			st = &apState{}
			t.invoices[full] = st
		} else if st.version > r.Version {
			return nil // older than what is known, under whichever order
		}
		if st.order.number != "" && st.order.number != b.OrderRef {
			// Billed against another order now (or none): the old one
			// checks it no more.
			if old := t.orders[st.order]; old != nil {
				delete(old.invoices, full)
				old.arrival = slices.DeleteFunc(old.arrival, func(id string) bool { return id == full })
			}
		}
		st.version, st.cancelled, st.order = r.Version, b.Status == "cancelled", orderKey{}
		st.touched = max(st.touched, record.DateOf(r.EventTime))
		if b.OrderRef == "" {
			return nil
		}
		st.order = orderKey{r.Company, b.OrderRef}
		// st.version above keeps the invoice's versions, under whichever
		// order they come.
		o, number = t.order(r.Company, b.OrderRef), b.OrderRef
		inv := o.invoices[full]
		if inv == nil {
			inv = &billedInvoice{}
			o.invoices[full] = inv
			o.arrival = append(o.arrival, full)
		}
		inv.lines, inv.cancelled, inv.currency = b.Lines, b.Status == "cancelled", b.Total.Currency
		if inv.cancelled {
			// Withdrawn, it is checked no more: should it be reinstated,
			// its verdict is news again.
			inv.verdict = ""
		}
	default:
		return nil
	}
	o.touched = max(o.touched, record.DateOf(r.EventTime))
	var out []ThreeWayCheck
	for _, id := range o.arrival {
		inv := o.invoices[id]
		if inv.cancelled {
			continue
		}
		c := t.check(o, number, id)
		if v := string(c.Outcome) + "/" + c.Reason; v != inv.verdict {
			inv.verdict = v
			out = append(out, c)
		}
	}
	return out
}

// check compares what the order's invoices bill, up to and including this
// one in the order they came, with what was ordered and received: the
// first invoice to go beyond the receipts is the one that tips it, and an
// earlier one stays good however often it is re-sent.
func (t *ThreeWay) check(o *orderState, number, invoice string) ThreeWayCheck {
	c := ThreeWayCheck{Invoice: invoice, Order: o.id}
	inv := o.invoices[invoice]
	switch {
	case o.id == "": // an order may arrive after its invoice
		c.Outcome = ThreeWayNoOrder
		c.Criteria = []Criterion{{"order", false, fmt.Sprintf("no purchase order %s", number)}}
		c.NextStep = "confirm the order number with the buyer before the invoice is approved"
		return c
	case o.cancelled:
		c.Outcome, c.Reason = ThreeWayMismatch, "cancelled_order"
		c.Criteria = []Criterion{{"order", false, fmt.Sprintf("purchase order %s is cancelled", number)}}
		c.NextStep = "hold the invoice and ask the supplier to withdraw it: the order was cancelled"
		return c
	case !o.currency.IsZero() && !inv.currency.IsZero() && o.currency != inv.currency:
		// Unit prices in two currencies say nothing of each other.
		c.Outcome, c.Reason = ThreeWayMismatch, "currency"
		c.Criteria = []Criterion{{"currency", false, fmt.Sprintf("billed in %s, ordered in %s", inv.currency, o.currency)}}
		c.NextStep = fmt.Sprintf("hold the invoice: ask the supplier to bill in %s as ordered, or the buyer to amend %s", o.currency, number)
		return c
	case len(o.receipts) == 0:
		c.Outcome = ThreeWayAwaiting
		c.Criteria = []Criterion{{"goods receipt", false, fmt.Sprintf("nothing received yet against %s", number)}}
		c.NextStep = "hold the supplier invoice until the goods receipt arrives"
		return c
	}
	received := map[string]record.Fixed{}
	for _, lines := range o.receipts {
		for _, l := range lines {
			received[l.SKU] += l.Quantity
		}
	}
	billed := map[string]record.Fixed{}
	for _, id := range o.arrival {
		if b := o.invoices[id]; !b.cancelled {
			for _, l := range b.lines {
				billed[l.SKU] += l.Quantity
			}
		}
		if id == invoice {
			break
		}
	}
	c.Outcome = ThreeWayMatched
	fail := func(reason, step string) {
		if c.Outcome == ThreeWayMatched {
			c.Outcome, c.Reason, c.NextStep = ThreeWayMismatch, reason, step
		}
	}
	seen := map[string]bool{}
	for _, l := range inv.lines {
		if seen[l.SKU] {
			continue
		}
		seen[l.SKU] = true
		ordered, onOrder := o.price[l.SKU]
		if !onOrder {
			c.Criteria = append(c.Criteria, Criterion{"sku " + l.SKU, false, "not on the purchase order"})
			fail("sku", fmt.Sprintf("hold payment: %s is not on %s; ask the buyer whether it was ordered", l.SKU, number))
			continue
		}
		if limit := t.allowQty(received[l.SKU]); billed[l.SKU] > limit {
			c.Criteria = append(c.Criteria, Criterion{"quantity " + l.SKU, false,
				fmt.Sprintf("billed %s, received %s, over by %s", billed[l.SKU], received[l.SKU], billed[l.SKU]-received[l.SKU])})
			fail("quantity", fmt.Sprintf("hold payment: ask the supplier for a credit note for %s of %s, or the warehouse for the missing goods receipt",
				billed[l.SKU]-received[l.SKU], l.SKU))
		} else {
			// The criteria of lines that agree are most of what a check
			// writes: joined, not formatted.
			c.Criteria = append(c.Criteria, Criterion{"quantity " + l.SKU, true, "billed " + billed[l.SKU].String() + " of " + received[l.SKU].String() + " received"})
		}
		for _, x := range inv.lines {
			if x.SKU != l.SKU {
				continue
			}
			if x.UnitPrice > t.allowPrice(ordered) {
				c.Criteria = append(c.Criteria, Criterion{"price " + l.SKU, false,
					fmt.Sprintf("billed %s, ordered at %s, over by %s", x.UnitPrice, ordered, x.UnitPrice-ordered)})
				fail("price", fmt.Sprintf("hold payment: ask the supplier for a credit note for the price difference on %s, or the buyer to amend %s",
					l.SKU, number))
			} else {
				c.Criteria = append(c.Criteria, Criterion{"price " + l.SKU, true, "billed " + x.UnitPrice.String() + ", ordered at " + ordered.String()})
			}
		}
	}
	return c
}

func (t *ThreeWay) allowQty(received record.Fixed) record.Fixed {
	return received + basisPoints(received, t.tol.QuantityBP)
}

func (t *ThreeWay) allowPrice(ordered record.Fixed) record.Fixed {
	return ordered + basisPoints(ordered, t.tol.PriceBP) + t.tol.PriceAbs
}

// basisPoints is bp/10000 of v, rounded toward zero, without overflowing
// for any v a Fixed or an amount in minor units can hold.
func basisPoints[T ~int64](v T, bp int64) T {
	return v/10000*T(bp) + v%10000*T(bp)/10000
}

// Withdrawn says whether the supplier invoice (company/source/id) is
// withdrawn as its newest version known stands.
func (t *ThreeWay) Withdrawn(invoice string) bool {
	st := t.invoices[invoice]
	return st != nil && st.cancelled
}

// Forget drops the orders with no record since before cutoff (an event
// date) and returns how many: a long-closed order's invoices are paid and
// no longer checked, and without ageing the state would grow with the
// history. An invoice naming a forgotten order later finds no order. The
// invoices' newest versions go with their orders (or, naming none, once
// quiet since before cutoff).
func (t *ThreeWay) Forget(cutoff record.Date, gone func(invoice string)) int {
	n := 0
	for id, st := range t.invoices {
		if st.touched < cutoff {
			if o := t.orders[st.order]; o == nil || o.touched < cutoff {
				delete(t.invoices, id)
			}
		}
	}
	for k, o := range t.orders {
		if o.touched < cutoff {
			if gone != nil {
				for id := range o.invoices {
					gone(id)
				}
			}
			delete(t.orders, k)
			n++
		}
	}
	return n
}
