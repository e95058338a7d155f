package clean

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
)

// fr is one record for the flag stage: company and source default to SH01
// and erp, version to 1.
type fr struct {
	id      string
	version uint64
	body    record.Body
	company string
	source  string
}

func flagDay(d int) record.Date { return record.MakeDate(2025, time.April, 1) + record.Date(d-1) }

func fenCNY(minor int64) record.Money { return record.Money{Minor: minor, Currency: tCNY} }

func apInv(supplier string, total int64, d int, ref string) *record.Invoice {
	return &record.Invoice{Number: "N", Direction: "AP", Party: record.Party{ID: supplier},
		IssueDate: flagDay(d), DueDate: flagDay(d + 30), Total: fenCNY(total), Status: "open", OrderRef: ref}
}

func flagClaim(emp string, amount int64, d int, typ, desc string) *record.ExpenseClaim {
	return &record.ExpenseClaim{Number: "C", Employee: record.Party{ID: emp}, Amount: fenCNY(amount),
		ClaimDate: flagDay(d), ExpenseType: typ, Description: desc, ApprovalStatus: "approved"}
}

func payOut(supplier string, amount int64, d int) *record.Payment {
	return &record.Payment{Number: "P", Direction: "out", Party: record.Party{ID: supplier},
		Amount: fenCNY(amount), Method: "bank_transfer", ValueDate: flagDay(d), Status: "executed"}
}

// flagWith returns a changed copy of a body.
func flagWith[T any](b *T, f func(*T)) *T {
	c := *b
	f(&c)
	return &c
}

func flagBatchOf(seq uint64, rs ...fr) *pipeline.Batch {
	b := &pipeline.Batch{Seq: seq}
	for i, r := range rs {
		if r.company == "" {
			r.company = "SH01"
		}
		if r.source == "" {
			r.source = "erp"
		}
		if r.version == 0 {
			r.version = 1
		}
		b.Messages = append(b.Messages, pipeline.Message{Offset: int64(i)})
		b.Items = append(b.Items, pipeline.Item{Msg: i, Rec: record.Record{Envelope: record.Envelope{
			Kind: r.body.Kind(), Company: r.company, Source: r.source, ID: r.id, Version: r.version}, Body: r.body}})
	}
	return b
}

// flagLog records what the stage set, in call order.
type flagLog struct {
	ids   []string
	flags []Flags
}

func (l *flagLog) set(it *pipeline.Item, f Flags) {
	l.ids = append(l.ids, it.Rec.ID)
	l.flags = append(l.flags, f)
}

// runFlagBatch processes one batch, checks the stage kept every item in
// order and dead-lettered nothing, and returns the flags of its items.
func runFlagBatch(t testing.TB, s *FlagStage, log *flagLog, b *pipeline.Batch) []Flags {
	t.Helper()
	before := slices.Clone(b.Items)
	from := len(log.flags)
	if err := s.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if len(b.Items) != len(before) || len(b.Dead) != 0 || len(b.Duplicates) != 0 {
		t.Fatalf("batch %d: %d items, %d dead, %d duplicates; want %d, 0, 0", b.Seq, len(b.Items), len(b.Dead), len(b.Duplicates), len(before))
	}
	for i := range b.Items {
		if b.Items[i].Rec.ID != before[i].Rec.ID || b.Items[i].Msg != before[i].Msg {
			t.Fatalf("batch %d: item %d changed", b.Seq, i)
		}
	}
	if got := len(log.flags) - from; got != len(b.Items) {
		t.Fatalf("batch %d: Set called %d times for %d items", b.Seq, got, len(b.Items))
	}
	return log.flags[from:]
}

