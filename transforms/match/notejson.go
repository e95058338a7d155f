package match

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// The notes on the matches and exceptions topics are written by hand, byte
// for byte as encoding/json writes MatchNote and ExceptionNote (field
// order, omitempty, HTML-safe escapes, ES6 numbers): json.Marshal spent
// some 15,000 instructions a note on reflection, a tenth of the matching
// stage. TestNotesAsEncodingJSON and FuzzNotesAsEncodingJSON hold the two
// equal.

// appendMatchNote appends n as JSON, or returns nil for a score that is
// not a number, as json.Marshal refuses it.
func appendMatchNote(b []byte, n *MatchNote) []byte {
	if math.IsNaN(n.Score) || math.IsInf(n.Score, 0) {
		return nil
	}
	b = jsonField(b, '{', "match_id", n.MatchID)
	b = jsonField(b, ',', "company", n.Company)
	b = jsonField(b, ',', "bank_line", n.BankLine)
	b = jsonField(b, ',', "outcome", n.Outcome)
	if n.DecidedBy != "" {
		b = jsonField(b, ',', "decided_by", n.DecidedBy)
	}
	b = jsonField(b, ',', "amount", n.Amount)
	b = jsonField(b, ',', "currency", n.Currency)
	b = jsonField(b, ',', "rule", n.Rule)
	b = append(b, `,"rules_version":`...)
	b = strconv.AppendInt(b, int64(n.RulesVersion), 10)
	b = append(b, `,"score":`...)
	b = appendJSONFloat(b, n.Score)
	b = append(b, `,"applied":`...)
	b = appendParts(b, n.Applied)
	b = append(b, `,"criteria":`...)
	b = appendCriteria(b, n.Criteria)
	return append(b, '}')
}

// appendExceptionNote appends n as JSON.
func appendExceptionNote(b []byte, n *ExceptionNote) []byte {
	b = jsonField(b, '{', "exception_id", n.ExceptionID)
	b = jsonField(b, ',', "company", n.Company)
	b = jsonField(b, ',', "type", n.Type)
	if n.Reason != "" {
		b = jsonField(b, ',', "reason", n.Reason)
	}
	b = jsonField(b, ',', "status", n.Status)
	b = jsonField(b, ',', "subject", n.Subject)
	for _, f := range [...]struct{ name, v string }{{"related", n.Related}, {"amount", n.Amount}, {"currency", n.Currency}} {
		if f.v != "" {
			b = jsonField(b, ',', f.name, f.v)
		}
	}
	b = jsonField(b, ',', "date", n.Date)
	b = jsonField(b, ',', "next_step", n.NextStep)
	if len(n.Criteria) > 0 {
		b = append(b, `,"criteria":`...)
		b = appendCriteria(b, n.Criteria)
	}
	return append(b, '}')
}

func appendParts(b []byte, ps []NotePart) []byte {
	if ps == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, p := range ps {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonField(b, '{', "kind", p.Kind)
		b = jsonField(b, ',', "id", p.ID)
		b = jsonField(b, ',', "amount", p.Amount)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendCriteria(b []byte, cs []NoteCriterion) []byte {
	if cs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, c := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonField(b, '{', "name", c.Name)
		b = append(b, `,"pass":`...)
		b = strconv.AppendBool(b, c.Pass)
		b = jsonField(b, ',', "detail", c.Detail)
		b = append(b, '}')
	}
	return append(b, ']')
}

// jsonField appends sep, the key (plain ASCII, never escaped) and the
// string value.
func jsonField(b []byte, sep byte, key, v string) []byte {
	b = append(b, sep, '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendJSONString(b, v)
}

// plainJSON marks the bytes appendJSONString copies as they are: ASCII
// but for control characters, the quote, the backslash and <, > and &.
// One look-up a byte instead of six comparisons: the notes are mostly such
// bytes, and quoting them was the largest single cost of writing a note.
var plainJSON = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONString quotes s as encoding/json does: <, > and & escaped for
// HTML, invalid bytes as U+FFFD, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if plainJSON[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJSONFloat writes f as an ES6 number, as encoding/json does.
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 is written e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
