package generator

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/erpflow/erpflow/pipeline/record"
)

// Source system ids, the envelope's source.
const (
	srcERP   = "erp"
	srcShop  = "shop"
	srcWMS   = "wms"
	srcReimb = "reimb"
)

// The mix. docs/generator.md quotes these numbers; change both together.
const (
	shareLookalike      = 0.05  // customers whose bank shows a look-alike name
	shareRemitExact     = 0.60  // receipts whose remittance carries the invoice number(s)
	shareRemitMissing   = 0.30  // ... carries none (the rest: a garbled number)
	shareNeverPaid      = 0.02  // invoices of ordinary customers never paid
	shareNeverPaidBad   = 0.60  // invoices of bad payers never paid
	shareResidual       = 0.40  // instalment plans that stop before the last part
	shareFeeCNY         = 0.08  // CNY receipts with a fee deducted
	shareFeeUSD         = 0.70  // USD receipts with an intermediary fee deducted
	shareFeeReported    = 0.50  // deducted fees that the bank reports in charges
	shareDuplicateMsg   = 0.005 // records sent twice, byte-identical
	shareOrderCancelled = 0.02
	shareUnidentified   = 0.30  // chance per company and business day of a receipt from a stranger
	shareDoubleReceipt  = 0.005 // single-invoice receipts the customer sends again by mistake
	shareERPReceipt     = 0.50  // incoming transfers the ERP books as a receipt document of its own
	shareUnbankedRcpt   = 0.10  // never-paid invoices the ERP books a receipt for all the same
	shareDraft          = 0.03  // single-invoice payments made by bank acceptance draft (承兑汇票), not transfer

	sharePOCancelled      = 0.015
	sharePartialReceipt   = 0.05 // goods receipts short of the order (invoiced as received)
	shareMismatch         = 0.04 // AP invoices whose quantity or price differs from GR/PO
	shareDuplicatePayment = 0.03 // supplier payments sent a second time
	shareMissingLevel     = 0.04 // of payments needing two or more levels: one level skipped
	// Of payments needing three levels on an otherwise clean trail: the
	// level 3 approver signs at level 2's step, and level 2 never acts.
	shareSkippedLevel      = 0.06
	sharePaidAfterReject   = 0.01
	shareRejectedCancelled = 0.015 // rejected payments correctly cancelled and re-run

	shareClaimRejected     = 0.06
	shareClaimStuck        = 0.03
	shareClaimReturned     = 0.04
	shareClaimSelfApproval = 0.008
	shareClaimMissingLevel = 0.006
)

// Business hours in UTC: 09:00-18:00 China Standard Time.
const (
	bizFrom = 1
	bizTo   = 10
)

// entry is a record waiting in its day's bucket, with the ground truth that
// is written right after it.
type entry struct {
	ci    int
	seq   uint64
	rec   *record.Record
	bank  *account // bank lines get id and bank_ref at flush, in statement order
	truth []Truth  // an empty BankTxn or SubjectID means this entry's record
}

// link records that the bank line e settles amt of target. e may be nil when
// the line fell outside the window; then so does the truth.
func (e *entry) link(kind record.Kind, target string, amt record.Money) {
	if e != nil {
		e.truth = append(e.truth, Truth{Type: TruthLink, TargetKind: kind.String(), TargetID: target, Amount: amt})
	}
}

// exception plants an anomaly; an empty subject means e's own record.
func (e *entry) exception(typ, subject, related, reason string, amt record.Money) {
	if e != nil {
		e.truth = append(e.truth, Truth{Type: TruthException, Exception: typ, SubjectID: subject,
			RelatedID: related, Reason: reason, Amount: amt})
	}
}

// sim is one company's world and timeline. Companies never share state or
// random numbers, so a company's data does not depend on how many others
// are generated.
type sim struct {
	w   *world
	ci  int
	rng *rand.Rand
	// late draws the mishaps added after the world's shape was fixed
	// (customers paying twice), so that adding them left every other
	// record of a seed as it was.
	late *rand.Rand
	// skips draws the payments whose trail skips a middle level, added
	// later still, from a stream of its own for the same reason.
	skips *rand.Rand
	// rcpt draws the ERP's receipt documents, added later still, from a
	// stream of its own for the same reason.
	rcpt    *rand.Rand
	st      *Stats
	cfg     Config
	start   record.Date
	today   int // day offset being simulated; earlier buckets are written
	buckets [][]*entry
	actions [][]func()
	seq     uint64
	n       struct{ so, sh, inv, ap, po, gr, pay, bx, rc int }

	ar        []*arInvoice // every issued AR invoice, for the closing exceptions
	arBatches map[batchKey]*arBatch
	apRuns    map[batchKey]*apRun
	reimbRuns map[batchKey]*reimbRun
}

