package generator

import (
	"slices"
	"strings"
	"testing"

	"github.com/erpflow/erpflow/pipeline/record"
)

// TestLinks checks the truth links: both ends exist (the target before the
// bank line), a bank line's links add up to its amount plus charges, and no
// target receives more than it is worth.
func TestLinks(t *testing.T) {
	t.Parallel()
	g := sharedRun(t)
	type sum struct {
		got   int64
		limit record.Money
	}
	perBank := map[string]int64{}
	perTarget := map[string]*sum{}
	var banks []string
	for _, l := range g.links {
		bk := key(record.KindBankTxn, l["bank_txn"])
		bank := g.byKey[bk]
		if bank == nil {
			t.Fatalf("link to missing bank line %v", l)
		}
		kind, ok := record.ParseKind(l["target_kind"])
		if !ok {
			t.Fatalf("link with target kind %q", l["target_kind"])
		}
		tk := key(kind, l["target_id"])
		target := g.byKey[tk]
		if target == nil {
			t.Fatalf("link to missing target %v", l)
		}
		if g.first[tk] >= g.bankAt[l["bank_txn"]] {
			t.Errorf("target %s first appears after its bank line", l["target_id"])
		}
		b := bank.Body.(*record.BankTxn)
		amt, err := record.ParseMoney(l["amount"], b.Amount.Currency)
		if err != nil || amt.Minor <= 0 {
			t.Fatalf("link amount %q: %v", l["amount"], err)
		}
		if _, seen := perBank[bk]; !seen {
			banks = append(banks, bk)
		}
		perBank[bk] += amt.Minor
		s := perTarget[tk]
		if s == nil {
			s = &sum{}
			switch body := target.Body.(type) {
			case *record.Invoice:
				s.limit = body.Total
				if body.Direction != "AR" || b.Direction != "credit" {
					t.Errorf("%s (%s) settled by a %s", tk, body.Direction, b.Direction)
				}
			case *record.ExpenseClaim:
				s.limit = body.Amount
			case *record.Payment:
				s.limit = body.Amount
				if b.Direction != "debit" {
					t.Errorf("outgoing payment %s settled by a credit", tk)
				}
			default:
				t.Fatalf("link target of kind %s", target.Kind)
			}
			perTarget[tk] = s
		}
		if s.limit.Currency != b.Amount.Currency {
			t.Errorf("%s in %s settled in %s", tk, s.limit.Currency, b.Amount.Currency)
		}
		s.got += amt.Minor
	}
	for _, bk := range banks {
		b := g.byKey[bk].Body.(*record.BankTxn)
		if want := b.Amount.Minor + b.Charges.Minor; perBank[bk] != want {
			t.Errorf("%s: links sum to %d, amount + charges is %d", bk, perBank[bk], want)
		}
	}
	for tk, s := range perTarget {
		if s.got > s.limit.Minor {
			t.Errorf("%s over-settled: %d of %d", tk, s.got, s.limit.Minor)
		}
	}
	if len(banks) < 1000 {
		t.Errorf("only %d bank lines with links", len(banks))
	}
}

