package clean

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/erpflow/erpflow/pipeline/record"
)

// Sentinel errors of the value parsers. Every failure is a *ParseError that
// wraps exactly one of these, so a caller picks a dead-letter reason with
// errors.Is while the message still names the value. A blank or placeholder
// value is not among them: it parses as missing, because "no amount given" is
// data, and whether a field may be missing is the mapping's business.
//
// Where the record model already has the same refusal its sentinel is
// reused, so that a value refused here and one refused by the decoder carry
// the same reason.
var (
	ErrNotANumber       = errors.New("not an amount")
	ErrNumberLookalike  = errors.New("a character that looks like a digit but is not one")
	ErrTooPrecise       = record.ErrTooPrecise
	ErrAmountRange      = record.ErrOverflow
	ErrUnknownCurrency  = record.ErrUnknownCurrency
	ErrCurrencyConflict = errors.New("currency conflicts")
	ErrNoCurrency       = errors.New("no currency")
	ErrNotADate         = errors.New("not a date")
	ErrNotATime         = errors.New("not a date and time")
	ErrNoSuchDay        = errors.New("no such day")
	ErrAmbiguousDate    = errors.New("ambiguous date")
	ErrDateRange        = record.ErrDateRange
	ErrTimeRange        = record.ErrTimeRange
	ErrNoTimeZone       = errors.New("local time without a source time zone")
	ErrNoSuchTime       = errors.New("local time that the clock skipped or repeated")
	ErrUnknownStatus    = errors.New("unknown status")
	ErrBadOption        = errors.New("invalid parser option")
)

// ParseError is a value the cleaning parsers refused, in the manner of
// encoding/csv's ParseError: it keeps the value as the source sent it, so
// that a dead letter explains itself without the original record at hand.
type ParseError struct {
	Type   string // what was asked for: amount, date, datetime, currency, or a status field such as invoice.status
	Value  string // the value as given, before normalisation
	Reason string // detail beyond Err, e.g. "CNY has 2 decimal places"; may be empty
	Err    error  // one of the sentinels above
}

// maxQuoted bounds how much of a value an error message repeats: dead-letter
// headers are bounded, and a 1 MB "amount" is garbage whose head says enough.
const maxQuoted = 64

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.Type)
	b.WriteByte(' ')
	b.WriteString(strconv.Quote(clip(e.Value, maxQuoted)))
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	if e.Reason != "" {
		// A reason may quote the part of the value it could not read,
		// which is the value's tail: bounded too.
		b.WriteString(" (")
		b.WriteString(clip(e.Reason, 4*maxQuoted))
		b.WriteByte(')')
	}
	return b.String()
}

// clip cuts s after n characters, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for at := range s {
		if i == n {
			return s[:at] + "…"
		}
		i++
	}
	return s
}

func (e *ParseError) Unwrap() error { return e.Err }

// Missing is the canonical rendering of a blank or placeholder value.
const Missing = "MISSING"

// isBlank reports whether a normalised value says "nothing here". Sources
// write that in many ways; none of them is a value, and none is an error.
// MySQL's zero date is the date parsers' business (isZeroDate).
func isBlank(s string) bool {
	if s == "" {
		return true
	}
	if c := s[0]; c == '-' || c == 0xe2 { // the dashes are - and U+2013..2015
		dashes := true
		for _, r := range s {
			if r != '-' && r != '—' && r != '–' && r != '―' {
				dashes = false
				break
			}
		}
		if dashes {
			return true
		}
	}
	if len(s) > maxPlaceholder {
		return false // most values: longer than any placeholder
	}
	// Every placeholder starts with one of these; most values do not, and
	// this runs for every field of every record: an ASCII first byte is
	// answered without decoding a rune (searching a set of runes instead
	// cost 2 % of mapping's instructions).
	if c := s[0]; c < utf8.RuneSelf {
		if c != 'n' && c != 'N' && c != '#' && c != '/' {
			return false
		}
	} else if r, _ := utf8.DecodeRuneInString(s); r != '无' && r != '空' && r != '暂' && r != '不' {
		return false
	}
	for _, p := range placeholders {
		if strings.EqualFold(s, p) {
			return true
		}
	}
	return false
}

// maxPlaceholder is the byte length of the longest placeholder.
const maxPlaceholder = len("不适用")

var placeholders = [...]string{"n/a", "na", "#n/a", "n.a.", "null", "none", "nil", "/", "无", "空", "暂无", "不适用"}
