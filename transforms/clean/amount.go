package clean

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/erpflow/erpflow/pipeline/record"
)

// Decimal says which character a source uses for the decimal separator. It
// is configuration, never guessed from the value: "1.234" is 1.234 to one
// source and 1234 to another.
type Decimal uint8

const (
	DecimalPoint Decimal = iota // 1,234.50; groups by , space or '
	DecimalComma                // 1.234,50; groups by . space or '
)

// ParseDecimal reads "point" or "comma", the CLI and configuration spelling.
func ParseDecimal(s string) (Decimal, error) {
	switch s {
	case "point", ".":
		return DecimalPoint, nil
	case "comma", ",":
		return DecimalComma, nil
	}
	return 0, &ParseError{Type: "decimal separator", Value: s, Reason: "want point or comma", Err: ErrBadOption}
}

// AmountOptions is a source's configuration for its amounts.
type AmountOptions struct {
	Decimal Decimal
	// DefaultCurrency applies when the value names no currency.
	DefaultCurrency record.Currency
	// Currency, when set, is the currency of every amount: a value that
	// names another one is refused.
	Currency record.Currency
	// YenSign is what a bare ¥ or ￥ means. Unset, it is the forced or
	// default currency when that is CNY or JPY, else CNY.
	YenSign record.Currency
}

// Validate checks that every currency set is one erpflow knows. ParseAmount
// trusts its options, which are checked once, when a source is configured.
func (o AmountOptions) Validate() error {
	if o.Decimal > DecimalComma {
		return &ParseError{Type: "decimal separator", Value: strconv.Itoa(int(o.Decimal)), Err: ErrBadOption}
	}
	for _, c := range [...]record.Currency{o.DefaultCurrency, o.Currency, o.YenSign} {
		if !c.IsZero() && !isKnown(c) {
			return &ParseError{Type: "currency option", Value: string(c[:]), Err: ErrUnknownCurrency}
		}
	}
	return nil
}

// Amount is a parsed amount: an exact Money, or Missing when the source left
// the field blank or wrote a placeholder.
type Amount struct {
	Money   record.Money
	Missing bool
}

// Format renders the canonical form: the amount at exactly the currency's
// scale ("1234.50", "-20000.00", "1500" for JPY), or MISSING.
func (a Amount) Format() string { return string(a.AppendFormat(nil)) }

// AppendFormat appends Format's text to dst.
func (a Amount) AppendFormat(dst []byte) []byte {
	if a.Missing {
		return append(dst, Missing...)
	}
	return a.Money.AppendAmount(dst)
}

// String is Format with the currency: "1234.50 CNY".
func (a Amount) String() string {
	if a.Missing {
		return Missing
	}
	return a.Money.String() + " " + a.Money.Currency.String()
}

// ParseAmount reads an amount as finance sources write it: grouped digits
// in the source's locale (1,234.50 or 1.234,50), a currency sign or code
// before or after (¥ ￥ $ € RMB CNY USD 人民币 美元 元 …), negatives as -1, 1-
// or (1), the multipliers 万 and 亿 (1.2万 is 12000), full-width forms, and
// the Chinese financial numerals of invoices and claim forms
// (壹仟贰佰叁拾肆元伍角整, 人民币贰万元整, also 一千二百). A blank or a
// placeholder (-, —, N/A, 无) is Missing, not an error.
//
// The currency is the forced one, else the one the value names, else the
// default; a value naming another currency than the forced one is refused.
// The result is exact: a value with more fractional digits than its
// currency has is refused (ErrTooPrecise), even if they are zeros, and so is
// an amount of MaxMajor or more (ErrAmountRange).
func ParseAmount(s string, opt AmountOptions) (Amount, error) {
	return parseAmountText(Normalize(s), s, opt)
}

// ParseAmountNormalized is ParseAmount for text Normalize returned already:
// mapping normalises each value once for every use it has of it, and the
// parsers normalising it again cost 2 % of its instructions.
func ParseAmountNormalized(n string, opt AmountOptions) (Amount, error) {
	return parseAmountText(n, n, opt)
}

// parseAmountText parses n, the normal form of s (which errors quote).
func parseAmountText(n, s string, opt AmountOptions) (Amount, error) {
	if isBlank(n) {
		return Amount{Missing: true}, nil
	}
	if r, ok := NumberLookalike(s); ok {
		return Amount{}, &ParseError{Type: "amount", Value: s, Reason: fmt.Sprintf("%q", r), Err: ErrNumberLookalike}
	}
	m, reason, err := parseAmount(n, &opt)
	if err != nil {
		return Amount{}, &ParseError{Type: "amount", Value: s, Reason: reason, Err: err}
	}
	return Amount{Money: m}, nil
}

