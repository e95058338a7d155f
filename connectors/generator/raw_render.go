package generator

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/erpflow/erpflow/pipeline/record"
)

// The raw shapes of docs/sources.md, written from canonical records. Each
// value is the canonical one in a form its source uses, so that the
// mapping the docs describe gives the canonical record back exactly.

// jsonw writes one JSON object with its keys in the order written.
type jsonw struct {
	b        []byte
	need     []bool // per open object or array: a comma goes before the next member
	afterKey bool
}

func (w *jsonw) sep() {
	if w.afterKey {
		w.afterKey = false
		return
	}
	if n := len(w.need); n > 0 {
		if w.need[n-1] {
			w.b = append(w.b, ',')
		}
		w.need[n-1] = true
	}
}

func (w *jsonw) open(c byte)  { w.sep(); w.b = append(w.b, c); w.need = append(w.need, false) }
func (w *jsonw) close(c byte) { w.b = append(w.b, c); w.need = w.need[:len(w.need)-1] }
func (w *jsonw) key(k string) {
	w.sep()
	w.b = jsonString(w.b, k)
	w.b = append(w.b, ':')
	w.afterKey = true
}
func (w *jsonw) str(v string) { w.sep(); w.b = jsonString(w.b, v) }
func (w *jsonw) kv(k, v string) {
	w.key(k)
	w.str(v)
}
func (w *jsonw) knum(k string, v int64) {
	w.key(k)
	w.sep()
	w.b = strconv.AppendInt(w.b, v, 10)
}
func (w *jsonw) knull(k string) {
	w.key(k)
	w.sep()
	w.b = append(w.b, "null"...)
}
func (w *jsonw) kstrs(k string, vs []string) {
	w.key(k)
	w.open('[')
	for _, v := range vs {
		w.str(v)
	}
	w.close(']')
}

func newObject() *jsonw {
	w := &jsonw{b: make([]byte, 0, 512)}
	w.open('{')
	return w
}

func (w *jsonw) done() []byte {
	w.close('}')
	return w.b
}

// text writes a text value with the stray spaces and quotes of t's forms.
func (co *rawCo) text(t *formTable, s string) string {
	switch co.draw(t) {
	case "padded":
		if co.rng.IntN(2) == 0 {
			return " " + s + "  "
		}
		return s + "   "
	case "quoted":
		return `"` + s + `"`
	case "spaced":
		return strings.ReplaceAll(s, " ", "  ")
	case "fullwidth":
		return fullWidth(s)
	case "tab":
		return "\t" + s
	}
	return s
}

// blank writes an empty optional value.
func (co *rawCo) blank(t *formTable) string {
	if co.draw(t) == "dash" {
		return "-"
	}
	return ""
}

// amount writes minor (scale 2, not negative) in a form of t.
func (co *rawCo) amount(t *formTable, minor int64) string {
	switch co.draw(t) {
	case "grouped":
		return groupedAmount(minor, ',', '.')
	case "yen":
		return "¥" + groupedAmount(minor, ',', '.')
	case "rmb":
		return "RMB " + shortAmount(minor)
	case "yuan":
		return shortAmount(minor) + "元"
	case "fullwidth":
		return fullWidth(groupedAmount(minor, ',', '.'))
	case "capital":
		return capitalAmount(minor)
	case "capital_rmb":
		return "人民币" + capitalAmount(minor)
	}
	return plainAmount(minor)
}

// date writes d in a form of t.
func (co *rawCo) date(t *formTable, d record.Date) string {
	switch co.draw(t) {
	case "slash":
		return dateSlash(d)
	case "cjk":
		return dateCJK(d)
	case "fullwidth_cjk":
		return fullWidth(dateCJK(d))
	case "compact":
		return dateCompact(d)
	case "dmy":
		return dateDMY(d)
	}
	return dateISO(d)
}

// ambiguous writes a day-month date that reads either way round.
func ambiguous(d record.Date) string {
	y, m, dd := ymd(d)
	dd = 1 + (dd-1)%12
	if dd == m {
		dd = dd%12 + 1
	}
	return fmt.Sprintf("%02d/%02d/%d", m, dd, y)
}

