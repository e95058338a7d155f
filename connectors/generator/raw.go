package generator

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/erpflow/erpflow/pipeline/record"
)

// Raw mode (docs/sources.md): the same world, written as the source systems
// send it, with the canonical records a correct mapping makes of it.

// Raw source names: topic raw.<name>, file raw/<name>.ndjson, and the
// envelope source of the canonical records made from them.
const (
	RawReimbCN = "reimb_cn" // reimbursement system: expense claims
	RawERPCN   = "erp_cn"   // Chinese ERP: AR and AP invoices, supplier payments
	RawSAPEN   = "sap_en"   // SAP export: AR and AP invoices, supplier payments
	RawShop    = "shop"     // e-commerce feed: orders and shipments
	RawBankA   = "bank_a"   // CNY statement lines, Chinese CSV, debit and credit columns
	RawBankB   = "bank_b"   // USD statement lines, English CSV, one signed amount
)

// RawSource describes one raw source.
type RawSource struct {
	Name string
	// KeyField is the field that holds the company code, the Kafka key of
	// every record (a dotted path for nested JSON).
	KeyField string
	// Kinds are the canonical kinds its records become.
	Kinds []record.Kind
}

// RawSources lists the raw sources in the order of docs/sources.md.
var RawSources = []RawSource{
	{RawReimbCN, "公司代码", []record.Kind{record.KindExpenseClaim}},
	{RawERPCN, "组织编码", []record.Kind{record.KindInvoice, record.KindPayment}},
	{RawSAPEN, "BUKRS", []record.Kind{record.KindInvoice, record.KindPayment}},
	{RawShop, "shop_code", []record.Kind{record.KindSalesOrder, record.KindShipment}},
	{RawBankA, "账户别名", []record.Kind{record.KindBankTxn}},
	{RawBankB, "Account Alias", []record.Kind{record.KindBankTxn}},
}

// PassthroughKinds have no raw shape: in raw mode their records stay
// canonical and go to the canonical topics, with the source of the system
// they belong to (the company's ERP for purchase orders and goods receipts,
// the subject's source for approval steps).
var PassthroughKinds = []record.Kind{record.KindPurchaseOrder, record.KindGoodsReceipt, record.KindApproval}

// IsPassthrough reports whether records of kind k stay canonical in raw mode.
func IsPassthrough(k record.Kind) bool {
	return k == record.KindPurchaseOrder || k == record.KindGoodsReceipt || k == record.KindApproval
}

// sapPaymentSeries is the number series of a payment's BELNR: KZ to a
// vendor; from a customer DZR, SAP's DZ numbered from 1450000001, apart
// from the DZ clearing documents of customer invoices, so that adding
// receipts left those numbers as they were.
func sapPaymentSeries(direction string) string {
	if direction == "in" {
		return "DZR"
	}
	return "KZ"
}

// CompanyERP is the raw source of company number i's ERP (0 is SH01): every
// third company from the second (BJ02, HZ05, NJ08 …) runs SAP, the others
// the Chinese ERP.
func CompanyERP(i int) string {
	if i%3 == 1 {
		return RawSAPEN
	}
	return RawERPCN
}

// RawStats counts one raw source's output.
type RawStats struct {
	Lines       int // lines of raw/<source>.ndjson
	Records     int // canonical records made from them (records.ndjson)
	DeadLetters int // planted bad records, each a dead_letter truth line
	Duplicates  int // exact re-sends, the line repeated right after itself
}

// Raw mode shares. docs/sources.md quotes them; change both together.
const (
	shareRawBad          = 0.003 // records followed by a bad record of the same source
	shareVersionConflict = 0.001 // reimb_cn and sap_en records re-sent at the same version, changed
	shareNearDupAP       = 0.01  // AP invoices entered twice under two numbers
	shareNearDupClaim    = 0.005 // claims filed twice under two numbers
	shareExcelDays       = 20    // percent of bank_b statement days exported via Excel (serial value dates)
	shareNoDescription   = 5     // percent of claims without 事由
)

// GenerateRaw builds cfg's world in raw mode. raw receives every raw record
// as its source sends it (one JSON object, no newline) in event order,
// emit the canonical records they become plus the records that stay
// canonical, in the same order, and truth the ground truth with its ids in
// raw mode, plus dead_letter and near_duplicate lines. raw and emit must not
// keep their arguments.
func GenerateRaw(cfg Config, raw func(source string, line []byte) error, emit func(*record.Record) error,
	truth func(Truth) error) (Stats, error) {
	return run(cfg, emit, truth, nil, raw)
}

// formTable is a weighted choice of forms for one field; each draw is
// counted in Stats.Mess under "source.field.form".
type formTable struct {
	names, keys []string
	cum         []int
}