// TestExceptions checks that every planted anomaly's subject exists and
// really shows the anomaly in the data, and, for the kinds that can be
// decided from the data alone, that none is missing from the truth.
func TestExceptions(t *testing.T) {
	t.Parallel()
	g := sharedRun(t)
	linked := map[string]int64{} // target id → minor units applied
	lines := map[string]bool{}   // bank lines with a link
	for _, l := range g.links {
		lines[l["bank_txn"]] = true
		b := g.byKey[key(record.KindBankTxn, l["bank_txn"])].Body.(*record.BankTxn)
		m, _ := record.ParseMoney(l["amount"], b.Amount.Currency)
		linked[l["target_id"]] += m.Minor
	}
	approvals := map[string][]*record.Approval{} // subject key → steps
	receipts := map[string]*record.GoodsReceipt{}
	drafts := 0
	for _, r := range g.byKey {
		switch b := r.Body.(type) {
		case *record.Payment:
			// A bank acceptance draft settles its invoice without a bank
			// line: it counts as received.
			if b.Direction == "in" && b.Method == "draft" {
				for _, ref := range b.InvoiceRefs {
					linked[r.Company+"/erp/"+ref] += b.Amount.Minor
				}
				drafts++
			}
		case *record.Approval:
			sk := key(b.SubjectKind, r.Company+"/"+r.Source+"/"+b.SubjectID)
			if g.byKey[sk] == nil {
				t.Errorf("approval %s for missing %s", r.ID, sk)
			}
			approvals[sk] = append(approvals[sk], b)
		case *record.GoodsReceipt:
			receipts[r.Company+"/"+b.PORef] = b
		}
	}
	asOf := g.cfg.Start + record.Date(g.cfg.Days)

	flagged := map[string]map[string]string{} // type → subject → reason
	for _, e := range g.excs {
		typ, subj := e["exception"], e["subject_id"]
		if flagged[typ] == nil {
			flagged[typ] = map[string]string{}
		}
		flagged[typ][subj] = e["reason"]
		want := map[string]record.Kind{ExcDuplicatePayment: record.KindPayment, ExcThreeWayMismatch: record.KindInvoice,
			ExcUnpaidOverdue: record.KindInvoice, ExcUnderpaidOverdue: record.KindInvoice,
			ExcFeeDeducted: record.KindBankTxn, ExcUnidentifiedReceipt: record.KindBankTxn, ExcOverpayment: record.KindBankTxn,
			ExcUnbankedReceipt: record.KindPayment}[typ]
		if typ == ExcApprovalBreach {
			want = record.KindPayment
			if strings.Contains(subj, "/reimb/") {
				want = record.KindExpenseClaim
			}
		}
		if want == 0 {
			t.Errorf("unknown exception type %q", typ)
			continue
		}
		r := g.byKey[key(want, subj)]
		if r == nil {
			t.Errorf("%s: subject %s (%s) missing", typ, subj, want)
			continue
		}
		if rel := e["related_id"]; rel != "" && g.byKey[key(map[string]record.Kind{
			ExcDuplicatePayment: record.KindPayment, ExcThreeWayMismatch: record.KindPurchaseOrder, ExcOverpayment: record.KindInvoice,
			ExcUnbankedReceipt: record.KindInvoice}[typ], rel)] == nil {
			t.Errorf("%s: related %s missing", typ, rel)
		}
		switch typ {
		case ExcDuplicatePayment:
			p, o := r.Body.(*record.Payment), g.byKey[key(record.KindPayment, e["related_id"])].Body.(*record.Payment)
			if p.Party.ID != o.Party.ID || p.Amount != o.Amount || p.Number == o.Number {
				t.Errorf("duplicate %s does not repeat %s", p.Number, o.Number)
			}
		case ExcUnpaidOverdue, ExcUnderpaidOverdue:
			inv := r.Body.(*record.Invoice)
			got := linked[subj]
			if inv.Direction != "AR" || inv.DueDate >= asOf || (typ == ExcUnpaidOverdue) != (got == 0) || got >= inv.Total.Minor {
				t.Errorf("%s %s: due %s, %d of %d received", typ, subj, inv.DueDate, got, inv.Total.Minor)
			}
		case ExcFeeDeducted:
			b := r.Body.(*record.BankTxn)
			if b.Direction != "credit" || !b.Charges.IsZero() || e["amount"] == "" {
				t.Errorf("fee_deducted on %s: %+v", subj, b)
			}
		case ExcUnidentifiedReceipt:
			if _, ok := linked[subj]; ok || r.Body.(*record.BankTxn).Direction != "credit" {
				t.Errorf("unidentified receipt %s is linked or not a credit", subj)
			}
		case ExcOverpayment:
			// The same transfer again: it links nothing, and the invoice
			// it repeats was settled in full by the first.
			b := r.Body.(*record.BankTxn)
			inv := g.byKey[key(record.KindInvoice, e["related_id"])].Body.(*record.Invoice)
			if lines[subj] || b.Direction != "credit" || e["reason"] != "paid_twice" || linked[e["related_id"]] == 0 || b.Amount.Currency != inv.Total.Currency {
				t.Errorf("overpayment %s: %+v against %s", subj, b, e["related_id"])
			}
		}
	}
	if drafts == 0 {
		t.Error("no invoice paid by draft")
	}
	for _, typ := range []string{ExcDuplicatePayment, ExcThreeWayMismatch, ExcApprovalBreach, ExcUnpaidOverdue,
		ExcUnderpaidOverdue, ExcFeeDeducted, ExcUnidentifiedReceipt, ExcOverpayment, ExcUnbankedReceipt} {
		if len(flagged[typ]) == 0 {
			t.Errorf("no %s planted", typ)
		}
	}

	// Now from the data to the truth.
	for k, r := range g.byKey {
		id := fullID(r)
		switch b := r.Body.(type) {
		case *record.Invoice:
			if _, ok := flagged[ExcUnpaidOverdue][id]; !ok && b.Direction == "AR" && b.DueDate < asOf && linked[id] == 0 {
				t.Errorf("%s: overdue, nothing received, not flagged", id)
			}
			if b.Direction == "AP" {
				_, got := flagged[ExcThreeWayMismatch][id]
				po := g.byKey[key(record.KindPurchaseOrder, r.Company+"/erp/"+b.OrderRef)].Body.(*record.PurchaseOrder)
				if want := mismatched(b, po, receipts[r.Company+"/"+b.OrderRef]); got != want {
					t.Errorf("%s: three-way mismatch %v, flagged %v", id, want, got)
				}
			}
		case *record.Payment:
			if b.Direction == "in" && b.Method == "draft" {
				continue // not a transfer: nothing to bank
			}
			if b.Direction == "in" {
				// A receipt is banked when a bank line brought money for
				// an invoice it names; no trail of ours approves it.
				banked := false
				for _, ref := range b.InvoiceRefs {
					banked = banked || linked[r.Company+"/erp/"+ref] > 0
				}
				if _, got := flagged[ExcUnbankedReceipt][id]; got == banked {
					t.Errorf("receipt %s: banked %v, flagged unbanked %v", id, banked, got)
				}
				continue
			}
			if b.Status != "executed" {
				continue
			}
			reason, got := flagged[ExcApprovalBreach][id]
			if want := trailBreach(approvals[k], "", true); got != (want != "") || reason != want {
				t.Errorf("payment %s: breach %q, flagged %q", id, want, reason)
			}
		case *record.ExpenseClaim:
			if b.ApprovalStatus != "approved" {
				continue
			}
			reason, got := flagged[ExcApprovalBreach][id]
			if want := trailBreach(approvals[k], b.Employee.ID, false); got != (want != "") || reason != want {
				t.Errorf("claim %s: breach %q, flagged %q", id, want, reason)
			}
		}
	}
}

