package record

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"strings"
	"time"
	"unicode/utf8"
)

// Reasons a message is refused by the decoder; DecodeError.Code joins the
// field reasons with the dotted path of the field.
const (
	ReasonInvalidJSON  = "invalid_json"
	ReasonInvalidUTF8  = "invalid_utf8"
	ReasonEmptyBody    = "empty_body"
	ReasonUnknownKind  = "unknown_kind"
	ReasonMissingField = "missing_field"
	ReasonWrongType    = "wrong_type"
	ReasonUnknownField = "unknown_field"
)

// DecodeError says why bytes are not a canonical record. It is meant for the
// dead-letter topic: Code is the machine-readable reason, Error the message.
type DecodeError struct {
	Reason string // one of the Reason constants
	Field  string // dotted path ("body.party.id"), for the field reasons
	Detail string
}

// Code is the dead-letter reason code, e.g. "missing_field:body.number".
func (e *DecodeError) Code() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Reason + ":" + e.Field
}

func (e *DecodeError) Error() string {
	if e.Detail == "" {
		return e.Code()
	}
	return e.Code() + ": " + e.Detail
}

// Decoder turns canonical JSON into records. It reuses its parse buffers, so
// one Decoder serves one goroutine.
type Decoder struct {
	data    []byte // the message being decoded
	pos     int    // the cursor in data
	scratch []byte // unescaped strings, reset by each Decode
	intern  *Interned
	// linePaths caches "body.lines[i]" and "body.lines[i].amount" by index:
	// nested helpers take full paths, and building them per line item per
	// record cost more than the rest of the line.
	linePaths, lineAmountPaths []string
	lineBuf                    []Line     // lines of the array being read
	keys                       []keyPrint // of the objects being read (members)
	// id is the record's id once read: documents usually repeat it as
	// their number, and sharing the string saves an allocation.
	id string
}

// NewDecoder returns a ready Decoder.
func NewDecoder() *Decoder {
	return &Decoder{intern: new(Interned)}
}

func (d *Decoder) linePath(path string, i int) (line, amount string) {
	if path != "body.lines" {
		l := fmt.Sprintf("%s[%d]", path, i)
		return l, l + ".amount"
	}
	for len(d.linePaths) <= i {
		l := fmt.Sprintf("body.lines[%d]", len(d.linePaths))
		d.linePaths = append(d.linePaths, l)
		d.lineAmountPaths = append(d.lineAmountPaths, l+".amount")
	}
	return d.linePaths[i], d.lineAmountPaths[i]
}

