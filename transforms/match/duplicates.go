package match

import (
	"fmt"

	"github.com/erpflow/erpflow/pipeline/record"
)

// DuplicatePayment is an outgoing payment that looks like one already
// made: same supplier, same amount, a near value date, another number.
type DuplicatePayment struct {
	Subject  string // the later payment's company/source/id
	Original string // the earlier one's
	Amount   record.Money
	Criteria []Criterion
	NextStep string
}

// Duplicates watches outgoing payments from the moment they are drawn up,
// so that a duplicate is caught while it can still be stopped. Two
// payments are one too many when they go to the same party for the same
// amount within Window days of value date and, where both name the
// invoices they pay, share one of them: recurring equal bills (rent, a
// subscription) name different invoices and pass. Of the two, the one
// drawn up later is the duplicate, whichever of them changes next.
type Duplicates struct {
	Window int // days between value dates
	byKey  map[dupKey][]*drawn
	byID   map[string]*drawn
	seq    uint64
	// now is the latest event date seen. Memory is aged on it, not on
	// value dates, which a payment scheduled ahead would push forward.
	now, swept record.Date
}

type dupKey struct {
	company, party string
	amount         record.Money
}

type drawn struct {
	id, number string
	key        dupKey
	value      record.Date
	refs       []string
	version    uint64
	seq        uint64      // when first drawn up
	touched    record.Date // event date of the latest version
	active     bool        // false once cancelled or returned
	flagged    bool        // already reported as a duplicate
}

// NewDuplicates returns a watcher with a window of days.
func NewDuplicates(window int) *Duplicates {
	return &Duplicates{Window: window, byKey: map[dupKey][]*drawn{}, byID: map[string]*drawn{}}
}

// Add takes records in event-time order and returns the duplicate payments
// they reveal, each once. A version older than one already seen changes
// nothing.
func (d *Duplicates) Add(r *record.Record) []DuplicatePayment {
	b, ok := r.Body.(*record.Payment)
	if !ok || b.Direction != "out" {
		return nil
	}
	full := r.Company + "/" + r.Source + "/" + r.ID
	day := record.DateOf(r.EventTime)
	d.now = max(d.now, day)
	old := d.byID[full]
	if old != nil && old.version > r.Version {
		return nil
	}
	p := &drawn{id: full, number: b.Number, key: dupKey{r.Company, b.Party.ID, b.Amount}, value: b.ValueDate, refs: b.InvoiceRefs,
		version: r.Version, touched: day, active: b.Status != "cancelled" && b.Status != "returned"}
	if p.key.party == "" {
		p.key.party = "name:" + b.Party.Name
	}
	if old != nil {
		p.seq, p.flagged = old.seq, old.flagged
		d.remove(full)
	} else {
		d.seq++
		p.seq = d.seq
	}
	d.byID[full] = p
	defer d.expire()
	if !p.active {
		return nil // money that never left, or came back, duplicates nothing
	}
	var out []DuplicatePayment
	for _, o := range d.byKey[p.key] {
		days := int(p.value - o.value)
		if days < 0 {
			days = -days
		}
		if o.number == p.number || days > d.Window {
			continue
		}
		shared, crit := sharedRef(o.refs, p.refs)
		if !shared {
			continue
		}
		dup, orig := p, o
		if o.seq > p.seq {
			dup, orig = o, p
		}
		if dup.flagged {
			continue
		}
		dup.flagged = true
		out = append(out, DuplicatePayment{Subject: dup.id, Original: orig.id, Amount: b.Amount,
			Criteria: []Criterion{
				{"party", true, fmt.Sprintf("both to %s", b.Party.ID)},
				{"amount", true, fmt.Sprintf("both %s %s", b.Amount, b.Amount.Currency)},
				{"value date", true, fmt.Sprintf("%d days apart (window %d)", days, d.Window)},
				{"number", true, fmt.Sprintf("%s drawn up after %s", dup.number, orig.number)}, crit},
			NextStep: fmt.Sprintf("stop %s if not yet sent, else ask the supplier to refund %s %s", dup.number, b.Amount, b.Amount.Currency)})
	}
	d.byKey[p.key] = append(d.byKey[p.key], p)
	return out
}

// sharedRef says whether two payments may pay the same bills: they share
// an invoice, or one of them does not say which it pays.
func sharedRef(a, b []string) (bool, Criterion) {
	if len(a) == 0 || len(b) == 0 {
		return true, Criterion{"invoices", true, "not named on both; party, amount and date decide"}
	}
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true, Criterion{"invoices", true, "both pay " + x}
			}
		}
	}
	return false, Criterion{}
}

func (d *Duplicates) remove(id string) {
	p := d.byID[id]
	if p == nil {
		return
	}
	delete(d.byID, id)
	list := d.byKey[p.key]
	for i, o := range list {
		if o == p {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(d.byKey, p.key)
	} else {
		d.byKey[p.key] = list
	}
}

// expire forgets payments whose value date and latest version are both
// more than a window behind the latest event date, once a day of event
// time, so that memory follows the window, not the history.
func (d *Duplicates) expire() {
	if d.now <= d.swept {
		return
	}
	d.swept = d.now
	var old []string
	for id, o := range d.byID {
		if int(d.now-o.value) > d.Window && int(d.now-o.touched) > d.Window {
			old = append(old, id)
		}
	}
	for _, id := range old {
		d.remove(id)
	}
}
