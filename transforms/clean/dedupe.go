// Package clean holds the cleaning stages between decode and the sink.
package clean

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"sync"

	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
)

// DedupeStageName is the stage label in metrics and dead-letter headers.
const DedupeStageName = "dedupe"

// ReasonVersionConflict dead-letters a record whose id and version were
// already seen with different content: one of the two is wrong, and
// keeping either silently would hide it.
const ReasonVersionConflict = "version_conflict"

// Dedupe drops records already seen: the same id at the same version and
// content (an at-least-once re-send), or at an older version than one
// landed. They are counted as duplicates, not dead-lettered.
//
// A record becomes "seen" only when the batch that carries it is
// acknowledged by the sink (Acked). Until then it is pending, and records
// after it (in its batch or later ones) are compared with it only where
// dropping them cannot lose anything: an exact re-send of a pending record
// is dropped (its offset cannot be committed before the first copy's batch
// lands, and the sink refuses the same bytes the same way), but an older
// version is let through unless something at least as new has landed.
// The table keeps the newest version either way, and if the sink refuses
// the newer one, the older one is what lands.
//
// A message read again from the place it was read before (its batch
// landed, but the commit did not happen before a crash or a rebalance) is
// the record itself, not a duplicate: it is written again, which the
// ReplacingMergeTree tables absorb, and the duplicates table, which counts
// re-sends, does not count it.
//
// The memory is a bounded window of recent keys (two generations of Window
// entries each). After a restart the job seeds it from ClickHouse with the
// records landed in the last days (Seed), because ClickHouse holds exactly
// what was acknowledged; a re-send older than that is written again, which
// the ReplacingMergeTree tables absorb, and then counts as landed.
type Dedupe struct {
	seed1, seed2 maphash.Seed
	window       int

	// mu is held by Process (the runner's stage goroutine) and Acked (its
	// commit goroutine).
	mu sync.Mutex
	// cur and old are the two generations of the window. An entry is the
	// newest version known of a key: landed, or pending in a batch not yet
	// acknowledged (the batch being processed included), its head. Keeping
	// both in one entry makes a new record three map operations (two
	// lookups that miss, one write) and its acknowledgement one write.
	cur, old map[dedupeKey]entry
	// byBatch lists each batch's admitted records for Acked.
	byBatch map[uint64][]ackItem
	kept    map[uint64]int // items left in each batch after this stage
	// reread holds the places of messages that landed but whose offsets
	// were not committed (OnAssignment), until each comes again.
	reread map[uint64]struct{}
	// places, reseed and acks serve OnAssignment and ReseedOnAssignment;
	// generations counts the assignment generations begun.
	places      PlacesFunc
	reseed      SeedFunc
	acks        pipeline.AckGate
	generations int
	// topic and topicHash are place's last topic and its hash.
	topic     string
	topicHash uint64
}

type dedupeKey struct{ a, b uint64 }

// entry is one version of a record: landed, or pending.
type entry struct {
	version uint64
	sum     uint64 // first 8 bytes of the SHA-256 of the original message
	// state is, for a landed version, the fingerprint of the place its
	// message was read from (where; 0 when unknown). For a pending one it
	// is pendingBit and the link to its ackItem. Packed, an entry is 24
	// bytes rather than 32: the window holds up to a million.
	state uint64
}

const (
	atBits     = 24
	pendingBit = 1 << 63
)

// link finds an admitted record of a batch in flight: the batch's
// sequence number plus one in the high bits, the record's place among the
// batch's ackItems in the low 24; 0 is none. Links grow in the order
// records were admitted.
type link uint64

func linkAt(seq uint64, at int) link { return link((seq+1)<<atBits | uint64(at)) }

func (l link) batch() uint64 { return uint64(l)>>atBits - 1 }
func (l link) at() int       { return int(l & (1<<atBits - 1)) }

func (e entry) pending() bool { return e.state&pendingBit != 0 }
func (e entry) link() link    { return link(e.state &^ pendingBit) }

