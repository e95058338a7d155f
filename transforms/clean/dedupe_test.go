package clean

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
)

// rec describes one message: natural id, version and content.
type rec struct {
	id      string
	version uint64
	content string
}

func batch(seq uint64, rs ...rec) *pipeline.Batch {
	b := &pipeline.Batch{Seq: seq}
	for i, r := range rs {
		b.Messages = append(b.Messages, pipeline.Message{Offset: int64(i), Value: []byte(r.content)})
		// Every message has its own place in the topic unless a test
		// re-reads one on purpose (at).
		b.Items = append(b.Items, pipeline.Item{Msg: i, Rec: record.Record{Envelope: record.Envelope{
			Kind: record.KindInvoice, Company: "SH01", Source: "erp", ID: r.id, Version: r.version,
			Provenance: record.Provenance{Topic: "erp.invoices", Offset: int64(seq*1000) + int64(i),
				SHA256: sha256.Sum256([]byte(r.content))}}}})
	}
	return b
}

func kept(b *pipeline.Batch) []string {
	var out []string
	for _, it := range b.Items {
		out = append(out, it.Rec.ID)
	}
	return out
}

func TestDedupe(t *testing.T) {
	type step struct {
		in      []rec
		ack     bool
		kept    int
		dups    int
		reasons []string
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"re-send in the same batch", []step{{in: []rec{{"a", 1, "x"}, {"a", 1, "x"}}, kept: 1, dups: 1}}},
		{"re-send after landing", []step{{in: []rec{{"a", 1, "x"}}, ack: true, kept: 1}, {in: []rec{{"a", 1, "x"}}, kept: 0, dups: 1}}},
		// The first copy's batch is still in flight: the later copy can be
		// dropped because its offset cannot commit before that batch lands.
		{"re-send while in flight", []step{{in: []rec{{"a", 1, "x"}}, kept: 1}, {in: []rec{{"a", 1, "x"}}, kept: 0, dups: 1}}},
		{"older version after newer", []step{{in: []rec{{"a", 3, "x3"}}, ack: true, kept: 1}, {in: []rec{{"a", 2, "x2"}}, kept: 0, dups: 1}}},
		{"newer version replaces", []step{{in: []rec{{"a", 1, "x1"}}, ack: true, kept: 1}, {in: []rec{{"a", 2, "x2"}, {"a", 2, "x2"}}, kept: 1, dups: 1}}},
		{"same version other content", []step{{in: []rec{{"a", 1, "x"}}, ack: true, kept: 1}, {in: []rec{{"a", 1, "y"}}, kept: 0, reasons: []string{ReasonVersionConflict}}}},
		{"conflict inside a batch", []step{{in: []rec{{"a", 1, "x"}, {"a", 1, "y"}, {"b", 1, "x"}}, kept: 2, reasons: []string{ReasonVersionConflict}}}},
		{"different ids are not duplicates", []step{{in: []rec{{"a", 1, "x"}, {"b", 1, "x"}, {"ab", 1, "x"}}, kept: 3}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := NewDedupe(100)
			for i, s := range c.steps {
				b := batch(uint64(i), s.in...)
				if err := d.Process(context.Background(), b); err != nil {
					t.Fatal(err)
				}
				if len(b.Items) != s.kept || len(b.Duplicates) != s.dups || len(b.Dead) != len(s.reasons) {
					t.Fatalf("step %d: kept %v dups %d dead %d; want %d, %d, %d", i, kept(b), len(b.Duplicates), len(b.Dead), s.kept, s.dups, len(s.reasons))
				}
				for j, r := range s.reasons {
					if b.Dead[j].Reason != r || b.Dead[j].Stage != DedupeStageName {
						t.Errorf("step %d: dead letter %+v, want %s", i, b.Dead[j], r)
					}
				}
				if len(b.Items)+len(b.Dead)+len(b.Duplicates) != len(s.in) {
					t.Fatalf("step %d: a record went missing", i)
				}
				if s.ack {
					d.Acked(b)
				}
			}
		})
	}
}