// forms builds a table from name, per-mille weight pairs adding up to 1000.
func forms(field string, spec ...any) *formTable {
	t := &formTable{}
	sum := 0
	for i := 0; i < len(spec); i += 2 {
		n := spec[i].(string)
		sum += spec[i+1].(int)
		t.names = append(t.names, n)
		t.keys = append(t.keys, field+"."+n)
		t.cum = append(t.cum, sum)
	}
	if sum != 1000 {
		panic("generator: weights of " + field + " add up to " + strconv.Itoa(sum))
	}
	return t
}

// words builds one table per canonical value: the raw words a source uses
// for it. The form names are the words themselves.
func words(field string, spec map[string][]any) map[string]*formTable {
	out := make(map[string]*formTable, len(spec))
	for canon, ws := range spec {
		out[canon] = forms(field+"."+canon, ws...)
	}
	return out
}

var (
	fReimbAmount = forms("reimb_cn.报销金额", "plain", 350, "grouped", 200, "yen", 100, "rmb", 50,
		"yuan", 100, "fullwidth", 50, "capital", 100, "capital_rmb", 50)
	fReimbTime  = forms("reimb_cn.报销时间", "seconds", 700, "cjk_minutes", 250, "fullwidth_cjk_minutes", 50)
	fReimbPaid  = forms("reimb_cn.付款日期", "iso", 500, "slash", 300, "cjk", 200)
	fReimbBlank = forms("reimb_cn.blank", "empty", 600, "dash", 400)
	fReimbName  = forms("reimb_cn.报销人", "clean", 950, "padded", 30, "quoted", 20)
	fReimbType  = forms("reimb_cn.费用类型", "clean", 970, "padded", 30)
	fReimbDesc  = forms("reimb_cn.事由", "clean", 970, "spaced", 30)
	wApproval   = words("reimb_cn.审批状态", map[string][]any{
		"pending": {"审批中", 850, "待审批", 150}, "approved": {"已审批", 900, "审批通过", 100},
		"rejected": {"驳回", 800, "已驳回", 200}})
	wPaid = words("reimb_cn.付款状态", map[string][]any{
		"true": {"已付款", 900, "已支付", 100}, "false": {"未付款", 900, "待付款", 100}})

	fERPDate   = forms("erp_cn.date", "iso", 550, "slash", 250, "cjk", 100, "compact", 50, "fullwidth_cjk", 50)
	fERPCNY    = forms("erp_cn.amount_cny", "plain", 500, "grouped", 300, "yen", 100, "yuan", 50, "fullwidth", 50)
	fERPUSD    = forms("erp_cn.amount_usd", "plain", 600, "grouped", 350, "fullwidth", 50)
	fERPBlank  = forms("erp_cn.税额_blank", "empty", 700, "dash", 300)
	fERPName   = forms("erp_cn.name", "clean", 930, "padded", 40, "quoted", 20, "fullwidth", 10)
	wERPCur    = words("erp_cn.币别", map[string][]any{"CNY": {"人民币", 700, "CNY", 150, "RMB", 100, "¥", 50}, "USD": {"美元", 700, "USD", 250, "$", 50}})
	wERPMethod = words("erp_cn.结算方式", map[string][]any{"bank_transfer": {"电汇", 500, "银行转账", 300, "网银支付", 200},
		"draft": {"银行承兑汇票", 700, "商业承兑汇票", 100, "承兑汇票", 200}})
	wERPAR = words("erp_cn.单据状态.AR", map[string][]any{"open": {"未收款", 900, "未核销", 100},
		"partially_paid": {"部分收款", 800, "部分核销", 200}, "paid": {"已收款", 800, "已核销", 200}, "cancelled": {"已作废", 1000}})
	wERPAP = words("erp_cn.单据状态.AP", map[string][]any{"open": {"未付款", 900, "未核销", 100},
		"partially_paid": {"部分付款", 800, "部分核销", 200}, "paid": {"已付款", 800, "已核销", 200}, "cancelled": {"已作废", 1000}})
	wERPPay = words("erp_cn.单据状态.付款单", map[string][]any{"pending": {"待付款", 800, "审核中", 200},
		"executed": {"已付款", 900, "已支付", 100}, "cancelled": {"已作废", 1000}, "returned": {"已退回", 1000}})
	wERPRcpt = words("erp_cn.单据状态.收款单", map[string][]any{"pending": {"待确认", 1000},
		"executed": {"已收款", 900, "已到账", 100}, "cancelled": {"已作废", 1000}, "returned": {"已退回", 1000}})

	fSAPDate   = forms("sap_en.date", "compact", 850, "dmy", 150)
	fSAPAmount = forms("sap_en.amount", "grouped", 700, "plain", 300)
	fSAPName   = forms("sap_en.NAME1", "clean", 850, "padded", 150)
	wSAPCur    = words("sap_en.WAERS", map[string][]any{"CNY": {"CNY", 900, "RMB", 100}, "USD": {"USD", 1000}})
	wSAPMethod = words("sap_en.ZLSCH", map[string][]any{"bank_transfer": {"T", 800, "U", 200}, "draft": {"W", 1000}})

	wShopOrder = words("shop.order.status", map[string][]any{"open": {"paid", 700, "待发货", 300},
		"shipped": {"shipped", 700, "已发货", 300}, "invoiced": {"invoiced", 700, "已开票", 300},
		"cancelled": {"cancelled", 700, "已取消", 300}})
	wShopShip = words("shop.shipment.status", map[string][]any{"shipped": {"shipped", 700, "已发货", 300},
		"delivered": {"signed", 500, "delivered", 200, "已签收", 300}})
	wShopCur   = words("shop.currency", map[string][]any{"CNY": {"CNY", 900, "RMB", 100}, "USD": {"USD", 1000}})
	fShopPhone = forms("shop.buyer.phone", "masked", 700, "null", 300)

	fBankADate   = forms("bank_a.date", "slash", 700, "cjk", 300)
	fBankAAmount = forms("bank_a.amount", "grouped", 600, "plain", 350, "fullwidth", 50)
	fBankABlank  = forms("bank_a.blank", "empty", 700, "dash", 300)
	fBankAName   = forms("bank_a.对方户名", "clean", 950, "quoted", 30, "padded", 20)
	fBankAAcct   = forms("bank_a.对方账号", "clean", 800, "tab", 200)
	wBankADir    = words("bank_a.借贷标志", map[string][]any{"debit": {"借", 900, "借方", 100}, "credit": {"贷", 900, "贷方", 100}})
	wBankACur    = words("bank_a.币种", map[string][]any{"CNY": {"人民币", 600, "CNY", 300, "RMB", 100}})

	fBankBAmount = forms("bank_b.Amount", "grouped", 700, "plain", 300)
	fBankBName   = forms("bank_b.Counterparty", "clean", 980, "padded", 20)
)