// ackItem is an admitted record of a batch in flight: what its
// acknowledgement writes, and, for the key's head, what a refusal of it
// restores (prev, the newest version landed before it, kept up to date as
// older versions in flight land).
type ackItem struct {
	key     dedupeKey
	e, prev entry
	// older chains a head to the key's other versions in flight, newest
	// admitted first: versions it superseded, and versions that came older
	// than it. Batches are acknowledged in order, so the chain ends at the
	// first record whose batch is acknowledged: all after it are too.
	older   link
	msg     int32 // the record's message in its batch
	hasPrev bool
	// behind says the key's entry is not this record's: a newer version
	// took it, or the record was older than the head when it came.
	behind bool
	done   bool // acknowledged, in the Acked call under way
}

// NewDedupe returns a dedupe stage remembering about window to 2×window
// records.
func NewDedupe(window int) *Dedupe {
	if window <= 0 {
		window = 500_000
	}
	return &Dedupe{seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed(), window: window,
		cur: map[dedupeKey]entry{}, byBatch: map[uint64][]ackItem{}, kept: map[uint64]int{},
		reread: map[uint64]struct{}{}}
}

// Name implements pipeline.Stage.
func (d *Dedupe) Name() string { return DedupeStageName }

func (d *Dedupe) key(r *record.Record) dedupeKey {
	return d.keyOf(r.Kind, r.Company, r.Source, r.ID)
}

func (d *Dedupe) keyOf(k record.Kind, company, source, id string) dedupeKey {
	var h maphash.Hash
	h.SetSeed(d.seed1)
	writeKey(&h, k, company, source, id)
	a := h.Sum64()
	h.SetSeed(d.seed2)
	writeKey(&h, k, company, source, id)
	return dedupeKey{a, h.Sum64()}
}

// writeKey writes the natural key with separators, so that ("ab","c") and
// ("a","bc") differ.
func writeKey(h *maphash.Hash, k record.Kind, company, source, id string) {
	h.WriteByte(byte(k))
	h.WriteString(company)
	h.WriteByte(0)
	h.WriteString(source)
	h.WriteByte(0)
	h.WriteString(id)
}

// entryOf is the record as a landed entry: version, content and place.
// Called under mu.
func (d *Dedupe) entryOf(r *record.Record) entry {
	p := &r.Provenance
	return entry{version: r.Version, sum: binary.LittleEndian.Uint64(p.SHA256[:8]), state: d.place(p.Topic, p.Partition, p.Offset)}
}

// place is the fingerprint of where a message was read: never 0 (which
// stands for unknown), top bit clear. Called under mu.
func (d *Dedupe) place(topic string, partition int32, offset int64) uint64 {
	// Records come in runs of one topic: its hash is worked out once a run.
	if topic != d.topic || d.topicHash == 0 {
		d.topic, d.topicHash = topic, maphash.String(d.seed2, topic)|1
	}
	// Not a hash of the bytes, a mix of the numbers: the place only needs
	// to tell a message read again from a re-send of it.
	where := (d.topicHash ^ uint64(uint32(partition))<<40 ^ uint64(offset)) * 0x9e3779b97f4a7c15
	where = (where ^ where>>29) &^ pendingBit
	if where == 0 {
		where = 1
	}
	return where
}

// Seed remembers a record as landed before any batch is processed: the
// job reads recently landed records back from ClickHouse at start, so that
// re-sends after a restart are still counted as duplicates. Of r it reads
// the natural key, the version and the provenance: where the message was
// read and its SHA-256.
//
// Records come newest first; once the window is full the rest (older) are
// left out.
func (d *Dedupe) Seed(r *record.Record) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.cur) >= d.window {
		return
	}
	d.remember(r)
}

// remember takes r as landed unless a newer version of it is known. Called
// under mu.
func (d *Dedupe) remember(r *record.Record) {
	key := d.key(r)
	if prev, ok := d.cur[key]; ok && prev.version > r.Version {
		return
	}
	if prev, ok := d.old[key]; ok && prev.version > r.Version {
		return // put in cur, it would hide the newer one
	}
	d.cur[key] = d.entryOf(r)
}

