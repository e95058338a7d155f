package clean

import (
	"math"
	"unicode/utf8"
)

// pow10 reaches 10^18: the largest shift (万亿, 12) plus the largest scale (3).
var pow10 = func() (p [19]int64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return
}()

// scanNumber reads Arabic digits with group separators and one decimal
// separator, as the locale says. Groups are checked, 1-3 digits then 3s, so
// that a value from a source configured with the wrong locale ("1,5" with
// the point) is refused rather than read 10x or 100x off.
func scanNumber(s string, i int, dec Decimal) (v int64, frac int, over bool, end int, reason string, err error) {
	decSep, altSep := byte('.'), byte(',')
	if dec == DecimalComma {
		decSep, altSep = ',', '.'
	}
	var groupSep byte
	groupLen, groups, inFrac := 0, 0, false
	digitNext := func(j int) bool { return j+1 < len(s) && s[j+1] >= '0' && s[j+1] <= '9' }
	j := i
loop:
	for ; j < len(s); j++ {
		c := s[j]
		switch {
		case c >= '0' && c <= '9':
			if v > (math.MaxInt64-9)/10 {
				over = true
			} else {
				v = v*10 + int64(c-'0')
			}
			if inFrac {
				frac++
			} else {
				groupLen++
			}
		case c == decSep && digitNext(j):
			if inFrac {
				return 0, 0, false, j, "more than one decimal separator " + quote(string(c)), ErrNotANumber
			}
			if groups > 0 && groupLen != 3 {
				return 0, 0, false, j, "digit groups must have 3 digits", ErrNotANumber
			}
			inFrac = true
		case (c == altSep || c == ' ' || c == '\'') && digitNext(j):
			if inFrac {
				return 0, 0, false, j, "group separator " + quote(string(c)) + " after the decimal separator", ErrNotANumber
			}
			if groupSep != 0 && c != groupSep {
				return 0, 0, false, j, "mixed group separators", ErrNotANumber
			}
			if (groups == 0 && groupLen > 3) || (groups > 0 && groupLen != 3) {
				return 0, 0, false, j, "digit groups must have 3 digits", ErrNotANumber
			}
			if groups == 0 && s[i] == '0' {
				// No one groups thousands after a leading 0: 0,125 is a
				// decimal comma from a source set to the wrong locale,
				// and read as 125 it would be a thousand times off.
				return 0, 0, false, j, "a digit group after a leading 0 (" + quote(string(c)) + " as a decimal separator? see the source's decimal option)", ErrNotANumber
			}
			groupSep = c
			groups++
			groupLen = 0
		default:
			break loop
		}
	}
	if groups > 0 && !inFrac && groupLen != 3 {
		return 0, 0, false, j, "digit groups must have 3 digits", ErrNotANumber
	}
	return v, frac, over, j, "", nil
}

// multiplier reads 十, 百, 千, then 万, then 亿, each at most once: 1.2万,
// 3百万, 5千万, 2亿, 1万亿. It returns the decimal exponent.
func multiplier(s string) (shift, n int, ok bool) {
	prev := 0
	for n < len(s) {
		r, size := utf8.DecodeRuneInString(s[n:])
		e := cnMultiplier(r)
		if e == 0 {
			break
		}
		if e <= prev || (e < 4 && prev != 0) {
			return 0, n + size, false
		}
		shift += e
		prev = e
		n += size
	}
	return shift, n, n > 0
}

func hasDigit(s string) bool {
	for _, r := range s {
		if (r >= '0' && r <= '9') || cnDigit(r) >= 0 {
			return true
		}
	}
	return false
}
