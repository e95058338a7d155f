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
	for _, w := range lines {
		if e.couldPay(&w, &it) {
			retry = append(retry, w.Line)
		} else {
			keep = append(keep, w)
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

// waitingLine is a credit line waiting for its document, with the
// references of its remittance found and its account's alias key made
// once: every document put is checked against every waiting line.
type waitingLine struct {
	Line
	refs []string
	acct string
}

func newWaitingLine(l Line, refs []string) waitingLine {
	w := waitingLine{Line: l, refs: refs}
	if l.PayerAccount != "" {
		w.acct = accountKey(l.PayerAccount)
	}
	return w
}

func (e *Engine) couldPay(w *waitingLine, it *OpenItem) bool {
	if w.Amount.Currency != it.Open.Currency {
		return false
	}
	if slices.Contains(w.refs, it.Number) || (it.OrderRef != "" && slices.Contains(w.refs, it.OrderRef)) {
		return true
	}
	payer, _ := e.payerBy(w.Line, w.acct)
	if payer == "" || it.PartyKey == "" {
		return false
	}
	if payer == it.PartyKey {
		return true
	}
	// The same few payers meet the same few customers again and again:
	// remember the verdict rather than compare names on every put.
	k := [2]string{payer, it.PartyKey}
	same, ok := e.alike[k]
	if !ok {
		same = similarity(payer, it.PartyKey) >= nameSimilarity
		if len(e.alike) >= maxAlike {
			clear(e.alike)
		}
		e.alike[k] = same
	}
	return same
}

// maxAlike bounds the remembered name verdicts (payers x customers).
const maxAlike = 1 << 18

// Waiting is how many credit lines of company match nothing yet.
func (e *Engine) Waiting(company string) int { return len(e.waiting[company]) }

// ExpireWaiting stops waiting for the company's lines booked before
// cutoff and returns them, oldest first: each is an unmatched receipt for
// a person to identify (ask the payer for a remittance advice).
func (e *Engine) ExpireWaiting(company string, cutoff record.Date) []Line {
	var old []Line
	keep := e.waiting[company][:0]
	for _, w := range e.waiting[company] {
		if w.Date < cutoff {
			old = append(old, w.Line)
		} else {
			keep = append(keep, w)
		}
	}
	e.waiting[company] = keep
	return old
}

// WaitingFor returns the company's waiting credit lines that could be
// paying it (they quote it or come from its party), leaving them waiting.
func (e *Engine) WaitingFor(company string, it *OpenItem) []Line {
	var out []Line
	for i := range e.waiting[company] {
		if w := &e.waiting[company][i]; e.couldPay(w, it) {
			out = append(out, w.Line)
		}
	}
	return out
}

// Hold makes a credit line wait for its document without trying the rules
// on it first.
func (e *Engine) Hold(l Line) {
	e.waiting[l.Company] = append(e.waiting[l.Company], newWaitingLine(l, e.refs.Find(l.Remittance)))
}

// Unwait stops waiting for a line (company/source/id) that was settled
// otherwise.
func (e *Engine) Unwait(company, line string) {
	e.waiting[company] = slices.DeleteFunc(e.waiting[company], func(w waitingLine) bool {
		return w.Company+"/"+w.Source+"/"+w.ID == line
	})
}