// Value maps that the data never exercises but a source can send; the
// docs list them with the ones above.
var (
	sapInvoiceStatus = map[string]string{"open": "OPEN", "partially_paid": "PARTIAL", "paid": "CLEARED", "cancelled": "REVERSED"}
	sapPaymentStatus = map[string]string{"pending": "PARKED", "executed": "POSTED", "cancelled": "REVERSED", "returned": "RETURNED"}
	sapDocType       = map[string]string{"AR": "DR", "AP": "KR"}
	sapSeries        = map[string]string{"DR": "18", "KR": "19", "KZ": "15", "DZ": "14", "DZR": "14"}
)

// The bad records: what is broken, and the reason the pipeline must give.
type badKind struct{ brk, reason string }

const (
	brkScale     = "amount_scale"   // an amount with three decimals
	brkNoParty   = "no_party"       // the party's (employee's, customer's) id blank
	brkNoRef     = "no_ref"         // a shipment without its order number
	brkStatus    = "status_word"    // a status word no value map has
	brkLookup    = "expense_type"   // an expense type the GL lookup lacks
	brkMethod    = "method_word"    // a settlement method no value map has
	brkAmbiguous = "date_ambiguous" // a day-month date where no order is configured
	brkDateOrder = "date_order"     // a month-first date where day-first is configured
	brkNoDate    = "no_date"        // the booking date blank
)

var badKinds = map[string][]badKind{
	RawReimbCN + "/expense_claim": {{brkScale, "wrong_type:body.amount"}, {brkNoParty, "missing_field:body.employee.id"},
		{brkStatus, "unmapped_value:body.approval_status"}, {brkLookup, "unmapped_value:body.gl_account"}},
	RawERPCN + "/invoice": {{brkAmbiguous, "wrong_type:body.issue_date"}, {brkNoParty, "missing_field:body.party.id"},
		{brkStatus, "unmapped_value:body.status"}, {brkScale, "wrong_type:body.total"}},
	RawERPCN + "/payment": {{brkAmbiguous, "wrong_type:body.value_date"}, {brkNoParty, "missing_field:body.party.id"},
		{brkMethod, "unmapped_value:body.method"}, {brkScale, "wrong_type:body.amount"}},
	RawSAPEN + "/invoice": {{brkNoParty, "missing_field:body.party.id"}, {brkStatus, "unmapped_value:body.status"},
		{brkScale, "wrong_type:body.total"}},
	RawSAPEN + "/payment": {{brkNoParty, "missing_field:body.party.id"}, {brkMethod, "unmapped_value:body.method"},
		{brkScale, "wrong_type:body.amount"}},
	RawShop + "/sales_order": {{brkNoParty, "missing_field:body.customer.id"}, {brkStatus, "unmapped_value:body.status"},
		{brkScale, "wrong_type:body.total"}},
	RawShop + "/shipment": {{brkNoRef, "missing_field:body.order_ref"}, {brkStatus, "unmapped_value:body.status"}},
	RawBankA + "/bank_txn": {{brkScale, "wrong_type:body.amount"}, {brkNoDate, "missing_field:body.booking_date"},
		{brkAmbiguous, "wrong_type:body.booking_date"}},
	RawBankB + "/bank_txn": {{brkScale, "wrong_type:body.amount"}, {brkNoDate, "missing_field:body.booking_date"},
		{brkDateOrder, "wrong_type:body.booking_date"}},
}

