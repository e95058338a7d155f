package clean

import (
	"errors"
	"strings"
	"testing"

	"github.com/erpflow/erpflow/pipeline/record"
)

func TestParseCurrency(t *testing.T) {
	for in, want := range map[string]string{
		"CNY": "CNY", "cny": "CNY", " CNY ": "CNY", "ＣＮＹ": "CNY", "RMB": "CNY", "rmb": "CNY", "人民币": "CNY",
		"¥": "CNY", "￥": "CNY", "元": "CNY", "CN¥": "CNY",
		"$": "USD", "US$": "USD", "USD": "USD", "美元": "USD", "美金": "USD",
		"€": "EUR", "EUR": "EUR", "欧元": "EUR", "£": "GBP", "GBP": "GBP", "英镑": "GBP",
		"HK$": "HKD", "HKD": "HKD", "港币": "HKD", "港元": "HKD",
		"JPY": "JPY", "日元": "JPY", "円": "JPY", "JP¥": "JPY",
		"BHD": "BHD", "KRW": "KRW", "韩元": "KRW", "S$": "SGD", "NT$": "TWD", "澳门元": "MOP",
		"": Missing, "-": Missing, "N/A": Missing, "无": Missing,
	} {
		c, err := ParseCurrency(in)
		if err != nil || FormatCurrency(c) != want {
			t.Errorf("ParseCurrency(%q) = %q, %v; want %s", in, FormatCurrency(c), err, want)
		}
	}
	for _, in := range []string{"XYZ", "dollars", "C", "CNYY", "¥¥", "12"} {
		_, err := ParseCurrency(in)
		var pe *ParseError
		if !errors.Is(err, ErrUnknownCurrency) || !errors.As(err, &pe) || pe.Value != in {
			t.Errorf("ParseCurrency(%q) = %v; want ErrUnknownCurrency naming the value", in, err)
		}
	}
	// Every alias names a currency the record model knows.
	for tok, a := range aliases {
		if _, err := record.ParseCurrency(a.cur.String()); err != nil {
			t.Errorf("alias %q: %v", tok, err)
		}
		if Normalize(tok) != tok || strings.ToUpper(tok) != tok {
			t.Errorf("alias %q is not in key form", tok)
		}
	}
}

func TestParseStatus(t *testing.T) {
	for _, c := range []struct {
		f    StatusField
		in   string
		want string
	}{
		{ExpensePaid, "已付款", "true"}, {ExpensePaid, "已支付", "true"}, {ExpensePaid, "paid", "true"},
		{ExpensePaid, "PAID", "true"}, {ExpensePaid, "是", "true"}, {ExpensePaid, "Y", "true"},
		{ExpensePaid, "未付款", "false"}, {ExpensePaid, "unpaid", "false"}, {ExpensePaid, "否", "false"},
		{ExpensePaid, "false", "false"}, {ExpensePaid, "", ""}, {ExpensePaid, "-", ""},
		{ExpenseApprovalStatus, "已审批", "approved"}, {ExpenseApprovalStatus, "审批通过", "approved"},
		{ExpenseApprovalStatus, "Approved", "approved"}, {ExpenseApprovalStatus, "审批中", "pending"},
		{ExpenseApprovalStatus, "待审批", "pending"}, {ExpenseApprovalStatus, "pending", "pending"},
		{ExpenseApprovalStatus, "已提交", "pending"}, {ExpenseApprovalStatus, "驳回", "rejected"},
		{ExpenseApprovalStatus, "已拒绝", "rejected"}, {ExpenseApprovalStatus, "rejected", "rejected"},
		{ExpenseApprovalStatus, " 「已审批」 ", "approved"},
		{InvoiceStatus, "open", "open"}, {InvoiceStatus, "未付款", "open"}, {InvoiceStatus, "partially_paid", "partially_paid"},
		{InvoiceStatus, "Partially Paid", "partially_paid"}, {InvoiceStatus, "partially-paid", "partially_paid"},
		{InvoiceStatus, "部分付款", "partially_paid"}, {InvoiceStatus, "已付款", "paid"}, {InvoiceStatus, "paid", "paid"},
		{InvoiceStatus, "已作废", "cancelled"}, {InvoiceStatus, "作废", "cancelled"}, {InvoiceStatus, "canceled", "cancelled"},
		{InvoiceStatus, "VOID", "cancelled"},
		{PaymentStatus, "已执行", "executed"}, {PaymentStatus, "支付成功", "executed"}, {PaymentStatus, "退票", "returned"},
		{PaymentStatus, "待支付", "pending"},
		{PaymentMethod, "银行转账", "bank_transfer"}, {PaymentMethod, "Bank Transfer", "bank_transfer"},
		{PaymentMethod, "电汇", "bank_transfer"}, {PaymentMethod, "现金", "cash"}, {PaymentMethod, "支票", "cheque"},
		{PaymentMethod, "银行承兑汇票", "draft"}, {PaymentMethod, "其他", "other"},
		{SalesOrderStatus, "已发货", "shipped"}, {SalesOrderStatus, "已开票", "invoiced"}, {SalesOrderStatus, "已完成", "closed"},
		{ShipmentStatus, "已签收", "delivered"}, {ShipmentStatus, "退货", "returned"},
		{PurchaseOrderStatus, "已收货", "received"}, {GoodsReceiptStatus, "已入库", "received"},
		{ApprovalAction, "同意", "approve"}, {ApprovalAction, "驳回", "reject"}, {ApprovalAction, "提交", "submit"},
		{ApprovalAction, "退回", "return"}, {ApprovalAction, "approve", "approve"},
	} {
		got, err := ParseStatus(c.f, c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseStatus(%s, %q) = %q, %v; want %q", c.f, c.in, got, err, c.want)
		}
	}
	for _, c := range []struct {
		f  StatusField
		in string
	}{
		{ExpensePaid, "部分付款"}, {ExpensePaid, "maybe"}, {InvoiceStatus, "已审"}, {InvoiceStatus, "approved"},
		{ShipmentStatus, "paid"}, {ApprovalAction, "pending"}, {GoodsReceiptStatus, "open"},
	} {
		_, err := ParseStatus(c.f, c.in)
		if !errors.Is(err, ErrUnknownStatus) || !strings.Contains(err.Error(), c.in) || !strings.Contains(err.Error(), c.f.String()) {
			t.Errorf("ParseStatus(%s, %q) = %v; want ErrUnknownStatus naming value and field", c.f, c.in, err)
		}
	}
	if _, err := ParseStatus(0, "paid"); !errors.Is(err, ErrBadOption) {
		t.Errorf("ParseStatus(0) = %v", err)
	}
	_, err := ParseStatus(InvoiceStatus, "已审")
	if want := `invoice.status "已审": unknown status (want one of cancelled, open, paid, partially_paid or a word configured for it)`; err.Error() != want {
		t.Errorf("error = %q; want %q", err, want)
	}
}

