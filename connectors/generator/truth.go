package generator

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/erpflow/erpflow/pipeline/record"
)

// Truth is one line of the ground truth a matching engine is scored
// against (docs/generator.md). IDs are company/source/id.
type Truth struct {
	Type string // TruthLink, TruthException, or in raw mode TruthDeadLetter or TruthNearDuplicate

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

	// A dead letter (raw mode): line Line (from 1) of raw/<Source>.ndjson,
	// company Company and source id RawID, is a bad record that the
	// pipeline must refuse with the reason code Reason.
	Source  string
	Company string
	RawID   string
	Line    int

	// A near duplicate (raw mode): SubjectID repeats RelatedID under another
	// id; Kind is their kind.
	Kind string
}

// Truth line types.
const (
	TruthLink          = "link"
	TruthException     = "exception"
	TruthDeadLetter    = "dead_letter"
	TruthNearDuplicate = "near_duplicate"
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
	ExcOverpayment         = "overpayment"      // a customer paid an invoice twice (reason paid_twice)
	ExcUnbankedReceipt     = "unbanked_receipt" // the ERP booked a receipt no bank line brought
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
	switch t.Type {
	case TruthLink:
		field("bank_txn", t.BankTxn)
		field("target_kind", t.TargetKind)
		field("target_id", t.TargetID)
	case TruthDeadLetter:
		field("source", t.Source)
		field("company", t.Company)
		field("raw_id", t.RawID)
		dst = append(dst, `,"line":`...)
		dst = strconv.AppendInt(dst, int64(t.Line), 10)
		field("reason", t.Reason)
	case TruthNearDuplicate:
		field("kind", t.Kind)
		field("subject_id", t.SubjectID)
		field("related_id", t.RelatedID)
	default:
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
	if utf8.ValidString(s) && !strings.ContainsRune(s, utf8.RuneError) {
		// Bytes at or above 0x80 are parts of valid runes and go through
		// as they are; only quotes, backslashes and controls are escaped.
		// (U+FFFD takes the loop below, which writes it escaped.)
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c < 0x20:
				dst = append(dst, `\u00`...)
				dst = append(dst, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			default:
				dst = append(dst, c)
			}
		}
		return append(dst, '"')
	}
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