func TestFlagNearDuplicates(t *testing.T) {
	inv := apInv("S1", 123450, 16, "PO-9")
	cl := flagClaim("E7", 8800, 16, "taxi", "Taxi to airport")
	pay := payOut("S1", 500000, 10)
	type step []struct {
		r    fr
		want string // DuplicateOf
	}
	cases := []struct {
		name  string
		opt   FlagOptions
		steps []step
	}{
		{"AP invoice entered twice", FlagOptions{}, []step{
			{{fr{id: "INV-1", body: inv}, ""}},
			{{fr{id: "INV-2", body: apInv("S1", 123450, 16, "PO-9")}, "INV-1"}}}},
		{"twice in one batch", FlagOptions{}, []step{
			{{fr{id: "INV-1", body: inv}, ""}, {fr{id: "INV-2", body: inv}, "INV-1"}}}},
		{"newer version of the same id", FlagOptions{}, []step{
			{{fr{id: "INV-1", body: inv}, ""}},
			{{fr{id: "INV-1", version: 2, body: flagWith(inv, func(i *record.Invoice) { i.Status = "paid" })}, ""}},
			{{fr{id: "INV-1", version: 3, body: inv}, ""}, {fr{id: "INV-1", version: 4, body: inv}, ""}}}},
		{"only the later one, whatever versions follow", FlagOptions{}, []step{
			{{fr{id: "INV-1", body: inv}, ""}, {fr{id: "INV-2", body: inv}, "INV-1"}},
			{{fr{id: "INV-1", version: 2, body: inv}, ""}, {fr{id: "INV-2", version: 2, body: inv}, "INV-1"}},
			{{fr{id: "INV-1", version: 1, body: inv}, ""}}}}, // an old re-send
		{"three copies name the first", FlagOptions{}, []step{
			{{fr{id: "A", body: inv}, ""}, {fr{id: "B", body: inv}, "A"}},
			{{fr{id: "C", body: inv}, "A"}}}},
		{"different suppliers", FlagOptions{}, []step{
			{{fr{id: "INV-1", body: inv}, ""}, {fr{id: "INV-2", body: apInv("S2", 123450, 16, "PO-9")}, ""}}}},
		{"other amount, date, reference, currency or direction", FlagOptions{}, []step{
			{{fr{id: "INV-1", body: inv}, ""},
				{fr{id: "INV-2", body: apInv("S1", 123451, 16, "PO-9")}, ""},
				{fr{id: "INV-3", body: apInv("S1", 123450, 17, "PO-9")}, ""},
				{fr{id: "INV-4", body: apInv("S1", 123450, 16, "PO-8")}, ""},
				{fr{id: "INV-5", body: flagWith(inv, func(i *record.Invoice) { i.Total.Currency = tUSD })}, ""},
				{fr{id: "INV-6", body: flagWith(inv, func(i *record.Invoice) { i.Direction = "AR" })}, ""}}}},
		{"lines and number do not matter", FlagOptions{}, []step{
			{{fr{id: "INV-1", body: inv}, ""},
				{fr{id: "INV-2", body: flagWith(inv, func(i *record.Invoice) {
					i.Number = "N-2"
					i.Lines = []record.Line{{SKU: "X", Amount: fenCNY(123450)}}
				})}, "INV-1"}}}},
		{"other company or source", FlagOptions{}, []step{
			{{fr{id: "INV-1", body: inv}, ""}, {fr{id: "INV-2", body: inv, company: "BJ02"}, ""},
				{fr{id: "INV-3", body: inv, source: "sap"}, ""}, {fr{id: "INV-4", body: inv, source: "sap"}, "INV-3"}}}},
		{"supplier named, not numbered", FlagOptions{}, []step{
			{{fr{id: "INV-1", body: flagWith(inv, func(i *record.Invoice) { i.Party = record.Party{Name: "上海华东贸易有限公司"} })}, ""},
				{fr{id: "INV-2", body: flagWith(inv, func(i *record.Invoice) { i.Party = record.Party{Name: "上海华东贸易"} })}, "INV-1"},
				{fr{id: "INV-3", body: flagWith(inv, func(i *record.Invoice) { i.Party = record.Party{} })}, ""},
				{fr{id: "INV-4", body: flagWith(inv, func(i *record.Invoice) { i.Party = record.Party{} })}, ""}}}},
		{"cancelled documents", FlagOptions{}, []step{
			{{fr{id: "INV-1", body: flagWith(inv, func(i *record.Invoice) { i.Status = "cancelled" })}, ""},
				{fr{id: "INV-2", body: inv}, ""}, // re-issued after a cancel
				{fr{id: "INV-3", body: flagWith(inv, func(i *record.Invoice) { i.Status = "cancelled" })}, ""},
				{fr{id: "INV-2", version: 2, body: flagWith(inv, func(i *record.Invoice) { i.Status = "cancelled" })}, ""},
				{fr{id: "INV-4", body: inv}, ""}}}}, // INV-2 is no reference once cancelled
		{"zero amounts", FlagOptions{}, []step{
			{{fr{id: "INV-1", body: apInv("S1", 0, 16, "")}, ""}, {fr{id: "INV-2", body: apInv("S1", 0, 16, "")}, ""}}}},
		{"a corrected amount moves the reference", FlagOptions{}, []step{
			{{fr{id: "INV-1", body: apInv("S1", 100, 16, "")}, ""}},
			{{fr{id: "INV-1", version: 2, body: apInv("S1", 200, 16, "")}, ""}},
			{{fr{id: "INV-2", body: apInv("S1", 100, 16, "")}, ""}, {fr{id: "INV-3", body: apInv("S1", 200, 16, "")}, "INV-1"}}}},

		{"expense claim filed twice", FlagOptions{}, []step{
			{{fr{id: "BX-1", body: cl}, ""}},
			{{fr{id: "BX-2", body: flagClaim("E7", 8800, 16, "Taxi", "  taxi TO  airport ")}, "BX-1"}}}},
		{"claims that differ", FlagOptions{}, []step{
			{{fr{id: "BX-1", body: cl}, ""},
				{fr{id: "BX-2", body: flagClaim("E8", 8800, 16, "taxi", "Taxi to airport")}, ""},
				{fr{id: "BX-3", body: flagClaim("E7", 8800, 17, "taxi", "Taxi to airport")}, ""},
				{fr{id: "BX-4", body: flagClaim("E7", 8800, 16, "meals", "Taxi to airport")}, ""},
				{fr{id: "BX-5", body: flagClaim("E7", 8800, 16, "taxi", "Taxi to hotel")}, ""},
				{fr{id: "BX-6", body: flagClaim("E7", 8900, 16, "taxi", "Taxi to airport")}, ""}}}},
		{"rejected claim filed again", FlagOptions{}, []step{
			{{fr{id: "BX-1", body: flagWith(cl, func(c *record.ExpenseClaim) { c.ApprovalStatus = "rejected" })}, ""},
				{fr{id: "BX-2", body: cl}, ""}}}},

		{"payment made twice on near dates", FlagOptions{}, []step{
			{{fr{id: "PAY-1", body: pay}, ""}},
			{{fr{id: "PAY-2", body: payOut("S1", 500000, 12)}, "PAY-1"}, {fr{id: "PAY-3", body: payOut("S1", 500000, 7)}, "PAY-1"}}}},
		{"payments far apart", FlagOptions{}, []step{
			{{fr{id: "PAY-1", body: pay}, ""}, {fr{id: "PAY-2", body: payOut("S1", 500000, 14)}, ""},
				{fr{id: "PAY-3", body: payOut("S1", 500000, 6)}, ""}}}},
		{"payments of other suppliers, amounts or directions", FlagOptions{}, []step{
			{{fr{id: "PAY-1", body: pay}, ""}, {fr{id: "PAY-2", body: payOut("S2", 500000, 10)}, ""},
				{fr{id: "PAY-3", body: payOut("S1", 500001, 10)}, ""},
				{fr{id: "PAY-4", body: flagWith(pay, func(p *record.Payment) { p.Direction = "in" })}, ""},
				{fr{id: "PAY-5", body: flagWith(pay, func(p *record.Payment) { p.Status = "returned" })}, ""}}}},
		{"payment days configured", FlagOptions{PaymentDays: 5}, []step{
			{{fr{id: "PAY-1", body: pay}, ""}, {fr{id: "PAY-2", body: payOut("S1", 500000, 15)}, "PAY-1"},
				{fr{id: "PAY-3", body: payOut("S1", 500000, 16)}, "PAY-2"}}}},
		{"payments on the same day only", FlagOptions{PaymentDays: -1}, []step{
			{{fr{id: "PAY-1", body: pay}, ""}, {fr{id: "PAY-2", body: payOut("S1", 500000, 11)}, ""},
				{fr{id: "PAY-3", body: payOut("S1", 500000, 10)}, "PAY-1"}}}},
		{"kinds never compared across", FlagOptions{}, []step{
			{{fr{id: "X", body: payOut("S1", 123450, 16)}, ""}, {fr{id: "Y", body: inv}, ""}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			log := &flagLog{}
			c.opt.Set = log.set
			s := NewFlagStage(c.opt)
			for i, st := range c.steps {
				rs := make([]fr, len(st))
				for j := range st {
					rs[j] = st[j].r
				}
				b := flagBatchOf(uint64(i), rs...)
				got := runFlagBatch(t, s, log, b)
				for j := range st {
					if got[j].DuplicateOf != st[j].want {
						t.Errorf("step %d, %s v%d: DuplicateOf %q, want %q", i, b.Items[j].Rec.ID, b.Items[j].Rec.Version, got[j].DuplicateOf, st[j].want)
					}
				}
				s.Acked(b)
			}
		})
	}
}

func TestDuplicateCandidate(t *testing.T) {
	for k, want := range map[record.Kind]string{record.KindInvoice: DuplicateInvoice,
		record.KindExpenseClaim: DuplicateClaim, record.KindPayment: DuplicatePayment, record.KindBankTxn: ""} {
		if got := DuplicateCandidate(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
}

// A record that a later stage takes out of its batch never lands and is no
// reference once the batch is acknowledged; one that landed stays one.
func TestFlagAckedForgetsWhatDidNotLand(t *testing.T) {
	log := &flagLog{}
	s := NewFlagStage(FlagOptions{Set: log.set})
	inv := apInv("S1", 123450, 16, "PO-9")
	b := flagBatchOf(1, fr{id: "INV-1", body: inv}, fr{id: "INV-X", body: apInv("S9", 1, 1, "")})
	runFlagBatch(t, s, log, b)
	b.Items = b.Items[1:] // a later stage dead-lettered INV-1
	s.Acked(b)
	if f := runFlagBatch(t, s, log, flagBatchOf(2, fr{id: "INV-2", body: inv})); f[0].DuplicateOf != "" {
		t.Fatalf("INV-2 named %q, which never landed", f[0].DuplicateOf)
	}
	b = flagBatchOf(3, fr{id: "INV-3", body: inv})
	if f := runFlagBatch(t, s, log, b); f[0].DuplicateOf != "INV-2" {
		t.Fatalf("INV-3: %q, want INV-2", f[0].DuplicateOf)
	}
	s.Acked(flagBatchOf(2, fr{id: "INV-2", body: inv}))
	s.Acked(b)
	if f := runFlagBatch(t, s, log, flagBatchOf(4, fr{id: "INV-4", body: inv})); f[0].DuplicateOf != "INV-2" {
		t.Fatalf("INV-4: %q, want INV-2", f[0].DuplicateOf)
	}
	if len(s.pending) != 1 {
		t.Fatalf("%d batches pending, want 1", len(s.pending))
	}
}

// A refused version gives its id back to the version before it, which
// landed: a copy of that one is still flagged, and the id's next version
// is still the earlier document, never a copy of its copy. Whether the two
// versions came in one batch or two, and whatever order the refusals of
// versions in flight come in.
func TestFlagAckedRestoresTheVersionBefore(t *testing.T) {
	a1 := apInv("S1", 123450, 16, "PO-9")
	a2 := flagWith(a1, func(i *record.Invoice) { i.Total.Minor = 999 })
	other := fr{id: "Z", body: apInv("S9", 5, 1, "")}
	refuse := func(b *pipeline.Batch, version uint64) {
		b.Keep(func(it *pipeline.Item) bool { return it.Rec.ID != "A" || it.Rec.Version != version })
	}
	check := func(t *testing.T, s *FlagStage, log *flagLog, seq uint64) {
		t.Helper()
		f := runFlagBatch(t, s, log, flagBatchOf(seq, fr{id: "B", body: a1}, fr{id: "A", version: 3, body: a1}))
		if f[0].DuplicateOf != "A" || f[1].DuplicateOf != "" {
			t.Fatalf("B→%q (want A: A version 1 landed), A version 3→%q (want none)", f[0].DuplicateOf, f[1].DuplicateOf)
		}
	}
	// landed is a stage where A version 1 has landed.
	landed := func(t *testing.T) (*FlagStage, *flagLog) {
		log := &flagLog{}
		s := NewFlagStage(FlagOptions{Set: log.set})
		b0 := flagBatchOf(0, fr{id: "A", body: a1})
		runFlagBatch(t, s, log, b0)
		s.Acked(b0)
		return s, log
	}
	t.Run("two batches", func(t *testing.T) {
		s, log := landed(t)
		b1 := flagBatchOf(1, fr{id: "A", version: 2, body: a2}, other)
		runFlagBatch(t, s, log, b1)
		refuse(b1, 2)
		s.Acked(b1)
		check(t, s, log, 2)
	})
	t.Run("one batch", func(t *testing.T) {
		log := &flagLog{}
		s := NewFlagStage(FlagOptions{Set: log.set})
		b0 := flagBatchOf(0, fr{id: "A", body: a1}, fr{id: "A", version: 2, body: a2}, other)
		runFlagBatch(t, s, log, b0)
		refuse(b0, 2)
		s.Acked(b0)
		check(t, s, log, 1)
	})
	t.Run("the older refused first", func(t *testing.T) {
		// Version 1 landed; versions 2 and 3 in flight are both refused,
		// 2 while 3 already holds the id.
		s, log := landed(t)
		b1 := flagBatchOf(1, fr{id: "A", version: 2, body: a2}, other)
		b2 := flagBatchOf(2, fr{id: "A", version: 3, body: a2}, other)
		runFlagBatch(t, s, log, b1)
		runFlagBatch(t, s, log, b2)
		refuse(b1, 2)
		s.Acked(b1)
		refuse(b2, 3)
		s.Acked(b2)
		check(t, s, log, 3)
	})
}

// newAmountAlike holds that a new 100.00 of S2 is not an outlier, live and
// after a restart alike.
func newAmountAlike(t *testing.T, live, restarted *FlagStage, log *flagLog) {
	t.Helper()
	n := fr{id: "N", body: apInv("S2", 10000, 20, "")}
	l := runFlagBatch(t, live, log, flagBatchOf(100, n))[0]
	r := runFlagBatch(t, restarted, log, flagBatchOf(0, n))[0]
	if l != r || l.Outlier {
		t.Fatalf("N live %+v, after a restart %+v; want both not outliers", l, r)
	}
}

// A message read again (its batch landed, the commit was lost) is judged
// as the first time: its own amount, already in its party's history, is
// left out of the judgement, as is an earlier version's for a new one.
func TestFlagReadAgainJudgedAsBefore(t *testing.T) {
	log := &flagLog{}
	s := NewFlagStage(FlagOptions{Set: log.set})
	var rs []fr
	for i := range 7 {
		rs = append(rs, fr{id: fmt.Sprint("H", i), body: apInv("S2", 1000, i+1, "")})
	}
	runFlagBatch(t, s, log, flagBatchOf(0, rs...))
	x := fr{id: "X", body: apInv("S2", 50000, 9, "")}
	first := runFlagBatch(t, s, log, flagBatchOf(1, x))[0]
	again := runFlagBatch(t, s, log, flagBatchOf(2, x))[0]
	if first != again {
		t.Fatalf("X the first time %+v, read again %+v", first, again)
	}
	runFlagBatch(t, s, log, flagBatchOf(3, fr{id: "H7", body: apInv("S2", 1000, 8, "")}))
	x2 := fr{id: "X", version: 2, body: apInv("S2", 50000, 9, "")}
	if f := runFlagBatch(t, s, log, flagBatchOf(4, x2))[0]; !f.Outlier {
		t.Fatalf("X version 2 %+v: 50000 against eight amounts of 1000 is an outlier", f)
	}
}

// A party's history holds each id's latest amount, as a restart preloads
// it: eight drafts of 1.00 corrected to 100.00 make 100.00 normal, live
// and after a restart alike.
func TestFlagHistoryKeepsLatestAmounts(t *testing.T) {
	log := &flagLog{}
	live := NewFlagStage(FlagOptions{Set: log.set})
	restarted := NewFlagStage(FlagOptions{Set: log.set})
	for i := range 8 {
		id := fmt.Sprint("H", i)
		runFlagBatch(t, live, log, flagBatchOf(uint64(2*i), fr{id: id, body: apInv("S2", 100, i+1, "")}))
		v2 := fr{id: id, version: 2, body: apInv("S2", 10000, i+1, "")}
		runFlagBatch(t, live, log, flagBatchOf(uint64(2*i+1), v2))
		restarted.Preload(&flagBatchOf(0, v2).Items[0].Rec)
	}
	newAmountAlike(t, live, restarted, log)
}

// A new assignment generation may have moved companies to or from this
// member, and what another member landed meanwhile is not in its memory:
// once the batches before it have landed, the stage starts over from what
// Reload gives (ClickHouse's rows, in the job).
func TestFlagReloadOnNewAssignment(t *testing.T) {
	a := apInv("S1", 123450, 16, "PO-9")
	c := apInv("S2", 5000, 3, "PO-1")
	reloads := 0
	log := &flagLog{}
	s := NewFlagStage(FlagOptions{Set: log.set, Reload: func(ctx context.Context, f func(*record.Record)) error {
		reloads++
		// Another member landed C; A, landed here, is there too.
		f(&flagBatchOf(0, fr{id: "A", body: a}).Items[0].Rec)
		f(&flagBatchOf(0, fr{id: "C", body: c}).Items[0].Rec)
		return nil
	}})
	epoch := func(b *pipeline.Batch, e int64) *pipeline.Batch {
		for i := range b.Messages {
			b.Messages[i].Epoch = e
		}
		return b
	}
	// The first generation loads too: another member (the instance this
	// one replaces, say) may have landed records up to the assignment.
	b0 := epoch(flagBatchOf(0, fr{id: "A", body: a}, fr{id: "D0", body: c}), 1)
	if f := runFlagBatch(t, s, log, b0); reloads != 1 || f[1].DuplicateOf != "C" {
		t.Fatalf("%d reloads at the first generation, D0→%q; want 1 and C, from the reload", reloads, f[1].DuplicateOf)
	}
	b1 := epoch(flagBatchOf(1, fr{id: "X", body: apInv("S3", 700, 2, "")}), 1)
	runFlagBatch(t, s, log, b1)
	if reloads != 1 {
		t.Fatalf("%d reloads in the first generation", reloads)
	}
	// Generation 2: Process waits for b0 and b1 to land.
	b2 := epoch(flagBatchOf(2, fr{id: "D", body: c}, fr{id: "B", body: a}, fr{id: "Y", body: apInv("S3", 700, 2, "")}), 2)
	done := make(chan []Flags)
	go func() { done <- runFlagBatch(t, s, log, b2) }()
	for !s.WaitingForAcks() {
		select {
		case f := <-done:
			t.Fatalf("generation 2's first batch went through before the batches before it landed: %+v", f)
		default:
			runtime.Gosched()
		}
	}
	s.Acked(b0)
	s.Acked(b1)
	f := <-done
	if reloads != 2 || f[0].DuplicateOf != "C" || f[1].DuplicateOf != "A" || f[2].DuplicateOf != "" {
		t.Fatalf("%d reloads; D→%q (want C, from the reload), B→%q (want A), Y→%q (want none: the reload is what counts, and it left X out)",
			reloads, f[0].DuplicateOf, f[1].DuplicateOf, f[2].DuplicateOf)
	}
}

// Dedupe lets an older version through while a newer one is in flight,
// so that it lands if the newer one does not: then the id falls back to
// it, not to the version that landed before both.
func TestFlagOlderVersionInFlightIsTheFallback(t *testing.T) {
	v1, v2, v3 := apInv("S1", 1000, 1, "PO-1"), apInv("S1", 2000, 2, "PO-2"), apInv("S1", 3000, 3, "PO-3")
	for _, refuseV2 := range []bool{false, true} {
		log := &flagLog{}
		s := NewFlagStage(FlagOptions{Set: log.set})
		b0 := flagBatchOf(0, fr{id: "A", body: v1})
		runFlagBatch(t, s, log, b0)
		s.Acked(b0)
		b1 := flagBatchOf(1, fr{id: "A", version: 3, body: v3})
		b2 := flagBatchOf(2, fr{id: "A", version: 2, body: v2})
		runFlagBatch(t, s, log, b1)
		runFlagBatch(t, s, log, b2)
		b1.Keep(func(*pipeline.Item) bool { return false }) // version 3 refused
		s.Acked(b1)
		if refuseV2 {
			b2.Keep(func(*pipeline.Item) bool { return false })
		}
		s.Acked(b2)
		want := map[bool][2]string{false: {"A", ""}, true: {"", "A"}}[refuseV2] // the copy of what landed is flagged
		f := runFlagBatch(t, s, log, flagBatchOf(3, fr{id: "B", body: v2}, fr{id: "C", body: v1}))
		if f[0].DuplicateOf != want[0] || f[1].DuplicateOf != want[1] {
			t.Errorf("version 2 refused %v: B (a copy of version 2)→%q, C (a copy of version 1)→%q; want %q, %q",
				refuseV2, f[0].DuplicateOf, f[1].DuplicateOf, want[0], want[1])
		}
	}
}

// The same with the two versions in one batch, both refused: the id goes
// back to the version that landed before both.
func TestFlagOlderVersionInTheSameBatchBothRefused(t *testing.T) {
	v1, v2, v3 := apInv("S1", 1000, 1, "PO-1"), apInv("S1", 2000, 2, "PO-2"), apInv("S1", 3000, 3, "PO-3")
	log := &flagLog{}
	s := NewFlagStage(FlagOptions{Set: log.set})
	b0 := flagBatchOf(0, fr{id: "A", body: v1})
	runFlagBatch(t, s, log, b0)
	s.Acked(b0)
	b1 := flagBatchOf(1, fr{id: "A", version: 3, body: v3}, fr{id: "A", version: 2, body: v2})
	runFlagBatch(t, s, log, b1)
	b1.Keep(func(*pipeline.Item) bool { return false })
	s.Acked(b1)
	f := runFlagBatch(t, s, log, flagBatchOf(2, fr{id: "B", body: v2}, fr{id: "C", body: v1}))
	if f[0].DuplicateOf != "" || f[1].DuplicateOf != "A" {
		t.Fatalf("B (a copy of the refused version 2)→%q, C (a copy of version 1, landed)→%q; want none and A", f[0].DuplicateOf, f[1].DuplicateOf)
	}
}

// BenchmarkFlagOlderVersions: a batch of 20,000 older versions (read again
// after a restart, their newer versions landed) with 80,000 documents in
// flight. Finding an older version's newer one in flight is a lookup, not
// a scan of the documents in flight (3.1 s a batch when it was).
func BenchmarkFlagOlderVersions(b *testing.B) {
	const n = 20_000
	inv := func(id string, version uint64, i int) fr {
		return fr{id: id, version: version, body: apInv(fmt.Sprint("S", i%50), int64(1000+i), i%28+1, "")}
	}
	for range b.N {
		b.StopTimer()
		s := NewFlagStage(FlagOptions{Window: 1 << 20})
		for i := range n {
			s.Preload(&flagBatchOf(0, inv(fmt.Sprint("O", i), 2, i)).Items[0].Rec)
		}
		for k := range 4 {
			rs := make([]fr, n)
			for i := range rs {
				rs[i] = inv(fmt.Sprint("F", k, "-", i), 1, i)
			}
			s.Process(context.Background(), flagBatchOf(uint64(k), rs...))
		}
		rs := make([]fr, n)
		for i := range rs {
			rs[i] = inv(fmt.Sprint("O", i), 1, i)
		}
		older := flagBatchOf(4, rs...)
		b.StartTimer()
		s.Process(context.Background(), older)
	}
}

// An older version coming after a newer one does not take the id's place
// in its party's history: the table keeps the newer, and a restart
// preloads it.
func TestFlagOlderVersionLeavesTheHistory(t *testing.T) {
	log := &flagLog{}
	live := NewFlagStage(FlagOptions{Set: log.set})
	restarted := NewFlagStage(FlagOptions{Set: log.set})
	for i := range 8 {
		id := fmt.Sprint("H", i)
		v3 := fr{id: id, version: 3, body: apInv("S2", 10000, i+1, "")}
		runFlagBatch(t, live, log, flagBatchOf(uint64(2*i), v3))
		runFlagBatch(t, live, log, flagBatchOf(uint64(2*i+1), fr{id: id, version: 2, body: apInv("S2", 100, i+1, "")}))
		restarted.Preload(&flagBatchOf(0, v3).Items[0].Rec)
	}
	newAmountAlike(t, live, restarted, log)
}

func TestFlagPreload(t *testing.T) {
	log := &flagLog{}
	s := NewFlagStage(FlagOptions{Set: log.set})
	s.Preload(&flagBatchOf(0, fr{id: "INV-1", body: apInv("S1", 123450, 16, "PO-9")}).Items[0].Rec)
	for i := range 8 {
		s.Preload(&flagBatchOf(0, fr{id: fmt.Sprint("H", i), body: apInv("S2", 1000, i+1, "")}).Items[0].Rec)
	}
	f := runFlagBatch(t, s, log, flagBatchOf(1, fr{id: "INV-2", body: apInv("S1", 123450, 16, "PO-9")},
		fr{id: "X", body: apInv("S2", 50000, 1, "PO-1")}))
	if f[0].DuplicateOf != "INV-1" || !f[1].Outlier || len(s.pending) != 1 {
		t.Fatalf("flags %+v, %d pending: the preloaded records are no references", f, len(s.pending))
	}
}

// Without Acked the pending list stays bounded.
func TestFlagPendingBounded(t *testing.T) {
	s := NewFlagStage(FlagOptions{}) // no Set: a no-op
	for i := range maxPendingBatches + 10 {
		s.Process(context.Background(), flagBatchOf(uint64(i), fr{id: fmt.Sprint(i), body: apInv("S1", 1, 1, "")}))
	}
	if len(s.pending) != maxPendingBatches {
		t.Fatalf("%d pending batches, want %d", len(s.pending), maxPendingBatches)
	}
}

func TestFlagWindow(t *testing.T) {
	log := &flagLog{}
	s := NewFlagStage(FlagOptions{Set: log.set, Window: 2})
	doc := func(id, sup string) fr { return fr{id: id, body: apInv(sup, 1000, 1, "")} }
	var got []string
	for i, r := range []fr{doc("A", "S1"), doc("B", "S2"), doc("C", "S3"), // C pushes A out
		doc("D", "S1"), // so D is no duplicate of A
		doc("E", "S3"), // but E is one of C
	} {
		b := flagBatchOf(uint64(i), r)
		got = append(got, runFlagBatch(t, s, log, b)[0].DuplicateOf)
		s.Acked(b)
		c := s.companies["SH01"]
		if c.docs.len() > 2 || len(c.byFP) > 2 {
			t.Fatalf("after %s: %d documents, %d fingerprints; window is 2", r.id, c.docs.len(), len(c.byFP))
		}
	}
	if want := []string{"", "", "", "", "C"}; !slices.Equal(got, want) {
		t.Fatalf("flags %q, want %q", got, want)
	}

	// A new version keeps an id in the window: the least recently seen goes.
	s = NewFlagStage(FlagOptions{Set: log.set, Window: 2})
	got = got[:0]
	for i, r := range []fr{doc("A", "S1"), doc("B", "S2"), {id: "A", version: 2, body: apInv("S1", 1000, 1, "")},
		doc("C", "S3"), doc("D", "S1"), doc("E", "S2")} {
		got = append(got, runFlagBatch(t, s, log, flagBatchOf(uint64(i), r))[0].DuplicateOf)
	}
	if want := []string{"", "", "", "", "A", ""}; !slices.Equal(got, want) {
		t.Fatalf("flags %q, want %q", got, want)
	}
}

func TestFlagSeriesBounded(t *testing.T) {
	log := &flagLog{}
	s := NewFlagStage(FlagOptions{Set: log.set, Series: 3, History: 10})
	for i := range 200 {
		b := flagBatchOf(uint64(i), fr{id: fmt.Sprint(i), body: apInv(fmt.Sprint("S", i%(5-2*(i/100))), int64(1000+i), 1, "")})
		runFlagBatch(t, s, log, b) // 5 suppliers, then 3
		s.Acked(b)
	}
	c := s.companies["SH01"]
	if c.series.len() != 3 {
		t.Fatalf("%d series, want 3", c.series.len())
	}
	for _, a := range seriesOf(s, "SH01") {
		if len(a.ring) != 10 || len(a.sorted) != 10 || cap(a.ring) > 10 || cap(a.sorted) > 10 {
			t.Fatalf("history %d/%d (cap %d/%d), want 10", len(a.ring), len(a.sorted), cap(a.ring), cap(a.sorted))
		}
		if !slices.IsSorted(a.sorted) {
			t.Fatal("history not sorted")
		}
		ring := slices.Clone(a.ring)
		slices.Sort(ring)
		if !slices.Equal(ring, a.sorted) {
			t.Fatalf("sorted %v is not the ring %v", a.sorted, a.ring)
		}
	}
}

func TestFlagOutliers(t *testing.T) {
	// Median 1,015.00 and MAD 55.00, so the spread is 1.4826·55 = 81.54.
	varied := []int64{100000, 112000, 95000, 104000, 99000, 108000, 91000, 103000, 97000, 110000}
	flat := slices.Repeat([]int64{100000}, 10)
	cases := []struct {
		name    string
		opt     FlagOptions
		history []int64
		x       int64
		outlier bool
		score   int32
	}{
		// 100·(50,750.00 − 1,015.00) / 81.54 = 60,992.3
		{"50x a varied history", FlagOptions{}, varied, 5075000, true, 60992},
		// 100·(1,050.00 − 1,015.00) / 81.54 = 42.9
		{"a normal amount", FlagOptions{}, varied, 105000, false, 42},
		// 100·(1,015.00 − 650.00) / 81.54 = 447.6
		{"low but within 5 spreads", FlagOptions{}, varied, 65000, false, 447},
		{"low beyond 4", FlagOptions{K: 4}, varied, 65000, true, 447},
		{"too short a history", FlagOptions{}, varied[:7], 5075000, false, 0},
		{"min history configured", FlagOptions{MinHistory: 5}, varied[:7], 5075000, true, 67111},
		// MAD 0: the spread is MinSpread·median = 20.00, so 10% away is the edge.
		{"flat: 50x", FlagOptions{}, flat, 5000000, true, 245000},
		{"flat: exactly 10% above", FlagOptions{}, flat, 110000, false, 500},
		{"flat: a cent beyond 10%", FlagOptions{}, flat, 110001, true, 500},
		{"flat: a cent beyond 10% below", FlagOptions{}, flat, 89999, true, 500},
		{"flat: same amount", FlagOptions{}, flat, 100000, false, 0},
		{"flat: MinSpread 10%", FlagOptions{MinSpread: 0.1}, flat, 140000, false, 400},
		// More than half equal: MAD is 0 though the rest vary.
		{"mostly flat", FlagOptions{}, append(slices.Repeat([]int64{100000}, 6), 1000, 900000, 50000), 112000, true, 600},
		// The spread floor also holds when MAD is small but not 0.
		{"nearly flat", FlagOptions{}, []int64{100000, 100001, 99999, 100002, 99998, 100000, 100001, 99999}, 100500, false, 25},
		{"credit notes are apart", FlagOptions{}, varied, -5075000, false, 0},
		{"large amounts", FlagOptions{}, []int64{1e16, 1e16 + 4e14, 1e16 - 4e14, 1e16 + 2e14, 1e16 - 2e14, 1e16, 1e16 + 1e14, 1e16 - 1e14}, 5e17, true, 220333},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			log := &flagLog{}
			c.opt.Set = log.set
			s := NewFlagStage(c.opt)
			var rs []fr
			for i, a := range c.history {
				rs = append(rs, fr{id: fmt.Sprint("H", i), body: apInv("S1", a, i%28+1, "")})
			}
			runFlagBatch(t, s, log, flagBatchOf(1, rs...))
			f := runFlagBatch(t, s, log, flagBatchOf(2, fr{id: "X", body: apInv("S1", c.x, 1, "PO-X")}))[0]
			if f.Outlier != c.outlier || f.OutlierScore != c.score {
				t.Fatalf("outlier %v score %d, want %v %d", f.Outlier, f.OutlierScore, c.outlier, c.score)
			}
		})
	}
}

// seriesOf lists a company's histories, newest first.
func seriesOf(s *FlagStage, company string) []*amountSeries {
	l := &s.companies[company].series
	var out []*amountSeries
	for i := l.slots[0].next; i != 0; i = l.slots[i].next {
		out = append(out, l.at(i))
	}
	if len(out) != l.len() {
		panic("series list and map disagree")
	}
	return out
}

// Each party, kind, direction, currency and source has its own history;
// a new version is judged but not counted twice.
func TestFlagOutlierSeries(t *testing.T) {
	log := &flagLog{}
	s := NewFlagStage(FlagOptions{Set: log.set})
	var rs []fr
	for i := range 8 {
		rs = append(rs, fr{id: fmt.Sprint("H", i), body: apInv("S1", 100000, i+1, "")})
	}
	runFlagBatch(t, s, log, flagBatchOf(1, rs...))
	for i := range rs {
		rs[i].version = 2 // the same ids again: still 8 amounts, not 16
	}
	runFlagBatch(t, s, log, flagBatchOf(2, rs...))
	big := int64(5000000)
	probes := []struct {
		r    fr
		want bool
	}{
		{fr{id: "X1", body: apInv("S2", big, 1, "")}, false},
		{fr{id: "X2", body: flagWith(apInv("S1", big, 1, ""), func(i *record.Invoice) { i.Direction = "AR" })}, false},
		{fr{id: "X3", body: flagWith(apInv("S1", big, 1, ""), func(i *record.Invoice) { i.Total.Currency = tUSD })}, false},
		{fr{id: "X4", body: apInv("S1", big, 1, ""), source: "sap"}, false},
		{fr{id: "X5", body: apInv("S1", big, 1, ""), company: "BJ02"}, false},
		{fr{id: "X6", body: payOut("S1", big, 1)}, false},
		{fr{id: "X7", body: apInv("S1", big, 1, "")}, true},
	}
	for i, p := range probes {
		f := runFlagBatch(t, s, log, flagBatchOf(uint64(3+i), p.r))[0]
		if f.Outlier != p.want {
			t.Errorf("%s: outlier %v, want %v", p.r.id, f.Outlier, p.want)
		}
	}
	for _, a := range seriesOf(s, "SH01") {
		if len(a.sorted) == 9 && a.sorted[8] == big {
			return // S1's AP CNY history: 8 amounts and X7
		}
	}
	t.Fatal("S1's history does not hold 8 amounts and X7")
}

// Claims are judged per employee and expense type; bank lines, sales and
// purchase orders are judged too, and the other kinds get zero flags.
func TestFlagOutlierKinds(t *testing.T) {
	mk := []func(amount int64) record.Body{
		func(a int64) record.Body { return flagClaim("E1", a, 1, "taxi", "x") },
		func(a int64) record.Body {
			return &record.BankTxn{Direction: "debit", Amount: fenCNY(a), Counterparty: record.Party{Name: "ACME Trading Co., Ltd."}}
		},
		func(a int64) record.Body {
			return &record.SalesOrder{Customer: record.Party{ID: "C1"}, Total: fenCNY(a)}
		},
		func(a int64) record.Body {
			return &record.PurchaseOrder{Supplier: record.Party{ID: "S1"}, Total: fenCNY(a)}
		},
	}
	for _, m := range mk {
		log := &flagLog{}
		s := NewFlagStage(FlagOptions{Set: log.set})
		var rs []fr
		for i := range 8 {
			rs = append(rs, fr{id: fmt.Sprint(i), body: m(10000 + int64(i))})
		}
		rs = append(rs, fr{id: "X", body: m(500000)})
		if f := runFlagBatch(t, s, log, flagBatchOf(1, rs...)); !f[8].Outlier {
			t.Errorf("%T: 50x not flagged", rs[0].body)
		}
	}
	log := &flagLog{}
	s := NewFlagStage(FlagOptions{Set: log.set})
	b := flagBatchOf(1, fr{id: "1", body: &record.Shipment{}}, fr{id: "2", body: &record.Approval{}})
	b.Items = append(b.Items, pipeline.Item{Rec: record.Record{Envelope: record.Envelope{Kind: record.KindInvoice}}}) // no body
	for _, f := range runFlagBatch(t, s, log, b) {
		if f != (Flags{}) {
			t.Errorf("flags %+v, want none", f)
		}
	}
}

// refJudge is the textbook computation in float64, for comparison.
func refJudge(hist []int64, x int64, k, minSpread float64) (bool, float64) {
	a := make([]float64, len(hist))
	for i, v := range hist {
		a[i] = float64(v)
	}
	med := func(v []float64) float64 {
		slices.Sort(v)
		n := len(v)
		return (v[(n-1)/2] + v[n/2]) / 2
	}
	m := med(a)
	for i := range a {
		a[i] = math.Abs(a[i] - m)
	}
	s := max(1.4826*med(a), minSpread*math.Abs(m))
	d := math.Abs(float64(x) - m)
	return d > k*s, 100 * d / s
}

// The history against a plain model: each id's amount of its newest
// version (the latest of equals), ids kept in the order they first came,
// the oldest pushed out once size are held.
func TestAmountSeriesKeepsLatestAmountPerID(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		size := 1 + rng.IntN(8)
		var a amountSeries
		var order []uint64
		amount := map[uint64]int64{}
		version := map[uint64]uint64{}
		for range rng.IntN(40) {
			id, x, v := uint64(1+rng.IntN(12)), rng.Int64N(21)-10, uint64(1+rng.IntN(3))
			a.add(x, id, v, a.at(id), size)
			if _, ok := amount[id]; !ok {
				order = append(order, id)
				if len(order) > size {
					delete(amount, order[0])
					delete(version, order[0])
					order = order[1:]
				}
			}
			if v >= version[id] { // an older version's amount does not replace a newer one's
				amount[id], version[id] = x, v
			}
			var want []int64
			for _, v := range amount {
				want = append(want, v)
			}
			slices.Sort(want)
			if !slices.Equal(a.sorted, want) || len(a.ring) != len(want) {
				t.Fatalf("size %d after %d→%d: sorted %v ring %v, want %v", size, id, x, a.sorted, a.ring, want)
			}
		}
	}
}

func TestFlagOutlierMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := &NewFlagStage(FlagOptions{}).cfg
	var scratch []int64
	for range 20000 {
		n := 8 + rng.IntN(43)
		scale := int64(1) << rng.IntN(40)
		base := 1 + rng.Int64N(scale)
		var a amountSeries
		var hist []int64
		for range n {
			v := base + rng.Int64N(base/4+1)
			if rng.IntN(4) == 0 {
				v = base // ties, MAD 0 at times
			}
			hist = append(hist, v)
			a.add(v, uint64(len(hist)), 1, -1, 50)
		}
		x := base + rng.Int64N(3*base+1)
		out, score := a.judge(x, -1, cfg, &scratch)
		wantOut, wantScore := refJudge(hist, x, 5, 0.02)
		if math.Abs(wantScore-500) > 1e-6 && out != wantOut {
			t.Fatalf("history %v, x %d: outlier %v, want %v (score %.4f)", hist, x, out, wantOut, wantScore)
		}
		if math.Abs(float64(score)-math.Min(wantScore, math.MaxInt32)) > 1 {
			t.Fatalf("history %v, x %d: score %d, want %.2f", hist, x, score, wantScore)
		}
		// Judged as the k-th id of the history, its own amount is left out.
		k := rng.IntN(n)
		out, score = a.judge(x, a.at(uint64(k+1)), cfg, &scratch)
		others := slices.Delete(slices.Clone(hist), k, k+1)
		switch wantOut, wantScore := refJudge(others, x, 5, 0.02); {
		case len(others) < cfg.minHistory:
			if out || score != 0 {
				t.Fatalf("history %v less %d, x %d: %v %d with too short a history", hist, hist[k], x, out, score)
			}
		case math.Abs(wantScore-500) > 1e-6 && out != wantOut,
			math.Abs(float64(score)-math.Min(wantScore, math.MaxInt32)) > 1:
			t.Fatalf("history %v less %d, x %d: %v %d, want %v %.2f", hist, hist[k], x, out, score, wantOut, wantScore)
		}
	}
}