// Every enum a field produces is one the record model accepts, and no word
// means two things.
func TestStatusVocabulary(t *testing.T) {
	enums := map[StatusField][]string{
		InvoiceStatus: {"open", "partially_paid", "paid", "cancelled"}, PaymentStatus: {"pending", "executed", "cancelled", "returned"},
		PaymentMethod:    {"bank_transfer", "cash", "cheque", "card", "draft", "other"},
		SalesOrderStatus: {"open", "shipped", "invoiced", "closed", "cancelled"}, ShipmentStatus: {"shipped", "delivered", "returned", "cancelled"},
		PurchaseOrderStatus: {"open", "received", "invoiced", "closed", "cancelled"}, GoodsReceiptStatus: {"received", "returned", "cancelled"},
		ExpenseApprovalStatus: {"pending", "approved", "rejected"}, ExpensePaid: {"true", "false"},
		ApprovalAction: {"submit", "approve", "reject", "return"},
	}
	for f := InvoiceStatus; f <= ApprovalAction; f++ {
		for _, e := range fieldConcepts[f] {
			if !contains(enums[f], e) {
				t.Errorf("%s maps to %q, which the model does not have", f, e)
			}
		}
		for _, e := range enums[f] {
			if got, err := ParseStatus(f, e); err != nil || got != e {
				t.Errorf("%s: the enum value %q itself gives %q, %v", f, e, got, err)
			}
		}
	}
	seen := map[string]string{}
	for concept, words := range concepts {
		for _, w := range words {
			if statusKey(w) != w {
				t.Errorf("word %q is not in key form", w)
			}
			if other, ok := seen[w]; ok {
				t.Errorf("word %q means both %s and %s", w, other, concept)
			}
			seen[w] = concept
		}
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func TestStatusMap(t *testing.T) {
	m, err := NewStatusMap(PaymentMethod, map[string]string{"支付宝": "other", "WeChat Pay": "other", "转账": "cash"})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{"支付宝": "other", "wechat pay": "other", "转账": "cash", "现金": "cash", "": ""} {
		if got, err := m.Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := NewStatusMap(PaymentMethod, map[string]string{"x": "paypal"}); !errors.Is(err, ErrUnknownStatus) {
		t.Errorf("extra word to an unknown enum: %v", err)
	}
	if _, err := NewStatusMap(0, nil); !errors.Is(err, ErrBadOption) {
		t.Errorf("field 0: %v", err)
	}
	for in, want := range map[string]StatusField{"invoice.status": InvoiceStatus, "invoice": InvoiceStatus,
		"expense_claim.paid": ExpensePaid, "approval.action": ApprovalAction, "shipment": ShipmentStatus} {
		if got, err := ParseStatusField(in); err != nil || got != want {
			t.Errorf("ParseStatusField(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseStatusField("invoice.colour"); !errors.Is(err, ErrBadOption) {
		t.Errorf("ParseStatusField: %v", err)
	}
	if FormatStatus("") != Missing || FormatStatus("paid") != "paid" {
		t.Error("FormatStatus")
	}
}
