package record

import (
	"strconv"
)

// Each body's decode and appendJSON stand side by side so that a field added
// to one is seen missing from the other; TestRoundTrip checks they agree.

const body = "body"

var (
	invoiceStatuses  = []string{"open", "partially_paid", "paid", "cancelled"}
	paymentStatuses  = []string{"pending", "executed", "cancelled", "returned"}
	paymentMethods   = []string{"bank_transfer", "cash", "cheque", "card", "draft", "other"}
	orderStatuses    = []string{"open", "shipped", "invoiced", "closed", "cancelled"}
	shipmentStatuses = []string{"shipped", "delivered", "returned", "cancelled"}
	poStatuses       = []string{"open", "received", "invoiced", "closed", "cancelled"}
	receiptStatuses  = []string{"received", "returned", "cancelled"}
	approvalStatuses = []string{"pending", "approved", "rejected"}
	approvalActions  = []string{"submit", "approve", "reject", "return"}
)

func (b *Invoice) decode(d *Decoder) error {
	err := d.object(body, func(k []byte) error {
		switch string(k) {
		case "number":
			return d.str(body, "number", &b.Number, false)
		case "direction":
			return d.enum(body, "direction", &b.Direction, "AR", "AP")
		case "party":
			return d.party("body.party", &b.Party, true)
		case "issue_date":
			return d.date(body, "issue_date", &b.IssueDate)
		case "due_date":
			return d.date(body, "due_date", &b.DueDate)
		case "total":
			return d.money("body.total", &b.Total)
		case "tax":
			return d.money("body.tax", &b.Tax)
		case "status":
			return d.enum(body, "status", &b.Status, invoiceStatuses...)
		case "order_ref":
			return d.str(body, "order_ref", &b.OrderRef, false)
		case "lines":
			return d.lines("body.lines", &b.Lines)
		}
		return unknown(body, k)
	})
	if err != nil {
		return err
	}
	return b.validate()
}

// sameCurrency refuses an optional amount in another currency than the
// document's: the tables keep one currency per row.
func sameCurrency(name string, m Money, want Currency) error {
	if m.IsZero() || m.Currency == want {
		return nil
	}
	return wrongType(body, name+".currency", "must be the document's currency "+want.String())
}

func linesCurrency(lines []Line, want Currency) error {
	for i := range lines {
		// The field's name is made only for the error: every priced
		// document is checked line by line, and nearly all pass.
		if m := lines[i].Amount; !m.IsZero() && m.Currency != want {
			return sameCurrency("lines["+strconv.Itoa(i)+"].amount", m, want)
		}
	}
	return nil
}

func (b *Invoice) appendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	dst = kstr(dst, "number", b.Number)
	dst = kstr(dst, "direction", b.Direction)
	dst = kparty(dst, "party", b.Party)
	dst = kdate(dst, "issue_date", b.IssueDate)
	dst = kdate(dst, "due_date", b.DueDate)
	dst = kmoney(dst, "total", b.Total)
	dst = kmoneyOpt(dst, "tax", b.Tax)
	dst = kstr(dst, "status", b.Status)
	dst = kopt(dst, "order_ref", b.OrderRef)
	dst = klines(dst, "lines", b.Lines)
	return closeObj(dst)
}

func (b *Payment) decode(d *Decoder) error {
	err := d.object(body, func(k []byte) error {
		switch string(k) {
		case "number":
			return d.str(body, "number", &b.Number, false)
		case "direction":
			return d.enum(body, "direction", &b.Direction, "in", "out")
		case "party":
			return d.party("body.party", &b.Party, true)
		case "amount":
			return d.money("body.amount", &b.Amount)
		case "method":
			return d.enum(body, "method", &b.Method, paymentMethods...)
		case "value_date":
			return d.date(body, "value_date", &b.ValueDate)
		case "status":
			return d.enum(body, "status", &b.Status, paymentStatuses...)
		case "invoice_refs":
			return d.strs(body, "invoice_refs", &b.InvoiceRefs)
		case "remittance":
			return d.str(body, "remittance", &b.Remittance, false)
		case "bank_account":
			return d.str(body, "bank_account", &b.BankAccount, true)
		case "counterparty_account":
			return d.str(body, "counterparty_account", &b.CounterpartyAccount, false)
		}
		return unknown(body, k)
	})
	if err != nil {
		return err
	}
	return b.validate()
}

func (b *Payment) appendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	dst = kstr(dst, "number", b.Number)
	dst = kstr(dst, "direction", b.Direction)
	dst = kparty(dst, "party", b.Party)
	dst = kmoney(dst, "amount", b.Amount)
	dst = kstr(dst, "method", b.Method)
	dst = kdate(dst, "value_date", b.ValueDate)
	dst = kstr(dst, "status", b.Status)
	dst = kstrs(dst, "invoice_refs", b.InvoiceRefs)
	dst = kopt(dst, "remittance", b.Remittance)
	dst = kopt(dst, "bank_account", b.BankAccount)
	dst = kopt(dst, "counterparty_account", b.CounterpartyAccount)
	return closeObj(dst)
}