// batchKey is a party and a payment-run day. Maps keyed by it are only
// looked up, never ranged over, so their order cannot leak into the output.
type batchKey struct {
	who int
	day record.Date
}

func newSim(cfg Config, ci int, st *Stats) *sim {
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9E3779B97F4A7C15*uint64(ci+1)))
	return &sim{
		w: newWorld(rng, ci, cfg.OrdersPerDay), ci: ci, rng: rng, st: st, cfg: cfg, start: cfg.Start,
		late:      rand.New(rand.NewPCG(uint64(cfg.Seed)^0x5DEECE66D, 0x9E3779B97F4A7C15*uint64(ci+1))),
		skips:     rand.New(rand.NewPCG(uint64(cfg.Seed)^0x2545F4914F6CDD1D, 0x9E3779B97F4A7C15*uint64(ci+1))),
		rcpt:      rand.New(rand.NewPCG(uint64(cfg.Seed)^0x61C8864680B583EB, 0x9E3779B97F4A7C15*uint64(ci+1))),
		buckets:   make([][]*entry, cfg.Days),
		actions:   make([][]func(), cfg.Days),
		arBatches: map[batchKey]*arBatch{},
		apRuns:    map[batchKey]*apRun{},
		reimbRuns: map[batchKey]*reimbRun{},
	}
}

// step simulates day offset d: new business first, then whatever earlier
// days scheduled for today (payments, runs), which may add more for today.
func (s *sim) step(d int) {
	s.today = d
	date := s.date(d)
	s.housekeeping(date)
	for range s.volume(date, s.cfg.OrdersPerDay, true) {
		s.newOrder(date)
	}
	if isBizDay(date) {
		for range s.volume(date, max(1, s.cfg.OrdersPerDay/10), false) {
			s.newPO(date)
		}
		for range s.volume(date, max(1, s.cfg.OrdersPerDay/6), false) {
			s.newClaim(date)
		}
		if s.chance(shareUnidentified) {
			s.unidentifiedReceipt(date)
		}
	}
	for i := 0; i < len(s.actions[d]); i++ {
		s.actions[d][i]()
	}
	s.actions[d] = nil
}

// volume is how many documents of a kind start on date: mean per day, with
// web shops busier on weekdays but open at weekends, and ±15% noise. Per
// mille integers rather than floats keep it identical on every CPU.
func (s *sim) volume(date record.Date, mean int, weekends bool) int {
	factor := 1000
	switch {
	case !weekends && !isBizDay(date):
		return 0
	case weekends && isBizDay(date):
		factor = 1120
	case weekends:
		factor = 700
	}
	return (mean*factor*(850+s.rng.IntN(301)) + 500000) / 1000000
}

func (s *sim) take(d int) []*entry {
	b := s.buckets[d]
	s.buckets[d] = nil
	return b
}

func (s *sim) date(off int) record.Date { return s.start + record.Date(off) }

// put files r under its event day. Records after the window are dropped: the
// generated world is the one a reader sees at the end of the last day.
func (s *sim) put(r *record.Record) *entry {
	off := int(record.DateOf(r.EventTime) - s.start)
	if off >= len(s.buckets) {
		return nil
	}
	if off < s.today {
		panic(fmt.Sprintf("generator: %s %s dated %s, before the simulated day %s",
			r.Kind, r.ID, r.EventTime.Format(time.RFC3339), s.date(s.today)))
	}
	s.seq++
	e := &entry{ci: s.ci, seq: s.seq, rec: r}
	s.buckets[off] = append(s.buckets[off], e)
	s.st.ByKind[r.Kind.String()]++
	return e
}

func (s *sim) rec(b record.Body, source, id string, ver uint64, t time.Time) *record.Record {
	return &record.Record{Envelope: record.Envelope{Kind: b.Kind(), Company: s.w.code, Source: source,
		ID: id, Version: ver, EventTime: t}, Body: b}
}

