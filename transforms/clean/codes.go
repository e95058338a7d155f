package clean

import (
	"unicode/utf8"

	"github.com/erpflow/erpflow/pipeline/record"
)

// family groups the currencies one bare sign can stand for. ¥ is both the
// yuan and the yen; $ a dozen dollars; 元 the yuan, the Hong Kong, Macau and
// Taiwan dollars. A family sign resolves to the currency the source is
// configured with when that is a member, and to its first member otherwise.
type family uint8

const (
	famNone family = iota
	famYen
	famDollar
	famYuan
)

var families = [...][]record.Currency{
	famYen:    {cny, record.MustCurrency("JPY")},
	famDollar: {usd, record.MustCurrency("HKD"), record.MustCurrency("SGD"), record.MustCurrency("AUD"), record.MustCurrency("CAD"), record.MustCurrency("NZD"), record.MustCurrency("TWD"), record.MustCurrency("MXN")},
	famYuan:   {cny, record.MustCurrency("HKD"), record.MustCurrency("TWD"), record.MustCurrency("MOP")},
}

var (
	cny = record.MustCurrency("CNY")
	usd = record.MustCurrency("USD")
)

type alias struct {
	cur record.Currency // the currency, or a family's default
	fam family
}

// aliases are the spellings of currencies that are not an ISO code, keyed in
// upper case after Normalize (so ￥ is ¥ and ＄ is $). Any known ISO code is
// accepted besides these.
var aliases = map[string]alias{
	"¥": {cny, famYen}, "$": {usd, famDollar}, "元": {cny, famYuan}, "圆": {cny, famYuan},
	"RMB": {cny, 0}, "人民币": {cny, 0}, "CN¥": {cny, 0}, "RMB¥": {cny, 0},
	"US$": {usd, 0}, "美元": {usd, 0}, "美金": {usd, 0},
	"€": {cur("EUR"), 0}, "欧元": {cur("EUR"), 0},
	"£": {cur("GBP"), 0}, "英镑": {cur("GBP"), 0},
	"HK$": {cur("HKD"), 0}, "港币": {cur("HKD"), 0}, "港元": {cur("HKD"), 0}, "港幣": {cur("HKD"), 0},
	"JP¥": {cur("JPY"), 0}, "日元": {cur("JPY"), 0}, "円": {cur("JPY"), 0}, "日圆": {cur("JPY"), 0},
	"₩": {cur("KRW"), 0}, "韩元": {cur("KRW"), 0},
	"S$": {cur("SGD"), 0}, "SG$": {cur("SGD"), 0}, "新加坡元": {cur("SGD"), 0}, "新元": {cur("SGD"), 0},
	"NT$": {cur("TWD"), 0}, "新台币": {cur("TWD"), 0}, "台币": {cur("TWD"), 0},
	"A$": {cur("AUD"), 0}, "AU$": {cur("AUD"), 0}, "澳元": {cur("AUD"), 0},
	"C$": {cur("CAD"), 0}, "CA$": {cur("CAD"), 0}, "加元": {cur("CAD"), 0},
	"NZ$": {cur("NZD"), 0}, "新西兰元": {cur("NZD"), 0},
	"MOP$": {cur("MOP"), 0}, "澳门元": {cur("MOP"), 0}, "澳门币": {cur("MOP"), 0},
	"瑞士法郎": {cur("CHF"), 0}, "฿": {cur("THB"), 0}, "泰铢": {cur("THB"), 0},
	"₹": {cur("INR"), 0}, "₽": {cur("RUB"), 0}, "卢布": {cur("RUB"), 0},
	"₫": {cur("VND"), 0}, "越南盾": {cur("VND"), 0}, "MX$": {cur("MXN"), 0}, "R$": {cur("BRL"), 0},
	"RM": {cur("MYR"), 0}, "令吉": {cur("MYR"), 0},
}

func cur(s string) record.Currency { return record.MustCurrency(s) }

