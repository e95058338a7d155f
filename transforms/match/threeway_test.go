package match

import (
	"strings"
	"testing"

	"github.com/erpflow/erpflow/connectors/generator"
	"github.com/erpflow/erpflow/pipeline/record"
)

func TestThreeWay(t *testing.T) {
	q := func(s string) record.Fixed { f, _ := record.ParseFixed(s); return f }
	rec := func(id string, v uint64, body record.Body) *record.Record {
		return &record.Record{Envelope: record.Envelope{Company: "SH01", Source: "erp", ID: id, Version: v}, Body: body}
	}
	po := func(status string) *record.Record {
		return rec("PO-1", 1, &record.PurchaseOrder{Number: "PO-1", Status: status, Lines: []record.Line{
			{SKU: "BOLT", Quantity: q("100"), UnitPrice: q("2.00")}, {SKU: "NUT", Quantity: q("50"), UnitPrice: q("0.50")}}})
	}
	gr := func(id, status, bolts string) *record.Record {
		return rec(id, 1, &record.GoodsReceipt{Number: id, PORef: "PO-1", Status: status, Lines: []record.Line{
			{SKU: "BOLT", Quantity: q(bolts)}, {SKU: "NUT", Quantity: q("50")}}})
	}
	apv := func(id string, v uint64, sku, qty, price string) *record.Record {
		return rec(id, v, &record.Invoice{Number: id, Direction: "AP", OrderRef: "PO-1", Status: "open",
			Lines: []record.Line{{SKU: sku, Quantity: q(qty), UnitPrice: q(price)}}})
	}
	ap := func(id, sku, qty, price string) *record.Record { return apv(id, 1, sku, qty, price) }
	usd, _ := record.ParseCurrency("USD")
	inCur := func(r *record.Record, c record.Currency) *record.Record {
		switch b := r.Body.(type) {
		case *record.PurchaseOrder:
			b.Total = record.Money{Minor: 22500, Currency: c}
		case *record.Invoice:
			b.Total = record.Money{Minor: 20000, Currency: c}
		}
		return r
	}
	grv := func(id string, v uint64, status, bolts string) *record.Record {
		r := gr(id, status, bolts)
		r.Version = v
		return r
	}
	type step struct {
		r        *record.Record
		want     []ThreeWayOutcome // one per check returned
		reason   string            // of the last check
		inDetail string            // in the last check's criteria
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"billed as received", []step{{r: po("open")}, {r: gr("GR-1", "received", "100")},
			{r: ap("AP-1", "BOLT", "100", "2.00"), want: []ThreeWayOutcome{ThreeWayMatched}}}},
		{"within the price tolerance", []step{{r: po("open")}, {r: gr("GR-1", "received", "100")},
			{r: ap("AP-1", "BOLT", "100", "2.01"), want: []ThreeWayOutcome{ThreeWayMatched}}}},
		{"price over the order's", []step{{r: po("open")}, {r: gr("GR-1", "received", "100")},
			{r: ap("AP-1", "BOLT", "100", "2.02"), want: []ThreeWayOutcome{ThreeWayMismatch}, reason: "price", inDetail: "billed 2.02, ordered at 2, over by 0.02"}}},
		{"more than received", []step{{r: po("open")}, {r: gr("GR-1", "received", "90")},
			{r: ap("AP-1", "BOLT", "95", "2.00"), want: []ThreeWayOutcome{ThreeWayMismatch}, reason: "quantity", inDetail: "billed 95, received 90, over by 5"}}},
		{"two invoices together bill more than received", []step{{r: po("open")}, {r: gr("GR-1", "received", "100")},
			{r: ap("AP-1", "BOLT", "60", "2.00"), want: []ThreeWayOutcome{ThreeWayMatched}},
			{r: ap("AP-2", "BOLT", "60", "2.00"), want: []ThreeWayOutcome{ThreeWayMismatch}, reason: "quantity"}}},
		{"a re-sent invoice is neither billed twice nor reported again", []step{{r: po("open")}, {r: gr("GR-1", "received", "100")},
			{r: ap("AP-1", "BOLT", "100", "2.00"), want: []ThreeWayOutcome{ThreeWayMatched}},
			{r: apv("AP-1", 2, "BOLT", "100", "2.00")}}},
		{"the rest of the goods cures a mismatch", []step{{r: po("open")}, {r: gr("GR-1", "received", "50")},
			{r: ap("AP-1", "BOLT", "100", "2.00"), want: []ThreeWayOutcome{ThreeWayMismatch}, reason: "quantity"},
			{r: gr("GR-2", "received", "50"), want: []ThreeWayOutcome{ThreeWayMatched}}}},
		{"goods returned after a match", []step{{r: po("open")}, {r: gr("GR-1", "received", "40")}, {r: gr("GR-2", "received", "60")},
			{r: ap("AP-1", "BOLT", "100", "2.00"), want: []ThreeWayOutcome{ThreeWayMatched}},
			{r: grv("GR-2", 2, "returned", "60"), want: []ThreeWayOutcome{ThreeWayMismatch}, reason: "quantity"}}},
		{"the first of two invoices stays good when re-sent", []step{{r: po("open")}, {r: gr("GR-1", "received", "100")},
			{r: ap("AP-1", "BOLT", "60", "2.00"), want: []ThreeWayOutcome{ThreeWayMatched}},
			{r: ap("AP-2", "BOLT", "60", "2.00"), want: []ThreeWayOutcome{ThreeWayMismatch}, reason: "quantity"},
			{r: apv("AP-1", 2, "BOLT", "60", "2.00")}}},
		{"a stale version redelivered changes nothing", []step{{r: po("open")}, {r: gr("GR-1", "received", "100")},
			{r: apv("AP-1", 2, "BOLT", "100", "2.00"), want: []ThreeWayOutcome{ThreeWayMatched}},
			{r: ap("AP-1", "BOLT", "120", "2.00")}}},
		{"billed in another currency than ordered", []step{{r: inCur(po("open"), cny)}, {r: gr("GR-1", "received", "100")},
			{r: inCur(ap("AP-1", "BOLT", "100", "2.00"), usd), want: []ThreeWayOutcome{ThreeWayMismatch}, reason: "currency", inDetail: "billed in USD, ordered in CNY"}}},
		{"billed in the order's currency", []step{{r: inCur(po("open"), cny)}, {r: gr("GR-1", "received", "100")},
			{r: inCur(ap("AP-1", "BOLT", "100", "2.00"), cny), want: []ThreeWayOutcome{ThreeWayMatched}}}},
		{"two receipts add up", []step{{r: po("open")}, {r: gr("GR-1", "received", "40")}, {r: gr("GR-2", "received", "60")},
			{r: ap("AP-1", "BOLT", "100", "2.00"), want: []ThreeWayOutcome{ThreeWayMatched}}}},
		{"a returned receipt no longer counts", []step{{r: po("open")}, {r: gr("GR-1", "received", "40")}, {r: gr("GR-2", "received", "60")},
			{r: grv("GR-2", 2, "returned", "60")},
			{r: ap("AP-1", "BOLT", "100", "2.00"), want: []ThreeWayOutcome{ThreeWayMismatch}, reason: "quantity"}}},
		{"invoice before its goods: held, then checked", []step{{r: po("open")},
			{r: ap("AP-1", "BOLT", "100", "2.00"), want: []ThreeWayOutcome{ThreeWayAwaiting}, inDetail: "nothing received"},
			{r: gr("GR-1", "received", "100"), want: []ThreeWayOutcome{ThreeWayMatched}}}},
		{"invoice before its order", []step{
			{r: ap("AP-1", "BOLT", "100", "2.00"), want: []ThreeWayOutcome{ThreeWayNoOrder}},
			{r: po("open"), want: []ThreeWayOutcome{ThreeWayAwaiting}},
			{r: gr("GR-1", "received", "80"), want: []ThreeWayOutcome{ThreeWayMismatch}, reason: "quantity"}}},
		{"a SKU the order lacks", []step{{r: po("open")}, {r: gr("GR-1", "received", "100")},
			{r: ap("AP-1", "WASHER", "1", "0.10"), want: []ThreeWayOutcome{ThreeWayMismatch}, reason: "sku"}}},
		{"a cancelled order", []step{{r: po("cancelled")},
			{r: ap("AP-1", "BOLT", "1", "2.00"), want: []ThreeWayOutcome{ThreeWayMismatch}, reason: "cancelled_order"}}},
	}
	for _, c := range cases {
		tw := NewThreeWay(DefaultThreeWayTolerance())
		for i, s := range c.steps {
			got := tw.Add(s.r)
			if len(got) != len(s.want) {
				t.Fatalf("%s, step %d: %d checks, want %d: %+v", c.name, i, len(got), len(s.want), got)
			}
			for j := range got {
				if got[j].Outcome != s.want[j] {
					t.Errorf("%s, step %d: %s, want %s (%+v)", c.name, i, got[j].Outcome, s.want[j], got[j].Criteria)
				}
			}
			if len(got) == 0 {
				continue
			}
			last := got[len(got)-1]
			if last.Reason != s.reason {
				t.Errorf("%s, step %d: reason %q, want %q", c.name, i, last.Reason, s.reason)
			}
			if last.Outcome != ThreeWayMatched && last.NextStep == "" {
				t.Errorf("%s, step %d: no next step for %s", c.name, i, last.Outcome)
			}
			var details []string
			for _, cr := range last.Criteria {
				details = append(details, cr.Detail)
			}
			if !strings.Contains(strings.Join(details, "; "), s.inDetail) {
				t.Errorf("%s, step %d: criteria %q lack %q", c.name, i, details, s.inDetail)
			}
		}
	}
}

