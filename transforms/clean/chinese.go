package clean

import "unicode/utf8"

// cnDigit is the value of a Chinese digit, financial (壹贰叁, also the
// traditional 貳參陸) or everyday (一二三), or -1.
func cnDigit(r rune) int {
	switch r {
	case '零', '〇':
		return 0
	case '壹', '一':
		return 1
	case '贰', '貳', '二', '两', '兩':
		return 2
	case '叁', '叄', '參', '参', '三':
		return 3
	case '肆', '四':
		return 4
	case '伍', '五':
		return 5
	case '陆', '陸', '六':
		return 6
	case '柒', '七':
		return 7
	case '捌', '八':
		return 8
	case '玖', '九':
		return 9
	}
	return -1
}

// cnUnit is the value of a Chinese numeral unit, or 0.
func cnUnit(r rune) int64 {
	switch r {
	case '拾', '十':
		return 10
	case '佰', '百':
		return 100
	case '仟', '千':
		return 1000
	case '万', '萬':
		return 10_000
	case '亿', '億':
		return 100_000_000
	}
	return 0
}

// cnMultiplier is the decimal exponent of a unit written after Arabic
// digits (1.2万), or 0.
func cnMultiplier(r rune) int {
	switch r {
	case '十':
		return 1
	case '百':
		return 2
	case '千':
		return 3
	case '万', '萬':
		return 4
	case '亿', '億':
		return 8
	}
	return 0
}

// cnAmount is an amount in Chinese numerals: whole units, 角 and 分.
type cnAmount struct {
	int       int64
	jiao, fen int
	yuan      bool // the 元 unit was written
	unit      bool // 元, 角 or 分 was written: the amount is in yuan
}

// parseCNAmount reads 壹仟贰佰叁拾肆元伍角整 from s[i:] up to the first rune
// that is not part of it.
func parseCNAmount(s string, i int) (a cnAmount, end int, reason string, err error) {
	v, j, digits, reason, err := parseCNInt(s, i, true)
	if err != nil {
		return a, j, reason, err
	}
	a.int = v
	if r, size := utf8.DecodeRuneInString(s[j:]); r == '元' || r == '圆' {
		a.yuan = true
		j += size
	}
	j = skipZero(s, j)
	if d, n := cnDigitBefore(s, j, '角'); n > 0 {
		a.jiao, j = d, skipZero(s, j+n)
	}
	if d, n := cnDigitBefore(s, j, '分'); n > 0 {
		a.fen, j = d, j+n
	}
	a.unit = a.yuan || a.jiao != 0 || a.fen != 0
	switch {
	case digits == 0 && j == i:
		return a, j, "no digits", ErrNotANumber
	case digits > 0 && !a.yuan && (a.jiao != 0 || a.fen != 0):
		return a, j, "角 or 分 without 元", ErrNotANumber
	}
	return a, j, "", nil
}

func skipZero(s string, j int) int {
	for j < len(s) {
		r, size := utf8.DecodeRuneInString(s[j:])
		if r != '零' && r != '〇' {
			break
		}
		j += size
	}
	return j
}

// cnDigitBefore reads a digit followed by unit at s[j:], returning the
// digit and the bytes both take, or 0, 0.
func cnDigitBefore(s string, j int, unit rune) (int, int) {
	r, size := utf8.DecodeRuneInString(s[j:])
	d := cnDigit(r)
	if d < 0 {
		return 0, 0
	}
	if u, usize := utf8.DecodeRuneInString(s[j+size:]); u == unit {
		return d, size + usize
	}
	return 0, 0
}

// parseCNInt reads a whole number in Chinese numerals (壹万零贰佰, 十六,
// 三千五百万) from s[i:]. It is strict where a reading would be a guess: a
// digit after a unit above 十 with no 零 between is an elided unit in
// speech (一千二 is 1200, or 1002 to some), and is refused. stopAtFraction
// leaves a digit followed by 角 or 分 unread. digits counts the numerals
// other than 零 that were read.
func parseCNInt(s string, i int, stopAtFraction bool) (v int64, end, digits int, reason string, err error) {
	var total, section, lastUnit int64
	lastSmall := int64(10_000)
	digit, zero, wan, yi := -1, false, false, false
	pending := func() (int64, bool) {
		if digit < 0 {
			return 0, true
		}
		return int64(digit), lastUnit == 0 || lastUnit == 10 || zero
	}
	j := i
	for j < len(s) {
		r, size := utf8.DecodeRuneInString(s[j:])
		if d := cnDigit(r); d >= 0 {
			switch {
			case d == 0 && digit > 0:
				return 0, j, digits, "零 right after a digit", ErrNotANumber
			case d == 0:
				zero = true
			case digit >= 0:
				return 0, j, digits, "two digits in a row", ErrNotANumber
			default:
				if stopAtFraction {
					if nr, _ := utf8.DecodeRuneInString(s[j+size:]); nr == '角' || nr == '分' {
						return total + section, j, digits, "", nil
					}
				}
				digit = d
				digits++
			}
			j += size
			continue
		}
		u := cnUnit(r)
		if u == 0 {
			break
		}
		switch u {
		case 10_000, 100_000_000:
			p, ok := pending()
			if !ok {
				return 0, j, digits, "a digit after a unit without 零 is ambiguous", ErrNotANumber
			}
			n := section + p
			if u == 100_000_000 {
				if yi {
					return 0, j, digits, "亿 twice", ErrNotANumber
				}
				n += total
				total, yi, wan = 0, true, false
			} else if wan {
				return 0, j, digits, "万 twice", ErrNotANumber
			} else {
				wan = true
			}
			if n == 0 {
				return 0, j, digits, "a unit without a number", ErrNotANumber
			}
			total += n * u
			section, lastSmall = 0, 10_000
		default:
			p := int64(digit)
			if digit < 0 {
				if u != 10 || total != 0 || section != 0 || zero {
					return 0, j, digits, "a unit without a digit", ErrNotANumber
				}
				p = 1 // 十六 is 16
				digits++
			}
			if u >= lastSmall {
				return 0, j, digits, "units out of order", ErrNotANumber
			}
			section += p * u
			lastSmall = u
		}
		lastUnit, digit, zero = u, -1, false
		j += size
	}
	p, ok := pending()
	if !ok {
		return 0, j, digits, "a digit after a unit without 零 is ambiguous", ErrNotANumber
	}
	return total + section + p, j, digits, "", nil
}
