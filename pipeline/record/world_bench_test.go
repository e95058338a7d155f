package record_test

import (
	"testing"

	"github.com/erpflow/erpflow/connectors/generator"
	"github.com/erpflow/erpflow/pipeline/record"
)

// BenchmarkDecodeWorld decodes a generated 30-day world's records in turn:
// the kinds, sizes and repeated values (parties, SKUs, currencies) that the
// pipeline meets, which the docs' ten examples do not show.
func BenchmarkDecodeWorld(b *testing.B) {
	var msgs [][]byte
	var size int
	_, err := generator.Generate(generator.Config{Seed: 1, Days: 30, Companies: 3}, func(r *record.Record) error {
		m := record.Marshal(r)
		msgs = append(msgs, m)
		size += len(m)
		return nil
	}, func(generator.Truth) error { return nil })
	if err != nil {
		b.Fatal(err)
	}
	d := record.NewDecoder()
	var r record.Record
	b.SetBytes(int64(size / len(msgs)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := d.Decode(msgs[i%len(msgs)], &r); err != nil {
			b.Fatal(err)
		}
	}
}
