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

// check is one required field: its dotted name under body and whether a
// body has it.
type check struct {
	name    string
	present func(Body) bool
}

// requiredChecks lists each kind's required body fields, in the order
// their absence is reported. Arrays by kind, as allowedValues: every
// decoded record looks both up, and a map's hashing showed in profiles.
var requiredChecks = [KindApproval + 1][]check{
	KindInvoice: {
		{"number", func(b Body) bool { return b.(*Invoice).Number != "" }},
		{"direction", func(b Body) bool { return b.(*Invoice).Direction != "" }},
		{"party.id", func(b Body) bool { return b.(*Invoice).Party.ID != "" }},
		{"issue_date", func(b Body) bool { return b.(*Invoice).IssueDate != NoDate }},
		{"due_date", func(b Body) bool { return b.(*Invoice).DueDate != NoDate }},
		{"total", func(b Body) bool { return !b.(*Invoice).Total.Currency.IsZero() }},
		{"status", func(b Body) bool { return b.(*Invoice).Status != "" }},
	},
	KindPayment: {
		{"number", func(b Body) bool { return b.(*Payment).Number != "" }},
		{"direction", func(b Body) bool { return b.(*Payment).Direction != "" }},
		{"party.id", func(b Body) bool { return b.(*Payment).Party.ID != "" }},
		{"amount", func(b Body) bool { return !b.(*Payment).Amount.Currency.IsZero() }},
		{"method", func(b Body) bool { return b.(*Payment).Method != "" }},
		{"value_date", func(b Body) bool { return b.(*Payment).ValueDate != NoDate }},
		{"status", func(b Body) bool { return b.(*Payment).Status != "" }},
	},
	KindBankTxn: {
		{"account", func(b Body) bool { return b.(*BankTxn).Account != "" }},
		{"booking_date", func(b Body) bool { return b.(*BankTxn).BookingDate != NoDate }},
		{"direction", func(b Body) bool { return b.(*BankTxn).Direction != "" }},
		{"amount", func(b Body) bool { return !b.(*BankTxn).Amount.Currency.IsZero() }},
	},
	KindSalesOrder: {
		{"number", func(b Body) bool { return b.(*SalesOrder).Number != "" }},
		{"customer.id", func(b Body) bool { return b.(*SalesOrder).Customer.ID != "" }},
		{"order_date", func(b Body) bool { return b.(*SalesOrder).OrderDate != NoDate }},
		{"status", func(b Body) bool { return b.(*SalesOrder).Status != "" }},
		{"total", func(b Body) bool { return !b.(*SalesOrder).Total.Currency.IsZero() }},
	},
	KindShipment: {
		{"number", func(b Body) bool { return b.(*Shipment).Number != "" }},
		{"order_ref", func(b Body) bool { return b.(*Shipment).OrderRef != "" }},
		{"ship_date", func(b Body) bool { return b.(*Shipment).ShipDate != NoDate }},
		{"status", func(b Body) bool { return b.(*Shipment).Status != "" }},
	},
	KindPurchaseOrder: {
		{"number", func(b Body) bool { return b.(*PurchaseOrder).Number != "" }},
		{"supplier.id", func(b Body) bool { return b.(*PurchaseOrder).Supplier.ID != "" }},
		{"order_date", func(b Body) bool { return b.(*PurchaseOrder).OrderDate != NoDate }},
		{"status", func(b Body) bool { return b.(*PurchaseOrder).Status != "" }},
		{"total", func(b Body) bool { return !b.(*PurchaseOrder).Total.Currency.IsZero() }},
	},
	KindGoodsReceipt: {
		{"number", func(b Body) bool { return b.(*GoodsReceipt).Number != "" }},
		{"po_ref", func(b Body) bool { return b.(*GoodsReceipt).PORef != "" }},
		{"receipt_date", func(b Body) bool { return b.(*GoodsReceipt).ReceiptDate != NoDate }},
		{"status", func(b Body) bool { return b.(*GoodsReceipt).Status != "" }},
	},
	KindExpenseClaim: {
		{"number", func(b Body) bool { return b.(*ExpenseClaim).Number != "" }},
		{"employee.id", func(b Body) bool { return b.(*ExpenseClaim).Employee.ID != "" }},
		{"amount", func(b Body) bool { return !b.(*ExpenseClaim).Amount.Currency.IsZero() }},
		{"claim_date", func(b Body) bool { return b.(*ExpenseClaim).ClaimDate != NoDate }},
		{"expense_type", func(b Body) bool { return b.(*ExpenseClaim).ExpenseType != "" }},
		{"approval_status", func(b Body) bool { return b.(*ExpenseClaim).ApprovalStatus != "" }},
	},
	KindApproval: {
		{"subject_kind", func(b Body) bool { return b.(*Approval).SubjectKind != 0 }},
		{"subject_id", func(b Body) bool { return b.(*Approval).SubjectID != "" }},
		{"step", func(b Body) bool { return b.(*Approval).Step != 0 }},
		{"approver.id", func(b Body) bool { return b.(*Approval).Approver.ID != "" }},
		{"action", func(b Body) bool { return b.(*Approval).Action != "" }},
		{"acted_at", func(b Body) bool { return !b.(*Approval).ActedAt.IsZero() }},
	},
}

