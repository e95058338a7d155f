package match

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
)

// stageBatch builds a batch of records, each its own message on the given
// topic and partition 0; end marks the last message of each topic as the
// end of its partition.
func stageBatch(end bool, recs ...struct {
	topic string
	r     *record.Record
}) *pipeline.Batch {
	prs := make([]partRec, len(recs))
	for i, x := range recs {
		prs[i] = partRec{x.topic, 0, x.r, end}
	}
	return partBatch(prs...)
}

type topicRec = struct {
	topic string
	r     *record.Record
}

func arInvoice(id string, minor int64, at time.Time) *record.Record {
	return &record.Record{Envelope: record.Envelope{Kind: record.KindInvoice, Company: "SH01", Source: "erp", ID: id, Version: 1, EventTime: at},
		Body: &record.Invoice{Number: id, Direction: "AR", Party: record.Party{Name: "Acme"}, IssueDate: record.DateOf(at),
			DueDate: record.DateOf(at) + 30, Total: record.Money{Minor: minor, Currency: cny}, Status: "open"}}
}

func creditLine(id, remit string, minor int64, at time.Time) *record.Record {
	return &record.Record{Envelope: record.Envelope{Kind: record.KindBankTxn, Company: "SH01", Source: "bank", ID: id, Version: 1, EventTime: at},
		Body: &record.BankTxn{Direction: "credit", BookingDate: record.DateOf(at), Amount: record.Money{Minor: minor, Currency: cny},
			Counterparty: record.Party{Name: "Acme"}, Remittance: remit}}
}

// gauge is one sample of a gauge family: its labels and value.
type gauge struct {
	labels map[string]string
	value  float64
}

// gauges returns the samples of the gauge family name reg gathers.
func gauges(t *testing.T, reg *prometheus.Registry, name string) []gauge {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []gauge
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			g := gauge{labels: map[string]string{}, value: m.GetGauge().GetValue()}
			for _, l := range m.GetLabel() {
				g.labels[l.GetName()] = l.GetValue()
			}
			out = append(out, g)
		}
	}
	return out
}