// flagStream is a deterministic mix of kinds with planted duplicates,
// re-versions and outliers.
func flagStream(n int) []fr {
	rng := rand.New(rand.NewPCG(7, 9))
	var out []fr
	for i := 0; len(out) < n; i++ {
		sup := fmt.Sprint("S", rng.IntN(40))
		amt := int64(10000 * (1 + rng.IntN(20)))
		if rng.IntN(50) == 0 {
			amt *= 60
		}
		var body record.Body
		switch rng.IntN(3) {
		case 0:
			body = apInv(sup, amt, 1+rng.IntN(60), fmt.Sprint("PO-", rng.IntN(30)))
		case 1:
			body = payOut(sup, amt, 1+rng.IntN(60))
		default:
			body = flagClaim(fmt.Sprint("E", rng.IntN(10)), amt/100, 1+rng.IntN(60), "taxi", "trip")
		}
		company := []string{"SH01", "BJ02"}[rng.IntN(2)]
		r := fr{id: fmt.Sprint("D", i), body: body, company: company}
		out = append(out, r)
		switch rng.IntN(10) {
		case 0: // the same document under another id
			out = append(out, fr{id: fmt.Sprint("D", i, "b"), body: body, company: company})
		case 1: // a newer version
			r.version = 2
			out = append(out, r)
		}
	}
	return out[:n]
}