func TestDedupeWindowForgets(t *testing.T) {
	d := NewDedupe(2)
	for i, id := range []string{"a", "b", "c", "d", "e"} {
		b := batch(uint64(i), rec{id, 1, id})
		d.Process(context.Background(), b)
		d.Acked(b)
	}
	// "a" has left both generations of the window: it is written again,
	// which the ReplacingMergeTree absorbs.
	b := batch(9, rec{"a", 1, "a"}, rec{"e", 1, "e"})
	d.Process(context.Background(), b)
	if got := kept(b); len(got) != 1 || got[0] != "a" {
		t.Fatalf("kept %v, want only a", got)
	}
}

func TestDedupeForgetsRecordsTheSinkRefused(t *testing.T) {
	d := NewDedupe(100)
	b := batch(0, rec{"a", 1, "x"}, rec{"b", 1, "y"})
	d.Process(context.Background(), b)
	b.Items = b.Items[1:] // the sink refused "a" and dead-lettered it
	d.Acked(b)
	again := batch(1, rec{"a", 1, "x"}, rec{"b", 1, "y"})
	d.Process(context.Background(), again)
	if got := kept(again); len(got) != 1 || got[0] != "a" || len(again.Duplicates) != 1 {
		t.Fatalf("kept %v, %d duplicates: a was refused, so its re-send is new", got, len(again.Duplicates))
	}
}

// refuse takes the records with these ids out of b, as the sink does with
// a record its table refuses (it dead-letters them).
func refuse(b *pipeline.Batch, ids ...string) {
	b.Keep(func(it *pipeline.Item) bool { return !slices.Contains(ids, it.Rec.ID) })
}

// An older version that came while a newer one was in flight must still
// land when the sink refuses the newer one: dropping it as a duplicate
// would leave the table without either.
func TestDedupeOlderVersionOutlivesARefusedNewer(t *testing.T) {
	d := NewDedupe(100)
	b0 := batch(0, rec{"a", 2, "x2"})
	d.Process(context.Background(), b0)
	b1 := batch(1, rec{"a", 1, "x1"}, rec{"a", 1, "x1"})
	d.Process(context.Background(), b1)
	if got := kept(b1); len(got) != 1 || len(b1.Duplicates) != 1 {
		t.Fatalf("kept %v, %d duplicates: version 1 is older than the version in flight, but nothing of it has landed", got, len(b1.Duplicates))
	}
	refuse(b0, "a")
	d.Acked(b0)
	d.Acked(b1)
	b2 := batch(2, rec{"a", 1, "x1"}, rec{"a", 1, "other"})
	d.Process(context.Background(), b2)
	if len(b2.Items) != 0 || len(b2.Duplicates) != 1 || len(b2.Dead) != 1 || b2.Dead[0].Reason != ReasonVersionConflict {
		t.Fatalf("kept %v, %d duplicates, dead %+v: version 1 landed", kept(b2), len(b2.Duplicates), b2.Dead)
	}
	// A re-send of the very version in flight is still dropped: the same
	// bytes would be refused the same way.
	b3 := batch(3, rec{"a", 5, "x5"}, rec{"a", 5, "x5"})
	d.Process(context.Background(), b3)
	if len(b3.Items) != 1 || len(b3.Duplicates) != 1 {
		t.Fatalf("kept %v, %d duplicates", kept(b3), len(b3.Duplicates))
	}
}

// A version that landed while a newer one was in flight is what the key
// falls back to when the newer one is refused, whether the two came in one
// batch or in two.
func TestDedupeSupersededVersionThatLandedIsRemembered(t *testing.T) {
	for _, together := range []bool{false, true} {
		d := NewDedupe(100)
		var batches []*pipeline.Batch
		if together {
			batches = append(batches, batch(0, rec{"a", 1, "x1"}, rec{"a", 2, "x2"}))
		} else {
			batches = append(batches, batch(0, rec{"a", 1, "x1"}), batch(1, rec{"a", 2, "x2"}))
		}
		for _, b := range batches {
			d.Process(context.Background(), b)
		}
		for _, b := range batches {
			b.Keep(func(it *pipeline.Item) bool { return it.Rec.Version != 2 })
			d.Acked(b)
		}
		b := batch(5, rec{"a", 1, "other"}, rec{"a", 1, "x1"})
		d.Process(context.Background(), b)
		if len(b.Items) != 0 || len(b.Duplicates) != 1 || len(b.Dead) != 1 || b.Dead[0].Reason != ReasonVersionConflict {
			t.Errorf("together=%v: kept %v, %d duplicates, dead %+v: version 1 landed", together, kept(b), len(b.Duplicates), b.Dead)
		}
	}
}

