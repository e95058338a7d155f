package match

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/erpflow/erpflow/pipeline/record"
)

// ExcUnbankedReceipt is an ERP receipt no bank line brought.
const ExcUnbankedReceipt = "unbanked_receipt"

// The ERP's own receipts (payment records with direction in: a 收款单, SAP's
// DZ) say two things. That cash came in: a receipt no credit line of the
// bank brought within UnmatchedDays is cash the books show and the account
// does not, a cheque that bounced or a clerk's slip, which finance must
// chase before the month closes. And which invoices the customer's money
// was applied to: once a line has brought a receipt's cash, and no other
// line could have as well, that is evidence for the line, as the ERP's
// marking an invoice paid is (cleared.go).

// receipt is an ERP receipt's latest version and the credit line that
// brought its cash, once one did. A withdrawn one (cancelled, returned,
// pending) is kept, to know its version, until forgotten.
type receipt struct {
	key       itemKey
	number    string
	party     string // the customer's match key
	account   string // the customer's account, as the receipt names it
	amount    record.Money
	value     record.Date
	refs      []string // invoice numbers it was applied to
	version   uint64
	withdrawn bool
	line      *lineState // the bank line that brought it; nil while none has
	// near is a line that could have brought it but was matched to other
	// documents: the ERP and matching disagree on what it paid.
	near   string
	raised bool // an unbanked_receipt stands
}

// sameCash says whether two versions of a receipt book the same money.
func (p *receipt) sameCash(q *receipt) bool {
	return p.amount == q.amount && p.value == q.value && p.party == q.party && p.account == q.account && slices.Equal(p.refs, q.refs)
}

// receiptID is the receipt's company/source/id.
func (rc *Reconciler) receiptID(p *receipt) string { return rc.full(p.key.source, p.key.id) }

// unbankedKey is where a receipt's unbanked exception waits in pending.
func unbankedKey(full string) string { return "unbanked|" + full }

// meetKey is what a receipt and the lines that could have brought it
// meet under: the customer's name key, its account, an invoice number.
type meetKey struct {
	kind uint8 // meetParty, meetAccount, meetRef
	s    string
}

const (
	meetParty uint8 = iota
	meetAccount
	meetRef
)

// receiptKeys appends a receipt's keys: its customer, the customer's
// account, the invoices it names.
func receiptKeys(p *receipt, keys []meetKey) []meetKey {
	if p.party != "" {
		keys = append(keys, meetKey{meetParty, p.party})
	}
	if p.account != "" {
		keys = append(keys, meetKey{meetAccount, p.account})
	}
	for _, n := range p.refs {
		keys = append(keys, meetKey{meetRef, n})
	}
	return keys
}

// lineKeys appends a credit line's keys: its payer as matching resolves
// it and as the bank names it, its account, and the numbers of the
// documents its match or proposal applies it to.
func (rc *Reconciler) lineKeys(st *lineState, keys []meetKey) []meetKey {
	if p := rc.payerParty(st.line); p != "" {
		keys = append(keys, meetKey{meetParty, p})
	}
	if k := st.line.PayerKey; k != "" && (len(keys) == 0 || keys[0].s != k) {
		keys = append(keys, meetKey{meetParty, k})
	}
	if st.line.PayerAccount != "" {
		keys = append(keys, meetKey{meetAccount, st.line.PayerAccount})
	}
	for _, p := range st.result.Parts {
		if n := rc.numberOf(p); n != "" {
			keys = append(keys, meetKey{meetRef, n})
		}
	}
	return keys
}

// numberOf is the number of the document a part applies money to.
func (rc *Reconciler) numberOf(p Part) string {
	if it := rc.Book().Get(p.Kind, p.Source, p.ID); it != nil {
		return it.Number
	}
	if k, ok := rc.known[itemKey{p.Kind, p.Source, p.ID}]; ok {
		return k.Number
	}
	return ""
}

