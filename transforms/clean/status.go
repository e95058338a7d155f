package clean

import (
	"sort"
	"strings"
)

// StatusField names an enumerated field of the canonical model whose words
// sources spell in their own ways.
type StatusField uint8

const (
	InvoiceStatus         StatusField = iota + 1 // open, partially_paid, paid, cancelled
	PaymentStatus                                // pending, executed, cancelled, returned
	PaymentMethod                                // bank_transfer, cash, cheque, card, draft, other
	SalesOrderStatus                             // open, shipped, invoiced, closed, cancelled
	ShipmentStatus                               // shipped, delivered, returned, cancelled
	PurchaseOrderStatus                          // open, received, invoiced, closed, cancelled
	GoodsReceiptStatus                           // received, returned, cancelled
	ExpenseApprovalStatus                        // pending, approved, rejected
	ExpensePaid                                  // true, false: the paid flag
	ApprovalAction                               // submit, approve, reject, return
)

var statusFieldNames = [...]string{"", "invoice.status", "payment.status", "payment.method",
	"sales_order.status", "shipment.status", "purchase_order.status", "goods_receipt.status",
	"expense_claim.approval_status", "expense_claim.paid", "approval.action"}

func (f StatusField) String() string {
	if int(f) < len(statusFieldNames) && f != 0 {
		return statusFieldNames[f]
	}
	return "status"
}

// ParseStatusField reads a field as the canonical model names it
// (invoice.status, expense_claim.paid …); a kind alone (invoice, shipment)
// means its status field.
func ParseStatusField(s string) (StatusField, error) {
	for i := 1; i < len(statusFieldNames); i++ {
		if name := statusFieldNames[i]; s == name || s+".status" == name {
			return StatusField(i), nil
		}
	}
	return 0, &ParseError{Type: "status field", Value: s, Reason: "want one of " + strings.Join(statusFieldNames[1:], ", "), Err: ErrBadOption}
}

// concepts are the meanings source words carry, each with the words that
// say it, in the key form of statusKey (lower case, _ and - as spaces).
// A field then maps the concepts it knows to its enum. Words that mean
// different things in different fields (付款: a direction or a status) are
// left out, to be configured per source.
var concepts = map[string][]string{
	"open":           {"open", "new", "created", "新建", "已创建", "开立", "未结", "未结清", "未清", "未关闭"},
	"unpaid":         {"unpaid", "not paid", "outstanding", "未付", "未付款", "未支付", "待付款", "待支付", "未报销", "待报销"},
	"paid":           {"paid", "fully paid", "settled", "已付", "已付款", "已支付", "已结清", "付款完成", "支付完成", "已报销", "已收款"},
	"partially_paid": {"partially paid", "partly paid", "part paid", "partial", "部分付款", "部分支付", "部分已付", "部分收款", "部分结清"},
	"cancelled":      {"cancelled", "canceled", "void", "voided", "作废", "已作废", "取消", "已取消", "撤销", "已撤销"},
	"pending":        {"pending", "awaiting approval", "under review", "in review", "待审批", "审批中", "待审核", "审核中", "未审批", "未审核", "待处理", "处理中"},
	"approved":       {"approved", "approve", "已审批", "审批通过", "已通过", "通过", "已审核", "审核通过", "已批准", "批准", "同意", "已同意"},
	"rejected":       {"rejected", "reject", "declined", "denied", "驳回", "已驳回", "拒绝", "已拒绝", "不通过", "未通过", "审批不通过", "审核不通过", "不同意"},
	"returned":       {"returned", "return", "sent back", "退回", "已退回", "退票", "已退票", "退货", "已退货"},
	"submitted":      {"submitted", "submit", "提交", "已提交"},
	"executed":       {"executed", "success", "successful", "succeeded", "已执行", "成功", "交易成功", "支付成功", "付款成功"},
	"completed":      {"completed", "complete", "done", "finished", "已完成", "完成"},
	"shipped":        {"shipped", "dispatched", "已发货", "发货", "已发出", "已发运", "已出库"},
	"delivered":      {"delivered", "signed", "已签收", "签收", "已送达", "送达", "已妥投"},
	"invoiced":       {"invoiced", "billed", "已开票", "已开发票"},
	"closed":         {"closed", "已关闭", "关闭", "已结案", "结案"},
	"received":       {"received", "已收货", "收货", "已入库", "入库"},
	"bank_transfer":  {"bank transfer", "transfer", "wire", "wire transfer", "银行转账", "转账", "电汇", "网银", "网银转账", "汇款"},
	"cash":           {"cash", "现金"},
	"cheque":         {"cheque", "check", "支票"},
	"card":           {"card", "credit card", "debit card", "pos", "刷卡", "银行卡", "信用卡"},
	"draft":          {"draft", "bank draft", "汇票", "银行汇票", "承兑汇票", "银行承兑汇票", "商业汇票", "商业承兑汇票"},
	"other":          {"other", "其他", "其它"},
	"yes":            {"yes", "y", "true", "1", "是"},
	"no":             {"no", "n", "false", "0", "否"},
}