// PlacesFunc calls seed with the place of every version of every record
// that landed from the partitions assigned to this member past the group's
// committed offsets there.
type PlacesFunc func(ctx context.Context, seed func(topic string, partition int32, offset int64)) error

// OnAssignment makes the stage, at the first batch of each assignment
// generation (the first included), wait for the batches before to land and
// then take the places f gives for the records themselves (written again,
// never counted as duplicates), in place of those it had: a rebalance, like a restart, has this
// member read on from the committed offsets, and what landed past them
// comes again. Call it before the first batch.
func (d *Dedupe) OnAssignment(f PlacesFunc) { d.places = f }

// SeedFunc calls seed with records landed lately, newest first, as Seed
// takes them.
type SeedFunc func(ctx context.Context, seed func(*record.Record)) error

// ReseedOnAssignment makes the stage add to its memory, at each assignment
// generation after the first, what f reads back (the job: ClickHouse, as at
// start), once the batches before have landed. A rebalance
// can give this member companies another member landed records of since
// this one started: without them a re-send of one of those was written
// again, and a different record under a landed version replaced it
// (ReplacingMergeTree keeps the last of equal versions) instead of going
// to the dead-letter topic. Call it before the first batch.
func (d *Dedupe) ReseedOnAssignment(f SeedFunc) { d.reseed = f }

// WaitingForAcks implements pipeline.AckWaiter.
func (d *Dedupe) WaitingForAcks() bool { return d.acks.Waiting() }

// newGeneration loads the places of a new assignment generation.
func (d *Dedupe) newGeneration(ctx context.Context, b *pipeline.Batch) error {
	if d.places == nil && d.reseed == nil {
		return nil
	}
	if fresh, err := d.acks.Generation(ctx, b); !fresh || err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.generations++
	// What this member knows stays (it may reach further back than the
	// read does); what landed elsewhere is added, past the window if need
	// be: the next turn of the window brings it back to size.
	if d.reseed != nil && d.generations > 1 {
		if err := d.reseed(ctx, d.remember); err != nil {
			return fmt.Errorf("dedupe: read what landed lately: %w", err)
		}
	}
	if d.places == nil {
		return nil
	}
	clear(d.reread)
	if err := d.places(ctx, func(topic string, partition int32, offset int64) {
		d.reread[d.place(topic, partition, offset)] = struct{}{}
	}); err != nil {
		return fmt.Errorf("dedupe: places past the committed offsets: %w", err)
	}
	return nil
}

// Window is how many records the stage remembers at least.
func (d *Dedupe) Window() int { return d.window }

