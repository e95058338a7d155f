package mapping

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// fileSpec is a mapping file as written (docs/mapping.md describes it).
type fileSpec struct {
	Name     string                `yaml:"name"`
	Version  uint32                `yaml:"version"`
	Source   string                `yaml:"source"`
	Options  ParserOptions         `yaml:"options"`
	Lookups  map[string]lookupSpec `yaml:"lookups"`
	Envelope envelopeSpec          `yaml:"envelope"`
	Rules    []ruleSpec            `yaml:"rules"`
}

// ParserOptions are the value parsers' options; a file sets defaults and a
// field may override them.
type ParserOptions struct {
	Currency        string `yaml:"currency"`         // forced currency of amounts
	DefaultCurrency string `yaml:"default_currency"` // when the value names none
	Decimal         string `yaml:"decimal"`          // point or comma
	DateOrder       string `yaml:"date_order"`       // YMD, DMY or MDY
	TZ              string `yaml:"tz"`               // source time zone, e.g. Asia/Shanghai
	Excel           string `yaml:"excel"`            // 1900 or 1904, for serial dates
}

type lookupSpec struct {
	File  string `yaml:"file"`  // CSV with a header row, relative to the mapping file
	Key   string `yaml:"key"`   // key column
	Value string `yaml:"value"` // value column
}

// envelopeSpec says where the envelope comes from. Company defaults to the
// Kafka key when no source is given.
type envelopeSpec struct {
	Company   *fieldSpec `yaml:"company"`
	ID        *fieldSpec `yaml:"id"`
	Version   *fieldSpec `yaml:"version"`
	EventTime *fieldSpec `yaml:"event_time"`
}

type ruleSpec struct {
	When     *whenSpec            `yaml:"when"`
	Kind     string               `yaml:"kind"`
	Envelope envelopeSpec         `yaml:"envelope"`
	Fields   map[string]fieldSpec `yaml:"fields"`
	Lines    *linesSpec           `yaml:"lines"`
}

// whenSpec selects the records a rule maps: the source value, after text
// normalisation, is one of In.
type whenSpec struct {
	Field string   `yaml:"field"`
	Path  string   `yaml:"path"`
	In    []string `yaml:"in"`
}

// linesSpec maps an array of objects in the source to line items.
type linesSpec struct {
	Path   string               `yaml:"path"`
	Fields map[string]fieldSpec `yaml:"fields"`
}

// fieldSpec is where one canonical value comes from and how to read it.
type fieldSpec struct {
	Field   string            `yaml:"field"`    // a top-level key, any characters (CSV headers)
	Path    string            `yaml:"path"`     // a dotted path into nested JSON
	FirstOf []string          `yaml:"first_of"` // the first of these top-level keys that is not blank
	Const   *string           `yaml:"const"`    // a constant instead of a source value
	Map     map[string]string `yaml:"map"`      // source word -> canonical value
	Lookup  string            `yaml:"lookup"`   // name of a lookup table
	Default *string           `yaml:"default"`  // when the source value is blank
	// Sign turns a signed amount into a word: {negative: debit, positive: credit}.
	Sign map[string]string `yaml:"sign"`
	// Abs drops an amount's sign (the sign went into another field).
	Abs bool `yaml:"abs"`
	// CurrencyField and CurrencyPath give an amount's currency from another
	// source value (aliases such as 人民币 are understood).
	CurrencyField string `yaml:"currency_field"`
	CurrencyPath  string `yaml:"currency_path"`
	// Epoch says a version is a Unix time, in ms or s: a value that is
	// not one from 2000 to 2100 in that unit is refused, so that a
	// source slipping from milliseconds to seconds does not send versions
	// a thousand times smaller, which would read as older.
	Epoch string `yaml:"epoch"`
	// Columns, for an amount read with first_of, gives the direction each
	// column means ({借方金额: debit, 贷方金额: credit}): the column the
	// amount is in must agree with the record's direction, or gives it.
	Columns       map[string]string `yaml:"columns"`
	ParserOptions `yaml:",inline"`
}

// LoadError is a problem of a mapping file, with its position when known.
type LoadError struct {
	File   string
	Line   int // 0 when unknown
	Column int
	Key    string // the YAML path, e.g. rules[0].fields.amount
	Err    error
}

func (e *LoadError) Error() string {
	pos := e.File
	if e.Line > 0 {
		pos = fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Column)
	}
	if e.Key != "" {
		return fmt.Sprintf("%s: %s: %v", pos, e.Key, e.Err)
	}
	return fmt.Sprintf("%s: %v", pos, e.Err)
}

func (e *LoadError) Unwrap() error { return e.Err }

// Load errors, wrapped in *LoadError.
var (
	ErrUnknownField    = errors.New("not a canonical field of this kind")
	ErrMissingRequired = errors.New("required canonical field is not mapped")
	ErrBadSource       = errors.New("give exactly one of field, path, first_of or const")
	ErrBadMapValue     = errors.New("maps to a value the canonical field does not allow")
	ErrUnknownLookup   = errors.New("no such lookup table")
	ErrBadLookup       = errors.New("bad lookup table")
	ErrBadOption       = errors.New("bad option")
	ErrNoRules         = errors.New("a mapping needs at least one rule")
)

// positions finds YAML nodes by path for error messages.
type positions struct {
	file string
	ast  *ast.File
}

// errAt builds a LoadError at the YAML path key ("rules[0].fields.amount"),
// falling back to its parents when the exact node is not found.
func (p positions) errAt(key string, err error) *LoadError {
	le := &LoadError{File: p.file, Key: key, Err: err}
	for k := key; k != "" && p.ast != nil; k = parentKey(k) {
		path, perr := yaml.PathString("$." + quoteKeys(k))
		if perr != nil {
			continue
		}
		node, ferr := path.FilterFile(p.ast)
		if ferr != nil || node == nil || node.GetToken() == nil {
			continue
		}
		tok := node.GetToken()
		le.Line, le.Column = tok.Position.Line, tok.Position.Column
		break
	}
	return le
}

func parentKey(k string) string {
	i := strings.LastIndexAny(k, ".[")
	if i <= 0 {
		return ""
	}
	return k[:i]
}

// quoteKeys quotes path segments that are not plain identifiers, as
// go-yaml's path syntax wants.
func quoteKeys(k string) string {
	parts := strings.Split(k, ".")
	for i, p := range parts {
		name, idx, _ := strings.Cut(p, "[")
		plain := name != ""
		for _, c := range name {
			if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				plain = false
			}
		}
		if !plain {
			name = "'" + name + "'"
		}
		if idx != "" {
			name += "[" + idx
		}
		parts[i] = name
	}
	return strings.Join(parts, ".")
}

// readSpec parses a mapping file strictly (unknown keys are errors);
// display is how messages name the file.
func readSpec(fsys fs.FS, name, display string) (*fileSpec, positions, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, positions{}, fmt.Errorf("mapping %s: %w", display, err)
	}
	pos := positions{file: display}
	if f, err := parser.ParseBytes(data, 0); err == nil {
		pos.ast = f
	}
	var spec fileSpec
	if err := yaml.UnmarshalWithOptions(data, &spec, yaml.DisallowUnknownField()); err != nil {
		return nil, pos, fmt.Errorf("%s:\n%s", display, yaml.FormatError(err, false, true))
	}
	return &spec, pos, nil
}

// sortedKeys returns a map's keys in order, so that errors and evaluation
// order do not depend on map iteration.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
