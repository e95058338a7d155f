package clickhouse

import (
	"github.com/erpflow/erpflow/pipeline/record"
)

// addBody writes a body's columns. Every call for a kind must write the same
// columns in the same order: the first call fixes the insert's column list.
// Names here are the migrations' column names.
func addBody(t *tableBuffer, body record.Body) {
	switch b := body.(type) {
	case *record.Invoice:
		t.str("number", b.Number)
		t.str("direction", b.Direction)
		t.str("party_id", b.Party.ID)
		t.str("party_name", b.Party.Name)
		t.str("party_key", b.Party.Key)
		t.date("issue_date", b.IssueDate)
		t.date("due_date", b.DueDate)
		t.str("currency", b.Total.Currency.String())
		t.money("total", b.Total)
		t.money("tax", b.Tax)
		t.str("status", b.Status)
		t.str("order_ref", b.OrderRef)
		t.lines(b.Lines, true)
	case *record.Payment:
		t.str("number", b.Number)
		t.str("direction", b.Direction)
		t.str("party_id", b.Party.ID)
		t.str("party_name", b.Party.Name)
		t.str("party_key", b.Party.Key)
		t.str("currency", b.Amount.Currency.String())
		t.money("amount", b.Amount)
		t.str("method", b.Method)
		t.date("value_date", b.ValueDate)
		t.str("status", b.Status)
		t.strArr("invoice_refs", b.InvoiceRefs)
		t.str("remittance", b.Remittance)
		t.str("bank_account", b.BankAccount)
		t.str("counterparty_account", b.CounterpartyAccount)
	case *record.BankTxn:
		t.str("account", b.Account)
		t.date("booking_date", b.BookingDate)
		t.date("value_date", b.ValueDate)
		t.str("direction", b.Direction)
		t.str("currency", b.Amount.Currency.String())
		t.money("amount", b.Amount)
		t.dec("charges", b.Charges.Minor, b.Amount.Currency.Scale())
		t.str("counterparty_name", b.Counterparty.Name)
		t.str("counterparty_key", b.Counterparty.Key)
		t.str("counterparty_account", b.Counterparty.Account)
		t.str("remittance", b.Remittance)
		t.str("bank_ref", b.BankRef)
	case *record.SalesOrder:
		t.str("number", b.Number)
		t.str("customer_id", b.Customer.ID)
		t.str("customer_name", b.Customer.Name)
		t.str("customer_key", b.Customer.Key)
		t.date("order_date", b.OrderDate)
		t.str("status", b.Status)
		t.str("channel", b.Channel)
		t.str("currency", b.Total.Currency.String())
		t.money("total", b.Total)
		t.lines(b.Lines, true)
	case *record.Shipment:
		t.str("number", b.Number)
		t.str("order_ref", b.OrderRef)
		t.str("customer_id", b.Customer.ID)
		t.str("customer_name", b.Customer.Name)
		t.date("ship_date", b.ShipDate)
		t.nullDate("delivered_date", b.DeliveredDate)
		t.str("status", b.Status)
		t.str("carrier", b.Carrier)
		t.lines(b.Lines, false)
	case *record.PurchaseOrder:
		t.str("number", b.Number)
		t.str("supplier_id", b.Supplier.ID)
		t.str("supplier_name", b.Supplier.Name)
		t.str("supplier_key", b.Supplier.Key)
		t.date("order_date", b.OrderDate)
		t.str("status", b.Status)
		t.str("currency", b.Total.Currency.String())
		t.money("total", b.Total)
		t.lines(b.Lines, true)
	case *record.GoodsReceipt:
		t.str("number", b.Number)
		t.str("po_ref", b.PORef)
		t.str("supplier_id", b.Supplier.ID)
		t.str("supplier_name", b.Supplier.Name)
		t.date("receipt_date", b.ReceiptDate)
		t.str("status", b.Status)
		t.lines(b.Lines, false)
	case *record.ExpenseClaim:
		t.str("number", b.Number)
		t.str("employee_id", b.Employee.ID)
		t.str("employee_name", b.Employee.Name)
		t.str("department", b.Department)
		t.str("currency", b.Amount.Currency.String())
		t.money("amount", b.Amount)
		t.date("claim_date", b.ClaimDate)
		t.str("expense_type", b.ExpenseType)
		t.str("gl_account", b.GLAccount)
		t.str("description", b.Description)
		t.str("approval_status", b.ApprovalStatus)
		t.flag("paid", b.Paid)
		t.nullDate("paid_date", b.PaidDate)
	case *record.Approval:
		t.str("subject_kind", b.SubjectKind.String())
		t.str("subject_id", b.SubjectID)
		t.u32("step", b.Step)
		t.u32("level", b.Level)
		t.u32("required_levels", b.RequiredLevels)
		t.str("approver_id", b.Approver.ID)
		t.str("approver_name", b.Approver.Name)
		t.str("action", b.Action)
		t.timestamp("acted_at", b.ActedAt)
		t.str("comment", b.Comment)
	}
}

// bodyLines returns a body's line items, nil for kinds without any.
func bodyLines(body record.Body) []record.Line {
	switch b := body.(type) {
	case *record.Invoice:
		return b.Lines
	case *record.SalesOrder:
		return b.Lines
	case *record.Shipment:
		return b.Lines
	case *record.PurchaseOrder:
		return b.Lines
	case *record.GoodsReceipt:
		return b.Lines
	}
	return nil
}
