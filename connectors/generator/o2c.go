package generator

import (
	"fmt"
	"strings"
	"time"

	"github.com/erpflow/erpflow/pipeline/record"
)

// Order to cash: sales order → shipment → delivery sign-off → AR invoice →
// bank receipt → invoice marked paid.

// arInvoice is an issued customer invoice and the money applied to it so far.
type arInvoice struct {
	inv        doc[record.Invoice]
	cust       *customer
	orderNo    string
	total      int64
	applied    int64 // settled by bank lines in the window (the truth links)
	writtenOff int64 // fees deducted without the bank saying so, written off by finance
	byDraft    int64 // settled by a bank acceptance draft, which no bank line brings
}

func (a *arInvoice) settled() int64 { return a.applied + a.writtenOff + a.byDraft }

// arBatch is a batch payer's payment run: one transfer for several invoices.
type arBatch struct{ invs []*arInvoice }

func fixed(qty int64) record.Fixed { return record.Fixed(qty * 10000) }

// unitPrice turns a price in minor units (two decimals) into a Fixed.
func unitPrice(minor int64) record.Fixed { return record.Fixed(minor * 100) }

func qtyLines(items []item) []record.Line {
	out := make([]record.Line, len(items))
	for i, it := range items {
		out[i] = record.Line{SKU: it.p.sku, Quantity: fixed(it.qty)}
	}
	return out
}

// netLines prices items net of VAT; tax is 13% of the net total on CNY
// documents (exact: net prices are whole yuan) and none on exports.
func netLines(items []item, cur record.Currency, price func(*product) int64) (lines []record.Line, net, tax int64) {
	lines = make([]record.Line, len(items))
	for i, it := range items {
		p := price(it.p)
		lines[i] = record.Line{SKU: it.p.sku, Description: it.p.desc, Quantity: fixed(it.qty),
			UnitPrice: unitPrice(p), Amount: money(p*it.qty, cur)}
		net += p * it.qty
	}
	if cur == cny {
		tax = net * 13 / 100
	}
	return lines, net, tax
}

var (
	carriersCN = []string{"顺丰", "德邦物流", "京东物流", "中通快运"}
	carriersEN = []string{"DHL", "FedEx", "Maersk"}
)

func (s *sim) newOrder(date record.Date) {
	w := s.w
	c := w.customers[w.custPick.pick(s.rng)]
	items := c.standing
	if items == nil {
		items = w.orderItems(s.rng)
	}
	cur := c.cur
	soLines := make([]record.Line, len(items))
	var total int64
	for i, it := range items {
		g := it.p.gross(cur)
		soLines[i] = record.Line{SKU: it.p.sku, Quantity: fixed(it.qty), UnitPrice: unitPrice(g), Amount: money(g*it.qty, cur)}
		total += g * it.qty
	}
	so := &doc[record.SalesOrder]{}
	soNo := s.docNo("SO", date, &s.n.so)
	if create(s, so, srcShop, soNo, record.SalesOrder{Number: soNo, Customer: c.ref, OrderDate: date,
		Status: "open", Channel: c.channel, Total: money(total, cur), Lines: soLines}, s.at(date, 0, 14)) == nil {
		return
	}
	if s.chance(shareOrderCancelled) {
		s.mix("order_cancelled")
		revise(s, so, s.after(so.last, date+s.days(0, 2)), func(b *record.SalesOrder) { b.Status = "cancelled" })
		return
	}
	s.mix("order")

	shipDate := biz(date + s.days(1, 3))
	carrier := pick(s.rng, carriersCN)
	if cur == usd {
		carrier = pick(s.rng, carriersEN)
	}
	sh := &doc[record.Shipment]{}
	shNo := s.docNo("SH", shipDate, &s.n.sh)
	create(s, sh, srcWMS, shNo, record.Shipment{Number: shNo, OrderRef: soNo, Customer: record.Party{ID: c.ref.ID},
		ShipDate: shipDate, Status: "shipped", Carrier: carrier, Lines: qtyLines(items)}, s.after(so.last, shipDate))
	revise(s, so, s.after(sh.last, shipDate), func(b *record.SalesOrder) { b.Status = "shipped" })
	delivered := shipDate + s.days(1, 4)
	revise(s, sh, s.after(so.last, delivered), func(b *record.Shipment) {
		b.Status, b.DeliveredDate = "delivered", delivered
	})

	invDate := biz(delivered + s.days(0, 2))
	lines, net, tax := netLines(items, cur, func(p *product) int64 { return p.net(cur) })
	if net+tax != total {
		panic(fmt.Sprintf("generator: invoice total %d differs from order total %d", net+tax, total))
	}
	invNo := s.docNo("INV", invDate, &s.n.inv)
	a := &arInvoice{cust: c, orderNo: soNo, total: total}
	inv := record.Invoice{Number: invNo, Direction: "AR", Party: c.ref, IssueDate: invDate,
		DueDate: invDate + record.Date(c.terms), Total: money(total, cur), Status: "open", OrderRef: soNo, Lines: lines}
	if tax != 0 {
		inv.Tax = money(tax, cur)
	}
	if create(s, &a.inv, srcERP, invNo, inv, s.after(sh.last, invDate)) == nil {
		return
	}
	revise(s, so, s.after(a.inv.last, invDate), func(b *record.SalesOrder) { b.Status = "invoiced" })
	s.ar = append(s.ar, a)
	s.planReceipt(a)
}

