package mapping

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/erpflow/erpflow/connectors/generator"
	"github.com/erpflow/erpflow/pipeline/record"
)

// BenchmarkMapWorld maps every raw record of a generated 30-day world, each
// source through its own Mapper as a decode worker holds them: parsing,
// cleaning and setting the canonical fields, without the stage around it.
func BenchmarkMapWorld(b *testing.B) {
	dir := b.TempDir()
	if _, err := generator.WriteRawFiles(generator.Config{Seed: 1, Days: 30, Companies: 3}, dir, nil); err != nil {
		b.Fatal(err)
	}
	type source struct {
		mp    *Mapper
		lines [][]byte
	}
	var sources []source
	n := 0
	for _, name := range Shipped() {
		m, err := LoadShipped(name)
		if err != nil {
			b.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, "raw", name+".ndjson"))
		if err != nil {
			b.Fatal(err)
		}
		lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
		sources = append(sources, source{m.NewMapper(), lines})
		n += len(lines)
	}
	var r record.Record
	refused := 0
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for _, s := range sources {
			for _, l := range s.lines {
				// The world's planted mess is refused, as the stage would
				// dead-letter it; it is part of the work.
				if err := s.mp.Map([]byte("SH01"), l, &r); err != nil {
					refused++
				}
			}
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(refused)/float64(b.N), "refused")
}

// BenchmarkWideObject maps a shop record whose buyer has two thousand keys
// that share their ends (ITEM0001_MATNR ...), as a flattened export's do,
// and whose shape is new every time: checking keys stays linear in them.
func BenchmarkWideObject(b *testing.B) {
	m, err := LoadShipped("shop")
	if err != nil {
		b.Fatal(err)
	}
	base, err := os.ReadFile(filepath.Join("testdata", "golden", "shop_1.raw.json"))
	if err != nil {
		b.Fatal(err)
	}
	var extra bytes.Buffer
	for i := range 2000 {
		fmt.Fprintf(&extra, `"ITEM%04d_MATNR":"x",`, i)
	}
	data := bytes.Replace(base, []byte(`"buyer":{`), append([]byte(`"buyer":{`), extra.Bytes()...), 1)
	var r record.Record
	b.ReportAllocs()
	for b.Loop() {
		mp := m.NewMapper() // no shape learned
		if err := mp.Map(nil, data, &r); err != nil {
			b.Fatal(err)
		}
	}
}
