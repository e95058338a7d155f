// Package match reconciles money movements with what they settle: bank
// lines with invoices, claims and payments. This file finds document
// references in free text; openitems.go holds what is still open.
package match

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/erpflow/erpflow/transforms/clean"
)

// RefFinder finds document numbers in remittance text and reference
// fields, with patterns a company configures. Text is normalised first
// (full-width forms folded, case kept), so "货款ＩＮＶ－２０２５－００００４２"
// and "货款 INV-2025-000042" give the same reference.
type RefFinder struct {
	patterns []*regexp.Regexp
	// last and lastRefs are the previous text and what Find made of it: a
	// bank line's remittance is searched again right after matching (the
	// duplicate-payment check), and each search runs the expressions. Their
	// zero values are right for the empty text, which holds no reference.
	last     string
	lastRefs []string
}

// DefaultRefPatterns match the document numbers the generator and the
// shipped sources use: INV-2025-000042, AP-2025-000088, PAY-…, BX-…, SO-…,
// PO-…, with the separators a clerk may type instead of '-'.
var DefaultRefPatterns = []string{
	`(?i)\b(INV|AP|PAY|BX|SO|PO)[-_ /]?(\d{4})[-_ /]?(\d{3,6})\b`,
}

// NewRefFinder compiles patterns; each must have exactly three groups:
// prefix, year and sequence number, from which the canonical
// PREFIX-YEAR-NUMBER is rebuilt.
func NewRefFinder(patterns []string) (*RefFinder, error) {
	f := &RefFinder{}
	for _, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("reference pattern %q: %w", p, err)
		}
		if re.NumSubexp() != 3 {
			return nil, fmt.Errorf("reference pattern %q: want 3 groups (prefix, year, number), got %d", p, re.NumSubexp())
		}
		f.patterns = append(f.patterns, re)
	}
	return f, nil
}

// Find returns the distinct references in text, in order of appearance, in
// canonical form (upper-case prefix, "-" separators, the number padded to
// six digits as the documents write it). The result may be shared with
// the previous caller that asked about the same text: callers only read
// it. A RefFinder serves one goroutine.
func (f *RefFinder) Find(text string) []string {
	if text == f.last {
		return f.lastRefs
	}
	out := f.find(text)
	f.last, f.lastRefs = text, out
	return out
}

func (f *RefFinder) find(text string) []string {
	text = clean.Normalize(text)
	var out []string
	seen := map[string]bool{}
	for _, re := range f.patterns {
		for _, m := range re.FindAllStringSubmatch(text, -1) {
			num := m[3]
			if len(num) < 6 {
				num = strings.Repeat("0", 6-len(num)) + num
			}
			ref := strings.ToUpper(m[1]) + "-" + m[2] + "-" + num
			if !seen[ref] {
				seen[ref] = true
				out = append(out, ref)
			}
		}
	}
	return out
}