// planReceipt decides, when the invoice is issued, how and when it will be
// paid; the payments happen as the simulation reaches their days.
func (s *sim) planReceipt(a *arInvoice) {
	c := a.cust
	never := shareNeverPaid
	if c.profile == profBad {
		never = shareNeverPaidBad
	}
	if s.chance(never) {
		s.mix("ar_never_paid")
		if s.rcpt.Float64() < shareUnbankedRcpt {
			d := biz(max(a.inv.body.DueDate+record.Date(s.rcpt.IntN(11))-5, a.inv.body.IssueDate+1))
			s.schedule(d, func() { s.unbankedReceipt(a) })
		}
		return
	}
	due, issue := a.inv.body.DueDate, a.inv.body.IssueDate
	var pay record.Date
	switch c.profile {
	case profPrompt:
		s.mix("ar_prompt")
		pay = due + s.days(-10, 2)
	case profLate:
		s.mix("ar_late")
		pay = due + s.days(5, 45)
	case profBad:
		s.mix("ar_late")
		pay = due + s.days(20, 60)
	case profBatch:
		s.mix("ar_batch")
		s.joinBatch(a)
		return
	case profInstalment:
		s.mix("ar_instalment")
		s.planInstalments(a)
		return
	}
	pay = biz(max(pay, issue+1))
	s.schedule(pay, func() { s.receipt(c, []*arInvoice{a}, []int64{a.total}) })
}

// planInstalments splits the invoice into two or three parts in whole
// currency units; some plans stop early and leave a residual.
func (s *sim) planInstalments(a *arInvoice) {
	n := int64(2 + s.rng.IntN(2))
	part := a.total / n / 100 * 100
	if part == 0 {
		part = a.total / n
	}
	parts := make([]int64, n)
	for i := range parts {
		parts[i] = part
	}
	parts[n-1] = a.total - part*(n-1)
	if s.chance(shareResidual) {
		s.mix("ar_residual")
		parts = parts[:n-1]
	}
	d := max(a.inv.body.DueDate+s.days(-5, 5), a.inv.body.IssueDate+1)
	for i, amt := range parts {
		if i > 0 {
			d += s.days(20, 35)
		}
		s.schedule(biz(d), func() { s.receipt(a.cust, []*arInvoice{a}, []int64{amt}) })
	}
}

// joinBatch adds the invoice to the customer's next monthly payment run that
// comes at least ten days before its due date.
func (s *sim) joinBatch(a *arInvoice) {
	c := a.cust
	run := biz(nextMonthDay(max(a.inv.body.DueDate-10, a.inv.body.IssueDate+1), c.batchDay))
	k := batchKey{c.idx, run}
	b := s.arBatches[k]
	if b == nil {
		b = &arBatch{}
		s.arBatches[k] = b
		s.schedule(run, func() {
			delete(s.arBatches, k)
			amts := make([]int64, len(b.invs))
			for i, a := range b.invs {
				amts[i] = a.total
			}
			s.receipt(c, b.invs, amts)
		})
	}
	b.invs = append(b.invs, a)
}

