package generator

import (
	"strings"

	"github.com/erpflow/erpflow/pipeline/record"
)

// Expense claims (报销): claim → approval steps by amount → approved, rejected
// or stuck → Friday reimbursement run → bank debit to the employee.

type claimType struct {
	name, gl string
	lo, hi   int64 // yuan
	descs    []string
	weight   int
}

var claimTypes = []claimType{
	{"差旅费", "6601.02", 300, 12000, []string{"北京出差 高铁+酒店", "上海客户拜访 机票", "广州展会差旅", "成都项目现场 住宿"}, 5},
	{"业务招待费", "6601.05", 200, 8000, []string{"客户招待 餐费", "商务宴请", "客户拜访礼品"}, 3},
	{"交通费", "6601.03", 20, 800, []string{"市内出租车", "加油费", "停车费"}, 4},
	{"办公费", "6602.01", 50, 3000, []string{"办公用品采购", "打印纸及耗材", "快递费"}, 3},
	{"通讯费", "6602.03", 50, 500, []string{"手机话费", "宽带费"}, 2},
	{"培训费", "6602.06", 500, 15000, []string{"外部培训课程", "专业资格考试报名费"}, 1},
	{"会议费", "6602.07", 1000, 30000, []string{"季度销售会议场地", "年度供应商大会"}, 1},
}

var claimTypePick = func() picker {
	var p picker
	for _, t := range claimTypes {
		p.add(t.weight)
	}
	return p
}()

// claimLevels is the reimbursement policy: up to 2,000 yuan the department
// manager, up to 10,000 also finance, above that also the general manager.
func claimLevels(fen int64) int {
	switch {
	case fen <= 200000:
		return 1
	case fen <= 1000000:
		return 2
	}
	return 3
}

// claimApprovers picks who acts at each level: nobody approves their own
// claim and nobody signs twice, falling back up the hierarchy.
func (s *sim) claimApprovers(emp *employee, levels int) []*employee {
	w := s.w
	cands := [][]*employee{{emp.dept.manager, w.cfo, w.gm}, {w.finMgr, w.cfo, w.gm}, {w.gm, w.chairman}}
	out := make([]*employee, 0, levels)
	for l := range levels {
	next:
		for _, c := range cands[l] {
			if c == emp {
				continue
			}
			for _, o := range out {
				if o == c {
					continue next
				}
			}
			out = append(out, c)
			break
		}
	}
	return out
}

// approvalDelay is how long a step waits: mostly a day, sometimes a week,
// which is what the bottleneck reports look for.
func (s *sim) approvalDelay() record.Date {
	switch x := s.rng.IntN(20); {
	case x < 16:
		return s.days(0, 1)
	case x < 19:
		return s.days(2, 4)
	}
	return s.days(5, 10)
}

type reimbRun struct {
	emp    *employee
	claims []*doc[record.ExpenseClaim]
}