// Decode parses data into r, replacing all of r's contents. Provenance and
// ingest time are left zero: the pipeline sets them.
//
// Reasons come in a fixed order of precedence, whatever the order of the
// keys: bad JSON anywhere; not an object; the kind (absent, not a string,
// unknown); the first bad top-level field in document order; a required
// top-level field absent; then the body.
func (d *Decoder) Decode(data []byte, r *Record) error {
	*r = Record{}
	d.id = ""
	d.data, d.pos, d.scratch = data, 0, d.scratch[:0]
	defer func() { d.data = nil }() // the message is not ours to keep
	if len(bytes.TrimSpace(data)) == 0 {
		return &DecodeError{Reason: ReasonEmptyBody, Detail: "message value is empty"}
	}
	if !utf8.Valid(data) {
		return &DecodeError{Reason: ReasonInvalidUTF8, Detail: "message is not valid UTF-8"}
	}
	if c := d.peek(); c != '{' {
		if err := d.skipValue(1); err != nil {
			return err
		}
		if err := d.end(); err != nil {
			return err
		}
		return &DecodeError{Reason: ReasonInvalidJSON, Detail: "a record is a JSON object, got " + typeAt(c)}
	}
	var (
		kindErr, fieldErr, bodyErr error
		haveKind, haveVersion      bool
		haveTime, haveBody         bool
		bodyAt                     = -1 // a body met before the kind, decoded at the end
	)
	err := d.members(func(key []byte) error {
		start := d.pos
		var err error
		switch string(key) {
		case "kind":
			if haveKind {
				return d.skipValue(1) // the first one counts
			}
			haveKind = true
			if kindErr = d.kind(r); kindErr != nil {
				return d.resync(start, kindErr)
			}
			return nil
		case "body":
			haveBody = true
			if !haveKind || kindErr != nil {
				bodyAt = start
				return d.skipValue(1)
			}
			bodyAt = -1
			r.Body = NewBody(r.Kind)
			if bodyErr = r.Body.decode(d); bodyErr != nil {
				return d.resync(start, bodyErr)
			}
			return nil
		case "company":
			err = d.str("", "company", &r.Company, true)
		case "source":
			err = d.str("", "source", &r.Source, true)
		case "id":
			err = d.str("", "id", &r.ID, false)
			d.id = r.ID
		case "version":
			haveVersion = true
			err = d.uint64("", "version", &r.Version)
		case "event_time":
			haveTime = true
			err = d.timestamp("", "event_time", &r.EventTime)
		default:
			err = unknown("", key)
		}
		if err != nil {
			if fieldErr == nil && !isSyntax(err) {
				fieldErr = err
			}
			return d.resync(start, err)
		}
		return nil
	})
	if isSyntax(err) {
		return err
	}
	if err := d.end(); err != nil {
		return err
	}
	switch {
	case !haveKind:
		return missing("", "kind")
	case kindErr != nil:
		return kindErr
	case fieldErr != nil:
		return fieldErr
	case r.Company == "":
		return missing("", "company")
	case r.Source == "":
		return missing("", "source")
	case r.ID == "":
		return missing("", "id")
	case !haveVersion:
		return missing("", "version")
	case !haveTime:
		return missing("", "event_time")
	case !haveBody:
		return missing("", "body")
	case bodyAt >= 0:
		d.pos = bodyAt
		r.Body = NewBody(r.Kind)
		bodyErr = r.Body.decode(d)
	}
	return bodyErr
}

// end checks that only whitespace follows the record.
func (d *Decoder) end() error {
	if d.ws(); d.pos < len(d.data) {
		return syntaxError(d.pos, "data after the record")
	}
	return nil
}

// kind reads the record's kind.
func (d *Decoder) kind(r *Record) error {
	if d.peek() != '"' {
		return wrongType("", "kind", "want a string")
	}
	kb, err := d.stringBytes()
	if err != nil {
		return err
	}
	k, ok := ParseKind(string(kb))
	if !ok {
		return &DecodeError{Reason: ReasonUnknownKind, Detail: fmt.Sprintf("kind %q is not one of invoice, payment, bank_txn, sales_order, shipment, purchase_order, goods_receipt, expense_claim, approval", kb)}
	}
	r.Kind = k
	return nil
}

func missing(parent, name string) error {
	return &DecodeError{Reason: ReasonMissingField, Field: join(parent, name), Detail: "required field is absent or empty"}
}

func wrongType(parent, name, detail string) error {
	return &DecodeError{Reason: ReasonWrongType, Field: join(parent, name), Detail: detail}
}

func unknown(parent string, key []byte) error {
	return &DecodeError{Reason: ReasonUnknownField, Field: join(parent, fieldName(key)), Detail: "not a field of the canonical model"}
}

// maxFieldName is the longest key a reason code quotes whole.
const maxFieldName = 64

