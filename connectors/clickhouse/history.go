package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"

	"github.com/erpflow/erpflow/pipeline/record"
	"github.com/erpflow/erpflow/transforms/clean"
	"github.com/erpflow/erpflow/transforms/match"
)

// History reads back what landed of a company, record by record, so that
// matching can rebuild its state after an assignment (match.History).
//
// It reads the _versions tables (migration 0008), which keep every version
// of a record: matching must see an invoice open before it sees it
// cancelled, and the canonical tables keep only the newest version once
// ClickHouse merges their parts. Of records that landed before those
// tables existed, only the versions not yet merged away by then are there.
type History struct {
	conn driver.Conn
}

// NewHistory returns a reader on conn.
func NewHistory(conn driver.Conn) *History { return &History{conn: conn} }

// envelopeCols are read first for every kind, in this order.
const envelopeCols = "source, id, version, event_time, ingest_time, src_topic, src_partition, src_offset, mapping, mapping_version"

// historyCols are each kind's body columns in the order its scan takes them.
var historyCols = map[record.Kind]string{
	record.KindInvoice: "number, direction, party_id, party_name, party_key, party_account, issue_date, due_date, currency, total, tax, status, order_ref, " +
		"line_sku, line_description, line_quantity, line_unit_price, line_amount",
	record.KindPayment: "number, direction, party_id, party_name, party_key, party_account, currency, amount, method, value_date, status, invoice_refs, " +
		"remittance, bank_account, counterparty_account",
	record.KindBankTxn: "account, booking_date, value_date, direction, currency, amount, charges, counterparty_name, counterparty_key, " +
		"counterparty_account, remittance, bank_ref",
	record.KindSalesOrder: "number, customer_id, customer_name, customer_key, customer_account, order_date, status, channel, currency, total, " +
		"line_sku, line_description, line_quantity, line_unit_price, line_amount",
	record.KindShipment: "number, order_ref, customer_id, customer_name, customer_account, ship_date, delivered_date, status, carrier, line_sku, line_quantity",
	record.KindPurchaseOrder: "number, supplier_id, supplier_name, supplier_key, supplier_account, order_date, status, currency, total, " +
		"line_sku, line_description, line_quantity, line_unit_price, line_amount",
	record.KindGoodsReceipt: "number, po_ref, supplier_id, supplier_name, supplier_account, receipt_date, status, line_sku, line_quantity",
	record.KindExpenseClaim: "number, employee_id, employee_name, employee_account, department, currency, amount, claim_date, expense_type, gl_account, " +
		"description, approval_status, paid, paid_date",
	record.KindApproval: "subject_kind, subject_id, step, level, required_levels, approver_id, approver_name, approver_account, action, acted_at, comment",
}

// Companies lists the companies with records that came through the given
// input partitions (topic -> partition ids): those a member owning the
// partitions must rebuild. Each comes with every partition its records
// came through, in order, assigned or not: co-partitioning gives a company
// one, and more mean a producer that does not key by company, which the
// stage must wait for (partitions it holds) or report (partitions others
// hold).
func (h *History) Companies(ctx context.Context, parts map[string][]int) (map[string][]int32, error) {
	var conds []string
	for t, ps := range parts {
		if len(ps) == 0 {
			continue
		}
		// The name goes into the query's text: a Kafka topic name is
		// letters, digits, '.', '_' and '-', nothing a string must escape.
		if !kafkaName(t) {
			return nil, fmt.Errorf("companies of the assigned partitions: %q is not a Kafka topic name", t)
		}
		ids := make([]string, len(ps))
		for i, p := range ps {
			ids[i] = strconv.Itoa(p)
		}
		conds = append(conds, fmt.Sprintf("(src_topic = '%s' AND src_partition IN (%s))", t, strings.Join(ids, ",")))
	}
	if len(conds) == 0 {
		return nil, nil
	}
	// One pass over each table: every company and partition, and whether
	// any of its rows came through an assigned partition (mine).
	mine := strings.Join(conds, " OR ")
	var each []string
	for _, k := range record.Kinds {
		each = append(each, fmt.Sprintf("SELECT company, src_partition, max(%s) AS mine FROM %s GROUP BY company, src_partition", mine, Tables[k]))
	}
	q := "SELECT company, groupUniqArray(src_partition) FROM (" + strings.Join(each, " UNION ALL ") + ")" +
		" GROUP BY company HAVING max(mine) = 1 ORDER BY company"
	rows, err := h.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("companies of the assigned partitions: %w", err)
	}
	defer rows.Close()
	out := map[string][]int32{}
	for rows.Next() {
		var c string
		var ps []uint32
		if err := rows.Scan(&c, &ps); err != nil {
			return nil, fmt.Errorf("companies of the assigned partitions: %w", err)
		}
		ids := make([]int32, len(ps))
		for i, p := range ps {
			ids[i] = int32(p)
		}
		slices.Sort(ids)
		out[c] = ids
	}
	return out, rows.Err()
}

