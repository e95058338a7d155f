package clean

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/erpflow/erpflow/pipeline/record"
)

// DateTime is a parsed instant in UTC, whole seconds, or Missing.
type DateTime struct {
	Time    time.Time
	Missing bool
	// DateOnly says the text named a day and no time of day (2025-04-16,
	// 20250416, a whole Excel serial): Time is that day's midnight, which
	// orders it before everything else that day.
	DateOnly bool
}

// Format renders YYYY-MM-DDTHH:MM:SSZ, or MISSING.
func (t DateTime) Format() string { return string(t.AppendFormat(nil)) }

// AppendFormat appends Format's text to dst.
func (t DateTime) AppendFormat(dst []byte) []byte {
	if t.Missing {
		return append(dst, Missing...)
	}
	return t.Time.UTC().AppendFormat(dst, "2006-01-02T15:04:05Z")
}

// ParseDateTime reads an instant: RFC 3339 and its relatives
// (2025-04-16T14:30:00+08:00, …Z, +0800, fractions of a second), any date
// form of ParseDate followed by a time (2025-04-16 14:30:00, 2025/4/16 14:30,
// 2025年4月16日 14时30分15秒, 下午2点30分, 2:30 PM), a date alone (midnight),
// 20250416143000, epoch seconds (10 digits) and milliseconds (13 digits), and
// Excel serial numbers with a fraction of a day.
//
// A time with no offset is local to opt.TZ; with no TZ it is refused
// (ErrNoTimeZone). A local time that a daylight-saving change skips or
// repeats is refused (ErrNoSuchTime) rather than resolved one way. Fractions
// of a second are dropped, because erpflow stores whole seconds; epoch
// milliseconds likewise. Instants outside 1970-01-01T00:00:00Z to
// 2105-12-31T23:59:59Z are refused. A blank, a placeholder or MySQL's zero
// date is Missing.
func ParseDateTime(s string, opt DateOptions) (DateTime, error) {
	return parseDateTimeText(Normalize(s), s, opt)
}

// ParseDateTimeNormalized is ParseDateTime for text Normalize returned
// already.
func ParseDateTimeNormalized(n string, opt DateOptions) (DateTime, error) {
	return parseDateTimeText(n, n, opt)
}

// parseDateTimeText parses n, the normal form of s (which errors quote).
func parseDateTimeText(n, s string, opt DateOptions) (DateTime, error) {
	if isBlank(n) || isZeroDate(n) {
		return DateTime{Missing: true}, nil
	}
	if r, ok := NumberLookalike(s); ok {
		return DateTime{}, &ParseError{Type: "datetime", Value: s, Reason: fmt.Sprintf("%q", r), Err: ErrNumberLookalike}
	}
	c, reason, err := parseCivil(n, &opt, true)
	var unix int64
	if err == nil {
		wall := c.days*86400 + c.secs
		switch {
		case c.instant:
			unix = wall
		case c.hasOff:
			unix = wall - c.offset
		case opt.TZ == nil:
			reason, err = "a local time; configure the source's time zone", ErrNoTimeZone
		case c.dateOnly:
			unix, reason, err = dayStart(wall, opt.TZ)
		default:
			unix, reason, err = localToUTC(wall, opt.TZ)
		}
	}
	if err == nil && (unix < record.MinTime.Unix() || unix > record.MaxTime.Unix()) {
		err = ErrTimeRange
	}
	if err != nil {
		return DateTime{}, &ParseError{Type: "datetime", Value: s, Reason: reason, Err: err}
	}
	return DateTime{Time: time.Unix(unix, 0).UTC(), DateOnly: c.dateOnly}, nil
}

