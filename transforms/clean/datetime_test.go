package clean

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("zone %s: %v", name, err)
	}
	return loc
}

func TestParseDateTime(t *testing.T) {
	sh := DateOptions{TZ: mustZone(t, "Asia/Shanghai"), Excel: Excel1900}
	ny := DateOptions{TZ: mustZone(t, "America/New_York"), Order: MDY}
	utc := DateOptions{TZ: time.UTC}
	shDMY := sh
	shDMY.Order = DMY
	for _, c := range []dateCase{
		// Explicit offsets need no zone.
		{"2025-04-16T14:30:00+08:00", noOpt, "2025-04-16T06:30:00Z", nil},
		{"2025-04-16T06:30:00Z", noOpt, "2025-04-16T06:30:00Z", nil},
		{"2025-04-16T06:30:00z", noOpt, "", ErrNotATime},
		{"2025-04-16T14:30:00.999+08:00", noOpt, "2025-04-16T06:30:00Z", nil},
		{"2025-04-16T14:30:00,5+08:00", noOpt, "2025-04-16T06:30:00Z", nil},
		{"2025-04-16 14:30:00 +0800", noOpt, "2025-04-16T06:30:00Z", nil},
		{"2025-04-16 14:30+08", noOpt, "2025-04-16T06:30:00Z", nil},
		{"2025-04-16 01:30:00-05:00", noOpt, "2025-04-16T06:30:00Z", nil},
		{"2025-04-16 06:30:00 UTC", noOpt, "2025-04-16T06:30:00Z", nil},
		{"2025-04-16 06:30:00 GMT", noOpt, "2025-04-16T06:30:00Z", nil},
		{"2025-04-16 14:30:00 UTC+8", noOpt, "2025-04-16T06:30:00Z", nil},
		{"2025-04-16 14:30:00 GMT+08:00", noOpt, "2025-04-16T06:30:00Z", nil},
		{"2025-04-16 14:30:00 +25:00", noOpt, "", ErrNotATime},
		{"2025-04-16 14:30:00 CST", sh, "", ErrNotATime},
		// Local times in the source's zone.
		{"2025-04-16 14:30:00", sh, "2025-04-16T06:30:00Z", nil},
		{"2025-04-16T14:30:00", sh, "2025-04-16T06:30:00Z", nil},
		{"2025-04-16 14:30", sh, "2025-04-16T06:30:00Z", nil},
		{"2025/4/16 14:30", sh, "2025-04-16T06:30:00Z", nil},
		{"2025.4.16 14:30:00", sh, "2025-04-16T06:30:00Z", nil},
		{"2025-04-16 14:30:00", utc, "2025-04-16T14:30:00Z", nil},
		{"2025-04-16 14:30:00", noOpt, "", ErrNoTimeZone},
		{"2025-04-16", sh, "2025-04-15T16:00:00Z", nil},
		{"2025年4月16日 14时30分", sh, "2025-04-16T06:30:00Z", nil},
		{"2025年4月16日14时30分", sh, "2025-04-16T06:30:00Z", nil},
		{"2025年4月16日 14:30", sh, "2025-04-16T06:30:00Z", nil},
		{"2025年4月16日 14时30分15秒", sh, "2025-04-16T06:30:15Z", nil},
		{"2025年4月16日 14点30分", sh, "2025-04-16T06:30:00Z", nil},
		{"2025年4月16日 14点30", sh, "2025-04-16T06:30:00Z", nil},
		{"2025年4月16日 14点", sh, "2025-04-16T06:00:00Z", nil},
		{"2025年4月16日 14点半", sh, "2025-04-16T06:30:00Z", nil},
		{"2025年4月16日 下午2点30分", sh, "2025-04-16T06:30:00Z", nil},
		{"2025年4月16日下午2:30", sh, "2025-04-16T06:30:00Z", nil},
		{"2025年4月16日 上午9点", sh, "2025-04-16T01:00:00Z", nil},
		{"2025年4月16日 上午12点", sh, "2025-04-15T16:00:00Z", nil},
		{"2025年4月16日 中午12点", sh, "2025-04-16T04:00:00Z", nil},
		{"2025年4月16日 中午1点", sh, "2025-04-16T05:00:00Z", nil},
		{"2025年4月16日 晚上8点", sh, "2025-04-16T12:00:00Z", nil},
		{"2025年4月16日 凌晨3点", sh, "2025-04-15T19:00:00Z", nil},
		{"2025年4月16日 晚上12点", sh, "", ErrNotATime},
		{"2025年4月16日 下午14点", sh, "", ErrNotATime},
		{"２０２５年４月１６日　１４：３０", sh, "2025-04-16T06:30:00Z", nil},
		{"2025-04-16 2:30 PM", sh, "2025-04-16T06:30:00Z", nil},
		{"2025-04-16 2:30pm", sh, "2025-04-16T06:30:00Z", nil},
		{"2025-04-16 2 PM", sh, "2025-04-16T06:00:00Z", nil},
		{"2025-04-16 12:05 AM", sh, "2025-04-15T16:05:00Z", nil},
		{"2025-04-16 12:05 PM", sh, "2025-04-16T04:05:00Z", nil},
		{"2025-04-16 13:05 PM", sh, "", ErrNotATime},
		{"16/04/2025 14:30", shDMY, "2025-04-16T06:30:00Z", nil},
		{"04/16/2025 2:30 PM", ny, "2025-04-16T18:30:00Z", nil},
		{"20250416143000", sh, "2025-04-16T06:30:00Z", nil},
		{"20250416", sh, "2025-04-15T16:00:00Z", nil},
		{"2025-04-16 14", sh, "", ErrNotATime},
		{"2025-04-16 14:3", sh, "", ErrNotATime},
		{"2025-04-16 24:00:00", sh, "", ErrNotATime},
		{"2025-04-16 23:59:60", sh, "", ErrNotATime},
		{"2025-04-16 14:30:00.", sh, "", ErrNotATime},
		{"2025-04-1614:30", sh, "", ErrNotADate},
		{"03/04/2025 14:30", sh, "", ErrAmbiguousDate},
		// Daylight saving: a skipped and a repeated hour.
		{"03/09/2025 02:30", ny, "", ErrNoSuchTime},
		// A date alone is its day's first instant, which exists where a
		// clock change skips midnight itself: Santiago's day starts at 01:00.
		{"2025-09-07", DateOptions{TZ: mustZone(t, "America/Santiago")}, "2025-09-07T04:00:00Z", nil},
		{"2025-03-30", DateOptions{TZ: mustZone(t, "Asia/Beirut")}, "2025-03-29T22:00:00Z", nil},
		{"2025-09-07 00:30", DateOptions{TZ: mustZone(t, "America/Santiago")}, "", ErrNoSuchTime},
		{"11/02/2025 01:30", ny, "", ErrNoSuchTime},
		{"11/02/2025 01:30 -04:00", ny, "2025-11-02T05:30:00Z", nil},
		{"03/09/2025 03:30", ny, "2025-03-09T07:30:00Z", nil},
		{"07/01/2025 12:00", ny, "2025-07-01T16:00:00Z", nil},
		// Numbers.
		{"1744785000", noOpt, "2025-04-16T06:30:00Z", nil},
		{"1744785000123", noOpt, "2025-04-16T06:30:00Z", nil},
		{"9999999999", noOpt, "", ErrTimeRange},
		{"0000000000", noOpt, "1970-01-01T00:00:00Z", nil},
		{"45763.604166667", sh, "2025-04-16T06:30:00Z", nil},
		{"45763.5", sh, "2025-04-16T04:00:00Z", nil},
		{"45763.99999999", sh, "2025-04-16T16:00:00Z", nil},
		{"45763", sh, "2025-04-15T16:00:00Z", nil},
		{"45763.5", DateOptions{TZ: time.UTC}, "", ErrAmbiguousDate},
		// The range.
		{"1970-01-01T00:00:00Z", noOpt, "1970-01-01T00:00:00Z", nil},
		{"1970-01-01 00:00:00", sh, "", ErrTimeRange},
		{"2105-12-31T23:59:59Z", noOpt, "2105-12-31T23:59:59Z", nil},
		{"2105-12-31T23:59:59-01:00", noOpt, "", ErrTimeRange},
		{"2106-01-01T00:00:00Z", noOpt, "", ErrTimeRange},
		{"9999-12-31 23:59:59", sh, "", ErrTimeRange},
		{"2025-02-30 10:00", sh, "", ErrNoSuchDay},
		// Missing.
		{"", sh, Missing, nil},
		{"-", noOpt, Missing, nil},
		{"0000-00-00 00:00:00", noOpt, Missing, nil},
	} {
		got, err := ParseDateTime(c.in, c.opt)
		if c.err != nil {
			var pe *ParseError
			if !errors.Is(err, c.err) || !errors.As(err, &pe) || pe.Value != c.in || !strings.HasPrefix(err.Error(), "datetime ") {
				t.Errorf("ParseDateTime(%q) = %s, %v; want error %v", c.in, got.Format(), err, c.err)
			}
			continue
		}
		if err != nil || got.Format() != c.want {
			t.Errorf("ParseDateTime(%q) = %s, %v; want %s", c.in, got.Format(), err, c.want)
			continue
		}
		if !got.Missing && (got.Time.Location() != time.UTC || got.Time.Nanosecond() != 0) {
			t.Errorf("ParseDateTime(%q) = %v; want whole seconds in UTC", c.in, got.Time)
		}
	}
}

