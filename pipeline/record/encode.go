package record

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends r's canonical JSON (docs/records.md) to dst. Keys come in
// a fixed order and optional fields are left out when empty, so equal records
// encode to equal bytes.
func AppendJSON(dst []byte, r *Record) []byte {
	dst = append(dst, '{')
	dst = kstr(dst, "kind", r.Kind.String())
	dst = kstr(dst, "company", r.Company)
	dst = kstr(dst, "source", r.Source)
	dst = kstr(dst, "id", r.ID)
	dst = append(dst, `"version":`...)
	dst = strconv.AppendUint(dst, r.Version, 10)
	dst = append(dst, ',')
	dst = ktime(dst, "event_time", r.EventTime)
	dst = append(dst, `"body":`...)
	dst = r.Body.appendJSON(dst)
	return append(dst, '}')
}

// Marshal returns r's canonical JSON.
func Marshal(r *Record) []byte { return AppendJSON(make([]byte, 0, 512), r) }

// closeObj ends an object whose last member left a trailing comma.
func closeObj(dst []byte) []byte {
	if n := len(dst); n > 0 && dst[n-1] == ',' {
		dst[n-1] = '}'
		return dst
	}
	return append(dst, '}')
}

func key(dst []byte, k string) []byte {
	dst = append(dst, '"')
	dst = append(dst, k...)
	return append(dst, '"', ':')
}

func kstr(dst []byte, k, v string) []byte {
	dst = key(dst, k)
	dst = appendString(dst, v)
	return append(dst, ',')
}

// kopt writes a string member only when it is not empty.
func kopt(dst []byte, k, v string) []byte {
	if v == "" {
		return dst
	}
	return kstr(dst, k, v)
}

func kdate(dst []byte, k string, d Date) []byte {
	dst = key(dst, k)
	dst = append(dst, '"')
	dst = d.Append(dst)
	return append(dst, '"', ',')
}

func kdateOpt(dst []byte, k string, d Date) []byte {
	if d == NoDate {
		return dst
	}
	return kdate(dst, k, d)
}

func ktime(dst []byte, k string, t time.Time) []byte {
	dst = key(dst, k)
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"', ',')
}

func kuint(dst []byte, k string, v uint32) []byte {
	dst = key(dst, k)
	dst = strconv.AppendUint(dst, uint64(v), 10)
	return append(dst, ',')
}

func kbool(dst []byte, k string, v bool) []byte {
	dst = key(dst, k)
	dst = strconv.AppendBool(dst, v)
	return append(dst, ',')
}

func kmoney(dst []byte, k string, m Money) []byte {
	dst = key(dst, k)
	dst = append(dst, `{"amount":"`...)
	dst = m.AppendAmount(dst)
	dst = append(dst, `","currency":"`...)
	if !m.Currency.IsZero() { // an unset currency is "", never NUL bytes
		dst = append(dst, m.Currency[:]...)
	}
	return append(dst, `"},`...)
}

func kmoneyOpt(dst []byte, k string, m Money) []byte {
	if m.IsZero() {
		return dst
	}
	return kmoney(dst, k, m)
}

func kfixed(dst []byte, k string, f Fixed) []byte {
	dst = key(dst, k)
	dst = append(dst, '"')
	dst = f.Append(dst)
	return append(dst, '"', ',')
}

func kparty(dst []byte, k string, p Party) []byte {
	dst = key(dst, k)
	dst = append(dst, '{')
	dst = kopt(dst, "id", p.ID)
	dst = kopt(dst, "name", p.Name)
	dst = kopt(dst, "account", p.Account)
	return append(closeObj(dst), ',')
}

func kpartyOpt(dst []byte, k string, p Party) []byte {
	if p.ID == "" && p.Name == "" && p.Account == "" {
		return dst
	}
	return kparty(dst, k, p)
}

func kstrs(dst []byte, k string, v []string) []byte {
	if len(v) == 0 {
		return dst
	}
	dst = key(dst, k)
	dst = append(dst, '[')
	for i, s := range v {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	return append(dst, ']', ',')
}

func klines(dst []byte, k string, lines []Line) []byte {
	if len(lines) == 0 {
		return dst
	}
	dst = key(dst, k)
	dst = append(dst, '[')
	for i := range lines {
		l := &lines[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		dst = kstr(dst, "sku", l.SKU)
		dst = kopt(dst, "description", l.Description)
		dst = kfixed(dst, "quantity", l.Quantity)
		if l.UnitPrice != 0 {
			dst = kfixed(dst, "unit_price", l.UnitPrice)
		}
		dst = kmoneyOpt(dst, "amount", l.Amount)
		dst = closeObj(dst)
	}
	return append(dst, ']', ',')
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string. Non-ASCII text stays as UTF-8 so
// that Chinese names remain readable in the topic; invalid bytes become U+FFFD.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript consumers.
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\u202`...)
			dst = append(dst, hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
