package match

import (
	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
)

// The tables of migration 0006, with the columns in the order the row
// functions below write them.
var (
	MatchesTable = &pipeline.Table{Name: "recon_matches", Columns: []string{"company", "line_id", "match_id",
		"direction", "currency", "amount", "charges", "booking_date", "outcome", "rule", "rules_version", "score", "candidates",
		"criterion_name", "criterion_pass", "criterion_detail", "alternatives", "decided_by", "decision_reason", "event_time", "version"}}
	MatchLinesTable = &pipeline.Table{Name: "recon_match_lines", Columns: []string{"company", "line_id", "match_id", "outcome",
		"target_kind", "target_id", "currency", "amount", "version"}}
	OpenItemsTable = &pipeline.Table{Name: "recon_open_items", Columns: []string{"company", "kind", "source", "id", "number",
		"direction", "party_key", "currency", "total", "open", "due_date", "status", "event_time", "version"}}
	ExceptionsTable = &pipeline.Table{Name: "recon_exceptions", Columns: []string{"company", "exception_id", "type", "reason",
		"subject_kind", "subject_id", "related_id", "currency", "amount", "status", "criterion_name", "criterion_pass",
		"criterion_detail", "next_step", "event_date", "event_time", "version"}}
	TotalsTable = &pipeline.Table{Name: "recon_control_totals", Columns: []string{"company", "direction", "currency", "day", "lines",
		"lines_amount", "matched_amount", "review_amount", "unmatched_amount", "balanced", "version"}}
)

// deriver gives the rows of a table to append to: a batch's, or a lane's
// (laneRows) while companies are released in parallel.
type deriver interface {
	Derive(t *pipeline.Table) *pipeline.Rows
}

// roomy derives a batch's rows with room for as many as the last batch
// got of each table: grown from nothing, the columns allocated twice or
// more what they held, a third of all that matching allocated.
type roomy struct {
	b    *pipeline.Batch
	last map[*pipeline.Table]int
}

func (d roomy) Derive(t *pipeline.Table) *pipeline.Rows { return d.b.DeriveSized(t, d.last[t]) }

// maxRoom caps roomy's room: the end of a backfill releases a hundred
// thousand records in one batch, and the next need not make room for
// as many.
const maxRoom = 1 << 14

// dec is an amount for a Decimal column; the sink lands a record.Money
// there at the column's scale.
func dec(minor int64, c record.Currency) record.Money {
	return record.Money{Minor: minor, Currency: c}
}

// criteria appends an explanation's three array columns (names, pass,
// detail), through scratch slices the rows copy out of.
func (w *rowWriter) criteria(r *pipeline.Rows, cs []Criterion) *pipeline.Rows {
	w.names, w.pass, w.detail = w.names[:0], w.pass[:0], w.detail[:0]
	for _, c := range cs {
		var pass uint8
		if c.Pass {
			pass = 1
		}
		w.names, w.pass, w.detail = append(w.names, c.Name), append(w.pass, pass), append(w.detail, c.Detail)
	}
	return r.Strs(w.names).Uint8s(w.pass).Strs(w.detail)
}

// rowWriter turns the reconciler's results into rows of a batch; its
// slices are scratch space reused from row to row.
type rowWriter struct {
	names, detail, alts []string
	pass                []uint8
}

// line writes a bank line's row and one row per document its match
// applies to.
func (w *rowWriter) line(b deriver, l *LineResult, version uint64) {
	w.alts = w.alts[:0]
	for _, a := range l.Alternatives {
		alt := ""
		for j, p := range a {
			if j > 0 {
				alt += " + "
			}
			alt += p.Kind.String() + " " + l.Company + "/" + p.Source + "/" + p.ID + " " + p.Amount.String()
		}
		w.alts = append(w.alts, alt)
	}
	r := b.Derive(MatchesTable).Str(l.Company).Str(l.Line).Str(l.ID).Str(l.Direction).Str(l.Amount.Currency.String()).
		Money(l.Amount).Money(dec(l.Charges.Minor, l.Amount.Currency)).Time(l.Date.Time()).Str(string(l.Outcome)).Str(l.Rule).
		Uint32(uint32(RulesVersion)).Float64(l.Score).Uint32(uint32(l.Candidates))
	w.criteria(r, l.Criteria).Strs(w.alts).Str(l.DecidedBy).Str(l.Reason).Time(l.At.UTC()).Uint64(version).End()
	if len(l.Parts) == 0 {
		return
	}
	parts := b.Derive(MatchLinesTable)
	for _, p := range l.Parts {
		parts.Str(l.Company).Str(l.Line).Str(l.ID).Str(string(l.Outcome)).Str(p.Kind.String()).
			Str(l.Company + "/" + p.Source + "/" + p.ID).Str(p.Amount.Currency.String()).Money(p.Amount).Uint64(version).End()
	}
}