// receiptIn takes an ERP receipt's version.
func (rc *Reconciler) receiptIn(r *record.Record, b *record.Payment, at time.Time, out *Output) {
	k := itemKey{r.Kind, r.Source, r.ID}
	old := rc.receipts[k]
	if old != nil && r.Version <= old.version {
		return
	}
	full := rc.full(r.Source, r.ID)
	p := &receipt{key: k, number: b.Number, party: partyKey(b.Party), account: b.CounterpartyAccount, amount: b.Amount,
		value: b.ValueDate, refs: slices.Clone(b.InvoiceRefs), version: r.Version, withdrawn: b.Status != "executed"}
	var freed *lineState
	if old != nil {
		freed = old.line
		rc.release(old)
		switch {
		case p.withdrawn:
			rc.settlePending(out, unbankedKey(full), "none: the ERP no longer books receipt "+b.Number+" as executed", at)
		case old.raised && !p.sameCash(old):
			rc.settlePending(out, unbankedKey(full), "none: the ERP amended receipt "+b.Number, at)
		default:
			p.raised = old.raised
		}
	}
	rc.receipts[k] = p
	rc.receiptAges.touch(p.value, k)
	if !p.withdrawn {
		if freed != nil && old.sameCash(p) && freed.receipt == nil {
			if _, ok := rc.fitOf(freed, p); ok {
				rc.bank(p, freed, rc.sole(p, freed), at, out) // the same cash, still brought by the same line
				return
			}
		}
		rc.seekLine(p, at, out, 0)
	}
	if freed != nil && freed.receipt == nil {
		rc.offer(freed, at, out)
	}
}

// release undoes what a receipt's version did: the line it was banked by
// is free again (the caller offers it to other receipts), its markings
// are withdrawn, and it waits no more.
func (rc *Reconciler) release(p *receipt) {
	if p.line != nil {
		rc.unbank(p)
		return
	}
	for _, key := range receiptKeys(p, nil) {
		unindex(rc.receiptsBy, key, p)
	}
}

// unbank parts a banked receipt from its line and withdraws the markings
// its evidence made: they were the line's only.
func (rc *Reconciler) unbank(p *receipt) {
	if p.line.receipt == p {
		p.line.receipt = nil
	}
	for _, n := range p.refs {
		if k, ok := rc.byNumber[n]; ok {
			if c, ok := rc.cleared.get(k); ok && c.by == p.number && c.line == p.line.id {
				rc.cleared.del(k)
			}
		}
	}
	p.line = nil
}

// seekLine banks a receipt on the credit line of the window that fits it
// best (fit), taking it from a receipt it fits less well, which then seeks
// another; without one, the receipt waits. depth bounds the chain of such
// moves, which each leave a line better fitted than before.
func (rc *Reconciler) seekLine(p *receipt, at time.Time, out *Output, depth int) {
	if rc.receipts[p.key] != p || p.withdrawn || p.line != nil {
		return // forgotten, replaced or withdrawn meanwhile, or banked
	}
	var best *lineState
	var bestFit fit
	var buf [4]meetKey
	keys := receiptKeys(p, buf[:0])
	for _, key := range keys {
		for _, st := range rc.creditsBy[key] {
			f, ok := rc.fitOf(st, p)
			if _, could := rc.brought(st.line, p); could && !ok && (p.near == "" || st.id < p.near) {
				p.near = st.id
			}
			if !ok || st.receipt != nil && (depth >= maxReceiptMoves || !f.beats(rc.fitOf(st, st.receipt))) {
				continue
			}
			if best == nil || f.better(bestFit, st.id, best.id) {
				best, bestFit = st, f
			}
		}
	}
	if best == nil {
		for _, key := range keys {
			index(rc.receiptsBy, key, p)
		}
		rc.receiptsDue.touch(p.value, p.key) // waiting: due for the bank by value + UnmatchedDays
		return
	}
	moved := best.receipt
	if moved != nil {
		rc.unbank(moved)
	}
	rc.bank(p, best, rc.sole(p, best), at, out)
	if moved != nil {
		rc.seekLine(moved, at, out, depth+1)
	}
}