func (co *rawCo) renderClaim(c converted, brk string) []byte {
	r, b := c.canon, c.canon.Body.(*record.ExpenseClaim)
	w := newObject()
	w.kv("公司代码", r.Company)
	w.kv("单据编号", b.Number)
	emp := b.Employee.ID
	if brk == brkNoParty {
		emp = ""
	}
	w.kv("工号", emp)
	w.kv("报销人", co.text(fReimbName, b.Employee.Name))
	w.kv("部门", b.Department)
	et := co.text(fReimbType, b.ExpenseType)
	if brk == brkLookup {
		et = "其他费用"
	}
	w.kv("费用类型", et)
	if b.Description == "" {
		w.kv("事由", co.blank(fReimbBlank))
	} else {
		w.kv("事由", co.text(fReimbDesc, b.Description))
	}
	amt := ""
	if s, ok := wanAmount(b.Amount.Minor); ok && co.rng.IntN(2) == 0 {
		co.st.Mess["reimb_cn.报销金额.wan"]++
		amt = s
	} else {
		amt = co.amount(fReimbAmount, b.Amount.Minor)
	}
	if brk == brkScale {
		amt = overPrecise(b.Amount.Minor, co.rng.IntN(9))
	}
	w.kv("报销金额", amt)
	var at string
	switch co.draw(fReimbTime) {
	case "cjk_minutes":
		at = localCJKMinutes(c.ctx.first)
	case "fullwidth_cjk_minutes":
		at = fullWidth(localCJKMinutes(c.ctx.first))
	default:
		at = localSeconds(c.ctx.first)
	}
	w.kv("报销时间", at)
	status := co.word(wApproval, b.ApprovalStatus)
	if brk == brkStatus {
		status = "作废"
	}
	w.kv("审批状态", status)
	w.kv("付款状态", co.word(wPaid, strconv.FormatBool(b.Paid)))
	if b.PaidDate == record.NoDate {
		w.kv("付款日期", co.blank(fReimbBlank))
	} else {
		w.kv("付款日期", co.date(fReimbPaid, b.PaidDate))
	}
	w.kv("版本号", strconv.FormatUint(r.Version, 10))
	w.kv("最后修改时间", localSeconds(r.EventTime))
	return w.done()
}

// erpAmount writes an amount of the Chinese ERP in its currency's forms.
func (co *rawCo) erpAmount(m record.Money) string {
	if m.Currency == usd {
		return co.amount(fERPUSD, m.Minor)
	}
	return co.amount(fERPCNY, m.Minor)
}

func (co *rawCo) renderERPInvoice(c converted, brk string) []byte {
	r, b := c.canon, c.canon.Body.(*record.Invoice)
	w := newObject()
	w.kv("组织编码", r.Company)
	typ, idKey, nameKey, words := "销售发票", "客户编码", "客户名称", wERPAR
	if b.Direction == "AP" {
		typ, idKey, nameKey, words = "采购发票", "供应商编码", "供应商名称", wERPAP
	}
	w.kv("单据类型", typ)
	w.kv("单据编号", b.Number)
	issue := co.date(fERPDate, b.IssueDate)
	if brk == brkAmbiguous {
		issue = ambiguous(b.IssueDate)
	}
	w.kv("单据日期", issue)
	w.kv("到期日", co.date(fERPDate, b.DueDate))
	pid := b.Party.ID
	if brk == brkNoParty {
		pid = ""
	}
	w.kv(idKey, pid)
	w.kv(nameKey, co.text(fERPName, b.Party.Name))
	w.kv("币别", co.word(wERPCur, b.Total.Currency.String()))
	total := co.erpAmount(b.Total)
	if brk == brkScale {
		total = overPrecise(b.Total.Minor, co.rng.IntN(9))
	}
	w.kv("价税合计", total)
	if b.Tax.IsZero() {
		w.kv("税额", co.blank(fERPBlank))
	} else {
		w.kv("税额", co.erpAmount(b.Tax))
	}
	w.kv("源单编号", b.OrderRef)
	status := co.word(words, b.Status)
	if brk == brkStatus {
		status = "已冻结"
	}
	w.kv("单据状态", status)
	w.key("明细")
	w.open('[')
	for _, l := range b.Lines {
		w.open('{')
		w.kv("物料编码", l.SKU)
		w.kv("物料名称", l.Description)
		w.kv("数量", l.Quantity.String())
		w.kv("单价", priceText(l.UnitPrice))
		w.kv("金额", l.Amount.String())
		w.close('}')
	}
	w.close(']')
	w.kv("修改时间", localSeconds(r.EventTime))
	return w.done()
}

