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
	var spec fileSpec
	err = guarded(func() error {
		if f, err := parser.ParseBytes(data, 0); err == nil {
			pos.ast = f
		}
		return yaml.UnmarshalWithOptions(data, &spec, yaml.DisallowUnknownField())
	})
	var pe *yamlPanic
	switch {
	case errors.As(err, &pe):
		return nil, pos, fmt.Errorf("%s: %w", display, err)
	case err != nil:
		return nil, pos, fmt.Errorf("%s:\n%s", display, yaml.FormatError(err, false, true))
	}
	if pos.ast != nil {
		if err := unquotedNumbers(pos); err != nil {
			return nil, pos, err
		}
	}
	return &spec, pos, nil
}

// guarded runs f, turning a panic into an error: go-yaml v1.19 panics on
// some malformed files (a tag before a block of keys), found by FuzzLoad.
func guarded(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &yamlPanic{r}
		}
	}()
	return f()
}

// yamlPanic is a panic of the YAML library on a file it could not read.
type yamlPanic struct{ v any }

func (e *yamlPanic) Error() string {
	return fmt.Sprintf("not YAML erpflow can read (the YAML library failed: %v)", e.v)
}

// textKeys hold source words and canonical values: text, whatever it
// looks like.
var textKeys = map[string]bool{"const": true, "default": true, "map": true, "in": true, "sign": true, "columns": true}

// unquotedNumbers refuses a YAML number, under a key that holds text,
// written so that go-yaml's reading of it is not what was written:
// "const: 0001" is the number 1 and became the text "1", 00042 is octal
// (34), and 1.50 became "1.5". Quoted, each is the text as written.
func unquotedNumbers(pos positions) error {
	var errs []error
	for _, doc := range pos.ast.Docs {
		ast.Walk(visitFunc(func(n ast.Node) bool {
			mv, ok := n.(*ast.MappingValueNode)
			if !ok || !textKeys[mv.Key.String()] {
				return true
			}
			ast.Walk(visitFunc(func(n ast.Node) bool {
				tok := n.GetToken()
				switch n.(type) {
				case *ast.IntegerNode, *ast.FloatNode:
				default:
					return true
				}
				if tok != nil && lossyNumber(tok.Value) {
					errs = append(errs, &LoadError{File: pos.file, Line: tok.Position.Line, Column: tok.Position.Column, Key: mv.Key.String(),
						Err: fmt.Errorf("%w: %s is a YAML number, which reads as something else; quote it (%q) to mean the text", ErrBadOption, tok.Value, tok.Value)})
				}
				return true
			}), mv.Value)
			return false
		}), doc)
	}
	return errors.Join(errs...)
}

// lossyNumber says whether a YAML number's text is not how its value
// prints: a leading zero (octal to go-yaml), a sign, digit separators,
// another base, an exponent, or a fraction ending in 0.
func lossyNumber(s string) bool {
	t := strings.TrimPrefix(s, "-")
	switch {
	case strings.HasPrefix(s, "+"), strings.ContainsAny(t, "_xXoObBeE"):
		return true
	case len(t) > 1 && t[0] == '0' && t[1] != '.':
		return true
	case strings.Contains(t, ".") && strings.HasSuffix(t, "0"):
		return true
	}
	return false
}

// visitFunc is an ast.Visitor from a function that says whether to go
// into the node's children.
type visitFunc func(ast.Node) bool

func (f visitFunc) Visit(n ast.Node) ast.Visitor {
	if n == nil || !f(n) {
		return nil
	}
	return f
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