// Process implements pipeline.Stage.
func (d *Dedupe) Process(ctx context.Context, b *pipeline.Batch) error {
	if len(b.Items) >= 1<<atBits {
		// pipeline.batch_size is at most a million; this is for other callers.
		return fmt.Errorf("dedupe: batch %d holds %d records, more than %d", b.Seq, len(b.Items), 1<<atBits-1)
	}
	if err := d.newGeneration(ctx, b); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	items := make([]ackItem, 0, len(b.Items))
	b.Keep(func(it *pipeline.Item) bool {
		k := d.key(&it.Rec)
		a := ackItem{key: k, e: d.entryOf(&it.Rec), msg: int32(it.Msg)}
		prev, ok := d.cur[k]
		if !ok {
			prev, ok = d.old[k]
		}
		v := admit
		var head *ackItem // the key's head, pending
		if ok && prev.pending() {
			if head = d.itemAt(prev.link(), b.Seq, items); head == nil {
				ok = false // not to be: the window lost track of a batch
			}
		}
		switch {
		case !ok:
		case head == nil:
			v = against(a.e, prev)
			a.prev, a.hasPrev = prev, true
		case a.e.version > head.e.version:
			// The head's acknowledgement no longer moves the key, and a
			// refusal of this one goes back to what landed before both.
			a.prev, a.hasPrev = head.prev, head.hasPrev
		case a.e.version == head.e.version:
			v = against(a.e, head.e)
			a.behind = true
		default:
			if head.hasPrev {
				v = against(a.e, head.prev)
			}
			if v == admit {
				v = d.againstChain(head.older, a.e, b.Seq, items)
			}
			a.behind = true
		}
		if len(d.reread) > 0 {
			if _, ok := d.reread[a.e.state]; ok {
				// An older version than one that landed, or one whose
				// newest version landed from elsewhere too: written again
				// behind the key's newest, which the table keeps.
				delete(d.reread, a.e.state)
				if v == duplicate {
					v, a.behind = admit, true
				}
			}
		}
		switch v {
		case duplicate:
			b.Duplicates = append(b.Duplicates, *it)
			return false
		case conflict:
			b.Reject(it.Msg, DedupeStageName, ReasonVersionConflict,
				fmt.Sprintf("%s %s/%s/%s version %d was already seen with different content", it.Rec.Kind, it.Rec.Company, it.Rec.Source, it.Rec.ID, a.e.version))
			return false
		}
		at := linkAt(b.Seq, len(items))
		switch {
		case !a.behind:
			if head != nil {
				head.behind = true
				a.older = d.chainIn(prev.link(), head, b.Seq, items)
			}
			d.cur[k] = entry{version: a.e.version, sum: a.e.sum, state: pendingBit | uint64(at)}
		case head != nil:
			a.older, head.older = head.older, at
		}
		items = append(items, a)
		return true
	})
	d.byBatch[b.Seq] = items
	d.kept[b.Seq] = len(b.Items)
	if d.places != nil {
		d.staleMessages(b)
	}
	return nil
}

// staleMessages takes the places of b's records read in an older
// assignment generation than the current one for the records themselves
// when they come again: a batch filled across a rebalance holds some, the
// source drops their commit marks, and this member (or the next owner of
// their partition) reads them again after the places were loaded.
func (d *Dedupe) staleMessages(b *pipeline.Batch) {
	epoch := d.acks.Epoch()
	for i := range b.Items {
		if b.Messages[b.Items[i].Msg].Epoch < epoch {
			d.reread[d.entryOf(&b.Items[i].Rec).state] = struct{}{}
		}
	}
}

type verdict uint8

const (
	admit verdict = iota
	duplicate
	conflict
)

// against judges a record by a version of its key that it does not
// supersede: a landed one, or the pending head.
func against(r, known entry) verdict {
	switch {
	case r.version > known.version:
		return admit
	case r.version < known.version:
		return duplicate
	case r.sum != known.sum:
		return conflict
	case r.state == known.state:
		// The same message read again from the same place: the record
		// itself, not a re-send of it.
		return admit
	}
	return duplicate
}

// againstChain judges a record by the versions of its key in flight
// behind the head, from chain on.
func (d *Dedupe) againstChain(chain link, e entry, seq uint64, items []ackItem) verdict {
	for l := chain; l != 0; {
		p := d.itemAt(l, seq, items)
		if p == nil || p.done {
			break
		}
		if p.e.version == e.version {
			if v := against(e, p.e); v != admit {
				return v
			}
		}
		l = p.older
	}
	return admit
}

// chainIn returns the chain of a new head: the one it supersedes (at hl)
// with that one's chain, in the order they were admitted.
func (d *Dedupe) chainIn(hl link, h *ackItem, seq uint64, items []ackItem) link {
	first := h.older
	if first == 0 || first < hl {
		return hl
	}
	p := d.itemAt(first, seq, items)
	for p != nil && p.older > hl {
		p = d.itemAt(p.older, seq, items)
	}
	if p == nil {
		return hl // not to be: a record after the head was acknowledged before it
	}
	h.older, p.older = p.older, hl
	return first
}

// itemAt is the ackItem at l: in the batch being processed (seq, items)
// or one in flight; nil if its batch was acknowledged.
func (d *Dedupe) itemAt(l link, seq uint64, items []ackItem) *ackItem {
	if l == 0 {
		return nil
	}
	in := items
	if l.batch() != seq {
		in = d.byBatch[l.batch()]
	}
	if l.at() >= len(in) {
		return nil
	}
	return &in[l.at()]
}

