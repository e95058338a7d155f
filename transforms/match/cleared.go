package match

import (
	"fmt"
	"slices"
	"time"

	"github.com/erpflow/erpflow/pipeline/record"
)

// The ERP's own clearing settles what the rules leave to a person. When a
// customer pays one of several equal invoices without a reference, the
// rules cannot tell which (and never pick one); but the ERP's receivables
// clerk knows, and marks that invoice paid a day or two later. A bank line
// in review whose candidates include exactly one set of invoices the ERP
// has since cleared, with no other line competing for them, is confirmed
// with that evidence in its explanation; so is a waiting line its payer's
// cleared invoices make up.

// clearing is an AR invoice the ERP reported paid or partly paid while it
// was open in the book.
type clearing struct {
	day     record.Date
	status  string
	version uint64 // the invoice's
	by      string // the ERP receipt that applied money to it, if one did
	// line, for a receipt's marking, is the line that brought the
	// receipt's cash: the marking is evidence for that line only.
	line string
}

// note says what the ERP did to the invoice numbered number.
func (c clearing) note(number string) string {
	if c.by != "" {
		return fmt.Sprintf("%s %s on %s by receipt %s", number, c.status, c.day, c.by)
	}
	return fmt.Sprintf("%s %s on %s", number, c.status, c.day)
}

// clearedSet holds the clearings by item. A line in review is tried again
// each time the ERP marks one of its payer's invoices, and asks for each of
// its some seventy candidates whether the ERP cleared it, where a company
// has some twenty clearings waiting: a count of the clearings per slot of a
// cheap hash of the document id answers most of those questions no without
// hashing the key.
type clearedSet struct {
	m     map[itemKey]clearing
	slots [256]uint16
}

func newClearedSet() clearedSet { return clearedSet{m: map[itemKey]clearing{}} }

// clearedSlot mixes the id's length and last four bytes, where document
// numbers differ.
func clearedSlot(id string) uint8 {
	h := uint32(len(id))
	for i := max(0, len(id)-4); i < len(id); i++ {
		h = h*31 + uint32(id[i])
	}
	return uint8(h ^ h>>8 ^ h>>16)
}

func (c *clearedSet) get(k itemKey) (clearing, bool) {
	if c.slots[clearedSlot(k.id)] == 0 {
		return clearing{}, false
	}
	v, ok := c.m[k]
	return v, ok
}

func (c *clearedSet) put(k itemKey, v clearing) {
	if _, ok := c.m[k]; !ok {
		c.slots[clearedSlot(k.id)]++
	}
	c.m[k] = v
}

func (c *clearedSet) del(k itemKey) {
	if _, ok := c.m[k]; ok {
		c.slots[clearedSlot(k.id)]--
		delete(c.m, k)
	}
}

func (c *clearedSet) len() int { return len(c.m) }

// clearedAs says whether the ERP's clearing of p, as line may use it,
// has this status.
func (rc *Reconciler) clearedAs(p Part, line, status string) bool {
	c, ok := rc.clearingFor(itemKey{p.Kind, p.Source, p.ID}, line)
	return ok && c.status == status
}

// clearingFor is the ERP's clearing of k if line may use it: a status
// marking any line may, a receipt's only the line that brought it.
func (rc *Reconciler) clearingFor(k itemKey, line string) (clearing, bool) {
	c, ok := rc.cleared.get(k)
	if !ok || c.line != "" && c.line != line {
		return clearing{}, false
	}
	return c, true
}

// erpStatus notes an AR invoice version's status. A change to paid or
// partially_paid (or a newer partially_paid: a later instalment) while the
// invoice is open in the book is a clearing; the review lines listing it
// are tried again.
func (rc *Reconciler) erpStatus(r *record.Record, status string, out *Output) {
	if rc.set.ClearedDays < 1 || rc.engine.off(RuleERPCleared) {
		return
	}
	if status != "paid" && status != "partially_paid" {
		return
	}
	k := itemKey{record.KindInvoice, r.Source, r.ID}
	if rc.Book().Get(k.kind, k.source, k.id) == nil {
		return // settled by a line already, or never opened
	}
	prev, ok := rc.cleared.get(k)
	if ok && (r.Version <= prev.version || prev.status == status && status == "paid" && prev.line == "") {
		return // (a receipt's marking, for its line only, gives way to the ERP's own, for any)
	}
	rc.markCleared(k, clearing{day: record.DateOf(r.EventTime), status: status, version: r.Version}, r.EventTime, out)
}

