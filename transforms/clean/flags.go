package clean

import (
	"context"
	"fmt"
	"math"
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
	// recently seen forgotten first. Default 50,000.
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
	// Reload, when a new assignment generation comes (companies may have
	// moved to or from this member, and another member may have landed
	// records of them meanwhile), gives the records to start over from, as
	// Preload takes them; the stage first waits for the batches before to
	// land. Nil keeps the state across generations.
	Reload func(ctx context.Context, f func(*record.Record)) error
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
	reload      func(ctx context.Context, f func(*record.Record)) error
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
// are replayed). Acked only undoes what did not land: a document that a
// later stage took out of its batch stops being a reference, or, for a
// later version of an id, gives the id back to the version before it
// (records processed in between may already name it; the flag is advisory).
//
// Outliers: for invoices, payments, claims (per expense type), bank lines,
// sales and purchase orders, each (company, source, kind, direction, party,
// currency, sign) keeps the latest amounts of its last History ids (a new
// version's amount takes the place of the id's earlier one). Once it holds
// MinHistory amounts of other ids, a record is judged against them, its
// id's own amount left out, before its amount joins: see Flags. So a
// message read again is judged as the first time. A restart rebuilds the
// histories from the newest rows, which is what a run keeps with two
// exceptions: an amount ClickHouse refused stays in a run's history (the
// refusal undoes near-duplicate state only), and an id whose new version
// changed sign or currency leaves its old amount in the old history until
// it is pushed out. Both only nudge later scores. All of it is
// integer arithmetic on minor units; only a score whose spread exceeds 64
// bits (a MAD above about 10^15 minor units) is divided in float64.
//
// Memory, per company: at most Window documents (about 200 bytes each with
// a short id) and Series histories (about 200 bytes plus 24 per amount
// kept: about 1.4 KB at History 50), as BenchmarkFlagStageMemory measures.
// At the defaults that is at most about 10 + 7 = 17 MB for a company that
// has sent that much, plus 64 bytes per document of the batches not yet
// acknowledged (at most 4,096 batches are remembered). Companies are those
// preloaded and those whose records came since.
//
// Restarts and rebalances: the state is memory only. Each assignment
// generation, the first included, starts over from Reload (the job gives
// ClickHouse's recent rows) once the batches before it have landed:
// companies may have moved, and what another member landed of them is not
// in this one's memory. Without Reload (or Preload), a replayed duplicate of
// a record from before the commit point loses its flag.
type FlagStage struct {
	cfg flagConfig

	// mu is held by Process (the runner's stage goroutine) and Acked (its
	// commit goroutine).
	mu        sync.Mutex
	keys      keyBuf
	arrivals  uint64 // ids seen, over all companies: a document's order
	companies map[string]*companyFlags
	pending   []flagBatch // in batch order
	scratch   []int64     // for outlier judgements

	// acks tells Process when a generation starts, and lets its load
	// wait for the batches before (Reload).
	acks pipeline.AckGate
}

// NewFlagStage returns a flag stage with opt's settings.
func NewFlagStage(opt FlagOptions) *FlagStage {
	cfg := flagConfig{set: opt.Set, window: opt.Window, paymentDays: opt.PaymentDays,
		series: opt.Series, history: opt.History, minHistory: opt.MinHistory, reload: opt.Reload}
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
	_ pipeline.Stage     = (*FlagStage)(nil)
	_ pipeline.AckWaiter = (*FlagStage)(nil)
)

// Name implements pipeline.Stage.
func (s *FlagStage) Name() string { return FlagStageName }

// Preload makes r, a record already landed, a reference for the records
// after it: as if processed and acknowledged, without flags. Preload the
// newest version of each record of a company in the order the records'
// first versions arrived: of two look-alikes, the earlier is the original
// (clickhouse.Recent reads them so).
func (s *FlagStage) Preload(r *record.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flag(r, -1, &flagBatch{})
}

// Process implements pipeline.Stage: it calls Set once per item, in order.
func (s *FlagStage) Process(ctx context.Context, b *pipeline.Batch) error {
	if err := s.newGeneration(ctx, b); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fb := flagBatch{seq: b.Seq, items: len(b.Items)}
	for i := range b.Items {
		it := &b.Items[i]
		s.cfg.set(it, s.flag(&it.Rec, int32(it.Msg), &fb))
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

// newGeneration starts over from Reload when b is the first batch of an
// assignment generation, the first one included: another member (the
// instance this one replaces, say) may have landed records of its
// companies until the assignment.
func (s *FlagStage) newGeneration(ctx context.Context, b *pipeline.Batch) error {
	if s.cfg.reload == nil {
		return nil
	}
	// The batches before are on their way to ClickHouse: the reload must
	// see them, and Generation waits for them.
	if fresh, err := s.acks.Generation(ctx, b); !fresh || err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.companies, s.pending = map[string]*companyFlags{}, nil
	var err error
	if err = s.cfg.reload(ctx, func(r *record.Record) { s.flag(r, -1, &flagBatch{}) }); err != nil {
		err = fmt.Errorf("flags: load at an assignment: %w", err)
	}
	return err
}

// WaitingForAcks implements pipeline.AckWaiter: true while Process waits
// for the batches before a new generation's first to land.
func (s *FlagStage) WaitingForAcks() bool { return s.acks.Waiting() }

// Acked implements pipeline.Acker: documents of b that a later stage took
// out of the batch never landed. A first version stops being a reference;
// a later one gives its id back to the version before it, which landed (or
// which a later refusal unwinds in turn).
func (s *FlagStage) Acked(b *pipeline.Batch) {
	s.mu.Lock()
	defer func() {
		s.mu.Unlock()
		s.acks.Acked(b)
	}()
	for len(s.pending) > 0 && s.pending[0].seq <= b.Seq {
		fb := s.pending[0]
		s.pending[0] = flagBatch{}
		s.pending = s.pending[1:]
		if fb.seq != b.Seq || len(b.Items) >= fb.items {
			continue // everything landed (or, for an older seq, was never acked: assume so)
		}
		landed := make([]bool, len(b.Messages))
		for i := range b.Items {
			landed[b.Items[i].Msg] = true
		}
		// Newest first: two versions of an id in the batch unwind in order.
		for i := len(fb.docs) - 1; i >= 0; i-- {
			if d := &fb.docs[i]; d.msg >= 0 && int(d.msg) < len(landed) && !landed[d.msg] {
				s.undo(d, fb.docs)
			}
		}
	}
}

// undo takes back a document version that did not land; batch is the
// documents of its batch, being acknowledged.
func (s *FlagStage) undo(d *flagDoc, batch []flagDoc) {
	c := d.co
	e := c.docs.at(d.slot)
	if e.seq != d.seq {
		return // forgotten: the slot is free, or another id's
	}
	if e.version != d.version {
		// A newer version holds the id (in this batch, or one in flight):
		// should it not land either, it falls back to what this one fell
		// back to.
		hand := func(docs []flagDoc) {
			for j := range docs {
				if n := &docs[j]; n.co == c && n.slot == d.slot && n.seq == d.seq && n.prev.version == d.version && !n.prev.first {
					n.prev = d.prev
				}
			}
		}
		hand(batch)
		for i := range s.pending {
			hand(s.pending[i].docs)
		}
		return
	}
	c.unindex(d.slot)
	e.docAt = -1 // the version it goes back to is not this batch's
	if d.prev.first {
		c.docs.remove(d.slot)
		return
	}
	e.version = d.prev.version
	if d.prev.indexed {
		e.at, e.date, e.indexed = d.prev.at, d.prev.date, true
		e.same, c.byFP[e.at] = c.byFP[e.at], d.slot
	}
}

// flagBatch remembers, until its ack, which documents a batch updated.
type flagBatch struct {
	seq   uint64
	items int // len(b.Items) when Process was done with it
	docs  []flagDoc
}

// flagDoc is a document version a batch in flight set, and what its id
// held before, for Acked to restore if it does not land.
type flagDoc struct {
	co      *companyFlags
	slot    int32
	msg     int32  // the record's message in its batch; -1 preloaded
	seq     uint64 // the document's, to tell a reused slot
	version uint64
	prev    docState
}

// docState is an id's state before a version: none (first), or the
// version and where it was indexed.
type docState struct {
	version uint64
	at      fkey
	date    record.Date
	indexed bool
	first   bool
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
		c.series.init()
		s.companies[c.name] = c
	}
	return c
}

// flag computes one record's flags and updates the state with it.
func (s *FlagStage) flag(r *record.Record, msg int32, fb *flagBatch) Flags {
	var f Flags
	fx, ok := s.factsOf(r)
	if !ok || r.Body.Kind() != r.Kind {
		return f
	}
	c := s.company(r.Company)
	partyTag, party := partyKey(fx.party)
	idk := s.idKey(r)
	if fx.dup {
		f.DuplicateOf = s.nearDuplicate(c, r, &fx, idk, partyTag, party, msg, fb)
	}
	f.Outlier, f.OutlierScore = s.outlier(c, r, &fx, partyTag, party, idk)
	return f
}

// nearDuplicate returns the id of the earliest document r looks like; it
// updates the documents.
func (s *FlagStage) nearDuplicate(c *companyFlags, r *record.Record, fx *facts, idk fkey, partyTag byte, party string,
	msg int32, fb *flagBatch) (dupOf string) {
	slot := c.docs.get(idk)
	first := slot == 0
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
		slot = c.docs.push(idk, docEntry{id: strings.Clone(r.ID), seq: seq, docAt: -1})
	}
	if fresh {
		e := c.docs.at(slot)
		before := docState{version: e.version, at: e.at, date: e.date, indexed: e.indexed, first: first}
		e.docAt = -1
		if msg >= 0 {
			e.docBatch, e.docAt = fb.seq, int32(len(fb.docs))
		}
		fb.docs = append(fb.docs, flagDoc{co: c, slot: slot, msg: msg, seq: seq, version: r.Version, prev: before})
		e.version = r.Version
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
	} else if e := c.docs.at(slot); r.Version < e.version {
		// An older version behind a newer one in flight: dedupe lets it
		// through so that it lands if the newer one does not, and then the
		// id falls back to it.
		if n := s.pendingDoc(e, c, slot, seq, fb); n != nil && (n.prev.first || r.Version > n.prev.version) {
			before := n.prev
			n.prev = docState{version: r.Version, at: at, date: fx.date, indexed: indexed}
			fb.docs = append(fb.docs, flagDoc{co: c, slot: slot, msg: msg, seq: seq, version: r.Version, prev: before})
		}
	}
	for first && c.docs.len() > s.cfg.window { // never the slot just pushed
		old := c.docs.oldest()
		c.unindex(old)
		c.docs.remove(old)
	}
	return dupOf
}

// pendingDoc finds the flagDoc of e's current version if it is in flight:
// in the batch being processed (fb) or one not yet acknowledged.
func (s *FlagStage) pendingDoc(e *docEntry, c *companyFlags, slot int32, seq uint64, fb *flagBatch) *flagDoc {
	if e.docAt < 0 {
		return nil
	}
	var docs []flagDoc
	if e.docBatch == fb.seq {
		docs = fb.docs
	} else {
		for i := range s.pending {
			if s.pending[i].seq == e.docBatch {
				docs = s.pending[i].docs
				break
			}
		}
	}
	if int(e.docAt) >= len(docs) {
		return nil
	}
	if d := &docs[e.docAt]; d.co == c && d.slot == slot && d.seq == seq && d.version == e.version {
		return d
	}
	return nil
}

// outlier judges r's amount against its history, where it then takes the
// place of its id's amount.
func (s *FlagStage) outlier(c *companyFlags, r *record.Record, fx *facts, partyTag byte, party string, idk fkey) (bool, int32) {
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
	id := idk.a | 1 // never 0, which no id is
	i := a.at(id)
	out, score := a.judge(x, i, &s.cfg, &s.scratch)
	a.add(x, id, r.Version, i, s.cfg.history)
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

// companyFlags is one company's state.
type companyFlags struct {
	name   string
	docs   lru[fkey, docEntry]     // invoices, payments, claims by kind, source and id
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
	at      fkey        // where it is in byFP
	date    record.Date // its document date
	indexed bool        // in byFP
	same    int32       // next slot in the byFP chain; 0 ends it
	// docBatch and docAt find the flagDoc of version while its batch is
	// in flight (docAt -1: none, or not known).
	docBatch uint64
	docAt    int32
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
