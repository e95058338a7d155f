package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/valyala/fastjson"

	"github.com/erpflow/erpflow/pipeline/record"
	"github.com/erpflow/erpflow/transforms/clean"
)

// Reasons a source record is refused by a mapping, beside the canonical
// model's own (missing_field, wrong_type, ...).
const (
	ReasonUnmappedValue = "unmapped_value" // a source word the value map or lookup does not know
	ReasonNoRule        = "no_rule"        // no rule of the mapping selects the record
)

// Error says why a source record cannot become a canonical record. Field
// is the canonical field; Code is the dead-letter reason.
type Error struct {
	Reason string
	Field  string
	Detail string
}

// Code is the dead-letter reason code, e.g. unmapped_value:approval_status.
func (e *Error) Code() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Reason + ":" + e.Field
}

func (e *Error) Error() string { return e.Code() + ": " + e.Detail }

// Mapper applies one mapping. It reuses a JSON parser, so one Mapper serves
// one goroutine; a Mapping is shared.
type Mapper struct {
	m *Mapping
	p fastjson.Parser
	// norms remembers the normal form of non-ASCII values (normalized).
	norms map[string]string
	// val holds the field being evaluated (scratch). As a local it escaped
	// to the heap through the setter funcs: an allocation per field.
	val value
	// num holds the text of the record's JSON numbers and booleans, which
	// are read as text like strings: views of it, like views of the
	// parser's buffer, last until the next record.
	num []byte
	// kept are the texts kept in records lately (keep).
	kept *record.Interned
	// curFrom is the getter whose currency cur is, for this record: line
	// items read the record's currency again for every amount.
	curFrom *getter
	cur     record.Currency
	// curTexts remembers the currency of each normalised text seen
	// (a handful a source): it is read for every record.
	curTexts map[string]record.Currency
	// path, renames and keyNorms serve tidyKeys: the path to the object
	// being checked, the members to put under another key, and the normal
	// form of the keys that are not plainly normal.
	path     []keyAt
	renames  []rekey
	keyNorms map[string]string
	// root is the record whose keys rootIx indexes, when its shape is not
	// known; nestedIx serves the check of nested objects.
	root             *fastjson.Value
	rootIx, nestedIx keyIndex
	// column is the source column the record's amount was found in, for
	// a first_of amount with columns, and columnDir the direction it means.
	column, columnDir string
	// shapes are the shapes learned, by keyNode and number of keys; shape
	// is the record's when known, and vals its members by position.
	shapes  [][][]*shape
	learned int
	shape   *shape
	vals    []*fastjson.Value
}

// parse starts a record: the views of the one before, into the parser's
// buffer and into num, end here. The record must be a JSON object, and its
// keys are put in normal form (tidyKeys).
func (mp *Mapper) parse(data []byte) (*fastjson.Value, error) {
	mp.num = mp.num[:0]
	mp.curFrom = nil
	v, err := mp.p.ParseBytes(data)
	if err != nil {
		return nil, &record.DecodeError{Reason: record.ReasonInvalidJSON, Detail: err.Error()}
	}
	if v.Type() != fastjson.TypeObject {
		return nil, &record.DecodeError{Reason: record.ReasonInvalidJSON, Detail: "a source record is a JSON object"}
	}
	if err := mp.tidyKeys(v); err != nil {
		return nil, err
	}
	return v, nil
}

// scratch returns the Mapper's value cleared. Fields are evaluated and set
// one at a time, and every setter copies out of it.
func (mp *Mapper) scratch() *value {
	mp.val = value{}
	return &mp.val
}

// NewMapper returns a Mapper for m.
func (m *Mapping) NewMapper() *Mapper { return &Mapper{m: m, kept: new(record.Interned)} }

