// Package mapping turns records as source systems send them into canonical
// records, following one declarative YAML file per source (sources/).
package mapping

import (
	"time"

	"github.com/erpflow/erpflow/pipeline/record"
)

// valueType is what a canonical field holds, and so which parser reads the
// source value into it.
type valueType uint8

const (
	tString valueType = iota + 1
	tMoney
	tFixed
	tDate
	tDateTime
	tBool
	tUint
	tStrings
	tKind
	tVersion // the envelope's UInt64 version
)

var typeNames = map[valueType]string{tString: "text", tMoney: "amount", tFixed: "decimal", tDate: "date",
	tDateTime: "datetime", tBool: "flag", tUint: "integer", tStrings: "list of text", tKind: "kind", tVersion: "version"}

func (t valueType) String() string { return typeNames[t] }

// value is one parsed field value; typ says which member is set.
type value struct {
	s string
	m record.Money
	f record.Fixed
	d record.Date
	t time.Time
	// dateOnly says t was read from a day alone (clean.DateTime.DateOnly).
	dateOnly bool
	b        bool
	u        uint32
	v        uint64
	ss       []string
	k        record.Kind
}

// target is a canonical field a mapping can fill.
type target struct {
	typ valueType
	set func(body record.Body, v *value)
}

// Typed setters: each takes an accessor to the field of a concrete body.

func str[B record.Body](f func(B) *string) target {
	return target{tString, func(b record.Body, v *value) { *f(b.(B)) = v.s }}
}

func money[B record.Body](f func(B) *record.Money) target {
	return target{tMoney, func(b record.Body, v *value) { *f(b.(B)) = v.m }}
}

func date[B record.Body](f func(B) *record.Date) target {
	return target{tDate, func(b record.Body, v *value) { *f(b.(B)) = v.d }}
}

func datetime[B record.Body](f func(B) *time.Time) target {
	return target{tDateTime, func(b record.Body, v *value) { *f(b.(B)) = v.t }}
}

func flag[B record.Body](f func(B) *bool) target {
	return target{tBool, func(b record.Body, v *value) { *f(b.(B)) = v.b }}
}

func integer[B record.Body](f func(B) *uint32) target {
	return target{tUint, func(b record.Body, v *value) { *f(b.(B)) = v.u }}
}

func strs[B record.Body](f func(B) *[]string) target {
	return target{tStrings, func(b record.Body, v *value) { *f(b.(B)) = v.ss }}
}

func kind[B record.Body](f func(B) *record.Kind) target {
	return target{tKind, func(b record.Body, v *value) { *f(b.(B)) = v.k }}
}

// party adds prefix.id, prefix.name and prefix.account.
func party[B record.Body](m map[string]target, prefix string, f func(B) *record.Party) {
	m[prefix+".id"] = str(func(b B) *string { return &f(b).ID })
	m[prefix+".name"] = str(func(b B) *string { return &f(b).Name })
	m[prefix+".account"] = str(func(b B) *string { return &f(b).Account })
}

// lineTargets are the fields of one line item, for mappings of item arrays.
var lineTargets = map[string]struct {
	typ valueType
	set func(l *record.Line, v *value)
}{
	"sku":         {tString, func(l *record.Line, v *value) { l.SKU = v.s }},
	"description": {tString, func(l *record.Line, v *value) { l.Description = v.s }},
	"quantity":    {tFixed, func(l *record.Line, v *value) { l.Quantity = v.f }},
	"unit_price":  {tFixed, func(l *record.Line, v *value) { l.UnitPrice = v.f }},
	"amount":      {tMoney, func(l *record.Line, v *value) { l.Amount = v.m }},
}

// targets lists, per kind, every canonical body field a mapping may fill,
// under the names docs/records.md uses (nested with dots).
var targets = map[record.Kind]map[string]target{}

