package record

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"unicode/utf16"
	"unicode/utf8"
)

// The decoder reads canonical JSON in one pass with a cursor: each helper
// consumes the value it expects and checks its syntax on the way, so no
// value tree is built and no byte is read twice on the way to a record.
// A helper that finds another type returns a field error and may leave the
// cursor inside the value; whoever called it steps back to the value's
// start and skips it with skipValue, which checks the syntax of what it
// passes, so that bad JSON anywhere in a message is always invalid_json,
// whatever field error came first.

// maxDepth bounds nesting; a canonical record is four levels deep.
const maxDepth = 300

// syntaxError is bad JSON at a byte offset.
func syntaxError(off int, format string, args ...any) error {
	return &DecodeError{Reason: ReasonInvalidJSON, Detail: fmt.Sprintf("byte %d: %s", off, fmt.Sprintf(format, args...))}
}

func isSyntax(err error) bool {
	de, ok := err.(*DecodeError)
	return ok && de.Reason == ReasonInvalidJSON
}

func (d *Decoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// peek returns the byte at the cursor after whitespace, 0 at the end.
func (d *Decoder) peek() byte {
	d.ws()
	if d.pos >= len(d.data) {
		return 0
	}
	return d.data[d.pos]
}

// typeAt names the JSON type of the value starting with c, for messages.
func typeAt(c byte) string {
	switch {
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == '"':
		return "string"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "number"
	}
	return "nothing"
}

// strEnds marks the bytes that end the plain run of a string.
var strEnds = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// stringBytes reads the string at the cursor (which must be at its opening
// quote) and returns its unescaped bytes: a slice of the message when it
// has no escapes, else of the decoder's scratch, which only grows during a
// Decode (results are capped), so earlier results stay as they were.
func (d *Decoder) stringBytes() ([]byte, error) {
	start := d.pos + 1
	i := plainRun(d.data, start)
	if i < len(d.data) && d.data[i] == '"' {
		d.pos = i + 1
		return d.data[start:i], nil
	}
	n := len(d.scratch)
	buf := append(d.scratch, d.data[start:i]...)
	for {
		if i >= len(d.data) {
			return nil, syntaxError(start-1, "unterminated string")
		}
		c := d.data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			d.scratch = buf
			return buf[n:len(buf):len(buf)], nil
		case c < 0x20:
			return nil, syntaxError(i, "control character %#x in a string", c)
		case c == '\\':
			if i+1 >= len(d.data) {
				return nil, syntaxError(i, "unterminated escape")
			}
			e := d.data[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := hex4(d.data, i)
				if !ok {
					return nil, syntaxError(i-2, `bad \u escape`)
				}
				i += 4
				if utf16.IsSurrogate(r) {
					r2, ok := rune(0), false
					if i+6 <= len(d.data) && d.data[i] == '\\' && d.data[i+1] == 'u' {
						r2, ok = hex4(d.data, i+2)
					}
					if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return nil, syntaxError(i-2, "bad escape \\%c", e)
			}
		default:
			j := plainRun(d.data, i)
			buf = append(buf, d.data[i:j]...)
			i = j
		}
	}
}

// plainRun returns the index of the first byte from i on that ends a
// string's plain run (a quote, a backslash, a control character), or
// len(b). Strings are most of a record's bytes, so it tests eight at a
// time first: a byte equal to c shows as a zero byte of x^(c*lo), and
// (v-lo)&^v&hi is non-zero exactly when v has a zero byte; (x-0x20*lo)&^x&hi
// likewise when x has a byte below 0x20.
func plainRun(b []byte, i int) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q, bs := x^(lo*'"'), x^(lo*'\\')
		if m := ((q-lo)&^q | (bs-lo)&^bs | (x-lo*0x20)&^x) & hi; m != 0 {
			// A borrow can mark bytes above the first that ends the run,
			// never below it: the lowest mark is exact.
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(b) && !strEnds[b[i]] {
		i++
	}
	return i
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads the number at the cursor, checking JSON's grammar, and
// returns its text.
func (d *Decoder) number() ([]byte, error) {
	b, start := d.data, d.pos
	i := start
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return nil, syntaxError(start, "bad number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return nil, syntaxError(start, "bad number")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return nil, syntaxError(start, "bad number")
		}
	}
	d.pos = i
	return b[start:i], nil
}

func (d *Decoder) literal(word string) error {
	if len(d.data)-d.pos < len(word) || string(d.data[d.pos:d.pos+len(word)]) != word {
		return syntaxError(d.pos, "unexpected %q", d.data[d.pos])
	}
	d.pos += len(word)
	return nil
}

// skipValue passes the value at the cursor, checking its syntax.
func (d *Decoder) skipValue(depth int) error {
	if depth > maxDepth {
		return syntaxError(d.pos, "nested deeper than %d", maxDepth)
	}
	switch c := d.peek(); c {
	case '"':
		_, err := d.stringBytes()
		return err
	case '{':
		return d.members(func([]byte) error { return d.skipValue(depth + 1) })
	case '[':
		return d.elements(func(int) error { return d.skipValue(depth + 1) })
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case 'n':
		return d.literal("null")
	case 0:
		return syntaxError(d.pos, "unexpected end")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			_, err := d.number()
			return err
		}
		return syntaxError(d.pos, "unexpected %q", c)
	}
}

