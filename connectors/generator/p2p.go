package generator

import (
	"fmt"
	"strings"
	"time"

	"github.com/erpflow/erpflow/pipeline/record"
)

// Purchase to pay: purchase order → goods receipt → AP invoice (approved) →
// weekly payment run with approval steps → bank debit.

type apItem struct {
	inv   *doc[record.Invoice]
	po    *doc[record.PurchaseOrder]
	total int64
}

// apRun is one supplier's share of a Wednesday payment run: one payment for
// all its invoices that fall due.
type apRun struct {
	sup   *supplier
	date  record.Date
	items []*apItem
}

// How the approval trail of a payment goes.
type payPlan uint8

const (
	planNormal payPlan = iota
	planMissingLevel
	planPaidAfterReject
	planRejected // rejected and correctly cancelled; the invoices go to the next run
	planSkippedLevel
)

var (
	approveComments = []string{"同意", "已核对", "同意支付", "OK"}
	rejectComments  = []string{"金额有误", "缺少发票", "超出预算", "重复申请"}
	returnComments  = []string{"请补充附件", "发票抬头有误", "请说明事由"}
)

// approval files one workflow step; its id is the subject's plus the step.
func (s *sim) approval(source string, kind record.Kind, subject string, step, level, required int,
	who *employee, action string, t time.Time, comment string) *entry {
	b := &record.Approval{SubjectKind: kind, SubjectID: subject, Step: uint32(step), Level: uint32(level),
		RequiredLevels: uint32(required), Approver: record.Party{ID: who.ref.ID, Name: who.ref.Name},
		Action: action, ActedAt: t, Comment: comment}
	return s.put(s.rec(b, source, fmt.Sprintf("%s/%d", subject, step), 1, t))
}

func (s *sim) newPO(date record.Date) {
	w := s.w
	sup := w.suppliers[w.supPick.pick(s.rng)]
	cur := sup.cur
	items := make([]item, 1+s.rng.IntN(3))
	for i := range items {
		m := &w.materials[sup.materials[s.rng.IntN(len(sup.materials))]]
		items[i] = item{p: m, qty: min(5000, max(1, logUniform(s.rng, 2000, 400000)/m.yuan))}
	}
	price := func(p *product) int64 { return p.net(cur) }
	lines, net, tax := netLines(items, cur, price)
	po := &doc[record.PurchaseOrder]{}
	poNo := s.docNo("PO", date, &s.n.po)
	if create(s, po, srcERP, poNo, record.PurchaseOrder{Number: poNo, Supplier: sup.ref, OrderDate: date,
		Status: "open", Total: money(net+tax, cur), Lines: lines}, s.at(date, bizFrom, bizTo)) == nil {
		return
	}
	if s.chance(sharePOCancelled) {
		s.mix("po_cancelled")
		revise(s, po, s.after(po.last, biz(date+s.days(1, 5))), func(b *record.PurchaseOrder) { b.Status = "cancelled" })
		return
	}
	s.mix("po")

	grDate := biz(date + s.days(3, 15))
	recv := append([]item(nil), items...)
	if s.chance(sharePartialReceipt) {
		s.mix("gr_partial")
		i := s.rng.IntN(len(recv))
		recv[i].qty = max(1, recv[i].qty*int64(60+s.rng.IntN(36))/100)
	}
	gr := &doc[record.GoodsReceipt]{}
	grNo := s.docNo("GR", grDate, &s.n.gr)
	create(s, gr, srcERP, grNo, record.GoodsReceipt{Number: grNo, PORef: poNo, Supplier: record.Party{ID: sup.ref.ID},
		ReceiptDate: grDate, Status: "received", Lines: qtyLines(recv)}, s.after(po.last, grDate))
	revise(s, po, s.after(gr.last, grDate), func(b *record.PurchaseOrder) { b.Status = "received" })

	// The supplier bills what was received at the ordered price, except for
	// the planted mismatches: more than received, or a higher price.
	billed := append([]item(nil), recv...)
	reason := ""
	if s.chance(shareMismatch) {
		i := s.rng.IntN(len(billed))
		if s.rng.IntN(2) == 0 {
			reason = "quantity"
			billed[i].qty += max(1, billed[i].qty*int64(1+s.rng.IntN(10))/100)
		} else {
			reason = "price"
			p := *billed[i].p
			p.yuan += max(1, p.yuan*int64(1+s.rng.IntN(8))/100)
			p.usdCents += max(1, p.usdCents*int64(1+s.rng.IntN(8))/100)
			billed[i].p = &p
		}
	}
	lines, net, tax = netLines(billed, cur, price)
	invDate := biz(grDate + s.days(0, 7))
	apNo := s.docNo("AP", invDate, &s.n.ap)
	it := &apItem{inv: &doc[record.Invoice]{}, po: po, total: net + tax}
	inv := record.Invoice{Number: apNo, Direction: "AP", Party: sup.ref, IssueDate: invDate,
		DueDate: invDate + record.Date(sup.terms), Total: money(net+tax, cur), Status: "open", OrderRef: poNo, Lines: lines}
	if tax != 0 {
		inv.Tax = money(tax, cur)
	}
	e := create(s, it.inv, srcERP, apNo, inv, s.after(po.last, invDate))
	if e == nil {
		return
	}
	if reason != "" {
		s.mix("ap_mismatch")
		e.exception(ExcThreeWayMismatch, s.fullID(srcERP, apNo), s.fullID(srcERP, poNo), reason, record.Money{})
	}
	revise(s, po, s.after(it.inv.last, invDate), func(b *record.PurchaseOrder) { b.Status = "invoiced" })
	approved := biz(invDate + s.days(0, 2))
	s.approval(srcERP, record.KindInvoice, apNo, 1, 1, 1, w.buyerMgr, "approve", s.after(po.last, approved),
		pick(s.rng, approveComments))
	s.joinAPRun(it, sup, nextWeekday(max(inv.DueDate-7, approved+3), 3))
}

