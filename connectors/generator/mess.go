package generator

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/erpflow/erpflow/pipeline/record"
)

// The value forms of raw mode (docs/sources.md): how source systems write
// amounts, dates and text. Every form here is one the cleaning parsers read
// back to the exact canonical value; the raw-mode tests check that.

// cst is China Standard Time, the local time of every raw source that
// writes local times. Asia/Shanghai has had no clock changes since 1991, so
// a fixed zone is the same and needs no time zone database.
var cst = time.FixedZone("CST", 8*3600)

// canonText is what the mapping stage makes of a text value: NFKC (full-width
// letters, digits and brackets become ASCII), white space trimmed and inner
// runs collapsed to one space, one or more pairs of wrapping quotes removed.
// The canonical records of raw mode carry their text in this form.
func canonText(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			s = norm.NFKC.String(s)
			break
		}
	}
	s = strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
	for len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	return s
}

// fullWidth writes ASCII letters, digits and punctuation in their full-width
// forms and spaces as the ideographic space, as a Chinese input method in
// full-width mode types them.
func fullWidth(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ' ':
			b.WriteRune('\u3000')
		case r > ' ' && r < 0x7f:
			b.WriteRune(r + 0xFEE0)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Amount forms. minor is at scale 2 (CNY, USD), never negative.

// plainAmount is 1234.50.
func plainAmount(minor int64) string { return money(minor, cny).String() }

// groupedAmount is 1,234.50, or 1.234,50 with sep '.' and dec ','.
func groupedAmount(minor int64, sep, dec byte) string {
	whole := strconv.FormatInt(minor/100, 10)
	var b []byte
	for i := range len(whole) {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b = append(b, sep)
		}
		b = append(b, whole[i])
	}
	return fmt.Sprintf("%s%c%02d", b, dec, minor%100)
}

// commaAmount is 1234,50: the decimal comma without groups.
func commaAmount(minor int64) string { return fmt.Sprintf("%d,%02d", minor/100, minor%100) }

// shortAmount drops trailing zeros of the fraction: 1234.5, 1234.
func shortAmount(minor int64) string {
	s := plainAmount(minor)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// wanAmount writes an amount of at least 10,000 yuan in 万 (ten
// thousands), 1.2万 for 12,000.00, when it is a multiple of ten yuan (at
// most three decimals in 万); ok is false otherwise.
func wanAmount(minor int64) (string, bool) {
	if minor < 1_000_000 || minor%1_000 != 0 {
		return "", false
	}
	s := fmt.Sprintf("%d.%03d", minor/1_000_000, minor%1_000_000/1_000)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".") + "万", true
}

var cnDigits = []rune("零壹贰叁肆伍陆柒捌玖")

// capitalAmount writes yuan in the financial numerals of Chinese invoices
// and claim forms: 壹仟贰佰叁拾肆元伍角整, 贰万元整, 壹万零伍元零伍分.
func capitalAmount(minor int64) string {
	yuan, jiao, fen := minor/100, minor/10%10, minor%10
	var b strings.Builder
	if yuan > 0 {
		b.WriteString(cnNumber(yuan))
		b.WriteString("元")
	}
	switch {
	case jiao == 0 && fen == 0:
		b.WriteString("整")
	case fen == 0:
		b.WriteRune(cnDigits[jiao])
		b.WriteString("角整")
	case jiao == 0:
		if yuan > 0 {
			b.WriteString("零")
		}
		b.WriteRune(cnDigits[fen])
		b.WriteString("分")
	default:
		b.WriteRune(cnDigits[jiao])
		b.WriteString("角")
		b.WriteRune(cnDigits[fen])
		b.WriteString("分")
	}
	return b.String()
}

// cnNumber writes n > 0 in groups of four digits (亿, 万, units), with 零
// wherever digits are skipped and 壹拾 rather than 拾, as cheques do.
func cnNumber(n int64) string {
	groups := [3]int64{n / 100_000_000, n / 10_000 % 10_000, n % 10_000}
	units := [3]string{"亿", "万", ""}
	var b strings.Builder
	started, gap := false, false
	for i, g := range groups {
		if g == 0 {
			gap = gap || started
			continue
		}
		if started && (gap || g < 1000) {
			b.WriteString("零")
		}
		cnGroup(&b, g)
		b.WriteString(units[i])
		started, gap = true, false
	}
	return b.String()
}

func cnGroup(b *strings.Builder, g int64) {
	ds := [4]int64{g / 1000, g / 100 % 10, g / 10 % 10, g % 10}
	us := [4]string{"仟", "佰", "拾", ""}
	started, zero := false, false
	for i, d := range ds {
		if d == 0 {
			zero = zero || started
			continue
		}
		if zero {
			b.WriteString("零")
			zero = false
		}
		b.WriteRune(cnDigits[d])
		b.WriteString(us[i])
		started = true
	}
}

// overPrecise writes an amount with a third decimal, which no CNY or USD
// amount may have: the planted wrong_type dead letters.
func overPrecise(minor int64, digit int) string {
	return plainAmount(minor) + strconv.Itoa(1+digit%9)
}

// Date forms.

func ymd(d record.Date) (int, int, int) {
	y, m, dd := d.Time().Date()
	return y, int(m), dd
}

func dateISO(d record.Date) string { return d.String() }

func dateSlash(d record.Date) string {
	y, m, dd := ymd(d)
	return fmt.Sprintf("%d/%d/%d", y, m, dd)
}

func dateCJK(d record.Date) string {
	y, m, dd := ymd(d)
	return fmt.Sprintf("%d年%d月%d日", y, m, dd)
}

func dateCompact(d record.Date) string {
	y, m, dd := ymd(d)
	return fmt.Sprintf("%04d%02d%02d", y, m, dd)
}

func dateDMY(d record.Date) string {
	y, m, dd := ymd(d)
	return fmt.Sprintf("%02d.%02d.%04d", dd, m, y)
}

// excelSerial is the day in Excel's 1900 date system: 1899-12-30 is 0, so
// 1970-01-01 is 25569 (Excel counts a 29 February 1900 that never was).
func excelSerial(d record.Date) string { return strconv.Itoa(int(d) + 25569) }

// Time forms. t is UTC; local forms are China Standard Time.

func localSeconds(t time.Time) string { return t.In(cst).Format("2006-01-02 15:04:05") }

func localCJKMinutes(t time.Time) string { return t.In(cst).Format("2006年1月2日 15时04分") }

func localOffset(t time.Time) string { return t.In(cst).Format("2006-01-02T15:04:05-07:00") }

func utcSeconds(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

func utcZ(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// localDate is the calendar day of t in China.
func localDate(t time.Time) record.Date {
	y, m, d := t.In(cst).Date()
	return record.MakeDate(y, m, d)
}

// priceText writes a quantity or unit price with at least two decimals,
// as ERPs show prices: 500.00, 714.28, 0.125.
func priceText(f record.Fixed) string {
	s := f.String()
	i := strings.IndexByte(s, '.')
	switch {
	case i < 0:
		return s + ".00"
	case len(s)-i == 2:
		return s + "0"
	}
	return s
}

// hash64 is a stable hash for per-document decisions that must come out the
// same for every version of a document without remembering them.
func hash64(seed int64, parts ...string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for i := range b {
		b[i] = byte(uint64(seed) >> (8 * i))
	}
	h.Write(b[:])
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// digitsOf renders n decimal digits drawn from h.
func digitsOf(h uint64, n int) string {
	b := make([]byte, n)
	for i := range b {
		h = h*6364136223846793005 + 1442695040888963407
		b[i] = byte('0' + (h>>33)%10)
	}
	return string(b)
}