// TestStageWaitsForEveryTopic: the bank topic runs a month ahead of the
// invoices topic; the stage matches nothing until the invoices catch up,
// then matches in event-time order, and the final batch lets the rest go.
func TestStageWaitsForEveryTopic(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := NewStage(StageOptions{Topics: []string{"inv", "bank"}, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	day := record.MakeDate(2025, 3, 1).Time()
	// The bank lines come first: they pay invoices not yet read.
	b1 := stageBatch(false, topicRec{"bank", creditLine("L1", "INV-1", 100000, day.AddDate(0, 0, 20))},
		topicRec{"bank", creditLine("L2", "INV-2", 50000, day.AddDate(0, 0, 25))})
	if err := s.Process(ctx, b1); err != nil {
		t.Fatal(err)
	}
	if len(b1.Rows) != 0 {
		t.Fatalf("matched before the invoices topic brought anything: %d rows", len(b1.Rows))
	}
	// The invoices arrive; the watermark is now the invoices' newest (day 5):
	// INV-1 opens, INV-2 waits (more records of its second may come), and
	// no line is past it yet.
	b2 := stageBatch(false, topicRec{"inv", arInvoice("INV-1", 100000, day)}, topicRec{"inv", arInvoice("INV-2", 50000, day.AddDate(0, 0, 5))})
	if err := s.Process(ctx, b2); err != nil {
		t.Fatal(err)
	}
	if n := rowsOf(b2, MatchesTable); n != 0 {
		t.Fatalf("%d lines matched while the invoices topic is at day 5", n)
	}
	if n := rowsOf(b2, OpenItemsTable); n != 1 {
		t.Fatalf("%d open-item rows, want INV-1's", n)
	}
	// The invoices topic reaches its end: it holds nothing back any more,
	// and the bank topic (day 25) decides: L1 goes, L2 of day 25 waits.
	b3 := stageBatch(true, topicRec{"inv", arInvoice("INV-3", 70000, day.AddDate(0, 0, 6))})
	if err := s.Process(ctx, b3); err != nil {
		t.Fatal(err)
	}
	if n := rowsOf(b3, MatchesTable); n != 1 {
		t.Fatalf("%d lines matched once every topic passed them, want L1", n)
	}
	for _, v := range tableRows(b3, MatchesTable) {
		if v[1] != "SH01/bank/L1" || v[8] != string(Confirmed) {
			t.Errorf("line %v: %v", v[1], v[8])
		}
	}
	// The final batch lets L2 go and closes the day: control totals and an
	// overdue-free end.
	fin := &pipeline.Batch{Final: true}
	if err := s.Process(ctx, fin); err != nil {
		t.Fatal(err)
	}
	if got := tableRows(fin, MatchesTable); len(got) != 1 || got[0][1] != "SH01/bank/L2" || got[0][8] != string(Confirmed) {
		t.Errorf("the final batch's lines: %v, want L2 confirmed", got)
	}
	if rowsOf(fin, TotalsTable) == 0 {
		t.Error("the final batch reported no control totals")
	}
	// The metric shows the latest booking day's totals, in minor units:
	// L2's 500.00, matched.
	want := map[string]float64{"lines": 50000, "matched": 50000, "review": 0, "unmatched": 0}
	got := map[string]float64{}
	for _, g := range gauges(t, reg, "erpflow_match_control_total_minor_units") {
		if g.labels["company"] == "SH01" && g.labels["currency"] == "CNY" {
			got[g.labels["bucket"]] = g.value
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("control total metric %v, want %v", got, want)
	}
	// A new assignment may take the company elsewhere: its totals are no
	// longer this member's to show (the rebuild shows those it keeps).
	s.reset()
	if g := gauges(t, reg, "erpflow_match_control_total_minor_units"); len(g) > 0 {
		t.Errorf("control totals still shown after a new assignment: %v", g)
	}
	if len(s.held) != 0 {
		t.Errorf("records still held after the final batch: %d companies", len(s.held))
	}
}

// TestStageWaitingLinesGauge: a bank line released before the invoice it
// quotes waits for it, and the gauge says so until the invoice comes.
func TestStageWaitingLinesGauge(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := NewStage(StageOptions{Topics: []string{"inv", "bank"}, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	waiting := func() float64 {
		for _, g := range gauges(t, reg, "erpflow_match_waiting_lines") {
			if g.labels["company"] == "SH01" {
				return g.value
			}
		}
		return -1
	}
	ctx := context.Background()
	day := record.MakeDate(2025, 3, 1).Time()
	// Both topics are past day 1, so the line goes to matching; the invoice
	// it quotes is not there yet.
	b1 := stageBatch(false, topicRec{"bank", creditLine("L1", "INV-9", 90000, day)},
		topicRec{"inv", arInvoice("INV-1", 100000, day.AddDate(0, 0, 1))}, topicRec{"bank", creditLine("L2", "", 1, day.AddDate(0, 0, 2))})
	if err := s.Process(ctx, b1); err != nil {
		t.Fatal(err)
	}
	if got := waiting(); got != 1 {
		t.Fatalf("waiting lines %v after the line came without its invoice, want 1", got)
	}
	// The invoice was issued the day before the payment; its record comes
	// two days after it.
	inv := arInvoice("INV-9", 90000, day.AddDate(0, 0, 2))
	inv.Body.(*record.Invoice).IssueDate = record.DateOf(day) - 1
	// The invoices topic ends with it, and the bank topic moves on to day 3:
	// day 2 (INV-9, L2) is behind the watermark.
	b2 := partBatch(partRec{"inv", 0, inv, true}, partRec{"bank", 0, creditLine("L3", "", 1, day.AddDate(0, 0, 3)), false})
	if err := s.Process(ctx, b2); err != nil {
		t.Fatal(err)
	}
	confirmed := false
	for _, v := range tableRows(b2, MatchesTable) {
		confirmed = confirmed || v[1] == "SH01/bank/L1" && v[8] == string(Confirmed)
	}
	if !confirmed {
		t.Fatalf("L1 not confirmed once its invoice came: %v", tableRows(b2, MatchesTable))
	}
	if got := waiting(); got != 1 {
		t.Fatalf("waiting lines %v once L1 is matched, want L2's 1", got)
	}
	s.reset()
	if got := waiting(); got != -1 {
		t.Errorf("waiting lines still shown after a new assignment: %v", got)
	}
}

// TestStageVersionsNeverGoBack: a record older than what its company has
// passed (a late one) still gets row versions above everything before.
func TestStageVersionsNeverGoBack(t *testing.T) {
	s, _ := NewStage(StageOptions{Topics: []string{"inv"}})
	ctx := context.Background()
	day := record.MakeDate(2025, 3, 1).Time()
	// INV-2 moves the watermark past INV-1's second.
	b1 := stageBatch(false, topicRec{"inv", arInvoice("INV-1", 100, day.AddDate(0, 0, 9))}, topicRec{"inv", arInvoice("INV-2", 100, day.AddDate(0, 0, 10))})
	s.Process(ctx, b1)
	b2 := stageBatch(false, topicRec{"inv", arInvoice("INV-0", 100, day)})
	s.Process(ctx, b2)
	_, last := versions(t, b1)
	if late, _ := versions(t, b2); late <= last {
		t.Errorf("the late record's rows have versions from %d, not above %d", late, last)
	}
}

// TestStageCountsLateRecords: a record older than what its company's
// matching has passed is counted late; records in order are not, in the
// batch that passed them or after.
func TestStageCountsLateRecords(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, _ := NewStage(StageOptions{Topics: []string{"inv"}, Registerer: reg})
	ctx := context.Background()
	day := record.MakeDate(2025, 3, 1).Time()
	late := func() float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "erpflow_match_late_records_total" {
				return mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		return -1
	}
	for i, c := range []struct {
		at   int // day of March
		want float64
	}{{5, 0}, {9, 0}, {9, 0}, {3, 1}, {10, 1}, {8, 2}} {
		s.Process(ctx, stageBatch(false, topicRec{"inv", arInvoice(fmt.Sprint("INV-", i), 100, day.AddDate(0, 0, c.at-1))}))
		if got := late(); got != c.want {
			t.Fatalf("record %d of March %d: %v late, want %v", i, c.at, got, c.want)
		}
	}
}

// versions gives the lowest and highest version among a batch's rows.
func versions(t *testing.T, b *pipeline.Batch) (lo, hi uint64) {
	lo = ^uint64(0)
	for _, r := range b.Rows {
		j := slices.Index(r.Table.Columns, "version")
		for i := range r.Len() {
			v := r.Value(i, j).(uint64)
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if hi == 0 {
		t.Fatal("no rows")
	}
	return lo, hi
}

func rowsOf(b *pipeline.Batch, t *pipeline.Table) int {
	for _, r := range b.Rows {
		if r.Table == t {
			return r.Len()
		}
	}
	return 0
}

// tableRows reads a batch's rows of one table back as values.
func tableRows(b *pipeline.Batch, t *pipeline.Table) [][]any {
	var out [][]any
	for _, r := range b.Rows {
		if r.Table != t {
			continue
		}
		for i := range r.Len() {
			v := make([]any, len(t.Columns))
			for j := range v {
				v[j] = r.Value(i, j)
			}
			out = append(out, v)
		}
	}
	return out
}

// fakeHistory is one company's landed records and decisions. With
// partial set, Records first gives that many records of another read (a
// read that failed part way), then restarts and gives them all.
type fakeHistory struct {
	recs      []*record.Record
	decisions []Decision
	companies map[string][]int32 // nil: SH01 on partition 0
	partial   []*record.Record
}

func (h *fakeHistory) Companies(context.Context, map[string][]int) (map[string][]int32, error) {
	if h.companies != nil {
		return h.companies, nil
	}
	return map[string][]int32{"SH01": {0}}, nil
}
func (h *fakeHistory) Records(_ context.Context, _ string, f func(*record.Record), restart func()) error {
	if h.partial != nil {
		for _, r := range h.partial {
			f(r)
		}
		restart()
	}
	for _, r := range h.recs {
		f(r)
	}
	return nil
}
func (h *fakeHistory) Decisions(context.Context, string) ([]Decision, error) { return h.decisions, nil }

// TestStageDecisionsWaitForTheRebuiltHistory: after an assignment the
// company's history is rebuilt but held behind the watermark; a decision
// on one of its matches waits for it and applies once it is matched, and a
// decision on a match that never comes becomes a review_refused exception.
func TestStageDecisionsWaitForTheRebuiltHistory(t *testing.T) {
	day := record.MakeDate(2025, 3, 1).Time()
	h := &fakeHistory{recs: []*record.Record{arInvoice("INV-1", 100000, day), creditLine("L1", "", 100000, day.Add(3600e9))}}
	s, err := NewStage(StageOptions{Topics: []string{"inv", "bank"}, History: h, ReviewsTopic: "reviews", MatchesTopic: "matches",
		Assignment: func() (int64, map[string][]int) { return 1, map[string][]int{"inv": {0}, "bank": {0}} }})
	if err != nil {
		t.Fatal(err)
	}
	// The line pays INV-1 by payer and amount; its match id is derived.
	want := matchID(Match{Line: "SH01/bank/L1", Parts: []Part{{record.KindInvoice, "erp", "INV-1", record.Money{Minor: 100000, Currency: cny}}}})
	note := func(id string) []byte {
		return DecisionNote{Company: "SH01", MatchID: id, Action: ActionUnmatch, By: "clerk", Reason: "wrong invoice",
			DecidedAt: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}.Encode()
	}
	b := &pipeline.Batch{Messages: []pipeline.Message{{Topic: "reviews", Value: note(want), Epoch: 1},
		{Topic: "reviews", Offset: 1, Value: note("no-such-match"), Epoch: 1}}}
	if err := s.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	// Both wait, recorded (under their matches) so a crash cannot lose them,
	// and count as landed (b.Applied).
	if len(b.Dead) != 0 || rowsOf(b, ReviewsTable) != 2 || rowsOf(b, MatchesTable) != 0 || b.Applied != 2 {
		t.Fatalf("while the history is held: %d dead, %d review rows, %d line rows; want 0, 2, 0",
			len(b.Dead), rowsOf(b, ReviewsTable), rowsOf(b, MatchesTable))
	}
	fin := &pipeline.Batch{Final: true}
	if err := s.Process(context.Background(), fin); err != nil {
		t.Fatal(err)
	}
	if rowsOf(fin, ReviewsTable) != 1 {
		t.Errorf("%d review rows, want the unmatch applied", rowsOf(fin, ReviewsTable))
	}
	refused := 0
	for _, v := range tableRows(fin, ExceptionsTable) {
		if v[2] == ExcReviewRefused && v[5] == "no-such-match" {
			refused++
		}
	}
	if refused != 1 {
		t.Errorf("%d review_refused exceptions for the unknown match, want 1", refused)
	}
	// The replayed confirmation of L1 goes out again (at least once: the
	// live run may never have sent it), then what the reversal made of it.
	if len(fin.Notes) != 2 || !strings.Contains(string(fin.Notes[0].Value), `"outcome":"confirmed"`) ||
		!strings.Contains(string(fin.Notes[1].Value), `"decided_by":"clerk"`) {
		t.Errorf("notes %d: %s", len(fin.Notes), fin.Notes)
	}
}

// TestStageRebuildAppliesDecisionsWhereTheyWere: live, a clerk accepted
// L1's proposal of INV-A (one of two equal invoices) on day 10, and L3 on
// day 12 then found only INV-B. A rebuild must apply the accept before L3
// again, not once L1's match appears (which would leave L3 ambiguous).
func TestStageRebuildAppliesDecisionsWhereTheyWere(t *testing.T) {
	day := record.MakeDate(2025, 3, 1).Time()
	invA, invB := arInvoice("INV-A", 50000, day), arInvoice("INV-B", 50000, day)
	l1, l3 := creditLine("L1", "", 50000, day.AddDate(0, 0, 2)), creditLine("L3", "", 50000, day.AddDate(0, 0, 12))
	// L1's proposal: the first of the equal invoices, by due date then arrival.
	proposal := matchID(Match{Line: "SH01/bank/L1", Outcome: Review, Parts: []Part{{record.KindInvoice, "erp", "INV-A", record.Money{Minor: 50000, Currency: cny}}}})
	accept := Decision{MatchID: proposal, Action: ActionAccept, By: "clerk", At: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC),
		After: day.AddDate(0, 0, 10)}
	h := &fakeHistory{recs: []*record.Record{invA, invB, l1, l3}, decisions: []Decision{accept}}
	s, err := NewStage(StageOptions{Topics: []string{"inv", "bank"}, History: h, ReviewsTopic: "reviews",
		Assignment: func() (int64, map[string][]int) { return 1, map[string][]int{"inv": {0}, "bank": {0}} }})
	if err != nil {
		t.Fatal(err)
	}
	// The decision's message comes again too (its offset was not committed
	// before the crash): it must not apply a second time, nor earlier.
	again := DecisionNote{Company: "SH01", MatchID: accept.MatchID, Action: accept.Action, By: accept.By, DecidedAt: accept.At}
	b := &pipeline.Batch{Messages: []pipeline.Message{{Topic: "reviews", Value: again.Encode(), Epoch: 1}}}
	if err := s.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if len(b.Dead) != 0 || rowsOf(b, ReviewsTable) != 0 {
		t.Fatalf("the decision read again: %d dead, %d review rows", len(b.Dead), rowsOf(b, ReviewsTable))
	}
	fin := &pipeline.Batch{Final: true}
	if err := s.Process(context.Background(), fin); err != nil {
		t.Fatal(err)
	}
	final := map[string]string{}
	for _, v := range tableRows(fin, MatchesTable) {
		final[v[1].(string)] = v[8].(string)
	}
	if final["SH01/bank/L1"] != string(Accepted) || final["SH01/bank/L3"] != string(Confirmed) {
		t.Errorf("after the rebuild: %v; want L1 accepted and L3 confirmed", final)
	}
}

// TestStageNotesEachPartitionsEndAndNewest: messages come in runs from
// one partition; the stage notes a partition as read to its end from the
// last message of its last run, and its newest record from all of them.
func TestStageNotesEachPartitionsEndAndNewest(t *testing.T) {
	s, err := NewStage(StageOptions{Topics: []string{"inv", "bank"}})
	if err != nil {
		t.Fatal(err)
	}
	day := record.MakeDate(2025, 3, 1).Time()
	b := &pipeline.Batch{}
	for i, m := range []struct {
		topic      string
		offset, hw int64
		r          *record.Record
	}{
		{"bank", 0, 10, creditLine("L1", "", 100, day.AddDate(0, 0, 2))},
		{"inv", 0, 3, arInvoice("INV-1", 100, day.AddDate(0, 0, 1))},
		{"bank", 1, 10, creditLine("L2", "", 100, day.AddDate(0, 0, 4))},
		{"bank", 2, 10, creditLine("L3", "", 100, day.AddDate(0, 0, 3))},
		{"inv", 1, 3, arInvoice("INV-2", 100, day.AddDate(0, 0, 3))},
		{"inv", 2, 3, arInvoice("INV-3", 100, day.AddDate(0, 0, 5))},
	} {
		b.Messages = append(b.Messages, pipeline.Message{Topic: m.topic, Offset: m.offset, HighWater: m.hw, Epoch: 1})
		b.Items = append(b.Items, pipeline.Item{Rec: *m.r, Msg: i})
	}
	if err := s.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	inv, bank := topicPart{"inv", 0}, topicPart{"bank", 0}
	if !s.atEnd[inv] || s.atEnd[bank] {
		t.Errorf("at end: inv %v (want true), bank %v (want false)", s.atEnd[inv], s.atEnd[bank])
	}
	if got, want := s.newest[inv], day.AddDate(0, 0, 5); !got.Equal(want) {
		t.Errorf("newest inv record %v, want %v", got, want)
	}
	if got, want := s.newest[bank], day.AddDate(0, 0, 4); !got.Equal(want) {
		t.Errorf("newest bank record %v, want %v", got, want)
	}
}

// TestStageNotesAreKeptAtTheirSize: a note waits in its batch until it is
// published, so it is held in a slice of about its own size, not in the
// buffer it was written in; and each note is its own, not a view of a
// buffer the next note overwrites.
func TestStageNotesAreKeptAtTheirSize(t *testing.T) {
	s, err := NewStage(StageOptions{Topics: []string{"inv", "bank"}, MatchesTopic: "matches", ExceptionsTopic: "exceptions"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	day := record.MakeDate(2025, 3, 1).Time()
	b := stageBatch(true, topicRec{"inv", arInvoice("INV-1", 100000, day)}, topicRec{"inv", arInvoice("INV-2", 50000, day)},
		topicRec{"bank", creditLine("L1", "INV-1", 100000, day.AddDate(0, 0, 2))},
		topicRec{"bank", creditLine("L2", "INV-2", 50000, day.AddDate(0, 0, 3))})
	if err := s.Process(ctx, b); err != nil {
		t.Fatal(err)
	}
	fin := &pipeline.Batch{Final: true}
	if err := s.Process(ctx, fin); err != nil {
		t.Fatal(err)
	}
	notes := append(b.Notes, fin.Notes...)
	if len(notes) < 2 {
		t.Fatalf("%d notes, want the two matches at least", len(notes))
	}
	seen := map[string]bool{}
	for _, n := range notes {
		if c, l := cap(n.Value), len(n.Value); c > l+l/8+16 {
			t.Errorf("a %d-byte note to %s is held in %d bytes", l, n.Topic, c)
		}
		var v map[string]any
		if err := json.Unmarshal(n.Value, &v); err != nil {
			t.Fatalf("note %q: %v", n.Value, err)
		}
		seen[string(n.Value)] = true
	}
	if len(seen) != len(notes) {
		t.Errorf("%d notes but %d different ones: notes share a buffer", len(notes), len(seen))
	}
}

// TestMatchingOrder: records are matched by event time, documents before
// the bank lines of the same instant, then by kind, source, id and
// version; the order never depends on arrival, and a record is never
// before itself.
func TestMatchingOrder(t *testing.T) {
	t0 := time.Date(2025, 4, 16, 9, 0, 0, 0, time.UTC)
	rec := func(k record.Kind, at time.Time, source, id string, v uint64) *heldRecord {
		return &heldRecord{Kind: k, Source: source, ID: id, Version: v, EventTime: at}
	}
	// Each is before every one after it.
	want := []*heldRecord{
		rec(record.KindBankTxn, t0.Add(-time.Second), "bank", "L-9", 1),
		rec(record.KindInvoice, t0, "erp", "INV-2", 1),
		rec(record.KindPayment, t0, "erp", "PAY-1", 1),
		rec(record.KindApproval, t0, "a", "AP-1", 1),
		rec(record.KindApproval, t0, "b", "AP-1", 1),
		rec(record.KindApproval, t0, "b", "AP-2", 1),
		rec(record.KindApproval, t0, "b", "AP-2", 2),
		rec(record.KindBankTxn, t0, "bank", "L-1", 1),
		rec(record.KindInvoice, t0.Add(time.Nanosecond), "erp", "INV-1", 1),
	}
	// Kinds compare by their number: the list above must agree with it.
	if !(record.KindInvoice < record.KindPayment && record.KindPayment < record.KindApproval) {
		t.Fatalf("kind numbers changed: invoice %d, payment %d, approval %d", record.KindInvoice, record.KindPayment, record.KindApproval)
	}
	for i, a := range want {
		if before(a, a) {
			t.Errorf("%d is before itself", i)
		}
		for j := i + 1; j < len(want); j++ {
			if !before(a, want[j]) || before(want[j], a) {
				t.Errorf("%d (%v %s/%s v%d) should come before %d (%v %s/%s v%d)", i, a.Kind, a.Source, a.ID, a.Version,
					j, want[j].Kind, want[j].Source, want[j].ID, want[j].Version)
			}
		}
	}
	// A queue sorts any arrival into that order.
	q := &queue{}
	for _, i := range []int{8, 3, 0, 7, 5, 1, 6, 4, 2} {
		q.add(want[i])
	}
	q.order()
	for i, r := range q.sorted {
		if r != want[i] {
			t.Errorf("position %d: %v %s/%s v%d", i, r.Kind, r.Source, r.ID, r.Version)
		}
	}
}

// partRec is a record on a topic partition; end says its message is the
// last there is on that partition.
type partRec struct {
	topic string
	part  int32
	r     *record.Record
	end   bool
}

// partBatch builds a batch of records, each its own message.
func partBatch(recs ...partRec) *pipeline.Batch {
	b := &pipeline.Batch{}
	for i, x := range recs {
		m := pipeline.Message{Topic: x.topic, Partition: x.part, Offset: int64(i), HighWater: 1000, Epoch: 1}
		if x.end {
			m.HighWater = int64(i) + 1
		}
		b.Messages = append(b.Messages, m)
		b.Items = append(b.Items, pipeline.Item{Rec: *x.r, Msg: i})
	}
	return b
}

// TestStageWaitsForEveryPartitionOfACompany: a producer that keys by
// something other than the company sends one of its invoices to another
// partition. The company's records wait for the oldest watermark of both
// partitions, not that of the one its records came through first or last,
// and the gauge counts the company until a new assignment.
func TestStageWaitsForEveryPartitionOfACompany(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := NewStage(StageOptions{Topics: []string{"inv", "bank"}, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	day := record.MakeDate(2025, 3, 1).Time()
	// Partition 1 brings INV-2 (and INV-4 a day later) first; partition 0
	// brings INV-1 and a line paying both, and its topics are at days 30
	// and 26: partition 0 alone would let everything before day 26 go.
	b1 := partBatch(
		partRec{"inv", 1, arInvoice("INV-2", 50000, day.AddDate(0, 0, 5)), false},
		partRec{"inv", 1, arInvoice("INV-4", 333300, day.AddDate(0, 0, 6)), false},
		partRec{"inv", 0, arInvoice("INV-1", 100000, day), false},
		partRec{"inv", 0, arInvoice("INV-9", 10000, day.AddDate(0, 0, 30)), false},
		partRec{"bank", 0, creditLine("L1", "INV-1 INV-2", 150000, day.AddDate(0, 0, 20)), false},
		partRec{"bank", 0, creditLine("L9", "", 1000, day.AddDate(0, 0, 25)), false},
		partRec{"bank", 0, creditLine("L26", "", 1000, day.AddDate(0, 0, 26)), false},
	)
	if err := s.Process(ctx, b1); err != nil {
		t.Fatal(err)
	}
	if n := rowsOf(b1, OpenItemsTable) + rowsOf(b1, MatchesTable); n != 0 {
		t.Fatalf("%d rows while partition 1's bank topic has brought nothing", n)
	}
	if g := gauges(t, reg, "erpflow_match_split_companies"); len(g) != 1 || g[0].value != 1 {
		t.Errorf("split companies gauge %v, want 1", g)
	}
	// Partition 1's bank topic is empty and read to its end: partition 1's
	// watermark is its invoices' newest, day 6. INV-1 and INV-2 go; the
	// line of day 20 still waits.
	b2 := partBatch(partRec{"bank", 1, creditLine("X1", "", 1, day.AddDate(0, 0, 4)), true})
	b2.Items[0].Rec.Company = "BJ02" // another company's line ends partition 1's bank topic
	if err := s.Process(ctx, b2); err != nil {
		t.Fatal(err)
	}
	if got := companyRows(b2, MatchesTable, "SH01"); len(got) != 0 {
		t.Fatalf("lines matched past partition 1's watermark: %v", got)
	}
	if got := companyRows(b2, OpenItemsTable, "SH01"); len(got) != 2 {
		t.Fatalf("open-item rows %v, want INV-1 and INV-2", got)
	}
	// Partition 1 is read to its end: it holds nothing back, and partition
	// 0 (day 26) decides. L1 pays both invoices and L9 goes unmatched; INV-9
	// (day 30) still waits, which it would not behind partition 1 alone.
	b3 := partBatch(partRec{"inv", 1, arInvoice("INV-3", 70000, day.AddDate(0, 0, 22)), true})
	if err := s.Process(ctx, b3); err != nil {
		t.Fatal(err)
	}
	lines := map[any]any{}
	for _, v := range companyRows(b3, MatchesTable, "SH01") {
		lines[v[1]] = v[8]
	}
	want := map[any]any{"SH01/bank/L1": string(Confirmed), "SH01/bank/L9": string(Unmatched)}
	if fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Errorf("matches once both partitions passed day 25: %v, want %v", lines, want)
	}
	for _, v := range companyRows(b3, OpenItemsTable, "SH01") {
		if v[3] == "INV-9" {
			t.Errorf("INV-9 (day 30) released while partition 0 is at day 25")
		}
	}
	s.reset()
	if len(s.split)+len(s.spread) != 0 {
		t.Errorf("a new assignment keeps the old spread: %v, %v", s.split, s.spread)
	}
	if g := gauges(t, reg, "erpflow_match_split_companies"); len(g) != 1 || g[0].value != 0 {
		t.Errorf("split companies gauge after a new assignment %v, want 0", g)
	}
}

// TestStageRebuildForgetsARestartedRead: a history read that failed part
// way and was read again leaves the stage as one clean read does. The
// failed read's records (here a different invoice for the same money,
// which would take the line) must be forgotten, not matched.
func TestStageRebuildForgetsARestartedRead(t *testing.T) {
	day := record.MakeDate(2025, 3, 1).Time()
	inv, line := arInvoice("INV-1", 100000, day), creditLine("L1", "", 100000, day.AddDate(0, 0, 1))
	run := func(partial []*record.Record) [][]any {
		h := &fakeHistory{recs: []*record.Record{inv, line}, partial: partial}
		s, err := NewStage(StageOptions{Topics: []string{"inv", "bank"}, History: h,
			Assignment: func() (int64, map[string][]int) { return 1, map[string][]int{"inv": {0}, "bank": {0}} }})
		if err != nil {
			t.Fatal(err)
		}
		b := &pipeline.Batch{Final: true}
		if err := s.Process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		return tableRows(b, MatchesTable)
	}
	clean := run(nil)
	if len(clean) != 1 || clean[0][8] != string(Confirmed) {
		t.Fatalf("one clean read: matches %v, want L1 confirmed", clean)
	}
	got := run([]*record.Record{arInvoice("INV-0", 100000, day), inv})
	if !reflect.DeepEqual(got, clean) {
		t.Errorf("after a restarted read: matches %v, want %v", got, clean)
	}
}

// TestStageRebuildWaitsForEveryPartitionOfACompany: what landed says the
// company's records came through partitions 0 and 1 of this member's and 3
// of another's. Its rebuilt history waits for both of this member's before
// any record of it comes again, and the gauge counts it.
func TestStageRebuildWaitsForEveryPartitionOfACompany(t *testing.T) {
	reg := prometheus.NewRegistry()
	day := record.MakeDate(2025, 3, 1).Time()
	h := &fakeHistory{recs: []*record.Record{arInvoice("INV-1", 100000, day), creditLine("L1", "INV-1", 100000, day.AddDate(0, 0, 1))},
		companies: map[string][]int32{"SH01": {0, 1, 3}}}
	parts := map[string][]int{"inv": {0, 1}, "bank": {0, 1}}
	s, err := NewStage(StageOptions{Topics: []string{"inv", "bank"}, History: h, Registerer: reg,
		Assignment: func() (int64, map[string][]int) { return 1, parts }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	other := func(r *record.Record) *record.Record { r.Company = "BJ02"; return r }
	// Partition 0 runs to day 30 on both topics; partition 1 brings nothing.
	b1 := partBatch(partRec{"inv", 0, other(arInvoice("B-1", 100, day.AddDate(0, 0, 30))), false},
		partRec{"bank", 0, other(creditLine("B-L", "", 100, day.AddDate(0, 0, 30))), false})
	if err := s.Process(ctx, b1); err != nil {
		t.Fatal(err)
	}
	if got := companyRows(b1, MatchesTable, "SH01"); len(got) != 0 {
		t.Fatalf("the rebuilt history went behind partition 0 alone: %v", got)
	}
	if !slices.Equal(s.split["SH01"], []int32{1}) || s.part["SH01"] != 0 {
		t.Errorf("SH01 on partition %d and %v, want 0 and [1] (3 is another member's)", s.part["SH01"], s.split["SH01"])
	}
	if g := gauges(t, reg, "erpflow_match_split_companies"); len(g) != 1 || g[0].value != 1 {
		t.Errorf("split companies gauge %v, want 1", g)
	}
	// Partition 1 is read to its end on both topics: L1 matches.
	b2 := partBatch(partRec{"inv", 1, other(arInvoice("B-2", 100, day)), true},
		partRec{"bank", 1, other(creditLine("B-M", "", 100, day)), true})
	if err := s.Process(ctx, b2); err != nil {
		t.Fatal(err)
	}
	if got := companyRows(b2, MatchesTable, "SH01"); len(got) != 1 || got[0][8] != string(Confirmed) {
		t.Errorf("SH01's matches once both partitions passed: %v, want L1 confirmed", got)
	}
}

// companyRows are the rows of table t in b that are company's.
func companyRows(b *pipeline.Batch, t *pipeline.Table, company string) [][]any {
	var out [][]any
	for _, v := range tableRows(b, t) {
		if v[0] == company {
			out = append(out, v)
		}
	}
	return out
}

// TestStageOnePartitionIsNoSpread: a company that landed through one
// partition, even one not assigned on every input topic, is not counted
// as spread.
func TestStageOnePartitionIsNoSpread(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := &fakeHistory{companies: map[string][]int32{"SH01": {5}, "BJ02": {0}}}
	s, err := NewStage(StageOptions{Topics: []string{"inv", "bank"}, History: h, Registerer: reg,
		Assignment: func() (int64, map[string][]int) {
			return 1, map[string][]int{"inv": {0, 5}, "bank": {0}}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Process(context.Background(), &pipeline.Batch{}); err != nil {
		t.Fatal(err)
	}
	if g := gauges(t, reg, "erpflow_match_split_companies"); len(g) != 1 || g[0].value != 0 {
		t.Errorf("split companies gauge %v, want 0", g)
	}
	if s.part["SH01"] != 5 || s.part["BJ02"] != 0 || len(s.split) != 0 {
		t.Errorf("partitions %v and %v, want SH01 on 5, BJ02 on 0, none split", s.part, s.split)
	}
}

// TestStageWaitsOnlyForPartitionsItCan: a configured input topic that does
// not exist (a raw source not in use) does not stop the stage from waiting
// for a spread company's partitions; a partition some existing topic lacks
// is counted, never waited for, since it would hold the company back for
// good.
func TestStageWaitsOnlyForPartitionsItCan(t *testing.T) {
	for _, c := range []struct {
		name      string
		parts     map[string][]int
		second    int32
		wantSplit []int32
	}{
		{"a topic missing", map[string][]int{"inv": {0, 1}, "bank": {0, 1}}, 0, []int32{0}},
		{"a partition one topic lacks", map[string][]int{"inv": {0, 1, 5}, "bank": {0, 1}, "raw.unused": nil}, 5, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			s, err := NewStage(StageOptions{Topics: []string{"inv", "bank", "raw.unused"}, Registerer: reg,
				Assignment: func() (int64, map[string][]int) { return 1, c.parts }})
			if err != nil {
				t.Fatal(err)
			}
			day := record.MakeDate(2025, 3, 1).Time()
			b := partBatch(partRec{"inv", 1, arInvoice("INV-1", 100, day), false},
				partRec{"inv", c.second, arInvoice("INV-2", 100, day), false})
			if err := s.Process(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.split["SH01"], c.wantSplit) {
				t.Errorf("waits also for %v, want %v", s.split["SH01"], c.wantSplit)
			}
			if g := gauges(t, reg, "erpflow_match_split_companies"); len(g) != 1 || g[0].value != 1 {
				t.Errorf("split companies gauge %v, want 1", g)
			}
		})
	}
}

// counted sums a counter family over its label sets.
func counted(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// TestStageReplayIsNotCountedAgain: a rebuild replays a company's history,
// whose matches, exceptions and decisions the run that first made them
// counted. The stage's counters take only what is new since (a restart
// would otherwise add the whole history to them, and a rolling deploy
// re-raise every alert on them), while the replay's rows still land.
func TestStageReplayIsNotCountedAgain(t *testing.T) {
	reg := prometheus.NewRegistry()
	day := record.MakeDate(2025, 3, 1).Time()
	// L1 pays INV-1 by its reference; L2 pays nothing open (unmatched).
	h := &fakeHistory{recs: []*record.Record{arInvoice("INV-1", 100000, day), creditLine("L1", "INV-1", 100000, day.AddDate(0, 0, 1)),
		creditLine("L2", "", 777, day.AddDate(0, 0, 2))}}
	s, err := NewStage(StageOptions{Topics: []string{"inv", "bank"}, History: h, Registerer: reg,
		Assignment: func() (int64, map[string][]int) { return 1, map[string][]int{"inv": {0}, "bank": {0}} }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Live: INV-2 and the line paying it, both topics read to their ends.
	b := partBatch(partRec{"inv", 0, arInvoice("INV-2", 5000, day.AddDate(0, 0, 3)), true},
		partRec{"bank", 0, creditLine("L3", "INV-2", 5000, day.AddDate(0, 0, 4)), true})
	if err := s.Process(ctx, b); err != nil {
		t.Fatal(err)
	}
	fin := &pipeline.Batch{Final: true}
	if err := s.Process(ctx, fin); err != nil {
		t.Fatal(err)
	}
	lines := map[string]string{}
	for _, bb := range []*pipeline.Batch{b, fin} {
		for _, v := range tableRows(bb, MatchesTable) {
			lines[v[1].(string)] = v[8].(string)
		}
	}
	if lines["SH01/bank/L1"] != string(Confirmed) || lines["SH01/bank/L3"] != string(Confirmed) || lines["SH01/bank/L2"] == "" {
		t.Fatalf("line rows %v: want the replay's L1 and L2 to land again and L3 confirmed", lines)
	}
	if n := counted(t, reg, "erpflow_match_lines_total"); n != 1 {
		t.Errorf("erpflow_match_lines_total %v, want 1 (L3; L1 and L2 were counted when first matched)", n)
	}
	if n := counted(t, reg, "erpflow_match_rebuilt_records_total"); n != 3 {
		t.Errorf("erpflow_match_rebuilt_records_total %v, want the 3 replayed records", n)
	}
}

// TestStageSubSecondTimesMatchAsRebuilt: ClickHouse keeps event times in
// whole seconds, so a rebuild sees two lines of the same second as equal
// in time. Live, their fractions must not decide which of them pays the
// one invoice both could: the live run and one from the stored times give
// the same lines the same outcomes and versions.
func TestStageSubSecondTimesMatchAsRebuilt(t *testing.T) {
	day := record.MakeDate(2025, 3, 1).Time()
	at := day.Add(26 * time.Hour)
	run := func(l9, l10 time.Time) map[string]string {
		s, err := NewStage(StageOptions{Topics: []string{"inv", "bank"}})
		if err != nil {
			t.Fatal(err)
		}
		b := partBatch(partRec{"inv", 0, arInvoice("INV-1", 100000, day), true},
			partRec{"bank", 0, creditLine("L9", "", 100000, l9), false},
			partRec{"bank", 0, creditLine("L10", "", 100000, l10), true})
		b.Final = true
		if err := s.Process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, v := range tableRows(b, MatchesTable) {
			out[v[1].(string)] = fmt.Sprint(v[8], "@", v[len(v)-1])
		}
		return out
	}
	live := run(at.Add(300*time.Millisecond), at.Add(700*time.Millisecond))
	stored := run(at, at)
	if !maps.Equal(live, stored) {
		t.Errorf("live %v, from stored times %v", live, stored)
	}
	// The same across batches: L9 and the invoice in one, L10 of the same
	// second in the next. L9's second must not be released before L10
	// could come.
	twoBatches := func(l9, l10 time.Time) map[string]string {
		s, err := NewStage(StageOptions{Topics: []string{"inv", "bank"}})
		if err != nil {
			t.Fatal(err)
		}
		b1 := partBatch(partRec{"inv", 0, arInvoice("INV-1", 100000, day), true},
			partRec{"bank", 0, creditLine("L9", "", 100000, l9), false})
		b2 := partBatch(partRec{"bank", 0, creditLine("L10", "", 100000, l10), true})
		b2.Messages[0].Offset = 1
		b2.Final = true
		out := map[string]string{}
		for _, b := range []*pipeline.Batch{b1, b2} {
			if err := s.Process(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			for _, v := range tableRows(b, MatchesTable) {
				out[v[1].(string)] = fmt.Sprint(v[8], "@", v[len(v)-1])
			}
		}
		return out
	}
	// A rebuild reads them all at once (stored, above); live, in two
	// batches, with fractions of the second or without, must agree.
	for _, c := range []struct{ l9, l10 time.Duration }{{0, 0}, {300 * time.Millisecond, 700 * time.Millisecond}} {
		if live := twoBatches(at.Add(c.l9), at.Add(c.l10)); !maps.Equal(live, stored) {
			t.Errorf("across batches (L9 at +%v, L10 at +%v): live %v, rebuilt %v", c.l9, c.l10, live, stored)
		}
	}
}

// TestStageHoldsNoShipments: shipments count towards their topic's
// watermark like any record, but the stage does not hold them (the
// reconciler reports nothing of them), while an invoice of the same
// batch waits for the shipments topic to pass it.
func TestStageHoldsNoShipments(t *testing.T) {
	s, err := NewStage(StageOptions{Topics: []string{"inv", "ship"}, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	day := record.MakeDate(2025, 3, 1).Time()
	ship := &record.Record{Envelope: record.Envelope{Kind: record.KindShipment, Company: "SH01", Source: "wms", ID: "SH-1", Version: 1, EventTime: day},
		Body: &record.Shipment{Number: "SH-1", OrderRef: "SO-1", ShipDate: record.DateOf(day), Status: "shipped"}}
	b := stageBatch(false, topicRec{"ship", ship}, topicRec{"inv", arInvoice("INV-1", 100000, day.AddDate(0, 0, 2))})
	if err := s.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	held := 0
	for _, q := range s.held {
		held += q.len()
		for _, h := range append(q.sorted, q.fresh...) {
			if h.Kind == record.KindShipment {
				t.Errorf("a shipment is held: %s", h.ID)
			}
		}
	}
	if held != 1 {
		t.Errorf("%d records held, want the invoice, waiting for the shipments topic (day 1) to pass day 3", held)
	}
}