// ReasonVersionConflict is the reason of the planted version conflicts,
// which the dedupe stage (not the mapping) refuses.
const ReasonVersionConflict = "version_conflict"

// converted is one record in raw mode: the raw line (nil for records that
// stay canonical), its source, and the canonical record.
type converted struct {
	src   string
	canon *record.Record
	line  []byte
	ctx   rawCtx
	isNew bool // the document's first version
}

// rawCtx is what a raw record says beyond its canonical record.
type rawCtx struct {
	first time.Time   // the document's first version: 报销时间, created_at, shipped_at
	augbl string      // SAP clearing document
	augdt record.Date // and date
}

// queued is a near duplicate waiting for its time in the stream.
type queued struct {
	at time.Time
	c  converted
	t  Truth
}

// rawOut turns the simulation's records into raw lines and canonical
// records, in the simulation's order.
type rawOut struct {
	o      *output
	raw    func(string, []byte) error
	emit   func(*record.Record) error
	dup    *rand.Rand
	cos    []*rawCo
	byCode map[string]*rawCo
	lines  map[string]int
	queue  []*queued // by time; equal times in the order queued
}

// rawCo is one company's raw-mode state. Its random numbers are its own,
// so a company's raw lines do not depend on how many others there are
// (exact duplicates aside, drawn over the merged stream as in canonical mode).
type rawCo struct {
	ro        *rawOut
	code      string
	erp       string
	seed      int64
	rng       *rand.Rand
	rcpt      *rand.Rand           // the receipts' (see write)
	belnr     map[string]string    // SAP: simulation id → BELNR
	series    map[string]int       // last number of each number series
	clearedBy map[string]rawCtx    // SAP: AP invoice number → the KZ payment clearing it
	firstAt   map[string]time.Time // first version's time of claims, orders, shipments
	desc      map[string]string    // sku → product or material name
	st        *Stats
}

func newRawOut(cfg Config, sims []*sim, o *output, raw func(string, []byte) error, emit func(*record.Record) error) *rawOut {
	ro := &rawOut{o: o, raw: raw, emit: emit, byCode: map[string]*rawCo{}, lines: map[string]int{},
		dup: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5EED0D0B1E5))}
	o.st.Raw = map[string]RawStats{}
	o.st.DeadLetters = map[string]int{}
	o.st.Mess = map[string]int{}
	for _, src := range RawSources {
		o.st.Raw[src.Name] = RawStats{}
	}
	for i, s := range sims {
		co := &rawCo{ro: ro, code: s.w.code, erp: CompanyERP(i), seed: cfg.Seed, st: o.st,
			rng:    rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6A09E667F3BCC909*uint64(i+1))),
			rcpt:   rand.New(rand.NewPCG(uint64(cfg.Seed)^0x61C8864680B583EB, 0x6A09E667F3BCC909*uint64(i+1))),
			belnr:  map[string]string{},
			series: map[string]int{}, clearedBy: map[string]rawCtx{}, firstAt: map[string]time.Time{},
			desc: map[string]string{}}
		for _, p := range s.w.products {
			co.desc[p.sku] = p.desc
		}
		for _, p := range s.w.materials {
			co.desc[p.sku] = p.desc
		}
		ro.cos = append(ro.cos, co)
		ro.byCode[co.code] = co
	}
	return ro
}

