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
	key     itemKey
	number  string
	party   string // the customer's match key
	account string // the customer's account, as the receipt names it
	amount  record.Money
	value   record.Date
	refs    []string // invoice numbers it was applied to
	version uint64
	method  string
	ours    string // our account it names, if any
	// withdrawn: cancelled, returned or pending; or of a method that does
	// not come to the bank as a line of its own (heldToBank): nothing to
	// hold to a line.
	withdrawn bool
	// unheld: due while no statement of its account had come; not raised.
	unheld bool
	line   *lineState // the bank line that brought it; nil while none has
	// near is a line that could have brought it but was matched to other
	// documents: the ERP and matching disagree on what it paid.
	near   string
	raised bool // an unbanked_receipt stands
	// indexed says the receipt is in receiptsBy, where lines find it
	// (banked, for a line that fits it better, or waiting).
	indexed bool
	// paid is what an executed receipt of another method (a draft, a
	// cheque, cash) paid of each invoice it names: money that no bank
	// line will bring. unpaid is what of it no invoice took yet (one it
	// names may come later).
	paid   []receiptPart
	unpaid int64
}

type receiptPart struct {
	key    itemKey
	amount record.Money
}

// sameCash says whether two versions of a receipt book the same money.
func (p *receipt) sameCash(q *receipt) bool {
	return p.amount == q.amount && p.value == q.value && p.party == q.party && p.account == q.account && p.ours == q.ours &&
		slices.Equal(p.refs, q.refs)
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
	// bucket is, for a customer or account key, the amount's bucket
	// (bucketOf): a busy customer's lines of three weeks are thousands,
	// and a receipt looks only at those of about its amount.
	bucket int64
}

const (
	meetParty uint8 = iota
	meetAccount
	meetRef
)

// bucketOf is the bucket of an amount, ten units of currency wide. A line
// that could have brought a receipt is at most a fee short of it (0.5 %,
// at most 50.00, by default), so a receipt's lines are in its amount's
// bucket and the few below.
func bucketOf(minor int64) int64 { return minor / 1000 }

// feeBelow is the most a line bringing amount may be short of it.
func (rc *Reconciler) feeBelow(amount int64) int64 {
	return min(rc.set.Rules.FeeMinor, basisPoints(amount, rc.set.Rules.FeeBP))
}

// receiptKeys appends a receipt's keys: its customer and the customer's
// account, in each bucket a line bringing it could be in, and the
// invoices it names.
func (rc *Reconciler) receiptKeys(p *receipt, keys []meetKey) []meetKey {
	lo, hi := bucketOf(max(p.amount.Minor-rc.feeBelow(p.amount.Minor), 0)), bucketOf(p.amount.Minor)
	for b := lo; b <= hi; b++ {
		if p.party != "" {
			keys = append(keys, meetKey{meetParty, p.party, b})
		}
		if p.account != "" {
			keys = append(keys, meetKey{meetAccount, p.account, b})
		}
	}
	for _, n := range p.refs {
		keys = append(keys, meetKey{meetRef, n, 0})
	}
	return keys
}

