package clickhouse_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/erpflow/erpflow/connectors/clickhouse"
	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
)

// TestLandedReadsBackNewestVersionsAndPlaces lands one record of every
// kind, from two partitions, and a second version of the first one, then
// merges the canonical tables: Landed gives each record's newest version
// with where it was read and its hash, and LandedAfter gives the place of
// every version past the offsets it is given, the merged-away one too.
func TestLandedReadsBackNewestVersionsAndPlaces(t *testing.T) {
	ctx := context.Background()
	conn := altered(t)
	b := docBatch(t)
	for i := range b.Items {
		p := &b.Items[i].Rec.Provenance
		p.Topic, p.Partition, p.Offset = "erp.in", int32(i%2), int64(10*i)
		p.SHA256[0] = byte(i)
	}
	v2 := b.Items[0]
	v2.Rec.Version++
	v2.Rec.Provenance.Offset, v2.Rec.Provenance.SHA256[0] = 1000, 0xee
	b.Items = append(b.Items, v2)
	if err := clickhouse.NewSink(conn).Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	for _, k := range record.Kinds {
		if err := conn.Exec(ctx, "OPTIMIZE TABLE "+clickhouse.Tables[k]+" FINAL"); err != nil {
			t.Fatal(err)
		}
	}

	want := map[string]string{}
	for i := range b.Items[1:] {
		r := &b.Items[i+1].Rec
		want[r.Kind.String()+"/"+r.ID] = fmt.Sprintf("v%d %s/%d/%d %x", r.Version, r.Provenance.Topic, r.Provenance.Partition, r.Provenance.Offset, r.Provenance.SHA256)
	}
	got := map[string]string{}
	n, err := clickhouse.Landed(ctx, conn, b.Items[0].Rec.EventTime.AddDate(-30, 0, 0), 100, func(r *record.Record) {
		got[r.Kind.String()+"/"+r.ID] = fmt.Sprintf("v%d %s/%d/%d %x", r.Version, r.Provenance.Topic, r.Provenance.Partition, r.Provenance.Offset, r.Provenance.SHA256)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(want) || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Landed gave %d:\n%v\nwant\n%v", n, got, want)
	}

	var places []string
	collect := func(topic string, partition int32, offset int64) {
		places = append(places, fmt.Sprintf("%s/%d/%d", topic, partition, offset))
	}
	n, more, err := clickhouse.LandedAfter(ctx, conn, map[string]map[int]int64{"erp.in": {0: 20, 1: 0}, "other": {0: 0}}, 100, collect)
	if err != nil {
		t.Fatal(err)
	}
	var wantPlaces []string
	for _, it := range b.Items {
		if p := it.Rec.Provenance; p.Partition == 1 || p.Offset >= 20 {
			wantPlaces = append(wantPlaces, fmt.Sprintf("%s/%d/%d", p.Topic, p.Partition, p.Offset))
		}
	}
	slices.Sort(places)
	slices.Sort(wantPlaces)
	if n != len(wantPlaces) || more || !slices.Equal(places, wantPlaces) {
		t.Fatalf("LandedAfter gave %d (more %v): %v, want %v", n, more, places, wantPlaces)
	}
	places = nil
	if n, more, err := clickhouse.LandedAfter(ctx, conn, map[string]map[int]int64{"erp.in": {0: 0, 1: 0}}, 3, collect); err != nil || n != 3 || !more || len(places) != 3 {
		t.Fatalf("LandedAfter with a limit of 3 gave %d (more %v) %v, %v", n, more, places, err)
	}
	if _, _, err := clickhouse.LandedAfter(ctx, conn, map[string]map[int]int64{"x' OR 1=1 --": {0: 0}}, 3, collect); err == nil {
		t.Fatal("LandedAfter took a topic name that is not one")
	}
}

// TestRecentInOrderOfFirstArrival: the flag stage takes the earlier of two
// look-alike documents as the original, so a restart must preload them in
// the order their first versions came, not their newest: A, then its copy
// B, then A's second version still gives A before B; within one second,
// the offset decides.
func TestRecentInOrderOfFirstArrival(t *testing.T) {
	ctx := context.Background()
	conn := altered(t)
	b := docBatch(t)
	var inv, pay pipeline.Item
	for _, it := range b.Items {
		switch it.Rec.Kind {
		case record.KindInvoice:
			inv = it
		case record.KindPayment:
			pay = it
		}
	}
	t0 := inv.Rec.IngestTime.Truncate(time.Second)
	at := func(id string, version uint64, offset int64, ingest time.Time) pipeline.Item {
		it := inv
		it.Rec.ID, it.Rec.Version, it.Rec.IngestTime = id, version, ingest
		it.Rec.Provenance.Topic, it.Rec.Provenance.Offset = "erp.invoices", offset
		return it
	}
	b.Items = []pipeline.Item{
		at("A", 1, 10, t0),
		at("B", 1, 11, t0.Add(time.Second)),
		at("A", 2, 12, t0.Add(2*time.Second)),
		at("D", 1, 21, t0.Add(3*time.Second)), // D and C in one second:
		at("C", 1, 22, t0.Add(3*time.Second)), // D came first
	}
	// A payment between B and D: the kinds share the flag stage's window,
	// so they come interleaved as they landed, not kind after kind.
	pay.Rec.ID, pay.Rec.Version, pay.Rec.IngestTime = "P", 1, t0.Add(2*time.Second)
	b.Items = append(b.Items, pay)
	if err := clickhouse.NewSink(conn).Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	var got []string
	if _, err := clickhouse.Recent(ctx, conn, t0.Add(-time.Hour), 100, func(r *record.Record) {
		if r.Kind == record.KindInvoice || r.Kind == record.KindPayment {
			got = append(got, fmt.Sprintf("%s v%d", r.ID, r.Version))
		}
	}); err != nil {
		t.Fatal(err)
	}
	if want := "[A v2 B v1 P v1 D v1 C v1]"; fmt.Sprint(got) != want {
		t.Fatalf("preload order %v, want %s", got, want)
	}
	b.Items = b.Items[:len(b.Items)-1]
	// The limit holds per company: another company's three newest rows
	// do not push these out.
	for i, id := range []string{"E", "F", "G"} {
		it := at(id, 1, int64(30+i), t0.Add(4*time.Second))
		it.Rec.Company = "ZZ99"
		b.Items = []pipeline.Item{it}
		if err := clickhouse.NewSink(conn).Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	got = got[:0]
	if _, err := clickhouse.Recent(ctx, conn, t0.Add(-time.Hour), 3, func(r *record.Record) {
		if r.Kind == record.KindInvoice {
			got = append(got, r.Company+"/"+r.ID)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("[%[1]s/A %[1]s/D %[1]s/C ZZ99/E ZZ99/F ZZ99/G]", inv.Rec.Company); fmt.Sprint(got) != want {
		t.Fatalf("three a company: %v, want %s", got, want)
	}
}
