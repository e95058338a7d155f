package clean

import (
	"encoding/binary"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalize tidies a text value as sources send it: trimmed, in Unicode NFKC
// (full-width digits and letters become ASCII, the ideographic space a
// space, ￥ becomes ¥), with every run of white space collapsed to one space,
// zero-width spaces and byte-order marks dropped, and wrapping quotes ("…",
// '…', “…”, ‘…’, 「…」, 『…』) stripped. Only a matched pair is stripped: a
// lone quote at one end may mean something (5' for feet) and stays.
//
// A value that is plain ASCII and already tidy is returned as is, without
// allocating: the parsers call Normalize on every field of every record, and
// most fields are already clean.
func Normalize(s string) string {
	if n, ok := NormalizeASCII(s); ok {
		return n
	}
	if n, ok := normalizeWide(s); ok {
		return n
	}
	return normalizeNFKC(s)
}

// normalizeNFKC is Normalize for any text, the way every shortcut must agree
// with. Invalid bytes and invisible characters go before NFKC, which leaves
// text after an invalid byte as it is: replaced or removed afterwards, they
// could expose text that NFKC would have changed, and Normalize would not be
// idempotent.
func normalizeNFKC(s string) string {
	return unquote(squeeze(norm.NFKC.String(dropInvisible(strings.ToValidUTF8(s, "\uFFFD")))))
}

// NormalizeASCII is Normalize for plain ASCII text; for any other text it
// returns false at the first byte that is not ASCII, having done nothing
// else. A caller that remembers the normal forms of non-ASCII values
// (mapping's Mapper) learns which kind a value is in the same one pass.
func NormalizeASCII(s string) (string, bool) {
	tidy := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return "", false
		}
		if c <= ' ' && (c != ' ' || i == 0 || i == len(s)-1 || s[i-1] == ' ') {
			tidy = false
		}
	}
	if tidy && (s == "" || (s[0] != '"' && s[0] != '\'')) {
		return s, true
	}
	return unquote(squeeze(s)), true
}

// normalizeWide is Normalize for text of ASCII and full-width forms only
// (Ａ, １, ，, ．, the ideographic space), as Chinese systems type numbers
// and codes; for any other text it returns false. NFKC maps each of these
// to one ASCII character, and with no other character in the text nothing
// can compose with them, so mapping them first gives what NFKC gives, at a
// fraction of the cost of golang.org/x/text's decomposition.
func normalizeWide(s string) (string, bool) {
	// Most text outside ASCII is Chinese words, not full-width forms: look
	// at the first character outside ASCII before copying anything.
	first := 0
	for first < len(s) && s[first] < utf8.RuneSelf {
		first++
	}
	if r, _ := utf8.DecodeRuneInString(s[first:]); !isWide(r) {
		return "", false
	}
	var buf [64]byte
	b := append(buf[:0], s[:first]...)
	for i := first; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r >= fullWidthFirst && r <= fullWidthLast:
			b = append(b, byte(r-fullWidthOffset))
		case r == ideographicSpace:
			b = append(b, ' ')
		default:
			return "", false
		}
		i += n
	}
	out, _ := NormalizeASCII(string(b))
	return out, true
}

func isWide(r rune) bool {
	return r >= fullWidthFirst && r <= fullWidthLast || r == ideographicSpace
}

// The full-width forms of the printable ASCII characters, U+FF01 (！) to
// U+FF5E (～), are that character plus fullWidthOffset.
const (
	fullWidthFirst   = '\uff01'
	fullWidthLast    = '\uff5e'
	fullWidthOffset  = 0xfee0
	ideographicSpace = '\u3000'
)

func isInvisible(r rune) bool {
	return r == '\u200b' || r == '\ufeff' || r == '\u2060'
}

func dropInvisible(s string) string {
	if strings.IndexFunc(s, isInvisible) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isInvisible(r) {
			return -1
		}
		return r
	}, s)
}

// squeeze trims white space and collapses inner runs to one ASCII space.
func squeeze(s string) string {
	s = strings.TrimFunc(s, unicode.IsSpace)
	if !needsSqueeze(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	pending := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			pending = b.Len() > 0
			continue
		}
		if pending {
			b.WriteByte(' ')
			pending = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

func needsSqueeze(s string) bool {
	prevSpace := true // a leading space needs trimming
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return true // squeeze writes it back as U+FFFD
			}
		}
		i += n
		if unicode.IsSpace(r) {
			if r != ' ' || prevSpace {
				return true
			}
			prevSpace = true
		} else {
			prevSpace = false
		}
	}
	return prevSpace && s != ""
}

var quotePairs = [...][2]string{{`"`, `"`}, {`'`, `'`}, {"“", "”"}, {"‘", "’"}, {"「", "」"}, {"『", "』"}}