func TestDateTimeFormat(t *testing.T) {
	sh := mustZone(t, "Asia/Shanghai")
	for _, c := range []struct {
		t    DateTime
		want string
	}{
		{DateTime{Missing: true}, "MISSING"},
		{DateTime{Time: time.Date(2025, 4, 16, 6, 30, 0, 0, time.UTC)}, "2025-04-16T06:30:00Z"},
		{DateTime{Time: time.Date(2025, 4, 16, 14, 30, 0, 0, sh)}, "2025-04-16T06:30:00Z"},
		{DateTime{Time: time.Unix(0, 0)}, "1970-01-01T00:00:00Z"},
	} {
		if got := c.t.Format(); got != c.want {
			t.Errorf("Format(%v) = %q; want %q", c.t, got, c.want)
		}
	}
}

func TestParseDateTimeNoAlloc(t *testing.T) {
	opt := DateOptions{TZ: mustZone(t, "Asia/Shanghai")}
	for _, in := range []string{"2025-04-16T14:30:00+08:00", "2025-04-16 14:30:00", "1744785000"} {
		if n := testing.AllocsPerRun(100, func() { _, _ = ParseDateTime(in, opt) }); n != 0 {
			t.Errorf("ParseDateTime(%q) allocates %v times", in, n)
		}
	}
}