// allowedValues lists the enumerated body fields of each kind, in the
// order their errors are reported (a slice: replays must report the same
// reason for the same record).
var allowedValues = [KindApproval + 1][]enumField{
	KindInvoice:       {{"direction", []string{"AR", "AP"}}, {"status", invoiceStatuses}},
	KindPayment:       {{"direction", []string{"in", "out"}}, {"method", paymentMethods}, {"status", paymentStatuses}},
	KindBankTxn:       {{"direction", []string{"credit", "debit"}}},
	KindSalesOrder:    {{"status", orderStatuses}},
	KindShipment:      {{"status", shipmentStatuses}},
	KindPurchaseOrder: {{"status", poStatuses}},
	KindGoodsReceipt:  {{"status", receiptStatuses}},
	KindExpenseClaim:  {{"approval_status", approvalStatuses}},
	KindApproval:      {{"action", approvalActions}},
}

type enumField struct {
	name    string
	allowed []string
}

// RequiredFields returns the body fields kind k requires, dotted
// ("party.id"), in the order Validate reports them.
func RequiredFields(k Kind) []string {
	if !k.Valid() {
		return nil
	}
	out := make([]string, len(requiredChecks[k]))
	for i, c := range requiredChecks[k] {
		out[i] = c.name
	}
	return out
}

// AllowedValues returns the values an enumerated body field of kind k may
// take, or nil when the field is free text.
func AllowedValues(k Kind, field string) []string {
	if !k.Valid() {
		return nil
	}
	for _, e := range allowedValues[k] {
		if e.name == field {
			return e.allowed
		}
	}
	return nil
}

// checkBody applies the required and allowed-value rules of b's kind.
func checkBody(b Body, enums func(field string) string) error {
	for _, c := range requiredChecks[b.Kind()] {
		if !c.present(b) {
			return missing(body, c.name)
		}
	}
	for _, e := range allowedValues[b.Kind()] {
		if err := oneOf(e.name, enums(e.name), e.allowed); err != nil {
			return err
		}
	}
	return nil
}

func (b *Invoice) validate() error {
	return firstErr(
		checkBody(b, func(f string) string {
			if f == "direction" {
				return b.Direction
			}
			return b.Status
		}),
		sameCurrency("tax", b.Tax, b.Total.Currency),
		linesCurrency(b.Lines, b.Total.Currency))
}

func (b *Payment) validate() error {
	return checkBody(b, func(f string) string {
		switch f {
		case "direction":
			return b.Direction
		case "method":
			return b.Method
		}
		return b.Status
	})
}

func (b *BankTxn) validate() error {
	err := firstErr(
		checkBody(b, func(string) string { return b.Direction }),
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
	return firstErr(checkBody(b, func(string) string { return b.Status }), linesCurrency(b.Lines, b.Total.Currency))
}

func (b *Shipment) validate() error { return checkBody(b, func(string) string { return b.Status }) }

func (b *PurchaseOrder) validate() error {
	return firstErr(checkBody(b, func(string) string { return b.Status }), linesCurrency(b.Lines, b.Total.Currency))
}

func (b *GoodsReceipt) validate() error { return checkBody(b, func(string) string { return b.Status }) }

func (b *ExpenseClaim) validate() error {
	return checkBody(b, func(string) string { return b.ApprovalStatus })
}

func (b *Approval) validate() error { return checkBody(b, func(string) string { return b.Action }) }
