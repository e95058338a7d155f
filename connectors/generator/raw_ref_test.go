package generator

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/erpflow/erpflow/pipeline/record"
)

// A reference mapping written from docs/sources.md, independent of the
// code that writes the raw records: it reads a raw line as the page says a
// mapping must, with value maps and the lookup table taken from the page and
// the CSV. The tests hold its results against records.ndjson and the dead
// letters of the truth.

const sourcesDoc = "../../docs/sources.md"

// docSpec is what the tests read from docs/sources.md.
type docSpec struct {
	fields map[string][][]string        // source → its field tables, each a list of field paths in order
	maps   map[string]map[string]string // value map name (as after "Value map ") → raw → canonical
	gl     map[string]string            // 费用类型 → 会计科目
}

var (
	sourceHeading = regexp.MustCompile("^## `([a-z_]+)`")
	fieldRow      = regexp.MustCompile("^\\| `([^`]+)` \\|")
	mapHeading    = regexp.MustCompile("^\\*\\*Value map (.+?) → `[a-z_.]+`\\*\\*")
	mapRow        = regexp.MustCompile("^\\| `([^`]+)` \\| `([^`]+)` \\|$")
)

func readDocSpec() (*docSpec, error) {
	f, err := os.Open(sourcesDoc)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d := &docSpec{fields: map[string][][]string{}, maps: map[string]map[string]string{}}
	var src, mapName string
	var table []string
	inFields := false
	endTable := func() {
		if inFields && len(table) > 0 {
			d.fields[src] = append(d.fields[src], table)
		}
		table, inFields = nil, false
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := sourceHeading.FindStringSubmatch(line); m != nil {
			endTable()
			src, mapName = m[1], ""
			continue
		}
		if strings.HasPrefix(line, "## ") {
			endTable()
			src, mapName = "", ""
			continue
		}
		if src == "" {
			continue
		}
		switch {
		case strings.HasPrefix(line, "| field |"):
			endTable()
			inFields, mapName = true, ""
		case inFields && fieldRow.MatchString(line):
			table = append(table, fieldRow.FindStringSubmatch(line)[1])
		case mapHeading.MatchString(line):
			endTable()
			mapName = mapHeading.FindStringSubmatch(line)[1]
			d.maps[mapName] = map[string]string{}
		case mapName != "" && mapRow.MatchString(line):
			m := mapRow.FindStringSubmatch(line)
			d.maps[mapName][m[1]] = m[2]
		case !strings.HasPrefix(line, "|"):
			endTable()
			if line != "" && !strings.HasPrefix(line, "|") {
				if !strings.HasPrefix(line, "**Value map") {
					mapName = mapNameKeep(mapName, line)
				}
			}
		}
	}
	endTable()
	if err := sc.Err(); err != nil {
		return nil, err
	}
	gl, err := os.Open("lookups/expense_gl.csv")
	if err != nil {
		return nil, err
	}
	defer gl.Close()
	rows, err := csv.NewReader(gl).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 || rows[0][0] != "费用类型" || rows[0][1] != "会计科目" {
		return nil, errors.New("expense_gl.csv: want the header 费用类型,会计科目")
	}
	d.gl = map[string]string{}
	for _, r := range rows[1:] {
		d.gl[r[0]] = r[1]
	}
	return d, nil
}

// mapNameKeep ends a value map at the first paragraph after its table.
func mapNameKeep(name, line string) string {
	if strings.HasPrefix(line, "(") {
		return name // a note under the table
	}
	return ""
}

// refMapping is one raw record being mapped; err is the first reason it
// cannot be, and later values are then meaningless.
type refMapping struct {
	d   *docSpec
	obj map[string]any
	err string
}

func (m *refMapping) fail(reason string) {
	if m.err == "" {
		m.err = reason
	}
}

