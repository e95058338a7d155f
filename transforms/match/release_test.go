package match

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/erpflow/erpflow/connectors/generator"
	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
)

// arrivalBatches cuts a world into batches in the order a backfill reads
// it, topic by topic: the quiet topics run ahead, matching holds them, and
// a batch of the busy one releases thousands of records of every company.
func arrivalBatches(t *testing.T, size int) ([]*pipeline.Batch, []string) {
	t.Helper()
	recs := worldOf(t, generator.Config{Seed: 7, Days: 45, Companies: 3, OrdersPerDay: 20})
	// Each topic's records in event time, handed out a fetch (chunk) at a
	// time from topic after topic, as readers of one partition each do.
	byTopic := map[string][]*record.Record{}
	var topics []string
	for _, r := range recs {
		tp := r.Kind.String()
		if byTopic[tp] == nil {
			topics = append(topics, tp)
		}
		byTopic[tp] = append(byTopic[tp], r)
	}
	sort.Strings(topics)
	const chunk = 700
	var order []*record.Record
	for left := true; left; {
		left = false
		for _, tp := range topics {
			n := min(chunk, len(byTopic[tp]))
			order = append(order, byTopic[tp][:n]...)
			byTopic[tp] = byTopic[tp][n:]
			left = left || len(byTopic[tp]) > 0
		}
	}
	return topicBatches(order, size)
}

// cloneBatches gives each stage batches of its own: Process appends to them.
func cloneBatches(in []*pipeline.Batch) []*pipeline.Batch {
	out := make([]*pipeline.Batch, len(in))
	for i, b := range in {
		out[i] = &pipeline.Batch{Seq: b.Seq, Final: b.Final, Messages: b.Messages, Items: append([]pipeline.Item(nil), b.Items...)}
	}
	return out
}

// TestStageReleasesCompaniesInParallelAsInSeries holds the parallel
// release to the serial one: the same rows of the same tables in the same
// order, and the same notes, batch by batch.
func TestStageReleasesCompaniesInParallelAsInSeries(t *testing.T) {
	batches, topics := arrivalBatches(t, 5000)
	// What the lanes write back after each batch: each company's last row
	// version and latest event time, which later rows build on.
	type state struct {
		version map[string]uint64
		latest  map[string]time.Time
	}
	var states [2][]state
	run := func(workers int) (*Stage, []*pipeline.Batch) {
		s, err := NewStage(StageOptions{Topics: topics, Registerer: prometheus.NewRegistry(),
			MatchesTopic: "erpflow.matches", ExceptionsTopic: "erpflow.exceptions"})
		if err != nil {
			t.Fatal(err)
		}
		s.workers = workers
		bs := cloneBatches(batches)
		for _, b := range bs {
			if err := s.Process(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			states[min(workers-1, 1)] = append(states[min(workers-1, 1)], state{maps.Clone(s.version), maps.Clone(s.latest)})
		}
		return s, bs
	}
	_, serial := run(1)
	par, parallel := run(4)
	for i := range states[0] {
		if !reflect.DeepEqual(states[0][i], states[1][i]) {
			t.Fatalf("after batch %d, versions or latest times differ:\nserial   %v\nparallel %v", i, states[0][i], states[1][i])
		}
	}
	if par.parallel < 3 {
		t.Fatalf("companies were released in parallel %d times: the test world is too small", par.parallel)
	}
	rows := 0
	for i := range serial {
		a, b := serial[i], parallel[i]
		if len(a.Rows) != len(b.Rows) {
			t.Fatalf("batch %d: %d tables in series, %d in parallel", i, len(a.Rows), len(b.Rows))
		}
		for j := range a.Rows {
			ta, tb := a.Rows[j].Table, b.Rows[j].Table
			if ta != tb {
				t.Fatalf("batch %d: table %d is %s in series, %s in parallel", i, j, ta.Name, tb.Name)
			}
			ra, rb := tableRows(a, ta), tableRows(b, tb)
			if !reflect.DeepEqual(ra, rb) {
				t.Fatalf("batch %d: %s rows differ (%d in series, %d in parallel)", i, ta.Name, len(ra), len(rb))
			}
			rows += len(ra)
		}
		if len(a.Notes) != len(b.Notes) {
			t.Fatalf("batch %d: %d notes in series, %d in parallel", i, len(a.Notes), len(b.Notes))
		}
		for j := range a.Notes {
			na, nb := a.Notes[j], b.Notes[j]
			if na.Topic != nb.Topic || !bytes.Equal(na.Key, nb.Key) || !bytes.Equal(na.Value, nb.Value) {
				t.Fatalf("batch %d: note %d differs:\n%s\n%s", i, j, na.Value, nb.Value)
			}
		}
	}
	if rows == 0 {
		t.Fatal("the world derived no rows")
	}
}

// twoCompanies is a batch of four invoices on topic inv, two companies'
// each, a day apart; end marks the topic read to its end.
func twoCompanies(end bool) *pipeline.Batch {
	day := record.MakeDate(2025, 3, 1).Time()
	var recs []topicRec
	for i, co := range []string{"SH01", "SH02", "SH01", "SH02"} {
		r := arInvoice(fmt.Sprint("INV-", i), 100, day.AddDate(0, 0, i))
		r.Company = co
		recs = append(recs, topicRec{"inv", r})
	}
	return stageBatch(end, recs...)
}

// TestStageReleasesInSeriesWhileADecisionWaits: a company's waiting review
// decisions are applied as its records pass their time, through the
// stage's own maps, so a release with one waiting goes company by company.
func TestStageReleasesInSeriesWhileADecisionWaits(t *testing.T) {
	for _, c := range []struct {
		waiting bool
		want    int
	}{{false, 1}, {true, 0}} {
		s, err := NewStage(StageOptions{Topics: []string{"inv"}, Registerer: prometheus.NewRegistry()})
		if err != nil {
			t.Fatal(err)
		}
		s.workers, s.parallelFrom = 2, 1
		if c.waiting {
			// A replayed decision on a match not known yet: it waits.
			s.pending["SH02"] = []pendingDecision{{Decision: Decision{MatchID: "m-unknown", Action: ActionAccept, After: record.MakeDate(2025, 4, 1).Time()}}}
		}
		if err := s.Process(context.Background(), twoCompanies(true)); err != nil {
			t.Fatal(err)
		}
		if s.parallel != c.want {
			t.Errorf("decision waiting %v: released in parallel %d times, want %d", c.waiting, s.parallel, c.want)
		}
	}
}

// TestStageReleasesInParallelOnlyAtTheInputsEnd: with workers left to the
// stage (0), companies go in parallel only once every input partition is
// read to its end, when matching is what is left to run.
func TestStageReleasesInParallelOnlyAtTheInputsEnd(t *testing.T) {
	for _, c := range []struct {
		workers int
		end     bool
		want    int
	}{{0, false, 0}, {0, true, 1}, {1, true, 0}, {2, false, 1}} {
		s, err := NewStage(StageOptions{Topics: []string{"inv"}, Workers: c.workers, Registerer: prometheus.NewRegistry()})
		if err != nil {
			t.Fatal(err)
		}
		s.cores, s.parallelFrom = 2, 1
		if err := s.Process(context.Background(), twoCompanies(c.end)); err != nil {
			t.Fatal(err)
		}
		if s.parallel != c.want {
			t.Errorf("workers %d, input at its end %v: released in parallel %d times, want %d", c.workers, c.end, s.parallel, c.want)
		}
	}
}
