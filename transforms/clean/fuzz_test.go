package clean

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/erpflow/erpflow/pipeline/record"
)

// The seed corpora are in testdata/fuzz/<FuzzName>; the seeds here are the
// table cases, so that every form the tests name is a starting point.

var fuzzCurrencies = [...]record.Currency{{}, tCNY, tUSD, tJPY, tBHD, tHKD, tEUR}

var sentinels = [...]error{ErrNotANumber, ErrTooPrecise, ErrAmountRange, ErrUnknownCurrency,
	ErrCurrencyConflict, ErrNoCurrency, ErrNotADate, ErrNotATime, ErrNoSuchDay, ErrAmbiguousDate,
	ErrDateRange, ErrTimeRange, ErrNoTimeZone, ErrNoSuchTime, ErrNumberLookalike}

// checkError asserts what every refusal promises: a *ParseError naming the
// value as given and wrapping one of the sentinels.
func checkError(t *testing.T, typ, in string, err error) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Value != in || pe.Type != typ {
		t.Fatalf("%s %q: error %v is not a *ParseError naming the value", typ, in, err)
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			if msg := err.Error(); !strings.HasPrefix(msg, typ+" ") || !utf8.ValidString(msg) {
				t.Fatalf("%s %q: message %q", typ, in, msg)
			}
			return
		}
	}
	t.Fatalf("%s %q: error %v wraps no sentinel", typ, in, err)
}

func FuzzParseAmount(f *testing.F) {
	for _, c := range amountCases {
		f.Add(c.in, c.opt.Decimal == DecimalComma, uint8(1), uint8(0))
	}
	f.Fuzz(func(t *testing.T, in string, commaLocale bool, cur, mode uint8) {
		var opt AmountOptions
		if commaLocale {
			opt.Decimal = DecimalComma
		}
		c := fuzzCurrencies[int(cur)%len(fuzzCurrencies)]
		switch mode % 3 {
		case 0:
			opt.DefaultCurrency = c
		case 1:
			opt.Currency = c
		case 2:
			opt.YenSign = c
		}
		got, err := ParseAmount(in, opt)
		// Mapping parses the normal form it made already: the same answer.
		if pre, perr := ParseAmountNormalized(Normalize(in), opt); pre != got || (perr == nil) != (err == nil) {
			t.Fatalf("%q: %+v, %v normalised first, %+v, %v as it is", in, pre, perr, got, err)
		}
		if err != nil {
			checkError(t, "amount", in, err)
			return
		}
		if got.Missing {
			if !isBlank(Normalize(in)) {
				t.Fatalf("%q is Missing but not blank", in)
			}
			return
		}
		m := got.Money
		if !isKnown(m.Currency) || (!opt.Currency.IsZero() && m.Currency != opt.Currency) {
			t.Fatalf("%q: currency %v under %+v", in, m.Currency, opt)
		}
		if lim := record.MaxMajor * pow10[m.Currency.Scale()]; m.Minor >= lim || m.Minor <= -lim {
			t.Fatalf("%q: %v is out of range", in, m)
		}
		// The canonical text is what the record model reads, and reads back
		// to the same money.
		text := got.Format()
		if back, err := record.ParseMoney(text, m.Currency); err != nil || back != m {
			t.Fatalf("%q: canonical %q reads back as %v, %v", in, text, back, err)
		}
		if back, err := ParseAmount(text, AmountOptions{Currency: m.Currency}); err != nil || back.Money != m {
			t.Fatalf("%q: canonical %q parses back as %v, %v", in, text, back, err)
		}
		if again, err := ParseAmount(Normalize(in), opt); err != nil || again != got {
			t.Fatalf("%q: normalised first gives %v, %v", in, again, err)
		}
	})
}