// markCleared notes the ERP's clearing c of the open AR invoice k, by a
// status or a receipt, and tries again the lines it may settle.
func (rc *Reconciler) markCleared(k itemKey, c clearing, at time.Time, out *Output) {
	day := c.day
	if s, ok := rc.settledOn[k]; ok && s <= day && s >= day-record.Date(rc.set.ClearedDays) {
		return // the ERP booking a part a line of ours paid lately, not another line's
	}
	rc.cleared.put(k, c)
	if c.line != "" {
		// A receipt's marking: its line only.
		rc.settleCleared(c.line, at, out)
		if l, ok := rc.waiting[c.line]; ok {
			if it := rc.Book().Get(k.kind, k.source, k.id); it != nil && it.PartyKey != "" {
				rc.settleWaiting(l, it, at, out)
			}
		}
		return
	}
	lines := slices.Clone(rc.reviewBy[k])
	if it := rc.Book().Get(k.kind, k.source, k.id); it.PartyKey != "" {
		// The payer's other lines in review may be made up by it too.
		lines = append(lines, rc.reviewByParty[it.PartyKey]...)
	}
	for _, line := range lines {
		rc.settleCleared(line, at, out)
	}
	// Lines that matched nothing and wait, from the invoice's payer: a
	// long run without a reference is more than the subset rule tries.
	if it := rc.Book().Get(k.kind, k.source, k.id); it != nil && it.PartyKey != "" {
		for _, l := range rc.engine.WaitingFor(rc.company, it) {
			if l.Date <= day && l.Date >= day-record.Date(rc.set.ClearedDays) {
				rc.settleWaiting(l, it, at, out)
			}
		}
	}
}

// settleWaiting confirms a waiting line that the payer's invoices cleared
// by the ERP in its window make up, when no other waiting line of the
// payer in that window brought the same amount.
func (rc *Reconciler) settleWaiting(l Line, cleared *OpenItem, at time.Time, out *Output) {
	id := rc.full(l.Source, l.ID)
	st := rc.lines[id]
	if st == nil || st.result.Outcome != Unmatched || l.Direction != "credit" {
		return
	}
	window := record.Date(rc.set.ClearedDays)
	near := func(d record.Date) bool { return d >= l.Date && d <= l.Date+window }
	party := cleared.PartyKey
	for _, o := range rc.engine.WaitingFor(rc.company, cleared) {
		if o.ID != l.ID || o.Source != l.Source {
			if o.Amount == l.Amount && o.Date+window >= l.Date && o.Date <= l.Date+window {
				return // two such lines: which one the ERP cleared is a person's call
			}
		}
	}
	pick, why := rc.clearedTail(l, nil, party, id, near)
	if pick == nil {
		return
	}
	book := rc.Book()
	for _, p := range pick {
		book.Settle(book.Get(p.Kind, p.Source, p.ID), p.Amount)
		rc.cleared.del(itemKey{p.Kind, p.Source, p.ID}) // a marking settles one line
	}
	rc.engine.Unwait(rc.company, id)
	delete(rc.waiting, id)
	m := Match{Line: id, Outcome: Confirmed, Rule: "erp_cleared", Score: rc.set.Rules.Confirm, Parts: pick, Candidates: 1,
		Criteria: []Criterion{
			{"party", true, "payer name matches the customer"},
			{"erp", true, "the ERP marked " + joinNotes(why)},
			{"amount", true, clearedAmount(len(pick))},
			{"unambiguous", true, "no other line of the payer in the window brought the same amount"},
		}}
	m.ID = matchID(m)
	rc.decided(m, l, at, "", "", out)
}

// feeFits says whether n documents of sum may take a line that brought
// over less: a fee within the tolerance, or a whole fixed fee within the
// absolute bound on one document, as the engine's rules allow.
func (rc *Reconciler) feeFits(sum, over int64, n int, cur record.Currency) bool {
	if rc.engine.withinFee(sum, over) {
		return true
	}
	return n == 1 && !rc.engine.off(RuleFixedFee) && over <= rc.set.Rules.FeeMinor && wholeUnits(over, cur)
}

