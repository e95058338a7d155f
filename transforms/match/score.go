package match

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
)

// Truth is what a generated world says should be found: the links between
// bank lines and the documents they pay, and the exceptions planted in it
// (docs/generator.md describes the file).
type Truth struct {
	Links      map[Link]bool
	Exceptions map[Finding]bool
}

// Link is a bank line paying a document, both as company/source/id.
type Link struct{ Line, Target string }

// Finding is an exception by type and subject (company/source/id).
type Finding struct{ Type, Subject string }

// ReadTruth reads a truth.ndjson file. Lines of other types (dead
// letters, near duplicates) are not about matching and are skipped; a line
// that is not a JSON object, or has no type (a records file given by
// mistake, which would otherwise score as an empty truth), is an error
// naming its number.
func ReadTruth(r io.Reader) (Truth, error) {
	t := Truth{Links: map[Link]bool{}, Exceptions: map[Finding]bool{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		var x map[string]any
		if err := json.Unmarshal(sc.Bytes(), &x); err != nil {
			return t, fmt.Errorf("truth line %d: %w", n, err)
		}
		str := func(k string) string { s, _ := x[k].(string); return s }
		if str("type") == "" {
			return t, fmt.Errorf("truth line %d: no \"type\": not a line of a generator's truth file", n)
		}
		switch str("type") {
		case "link":
			if str("bank_txn") == "" || str("target_id") == "" {
				return t, fmt.Errorf("truth line %d: a link needs bank_txn and target_id", n)
			}
			t.Links[Link{str("bank_txn"), str("target_id")}] = true
		case "exception":
			t.Exceptions[Finding{str("exception"), str("subject_id")}] = true
		}
	}
	if err := sc.Err(); err != nil {
		return t, fmt.Errorf("truth: %w", err)
	}
	return t, nil
}

// Scored are the accuracy figures of a reconciliation against the truth.
type Scored struct {
	Precision, Recall, Review float64
	Confirmed, Right, Links   int // confirmed links, of which in the truth; links in the truth
	LinkedLines, InReview     int // bank lines with a truth link; of which left in review
	Found, Planted            int // planted exceptions found with type and subject; planted
	ByType                    map[string][2]int
	// Missed are the truth's links no confirmed match has, Wrong the
	// confirmed links the truth does not have, both sorted; MissedBy
	// counts the missed by what became of their line.
	Missed, Wrong []Link
	MissedBy      map[Outcome]int
}

// Score holds the confirmed links, the outcome of each bank line and the
// open exceptions found to the truth. Precision and recall are over the
// links of confirmed matches; Review is the share of bank lines with a
// truth link that are left in review.
func Score(t Truth, confirmed []Link, outcomes map[string]Outcome, found map[Finding]bool) Scored {
	s := Scored{Links: len(t.Links), ByType: map[string][2]int{}, MissedBy: map[Outcome]int{}}
	seen := map[Link]bool{}
	for _, l := range confirmed {
		if seen[l] {
			continue
		}
		seen[l] = true
		s.Confirmed++
		if t.Links[l] {
			s.Right++
		} else {
			s.Wrong = append(s.Wrong, l)
		}
	}
	for l := range t.Links {
		if !seen[l] {
			s.Missed = append(s.Missed, l)
			o := outcomes[l.Line]
			if o == "" {
				o = "not matched"
			}
			s.MissedBy[o]++
		}
	}
	byLink := func(a, b Link) int { return strings.Compare(a.Line+" "+a.Target, b.Line+" "+b.Target) }
	slices.SortFunc(s.Missed, byLink)
	slices.SortFunc(s.Wrong, byLink)
	lines := map[string]bool{}
	for l := range t.Links {
		lines[l.Line] = true
	}
	s.LinkedLines = len(lines)
	for l := range lines {
		if outcomes[l] == Review {
			s.InReview++
		}
	}
	for f := range t.Exceptions {
		c := s.ByType[f.Type]
		c[1]++
		if found[f] {
			c[0]++
			s.Found++
		}
		s.ByType[f.Type] = c
	}
	s.Planted = len(t.Exceptions)
	s.Precision = ratio(s.Right, s.Confirmed)
	s.Recall = ratio(s.Right, s.Links)
	s.Review = ratio(s.InReview, s.LinkedLines)
	return s
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// String is the report: one line per exception type, then the parseable
// summary line last.
func (s Scored) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "links: %d confirmed, %d of them right, %d in the truth\n", s.Confirmed, s.Right, s.Links)
	fmt.Fprintf(&b, "bank lines with a truth link: %d, left in review: %d\n", s.LinkedLines, s.InReview)
	if len(s.MissedBy) > 0 {
		outs := slices.Sorted(maps.Keys(s.MissedBy))
		parts := make([]string, len(outs))
		for i, o := range outs {
			parts[i] = fmt.Sprintf("%s %d", o, s.MissedBy[o])
		}
		fmt.Fprintf(&b, "links missed, by what became of their line: %s\n", strings.Join(parts, ", "))
	}
	types := make([]string, 0, len(s.ByType))
	for t := range s.ByType {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		fmt.Fprintf(&b, "exceptions %-22s %d of %d planted found\n", t, s.ByType[t][0], s.ByType[t][1])
	}
	fmt.Fprintf(&b, "precision=%.4f recall=%.4f review=%.4f exceptions_found=%d exceptions_planted=%d\n",
		s.Precision, s.Recall, s.Review, s.Found, s.Planted)
	return b.String()
}