// fieldName is a producer's key as a reason code's path names it. A key
// is the producer's to choose: one of half a megabyte made a dead letter
// too large to write, which held its batch for good. A long key is cut at
// a character's start and marked with its length; a '.' or a control
// character would make the path name another field, and is escaped.
func fieldName(key []byte) string {
	var b strings.Builder
	for _, r := range string(key) {
		if b.Len() >= maxFieldName {
			fmt.Fprintf(&b, "…(%d bytes)", len(key))
			return b.String()
		}
		switch {
		case r == '.' || r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func join(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// object reads the object at the cursor, calling f with each key and the
// cursor at its value, stopping at the first error.
func (d *Decoder) object(path string, f func(key []byte) error) error {
	if d.peek() != '{' {
		return &DecodeError{Reason: ReasonWrongType, Field: path, Detail: "want an object"}
	}
	return d.members(f)
}

// stringAt reads the string at the cursor, or says what it is instead.
func (d *Decoder) stringAt(parent, name, want string) ([]byte, error) {
	if d.peek() != '"' {
		return nil, wrongType(parent, name, want)
	}
	return d.stringBytes()
}

// str reads a string field. Interned strings are for low-cardinality values
// (codes, statuses, party names) so that a batch does not allocate them anew.
func (d *Decoder) str(parent, name string, dst *string, intern bool) error {
	b, err := d.stringAt(parent, name, "want a string")
	if err != nil {
		return err
	}
	switch {
	case intern:
		*dst = d.intern.Bytes(b)
	case d.id != "" && string(b) == d.id:
		*dst = d.id
	default:
		*dst = string(b)
	}
	return nil
}

// Interned keeps the short texts a decoder or mapper read lately, so that
// the values records repeat (codes, statuses, party names) are not
// allocated again for every record. It is direct-mapped rather than a map:
// a lookup is one hash and one compare, no probing (BenchmarkDecodeWorld
// 1.64 against 1.78 µs a record), and a value that stops coming is simply
// overwritten, where a map, once full, allocated every new value for good.
// One goroutine uses one.
type Interned [internSlots]string

// Bytes returns b as a string, the same string as last time if the slot b
// hashes to still holds it.
func (t *Interned) Bytes(b []byte) string {
	if len(b) > maxInterned {
		return string(b)
	}
	slot := &t[maphash.Bytes(internSeed, b)&(internSlots-1)]
	if *slot == string(b) {
		return *slot
	}
	s := string(b)
	*slot = s
	return s
}

// Keep is Bytes for a string that may view a buffer about to be reused: it
// returns a string of its own, never s.
func (t *Interned) Keep(s string) string {
	if len(s) > maxInterned {
		return strings.Clone(s)
	}
	slot := &t[maphash.String(internSeed, s)&(internSlots-1)]
	if *slot == s {
		return *slot
	}
	c := strings.Clone(s)
	*slot = c
	return c
}

// internSlots is the size of each intern table; maxInterned the longest
// value worth keeping there.
const (
	internSlots = 1 << 13
	maxInterned = 64
)

var internSeed = maphash.MakeSeed()

// enum reads a string that must be one of allowed.
func (d *Decoder) enum(parent, name string, dst *string, allowed ...string) error {
	b, err := d.stringAt(parent, name, "want a string")
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return missing(parent, name) // records.md: an empty string counts as missing
	}
	for _, a := range allowed {
		if string(b) == a {
			*dst = a
			return nil
		}
	}
	return wrongType(parent, name, fmt.Sprintf("%q is not one of %v", b, allowed))
}

func (d *Decoder) strs(parent, name string, dst *[]string) error {
	if d.peek() != '[' {
		return wrongType(parent, name, "want an array of strings")
	}
	out := []string{}
	err := d.elements(func(i int) error {
		if d.peek() != '"' {
			return wrongType(parent, fmt.Sprintf("%s[%d]", name, i), "want a string")
		}
		b, err := d.stringBytes()
		if err != nil {
			return err
		}
		out = append(out, string(b))
		return nil
	})
	if err != nil {
		return err
	}
	*dst = out
	return nil
}

func (d *Decoder) boolean(parent, name string, dst *bool) error {
	switch d.peek() {
	case 't':
		*dst = true
		return d.literal("true")
	case 'f':
		*dst = false
		return d.literal("false")
	}
	return wrongType(parent, name, "want true or false")
}

// unsigned reads a JSON integer no larger than limit.
func (d *Decoder) unsigned(parent, name string, limit uint64, bits string) (uint64, error) {
	c := d.peek()
	if c != '-' && (c < '0' || c > '9') {
		return 0, wrongType(parent, name, "want a JSON integer")
	}
	b, err := d.number()
	if err != nil {
		return 0, err
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' || n > (limit-uint64(c-'0'))/10 {
			return 0, wrongType(parent, name, "want an unsigned "+bits+"-bit integer")
		}
		n = n*10 + uint64(c-'0')
	}
	return n, nil
}

func (d *Decoder) uint64(parent, name string, dst *uint64) error {
	n, err := d.unsigned(parent, name, 1<<64-1, "64")
	*dst = n
	return err
}

func (d *Decoder) uint32(parent, name string, dst *uint32) error {
	n, err := d.unsigned(parent, name, 1<<32-1, "32")
	*dst = uint32(n)
	return err
}

func (d *Decoder) date(parent, name string, dst *Date) error {
	b, err := d.stringAt(parent, name, "want a YYYY-MM-DD string")
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return missing(parent, name)
	}
	dt, err := ParseDate(string(b))
	if err != nil {
		return wrongType(parent, name, fmt.Sprintf("%q: %v", b, err))
	}
	*dst = dt
	return nil
}

// timestamp reads RFC 3339 with an explicit offset and keeps it in UTC.
func (d *Decoder) timestamp(parent, name string, dst *time.Time) error {
	b, err := d.stringAt(parent, name, "want an RFC 3339 string")
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return missing(parent, name)
	}
	t, ok := ParseUTCSeconds(b)
	if !ok {
		var err error
		if t, err = time.Parse(time.RFC3339Nano, string(b)); err != nil || !rfc3339Tail(b) {
			return wrongType(parent, name, fmt.Sprintf("%q: %v", b, ErrBadTime))
		}
	}
	if t.Before(MinTime) || t.After(MaxTime) {
		return wrongType(parent, name, fmt.Sprintf("%q: %v", b, ErrTimeRange))
	}
	*dst = t.UTC()
	return nil
}

