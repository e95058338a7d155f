package clean

import (
	"context"
	"encoding/binary"
	"hash/maphash"
	"math"
	"math/bits"
	"slices"
	"strings"
	"sync"

	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
)

// FlagStageName is the stage label in metrics.
const FlagStageName = "flag"

// The candidate a near-duplicate is, by the flagged record's kind: the name
// for exception rows and metric labels (see DuplicateCandidate).
const (
	DuplicateInvoice = "duplicate_invoice"
	DuplicateClaim   = "duplicate_claim"
	DuplicatePayment = "duplicate_payment"
)

// DuplicateCandidate names what a record of kind k with Flags.DuplicateOf
// set is a candidate for; "" for kinds that are never checked.
func DuplicateCandidate(k record.Kind) string {
	switch k {
	case record.KindInvoice:
		return DuplicateInvoice
	case record.KindExpenseClaim:
		return DuplicateClaim
	case record.KindPayment:
		return DuplicatePayment
	}
	return ""
}

// Flags are the advisory marks FlagStage gives a record. The zero value
// means "nothing noticed".
type Flags struct {
	// DuplicateOf is the id (in the same source and kind) of an earlier
	// record that looks like the same document sent under another id, or "".
	DuplicateOf string
	// Outlier is set when the amount is far from the party's usual amounts:
	// |x − median| > k·S, with S = max(1.4826·MAD, MinSpread·|median|).
	Outlier bool
	// OutlierScore is ⌊100·|x − median| / S⌋ (an outlier's is at least
	// 100·k), capped at MaxInt32; 0 when the history was too short to judge.
	OutlierScore int32
}

// FlagOptions configure a FlagStage. Zero values take the defaults.
type FlagOptions struct {
	// Set stores an item's flags. Process calls it once for every item, in
	// order, zero Flags included, holding the stage's lock (so Set must not
	// call the stage); nil does nothing.
	Set func(it *pipeline.Item, f Flags)
	// Window is how many documents (distinct ids of invoices, payments
	// and claims) each company remembers for near-duplicates, least
	// recently seen forgotten first; as many ids of bank lines, sales and
	// purchase orders are remembered apart, to count each amount once.
	// Default 50,000.
	Window int
	// PaymentDays is how far apart two payments' value dates may be to be
	// near-duplicates. Default 3; negative means the same day only.
	PaymentDays int
	// Series is how many amount histories (one per company, source, kind,
	// direction or expense type, party, currency and sign) each company
	// keeps, least recently used forgotten first. Default 5,000.
	Series int
	// History is how many recent amounts a history keeps. Default 50.
	History int
	// MinHistory is how many amounts a history needs before it judges.
	// Default 8.
	MinHistory int
	// K is the outlier threshold in spreads (1.4826·MAD, a standard
	// deviation for normal data). Default 5; kept to hundredths.
	K float64
	// MinSpread is the least spread the test uses, as a fraction of the
	// median's magnitude: it decides when MAD is 0 (more than half the
	// history the same amount) and keeps a nearly constant history from
	// flagging a few cents. Default 0.02, so that with K = 5 an amount within
	// 10% of the median never flags. Kept to basis points.
	MinSpread float64
}

// Defaults of FlagOptions.
const (
	DefaultFlagWindow   = 50_000
	DefaultPaymentDays  = 3
	DefaultFlagSeries   = 5_000
	DefaultHistory      = 50
	DefaultMinHistory   = 8
	DefaultOutlierK     = 5.0
	DefaultMinSpread    = 0.02
	maxPendingBatches   = 1 << 12
	maxOutlierAmount    = 1 << 60 // far beyond any Money the parsers accept (10^17)
	madConsistencyTimes = 14_826  // 1.4826 × 10,000
	// scoreNumerator turns dev2 into the score's scale: 100 (the score is
	// in hundredths) × 40,000 (the scale of s40) / 2 (dev2 is doubled).
	scoreNumerator = 100 * 40_000 / 2
)