// settleCleared confirms a line in review when exactly one of its
// candidates is all cleared by the ERP within the window after the line's
// date, or the payer's cleared invoices make it up, and no other line
// could have been cleared by the same markings (competing).
func (rc *Reconciler) settleCleared(line string, at time.Time, out *Output) {
	st := rc.lines[line]
	if st == nil || st.result.Outcome != Review || st.line.Direction != "credit" {
		return
	}
	window := record.Date(rc.set.ClearedDays)
	near := func(d record.Date) bool { return d >= st.line.Date && d <= st.line.Date+window }
	book := rc.Book()
	cands := 1 + len(st.result.Alternatives) // the proposal, then the others
	var pick []Part
	var why []string
	for i := range cands {
		parts := st.result.Parts
		if i > 0 {
			parts = st.result.Alternatives[i-1]
		}
		var notes []string
		ok := len(parts) > 0
		for _, p := range parts {
			// Most candidates (a line in review keeps some seventy) have
			// a part the ERP has not marked: that is looked up first.
			k := itemKey{p.Kind, p.Source, p.ID}
			c, isCleared := rc.clearingFor(k, line)
			if !isCleared || !near(c.day) {
				ok = false
				break
			}
			it := book.Get(p.Kind, p.Source, p.ID)
			if it == nil || it.Open.Currency != p.Amount.Currency || it.Open.Minor < p.Amount.Minor ||
				c.line == "" && rc.competing(k, line, c.day, c.status == "partially_paid") {
				ok = false
				break
			}
			notes = append(notes, c.note(it.Number))
		}
		if !ok {
			continue
		}
		if pick != nil {
			return // two candidates cleared: still a person's call
		}
		pick, why = parts, notes
	}
	// Without a cleared candidate, the payer's cleared invoices may make
	// up the line on their own: the rules proposed the wrong ones.
	if tail, notes := rc.clearedTail(st.line, pick, st.reviewParty[0], line, near); tail != nil {
		pick, why = append(slices.Clip(pick), tail...), append(why, notes...)
	} else if pick == nil && st.reviewParty[1] != "" && st.reviewParty[1] != st.reviewParty[0] {
		pick, why = rc.clearedTail(st.line, nil, st.reviewParty[1], line, near)
	}
	// The line's money must be accounted for: less than it brought
	// waits for the ERP to clear the rest. More than it brought is a fee
	// within the tolerance, or the part of one invoice the ERP calls
	// partly paid; anything else is not this line's to settle.
	if pick == nil {
		return
	}
	switch rest := rc.unapplied(st.line, pick); {
	case rest > 0:
		return
	case rest < 0 && !rc.feeFits(-rest+rc.appliedBy(st.line), -rest, len(pick), st.line.Amount.Currency):
		if len(pick) != 1 || !rc.clearedAs(pick[0], line, "partially_paid") {
			return
		}
		pick = []Part{pick[0]}
		pick[0].Amount.Minor = rc.appliedBy(st.line)
	}
	for _, p := range pick {
		book.Settle(book.Get(p.Kind, p.Source, p.ID), p.Amount)
		rc.cleared.del(itemKey{p.Kind, p.Source, p.ID}) // a marking settles one line
	}
	m := st.result
	m.Outcome, m.Parts, m.Alternatives = Confirmed, pick, nil
	m.Rule = "erp_cleared"
	m.Score = max(m.Score, rc.set.Rules.Confirm)
	m.Criteria = []Criterion{
		{"candidates", true, fmt.Sprintf("%d candidates were in review by %s", cands, st.result.Rule)},
		{"erp", true, "the ERP marked " + joinNotes(why)},
		{"unambiguous", true, "no other candidate cleared, and no other line in review could have been cleared by the same marking"},
	}
	m.ID = matchID(m)
	rc.decided(m, st.line, at, "", "", out)
}