func (d *Decoder) fixed(parent, name string, dst *Fixed) error {
	b, err := d.stringAt(parent, name, "want a decimal string")
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return missing(parent, name)
	}
	f, err := ParseFixed(string(b))
	if err != nil {
		return wrongType(parent, name, fmt.Sprintf("%q: %v", b, err))
	}
	*dst = f
	return nil
}

// money reads {"amount":"1234.50","currency":"CNY"} at path.
func (d *Decoder) money(path string, dst *Money) error {
	var amount []byte
	var cur string
	var haveAmount bool
	err := d.object(path, func(key []byte) error {
		switch string(key) {
		case "amount":
			b, err := d.stringAt(path, "amount", "want a decimal string such as \"1234.50\"")
			if err != nil {
				return err
			}
			amount, haveAmount = b, true
			return nil
		case "currency":
			return d.str(path, "currency", &cur, true)
		}
		return unknown(path, key)
	})
	if err != nil {
		return err
	}
	if !haveAmount || len(amount) == 0 {
		return missing(path, "amount")
	}
	if cur == "" {
		return missing(path, "currency")
	}
	c, err := ParseCurrency(cur)
	if err != nil {
		return wrongType(path, "currency", err.Error())
	}
	m, err := ParseMoney(string(amount), c)
	if err != nil {
		return wrongType(path, "amount", fmt.Sprintf("%q: %v", amount, err))
	}
	*dst = m
	return nil
}

func (d *Decoder) party(path string, dst *Party, needID bool) error {
	err := d.object(path, func(key []byte) error {
		switch string(key) {
		case "id":
			return d.str(path, "id", &dst.ID, true)
		case "name":
			return d.str(path, "name", &dst.Name, true)
		case "account":
			return d.str(path, "account", &dst.Account, false)
		}
		return unknown(path, key)
	})
	if err == nil && needID && dst.ID == "" {
		return missing(path, "id")
	}
	return err
}