func (co *rawCo) renderERPPayment(c converted, brk string) []byte {
	r, b := c.canon, c.canon.Body.(*record.Payment)
	// A receipt (收款单) has the payment's shape with the customer's side
	// of each field, as the ERP's two forms do.
	doc, party, amount, date, status, ours, theirs := "付款单", "供应商", "付款金额", "付款日期", wERPPay, "付款账号", "收款账号"
	if b.Direction == "in" {
		doc, party, amount, date, status, ours, theirs = "收款单", "客户", "收款金额", "收款日期", wERPRcpt, "收款账号", "付款账号"
	}
	w := newObject()
	w.kv("组织编码", r.Company)
	w.kv("单据类型", doc)
	w.kv("单据编号", b.Number)
	pid := b.Party.ID
	if brk == brkNoParty {
		pid = ""
	}
	w.kv(party+"编码", pid)
	w.kv(party+"名称", co.text(fERPName, b.Party.Name))
	w.kv("币别", co.word(wERPCur, b.Amount.Currency.String()))
	amt := co.erpAmount(b.Amount)
	if brk == brkScale {
		amt = overPrecise(b.Amount.Minor, co.rng.IntN(9))
	}
	w.kv(amount, amt)
	method := co.word(wERPMethod, b.Method)
	if brk == brkMethod {
		method = "信用证"
	}
	w.kv("结算方式", method)
	vd := co.date(fERPDate, b.ValueDate)
	if brk == brkAmbiguous {
		vd = ambiguous(b.ValueDate)
	}
	w.kv(date, vd)
	w.kv("单据状态", co.word(status, b.Status))
	w.kstrs("关联单据", b.InvoiceRefs)
	w.kv("摘要", b.Remittance)
	w.kv(ours, b.BankAccount)
	w.kv(theirs, b.CounterpartyAccount)
	w.kv("修改时间", localSeconds(r.EventTime))
	return w.done()
}

func (co *rawCo) sapAmount(minor int64) string {
	if co.draw(fSAPAmount) == "grouped" {
		return groupedAmount(minor, ',', '.')
	}
	return plainAmount(minor)
}

func (co *rawCo) sapName(s string) string {
	if co.draw(fSAPName) == "padded" && len(s) < 35 {
		return s + strings.Repeat(" ", 35-len(s))
	}
	return s
}

func (co *rawCo) renderSAPInvoice(c converted, brk string) []byte {
	r, b := c.canon, c.canon.Body.(*record.Invoice)
	w := newObject()
	blart := sapDocType[b.Direction]
	w.kv("BUKRS", r.Company)
	w.kv("BELNR", r.ID)
	w.kv("GJAHR", yearOf(b.Number))
	w.kv("BLART", blart)
	pid := b.Party.ID
	if brk == brkNoParty {
		pid = ""
	}
	if blart == "DR" {
		w.kv("KUNNR", pid)
	} else {
		w.kv("LIFNR", pid)
	}
	w.kv("NAME1", co.sapName(b.Party.Name))
	w.kv("BLDAT", co.date(fSAPDate, b.IssueDate))
	w.kv("ZFBDT", co.date(fSAPDate, b.DueDate))
	w.kv("WAERS", co.word(wSAPCur, b.Total.Currency.String()))
	total := co.sapAmount(b.Total.Minor)
	if brk == brkScale {
		total = groupedAmount(b.Total.Minor, ',', '.') + strconv.Itoa(1+co.rng.IntN(9))
	}
	w.kv("WRBTR", total)
	if b.Tax.IsZero() {
		w.kv("WMWST", "")
	} else {
		w.kv("WMWST", co.sapAmount(b.Tax.Minor))
	}
	w.kv("XBLNR", b.Number)
	w.kv("ZUONR", b.OrderRef)
	status := sapInvoiceStatus[b.Status]
	if brk == brkStatus {
		status = "BLOCKED"
	}
	w.kv("STATUS", status)
	w.kv("AUGBL", c.ctx.augbl)
	if c.ctx.augdt == record.NoDate {
		w.kv("AUGDT", "")
	} else {
		w.kv("AUGDT", dateCompact(c.ctx.augdt))
	}
	w.key("ITEMS")
	w.open('[')
	for _, l := range b.Lines {
		w.open('{')
		w.kv("MATNR", l.SKU)
		w.kv("MAKTX", l.Description)
		w.kv("MENGE", l.Quantity.String())
		w.kv("NETPR", priceText(l.UnitPrice))
		w.kv("NETWR", l.Amount.String())
		w.close('}')
	}
	w.close(']')
	w.kv("CHANGENR", fmt.Sprintf("%010d", r.Version))
	w.kv("CHANGED_AT", utcSeconds(r.EventTime))
	return w.done()
}