type flagConfig struct {
	set         func(*pipeline.Item, Flags)
	window      int
	paymentDays int
	series      int
	history     int
	minHistory  int
	k100        uint64 // K × 100
	spreadBP    uint64 // MinSpread × 10,000
}

// FlagStage flags records for people and for the matching stage; it never
// drops, rejects or changes a record, and only calls FlagOptions.Set.
//
// Near-duplicates: an invoice, expense claim or payment whose fingerprint
// equals that of an earlier record of another id in the same company and
// source is flagged with that record's id (the earliest one, by first
// arrival). Fingerprints (texts compared with ASCII case folded and white
// space collapsed; a party is its id, or its name's match key when the
// source gives no id):
//   - invoice: direction, party, total (minor units and currency), issue
//     date, order reference. Not the lines (a document keyed twice often
//     differs in how the lines were keyed, never in the total) and not the
//     number (a re-keyed supplier number is the typical duplicate).
//   - expense_claim: employee, amount, claim date, expense type, description.
//   - payment: direction, party, amount, value date within PaymentDays
//     either way (dates go in buckets 2·PaymentDays+1 wide and the one
//     neighbouring bucket the range reaches is probed too: no bucket edges).
//
// Not checked, and never a reference: zero amounts, records without a
// party, and void ones (invoice cancelled, payment cancelled or returned,
// claim rejected): a cancelled document re-issued is not a duplicate.
//
// Order: each id keeps the arrival number of its first version, so only the
// later of two documents is flagged, and a newer version of an id is never
// compared with itself; it is compared again with the others (the flags go
// with each version, as the newest row is the one ClickHouse keeps).
//
// Pending records are references at once, from the next item on, in the
// same batch or in later ones, before their batch is acknowledged. That
// makes the flags a function of the input order alone, whatever the timing
// of Acked, and it is safe: a flag drops nothing, so no record can be lost
// by it, and batches are acknowledged in order, so the record a flag names
// lands no later than the flagged one (or the process dies first, and both
// are replayed). Acked only undoes what did not land: a record
// that a later stage took out of its batch stops being a reference
// (records processed in between may already name it; the flag is advisory).
//
// Outliers: for invoices, payments, claims (per expense type), bank lines,
// sales and purchase orders, each (company, source, kind, direction, party,
// currency, sign) keeps its last History amounts, one per id (a new version
// is judged but not counted again, unless the id has left the window). Once it holds MinHistory amounts, a record is
// judged against them before its own amount joins: see Flags. All of it is
// integer arithmetic on minor units; only a score whose spread exceeds 64
// bits (a MAD above about 10^15 minor units) is divided in float64.
//
// Memory, per company: at most Window documents (about 200 bytes each with
// a short id), Window other ids (about 65 bytes each) and Series histories
// (about 170 bytes plus 16 per amount kept: under 1 KB at History 50), as
// BenchmarkFlagStageMemory measures. At the defaults that is at most about
// 10 + 3 + 5 = 18 MB for a company that has sent that much, plus 24 bytes
// per record of the batches not yet acknowledged (at most 4,096 batches
// are remembered). Companies are those of the partitions this instance
// consumes.
//
// Restarts: the state is memory only. Records replayed after a restart meet
// a window that starts empty unless Preload fills it (from ClickHouse, say,
// when partitions are assigned), so without it a replayed duplicate of a
// record from before the commit point loses its flag.
type FlagStage struct {
	cfg flagConfig

	// mu is held by Process (the runner's stage goroutine) and Acked (its
	// commit goroutine).
	mu        sync.Mutex
	keys      keyBuf
	arrivals  uint64 // ids seen, over all companies: a document's order
	companies map[string]*companyFlags
	pending   []flagBatch // in batch order
}