func (b *BankTxn) decode(d *Decoder) error {
	err := d.object(body, func(k []byte) error {
		switch string(k) {
		case "account":
			return d.str(body, "account", &b.Account, true)
		case "booking_date":
			return d.date(body, "booking_date", &b.BookingDate)
		case "value_date":
			return d.date(body, "value_date", &b.ValueDate)
		case "direction":
			return d.enum(body, "direction", &b.Direction, "credit", "debit")
		case "amount":
			return d.money("body.amount", &b.Amount)
		case "charges":
			return d.money("body.charges", &b.Charges)
		case "counterparty":
			return d.party("body.counterparty", &b.Counterparty, false)
		case "remittance":
			return d.str(body, "remittance", &b.Remittance, false)
		case "bank_ref":
			return d.str(body, "bank_ref", &b.BankRef, false)
		}
		return unknown(body, k)
	})
	if err != nil {
		return err
	}
	return b.validate()
}

func (b *BankTxn) appendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	dst = kstr(dst, "account", b.Account)
	dst = kdate(dst, "booking_date", b.BookingDate)
	dst = kdateOpt(dst, "value_date", b.ValueDate)
	dst = kstr(dst, "direction", b.Direction)
	dst = kmoney(dst, "amount", b.Amount)
	dst = kmoneyOpt(dst, "charges", b.Charges)
	dst = kpartyOpt(dst, "counterparty", b.Counterparty)
	dst = kopt(dst, "remittance", b.Remittance)
	dst = kopt(dst, "bank_ref", b.BankRef)
	return closeObj(dst)
}

func (b *SalesOrder) decode(d *Decoder) error {
	err := d.object(body, func(k []byte) error {
		switch string(k) {
		case "number":
			return d.str(body, "number", &b.Number, false)
		case "customer":
			return d.party("body.customer", &b.Customer, true)
		case "order_date":
			return d.date(body, "order_date", &b.OrderDate)
		case "status":
			return d.enum(body, "status", &b.Status, orderStatuses...)
		case "channel":
			return d.str(body, "channel", &b.Channel, true)
		case "total":
			return d.money("body.total", &b.Total)
		case "lines":
			return d.lines("body.lines", &b.Lines)
		}
		return unknown(body, k)
	})
	if err != nil {
		return err
	}
	return b.validate()
}

func (b *SalesOrder) appendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	dst = kstr(dst, "number", b.Number)
	dst = kparty(dst, "customer", b.Customer)
	dst = kdate(dst, "order_date", b.OrderDate)
	dst = kstr(dst, "status", b.Status)
	dst = kopt(dst, "channel", b.Channel)
	dst = kmoney(dst, "total", b.Total)
	dst = klines(dst, "lines", b.Lines)
	return closeObj(dst)
}

func (b *Shipment) decode(d *Decoder) error {
	err := d.object(body, func(k []byte) error {
		switch string(k) {
		case "number":
			return d.str(body, "number", &b.Number, false)
		case "order_ref":
			return d.str(body, "order_ref", &b.OrderRef, false)
		case "customer":
			return d.party("body.customer", &b.Customer, false)
		case "ship_date":
			return d.date(body, "ship_date", &b.ShipDate)
		case "delivered_date":
			return d.date(body, "delivered_date", &b.DeliveredDate)
		case "status":
			return d.enum(body, "status", &b.Status, shipmentStatuses...)
		case "carrier":
			return d.str(body, "carrier", &b.Carrier, true)
		case "lines":
			return d.lines("body.lines", &b.Lines)
		}
		return unknown(body, k)
	})
	if err != nil {
		return err
	}
	return b.validate()
}

func (b *Shipment) appendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	dst = kstr(dst, "number", b.Number)
	dst = kstr(dst, "order_ref", b.OrderRef)
	dst = kpartyOpt(dst, "customer", b.Customer)
	dst = kdate(dst, "ship_date", b.ShipDate)
	dst = kdateOpt(dst, "delivered_date", b.DeliveredDate)
	dst = kstr(dst, "status", b.Status)
	dst = kopt(dst, "carrier", b.Carrier)
	dst = klines(dst, "lines", b.Lines)
	return closeObj(dst)
}

func (b *PurchaseOrder) decode(d *Decoder) error {
	err := d.object(body, func(k []byte) error {
		switch string(k) {
		case "number":
			return d.str(body, "number", &b.Number, false)
		case "supplier":
			return d.party("body.supplier", &b.Supplier, true)
		case "order_date":
			return d.date(body, "order_date", &b.OrderDate)
		case "status":
			return d.enum(body, "status", &b.Status, poStatuses...)
		case "total":
			return d.money("body.total", &b.Total)
		case "lines":
			return d.lines("body.lines", &b.Lines)
		}
		return unknown(body, k)
	})
	if err != nil {
		return err
	}
	return b.validate()
}