// A message read again from the same place (its batch landed, but the
// commit did not happen before a crash or rebalance) is the record itself,
// not a duplicate of it: it is written again, which the table absorbs, and
// the duplicates table does not count it.
func TestDedupeRereadIsNotADuplicate(t *testing.T) {
	at := func(b *pipeline.Batch, i int, offset int64) {
		b.Items[i].Rec.Provenance.Offset = offset
	}
	for _, landed := range []bool{true, false} {
		d := NewDedupe(100)
		b0 := batch(0, rec{"a", 1, "x"})
		d.Process(context.Background(), b0)
		if landed {
			d.Acked(b0)
		}
		b1 := batch(1, rec{"a", 1, "x"}, rec{"a", 1, "x"})
		at(b1, 0, 0) // where b0's copy was read
		d.Process(context.Background(), b1)
		if len(b1.Items) != 1 || b1.Items[0].Rec.Provenance.Offset != 0 || len(b1.Duplicates) != 1 {
			t.Errorf("landed=%v: kept %v, %d duplicates: the copy read again from offset 0 is the record, the other a re-send", landed, kept(b1), len(b1.Duplicates))
		}
	}
}

func TestDedupeSeed(t *testing.T) {
	seed := func(id, content string, offset int64) *record.Record {
		return &record.Record{Envelope: record.Envelope{Kind: record.KindInvoice, Company: "SH01", Source: "erp", ID: id, Version: 1,
			Provenance: record.Provenance{Topic: "erp.invoices", Offset: offset, SHA256: sha256.Sum256([]byte(content))}}}
	}
	d := NewDedupe(2)
	// Newest first, as read from ClickHouse; the window keeps the newest.
	d.Seed(seed("c", "c", 50))
	d.Seed(seed("b", "b", 51))
	d.Seed(seed("a", "a", 52))
	b := batch(0, rec{"c", 1, "c"}, rec{"b", 1, "b"}, rec{"a", 1, "a"}, rec{"c", 1, "changed"})
	b.Items[1].Rec.Provenance.Offset = 51 // b read again from where it landed
	d.Process(context.Background(), b)
	if got := kept(b); fmt.Sprint(got) != "[b a]" || len(b.Duplicates) != 1 || len(b.Dead) != 1 || b.Dead[0].Reason != ReasonVersionConflict {
		t.Fatalf("kept %v, %d duplicates, dead %+v", got, len(b.Duplicates), b.Dead)
	}
}

// The window turns over (cur becomes old, old is dropped) on an
// acknowledgement, while later batches are still in flight: their pending
// heads must outlive two turns, or a conflict with them is missed and
// their own acknowledgement later writes an old version over a newer one.
func TestDedupeWindowKeepsPendingHeads(t *testing.T) {
	ctx := context.Background()
	d := NewDedupe(2)
	b0 := batch(0, rec{"a", 1, "a"}, rec{"b", 1, "b"})
	b1 := batch(1, rec{"c", 1, "c"}, rec{"d", 1, "d"})
	b2 := batch(2, rec{"e", 1, "e1"}, rec{"f", 1, "f"})
	for _, b := range []*pipeline.Batch{b0, b1, b2} {
		d.Process(ctx, b)
	}
	d.Acked(b0) // turns the window over
	b3 := batch(3, rec{"g", 1, "g"}, rec{"h", 1, "h"})
	d.Process(ctx, b3)
	d.Acked(b1) // and again, with b2 still in flight
	b4 := batch(4, rec{"e", 1, "other"}, rec{"f", 1, "f"}, rec{"e", 3, "e3"})
	d.Process(ctx, b4)
	if len(b4.Dead) != 1 || len(b4.Duplicates) != 1 || fmt.Sprint(kept(b4)) != "[e]" {
		t.Fatalf("kept %v, %d duplicates, %d dead; want e version 1 \"other\" a conflict, f a re-send of a pending version", kept(b4), len(b4.Duplicates), len(b4.Dead))
	}
	d.Acked(b2) // e version 1 lands, under version 3 in flight
	b5 := batch(5, rec{"e", 2, "e2"})
	d.Process(ctx, b5)
	for _, b := range []*pipeline.Batch{b3, b4, b5} {
		d.Acked(b)
	}
	b6 := batch(6, rec{"e", 3, "other"}, rec{"e", 3, "e3"})
	d.Process(ctx, b6)
	if len(b6.Items) != 0 || len(b6.Dead) != 1 || len(b6.Duplicates) != 1 {
		t.Fatalf("kept %v, %d duplicates, %d dead: e version 3 landed last, so \"other\" is a conflict and e3 a re-send", kept(b6), len(b6.Duplicates), len(b6.Dead))
	}
}

