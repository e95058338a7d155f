// Package clean holds the cleaning stages between decode and the sink.
package clean

import (
	"context"
	"encoding/binary"
	"encoding/hex"
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
// content (an at-least-once re-send), or at an older version than one seen.
// They are counted as duplicates, not dead-lettered.
//
// A record becomes "seen" only when the batch that carries it is
// acknowledged by the sink (Acked). Until then it is pending, and only
// records after it (in its batch or later ones) are compared with it: their
// offsets cannot be committed before its batch lands, so dropping them never
// loses the record.
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
	// acknowledged (the batch being processed included). Keeping both in
	// one entry makes a new record three map operations (two lookups that
	// miss, one write) and its acknowledgement one write, where a map of
	// pending records beside them took six.
	cur, old map[dedupeKey]entry
	// byBatch lists each batch's admitted records for Acked.
	byBatch map[uint64][]ackItem
	kept    map[uint64]int // items left in each batch after this stage
}

type dedupeKey struct{ a, b uint64 }

type seenEntry struct {
	version uint64
	sum     uint64 // first 8 bytes of the SHA-256 of the original message
}

type entry struct {
	seenEntry
	// pending is, while the record waits for its batch to land, the
	// batch's sequence number plus one in the high 40 bits and the
	// record's place among the batch's ackItems in the low 24; 0 once
	// landed. Packed, an entry is 24 bytes rather than 32: the window
	// holds up to a million.
	pending uint64
}

const atBits = 24

func pendingAt(seq uint64, at int) uint64 { return (seq+1)<<atBits | uint64(at) }

func (e entry) batch() uint64 { return e.pending>>atBits - 1 }
func (e entry) at() int       { return int(e.pending & (1<<atBits - 1)) }

// ackItem is an admitted record of a batch in flight: what its
// acknowledgement writes, and what it restores if the sink refused the
// record (prev, the newest landed version before it).
type ackItem struct {
	key                 dedupeKey
	e, prev             seenEntry
	hasPrev, superseded bool
}

// NewDedupe returns a dedupe stage remembering about window to 2×window
// records.
func NewDedupe(window int) *Dedupe {
	if window <= 0 {
		window = 500_000
	}
	return &Dedupe{seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed(), window: window,
		cur: map[dedupeKey]entry{}, byBatch: map[uint64][]ackItem{}, kept: map[uint64]int{}}
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

// Seed remembers a record as landed before any batch is processed: the
// job reads recently landed records back from ClickHouse at start, so that
// re-sends after a restart are still counted as duplicates. sha256hex is
// the hex SHA-256 of the record's original message.
//
// Records come newest first; once the window is full the rest (older) are
// left out, and a record without a readable hash is skipped rather than
// remembered with a wrong one (which would turn its re-send into a
// version conflict).
func (d *Dedupe) Seed(k record.Kind, company, source, id string, version uint64, sha256hex string) {
	var sum [8]byte
	if len(sha256hex) < 16 {
		return
	}
	if _, err := hex.Decode(sum[:], []byte(sha256hex[:16])); err != nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.cur) >= d.window {
		return
	}
	key := d.keyOf(k, company, source, id)
	if prev, ok := d.cur[key]; ok && prev.version > version {
		return
	}
	d.cur[key] = entry{seenEntry: seenEntry{version: version, sum: binary.LittleEndian.Uint64(sum[:])}}
}

// Window is how many records the stage remembers at least.
func (d *Dedupe) Window() int { return d.window }

// Process implements pipeline.Stage.
func (d *Dedupe) Process(ctx context.Context, b *pipeline.Batch) error {
	if len(b.Items) >= 1<<atBits {
		// pipeline.batch_size is at most a million; this is for other callers.
		return fmt.Errorf("dedupe: batch %d holds %d records, more than %d", b.Seq, len(b.Items), 1<<atBits-1)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	items := make([]ackItem, 0, len(b.Items))
	b.Keep(func(it *pipeline.Item) bool {
		k := d.key(&it.Rec)
		e := seenEntry{version: it.Rec.Version, sum: binary.LittleEndian.Uint64(it.Rec.Provenance.SHA256[:8])}
		a := ackItem{key: k, e: e}
		prev, ok := d.cur[k]
		if !ok {
			prev, ok = d.old[k]
		}
		if ok {
			switch {
			case e.version < prev.version || (e.version == prev.version && e.sum == prev.sum):
				b.Duplicates = append(b.Duplicates, *it)
				return false
			case e.version == prev.version:
				b.Reject(it.Msg, DedupeStageName, ReasonVersionConflict,
					fmt.Sprintf("%s %s/%s/%s version %d was already seen with different content", it.Rec.Kind, it.Rec.Company, it.Rec.Source, it.Rec.ID, e.version))
				return false
			}
			if prev.pending == 0 {
				a.prev, a.hasPrev = prev.seenEntry, true
			} else {
				// A newer version of a record still in flight: the older
				// one's acknowledgement no longer moves the key, and a
				// refusal of this one goes back to what landed before both.
				in := items
				if prev.batch() != b.Seq {
					in = d.byBatch[prev.batch()]
				}
				older := &in[prev.at()]
				older.superseded = true
				a.prev, a.hasPrev = older.prev, older.hasPrev
			}
		}
		d.cur[k] = entry{seenEntry: e, pending: pendingAt(b.Seq, len(items))}
		items = append(items, a)
		return true
	})
	d.byBatch[b.Seq] = items
	d.kept[b.Seq] = len(b.Items)
	return nil
}

// Acked implements pipeline.Acker: the batch's records are now landed,
// except those a later stage took out of it (the sink may refuse a record
// and dead-letter it), which are forgotten rather than remembered as seen.
func (d *Dedupe) Acked(b *pipeline.Batch) {
	d.mu.Lock()
	defer d.mu.Unlock()
	// Usually nothing was taken out after this stage; only then is it worth
	// finding out which records are gone.
	var landed map[dedupeKey]bool
	if len(b.Items) != d.kept[b.Seq] {
		landed = make(map[dedupeKey]bool, len(b.Items))
		for i := range b.Items {
			landed[d.key(&b.Items[i].Rec)] = true
		}
	}
	delete(d.kept, b.Seq)
	for _, a := range d.byBatch[b.Seq] {
		switch {
		case a.superseded:
			// A later version holds the key; it moves on its own ack.
		case landed == nil || landed[a.key]:
			// Process admitted it only as newer than anything known, and
			// later versions supersede it, so this never moves backwards.
			d.cur[a.key] = entry{seenEntry: a.e}
		case a.hasPrev:
			d.cur[a.key] = entry{seenEntry: a.prev}
		default:
			delete(d.cur, a.key)
			delete(d.old, a.key)
		}
	}
	delete(d.byBatch, b.Seq)
	if len(d.cur) >= d.window {
		d.old, d.cur = d.cur, map[dedupeKey]entry{}
	}
}