// competing says whether a line in review other than line lists k among
// its candidates and could have been cleared on day as well.
//
// With wide, the payer's other lines in review or waiting in the window
// compete too, listed or not: for a part the ERP calls partly paid (any
// line's part), and for an invoice no rule proposed (found among the
// payer's cleared invoices, so in no line's candidates).
func (rc *Reconciler) competing(k itemKey, line string, day record.Date, wide bool) bool {
	window := record.Date(rc.set.ClearedDays)
	inWindow := func(d record.Date) bool { return day >= d && day <= d+window }
	for _, other := range rc.reviewBy[k] {
		if o := rc.lines[other]; other != line && o != nil && inWindow(o.line.Date) {
			return true
		}
	}
	it := rc.Book().Get(k.kind, k.source, k.id)
	if !wide || it == nil || it.PartyKey == "" {
		return false
	}
	for _, other := range rc.reviewByParty[it.PartyKey] {
		if o := rc.lines[other]; other != line && o != nil && inWindow(o.line.Date) {
			return true
		}
	}
	for _, w := range rc.engine.WaitingFor(rc.company, it) {
		if rc.full(w.Source, w.ID) != line && inWindow(w.Date) {
			return true
		}
	}
	return false
}

func joinNotes(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return fmt.Sprintf("%s and %d more: %v", s[0], len(s)-1, s[1:])
}

// indexReview keeps the review indexes in step with a line's outcome: the
// items of every candidate of a line in review point to it, and so does
// the party of them all.
func (rc *Reconciler) indexReview(line string, old, now Match) {
	st := rc.lines[line]
	if old.Outcome == Review {
		for _, parts := range append([][]Part{old.Parts}, old.Alternatives...) {
			for _, p := range parts {
				unindex(rc.reviewBy, itemKey{p.Kind, p.Source, p.ID}, line)
			}
		}
		if st != nil {
			for _, p := range st.reviewParty {
				if p != "" {
					unindex(rc.reviewByParty, p, line)
				}
			}
			st.reviewParty = [2]string{}
		}
	}
	if now.Outcome != Review {
		return
	}
	cands := append([][]Part{now.Parts}, now.Alternatives...)
	for _, parts := range cands {
		for _, p := range parts {
			index(rc.reviewBy, itemKey{p.Kind, p.Source, p.ID}, line)
		}
	}
	if st == nil {
		return
	}
	// The candidates' party, and the payer's own: a garbled reference
	// can name another customer's invoices.
	st.reviewParty = [2]string{rc.partyOf(cands), rc.payerParty(st.line)}
	for _, p := range st.reviewParty {
		if p != "" {
			index(rc.reviewByParty, p, line)
		}
	}
}

// payerParty is the party key a line's payer name stands for: an alias
// learned, or the name's own key.
func (rc *Reconciler) payerParty(l Line) string {
	key, _ := rc.engine.payer(l)
	return key
}

func index[K, V comparable](m map[K][]V, k K, v V) {
	if !slices.Contains(m[k], v) {
		m[k] = append(m[k], v)
	}
}

func unindex[K, V comparable](m map[K][]V, k K, v V) {
	if rest := slices.DeleteFunc(m[k], func(x V) bool { return x == v }); len(rest) > 0 {
		m[k] = rest
	} else {
		delete(m, k)
	}
}

// forgetCleared drops clearings too old to settle any line still to come,
// and settlements too old to explain a clearing.
func (rc *Reconciler) forgetCleared(d record.Date) {
	cut := d - record.Date(rc.set.ClearedDays)
	for k, c := range rc.cleared.m {
		if c.day < cut {
			rc.cleared.del(k)
		}
	}
	for k, s := range rc.settledOn {
		if s < cut {
			delete(rc.settledOn, k)
		}
	}
}