// The same input order gives the same flags, whatever the batch sizes and
// whenever the acknowledgements arrive (here from another goroutine).
func TestFlagDeterministic(t *testing.T) {
	stream := flagStream(6000)
	run := func(size int, ackLag int) []Flags {
		log := &flagLog{}
		s := NewFlagStage(FlagOptions{Set: log.set, Window: 1500, Series: 50})
		acks := make(chan *pipeline.Batch, 1000)
		var wg sync.WaitGroup
		wg.Go(func() {
			for b := range acks {
				s.Acked(b)
			}
		})
		var inFlight []*pipeline.Batch
		for i := 0; i < len(stream); i += size {
			b := flagBatchOf(uint64(i/size), stream[i:min(i+size, len(stream))]...)
			runFlagBatch(t, s, log, b)
			inFlight = append(inFlight, b)
			if len(inFlight) > ackLag {
				acks <- inFlight[0]
				inFlight = inFlight[1:]
			}
		}
		for _, b := range inFlight {
			acks <- b
		}
		close(acks)
		wg.Wait()
		return log.flags
	}
	want := run(100, 0)
	var dups, outliers int
	for _, f := range want {
		if f.DuplicateOf != "" {
			dups++
		}
		if f.Outlier {
			outliers++
		}
	}
	if dups < 100 || outliers < 20 {
		t.Fatalf("only %d duplicates and %d outliers flagged: the stream tests little", dups, outliers)
	}
	for _, r := range []struct{ size, lag int }{{100, 0}, {100, 5}, {37, 3}, {1000, 1}, {1, 50}} {
		if got := run(r.size, r.lag); !slices.Equal(got, want) {
			t.Errorf("batches of %d, acks %d behind: flags differ", r.size, r.lag)
		}
	}
}