// maxReceiptMoves bounds how many receipts one receipt's coming may move
// to other lines.
const maxReceiptMoves = 4

// sole says whether st is the only free line that fits p as well as it
// does, and fits it exactly: only then is the receipt evidence of what st
// paid. A customer whose standing orders repeat one amount pays it every
// few days, and the receipt of one of those lines says nothing about
// another; and a line short of the receipt by a fee may be another
// payment, the receipt's own line still to come.
func (rc *Reconciler) sole(p *receipt, st *lineState) bool {
	f, ok := rc.fitOf(st, p)
	if !ok || !f.exact {
		return false
	}
	var buf [4]meetKey
	for _, key := range receiptKeys(p, buf[:0]) {
		for _, o := range rc.creditsBy[key] {
			if o == st || o.receipt != nil && o.receipt != p {
				continue
			}
			if g, ok := rc.fitOf(o, p); ok && !f.beats(g, true) {
				return false
			}
		}
	}
	return true
}

// fit is how well a credit line fits a receipt. A customer's receipts of
// nearly equal amounts a few days apart are common (standing orders, a fee
// deducted from one), and the first line that could have brought one is
// often another's: the line whose match applied money to an invoice the
// receipt names fits best, then one that brought the amount exactly, then
// the nearest in date.
type fit struct {
	named, exact bool
	days         record.Date
}

// better says whether f (of line or receipt a) beats g (of b); the id
// breaks ties, so that the choice does not depend on map order.
func (f fit) better(g fit, a, b string) bool {
	if f.beats(g, true) || g.beats(f, true) {
		return f.beats(g, true)
	}
	return a < b
}

// beats says whether f is strictly the better fit; ok false (g is no fit
// at all) makes any fit better.
func (f fit) beats(g fit, ok bool) bool {
	switch {
	case !ok:
		return true
	case f.named != g.named:
		return f.named
	case f.exact != g.exact:
		return f.exact
	}
	return f.days < g.days
}

// fitOf is how well st's line fits receipt p, if it could have brought it.
// A line matched to documents the receipt does not name is the cash for
// those: the receipt's cash, if it came, is another line's (or the ERP
// applied it to the wrong invoice, which a person should look at too).
// Only a confirmed or accepted match names documents: a proposal in review
// is the rules' guess, which the receipt may be evidence against.
func (rc *Reconciler) fitOf(st *lineState, p *receipt) (fit, bool) {
	exact, ok := rc.brought(st.line, p)
	if !ok {
		return fit{}, false
	}
	f := fit{exact: exact, days: max(st.line.Date-p.value, p.value-st.line.Date)}
	if settled := st.result.Outcome == Confirmed || st.result.Outcome == Accepted; settled && len(st.result.Parts) > 0 {
		for _, part := range st.result.Parts {
			if slices.Contains(p.refs, rc.numberOf(part)) {
				f.named = true
			}
		}
		if !f.named && len(p.refs) > 0 {
			return fit{}, false
		}
	}
	return f, true
}

// creditSeen notes a credit line under its keys, for receipts still to
// come, and banks a waiting receipt it could have brought. It runs when
// the line comes and each time its match changes.
func (rc *Reconciler) creditSeen(line string, at time.Time, out *Output) {
	st := rc.lines[line]
	if st == nil || st.line.Direction != "credit" || st.line.Amount.Minor <= 0 {
		return
	}
	var buf [6]meetKey
	for _, key := range rc.lineKeys(st, buf[:0]) {
		if l := rc.creditsBy[key]; !slices.Contains(l, st) {
			rc.creditsBy[key] = append(l, st)
			rc.creditAges.touch(st.line.Date, key)
		}
	}
	if p := st.receipt; p != nil {
		if _, ok := rc.fitOf(st, p); ok {
			return
		}
		// The line's match now says it paid other documents: the
		// receipt's cash is another line's, if it came.
		rc.unbank(p)
		p.near = st.id
		rc.seekLine(p, at, out, 0)
	}
	rc.offer(st, at, out)
}

