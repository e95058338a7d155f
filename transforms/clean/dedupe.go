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
// records in later batches are compared with it: their offsets cannot be
// committed before its batch lands, so dropping them never loses the record.
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
	mu       sync.Mutex
	cur, old map[dedupeKey]seenEntry
	// pending holds, per key, the newest record of a batch not yet
	// acknowledged (the batch being processed included); byBatch lists each
	// batch's keys for Acked.
	pending map[dedupeKey]pendingEntry
	byBatch map[uint64][]dedupeKey
	kept    map[uint64]int // items left in each batch after this stage
}

type dedupeKey struct{ a, b uint64 }

type seenEntry struct {
	version uint64
	sum     uint64 // first 8 bytes of the SHA-256 of the original message
}

type pendingEntry struct {
	seenEntry
	seq uint64
}

// NewDedupe returns a dedupe stage remembering about window to 2×window
// records.
func NewDedupe(window int) *Dedupe {
	if window <= 0 {
		window = 500_000
	}
	return &Dedupe{seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed(), window: window,
		cur: map[dedupeKey]seenEntry{}, pending: map[dedupeKey]pendingEntry{},
		byBatch: map[uint64][]dedupeKey{}, kept: map[uint64]int{}}
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
	d.cur[key] = seenEntry{version: version, sum: binary.LittleEndian.Uint64(sum[:])}
}

// Window is how many records the stage remembers at least.
func (d *Dedupe) Window() int { return d.window }

// lookup returns the newest version known for k: in a batch in flight
// (this one included), or landed.
func (d *Dedupe) lookup(k dedupeKey) (seenEntry, bool) {
	if e, ok := d.pending[k]; ok {
		return e.seenEntry, true
	}
	return d.landed(k)
}

func (d *Dedupe) landed(k dedupeKey) (seenEntry, bool) {
	if e, ok := d.cur[k]; ok {
		return e, true
	}
	e, ok := d.old[k]
	return e, ok
}

// Process implements pipeline.Stage.
func (d *Dedupe) Process(ctx context.Context, b *pipeline.Batch) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	keys := make([]dedupeKey, 0, len(b.Items))
	b.Keep(func(it *pipeline.Item) bool {
		k := d.key(&it.Rec)
		e := seenEntry{version: it.Rec.Version, sum: binary.LittleEndian.Uint64(it.Rec.Provenance.SHA256[:8])}
		if prev, ok := d.lookup(k); ok {
			switch {
			case e.version < prev.version || (e.version == prev.version && e.sum == prev.sum):
				b.Duplicates = append(b.Duplicates, *it)
				return false
			case e.version == prev.version:
				b.Reject(it.Msg, DedupeStageName, ReasonVersionConflict,
					fmt.Sprintf("%s %s/%s/%s version %d was already seen with different content", it.Rec.Kind, it.Rec.Company, it.Rec.Source, it.Rec.ID, e.version))
				return false
			}
		}
		d.pending[k] = pendingEntry{e, b.Seq}
		keys = append(keys, k)
		return true
	})
	d.byBatch[b.Seq] = keys
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
	for _, k := range d.byBatch[b.Seq] {
		p, ok := d.pending[k]
		if !ok || p.seq != b.Seq {
			continue // a later batch holds a newer version; it moves on its own ack
		}
		delete(d.pending, k)
		if landed != nil && !landed[k] {
			continue
		}
		// Process admitted it only as newer than anything known, and later
		// versions land in later batches, so this never moves backwards.
		d.cur[k] = p.seenEntry
	}
	delete(d.byBatch, b.Seq)
	if len(d.cur) >= d.window {
		d.old, d.cur = d.cur, map[dedupeKey]seenEntry{}
	}
}