// putBank files a statement line; its id and bank_ref come at flush.
func (s *sim) putBank(a *account, b *record.BankTxn, t time.Time) *entry {
	e := s.put(s.rec(b, a.source, "", 1, t))
	if e != nil {
		e.bank = a
	}
	return e
}

// schedule runs f when the simulation reaches day d; days past the window
// never come.
func (s *sim) schedule(d record.Date, f func()) {
	off := int(d - s.start)
	if off >= len(s.actions) {
		return
	}
	if off < s.today {
		panic(fmt.Sprintf("generator: action scheduled for %s on %s", d, s.date(s.today)))
	}
	s.actions[off] = append(s.actions[off], f)
}

func (s *sim) chance(p float64) bool { return s.rng.Float64() < p }

func (s *sim) mix(k string) { s.st.Mix[k]++ }

// fullID names a record the way the ground truth does: company/source/id.
func (s *sim) fullID(source, id string) string { return s.w.code + "/" + source + "/" + id }

func (s *sim) docNo(prefix string, d record.Date, n *int) string {
	*n++
	return fmt.Sprintf("%s-%d-%06d", prefix, d.Time().Year(), *n)
}

func money(minor int64, cur record.Currency) record.Money {
	return record.Money{Minor: minor, Currency: cur}
}

// at is a random second of day d between hours h0 and h1 UTC.
func (s *sim) at(d record.Date, h0, h1 int) time.Time {
	sec := h0*3600 + s.rng.IntN((h1-h0)*3600)
	return time.Unix(int64(d)*86400+int64(sec), 0).UTC()
}

// after is a business-hours time on day d strictly later than t, so that a
// record's next version, or the next step of a flow, never precedes it.
func (s *sim) after(t time.Time, d record.Date) time.Time { return afterOn(s.rng, t, d) }

// afterOn is after drawing from r.
func afterOn(r *rand.Rand, t time.Time, d record.Date) time.Time {
	if td := record.DateOf(t); d < td {
		d = td
	}
	lo := max(int64(d)*86400+bizFrom*3600, t.Unix()+60)
	hi := int64(d)*86400 + bizTo*3600
	if lo >= hi {
		hi = lo + 1800
	}
	return time.Unix(lo+r.Int64N(hi-lo), 0).UTC()
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// weekday counts from Sunday = 0; day 0 (1970-01-01) was a Thursday.
func weekday(d record.Date) int { return (int(d)%7 + 4 + 7) % 7 }

func isBizDay(d record.Date) bool { w := weekday(d); return w != 0 && w != 6 }

// biz moves a weekend day to the Monday after: banks and finance book on
// working days.
func biz(d record.Date) record.Date {
	for !isBizDay(d) {
		d++
	}
	return d
}

// nextWeekday is the first day on or after d that falls on weekday wd.
func nextWeekday(d record.Date, wd int) record.Date {
	return d + record.Date((wd-weekday(d)+7)%7)
}

// nextMonthDay is the first day on or after d whose day of month is dom.
func nextMonthDay(d record.Date, dom int) record.Date {
	y, m, day := d.Time().Date()
	if day > dom {
		m++
	}
	return record.DateOf(time.Date(y, m, dom, 0, 0, 0, 0, time.UTC))
}

func (s *sim) days(lo, hi int) record.Date { return record.Date(lo + s.rng.IntN(hi-lo+1)) }

// doc is the latest version of a document that changes over time.
type doc[T any] struct {
	body   T
	ver    uint64
	last   time.Time
	source string
	id     string
}

func create[T any, P interface {
	*T
	record.Body
}](s *sim, d *doc[T], source, id string, body T, t time.Time) *entry {
	d.body, d.ver, d.last, d.source, d.id = body, 1, t, source, id
	b := new(T)
	*b = body
	return s.put(s.rec(P(b), source, id, 1, t))
}

// revise emits the next version of d at t with f's changes. Earlier versions
// keep their own copy of the body, so records already filed never change.
func revise[T any, P interface {
	*T
	record.Body
}](s *sim, d *doc[T], t time.Time, f func(P)) *entry {
	b := new(T)
	*b = d.body
	f(P(b))
	d.body, d.ver, d.last = *b, d.ver+1, t
	return s.put(s.rec(P(b), d.source, d.id, d.ver, t))
}