// joinAPRun adds an approved invoice to a Wednesday run; the run starts on
// the Monday before, when the payment is drawn up and sent for approval.
func (s *sim) joinAPRun(it *apItem, sup *supplier, run record.Date) {
	k := batchKey{sup.idx, run}
	r := s.apRuns[k]
	if r == nil {
		r = &apRun{sup: sup, date: run}
		s.apRuns[k] = r
		s.schedule(run-2, func() {
			delete(s.apRuns, k)
			s.payRun(r)
		})
	}
	r.items = append(r.items, it)
}

// payLevels is the approval policy: more levels for larger payments.
func payLevels(m record.Money) int {
	yuan := m.Minor / 100
	if m.Currency == usd {
		yuan *= 7
	}
	switch {
	case yuan < 50000:
		return 1
	case yuan < 300000:
		return 2
	}
	return 3
}

func (s *sim) payApprover(level int) *employee {
	switch level {
	case 1:
		return s.w.finMgr
	case 2:
		return s.w.cfo
	}
	return s.w.gm
}

func (s *sim) payRun(r *apRun) {
	sup, cur := r.sup, r.sup.cur
	acct := s.w.account(cur)
	today := s.date(s.today)
	var total int64
	refs := make([]string, len(r.items))
	for i, it := range r.items {
		total += it.total
		refs[i] = it.inv.id
	}
	payNo := s.docNo("PAY", today, &s.n.pay)
	var remit string
	switch x := s.rng.IntN(20); {
	case x < 10:
		remit = payNo
		if !sup.english {
			remit += " 货款"
		}
	case x < 17:
		remit = clip(strings.Join(refs, " "), 140)
	default:
		remit = "货款"
		if sup.english {
			remit = "PAYMENT"
		}
	}
	p := &doc[record.Payment]{}
	body := record.Payment{Number: payNo, Direction: "out", Party: sup.ref, Amount: money(total, cur),
		Method: "bank_transfer", ValueDate: r.date, Status: "pending", InvoiceRefs: refs, Remittance: remit,
		BankAccount: acct.id, CounterpartyAccount: sup.account}
	create(s, p, srcERP, payNo, body, s.at(today, bizFrom, bizFrom+3))

	plan := planNormal
	levels := payLevels(body.Amount)
	switch {
	case levels >= 2 && s.chance(shareMissingLevel):
		plan = planMissingLevel
	case s.chance(sharePaidAfterReject):
		plan = planPaidAfterReject
	case s.chance(shareRejectedCancelled):
		plan = planRejected
	}
	if plan == planNormal && levels >= 3 && s.skips.Float64() < shareSkippedLevel {
		plan = planSkippedLevel
	}
	t := s.approvePayment(p, levels, plan, today)
	if plan == planRejected {
		s.mix("pay_rejected_cancelled")
		revise(s, p, s.after(t, today+1), func(b *record.Payment) { b.Status = "cancelled" })
		for _, it := range r.items {
			s.joinAPRun(it, sup, r.date+7)
		}
		return
	}
	s.mix("payment")
	xe, tb := s.executePayment(p, acct, t)
	payID := s.fullID(srcERP, payNo)
	switch plan {
	case planMissingLevel:
		s.mix("breach_missing_level")
		xe.exception(ExcApprovalBreach, payID, "", "missing_level", record.Money{})
	case planPaidAfterReject:
		s.mix("breach_paid_after_reject")
		xe.exception(ExcApprovalBreach, payID, "", "paid_after_reject", record.Money{})
	case planSkippedLevel:
		s.mix("breach_skipped_level")
		xe.exception(ExcApprovalBreach, payID, "", "skipped_level", record.Money{})
	}
	for _, it := range r.items {
		ti := s.after(laterOf(tb, it.inv.last), r.date)
		revise(s, it.inv, ti, func(b *record.Invoice) { b.Status = "paid" })
		revise(s, it.po, s.after(laterOf(ti, it.po.last), r.date), func(b *record.PurchaseOrder) { b.Status = "closed" })
	}
	if s.chance(shareDuplicatePayment) {
		s.schedule(biz(r.date+s.days(1, 4)), func() { s.duplicatePayment(body, payID, sup) })
	}
}

