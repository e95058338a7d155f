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
// DZ) say two things. Which invoices a customer's money was applied to:
// that is evidence for the line in review that brought it, as the ERP's
// marking an invoice paid is (cleared.go). And that cash came in: a receipt
// no credit line of the bank brought within UnmatchedDays is cash the books
// show and the account does not, a cheque that bounced or a clerk's slip,
// which finance must chase before the month closes.

// receipt is an executed ERP receipt and the credit line that brought its
// cash, once one did.
type receipt struct {
	key     itemKey
	number  string
	party   string // the customer's match key
	account string // the customer's account, as the receipt names it
	amount  record.Money
	value   record.Date
	refs    []string // invoice numbers it was applied to
	version uint64
	line    string // the bank line that brought it; "" while none has
	// near is a line that could have brought it but was matched to other
	// documents: the ERP and matching disagree on what it paid.
	near   string
	raised bool // an unbanked_receipt stands
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
	if b.Status != "executed" {
		// Withdrawn (cancelled, returned) or not booked yet: nothing to
		// bank, and an unbanked exception on it is over.
		if old != nil {
			rc.dropReceipt(old)
		}
		rc.settlePending(out, unbankedKey(full), "none: the ERP no longer books receipt "+b.Number+" as executed", at)
		return
	}
	p := &receipt{key: k, number: b.Number, party: partyKey(b.Party), account: b.CounterpartyAccount, amount: b.Amount,
		value: b.ValueDate, refs: slices.Clone(b.InvoiceRefs), version: r.Version}
	if old != nil {
		if old.line != "" && old.amount == p.amount && old.value == p.value && old.party == p.party {
			p.line = old.line // the same cash, still brought by the same line
		}
		p.raised = old.raised
		rc.dropReceipt(old)
	}
	rc.receipts[k] = p
	rc.receiptAges.touch(p.value, k)
	rc.receiptClears(p, r, out)
	if st := rc.lines[p.line]; p.line != "" && st != nil {
		if _, ok := rc.fitOf(st, p); ok {
			st.receipt = p
			return
		}
	}
	p.line = ""
	rc.seekLine(p, at, out, 0)
}

// dropReceipt forgets a receipt and frees the line that brought it.
func (rc *Reconciler) dropReceipt(p *receipt) {
	if p.line != "" {
		if st := rc.lines[p.line]; st != nil && st.receipt == p {
			st.receipt = nil
		}
	} else {
		for _, key := range receiptKeys(p, nil) {
			unindex(rc.receiptsBy, key, p)
		}
	}
	delete(rc.receipts, p.key)
}

// seekLine banks a receipt on the credit line of the window that fits it
// best (fit), taking it from a receipt it fits less well, which then seeks
// another; without one, the receipt waits. depth bounds the chain of such
// moves, which each leave a line better fitted than before.
func (rc *Reconciler) seekLine(p *receipt, at time.Time, out *Output, depth int) {
	best, bestFit := "", fit{}
	var buf [4]meetKey
	keys := receiptKeys(p, buf[:0])
	for _, key := range keys {
		for _, st := range rc.creditsBy[key] {
			_, could := rc.brought(st.line, p)
			if !could {
				continue
			}
			id := st.id
			f, ok := rc.fitOf(st, p)
			if !ok && (p.near == "" || id < p.near) {
				p.near = id
			}
			if !ok || st.receipt != nil && (depth >= maxReceiptMoves || !f.beats(rc.fitOf(st, st.receipt))) {
				continue
			}
			if best == "" || f.better(bestFit, id, best) {
				best, bestFit = id, f
			}
		}
	}
	if best == "" {
		for _, key := range keys {
			index(rc.receiptsBy, key, p)
		}
		rc.receiptsDue.touch(p.value, p.key) // waiting: due for the bank by value + UnmatchedDays
		return
	}
	moved := rc.lines[best].receipt
	if moved != nil {
		moved.line = ""
	}
	rc.bank(p, best, at, out)
	if moved != nil {
		rc.seekLine(moved, at, out, depth+1)
	}
}

// maxReceiptMoves bounds how many receipts one receipt's coming may move
// to other lines.
const maxReceiptMoves = 4

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
func (rc *Reconciler) fitOf(st *lineState, p *receipt) (fit, bool) {
	exact, ok := rc.brought(st.line, p)
	if !ok {
		return fit{}, false
	}
	f := fit{exact: exact, days: max(st.line.Date-p.value, p.value-st.line.Date)}
	for _, part := range st.result.Parts {
		if slices.Contains(p.refs, rc.numberOf(part)) {
			f.named = true
		}
	}
	if !f.named && len(p.refs) > 0 && len(st.result.Parts) > 0 && (st.result.Outcome == Confirmed || st.result.Outcome == Accepted) {
		return fit{}, false
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
	keys := rc.lineKeys(st, buf[:0])
	for _, key := range keys {
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
		st.receipt, p.line, p.near = nil, "", line
		rc.seekLine(p, at, out, 0)
	}
	var found *receipt
	var foundFit fit
	for _, key := range keys {
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
		rc.bank(found, line, at, out)
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

// bank records that line brought receipt p, and resolves the unbanked
// exception on it, if one was raised.
func (rc *Reconciler) bank(p *receipt, line string, at time.Time, out *Output) {
	full := rc.receiptID(p)
	p.line = line
	rc.lines[line].receipt = p
	if p.raised {
		p.raised = false
		rc.settlePending(out, unbankedKey(full), "none: bank line "+line+" brought it", at)
	}
}

// unbankedReceipts raises an exception for every receipt valued before
// cutoff that no line brought. It stays, and the receipt waits, until one
// does or the ERP withdraws it.
func (rc *Reconciler) unbankedReceipts(cutoff record.Date, at time.Time, out *Output) {
	var due []*receipt
	rc.receiptsDue.sweep(cutoff, func(k itemKey) bool {
		if p := rc.receipts[k]; p != nil && p.line == "" && !p.raised && p.value < cutoff && !slices.Contains(due, p) {
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

// forgetReceipts drops the lines' keys older than the window any receipt
// still to come may reach back, and receipts valued before cut.
func (rc *Reconciler) forgetReceipts(d, cut record.Date) {
	old := d - 2*record.Date(rc.set.ClearedDays)
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
		if p.line == "" {
			for _, key := range receiptKeys(p, nil) {
				unindex(rc.receiptsBy, key, p)
			}
		} else if st := rc.lines[p.line]; st != nil && st.receipt == p {
			st.receipt = nil
		}
		delete(rc.pending, unbankedKey(rc.receiptID(p)))
		delete(rc.receipts, k)
		return false
	})
}

// receiptClears takes a receipt's applications as the ERP's clearing of
// the open invoices it names, in the order it names them: each invoice it
// covers is paid, the one it covers part of partly paid.
func (rc *Reconciler) receiptClears(p *receipt, r *record.Record, out *Output) {
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
		if it == nil || it.Open.Currency != p.amount.Currency {
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
		rc.markCleared(k, clearing{day: record.DateOf(r.EventTime), status: status, by: p.number}, r.EventTime, out)
	}
}
