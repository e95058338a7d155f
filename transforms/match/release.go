package match

import (
	"bytes"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/erpflow/erpflow/pipeline"
)

// emitter turns what a reconciler reported into rows and notes: the
// stage's own into the batch, a lane's into laneRows.
type emitter struct {
	out  Output
	rows rowWriter
	// noteBuf is where a note is written before kept copies it out.
	noteBuf []byte
	b       *pipeline.Batch // the batch being processed (the stage's own emitter)
	dst     deriver
	notes   *[]pipeline.Note
	// lane is where a parallel lane's rows and notes wait to be merged.
	lane laneRows
}

// laneRows are one company's rows while companies are released in
// parallel. They are kept from batch to batch, emptied, so that the lanes
// allocate no more than the batch itself would; order lists this batch's
// tables in the order first derived, the order the batch must get them in.
type laneRows struct {
	rows  map[*pipeline.Table]*pipeline.Rows
	order []*pipeline.Rows
	notes []pipeline.Note
}

func (l *laneRows) Derive(t *pipeline.Table) *pipeline.Rows {
	r := l.rows[t]
	if r == nil {
		if l.rows == nil {
			l.rows = map[*pipeline.Table]*pipeline.Rows{}
		}
		r = pipeline.NewRows(t)
		l.rows[t] = r
	}
	for _, o := range l.order {
		if o == r {
			return r
		}
	}
	l.order = append(l.order, r)
	return r
}

// mergeInto appends the lane's rows and notes to the batch and empties it.
// Rows grown past keptRows are let go rather than kept: the end of a
// backfill releases a hundred thousand records at once, and their room
// would then sit unused for the rest of the run.
func (l *laneRows) mergeInto(b roomy) error {
	for _, r := range l.order {
		if err := b.Derive(r.Table).AppendRows(r); err != nil {
			return err
		}
		if r.Len() > keptRows {
			delete(l.rows, r.Table)
			continue
		}
		r.Reset()
	}
	clear(l.order)
	l.order = l.order[:0]
	b.b.Notes = append(b.b.Notes, l.notes...)
	clear(l.notes)
	l.notes = l.notes[:0]
	return nil
}

// lane is one company's release: what the loop reads and writes, taken
// out of the stage's maps so that companies can be released at once.
type lane struct {
	company string
	q       *queue
	rc      *Reconciler
	wm      time.Time
	all     bool
	latest  time.Time
	version uint64
	// serial lanes write into the batch itself and may apply the company's
	// pending decisions; the others write into their emitter's laneRows.
	serial bool
	e      *emitter
	moved  bool // latest was set by a record of this release
}

// keptRows is the most rows of a table a lane keeps room for between
// batches.
const keptRows = 4096

// parallelFrom is how many records a batch must release, across at least
// two companies, before they are released in parallel: below it, starting
// workers and merging their rows costs more than it saves.
const parallelFrom = 2048

// releaseAll feeds every company's held records up to its watermark
// (companyWatermark; all of them in the final batch) to its reconciler. Companies
// are independent, so they go in parallel when there is enough to do, each
// into rows of its own that are merged in company order afterwards: the
// batch comes out the same either way. The end of a backfill releases most
// of what was held at once, with nothing else left to run beside it.
func (s *Stage) releaseAll(b *pipeline.Batch) error {
	s.lanes = s.lanes[:0]
	total := 0
	parallel := true
	for _, c := range sortedKeys(s.held) {
		l := lane{company: c, q: s.held[c], rc: s.recs[c], all: b.Final, latest: s.latest[c], version: s.version[c]}
		if !b.Final {
			if l.wm = s.companyWatermark(c); l.wm.IsZero() {
				continue
			}
		}
		if len(s.pending[c]) > 0 {
			parallel = false // decisions write the stage's maps
		}
		total += l.q.len()
		s.lanes = append(s.lanes, l)
	}
	// q.len() counts held records, not those due: an upper bound is
	// enough to decide whether workers could pay off.
	workers := s.workers
	if workers == 0 {
		// Automatic: lanes only once the input is read to its end, when
		// matching is what is left to run. Beside a fetcher and stages at
		// full speed they kept more live at once, and the collector took
		// more than they saved.
		workers = 1
		if b.Final || s.inputAtEnd() {
			workers = s.cores
		}
	}
	if !parallel || len(s.lanes) < 2 || total < s.parallelFrom || workers < 2 {
		for i := range s.lanes {
			l := &s.lanes[i]
			l.serial, l.e = true, &s.em
			s.release(l)
			s.settle(l)
		}
		return nil
	}
	for i := range s.lanes {
		l := &s.lanes[i]
		if l.e = s.emitters[l.company]; l.e == nil {
			l.e = &emitter{}
			l.e.dst, l.e.notes = &l.e.lane, &l.e.lane.notes
			s.emitters[l.company] = l.e
		}
	}
	s.parallel++
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := min(workers, len(s.lanes)); w > 0; w-- {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(s.lanes); i = int(next.Add(1) - 1) {
				s.release(&s.lanes[i])
			}
		}()
	}
	wg.Wait()
	for i := range s.lanes {
		l := &s.lanes[i]
		if err := l.e.lane.mergeInto(roomy{b, s.rowsLast}); err != nil {
			return fmt.Errorf("release %s: %w", l.company, err)
		}
		s.settle(l)
	}
	return nil
}

// inputAtEnd says whether every input partition the stage has seen was
// read to its end at the last batch.
func (s *Stage) inputAtEnd() bool {
	for _, end := range s.atEnd {
		if !end {
			return false
		}
	}
	return len(s.atEnd) > 0
}

