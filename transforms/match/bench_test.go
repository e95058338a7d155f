package match

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/erpflow/erpflow/connectors/generator"
	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
	"github.com/erpflow/erpflow/transforms/clean"
)

// BenchmarkMatchLine times the cash-application rules against one million
// open invoices of 20,000 customers in one company's book: 60 % of lines
// quote their invoice, 30 % only name the payer with the exact amount, and
// 10 % name a payer but pay an amount nothing adds up to, the costly case,
// since it walks the bounded subset sum before giving up. A confirmed
// invoice is put back, as new invoices would arrive, so the book stays
// at a million.
func BenchmarkMatchLine(b *testing.B) {
	const n, parties = 1_000_000, 20_000
	e, err := NewEngine(DefaultConfig(), DefaultRefPatterns)
	if err != nil {
		b.Fatal(err)
	}
	book := e.Book("SH01")
	items := make([]OpenItem, n)
	for i := range items {
		// Amounts distinct within a party, so payer+amount finds one.
		items[i] = inv(fmt.Sprintf("INV-2025-%07d", i), fmt.Sprintf("C%05d", i%parties), int64(10000+i), 1+i%28, 1)
		book.Put(items[i])
	}
	lines := make([]Line, 10_000)
	for i := range lines {
		it := items[(i*7919)%n]
		l := Line{Company: "SH01", Source: "bank", ID: fmt.Sprintf("L%d", i), Direction: "credit",
			Amount: it.Open, Date: record.MakeDate(2025, 6, 1), PayerKey: it.PartyKey}
		switch i % 10 {
		case 0, 1, 2, 3, 4, 5:
			l.Remittance = "货款 " + it.Number
		case 9:
			l.Amount.Minor = 3 // no invoice, nor any sum of them, comes to 0.03
			l.Remittance = "INV-2O25-OOO"
		}
		lines[i] = l
	}
	var confirmed int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l := lines[i%len(lines)]
		m := e.MatchLine(l)
		if m.Outcome == Confirmed {
			confirmed++
			// Putting it back stands for the new invoices a day brings.
			book.Put(items[((i%len(lines))*7919)%n])
		}
	}
	b.StopTimer()
	if b.N >= len(lines) && confirmed < b.N*8/10 {
		b.Fatalf("only %d of %d lines confirmed: the benchmark no longer measures matching", confirmed, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// benchWorld is the generated 90-day world of three companies the world
// benchmarks share, with the match keys of its parties derived as the keys
// stage derives them before matching: without them the reconcilers would
// spend a tenth of their time deriving keys the pipeline hands them.
func benchWorld(b testing.TB) []*record.Record {
	return worldOf(b, generator.Config{Seed: 1, Days: 90, Companies: 3, OrdersPerDay: 50})
}

// worldOf generates a world's canonical records, party keys derived.
func worldOf(tb testing.TB, cfg generator.Config) []*record.Record {
	dir := tb.TempDir()
	if _, err := generator.WriteFiles(cfg, dir, nil); err != nil {
		tb.Fatal(err)
	}
	var recs []*record.Record
	for r := range recordLines(tb, dir) {
		clean.SetPartyKeys(r.Body)
		recs = append(recs, r)
	}
	return recs
}

// BenchmarkReconcileWorld runs a generated 90-day world of three companies
// through their reconcilers, as the matching stage does after a batch is
// released: every rule, the day ends (overdue invoices, control totals,
// forgetting) and the exceptions, but not the rows the stage derives.
func BenchmarkReconcileWorld(b *testing.B) {
	recs := benchWorld(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rcs := map[string]*Reconciler{}
		var out Output
		for _, r := range recs {
			rc := reconcilerOf(b, rcs, r.Company, DefaultSettings())
			rc.Add(r, &out)
			out.Reset()
		}
		for _, rc := range rcs {
			rc.Close(recs[len(recs)-1].EventTime, &out)
			out.Reset()
		}
	}
	b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// topicBatches cuts records, in the order given, into batches of size as
// the source hands them out: each record a message on its kind's topic
// (partition 0), offsets counted per topic, each message knowing its
// topic's end; a final batch closes the list. It returns the topics too.
func topicBatches(recs []*record.Record, size int) ([]*pipeline.Batch, []string) {
	perTopic := map[string]int64{}
	var topics []string
	for _, r := range recs {
		t := r.Kind.String()
		if perTopic[t] == 0 {
			topics = append(topics, t)
		}
		perTopic[t]++
	}
	var batches []*pipeline.Batch
	next := map[string]int64{}
	for i := 0; i < len(recs); i += size {
		bt := &pipeline.Batch{Seq: uint64(len(batches))}
		for j, r := range recs[i:min(i+size, len(recs))] {
			t := r.Kind.String()
			bt.Messages = append(bt.Messages, pipeline.Message{Topic: t, Offset: next[t], HighWater: perTopic[t], Epoch: 1})
			bt.Items = append(bt.Items, pipeline.Item{Rec: *r, Msg: j})
			next[t]++
		}
		batches = append(batches, bt)
	}
	return append(batches, &pipeline.Batch{Seq: uint64(len(batches)), Final: true}), topics
}

// BenchmarkStageWorld runs the same world through the matching stage in
// batches of 20,000 records, as erpflow run does: what BenchmarkReconcileWorld
// measures plus holding records for the watermark and turning the results
// into rows and notes.
func BenchmarkStageWorld(b *testing.B) {
	recs := benchWorld(b)
	batches, topics := topicBatches(recs, 20000)
	b.ReportAllocs()
	b.ResetTimer()
	rows := 0
	for range b.N {
		// As many lanes as -cpu gives (1: one company after another).
		rows += passStage(b, StageOptions{Topics: topics, Workers: runtime.GOMAXPROCS(0),
			MatchesTopic: "erpflow.matches", ExceptionsTopic: "erpflow.exceptions"}, batches)
	}
	b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(rows)/float64(b.N), "rows")
}

// BenchmarkStageBackfill runs one company's world through the stage as a
// backfill of two months and of two years: the cost of a record should
// not grow with how much history came before it, and the two figures side
// by side show whether it does (a day's end once walked every bank line
// kept, so a record of the second year cost three times one of the
// first months).
func BenchmarkStageBackfill(b *testing.B) {
	for _, days := range []int{60, 720} {
		recs := worldOf(b, generator.Config{Seed: 1, Days: days, Companies: 1, OrdersPerDay: 50})
		batches, topics := topicBatches(recs, 20000)
		b.Run(fmt.Sprintf("days=%d", days), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				passStage(b, StageOptions{Topics: topics, Workers: 1}, batches)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(recs)), "ns/record")
		})
	}
}

// passStage runs batches once through a new stage made with opt (and a
// registry of its own) and returns how many rows it derived.
func passStage(b *testing.B, opt StageOptions, batches []*pipeline.Batch) int {
	opt.Registerer = prometheus.NewRegistry()
	s, err := NewStage(opt)
	if err != nil {
		b.Fatal(err)
	}
	rows := 0
	for _, bt := range batches {
		bt.Rows, bt.Notes = bt.Rows[:0], bt.Notes[:0]
		if err := s.Process(context.Background(), bt); err != nil {
			b.Fatal(err)
		}
		for _, r := range bt.Rows {
			rows += r.Len()
		}
	}
	return rows
}