// receipt is one incoming transfer settling amts of invs, booked today. A fee
// may be deducted on the way; when the bank does not report it, finance
// writes the shortfall off and marks the invoice paid anyway.
func (s *sim) receipt(c *customer, invs []*arInvoice, amts []int64) {
	date := s.date(s.today)
	acct := s.w.account(c.cur)
	// Some customers pay one invoice with a bank acceptance draft (承兑汇票)
	// instead of a transfer: the ERP books the receipt, and no bank line
	// ever brings it. The draws of s.rng and s.late are made as for a
	// transfer, so that the other documents stay as they were; the
	// receipts' own stream, s.rcpt, moves.
	draft := len(invs) == 1 && s.rcpt.Float64() < shareDraft
	var sum int64
	for _, a := range amts {
		sum += a
	}
	var fee int64
	reported := false
	share := shareFeeCNY
	if c.cur == usd {
		share = shareFeeUSD
	}
	if s.chance(share) {
		fee = int64(5+s.rng.IntN(46)) * 100
		if c.cur == usd {
			fee = int64(10+s.rng.IntN(31)) * 100
		}
		if fee*10 > amts[len(amts)-1] {
			fee = 0
		}
		reported = s.chance(shareFeeReported)
	}
	nums := make([]string, len(invs))
	orders := make([]string, len(invs))
	for i, a := range invs {
		nums[i], orders[i] = a.inv.id, a.orderNo
	}
	b := &record.BankTxn{Account: acct.id, BookingDate: date, ValueDate: date, Direction: "credit",
		Amount: money(sum-fee, c.cur), Counterparty: record.Party{Name: c.bankName, Account: c.account},
		Remittance: s.remitAR(c, nums, orders)}
	if fee > 0 && reported {
		b.Charges = money(fee, c.cur)
	}
	t := s.at(date, bizFrom, bizTo)
	if draft {
		// The draws a transfer makes from here on, made as it makes them
		// and dropped.
		posted := biz(date + s.days(0, 2))
		s.after(laterOf(t, invs[0].inv.last), posted)
		if s.late.Float64() < shareDoubleReceipt {
			// The re-send's own draw, on its day, made and dropped.
			s.schedule(biz(date+record.Date(1+s.late.IntN(10))), func() { s.late.IntN((bizTo - bizFrom) * 3600) })
		}
		s.draftReceipt(c, acct, invs[0], amts[0], t)
		return
	}
	e := s.putBank(acct, b, t)
	s.mix("receipt")
	if len(invs) > 1 {
		s.mix("receipt_batch")
	}
	if c.lookalike {
		s.mix("receipt_lookalike")
	}
	switch {
	case fee > 0 && reported:
		s.mix("fee_reported")
	case fee > 0:
		s.mix("fee_unreported")
	}
	for i, a := range invs {
		amt := amts[i]
		if i == len(invs)-1 && fee > 0 && !reported {
			amt -= fee
			a.writtenOff += fee
		}
		a.applied += amt
		e.link(record.KindInvoice, s.fullID(srcERP, a.inv.id), money(amt, c.cur))
		status := "partially_paid"
		if a.settled() >= a.total {
			status = "paid"
		}
		posted := biz(date + s.days(0, 2))
		revise(s, &a.inv, s.after(laterOf(t, a.inv.last), posted), func(b *record.Invoice) { b.Status = status })
	}
	if fee > 0 && !reported {
		e.exception(ExcFeeDeducted, "", "", "", money(fee, c.cur))
	}
	if s.rcpt.Float64() < shareERPReceipt {
		refs := make([]string, len(invs))
		for i, a := range invs {
			refs[i] = a.inv.id
		}
		if s.bookReceipt(c, acct, b.Amount, date, refs, biz(date+record.Date(s.rcpt.IntN(3))), t) != nil {
			s.mix("erp_receipt") // (one booked after the window is not)
		}
	}
	if len(invs) == 1 && s.late.Float64() < shareDoubleReceipt {
		again := *b
		inv := s.fullID(srcERP, invs[0].inv.id)
		s.schedule(biz(date+record.Date(1+s.late.IntN(10))), func() { s.doubleReceipt(acct, &again, inv) })
	}
}

