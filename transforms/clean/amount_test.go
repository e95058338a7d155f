package clean

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/erpflow/erpflow/pipeline/record"
)

var (
	tCNY = record.MustCurrency("CNY")
	tUSD = record.MustCurrency("USD")
	tJPY = record.MustCurrency("JPY")
	tHKD = record.MustCurrency("HKD")
	tEUR = record.MustCurrency("EUR")
	tBHD = record.MustCurrency("BHD")
)

// amountCase is one value under one configuration: want is the canonical
// String (amount and currency), or err the sentinel it must wrap.
type amountCase struct {
	in   string
	opt  AmountOptions
	want string
	err  error
}

var (
	defCNY = AmountOptions{DefaultCurrency: tCNY}
	comma  = AmountOptions{Decimal: DecimalComma, DefaultCurrency: tEUR}
)

var amountCases = []amountCase{
	// Plain and grouped, point locale.
	{"1234.50", defCNY, "1234.50 CNY", nil},
	{"1,234.50", defCNY, "1234.50 CNY", nil},
	{"1,234,567.89", defCNY, "1234567.89 CNY", nil},
	{"1 234.50", defCNY, "1234.50 CNY", nil},
	{"1'234.50", defCNY, "1234.50 CNY", nil},
	{"0.01", defCNY, "0.01 CNY", nil},
	{"0", defCNY, "0.00 CNY", nil},
	{"007", defCNY, "7.00 CNY", nil},
	{"+12", defCNY, "12.00 CNY", nil},
	{"1,234", defCNY, "1234.00 CNY", nil},
	{"1.234", defCNY, "", ErrTooPrecise},
	{"1.234", AmountOptions{Currency: tBHD}, "1.234 BHD", nil},
	{"12.345", defCNY, "", ErrTooPrecise},
	{"12.340", defCNY, "", ErrTooPrecise},
	{"1200.00", AmountOptions{Currency: tJPY}, "", ErrTooPrecise},
	{"1,5", defCNY, "", ErrNotANumber},
	// A group after a leading 0 is a decimal separator of another locale:
	// read as thousands it would be a thousand times off.
	{"0,125", AmountOptions{Currency: tBHD}, "", ErrNotANumber},
	{"0,500.00", defCNY, "", ErrNotANumber},
	{"00,123", defCNY, "", ErrNotANumber},
	{"0.123", comma, "", ErrNotANumber},
	{"10,500.00", defCNY, "10500.00 CNY", nil},
	{"0,12", comma, "0.12 EUR", nil},
	{"12,34", defCNY, "", ErrNotANumber},
	{"1234,567", defCNY, "", ErrNotANumber},
	{"1,234,5", defCNY, "", ErrNotANumber},
	{"1,234 567", defCNY, "", ErrNotANumber},
	{"1.234.567", defCNY, "", ErrNotANumber},
	{"1.234,50", defCNY, "", ErrNotANumber},
	{"12.", defCNY, "", ErrNotANumber},
	{".5", defCNY, "", ErrNotANumber},
	{"1.2E+04", defCNY, "", ErrNotANumber},
	{"abc", defCNY, "", ErrNotANumber},
	{"CNY", defCNY, "", ErrNotANumber},
	{"12 apples", defCNY, "", ErrNotANumber},
	// Comma locale.
	{"1.234,50", comma, "1234.50 EUR", nil},
	{"1.234", comma, "1234.00 EUR", nil},
	{"1 234,5", comma, "1234.50 EUR", nil},
	{"12,5", comma, "12.50 EUR", nil},
	{"1,234.50", comma, "", ErrNotANumber},
	{"1.23,4", comma, "", ErrNotANumber},
	// Currencies in the value.
	{"¥1,234.50", AmountOptions{}, "1234.50 CNY", nil},
	{"￥1,234.50", AmountOptions{}, "1234.50 CNY", nil},
	{"RMB 1234.5", AmountOptions{}, "1234.50 CNY", nil},
	{"rmb1234.5", AmountOptions{}, "1234.50 CNY", nil},
	{"1234.5元", AmountOptions{}, "1234.50 CNY", nil},
	{"CNY1234.50", AmountOptions{}, "1234.50 CNY", nil},
	{"1234.50 CNY", AmountOptions{}, "1234.50 CNY", nil},
	{"人民币1234.50", AmountOptions{}, "1234.50 CNY", nil},
	{"$1,234.50", AmountOptions{}, "1234.50 USD", nil},
	{"US$1,234.50", AmountOptions{}, "1234.50 USD", nil},
	{"USD 12.5", AmountOptions{}, "12.50 USD", nil},
	{"usd 12.5", AmountOptions{}, "12.50 USD", nil},
	{"12.5 美元", AmountOptions{}, "12.50 USD", nil},
	{"€1.234,50", AmountOptions{Decimal: DecimalComma}, "1234.50 EUR", nil},
	{"1.234,50 €", AmountOptions{Decimal: DecimalComma}, "1234.50 EUR", nil},
	{"£99", AmountOptions{}, "99.00 GBP", nil},
	{"HK$100", AmountOptions{}, "100.00 HKD", nil},
	{"100港币", AmountOptions{}, "100.00 HKD", nil},
	{"JPY 1500", AmountOptions{}, "1500 JPY", nil},
	{"1500円", AmountOptions{}, "1500 JPY", nil},
	{"1500日元", AmountOptions{}, "1500 JPY", nil},
	{"BHD 1.234", AmountOptions{}, "1.234 BHD", nil},
	{"1234.50", AmountOptions{}, "", ErrNoCurrency},
	{"XYZ 12", AmountOptions{}, "", ErrUnknownCurrency},
	{"12 xyz", defCNY, "", ErrUnknownCurrency},
	// Ambiguous signs follow the configuration.
	{"¥1500", AmountOptions{Currency: tJPY}, "1500 JPY", nil},
	{"¥1500", AmountOptions{DefaultCurrency: tJPY}, "1500 JPY", nil},
	{"¥1500", AmountOptions{YenSign: tJPY}, "1500 JPY", nil},
	{"¥1500", AmountOptions{YenSign: tJPY, Currency: tCNY}, "", ErrCurrencyConflict},
	{"$100", AmountOptions{Currency: tHKD}, "100.00 HKD", nil},
	{"$100", AmountOptions{DefaultCurrency: tHKD}, "100.00 HKD", nil},
	{"$100 HKD", AmountOptions{}, "100.00 HKD", nil},
	{"$100 EUR", AmountOptions{}, "", ErrCurrencyConflict},
	{"100元", AmountOptions{Currency: tHKD}, "100.00 HKD", nil},
	{"¥100 CNY", AmountOptions{}, "100.00 CNY", nil},
	{"¥100元", AmountOptions{}, "100.00 CNY", nil},
	{"$100元", AmountOptions{}, "", ErrCurrencyConflict},
	{"¥100元", AmountOptions{Currency: tJPY}, "", ErrCurrencyConflict},
	{"HK$100元", AmountOptions{}, "100.00 HKD", nil},
	// Forced currency.
	{"1234.50", AmountOptions{Currency: tUSD}, "1234.50 USD", nil},
	{"USD 12.5", AmountOptions{Currency: tUSD}, "12.50 USD", nil},
	{"USD 12.5", AmountOptions{Currency: tCNY}, "", ErrCurrencyConflict},
	{"¥12.5", AmountOptions{Currency: tUSD}, "", ErrCurrencyConflict},
	{"USD 12.5 CNY", AmountOptions{}, "", ErrCurrencyConflict},
	{"USD 12.5", defCNY, "12.50 USD", nil},
	{"USD USD 12.5 USD", defCNY, "", ErrNotANumber},
	// Signs.
	{"(1,234.50)", defCNY, "-1234.50 CNY", nil},
	{"（1,234.50）", defCNY, "-1234.50 CNY", nil},
	{"1234.50-", defCNY, "-1234.50 CNY", nil},
	{"-1234.50", defCNY, "-1234.50 CNY", nil},
	{"−1234.50", defCNY, "-1234.50 CNY", nil},
	{"-¥1,234.50", AmountOptions{}, "-1234.50 CNY", nil},
	{"¥-1,234.50", AmountOptions{}, "-1234.50 CNY", nil},
	{"¥(1,234.50)", AmountOptions{}, "-1234.50 CNY", nil},
	{"(¥1,234.50)", AmountOptions{}, "-1234.50 CNY", nil},
	{"1234.50 CNY-", AmountOptions{}, "-1234.50 CNY", nil},
	{"-0.00", defCNY, "0.00 CNY", nil},
	{"--1", defCNY, "", ErrNotANumber},
	{"-1234.50-", defCNY, "", ErrNotANumber},
	{"(-1234.50)", defCNY, "", ErrNotANumber},
	{"(1234.50", defCNY, "", ErrNotANumber},
	{"1234.50)", defCNY, "", ErrNotANumber},
	// Multipliers.
	{"1.2万", defCNY, "12000.00 CNY", nil},
	{"1.2 万", defCNY, "12000.00 CNY", nil},
	{"1.2万元", AmountOptions{}, "12000.00 CNY", nil},
	{"¥1.2万", AmountOptions{}, "12000.00 CNY", nil},
	{"3亿", defCNY, "300000000.00 CNY", nil},
	{"2.5亿元", AmountOptions{}, "250000000.00 CNY", nil},
	{"1.23456万", defCNY, "12345.60 CNY", nil},
	{"1.234567万", defCNY, "12345.67 CNY", nil},
	{"1.2345678万", defCNY, "", ErrTooPrecise},
	{"3百万", defCNY, "3000000.00 CNY", nil},
	{"5千万", defCNY, "50000000.00 CNY", nil},
	{"1万亿", defCNY, "1000000000000.00 CNY", nil},
	{"1.5萬", defCNY, "15000.00 CNY", nil},
	{"1.5万", AmountOptions{Currency: tJPY}, "15000 JPY", nil},
	{"-1.2万", defCNY, "-12000.00 CNY", nil},
	{"1万万", defCNY, "", ErrNotANumber},
	{"1亿万", defCNY, "", ErrNotANumber},
	{"1百千", defCNY, "", ErrNotANumber},
	{"1元万", defCNY, "", ErrNotANumber},
	// Full width.
	{"１，２３４．５０", defCNY, "1234.50 CNY", nil},
	{"￥１２３４．５", AmountOptions{}, "1234.50 CNY", nil},
	{"－１２３４", defCNY, "-1234.00 CNY", nil},
	{"\u3000 1,234.50 \u3000", defCNY, "1234.50 CNY", nil},
	{`"1,234.50"`, defCNY, "1234.50 CNY", nil},
	// Chinese numerals.
	{"壹仟贰佰叁拾肆元伍角整", AmountOptions{}, "1234.50 CNY", nil},
	{"人民币贰万元整", AmountOptions{}, "20000.00 CNY", nil},
	{"人民币 贰万元整", AmountOptions{}, "20000.00 CNY", nil},
	{"壹佰元零伍分", AmountOptions{}, "100.05 CNY", nil},
	{"壹佰元伍角伍分", AmountOptions{}, "100.55 CNY", nil},
	{"壹万零贰拾元整", AmountOptions{}, "10020.00 CNY", nil},
	{"壹拾万元整", AmountOptions{}, "100000.00 CNY", nil},
	{"拾万元整", AmountOptions{}, "100000.00 CNY", nil},
	{"壹亿零伍佰万元正", AmountOptions{}, "105000000.00 CNY", nil},
	{"叁仟零伍元整", AmountOptions{}, "3005.00 CNY", nil},
	{"零元整", AmountOptions{}, "0.00 CNY", nil},
	{"伍角", AmountOptions{}, "0.50 CNY", nil},
	{"伍角叁分", AmountOptions{}, "0.53 CNY", nil},
	{"叁分", AmountOptions{}, "0.03 CNY", nil},
	{"一千二百元", AmountOptions{}, "1200.00 CNY", nil},
	{"十五元", AmountOptions{}, "15.00 CNY", nil},
	{"两万元", AmountOptions{}, "20000.00 CNY", nil},
	{"贰拾亿元整", AmountOptions{}, "2000000000.00 CNY", nil},
	{"壹仟贰佰叁拾肆", defCNY, "1234.00 CNY", nil},
	{"负壹佰元整", AmountOptions{}, "-100.00 CNY", nil},
	{"美元壹仟元整", AmountOptions{}, "1000.00 USD", nil},
	{"壹仟元整", AmountOptions{Currency: tHKD}, "1000.00 HKD", nil},
	{"壹仟元伍角", AmountOptions{Currency: tJPY}, "", ErrTooPrecise},
	{"壹仟贰", AmountOptions{}, "", ErrNotANumber},
	{"壹仟贰万", AmountOptions{}, "", ErrNotANumber},
	{"壹壹元", AmountOptions{}, "", ErrNotANumber},
	{"伍零元", AmountOptions{}, "", ErrNotANumber},
	{"佰元", AmountOptions{}, "", ErrNotANumber},
	{"壹拾佰元", AmountOptions{}, "", ErrNotANumber},
	{"壹万壹万元", AmountOptions{}, "", ErrNotANumber},
	{"壹亿壹亿元", AmountOptions{}, "", ErrNotANumber},
	{"壹佰伍角", AmountOptions{}, "", ErrNotANumber},
	{"壹佰元伍", AmountOptions{}, "", ErrNotANumber},
	{"玖仟玖佰玖拾玖万玖仟玖佰玖拾玖亿元整", AmountOptions{}, "", ErrAmountRange},
	// Range.
	{"99999999999999.99", defCNY, "99999999999999.99 CNY", nil},
	{"-99999999999999.99", defCNY, "-99999999999999.99 CNY", nil},
	{"100000000000000", defCNY, "", ErrAmountRange},
	{"100,000,000,000,000.00", defCNY, "", ErrAmountRange},
	{"99999999999999999999999", defCNY, "", ErrAmountRange},
	{"1万亿亿", defCNY, "", ErrNotANumber},
	{"99999.99亿", defCNY, "9999999000000.00 CNY", nil},
	{"1000000亿", defCNY, "", ErrAmountRange},
	// Missing.
	{"", defCNY, Missing, nil},
	{"   ", defCNY, Missing, nil},
	{"-", defCNY, Missing, nil},
	{"--", defCNY, Missing, nil},
	{"—", defCNY, Missing, nil},
	{"——", defCNY, Missing, nil},
	{"N/A", defCNY, Missing, nil},
	{"n/a", AmountOptions{}, Missing, nil},
	{"#N/A", defCNY, Missing, nil},
	{"无", defCNY, Missing, nil},
	{"NULL", defCNY, Missing, nil},
	{`""`, defCNY, Missing, nil},
}