// FuzzParseAmountPlain checks the parser against the record model's strict
// decimal reader: whatever that accepts, ParseAmount reads the same.
func FuzzParseAmountPlain(f *testing.F) {
	for _, s := range []string{"1234.50", "-0.01", "+7", "007", "99999999999999.99", "1.5", "12.345"} {
		f.Add(s, uint8(1))
	}
	f.Fuzz(func(t *testing.T, in string, cur uint8) {
		c := fuzzCurrencies[1+int(cur)%(len(fuzzCurrencies)-1)]
		want, werr := record.ParseMoney(in, c)
		got, err := ParseAmount(in, AmountOptions{Currency: c})
		if werr == nil && (err != nil || got.Money != want) {
			t.Fatalf("%q %v: record reads %v, ParseAmount %v, %v", in, c, want, got, err)
		}
	})
}

func FuzzParseDate(f *testing.F) {
	for _, c := range dateCases {
		f.Add(c.in, uint8(c.opt.Order), c.opt.Excel == Excel1904)
	}
	f.Fuzz(func(t *testing.T, in string, order uint8, mac bool) {
		opt := DateOptions{Order: DateOrder(order % 4), Excel: Excel1900}
		if mac {
			opt.Excel = Excel1904
		}
		got, err := ParseDate(in, opt)
		if pre, perr := ParseDateNormalized(Normalize(in), opt); pre != got || (perr == nil) != (err == nil) {
			t.Fatalf("%q: %+v, %v normalised first, %+v, %v as it is", in, pre, perr, got, err)
		}
		if err != nil {
			checkError(t, "date", in, err)
		} else if !got.Missing {
			if got.Date < 0 || got.Date > record.MaxDate {
				t.Fatalf("%q: %d is out of range", in, got.Date)
			}
			text := got.Format()
			if back, err := record.ParseDate(text); err != nil || back != got.Date {
				t.Fatalf("%q: canonical %q reads back as %v, %v", in, text, back, err)
			}
			if back, err := ParseDate(text, DateOptions{}); err != nil || back != got {
				t.Fatalf("%q: canonical %q parses back as %v, %v", in, text, back, err)
			}
		} else if n := Normalize(in); !isBlank(n) && !isZeroDate(n) {
			t.Fatalf("%q is Missing but not blank", in)
		}
		if want, werr := record.ParseDate(in); werr == nil && (err != nil || got.Date != want) {
			t.Fatalf("%q: record reads %v, ParseDate %v, %v", in, want, got, err)
		}
	})
}

