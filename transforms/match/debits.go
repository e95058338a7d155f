package match

import (
	"fmt"

	"github.com/erpflow/erpflow/pipeline/record"
)

// outgoing says whether an open item is money the company pays out: its
// own payment to a supplier or an approved expense claim.
func outgoing(it *OpenItem, cur record.Currency) bool {
	return it.Open.Currency == cur &&
		((it.Kind == record.KindPayment && it.Direction == "out") || it.Kind == record.KindExpenseClaim)
}

// debitCandidates finds what a debit line pays, cheapest rule first: the
// payment or claim numbers quoted in the remittance, then one payment or
// claim of the payee for the amount, then several claims of one employee
// reimbursed in one transfer. The bank pays exactly what the company
// instructed, so amounts must agree to the cent.
func (e *Engine) debitCandidates(book *Book, l Line) []candidate {
	payee := func(it *OpenItem) bool {
		return l.PayerKey == "" || it.PartyKey == "" || similarity(l.PayerKey, it.PartyKey) >= nameSimilarity
	}
	var refd []*OpenItem
	for _, ref := range e.refs.Find(l.Remittance) {
		for _, it := range book.ByNumber(ref) {
			if outgoing(it, l.Amount.Currency) {
				refd = append(refd, it)
			}
		}
	}
	if len(refd) > 0 {
		var open int64
		partyOK := true
		for _, it := range refd {
			open += it.Open.Minor
			partyOK = partyOK && payee(it)
		}
		c := candidate{items: refd, parts: allOpen(refd), rule: "reference",
			criteria: []Criterion{{"reference", true, fmt.Sprintf("%d referenced payment(s) or claim(s) open", len(refd))},
				{"party", partyOK, "payee name against the referenced party"}}}
		switch {
		case open == l.Amount.Minor && partyOK:
			c.score = 1
			c.criteria = append(c.criteria, Criterion{"amount", true, "equal to the open amount"})
			return []candidate{c}
		case open == l.Amount.Minor:
			c.score = e.cfg.Confirm - 0.1
			c.criteria = append(c.criteria, Criterion{"amount", true, "equal to the open amount"})
		default:
			// A bank fee quoting the payment, or a wrong reference: a person
			// decides, and the payment stays open for its own line.
			c.score, c.items = 0.6, nil
			c.criteria = append(c.criteria, Criterion{"amount", false, fmt.Sprintf("%s against %s open", l.Amount, minor(open, l.Amount.Currency))})
		}
		return []candidate{c}
	}
	if l.PayerKey == "" {
		return nil
	}
	var out []candidate
	for _, it := range book.ByAmount(l.Amount) {
		if outgoing(it, l.Amount.Currency) && payee(it) {
			out = append(out, candidate{items: []*OpenItem{it}, parts: allOpen([]*OpenItem{it}), score: 0.9, rule: "party+amount",
				criteria: []Criterion{{"party", true, "payee name matches"}, {"amount", true, "equal to the open amount"}}})
		}
	}
	// A single claim of the amount does not end the search: an employee's
	// smaller claims adding up to it are as likely, and then a person
	// decides. Payments are drawn up one per transfer, so they end it.
	if len(out) > 0 && out[0].items[0].Kind == record.KindPayment {
		return out
	}
	var claims []*OpenItem
	for _, it := range book.ByParty(l.PayerKey) {
		if it.Kind == record.KindExpenseClaim && it.Open.Currency == l.Amount.Currency {
			claims = append(claims, it)
		}
	}
	for _, set := range exactSubsets(claims, l.Amount.Minor, 8, 2) {
		out = append(out, candidate{items: set, parts: allOpen(set), score: 0.9, rule: "party+subset",
			criteria: []Criterion{{"party", true, "payee is the claimant"}, {"amount", true, fmt.Sprintf("%d approved claims add up to it exactly", len(set))}}})
	}
	return out
}

// exactSubsets returns up to limit subsets of two to size of the first 16
// items whose open amounts add up to target. The bound keeps a search
// cheap; an employee rarely has more unpaid claims than that.
func exactSubsets(items []*OpenItem, target int64, size, limit int) [][]*OpenItem {
	if len(items) > 16 {
		items = items[:16]
	}
	var found [][]*OpenItem
	var walk func(start int, sum int64, set []*OpenItem)
	walk = func(start int, sum int64, set []*OpenItem) {
		if len(found) >= limit || sum > target {
			return
		}
		if sum == target && len(set) > 1 {
			found = append(found, append([]*OpenItem(nil), set...))
			return
		}
		if len(set) == size {
			return
		}
		for i := start; i < len(items); i++ {
			walk(i+1, sum+items[i].Open.Minor, append(set, items[i]))
		}
	}
	walk(0, 0, nil)
	return found
}
