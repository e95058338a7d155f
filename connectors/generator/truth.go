package generator

import (
	"unicode/utf8"

	"github.com/erpflow/erpflow/pipeline/record"
)

// Truth is one line of the ground truth a matching engine is scored
// against (docs/generator.md). IDs are company/source/id.
type Truth struct {
	Type string // TruthLink or TruthException

	// A link: the bank line BankTxn settles Amount of the target. Amount is
	// at the bank line's currency; a line's links add up to its amount plus
	// its charges.
	BankTxn    string
	TargetKind string // invoice, expense_claim or payment
	TargetID   string

	// An exception: a planted anomaly about SubjectID.
	Exception string
	SubjectID string
	RelatedID string // the other party of the anomaly, if any
	Reason    string // which variant of the anomaly, if it has several

	Amount record.Money // links always; exceptions when an amount is part of it
}

// Truth line types.
const (
	TruthLink      = "link"
	TruthException = "exception"
)

// Exception types.
const (
	ExcDuplicatePayment    = "duplicate_payment"
	ExcThreeWayMismatch    = "three_way_mismatch"
	ExcApprovalBreach      = "approval_breach"
	ExcUnpaidOverdue       = "unpaid_overdue"
	ExcUnderpaidOverdue    = "underpaid_overdue"
	ExcFeeDeducted         = "fee_deducted"
	ExcUnidentifiedReceipt = "unidentified_receipt"
)

// AppendJSON appends t as one JSON object with keys in a fixed order.
func (t Truth) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"type":`...)
	dst = jsonString(dst, t.Type)
	field := func(k, v string) {
		if v != "" {
			dst = append(dst, ',', '"')
			dst = append(dst, k...)
			dst = append(dst, '"', ':')
			dst = jsonString(dst, v)
		}
	}
	if t.Type == TruthLink {
		field("bank_txn", t.BankTxn)
		field("target_kind", t.TargetKind)
		field("target_id", t.TargetID)
	} else {
		field("exception", t.Exception)
		field("subject_id", t.SubjectID)
		field("related_id", t.RelatedID)
		field("reason", t.Reason)
	}
	if !t.Amount.IsZero() {
		field("amount", t.Amount.String())
	}
	return append(dst, '}')
}

func jsonString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r < 0x20:
			dst = append(dst, `\u00`...)
			dst = append(dst, "0123456789abcdef"[r>>4], "0123456789abcdef"[r&0xf])
		case r == utf8.RuneError:
			dst = append(dst, `\ufffd`...)
		default:
			dst = utf8.AppendRune(dst, r)
		}
	}
	return append(dst, '"')
}

// closing returns the exceptions that only the end of the window decides:
// customer invoices past due with nothing, or not everything, received.
// "Past due" means the due date is on or before the window's last day.
func (s *sim) closing() []Truth {
	asOf := s.date(s.cfg.Days)
	var out []Truth
	for _, a := range s.ar {
		if a.inv.body.DueDate >= asOf {
			continue
		}
		id := s.fullID(srcERP, a.inv.id)
		switch got := a.settled(); {
		case got == 0:
			s.mix("closing_unpaid")
			out = append(out, Truth{Type: TruthException, Exception: ExcUnpaidOverdue, SubjectID: id,
				Amount: a.inv.body.Total})
		case got < a.total:
			s.mix("closing_underpaid")
			out = append(out, Truth{Type: TruthException, Exception: ExcUnderpaidOverdue, SubjectID: id,
				Amount: money(a.total-got, a.inv.body.Total.Currency)})
		}
	}
	return out
}