// write converts one simulated record and writes it with its truth, then
// the raw-only extras it draws: a bad record, a version conflict, a near
// duplicate for later.
func (ro *rawOut) write(e *entry) error {
	if err := ro.flush(e.rec.EventTime, false); err != nil {
		return err
	}
	co := ro.cos[e.ci]
	if p, ok := e.rec.Body.(*record.Payment); ok && p.Direction == "in" {
		// A receipt draws its mess from a stream of its own, so that
		// adding receipts left every other raw line of a seed as it was.
		co.rng, co.rcpt = co.rcpt, co.rng
		defer func() { co.rng, co.rcpt = co.rcpt, co.rng }()
	}
	c := co.convert(e.rec)
	c.isNew = e.rec.Version == 1
	if err := ro.put(c); err != nil {
		return err
	}
	self := recID(c.canon)
	for _, t := range e.truth {
		if t.Type == TruthLink && t.BankTxn == "" {
			t.BankTxn = self
		}
		if t.Type == TruthException && t.SubjectID == "" {
			t.SubjectID = self
		}
		if err := ro.o.writeTruth(ro.translate(t)); err != nil {
			return err
		}
	}
	if c.line == nil {
		return nil
	}
	if c.src == RawReimbCN || c.src == RawSAPEN {
		if co.rng.Float64() < shareVersionConflict {
			line := co.render(co.conflict(c))
			if err := ro.deadLetter(c.src, co.code, c.canon.ID, ReasonVersionConflict, line); err != nil {
				return err
			}
		}
	}
	if co.rng.Float64() < shareRawBad {
		kinds := badKinds[c.src+"/"+c.canon.Kind.String()]
		bk := kinds[co.rng.IntN(len(kinds))]
		bc := co.fresh(c, c.canon.EventTime)
		if err := ro.deadLetter(c.src, co.code, bc.canon.ID, bk.reason, co.renderBroken(bc, bk.brk)); err != nil {
			return err
		}
	}
	co.nearDuplicate(c)
	return nil
}

func recID(r *record.Record) string { return r.Company + "/" + r.Source + "/" + r.ID }

// put writes a record: its raw line (maybe twice) and its canonical record.
func (ro *rawOut) put(c converted) error {
	st := ro.o.st
	if c.line != nil {
		n := 1
		if ro.dup.Float64() < shareDuplicateMsg {
			n = 2
		}
		rs := st.Raw[c.src]
		rs.Lines += n
		rs.Duplicates += n - 1
		rs.Records++
		st.Raw[c.src] = rs
		st.Duplicates += n - 1
		for range n {
			ro.lines[c.src]++
			if err := ro.raw(c.src, c.line); err != nil {
				return err
			}
		}
	} else {
		st.Passthrough++
	}
	st.Records++
	return ro.emit(c.canon)
}

// deadLetter writes a bad raw line and its truth.
func (ro *rawOut) deadLetter(src, company, rawID, reason string, line []byte) error {
	rs := ro.o.st.Raw[src]
	rs.Lines++
	ro.o.st.Raw[src] = rs
	ro.lines[src]++
	if err := ro.raw(src, line); err != nil {
		return err
	}
	return ro.o.writeTruth(Truth{Type: TruthDeadLetter, Source: src, Company: company, RawID: rawID,
		Line: ro.lines[src], Reason: reason})
}

// flush writes the near duplicates due before t, or all with all set.
func (ro *rawOut) flush(t time.Time, all bool) error {
	for len(ro.queue) > 0 && (all || ro.queue[0].at.Before(t)) {
		q := ro.queue[0]
		ro.queue = ro.queue[1:]
		ro.o.st.ByKind[q.c.canon.Kind.String()]++
		if err := ro.put(q.c); err != nil {
			return err
		}
		if err := ro.o.writeTruth(q.t); err != nil {
			return err
		}
	}
	return nil
}

func (ro *rawOut) endDay() error { return ro.flush(time.Time{}, true) }

func (ro *rawOut) enqueue(q *queued) {
	i := len(ro.queue)
	for i > 0 && ro.queue[i-1].at.After(q.at) {
		i--
	}
	ro.queue = append(ro.queue, nil)
	copy(ro.queue[i+1:], ro.queue[i:])
	ro.queue[i] = q
}

// translate rewrites the ids of a truth line from the simulation's sources
// to raw mode's.
func (ro *rawOut) translate(t Truth) Truth {
	t.BankTxn = ro.translateID(t.BankTxn)
	t.TargetID = ro.translateID(t.TargetID)
	t.SubjectID = ro.translateID(t.SubjectID)
	t.RelatedID = ro.translateID(t.RelatedID)
	return t
}

func (ro *rawOut) translateID(full string) string {
	comp, rest, ok := strings.Cut(full, "/")
	if !ok {
		return full
	}
	src, id, _ := strings.Cut(rest, "/")
	co := ro.byCode[comp]
	switch src {
	case srcERP:
		src = co.erp
		if b, ok := co.belnr[id]; ok {
			id = b
		}
	case srcReimb:
		src = RawReimbCN
	case srcShop, srcWMS:
		src = RawShop
	case "icbc", "boc":
		panic("generator: a truth line names bank line " + full + " other than its own")
	}
	return comp + "/" + src + "/" + id
}