// mismatched reports whether an AP invoice bills a quantity other than
// received or a price other than ordered.
func mismatched(inv *record.Invoice, po *record.PurchaseOrder, gr *record.GoodsReceipt) bool {
	price := map[string]record.Fixed{}
	for _, l := range po.Lines {
		price[l.SKU] = l.UnitPrice
	}
	qty := map[string]record.Fixed{}
	for _, l := range gr.Lines {
		qty[l.SKU] += l.Quantity
	}
	billed := map[string]record.Fixed{}
	for _, l := range inv.Lines {
		billed[l.SKU] += l.Quantity
		if l.UnitPrice != price[l.SKU] {
			return true
		}
	}
	for sku, q := range billed {
		if qty[sku] != q {
			return true
		}
	}
	return false
}

// trailBreach reads an approval trail: a skipped level, a rejection that
// did not stop the money, or someone approving their own claim.
func trailBreach(steps []*record.Approval, claimant string, payment bool) string {
	if len(steps) == 0 {
		return "missing_level"
	}
	top := uint32(0)
	for _, s := range steps {
		switch {
		case s.Action == "reject" && payment:
			return "paid_after_reject"
		case s.Action == "approve" && s.Approver.ID == claimant:
			return "self_approval"
		case s.Action == "approve":
			top = max(top, s.Level)
		}
	}
	if top < steps[0].RequiredLevels {
		return "missing_level"
	}
	for lvl := uint32(1); lvl < top; lvl++ {
		if !slices.ContainsFunc(steps, func(s *record.Approval) bool { return s.Action == "approve" && s.Level == lvl }) {
			return "skipped_level"
		}
	}
	return ""
}
