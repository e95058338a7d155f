package mapping

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/erpflow/erpflow/pipeline/record"
	"github.com/erpflow/erpflow/transforms/clean"
)

// The value parsers are transforms/clean's; this file adapts them to the
// canonical field types.

func normalize(s string) string { return clean.Normalize(s) }

// isBlank takes a normalised value.
func isBlank(n string) bool { return clean.IsBlankNormalized(n) }

func parseCurrency(s string) (record.Currency, error) { return clean.ParseCurrency(s) }

// parseMoney reads an amount with the field's options; cur, when set, is
// the currency another source field named. val is normalised already
// unless it is a word of the mapping's (mapped).
func parseMoney(val string, mapped bool, f *fieldPlan, cur record.Currency) (record.Money, bool, error) {
	o := f.opts.amount
	if !cur.IsZero() {
		o.Currency = cur
	}
	parse := clean.ParseAmountNormalized
	if mapped {
		parse = clean.ParseAmount
	}
	a, err := parse(val, o)
	if err != nil {
		return record.Money{}, false, err
	}
	return a.Money, a.Missing, nil
}

// statusFields are the enumerated canonical fields with a built-in
// vocabulary of source words in clean.
var statusFields = map[record.Kind]map[string]clean.StatusField{
	record.KindInvoice:       {"status": clean.InvoiceStatus},
	record.KindPayment:       {"status": clean.PaymentStatus, "method": clean.PaymentMethod},
	record.KindSalesOrder:    {"status": clean.SalesOrderStatus},
	record.KindShipment:      {"status": clean.ShipmentStatus},
	record.KindPurchaseOrder: {"status": clean.PurchaseOrderStatus},
	record.KindGoodsReceipt:  {"status": clean.GoodsReceiptStatus},
	record.KindExpenseClaim:  {"approval_status": clean.ExpenseApprovalStatus, "paid": clean.ExpensePaid},
	record.KindApproval:      {"action": clean.ApprovalAction},
}

// Grouping characters dropped from quantities and prices, by locale.
var (
	ungroupPoint = strings.NewReplacer(",", "")
	ungroupComma = strings.NewReplacer(".", "", ",", ".")
)

// numberShape reports whether s is a number as a source writes it: an
// optional sign, then ASCII digits either plain or grouped in threes by
// group after one to three leading ones, the first not 0 (0,125 is a
// decimal comma of another locale, a thousand times off as thousands),
// then optionally point and one or more digits. It is the regular
// expression ^[-+]?(\d+|[1-9]\d{0,2}(G\d{3})+)(P\d+)?$ written out, which
// took a tenth of mapping's time for line items (the fuzz test holds the
// two equal).
func numberShape(s string, group, point byte) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	lead := digits(s, i)
	if lead == 0 {
		return false
	}
	i += lead
	if i < len(s) && s[i] == group {
		if lead > 3 || s[i-lead] == '0' {
			return false
		}
		for i < len(s) && s[i] == group {
			n := digits(s, i+1)
			if n != 3 {
				return false
			}
			i += 1 + n
		}
	}
	if i < len(s) && s[i] == point {
		n := digits(s, i+1)
		if n == 0 {
			return false
		}
		i += 1 + n
	}
	return i == len(s)
}

// digits counts the ASCII digits of s from i on.
func digits(s string, i int) int {
	n := 0
	for i+n < len(s) && s[i+n] >= '0' && s[i+n] <= '9' {
		n++
	}
	return n
}

// parseAs reads a normalised value as the field's type. mapped says a
// value map, lookup or sign already gave a canonical word, which skips the
// vocabulary (and is normalised by the date and amount parsers, being the
// mapping's text as written). owned says raw is no view of the record's bytes (the
// mapping's own text, or the Mapper's copy), so a text field keeps it as
// it is; other texts are copied through kept.
func parseAs(f *fieldPlan, raw string, mapped, owned bool, kept *record.Interned, out *value) error {
	switch f.typ {
	case tString:
		switch {
		case mapped:
			out.s = raw // a word of the mapping's, not of the record
		case f.vocab != nil:
			w, err := f.vocab.Parse(raw)
			if err != nil {
				return err
			}
			out.s = w
		case owned:
			out.s = raw
		default:
			// Normalised by the caller; copied, since it may view the
			// JSON parser's buffer, which the next record reuses.
			out.s = kept.Keep(raw)
		}
	case tDate:
		parse := clean.ParseDateNormalized
		if mapped {
			parse = clean.ParseDate
		}
		d, err := parse(raw, f.opts.date)
		if err != nil {
			return err
		}
		out.d = d.Date
	case tDateTime:
		parse := clean.ParseDateTimeNormalized
		if mapped {
			parse = clean.ParseDateTime
		}
		t, err := parse(raw, f.opts.date)
		if err != nil {
			return err
		}
		if t.Missing {
			return fmt.Errorf("%q is blank", raw)
		}
		out.t, out.dateOnly = t.Time, t.DateOnly
	case tBool:
		w := raw
		if f.vocab != nil && !mapped {
			var err error
			if w, err = f.vocab.Parse(w); err != nil {
				return err
			}
		}
		b, err := strconv.ParseBool(w)
		if err != nil {
			return fmt.Errorf("%q is not true or false", raw)
		}
		out.b = b
	case tUint:
		u, err := strconv.ParseUint(raw, 10, 32)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", raw)
		}
		out.u = uint32(u)
	case tVersion:
		v, err := strconv.ParseUint(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", raw)
		}
		if f.epoch != 0 {
			if v > epochMax/f.epoch || v*f.epoch < epochMin || v*f.epoch >= epochMax {
				unit := map[uint64]string{1: "milliseconds", 1000: "seconds"}[f.epoch]
				return fmt.Errorf("%q is not a Unix time in %s from 2000 to 2100", raw, unit)
			}
			v *= f.epoch // versions are milliseconds, like those read from event times
		}
		out.v = v
	case tFixed:
		group, point, ungroup := byte(','), byte('.'), ungroupPoint
		if f.opts.amount.Decimal == clean.DecimalComma {
			group, point, ungroup = '.', ',', ungroupComma
		}
		// Grouping must sit where thousands do: "1,5" in a point-decimal
		// source is a typo or the wrong locale, not 15.
		if !numberShape(raw, group, point) {
			return fmt.Errorf("%q is not a number in this source's format (decimal %s, groups of three)", raw, decimalName(f.opts.amount.Decimal))
		}
		n := ungroup.Replace(raw)
		x, err := record.ParseFixed(n)
		if err != nil {
			return fmt.Errorf("%q: %w", raw, err)
		}
		out.f = x
	case tStrings:
		out.ss = strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '、' })
		for i, s := range out.ss {
			out.ss[i] = strings.Clone(s)
		}
	case tKind:
		k, ok := record.ParseKind(raw)
		if !ok {
			return fmt.Errorf("%q is not a kind", raw)
		}
		out.k = k
	default:
		return fmt.Errorf("no parser for %s", f.typ)
	}
	return nil
}

// The Unix times in milliseconds a version given as one may take:
// 2000-01-01 to 2100-01-01. A value in seconds is a thousand times smaller
// and falls well outside.
const (
	epochMin = 946684800000
	epochMax = 4102444800000
)

func decimalName(d clean.Decimal) string {
	if d == clean.DecimalComma {
		return "comma"
	}
	return "point"
}