// approvePayment files the approval steps: level 1 on the Monday, higher
// levels on the Tuesday. It returns the time of the last step.
func (s *sim) approvePayment(p *doc[record.Payment], levels int, plan payPlan, day record.Date) time.Time {
	steps, rejectAt := levels, 0
	switch plan {
	case planMissingLevel:
		steps = levels - 1
	case planPaidAfterReject, planRejected:
		rejectAt = 1 + s.rng.IntN(levels)
	}
	t := p.last
	for lvl := 1; lvl <= steps; lvl++ {
		d := day
		if lvl >= 2 {
			d = biz(day + 1)
		}
		t = s.after(t, d)
		if lvl == rejectAt {
			s.approval(srcERP, record.KindPayment, p.id, lvl, lvl, levels, s.payApprover(lvl), "reject", t,
				pick(s.rng, rejectComments))
			break
		}
		level := lvl
		if plan == planSkippedLevel && lvl == 2 {
			level = 3
		}
		s.approval(srcERP, record.KindPayment, p.id, lvl, level, levels, s.payApprover(level), "approve", t,
			pick(s.rng, approveComments))
	}
	return t
}

// executePayment marks the payment executed on its value date and books the
// bank debit, which settles exactly the payment. Outgoing USD wires cost a
// fee that the bank books as a separate line settling nothing.
func (s *sim) executePayment(p *doc[record.Payment], acct *account, notBefore time.Time) (*entry, time.Time) {
	vd := max(p.body.ValueDate, record.DateOf(notBefore))
	xe := revise(s, p, s.after(notBefore, vd), func(b *record.Payment) { b.Status, b.ValueDate = "executed", vd })
	tb := s.after(p.last, vd)
	b := &record.BankTxn{Account: acct.id, BookingDate: vd, ValueDate: vd, Direction: "debit", Amount: p.body.Amount,
		Counterparty: record.Party{Name: p.body.Party.Name, Account: p.body.CounterpartyAccount},
		Remittance:   p.body.Remittance}
	be := s.putBank(acct, b, tb)
	be.link(record.KindPayment, s.fullID(srcERP, p.id), p.body.Amount)
	if acct.cur == usd {
		s.putBank(acct, &record.BankTxn{Account: acct.id, BookingDate: vd, ValueDate: vd, Direction: "debit",
			Amount: money(2500, usd), Remittance: "WIRE TRANSFER FEE " + p.id}, s.after(tb, vd))
	}
	return xe, tb
}

// duplicatePayment pays the same invoices again under a new number a few
// days later, with a clean approval trail, as happens when a payment is
// re-keyed after a bank rejection that was not one.
func (s *sim) duplicatePayment(orig record.Payment, origID string, sup *supplier) {
	today := s.date(s.today)
	payNo := s.docNo("PAY", today, &s.n.pay)
	body := orig
	// Higher approval levels act the next working day; the value date follows.
	body.Number, body.Status, body.ValueDate = payNo, "pending", biz(biz(today+1)+s.days(0, 1))
	if strings.HasPrefix(body.Remittance, "PAY-") {
		body.Remittance = strings.Replace(body.Remittance, orig.Number, payNo, 1)
	}
	p := &doc[record.Payment]{}
	e := create(s, p, srcERP, payNo, body, s.at(today, bizFrom, bizTo-2))
	s.mix("pay_duplicate")
	e.exception(ExcDuplicatePayment, s.fullID(srcERP, payNo), origID, "", body.Amount)
	t := s.approvePayment(p, payLevels(body.Amount), planNormal, today)
	s.executePayment(p, s.w.account(sup.cur), t)
}