func TestParseAmount(t *testing.T) {
	for _, c := range amountCases {
		got, err := ParseAmount(c.in, c.opt)
		if c.err != nil {
			var pe *ParseError
			if !errors.Is(err, c.err) || !errors.As(err, &pe) {
				t.Errorf("ParseAmount(%q, %+v) = %v, %v; want error %v", c.in, c.opt, got, err, c.err)
				continue
			}
			if pe.Value != c.in || !strings.Contains(err.Error(), c.err.Error()) || !strings.HasPrefix(err.Error(), "amount ") {
				t.Errorf("ParseAmount(%q): error %q does not name the value and reason", c.in, err)
			}
			continue
		}
		if err != nil || got.String() != c.want {
			t.Errorf("ParseAmount(%q, %+v) = %q, %v; want %q", c.in, c.opt, got.String(), err, c.want)
		}
	}
}

func TestAmountFormat(t *testing.T) {
	for _, c := range []struct {
		a    Amount
		want string
	}{
		{Amount{Missing: true}, "MISSING"},
		{Amount{Money: record.Money{Minor: 123450, Currency: tCNY}}, "1234.50"},
		{Amount{Money: record.Money{Minor: -2000000, Currency: tCNY}}, "-20000.00"},
		{Amount{Money: record.Money{Minor: 5, Currency: tCNY}}, "0.05"},
		{Amount{Money: record.Money{Minor: 1500, Currency: tJPY}}, "1500"},
		{Amount{Money: record.Money{Minor: 1234, Currency: tBHD}}, "1.234"},
	} {
		if got := c.a.Format(); got != c.want {
			t.Errorf("Format(%+v) = %q; want %q", c.a, got, c.want)
		}
		if got := string(c.a.AppendFormat([]byte("x"))); got != "x"+c.want {
			t.Errorf("AppendFormat = %q", got)
		}
	}
}