// NewFlagStage returns a flag stage with opt's settings.
func NewFlagStage(opt FlagOptions) *FlagStage {
	cfg := flagConfig{set: opt.Set, window: opt.Window, paymentDays: opt.PaymentDays,
		series: opt.Series, history: opt.History, minHistory: opt.MinHistory}
	if cfg.set == nil {
		cfg.set = func(*pipeline.Item, Flags) {}
	}
	if cfg.window <= 0 {
		cfg.window = DefaultFlagWindow
	}
	switch {
	case cfg.paymentDays == 0:
		cfg.paymentDays = DefaultPaymentDays
	case cfg.paymentDays < 0:
		cfg.paymentDays = 0
	case cfg.paymentDays > 366:
		cfg.paymentDays = 366
	}
	if cfg.series <= 0 {
		cfg.series = DefaultFlagSeries
	}
	if cfg.history <= 0 {
		cfg.history = DefaultHistory
	}
	if cfg.minHistory <= 0 {
		cfg.minHistory = DefaultMinHistory
	}
	cfg.minHistory = min(cfg.minHistory, cfg.history)
	k := opt.K
	if !(k > 0) { // NaN too
		k = DefaultOutlierK
	}
	cfg.k100 = uint64(max(1, math.Round(min(k, 1e6)*100)))
	sp := opt.MinSpread
	if !(sp > 0) {
		sp = DefaultMinSpread
	}
	cfg.spreadBP = uint64(max(1, math.Round(min(sp, 100)*10_000)))
	s := &FlagStage{cfg: cfg, companies: map[string]*companyFlags{}}
	s.keys.init()
	return s
}

var (
	_ pipeline.Stage = (*FlagStage)(nil)
	_ pipeline.Acker = (*FlagStage)(nil)
)

// Name implements pipeline.Stage.
func (s *FlagStage) Name() string { return FlagStageName }

// Preload makes r, a record already landed, a reference for the records
// after it: as if processed and acknowledged, without flags. Preload the
// records of a company in the order they arrived (by ingest time).
func (s *FlagStage) Preload(r *record.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flag(r, 0, &flagBatch{})
}

// Process implements pipeline.Stage: it calls Set once per item, in order.
func (s *FlagStage) Process(ctx context.Context, b *pipeline.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fb := flagBatch{seq: b.Seq, items: len(b.Items)}
	for i := range b.Items {
		it := &b.Items[i]
		s.cfg.set(it, s.flag(&it.Rec, b.Seq, &fb))
	}
	if len(s.pending) >= maxPendingBatches {
		// Acked is not being called (the stage is not wired as an Acker):
		// take the oldest batch as landed rather than grow without bound.
		s.pending[0] = flagBatch{}
		s.pending = s.pending[1:]
	}
	s.pending = append(s.pending, fb)
	return nil
}

// Acked implements pipeline.Acker: documents of b that a later stage took
// out of the batch never landed and stop being references.
func (s *FlagStage) Acked(b *pipeline.Batch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.pending) > 0 && s.pending[0].seq <= b.Seq {
		fb := s.pending[0]
		s.pending[0] = flagBatch{}
		s.pending = s.pending[1:]
		if fb.seq != b.Seq || len(b.Items) >= fb.items {
			continue // everything landed (or, for an older seq, was never acked: assume so)
		}
		type landedKey struct {
			company string
			id      fkey
		}
		landed := make(map[landedKey]struct{}, len(b.Items))
		for i := range b.Items {
			r := &b.Items[i].Rec
			landed[landedKey{r.Company, s.idKey(r)}] = struct{}{}
		}
		for _, d := range fb.docs {
			if e := d.co.docs.at(d.slot); e.seq != d.seq || e.batch != fb.seq {
				continue // forgotten (the slot is free or reused), or a newer version owns it
			}
			if _, ok := landed[landedKey{d.co.name, d.co.docs.key(d.slot)}]; !ok {
				d.co.unindex(d.slot)
				d.co.docs.remove(d.slot)
			}
		}
	}
}