func TestBasisPoints(t *testing.T) {
	for _, c := range []struct {
		v    record.Fixed
		bp   int64
		want record.Fixed
	}{
		{20000, 50, 100}, {19999, 50, 99}, {0, 50, 0}, {999_999_999_999_999_999, 10000, 999_999_999_999_999_999},
	} {
		if got := basisPoints(c.v, c.bp); got != c.want {
			t.Errorf("basisPoints(%d, %d) = %d, want %d", c.v, c.bp, got, c.want)
		}
	}
}

// TestThreeWayAgainstTruth runs a generated world's purchase orders,
// goods receipts and supplier invoices through the check and requires
// exactly the planted mismatches, with their order and reason.
func TestThreeWayAgainstTruth(t *testing.T) {
	dir := t.TempDir()
	st, err := generator.WriteFiles(generator.Config{Seed: 7, Days: 90, Companies: 3, OrdersPerDay: 20}, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	planted := map[[3]string]bool{}
	for x := range truthLines(t, dir) {
		if x["exception"] == generator.ExcThreeWayMismatch {
			planted[[3]string{x["subject_id"], x["related_id"], x["reason"]}] = true
		}
	}
	if len(planted) < 5 || len(planted) != st.Exceptions[generator.ExcThreeWayMismatch] {
		t.Fatalf("%d planted mismatches in the truth, stats say %d: too few to test", len(planted), st.Exceptions[generator.ExcThreeWayMismatch])
	}
	tw := NewThreeWay(DefaultThreeWayTolerance())
	found := map[[3]string]bool{}
	checked, awaiting := 0, 0
	for r := range recordLines(t, dir) {
		for _, c := range tw.Add(r) {
			checked++
			switch c.Outcome {
			case ThreeWayMismatch:
				found[[3]string{c.Invoice, c.Order, c.Reason}] = true
			case ThreeWayAwaiting, ThreeWayNoOrder:
				awaiting++
			}
		}
	}
	for k := range planted {
		if !found[k] {
			t.Errorf("planted mismatch not found: %v", k)
		}
	}
	for k := range found {
		if !planted[k] {
			t.Errorf("mismatch raised that was not planted: %v", k)
		}
	}
	if awaiting != 0 {
		t.Errorf("%d invoices left waiting, though the generator sends every order and receipt first", awaiting)
	}
	t.Logf("%d checks, %d planted mismatches, %d found", checked, len(planted), len(found))
}