// draw picks a form of t and counts it.
func (co *rawCo) draw(t *formTable) string {
	x := co.rng.IntN(1000)
	for i, c := range t.cum {
		if x < c {
			co.st.Mess[t.keys[i]]++
			return t.names[i]
		}
	}
	panic("generator: form table")
}

// word draws the raw word for a canonical value.
func (co *rawCo) word(ws map[string]*formTable, canon string) string {
	t := ws[canon]
	if t == nil {
		panic("generator: no raw word for " + canon)
	}
	return co.draw(t)
}

// percent is a per-document decision, the same for every version.
func (co *rawCo) percent(what, id string) int { return int(hash64(co.seed, co.code, what, id) % 100) }

func (co *rawCo) next(series string, start int) int {
	n, ok := co.series[series]
	if !ok {
		n = start
	}
	n++
	co.series[series] = n
	return n
}

// belnrOf returns the SAP document number of a simulation id, numbering
// documents of each type in the order they first appear.
func (co *rawCo) belnrOf(id, blart string) string {
	if b, ok := co.belnr[id]; ok {
		return b
	}
	b := co.newBelnr(blart)
	co.belnr[id] = b
	return b
}

func (co *rawCo) newBelnr(series string) string {
	start := 0
	if series == "DZR" {
		start = 50000000
	}
	return fmt.Sprintf("%s%08d", sapSeries[series], co.next("BELNR"+series, start))
}

// extraNumber is a document number from the 900000 range of prefix and
// year, which the near duplicates and bad records use.
func (co *rawCo) extraNumber(prefix, year string) string {
	return fmt.Sprintf("%s-%s-%06d", prefix, year, co.next(prefix+year, 900000))
}

// yearOf is the year part of a number like INV-2025-000042.
func yearOf(num string) string {
	_, rest, _ := strings.Cut(num, "-")
	y, _, _ := strings.Cut(rest, "-")
	return y
}

func prefixOf(num string) string {
	p, _, _ := strings.Cut(num, "-")
	return p
}

// canon copies r's envelope into a canonical record of source src.
func (co *rawCo) canon(r *record.Record, src, id string, version uint64, b record.Body) *record.Record {
	return &record.Record{Envelope: record.Envelope{Kind: r.Kind, Company: r.Company, Source: src, ID: id,
		Version: version, EventTime: r.EventTime}, Body: b}
}

func ms(t time.Time) uint64 { return uint64(t.UnixMilli()) }