// offer banks on a free line the waiting receipt it fits best.
func (rc *Reconciler) offer(st *lineState, at time.Time, out *Output) {
	if st.receipt != nil || rc.lines[st.id] != st {
		return
	}
	var found *receipt
	var foundFit fit
	var buf [6]meetKey
	for _, key := range rc.lineKeys(st, buf[:0]) {
		for _, p := range rc.receiptsBy[key] {
			if f, ok := rc.fitOf(st, p); ok && (found == nil || f.better(foundFit, rc.receiptID(p), rc.receiptID(found))) {
				found, foundFit = p, f
			}
		}
	}
	if found != nil {
		for _, key := range receiptKeys(found, nil) {
			unindex(rc.receiptsBy, key, found)
		}
		rc.bank(found, st, rc.sole(found, st), at, out)
	}
}

// brought says whether line l could have brought receipt p's cash, and
// whether exactly: same currency, dated within ClearedDays of each other
// (the ERP books what the bank saw a day or two later, or a clerk books
// what a customer announced a day or two early), and the receipt's amount
// is what the line brought, with its reported charges (exact), or that
// less a fee within the tolerance.
func (rc *Reconciler) brought(l Line, p *receipt) (exact, ok bool) {
	w := record.Date(rc.set.ClearedDays)
	if l.Amount.Currency != p.amount.Currency || l.Date > p.value+w || p.value > l.Date+w {
		return false, false
	}
	got := l.Amount.Minor
	if got == p.amount.Minor || rc.appliedBy(l) == p.amount.Minor {
		return true, true
	}
	return false, p.amount.Minor > got && rc.feeFits(p.amount.Minor, p.amount.Minor-got, 1, l.Amount.Currency)
}

// bank records that line st brought receipt p, and resolves the unbanked
// exception on it, if one was raised. With sole, no other line could have
// brought it as well, and the receipt's applications are evidence of what
// st paid.
func (rc *Reconciler) bank(p *receipt, st *lineState, sole bool, at time.Time, out *Output) {
	p.line, st.receipt = st, p
	if p.raised {
		p.raised = false
		rc.settlePending(out, unbankedKey(rc.receiptID(p)), "none: bank line "+st.id+" brought it", at)
	}
	if sole {
		rc.receiptClears(p, st, at, out)
	}
}

// unbankedReceipts raises an exception for every receipt valued before
// cutoff that no line brought. It stays, and the receipt waits, until one
// does or the ERP withdraws it.
func (rc *Reconciler) unbankedReceipts(cutoff record.Date, at time.Time, out *Output) {
	var due []*receipt
	rc.receiptsDue.sweep(cutoff, func(k itemKey) bool {
		if p := rc.receipts[k]; p != nil && p.line == nil && !p.withdrawn && !p.raised && p.value < cutoff && !slices.Contains(due, p) {
			due = append(due, p)
		}
		return false
	})
	slices.SortFunc(due, func(a, b *receipt) int {
		return cmp.Or(cmp.Compare(a.value, b.value), cmp.Compare(a.key.source, b.key.source), cmp.Compare(a.key.id, b.key.id))
	})
	for _, p := range due {
		p.raised = true
		related := ""
		if len(p.refs) > 0 {
			if k, ok := rc.byNumber[p.refs[0]]; ok {
				related = rc.full(k.source, k.id)
			}
		}
		x := Exception{Type: ExcUnbankedReceipt, SubjectKind: record.KindPayment, Subject: rc.receiptID(p), Related: related, Amount: p.amount,
			Criteria: []Criterion{{"banked", false, fmt.Sprintf("no credit line of %s %s from the customer within %d days of %s",
				p.amount, p.amount.Currency, rc.set.ClearedDays, p.value)}},
			NextStep: fmt.Sprintf("ask the bank whether %s %s from the customer reached the account around %s; if it did not, reverse receipt %s in the ERP and reopen %s",
				p.amount, p.amount.Currency, p.value, p.number, joinRefs(p.refs))}
		if p.near != "" {
			// Not a missing transfer, most likely: a disagreement on
			// which invoice the customer's money paid.
			x.Reason = "applied_elsewhere"
			x.Criteria = []Criterion{{"banked", false, fmt.Sprintf("bank line %s brought %s %s from the customer, but matching applied it to other invoices than %s",
				p.near, p.amount, p.amount.Currency, joinRefs(p.refs))}}
			x.NextStep = fmt.Sprintf("check which invoice the customer's %s %s of %s paid: reverse the match of %s, or correct receipt %s in the ERP",
				p.amount, p.amount.Currency, p.value, p.near, p.number)
		}
		rc.raisePending(out, unbankedKey(rc.receiptID(p)), x, at)
	}
}

