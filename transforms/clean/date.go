package clean

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/erpflow/erpflow/pipeline/record"
)

// DateOrder is the order of day, month and year in a source's numeric
// dates. It is configuration: 03/04/2025 is the 3rd of April to one source
// and the 4th of March to another, and the value cannot tell which.
type DateOrder uint8

const (
	OrderUnset DateOrder = iota // only year-first numeric forms are read
	YMD
	DMY
	MDY
)

var orderNames = [...]string{"", "YMD", "DMY", "MDY"}

func (o DateOrder) String() string {
	if int(o) < len(orderNames) {
		return orderNames[o]
	}
	return "invalid"
}

// ParseDateOrder reads YMD, DMY or MDY (any case); an empty string is
// OrderUnset.
func ParseDateOrder(s string) (DateOrder, error) {
	for i, n := range orderNames {
		if strings.EqualFold(s, n) {
			return DateOrder(i), nil
		}
	}
	return 0, &ParseError{Type: "date order", Value: s, Reason: "want YMD, DMY or MDY", Err: ErrBadOption}
}

// ExcelEpoch is the date system of a spreadsheet's serial numbers. Workbooks
// from old Mac Excel count from 1904 and the rest from 1900: the same serial
// is four years and a day apart, so the source must say.
type ExcelEpoch uint16

const (
	ExcelNone ExcelEpoch = 0 // serial numbers are refused
	Excel1900 ExcelEpoch = 1900
	Excel1904 ExcelEpoch = 1904
)

// DateOptions is a source's configuration for its dates and times.
type DateOptions struct {
	Order DateOrder
	// TZ is the source's zone, which local times are in. Nil refuses local
	// times (ErrNoTimeZone) rather than taking them for UTC: a Shanghai
	// source read as UTC is eight hours off without a word.
	TZ    *time.Location
	Excel ExcelEpoch
}

// Validate checks the enumerations.
func (o DateOptions) Validate() error {
	if o.Order > MDY {
		return &ParseError{Type: "date order", Value: o.Order.String(), Err: ErrBadOption}
	}
	if o.Excel != ExcelNone && o.Excel != Excel1900 && o.Excel != Excel1904 {
		return &ParseError{Type: "excel epoch", Value: itoa(int64(o.Excel)), Reason: "want 1900 or 1904", Err: ErrBadOption}
	}
	return nil
}

// Day is a parsed calendar day, or Missing.
type Day struct {
	Date    record.Date
	Missing bool
}

// Format renders YYYY-MM-DD, or MISSING.
func (d Day) Format() string { return string(d.AppendFormat(nil)) }

// AppendFormat appends Format's text to dst.
func (d Day) AppendFormat(dst []byte) []byte {
	if d.Missing {
		return append(dst, Missing...)
	}
	return d.Date.Append(dst)
}

// ParseDate reads a calendar day: 2025-04-16, 2025/4/16, 2025.4.16,
// 20250416, 2025年4月16日 (also 号, full-width digits and 二〇二五年四月十六日),
// 16-Apr-2025, Apr 16, 2025, day-first or month-first numeric forms
// (16.04.2025, 04/16/2025) by the configured order, and Excel serial numbers
// by the configured epoch. A time after the date (2025-04-16 14:30:00,
// 2025-04-16T00:30:00+08:00) is checked and dropped: the day is the one
// written, not the UTC day of the instant. Epoch seconds are refused: they
// name an instant, whose day depends on a zone.
//
// Year-first forms are read year, month, day whatever the order: no source
// writes year, day, month. Day-first and month-first forms follow opt.Order
// strictly: with no order they are refused (ErrAmbiguousDate) whatever the
// digits, so that a source either reads or fails as a whole instead of day
// by day; 16/04/2025 under MDY is refused (ErrNoSuchDay), not re-read.
// Two-digit years are refused.
// Days that do not exist (2025-02-30) and days outside 1970-01-01 to
// 2105-12-31 are refused. A blank, a placeholder or MySQL's zero date
// 0000-00-00 is Missing.
func ParseDate(s string, opt DateOptions) (Day, error) {
	return parseDateText(Normalize(s), s, opt)
}

// ParseDateNormalized is ParseDate for text Normalize returned already.
func ParseDateNormalized(n string, opt DateOptions) (Day, error) {
	return parseDateText(n, n, opt)
}

// parseDateText parses n, the normal form of s (which errors quote).
func parseDateText(n, s string, opt DateOptions) (Day, error) {
	if isBlank(n) || isZeroDate(n) {
		return Day{Missing: true}, nil
	}
	if r, ok := NumberLookalike(s); ok {
		return Day{}, &ParseError{Type: "date", Value: s, Reason: fmt.Sprintf("%q", r), Err: ErrNumberLookalike}
	}
	c, reason, err := parseCivil(n, &opt, false)
	if err == nil && (c.days < int64(record.MinDate) || c.days > int64(record.MaxDate)) {
		err = ErrDateRange
	}
	if err != nil {
		return Day{}, &ParseError{Type: "date", Value: s, Reason: reason, Err: err}
	}
	return Day{Date: record.Date(c.days)}, nil
}

