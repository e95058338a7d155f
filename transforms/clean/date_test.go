package clean

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/erpflow/erpflow/pipeline/record"
)

type dateCase struct {
	in   string
	opt  DateOptions
	want string // Format of the result
	err  error
}

var (
	noOpt = DateOptions{}
	dmy   = DateOptions{Order: DMY}
	mdy   = DateOptions{Order: MDY}
	ymd   = DateOptions{Order: YMD}
	x1900 = DateOptions{Excel: Excel1900}
	x1904 = DateOptions{Excel: Excel1904}
)

var dateCases = []dateCase{
	{"2025-04-16", noOpt, "2025-04-16", nil},
	{"2025-04-16", dmy, "2025-04-16", nil},
	{"2025-04-16", mdy, "2025-04-16", nil},
	{"2025-4-6", noOpt, "2025-04-06", nil},
	{"2025/4/16", noOpt, "2025-04-16", nil},
	{"2025/04/16", ymd, "2025-04-16", nil},
	{"2025.4.16", noOpt, "2025-04-16", nil},
	{"2025年4月16日", noOpt, "2025-04-16", nil},
	{"2025年04月16日", noOpt, "2025-04-16", nil},
	{"2025年4月16号", noOpt, "2025-04-16", nil},
	{"2025年4月16", noOpt, "2025-04-16", nil},
	{"２０２５年４月１６日", noOpt, "2025-04-16", nil},
	{"２０２５－０４－１６", noOpt, "2025-04-16", nil},
	{"二〇二五年四月十六日", noOpt, "2025-04-16", nil},
	{"二零二五年十二月三十一日", noOpt, "2025-12-31", nil},
	{"二〇二五年一月一日", noOpt, "2025-01-01", nil},
	{"20250416", noOpt, "2025-04-16", nil},
	{"20250416", dmy, "2025-04-16", nil},
	{"16.04.2025", dmy, "2025-04-16", nil},
	{"16/04/2025", dmy, "2025-04-16", nil},
	{"16-04-2025", dmy, "2025-04-16", nil},
	{"04/16/2025", mdy, "2025-04-16", nil},
	{"4/16/2025", mdy, "2025-04-16", nil},
	{"03/04/2025", dmy, "2025-04-03", nil},
	{"03/04/2025", mdy, "2025-03-04", nil},
	{"03/04/2025", noOpt, "", ErrAmbiguousDate},
	{"16/04/2025", noOpt, "", ErrAmbiguousDate},
	{"03/03/2025", noOpt, "", ErrAmbiguousDate},
	{"16/04/2025", ymd, "", ErrAmbiguousDate},
	{"16/04/2025", mdy, "", ErrNoSuchDay},
	{"04/16/2025", dmy, "", ErrNoSuchDay},
	{"16/04/25", dmy, "", ErrAmbiguousDate},
	{"25/04/16", noOpt, "", ErrAmbiguousDate},
	{"16-Apr-2025", noOpt, "2025-04-16", nil},
	{"16 Apr 2025", noOpt, "2025-04-16", nil},
	{"16 april 2025", mdy, "2025-04-16", nil},
	{"16-APR-2025", noOpt, "2025-04-16", nil},
	{"Apr 16, 2025", noOpt, "2025-04-16", nil},
	{"April 16 2025", noOpt, "2025-04-16", nil},
	{"Sept 1, 2025", noOpt, "2025-09-01", nil},
	{"16-Apr-25", noOpt, "", ErrAmbiguousDate},
	{"16-Foo-2025", noOpt, "", ErrNotADate},
	// Excel serial numbers.
	{"45763", x1900, "2025-04-16", nil},
	{"45763.604166667", x1900, "2025-04-16", nil},
	{"25570", x1900, "1970-01-02", nil},
	{"25569", x1900, "", ErrDateRange}, // 1970-01-01, the empty date
	{"61", x1900, "", ErrDateRange},
	{"60", x1900, "", ErrNoSuchDay},
	{"59", x1900, "", ErrDateRange},
	{"44301", x1904, "2025-04-16", nil},
	{"45763", noOpt, "", ErrAmbiguousDate},
	{"0", x1900, "", ErrDateRange},
	{"99999", x1900, "", ErrDateRange},
	{"1744785000", noOpt, "", ErrNotADate},
	{"123456", x1900, "", ErrNotADate},
	// Impossible days and the range.
	{"2025-02-29", noOpt, "", ErrNoSuchDay},
	{"2024-02-29", noOpt, "2024-02-29", nil},
	{"2100-02-29", noOpt, "", ErrNoSuchDay},
	{"2000-02-29", noOpt, "2000-02-29", nil},
	{"2025-02-30", noOpt, "", ErrNoSuchDay},
	{"2025-04-31", noOpt, "", ErrNoSuchDay},
	{"2025-13-01", noOpt, "", ErrNoSuchDay},
	{"2025-00-10", noOpt, "", ErrNoSuchDay},
	{"2025-04-00", noOpt, "", ErrNoSuchDay},
	{"20250230", noOpt, "", ErrNoSuchDay},
	{"2025年2月30日", noOpt, "", ErrNoSuchDay},
	{"1970-01-02", noOpt, "1970-01-02", nil},
	{"1970-01-01", noOpt, "", ErrDateRange}, // day 0: the empty date, in erpflow and ClickHouse
	{"1969-12-31", noOpt, "", ErrDateRange},
	{"2105-12-31", noOpt, "2105-12-31", nil},
	{"2106-01-01", noOpt, "", ErrDateRange},
	{"9999-12-31", noOpt, "", ErrDateRange},
	// A time after the day is checked and dropped.
	{"2025-04-16 14:30:00", noOpt, "2025-04-16", nil},
	{"2025-04-16T00:30:00+08:00", noOpt, "2025-04-16", nil},
	{"2025-04-16T23:30:00-05:00", noOpt, "2025-04-16", nil},
	{"2025年4月16日 14时30分", noOpt, "2025-04-16", nil},
	{"16/04/2025 14:30", dmy, "2025-04-16", nil},
	{"20250416143000", noOpt, "2025-04-16", nil},
	{"2025-04-16 25:00", noOpt, "", ErrNotATime},
	{"2025-04-16 foo", noOpt, "", ErrNotATime},
	// Not dates.
	{"2025-04", noOpt, "", ErrNotADate},
	{"2025/04-16", noOpt, "", ErrNotADate},
	{"2025-004-16", noOpt, "", ErrNotADate},
	{"16 April", noOpt, "", ErrNotADate},
	{"hello", noOpt, "", ErrNotADate},
	{"2025年", noOpt, "", ErrNotADate},
	{"25年4月16日", noOpt, "", ErrAmbiguousDate},
	{"12345678901234567890-01-01", noOpt, "", ErrNotADate},
	// Missing.
	{"", noOpt, Missing, nil},
	{" - ", noOpt, Missing, nil},
	{"—", noOpt, Missing, nil},
	{"N/A", noOpt, Missing, nil},
	{"无", noOpt, Missing, nil},
	{"0000-00-00", noOpt, Missing, nil},
	{"0000-00-00 00:00:00", noOpt, Missing, nil},
}