// A restart or a rebalance reads on from the committed offsets, so what
// landed past them comes a second time, older versions too: the places
// given at each assignment generation tell those messages from re-sends of
// them. The stage waits for its own batches before to land first, since
// the places are read from what landed.
func TestDedupePlacesAtEachAssignment(t *testing.T) {
	d := NewDedupe(100)
	var give []int64 // offsets in erp.invoices/0 that the next load gives
	loads := 0
	d.OnAssignment(func(ctx context.Context, seed func(string, int32, int64)) error {
		loads++
		for _, o := range give {
			seed("erp.invoices", 0, o)
		}
		return nil
	})
	at := func(b *pipeline.Batch, epoch int64, offsets ...int64) *pipeline.Batch {
		for i := range b.Items {
			b.Items[i].Rec.Provenance.Offset = offsets[i]
			b.Messages[i].Epoch = epoch
		}
		return b
	}
	// Generation 1: versions 1 and 2 of a land; the commit will be lost.
	b0 := at(batch(0, rec{"a", 1, "x1"}, rec{"a", 2, "x2"}), 1, 70, 71)
	d.Process(context.Background(), b0)
	if loads != 1 || len(b0.Items) != 2 {
		t.Fatalf("%d loads, kept %v", loads, kept(b0))
	}
	// Generation 2 reads both again, and a re-send of version 1.
	give = []int64{70, 71, 99} // 99: landed, but read by another member
	b1 := at(batch(1, rec{"a", 1, "x1"}, rec{"a", 2, "x2"}, rec{"a", 1, "x1"}), 2, 70, 71, 72)
	done := make(chan struct{})
	go func() { d.Process(context.Background(), b1); close(done) }()
	for !d.WaitingForAcks() {
		select {
		case <-done:
			t.Fatal("generation 2's first batch went through before the batch before it landed")
		default:
			runtime.Gosched()
		}
	}
	d.Acked(b0)
	<-done
	if loads != 2 || len(b1.Items) != 2 || len(b1.Duplicates) != 1 || b1.Duplicates[0].Rec.Provenance.Offset != 72 {
		t.Fatalf("%d loads, kept %v, %d duplicates: the messages from 70 and 71 landed before, the one from 72 is a re-send", loads, kept(b1), len(b1.Duplicates))
	}
	d.Acked(b1)
	// Generation 3 gives no places: those of generation 2 are dropped (99
	// too, never read), and version 1 from 70 or 99 is older than what
	// landed.
	give = nil
	b2 := at(batch(2, rec{"a", 1, "x1"}, rec{"a", 1, "x1"}), 3, 70, 99)
	d.Process(context.Background(), b2)
	if loads != 3 || len(b2.Items) != 0 || len(b2.Duplicates) != 2 {
		t.Fatalf("%d loads, kept %v: no place says offset 70 or 99 is read again", loads, kept(b2))
	}
}