// convert makes the raw line and canonical record of a simulated record.
func (co *rawCo) convert(r *record.Record) converted {
	switch b := r.Body.(type) {
	case *record.ExpenseClaim:
		cb := *b
		cb.Employee.Name = canonText(cb.Employee.Name)
		cb.Department = canonText(cb.Department)
		cb.ExpenseType = canonText(cb.ExpenseType)
		cb.Description = canonText(cb.Description)
		if co.percent("事由", b.Number) < shareNoDescription {
			cb.Description = ""
		}
		if r.Version == 1 {
			co.firstAt[r.ID] = r.EventTime
		}
		return co.rendered(RawReimbCN, co.canon(r, RawReimbCN, r.ID, r.Version, &cb), rawCtx{first: co.firstAt[r.ID]})
	case *record.Invoice:
		cb := *b
		cb.Party.Name = canonText(cb.Party.Name)
		if co.erp == RawERPCN {
			return co.rendered(RawERPCN, co.canon(r, RawERPCN, r.ID, ms(r.EventTime), &cb), rawCtx{})
		}
		cr := co.canon(r, RawSAPEN, co.belnrOf(r.ID, sapDocType[b.Direction]), r.Version, &cb)
		var ctx rawCtx
		if b.Status == "paid" {
			if b.Direction == "AP" {
				ctx = co.clearedBy[b.Number]
			} else {
				ctx = rawCtx{augbl: co.newBelnr("DZ"), augdt: localDate(r.EventTime)}
			}
		}
		return co.rendered(RawSAPEN, cr, ctx)
	case *record.Payment:
		cb := *b
		cb.Party.Name = canonText(cb.Party.Name)
		cb.Remittance = canonText(cb.Remittance)
		if co.erp == RawERPCN {
			return co.rendered(RawERPCN, co.canon(r, RawERPCN, r.ID, ms(r.EventTime), &cb), rawCtx{})
		}
		cr := co.canon(r, RawSAPEN, co.belnrOf(r.ID, sapPaymentSeries(b.Direction)), r.Version, &cb)
		if b.Status == "executed" && b.Direction == "out" {
			for _, ref := range b.InvoiceRefs {
				co.clearedBy[ref] = rawCtx{augbl: cr.ID, augdt: b.ValueDate}
			}
		}
		return co.rendered(RawSAPEN, cr, rawCtx{})
	case *record.BankTxn:
		cb := *b
		cb.Counterparty.Name = canonText(cb.Counterparty.Name)
		cb.Counterparty.Account = canonText(cb.Counterparty.Account)
		cb.Remittance = canonText(cb.Remittance)
		src := RawBankA
		if b.Amount.Currency == usd {
			src = RawBankB
		}
		return co.rendered(src, co.canon(r, src, b.BankRef, 1, &cb), rawCtx{})
	case *record.SalesOrder:
		cb := *b
		cb.Customer.Name = canonText(cb.Customer.Name)
		cb.Lines = make([]record.Line, len(b.Lines))
		for i, l := range b.Lines {
			l.Description = canonText(co.desc[l.SKU])
			cb.Lines[i] = l
		}
		if r.Version == 1 {
			co.firstAt[r.ID] = r.EventTime
			if localDate(r.EventTime) != b.OrderDate {
				panic("generator: order " + r.ID + " created on another day than its order date")
			}
		}
		c := co.rendered(RawShop, co.canon(r, RawShop, r.ID, ms(r.EventTime), &cb), rawCtx{first: co.firstAt[r.ID]})
		if b.Status == "invoiced" || b.Status == "cancelled" {
			delete(co.firstAt, r.ID)
		}
		return c
	case *record.Shipment:
		cb := *b
		cb.Carrier = canonText(cb.Carrier)
		if r.Version == 1 {
			co.firstAt[r.ID] = r.EventTime
		}
		first := co.firstAt[r.ID]
		if localDate(first) != b.ShipDate || (b.Status == "delivered" && localDate(r.EventTime) != b.DeliveredDate) {
			panic("generator: shipment " + r.ID + " dates differ from its event times")
		}
		c := co.rendered(RawShop, co.canon(r, RawShop, r.ID, ms(r.EventTime), &cb), rawCtx{first: first})
		if b.Status == "delivered" {
			delete(co.firstAt, r.ID)
		}
		return c
	case *record.Approval:
		cb := *b
		src := co.erp
		if b.SubjectKind == record.KindExpenseClaim {
			src = RawReimbCN
		} else if id, ok := co.belnr[b.SubjectID]; ok {
			cb.SubjectID = id
		}
		return converted{src: src, canon: co.canon(r, src, fmt.Sprintf("%s/%d", cb.SubjectID, b.Step), r.Version, &cb)}
	}
	// Purchase orders and goods receipts: the company's ERP, canonical.
	return converted{src: co.erp, canon: co.canon(r, co.erp, r.ID, r.Version, r.Body)}
}

func (co *rawCo) rendered(src string, cr *record.Record, ctx rawCtx) converted {
	c := converted{src: src, canon: cr, ctx: ctx}
	c.line = co.render(c)
	return c
}

// fresh copies c as a new document of the same source: a new number, no
// history, dated at. Its raw line is not rendered.
func (co *rawCo) fresh(c converted, at time.Time) converted {
	r := *c.canon
	r.EventTime = at
	n := converted{src: c.src, canon: &r, ctx: c.ctx}
	n.ctx.first = at
	switch b := c.canon.Body.(type) {
	case *record.ExpenseClaim:
		nb := *b
		nb.Number = co.extraNumber(prefixOf(b.Number), yearOf(b.Number))
		r.ID, r.Version, r.Body = nb.Number, 1, &nb
	case *record.Invoice:
		nb := *b
		if c.src == RawSAPEN {
			r.ID, r.Version = co.newBelnr(sapDocType[b.Direction]), 1
		} else {
			nb.Number = co.extraNumber(prefixOf(b.Number), yearOf(b.Number))
			r.ID, r.Version = nb.Number, ms(at)
		}
		r.Body = &nb
	case *record.Payment:
		nb := *b
		if c.src == RawSAPEN {
			r.ID, r.Version = co.newBelnr(sapPaymentSeries(b.Direction)), 1
		} else {
			nb.Number = co.extraNumber(prefixOf(b.Number), yearOf(b.Number))
			r.ID, r.Version = nb.Number, ms(at)
		}
		r.Body = &nb
	case *record.SalesOrder:
		nb := *b
		nb.Number = co.extraNumber(prefixOf(b.Number), yearOf(b.Number))
		r.ID, r.Version, r.Body = nb.Number, ms(at), &nb
	case *record.Shipment:
		nb := *b
		nb.Number = co.extraNumber(prefixOf(b.Number), yearOf(b.Number))
		r.ID, r.Version, r.Body = nb.Number, ms(at), &nb
		n.ctx.first = c.ctx.first
	case *record.BankTxn:
		nb := *b
		prefix := nb.BankRef[:len(nb.BankRef)-13]
		ymd := nb.BankRef[len(prefix) : len(prefix)+8]
		nb.BankRef = fmt.Sprintf("%s%s%05d", prefix, ymd, co.next(prefix+ymd, 90000))
		r.ID, r.Body = nb.BankRef, &nb
	default:
		panic("generator: no fresh copy of " + c.canon.Kind.String())
	}
	return n
}

