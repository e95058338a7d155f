package clickhouse

import (
	"math"
	"testing"
)

// TestAtColumnScale checks that an amount brought to the columns' scale
// keeps its value, and that one too large to scale in an int64 keeps it
// too (the column then refuses it as overflowing, as it did before).
func TestAtColumnScale(t *testing.T) {
	for _, tc := range []struct {
		minor int64
		scale uint8
		want  string
		exp   int32
	}{
		{123450, 2, "1234.5", -4},
		{-5, 2, "-0.05", -4},
		{7, 0, "7", -4},
		{1234, 3, "1.234", -4},
		{12345, 4, "1.2345", -4},
		{123456, 6, "0.123456", -6},                       // finer than the column: left for the column to refuse
		{math.MaxInt64 / 10, 2, "9223372036854775.8", -2}, // would overflow when scaled
		{math.MinInt64 / 10, 2, "-9223372036854775.8", -2},
	} {
		d := atColumnScale(tc.minor, tc.scale)
		if d.String() != tc.want || d.Exponent() != tc.exp {
			t.Errorf("atColumnScale(%d, %d) = %s (exponent %d), want %s (exponent %d)", tc.minor, tc.scale, d, d.Exponent(), tc.want, tc.exp)
		}
	}
}