// flagBatch remembers, until its ack, which documents a batch updated.
type flagBatch struct {
	seq   uint64
	items int // len(b.Items) when Process was done with it
	docs  []flagDoc
}

type flagDoc struct {
	co   *companyFlags
	slot int32
	seq  uint64 // the document's, to tell a reused slot
}

// facts are the parts of a record the checks read.
type facts struct {
	amount record.Money
	party  *record.Party
	date   record.Date
	class  string // direction, or the expense type of a claim
	ref    string // invoice: order reference
	desc   string // claim: description
	void   bool
	dup    bool // the kind takes part in near-duplicate checks
	days   int  // date tolerance of the near-duplicate check
}

func (s *FlagStage) factsOf(r *record.Record) (facts, bool) {
	switch b := r.Body.(type) {
	case *record.Invoice:
		return facts{amount: b.Total, party: &b.Party, date: b.IssueDate, class: b.Direction,
			ref: b.OrderRef, void: b.Status == "cancelled", dup: true}, true
	case *record.Payment:
		return facts{amount: b.Amount, party: &b.Party, date: b.ValueDate, class: b.Direction,
			void: b.Status == "cancelled" || b.Status == "returned", dup: true, days: s.cfg.paymentDays}, true
	case *record.ExpenseClaim:
		return facts{amount: b.Amount, party: &b.Employee, date: b.ClaimDate, class: b.ExpenseType,
			desc: b.Description, void: b.ApprovalStatus == "rejected", dup: true}, true
	case *record.BankTxn:
		return facts{amount: b.Amount, party: &b.Counterparty, date: b.BookingDate, class: b.Direction}, true
	case *record.SalesOrder:
		return facts{amount: b.Total, party: &b.Customer, date: b.OrderDate}, true
	case *record.PurchaseOrder:
		return facts{amount: b.Total, party: &b.Supplier, date: b.OrderDate}, true
	}
	return facts{}, false
}

func (s *FlagStage) company(name string) *companyFlags {
	c := s.companies[name]
	if c == nil {
		c = &companyFlags{name: strings.Clone(name), byFP: map[fkey]int32{}}
		c.docs.init()
		c.seen.init()
		c.series.init()
		s.companies[c.name] = c
	}
	return c
}

// flag computes one record's flags and updates the state with it.
func (s *FlagStage) flag(r *record.Record, batch uint64, fb *flagBatch) Flags {
	var f Flags
	fx, ok := s.factsOf(r)
	if !ok || r.Body.Kind() != r.Kind {
		return f
	}
	c := s.company(r.Company)
	partyTag, party := partyKey(fx.party)
	idk := s.idKey(r)
	first := false // the id's first version (in the window)
	if fx.dup {
		f.DuplicateOf, first = s.nearDuplicate(c, r, &fx, idk, partyTag, party, batch, fb)
	} else if si := c.seen.get(idk); si != 0 {
		c.seen.touch(si)
	} else {
		first = true
		c.seen.push(idk, struct{}{})
		for c.seen.len() > s.cfg.window {
			c.seen.remove(c.seen.oldest())
		}
	}
	f.Outlier, f.OutlierScore = s.outlier(c, r, &fx, partyTag, party, first)
	return f
}