// conflict is c re-sent at the same id and version with one mapped field
// changed: a description amended, a name re-keyed.
func (co *rawCo) conflict(c converted) converted {
	r := *c.canon
	n := c
	n.canon = &r
	switch b := c.canon.Body.(type) {
	case *record.ExpenseClaim:
		nb := *b
		nb.Description = strings.TrimSpace(nb.Description + " 补充说明")
		r.Body = &nb
	case *record.Invoice:
		nb := *b
		nb.Party.Name = canonText(lookalike(co.rng, nb.Party.Name))
		r.Body = &nb
	case *record.Payment:
		nb := *b
		nb.Party.Name = canonText(lookalike(co.rng, nb.Party.Name))
		r.Body = &nb
	}
	return n
}

// nearDuplicate may plant a second copy of a new AP invoice or claim under
// another number, later the same day, with the same party, amount, date
// and reference. It lands like any record and is flagged in the truth.
func (co *rawCo) nearDuplicate(c converted) {
	if !c.isNew {
		return
	}
	var share float64
	var delay int
	switch b := c.canon.Body.(type) {
	case *record.Invoice:
		if b.Direction != "AP" {
			return
		}
		share, delay = shareNearDupAP, 5+co.rng.IntN(176)
	case *record.ExpenseClaim:
		share, delay = shareNearDupClaim, 10+co.rng.IntN(231)
	default:
		return
	}
	if co.rng.Float64() >= share {
		return
	}
	at := c.canon.EventTime.Add(time.Duration(delay) * time.Minute)
	n := co.fresh(c, at)
	n.line = co.render(n)
	co.ro.enqueue(&queued{at: at, c: n, t: Truth{Type: TruthNearDuplicate, Kind: c.canon.Kind.String(),
		SubjectID: recID(n.canon), RelatedID: recID(c.canon)}})
}

// render writes c's raw line.
func (co *rawCo) render(c converted) []byte { return co.renderBroken(c, "") }

func (co *rawCo) renderBroken(c converted, brk string) []byte {
	return co.messyHeaders(c, co.renderShape(c, brk))
}

// messyHeader is the header a CSV source's export can leave a stray space
// on, and the space.
var messyHeader = map[string][2]string{
	RawReimbCN: {"报销金额", " "},
	RawBankA:   {"借贷标志", "\u3000"},
	RawBankB:   {"Amount", " "},
}

// messyHeaders gives the lines of one day's export of a CSV source the
// headers a spreadsheet left (docs/sources.md): on 4 % of days, the first
// header behind Excel's byte-order mark, or one header with a trailing
// space. Every line of that day's export has them, as a CSV file's lines
// share its header. Decided by hash, not by the random stream, so that the
// rest of the world stays what it was.
func (co *rawCo) messyHeaders(c converted, line []byte) []byte {
	h, ok := messyHeader[c.src]
	if !ok {
		return line
	}
	day := c.canon.EventTime.UTC().Format("2006-01-02")
	if co.percent("headers/"+c.src, day) >= 4 {
		return line
	}
	if co.percent("headers-bom/"+c.src, day) < 50 {
		co.st.Mess[c.src+".headers.bom"]++
		return append([]byte(`{"`+"\ufeff"), line[2:]...)
	}
	co.st.Mess[c.src+".headers.space"]++
	return bytes.Replace(line, []byte(`"`+h[0]+`":`), []byte(`"`+h[0]+h[1]+`":`), 1)
}

func (co *rawCo) renderShape(c converted, brk string) []byte {
	switch c.src {
	case RawReimbCN:
		return co.renderClaim(c, brk)
	case RawERPCN:
		if _, ok := c.canon.Body.(*record.Invoice); ok {
			return co.renderERPInvoice(c, brk)
		}
		return co.renderERPPayment(c, brk)
	case RawSAPEN:
		if _, ok := c.canon.Body.(*record.Invoice); ok {
			return co.renderSAPInvoice(c, brk)
		}
		return co.renderSAPPayment(c, brk)
	case RawShop:
		if _, ok := c.canon.Body.(*record.SalesOrder); ok {
			return co.renderOrder(c, brk)
		}
		return co.renderShipment(c, brk)
	case RawBankA:
		return co.renderBankA(c, brk)
	case RawBankB:
		return co.renderBankB(c, brk)
	}
	panic("generator: no raw form for source " + c.src)
}