// bookReceipt files the ERP's own receipt document (收款单): cash of amt
// that came in on value for the invoices refs, booked by a clerk on posted,
// after notBefore. Its draws come from s.rcpt, so that adding receipts left
// every other record of a seed as it was.
func (s *sim) bookReceipt(c *customer, acct *account, amt record.Money, value record.Date, refs []string, posted record.Date,
	notBefore time.Time) *entry {
	no := s.docNo("RC", posted, &s.n.rc)
	body := record.Payment{Number: no, Direction: "in", Party: c.ref, Amount: amt, Method: "bank_transfer", ValueDate: value,
		Status: "executed", InvoiceRefs: refs, BankAccount: acct.id, CounterpartyAccount: c.account}
	var d doc[record.Payment]
	return create(s, &d, srcERP, no, body, afterOn(s.rcpt, notBefore, posted))
}

// draftReceipt settles an invoice with a bank acceptance draft: the ERP
// books the receipt (method draft) and marks the invoice paid; the
// company holds the draft to maturity or discounts it, and no bank line
// of the window brings it.
func (s *sim) draftReceipt(c *customer, acct *account, a *arInvoice, amt int64, t time.Time) {
	date := s.date(s.today)
	posted := biz(date + record.Date(s.rcpt.IntN(3)))
	e := s.bookReceipt(c, acct, money(amt, c.cur), date, []string{a.inv.id}, posted, laterOf(t, a.inv.last))
	if e == nil {
		return // booked after the window: the invoice stays open in the world
	}
	e.rec.Body.(*record.Payment).Method = "draft"
	a.byDraft += amt
	status := "partially_paid"
	if a.settled() >= a.total {
		status = "paid"
	}
	revise(s, &a.inv, afterOn(s.rcpt, e.rec.EventTime, posted), func(b *record.Invoice) { b.Status = status })
	s.mix("receipt_draft")
}

// unbankedReceipt is a receipt the ERP books for an invoice whose money
// never came: a cheque that bounced, a transfer the customer announced and
// never sent, a clerk's slip. No bank line will ever bring it.
func (s *sim) unbankedReceipt(a *arInvoice) {
	today := s.date(s.today)
	start := time.Unix(int64(today)*86400, 0).UTC()
	e := s.bookReceipt(a.cust, s.w.account(a.cust.cur), a.inv.body.Total, today, []string{a.inv.id}, today, laterOf(start, a.inv.last))
	if e != nil {
		e.exception(ExcUnbankedReceipt, "", s.fullID(srcERP, a.inv.id), "", a.inv.body.Total)
		s.mix("erp_receipt_unbanked")
	}
}

// doubleReceipt is the same transfer sent again by the customer's
// clerk: nothing applies it, and the customer is owed it back.
func (s *sim) doubleReceipt(acct *account, b *record.BankTxn, invoice string) {
	date := s.date(s.today)
	b.BookingDate, b.ValueDate = date, date
	t := time.Unix(int64(date)*86400+int64(bizFrom*3600+s.late.IntN((bizTo-bizFrom)*3600)), 0).UTC()
	e := s.putBank(acct, b, t)
	e.exception(ExcOverpayment, "", invoice, "paid_twice", b.Amount)
	s.mix("receipt_double")
}

var (
	remitExactZH   = []string{"%s", "货款 %s", "付%s货款", "支付发票 %s"}
	remitExactEN   = []string{"%s", "Payment for %s", "INVOICE %s", "/RFB/%s"}
	remitMissingZH = []string{"货款", "往来款", "支付货款", ""}
	remitMissingEN = []string{"PAYMENT", "Payment for goods", "", "TRADE SETTLEMENT"}
)