func (co *rawCo) renderSAPPayment(c converted, brk string) []byte {
	r, b := c.canon, c.canon.Body.(*record.Payment)
	w := newObject()
	w.kv("BUKRS", r.Company)
	w.kv("BELNR", r.ID)
	w.kv("GJAHR", yearOf(b.Number))
	blart, party := "KZ", "LIFNR"
	if b.Direction == "in" {
		blart, party = "DZ", "KUNNR" // a customer payment, as SAP posts it
	}
	w.kv("BLART", blart)
	pid := b.Party.ID
	if brk == brkNoParty {
		pid = ""
	}
	w.kv(party, pid)
	w.kv("NAME1", co.sapName(b.Party.Name))
	w.kv("VALUT", co.date(fSAPDate, b.ValueDate))
	w.kv("WAERS", co.word(wSAPCur, b.Amount.Currency.String()))
	amt := co.sapAmount(b.Amount.Minor)
	if brk == brkScale {
		amt = groupedAmount(b.Amount.Minor, ',', '.') + strconv.Itoa(1+co.rng.IntN(9))
	}
	w.kv("WRBTR", amt)
	w.kv("XBLNR", b.Number)
	w.kstrs("XREF", b.InvoiceRefs)
	w.kv("SGTXT", b.Remittance)
	method := co.word(wSAPMethod, b.Method)
	if brk == brkMethod {
		method = "X"
	}
	w.kv("ZLSCH", method)
	w.kv("HKTID", b.BankAccount)
	w.kv("BANKN", b.CounterpartyAccount)
	w.kv("STATUS", sapPaymentStatus[b.Status])
	w.kv("CHANGENR", fmt.Sprintf("%010d", r.Version))
	w.kv("CHANGED_AT", utcSeconds(r.EventTime))
	return w.done()
}

func (co *rawCo) renderOrder(c converted, brk string) []byte {
	r, b := c.canon, c.canon.Body.(*record.SalesOrder)
	w := newObject()
	w.kv("event_type", "order")
	w.kv("shop_code", r.Company)
	w.kv("order_no", b.Number)
	status := co.word(wShopOrder, b.Status)
	if brk == brkStatus {
		status = pick(co.rng, []string{"refunding", "退款中"})
	}
	w.kv("status", status)
	w.kv("channel", b.Channel)
	w.key("buyer")
	w.open('{')
	if brk == brkNoParty {
		w.knull("id")
	} else {
		w.kv("id", b.Customer.ID)
	}
	w.kv("name", b.Customer.Name)
	if co.draw(fShopPhone) == "null" {
		w.knull("phone")
	} else {
		h := hash64(co.seed, r.Company, b.Customer.ID)
		w.kv("phone", "1"+string("358"[h%3])+digitsOf(h, 1)+"****"+digitsOf(h>>20, 4))
	}
	w.close('}')
	w.key("items")
	w.open('[')
	for _, l := range b.Lines {
		w.open('{')
		w.kv("sku", l.SKU)
		w.kv("title", l.Description)
		w.knum("qty", int64(l.Quantity)/10000)
		w.kv("price", priceText(l.UnitPrice))
		w.kv("subtotal", l.Amount.String())
		w.close('}')
	}
	w.close(']')
	w.key("payment")
	w.open('{')
	w.kv("method", "on_account")
	amt := b.Total.String()
	if brk == brkScale {
		amt = overPrecise(b.Total.Minor, co.rng.IntN(9))
	}
	w.kv("amount", amt)
	w.kv("currency", co.word(wShopCur, b.Total.Currency.String()))
	w.knull("paid_at")
	w.close('}')
	w.kv("created_at", localOffset(c.ctx.first))
	w.knum("updated_at", r.EventTime.UnixMilli())
	return w.done()
}

var trackingPrefix = map[string]string{"顺丰": "SF", "德邦物流": "DPK", "京东物流": "JDVA", "中通快运": "ZTO",
	"DHL": "", "FedEx": "", "Maersk": "MAEU"}

func (co *rawCo) renderShipment(c converted, brk string) []byte {
	r, b := c.canon, c.canon.Body.(*record.Shipment)
	w := newObject()
	w.kv("event_type", "shipment")
	w.kv("shop_code", r.Company)
	w.kv("shipment_no", b.Number)
	ref := b.OrderRef
	if brk == brkNoRef {
		ref = ""
	}
	w.kv("order_no", ref)
	w.key("buyer")
	w.open('{')
	w.kv("id", b.Customer.ID)
	w.close('}')
	w.kv("carrier", b.Carrier)
	w.kv("tracking_no", trackingPrefix[b.Carrier]+digitsOf(hash64(co.seed, r.Company, b.Number), 12))
	status := co.word(wShopShip, b.Status)
	if brk == brkStatus {
		status = pick(co.rng, []string{"lost", "丢件"})
	}
	w.kv("status", status)
	w.key("items")
	w.open('[')
	for _, l := range b.Lines {
		w.open('{')
		w.kv("sku", l.SKU)
		w.knum("qty", int64(l.Quantity)/10000)
		w.close('}')
	}
	w.close(']')
	w.kv("shipped_at", localOffset(c.ctx.first))
	if b.Status == "delivered" {
		w.kv("signed_at", localOffset(r.EventTime))
	} else {
		w.knull("signed_at")
	}
	w.knum("updated_at", r.EventTime.UnixMilli())
	return w.done()
}