// get reads the value at a dotted path as text: strings as they are,
// numbers as written, null and absence as not present.
func getPath(obj map[string]any, path string) (string, bool) {
	var cur any = obj
	for _, k := range strings.Split(path, ".") {
		o, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		cur = o[k]
	}
	switch v := cur.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

func isBlankText(s string) bool { return s == "" || strings.Trim(s, "-") == "" }

// text is a normalised text value, "" for a blank.
func (m *refMapping) text(obj map[string]any, path string) string {
	s, _ := getPath(obj, path)
	s = canonText(s)
	if isBlankText(s) {
		return ""
	}
	return s
}

func (m *refMapping) mapped(path, mapName, field string) string {
	v := m.text(m.obj, path)
	w, ok := m.d.maps[mapName][v]
	if !ok {
		m.fail("unmapped_value:" + field)
	}
	return w
}

var (
	capitalDigit = map[rune]int64{'零': 0, '壹': 1, '贰': 2, '叁': 3, '肆': 4, '伍': 5, '陆': 6, '柒': 7, '捌': 8, '玖': 9}
	capitalUnit  = map[rune]int64{'拾': 10, '佰': 100, '仟': 1000}
)

// refAmount reads an amount as docs/sources.md lists its forms. comma is
// the decimal comma of bank_b.
func refAmount(s string, cur record.Currency, comma bool) (record.Money, error) {
	n := canonText(s)
	for _, p := range []string{"人民币", "RMB", "¥", "CNY", "USD", "$"} {
		n = strings.TrimSpace(strings.TrimPrefix(n, p))
	}
	if strings.ContainsAny(n, "元角分整") && strings.IndexFunc(n, func(r rune) bool { return capitalDigit[r] != 0 || r == '零' }) >= 0 {
		minor, err := refCapital(n)
		return record.Money{Minor: minor, Currency: cur}, err
	}
	n = strings.TrimSuffix(n, "元")
	neg := strings.HasPrefix(n, "-")
	n = strings.TrimPrefix(n, "-")
	group, dec := ",", "."
	if comma {
		group, dec = ".", ","
	}
	n = strings.ReplaceAll(n, group, "")
	n = strings.Replace(n, dec, ".", 1)
	var m record.Money
	if w, ok := strings.CutSuffix(n, "万"); ok {
		f, err := record.ParseFixed(w)
		if err != nil {
			return m, err
		}
		m = record.Money{Minor: int64(f) * 100, Currency: cur}
	} else {
		var err error
		if m, err = record.ParseMoney(n, cur); err != nil {
			return m, err
		}
	}
	if neg {
		m.Minor = -m.Minor
	}
	return m, nil
}

// refCapital reads 壹仟贰佰叁拾肆元伍角整.
func refCapital(s string) (int64, error) {
	var total, section, digit int64
	yuan, frac, _ := strings.Cut(s, "元")
	if !strings.Contains(s, "元") {
		yuan, frac = "", s
	}
	for _, r := range yuan {
		switch {
		case r == '零':
		case capitalDigit[r] != 0:
			digit = capitalDigit[r]
		case capitalUnit[r] != 0:
			section += digit * capitalUnit[r]
			digit = 0
		case r == '万':
			total += (section + digit) * 10_000
			section, digit = 0, 0
		case r == '亿':
			total += (section + digit) * 100_000_000
			section, digit = 0, 0
		default:
			return 0, fmt.Errorf("%q: unexpected %q", s, r)
		}
	}
	minor := (total + section + digit) * 100
	var last int64
	for _, r := range strings.TrimSuffix(frac, "整") {
		switch {
		case r == '零':
		case capitalDigit[r] != 0:
			last = capitalDigit[r]
		case r == '角':
			minor += last * 10
		case r == '分':
			minor += last
		default:
			return 0, fmt.Errorf("%q: unexpected %q", s, r)
		}
	}
	return minor, nil
}

var (
	reISODate   = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})`)
	reSlashDate = regexp.MustCompile(`^(\d{4})/(\d{1,2})/(\d{1,2})$`)
	reCJKDate   = regexp.MustCompile(`^(\d{4})年(\d{1,2})月(\d{1,2})日`)
	reCompact   = regexp.MustCompile(`^(\d{4})(\d{2})(\d{2})$`)
	reDotted    = regexp.MustCompile(`^(\d{1,2})\.(\d{1,2})\.(\d{4})$`)
	reDayMonth  = regexp.MustCompile(`^\d{1,2}/\d{1,2}/\d{4}$`)
	reSerial    = regexp.MustCompile(`^\d{5}$`)
)

var errAmbiguous = errors.New("ambiguous date")

// refDate reads a date as written; a time after it is dropped. dmy and
// excel are the source's configuration.
func refDate(s string, dmy, excel bool) (record.Date, error) {
	n := canonText(s)
	atoi := func(s string) int { v, _ := strconv.Atoi(s); return v }
	mk := func(y, m, d string) (record.Date, error) {
		return record.ParseDate(fmt.Sprintf("%04d-%02d-%02d", atoi(y), atoi(m), atoi(d)))
	}
	for _, re := range []*regexp.Regexp{reISODate, reSlashDate, reCJKDate, reCompact} {
		if g := re.FindStringSubmatch(n); g != nil {
			return mk(g[1], g[2], g[3])
		}
	}
	switch g := reDotted.FindStringSubmatch(n); {
	case g != nil && dmy:
		return mk(g[3], g[2], g[1])
	case g != nil, reDayMonth.MatchString(n):
		return 0, errAmbiguous
	case reSerial.MatchString(n) && excel:
		return record.Date(atoi(n) - 25569), nil
	}
	return 0, fmt.Errorf("%q: not a date", s)
}

// refTime reads a date-time; local forms are in China Standard Time
// unless utc.
func refTime(s string, utc bool) (time.Time, error) {
	n := canonText(s)
	loc := time.FixedZone("Asia/Shanghai", 8*3600)
	if utc {
		loc = time.UTC
	}
	if len(n) == 13 && strings.Trim(n, "0123456789") == "" {
		v, _ := strconv.ParseInt(n, 10, 64)
		return time.UnixMilli(v).UTC(), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05", "2006年1月2日 15时04分"} {
		if t, err := time.ParseInLocation(layout, n, loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: not a date-time", s)
}

func (m *refMapping) amount(obj map[string]any, path, field string, cur record.Currency, comma bool) record.Money {
	s, _ := getPath(obj, path)
	if isBlankText(canonText(s)) {
		return record.Money{}
	}
	v, err := refAmount(s, cur, comma)
	if err != nil {
		m.fail("wrong_type:" + field)
	}
	return v
}

func (m *refMapping) date(path, field string, dmy, excel bool) record.Date {
	s, _ := getPath(m.obj, path)
	if isBlankText(canonText(s)) {
		return record.NoDate
	}
	d, err := refDate(s, dmy, excel)
	if err != nil {
		m.fail("wrong_type:" + field)
	}
	return d
}

func (m *refMapping) time(path string, utc bool) time.Time {
	s, _ := getPath(m.obj, path)
	t, err := refTime(s, utc)
	if err != nil {
		m.fail("wrong_type:event_time")
	}
	return t
}

func (m *refMapping) uint(path string) uint64 {
	s, _ := getPath(m.obj, path)
	v, err := strconv.ParseUint(canonText(s), 10, 64)
	if err != nil {
		m.fail("wrong_type:version")
	}
	return v
}

func (m *refMapping) currency(path, mapName string) record.Currency {
	c, err := record.ParseCurrency(m.mapped(path, mapName, "body.currency"))
	if err != nil {
		m.fail("wrong_type:body.currency")
	}
	return c
}

func (m *refMapping) items(path string) []map[string]any {
	var cur any = m.obj
	for _, k := range strings.Split(path, ".") {
		cur = cur.(map[string]any)[k]
	}
	var out []map[string]any
	for _, it := range cur.([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

func (m *refMapping) strs(path string) []string {
	var out []string
	for _, v := range m.obj[path].([]any) {
		out = append(out, canonText(v.(string)))
	}
	return out
}

func (m *refMapping) fixed(obj map[string]any, path, field string) record.Fixed {
	s, _ := getPath(obj, path)
	f, err := record.ParseFixed(canonText(s))
	if err != nil {
		m.fail("wrong_type:" + field)
	}
	return f
}

// tidyHeaders undoes the header mess of a CSV export (messyHeaders), as a
// reader of the export must: a byte-order mark before the first key, a
// space after one.
func tidyHeaders(line []byte) []byte {
	line = bytes.Replace(line, []byte(`{"`+"\ufeff"), []byte(`{"`), 1)
	for _, h := range messyHeader {
		line = bytes.Replace(line, []byte(`"`+h[0]+h[1]+`":`), []byte(`"`+h[0]+`":`), 1)
	}
	return line
}

// refMap maps one raw line of src. It returns the canonical record, or the
// reason the pipeline must refuse the line.
func refMap(d *docSpec, src string, line []byte) (*record.Record, string) {
	dec := json.NewDecoder(bytes.NewReader(tidyHeaders(line)))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, "invalid_json"
	}
	m := &refMapping{d: d, obj: obj}
	r := &record.Record{Envelope: record.Envelope{Source: src}}
	switch src {
	case RawReimbCN:
		r.Kind, r.Company = record.KindExpenseClaim, m.text(obj, "公司代码")
		r.ID, r.Version, r.EventTime = m.text(obj, "单据编号"), m.uint("版本号"), m.time("最后修改时间", false)
		b := &record.ExpenseClaim{Number: r.ID, Employee: record.Party{ID: m.text(obj, "工号"), Name: m.text(obj, "报销人")},
			Department: m.text(obj, "部门"), Amount: m.amount(obj, "报销金额", "body.amount", cny, false),
			ClaimDate: m.date("报销时间", "body.claim_date", false, false), ExpenseType: m.text(obj, "费用类型"),
			Description: m.text(obj, "事由"), ApprovalStatus: m.mapped("审批状态", "`审批状态`", "body.approval_status"),
			Paid: m.mapped("付款状态", "`付款状态`", "body.paid") == "true", PaidDate: m.date("付款日期", "body.paid_date", false, false)}
		var ok bool
		if b.GLAccount, ok = d.gl[b.ExpenseType]; !ok {
			m.fail("unmapped_value:body.gl_account")
		}
		r.Body = b
	case RawERPCN:
		r.Company, r.ID = m.text(obj, "组织编码"), m.text(obj, "单据编号")
		r.EventTime = m.time("修改时间", false)
		r.Version = uint64(r.EventTime.UnixMilli())
		cur := m.currency("币别", "`币别`")
		switch typ := m.text(obj, "单据类型"); typ {
		case "销售发票", "采购发票":
			b := &record.Invoice{Number: r.ID, Direction: "AR", IssueDate: m.date("单据日期", "body.issue_date", false, false),
				DueDate: m.date("到期日", "body.due_date", false, false), Total: m.amount(obj, "价税合计", "body.total", cur, false),
				Tax: m.amount(obj, "税额", "body.tax", cur, false), OrderRef: m.text(obj, "源单编号"),
				Status: m.mapped("单据状态", "`单据状态` ("+typ+")", "body.status")}
			if typ == "销售发票" {
				b.Party = record.Party{ID: m.text(obj, "客户编码"), Name: m.text(obj, "客户名称")}
			} else {
				b.Direction, b.Party = "AP", record.Party{ID: m.text(obj, "供应商编码"), Name: m.text(obj, "供应商名称")}
			}
			for _, it := range m.items("明细") {
				b.Lines = append(b.Lines, record.Line{SKU: m.text(it, "物料编码"), Description: m.text(it, "物料名称"),
					Quantity: m.fixed(it, "数量", "body.lines.quantity"), UnitPrice: m.fixed(it, "单价", "body.lines.unit_price"),
					Amount: m.amount(it, "金额", "body.lines.amount", cur, false)})
			}
			r.Kind, r.Body = record.KindInvoice, b
		case "付款单":
			r.Kind, r.Body = record.KindPayment, &record.Payment{Number: r.ID, Direction: "out",
				Party:  record.Party{ID: m.text(obj, "供应商编码"), Name: m.text(obj, "供应商名称")},
				Amount: m.amount(obj, "付款金额", "body.amount", cur, false), Method: m.mapped("结算方式", "`结算方式`", "body.method"),
				ValueDate: m.date("付款日期", "body.value_date", false, false), Status: m.mapped("单据状态", "`单据状态` (付款单)", "body.status"),
				InvoiceRefs: m.strs("关联单据"), Remittance: m.text(obj, "摘要"), BankAccount: m.text(obj, "付款账号"),
				CounterpartyAccount: m.text(obj, "收款账号")}
		case "收款单":
			r.Kind, r.Body = record.KindPayment, &record.Payment{Number: r.ID, Direction: "in",
				Party:  record.Party{ID: m.text(obj, "客户编码"), Name: m.text(obj, "客户名称")},
				Amount: m.amount(obj, "收款金额", "body.amount", cur, false), Method: m.mapped("结算方式", "`结算方式`", "body.method"),
				ValueDate: m.date("收款日期", "body.value_date", false, false), Status: m.mapped("单据状态", "`单据状态` (收款单)", "body.status"),
				InvoiceRefs: m.strs("关联单据"), Remittance: m.text(obj, "摘要"), BankAccount: m.text(obj, "收款账号"),
				CounterpartyAccount: m.text(obj, "付款账号")}
		default:
			return nil, "no_rule"
		}
	case RawSAPEN:
		r.Company, r.ID, r.Version = m.text(obj, "BUKRS"), m.text(obj, "BELNR"), m.uint("CHANGENR")
		r.EventTime = m.time("CHANGED_AT", true)
		cur := m.currency("WAERS", "`WAERS`")
		switch blart := m.text(obj, "BLART"); blart {
		case "DR", "KR":
			b := &record.Invoice{Number: m.text(obj, "XBLNR"), Direction: "AR", Party: record.Party{ID: m.text(obj, "KUNNR"), Name: m.text(obj, "NAME1")},
				IssueDate: m.date("BLDAT", "body.issue_date", true, false), DueDate: m.date("ZFBDT", "body.due_date", true, false),
				Total: m.amount(obj, "WRBTR", "body.total", cur, false), Tax: m.amount(obj, "WMWST", "body.tax", cur, false),
				OrderRef: m.text(obj, "ZUONR"), Status: m.mapped("STATUS", "`STATUS` (DR, KR)", "body.status")}
			if blart == "KR" {
				b.Direction, b.Party.ID = "AP", m.text(obj, "LIFNR")
			}
			for _, it := range m.items("ITEMS") {
				b.Lines = append(b.Lines, record.Line{SKU: m.text(it, "MATNR"), Description: m.text(it, "MAKTX"),
					Quantity: m.fixed(it, "MENGE", "body.lines.quantity"), UnitPrice: m.fixed(it, "NETPR", "body.lines.unit_price"),
					Amount: m.amount(it, "NETWR", "body.lines.amount", cur, false)})
			}
			r.Kind, r.Body = record.KindInvoice, b
		case "KZ", "DZ":
			b := &record.Payment{Number: m.text(obj, "XBLNR"), Direction: "out",
				Party:  record.Party{ID: m.text(obj, "LIFNR"), Name: m.text(obj, "NAME1")},
				Amount: m.amount(obj, "WRBTR", "body.amount", cur, false), Method: m.mapped("ZLSCH", "`ZLSCH`", "body.method"),
				ValueDate: m.date("VALUT", "body.value_date", true, false), Status: m.mapped("STATUS", "`STATUS` (KZ, DZ)", "body.status"),
				InvoiceRefs: m.strs("XREF"), Remittance: m.text(obj, "SGTXT"), BankAccount: m.text(obj, "HKTID"),
				CounterpartyAccount: m.text(obj, "BANKN")}
			if blart == "DZ" {
				b.Direction, b.Party.ID = "in", m.text(obj, "KUNNR")
			}
			r.Kind, r.Body = record.KindPayment, b
		default:
			return nil, "no_rule"
		}
	case RawShop:
		r.Company = m.text(obj, "shop_code")
		r.EventTime = m.time("updated_at", true)
		r.Version = uint64(r.EventTime.UnixMilli())
		switch m.text(obj, "event_type") {
		case "order":
			r.ID = m.text(obj, "order_no")
			cur := m.currency("payment.currency", "`payment.currency`")
			b := &record.SalesOrder{Number: r.ID, Customer: record.Party{ID: m.text(obj, "buyer.id"), Name: m.text(obj, "buyer.name")},
				OrderDate: m.date("created_at", "body.order_date", false, false), Status: m.mapped("status", "`status` (order)", "body.status"),
				Channel: m.text(obj, "channel"), Total: m.amount(obj, "payment.amount", "body.total", cur, false)}
			for _, it := range m.items("items") {
				b.Lines = append(b.Lines, record.Line{SKU: m.text(it, "sku"), Description: m.text(it, "title"),
					Quantity: m.fixed(it, "qty", "body.lines.quantity"), UnitPrice: m.fixed(it, "price", "body.lines.unit_price"),
					Amount: m.amount(it, "subtotal", "body.lines.amount", cur, false)})
			}
			r.Kind, r.Body = record.KindSalesOrder, b
		case "shipment":
			r.ID = m.text(obj, "shipment_no")
			b := &record.Shipment{Number: r.ID, OrderRef: m.text(obj, "order_no"), Customer: record.Party{ID: m.text(obj, "buyer.id")},
				ShipDate: m.date("shipped_at", "body.ship_date", false, false), DeliveredDate: m.date("signed_at", "body.delivered_date", false, false),
				Status: m.mapped("status", "`status` (shipment)", "body.status"), Carrier: m.text(obj, "carrier")}
			for _, it := range m.items("items") {
				b.Lines = append(b.Lines, record.Line{SKU: m.text(it, "sku"), Quantity: m.fixed(it, "qty", "body.lines.quantity")})
			}
			r.Kind, r.Body = record.KindShipment, b
		default:
			return nil, "no_rule"
		}
	case RawBankA:
		r.Kind, r.Company, r.ID, r.Version = record.KindBankTxn, m.text(obj, "账户别名"), m.text(obj, "交易流水号"), 1
		r.EventTime = m.time("交易时间", false)
		cur := m.currency("币种", "`币种`")
		amt := "借方金额"
		if m.text(obj, amt) == "" {
			amt = "贷方金额"
		}
		r.Body = &record.BankTxn{Account: m.text(obj, "本方账号"), BookingDate: m.date("交易日期", "body.booking_date", false, false),
			ValueDate: m.date("起息日", "body.value_date", false, false), Direction: m.mapped("借贷标志", "`借贷标志`", "body.direction"),
			Amount: m.amount(obj, amt, "body.amount", cur, false), Charges: m.amount(obj, "手续费", "body.charges", cur, false),
			Counterparty: record.Party{Name: m.text(obj, "对方户名"), Account: m.text(obj, "对方账号")},
			Remittance:   m.text(obj, "摘要"), BankRef: r.ID}
	case RawBankB:
		r.Kind, r.Company, r.ID, r.Version = record.KindBankTxn, m.text(obj, "Account Alias"), m.text(obj, "Bank Reference"), 1
		r.EventTime = m.time("Timestamp", true)
		cur, err := record.ParseCurrency(m.text(obj, "Currency"))
		if err != nil {
			m.fail("wrong_type:body.currency")
		}
		amt := m.amount(obj, "Amount", "body.amount", cur, true)
		dir := "positive"
		if amt.Minor < 0 {
			dir, amt.Minor = "negative", -amt.Minor
		}
		r.Body = &record.BankTxn{Account: m.text(obj, "Account"), BookingDate: m.date("Booking Date", "body.booking_date", true, true),
			ValueDate: m.date("Value Date", "body.value_date", true, true), Direction: d.maps["`Amount` (sign)"][dir],
			Amount: amt, Charges: m.amount(obj, "Charges", "body.charges", cur, true),
			Counterparty: record.Party{Name: m.text(obj, "Counterparty"), Account: m.text(obj, "Counterparty Account")},
			Remittance:   m.text(obj, "Reference"), BankRef: r.ID}
	default:
		return nil, "no_rule"
	}
	if m.err != "" {
		return nil, m.err
	}
	if err := record.Validate(r); err != nil {
		var de *record.DecodeError
		if errors.As(err, &de) {
			return nil, de.Code()
		}
		return nil, err.Error()
	}
	return r, ""
}