func itemRow(b deriver, it *ItemState, version uint64) {
	cur := it.Total.Currency
	b.Derive(OpenItemsTable).Str(it.Company).Str(it.Kind.String()).Str(it.Source).Str(it.ID).Str(it.Number).
		Str(it.Direction).Str(it.PartyKey).Str(cur.String()).Money(dec(it.Total.Minor, cur)).Money(dec(it.Open.Minor, cur)).
		Time(it.DueDate.Time()).Str(it.Status).Time(it.At.UTC()).Uint64(version).End()
}

func (w *rowWriter) exception(b deriver, x *Exception, version uint64) {
	kind := ""
	if x.SubjectKind != 0 {
		kind = x.SubjectKind.String()
	}
	r := b.Derive(ExceptionsTable).Str(x.Company).Str(x.ID).Str(x.Type).Str(x.Reason).Str(kind).Str(x.Subject).Str(x.Related).
		Str(x.Amount.Currency.String()).Money(x.Amount).Str(x.Status)
	w.criteria(r, x.Criteria).Str(x.NextStep).Time(x.Date.Time()).Time(x.At.UTC()).Uint64(version).End()
}

func totalRow(b deriver, t *ControlTotal, version uint64) {
	var balanced uint8
	if t.Balanced() {
		balanced = 1
	}
	b.Derive(TotalsTable).Str(t.Company).Str(t.Direction).Str(t.Currency.String()).Time(t.Day.Time()).Uint32(uint32(t.Lines)).
		Money(dec(t.Amount, t.Currency)).Money(dec(t.Matched, t.Currency)).Money(dec(t.Review, t.Currency)).
		Money(dec(t.Unmatched, t.Currency)).Uint8(balanced).Uint64(version).End()
}

// MatchNote is a confirmed match as published on the matches topic, for
// an ERP to clear its open items.
type MatchNote struct {
	MatchID      string          `json:"match_id"`
	Company      string          `json:"company"`
	BankLine     string          `json:"bank_line"`
	Outcome      string          `json:"outcome"` // confirmed, accepted, or what a decision made of the line
	DecidedBy    string          `json:"decided_by,omitempty"`
	Amount       string          `json:"amount"`
	Currency     string          `json:"currency"`
	Rule         string          `json:"rule"`
	RulesVersion int             `json:"rules_version"`
	Score        float64         `json:"score"`
	Applied      []NotePart      `json:"applied"`
	Criteria     []NoteCriterion `json:"criteria"`
}

// NotePart is what a match applies to one document.
type NotePart struct {
	Kind   string `json:"kind"`
	ID     string `json:"id"`
	Amount string `json:"amount"`
}

// NoteCriterion is one line of an explanation.
type NoteCriterion struct {
	Name   string `json:"name"`
	Pass   bool   `json:"pass"`
	Detail string `json:"detail"`
}

func noteCriteria(cs []Criterion) []NoteCriterion {
	out := make([]NoteCriterion, len(cs))
	for i, c := range cs {
		out[i] = NoteCriterion{c.Name, c.Pass, c.Detail}
	}
	return out
}

// matchJSON appends the line's note to dst.
func matchJSON(dst []byte, l *LineResult) []byte {
	n := MatchNote{MatchID: l.ID, Company: l.Company, BankLine: l.Line, Outcome: string(l.Outcome), DecidedBy: l.DecidedBy,
		Amount: l.Amount.String(), Currency: l.Amount.Currency.String(),
		Rule: l.Rule, RulesVersion: RulesVersion, Score: l.Score, Criteria: noteCriteria(l.Criteria)}
	for _, p := range l.Parts {
		n.Applied = append(n.Applied, NotePart{p.Kind.String(), l.Company + "/" + p.Source + "/" + p.ID, p.Amount.String()})
	}
	return appendMatchNote(dst, &n)
}

// ExceptionNote is an exception as published on the exceptions topic.
type ExceptionNote struct {
	ExceptionID string          `json:"exception_id"`
	Company     string          `json:"company"`
	Type        string          `json:"type"`
	Reason      string          `json:"reason,omitempty"`
	Status      string          `json:"status"`
	Subject     string          `json:"subject"`
	Related     string          `json:"related,omitempty"`
	Amount      string          `json:"amount,omitempty"`
	Currency    string          `json:"currency,omitempty"`
	Date        string          `json:"date"`
	NextStep    string          `json:"next_step"`
	Criteria    []NoteCriterion `json:"criteria,omitempty"`
}

// exceptionJSON appends the exception's note to dst.
func exceptionJSON(dst []byte, x *Exception) []byte {
	n := ExceptionNote{ExceptionID: x.ID, Company: x.Company, Type: x.Type, Reason: x.Reason, Status: x.Status, Subject: x.Subject,
		Related: x.Related, Date: x.Date.String(), NextStep: x.NextStep, Criteria: noteCriteria(x.Criteria)}
	if !x.Amount.IsZero() {
		n.Amount, n.Currency = x.Amount.String(), x.Amount.Currency.String()
	}
	return appendExceptionNote(dst, &n)
}
