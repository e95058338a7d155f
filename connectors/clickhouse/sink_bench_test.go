package clickhouse_test

import (
	"bufio"
	"context"
	"os"
	"testing"

	"github.com/erpflow/erpflow/connectors/clickhouse"
	"github.com/erpflow/erpflow/connectors/clickhouse/chtest"
	"github.com/erpflow/erpflow/connectors/generator"
	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/transforms/decode"
)

// worldBatch decodes a generated world's first n records into one batch.
func worldBatch(b *testing.B, n int) *pipeline.Batch {
	dir := b.TempDir()
	if _, err := generator.WriteFiles(generator.Config{Seed: 1, Days: 30, Companies: 3}, dir, nil); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(dir + "/records.ndjson")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	batch := &pipeline.Batch{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() && len(batch.Messages) < n {
		batch.Messages = append(batch.Messages, pipeline.Message{Value: append([]byte(nil), sc.Bytes()...)})
	}
	if err := decode.New(nil).Process(context.Background(), batch); err != nil {
		b.Fatal(err)
	}
	return batch
}

// BenchmarkSinkWrite measures landing 20,000 mixed records in ClickHouse
// (one insert per kind); records/s is the figure to compare.
func BenchmarkSinkWrite(b *testing.B) {
	cfg := chtest.Config(b)
	batch := worldBatch(b, 20000)
	conn, err := clickhouse.Open(context.Background(), cfg, cfg.Database)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	sink := clickhouse.NewSink(conn)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := sink.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch.Items))/b.Elapsed().Seconds(), "records/s")
}
