package match

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strconv"

	"github.com/erpflow/erpflow/pipeline/record"
)

// Outcome is what became of a bank line.
type Outcome string

// Outcomes: at or above Config.Confirm a match is confirmed; at or above
// Config.Review it goes to a person; below, and for ambiguous candidates,
// the line stays unmatched or goes to review with all of them.
const (
	Confirmed Outcome = "confirmed"
	Review    Outcome = "review"
	Unmatched Outcome = "unmatched"
	// Accepted is a match a person confirmed from review.
	Accepted Outcome = "accepted"
)

// RulesVersion is part of every match id, with the line and what the
// match applies. It marks a change in what the ids mean, not each change
// of the rules: review decisions name match ids, and a new version would
// leave every stored decision naming an id no replay makes again. A rule
// that changes only an outcome (the date window, a payer only like a
// customer: review where it confirmed) keeps the ids: a decision on such
// a match applies on replay if it fits the new outcome, and is refused
// as review_refused, with its reason, if not.
const RulesVersion = 1

// Config tunes the rules of one company.
type Config struct {
	Confirm, Review float64 // score thresholds
	Margin          float64 // two candidates closer than this are ambiguous
	// FeeMinor and FeeBP bound a deducted fee: a line may be short of the
	// invoice by at most FeeMinor minor units and at most FeeBP basis
	// points (1/100 of a percent) of it, compared exactly in integers.
	FeeMinor int64
	FeeBP    int64
	// MaxSubset bounds how many invoices of one party one line may pay.
	MaxSubset int
	// TieOldestDue resolves equal candidates of one party by the oldest due
	// date (named in the explanation); without it, the default, they go to
	// review: on generated data the rule confirmed the wrong one of a
	// customer's recurring equal invoices often enough to cost 4 points of
	// precision.
	TieOldestDue bool
	// Order lists the rule families in the order they are tried for a
	// credit line, stopping once a candidate reaches Confirm: RuleReference
	// and RuleParty (default: both, reference first). A family left out is
	// off.
	Order []string
	// Off turns off single rules of the families: RuleRun (payment runs),
	// RuleSubset, RuleInstalment, RuleFixedFee; and RuleERPCleared, which
	// the reconciler applies.
	Off []string
	// WindowDays bounds the party rules' dates: a line booked more than
	// this many days after the due date of what it would pay, or more than
	// earlyDays before it was issued, is proposed for review, not
	// confirmed; a customer paying that far off is as likely paying
	// something else. 0 takes the default, 180.
	WindowDays int
}

// earlyDays is how long before an invoice's issue date a payment of it
// may be booked (a prepayment, an issue date set late) and still be
// confirmed by the party rules.
const earlyDays = 30

// Rule names for Config.Order and Config.Off.
const (
	RuleReference  = "reference"
	RuleParty      = "party"
	RuleRun        = "run"
	RuleSubset     = "subset"
	RuleInstalment = "instalment"
	RuleFixedFee   = "fixed_fee"
	// RuleERPCleared settles a line in review by the ERP's marking one of
	// its candidates paid (the reconciler's, not the engine's).
	RuleERPCleared = "erp_cleared"
)

// CheckRules says what is wrong with an order and a list of rules turned
// off, or nil.
func CheckRules(order, off []string) error {
	seen := map[string]bool{}
	for _, r := range order {
		if r != RuleReference && r != RuleParty {
			return fmt.Errorf("rule family %q is not %s or %s", r, RuleReference, RuleParty)
		}
		if seen[r] {
			return fmt.Errorf("rule family %q listed twice", r)
		}
		seen[r] = true
	}
	for _, r := range off {
		switch r {
		case RuleRun, RuleSubset, RuleInstalment, RuleFixedFee, RuleERPCleared:
		default:
			return fmt.Errorf("rule %q is not one of %s, %s, %s, %s, %s", r, RuleRun, RuleSubset, RuleInstalment, RuleFixedFee, RuleERPCleared)
		}
	}
	return nil
}

// DefaultConfig are the rules' defaults.
func DefaultConfig() Config {
	return Config{Confirm: 0.9, Review: 0.5, Margin: 0.05, FeeMinor: 5000, FeeBP: 50, MaxSubset: 4}
}

// Line is a bank line as matching sees it.
type Line struct {
	Company, Source, ID string
	Direction           string // credit or debit
	Amount, Charges     record.Money
	Date                record.Date
	PayerKey            string // counterparty name match key
	PayerAccount        string // counterparty bank account, if the bank gives it
	Remittance          string
}

// Part is what one match applies to one open item.
type Part struct {
	Kind   record.Kind
	Source string
	ID     string
	Amount record.Money
}

