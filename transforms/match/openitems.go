package match

import (
	"sort"

	"github.com/erpflow/erpflow/pipeline/record"
)

// OpenItem is a document with money still to settle: an invoice, an
// approved expense claim, an ERP payment not yet seen at the bank.
type OpenItem struct {
	Kind record.Kind
	// touched is when the reconciler last changed or settled its copy of
	// the document, to forget it in time (it sits in Kind's padding).
	touched   record.Date
	Source    string
	ID        string
	Number    string // the number remittances quote
	OrderRef  string // the order it bills, which remittances quote too
	Direction string // AR/AP for invoices, in/out for payments
	PartyID   string
	PartyKey  string       // the party name's match key (clean.MatchKey)
	Total     record.Money // the document's amount
	Open      record.Money // what is still to settle, in Total's currency
	IssueDate record.Date
	DueDate   record.Date
	Version   uint64
	seq       uint64 // arrival order, the last tie-breaker of candidate lists
}

type itemKey struct {
	kind       record.Kind
	source, id string
}

type amountKey struct {
	cur   record.Currency
	minor int64
}

// Book is one company's open items, indexed by number, party and open
// amount, so a candidate search is a map lookup, not a scan. Candidate
// lists come back in a fixed order (due date, then arrival), so the same
// input gives the same matches. A Book is not safe for concurrent use: the
// matching stage owns one per company.
type Book struct {
	items    map[itemKey]*OpenItem
	byNumber map[string][]*OpenItem
	byParty  map[string][]*OpenItem
	byAmount map[amountKey][]*OpenItem
	seq      uint64
	// gone, if set, hears of every item that leaves the book (settled,
	// removed, or put again with nothing open).
	gone func(itemKey)
}

// NewBook returns an empty book.
func NewBook() *Book {
	return &Book{items: map[itemKey]*OpenItem{}, byNumber: map[string][]*OpenItem{},
		byParty: map[string][]*OpenItem{}, byAmount: map[amountKey][]*OpenItem{}}
}

// Len is the number of open items.
func (b *Book) Len() int { return len(b.items) }

// Put adds an open item or replaces the one with its kind, source and id:
// an amended invoice replaces its older version. An item of an older version
// than the one held is ignored; one with nothing open is removed.
func (b *Book) Put(it OpenItem) {
	k := itemKey{it.Kind, it.Source, it.ID}
	if old, ok := b.items[k]; ok {
		if it.Version < old.Version {
			return
		}
		it.seq = old.seq
		b.unindex(old)
		delete(b.items, k)
	} else {
		b.seq++
		it.seq = b.seq
	}
	if it.Open.Minor == 0 {
		b.left(k)
		return
	}
	p := &it
	b.items[k] = p
	b.index(p)
}

// index files an item under its number, order reference, party and open
// amount.
func (b *Book) index(p *OpenItem) {
	b.byNumber[p.Number] = append(b.byNumber[p.Number], p)
	if p.OrderRef != "" && p.OrderRef != p.Number {
		b.byNumber[p.OrderRef] = append(b.byNumber[p.OrderRef], p)
	}
	if p.PartyKey != "" {
		b.byParty[p.PartyKey] = append(b.byParty[p.PartyKey], p)
	}
	ak := amountKey{p.Open.Currency, p.Open.Minor}
	b.byAmount[ak] = append(b.byAmount[ak], p)
}

// Get returns the open item of a kind, source and id, or nil.
func (b *Book) Get(k record.Kind, source, id string) *OpenItem {
	return b.items[itemKey{k, source, id}]
}

// Remove drops an item (cancelled, or settled elsewhere).
func (b *Book) Remove(k record.Kind, source, id string) {
	key := itemKey{k, source, id}
	if it, ok := b.items[key]; ok {
		b.unindex(it)
		delete(b.items, key)
		b.left(key)
	}
}

func (b *Book) left(k itemKey) {
	if b.gone != nil {
		b.gone(k)
	}
}

// Settle takes amount off an item's open amount, removing it when nothing
// is left. It refuses to settle more than is open, or in another currency:
// no document is ever matched beyond its amount.
func (b *Book) Settle(it *OpenItem, amount record.Money) bool {
	if !b.CanSettle(it, amount) {
		return false
	}
	b.unindex(it)
	delete(b.items, itemKey{it.Kind, it.Source, it.ID})
	rest := *it
	rest.Open.Minor -= amount.Minor
	if rest.Open.Minor > 0 {
		b.items[itemKey{it.Kind, it.Source, it.ID}] = &rest
		b.index(&rest)
	} else {
		b.left(itemKey{it.Kind, it.Source, it.ID})
	}
	return true
}

// CanSettle says whether Settle would take amount off it: money of its
// currency, more than nothing and no more than is open.
func (b *Book) CanSettle(it *OpenItem, amount record.Money) bool {
	return amount.Currency == it.Open.Currency && amount.Minor > 0 && amount.Minor <= it.Open.Minor
}

// ByNumber returns the open items with a document number or order
// reference.
func (b *Book) ByNumber(n string) []*OpenItem { return ordered(b.byNumber[n]) }

// ByParty returns the open items of a party match key.
func (b *Book) ByParty(key string) []*OpenItem { return ordered(b.byParty[key]) }

// HasParty says whether a party has anything open.
func (b *Book) HasParty(key string) bool { return len(b.byParty[key]) > 0 }

// ByAmount returns the open items whose open amount is exactly m.
func (b *Book) ByAmount(m record.Money) []*OpenItem {
	return ordered(b.byAmount[amountKey{m.Currency, m.Minor}])
}

// ordered copies a candidate list in due-date, then arrival order.
func ordered(list []*OpenItem) []*OpenItem {
	if len(list) == 0 {
		return nil
	}
	out := append([]*OpenItem(nil), list...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].DueDate != out[j].DueDate {
			return out[i].DueDate < out[j].DueDate
		}
		return out[i].seq < out[j].seq
	})
	return out
}

func (b *Book) unindex(it *OpenItem) {
	drop(b.byNumber, it.Number, it)
	if it.OrderRef != "" && it.OrderRef != it.Number {
		drop(b.byNumber, it.OrderRef, it)
	}
	if it.PartyKey != "" {
		drop(b.byParty, it.PartyKey, it)
	}
	ak := amountKey{it.Open.Currency, it.Open.Minor}
	list := b.byAmount[ak]
	for i, x := range list {
		if x == it {
			list[i] = list[len(list)-1]
			list[len(list)-1] = nil
			list = list[:len(list)-1]
			break
		}
	}
	if len(list) == 0 {
		delete(b.byAmount, ak)
	} else {
		b.byAmount[ak] = list
	}
}

// drop removes it from m[k] without keeping order (lists are ordered on
// read), deleting the key when the list empties.
func drop(m map[string][]*OpenItem, k string, it *OpenItem) {
	list := m[k]
	for i, x := range list {
		if x == it {
			list[i] = list[len(list)-1]
			list[len(list)-1] = nil
			list = list[:len(list)-1]
			break
		}
	}
	if len(list) == 0 {
		delete(m, k)
	} else {
		m[k] = list
	}
}
