package mapping

import (
	"regexp"
	"testing"
)

// The shapes numberShape writes out, as regular expressions: the fuzz
// test below holds the two equal.
var (
	pointShape = regexp.MustCompile(`^[-+]?(\d+|[1-9]\d{0,2}(,\d{3})+)(\.\d+)?$`)
	commaShape = regexp.MustCompile(`^[-+]?(\d+|[1-9]\d{0,2}(\.\d{3})+)(,\d+)?$`)
)

func TestNumberShape(t *testing.T) {
	for _, tc := range []struct {
		s            string
		point, comma bool
	}{
		{"1234", true, true},
		{"1,234", true, true}, // a comma-decimal source reads it as 1.234
		{"1,234.50", true, false},
		{"1.234,50", false, true},
		{"-12,345,678.9", true, false},
		{"+0.5", true, false},
		{"1,5", false, true},
		{"12345,678", false, true},
		{"1,2345", false, true},
		{"1234,567.8", false, false},
		{"1.", false, false},
		{".5", false, false},
		{"", false, false},
		{"-", false, false},
		{"1,234,", false, false},
		{"１２３", false, false}, // full-width digits are normalised before, never here
		{"1 234", false, false},
		// A group after a leading 0 is a decimal separator of the other
		// locale: 0,125 read as thousands would be 125.
		{"0,125", false, true},
		{"00,123", false, true},
		{"0.125", true, false},
		{"0,890.00", false, false},
	} {
		if got := numberShape(tc.s, ',', '.'); got != tc.point {
			t.Errorf("numberShape(%q, point decimal) = %v, want %v", tc.s, got, tc.point)
		}
		if got := numberShape(tc.s, '.', ','); got != tc.comma {
			t.Errorf("numberShape(%q, comma decimal) = %v, want %v", tc.s, got, tc.comma)
		}
	}
}

func FuzzNumberShape(f *testing.F) {
	for _, s := range []string{"1,234.50", "1.234,50", "-12", "1,5", "12345,678", "+1.2.3", "1,,234", "999,999,999.999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := numberShape(s, ',', '.'), pointShape.MatchString(s); got != want {
			t.Fatalf("numberShape(%q, point decimal) = %v, the expression says %v", s, got, want)
		}
		if got, want := numberShape(s, '.', ','), commaShape.MatchString(s); got != want {
			t.Fatalf("numberShape(%q, comma decimal) = %v, the expression says %v", s, got, want)
		}
	})
}