// BenchmarkFlagStage measures the stage alone (ns/op is per record) on a
// mix of invoices, payments and claims of 2,000 parties, a tenth of them
// planted duplicates: batches of 10,000 are built before the timer starts.
func BenchmarkFlagStage(b *testing.B) {
	const size = 10000
	rng := rand.New(rand.NewPCG(3, 4))
	batches := make([]*pipeline.Batch, 0, b.N/size+1)
	for i := 0; i < b.N; i += size {
		rs := make([]fr, size)
		for j := range rs {
			sup := fmt.Sprint("SUP-", rng.IntN(2000))
			amt := int64(1000 * (1 + rng.IntN(500)))
			var body record.Body
			switch j % 3 {
			case 0:
				body = apInv(sup, amt, 1+rng.IntN(300), fmt.Sprint("PO-", rng.IntN(5000)))
			case 1:
				body = payOut(sup, amt, 1+rng.IntN(300))
			default:
				body = flagClaim(sup, amt, 1+rng.IntN(300), "差旅费", "出差北京 高铁票")
			}
			id := fmt.Sprint("DOC-", i+j)
			if j > 0 && rng.IntN(10) == 0 {
				body = rs[j-1].body
			}
			rs[j] = fr{id: id, body: body}
		}
		batches = append(batches, flagBatchOf(uint64(len(batches)), rs...))
	}
	s := NewFlagStage(FlagOptions{Set: func(it *pipeline.Item, f Flags) {}})
	b.ReportAllocs()
	b.ResetTimer()
	for _, bt := range batches {
		s.Process(context.Background(), bt)
		s.Acked(bt)
	}
}

// BenchmarkFlagStageMemory reports the heap that a full window holds per
// document (ids of 10 bytes, with one history for them all), per full
// history (at the default History of 50) and per id of the other kinds.
func BenchmarkFlagStageMemory(b *testing.B) {
	const docs, series = 100_000, 10_000
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	rs := make([]fr, docs)
	for i := range rs {
		rs[i] = fr{id: fmt.Sprintf("%010d", i), body: apInv("S1", int64(1000+i), 1+i%300, "PO")}
	}
	batch := flagBatchOf(1, rs...)
	for b.Loop() {
		h0 := heap()
		s := NewFlagStage(FlagOptions{Window: docs})
		s.Process(context.Background(), batch)
		s.Acked(batch)
		h1 := heap()
		c := s.company("BJ02")
		for i := range series {
			a := c.series.at(c.series.push(fkey{uint64(i), 1}, amountSeries{}))
			for j := range DefaultHistory {
				a.add(int64(1000+j), uint64(j+1), 1, -1, DefaultHistory)
			}
		}
		h2 := heap()
		runtime.KeepAlive(s)
		b.ReportMetric(float64(h1-h0)/docs, "B/doc")
		b.ReportMetric(float64(h2-h1)/series, "B/series")
	}
}