// A batch filled across a rebalance holds messages of the generation
// before; the source drops their commit marks, so they are read again, but
// the places were loaded before they landed: they are the records
// themselves all the same.
func TestDedupeBatchAcrossARebalance(t *testing.T) {
	d := NewDedupe(100)
	d.OnAssignment(func(context.Context, func(string, int32, int64)) error { return nil })
	mk := func(seq uint64, epochs []int64, offsets []int64, rs ...rec) *pipeline.Batch {
		b := batch(seq, rs...)
		for i := range b.Items {
			b.Messages[i].Epoch = epochs[i]
			b.Items[i].Rec.Provenance.Offset = offsets[i]
		}
		return b
	}
	b0 := mk(0, []int64{1}, []int64{9}, rec{"z", 1, "z1"})
	d.Process(context.Background(), b0)
	d.Acked(b0)
	// Versions 1 and 2 of a in generation 1, then b in generation 2.
	b1 := mk(1, []int64{1, 1, 2}, []int64{10, 11, 1000}, rec{"a", 1, "a1"}, rec{"a", 2, "a2"}, rec{"b", 1, "b1"})
	d.Process(context.Background(), b1)
	d.Acked(b1)
	// Generation 2 reads a's two messages again from the committed offset.
	b2 := mk(2, []int64{2, 2}, []int64{10, 11}, rec{"a", 1, "a1"}, rec{"a", 2, "a2"})
	d.Process(context.Background(), b2)
	if len(b2.Duplicates) != 0 || len(b2.Items) != 2 {
		t.Fatalf("kept %v, %d duplicates: both are the records themselves, read again", kept(b2), len(b2.Duplicates))
	}
}

// BenchmarkDedupe measures the stage alone (ns/op is per record): batches
// of 20,000 distinct records are built before the timer starts.
func BenchmarkDedupe(b *testing.B) {
	const size = 20000
	batches := make([]*pipeline.Batch, 0, b.N/size+1)
	for i := 0; i < b.N; i += size {
		rs := make([]rec, size)
		for j := range rs {
			rs[j] = rec{id: fmt.Sprintf("INV-%d", i+j), version: 1, content: "x"}
		}
		batches = append(batches, batch(uint64(len(batches)), rs...))
	}
	d := NewDedupe(0)
	b.ReportAllocs()
	b.ResetTimer()
	for _, bt := range batches {
		d.Process(context.Background(), bt)
		d.Acked(bt)
	}
}

// refDedupe is the stage's rules written plainly, the oracle for
// TestDedupeAsReference: the newest landed version of each key, and every
// version in flight, in maps of their own, where the stage packs a key's
// state into one entry, keeps the newest landed version of a key with a
// pending head in the head's ackItem and other versions in flight aside.
// The window is left out; it never fills there.
type refDedupe struct {
	d        *Dedupe // for its key and entryOf
	landed   map[dedupeKey]entry
	inFlight map[dedupeKey][]refItem
	byBatch  map[uint64][]refItem
}

type refItem struct {
	key dedupeKey
	e   entry
	seq uint64
	msg int
}

func (r *refDedupe) judge(k dedupeKey, e entry) verdict {
	l, landed := r.landed[k]
	if landed && e.version < l.version {
		return duplicate
	}
	for _, p := range r.inFlight[k] {
		if p.e.version == e.version {
			if v := against(e, p.e); v != admit {
				return v
			}
		}
	}
	if landed && e.version == l.version {
		return against(e, l)
	}
	return admit
}

func (r *refDedupe) process(b *pipeline.Batch) {
	b.Keep(func(it *pipeline.Item) bool {
		k, e := r.d.key(&it.Rec), r.d.entryOf(&it.Rec)
		switch r.judge(k, e) {
		case duplicate:
			b.Duplicates = append(b.Duplicates, *it)
			return false
		case conflict:
			b.Reject(it.Msg, DedupeStageName, ReasonVersionConflict, "conflict")
			return false
		}
		ri := refItem{key: k, e: e, seq: b.Seq, msg: it.Msg}
		r.inFlight[k] = append(r.inFlight[k], ri)
		r.byBatch[b.Seq] = append(r.byBatch[b.Seq], ri)
		return true
	})
}