// Criterion is one check behind a score, for the explanation.
type Criterion struct {
	Name   string
	Pass   bool
	Detail string
}

// Match is the result for one bank line, with its explanation.
type Match struct {
	ID         string
	Line       string
	Outcome    Outcome
	Rule       string
	Score      float64
	Parts      []Part
	Criteria   []Criterion
	Candidates int
	// Alternatives are the other candidates of an ambiguous line.
	Alternatives [][]Part
	// taught are the aliases (payer name or account key, party key) the
	// match taught, to take back should it be reversed.
	taught [][2]string
}

// Engine matches the bank lines of companies against their open items.
type Engine struct {
	cfg   Config
	refs  *RefFinder
	books map[string]*Book
	// aliases maps, per company, a payer name key the bank writes, or a
	// payer's bank account (accountKey), to the party key of the customer
	// it turned out to be (learned from matches confirmed by reference and
	// from accepted ones).
	aliases map[string]map[string]string
	// waiting holds, per company, credit lines that matched nothing, in
	// arrival order: an invoice may arrive after the money that pays it.
	waiting map[string][]waitingLine
	// debits holds, per company, debit lines that matched nothing: the
	// ERP may book a payment after the bank's debit for it.
	debits map[string][]waitingDebit
	groups map[string]*payerGroups // of the waiting lines' payers, per company
	alike  map[[2]string]bool      // payer and customer match keys: similar enough?
	// bookCo and book are the last book asked for: an engine mostly
	// serves one company (its reconciler's), asked for its book several
	// times a record.
	bookCo string
	book   *Book
	// rejected holds, per bank line (company/source/id), the documents a
	// person rejected for it: never proposed for that line again.
	rejected map[string]map[itemKey]bool
}

// NewEngine returns an engine with cfg and the reference patterns.
func NewEngine(cfg Config, refPatterns []string) (*Engine, error) {
	if err := CheckRules(cfg.Order, cfg.Off); err != nil {
		return nil, err
	}
	if cfg.Order == nil {
		cfg.Order = []string{RuleReference, RuleParty}
	}
	if cfg.WindowDays <= 0 {
		cfg.WindowDays = 180
	}
	f, err := NewRefFinder(refPatterns)
	if err != nil {
		return nil, err
	}
	return &Engine{cfg: cfg, refs: f, books: map[string]*Book{}, aliases: map[string]map[string]string{}, waiting: map[string][]waitingLine{}, debits: map[string][]waitingDebit{}, groups: map[string]*payerGroups{}, alike: map[[2]string]bool{},
		rejected: map[string]map[itemKey]bool{}}, nil
}

// Book returns a company's open items, creating the book.
func (e *Engine) Book(company string) *Book {
	if e.book != nil && company == e.bookCo {
		return e.book
	}
	b := e.books[company]
	if b == nil {
		b = NewBook()
		e.books[company] = b
	}
	e.bookCo, e.book = company, b
	return b
}

// candidate is a set of open items one line may settle, with its score.
type candidate struct {
	items    []*OpenItem
	parts    []Part
	score    float64
	rule     string
	criteria []Criterion
	// proposal marks a candidate only a person may confirm (its amounts
	// do not agree), whatever the thresholds.
	proposal bool
}

// MatchLine finds what a bank line settles: for a credit, open AR
// invoices; for a debit, the company's own outgoing payments and approved
// expense claims. A confirmed match settles its items in the book.
func (e *Engine) MatchLine(l Line) (m Match) {
	m = Match{Line: l.Company + "/" + l.Source + "/" + l.ID, Outcome: Unmatched}
	if l.Amount.Minor <= 0 {
		return m
	}
	book := e.Book(l.Company)
	var cands []candidate
	switch l.Direction {
	case "credit":
		var byAccount bool
		l.PayerKey, byAccount = e.payer(l)
		defer func() {
			if byAccount && m.Outcome != Unmatched {
				m.Criteria = append([]Criterion{{"payer", true, "account " + maskAccount(l.PayerAccount) + " is the customer's, from an earlier match"}}, m.Criteria...)
			}
		}()
		applied := l.Amount
		if l.Charges.Currency == l.Amount.Currency {
			applied.Minor += l.Charges.Minor
		}
		for _, family := range e.cfg.Order {
			if bestScore(cands) >= e.cfg.Confirm {
				break // cheaper rules already found one
			}
			switch family {
			case RuleReference:
				c, _ := e.byReference(book, l, applied)
				cands = append(cands, c...)
			case RuleParty:
				cands = append(cands, e.byParty(book, l, applied)...)
			}
		}
		if len(cands) == 0 && !byAccount && l.PayerKey != "" && slices.Contains(e.cfg.Order, RuleParty) && !book.HasParty(l.PayerKey) {
			cands = e.byLikeParty(book, l, applied)
		}
	case "debit":
		cands = e.debitCandidates(book, l)
	default:
		return m
	}
	m = e.decide(book, l, m, cands)
	switch {
	case m.Outcome != Unmatched:
	case l.Direction == "credit":
		e.waiting[l.Company] = append(e.waiting[l.Company], e.newWaitingLine(l))
	case l.Direction == "debit":
		e.debits[l.Company] = append(e.debits[l.Company], waitingDebit{Line: l, refs: e.refs.Find(l.Remittance)})
	}
	return m
}