// clearedTail finds the rest of a line the picked candidate leaves
// unapplied: a remittance text cut short names only the first invoices of
// a long batch. The payer's other invoices the ERP cleared in the window,
// with no other line in review competing for them, are taken when all of
// them together make up the rest exactly, or less a bank fee.
func (rc *Reconciler) clearedTail(l Line, pick []Part, party, line string, near func(record.Date) bool) ([]Part, []string) {
	rest := rc.unapplied(l, pick)
	if rest <= 0 || party == "" {
		return nil, nil
	}
	var tail []Part
	var marks []clearedMark // the notes, written only for a tail returned
	var sum int64
	for _, it := range rc.clearedOf(party, line) {
		k := itemKey{it.Kind, it.Source, it.ID}
		c, _ := rc.clearingFor(k, line)
		// A credit note is netted by a person; a document a person took
		// away from this line stays away.
		if !near(c.day) || it.Open.Currency != l.Amount.Currency || it.Open.Minor <= 0 || rc.engine.isRejected(line, k) ||
			c.line == "" && rc.competing(k, line, c.day, true) ||
			slices.ContainsFunc(pick, func(p Part) bool { return p.Kind == it.Kind && p.Source == it.Source && p.ID == it.ID }) {
			continue
		}
		tail = append(tail, Part{it.Kind, it.Source, it.ID, it.Open})
		marks = append(marks, clearedMark{it.Number, c})
		sum += it.Open.Minor
	}
	// One invoice the ERP calls partly paid takes what is left of the line
	// when that is one of its equal instalments. Any smaller amount is not
	// enough: the ERP may be booking another line's part.
	if len(tail) == 1 && rest < sum && rc.clearedAs(tail[0], line, "partially_paid") {
		it := rc.Book().Get(tail[0].Kind, tail[0].Source, tail[0].ID)
		if _, ok := instalment(it, record.Money{Minor: rest, Currency: it.Open.Currency}); ok {
			tail[0].Amount.Minor = rest
			return tail, markNotes(marks)
		}
	}
	if d := sum - rest; len(tail) == 0 || d < 0 || d > 0 && !rc.feeFits(sum, d, len(tail), l.Amount.Currency) {
		return nil, nil
	}
	return tail, markNotes(marks)
}

// clearedMark is a document the ERP cleared, for a line's explanation.
type clearedMark struct {
	number string
	c      clearing
}

// markNotes says what the ERP marked, a note a document.
func markNotes(ms []clearedMark) []string {
	notes := make([]string, len(ms))
	for i, m := range ms {
		notes[i] = m.c.note(m.number)
	}
	return notes
}

// clearedOf returns a party's open items that the ERP marked paid, as
// line may use the markings, in the book's candidate order
// (Book.ByParty). It walks whichever is shorter, the markings or the
// party's items: a payer has some eighty open items where a company has
// some twenty markings waiting, and this runs for every line in review
// each time the ERP marks an invoice.
func (rc *Reconciler) clearedOf(party, line string) []*OpenItem {
	book := rc.Book()
	var out []*OpenItem
	if items := book.byParty[party]; rc.cleared.len() < len(items) {
		for k := range rc.cleared.m {
			if it := book.items[k]; it != nil && it.PartyKey == party {
				if _, ok := rc.clearingFor(k, line); ok {
					out = append(out, it)
				}
			}
		}
	} else {
		for _, it := range items {
			if _, ok := rc.clearingFor(itemKey{it.Kind, it.Source, it.ID}, line); ok {
				out = append(out, it)
			}
		}
	}
	return ordered(out)
}

// partyOf is the party of a line's candidates when they share one.
func (rc *Reconciler) partyOf(cands [][]Part) string {
	party := ""
	for _, parts := range cands {
		for _, p := range parts {
			it := rc.Book().Get(p.Kind, p.Source, p.ID)
			if it == nil {
				if k, ok := rc.known[itemKey{p.Kind, p.Source, p.ID}]; ok {
					it = &k
				} else {
					return ""
				}
			}
			if party != "" && it.PartyKey != party {
				return ""
			}
			party = it.PartyKey
		}
	}
	return party
}

// unapplied is what a line brought (with the charges it reports) that
// parts do not take.
func (rc *Reconciler) unapplied(l Line, parts []Part) int64 {
	rest := rc.appliedBy(l)
	for _, p := range parts {
		rest -= p.Amount.Minor
	}
	return rest
}

// appliedBy is what a line brings to apply: its amount and the charges it
// reports.
func (rc *Reconciler) appliedBy(l Line) int64 {
	if l.Charges.Currency == l.Amount.Currency {
		return l.Amount.Minor + l.Charges.Minor
	}
	return l.Amount.Minor
}

func clearedAmount(n int) string {
	if n == 1 {
		return "the invoice the ERP cleared makes up the line"
	}
	return fmt.Sprintf("the %d invoices the ERP cleared make up the line", n)
}
