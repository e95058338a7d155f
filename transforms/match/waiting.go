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
	if outgoing(&it, it.Open.Currency) {
		return e.retryDebits(company, &it)
	}
	lines := e.waiting[company]
	if len(lines) == 0 {
		return nil
	}
	verdicts := e.payerVerdicts(company)
	var retry []Line
	keep := lines[:0]
	for _, w := range lines {
		if e.couldPay(&w, &it, verdicts) {
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

// waitingDebit is a debit line waiting for the ERP's payment, with the
// references of its remittance found once.
type waitingDebit struct {
	Line
	refs []string
}

// debitRetryDays is how far apart a payment's value date and the bank's
// booking of it may be for a debit that waited, and quotes nothing of it,
// to be tried against it by payee and amount. The bank books a payment
// within days of its value date (a weekend, a holiday); with no window an
// old debit nobody booked took next month's payment of the same amount to
// the same payee (rent, payroll), and that payment's own debit then none.
// A debit quoting the payment's number is tried whatever the dates.
const debitRetryDays = 7

// retryDebits tries again the debit lines that matched nothing and could
// be paying it, an outgoing payment just put: those quoting its number,
// and those of its amount to a payee named like its party (the terms of
// the debit rules) booked within debitRetryDays of its value date. A
// claim is not waited for: it is booked before it is reimbursed.
func (e *Engine) retryDebits(company string, it *OpenItem) []Match {
	lines := e.debits[company]
	if len(lines) == 0 || it.Kind != record.KindPayment {
		return nil
	}
	var retry []Line
	keep := lines[:0]
	for _, w := range lines {
		near := w.Date-it.DueDate <= debitRetryDays && it.DueDate-w.Date <= debitRetryDays
		could := w.Amount.Currency == it.Open.Currency &&
			(slices.Contains(w.refs, it.Number) ||
				near && w.Amount.Minor == it.Open.Minor && w.PayerKey != "" &&
					(it.PartyKey == "" || similarity(w.PayerKey, it.PartyKey) >= nameSimilarity))
		if could {
			retry = append(retry, w.Line)
		} else {
			keep = append(keep, w)
		}
	}
	clear(lines[len(keep):])
	e.debits[company] = keep
	var out []Match
	for _, l := range retry {
		// MatchLine puts a line that is still unmatched back to wait.
		if m := e.MatchLine(l); m.Outcome != Unmatched {
			out = append(out, m)
		}
	}
	return out
}

// ExpireDebits stops waiting for the company's debit lines booked before
// cutoff and returns them in the order they came.
func (e *Engine) ExpireDebits(company string, cutoff record.Date) []Line {
	var old []Line
	keep := e.debits[company][:0]
	for _, w := range e.debits[company] {
		if w.Date < cutoff {
			old = append(old, w.Line)
		} else {
			keep = append(keep, w)
		}
	}
	clear(e.debits[company][len(keep):])
	e.debits[company] = keep
	return old
}

// waitingLine is a credit line waiting for its document, with the
// references of its remittance found and its account's alias key made
// once: every document put is checked against every waiting line.
type waitingLine struct {
	Line
	refs []string
	acct string
	// payer is the line's payer group: lines with the same payer name key
	// and account have the same payer, so whether it is the document's
	// party is worked out once a group for each document put.
	payer int32
}

// payerGroups numbers a company's waiting lines' payer name key and
// account pairs, and holds one verdict a group while a document is
// checked against them. Without them every document put resolved the
// payer of every waiting line and compared names: with lines waiting by
// the thousand (matching.lateness releases bank lines ahead of their
// invoices) that was a third of a run.
type payerGroups struct {
	ids      map[[2]string]int32
	verdicts []int8 // 0 not worked out yet, 1 could pay, -1 could not
}

func (e *Engine) newWaitingLine(l Line) waitingLine {
	w := waitingLine{Line: l, refs: e.refs.Find(l.Remittance), acct: payerAccountKey(l)}
	g := e.groups[l.Company]
	if g == nil {
		g = &payerGroups{ids: map[[2]string]int32{}}
		e.groups[l.Company] = g
	}
	w.payer = g.id(&w)
	return w
}

// id numbers w's payer group, a new number for a pair not seen.
func (g *payerGroups) id(w *waitingLine) int32 {
	k := [2]string{w.PayerKey, w.acct}
	id, ok := g.ids[k]
	if !ok {
		id = int32(len(g.ids))
		g.ids[k] = id
	}
	return id
}

// payerVerdicts returns the company's group verdicts, none worked out.
func (e *Engine) payerVerdicts(company string) []int8 {
	g := e.groups[company]
	if g == nil {
		return nil
	}
	if n := len(g.ids); cap(g.verdicts) < n {
		g.verdicts = make([]int8, n)
	} else {
		g.verdicts = g.verdicts[:n]
		clear(g.verdicts)
	}
	return g.verdicts
}

// compactGroups numbers the payer groups again from the lines still
// waiting, once most groups have no line left: expired lines' payers
// would otherwise stay numbered for good.
func (e *Engine) compactGroups(company string) {
	g := e.groups[company]
	lines := e.waiting[company]
	if g == nil || len(g.ids) <= 4*len(lines)+1024 {
		return
	}
	clear(g.ids)
	for i := range lines {
		lines[i].payer = g.id(&lines[i])
	}
}

// couldPay says whether waiting line w could be paying it: the same
// currency, and a reference to it or its order, or its party as payer.
// verdicts remembers the last for each payer group during one put.
func (e *Engine) couldPay(w *waitingLine, it *OpenItem, verdicts []int8) bool {
	if w.Amount.Currency != it.Open.Currency {
		return false
	}
	if slices.Contains(w.refs, it.Number) || (it.OrderRef != "" && slices.Contains(w.refs, it.OrderRef)) {
		return true
	}
	if v := verdicts[w.payer]; v != 0 {
		return v > 0
	}
	ok := e.payerCouldPay(w, it)
	verdicts[w.payer] = -1
	if ok {
		verdicts[w.payer] = 1
	}
	return ok
}

// payerCouldPay says whether w's payer is it's party, or named so alike.
func (e *Engine) payerCouldPay(w *waitingLine, it *OpenItem) bool {
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
	e.compactGroups(company)
	return old
}

// WaitingFor returns the company's waiting credit lines that could be
// paying it (they quote it or come from its party), leaving them waiting.
func (e *Engine) WaitingFor(company string, it *OpenItem) []Line {
	var out []Line
	verdicts := e.payerVerdicts(company)
	for i := range e.waiting[company] {
		if w := &e.waiting[company][i]; e.couldPay(w, it, verdicts) {
			out = append(out, w.Line)
		}
	}
	return out
}

// Hold makes a credit line wait for its document without trying the rules
// on it first.
func (e *Engine) Hold(l Line) {
	e.waiting[l.Company] = append(e.waiting[l.Company], e.newWaitingLine(l))
}

// Unwait stops waiting for a line (company/source/id) that was settled
// otherwise.
func (e *Engine) Unwait(company, line string) {
	e.waiting[company] = slices.DeleteFunc(e.waiting[company], func(w waitingLine) bool {
		return w.Company+"/"+w.Source+"/"+w.ID == line
	})
	e.debits[company] = slices.DeleteFunc(e.debits[company], func(w waitingDebit) bool {
		return w.Company+"/"+w.Source+"/"+w.ID == line
	})
}
