package match

import (
	"slices"

	"github.com/erpflow/erpflow/pipeline/record"
)

// PutItem adds an open item to its company's book and tries again the
// credit lines that matched nothing and could be paying it: they quote its
// number or order, or come from its party. It returns the new outcomes of
// those lines that are no longer unmatched; the others keep waiting.
func (e *Engine) PutItem(company string, it OpenItem) []Match {
	e.Book(company).Put(it)
	lines := e.waiting[company]
	if len(lines) == 0 {
		return nil
	}
	var retry []Line
	keep := lines[:0]
	for _, l := range lines {
		if e.couldPay(l, &it) {
			retry = append(retry, l)
		} else {
			keep = append(keep, l)
		}
	}
	e.waiting[company] = keep
	var out []Match
	for _, l := range retry {
		// MatchLine puts a line that is still unmatched back to wait.
		if m := e.MatchLine(l); m.Outcome != Unmatched {
			out = append(out, m)
		}
	}
	return out
}

func (e *Engine) couldPay(l Line, it *OpenItem) bool {
	if l.Amount.Currency != it.Open.Currency {
		return false
	}
	refs := e.refs.Find(l.Remittance)
	if slices.Contains(refs, it.Number) || (it.OrderRef != "" && slices.Contains(refs, it.OrderRef)) {
		return true
	}
	payer := l.PayerKey
	if a := e.aliases[l.Company][payer]; a != "" {
		payer = a
	}
	return payer != "" && it.PartyKey != "" && similarity(payer, it.PartyKey) >= nameSimilarity
}

// Waiting is how many credit lines of company match nothing yet.
func (e *Engine) Waiting(company string) int { return len(e.waiting[company]) }

// ExpireWaiting stops waiting for the company's lines booked before
// cutoff and returns them, oldest first: each is an unmatched receipt for
// a person to identify (ask the payer for a remittance advice).
func (e *Engine) ExpireWaiting(company string, cutoff record.Date) []Line {
	var old []Line
	keep := e.waiting[company][:0]
	for _, l := range e.waiting[company] {
		if l.Date < cutoff {
			old = append(old, l)
		} else {
			keep = append(keep, l)
		}
	}
	e.waiting[company] = keep
	return old
}
