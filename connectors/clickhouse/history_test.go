package clickhouse_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/erpflow/erpflow/connectors/clickhouse"
	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
	"github.com/erpflow/erpflow/transforms/clean"
)

// TestHistoryReadsBackWhatLanded lands one record of every kind (the
// examples of docs/records.md), two versions of one of them, and reads the
// company's history back: every body as it was sent, every version once,
// older versions first, also once ClickHouse has merged the canonical
// tables down to each record's newest version.
func TestHistoryReadsBackWhatLanded(t *testing.T) {
	ctx := context.Background()
	conn := altered(t)
	b := docBatch(t)
	// The first example (an invoice) is flagged as a copy of another.
	if b.Items[0].Rec.Kind != record.KindInvoice {
		t.Fatalf("the first example is a %s; the test flags an invoice", b.Items[0].Rec.Kind)
	}
	b.Items[0].Rec.Flags.DuplicateOf = "INV-2025-0041"
	// A second version of the first record, landed twice (a replay).
	v2 := b.Items[0]
	v2.Rec.Version++
	v2.Rec.EventTime = v2.Rec.EventTime.Add(3600e9)
	b.Items = append(b.Items, v2)
	for i := range b.Items {
		clean.SetPartyKeys(b.Items[i].Rec.Body) // as the keys stage would
	}
	sink := clickhouse.NewSink(conn)
	for range 2 {
		if err := sink.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range record.Kinds {
		if err := conn.Exec(ctx, "OPTIMIZE TABLE "+clickhouse.Tables[k]+" FINAL"); err != nil {
			t.Fatal(err)
		}
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM "+clickhouse.Tables[k]+" WHERE id = ?", b.Items[0].Rec.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if k == b.Items[0].Rec.Kind && n != 1 {
			t.Fatalf("%s holds %d rows of %s after the merge; the test needs the older version merged away", clickhouse.Tables[k], n, b.Items[0].Rec.ID)
		}
	}
	want := map[[3]any]*record.Record{}
	companies := map[string]bool{}
	for i := range b.Items {
		r := &b.Items[i].Rec
		want[[3]any{r.Kind, r.ID, r.Version}] = r
		companies[r.Company] = true
	}
	got := 0
	h := clickhouse.NewHistory(conn)
	for c := range companies {
		var last map[[2]any]uint64 = map[[2]any]uint64{}
		err := h.Records(ctx, c, func(r *record.Record) {
			got++
			k := [3]any{r.Kind, r.ID, r.Version}
			w, ok := want[k]
			if !ok {
				t.Errorf("history gave %v, never landed", k)
				return
			}
			delete(want, k)
			if r.Company != w.Company || r.Source != w.Source || !r.EventTime.Equal(w.EventTime.Truncate(1e9)) {
				t.Errorf("%v: envelope %+v, want %+v", k, r.Envelope, w.Envelope)
			}
			if r.Flags.DuplicateOf != w.Flags.DuplicateOf {
				t.Errorf("%v: duplicate_of %q, want %q", k, r.Flags.DuplicateOf, w.Flags.DuplicateOf)
			}
			if !reflect.DeepEqual(r.Body, w.Body) {
				t.Errorf("%v: body\n got %+v\nwant %+v", k, r.Body, w.Body)
			}
			if v, ok := last[[2]any{r.Kind, r.ID}]; ok && v > r.Version {
				t.Errorf("%v: version %d after %d", k, r.Version, v)
			}
			last[[2]any{r.Kind, r.ID}] = r.Version
		}, func() { t.Error("a single read restarted") })
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(want) != 0 || got != len(b.Items) {
		t.Errorf("read %d records of %d landed; never read: %v", got, len(b.Items), want)
	}
}

// TestHistoryCompaniesGivesEveryPartition lands invoices and bank lines of
// four companies: SH01 through invoices partitions 0 and 2 and bank
// partition 3 (a producer not keying by company), BJ02 through invoices 1,
// WH04 through bank 1, GZ03 through invoices 3. A member assigned
// partitions 0 and 1 of both topics rebuilds SH01, BJ02 and WH04, and
// learns that SH01 also came through 2 and 3, which other members read.
func TestHistoryCompaniesGivesEveryPartition(t *testing.T) {
	ctx := context.Background()
	conn := altered(t)
	doc := docBatch(t)
	example := map[record.Kind]pipeline.Item{}
	for _, it := range doc.Items {
		if _, ok := example[it.Rec.Kind]; !ok {
			example[it.Rec.Kind] = it
		}
	}
	b := &pipeline.Batch{Messages: doc.Messages[:1]}
	for i, x := range []struct {
		kind    record.Kind
		topic   string
		company string
		part    int32
	}{
		{record.KindInvoice, "erp.invoices", "SH01", 0}, {record.KindInvoice, "erp.invoices", "SH01", 2},
		{record.KindBankTxn, "bank.transactions", "SH01", 3}, {record.KindInvoice, "erp.invoices", "BJ02", 1},
		{record.KindBankTxn, "bank.transactions", "WH04", 1}, {record.KindInvoice, "erp.invoices", "GZ03", 3},
		{record.KindInvoice, "erp.invoices", "SH01", 0},
	} {
		it, ok := example[x.kind]
		if !ok {
			t.Fatalf("docs/records.md has no %s example", x.kind)
		}
		it.Rec.Company, it.Rec.ID = x.company, fmt.Sprintf("X-%d", i)
		it.Rec.Provenance.Topic, it.Rec.Provenance.Partition, it.Rec.Provenance.Offset = x.topic, x.part, int64(i)
		b.Items = append(b.Items, it)
	}
	if err := clickhouse.NewSink(conn).Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, err := clickhouse.NewHistory(conn).Companies(ctx, map[string][]int{"erp.invoices": {0, 1}, "bank.transactions": {0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]int32{"SH01": {0, 2, 3}, "BJ02": {1}, "WH04": {1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("companies of partitions 0 and 1: %v, want %v", got, want)
	}
}