func (co *rawCo) renderBankA(c converted, brk string) []byte {
	r, b := c.canon, c.canon.Body.(*record.BankTxn)
	w := newObject()
	w.kv("账户别名", r.Company)
	w.kv("本方账号", b.Account)
	w.kv("交易流水号", b.BankRef)
	booking := co.date(fBankADate, b.BookingDate)
	switch brk {
	case brkNoDate:
		booking = ""
	case brkAmbiguous:
		booking = ambiguous(b.BookingDate)
	}
	w.kv("交易日期", booking)
	w.kv("起息日", co.date(fBankADate, b.ValueDate))
	w.kv("交易时间", localSeconds(r.EventTime))
	w.kv("借贷标志", co.word(wBankADir, b.Direction))
	amt := co.amount(fBankAAmount, b.Amount.Minor)
	if brk == brkScale {
		amt = overPrecise(b.Amount.Minor, co.rng.IntN(9))
	}
	if b.Direction == "debit" {
		w.kv("借方金额", amt)
		w.kv("贷方金额", co.blank(fBankABlank))
	} else {
		w.kv("借方金额", co.blank(fBankABlank))
		w.kv("贷方金额", amt)
	}
	w.kv("币种", co.word(wBankACur, b.Amount.Currency.String()))
	if b.Charges.IsZero() {
		w.kv("手续费", "")
	} else {
		w.kv("手续费", plainAmount(b.Charges.Minor))
	}
	if b.Counterparty.Name == "" {
		w.kv("对方户名", co.blank(fBankABlank))
	} else {
		w.kv("对方户名", co.text(fBankAName, b.Counterparty.Name))
	}
	if b.Counterparty.Account == "" {
		w.kv("对方账号", co.blank(fBankABlank))
	} else {
		w.kv("对方账号", co.text(fBankAAcct, b.Counterparty.Account))
	}
	w.kv("摘要", b.Remittance)
	return w.done()
}

// excelDay reports whether a bank_b statement day was exported through a
// spreadsheet, which turns its value dates into serial numbers.
func (co *rawCo) excelDay(account string, d record.Date) bool {
	return int(hash64(co.seed, account, d.String())%100) < shareExcelDays
}

func (co *rawCo) renderBankB(c converted, brk string) []byte {
	r, b := c.canon, c.canon.Body.(*record.BankTxn)
	w := newObject()
	w.kv("Account Alias", r.Company)
	w.kv("Account", b.Account)
	w.kv("Bank Reference", b.BankRef)
	booking := dateDMY(b.BookingDate)
	switch brk {
	case brkNoDate:
		booking = ""
	case brkDateOrder:
		y, m, d := ymd(b.BookingDate)
		if d <= 12 {
			d += 12 // a month-first date a day-first reader cannot take
		}
		booking = fmt.Sprintf("%02d.%02d.%04d", m, d, y)
	}
	w.kv("Booking Date", booking)
	if co.excelDay(b.Account, b.BookingDate) {
		co.st.Mess["bank_b.Value Date.excel"]++
		w.kv("Value Date", excelSerial(b.ValueDate))
	} else {
		co.st.Mess["bank_b.Value Date.dmy"]++
		w.kv("Value Date", dateDMY(b.ValueDate))
	}
	w.kv("Timestamp", utcZ(r.EventTime))
	var amt string
	if co.draw(fBankBAmount) == "grouped" {
		amt = groupedAmount(b.Amount.Minor, '.', ',')
	} else {
		amt = commaAmount(b.Amount.Minor)
	}
	if brk == brkScale {
		amt += strconv.Itoa(1 + co.rng.IntN(9))
	}
	if b.Direction == "debit" {
		amt = "-" + amt
	}
	w.kv("Amount", amt)
	w.kv("Currency", b.Amount.Currency.String())
	if b.Charges.IsZero() {
		w.kv("Charges", "")
	} else {
		w.kv("Charges", commaAmount(b.Charges.Minor))
	}
	w.kv("Counterparty", co.text(fBankBName, b.Counterparty.Name))
	w.kv("Counterparty Account", b.Counterparty.Account)
	w.kv("Reference", b.Remittance)
	return w.done()
}