// Map turns one source record (a JSON object; key is the Kafka key) into a
// canonical record, or an *Error / *record.DecodeError naming the field.
func (mp *Mapper) Map(key, data []byte, r *record.Record) error {
	*r = record.Record{}
	if len(data) == 0 {
		return &record.DecodeError{Reason: record.ReasonEmptyBody, Detail: "message value is empty"}
	}
	if !utf8.Valid(data) {
		return &record.DecodeError{Reason: record.ReasonInvalidUTF8, Detail: "message is not valid UTF-8"}
	}
	v, err := mp.parse(data)
	if err != nil {
		return err
	}
	ru := mp.pick(v)
	if ru == nil {
		return &Error{Reason: ReasonNoRule, Detail: "no rule of mapping " + mp.m.Name + " selects this record"}
	}
	r.Kind = ru.kind
	r.Source = mp.m.Source
	r.Body = record.NewBody(ru.kind)
	r.Provenance.Mapping = mp.m.Name
	r.Provenance.MappingVersion = mp.m.Version

	if ru.company == nil {
		r.Company = string(key)
	} else if r.Company, err = mp.text(v, ru.company); err != nil {
		return err
	}
	if r.ID, err = mp.text(v, ru.id); err != nil {
		return err
	}
	ev := mp.scratch()
	if err := mp.eval(v, ru.eventTime, ev); err != nil {
		return err
	}
	r.EventTime = ev.t
	if ru.version != nil {
		ver := mp.scratch()
		if err := mp.eval(v, ru.version, ver); err != nil {
			return err
		}
		r.Version = ver.v
	} else {
		// A day alone reads as its midnight: a change sent so would
		// order before one sent earlier that day with its time, and be
		// dropped as an older version.
		if ev.dateOnly {
			return &record.DecodeError{Reason: record.ReasonWrongType, Field: "event_time",
				Detail: fmt.Sprintf("source field %s gives a day and no time of day, and the mapping reads the version from it: a later change that day would order before an earlier one; give the time, or map a version field", ru.eventTime.source())}
		}
		r.Version = uint64(r.EventTime.UnixMilli())
	}
	mp.column, mp.columnDir = "", ""
	for _, f := range ru.fields {
		val := mp.scratch()
		if err := mp.eval(v, f, val); err != nil {
			if errors.Is(err, errBlank) {
				continue // left empty; the canonical rules decide if that is allowed
			}
			return err
		}
		f.set(r.Body, val)
	}
	if err := mp.checkColumn(ru, r.Body); err != nil {
		return err
	}
	if ru.lines != nil {
		if err := mp.lines(v, ru.lines, r); err != nil {
			return err
		}
	}
	return record.Validate(r)
}

// EventTime returns a source record's event time as its mapping reads it,
// or false when it cannot be read; producers put it on the message so that
// consumers can read topics in event-time order.
func (mp *Mapper) EventTime(data []byte) (time.Time, bool) {
	if !utf8.Valid(data) { // Map refuses it; the key check expects valid text
		return time.Time{}, false
	}
	v, err := mp.parse(data)
	if err != nil {
		return time.Time{}, false
	}
	ru := mp.pick(v)
	if ru == nil {
		return time.Time{}, false
	}
	ev := mp.scratch()
	if err := mp.eval(v, ru.eventTime, ev); err != nil || ev.t.IsZero() {
		return time.Time{}, false
	}
	return ev.t, true
}

// Company returns the company code a source record carries, as its mapping
// reads it, or nil when it cannot be read; producers key raw records by it.
// A record the mapping would refuse still has its company when readable,
// so that it reaches the dead-letter topic on the right partition.
func (mp *Mapper) Company(data []byte) []byte {
	if !utf8.Valid(data) { // Map refuses it; the key check expects valid text
		return nil
	}
	v, err := mp.parse(data)
	if err != nil {
		return nil
	}
	ru := mp.pick(v)
	if ru == nil || ru.company == nil {
		return nil
	}
	if ru.company.constant != nil {
		return []byte(*ru.company.constant)
	}
	s, ok := mp.read(ru.company.get, v, nil)
	if n := normalize(s); ok && !isBlank(n) {
		return []byte(n)
	}
	return nil
}

// pick returns the first rule that selects v.
func (mp *Mapper) pick(v *fastjson.Value) *rule {
	for _, r := range mp.m.rules {
		if r.when == nil {
			return r
		}
		if s, ok := mp.read(r.when, v, nil); ok && r.whenIn[mp.normalized(s)] {
			return r
		}
	}
	return nil
}

// errBlank marks a blank optional value that has no default.
var errBlank = errors.New("blank")

// text evaluates an envelope text field, which must not be blank.
func (mp *Mapper) text(v *fastjson.Value, f *fieldPlan) (string, error) {
	val := mp.scratch()
	if err := mp.eval(v, f, val); err != nil {
		if errors.Is(err, errBlank) {
			return "", &record.DecodeError{Reason: record.ReasonMissingField, Field: f.name, Detail: "source field " + f.get.text + " is blank"}
		}
		return "", err
	}
	return val.s, nil
}

// eval produces a field's value: source or constant, then value map or
// lookup or sign, then the parser of the field's type.
func (mp *Mapper) eval(v *fastjson.Value, f *fieldPlan, out *value) error {
	return mp.evalIn(v, v, f, out)
}