// localToUTC converts a wall clock in loc, given as seconds since 1970 as if
// it were UTC. The offsets in force a day before and after are the only
// candidates (zones change their offset at most once a day), and exactly one
// of them must map back to the same wall clock.
func localToUTC(wall int64, loc *time.Location) (int64, string, error) {
	if loc == time.UTC {
		return wall, "", nil
	}
	var found [3]int64
	n := 0
	for _, probe := range [...]int64{wall - 86400, wall, wall + 86400} {
		_, off := time.Unix(probe, 0).In(loc).Zone()
		cand := wall - int64(off)
		if _, back := time.Unix(cand, 0).In(loc).Zone(); back != off {
			continue
		}
		if n == 0 || (found[0] != cand && (n == 1 || found[1] != cand)) {
			found[n] = cand
			n++
		}
	}
	switch n {
	case 0:
		return 0, "skipped by a clock change in " + loc.String(), ErrNoSuchTime
	case 1:
		return found[0], "", nil
	}
	return 0, "repeated by a clock change in " + loc.String(), ErrNoSuchTime
}

// dayStart is the first instant of the local day whose midnight is wall:
// a date alone means that day's start, which exists even where a clock
// change skips midnight itself (Santiago, Beirut: the day starts at 01:00).
// Midnight repeated by a change back is taken at its first occurrence.
func dayStart(wall int64, loc *time.Location) (int64, string, error) {
	if loc == time.UTC {
		return wall, "", nil
	}
	// The earliest instant whose local wall clock is on that day or later,
	// within the hours around midnight that any zone's offset can reach.
	best := int64(math.MaxInt64)
	for _, probe := range [...]int64{wall - 86400, wall, wall + 86400} {
		_, off := time.Unix(probe, 0).In(loc).Zone()
		cand := wall - int64(off)
		_, back := time.Unix(cand, 0).In(loc).Zone()
		if back == off {
			best = min(best, cand)
			continue
		}
		// Skipped: the day starts when the clock jumps, at the change.
		// Search forward, minute by minute, for the first local time at
		// or after midnight (a change moves by at most a few hours).
		for t := cand; t < cand+4*3600; t += 60 {
			_, o := time.Unix(t, 0).In(loc).Zone()
			if t+int64(o) >= wall {
				best = min(best, t)
				break
			}
		}
	}
	if best == math.MaxInt64 {
		return 0, "skipped by a clock change in " + loc.String(), ErrNoSuchTime
	}
	return best, "", nil
}

// isNumeric matches digits with at most one decimal point.
func isNumeric(s string) bool {
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot && i > 0 && i < len(s)-1:
			dot = true
		default:
			return false
		}
	}
	return true
}

// parseNumericDate reads the all-digit forms: YYYYMMDD, YYYYMMDDhhmmss,
// epoch seconds and milliseconds, Excel serial numbers.
func parseNumericDate(s string, opt *DateOptions, datetime bool) (c civil, reason string, err error) {
	whole, frac, _ := strings.Cut(s, ".")
	switch n := len(whole); {
	case frac == "" && (n == 8 || n == 14):
		if c.days, reason, err = dayNumber(atoi(s[:4]), atoi(s[4:6]), atoi(s[6:8])); err != nil || n == 8 {
			c.dateOnly = n == 8
			return c, reason, err
		}
		h, m, sec := atoi(s[8:10]), atoi(s[10:12]), atoi(s[12:14])
		if h > 23 || m > 59 || sec > 59 {
			return c, "no such time of day", ErrNotATime
		}
		c.secs = int64(h*3600 + m*60 + sec)
		return c, "", nil
	case frac == "" && (n == 10 || n == 13):
		if !datetime {
			return c, "an epoch number names an instant, not a day", ErrNotADate
		}
		v := int64(0)
		for i := 0; i < n; i++ {
			v = v*10 + int64(s[i]-'0')
		}
		if n == 13 {
			v /= 1000
		}
		c.days, c.secs, c.instant = v/86400, v%86400, true
		return c, "", nil
	case n > 5:
		// Say which lengths are read, so that a source sending epoch
		// microseconds, or a time without its seconds, learns why.
		what := "a day is YYYYMMDD (8 digits)"
		if datetime {
			what = "YYYYMMDD is 8 digits, YYYYMMDDhhmmss 14, epoch seconds 10 and milliseconds 13"
		}
		if frac != "" {
			what += ", none with a fraction but an Excel serial number"
		}
		return c, fmt.Sprintf("%d digits: %s", n, what), ErrNotADate
	}
	if opt.Excel == ExcelNone {
		return c, "an Excel serial number; configure the Excel epoch, 1900 or 1904", ErrAmbiguousDate
	}
	serial := int64(atoi(whole))
	c.dateOnly = frac == ""
	if frac != "" {
		if len(frac) > 12 { // 1e-12 of a day is 86 ns: nothing left to round
			frac = frac[:12]
		}
		f, scale := int64(atoi(frac)), pow10[len(frac)]
		c.secs = (f*86400 + scale/2) / scale
		if c.secs == 86400 {
			serial, c.secs = serial+1, 0
		}
	}
	switch {
	case opt.Excel == Excel1904:
		c.days = serial - 24107 // 1904-01-01 is day -24107
	case serial == 60:
		return c, "1900-02-29, which Excel counts and the calendar does not", ErrNoSuchDay
	case serial < 60:
		c.days = serial - 25568
	default:
		// Excel's 1900 system has a 29 February 1900 (kept from Lotus 1-2-3),
		// so from serial 61 on the count is one ahead of the calendar.
		c.days = serial - 25569
	}
	return c, "", nil
}