// fieldConcepts maps, per field, a concept to the field's enum value.
var fieldConcepts = map[StatusField]map[string]string{
	InvoiceStatus: {"open": "open", "unpaid": "open", "partially_paid": "partially_paid", "paid": "paid", "cancelled": "cancelled"},
	PaymentStatus: {"pending": "pending", "unpaid": "pending", "submitted": "pending", "executed": "executed",
		"completed": "executed", "paid": "executed", "cancelled": "cancelled", "returned": "returned"},
	PaymentMethod: {"bank_transfer": "bank_transfer", "cash": "cash", "cheque": "cheque", "card": "card", "draft": "draft", "other": "other"},
	SalesOrderStatus: {"open": "open", "shipped": "shipped", "invoiced": "invoiced", "closed": "closed",
		"completed": "closed", "cancelled": "cancelled"},
	ShipmentStatus: {"shipped": "shipped", "delivered": "delivered", "returned": "returned", "cancelled": "cancelled"},
	PurchaseOrderStatus: {"open": "open", "received": "received", "invoiced": "invoiced", "closed": "closed",
		"completed": "closed", "cancelled": "cancelled"},
	GoodsReceiptStatus:    {"received": "received", "returned": "returned", "cancelled": "cancelled"},
	ExpenseApprovalStatus: {"pending": "pending", "submitted": "pending", "approved": "approved", "rejected": "rejected"},
	ExpensePaid:           {"paid": "true", "yes": "true", "unpaid": "false", "no": "false"},
	ApprovalAction:        {"submitted": "submit", "approved": "approve", "rejected": "reject", "returned": "return"},
}

// builtin is, per field, every known word (and each enum value itself) to
// its enum value. Built once at start, read only after.
var builtin = func() map[StatusField]map[string]string {
	out := make(map[StatusField]map[string]string, len(fieldConcepts))
	for f, cm := range fieldConcepts {
		words := map[string]string{}
		for concept, enum := range cm {
			for _, w := range concepts[concept] {
				words[w] = enum
			}
		}
		for _, enum := range cm {
			words[statusKey(enum)] = enum
		}
		out[f] = words
	}
	return out
}()

// statusKey is the form words are compared in: normalised, ASCII lower case,
// _ and - read as spaces ("Partially-Paid" is "partially paid").
func statusKey(s string) string {
	s = Normalize(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c >= 'A' && c <= 'Z') || c == '_' || c == '-' {
			return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
				return r == ' ' || r == '_' || r == '-'
			}), " ")
		}
	}
	return s
}

// StatusMap is a field's vocabulary: a source's own words, then the
// built-in ones.
type StatusMap struct {
	field StatusField
	extra map[string]string
}

// NewStatusMap returns the vocabulary of f with a source's extra words
// (word → enum value), which take precedence over the built-in ones. An
// extra word mapped to a value the field does not have is an error.
func NewStatusMap(f StatusField, extra map[string]string) (*StatusMap, error) {
	if builtin[f] == nil {
		return nil, &ParseError{Type: "status field", Value: f.String(), Err: ErrBadOption}
	}
	m := &StatusMap{field: f, extra: make(map[string]string, len(extra))}
	for w, enum := range extra {
		if !isEnum(f, enum) {
			return nil, &ParseError{Type: f.String(), Value: enum, Reason: "the word " + quote(w) + " maps to it; want one of " + enumList(f), Err: ErrUnknownStatus}
		}
		m.extra[statusKey(w)] = enum
	}
	return m, nil
}

// Parse maps a value to the field's enum value (for ExpensePaid, "true" or
// "false"). A blank or placeholder gives "" and no error; a word the
// vocabulary does not have is an error naming it and the field.
func (m *StatusMap) Parse(s string) (string, error) {
	k := statusKey(s)
	if isBlank(k) {
		return "", nil
	}
	if v, ok := m.extra[k]; ok {
		return v, nil
	}
	if v, ok := builtin[m.field][k]; ok {
		return v, nil
	}
	return "", &ParseError{Type: m.field.String(), Value: s, Reason: "want one of " + enumList(m.field) + " or a word configured for it", Err: ErrUnknownStatus}
}

// ParseStatus maps a value of field f with the built-in vocabulary:
// 已付款 and paid are paid, 审批中 pending, 驳回 rejected, 已作废 cancelled …
func ParseStatus(f StatusField, s string) (string, error) {
	if builtin[f] == nil {
		return "", &ParseError{Type: "status field", Value: f.String(), Err: ErrBadOption}
	}
	return (&StatusMap{field: f}).Parse(s)
}

// FormatStatus renders a parsed status: the enum value, or MISSING.
func FormatStatus(v string) string {
	if v == "" {
		return Missing
	}
	return v
}

func isEnum(f StatusField, v string) bool {
	for _, e := range fieldConcepts[f] {
		if e == v {
			return true
		}
	}
	return false
}

func enumList(f StatusField) string {
	seen := map[string]bool{}
	var vs []string
	for _, e := range fieldConcepts[f] {
		if !seen[e] {
			seen[e] = true
			vs = append(vs, e)
		}
	}
	sort.Strings(vs)
	return strings.Join(vs, ", ")
}