// evalIn reads f from v; values named relative to the whole record (an
// amount's currency field, for line items) come from root.
func (mp *Mapper) evalIn(root, v *fastjson.Value, f *fieldPlan, out *value) error {
	raw, present := "", false
	if f.constant != nil {
		raw, present = *f.constant, true
	} else if f.typ == tStrings && mp.isArray(f.get, v) {
		// A JSON array of strings is the list itself.
		ss, err := mp.readList(f.get, v, &mp.num)
		if err != nil {
			return &record.DecodeError{Reason: record.ReasonWrongType, Field: f.name, Detail: fmt.Sprintf("source field %s: %v", f.source(), err)}
		}
		out.ss = ss
		return nil
	} else if f.get.firstOf && f.typ == tMoney {
		return mp.firstAmount(root, v, f, out)
	} else {
		var composite bool
		raw, present, composite = mp.readValue(f.get, v, &mp.num)
		if composite {
			// Read as absent, an object where a value was expected was
			// dropped without a word (a price given as {"amount": ...}).
			return &record.DecodeError{Reason: record.ReasonWrongType, Field: f.name,
				Detail: fmt.Sprintf("source field %s holds an object or a list where one value was expected", f.source())}
		}
	}
	norm, owned := mp.normalizedOwned(raw)
	// A constant or default is the mapping's own text, kept as long as the
	// mapping is, so a record may keep it as it is.
	owned = owned || f.constant != nil
	if !present || isBlank(norm) {
		if f.def == nil {
			// A flag left blank is not false: read as its zero value, an
			// expense claim with no 付款状态 became unpaid. A mapping
			// that means a default says so.
			if isRequired(f) || f.typ == tBool {
				return &record.DecodeError{Reason: record.ReasonMissingField, Field: f.name,
					Detail: fmt.Sprintf("source field %s is blank or absent", f.source())}
			}
			return errBlank
		}
		raw, norm, owned = *f.def, mp.normalized(*f.def), true
	}
	if readsDigits(f.typ) {
		// Normalize made such a character a digit; the parsers read
		// the normal form and cannot tell.
		if r, ok := clean.NumberLookalike(raw); ok {
			return wrong(f, raw, fmt.Errorf("%q looks like a digit but is not one", r))
		}
	}
	// val is what the parsers read: the normalised value, or the canonical
	// word a map gave; raw stays as the source wrote it, for messages.
	val, mapped := norm, false
	switch {
	case f.valueMap != nil:
		// A source that maps its words is held to its map: a new word is a
		// question for a person, not something to guess from other sources.
		w, ok := f.valueMap[norm]
		if !ok {
			return &Error{Reason: ReasonUnmappedValue, Field: f.name, Detail: fmt.Sprintf("%q (source field %s) is not in the value map", raw, f.source())}
		}
		val, mapped = w, true
	case f.lookup != nil:
		w, ok := f.lookup[norm]
		if !ok {
			return &Error{Reason: ReasonUnmappedValue, Field: f.name, Detail: fmt.Sprintf("%q (source field %s) is not in the lookup table", raw, f.source())}
		}
		val, mapped = w, true
	case f.sign != nil:
		// The sign is the amount parser's own, so that every way it reads
		// a minus (after a currency code, U+2212 at the end, parentheses
		// beside a code) gives the same direction as the amount: a check
		// of its own took "USD-10,00" for money in. The amount, with its
		// currency and scale, is another field's to read; a value the
		// parser cannot read is refused here too.
		o := f.opts.amount
		if o.Currency.IsZero() && o.DefaultCurrency.IsZero() {
			// The row's currency is the amount field's business: any
			// currency will do for a sign, and the widest scale erpflow
			// knows refuses no amount for its decimals.
			o.DefaultCurrency = signCurrency
		}
		a, err := clean.ParseAmountNormalized(norm, o)
		if err != nil {
			return wrong(f, raw, err)
		}
		word := f.sign["positive"]
		if a.Money.Minor < 0 {
			word = f.sign["negative"]
		}
		val, mapped = word, true
	}
	if f.typ == tMoney {
		cur, err := mp.fieldCurrency(root, f)
		if err != nil {
			return err
		}
		m, missing, err := parseMoney(val, mapped, f, cur)
		if err != nil {
			return wrong(f, raw, err)
		}
		if missing {
			return errBlank
		}
		if f.abs && m.Minor < 0 {
			m.Minor = -m.Minor
		}
		out.m = m
		return nil
	}
	if err := parseAs(f, val, mapped, owned, mp.kept, out); err != nil {
		var pe *clean.ParseError
		if errors.As(err, &pe) && errors.Is(err, clean.ErrUnknownStatus) {
			return &Error{Reason: ReasonUnmappedValue, Field: f.name, Detail: fmt.Sprintf("source field %s: %v", f.source(), err)}
		}
		return wrong(f, raw, err)
	}
	return nil
}

