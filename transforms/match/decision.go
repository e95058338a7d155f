package match

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/erpflow/erpflow/pipeline"
)

// DecisionNote is a review decision as it travels on the reviews topic,
// keyed by company: what `erpflow recon accept|reject|unmatch` publishes,
// and what another system may send.
type DecisionNote struct {
	Company   string    `json:"company"`
	MatchID   string    `json:"match_id"`
	Action    string    `json:"action"` // accept, reject, unmatch
	By        string    `json:"by"`
	Reason    string    `json:"reason,omitempty"`
	DecidedAt time.Time `json:"decided_at"`
}

// Encode is the note's JSON.
func (n DecisionNote) Encode() []byte {
	b, _ := json.Marshal(n) // strings and a time: cannot fail
	return b
}

// ParseDecision reads a decision note strictly: an unknown key, a missing
// field or an unknown action is refused with a dead-letter reason code
// (invalid_json, unknown_field:K, missing_field:K, invalid_value:K) and a
// message for a person.
func ParseDecision(data []byte) (company string, d Decision, reason, msg string) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var n DecisionNote
	if err := dec.Decode(&n); err != nil {
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			f = strings.Trim(f, `"`)
			return "", d, "unknown_field:" + f, fmt.Sprintf("review decision: unknown key %q", f)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return "", d, "wrong_type:" + te.Field, fmt.Sprintf("review decision: %s must be a %s", te.Field, te.Type)
		}
		return "", d, "invalid_json", "review decision: " + err.Error()
	}
	for _, f := range []struct{ name, v string }{{"company", n.Company}, {"match_id", n.MatchID}, {"action", n.Action}, {"by", n.By}} {
		if strings.TrimSpace(f.v) == "" {
			return "", d, "missing_field:" + f.name, fmt.Sprintf("review decision: %s is required", f.name)
		}
	}
	if n.DecidedAt.IsZero() {
		return "", d, "missing_field:decided_at", "review decision: decided_at is required"
	}
	switch n.Action {
	case ActionAccept, ActionReject, ActionUnmatch:
	default:
		return "", d, "invalid_value:action", fmt.Sprintf("review decision: action %q is not accept, reject or unmatch", n.Action)
	}
	if n.Action != ActionAccept && strings.TrimSpace(n.Reason) == "" {
		return "", d, "missing_field:reason", fmt.Sprintf("review decision: %s needs a reason", n.Action)
	}
	return n.Company, Decision{MatchID: n.MatchID, Action: n.Action, By: n.By, Reason: n.Reason, At: n.DecidedAt.UTC()}, "", ""
}

// ReviewsTable is where decisions land (migrations 0006, 0007).
var ReviewsTable = &pipeline.Table{Name: "recon_reviews", Columns: []string{"company", "line_id", "match_id", "action",
	"actor", "reason", "decided_at", "version", "stream_time"}}

func reviewRow(b *pipeline.Batch, company, line string, d Decision, version uint64) {
	after := d.After
	if after.IsZero() {
		after = time.Unix(0, 0)
	}
	b.Derive(ReviewsTable).Str(company).Str(line).Str(d.MatchID).Str(d.Action).Str(d.By).Str(d.Reason).
		Time(d.At.UTC().Truncate(time.Second)).Uint64(version).Time(after.UTC()).End()
}
