package match

import (
	"encoding/json"

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
	TotalsTable = &pipeline.Table{Name: "recon_control_totals", Columns: []string{"company", "currency", "day", "lines",
		"lines_amount", "matched_amount", "review_amount", "unmatched_amount", "balanced", "version"}}
)

// dec is an amount for a Decimal column; the sink lands a record.Money
// there at the column's scale.
func dec(minor int64, c record.Currency) record.Money {
	return record.Money{Minor: minor, Currency: c}
}

func criteria(cs []Criterion) (names []string, pass []uint8, detail []string) {
	names, pass, detail = make([]string, len(cs)), make([]uint8, len(cs)), make([]string, len(cs))
	for i, c := range cs {
		names[i], detail[i] = c.Name, c.Detail
		if c.Pass {
			pass[i] = 1
		}
	}
	return names, pass, detail
}

// lineRows is a bank line's row and one row per document its match
// applies to.
func lineRows(l *LineResult, version uint64) []pipeline.Row {
	names, pass, detail := criteria(l.Criteria)
	alts := make([]string, len(l.Alternatives))
	for i, a := range l.Alternatives {
		for j, p := range a {
			if j > 0 {
				alts[i] += " + "
			}
			alts[i] += p.Kind.String() + " " + l.Company + "/" + p.Source + "/" + p.ID + " " + p.Amount.String()
		}
	}
	rows := []pipeline.Row{{Table: MatchesTable, Values: []any{l.Company, l.Line, l.ID, l.Direction, l.Amount.Currency.String(),
		l.Amount, dec(l.Charges.Minor, l.Amount.Currency), l.Date.Time(), string(l.Outcome), l.Rule, uint32(RulesVersion),
		l.Score, uint32(l.Candidates), names, pass, detail, alts, l.DecidedBy, l.Reason, l.At.UTC(), version}}}
	for _, p := range l.Parts {
		rows = append(rows, pipeline.Row{Table: MatchLinesTable, Values: []any{l.Company, l.Line, l.ID, string(l.Outcome),
			p.Kind.String(), l.Company + "/" + p.Source + "/" + p.ID, p.Amount.Currency.String(), p.Amount, version}})
	}
	return rows
}

func itemRow(it *ItemState, version uint64) pipeline.Row {
	cur := it.Total.Currency
	return pipeline.Row{Table: OpenItemsTable, Values: []any{it.Company, it.Kind.String(), it.Source, it.ID, it.Number,
		it.Direction, it.PartyKey, cur.String(), dec(it.Total.Minor, cur), dec(it.Open.Minor, cur), it.DueDate.Time(),
		it.Status, it.At.UTC(), version}}
}

func exceptionRow(x *Exception, version uint64) pipeline.Row {
	names, pass, detail := criteria(x.Criteria)
	kind := ""
	if x.SubjectKind != 0 {
		kind = x.SubjectKind.String()
	}
	return pipeline.Row{Table: ExceptionsTable, Values: []any{x.Company, x.ID, x.Type, x.Reason, kind, x.Subject, x.Related,
		x.Amount.Currency.String(), x.Amount, x.Status, names, pass, detail, x.NextStep, x.Date.Time(), x.At.UTC(), version}}
}

func totalRow(t *ControlTotal, version uint64) pipeline.Row {
	var balanced uint8
	if t.Balanced() {
		balanced = 1
	}
	return pipeline.Row{Table: TotalsTable, Values: []any{t.Company, t.Currency.String(), t.Day.Time(), uint32(t.Lines),
		dec(t.Amount, t.Currency), dec(t.Matched, t.Currency), dec(t.Review, t.Currency), dec(t.Unmatched, t.Currency),
		balanced, version}}
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

func matchJSON(l *LineResult) []byte {
	n := MatchNote{MatchID: l.ID, Company: l.Company, BankLine: l.Line, Outcome: string(l.Outcome), DecidedBy: l.DecidedBy,
		Amount: l.Amount.String(), Currency: l.Amount.Currency.String(),
		Rule: l.Rule, RulesVersion: RulesVersion, Score: l.Score, Criteria: noteCriteria(l.Criteria)}
	for _, p := range l.Parts {
		n.Applied = append(n.Applied, NotePart{p.Kind.String(), l.Company + "/" + p.Source + "/" + p.ID, p.Amount.String()})
	}
	b, _ := json.Marshal(n) // strings, numbers and slices of them: cannot fail
	return b
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

func exceptionJSON(x *Exception) []byte {
	n := ExceptionNote{ExceptionID: x.ID, Company: x.Company, Type: x.Type, Reason: x.Reason, Status: x.Status, Subject: x.Subject,
		Related: x.Related, Date: x.Date.String(), NextStep: x.NextStep, Criteria: noteCriteria(x.Criteria)}
	if !x.Amount.IsZero() {
		n.Amount, n.Currency = x.Amount.String(), x.Amount.Currency.String()
	}
	b, _ := json.Marshal(n)
	return b
}
