package decode

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/erpflow/erpflow/connectors/generator"
	"github.com/erpflow/erpflow/transforms/mapping"

	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
)

func examples(t testing.TB) [][]byte {
	doc, err := os.ReadFile("../../docs/records.md")
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, m := range regexp.MustCompile("(?s)```json\n(.*?)\n```").FindAllSubmatch(doc, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestStageSplitsGoodAndBad(t *testing.T) {
	good := examples(t)
	bad := map[string]string{
		"":                    "empty_body",
		"{\"kind\":\"x\"}":    "unknown_kind",
		"\xff\xfe":            "invalid_utf8",
		"not json":            "invalid_json",
		`{"kind":"invoice"}`:  "missing_field:company",
		`{"kind":"approval"}`: "missing_field:company",
	}
	b := &pipeline.Batch{}
	for i, g := range good {
		b.Messages = append(b.Messages, pipeline.Message{Topic: "erp.invoices", Partition: 1, Offset: int64(i), Value: g})
	}
	for v := range bad {
		b.Messages = append(b.Messages, pipeline.Message{Topic: "erp.invoices", Partition: 1, Offset: int64(len(b.Messages)), Value: []byte(v)})
	}
	if err := New(nil).Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if len(b.Items) != len(good) || len(b.Dead) != len(bad) {
		t.Fatalf("items %d dead %d, want %d and %d", len(b.Items), len(b.Dead), len(good), len(bad))
	}
	for _, it := range b.Items {
		m := b.Messages[it.Msg]
		p := it.Rec.Provenance
		if p.Offset != m.Offset || p.Topic != m.Topic || p.Partition != 1 || p.SHA256 != sha256.Sum256(m.Value) {
			t.Errorf("provenance %+v for offset %d", p, m.Offset)
		}
		if it.Rec.IngestTime.IsZero() {
			t.Error("ingest time not set")
		}
	}
	for _, d := range b.Dead {
		if want := bad[string(d.Msg.Value)]; d.Reason != want || d.Stage != StageName {
			t.Errorf("%q: reason %s stage %s, want %s", d.Msg.Value, d.Reason, d.Stage, want)
		}
	}
}

func BenchmarkDecodeStage(b *testing.B) {
	ex := examples(b)
	batch := &pipeline.Batch{}
	for i := 0; i < 1000; i++ {
		batch.Messages = append(batch.Messages, pipeline.Message{Value: ex[i%len(ex)]})
	}
	s := New(nil)
	var n int64
	for _, m := range batch.Messages {
		n += int64(len(m.Value))
	}
	b.SetBytes(n / int64(len(batch.Messages)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += len(batch.Messages) {
		batch.Items = batch.Items[:0]
		if err := s.Process(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
}

// TestParallelDecodeKeepsOrder decodes a batch large enough to be split and
// checks items and dead letters come out in message order.
func TestParallelDecodeKeepsOrder(t *testing.T) {
	ex := examples(t)
	b := &pipeline.Batch{}
	for i := 0; i < 5*minChunk; i++ {
		v := ex[i%len(ex)]
		if i%997 == 0 {
			v = []byte("{broken")
		}
		b.Messages = append(b.Messages, pipeline.Message{Offset: int64(i), Value: v})
	}
	s := New(nil)
	for len(s.workers) < 3 { // split even on a one-core machine
		s.workers = append(s.workers, &worker{dec: record.NewDecoder()})
	}
	if err := s.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if len(b.Items)+len(b.Dead) != len(b.Messages) {
		t.Fatalf("%d items + %d dead != %d messages", len(b.Items), len(b.Dead), len(b.Messages))
	}
	for i := 1; i < len(b.Items); i++ {
		if b.Items[i].Msg <= b.Items[i-1].Msg || b.Items[i].Rec.Provenance.Offset != int64(b.Items[i].Msg) {
			t.Fatalf("item %d out of order: msg %d after %d", i, b.Items[i].Msg, b.Items[i-1].Msg)
		}
	}
	// Each item is its own message's record, whichever worker decoded it.
	d := record.NewDecoder()
	for i, it := range b.Items {
		var want record.Record
		if err := d.Decode(ex[it.Msg%len(ex)], &want); err != nil {
			t.Fatal(err)
		}
		if it.Rec.ID != want.ID || it.Rec.Kind != want.Kind || it.Rec.Version != want.Version {
			t.Fatalf("item %d (message %d) is %s %s, want %s %s", i, it.Msg, it.Rec.Kind, it.Rec.ID, want.Kind, want.ID)
		}
	}
	for i := 1; i < len(b.Dead); i++ {
		if b.Dead[i].Msg.Offset <= b.Dead[i-1].Msg.Offset {
			t.Fatalf("dead letters out of order")
		}
	}
}

// BenchmarkMapVersusDecode measures, on one core and in the same run, the
// decode stage on canonical records and on the raw records of the six
// sources (mapped: parse, clean, map), and reports both rates and their
// ratio. The cleaning issue asks that map stay above half of decode.
func BenchmarkMapVersusDecode(b *testing.B) {
	dir := b.TempDir()
	if _, err := generator.WriteRawFiles(generator.Config{Seed: 1, Days: 30, Companies: 3}, dir, nil); err != nil {
		b.Fatal(err)
	}
	mappings := map[string]*mapping.Mapping{}
	var rawFiles []string
	for _, name := range mapping.Shipped() {
		m, err := mapping.LoadShipped(name)
		if err != nil {
			b.Fatal(err)
		}
		mappings["raw."+name] = m
		rawFiles = append(rawFiles, filepath.Join(dir, "raw", name+".ndjson"))
	}
	batchOf := func(topicOf func(string) string, files ...string) *pipeline.Batch {
		bt := &pipeline.Batch{}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			for _, l := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
				bt.Messages = append(bt.Messages, pipeline.Message{Topic: topicOf(f), Value: l})
			}
		}
		return bt
	}
	canonical := batchOf(func(string) string { return "erp.invoices" }, filepath.Join(dir, "records.ndjson"))
	raw := batchOf(func(f string) string { return "raw." + strings.TrimSuffix(filepath.Base(f), ".ndjson") }, rawFiles...)

	// The two alternate batch by batch, so that the machine's speed, which
	// moves by a tenth and more from one second to the next here, weighs
	// on both alike rather than on whichever ran second.
	decStage, mapStage := New(nil), New(mappings)
	decStage.workers, mapStage.workers = decStage.workers[:1], mapStage.workers[:1] // one core
	pass := func(s *Stage, bt *pipeline.Batch) time.Duration {
		bt.Items, bt.Dead = bt.Items[:0], bt.Dead[:0]
		start := time.Now()
		if err := s.Process(context.Background(), bt); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	b.ResetTimer()
	var decN, mapN int
	var decT, mapT time.Duration
	for decN < b.N || mapN < b.N {
		decT += pass(decStage, canonical)
		decN += len(canonical.Messages)
		mapT += pass(mapStage, raw)
		mapN += len(raw.Messages)
	}
	dec := float64(decN) / decT.Seconds()
	mapped := float64(mapN) / mapT.Seconds()
	b.ReportMetric(dec, "decode-rec/s")
	b.ReportMetric(mapped, "map-rec/s")
	b.ReportMetric(mapped/dec, "map/decode")
}

// TestStagePassesOverTransactionMarkers checks that a message the source
// flagged as a transaction marker becomes neither a record nor a dead
// letter, on a canonical topic and on a raw one alike.
func TestStagePassesOverTransactionMarkers(t *testing.T) {
	m, err := mapping.LoadShipped("reimb_cn")
	if err != nil {
		t.Fatal(err)
	}
	marker := []byte{0, 0, 0, 0, 0, 0}
	b := &pipeline.Batch{Messages: []pipeline.Message{
		{Topic: "erp.invoices", Offset: 0, Value: examples(t)[0]},
		{Topic: "erp.invoices", Offset: 1, Key: []byte{0, 0, 0, 1}, Value: marker, Control: true},
		{Topic: "raw.reimb_cn", Offset: 0, Key: []byte{0, 0, 0, 1}, Value: marker, Control: true},
		{Topic: "erp.invoices", Offset: 2, Value: marker}, // the same bytes, not flagged: bad input
	}}
	if err := New(map[string]*mapping.Mapping{"raw.reimb_cn": m}).Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if len(b.Items) != 1 || b.Items[0].Msg != 0 {
		t.Fatalf("items %+v, want the one record", b.Items)
	}
	if len(b.Dead) != 1 || b.Dead[0].Msg.Offset != 2 || b.Dead[0].Reason != "invalid_json" {
		t.Fatalf("dead letters %+v, want only the unflagged message at offset 2 as invalid_json", b.Dead)
	}
}