// Acked implements pipeline.Acker: the batch's records are now landed,
// except those a later stage took out of it (the sink may refuse a record
// and dead-letter it), which are forgotten rather than remembered as seen.
func (d *Dedupe) Acked(b *pipeline.Batch) {
	d.mu.Lock()
	defer func() {
		d.mu.Unlock()
		d.acks.Acked(b)
	}()
	// Usually nothing was taken out after this stage; only then is it worth
	// finding out which records are gone.
	var landed []bool
	if len(b.Items) != d.kept[b.Seq] {
		landed = make([]bool, len(b.Messages))
		for i := range b.Items {
			landed[b.Items[i].Msg] = true
		}
	}
	delete(d.kept, b.Seq)
	items := d.byBatch[b.Seq]
	for i := range items {
		a := &items[i]
		a.done = true
		ok := landed == nil || landed[a.msg]
		switch {
		case !a.behind && ok:
			// Admitted as newer than anything known, and a later version
			// would have taken the key, so this never moves backwards.
			d.cur[a.key] = a.e
		case !a.behind:
			d.refused(a)
		case ok:
			d.landedBehind(a)
		}
	}
	delete(d.byBatch, b.Seq)
	if len(d.cur) >= d.window {
		d.turn()
	}
}

// turn turns the window over: cur becomes old and old is forgotten, but
// the entries of heads still in flight go on in the new cur, since a second
// turn before their batches land would drop them: a conflict with one would
// be missed, and its acknowledgement would write its version over a newer
// one that came meanwhile.
func (d *Dedupe) turn() {
	keep := map[dedupeKey]entry{}
	for seq, in := range d.byBatch {
		for i := range in {
			a := &in[i]
			if a.behind {
				continue
			}
			e, ok := d.cur[a.key]
			if !ok {
				e, ok = d.old[a.key]
			}
			if ok && e.pending() && e.link() == linkAt(seq, i) {
				keep[a.key] = e
			}
		}
	}
	d.old, d.cur = d.cur, keep
}

// refused hands a refused head's key to the newest of its other versions
// still in flight if that is newer than the newest landed, else back to
// the newest landed.
func (d *Dedupe) refused(a *ackItem) {
	var best *ackItem
	var bl link
	for l := a.older; l != 0; {
		p := d.itemAt(l, noBatch, nil)
		if p == nil || p.done {
			break
		}
		if best == nil || p.e.version > best.e.version {
			best, bl = p, l
		}
		l = p.older
	}
	switch {
	case best != nil && (!a.hasPrev || best.e.version > a.prev.version):
		rest := a.older
		if rest == bl {
			rest = best.older
		} else {
			for p := d.itemAt(rest, noBatch, nil); p != nil; p = d.itemAt(p.older, noBatch, nil) {
				if p.older == bl {
					p.older = best.older
					break
				}
			}
		}
		best.older, best.behind = rest, false
		best.prev, best.hasPrev = a.prev, a.hasPrev
		d.cur[a.key] = entry{version: best.e.version, sum: best.e.sum, state: pendingBit | uint64(bl)}
	case a.hasPrev:
		d.cur[a.key] = a.prev
	default:
		delete(d.cur, a.key)
		delete(d.old, a.key)
	}
}

// noBatch is no batch's sequence number: itemAt looks only in flight.
const noBatch = ^uint64(0)

// landedBehind records a version that landed while the key's entry was not
// its own: it is the key's newest landed version unless a newer one has
// landed, and if a newer one is pending, what a refusal of that falls back
// to.
func (d *Dedupe) landedBehind(a *ackItem) {
	e, ok := d.cur[a.key]
	if !ok {
		e, ok = d.old[a.key]
	}
	switch {
	case !ok:
		d.cur[a.key] = a.e
	case e.pending():
		if head := d.itemAt(e.link(), noBatch, nil); head != nil && (!head.hasPrev || a.e.version >= head.prev.version) {
			head.prev, head.hasPrev = a.e, true
		}
	case a.e.version >= e.version:
		d.cur[a.key] = a.e
	}
}