func (d *Decoder) lines(path string, dst *[]Line) error {
	if d.peek() != '[' {
		return wrongType("", path, "want an array of line objects")
	}
	// Lines gather in the decoder's own slice, then go to the record in
	// one allocation of the right size: the count is not known until the
	// array ends, and growing the record's slice copied every line again.
	d.lineBuf = d.lineBuf[:0]
	err := d.elements(func(i int) error {
		path, amountPath := d.linePath(path, i)
		d.lineBuf = append(d.lineBuf, Line{})
		l := &d.lineBuf[len(d.lineBuf)-1]
		var haveQty bool
		err := d.object(path, func(key []byte) error {
			switch string(key) {
			case "sku":
				return d.str(path, "sku", &l.SKU, true)
			case "description":
				return d.str(path, "description", &l.Description, true)
			case "quantity":
				haveQty = true
				return d.fixed(path, "quantity", &l.Quantity)
			case "unit_price":
				return d.fixed(path, "unit_price", &l.UnitPrice)
			case "amount":
				return d.money(amountPath, &l.Amount)
			}
			return unknown(path, key)
		})
		if err != nil {
			return err
		}
		if l.SKU == "" {
			return missing(path, "sku")
		}
		if !haveQty {
			return missing(path, "quantity")
		}
		return nil
	})
	if err != nil {
		return err
	}
	*dst = append(make([]Line, 0, len(d.lineBuf)), d.lineBuf...)
	clear(d.lineBuf) // its strings belong to the record now
	return nil
}

// required returns a missing_field error for the first name whose ok is false.
func required(parent string, checks ...any) error {
	for i := 0; i+1 < len(checks); i += 2 {
		if !checks[i+1].(bool) {
			return missing(parent, checks[i].(string))
		}
	}
	return nil
}

// ParseUTCSeconds reads the form the encoder writes and most producers
// send, "2006-01-02T15:04:05Z", without time.Parse's generality; anything
// else goes to time.Parse.
// rfc3339Tail checks what time.Parse lets by in what follows the seconds
// of an RFC 3339 time: a fraction after '.' (not ',') of 1 to 9 digits, and
// an offset of Z or ±hh:mm with hh up to 23 and mm up to 59 (Go reads
// +24:00 as a day's shift, and +08:60 as +09:00).
func rfc3339Tail(b []byte) bool {
	if len(b) < 20 {
		return false
	}
	tail := b[19:]
	if tail[0] == '.' {
		n := 1
		for n < len(tail) && tail[n] >= '0' && tail[n] <= '9' {
			n++
		}
		if n == 1 || n > 10 {
			return false
		}
		tail = tail[n:]
	}
	if len(tail) == 1 && tail[0] == 'Z' {
		return true
	}
	if len(tail) != 6 || tail[0] != '+' && tail[0] != '-' || tail[3] != ':' {
		return false
	}
	for _, i := range []int{1, 2, 4, 5} {
		if tail[i] < '0' || tail[i] > '9' {
			return false
		}
	}
	hours := tail[1] < '2' || tail[1] == '2' && tail[2] <= '3'
	return hours && tail[4] <= '5'
}

func ParseUTCSeconds(b []byte) (time.Time, bool) {
	if len(b) != 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[19] != 'Z' {
		return time.Time{}, false
	}
	num := func(i, n int) (int, bool) {
		v := 0
		for _, c := range b[i : i+n] {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 2)
	d, ok3 := num(8, 2)
	h, ok4 := num(11, 2)
	mi, ok5 := num(14, 2)
	s, ok6 := num(17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC)
	if t.Day() != d {
		return time.Time{}, false // 2025-02-30: let time.Parse refuse it
	}
	return t, true
}