func (r *refDedupe) acked(b *pipeline.Batch) {
	landed := map[int]bool{}
	for i := range b.Items {
		landed[b.Items[i].Msg] = true
	}
	for _, ri := range r.byBatch[b.Seq] {
		r.inFlight[ri.key] = slices.DeleteFunc(r.inFlight[ri.key], func(p refItem) bool { return p.seq == ri.seq && p.msg == ri.msg })
		if l, ok := r.landed[ri.key]; landed[ri.msg] && (!ok || ri.e.version >= l.version) {
			r.landed[ri.key] = ri.e
		}
	}
	delete(r.byBatch, b.Seq)
}

// TestDedupeAsReference runs random streams through the stage and the
// reference: re-sends, newer and older versions, conflicts, messages read
// again from where they were read before, batches acknowledged in order
// with several in flight, and records the sink refuses (by content, as a
// table does). Both must keep, drop and dead-letter the same records. With
// small windows, turning over while batches are in flight, only the
// invariants are checked: nothing is lost (every record dropped as a
// duplicate has landed, or a newer version of it, unless the sink refuses
// its content anyway), and once every batch is acknowledged nothing is
// left pending.
func TestDedupeAsReference(t *testing.T) {
	type sent struct {
		r      rec
		offset int64
	}
	for seed := range uint64(300) {
		// A window that never turns over, so that the stage remembers what
		// the reference does; and small ones, turning over with batches in
		// flight, where only the invariants below are checked.
		window := []int{1 << 20, 3, 8}[seed%3]
		rnd := rand.New(rand.NewPCG(seed, 3))
		poisoned := map[string]bool{}
		d := NewDedupe(window)
		ref := &refDedupe{d: d, landed: map[dedupeKey]entry{},
			inFlight: map[dedupeKey][]refItem{}, byBatch: map[uint64][]refItem{}}
		var (
			inFlight [][2]*pipeline.Batch
			history  []sent
			dups     []rec
			landed   = map[rec]bool{}
		)
		ack := func(i int) {
			pair := inFlight[i]
			inFlight = append(inFlight[:i], inFlight[i+1:]...)
			for _, b := range pair {
				b.Keep(func(it *pipeline.Item) bool { return !poisoned[string(b.Messages[it.Msg].Value)] })
			}
			for _, it := range pair[0].Items {
				landed[rec{it.Rec.ID, it.Rec.Version, string(pair[0].Messages[it.Msg].Value)}] = true
			}
			d.Acked(pair[0])
			ref.acked(pair[1])
		}
		for seq := range uint64(80) {
			rs := make([]rec, 1+rnd.IntN(8))
			var reread []int
			for i := range rs {
				if len(history) > 0 && rnd.IntN(8) == 0 {
					rs[i] = history[rnd.IntN(len(history))].r
					reread = append(reread, i)
					continue
				}
				v := uint64(1 + rnd.IntN(4))
				rs[i] = rec{fmt.Sprintf("d%d", rnd.IntN(4)), v, fmt.Sprintf("v%d-%d", v, rnd.IntN(4)/3)}
				if _, ok := poisoned[rs[i].content]; !ok {
					poisoned[rs[i].content] = rnd.IntN(4) == 0
				}
			}
			got, want := batch(seq, rs...), batch(seq, rs...)
			for _, i := range reread {
				at := history[rnd.IntN(len(history))]
				for at.r != rs[i] {
					at = history[rnd.IntN(len(history))]
				}
				got.Items[i].Rec.Provenance.Offset, want.Items[i].Rec.Provenance.Offset = at.offset, at.offset
			}
			for i, it := range got.Items {
				history = append(history, sent{rs[i], it.Rec.Provenance.Offset})
			}
			if err := d.Process(context.Background(), got); err != nil {
				t.Fatal(err)
			}
			ref.process(want)
			if window == 1<<20 && fmt.Sprint(kept(got), len(got.Duplicates), len(got.Dead)) != fmt.Sprint(kept(want), len(want.Duplicates), len(want.Dead)) {
				t.Fatalf("seed %d batch %d %v: kept %v, %d duplicates, %d dead; the reference %v, %d, %d", seed, seq, rs,
					kept(got), len(got.Duplicates), len(got.Dead), kept(want), len(want.Duplicates), len(want.Dead))
			}
			for _, it := range got.Duplicates {
				dups = append(dups, rec{it.Rec.ID, it.Rec.Version, string(got.Messages[it.Msg].Value)})
			}
			inFlight = append(inFlight, [2]*pipeline.Batch{got, want})
			for len(inFlight) > 0 && rnd.IntN(3) > 0 {
				ack(0) // in batch order, as the runner acknowledges
			}
		}
		for len(inFlight) > 0 {
			ack(0)
		}
		pending := 0 // entries a lookup finds pending (cur hides old)
		for k, e := range d.old {
			if _, hidden := d.cur[k]; !hidden && e.pending() {
				pending++
			}
		}
		for _, e := range d.cur {
			if e.pending() {
				pending++
			}
		}
		if len(d.byBatch)+len(d.kept)+pending != 0 {
			t.Fatalf("seed %d: every batch acknowledged, yet %d batches, %d counts and %d pending entries are held", seed, len(d.byBatch), len(d.kept), pending)
		}
		for _, dup := range dups {
			if poisoned[dup.content] || landed[dup] {
				continue
			}
			newer := false
			for l := range landed {
				newer = newer || l.id == dup.id && l.version > dup.version
			}
			if !newer {
				t.Fatalf("seed %d: %v was dropped as a duplicate, but neither it nor a newer version landed", seed, dup)
			}
		}
	}
}