// lineKeys appends a credit line's keys: its payer as matching resolves
// it and as the bank names it, its account, and the numbers of the
// documents its match or proposal applies it to.
func (rc *Reconciler) lineKeys(st *lineState, keys []meetKey) []meetKey {
	b, withCharges := bucketOf(st.line.Amount.Minor), bucketOf(rc.appliedBy(st.line))
	payer := rc.payerParty(st.line)
	buckets := [2]int64{b, withCharges}
	n := 1
	if withCharges != b {
		n = 2
	}
	for _, bucket := range buckets[:n] {
		if payer != "" {
			keys = append(keys, meetKey{meetParty, payer, bucket})
		}
		if k := st.line.PayerKey; k != "" && k != payer {
			keys = append(keys, meetKey{meetParty, k, bucket})
		}
		if st.line.PayerAccount != "" {
			keys = append(keys, meetKey{meetAccount, st.line.PayerAccount, bucket})
		}
	}
	if settled := st.result.Outcome == Confirmed || st.result.Outcome == Accepted; settled {
		for _, p := range st.result.Parts {
			if n := rc.numberOf(p); n != "" {
				keys = append(keys, meetKey{meetRef, n, 0})
			}
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
		value: b.ValueDate, refs: slices.Clone(b.InvoiceRefs), version: r.Version, ours: b.BankAccount, method: b.Method,
		withdrawn: b.Status != "executed" || !heldToBank(b.Method)}
	var freed *lineState
	var reopened []itemKey
	if old != nil {
		freed = old.line
		rc.release(old)
		if b.Status == "executed" && paysOtherwise(b.Method) && old.sameCash(p) && old.paid != nil {
			// The same money again (an edit of another field): what it
			// paid stays paid.
			p.paid, p.unpaid, old.paid = old.paid, old.unpaid, nil
			for _, n := range p.refs {
				k, known := rc.byNumber[n]
				if !known {
					index(rc.paidBefore, n, p) // still to pay it when it comes
				} else if slices.Contains(rc.paidAgain[k], old) {
					index(rc.paidAgain, k, p) // still to pay it should it open again
				}
			}
		}
		reopened = rc.unpay(old, full)
		if stillPays := b.Status == "executed" && paysOtherwise(b.Method); !stillPays || !old.sameCash(p) {
			rc.settlePending(out, paidAgainKey(full), "none: the ERP withdrew or amended receipt "+b.Number, at)
		}
		switch {
		case p.withdrawn:
			rc.settlePending(out, unbankedKey(full), "none: the ERP no longer books receipt "+b.Number+" as a bank transfer received", at)
		case old.raised && !p.sameCash(old):
			rc.settlePending(out, unbankedKey(full), "none: the ERP amended receipt "+b.Number, at)
		default:
			p.raised, p.unheld = old.raised, old.unheld
		}
	}
	rc.receipts[k] = p
	rc.receiptAges.touch(p.value, k)
	if b.Status == "executed" && paysOtherwise(b.Method) && p.paid == nil {
		p.unpaid = p.amount.Minor
		for _, n := range p.refs {
			rc.payOtherwise(p, n, at, out)
		}
	}
	// What the old version paid and this one did not is open again: lines
	// waiting for such a document may take it now, and not before, lest
	// one take what the new version pays.
	rc.reopen(reopened, at, out)
	if p.withdrawn && old != nil && !old.withdrawn {
		rc.receiptRow(p, "removed", at, out)
	}
	if !p.withdrawn {
		rc.indexReceipt(p)
		if freed != nil && old.sameCash(p) && freed.receipt == nil && rc.lines[freed.id] == freed {
			if _, ok := rc.fitOf(freed, p); ok {
				rc.bank(p, freed, at, out) // the same cash, still brought by the same line
				return
			}
		}
		rc.seekLine(p, at, out, 0)
	}
	if freed != nil && freed.receipt == nil {
		rc.offer(freed, at, out, 0)
	}
}

// paidAgainKey is where a receipt's paid-twice exception waits in pending.
func paidAgainKey(full string) string { return "paid_again|" + full }

// heldToBank says whether a receipt of this method comes to the bank as
// a line of its own: a transfer, or a cheque once deposited. A method not
// given is taken for a transfer.
func heldToBank(method string) bool {
	return method == "bank_transfer" || method == "cheque" || method == ""
}

// paysOtherwise says whether a receipt of this method pays its invoices
// without a bank line of its own: a bank acceptance draft, held to
// maturity or discounted; cash; a card, settled by the acquirer in
// batches. A method of neither kind ("other") does nothing.
func paysOtherwise(method string) bool {
	return method == "draft" || method == "cash" || method == "card"
}

// payOtherwise takes an executed receipt of another method than a
// transfer as payment of invoice number n, up to what it still owes and
// the receipt has left: the invoice leaves the book or is open for less
// (no bank line is to pay that part, and the ERP's marking it paid is no
// evidence about a line), and order to cash counts the money received.
// An invoice not known yet takes its part when it comes (invoiceCame).
func (rc *Reconciler) payOtherwise(p *receipt, n string, at time.Time, out *Output) {
	if p.unpaid <= 0 {
		return
	}
	k, ok := rc.byNumber[n]
	if !ok {
		index(rc.paidBefore, n, p)
		return
	}
	book := rc.Book()
	it := book.Get(k.kind, k.source, k.id)
	if it == nil {
		// Settled already (by a line or another receipt): the customer
		// paid it twice, or a match took the wrong invoice. Either way a
		// person looks; should it open again (a reversal, a withdrawal),
		// the receipt pays it then.
		paidByItself := slices.ContainsFunc(p.paid, func(q receiptPart) bool { return q.key == k })
		if known, ok := rc.known[k]; ok && !paidByItself && known.Total.Currency == p.amount.Currency && known.Total.Minor > 0 {
			index(rc.paidAgain, k, p)
			amt := record.Money{Minor: min(p.unpaid, known.Total.Minor), Currency: known.Total.Currency}
			full := rc.receiptID(p)
			rc.raisePending(out, paidAgainKey(full), Exception{Type: ExcOverpayment, Reason: "paid_twice", SubjectKind: record.KindPayment,
				Subject: full, Related: rc.full(k.source, k.id), Amount: amt,
				Criteria: []Criterion{{"open", false, fmt.Sprintf("%s was settled before receipt %s paid it by %s", known.Number, p.number, p.method)}},
				NextStep: fmt.Sprintf("%s was paid already: check the match that settled it (erpflow recon matches), then return the customer's %s %s or hold it on account",
					known.Number, amt, amt.Currency)}, at)
		}
		return
	}
	if it.Open.Currency != p.amount.Currency || it.Open.Minor <= 0 {
		return
	}
	part := record.Money{Minor: min(p.unpaid, it.Open.Minor), Currency: it.Open.Currency}
	p.unpaid -= part.Minor
	book.Settle(it, part)
	// The ERP marking it paid in the days after is this receipt's doing,
	// no line's evidence.
	rc.settledOn[k] = max(rc.settledOn[k], rc.day)
	if known, ok := rc.known[k]; ok {
		rc.touchKnown(k, &known, known.touched, true) // paid today: forgotten from today
		rc.known[k] = known
	}
	full := rc.receiptID(p)
	rc.o2c.Settled("receipt|"+full, rc.full(k.source, k.id), part, p.value)
	p.paid = append(p.paid, receiptPart{k, part})
	rc.itemNow(k, at, out)
}

// invoiceCame applies to a new AR invoice the receipts of other methods
// that named it before it came.
func (rc *Reconciler) invoiceCame(n string, at time.Time, out *Output) {
	ps := rc.paidBefore[n]
	if len(ps) == 0 {
		return
	}
	delete(rc.paidBefore, n)
	for _, p := range ps {
		if rc.receipts[p.key] == p {
			rc.payOtherwise(p, n, at, out)
		}
	}
}

// unpay takes back what a receipt of another method paid, and returns
// the invoices it put back in the book, quietly: the caller reopens them
// (reopen) once a new version has paid what it pays.
func (rc *Reconciler) unpay(p *receipt, full string) []itemKey {
	for _, n := range p.refs {
		unindex(rc.paidBefore, n, p)
		if k, ok := rc.byNumber[n]; ok {
			unindex(rc.paidAgain, k, p)
		}
	}
	book := rc.Book()
	var back []itemKey
	for _, part := range p.paid {
		rc.o2c.Unsettled("receipt|"+full, rc.full(part.key.source, part.key.id), part.amount)
		var it OpenItem
		if held := book.Get(part.key.kind, part.key.source, part.key.id); held != nil {
			it = *held
			it.Open.Minor += part.amount.Minor
		} else if k, ok := rc.known[part.key]; ok {
			it = k
			it.Open = record.Money{Minor: min(part.amount.Minor, k.Total.Minor), Currency: k.Total.Currency}
		} else {
			continue // forgotten: nothing to reopen
		}
		book.Put(it)
		back = append(back, part.key)
	}
	p.paid = nil
	return back
}

// reopen reports invoices a receipt's withdrawal or amendment put back in
// the book, and retries the receipts that found them paid already and
// the lines waiting for such documents.
func (rc *Reconciler) reopen(keys []itemKey, at time.Time, out *Output) {
	book := rc.Book()
	for _, k := range keys {
		rc.openAgain(k, at, out)
		it := book.Get(k.kind, k.source, k.id)
		if it == nil {
			rc.itemNow(k, at, out)
			continue
		}
		ms := rc.engine.PutItem(rc.company, *it)
		rc.item(out, *it, "open", at)
		for _, m := range ms {
			rc.lineOutcome(m, at, out)
		}
	}
}

// openAgain has the receipts of other methods that found invoice k paid
// already pay it, now it is open again: their paid-twice is over.
func (rc *Reconciler) openAgain(k itemKey, at time.Time, out *Output) {
	ps := rc.paidAgain[k]
	if len(ps) == 0 {
		return
	}
	delete(rc.paidAgain, k)
	number := rc.known[k].Number
	for _, p := range ps {
		if rc.receipts[p.key] != p {
			continue
		}
		rc.settlePending(out, paidAgainKey(rc.receiptID(p)), "none: "+number+" is open again, and the receipt pays it", at)
		rc.payOtherwise(p, number, at, out)
	}
}

// itemNow reports an invoice's state in the open-items table after a
// receipt of another method paid part or all of it.
func (rc *Reconciler) itemNow(k itemKey, at time.Time, out *Output) {
	if it := rc.Book().Get(k.kind, k.source, k.id); it != nil {
		rc.item(out, *it, "open", at)
		return
	}
	if known, ok := rc.known[k]; ok {
		known.Open = record.Money{Currency: known.Total.Currency}
		rc.item(out, known, "settled", at)
	}
}

// indexReceipt puts a receipt where lines find it, until the last day a
// line could still bring it (creditDays after its value date).
func (rc *Reconciler) indexReceipt(p *receipt) {
	var buf [8]meetKey
	for _, key := range rc.receiptKeys(p, buf[:0]) {
		index(rc.receiptsBy, key, p)
	}
	p.indexed = true
	rc.receiptIdx.touch(p.value+rc.creditDays(), p.key)
}

func (rc *Reconciler) unindexReceipt(p *receipt) {
	if !p.indexed {
		return
	}
	var buf [8]meetKey
	for _, key := range rc.receiptKeys(p, buf[:0]) {
		unindex(rc.receiptsBy, key, p)
	}
	p.indexed = false
}

// release undoes what a receipt's version did: the line it was banked by
// is free again (the caller offers it to other receipts), its markings
// are withdrawn, and lines find it no more.
func (rc *Reconciler) release(p *receipt) {
	if p.line != nil {
		rc.unbank(p)
	}
	rc.unindexReceipt(p)
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
	p.near = ""
	var buf [8]meetKey
	for _, key := range rc.receiptKeys(p, buf[:0]) {
		for _, st := range rc.creditsBy[key] {
			if _, could := rc.brought(st, p); !could || rc.lines[st.id] != st {
				continue
			}
			f, ok := rc.fitOf(st, p)
			if !ok {
				if p.near == "" || st.id < p.near {
					p.near = st.id
				}
				continue
			}
			if st.receipt != nil && (depth >= maxReceiptMoves || !f.beats(rc.fitOf(st, st.receipt))) {
				continue
			}
			if best == nil || f.better(bestFit, st.id, best.id) {
				best, bestFit = st, f
			}
		}
	}
	if best == nil {
		if !p.indexed {
			rc.indexReceipt(p)
		}
		rc.receiptsDue.touch(p.value, p.key) // waiting: due for the bank by value + UnmatchedDays
		rc.receiptRow(p, "open", at, out)
		return
	}
	moved := best.receipt
	if moved != nil {
		rc.unbank(moved)
	}
	rc.bank(p, best, at, out)
	if moved != nil {
		rc.seekLine(moved, at, out, depth+1)
	}
}

// maxReceiptMoves bounds how many receipts one receipt or line's coming
// may move to other lines.
const maxReceiptMoves = 4

// sole says whether st brought p exactly and no other line of the window
// could have brought it at all: only then is the receipt evidence of what
// st paid. A customer whose standing orders repeat one amount pays it
// every few days, and the receipt of one of those lines says nothing about
// another (the ERP's value date is a day or two off as often as not); a
// line short of the receipt by a fee may be another payment, the
// receipt's own line still to come.
func (rc *Reconciler) sole(p *receipt, st *lineState) bool {
	if f, ok := rc.fitOf(st, p); !ok || !f.exact {
		return false
	}
	var buf [8]meetKey
	for _, key := range rc.receiptKeys(p, buf[:0]) {
		for _, o := range rc.creditsBy[key] {
			if o == st || rc.lines[o.id] != o {
				continue
			}
			if _, ok := rc.fitOf(o, p); ok {
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
	exact, ok := rc.brought(st, p)
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
// come, and banks the receipt it fits best. It runs when the line comes
// and each time its match changes.
func (rc *Reconciler) creditSeen(line string, at time.Time, out *Output) {
	st := rc.lines[line]
	if st == nil || st.line.Direction != "credit" || st.line.Amount.Minor <= 0 {
		return
	}
	var buf [8]meetKey
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
		rc.seekLine(p, at, out, 0)
	}
	rc.offer(st, at, out, 0)
}

// offer banks on a free line the receipt it fits best: one waiting, or
// one banked on a line it fits less well, which is then offered in turn.
func (rc *Reconciler) offer(st *lineState, at time.Time, out *Output, depth int) {
	if st.receipt != nil || rc.lines[st.id] != st {
		return
	}
	var found *receipt
	var foundFit fit
	var buf [8]meetKey
	for _, key := range rc.lineKeys(st, buf[:0]) {
		for _, p := range rc.receiptsBy[key] {
			f, ok := rc.fitOf(st, p)
			if !ok || p.line != nil && (depth >= maxReceiptMoves || !f.beats(rc.fitOf(p.line, p))) {
				continue
			}
			if found == nil || f.better(foundFit, rc.receiptID(p), rc.receiptID(found)) {
				found, foundFit = p, f
			}
		}
	}
	if found == nil {
		return
	}
	left := found.line
	if left != nil {
		rc.unbank(found)
	}
	rc.bank(found, st, at, out)
	if left != nil {
		rc.offer(left, at, out, depth+1)
	}
}

// brought says whether st's line could have brought receipt p's cash, and
// whether exactly: same currency and, when both say, our same account;
// dated within ClearedDays of each other (the ERP books what the bank saw
// a day or two later, or a clerk books what a customer announced a day or
// two early); and the receipt's amount is what the line brought, with its
// reported charges (exact), or that less a fee within the tolerance (not
// the whole-unit fixed fee the rules allow a quoted invoice: among a
// busy customer's lines of a few weeks, one is a few units short of
// almost any receipt).
func (rc *Reconciler) brought(st *lineState, p *receipt) (exact, ok bool) {
	l := st.line
	w := record.Date(rc.set.ClearedDays)
	if l.Amount.Currency != p.amount.Currency || l.Date > p.value+w || p.value > l.Date+w ||
		p.ours != "" && st.account != "" && p.ours != st.account {
		return false, false
	}
	got := l.Amount.Minor
	if got == p.amount.Minor || rc.appliedBy(l) == p.amount.Minor {
		return true, true
	}
	return false, p.amount.Minor > got && p.amount.Minor-got <= rc.feeBelow(p.amount.Minor)
}

// bank records that line st brought receipt p, and resolves the unbanked
// exception on it, if one was raised. When no other line could have
// brought it as well (sole), the receipt's applications are evidence of
// what st paid.
func (rc *Reconciler) bank(p *receipt, st *lineState, at time.Time, out *Output) {
	p.line, st.receipt = st, p
	rc.receiptRow(p, "settled", at, out)
	if !p.indexed {
		rc.indexReceipt(p) // a line that fits it better may yet come
	}
	if p.raised {
		p.raised = false
		rc.settlePending(out, unbankedKey(rc.receiptID(p)), "none: bank line "+st.id+" brought it", at)
	}
	if rc.sole(p, st) {
		rc.receiptClears(p, st, at, out)
	}
}

// receiptRow reports a receipt's state in the open-items table: open, at
// its amount, while no line has brought it; settled once one has; removed
// once the ERP withdrew it. An analyst sees there the receipts the bank
// has not brought yet, before they are due.
func (rc *Reconciler) receiptRow(p *receipt, status string, at time.Time, out *Output) {
	open := p.amount
	if status != "open" {
		open.Minor = 0
	}
	rc.item(out, OpenItem{Kind: record.KindPayment, Source: p.key.source, ID: p.key.id, Number: p.number, Direction: "in",
		PartyKey: p.party, Total: p.amount, Open: open, DueDate: p.value}, status, at)
}

// unbankedReceipts raises an exception for every receipt valued before
// cutoff that no line brought. It stays, and the receipt waits, until one
// does or the ERP withdraws it. A receipt into an account whose
// statements have not come is not held to the bank.
func (rc *Reconciler) unbankedReceipts(cutoff record.Date, at time.Time, out *Output) {
	var due []*receipt
	seen := map[*receipt]bool{}
	rc.receiptsDue.sweep(cutoff, func(k itemKey) bool {
		if p := rc.receipts[k]; p != nil && !seen[p] && p.line == nil && !p.withdrawn && !p.raised && !p.unheld && p.value < cutoff {
			seen[p] = true
			if p.ours != "" && !rc.accounts[p.ours] {
				p.unheld = true
			} else {
				due = append(due, p)
			}
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

// creditDays is how long a credit line and a receipt stay where the other
// finds them: a receipt may come until it is due (UnmatchedDays after its
// value date), and its line may be booked ClearedDays before that date.
// A statement later than that does not resolve a receipt raised unbanked.
func (rc *Reconciler) creditDays() record.Date {
	return record.Date(rc.set.UnmatchedDays + rc.set.ClearedDays)
}

// forgetReceipts drops the lines' keys older than any receipt still to
// come may reach back, the receipts lines can no longer bring from
// receiptsBy, and receipts valued before cut.
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
	rc.receiptIdx.sweep(d, func(k itemKey) bool {
		if p := rc.receipts[k]; p != nil && p.value+rc.creditDays() < d {
			rc.unindexReceipt(p)
		}
		return false
	})
	rc.receiptAges.sweep(cut, func(k itemKey) bool {
		p := rc.receipts[k]
		if p == nil || p.value >= cut {
			return false
		}
		rc.release(p)
		for _, n := range p.refs {
			unindex(rc.paidBefore, n, p)
		}
		for _, n := range p.refs {
			if k, ok := rc.byNumber[n]; ok {
				unindex(rc.paidAgain, k, p)
			}
		}
		delete(rc.pending, unbankedKey(rc.receiptID(p)))
		delete(rc.pending, paidAgainKey(rc.receiptID(p)))
		delete(rc.receipts, k)
		return false
	})
}

// receiptClears takes a receipt's applications as the ERP's clearing of
// the open invoices it names, for line st only: in the order it names
// them, each invoice it covers is paid and the one it covers part of
// partly paid. An invoice settled already took its total of the receipt.
// The day is the event day matching has reached (a person's decision may
// bring it about at a wall-clock time of its own).
func (rc *Reconciler) receiptClears(p *receipt, st *lineState, at time.Time, out *Output) {
	if rc.set.ClearedDays < 1 || rc.engine.off(RuleERPCleared) {
		return
	}
	rest := p.amount.Minor
	book := rc.Book()
	for _, n := range p.refs {
		if p.line != st {
			return // a marking's retry matched the line to other documents, and the receipt left it
		}
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
		rc.markCleared(k, clearing{day: rc.day, status: status, version: it.Version, by: p.number, line: st.id}, at, out)
	}
}