// nearDuplicate returns the id of the earliest document r looks like,
// and whether r is its id's first version; it updates the documents.
func (s *FlagStage) nearDuplicate(c *companyFlags, r *record.Record, fx *facts, idk fkey, partyTag byte, party string,
	batch uint64, fb *flagBatch) (dupOf string, first bool) {
	slot := c.docs.get(idk)
	first = slot == 0
	seq := s.arrivals + 1
	fresh := true // not a re-send of a version already seen, nor an older one
	if !first {
		e := c.docs.at(slot)
		seq, fresh = e.seq, r.Version > e.version
	}

	indexed := !fx.void && fx.amount.Minor != 0 && partyTag != 0
	var at fkey    // fingerprint and date bucket
	var head int32 // of at's chain
	if indexed {
		// Buckets are 2·days+1 wide, so the days either side of the date
		// reach into one neighbouring bucket at most.
		fp := s.fingerprint(r, fx, partyTag, party)
		width := 2*int64(fx.days) + 1
		d := int64(fx.date)
		bucket := floorDiv(d, width)
		at = fp.in(bucket)
		head = c.byFP[at]
		best := c.earliest(0, head, fx.date, fx.days, seq)
		if floorDiv(d-int64(fx.days), width) != bucket {
			best = c.earliest(best, c.byFP[fp.in(bucket-1)], fx.date, fx.days, seq)
		} else if floorDiv(d+int64(fx.days), width) != bucket {
			best = c.earliest(best, c.byFP[fp.in(bucket+1)], fx.date, fx.days, seq)
		}
		if best != 0 {
			dupOf = c.docs.at(best).id
		}
	}

	if first {
		s.arrivals++
		slot = c.docs.push(idk, docEntry{id: strings.Clone(r.ID), seq: seq})
	}
	if fresh {
		e := c.docs.at(slot)
		e.version, e.batch = r.Version, batch
		if e.indexed {
			c.unindex(slot)
			if indexed {
				head = c.byFP[at] // unindex may have changed it
			}
		}
		if indexed {
			e.at, e.date, e.same, e.indexed = at, fx.date, head, true
			c.byFP[at] = slot
		}
		c.docs.touch(slot)
		fb.docs = append(fb.docs, flagDoc{c, slot, seq})
	}
	for first && c.docs.len() > s.cfg.window { // never the slot just pushed
		old := c.docs.oldest()
		c.unindex(old)
		c.docs.remove(old)
	}
	return dupOf, first
}

// outlier judges r's amount against its history, and adds it there when
// first.
func (s *FlagStage) outlier(c *companyFlags, r *record.Record, fx *facts, partyTag byte, party string, first bool) (bool, int32) {
	x := fx.amount.Minor
	if x == 0 || partyTag == 0 || x > maxOutlierAmount || x < -maxOutlierAmount {
		return false, 0
	}
	sk := s.seriesKey(r, fx, partyTag, party)
	si := c.series.get(sk)
	if si == 0 {
		si = c.series.push(sk, amountSeries{})
		for c.series.len() > s.cfg.series {
			c.series.remove(c.series.oldest())
		}
	}
	c.series.touch(si)
	a := c.series.at(si)
	out, score := a.judge(x, &s.cfg)
	if first {
		a.add(x, s.cfg.history) // count an id's amount once, with its first version
	}
	return out, score
}

// partyKey names a party for comparing: 'i' and its id, or 'n' and its
// name's match key (Party.Key when the keys stage ran before, MatchKey
// otherwise) when the source gives no id; tag 0 when neither.
func partyKey(p *record.Party) (tag byte, key string) {
	if p.ID != "" {
		return 'i', p.ID
	}
	k := p.Key
	if k == "" && p.Name != "" {
		k = MatchKey(p.Name)
	}
	if k != "" {
		return 'n', k
	}
	return 0, ""
}

func (s *FlagStage) idKey(r *record.Record) fkey {
	k := &s.keys
	k.reset()
	k.u64(uint64(r.Kind))
	k.str(r.Source)
	k.str(r.ID)
	return k.sum()
}

func (s *FlagStage) fingerprint(r *record.Record, fx *facts, partyTag byte, party string) fkey {
	k := &s.keys
	k.reset()
	k.u64(uint64(r.Kind))
	k.str(r.Source)
	k.text(fx.class)
	k.u64(uint64(partyTag))
	k.str(party)
	k.u64(uint64(fx.amount.Minor))
	k.str(string(fx.amount.Currency[:]))
	k.text(fx.ref)
	k.text(fx.desc)
	return k.sum()
}

