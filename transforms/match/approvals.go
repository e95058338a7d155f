package match

import (
	"fmt"
	"sort"

	"github.com/erpflow/erpflow/pipeline/record"
)

// Reasons an approval trail breaches policy.
const (
	BreachMissingLevel    = "missing_level"     // money went out below the levels the policy requires
	BreachPaidAfterReject = "paid_after_reject" // money went out although a step rejected it
	BreachSelfApproval    = "self_approval"     // an employee approved their own claim
	BreachSkippedLevel    = "skipped_level"     // a level approved with one below it never approved
)

// breachReasons are every reason, for forgetting what was reported.
var breachReasons = []string{BreachMissingLevel, BreachPaidAfterReject, BreachSelfApproval, BreachSkippedLevel}

// Breach is an approval trail that does not satisfy policy, with the
// steps that show it and what a clerk should do.
type Breach struct {
	Subject  string // company/source/id of the payment or expense claim
	Kind     record.Kind
	Reason   string
	Criteria []Criterion
	NextStep string
}

// Approvals follows the approval steps of outgoing payments and expense
// claims and reports a breach when money goes out (a payment executed, a
// claim approved) on a trail that does not allow it, or when a claimant
// approves their own claim. Each breach is reported once per subject and
// reason, however often its records are re-sent.
type Approvals struct {
	trails   map[string]*trail
	reported map[string]bool
	policy   []LevelRule
}

// LevelRule is a company's approval policy by amount: money out of more
// than Above (in Above's currency) needs approval up to Levels. The steps
// of a workflow state the levels they require too; the higher one counts.
type LevelRule struct {
	Above  record.Money
	Levels uint32
}

// required is what the policy asks for an amount: the levels of the
// highest threshold the amount exceeds, in its currency.
func (a *Approvals) required(m record.Money) (uint32, *LevelRule) {
	var levels uint32
	var rule *LevelRule
	for i := range a.policy {
		r := &a.policy[i]
		if r.Above.Currency == m.Currency && m.Minor > r.Above.Minor && r.Levels > levels {
			levels, rule = r.Levels, r
		}
	}
	return levels, rule
}

type trail struct {
	steps    map[uint32]*record.Approval // by step: a re-sent step replaces
	versions map[uint32]uint64           // of each step, so a stale one does not
	claimant string                      // an expense claim's employee id
	touched  record.Date                 // event date of the latest record about it
}

// NewApprovals returns an empty approval checker with a company's policy
// by amount (none: the steps' own required levels alone count).
func NewApprovals(policy ...LevelRule) *Approvals {
	return &Approvals{trails: map[string]*trail{}, reported: map[string]bool{}, policy: policy}
}

func (a *Approvals) trail(subject string) *trail {
	t := a.trails[subject]
	if t == nil {
		t = &trail{steps: map[uint32]*record.Approval{}, versions: map[uint32]uint64{}}
		a.trails[subject] = t
	}
	return t
}

// Add takes records in event-time order and returns the breaches they
// make visible.
func (a *Approvals) Add(r *record.Record) []Breach {
	full := r.Company + "/" + r.Source + "/" + r.ID
	day := record.DateOf(r.EventTime)
	switch b := r.Body.(type) {
	case *record.Approval:
		if b.SubjectKind != record.KindPayment && b.SubjectKind != record.KindExpenseClaim {
			return nil
		}
		subject := r.Company + "/" + r.Source + "/" + b.SubjectID
		t := a.trail(subject)
		t.touched = max(t.touched, day)
		if t.versions[b.Step] > r.Version {
			return nil
		}
		t.steps[b.Step], t.versions[b.Step] = b, r.Version
		return a.selfApproval(subject, t)
	case *record.Payment:
		if b.Direction != "out" || b.Status != "executed" {
			return nil
		}
		t := a.trail(full)
		t.touched = max(t.touched, day)
		return a.moneyOut(full, record.KindPayment, t, b.Amount, fmt.Sprintf("payment %s executed", b.Number))
	case *record.ExpenseClaim:
		t := a.trail(full)
		t.touched = max(t.touched, day)
		t.claimant = b.Employee.ID
		out := a.selfApproval(full, t)
		if b.ApprovalStatus == "approved" {
			out = append(out, a.moneyOut(full, record.KindExpenseClaim, t, b.Amount, fmt.Sprintf("claim %s approved for payment", b.Number))...)
		}
		return out
	}
	return nil
}

func (a *Approvals) report(subject, reason string, k record.Kind, crit []Criterion, next string) []Breach {
	key := subject + "\x00" + reason
	if a.reported[key] {
		return nil
	}
	a.reported[key] = true
	return []Breach{{Subject: subject, Kind: k, Reason: reason, Criteria: crit, NextStep: next}}
}