// unquote strips matched wrapping quotes, repeatedly (CSV exports of CSV
// exports double them), with the spaces just inside.
func unquote(s string) string {
	for {
		stripped := false
		for _, q := range quotePairs {
			if len(s) >= len(q[0])+len(q[1]) && strings.HasPrefix(s, q[0]) && strings.HasSuffix(s, q[1]) {
				s = strings.Trim(s[len(q[0]):len(s)-len(q[1])], " ")
				stripped = true
				break
			}
		}
		if !stripped {
			return s
		}
	}
}

// MatchKey reduces a party name to a key for matching the same party across
// systems: NFKC, lower case, punctuation, symbols and spaces removed, and
// legal-form suffixes removed, so that "上海华东贸易有限公司" and "上海华东贸易",
// or "ACME Trading Co., Ltd." and "Acme Trading", give the same key.
//
// The key is for comparing, never for display. Suffixes go only from the end
// and never the whole name: "Limited" alone stays "limited". Spaces are
// dropped too, because one system's "Acme-Trading" is another's "AcmeTrading".
func MatchKey(name string) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) {
			return unicode.ToLower(r)
		}
		return ' '
	}, Normalize(name))
	toks := strings.Fields(s)
	for changed := true; changed; {
		changed = false
		n := len(toks)
		if n == 0 {
			break
		}
		// A multi-token suffix: "s a" is what "S.A." becomes.
		for _, suf := range splitSuffixes {
			if n > len(suf) && equalTail(toks, suf) {
				toks, changed = toks[:n-len(suf)], true
				break
			}
		}
		if changed {
			continue
		}
		last := toks[n-1]
		if n > 1 && (wordSuffixes[last] || cjkSuffix(last) == len(last)) {
			toks, changed = toks[:n-1], true
			continue
		}
		if k := cjkSuffix(last); k > 0 && k < len(last) {
			toks[n-1], changed = last[:len(last)-k], true
		}
	}
	return strings.Join(toks, "")
}

// wordSuffixes are legal forms written as separate words, after lower-casing
// and with punctuation gone ("Co., Ltd." is "co ltd": both are removed, one
// at a time). "group" goes with them because 集团 does.
var wordSuffixes = map[string]bool{
	"co": true, "company": true, "ltd": true, "limited": true, "inc": true, "incorporated": true,
	"corp": true, "corporation": true, "llc": true, "llp": true, "plc": true, "gmbh": true,
	"ag": true, "sa": true, "nv": true, "bv": true, "srl": true, "sarl": true, "spa": true,
	"pte": true, "pty": true, "kk": true, "ab": true, "oy": true, "group": true,
}

var splitSuffixes = [...][]string{
	{"s", "a"}, {"n", "v"}, {"b", "v"}, {"s", "p", "a"}, {"s", "r", "l"}, {"l", "l", "c"},
	{"g", "m", "b", "h"}, {"k", "k"},
}

func equalTail(toks, suf []string) bool {
	off := len(toks) - len(suf)
	for i, s := range suf {
		if toks[off+i] != s {
			return false
		}
	}
	return true
}

// cjkSuffixes are Chinese legal forms, longest first; 集团有限公司 and the like
// are removed in two rounds.
var cjkSuffixes = [...]string{"股份有限公司", "有限责任公司", "有限公司", "股份公司", "有限合伙", "公司", "集团"}

// cjkSuffix returns the byte length of the legal-form suffix that tok ends
// with, or 0.
func cjkSuffix(tok string) int {
	for _, s := range cjkSuffixes {
		if strings.HasSuffix(tok, s) {
			return len(s)
		}
	}
	return 0
}

// NumberLookalike returns the first character of s that NFKC, which
// Normalize applies, turns into digits although it is not one a source
// writes a number with: a superscript, a subscript, a circled numeral (¹,
// ₂, ③), so that "1234¹" would read as 12341. A number parser refuses such
// a value from its text as the source sent it. ASCII and full-width digits
// (０-９) are digits; Chinese numerals (〇, 二) stay what they are.
func NumberLookalike(s string) (rune, bool) {
	// Nearly every value is ASCII: skip it eight bytes at a time (the
	// mapping asks this of every amount, date and version it reads).
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if binary.LittleEndian.Uint64([]byte(s[i:i+8]))&0x8080808080808080 != 0 {
			break
		}
	}
	for _, r := range s[i:] {
		if r < utf8.RuneSelf || r >= '\uff10' && r <= '\uff19' || !unicode.IsNumber(r) {
			continue
		}
		if strings.ContainsAny(norm.NFKC.String(string(r)), "0123456789") {
			return r, true
		}
	}
	return 0, false
}