func (s *FlagStage) seriesKey(r *record.Record, fx *facts, partyTag byte, party string) fkey {
	k := &s.keys
	k.reset()
	k.u64(uint64(r.Kind))
	k.str(r.Source)
	k.text(fx.class)
	k.u64(uint64(partyTag))
	k.str(party)
	k.str(string(fx.amount.Currency[:]))
	if fx.amount.Minor < 0 {
		k.u64(1) // credit notes and refunds are their own population
	} else {
		k.u64(0)
	}
	return k.sum()
}

// fkey is a 128-bit hash standing for a key: two independent 64-bit
// maphashes, so a collision (a wrong flag) has odds of about 2^-128.
type fkey struct{ a, b uint64 }

// keyBuf lays a key's fields out in one buffer, each with its length, so
// that ("ab","c") and ("a","bc") differ, and hashes it.
type keyBuf struct {
	seed1, seed2 maphash.Seed
	b            []byte
}

func (k *keyBuf) init() {
	k.seed1, k.seed2 = maphash.MakeSeed(), maphash.MakeSeed()
	k.b = make([]byte, 0, 256)
}

func (k *keyBuf) reset() { k.b = k.b[:0] }

func (k *keyBuf) u64(v uint64) { k.b = binary.LittleEndian.AppendUint64(k.b, v) }

func (k *keyBuf) str(v string) {
	k.b = binary.LittleEndian.AppendUint32(k.b, uint32(len(v)))
	k.b = append(k.b, v...)
}

// text writes a text field folded for comparing: ASCII letters in lower
// case, white space trimmed and runs of it one space. The mapping has
// already put text in NFKC.
func (k *keyBuf) text(v string) {
	at := len(k.b)
	b := append(k.b, 0, 0, 0, 0) // the length, once known
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			space = len(b) > at+4
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if space {
			b = append(b, ' ')
			space = false
		}
		b = append(b, c)
	}
	binary.LittleEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	k.b = b
}

func (k *keyBuf) sum() fkey { return fkey{maphash.Bytes(k.seed1, k.b), maphash.Bytes(k.seed2, k.b)} }

// companyFlags is one company's state.
type companyFlags struct {
	name   string
	docs   lru[fkey, docEntry]     // invoices, payments, claims by kind, source and id
	seen   lru[fkey, struct{}]     // the other kinds' ids, to count an amount once
	byFP   map[fkey]int32          // chains of docs by fingerprint and date bucket
	series lru[fkey, amountSeries] // by seriesKey
}

// in returns the key of fingerprint k in a bucket of dates (see
// nearDuplicate):
// multiplying by an odd constant is one-to-one, so the buckets of one
// fingerprint never share a key, and keys stay 16 bytes.
func (k fkey) in(bucket int64) fkey { return fkey{k.a, k.b ^ uint64(bucket)*0x9e3779b97f4a7c15} }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// docEntry is what a company remembers of one id.
type docEntry struct {
	id      string
	seq     uint64      // arrival number of the id's first version
	version uint64      // newest version seen
	batch   uint64      // batch of that version, for Acked
	at      fkey        // where it is in byFP
	date    record.Date // its document date
	indexed bool        // in byFP
	same    int32       // next slot in the byFP chain; 0 ends it
}

func (c *companyFlags) unindex(slot int32) {
	e := c.docs.at(slot)
	if !e.indexed {
		return
	}
	if p := c.byFP[e.at]; p == slot {
		if e.same == 0 {
			delete(c.byFP, e.at)
		} else {
			c.byFP[e.at] = e.same
		}
	} else {
		for c.docs.at(p).same != slot {
			p = c.docs.at(p).same
		}
		c.docs.at(p).same = e.same
	}
	e.same, e.indexed = 0, false
}