// remitAR writes what the payer typed: the invoice numbers, nothing useful,
// or the numbers with a digit changed or dropped.
func (s *sim) remitAR(c *customer, nums, orders []string) string {
	exact, missing := remitExactZH, remitMissingZH
	if c.english {
		exact, missing = remitExactEN, remitMissingEN
	}
	var txt string
	switch x := s.rng.Float64(); {
	case x < shareRemitExact:
		s.mix("remit_exact")
		txt = fmt.Sprintf(pick(s.rng, exact), strings.Join(nums, " "))
	case x < shareRemitExact+shareRemitMissing:
		s.mix("remit_missing")
		txt = pick(s.rng, missing)
		if s.rng.IntN(3) == 0 { // the order number instead, which still helps
			txt = strings.TrimSpace(txt + " " + strings.Join(orders, " "))
		}
	default:
		s.mix("remit_garbled")
		g := make([]string, len(nums))
		for i, n := range nums {
			g[i] = s.garble(n)
		}
		txt = fmt.Sprintf(pick(s.rng, exact), strings.Join(g, " "))
	}
	return clip(txt, 140)
}

// garble changes or drops one digit of a document number's sequence part.
func (s *sim) garble(num string) string {
	i := strings.LastIndexByte(num, '-') + 1
	j := i + s.rng.IntN(len(num)-i)
	if s.rng.IntN(2) == 0 {
		return num[:j] + num[j+1:]
	}
	d := byte('0' + (int(num[j]-'0')+1+s.rng.IntN(9))%10)
	return num[:j] + string(d) + num[j+1:]
}

// clip cuts remittance text to the bank's field length at a word boundary, as
// statements do: long batch references lose their tail.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if cut := strings.LastIndexByte(s[:n+1], ' '); cut > 0 {
		return s[:cut]
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// unidentifiedReceipt is money from a payer the company does not know.
func (s *sim) unidentifiedReceipt(date record.Date) {
	name := zhCompany(s.rng)
	for s.w.names[name] {
		name = zhCompany(s.rng)
	}
	b := &record.BankTxn{Account: s.w.cny.id, BookingDate: date, ValueDate: date, Direction: "credit",
		Amount:       money(logUniform(s.rng, 1000, 50000)*100, cny),
		Counterparty: record.Party{Name: name, Account: digitString(s.rng, 19)},
		Remittance:   pick(s.rng, []string{"货款", "往来款", "预付款", ""})}
	e := s.putBank(s.w.cny, b, s.at(date, bizFrom, bizTo))
	e.exception(ExcUnidentifiedReceipt, "", "", "", record.Money{})
	s.mix("unidentified_receipt")
}

// housekeeping books the lines every statement has that settle nothing:
// monthly account fees and quarterly interest (paid on the 21st of March,
// June, September and December in China).
func (s *sim) housekeeping(date record.Date) {
	y, m, _ := date.Time().Date()
	if biz(record.MakeDate(y, m, 1)) == date {
		for _, a := range []*account{s.w.cny, s.w.usd} {
			fee, text := int64(3000), "账户管理费"
			if a.cur == usd {
				fee, text = 1000, "ACCOUNT MAINTENANCE FEE"
			}
			s.putBank(a, &record.BankTxn{Account: a.id, BookingDate: date, ValueDate: date, Direction: "debit",
				Amount: money(fee, a.cur), Remittance: text}, s.at(date, bizFrom, bizFrom+1))
		}
	}
	if m%3 == 0 && biz(record.MakeDate(y, m, 21)) == date {
		for _, a := range []*account{s.w.cny, s.w.usd} {
			amt, text := logUniform(s.rng, 50000, 500000), "结息"
			if a.cur == usd {
				amt, text = logUniform(s.rng, 2000, 30000), "INTEREST"
			}
			s.putBank(a, &record.BankTxn{Account: a.id, BookingDate: date, ValueDate: date, Direction: "credit",
				Amount: money(amt, a.cur), Remittance: text}, s.at(date, bizFrom, bizFrom+1))
		}
	}
}