// lookupCurrency finds a currency token, upper-casing ASCII letters on the
// stack: the indexing m[string(b)] does not allocate.
func lookupCurrency(tok string) (alias, bool) {
	var buf [16]byte
	if len(tok) > len(buf) {
		return alias{}, false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[i] = c
	}
	up := buf[:len(tok)]
	if a, ok := aliases[string(up)]; ok {
		return a, true
	}
	if len(up) == 3 && isUpper(up[0]) && isUpper(up[1]) && isUpper(up[2]) {
		c := record.Currency{up[0], up[1], up[2]}
		if isKnown(c) {
			return alias{cur: c}, true
		}
	}
	return alias{}, false
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// isKnown reports whether erpflow knows c, without record.ParseCurrency's
// error allocation. A zero scale is also JPY's, hence the second look.
func isKnown(c record.Currency) bool {
	if c.IsZero() {
		return false
	}
	if c.Scale() != 0 {
		return true
	}
	_, err := record.ParseCurrency(c.String())
	return err == nil
}

func looksLikeCode(tok string) bool {
	if len(tok) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		c := tok[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// resolve picks the currency a token stands for. A family sign takes the
// forced currency, else the default, when it is a member; ¥ may be pinned
// with AmountOptions.YenSign.
func (a alias) resolve(opt *AmountOptions) record.Currency {
	if a.fam == famNone {
		return a.cur
	}
	if a.fam == famYen && !opt.YenSign.IsZero() {
		return opt.YenSign
	}
	for _, c := range [2]record.Currency{opt.Currency, opt.DefaultCurrency} {
		if c.IsZero() {
			continue
		}
		for _, m := range families[a.fam] {
			if m == c {
				return c
			}
		}
	}
	return a.cur
}

// inFamily reports whether c is one of the currencies a's sign can mean.
func (a alias) inFamily(c record.Currency) bool {
	if a.fam == famNone {
		return a.cur == c
	}
	if a.fam == famYen && c == a.cur {
		return true
	}
	for _, m := range families[a.fam] {
		if m == c {
			return true
		}
	}
	return false
}

// ParseCurrency maps a currency as sources write it (CNY, cny, RMB, 人民币,
// ¥, ￥, 元, US$, $, 美元, €, 欧元, HK$, 港币, 日元, 円 …) to its ISO 4217 code.
// A blank or placeholder gives the zero Currency and no error.
//
// A bare sign shared by several currencies takes its usual meaning in
// erpflow's sources: ¥ and ￥ are CNY (the yen is JP¥, 円 or 日元), $ is USD,
// 元 is CNY. ParseAmount can resolve them differently from the source's
// configured currency; a currency column cannot, since it has nothing else
// to go by.
func ParseCurrency(s string) (record.Currency, error) {
	n := Normalize(s)
	if isBlank(n) {
		return record.Currency{}, nil
	}
	if a, ok := lookupCurrency(n); ok {
		return a.cur, nil
	}
	return record.Currency{}, &ParseError{Type: "currency", Value: s, Err: ErrUnknownCurrency}
}

// FormatCurrency renders a parsed currency: its ISO code, or MISSING.
func FormatCurrency(c record.Currency) string {
	if c.IsZero() {
		return Missing
	}
	return c.String()
}

// currencyRun returns the currency-like token at the head of s: letters, $
// and symbols, up to a digit, space, sign, parenthesis, separator or
// Chinese numeral.
func currencyRun(s string) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if (c|0x20 >= 'a' && c|0x20 <= 'z') || c == '$' {
				i++
				continue
			}
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '−' || r == '负' || r == '整' || r == '正' || cnDigit(r) >= 0 || cnUnit(r) > 0 || cnMultiplier(r) > 0 {
			break
		}
		i += size
	}
	if i == 0 { // not even a letter: take the one character for the message
		_, size := utf8.DecodeRuneInString(s)
		i = size
	}
	return s[:i]
}

func (p *amountParts) addCurrency(tok string) (string, error) {
	a, ok := lookupCurrency(tok)
	if !ok {
		if looksLikeCode(tok) {
			return quote(tok) + " is not a currency erpflow knows", ErrUnknownCurrency
		}
		return "unexpected " + quote(tok), ErrNotANumber
	}
	if p.ncur == len(p.curs) {
		return "more than two currency marks", ErrNotANumber
	}
	p.curs[p.ncur] = a
	p.ncur++
	return "", nil
}

// currency settles the value's currency against the options.
func (p *amountParts) currency(opt *AmountOptions, yuanUnit bool) (record.Currency, string, error) {
	var named record.Currency
	var signs [len(amountParts{}.curs)]alias // family signs fit whatever else decides
	ns := 0
	for _, a := range p.curs[:p.ncur] {
		if a.fam != famNone {
			signs[ns] = a
			ns++
			continue
		}
		if !named.IsZero() && named != a.cur {
			return named, "the value names both " + named.String() + " and " + a.cur.String(), ErrCurrencyConflict
		}
		named = a.cur
	}
	for _, sg := range signs[:ns] {
		if named.IsZero() {
			named = sg.resolve(opt)
		} else if !sg.inFamily(named) {
			return named, "a currency sign that does not fit " + named.String(), ErrCurrencyConflict
		}
	}
	switch {
	case !opt.Currency.IsZero():
		if !named.IsZero() && named != opt.Currency {
			return named, "the value is in " + named.String() + ", the source in " + opt.Currency.String(), ErrCurrencyConflict
		}
		return opt.Currency, "", nil
	case !named.IsZero():
		return named, "", nil
	case !opt.DefaultCurrency.IsZero():
		return opt.DefaultCurrency, "", nil
	case yuanUnit:
		// 元 in 大写 is the unit of the yuan; a source with another currency
		// says so by configuration or a prefix (美元壹仟元整).
		return cny, "", nil
	}
	return record.Currency{}, "none in the value and no default configured", ErrNoCurrency
}
