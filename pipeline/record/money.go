package record

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Currency is an ISO 4217 alphabetic code. The zero value means "not set".
type Currency [3]byte

// minorUnits lists the currencies erpflow accepts with their number of
// decimal places. A code outside this table is refused rather than assumed to
// have two decimals: guessing a scale would silently shift amounts by 10x.
var minorUnits = map[Currency]uint8{
	{'C', 'N', 'Y'}: 2, {'U', 'S', 'D'}: 2, {'E', 'U', 'R'}: 2, {'G', 'B', 'P'}: 2,
	{'H', 'K', 'D'}: 2, {'J', 'P', 'Y'}: 0, {'K', 'R', 'W'}: 0, {'S', 'G', 'D'}: 2,
	{'T', 'W', 'D'}: 2, {'A', 'U', 'D'}: 2, {'C', 'A', 'D'}: 2, {'C', 'H', 'F'}: 2,
	{'M', 'O', 'P'}: 2, {'T', 'H', 'B'}: 2, {'M', 'Y', 'R'}: 2, {'V', 'N', 'D'}: 0,
	{'I', 'N', 'R'}: 2, {'R', 'U', 'B'}: 2, {'B', 'H', 'D'}: 3, {'K', 'W', 'D'}: 3,
	{'A', 'E', 'D'}: 2, {'S', 'E', 'K'}: 2, {'N', 'O', 'K'}: 2, {'D', 'K', 'K'}: 2,
	{'N', 'Z', 'D'}: 2, {'P', 'H', 'P'}: 2, {'I', 'D', 'R'}: 2, {'M', 'X', 'N'}: 2,
	{'B', 'R', 'L'}: 2, {'Z', 'A', 'R'}: 2,
}

// scales is minorUnits by code (see index), each scale plus one so that
// zero means unknown: Scale is asked for every amount decoded and
// written, and a table beats hashing the code each time.
var scales = func() (t [26 * 26 * 26]uint8) {
	for c, n := range minorUnits {
		i, _ := c.index()
		t[i] = n + 1
	}
	return t
}()

// index numbers a code of three upper-case letters from 0 to 26³-1.
func (c Currency) index() (int, bool) {
	i := 0
	for _, b := range c {
		if b < 'A' || b > 'Z' {
			return 0, false
		}
		i = i*26 + int(b-'A')
	}
	return i, true
}

func (c Currency) known() bool {
	i, ok := c.index()
	return ok && scales[i] != 0
}

// ParseCurrency accepts an upper-case ISO 4217 code that erpflow knows.
func ParseCurrency(s string) (Currency, error) {
	var c Currency
	if len(s) != 3 {
		return c, fmt.Errorf("currency %q: %w", s, ErrUnknownCurrency)
	}
	copy(c[:], s)
	if !c.known() {
		return Currency{}, fmt.Errorf("currency %q: %w", s, ErrUnknownCurrency)
	}
	return c, nil
}

// MustCurrency is for constants in code and tests.
func MustCurrency(s string) Currency {
	c, err := ParseCurrency(s)
	if err != nil {
		panic(err)
	}
	return c
}

// names holds the codes of minorUnits as strings, by index plus one, so
// that String does not allocate: the sink asks for the code of every
// amount it writes.
var names, nameOf = func() ([]string, [26 * 26 * 26]uint16) {
	var at [26 * 26 * 26]uint16
	list := []string{""}
	for c := range minorUnits {
		i, _ := c.index()
		list = append(list, string(c[:]))
		at[i] = uint16(len(list) - 1)
	}
	return list, at
}()

func (c Currency) String() string {
	if i, ok := c.index(); ok && nameOf[i] != 0 {
		return names[nameOf[i]]
	}
	return string(c[:])
}

// IsZero reports whether no currency is set.
func (c Currency) IsZero() bool { return c == Currency{} }

// Scale is the number of decimal places of the currency's minor unit.
// An unknown code (only the zero Currency gets here) has scale 0.
func (c Currency) Scale() uint8 {
	if i, ok := c.index(); ok && scales[i] != 0 {
		return scales[i] - 1
	}
	return 0
}

// Money is an exact amount: an integer count of the currency's minor units
// (fen for CNY, cents for USD, yen for JPY). Floats never hold money.
type Money struct {
	Minor    int64
	Currency Currency
}

// IsZero reports whether the money value is entirely unset.
func (m Money) IsZero() bool { return m.Minor == 0 && m.Currency.IsZero() }

// String renders the amount at exactly the currency's scale, e.g. "1234.50".
func (m Money) String() string { return string(m.AppendAmount(nil)) }

// AppendAmount appends the amount as a decimal string at the currency's scale.
func (m Money) AppendAmount(dst []byte) []byte {
	return appendScaled(dst, m.Minor, m.Currency.Scale())
}

// Add returns m+o; the currencies must agree.
func (m Money) Add(o Money) (Money, error) {
	if m.Currency != o.Currency {
		return Money{}, fmt.Errorf("add %s to %s: %w", o.Currency, m.Currency, ErrCurrencyMismatch)
	}
	s := m.Minor + o.Minor
	if (s > m.Minor) != (o.Minor > 0) {
		return Money{}, ErrOverflow
	}
	return Money{Minor: s, Currency: m.Currency}, nil
}