// meridiem is the morning or afternoon word of a 12-hour clock.
type meridiem uint8

const (
	merNone meridiem = iota
	merAM
	merPM
	merNoon    // 中午: 11, 12 and 1, 2 o'clock around midday
	merEvening // 晚上: afternoon hours, but 12 would be a guess
)

var cnMeridiems = [...]struct {
	word string
	m    meridiem
}{{"上午", merAM}, {"早上", merAM}, {"早晨", merAM}, {"凌晨", merAM}, {"中午", merNoon},
	{"下午", merPM}, {"傍晚", merPM}, {"晚上", merEvening}, {"夜里", merEvening}}

// parseClock reads the time after a date: hh:mm[:ss[.fff]], 14时30分[15秒],
// 14点[30[分]], 14点半, an optional 上午/下午 before or AM/PM after, and an
// optional zone: Z, ±hh:mm, ±hhmm, ±hh, UTC, GMT, UTC+8.
func parseClock(s string, cjk bool) (secs, off int64, hasOff bool, reason string, err error) {
	bad := func(why string) (int64, int64, bool, string, error) { return 0, 0, false, why, ErrNotATime }
	i := 0
	if s[0] == 'T' || s[0] == ' ' {
		i = 1
	} else if !cjk {
		return bad("unexpected " + quote(s[:1]))
	}
	mer := merNone
	// The words are Chinese: a time that starts with an ASCII byte (most
	// do) has none of them.
	for _, w := range cnMeridiems {
		if i >= len(s) || s[i] < utf8.RuneSelf {
			break
		}
		if strings.HasPrefix(s[i:], w.word) {
			mer, i = w.m, i+len(w.word)
			break
		}
	}
	hh, i := readDigits(s, i)
	if hh == "" || len(hh) > 2 {
		return bad("want an hour")
	}
	h, m, sec := atoi(hh), 0, 0
	r, size := utf8.DecodeRuneInString(s[i:])
	switch {
	case r == ':':
		mm, j := readDigits(s, i+1)
		if len(mm) != 2 {
			return bad("want two-digit minutes")
		}
		m, i = atoi(mm), j
		if i < len(s) && s[i] == ':' {
			ss, j := readDigits(s, i+1)
			if len(ss) != 2 {
				return bad("want two-digit seconds")
			}
			sec, i = atoi(ss), j
			if i < len(s) && (s[i] == '.' || s[i] == ',') {
				ff, j := readDigits(s, i+1)
				if ff == "" {
					return bad("want digits after the decimal point")
				}
				i = j // whole seconds are what erpflow stores
			}
		}
	case r == '时' || r == '点' || r == '點':
		i += size
		if strings.HasPrefix(s[i:], "半") {
			m, i = 30, i+len("半")
			break
		}
		mm, j := readDigits(s, i)
		if mm == "" {
			break
		}
		if len(mm) > 2 {
			return bad("want minutes")
		}
		m, i = atoi(mm), j
		if !strings.HasPrefix(s[i:], "分") {
			break
		}
		i += len("分")
		if ss, j := readDigits(s, i); ss != "" {
			if len(ss) > 2 || !strings.HasPrefix(s[j:], "秒") {
				return bad("want seconds")
			}
			sec, i = atoi(ss), j+len("秒")
		}
	}
	// An hour alone is a time only with a unit or an English AM/PM ("2 PM").
	hourOnly := r != ':' && r != '时' && r != '点' && r != '點'
	rest := strings.TrimPrefix(s[i:], " ")
	if len(rest) >= 2 && mer == merNone {
		switch rest[:2] {
		case "am", "AM", "Am":
			mer, rest, hourOnly = merAM, strings.TrimPrefix(rest[2:], " "), false
		case "pm", "PM", "Pm":
			mer, rest, hourOnly = merPM, strings.TrimPrefix(rest[2:], " "), false
		}
	}
	if hourOnly {
		return bad("want minutes")
	}
	if h, reason = applyMeridiem(h, mer); reason != "" {
		return bad(reason)
	}
	if h > 23 || m > 59 || sec > 59 {
		return bad("no such time of day")
	}
	secs = int64(h*3600 + m*60 + sec)
	if rest == "" {
		return secs, 0, false, "", nil
	}
	off, reason, err = parseOffset(rest)
	return secs, off, err == nil, reason, err
}

