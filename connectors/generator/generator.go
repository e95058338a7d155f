// Package generator builds a seeded, deterministic company world (customers,
// suppliers, employees, products) and plays order to cash, purchase to pay and
// expense claims through it, producing canonical records and the ground truth
// a reconciliation engine is scored against (docs/generator.md).
package generator

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/erpflow/erpflow/pipeline/record"
)

// Config says which world to build. Equal configs give byte-identical output.
type Config struct {
	Seed         int64
	Days         int         // length of the window; default 90
	Companies    int         // default 3
	Start        record.Date // first day of the window; default 2025-01-01
	OrdersPerDay int         // mean sales orders per company and day; default 150
}

// Defaults for zero Config fields.
const (
	DefaultDays         = 90
	DefaultCompanies    = 3
	DefaultOrdersPerDay = 150
)

// DefaultStart is the first day of the window when Config.Start is unset.
var DefaultStart = record.MakeDate(2025, time.January, 1)

func (c Config) normalize() (Config, error) {
	if c.Days < 0 || c.Companies < 0 || c.OrdersPerDay < 0 {
		return c, errors.New("generator: days, companies and orders per day must not be negative")
	}
	if c.Days == 0 {
		c.Days = DefaultDays
	}
	if c.Companies == 0 {
		c.Companies = DefaultCompanies
	}
	if c.OrdersPerDay == 0 {
		c.OrdersPerDay = DefaultOrdersPerDay
	}
	if c.Start == record.NoDate {
		c.Start = DefaultStart
	}
	switch {
	case c.Days > 3660:
		return c, fmt.Errorf("generator: %d days is more than ten years", c.Days)
	case c.Companies > 99:
		return c, fmt.Errorf("generator: %d companies; at most 99", c.Companies)
	case c.OrdersPerDay > 100000:
		return c, fmt.Errorf("generator: %d orders per day; at most 100000", c.OrdersPerDay)
	case c.Start+record.Date(c.Days)+horizonDays > record.MaxDate:
		return c, fmt.Errorf("generator: a window from %s for %d days ends too late: its documents fall due and are paid up to a year after it, and erpflow stores days up to %s",
			c.Start, c.Days, record.MaxDate)
	}
	return c, nil
}

// horizonDays is how far past its window a world's dates may reach: due
// dates and payments of the last days' documents.
const horizonDays = 366

// Check says whether c can be generated, as WriteFiles and WriteRawFiles
// will see it, before they create any file.
func (c Config) Check() error {
	_, err := c.normalize()
	return err
}

// Stats counts what a run produced.
type Stats struct {
	// Records emitted: in canonical mode duplicates included, in raw mode
	// the canonical records (which have no duplicates).
	Records int
	// Duplicates are exact re-sends: of canonical records, or in raw mode of
	// raw lines.
	Duplicates int
	ByKind     map[string]int // records per kind, duplicates excluded
	Links      int            // truth links
	Exceptions map[string]int // truth exceptions per type
	// Mix counts the behaviours drawn (docs/generator.md lists the keys),
	// e.g. "ar_batch" invoices or "remit_garbled" receipts. Flows planned
	// for after the window are counted when drawn, not when they happen.
	Mix map[string]int

	// Raw mode only (nil or zero otherwise).
	Raw            map[string]RawStats // per raw source
	Passthrough    int                 // canonical records with no raw shape (purchase orders, goods receipts, approvals)
	DeadLetters    map[string]int      // planted bad records per reason
	NearDuplicates int                 // near_duplicate truth lines
	// Mess counts the value forms drawn, by "source.field.form" (docs/sources.md).
	Mess map[string]int
}

// Generate builds the world of cfg and calls emit for every record in
// event-time order (ties in a fixed generation order) and truth for every
// ground-truth line, links right after their bank line, exceptions after
// their subject, and the end-of-window exceptions last. emit must not keep
// or change the record; a duplicate is the same pointer passed twice.
func Generate(cfg Config, emit func(*record.Record) error, truth func(Truth) error) (Stats, error) {
	return run(cfg, emit, truth, nil, nil)
}