// earliest returns whichever of best and the documents of the chain from
// slot n dated within days of date arrived first, if before seq.
func (c *companyFlags) earliest(best, n int32, date record.Date, days int, seq uint64) int32 {
	for ; n != 0; n = c.docs.at(n).same {
		e := c.docs.at(n)
		if e.seq < seq && (best == 0 || e.seq < c.docs.at(best).seq) &&
			e.date >= date-record.Date(days) && e.date <= date+record.Date(days) {
			best = n
		}
	}
	return best
}

// amountSeries is a bounded history of one party's amounts.
type amountSeries struct {
	ring   []int64 // in arrival order; a ring once full
	next   int     // the slot the next amount overwrites once full
	sorted []int64 // the same amounts, ascending
}

func (a *amountSeries) add(x int64, size int) {
	if len(a.ring) < size {
		a.ring = append(growTo(a.ring, size), x)
	} else {
		old := a.ring[a.next]
		a.ring[a.next] = x
		a.next = (a.next + 1) % size
		i, _ := slices.BinarySearch(a.sorted, old)
		a.sorted = slices.Delete(a.sorted, i, i+1)
	}
	i, _ := slices.BinarySearch(a.sorted, x)
	a.sorted = slices.Insert(growTo(a.sorted, size), i, x)
}

// growTo makes room for one more value, growing by doubling but never
// beyond size.
func growTo(s []int64, size int) []int64 {
	if len(s) < cap(s) {
		return s
	}
	n := make([]int64, len(s), min(max(2*cap(s), 4), size))
	copy(n, s)
	return n
}

// judge tests x against the history.
//
// Everything is exact on integers in "doubled" units, which make the
// median of an even count an integer: m2 = 2·median and D_i = |2·a_i − m2|,
// so mad4 = 4·MAD. With S = max(1.4826·MAD, MinSpread·|median|) expressed
// times 40,000 (s40 = max(14826·mad4, 2·bp·|m2|)), the test
// |x − median| > k·S becomes dev2·2,000,000 > k100·s40, and the score
// 100·|x − median|/S is dev2·2,000,000/s40, in 128-bit arithmetic.
func (a *amountSeries) judge(x int64, cfg *flagConfig) (bool, int32) {
	if len(a.sorted) < cfg.minHistory {
		return false, 0
	}
	m2, mad4 := medianMAD(a.sorted)
	dev2 := absDiff(2*x, m2)
	s40 := maxU128(mul64(madConsistencyTimes, mad4), mul64(2*cfg.spreadBP, absDiff(m2, 0)))
	lhs := mul64(dev2, scoreNumerator)
	rhs, over := s40.mulSmall(cfg.k100)
	return !over && rhs.less(lhs), lhs.ratio(s40)
}