func (a *Approvals) selfApproval(subject string, t *trail) []Breach {
	if t.claimant == "" {
		return nil
	}
	for _, s := range t.ordered() {
		if s.Action == "approve" && s.Approver.ID == t.claimant {
			return a.report(subject, BreachSelfApproval, record.KindExpenseClaim,
				[]Criterion{{fmt.Sprintf("step %d", s.Step), false, fmt.Sprintf("approved at level %d by the claimant %s", s.Level, s.Approver.ID)}},
				"have the claim approved again by the claimant's manager before it is reimbursed")
		}
	}
	return nil
}

// moneyOut checks the trail at the moment money leaves: the last
// submission restarts it, a rejection after that forbids payment, the
// approved levels must reach what the steps say the policy requires, and
// none below the highest approved may be missing.
func (a *Approvals) moneyOut(subject string, k record.Kind, t *trail, amount record.Money, what string) []Breach {
	var out []Breach
	var approved, required uint32
	var rejected *record.Approval
	// levels are those approved since the trail last started over: a
	// resubmission after a rejection starts it over, one after a return
	// resumes it at the step that returned it (as the workflows the
	// generator models do), so the levels approved before that count.
	var levels levelSet
	for _, s := range t.ordered() {
		required = max(required, s.RequiredLevels)
		switch s.Action {
		case "submit":
			if rejected != nil {
				levels = 0
			}
			approved, rejected = 0, nil
		case "return":
			// Sent back for changes: what was approved before counts again
			// only after a new submission is approved.
			approved = 0
		case "approve":
			approved = max(approved, s.Level)
			levels.add(s.Level)
		case "reject":
			rejected = s
		}
	}
	if rejected != nil {
		out = append(out, a.report(subject, BreachPaidAfterReject, k,
			[]Criterion{{fmt.Sprintf("step %d", rejected.Step), false, fmt.Sprintf("rejected at level %d by %s", rejected.Level, rejected.Approver.ID)},
				{"money out", false, what}},
			fmt.Sprintf("stop or recall the payment and ask %s, who rejected it, and the payer why it went out", rejected.Approver.ID))...)
		// The levels a rejection cut short are its consequence, not a
		// second breach for the clerk to chase.
		return out
	}
	required = max(required, 1) // money never goes out with no approval at all
	why := "by the workflow"
	if byPolicy, rule := a.required(amount); byPolicy > required {
		required = byPolicy
		why = fmt.Sprintf("by the policy for more than %s %s", rule.Above, rule.Above.Currency)
	}
	if approved < required {
		out = append(out, a.report(subject, BreachMissingLevel, k,
			[]Criterion{{"levels", false, fmt.Sprintf("approved up to level %d of %d required %s", approved, required, why)}, {"money out", false, what}},
			fmt.Sprintf("have a level %d approver review it after the fact and record the approval, or recall it", approved+1))...)
	}
	// A senior approval does not stand in for a step nobody took: level 3
	// approving what level 2 never saw is how a trail gets around its
	// first reader.
	if gap := levels.firstGap(approved); gap > 0 {
		out = append(out, a.report(subject, BreachSkippedLevel, k,
			[]Criterion{{"levels", false, fmt.Sprintf("approved at levels %s; level %d never approved", levels, gap)}, {"money out", false, what}},
			fmt.Sprintf("have a level %d approver review it after the fact and record the approval, or recall it", gap))...)
	}
	return out
}

// levelSet is the approval levels seen, 1 to 64; workflows have a handful.
type levelSet uint64

func (l *levelSet) add(level uint32) {
	if level >= 1 && level <= 64 {
		*l |= 1 << (level - 1)
	}
}

// firstGap is the lowest level below top with no approval, or 0.
func (l levelSet) firstGap(top uint32) uint32 {
	for lvl := uint32(1); lvl < top && lvl <= 64; lvl++ {
		if l&(1<<(lvl-1)) == 0 {
			return lvl
		}
	}
	return 0
}

func (l levelSet) String() string {
	var b []byte
	for lvl := uint32(1); lvl <= 64; lvl++ {
		if l&(1<<(lvl-1)) != 0 {
			if len(b) > 0 {
				b = append(b, ", "...)
			}
			b = fmt.Appendf(b, "%d", lvl)
		}
	}
	return string(b)
}

func (t *trail) ordered() []*record.Approval {
	out := make([]*record.Approval, 0, len(t.steps))
	for _, s := range t.steps {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Step < out[j].Step })
	return out
}

// Forget drops the trails with no record since before cutoff (an event
// date), with what was reported about them, and returns how many. A step
// arriving for a forgotten subject starts a new trail.
func (a *Approvals) Forget(cutoff record.Date) int {
	n := 0
	for subject, t := range a.trails {
		if t.touched < cutoff {
			delete(a.trails, subject)
			for _, reason := range breachReasons {
				delete(a.reported, subject+"\x00"+reason)
			}
			n++
		}
	}
	return n
}