// settle writes what a lane changed back into the stage's maps.
func (s *Stage) settle(l *lane) {
	if l.moved {
		s.latest[l.company] = l.latest
	}
	s.version[l.company] = l.version
	if l.q.len() == 0 {
		delete(s.held, l.company)
	}
	l.e, l.q, l.rc = nil, nil, nil
}

// release feeds a company's held records up to its watermark (or all of
// them) to its reconciler in event-time order.
func (s *Stage) release(l *lane) {
	q := l.q
	q.order()
	held := q.sorted
	n := len(held)
	if !l.all {
		// Held times are whole seconds (matchTime). Every partition has
		// passed the watermark, but each may still bring records of the
		// watermark's own second (of 10:00:00 when it stands at 10:00:00,
		// or at 10:00:00.3): those must be ordered together with the ones
		// held, live as in a rebuild, which sees them all at once. So a
		// second goes once the watermark has left it.
		n = sort.Search(len(held), func(i int) bool { return held[i].EventTime.Add(time.Second).After(l.wm) })
	}
	due := l.serial && len(s.pending[l.company]) > 0
	for i := 0; i < n; i++ {
		h := held[i]
		r := h.record(l.company)
		if due {
			// Decisions read the company's latest time and write its
			// versions through the stage's maps.
			if l.moved {
				s.latest[l.company] = l.latest
			}
			s.version[l.company] = l.version
			s.applyDue(s.em.b, l.company, r.EventTime)
			l.version = s.version[l.company]
			due = len(s.pending[l.company]) > 0
		}
		if !r.EventTime.Before(l.latest) {
			l.latest, l.moved = r.EventTime, true
		} else if !h.replayed {
			s.metrics.late.Inc()
		}
		l.rc.Add(&r, &l.e.out)
		s.emit(l.e, &l.version, r.EventTime, !h.replayed)
	}
	rest := copy(held, held[n:])
	clear(held[rest:])
	q.sorted = held[:rest]
}

// emitNow emits what the stage's own emitter holds for a company.
func (s *Stage) emitNow(company string, at time.Time, count bool) {
	v := s.version[company]
	s.emit(&s.em, &v, at, count)
	s.version[company] = v
}

// emit turns what the reconciler reported into rows and notes. A rebuild's
// replay publishes its notes again: a batch whose rows landed but whose
// notes were not sent is never acknowledged, and only the replay can send
// them; readers dedupe on the ids (the delivery is at least once). Versions
// are the causing record's event time in microseconds times 1000 plus the
// row's place among that record's results (or just above the company's
// last version, held in *ver, for a late record), so a later result for
// the same key wins and a replay writes the same versions.
func (s *Stage) emit(e *emitter, ver *uint64, at time.Time, count bool) {
	if e.out.Len() == 0 {
		return
	}
	b := e.dst
	// A record matched out of event-time order (late) must still get
	// versions above everything before it, or its results would lose to
	// older ones.
	base := uint64(max(at.UnixMicro(), 0)) * 1000
	v := func() uint64 {
		*ver = max(base, *ver) + 1
		return *ver
	}
	for i := range e.out.Lines {
		l := &e.out.Lines[i]
		if count {
			s.metrics.lines.WithLabelValues(string(l.Outcome)).Inc()
		}
		e.rows.line(b, l, v())
		// Other systems hear of confirmed and accepted matches, and of what
		// a person's decision turned a line into (a reversal among them).
		if s.opt.MatchesTopic != "" && (l.Outcome == Confirmed || l.Outcome == Accepted || l.DecidedBy != "") {
			*e.notes = append(*e.notes, pipeline.Note{Topic: s.opt.MatchesTopic, Key: []byte(l.Company), Value: e.kept(matchJSON(e.noteBuf[:0], l))})
		}
	}
	for i := range e.out.Items {
		itemRow(b, &e.out.Items[i], v())
	}
	for i := range e.out.Exceptions {
		x := &e.out.Exceptions[i]
		if count {
			s.metrics.exceptions.WithLabelValues(x.Type, x.Status).Inc()
			if x.Type == ExcUnbalanced {
				s.metrics.unbalanced.Inc()
			}
		}
		e.rows.exception(b, x, v())
		if s.opt.ExceptionsTopic != "" {
			*e.notes = append(*e.notes, pipeline.Note{Topic: s.opt.ExceptionsTopic, Key: []byte(x.Company), Value: e.kept(exceptionJSON(e.noteBuf[:0], x))})
		}
	}
	for i := range e.out.Totals {
		t := &e.out.Totals[i]
		totalRow(b, t, v())
		s.showTotal(t)
	}
	e.out.Reset()
}

// showTotal sets the control-total gauges to a day's totals unless a later
// day's are shown already (an older day changed by a late match is in the
// table, not on the gauges).
func (s *Stage) showTotal(t *ControlTotal) {
	m := &s.metrics
	k := [3]string{t.Company, t.Direction, t.Currency.String()}
	m.totalMu.Lock()
	defer m.totalMu.Unlock()
	if t.Day < m.totalDay[k] {
		return
	}
	m.totalDay[k] = t.Day
	for bucket, v := range map[string]int64{"lines": t.Amount, "matched": t.Matched, "review": t.Review, "unmatched": t.Unmatched} {
		m.totals.WithLabelValues(k[0], k[1], k[2], bucket).Set(float64(v))
	}
}

// kept returns a note written in noteBuf as a slice of its own size, and
// keeps noteBuf for the next: notes wait in their batch until they are
// published, and a buffer grown by appending holds up to twice their bytes.
func (e *emitter) kept(note []byte) []byte {
	e.noteBuf = note[:0]
	return bytes.Clone(note)
}
