package decode

import (
	"context"
	"crypto/sha256"
	"os"
	"regexp"
	"testing"

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
	for i := 1; i < len(b.Dead); i++ {
		if b.Dead[i].Msg.Offset <= b.Dead[i-1].Msg.Offset {
			t.Fatalf("dead letters out of order")
		}
	}
}