// medianMAD returns twice the median and four times the median absolute
// deviation of a, which is sorted and not empty. Values are below 2^60 in
// magnitude, so nothing overflows. The deviations come out ascending by
// merging outwards from the median, with no sort and no allocation.
func medianMAD(a []int64) (m2 int64, mad4 uint64) {
	n := len(a)
	m2 = a[(n-1)/2] + a[n/2]
	// r is the first index with 2·a[r] > m2.
	lo, hi := 0, n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if 2*a[mid] > m2 {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	r := lo
	l := r - 1
	want1, want2 := (n-1)/2, n/2
	var d1, d2 uint64
	for rank := 0; rank <= want2; rank++ {
		var d uint64
		if r >= n || (l >= 0 && m2-2*a[l] <= 2*a[r]-m2) {
			d = uint64(m2 - 2*a[l])
			l--
		} else {
			d = uint64(2*a[r] - m2)
			r++
		}
		if rank == want1 {
			d1 = d
		}
		if rank == want2 {
			d2 = d
		}
	}
	return m2, d1 + d2
}

func absDiff(a, b int64) uint64 {
	if a < b {
		return uint64(b - a)
	}
	return uint64(a - b)
}

// u128 is an unsigned 128-bit integer.
type u128 struct{ hi, lo uint64 }

func mul64(a, b uint64) u128 {
	hi, lo := bits.Mul64(a, b)
	return u128{hi, lo}
}

func (x u128) less(y u128) bool { return x.hi < y.hi || (x.hi == y.hi && x.lo < y.lo) }

func maxU128(x, y u128) u128 {
	if x.less(y) {
		return y
	}
	return x
}

// mulSmall returns x·k and whether it overflowed 128 bits.
func (x u128) mulSmall(k uint64) (u128, bool) {
	h1, lo := bits.Mul64(x.lo, k)
	h2, l2 := bits.Mul64(x.hi, k)
	hi, carry := bits.Add64(h1, l2, 0)
	return u128{hi, lo}, h2 != 0 || carry != 0
}

// ratio returns ⌊x/y⌋ capped at MaxInt32; y is not 0. A divisor beyond 64
// bits (a MAD above about 10^15 minor units) is divided in float64: the
// score is a dimensionless ratio for ranking, and the flag itself is
// decided exactly.
func (x u128) ratio(y u128) int32 {
	if y.hi == 0 {
		if x.hi >= y.lo {
			return math.MaxInt32
		}
		q, _ := bits.Div64(x.hi, x.lo, y.lo)
		return int32(min(q, math.MaxInt32))
	}
	f := (float64(x.hi)*0x1p64 + float64(x.lo)) / (float64(y.hi)*0x1p64 + float64(y.lo))
	return int32(min(f, math.MaxInt32))
}

// lru is a map whose entries are also in a list by last use, so the least
// recently used one can be forgotten. Entries live in one slice and link by
// index: no allocation per entry once the slice has grown, and no pointers
// for the garbage collector to follow but those inside the values. Slot 0
// is the list's head and means "none".
type lru[K comparable, V any] struct {
	m     map[K]int32
	slots []lruSlot[K, V] // slots[0].next is the newest, slots[0].prev the oldest
	free  []int32
}

type lruSlot[K comparable, V any] struct {
	key        K
	val        V
	prev, next int32
}

func (l *lru[K, V]) init() {
	l.m = map[K]int32{}
	l.slots = make([]lruSlot[K, V], 1, 64)
}

func (l *lru[K, V]) len() int { return len(l.m) }

// get returns k's slot, or 0.
func (l *lru[K, V]) get(k K) int32 { return l.m[k] }

// at returns the value in slot i; the pointer holds until the next push.
func (l *lru[K, V]) at(i int32) *V { return &l.slots[i].val }

func (l *lru[K, V]) key(i int32) K { return l.slots[i].key }

func (l *lru[K, V]) oldest() int32 { return l.slots[0].prev }

// push adds a new entry as the newest and returns its slot.
func (l *lru[K, V]) push(k K, v V) int32 {
	var i int32
	if n := len(l.free); n > 0 {
		i, l.free = l.free[n-1], l.free[:n-1]
	} else {
		i = int32(len(l.slots))
		l.slots = append(l.slots, lruSlot[K, V]{})
	}
	l.slots[i] = lruSlot[K, V]{key: k, val: v}
	l.m[k] = i
	l.linkFront(i)
	return i
}

// remove forgets slot i and frees it.
func (l *lru[K, V]) remove(i int32) {
	l.unlink(i)
	delete(l.m, l.slots[i].key)
	l.slots[i] = lruSlot[K, V]{}
	l.free = append(l.free, i)
}

// touch makes slot i the newest.
func (l *lru[K, V]) touch(i int32) {
	if l.slots[0].next != i {
		l.unlink(i)
		l.linkFront(i)
	}
}

func (l *lru[K, V]) unlink(i int32) {
	s := &l.slots[i]
	l.slots[s.prev].next, l.slots[s.next].prev = s.next, s.prev
}

func (l *lru[K, V]) linkFront(i int32) {
	s := &l.slots[i]
	s.prev, s.next = 0, l.slots[0].next
	l.slots[s.next].prev = i
	l.slots[0].next = i
}