func TestAmountErrorMessage(t *testing.T) {
	for in, want := range map[string]string{
		"12.345":   `amount "12.345": more decimal places than allowed (3 decimal places, CNY has 2)`,
		"USD 12.5": `amount "USD 12.5": currency conflicts (the value is in USD, the source in CNY)`,
		"1,5":      `amount "1,5": not an amount (digit groups must have 3 digits)`,
	} {
		_, err := ParseAmount(in, AmountOptions{Currency: tCNY})
		if err == nil || err.Error() != want {
			t.Errorf("ParseAmount(%q) error = %v; want %s", in, err, want)
		}
	}
	long := strings.Repeat("9", 200)
	_, err := ParseAmount(long, defCNY)
	if err == nil || len(err.Error()) > 150 || !strings.Contains(err.Error(), "…") {
		t.Errorf("long value: error %q is not clipped", err)
	}
}

func TestAmountOptions(t *testing.T) {
	if err := (AmountOptions{Currency: tCNY, DefaultCurrency: tJPY, YenSign: tJPY}).Validate(); err != nil {
		t.Error(err)
	}
	for _, o := range []AmountOptions{{Currency: record.Currency{'X', 'X', 'X'}},
		{DefaultCurrency: record.Currency{'Z', 'Z', 'Z'}}, {Decimal: 7}} {
		if err := o.Validate(); !errors.Is(err, ErrUnknownCurrency) && !errors.Is(err, ErrBadOption) {
			t.Errorf("Validate(%+v) = %v", o, err)
		}
	}
	for in, want := range map[string]Decimal{"point": DecimalPoint, ".": DecimalPoint, "comma": DecimalComma, ",": DecimalComma} {
		if got, err := ParseDecimal(in); err != nil || got != want {
			t.Errorf("ParseDecimal(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseDecimal("dot"); !errors.Is(err, ErrBadOption) {
		t.Errorf("ParseDecimal(dot) = %v", err)
	}
}

// The common ASCII forms are parsed on every field of every record.
func TestParseAmountNoAlloc(t *testing.T) {
	for _, in := range []string{"1234.50", "1,234.50", "¥1,234.50", "RMB 1234.5", "(1,234.50)", "USD 12.5", "-"} {
		n := testing.AllocsPerRun(100, func() { _, _ = ParseAmount(in, defCNY) })
		if n != 0 && in != "¥1,234.50" {
			t.Errorf("ParseAmount(%q) allocates %v times", in, n)
		}
	}
}

// TestErrorsAreBounded: a message quotes at most the head of a value, and
// of the part it could not read: a megabyte of junk gives a short message.
func TestErrorsAreBounded(t *testing.T) {
	junk := "1" + strings.Repeat("x", 1<<20)
	_, aerr := ParseAmount(junk, defCNY)
	_, derr := ParseDateTime("2025-04-16 14:30 "+strings.Repeat("y", 1<<20), DateOptions{TZ: time.UTC})
	for _, err := range []error{aerr, derr} {
		if err == nil || len(err.Error()) > 600 || !utf8.ValidString(err.Error()) {
			t.Errorf("error of %d bytes: %.200q", len(fmt.Sprint(err)), fmt.Sprint(err))
		}
	}
}