func applyMeridiem(h int, m meridiem) (int, string) {
	switch m {
	case merAM:
		if h > 12 {
			return h, "an hour past 12 in the morning"
		}
		if h == 12 {
			return 0, ""
		}
	case merPM, merEvening:
		if h > 12 || h == 0 || (h == 12 && m == merEvening) {
			return h, "an hour that does not fit the afternoon or evening"
		}
		if h < 12 {
			return h + 12, ""
		}
	case merNoon:
		switch {
		case h == 11 || h == 12:
		case h >= 1 && h <= 2:
			return h + 12, ""
		default:
			return h, "an hour that is not around noon"
		}
	}
	return h, ""
}

// parseOffset reads Z, ±hh:mm, ±hhmm, ±hh, UTC, GMT, or UTC/GMT followed by
// an offset of one or two hour digits (UTC+8).
func parseOffset(s string) (int64, string, error) {
	if s == "Z" || s == "UTC" || s == "GMT" {
		return 0, "", nil
	}
	short := false
	if strings.HasPrefix(s, "UTC") || strings.HasPrefix(s, "GMT") {
		s, short = s[3:], true
	}
	if len(s) < 2 || (s[0] != '+' && s[0] != '-') {
		return 0, "unexpected " + quote(s), ErrNotATime
	}
	hh, i := readDigits(s, 1)
	var h, m int
	switch {
	case len(hh) == 4 && i == len(s):
		h, m = atoi(hh[:2]), atoi(hh[2:])
	case len(hh) == 2 || (short && len(hh) == 1):
		h = atoi(hh)
		if i < len(s) {
			mm, j := readDigits(s, i+1)
			if s[i] != ':' || len(mm) != 2 || j != len(s) {
				return 0, "bad offset " + quote(s), ErrNotATime
			}
			m = atoi(mm)
		}
	default:
		return 0, "bad offset " + quote(s), ErrNotATime
	}
	if h > 14 || m > 59 {
		return 0, "bad offset " + quote(s), ErrNotATime
	}
	off := int64(h*3600 + m*60)
	if s[0] == '-' {
		off = -off
	}
	return off, "", nil
}