func bestScore(cands []candidate) float64 {
	best := 0.0
	for _, c := range cands {
		best = max(best, c.score)
	}
	return best
}

// off says whether a rule is turned off.
func (e *Engine) off(rule string) bool { return slices.Contains(e.cfg.Off, rule) }

// decide turns scored candidates into the line's outcome: the best one
// confirmed or proposed, or review with every candidate within the margin
// of the best, never an arbitrary pick.
func (e *Engine) decide(book *Book, l Line, m Match, cands []candidate) Match {
	if no := e.rejected[m.Line]; no != nil {
		keep := cands[:0]
		for _, c := range cands {
			if !slices.ContainsFunc(c.items, func(it *OpenItem) bool { return no[itemKey{it.Kind, it.Source, it.ID}] }) {
				keep = append(keep, c)
			}
		}
		cands = keep
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
	m.Candidates = len(cands)
	if len(cands) == 0 {
		return m
	}
	best := cands[0]
	m.Rule, m.Score, m.Parts, m.Criteria = best.rule, best.score, best.parts, best.criteria
	if len(cands) > 1 && cands[1].score > best.score-e.cfg.Margin && !sameItems(cands[0], cands[1]) {
		m.Outcome = Review
		for _, c := range cands[1:] {
			if c.score > best.score-e.cfg.Margin {
				m.Alternatives = append(m.Alternatives, c.parts)
			}
		}
		m.Criteria = append(m.Criteria, Criterion{"unambiguous", false, fmt.Sprintf("%d candidates within %.2f of the best", len(m.Alternatives)+1, e.cfg.Margin)})
		m.ID = matchID(m)
		return m
	}
	switch {
	case best.score >= e.cfg.Confirm && !best.proposal:
		// Every part must settle, or none: a part the book refuses (more
		// than is open, another currency) means the candidate was built
		// wrong, and settling the others would move money no match shows.
		// Checked first, so that such a match teaches no alias either.
		for i, it := range best.items {
			if !book.CanSettle(it, best.parts[i].Amount) {
				m.Outcome = Review
				m.Criteria = append(m.Criteria, Criterion{"settles", false, fmt.Sprintf("%s %s cannot take %s", it.Kind, it.ID, best.parts[i].Amount)})
				m.ID = matchID(m)
				return m
			}
		}
		m.Outcome = Confirmed
		if l.Direction == "credit" && best.rule == "reference" && len(best.items) > 0 && best.items[0].PartyKey != "" {
			// Only where nothing is known yet: a mapping the ERP gave or a
			// person taught is not overwritten by a rule.
			party := best.items[0].PartyKey
			for _, payer := range []string{l.PayerKey, accountKey(l.PayerAccount)} {
				if payer != "" && payer != accountKey("") && payer != party && e.aliases[l.Company][payer] == "" {
					e.alias(l.Company, payer, party)
					m.taught = append(m.taught, [2]string{payer, party})
				}
			}
		}
		for i, it := range best.items {
			book.Settle(it, best.parts[i].Amount)
		}
	case best.score >= e.cfg.Review:
		m.Outcome = Review
	default:
		m.Outcome, m.Parts = Unmatched, nil
	}
	m.ID = matchID(m)
	return m
}

// byReference uses the invoice numbers quoted in the remittance text.
func (e *Engine) byReference(book *Book, l Line, applied record.Money) ([]candidate, bool) {
	var items []*OpenItem
	for _, ref := range e.refs.Find(l.Remittance) {
		for _, it := range book.ByNumber(ref) {
			// An invoice quoted by its number and its order's is one item.
			// A credit note (open below zero) is netted by a person, as
			// with the party rules: an order's reference reaches its credit
			// notes too, and taking one settled nothing (Settle takes
			// money owed), so it stayed open to be netted again by the
			// next line quoting it.
			if it.Kind == record.KindInvoice && it.Direction == "AR" && it.Open.Currency == applied.Currency && it.Open.Minor > 0 && !slices.Contains(items, it) {
				items = append(items, it)
			}
		}
	}
	if len(items) == 0 {
		return nil, false
	}
	var open int64
	for _, it := range items {
		open += it.Open.Minor
	}
	crit := []Criterion{{"reference", true, fmt.Sprintf("%d referenced invoice(s) open", len(items))}}
	c := candidate{items: items, rule: "reference", criteria: crit}
	// The payer should be the customer the references belong to; a
	// different known payer lowers confidence (a garbled reference).
	partyOK := true
	for _, it := range items {
		if l.PayerKey != "" && it.PartyKey != "" && similarity(l.PayerKey, it.PartyKey) < nameSimilarity {
			partyOK = false
		}
	}
	c.criteria = append(c.criteria, Criterion{"party", partyOK, "payer name against the referenced customer"})

	diff := open - applied.Minor
	switch {
	case diff == 0:
		c.score = 1
		c.criteria = append(c.criteria, Criterion{"amount", true, "equal to the open amount"})
		c.parts = allOpen(items)
	case diff > 0 && e.withinFee(open, diff):
		c.score = 0.97
		c.criteria = append(c.criteria, Criterion{"amount", true, fmt.Sprintf("short by %s, within the fee tolerance", minor(diff, applied.Currency))})
		c.parts = allOpen(items)
	case diff > 0 && partyOK && diff <= e.cfg.FeeMinor && wholeUnits(diff, applied.Currency) && !e.off(RuleFixedFee):
		// Short by a whole amount no larger than a fee: a fixed charge of
		// the payer's bank, which on a small payment is more than the
		// percentage allows. The invoice is settled and the fee is an
		// exception to post.
		c.score = 0.95
		c.criteria = append(c.criteria, Criterion{"amount", true, fmt.Sprintf("short by %s, a whole fixed fee", minor(diff, applied.Currency))})
		c.parts = allOpen(items)
	case diff > 0 && len(items) == 1 && l.PayerKey != "" && similarity(l.PayerKey, items[0].PartyKey) >= nameSimilarity:
		// A partial payment by the invoice's own customer: settle what came,
		// leave the rest open. (A garbled reference can name another
		// customer's invoice; without the party it goes to review.)
		c.score = 0.92
		c.criteria = append(c.criteria, Criterion{"amount", true, fmt.Sprintf("partial: %s of %s, residual stays open", applied, items[0].Open)})
		c.parts = []Part{{items[0].Kind, items[0].Source, items[0].ID, applied}}
	case diff < 0 && partyOK && l.PayerKey != "" && !e.off(RuleRun):
		// More came than the quoted invoices: a bank truncates a long
		// remittance, so the payer's other open invoices may make up the
		// rest. Only the set a stated rule chooses (oldest due first) counts,
		// never a subset found by search.
		open := partyOpen(book, l.PayerKey, l.Amount.Currency)
		// The payer's bank may keep a whole fee out of a run too.
		slack := func(over int64) bool {
			return over <= e.cfg.FeeMinor && wholeUnits(over, applied.Currency) && !e.off(RuleFixedFee)
		}
		rest, why := oldestDueRun(open, items, -diff, slack)
		if rest == nil {
			// Older invoices the payer left unpaid are not in this run: the
			// run starts at the earliest due date it quotes.
			rest, why = dueFromRun(open, items, -diff, slack)
		}
		if rest == nil {
			// A remittance cut short lists the first invoices of the run in
			// document order: the rest may follow them in that order.
			rest, why = continuedRun(open, items, -diff, slack)
		}
		if rest != nil {
			c.items = append(append([]*OpenItem(nil), items...), rest...)
			c.parts = allOpen(c.items)
			c.score = 0.95
			over := -diff
			for _, it := range rest {
				over -= it.Open.Minor
			}
			if over == 0 {
				c.criteria = append(c.criteria, Criterion{"amount", true, fmt.Sprintf("quoted invoices plus %s make up the line exactly", why)})
			} else {
				c.criteria = append(c.criteria, Criterion{"amount", true, fmt.Sprintf("quoted invoices plus %s make up the line less a whole fee of %s",
					why, minor(-over, applied.Currency))})
			}
			break
		}
		fallthrough
	default:
		c.score = 0.6
		c.criteria = append(c.criteria, Criterion{"amount", false, fmt.Sprintf("differs from the open amount by %s", minor(-diff, applied.Currency))})
		c.parts = allOpen(items)
		c.proposal = true
	}
	if !partyOK && c.score >= e.cfg.Confirm {
		c.score = e.cfg.Confirm - 0.1 // to review
	}
	return []candidate{c}, true
}

// partyOpen lists the payer's open AR invoices in cur with a positive
// open amount, oldest due first: what the party rules and payment runs
// choose from. A credit note is netted by a person, not by a rule.
func partyOpen(book *Book, payer string, cur record.Currency) []*OpenItem {
	var open []*OpenItem
	for _, it := range book.ByParty(payer) {
		if it.Kind == record.KindInvoice && it.Direction == "AR" && it.Open.Currency == cur && it.Open.Minor > 0 {
			open = append(open, it)
		}
	}
	return open
}

// oldestDueRun returns the invoices of open (oldest due first), less
// those quoted, that make up residual exactly when taken in order: a
// payer settling everything due up to some date, the way payment runs
// work. Amounts are positive, so sums only grow, at most one such run
// exists and nothing is picked by search.
func oldestDueRun(open, quoted []*OpenItem, residual int64, slack func(over int64) bool) ([]*OpenItem, string) {
	var rest []*OpenItem
	var sum int64
	for _, it := range open {
		if slices.Contains(quoted, it) {
			continue
		}
		rest, sum = append(rest, it), sum+it.Open.Minor
		if sum == residual || sum > residual && slack != nil && slack(sum-residual) {
			return rest, fmt.Sprintf("the payer's %d open invoices due up to %s", len(rest), it.DueDate)
		}
		if sum > residual {
			break
		}
	}
	return nil, ""
}

// dueFromRun is oldestDueRun over the invoices due no earlier than the
// earliest quoted one.
func dueFromRun(open, quoted []*OpenItem, residual int64, slack func(int64) bool) ([]*OpenItem, string) {
	from := quoted[0].DueDate
	for _, q := range quoted {
		from = min(from, q.DueDate)
	}
	var rest []*OpenItem
	for _, it := range open {
		if it.DueDate >= from {
			rest = append(rest, it)
		}
	}
	run, _ := oldestDueRun(rest, quoted, residual, slack)
	if run == nil {
		return nil, ""
	}
	return run, fmt.Sprintf("the payer's %d open invoices due from %s to %s", len(run), from, run[len(run)-1].DueDate)
}

// continuedRun takes the payer's open invoices issued after the last quoted
// one, in document order (issue date, then number), while they add up to
// no more than residual, and returns them if they make it up exactly.
func continuedRun(open, quoted []*OpenItem, residual int64, slack func(int64) bool) ([]*OpenItem, string) {
	after := func(a, b *OpenItem) bool {
		if len(a.Number) != len(b.Number) {
			return len(a.Number) > len(b.Number)
		}
		return a.Number > b.Number
	}
	var last *OpenItem
	for _, q := range quoted {
		if last == nil || after(q, last) {
			last = q
		}
	}
	var next []*OpenItem
	for _, it := range open {
		if !slices.Contains(quoted, it) && after(it, last) {
			next = append(next, it)
		}
	}
	slices.SortFunc(next, func(a, b *OpenItem) int {
		switch {
		case after(b, a):
			return -1
		case after(a, b):
			return 1
		}
		return 0
	})
	var sum int64
	for i, it := range next {
		if sum += it.Open.Minor; sum == residual || sum > residual && slack != nil && slack(sum-residual) {
			return next[:i+1], fmt.Sprintf("the payer's %d open invoices issued after %s, in order", i+1, last.Number)
		} else if sum > residual {
			break
		}
	}
	return nil, ""
}

// byParty looks among the payer's open invoices for one with the amount,
// or a few that add up to it, and says how the line's booking day lies
// against their dates: outside the window, a candidate is only proposed.
func (e *Engine) byParty(book *Book, l Line, applied record.Money) []candidate {
	cands := e.byPartyAmount(book, l, applied)
	for i := range cands {
		e.dated(&cands[i], l.Date)
	}
	return cands
}

// dated adds the days criterion to a party candidate: the line's booking
// day against the due dates of what it pays, and whether it lies in the
// window from earlyDays before the latest issue date to WindowDays after
// the latest due date: every invoice it pays must have been issued, near
// enough, when the money came.
func (e *Engine) dated(c *candidate, day record.Date) {
	if len(c.items) == 0 {
		return
	}
	first, last := c.items[0].DueDate, c.items[0].DueDate
	issued := record.NoDate
	for _, it := range c.items {
		first, last = min(first, it.DueDate), max(last, it.DueDate)
		if it.IssueDate != record.NoDate && it.IssueDate != 0 && (issued == record.NoDate || it.IssueDate > issued) {
			issued = it.IssueDate
		}
	}
	var when string
	switch late := int(day - last); {
	case first != last:
		when = fmt.Sprintf("booked %s to %s the due dates", daysFrom(int(day-first)), daysFrom(late))
	default:
		when = "booked " + daysFrom(late) + " the due date"
	}
	in := int(day-last) <= e.cfg.WindowDays && (issued == record.NoDate || int(issued-day) <= earlyDays)
	if !in {
		when += fmt.Sprintf(", outside the window (%d days before issue to %d after due)", earlyDays, e.cfg.WindowDays)
		c.proposal = true
	}
	c.criteria = append(slices.Clip(c.criteria), Criterion{"days", in, when})
}

// daysFrom says n days after (or before, negative) in words.
func daysFrom(n int) string {
	switch {
	case n == 0:
		return "on"
	case n == 1:
		return "1 day after"
	case n == -1:
		return "1 day before"
	case n < 0:
		return fmt.Sprintf("%d days before", -n)
	}
	return fmt.Sprintf("%d days after", n)
}

// byPartyAmount is byParty by amounts alone.
func (e *Engine) byPartyAmount(book *Book, l Line, applied record.Money) []candidate {
	if l.PayerKey == "" {
		return nil
	}
	open := partyOpen(book, l.PayerKey, applied.Currency)
	if len(open) == 0 {
		return nil
	}
	var out []candidate
	var exact, short []*OpenItem
	for _, it := range open {
		switch d := it.Open.Minor - applied.Minor; {
		case d == 0 || (d > 0 && e.withinFee(it.Open.Minor, d)):
			exact = append(exact, it)
		case d > 0 && d <= e.cfg.FeeMinor && wholeUnits(d, applied.Currency):
			short = append(short, it)
		}
	}
	party := Criterion{"party", true, "payer name matches the customer"}
	var run []*OpenItem
	var runWhy string
	if !e.off(RuleRun) {
		run, runWhy = oldestDueRun(open, nil, applied.Minor, nil)
	}
	if len(exact) > 0 {
		pick := exact
		crit := []Criterion{party, {"amount", true, "one open invoice of this amount"}}
		if len(exact) > 1 && e.cfg.TieOldestDue {
			pick = exact[:1] // ByParty lists the oldest due first
			crit = []Criterion{party, {"amount", true, fmt.Sprintf("%d open invoices of this amount", len(exact))},
				{"tie: oldest due first", true, "the configured rule for a party's equal amounts"}}
		}
		for _, it := range pick {
			out = append(out, candidate{items: []*OpenItem{it}, parts: allOpen([]*OpenItem{it}), score: 0.9, rule: "party+amount", criteria: crit})
		}
		// A run of older invoices adding up to the same amount is as likely
		// as the one invoice: then a person decides.
		if len(run) > 1 {
			out = append(out, runCandidate(run, runWhy, party))
		}
		return out
	}
	// A payment run settling everything due up to a date: the oldest-due
	// invoices taken in order add up to the line.
	if len(run) > 1 {
		return []candidate{runCandidate(run, runWhy, party)}
	}
	// Several invoices of the party paid by one transfer: a bounded subset
	// sum over the oldest open items.
	subsets := open
	if e.off(RuleSubset) {
		subsets = nil
	}
	if len(subsets) > 16 {
		subsets = subsets[:16]
	}
	// Only exact sums are confirmed: with many open invoices, some subset
	// falls within a fee's tolerance by chance; those go to review.
	var found, near [][]*OpenItem
	var walk func(start int, sum int64, set []*OpenItem)
	walk = func(start int, sum int64, set []*OpenItem) {
		if len(found) > 1 {
			return
		}
		if d := sum - applied.Minor; len(set) > 1 && d == 0 {
			found = append(found, append([]*OpenItem(nil), set...))
			return
		} else if len(set) > 1 && d > 0 && e.withinFee(sum, d) && len(near) < 2 {
			near = append(near, append([]*OpenItem(nil), set...))
		}
		if len(set) == e.cfg.MaxSubset || sum > applied.Minor+e.cfg.FeeMinor {
			return
		}
		for i := start; i < len(subsets); i++ {
			walk(i+1, sum+subsets[i].Open.Minor, append(set, subsets[i]))
		}
	}
	walk(0, 0, nil)
	for _, set := range found {
		out = append(out, candidate{items: set, parts: allOpen(set), score: 0.9, rule: "party+subset",
			criteria: []Criterion{party, {"amount", true, fmt.Sprintf("%d open invoices add up to it exactly", len(set))}}})
	}
	// A fixed fee can be a large share of a small payment (USD 40 of
	// USD 774). Short by a whole amount of currency units, as banks' fees
	// are, within the absolute fee bound is taken only when nothing above
	// fits and one invoice alone fits so.
	if len(found) == 0 && len(short) == 1 && !e.off(RuleFixedFee) {
		return []candidate{{items: short, parts: allOpen(short), score: 0.9, rule: "party+amount",
			criteria: []Criterion{party, {"amount", true, fmt.Sprintf("short by %s, a whole fixed fee",
				minor(short[0].Open.Minor-applied.Minor, applied.Currency))}}}}
	}
	if len(found) == 0 {
		for _, set := range near {
			out = append(out, candidate{items: set, parts: allOpen(set), score: 0.7, rule: "party+subset",
				criteria: []Criterion{party, {"amount", false, fmt.Sprintf("%d open invoices add up to it less a possible fee", len(set))}}})
		}
	}
	// Instalments: nothing above fits, and the line is one of equal parts
	// of an invoice of the payer's (or what is left of it after earlier
	// parts). One such invoice is confirmed, leaving the residual open;
	// several go to review together.
	if len(out) == 0 && len(short) == 0 && !e.off(RuleInstalment) {
		for _, it := range open {
			if why, ok := instalment(it, applied); ok {
				out = append(out, candidate{items: []*OpenItem{it}, parts: []Part{{it.Kind, it.Source, it.ID, applied}}, score: 0.9,
					rule: "party+instalment", criteria: []Criterion{party, {"amount", true, why}}})
			}
		}
	}
	return out
}

// instalment says whether a payment of amount is a plausible instalment
// of an open item: one of n equal parts (n from 2 to 4) of its total in
// whole currency units, with at least that much still open, or the last
// part, all that is left after earlier ones.
func instalment(it *OpenItem, amount record.Money) (string, bool) {
	if amount.Currency != it.Total.Currency || amount.Minor <= 0 {
		return "", false
	}
	unit := int64(1)
	for range amount.Currency.Scale() {
		unit *= 10
	}
	if it.Open.Minor < it.Total.Minor && amount.Minor == it.Open.Minor {
		return fmt.Sprintf("the last instalment: all that is open of %s", it.Total), true
	}
	for n := int64(2); n <= 4; n++ {
		part := it.Total.Minor / n / unit * unit
		if part > 0 && amount.Minor == part && it.Open.Minor > part {
			return fmt.Sprintf("one of %d equal instalments of %s, residual %s stays open", n, it.Total,
				minor(it.Open.Minor-part, amount.Currency)), true
		}
	}
	return "", false
}

// wholeUnits says whether minor units v are a whole amount of currency c.
func wholeUnits(v int64, c record.Currency) bool {
	unit := int64(1)
	for range c.Scale() {
		unit *= 10
	}
	return v%unit == 0
}

func runCandidate(rest []*OpenItem, why string, party Criterion) candidate {
	return candidate{items: rest, parts: allOpen(rest), score: 0.9, rule: "party+oldest-due",
		criteria: []Criterion{party, {"amount", true, why + " add up to it exactly"}}}
}

// byLikeParty proposes, for a payer name that no customer with open items
// has, the open AR invoices of the line's amount whose customer's name is
// like it (similarity at least nameSimilarity): the bank's typo, or
// another spelling of the customer's name. Only when one customer is
// alike, and only for review: a likeness is not proof, and accepted, the
// match teaches the payer's name as that customer's, so that its next
// lines match by name.
func (e *Engine) byLikeParty(book *Book, l Line, applied record.Money) []candidate {
	var party string
	var sim float64
	for _, it := range book.ByAmount(applied) {
		if it.Kind != record.KindInvoice || it.Direction != "AR" || it.PartyKey == "" || it.PartyKey == party {
			continue
		}
		if s := similarity(l.PayerKey, it.PartyKey); s >= nameSimilarity {
			if party != "" {
				return nil // two customers alike: no guess
			}
			party, sim = it.PartyKey, s
		}
	}
	if party == "" {
		return nil
	}
	like := l
	like.PayerKey = party
	cands := e.byParty(book, like, applied)
	why := Criterion{"party", false, fmt.Sprintf("payer name is only like the customer's (similarity %.2f): a person confirms who paid", sim)}
	for i := range cands {
		c := &cands[i]
		c.proposal = true
		crit := make([]Criterion, len(c.criteria))
		for j, x := range c.criteria {
			if x.Name == "party" {
				x = why
			}
			crit[j] = x
		}
		c.criteria = crit
	}
	return cands
}

// nameSimilarity is how alike two name keys must be to be one party: a
// bank's typo or truncation of a customer's name still passes; another
// customer's name does not.
const nameSimilarity = 0.8

// Reject records that a person rejected these documents for a bank line
// (company/source/id): no rule proposes them for it again.
func (e *Engine) Reject(line string, parts []Part) {
	m := e.rejected[line]
	if m == nil {
		m = map[itemKey]bool{}
		e.rejected[line] = m
	}
	for _, p := range parts {
		m[itemKey{p.Kind, p.Source, p.ID}] = true
	}
}

// isRejected says whether a person rejected (or reversed) the document for
// the line.
func (e *Engine) isRejected(line string, k itemKey) bool { return e.rejected[line][k] }

// ForgetLine drops what was rejected for a line that will not come again.
func (e *Engine) ForgetLine(line string) { delete(e.rejected, line) }

// Alias makes a payer name key stand for a party's key in a company's
// later lines, as a person's accepted match or a reference match shows.
func (e *Engine) Alias(company, payer, party string) { e.alias(company, payer, party) }

// AliasOf is the party key a payer name key stands for, or "".
func (e *Engine) AliasOf(company, payer string) string { return e.aliases[company][payer] }

// payer resolves a credit line's payer to a party key: by its bank
// account when a match taught it (names on bank lines vary, an account
// does not), else by the alias of its name, else its name's own key.
func (e *Engine) payer(l Line) (key string, byAccount bool) { return e.payerBy(l, payerAccountKey(l)) }

// payerAccountKey is the aliases key of the line's payer account, or "".
func payerAccountKey(l Line) string {
	if l.PayerAccount == "" {
		return ""
	}
	return accountKey(l.PayerAccount)
}

// payerBy is payer with the line's account key made already: a waiting
// line is asked for its payer once for every document put.
func (e *Engine) payerBy(l Line, acct string) (key string, byAccount bool) {
	aliases := e.aliases[l.Company]
	// A name that is itself a customer's with open items wins over the
	// account: a parent company or a payment agent pays from one account
	// for several customers.
	if acct != "" && (l.PayerKey == "" || !e.Book(l.Company).HasParty(l.PayerKey)) {
		if a := aliases[acct]; a != "" {
			return a, true
		}
	}
	if a := aliases[l.PayerKey]; a != "" {
		return a, false
	}
	return l.PayerKey, false
}

// accountKey is the aliases key of a bank account; a name key never
// holds a colon, so the two cannot meet.
func accountKey(account string) string { return "account:" + account }

// maskAccount shows the last four characters of an account only, as
// explanations and logs must.
func maskAccount(a string) string {
	r := []rune(a)
	show := 4
	if len(r) < 8 { // a short account would be all but given away
		show = min(len(r)/3, 2)
	}
	return "…" + string(r[len(r)-show:])
}

// Unalias forgets that a payer name key stands for a party's, if it does.
func (e *Engine) Unalias(company, payer, party string) {
	if e.aliases[company][payer] == party {
		delete(e.aliases[company], payer)
	}
}

func (e *Engine) alias(company, payer, party string) {
	m := e.aliases[company]
	if m == nil {
		m = map[string]string{}
		e.aliases[company] = m
	}
	m[payer] = party
}

func (e *Engine) withinFee(total, diff int64) bool {
	return diff <= e.cfg.FeeMinor && diff <= basisPoints(total, e.cfg.FeeBP)
}

func allOpen(items []*OpenItem) []Part {
	out := make([]Part, len(items))
	for i, it := range items {
		out[i] = Part{it.Kind, it.Source, it.ID, it.Open}
	}
	return out
}

func sameItems(a, b candidate) bool {
	if len(a.parts) != len(b.parts) {
		return false
	}
	for i := range a.parts {
		if a.parts[i].Kind != b.parts[i].Kind || a.parts[i].Source != b.parts[i].Source || a.parts[i].ID != b.parts[i].ID {
			return false
		}
	}
	return true
}

// matchID derives a match's id from the rules version and its members, so
// a replay gives the same ids.
func matchID(m Match) string {
	// "v<version>|<line>" then "|<kind>/<source>/<id>/<minor>" a part,
	// appended rather than formatted: every decided line makes one.
	b := make([]byte, 0, 64+48*len(m.Parts))
	b = append(b, 'v')
	b = strconv.AppendInt(b, RulesVersion, 10)
	b = append(append(b, '|'), m.Line...)
	for _, p := range m.Parts {
		b = append(append(b, '|'), p.Kind.String()...)
		b = append(append(b, '/'), p.Source...)
		b = append(append(b, '/'), p.ID...)
		b = strconv.AppendInt(append(b, '/'), p.Amount.Minor, 10)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

func minor(v int64, c record.Currency) string { return record.Money{Minor: v, Currency: c}.String() }
