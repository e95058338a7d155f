package generator

import (
	"fmt"
	"strings"
	"testing"

	"github.com/erpflow/erpflow/pipeline/record"
)

// TestMix checks that the drawn behaviours come out near the shares
// docs/generator.md promises, at default volume over a shorter window.
func TestMix(t *testing.T) {
	t.Parallel()
	g := sharedRun(t)
	m := g.st.Mix
	ar := m["ar_prompt"] + m["ar_late"] + m["ar_batch"] + m["ar_instalment"] + m["ar_never_paid"]
	remit := m["remit_exact"] + m["remit_missing"] + m["remit_garbled"]
	for _, tc := range []struct {
		name   string
		n, of  int
		lo, hi float64
	}{
		{"remittance with the invoice number", m["remit_exact"], remit, 0.55, 0.65},
		{"remittance without it", m["remit_missing"], remit, 0.25, 0.35},
		{"remittance garbled", m["remit_garbled"], remit, 0.07, 0.13},
		{"invoices paid promptly", m["ar_prompt"], ar, 0.40, 0.68},
		{"invoices paid late", m["ar_late"], ar, 0.10, 0.32},
		{"invoices paid in a batch", m["ar_batch"], ar, 0.05, 0.22},
		{"invoices paid in instalments", m["ar_instalment"], ar, 0.03, 0.14},
		{"invoices never paid", m["ar_never_paid"], ar, 0.02, 0.09},
		{"instalment plans leaving a residual", m["ar_residual"], m["ar_instalment"], 0.25, 0.55},
		{"receipts from look-alike names", m["receipt_lookalike"], m["receipt"], 0.01, 0.12},
		{"receipts with a fee", m["fee_reported"] + m["fee_unreported"], m["receipt"], 0.10, 0.25},
		{"fees reported in charges", m["fee_reported"], m["fee_reported"] + m["fee_unreported"], 0.35, 0.65},
		{"cancelled orders", m["order_cancelled"], m["order"] + m["order_cancelled"], 0.01, 0.035},
		{"exact duplicate messages", g.st.Duplicates, g.st.Records, 0.003, 0.008},
		{"AP invoices mismatched", m["ap_mismatch"], m["po"], 0.015, 0.07},
		{"claims rejected", m["claim_rejected"], g.st.ByKind["expense_claim"], 0.005, 0.06},
	} {
		if tc.of == 0 {
			t.Errorf("%s: nothing to count", tc.name)
			continue
		}
		if r := float64(tc.n) / float64(tc.of); r < tc.lo || r > tc.hi {
			t.Errorf("%s: %d of %d = %.3f, want %.2f..%.2f", tc.name, tc.n, tc.of, r, tc.lo, tc.hi)
		}
	}
	if perDay := g.st.Records / g.cfg.Days / g.cfg.Companies; perDay < 800 || perDay > 1500 {
		t.Errorf("%d records per company and day", perDay)
	}
}

// TestRecurringAmounts: standing orders make one customer's invoices repeat
// the same total, which amount-only matching must not be fooled by.
func TestRecurringAmounts(t *testing.T) {
	t.Parallel()
	g := sharedRun(t)
	seen := map[string]int{}
	repeats := 0
	for _, r := range g.byKey {
		if inv, ok := r.Body.(*record.Invoice); ok && inv.Direction == "AR" {
			k := fmt.Sprintf("%s/%s/%d", r.Company, inv.Party.ID, inv.Total.Minor)
			if seen[k]++; seen[k] == 2 {
				repeats++
			}
		}
	}
	if repeats < 20 {
		t.Errorf("only %d customer/amount pairs repeat", repeats)
	}
}

func TestLookalike(t *testing.T) {
	s := newSim(Config{Seed: 1, Days: 1, OrdersPerDay: 1, Start: DefaultStart}, 0, &Stats{ByKind: map[string]int{}})
	for _, name := range []string{"上海华东贸易有限公司", "北京宏达科技股份有限公司", "Acme Trading Co., Ltd.",
		"Müller Industrietechnik GmbH", "Orion Logistics Inc.", "X"} {
		for range 50 {
			if v := lookalike(s.rng, name); v == name || v == "" {
				t.Errorf("lookalike(%q) = %q", name, v)
			}
		}
	}
}

func TestGarbleAndClip(t *testing.T) {
	s := newSim(Config{Seed: 1, Days: 1, OrdersPerDay: 1, Start: DefaultStart}, 0, &Stats{ByKind: map[string]int{}})
	for range 200 {
		got := s.garble("INV-2025-000042")
		if got == "INV-2025-000042" || !strings.HasPrefix(got, "INV-2025-") || len(got) < 14 {
			t.Fatalf("garble gave %q", got)
		}
	}
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 140, "short"},
		{"INV-1 INV-2 INV-3", 12, "INV-1 INV-2"},
		{"货款货款货款", 7, "货款"},
	} {
		if got := clip(tc.in, tc.n); got != tc.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestCalendar(t *testing.T) {
	for _, tc := range []struct {
		d    record.Date
		want int
	}{
		{record.MakeDate(2025, 1, 1), 3}, // a Wednesday
		{record.MakeDate(2025, 1, 5), 0},
		{record.MakeDate(2024, 2, 29), 4},
	} {
		if got := weekday(tc.d); got != tc.want {
			t.Errorf("weekday(%s) = %d, want %d", tc.d, got, tc.want)
		}
	}
	if got := biz(record.MakeDate(2025, 1, 4)); got != record.MakeDate(2025, 1, 6) {
		t.Errorf("biz(Saturday) = %s", got)
	}
	if got := nextMonthDay(record.MakeDate(2025, 12, 26), 25); got != record.MakeDate(2026, 1, 25) {
		t.Errorf("nextMonthDay = %s", got)
	}
}

func BenchmarkGenerateDefault(b *testing.B) {
	for range b.N {
		st, err := Generate(Config{Seed: 1}, func(*record.Record) error { return nil }, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(st.Records), "records/op")
	}
}