// Bounds of Mapper.norms: values longer than maxNormText are rarely
// repeated (descriptions, remittance text); maxNormTexts keeps a source
// with unbounded distinct words from growing the map for ever.
const (
	maxNormText  = 64
	maxNormTexts = 4096
)

// currencyError is a currency a money field names elsewhere that is not
// one, with the text as the source wrote it.
type currencyError struct {
	raw string
	err error
}

// currency reads the currency that g names for a money field, zero when
// absent or blank. The answer is remembered for the record, as its line
// items ask for the same currency again for every amount.
func (mp *Mapper) currency(root *fastjson.Value, g *getter) (record.Currency, *currencyError) {
	// Each money field has a getter of its own, and several name the same
	// currency field (a total and its line items): the same path is the
	// same currency.
	if f := mp.curFrom; f == g || f != nil && f.firstOf == g.firstOf && slices.Equal(f.keys, g.keys) {
		return mp.cur, nil
	}
	var c record.Currency
	if s, ok := mp.read(g, root, &mp.num); ok {
		if n := mp.normalized(s); !isBlank(n) {
			var known bool
			if c, known = mp.curTexts[n]; !known {
				var err error
				if c, err = parseCurrency(n); err != nil {
					return c, &currencyError{s, err}
				}
				if mp.curTexts == nil || len(mp.curTexts) >= maxCurrencyTexts {
					mp.curTexts = make(map[string]record.Currency)
				}
				mp.curTexts[strings.Clone(n)] = c
			}
		}
	}
	mp.curFrom, mp.cur = g, c
	return c, nil
}

// maxCurrencyTexts bounds Mapper.curTexts: a source names its currencies
// in a handful of ways, and a stream of junk must not grow the map.
const maxCurrencyTexts = 64

// normalized is normalize with a memory of the non-ASCII values this Mapper
// has seen: sources repeat their words (statuses, currency names,
// departments, party names), and NFKC costs more than a lookup. A Mapper
// serves one goroutine at a time, so the map needs no lock. s may be a view
// of the parser's buffer: what is kept is a copy.
func (mp *Mapper) normalized(s string) string {
	n, _ := mp.normalizedOwned(s)
	return n
}

// normalizedOwned is normalized, also saying whether the result is the
// Mapper's own copy rather than a view of s: a remembered value is, and a
// record may keep it without copying it again.
func (mp *Mapper) normalizedOwned(s string) (string, bool) {
	if len(s) > maxNormText {
		return normalize(s), false
	}
	if n, ok := clean.NormalizeASCII(s); ok {
		return n, false
	}
	if n, ok := mp.norms[s]; ok {
		return n, true
	}
	if mp.norms == nil || len(mp.norms) >= maxNormTexts {
		mp.norms = make(map[string]string, 256)
	}
	k := strings.Clone(s)
	n := normalize(k)
	mp.norms[k] = n
	return n, true
}

// fieldCurrency is the currency f's currency field names, or none.
func (mp *Mapper) fieldCurrency(root *fastjson.Value, f *fieldPlan) (record.Currency, error) {
	if f.currency == nil {
		return record.Currency{}, nil
	}
	c, err := mp.currency(root, f.currency)
	if err != nil {
		// The field refused is the money's, and the word the currency
		// field's: naming only the amount's column sent readers to a
		// column that was fine.
		return record.Currency{}, &record.DecodeError{Reason: record.ReasonWrongType, Field: f.name,
			Detail: fmt.Sprintf("source field %s, the currency of %s: %v", f.currency.text, f.source(), err.err)}
	}
	return c, nil
}

