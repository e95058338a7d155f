package record

import (
	"bytes"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"
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
	p      fastjson.Parser
	intern map[string]string
	// linePaths caches "body.lines[i]" and "body.lines[i].amount" by index:
	// nested helpers take full paths, and building them per line item per
	// record cost more than the rest of the line.
	linePaths, lineAmountPaths []string
	// id is the record's id once read: documents usually repeat it as
	// their number, and sharing the string saves an allocation.
	id string
}

// NewDecoder returns a ready Decoder.
func NewDecoder() *Decoder {
	return &Decoder{intern: make(map[string]string, 256)}
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
func (d *Decoder) Decode(data []byte, r *Record) error {
	*r = Record{}
	d.id = ""
	if len(bytes.TrimSpace(data)) == 0 {
		return &DecodeError{Reason: ReasonEmptyBody, Detail: "message value is empty"}
	}
	if !utf8.Valid(data) {
		return &DecodeError{Reason: ReasonInvalidUTF8, Detail: "message is not valid UTF-8"}
	}
	v, err := d.p.ParseBytes(data)
	if err != nil {
		return &DecodeError{Reason: ReasonInvalidJSON, Detail: err.Error()}
	}
	if v.Type() != fastjson.TypeObject {
		return &DecodeError{Reason: ReasonInvalidJSON, Detail: "a record is a JSON object, got " + v.Type().String()}
	}
	// The kind decides how the body reads, and JSON objects are unordered, so
	// look it up before walking the rest.
	kv := v.Get("kind")
	if kv == nil {
		return missing("", "kind")
	}
	kb, err := kv.StringBytes()
	if err != nil {
		return wrongType("", "kind", "want a string")
	}
	k, ok := ParseKind(string(kb))
	if !ok {
		return &DecodeError{Reason: ReasonUnknownKind, Detail: fmt.Sprintf("kind %q is not one of invoice, payment, bank_txn, sales_order, shipment, purchase_order, goods_receipt, expense_claim, approval", kb)}
	}
	r.Kind = k
	var bodyV *fastjson.Value
	var haveVersion, haveTime bool
	err = d.object(v, "", func(key []byte, fv *fastjson.Value) error {
		switch string(key) {
		case "kind":
			return nil
		case "company":
			return d.str(fv, "", "company", &r.Company, true)
		case "source":
			return d.str(fv, "", "source", &r.Source, true)
		case "id":
			err := d.str(fv, "", "id", &r.ID, false)
			d.id = r.ID
			return err
		case "version":
			haveVersion = true
			if fv.Type() != fastjson.TypeNumber {
				return wrongType("", "version", "want a JSON integer")
			}
			n, err := fv.Uint64()
			if err != nil {
				return wrongType("", "version", "want an unsigned 64-bit integer")
			}
			r.Version = n
			return nil
		case "event_time":
			haveTime = true
			return d.timestamp(fv, "", "event_time", &r.EventTime)
		case "body":
			bodyV = fv
			return nil
		}
		return unknown("", key)
	})
	if err != nil {
		return err
	}
	switch {
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
	case bodyV == nil:
		return missing("", "body")
	}
	r.Body = NewBody(k)
	return r.Body.decode(d, bodyV)
}

func missing(parent, name string) error {
	return &DecodeError{Reason: ReasonMissingField, Field: join(parent, name), Detail: "required field is absent or empty"}
}

func wrongType(parent, name, detail string) error {
	return &DecodeError{Reason: ReasonWrongType, Field: join(parent, name), Detail: detail}
}

func unknown(parent string, key []byte) error {
	return &DecodeError{Reason: ReasonUnknownField, Field: join(parent, string(key)), Detail: "not a field of the canonical model"}
}

func join(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// object visits every key of an object, stopping at the first error.
func (d *Decoder) object(v *fastjson.Value, path string, f func(key []byte, v *fastjson.Value) error) error {
	o, err := v.Object()
	if err != nil {
		if path == "" {
			return &DecodeError{Reason: ReasonInvalidJSON, Detail: "a record is a JSON object"}
		}
		return &DecodeError{Reason: ReasonWrongType, Field: path, Detail: "want an object"}
	}
	var ferr error
	o.Visit(func(key []byte, fv *fastjson.Value) {
		if ferr == nil {
			ferr = f(key, fv)
		}
	})
	return ferr
}

// str reads a string field. Interned strings are for low-cardinality values
// (codes, statuses, party names) so that a batch does not allocate them anew.
func (d *Decoder) str(v *fastjson.Value, parent, name string, dst *string, intern bool) error {
	b, err := v.StringBytes()
	if err != nil {
		return wrongType(parent, name, "want a string")
	}
	switch {
	case intern:
		*dst = d.internBytes(b)
	case d.id != "" && string(b) == d.id:
		*dst = d.id
	default:
		*dst = string(b)
	}
	return nil
}

func (d *Decoder) internBytes(b []byte) string {
	if s, ok := d.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(d.intern) < 1<<14 && len(s) <= 64 {
		d.intern[s] = s
	}
	return s
}

// enum reads a string that must be one of allowed.
func (d *Decoder) enum(v *fastjson.Value, parent, name string, dst *string, allowed ...string) error {
	b, err := v.StringBytes()
	if err != nil {
		return wrongType(parent, name, "want a string")
	}
	for _, a := range allowed {
		if string(b) == a {
			*dst = a
			return nil
		}
	}
	return wrongType(parent, name, fmt.Sprintf("%q is not one of %v", b, allowed))
}

func (d *Decoder) strs(v *fastjson.Value, parent, name string, dst *[]string) error {
	arr, err := v.Array()
	if err != nil {
		return wrongType(parent, name, "want an array of strings")
	}
	out := make([]string, 0, len(arr))
	for i, e := range arr {
		b, err := e.StringBytes()
		if err != nil {
			return wrongType(parent, fmt.Sprintf("%s[%d]", name, i), "want a string")
		}
		out = append(out, string(b))
	}
	*dst = out
	return nil
}

func (d *Decoder) boolean(v *fastjson.Value, parent, name string, dst *bool) error {
	b, err := v.Bool()
	if err != nil {
		return wrongType(parent, name, "want true or false")
	}
	*dst = b
	return nil
}

func (d *Decoder) uint32(v *fastjson.Value, parent, name string, dst *uint32) error {
	if v.Type() != fastjson.TypeNumber {
		return wrongType(parent, name, "want a JSON integer")
	}
	n, err := v.Uint()
	if err != nil || n > 1<<32-1 {
		return wrongType(parent, name, "want an unsigned 32-bit integer")
	}
	*dst = uint32(n)
	return nil
}

func (d *Decoder) date(v *fastjson.Value, parent, name string, dst *Date) error {
	b, err := v.StringBytes()
	if err != nil {
		return wrongType(parent, name, "want a YYYY-MM-DD string")
	}
	dt, err := ParseDate(string(b))
	if err != nil {
		return wrongType(parent, name, fmt.Sprintf("%q: %v", b, err))
	}
	*dst = dt
	return nil
}

// timestamp reads RFC 3339 with an explicit offset and keeps it in UTC.
func (d *Decoder) timestamp(v *fastjson.Value, parent, name string, dst *time.Time) error {
	b, err := v.StringBytes()
	if err != nil {
		return wrongType(parent, name, "want an RFC 3339 string")
	}
	t, ok := ParseUTCSeconds(b)
	if !ok {
		var err error
		if t, err = time.Parse(time.RFC3339Nano, string(b)); err != nil {
			return wrongType(parent, name, fmt.Sprintf("%q: %v", b, ErrBadTime))
		}
	}
	if t.Before(MinTime) || t.After(MaxTime) {
		return wrongType(parent, name, fmt.Sprintf("%q: %v", b, ErrTimeRange))
	}
	*dst = t.UTC()
	return nil
}

func (d *Decoder) fixed(v *fastjson.Value, parent, name string, dst *Fixed) error {
	b, err := v.StringBytes()
	if err != nil {
		return wrongType(parent, name, "want a decimal string")
	}
	f, err := ParseFixed(string(b))
	if err != nil {
		return wrongType(parent, name, fmt.Sprintf("%q: %v", b, err))
	}
	*dst = f
	return nil
}

// money reads {"amount":"1234.50","currency":"CNY"} at path.
func (d *Decoder) money(v *fastjson.Value, path string, dst *Money) error {
	var amount []byte
	var cur string
	var haveAmount bool
	err := d.object(v, path, func(key []byte, fv *fastjson.Value) error {
		switch string(key) {
		case "amount":
			b, err := fv.StringBytes()
			if err != nil {
				return wrongType(path, "amount", "want a decimal string such as \"1234.50\"")
			}
			amount, haveAmount = b, true
			return nil
		case "currency":
			return d.str(fv, path, "currency", &cur, true)
		}
		return unknown(path, key)
	})
	if err != nil {
		return err
	}
	if !haveAmount {
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

func (d *Decoder) party(v *fastjson.Value, path string, dst *Party, needID bool) error {
	err := d.object(v, path, func(key []byte, fv *fastjson.Value) error {
		switch string(key) {
		case "id":
			return d.str(fv, path, "id", &dst.ID, true)
		case "name":
			return d.str(fv, path, "name", &dst.Name, true)
		case "account":
			return d.str(fv, path, "account", &dst.Account, false)
		}
		return unknown(path, key)
	})
	if err == nil && needID && dst.ID == "" {
		return missing(path, "id")
	}
	return err
}

func (d *Decoder) lines(v *fastjson.Value, path string, dst *[]Line) error {
	arr, err := v.Array()
	if err != nil {
		return wrongType("", path, "want an array of line objects")
	}
	out := make([]Line, len(arr))
	for i, e := range arr {
		path, amountPath := d.linePath(path, i)
		l := &out[i]
		var haveQty bool
		err := d.object(e, path, func(key []byte, fv *fastjson.Value) error {
			switch string(key) {
			case "sku":
				return d.str(fv, path, "sku", &l.SKU, true)
			case "description":
				return d.str(fv, path, "description", &l.Description, true)
			case "quantity":
				haveQty = true
				return d.fixed(fv, path, "quantity", &l.Quantity)
			case "unit_price":
				return d.fixed(fv, path, "unit_price", &l.UnitPrice)
			case "amount":
				return d.money(fv, amountPath, &l.Amount)
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
	}
	*dst = out
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