func (s *sim) newClaim(date record.Date) {
	w := s.w
	self := s.chance(shareClaimSelfApproval)
	missing := !self && s.chance(shareClaimMissingLevel)
	emp := w.claimants[w.claimPick.pick(s.rng)]
	if self {
		emp = pick(s.rng, w.managers)
	}
	ct := &claimTypes[claimTypePick.pick(s.rng)]
	yuan := logUniform(s.rng, ct.lo, ct.hi)
	if missing {
		yuan = logUniform(s.rng, 3000, 15000) // large enough to need two levels
	}
	fen := yuan * 100
	switch x := s.rng.IntN(10); {
	case x < 4:
		fen += int64(s.rng.IntN(100))
	case x < 6:
		fen += 50
	}
	levels := claimLevels(fen)
	bxNo := s.docNo("BX", date, &s.n.bx)
	c := &doc[record.ExpenseClaim]{}
	if create(s, c, srcReimb, bxNo, record.ExpenseClaim{Number: bxNo, Employee: emp.ref, Department: emp.dept.name,
		Amount: money(fen, cny), ClaimDate: date, ExpenseType: ct.name, GLAccount: ct.gl,
		Description: pick(s.rng, ct.descs), ApprovalStatus: "pending"}, s.at(date, bizFrom, bizTo)) == nil {
		return
	}
	claimID := s.fullID(srcReimb, bxNo)
	rejectAt, stuckAt, returnAt := 0, 0, 0
	if !self && !missing {
		switch x := s.rng.Float64(); {
		case x < shareClaimRejected:
			rejectAt = 1 + s.rng.IntN(levels)
		case x < shareClaimRejected+shareClaimStuck:
			stuckAt = 1 + s.rng.IntN(levels)
		}
	}
	if s.chance(shareClaimReturned) {
		returnAt = 1 + s.rng.IntN(levels)
	}
	steps := levels
	if missing {
		steps = levels - 1
	}
	approvers := s.claimApprovers(emp, levels)
	if self {
		approvers[0] = emp
	}
	t, d, step := c.last, date, 0
	act := func(level int, who *employee, action, comment string) *entry {
		d = biz(d + s.approvalDelay())
		t = s.after(t, d)
		step++
		return s.approval(srcReimb, record.KindExpenseClaim, bxNo, step, level, levels, who, action, t, comment)
	}
	for lvl := 1; lvl <= steps; lvl++ {
		if lvl == stuckAt {
			s.mix("claim_stuck") // the approver never acts; the claim stays pending
			return
		}
		who := approvers[lvl-1]
		if lvl == returnAt {
			s.mix("claim_returned")
			act(lvl, who, "return", pick(s.rng, returnComments))
			act(0, emp, "submit", "已补充")
		}
		if lvl == rejectAt {
			s.mix("claim_rejected")
			act(lvl, who, "reject", pick(s.rng, rejectComments))
			revise(s, c, s.after(t, d), func(b *record.ExpenseClaim) { b.ApprovalStatus = "rejected" })
			return
		}
		e := act(lvl, who, "approve", "同意")
		if self && lvl == 1 {
			s.mix("breach_self_approval")
			e.exception(ExcApprovalBreach, claimID, "", "self_approval", record.Money{})
		}
	}
	ce := revise(s, c, s.after(t, d), func(b *record.ExpenseClaim) { b.ApprovalStatus = "approved" })
	s.mix("claim_approved")
	if missing {
		s.mix("breach_claim_missing_level")
		ce.exception(ExcApprovalBreach, claimID, "", "missing_level", record.Money{})
	}
	s.joinReimbursement(emp, c, nextWeekday(d+1, 5))
}

// joinReimbursement queues an approved claim for the employee's transfer in
// the Friday run; several claims of one employee go in one transfer.
func (s *sim) joinReimbursement(emp *employee, c *doc[record.ExpenseClaim], run record.Date) {
	k := batchKey{emp.no, run}
	r := s.reimbRuns[k]
	if r == nil {
		r = &reimbRun{emp: emp}
		s.reimbRuns[k] = r
		s.schedule(run, func() {
			delete(s.reimbRuns, k)
			s.reimburse(r)
		})
	}
	r.claims = append(r.claims, c)
}

func (s *sim) reimburse(r *reimbRun) {
	date := s.date(s.today)
	var sum int64
	nums := make([]string, len(r.claims))
	for i, c := range r.claims {
		sum += c.body.Amount.Minor
		nums[i] = c.id
	}
	remit := pick(s.rng, []string{"报销款", "费用报销"})
	if s.rng.IntN(10) < 7 {
		remit = clip("报销 "+strings.Join(nums, " "), 140)
	}
	acct := s.w.cny
	tb := s.at(date, bizFrom, bizTo)
	e := s.putBank(acct, &record.BankTxn{Account: acct.id, BookingDate: date, ValueDate: date, Direction: "debit",
		Amount: money(sum, cny), Counterparty: record.Party{Name: r.emp.ref.Name, Account: r.emp.account},
		Remittance: remit}, tb)
	s.mix("reimbursement")
	for _, c := range r.claims {
		e.link(record.KindExpenseClaim, s.fullID(srcReimb, c.id), c.body.Amount)
		revise(s, c, s.after(laterOf(tb, c.last), date), func(b *record.ExpenseClaim) {
			b.Paid, b.PaidDate = true, date
		})
	}
}