// firstAmount reads a money field given as first_of several columns, as
// statements split debits and credits: the column that holds a non-zero
// amount. A column of 0.00 beside it is the export's way of leaving it
// empty (taking the first non-blank column took that zero and lost the
// amount); two columns that both hold one are refused, since which is
// meant cannot be told. All zero, it is zero.
func (mp *Mapper) firstAmount(root, v *fastjson.Value, f *fieldPlan, out *value) error {
	cur, err := mp.fieldCurrency(root, f)
	if err != nil {
		return err
	}
	var (
		pick        record.Money
		pickKey     string
		found, zero bool
	)
	for i, k := range f.get.keys {
		s, ok := asText(mp.member(v, k, f.get.hashes[i], f.get.ids[i]), &mp.num)
		if !ok {
			continue
		}
		norm := mp.normalized(s)
		if isBlank(norm) {
			continue
		}
		if r, ok := clean.NumberLookalike(s); ok {
			return &record.DecodeError{Reason: record.ReasonWrongType, Field: f.name, Detail: fmt.Sprintf("source field %s: %q looks like a digit but is not one", k, r)}
		}
		m, missing, err := parseMoney(norm, false, f, cur)
		if err != nil {
			return &record.DecodeError{Reason: record.ReasonWrongType, Field: f.name, Detail: fmt.Sprintf("source field %s: %v", k, err)}
		}
		switch {
		case missing:
		case m.Minor == 0:
			if !found && !zero {
				pick, zero = m, true
			}
		case found:
			return &record.DecodeError{Reason: record.ReasonWrongType, Field: f.name,
				Detail: fmt.Sprintf("source fields %s and %s both hold an amount: which one is meant cannot be told", pickKey, k)}
		default:
			pick, pickKey, found = m, k, true
		}
	}
	if !found && !zero {
		if f.def == nil {
			return errBlank
		}
		m, missing, err := parseMoney(mp.normalized(*f.def), false, f, cur)
		if err != nil {
			return wrong(f, *f.def, err)
		}
		if missing {
			return errBlank
		}
		pick = m
	}
	if f.abs && pick.Minor < 0 {
		pick.Minor = -pick.Minor
	}
	if found && f.columns != nil {
		mp.column, mp.columnDir = pickKey, f.columns[pickKey]
	}
	out.m = pick
	return nil
}

// directionOf is the direction field of a body that has one.
func directionOf(b record.Body) *string {
	switch b := b.(type) {
	case *record.Invoice:
		return &b.Direction
	case *record.Payment:
		return &b.Direction
	case *record.BankTxn:
		return &b.Direction
	}
	return nil
}

// checkColumn holds the record's direction to the column its amount was
// found in (columns), or gives it that direction when it has none. A
// 借贷标志 that says credit beside an amount in the debit column is a
// broken export: which of the two is right cannot be told.
func (mp *Mapper) checkColumn(ru *rule, b record.Body) error {
	d := directionOf(b)
	switch {
	case mp.columnDir == "" || d == nil:
	case *d == "":
		*d = mp.columnDir
	case *d != mp.columnDir:
		from := "the mapping"
		for _, f := range ru.fields {
			if f.name == "body.direction" && f.constant == nil {
				from = "source field " + f.source()
			}
		}
		return &record.DecodeError{Reason: record.ReasonWrongType, Field: "body.direction",
			Detail: fmt.Sprintf("%s says %s, but the amount is in %s, a %s column: which is right cannot be told", from, *d, mp.column, mp.columnDir)}
	}
	return nil
}

// readsDigits says whether t's parser reads digits.
func readsDigits(t valueType) bool {
	switch t {
	case tMoney, tFixed, tDate, tDateTime, tUint, tVersion:
		return true
	}
	return false
}

// signCurrency is what a sign field reads a bare amount in: BHD, of the
// currencies erpflow knows one with the most decimals (3).
var signCurrency = record.MustCurrency("BHD")

func wrong(f *fieldPlan, raw string, err error) error {
	if err == nil {
		err = errors.New("no value")
	}
	return &record.DecodeError{Reason: record.ReasonWrongType, Field: f.name, Detail: fmt.Sprintf("source field %s: %v", f.source(), err)}
}

// isRequired reports whether blank is an error for this field right away
// (envelope fields); body fields are left to the canonical rules.
func isRequired(f *fieldPlan) bool {
	switch f.name {
	case "company", "id", "event_time", "version":
		return true
	}
	return false
}

func (f *fieldPlan) source() string {
	if f.constant != nil {
		return "(constant)"
	}
	return f.get.text
}

// read returns the source value at the getter as text: strings as they
// are, numbers and booleans as written, null and absence as not present.
// read gives the source value as text. The text of a number or boolean
// goes to num, when given, instead of a new string.
func (mp *Mapper) read(g *getter, v *fastjson.Value, num *[]byte) (string, bool) {
	if g.firstOf {
		for i, k := range g.keys {
			if s, ok := asText(mp.member(v, k, g.hashes[i], g.ids[i]), num); ok && !isBlank(normalize(s)) {
				return s, true
			}
		}
		return "", false
	}
	return asText(mp.at(v, g), num)
}

