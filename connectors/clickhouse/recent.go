package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"

	"github.com/erpflow/erpflow/pipeline/record"
)

// recentQueries read, per kind with an amount, what the flag stage needs
// to know of a landed record: party, amount, date and the kind's own
// distinguishing fields, in a fixed column order (see Recent).
var recentQueries = map[record.Kind][]string{
	record.KindInvoice:       {"party_id", "party_name", "party_key", "currency", "total", "issue_date", "direction", "order_ref", "status", "''"},
	record.KindPayment:       {"party_id", "party_name", "party_key", "currency", "amount", "value_date", "direction", "''", "status", "''"},
	record.KindExpenseClaim:  {"employee_id", "employee_name", "''", "currency", "amount", "claim_date", "expense_type", "''", "approval_status", "description"},
	record.KindBankTxn:       {"''", "counterparty_name", "counterparty_key", "currency", "amount", "booking_date", "direction", "''", "''", "''"},
	record.KindSalesOrder:    {"customer_id", "customer_name", "customer_key", "currency", "total", "order_date", "''", "''", "status", "''"},
	record.KindPurchaseOrder: {"supplier_id", "supplier_name", "supplier_key", "currency", "total", "order_date", "''", "''", "status", "''"},
}

// Recent calls f with the latest version of up to limit records of each
// kind and company with an amount landed since since (a company's flag
// memory is bounded per company too), in the order their first
// versions landed (oldest first, by partition offset within a second), built
// just far enough for the flag stage (party, amount, date, class, status).
// The job rebuilds the flag stage's memory from it after a restart.
func Recent(ctx context.Context, conn driver.Conn, since time.Time, limit int, f func(*record.Record)) (int, error) {
	// The newest row of each record, in the order the records' first
	// versions came: the flag stage takes the earlier of two look-alike
	// documents as the original, and a document's newest version may have
	// come after its copy. Within one second (ingest_time's resolution),
	// the first version's offset decides: look-alikes are of one company,
	// kind and source, so of one partition. All kinds come in one stream
	// in that order, since invoices, payments and claims share the stage's
	// window of documents: read kind after kind, a company with a window's
	// worth of payments and claims in the period pushed every invoice out,
	// however recent.
	at := since.UTC().Format("2006-01-02 15:04:05")
	var branches []string
	for _, k := range record.Kinds {
		cols, ok := recentQueries[k]
		if !ok {
			continue
		}
		// Every column named, the same in every branch: UNION ALL takes
		// the first branch's names, and repeated unnamed '' columns can
		// collapse into one.
		named := make([]string, len(cols))
		for i, c := range cols {
			named[i] = fmt.Sprintf("%s AS c%d", c, i)
		}
		branches = append(branches, fmt.Sprintf(`SELECT toUInt8(%[6]d) AS kind, company, source, id, version, %[1]s, first_time, first_offset FROM (
			SELECT * FROM %[2]s FINAL WHERE ingest_time >= toDateTime('%[3]s', 'UTC')
			ORDER BY ingest_time DESC LIMIT %[4]d BY company
		) ANY LEFT JOIN (
			SELECT company, source, id, min(ingest_time) AS first_time, min(src_offset) AS first_offset
			FROM %[5]s
			WHERE (company, source, id) IN (SELECT company, source, id FROM %[2]s FINAL WHERE ingest_time >= toDateTime('%[3]s', 'UTC')
				ORDER BY ingest_time DESC LIMIT %[4]d BY company)
			GROUP BY company, source, id
		) USING (company, source, id)`, strings.Join(named, ", "), Tables[k], at, limit, VersionsTable(k), int(k)))
	}
	q := "SELECT * FROM (" + strings.Join(branches, "\nUNION ALL\n") + ") ORDER BY first_time, first_offset, kind, company, source, id"
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("read recent records: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var kind uint8
		var company, source, id, pid, pname, pkey, cur, class, ref, status, desc string
		var version, firstOffset uint64
		var amount decimal.Decimal
		var day, firstTime time.Time
		if err := rows.Scan(&kind, &company, &source, &id, &version, &pid, &pname, &pkey, &cur, &amount, &day, &class, &ref, &status, &desc,
			&firstTime, &firstOffset); err != nil {
			return n, fmt.Errorf("read recent records: %w", err)
		}
		c, err := record.ParseCurrency(cur)
		if err != nil {
			continue // a row without a currency has nothing to compare
		}
		k := record.Kind(kind)
		money := record.Money{Minor: amount.Shift(int32(c.Scale())).IntPart(), Currency: c}
		party := record.Party{ID: pid, Name: pname, Key: pkey}
		d := record.DateOf(day)
		r := &record.Record{Envelope: record.Envelope{Kind: k, Company: company, Source: source, ID: id, Version: version}}
		switch k {
		case record.KindInvoice:
			r.Body = &record.Invoice{Party: party, Total: money, IssueDate: d, Direction: class, OrderRef: ref, Status: status}
		case record.KindPayment:
			r.Body = &record.Payment{Party: party, Amount: money, ValueDate: d, Direction: class, Status: status}
		case record.KindExpenseClaim:
			r.Body = &record.ExpenseClaim{Employee: party, Amount: money, ClaimDate: d, ExpenseType: class, ApprovalStatus: status, Description: desc}
		case record.KindBankTxn:
			r.Body = &record.BankTxn{Counterparty: party, Amount: money, BookingDate: d, Direction: class}
		case record.KindSalesOrder:
			r.Body = &record.SalesOrder{Customer: party, Total: money, OrderDate: d, Status: status}
		case record.KindPurchaseOrder:
			r.Body = &record.PurchaseOrder{Supplier: party, Total: money, OrderDate: d, Status: status}
		default:
			return n, fmt.Errorf("read recent records: kind %d", kind)
		}
		f(r)
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("read recent records: %w", err)
	}
	return n, nil
}