// TestDateOnly: a date-time read from a day alone says so, so that a
// caller ordering changes by it (a version) can refuse it.
func TestDateOnly(t *testing.T) {
	opt := DateOptions{TZ: mustZone(t, "Asia/Shanghai"), Excel: Excel1900}
	for in, want := range map[string]bool{
		"2025-04-16": true, "20250416": true, "45763": true, "2025年4月16日": true,
		"45763.5": false, "2025-04-16 14:30": false, "20250416143000": false, "1744785000": false,
		"1744785000123": false, "2025年4月16日 14时30分": false, "2025-04-16T00:00:00Z": false,
	} {
		got, err := ParseDateTime(in, opt)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got.DateOnly != want {
			t.Errorf("%s: DateOnly %v, want %v", in, got.DateOnly, want)
		}
	}
}

// A number of a length no form has says which lengths are read: epoch
// microseconds (16 digits) are a source's likeliest slip.
func TestNumericDateErrorsSayTheLengths(t *testing.T) {
	_, err := ParseDateTime("1744769000000000", DateOptions{TZ: time.UTC})
	var pe *ParseError
	if !errors.As(err, &pe) || !errors.Is(err, ErrNotADate) || !strings.Contains(pe.Reason, "16 digits") || !strings.Contains(pe.Reason, "milliseconds 13") {
		t.Errorf("error %v; want not a date, saying 16 digits and the lengths read", err)
	}
}

// TestDateAloneIsItsDaysFirstInstant: in zones whose clock changes at
// midnight (Santiago, Beirut, Havana, Asunción, Cairo) and elsewhere, a
// date alone is the first instant whose local date is that day, for every
// day of 2015 to 2030.
func TestDateAloneIsItsDaysFirstInstant(t *testing.T) {
	for _, zone := range []string{"America/Santiago", "Asia/Beirut", "America/Havana", "America/Asuncion", "Africa/Cairo",
		"America/New_York", "Europe/Lisbon", "Pacific/Apia", "Australia/Lord_Howe", "Asia/Shanghai"} {
		loc := mustZone(t, zone)
		opt := DateOptions{TZ: loc}
		for d := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() <= 2030; d = d.AddDate(0, 0, 1) {
			day := d.Format("2006-01-02")
			got, err := ParseDateTime(day, opt)
			if err != nil {
				t.Fatalf("%s %s: %v", zone, day, err)
			}
			if in := got.Time.In(loc).Format("2006-01-02"); in != day {
				t.Fatalf("%s %s: %v is %s there", zone, day, got.Time, in)
			}
			if before := got.Time.Add(-time.Second).In(loc).Format("2006-01-02"); before >= day {
				t.Fatalf("%s %s: %v is not the day's first instant (a second before is %s)", zone, day, got.Time, before)
			}
		}
	}
}
