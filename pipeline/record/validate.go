package record

import "strings"

// The canonical rules, apart from JSON syntax: required fields, allowed
// values, one currency per document. The decoder applies them after reading
// a body, and Validate applies them to records built any other way (the
// mapping stage), so both paths refuse the same records for the same reason.

// Validate checks r against the canonical model, filling the defaults the
// model defines (a bank line's value date is its booking date unless given).
// Errors are *DecodeError, with the same reason codes as decoding.
func Validate(r *Record) error {
	switch {
	case !r.Kind.Valid():
		return &DecodeError{Reason: ReasonUnknownKind, Detail: "kind is not set"}
	case r.Company == "":
		return missing("", "company")
	case r.Source == "":
		return missing("", "source")
	case r.ID == "":
		return missing("", "id")
	case r.EventTime.IsZero():
		return missing("", "event_time")
	case r.EventTime.Before(MinTime) || r.EventTime.After(MaxTime):
		return wrongType("", "event_time", ErrTimeRange.Error())
	case r.Body == nil || r.Body.Kind() != r.Kind:
		return missing("", "body")
	}
	return r.Body.validate()
}

// oneOf refuses a set value outside allowed; an empty value is left to
// the required checks.
func oneOf(name, v string, allowed []string) error {
	if v == "" {
		return nil
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return wrongType(body, name, "\""+v+"\" is not one of "+strings.Join(allowed, ", "))
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (b *Invoice) validate() error {
	return firstErr(
		required(body, "number", b.Number != "", "direction", b.Direction != "",
			"party.id", b.Party.ID != "", "issue_date", b.IssueDate != NoDate,
			"due_date", b.DueDate != NoDate, "total", !b.Total.Currency.IsZero(), "status", b.Status != ""),
		oneOf("direction", b.Direction, []string{"AR", "AP"}),
		oneOf("status", b.Status, invoiceStatuses),
		sameCurrency("tax", b.Tax, b.Total.Currency),
		linesCurrency(b.Lines, b.Total.Currency))
}

func (b *Payment) validate() error {
	return firstErr(
		required(body, "number", b.Number != "", "direction", b.Direction != "",
			"party.id", b.Party.ID != "", "amount", !b.Amount.Currency.IsZero(), "method", b.Method != "",
			"value_date", b.ValueDate != NoDate, "status", b.Status != ""),
		oneOf("direction", b.Direction, []string{"in", "out"}),
		oneOf("method", b.Method, paymentMethods),
		oneOf("status", b.Status, paymentStatuses))
}

func (b *BankTxn) validate() error {
	err := firstErr(
		required(body, "account", b.Account != "", "booking_date", b.BookingDate != NoDate,
			"direction", b.Direction != "", "amount", !b.Amount.Currency.IsZero()),
		oneOf("direction", b.Direction, []string{"credit", "debit"}),
		sameCurrency("charges", b.Charges, b.Amount.Currency))
	if err != nil {
		return err
	}
	if b.Amount.Minor < 0 {
		return wrongType(body, "amount", "a statement amount is positive; direction gives the sign")
	}
	if b.ValueDate == NoDate {
		b.ValueDate = b.BookingDate
	}
	return nil
}

func (b *SalesOrder) validate() error {
	return firstErr(
		required(body, "number", b.Number != "", "customer.id", b.Customer.ID != "",
			"order_date", b.OrderDate != NoDate, "status", b.Status != "", "total", !b.Total.Currency.IsZero()),
		oneOf("status", b.Status, orderStatuses),
		linesCurrency(b.Lines, b.Total.Currency))
}

func (b *Shipment) validate() error {
	return firstErr(
		required(body, "number", b.Number != "", "order_ref", b.OrderRef != "",
			"ship_date", b.ShipDate != NoDate, "status", b.Status != ""),
		oneOf("status", b.Status, shipmentStatuses))
}

func (b *PurchaseOrder) validate() error {
	return firstErr(
		required(body, "number", b.Number != "", "supplier.id", b.Supplier.ID != "",
			"order_date", b.OrderDate != NoDate, "status", b.Status != "", "total", !b.Total.Currency.IsZero()),
		oneOf("status", b.Status, poStatuses),
		linesCurrency(b.Lines, b.Total.Currency))
}

func (b *GoodsReceipt) validate() error {
	return firstErr(
		required(body, "number", b.Number != "", "po_ref", b.PORef != "",
			"receipt_date", b.ReceiptDate != NoDate, "status", b.Status != ""),
		oneOf("status", b.Status, receiptStatuses))
}

func (b *ExpenseClaim) validate() error {
	return firstErr(
		required(body, "number", b.Number != "", "employee.id", b.Employee.ID != "",
			"amount", !b.Amount.Currency.IsZero(), "claim_date", b.ClaimDate != NoDate,
			"expense_type", b.ExpenseType != "", "approval_status", b.ApprovalStatus != ""),
		oneOf("approval_status", b.ApprovalStatus, approvalStatuses))
}

func (b *Approval) validate() error {
	return firstErr(
		required(body, "subject_kind", b.SubjectKind != 0, "subject_id", b.SubjectID != "",
			"step", b.Step != 0, "approver.id", b.Approver.ID != "", "action", b.Action != "",
			"acted_at", !b.ActedAt.IsZero()),
		oneOf("action", b.Action, approvalActions))
}