// MaxMajor bounds amounts (exclusive) in major units: the ClickHouse columns
// are Decimal(18,4), which hold 14 integer digits. Refusing larger values at
// the door keeps a single absurd record from failing a whole insert.
const MaxMajor = 100_000_000_000_000

// ParseMoney parses a plain decimal string ("-1234.5", "0.01") into minor
// units of cur. More fractional digits than the currency has is an error,
// never a rounding.
func ParseMoney(amount string, cur Currency) (Money, error) {
	if cur.IsZero() {
		return Money{}, ErrUnknownCurrency
	}
	v, err := parseScaled(amount, cur.Scale())
	if err != nil {
		return Money{}, err
	}
	if lim := MaxMajor * pow10[cur.Scale()]; v >= lim || v <= -lim {
		return Money{}, fmt.Errorf("%q: %w", strings.Clone(amount), ErrOverflow)
	}
	return Money{Minor: v, Currency: cur}, nil
}

// Fixed is a decimal with four fractional digits, for quantities and unit
// prices, which legitimately carry more precision than a currency's minor unit.
type Fixed int64

// FixedScale is the number of fractional digits a Fixed carries.
const FixedScale = 4

// ParseFixed parses a plain decimal string with at most four fractional
// digits and, like money, at most 14 integer digits.
func ParseFixed(s string) (Fixed, error) {
	v, err := parseScaled(s, FixedScale)
	if err != nil {
		return 0, err
	}
	if lim := MaxMajor * pow10[FixedScale]; v >= lim || v <= -lim {
		return 0, fmt.Errorf("%q: %w", strings.Clone(s), ErrOverflow)
	}
	return Fixed(v), nil
}

// String renders the value with trailing fractional zeros trimmed ("2", "1.5").
func (f Fixed) String() string { return string(f.Append(nil)) }

// Append appends the trimmed decimal form of f.
func (f Fixed) Append(dst []byte) []byte {
	start := len(dst)
	dst = appendScaled(dst, int64(f), FixedScale)
	// Trim "1.5000" to "1.5" and "2.0000" to "2".
	end := len(dst)
	for end > start && dst[end-1] == '0' {
		end--
	}
	if end > start && dst[end-1] == '.' {
		end--
	}
	return dst[:end]
}

var pow10 = [...]int64{1, 10, 100, 1000, 10000, 100000, 1000000}

// appendScaled writes v/10^scale as a decimal with exactly scale digits.
func appendScaled(dst []byte, v int64, scale uint8) []byte {
	if v < 0 {
		dst = append(dst, '-')
		if v == math.MinInt64 {
			// Cannot negate; no real amount gets here, but never print garbage.
			return append(dst, "overflow"...)
		}
		v = -v
	}
	p := pow10[scale]
	dst = strconv.AppendInt(dst, v/p, 10)
	if scale == 0 {
		return dst
	}
	dst = append(dst, '.')
	frac := v % p
	for d := p / 10; d > 0; d /= 10 {
		dst = append(dst, byte('0'+frac/d))
		frac %= d
	}
	return dst
}

// parseScaled parses an optional sign, digits, and an optional fraction of at
// most scale digits, returning the value times 10^scale. It is deliberately
// strict: canonical records carry plain decimals; messy source formats are the
// cleaning stage's business.
//
// Its errors, like ParseMoney's and ParseFixed's, quote a copy of s: an
// error holding s itself would let s escape, and every decoder's
// string(bytes) conversion on the way in would then allocate.
func parseScaled(s string, scale uint8) (int64, error) {
	if s == "" {
		return 0, ErrBadDecimal
	}
	i, neg := 0, false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		i++
	}
	var v int64
	digits, frac, inFrac := 0, 0, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.' && !inFrac:
			if digits == 0 {
				return 0, ErrBadDecimal
			}
			inFrac = true
			continue
		case c < '0' || c > '9':
			return 0, ErrBadDecimal
		}
		if inFrac {
			frac++
			if frac > int(scale) {
				return 0, fmt.Errorf("%q has more than %d decimal places: %w", strings.Clone(s), scale, ErrTooPrecise)
			}
		}
		digits++
		if v > (math.MaxInt64-9)/10 {
			return 0, ErrOverflow
		}
		v = v*10 + int64(c-'0')
	}
	if digits == 0 || (inFrac && frac == 0) {
		return 0, ErrBadDecimal
	}
	for ; frac < int(scale); frac++ {
		if v > math.MaxInt64/10 {
			return 0, ErrOverflow
		}
		v *= 10
	}
	if neg {
		v = -v
	}
	return v, nil
}

// Sentinel errors of the record model; wrap them with the field's context.
var (
	ErrBadDecimal       = errors.New("not a decimal number")
	ErrTooPrecise       = errors.New("more decimal places than allowed")
	ErrOverflow         = errors.New("amount out of range")
	ErrUnknownCurrency  = errors.New("unknown ISO 4217 currency")
	ErrCurrencyMismatch = errors.New("currencies differ")
	ErrBadDate          = errors.New("not a YYYY-MM-DD date")
	ErrBadTime          = errors.New("not an RFC 3339 time")
	ErrDateRange        = errors.New("outside 1970-01-02 to 2105-12-31, the days erpflow can store (1970-01-01 is the empty date)")
	ErrTimeRange        = errors.New("outside 1970-01-01T00:00:00Z to 2105-12-31T23:59:59Z, the times erpflow can store")
)
