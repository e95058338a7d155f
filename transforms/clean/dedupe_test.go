package clean

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
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
		b.Items = append(b.Items, pipeline.Item{Msg: i, Rec: record.Record{Envelope: record.Envelope{
			Kind: record.KindInvoice, Company: "SH01", Source: "erp", ID: r.id, Version: r.version,
			Provenance: record.Provenance{SHA256: sha256.Sum256([]byte(r.content))}}}})
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

func TestDedupeSeed(t *testing.T) {
	sum := func(content string) string {
		h := sha256.Sum256([]byte(content))
		return fmt.Sprintf("%x", h)
	}
	d := NewDedupe(2)
	// Newest first, as read from ClickHouse; the window keeps the newest.
	d.Seed(record.KindInvoice, "SH01", "erp", "c", 1, sum("c"))
	d.Seed(record.KindInvoice, "SH01", "erp", "b", 1, sum("b"))
	d.Seed(record.KindInvoice, "SH01", "erp", "a", 1, sum("a"))
	d.Seed(record.KindInvoice, "SH01", "erp", "z", 1, "not hex at all, not even")
	b := batch(0, rec{"c", 1, "c"}, rec{"b", 1, "b"}, rec{"a", 1, "a"}, rec{"z", 1, "z"}, rec{"c", 1, "changed"})
	d.Process(context.Background(), b)
	if got := kept(b); fmt.Sprint(got) != "[a z]" || len(b.Duplicates) != 2 || len(b.Dead) != 1 || b.Dead[0].Reason != ReasonVersionConflict {
		t.Fatalf("kept %v, %d duplicates, dead %+v", got, len(b.Duplicates), b.Dead)
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

// refDedupe is the stage as it was before pending records shared the
// window's entries (a map of its own beside them): the oracle for
// TestDedupeAsReference. The window is left out; it never fills there.
type refDedupe struct {
	d       *Dedupe // for its key
	landed  map[dedupeKey]seenEntry
	pending map[dedupeKey]struct {
		seenEntry
		seq uint64
	}
	byBatch map[uint64][]dedupeKey
	kept    map[uint64]int
}

func (r *refDedupe) process(b *pipeline.Batch) {
	var keys []dedupeKey
	b.Keep(func(it *pipeline.Item) bool {
		k := r.d.key(&it.Rec)
		e := seenEntry{version: it.Rec.Version, sum: binary.LittleEndian.Uint64(it.Rec.Provenance.SHA256[:8])}
		prev, ok := r.pending[k].seenEntry, false
		if _, ok = r.pending[k]; !ok {
			prev, ok = r.landed[k]
		}
		if ok {
			switch {
			case e.version < prev.version || (e.version == prev.version && e.sum == prev.sum):
				b.Duplicates = append(b.Duplicates, *it)
				return false
			case e.version == prev.version:
				b.Reject(it.Msg, DedupeStageName, ReasonVersionConflict, "conflict")
				return false
			}
		}
		r.pending[k] = struct {
			seenEntry
			seq uint64
		}{e, b.Seq}
		keys = append(keys, k)
		return true
	})
	r.byBatch[b.Seq] = keys
	r.kept[b.Seq] = len(b.Items)
}

func (r *refDedupe) acked(b *pipeline.Batch) {
	var landed map[dedupeKey]bool
	if len(b.Items) != r.kept[b.Seq] {
		landed = map[dedupeKey]bool{}
		for i := range b.Items {
			landed[r.d.key(&b.Items[i].Rec)] = true
		}
	}
	for _, k := range r.byBatch[b.Seq] {
		p, ok := r.pending[k]
		if !ok || p.seq != b.Seq {
			continue
		}
		delete(r.pending, k)
		if landed != nil && !landed[k] {
			continue
		}
		r.landed[k] = p.seenEntry
	}
}

// TestDedupeAsReference runs random streams through the stage and the
// reference: re-sends, newer and older versions, conflicts, batches
// acknowledged in any order, and records the sink refused. Both must keep,
// drop and dead-letter the same records.
func TestDedupeAsReference(t *testing.T) {
	for seed := range uint64(40) {
		rnd := rand.New(rand.NewPCG(seed, 3))
		d := NewDedupe(1 << 20)
		ref := &refDedupe{d: d, landed: map[dedupeKey]seenEntry{}, byBatch: map[uint64][]dedupeKey{}, kept: map[uint64]int{},
			pending: map[dedupeKey]struct {
				seenEntry
				seq uint64
			}{}}
		var inFlight [][2]*pipeline.Batch
		for seq := range uint64(60) {
			rs := make([]rec, 1+rnd.IntN(8))
			for i := range rs {
				v := uint64(1 + rnd.IntN(4))
				rs[i] = rec{fmt.Sprintf("d%d", rnd.IntN(6)), v, fmt.Sprintf("v%d-%d", v, rnd.IntN(4)/3)}
			}
			got, want := batch(seq, rs...), batch(seq, rs...)
			if err := d.Process(context.Background(), got); err != nil {
				t.Fatal(err)
			}
			ref.process(want)
			if fmt.Sprint(kept(got), len(got.Duplicates), len(got.Dead)) != fmt.Sprint(kept(want), len(want.Duplicates), len(want.Dead)) {
				t.Fatalf("seed %d batch %d %v: kept %v, %d duplicates, %d dead; the reference %v, %d, %d", seed, seq, rs,
					kept(got), len(got.Duplicates), len(got.Dead), kept(want), len(want.Duplicates), len(want.Dead))
			}
			inFlight = append(inFlight, [2]*pipeline.Batch{got, want})
			for len(inFlight) > 0 && rnd.IntN(3) > 0 {
				i := rnd.IntN(len(inFlight))
				pair := inFlight[i]
				inFlight = append(inFlight[:i], inFlight[i+1:]...)
				if n := len(pair[0].Items); n > 0 && rnd.IntN(4) == 0 {
					// The sink refused one record.
					j := rnd.IntN(n)
					for _, b := range pair {
						b.Items = append(b.Items[:j:j], b.Items[j+1:]...)
					}
				}
				d.Acked(pair[0])
				ref.acked(pair[1])
			}
		}
	}
}