func (b *PurchaseOrder) appendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	dst = kstr(dst, "number", b.Number)
	dst = kparty(dst, "supplier", b.Supplier)
	dst = kdate(dst, "order_date", b.OrderDate)
	dst = kstr(dst, "status", b.Status)
	dst = kmoney(dst, "total", b.Total)
	dst = klines(dst, "lines", b.Lines)
	return closeObj(dst)
}

func (b *GoodsReceipt) decode(d *Decoder) error {
	err := d.object(body, func(k []byte) error {
		switch string(k) {
		case "number":
			return d.str(body, "number", &b.Number, false)
		case "po_ref":
			return d.str(body, "po_ref", &b.PORef, false)
		case "supplier":
			return d.party("body.supplier", &b.Supplier, false)
		case "receipt_date":
			return d.date(body, "receipt_date", &b.ReceiptDate)
		case "status":
			return d.enum(body, "status", &b.Status, receiptStatuses...)
		case "lines":
			return d.lines("body.lines", &b.Lines)
		}
		return unknown(body, k)
	})
	if err != nil {
		return err
	}
	return b.validate()
}

func (b *GoodsReceipt) appendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	dst = kstr(dst, "number", b.Number)
	dst = kstr(dst, "po_ref", b.PORef)
	dst = kpartyOpt(dst, "supplier", b.Supplier)
	dst = kdate(dst, "receipt_date", b.ReceiptDate)
	dst = kstr(dst, "status", b.Status)
	dst = klines(dst, "lines", b.Lines)
	return closeObj(dst)
}

func (b *ExpenseClaim) decode(d *Decoder) error {
	err := d.object(body, func(k []byte) error {
		switch string(k) {
		case "number":
			return d.str(body, "number", &b.Number, false)
		case "employee":
			return d.party("body.employee", &b.Employee, true)
		case "department":
			return d.str(body, "department", &b.Department, true)
		case "amount":
			return d.money("body.amount", &b.Amount)
		case "claim_date":
			return d.date(body, "claim_date", &b.ClaimDate)
		case "expense_type":
			return d.str(body, "expense_type", &b.ExpenseType, true)
		case "gl_account":
			return d.str(body, "gl_account", &b.GLAccount, true)
		case "description":
			return d.str(body, "description", &b.Description, false)
		case "approval_status":
			return d.enum(body, "approval_status", &b.ApprovalStatus, approvalStatuses...)
		case "paid":
			return d.boolean(body, "paid", &b.Paid)
		case "paid_date":
			return d.date(body, "paid_date", &b.PaidDate)
		}
		return unknown(body, k)
	})
	if err != nil {
		return err
	}
	return b.validate()
}

func (b *ExpenseClaim) appendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	dst = kstr(dst, "number", b.Number)
	dst = kparty(dst, "employee", b.Employee)
	dst = kopt(dst, "department", b.Department)
	dst = kmoney(dst, "amount", b.Amount)
	dst = kdate(dst, "claim_date", b.ClaimDate)
	dst = kstr(dst, "expense_type", b.ExpenseType)
	dst = kopt(dst, "gl_account", b.GLAccount)
	dst = kopt(dst, "description", b.Description)
	dst = kstr(dst, "approval_status", b.ApprovalStatus)
	dst = kbool(dst, "paid", b.Paid)
	dst = kdateOpt(dst, "paid_date", b.PaidDate)
	return closeObj(dst)
}

func (b *Approval) decode(d *Decoder) error {
	var subject string
	err := d.object(body, func(k []byte) error {
		switch string(k) {
		case "subject_kind":
			return d.str(body, "subject_kind", &subject, true)
		case "subject_id":
			return d.str(body, "subject_id", &b.SubjectID, false)
		case "step":
			return d.uint32(body, "step", &b.Step)
		case "level":
			return d.uint32(body, "level", &b.Level)
		case "required_levels":
			return d.uint32(body, "required_levels", &b.RequiredLevels)
		case "approver":
			return d.party("body.approver", &b.Approver, true)
		case "action":
			return d.enum(body, "action", &b.Action, approvalActions...)
		case "acted_at":
			return d.timestamp(body, "acted_at", &b.ActedAt)
		case "comment":
			return d.str(body, "comment", &b.Comment, false)
		}
		return unknown(body, k)
	})
	if err != nil {
		return err
	}
	if subject != "" {
		k, ok := ParseKind(subject)
		if !ok {
			return wrongType(body, "subject_kind", "\""+subject+"\" is not a kind")
		}
		b.SubjectKind = k
	}
	return b.validate()
}

func (b *Approval) appendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	dst = kstr(dst, "subject_kind", b.SubjectKind.String())
	dst = kstr(dst, "subject_id", b.SubjectID)
	dst = kuint(dst, "step", b.Step)
	if b.Level != 0 {
		dst = kuint(dst, "level", b.Level)
	}
	if b.RequiredLevels != 0 {
		dst = kuint(dst, "required_levels", b.RequiredLevels)
	}
	dst = kparty(dst, "approver", b.Approver)
	dst = kstr(dst, "action", b.Action)
	dst = ktime(dst, "acted_at", b.ActedAt)
	dst = kopt(dst, "comment", b.Comment)
	return closeObj(dst)
}