// at returns the value at g's path in v; g is not a first_of.
func (mp *Mapper) at(v *fastjson.Value, g *getter) *fastjson.Value {
	x := mp.member(v, g.keys[0], g.hashes[0], g.ids[0])
	if len(g.keys) > 1 {
		x = x.Get(g.keys[1:]...)
	}
	return x
}

func (mp *Mapper) isArray(g *getter, v *fastjson.Value) bool {
	if g.firstOf {
		return false
	}
	x := mp.at(v, g)
	return x != nil && x.Type() == fastjson.TypeArray
}

func (mp *Mapper) readList(g *getter, v *fastjson.Value, num *[]byte) ([]string, error) {
	var out []string
	arr := mp.at(v, g).GetArray()
	for i, e := range arr {
		if isComposite(e) {
			return nil, fmt.Errorf("element %d is an object or a list, not a value", i)
		}
		if s, ok := asText(e, num); ok {
			if n := normalize(s); !isBlank(n) {
				out = append(out, strings.Clone(n))
			}
		}
	}
	return out, nil
}

// readValue is read, also saying whether the value there is an object or
// a list (composite), which read takes for absent.
func (mp *Mapper) readValue(g *getter, v *fastjson.Value, num *[]byte) (s string, present, composite bool) {
	if g.firstOf {
		for i, k := range g.keys {
			x := mp.member(v, k, g.hashes[i], g.ids[i])
			if isComposite(x) {
				return "", false, true
			}
			if s, ok := asText(x, num); ok && !isBlank(normalize(s)) {
				return s, true, false
			}
		}
		return "", false, false
	}
	x := mp.at(v, g)
	s, present = asText(x, num)
	return s, present, isComposite(x)
}

func isComposite(x *fastjson.Value) bool {
	if x == nil {
		return false
	}
	t := x.Type()
	return t == fastjson.TypeObject || t == fastjson.TypeArray
}

func asText(x *fastjson.Value, num *[]byte) (string, bool) {
	if x == nil {
		return "", false
	}
	switch x.Type() {
	case fastjson.TypeString:
		// A view of the parser's buffer, valid until the next record is
		// parsed: most values are parsed into numbers, dates or mapped
		// words and never kept; text kept in a record is copied (parseAs).
		b, _ := x.StringBytes()
		if len(b) == 0 {
			return "", true
		}
		return unsafe.String(&b[0], len(b)), true
	case fastjson.TypeNumber, fastjson.TypeTrue, fastjson.TypeFalse:
		if num == nil {
			return x.String(), true
		}
		// Appended, never overwritten until the next record: an earlier
		// view stays valid when num grows (it keeps the old array).
		start := len(*num)
		*num = x.MarshalTo(*num)
		return unsafe.String(&(*num)[start], len(*num)-start), true
	}
	return "", false
}

func (mp *Mapper) lines(v *fastjson.Value, lp *linesPlan, r *record.Record) error {
	// Line items given as something other than a list were read as none,
	// and the document landed without them.
	x := mp.at(v, lp.at)
	if x != nil && x.Type() != fastjson.TypeArray && x.Type() != fastjson.TypeNull {
		return &record.DecodeError{Reason: record.ReasonWrongType, Field: "body.lines",
			Detail: fmt.Sprintf("source field %s is %s, not a list of line items", lp.at.text, x.Type())}
	}
	arr := x.GetArray()
	out := make([]record.Line, len(arr))
	for i, item := range arr {
		for _, f := range lp.fields {
			val := mp.scratch()
			if err := mp.evalIn(v, item, &f.fieldPlan, val); err != nil {
				at := "body.lines[" + strconv.Itoa(i) + "]." + strings.TrimPrefix(f.name, "body.lines.")
				if errors.Is(err, errBlank) {
					if f.required {
						return &record.DecodeError{Reason: record.ReasonMissingField, Field: at, Detail: "source field " + f.source() + " is blank or absent"}
					}
					continue
				}
				var de *record.DecodeError
				var me *Error
				switch {
				case errors.As(err, &de):
					de.Field = at
				case errors.As(err, &me):
					me.Field = at
				}
				return err
			}
			f.set(&out[i], val)
		}
	}
	*record.LinesOf(r.Body) = out
	return nil
}