// isZeroDate matches 0000-00-00 and 0000-00-00 00:00:00, which MySQL and
// old ClickHouse write for "no date".
func isZeroDate(s string) bool {
	if !strings.HasPrefix(s, "0000-00-00") {
		return false
	}
	for i := 10; i < len(s); i++ {
		if c := s[i]; c != '0' && c != ':' && c != '.' && c != ' ' && c != 'T' {
			return false
		}
	}
	return true
}

// civil is what a date or datetime value says, before any zone is applied.
type civil struct {
	days    int64 // days since 1970-01-01 of the written day
	secs    int64 // seconds into that day
	offset  int64 // seconds east of UTC, when hasOff
	hasOff  bool
	instant bool // days and secs are already UTC (epoch numbers)
	// dateOnly says the text named a day and no time of day.
	dateOnly bool
}

// parseCivil reads a date, optionally followed by a time, or a number.
func parseCivil(s string, opt *DateOptions, datetime bool) (c civil, reason string, err error) {
	if isNumeric(s) {
		return parseNumericDate(s, opt, datetime)
	}
	y, m, d, rest, cjk, reason, err := parseDatePart(s, opt)
	if err != nil {
		return c, reason, err
	}
	if c.days, reason, err = dayNumber(y, m, d); err != nil {
		return c, reason, err
	}
	if rest == "" {
		c.dateOnly = true
		return c, "", nil
	}
	c.secs, c.offset, c.hasOff, reason, err = parseClock(rest, cjk)
	return c, reason, err
}