func TestParseDate(t *testing.T) {
	for _, c := range dateCases {
		got, err := ParseDate(c.in, c.opt)
		if c.err != nil {
			var pe *ParseError
			if !errors.Is(err, c.err) || !errors.As(err, &pe) || pe.Value != c.in || !strings.HasPrefix(err.Error(), "date ") {
				t.Errorf("ParseDate(%q, %+v) = %s, %v; want error %v", c.in, c.opt, got.Format(), err, c.err)
			}
			continue
		}
		if err != nil || got.Format() != c.want {
			t.Errorf("ParseDate(%q, %+v) = %s, %v; want %s", c.in, c.opt, got.Format(), err, c.want)
		}
	}
}

func TestDateErrorMessage(t *testing.T) {
	_, err := ParseDate("03/04/2025", DateOptions{})
	want := `date "03/04/2025": ambiguous date (day and month could be either way round; configure the date order, DMY or MDY)`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v; want %s", err, want)
	}
	_, err = ParseDate("2025-02-30", DateOptions{})
	if want := `date "2025-02-30": no such day (February 2025 has no day 30)`; err == nil || err.Error() != want {
		t.Errorf("error = %v; want %s", err, want)
	}
}

func TestDayFormat(t *testing.T) {
	for d, want := range map[Day]string{
		{Missing: true}: "MISSING",
		{Date: record.MakeDate(2025, time.April, 16)}: "2025-04-16",
		{Date: 0}:              "1970-01-01",
		{Date: record.MaxDate}: "2105-12-31",
	} {
		if got := d.Format(); got != want {
			t.Errorf("Format(%v) = %q; want %q", d, got, want)
		}
	}
}

func TestDateOptions(t *testing.T) {
	for in, want := range map[string]DateOrder{"YMD": YMD, "dmy": DMY, "MDY": MDY, "": OrderUnset} {
		if got, err := ParseDateOrder(in); err != nil || got != want {
			t.Errorf("ParseDateOrder(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseDateOrder("DYM"); !errors.Is(err, ErrBadOption) {
		t.Errorf("ParseDateOrder(DYM) = %v", err)
	}
	if err := (DateOptions{Order: DMY, Excel: Excel1904}).Validate(); err != nil {
		t.Error(err)
	}
	for _, o := range []DateOptions{{Excel: 1901}, {Order: 9}} {
		if err := o.Validate(); !errors.Is(err, ErrBadOption) {
			t.Errorf("Validate(%+v) = %v", o, err)
		}
	}
}

func TestParseDateNoAlloc(t *testing.T) {
	for _, in := range []string{"2025-04-16", "2025/4/16", "20250416", "16.04.2025", "-"} {
		if n := testing.AllocsPerRun(100, func() { _, _ = ParseDate(in, DateOptions{Order: DMY}) }); n != 0 {
			t.Errorf("ParseDate(%q) allocates %v times", in, n)
		}
	}
}