func joinRefs(refs []string) string {
	switch len(refs) {
	case 0:
		return "what it was applied to"
	case 1:
		return refs[0]
	}
	return fmt.Sprintf("%s and %d more", refs[0], len(refs)-1)
}

// creditDays is how long a credit line stays under its keys for receipts
// to find: a receipt may come until it is due (UnmatchedDays after its
// value date), and its line may be booked ClearedDays before that date.
func (rc *Reconciler) creditDays() record.Date {
	return record.Date(rc.set.UnmatchedDays + rc.set.ClearedDays)
}

// forgetReceipts drops the lines' keys older than any receipt still to
// come may reach back, and receipts valued before cut.
func (rc *Reconciler) forgetReceipts(d, cut record.Date) {
	old := d - rc.creditDays()
	rc.creditAges.sweep(old, func(key meetKey) bool {
		keep := slices.DeleteFunc(rc.creditsBy[key], func(st *lineState) bool { return st.line.Date < old })
		if len(keep) == 0 {
			delete(rc.creditsBy, key)
		} else {
			rc.creditsBy[key] = keep // its lines still in the window have turns of their own
		}
		return false
	})
	rc.receiptAges.sweep(cut, func(k itemKey) bool {
		p := rc.receipts[k]
		if p == nil || p.value >= cut {
			return false
		}
		rc.release(p)
		delete(rc.pending, unbankedKey(rc.receiptID(p)))
		delete(rc.receipts, k)
		return false
	})
}

// receiptClears takes a receipt's applications as the ERP's clearing of
// the open invoices it names, for line st only: in the order it names
// them, each invoice it covers is paid and the one it covers part of
// partly paid. An invoice settled already took its total of the receipt.
func (rc *Reconciler) receiptClears(p *receipt, st *lineState, at time.Time, out *Output) {
	if rc.set.ClearedDays < 1 || rc.engine.off(RuleERPCleared) {
		return
	}
	rest := p.amount.Minor
	book := rc.Book()
	for _, n := range p.refs {
		k, ok := rc.byNumber[n]
		if !ok || rest <= 0 {
			continue
		}
		it := book.Get(k.kind, k.source, k.id)
		if it == nil {
			if known, ok := rc.known[k]; ok && known.Total.Currency == p.amount.Currency {
				rest -= known.Total.Minor
			}
			continue
		}
		if it.Open.Currency != p.amount.Currency {
			continue
		}
		status := "paid"
		if rest < it.Open.Minor && !rc.feeFits(it.Open.Minor, it.Open.Minor-rest, 1, p.amount.Currency) {
			status = "partially_paid"
		}
		rest -= it.Open.Minor
		if _, ok := rc.cleared.get(k); ok {
			continue // the ERP's marking of the invoice came first, and says as much
		}
		rc.markCleared(k, clearing{day: record.DateOf(at), status: status, version: it.Version, by: p.number, line: st.id}, at, out)
	}
}