// run plays the world; with raw set it writes raw mode (raw.go).
func run(cfg Config, emit func(*record.Record) error, truth func(Truth) error, progress func(done, total int),
	raw func(string, []byte) error) (Stats, error) {
	st := Stats{ByKind: map[string]int{}, Exceptions: map[string]int{}, Mix: map[string]int{}}
	cfg, err := cfg.normalize()
	if err != nil {
		return st, err
	}
	sims := make([]*sim, cfg.Companies)
	for i := range sims {
		sims[i] = newSim(cfg, i, &st)
	}
	o := &output{emit: emit, truth: truth, st: &st,
		dup: rand.New(rand.NewPCG(uint64(cfg.Seed), 0xD0B1E5E4D))}
	if raw != nil {
		o.raw = newRawOut(cfg, sims, o, raw, emit)
	}
	var day []*entry
	for d := range cfg.Days {
		day = day[:0]
		for _, s := range sims {
			s.step(d)
			day = append(day, s.take(d)...)
		}
		slices.SortFunc(day, func(a, b *entry) int {
			if c := a.rec.EventTime.Compare(b.rec.EventTime); c != 0 {
				return c
			}
			return cmp.Or(cmp.Compare(a.ci, b.ci), cmp.Compare(a.seq, b.seq))
		})
		for _, e := range day {
			if err := o.write(e); err != nil {
				return st, err
			}
		}
		if o.raw != nil {
			if err := o.raw.endDay(); err != nil {
				return st, err
			}
		}
		clear(day)
		if progress != nil {
			progress(d+1, cfg.Days)
		}
	}
	for _, s := range sims {
		for _, t := range s.closing() {
			if o.raw != nil {
				t = o.raw.translate(t)
			}
			if err := o.writeTruth(t); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

type output struct {
	emit  func(*record.Record) error
	truth func(Truth) error
	st    *Stats
	dup   *rand.Rand
	raw   *rawOut // raw mode
}

// write emits one record, maybe twice, then its truth. Bank lines get their
// statement numbers here, in booking order, per account and day.
func (o *output) write(e *entry) error {
	r := e.rec
	if a := e.bank; a != nil {
		// Numbered by statement day, which is the flush day, so ids never repeat.
		b := r.Body.(*record.BankTxn)
		if day := record.DateOf(r.EventTime); a.day != day {
			a.day, a.line = day, 0
		}
		a.line++
		ymd := a.day.Time().Format("20060102")
		r.ID = fmt.Sprintf("ST-%s-%04d", ymd, a.line)
		b.BankRef = fmt.Sprintf("%s%s%05d", a.bank, ymd, a.line)
	}
	if o.raw != nil {
		return o.raw.write(e)
	}
	n := 1
	if o.dup.Float64() < shareDuplicateMsg {
		n = 2
		o.st.Duplicates++
	}
	for range n {
		o.st.Records++
		if err := o.emit(r); err != nil {
			return err
		}
	}
	self := r.Company + "/" + r.Source + "/" + r.ID
	for _, t := range e.truth {
		if t.Type == TruthLink && t.BankTxn == "" {
			t.BankTxn = self
		}
		if t.Type == TruthException && t.SubjectID == "" {
			t.SubjectID = self
		}
		if err := o.writeTruth(t); err != nil {
			return err
		}
	}
	return nil
}

func (o *output) writeTruth(t Truth) error {
	switch t.Type {
	case TruthLink:
		o.st.Links++
	case TruthException:
		o.st.Exceptions[t.Exception]++
	case TruthDeadLetter:
		o.st.DeadLetters[t.Reason]++
		rs := o.st.Raw[t.Source]
		rs.DeadLetters++
		o.st.Raw[t.Source] = rs
	case TruthNearDuplicate:
		o.st.NearDuplicates++
	}
	if o.truth == nil {
		return nil
	}
	return o.truth(t)
}