// TestDedupeReseedsAtEachLaterAssignment: a rebalance gives this member a
// company another member landed records of since this one started. The
// next generation starts from what landed (as a restart does): a re-send
// of such a record is a duplicate, and another record under its landed
// version goes to the dead-letter topic instead of replacing it.
func TestDedupeReseedsAtEachLaterAssignment(t *testing.T) {
	landed := func(id string, version uint64, content string, offset int64) *record.Record {
		return &record.Record{Envelope: record.Envelope{Kind: record.KindInvoice, Company: "SH01", Source: "erp", ID: id, Version: version,
			Provenance: record.Provenance{Topic: "erp.invoices", Partition: 2, Offset: offset, SHA256: sha256.Sum256([]byte(content))}}}
	}
	epoch := func(b *pipeline.Batch, e int64) *pipeline.Batch {
		for i := range b.Messages {
			b.Messages[i].Epoch = e
		}
		return b
	}
	for _, reseed := range []bool{false, true} {
		d := NewDedupe(100)
		reseeds := 0
		if reseed {
			d.ReseedOnAssignment(func(_ context.Context, seed func(*record.Record)) error {
				reseeds++
				seed(landed("b", 1, "y1", 7)) // landed by the other member
				seed(landed("c", 1, "z1", 8)) // likewise
				return nil                    // a, which this one landed, is beyond the read
			})
		}
		b0 := epoch(batch(0, rec{"a", 1, "x1"}), 1)
		if err := d.Process(context.Background(), b0); err != nil {
			t.Fatal(err)
		}
		d.Acked(b0)
		// Generation 2: another record under b's landed version, and c and
		// a sent again as they were.
		b1 := epoch(batch(1, rec{"b", 1, "y2"}, rec{"c", 1, "z1"}, rec{"a", 1, "x1"}), 2)
		if err := d.Process(context.Background(), b1); err != nil {
			t.Fatal(err)
		}
		if !reseed {
			// What the stage knew of its own: a, nothing of b or c.
			if len(b1.Items) != 2 || len(b1.Duplicates) != 1 {
				t.Fatalf("without a reseed: kept %v, %d duplicates; want b and c kept, a a duplicate", kept(b1), len(b1.Duplicates))
			}
			continue
		}
		if reseeds != 1 {
			t.Errorf("%d reseeds, want 1: the first generation is seeded at start", reseeds)
		}
		if len(b1.Items) != 0 || len(b1.Duplicates) != 2 || len(b1.Dead) != 1 || b1.Dead[0].Reason != ReasonVersionConflict {
			t.Errorf("kept %v, %d duplicates, %d dead letters: want c's and a's re-sends duplicates (a from the stage's own memory) and b's other content a version_conflict",
				kept(b1), len(b1.Duplicates), len(b1.Dead))
		}
	}
}