// amountParts collects what the value says besides its digits.
type amountParts struct {
	signs, opens, closes int
	neg                  bool
	curs                 [2]alias
	ncur                 int
	shift                int // decimal exponent of 万, 亿 …
}

func parseAmount(s string, opt *AmountOptions) (record.Money, string, error) {
	var p amountParts
	i := 0
prefix:
	for i < len(s) {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			break prefix
		case c == ' ':
			i++
		case c == '-' || c == '+':
			p.signs++
			p.neg = c == '-'
			i++
		case c == '(':
			p.opens++
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == '−' || r == '负':
				p.signs++
				p.neg = true
				i += size
				continue
			case cnDigit(r) >= 0 || cnUnit(r) > 0:
				break prefix
			}
			tok := currencyRun(s[i:])
			if reason, err := p.addCurrency(tok); err != nil {
				if !hasDigit(s[i:]) {
					return record.Money{}, "no digits", ErrNotANumber
				}
				return record.Money{}, reason, err
			}
			i += len(tok)
		}
	}
	if i == len(s) {
		return record.Money{}, "no digits", ErrNotANumber
	}

	var (
		frac    int
		v       int64
		over    bool
		reason  string
		err     error
		capital cnAmount
	)
	isCapital := s[i] < '0' || s[i] > '9'
	if isCapital {
		capital, i, reason, err = parseCNAmount(s, i)
	} else {
		v, frac, over, i, reason, err = scanNumber(s, i, opt.Decimal)
	}
	if err != nil {
		return record.Money{}, reason, err
	}
	if reason, err := p.suffix(s[i:], !isCapital); err != nil {
		return record.Money{}, reason, err
	}
	if p.signs > 1 || p.opens > 1 || p.opens != p.closes || (p.opens == 1 && p.signs > 0) {
		return record.Money{}, "more than one sign or unbalanced parentheses", ErrNotANumber
	}
	neg := p.neg || p.opens == 1

	c, reason, err := p.currency(opt, isCapital && capital.unit)
	if err != nil {
		return record.Money{}, reason, err
	}
	scale := int(c.Scale())
	limit := record.MaxMajor * pow10[scale]
	var minor int64
	if isCapital {
		if (capital.fen != 0 && scale < 2) || (capital.jiao != 0 && scale < 1) {
			return record.Money{}, c.String() + " has " + strconv.Itoa(scale) + " decimal places", ErrTooPrecise
		}
		if capital.int >= record.MaxMajor {
			return record.Money{}, tooBig, ErrAmountRange
		}
		minor = capital.int * pow10[scale]
		if scale >= 1 {
			minor += int64(capital.jiao) * pow10[scale-1]
		}
		if scale >= 2 {
			minor += int64(capital.fen) * pow10[scale-2]
		}
	} else {
		exp := scale + p.shift - frac
		if exp < 0 {
			return record.Money{}, strconv.Itoa(frac-p.shift) + " decimal places, " + c.String() + " has " + strconv.Itoa(scale), ErrTooPrecise
		}
		if over || exp >= len(pow10) || v > (limit-1)/pow10[exp] {
			return record.Money{}, tooBig, ErrAmountRange
		}
		minor = v * pow10[exp]
	}
	if minor >= limit {
		return record.Money{}, tooBig, ErrAmountRange
	}
	if neg {
		minor = -minor
	}
	return record.Money{Minor: minor, Currency: c}, "", nil
}

// suffix reads what follows the digits: a multiplier (only after Arabic
// digits), a currency, 整, a closing parenthesis, a trailing minus.
func (p *amountParts) suffix(s string, arabic bool) (string, error) {
	i := 0
	sawMult, sawCur := false, false
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ':
			i++
		case c == ')':
			p.closes++
			i++
		case c == '-' || c == '+':
			p.signs++
			p.neg = c == '-'
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == '−':
				p.signs++
				p.neg = true
				i += size
			case r == '整' || r == '正':
				i += size
			case arabic && !sawMult && !sawCur && cnMultiplier(r) > 0:
				shift, n, ok := multiplier(s[i:])
				if !ok {
					return "misplaced " + quote(s[i:i+n]), ErrNotANumber
				}
				p.shift, sawMult = shift, true
				i += n
			default:
				tok := currencyRun(s[i:])
				if reason, err := p.addCurrency(tok); err != nil {
					return reason, err
				}
				i += len(tok)
				sawCur = true
			}
		}
	}
	return "", nil
}

func quote(s string) string { return strconv.Quote(s) }

// tooBig explains ErrAmountRange: the Decimal(18,4) columns hold 14 integer
// digits.
const tooBig = "more than 14 digits before the decimal point"