// Records calls f with every stored version of every record of company,
// kind by kind, each kind oldest first. A version stored twice (a replay
// landed again before a merge) is given once. It reads once and never
// calls restart: a failed read is the caller's to try again.
func (h *History) Records(ctx context.Context, company string, f func(*record.Record), restart func()) error {
	for _, k := range record.Kinds {
		cols := historyCols[k]
		if flagged[k] {
			// Matching treats a flagged near-duplicate as a copy, not a
			// document of its own: a rebuild must see the flag too.
			cols += ", duplicate_of"
		}
		q := fmt.Sprintf("SELECT %s, %s FROM %s WHERE company = ? ORDER BY event_time, source, id, version",
			envelopeCols, cols, VersionsTable(k))
		rows, err := h.conn.Query(ctx, q, company)
		if err != nil {
			return fmt.Errorf("read history of %s from %s: %w", company, VersionsTable(k), err)
		}
		type seenKey struct {
			source, id string
			version    uint64
		}
		seen := map[seenKey]bool{}
		for rows.Next() {
			r := &record.Record{Envelope: record.Envelope{Kind: k, Company: company}}
			if err := scanHistory(rows, r); err != nil {
				rows.Close()
				return fmt.Errorf("read history of %s from %s: %w", company, VersionsTable(k), err)
			}
			sk := seenKey{r.Source, r.ID, r.Version}
			if seen[sk] {
				continue
			}
			seen[sk] = true
			// Derived as the keys stage derives them, so that a rebuilt
			// record is the one the live run had: the tables have no key
			// column for an employee or an approver.
			clean.SetPartyKeys(r.Body)
			f(r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("read history of %s from %s: %w", company, VersionsTable(k), err)
		}
	}
	return nil
}

// VersionsTable is the table keeping every version of a kind's records.
func VersionsTable(k record.Kind) string { return Tables[k] + "_versions" }

// Decisions returns the review decisions recorded for a company
// (recon_reviews), oldest first.
func (h *History) Decisions(ctx context.Context, company string) ([]match.Decision, error) {
	rows, err := h.conn.Query(ctx, `SELECT match_id, action, actor, reason, decided_at, stream_time FROM recon_reviews FINAL
		WHERE company = ? ORDER BY stream_time, decided_at, version`, company)
	if err != nil {
		return nil, fmt.Errorf("read decisions of %s: %w", company, err)
	}
	defer rows.Close()
	var out []match.Decision
	for rows.Next() {
		var d match.Decision
		if err := rows.Scan(&d.MatchID, &d.Action, &d.By, &d.Reason, &d.At, &d.After); err != nil {
			return nil, fmt.Errorf("read decisions of %s: %w", company, err)
		}
		if d.After.Unix() == 0 {
			d.After = time.Time{} // recorded before it applied: apply when its match comes
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read decisions of %s: %w", company, err)
	}
	// A decision recorded on arrival and again when it applied is one
	// decision: keep the copy that knows where it applied.
	type key struct {
		match, action string
		at            int64
	}
	positioned := map[key]bool{}
	for _, d := range out {
		if !d.After.IsZero() {
			positioned[key{d.MatchID, d.Action, d.At.Unix()}] = true
		}
	}
	keep := out[:0]
	for _, d := range out {
		if d.After.IsZero() && positioned[key{d.MatchID, d.Action, d.At.Unix()}] {
			continue
		}
		keep = append(keep, d)
	}
	return keep, nil
}

// scanner collects a row's destinations and converts after Scan.
type scanner struct {
	dest  []any
	after []func() error
}

func (s *scanner) str(p *string) { s.dest = append(s.dest, p) }

func (s *scanner) date(p *record.Date) {
	var t time.Time
	s.dest = append(s.dest, &t)
	s.after = append(s.after, func() error { *p = record.DateOf(t); return nil })
}

func (s *scanner) nullDate(p *record.Date) {
	var t *time.Time
	s.dest = append(s.dest, &t)
	s.after = append(s.after, func() error {
		if t != nil {
			*p = record.DateOf(*t)
		}
		return nil
	})
}

// money reads a currency column and an amount column, which the tables
// always list currency first.
func (s *scanner) money(cur *string, m *record.Money) {
	var d decimal.Decimal
	s.dest = append(s.dest, &d)
	s.after = append(s.after, func() error { return toMoney(*cur, d, m) })
}

func toMoney(cur string, d decimal.Decimal, m *record.Money) error {
	if cur == "" {
		return nil
	}
	c, err := record.ParseCurrency(cur)
	if err != nil {
		return err
	}
	*m = record.Money{Minor: d.Shift(int32(c.Scale())).IntPart(), Currency: c}
	return nil
}

func (s *scanner) lines(ls *[]record.Line, cur *string, priced bool) {
	var sku, desc []string
	var qty, price, amount []decimal.Decimal
	s.dest = append(s.dest, &sku)
	if priced {
		s.dest = append(s.dest, &desc)
	}
	s.dest = append(s.dest, &qty)
	if priced {
		s.dest = append(s.dest, &price, &amount)
	}
	s.after = append(s.after, func() error {
		*ls = make([]record.Line, len(sku))
		for i := range sku {
			l := &(*ls)[i]
			l.SKU = sku[i]
			var err error
			if l.Quantity, err = record.ParseFixed(qty[i].String()); err != nil {
				return err
			}
			if !priced {
				continue
			}
			l.Description = desc[i]
			if l.UnitPrice, err = record.ParseFixed(price[i].String()); err != nil {
				return err
			}
			if err := toMoney(*cur, amount[i], &l.Amount); err != nil {
				return err
			}
		}
		return nil
	})
}

func scanHistory(rows driver.Rows, r *record.Record) error {
	var s scanner
	var partition uint32
	var offset uint64
	p := &r.Provenance
	s.dest = append(s.dest, &r.Source, &r.ID, &r.Version, &r.EventTime, &r.IngestTime, &p.Topic, &partition, &offset,
		&p.Mapping, &p.MappingVersion)
	var cur string
	switch r.Kind {
	case record.KindInvoice:
		b := &record.Invoice{}
		r.Body = b
		s.str(&b.Number)
		s.str(&b.Direction)
		s.str(&b.Party.ID)
		s.str(&b.Party.Name)
		s.str(&b.Party.Key)
		s.str(&b.Party.Account)
		s.date(&b.IssueDate)
		s.date(&b.DueDate)
		s.str(&cur)
		s.money(&cur, &b.Total)
		s.money(&cur, &b.Tax)
		s.str(&b.Status)
		s.str(&b.OrderRef)
		s.lines(&b.Lines, &cur, true)
	case record.KindPayment:
		b := &record.Payment{}
		r.Body = b
		s.str(&b.Number)
		s.str(&b.Direction)
		s.str(&b.Party.ID)
		s.str(&b.Party.Name)
		s.str(&b.Party.Key)
		s.str(&b.Party.Account)
		s.str(&cur)
		s.money(&cur, &b.Amount)
		s.str(&b.Method)
		s.date(&b.ValueDate)
		s.str(&b.Status)
		s.dest = append(s.dest, &b.InvoiceRefs)
		s.str(&b.Remittance)
		s.str(&b.BankAccount)
		s.str(&b.CounterpartyAccount)
	case record.KindBankTxn:
		b := &record.BankTxn{}
		r.Body = b
		s.str(&b.Account)
		s.date(&b.BookingDate)
		s.date(&b.ValueDate)
		s.str(&b.Direction)
		s.str(&cur)
		s.money(&cur, &b.Amount)
		s.money(&cur, &b.Charges)
		s.str(&b.Counterparty.Name)
		s.str(&b.Counterparty.Key)
		s.str(&b.Counterparty.Account)
		s.str(&b.Remittance)
		s.str(&b.BankRef)
	case record.KindSalesOrder:
		b := &record.SalesOrder{}
		r.Body = b
		s.str(&b.Number)
		s.str(&b.Customer.ID)
		s.str(&b.Customer.Name)
		s.str(&b.Customer.Key)
		s.str(&b.Customer.Account)
		s.date(&b.OrderDate)
		s.str(&b.Status)
		s.str(&b.Channel)
		s.str(&cur)
		s.money(&cur, &b.Total)
		s.lines(&b.Lines, &cur, true)
	case record.KindShipment:
		b := &record.Shipment{}
		r.Body = b
		s.str(&b.Number)
		s.str(&b.OrderRef)
		s.str(&b.Customer.ID)
		s.str(&b.Customer.Name)
		s.str(&b.Customer.Account)
		s.date(&b.ShipDate)
		s.nullDate(&b.DeliveredDate)
		s.str(&b.Status)
		s.str(&b.Carrier)
		s.lines(&b.Lines, &cur, false)
	case record.KindPurchaseOrder:
		b := &record.PurchaseOrder{}
		r.Body = b
		s.str(&b.Number)
		s.str(&b.Supplier.ID)
		s.str(&b.Supplier.Name)
		s.str(&b.Supplier.Key)
		s.str(&b.Supplier.Account)
		s.date(&b.OrderDate)
		s.str(&b.Status)
		s.str(&cur)
		s.money(&cur, &b.Total)
		s.lines(&b.Lines, &cur, true)
	case record.KindGoodsReceipt:
		b := &record.GoodsReceipt{}
		r.Body = b
		s.str(&b.Number)
		s.str(&b.PORef)
		s.str(&b.Supplier.ID)
		s.str(&b.Supplier.Name)
		s.str(&b.Supplier.Account)
		s.date(&b.ReceiptDate)
		s.str(&b.Status)
		s.lines(&b.Lines, &cur, false)
	case record.KindExpenseClaim:
		b := &record.ExpenseClaim{}
		r.Body = b
		var paid uint8
		s.str(&b.Number)
		s.str(&b.Employee.ID)
		s.str(&b.Employee.Name)
		s.str(&b.Employee.Account)
		s.str(&b.Department)
		s.str(&cur)
		s.money(&cur, &b.Amount)
		s.date(&b.ClaimDate)
		s.str(&b.ExpenseType)
		s.str(&b.GLAccount)
		s.str(&b.Description)
		s.str(&b.ApprovalStatus)
		s.dest = append(s.dest, &paid)
		s.after = append(s.after, func() error { b.Paid = paid != 0; return nil })
		s.nullDate(&b.PaidDate)
	case record.KindApproval:
		b := &record.Approval{}
		r.Body = b
		var subject string
		s.str(&subject)
		s.after = append(s.after, func() error {
			k, ok := record.ParseKind(subject)
			if !ok {
				return fmt.Errorf("unknown subject kind %q", subject)
			}
			b.SubjectKind = k
			return nil
		})
		s.str(&b.SubjectID)
		s.dest = append(s.dest, &b.Step, &b.Level, &b.RequiredLevels)
		s.str(&b.Approver.ID)
		s.str(&b.Approver.Name)
		s.str(&b.Approver.Account)
		s.str(&b.Action)
		s.dest = append(s.dest, &b.ActedAt)
		s.str(&b.Comment)
	default:
		return fmt.Errorf("no history reader for kind %s", r.Kind)
	}
	if flagged[r.Kind] {
		s.str(&r.Flags.DuplicateOf)
	}
	if err := rows.Scan(s.dest...); err != nil {
		return err
	}
	p.Partition, p.Offset = int32(partition), int64(offset)
	for _, f := range s.after {
		if err := f(); err != nil {
			return fmt.Errorf("%s %s/%s: %w", r.Kind, r.Source, r.ID, err)
		}
	}
	return nil
}