// dayNumber checks a calendar day and counts it from 1970-01-01. Years
// beyond four digits never get here; the range is the caller's to check.
func dayNumber(y, m, d int) (int64, string, error) {
	if m < 1 || m > 12 {
		return 0, "month " + itoa(int64(m)), ErrNoSuchDay
	}
	if d < 1 || d > daysIn(y, m) {
		return 0, time.Month(m).String() + " " + itoa(int64(y)) + " has no day " + itoa(int64(d)), ErrNoSuchDay
	}
	return int64(record.MakeDate(y, time.Month(m), d)), "", nil
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// parseDatePart reads the date at the head of s and returns the rest. cjk
// says the date was written with 年月日, after which a time may follow with
// no space.
func parseDatePart(s string, opt *DateOptions) (y, m, d int, rest string, cjk bool, reason string, err error) {
	r, _ := utf8.DecodeRuneInString(s)
	switch {
	case r >= '0' && r <= '9':
	case cnDigit(r) >= 0:
		return parseCNDate(s)
	case r < utf8.RuneSelf && r|0x20 >= 'a' && r|0x20 <= 'z':
		return parseMonthFirst(s)
	default:
		return 0, 0, 0, "", false, "", ErrNotADate
	}
	a, i := readDigits(s, 0)
	if i == len(s) {
		return 0, 0, 0, "", false, "", ErrNotADate
	}
	sep, size := utf8.DecodeRuneInString(s[i:])
	i += size
	if sep == '年' {
		return parseCJKTail(s, a, i)
	}
	if sep != '-' && sep != '/' && sep != '.' && sep != ' ' {
		return 0, 0, 0, "", false, "unexpected " + quote(string(sep)), ErrNotADate
	}
	if mon, n := monthName(s[i:]); n > 0 { // 16-Apr-2025, 16 Apr 2025
		i += n
		if i >= len(s) || rune(s[i]) != sep {
			return 0, 0, 0, "", false, "", ErrNotADate
		}
		yy, j := readDigits(s, i+1)
		if len(a) > 2 || len(yy) < 2 {
			return 0, 0, 0, "", false, "", ErrNotADate
		}
		if len(yy) != 4 {
			return 0, 0, 0, "", false, "want a four-digit year", ErrAmbiguousDate
		}
		return atoi(yy), mon, atoi(a), s[j:], false, "", nil
	}
	if sep == ' ' {
		return 0, 0, 0, "", false, "", ErrNotADate
	}
	b, j := readDigits(s, i)
	if b == "" || j == len(s) || rune(s[j]) != sep {
		return 0, 0, 0, "", false, "want three parts with the same separator", ErrNotADate
	}
	c, k := readDigits(s, j+1)
	rest = s[k:]
	if c == "" || len(b) > 2 {
		return 0, 0, 0, "", false, "", ErrNotADate
	}
	switch {
	case len(a) == 4 && len(c) <= 2:
		return atoi(a), atoi(b), atoi(c), rest, false, "", nil
	case len(c) == 4 && len(a) <= 2:
		switch opt.Order {
		case DMY:
			return atoi(c), atoi(b), atoi(a), rest, false, "", nil
		case MDY:
			return atoi(c), atoi(a), atoi(b), rest, false, "", nil
		case YMD:
			return 0, 0, 0, "", false, "the year comes last but the date order is YMD", ErrAmbiguousDate
		}
		return 0, 0, 0, "", false, "day and month could be either way round; configure the date order, DMY or MDY", ErrAmbiguousDate
	case len(c) <= 2 && len(a) <= 2:
		return 0, 0, 0, "", false, "two-digit year", ErrAmbiguousDate
	}
	return 0, 0, 0, "", false, "", ErrNotADate
}

// parseCJKTail reads 4月16日 after the year.
func parseCJKTail(s, year string, i int) (y, m, d int, rest string, cjk bool, reason string, err error) {
	if len(year) != 4 {
		return 0, 0, 0, "", true, "want a four-digit year", ErrAmbiguousDate
	}
	mm, j := readDigits(s, i)
	if mm == "" || len(mm) > 2 || !strings.HasPrefix(s[j:], "月") {
		return 0, 0, 0, "", true, "", ErrNotADate
	}
	dd, k := readDigits(s, j+len("月"))
	if dd == "" || len(dd) > 2 {
		return 0, 0, 0, "", true, "", ErrNotADate
	}
	return atoi(year), atoi(mm), atoi(dd), trimDayMark(s[k:]), true, "", nil
}

func trimDayMark(s string) string {
	if strings.HasPrefix(s, "日") || strings.HasPrefix(s, "号") {
		return s[len("日"):]
	}
	return s
}

// parseCNDate reads 二〇二五年四月十六日: the year digit by digit, month and
// day as numbers.
func parseCNDate(s string) (y, m, d int, rest string, cjk bool, reason string, err error) {
	i := 0
	for k := 0; k < 4; k++ {
		r, size := utf8.DecodeRuneInString(s[i:])
		dg := cnDigit(r)
		if dg < 0 {
			return 0, 0, 0, "", true, "want a four-digit year", ErrNotADate
		}
		y = y*10 + dg
		i += size
	}
	if !strings.HasPrefix(s[i:], "年") {
		return 0, 0, 0, "", true, "", ErrNotADate
	}
	mv, j, _, _, e1 := parseCNInt(s, i+len("年"), false)
	if e1 != nil || j == i+len("年") || !strings.HasPrefix(s[j:], "月") {
		return 0, 0, 0, "", true, "", ErrNotADate
	}
	dv, k, _, _, e2 := parseCNInt(s, j+len("月"), false)
	if e2 != nil || k == j+len("月") || mv > 99 || dv > 99 {
		return 0, 0, 0, "", true, "", ErrNotADate
	}
	return y, int(mv), int(dv), trimDayMark(s[k:]), true, "", nil
}

// parseMonthFirst reads Apr 16, 2025 and April 16 2025.
func parseMonthFirst(s string) (y, m, d int, rest string, cjk bool, reason string, err error) {
	mon, i := monthName(s)
	if i == 0 || i >= len(s) || s[i] != ' ' {
		return 0, 0, 0, "", false, "", ErrNotADate
	}
	dd, j := readDigits(s, i+1)
	if strings.HasPrefix(s[j:], ",") {
		j++
	}
	if dd == "" || len(dd) > 2 || j >= len(s) || s[j] != ' ' {
		return 0, 0, 0, "", false, "", ErrNotADate
	}
	yy, k := readDigits(s, j+1)
	if len(yy) != 4 {
		return 0, 0, 0, "", false, "want a four-digit year", ErrAmbiguousDate
	}
	return atoi(yy), mon, atoi(dd), s[k:], false, "", nil
}

var monthNames = [...]string{"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december"}

// monthName reads an English month, full or in three letters (and Sept), at
// the head of s, returning it and its length, or 0, 0.
func monthName(s string) (int, int) {
	n := 0
	for n < len(s) && s[n]|0x20 >= 'a' && s[n]|0x20 <= 'z' {
		n++
	}
	if n < 3 {
		return 0, 0
	}
	w := s[:n]
	for i, name := range monthNames {
		if strings.EqualFold(w, name) || strings.EqualFold(w, name[:3]) || (i == 8 && strings.EqualFold(w, "sept")) {
			return i + 1, n
		}
	}
	return 0, 0
}

// readDigits returns the run of ASCII digits at s[i:] and where it ends.
func readDigits(s string, i int) (string, int) {
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	return s[i:j], j
}

// atoi reads a short run of digits that readDigits vetted.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