func FuzzParseDateTime(f *testing.F) {
	for _, s := range []string{"2025-04-16T14:30:00+08:00", "2025-04-16 14:30:00", "2025年4月16日 下午2点30分",
		"1744785000", "1744785000123", "45763.604166667", "04/16/2025 2:30 PM", "11/02/2025 01:30",
		"2105-12-31T23:59:59Z", "20250416143000", "2025-04-16 14:30:00 UTC+8"} {
		f.Add(s, uint8(MDY), uint8(1))
	}
	zones := []*time.Location{nil, time.UTC, mustZone(f, "Asia/Shanghai"), mustZone(f, "America/New_York")}
	f.Fuzz(func(t *testing.T, in string, order, zone uint8) {
		opt := DateOptions{Order: DateOrder(order % 4), Excel: Excel1900, TZ: zones[int(zone)%len(zones)]}
		got, err := ParseDateTime(in, opt)
		if pre, perr := ParseDateTimeNormalized(Normalize(in), opt); !pre.Time.Equal(got.Time) || pre.Missing != got.Missing || (perr == nil) != (err == nil) {
			t.Fatalf("%q: %+v, %v normalised first, %+v, %v as it is", in, pre, perr, got, err)
		}
		if err != nil {
			checkError(t, "datetime", in, err)
		} else if !got.Missing {
			tm := got.Time
			if tm.Location() != time.UTC || tm.Nanosecond() != 0 || tm.Before(record.MinTime) || tm.After(record.MaxTime) {
				t.Fatalf("%q: %v is not a whole UTC second in range", in, tm)
			}
			text := got.Format()
			if back, err := time.Parse(time.RFC3339, text); err != nil || !back.Equal(tm) {
				t.Fatalf("%q: canonical %q reads back as %v, %v", in, text, back, err)
			}
			if back, err := ParseDateTime(text, DateOptions{}); err != nil || !back.Time.Equal(tm) {
				t.Fatalf("%q: canonical %q parses back as %v, %v", in, text, back, err)
			}
		}
		// Whatever RFC 3339 reads, in range and with a real-world offset,
		// reads the same here, to the second.
		want, werr := time.Parse(time.RFC3339, in)
		if werr != nil || want.Before(record.MinTime) || want.After(record.MaxTime) {
			return
		}
		if _, off := want.Zone(); off > 14*3600 || off < -14*3600 {
			return
		}
		// time.Parse takes offset minutes of 60 and more ("+00:60" as an
		// hour); RFC 3339 does not, and neither does ParseDateTime.
		if n := len(in); n >= 6 && (in[n-6] == '+' || in[n-6] == '-') && in[n-3] == ':' && in[n-2] >= '6' {
			return
		}
		if err != nil || !got.Time.Equal(want.Truncate(time.Second)) {
			t.Fatalf("%q: time.Parse reads %v, ParseDateTime %v, %v", in, want, got, err)
		}
	})
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"  a  b ", "\tx\n", "'q'", "１２３４．５０", "“上海”", "\u3000x\u3000", "e\u200b\u0301", `"'x'"`} {
		f.Add(s)
	}
	for _, s := range []string{"ＩＮＶ－２０２５\u3000００４２", "\u3000\u3000１\u3000\u3000２\u3000", "＂１２＂", "＇x＇", "１２\u00a0３", "ｅ\u0301", "～！"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n := Normalize(in)
		if Normalize(n) != n {
			t.Fatalf("Normalize(%q) = %q, not idempotent: %q", in, n, Normalize(n))
		}
		if strings.HasPrefix(n, " ") || strings.HasSuffix(n, " ") || strings.Contains(n, "  ") {
			t.Fatalf("Normalize(%q) = %q keeps spare spaces", in, n)
		}
		// The ASCII-only variant agrees wherever it answers, and declines
		// exactly the texts with a byte outside ASCII.
		a, ok := NormalizeASCII(in)
		if ok != (strings.IndexFunc(in, func(r rune) bool { return r >= utf8.RuneSelf }) < 0) {
			t.Fatalf("NormalizeASCII(%q) answered %v", in, ok)
		}
		if ok && a != n {
			t.Fatalf("NormalizeASCII(%q) = %q, Normalize = %q", in, a, n)
		}
		// Every shortcut agrees with the full NFKC path.
		if want := normalizeNFKC(in); n != want {
			t.Fatalf("Normalize(%q) = %q, by NFKC %q", in, n, want)
		}
		_ = MatchKey(in)
	})
}

// TestIsBlank pins which normalised values say "nothing here": every
// placeholder in either case, runs of dashes, the empty string; and not
// values that merely start like one.
func TestIsBlank(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"", true}, {"-", true}, {"---", true}, {"—", true}, {"–-―", true},
		{"n/a", true}, {"N/A", true}, {"na", true}, {"NA", true}, {"#N/A", true}, {"n.a.", true},
		{"null", true}, {"NULL", true}, {"None", true}, {"nil", true}, {"/", true},
		{"无", true}, {"空", true}, {"暂无", true}, {"不适用", true},
		{"-5", false}, {"0", false}, {"nan", false}, {"Nanjing", false}, {"#1", false}, {"/a", false},
		{"无锡", false}, {"空调", false}, {"暂停", false}, {"不锈钢", false}, {"不适用于", false},
		{"INV-1", false}, {"2025-04-16", false}, {"上海", false}, {"n", false}, {"nul", false},
	} {
		if got := isBlank(c.in); got != c.want {
			t.Errorf("isBlank(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}