func init() {
	inv := map[string]target{
		"number":     str(func(b *record.Invoice) *string { return &b.Number }),
		"direction":  str(func(b *record.Invoice) *string { return &b.Direction }),
		"issue_date": date(func(b *record.Invoice) *record.Date { return &b.IssueDate }),
		"due_date":   date(func(b *record.Invoice) *record.Date { return &b.DueDate }),
		"total":      money(func(b *record.Invoice) *record.Money { return &b.Total }),
		"tax":        money(func(b *record.Invoice) *record.Money { return &b.Tax }),
		"status":     str(func(b *record.Invoice) *string { return &b.Status }),
		"order_ref":  str(func(b *record.Invoice) *string { return &b.OrderRef }),
	}
	party(inv, "party", func(b *record.Invoice) *record.Party { return &b.Party })
	targets[record.KindInvoice] = inv

	pay := map[string]target{
		"number":               str(func(b *record.Payment) *string { return &b.Number }),
		"direction":            str(func(b *record.Payment) *string { return &b.Direction }),
		"amount":               money(func(b *record.Payment) *record.Money { return &b.Amount }),
		"method":               str(func(b *record.Payment) *string { return &b.Method }),
		"value_date":           date(func(b *record.Payment) *record.Date { return &b.ValueDate }),
		"status":               str(func(b *record.Payment) *string { return &b.Status }),
		"invoice_refs":         strs(func(b *record.Payment) *[]string { return &b.InvoiceRefs }),
		"remittance":           str(func(b *record.Payment) *string { return &b.Remittance }),
		"bank_account":         str(func(b *record.Payment) *string { return &b.BankAccount }),
		"counterparty_account": str(func(b *record.Payment) *string { return &b.CounterpartyAccount }),
	}
	party(pay, "party", func(b *record.Payment) *record.Party { return &b.Party })
	targets[record.KindPayment] = pay

	bank := map[string]target{
		"account":      str(func(b *record.BankTxn) *string { return &b.Account }),
		"booking_date": date(func(b *record.BankTxn) *record.Date { return &b.BookingDate }),
		"value_date":   date(func(b *record.BankTxn) *record.Date { return &b.ValueDate }),
		"direction":    str(func(b *record.BankTxn) *string { return &b.Direction }),
		"amount":       money(func(b *record.BankTxn) *record.Money { return &b.Amount }),
		"charges":      money(func(b *record.BankTxn) *record.Money { return &b.Charges }),
		"remittance":   str(func(b *record.BankTxn) *string { return &b.Remittance }),
		"bank_ref":     str(func(b *record.BankTxn) *string { return &b.BankRef }),
	}
	party(bank, "counterparty", func(b *record.BankTxn) *record.Party { return &b.Counterparty })
	targets[record.KindBankTxn] = bank

	so := map[string]target{
		"number":     str(func(b *record.SalesOrder) *string { return &b.Number }),
		"order_date": date(func(b *record.SalesOrder) *record.Date { return &b.OrderDate }),
		"status":     str(func(b *record.SalesOrder) *string { return &b.Status }),
		"channel":    str(func(b *record.SalesOrder) *string { return &b.Channel }),
		"total":      money(func(b *record.SalesOrder) *record.Money { return &b.Total }),
	}
	party(so, "customer", func(b *record.SalesOrder) *record.Party { return &b.Customer })
	targets[record.KindSalesOrder] = so

	sh := map[string]target{
		"number":         str(func(b *record.Shipment) *string { return &b.Number }),
		"order_ref":      str(func(b *record.Shipment) *string { return &b.OrderRef }),
		"ship_date":      date(func(b *record.Shipment) *record.Date { return &b.ShipDate }),
		"delivered_date": date(func(b *record.Shipment) *record.Date { return &b.DeliveredDate }),
		"status":         str(func(b *record.Shipment) *string { return &b.Status }),
		"carrier":        str(func(b *record.Shipment) *string { return &b.Carrier }),
	}
	party(sh, "customer", func(b *record.Shipment) *record.Party { return &b.Customer })
	targets[record.KindShipment] = sh

	po := map[string]target{
		"number":     str(func(b *record.PurchaseOrder) *string { return &b.Number }),
		"order_date": date(func(b *record.PurchaseOrder) *record.Date { return &b.OrderDate }),
		"status":     str(func(b *record.PurchaseOrder) *string { return &b.Status }),
		"total":      money(func(b *record.PurchaseOrder) *record.Money { return &b.Total }),
	}
	party(po, "supplier", func(b *record.PurchaseOrder) *record.Party { return &b.Supplier })
	targets[record.KindPurchaseOrder] = po

	gr := map[string]target{
		"number":       str(func(b *record.GoodsReceipt) *string { return &b.Number }),
		"po_ref":       str(func(b *record.GoodsReceipt) *string { return &b.PORef }),
		"receipt_date": date(func(b *record.GoodsReceipt) *record.Date { return &b.ReceiptDate }),
		"status":       str(func(b *record.GoodsReceipt) *string { return &b.Status }),
	}
	party(gr, "supplier", func(b *record.GoodsReceipt) *record.Party { return &b.Supplier })
	targets[record.KindGoodsReceipt] = gr

	ec := map[string]target{
		"number":          str(func(b *record.ExpenseClaim) *string { return &b.Number }),
		"department":      str(func(b *record.ExpenseClaim) *string { return &b.Department }),
		"amount":          money(func(b *record.ExpenseClaim) *record.Money { return &b.Amount }),
		"claim_date":      date(func(b *record.ExpenseClaim) *record.Date { return &b.ClaimDate }),
		"expense_type":    str(func(b *record.ExpenseClaim) *string { return &b.ExpenseType }),
		"gl_account":      str(func(b *record.ExpenseClaim) *string { return &b.GLAccount }),
		"description":     str(func(b *record.ExpenseClaim) *string { return &b.Description }),
		"approval_status": str(func(b *record.ExpenseClaim) *string { return &b.ApprovalStatus }),
		"paid":            flag(func(b *record.ExpenseClaim) *bool { return &b.Paid }),
		"paid_date":       date(func(b *record.ExpenseClaim) *record.Date { return &b.PaidDate }),
	}
	party(ec, "employee", func(b *record.ExpenseClaim) *record.Party { return &b.Employee })
	targets[record.KindExpenseClaim] = ec

	ap := map[string]target{
		"subject_kind":    kind(func(b *record.Approval) *record.Kind { return &b.SubjectKind }),
		"subject_id":      str(func(b *record.Approval) *string { return &b.SubjectID }),
		"step":            integer(func(b *record.Approval) *uint32 { return &b.Step }),
		"level":           integer(func(b *record.Approval) *uint32 { return &b.Level }),
		"required_levels": integer(func(b *record.Approval) *uint32 { return &b.RequiredLevels }),
		"action":          str(func(b *record.Approval) *string { return &b.Action }),
		"acted_at":        datetime(func(b *record.Approval) *time.Time { return &b.ActedAt }),
		"comment":         str(func(b *record.Approval) *string { return &b.Comment }),
	}
	party(ap, "approver", func(b *record.Approval) *record.Party { return &b.Approver })
	targets[record.KindApproval] = ap
}