// members reads the object at the cursor (which must be at its '{'),
// calling f with each key and the cursor at the member's value; f must
// consume the value or fail. A key given twice in one object is bad JSON
// here: the decoder would keep one copy and drop the other without a word,
// and which one the producer meant cannot be told.
func (d *Decoder) members(f func(key []byte) error) error {
	// The keys of this object sit at keys[base:], above those of the
	// objects it is nested in.
	base := len(d.keys)
	err := d.membersAbove(base, f)
	d.keys = d.keys[:base]
	return err
}

// keyPrint is a key as three numbers: exact for keys of up to 16 bytes
// (every canonical field name but counterparty_account), a 64-bit hash of
// all but the first eight bytes for longer ones, so that two unknown long
// keys differing in the middle are not taken for one. Numbers, not the
// key's bytes, so that remembering one is no write barrier and comparing
// two is two compares.
type keyPrint struct {
	head, tail uint64
	n          int
}

func printOf(k []byte) keyPrint {
	p := keyPrint{n: len(k)}
	switch n := len(k); {
	case n > 16:
		p.head = binary.LittleEndian.Uint64(k)
		p.tail = fnv64(k[8:])
	case n >= 8:
		p.head = binary.LittleEndian.Uint64(k)
		p.tail = binary.LittleEndian.Uint64(k[n-8:])
	case n >= 4: // two words that overlap: still every byte, with n
		p.head = uint64(binary.LittleEndian.Uint32(k)) | uint64(binary.LittleEndian.Uint32(k[n-4:]))<<32
	default:
		for i := n - 1; i >= 0; i-- {
			p.head = p.head<<8 | uint64(k[i])
		}
	}
	return p
}

func fnv64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}

// maxKeysChecked bounds the keys of one object checked for repeats. No
// canonical object has a third as many, so one that has more is refused
// for an unknown key anyway; checking them all made a hostile message of
// forty thousand keys cost half a second.
const maxKeysChecked = 64

func (d *Decoder) membersAbove(base int, f func(key []byte) error) error {
	d.pos++ // '{'
	if d.peek() == '}' {
		d.pos++
		return nil
	}
	var seen uint64
	for {
		if d.peek() != '"' {
			return syntaxError(d.pos, "want a member name")
		}
		at := d.pos
		key, err := d.stringBytes()
		if err != nil {
			return err
		}
		// A filter over this object's keys spares comparing most of them.
		if len(d.keys)-base < maxKeysChecked {
			p := printOf(key)
			bit := uint64(1) << ((p.head*0x9e3779b97f4a7c15 ^ p.tail) >> 58)
			if seen&bit != 0 && slices.Contains(d.keys[base:], p) {
				return syntaxError(at, "member %q appears twice in one object: which value was meant cannot be told", key)
			}
			seen |= bit
			d.keys = append(d.keys, p)
		}
		if d.peek() != ':' {
			return syntaxError(d.pos, "want ':' after a member name")
		}
		d.pos++
		d.ws()
		if err := f(key); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return nil
		default:
			return syntaxError(d.pos, "want ',' or '}' after a member")
		}
	}
}

// elements reads the array at the cursor (at its '['), calling f with the
// index of each element and the cursor at it.
func (d *Decoder) elements(f func(i int) error) error {
	d.pos++ // '['
	if d.peek() == ']' {
		d.pos++
		return nil
	}
	for i := 0; ; i++ {
		d.ws()
		if err := f(i); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return nil
		default:
			return syntaxError(d.pos, "want ',' or ']' after an element")
		}
	}
}

// resync moves the cursor past the value that started at start, after a
// helper gave up on it with a field error, and returns a syntax error if
// the value has one: bad JSON outranks any field error.
func (d *Decoder) resync(start int, err error) error {
	if isSyntax(err) {
		return err
	}
	d.pos = start
	return d.skipValue(1)
}
