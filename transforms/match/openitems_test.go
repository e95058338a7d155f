package match

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/erpflow/erpflow/pipeline/record"
)

var cny = record.MustCurrency("CNY")

func inv(id, party string, minor int64, due int, version uint64) OpenItem {
	m := record.Money{Minor: minor, Currency: cny}
	return OpenItem{Kind: record.KindInvoice, Source: "erp", ID: id, Number: id, Direction: "AR", PartyID: party,
		PartyKey: "key-" + party, Total: m, Open: m, DueDate: record.MakeDate(2025, 5, due), Version: version}
}

func ids(items []*OpenItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, fmt.Sprintf("%s:%d", it.ID, it.Open.Minor))
	}
	return out
}

func TestBookIndexes(t *testing.T) {
	b := NewBook()
	b.Put(inv("INV-3", "C1", 500, 20, 1))
	b.Put(inv("INV-1", "C1", 500, 10, 1))
	b.Put(inv("INV-2", "C2", 700, 15, 1))
	if got := ids(b.ByAmount(record.Money{Minor: 500, Currency: cny})); fmt.Sprint(got) != "[INV-1:500 INV-3:500]" {
		t.Errorf("by amount (due date order): %v", got)
	}
	if got := ids(b.ByParty("key-C1")); fmt.Sprint(got) != "[INV-1:500 INV-3:500]" {
		t.Errorf("by party: %v", got)
	}
	if got := ids(b.ByNumber("INV-2")); fmt.Sprint(got) != "[INV-2:700]" {
		t.Errorf("by number: %v", got)
	}
	so := inv("INV-9", "C9", 100, 1, 1)
	so.OrderRef = "SO-7"
	b.Put(so)
	if got := ids(b.ByNumber("SO-7")); fmt.Sprint(got) != "[INV-9:100]" {
		t.Errorf("by order reference: %v", got)
	}
	b.Remove(record.KindInvoice, "erp", "INV-9")
	if b.ByNumber("SO-7") != nil {
		t.Error("a removed item is still found by its order reference")
	}
	if b.ByAmount(record.Money{Minor: 500, Currency: record.MustCurrency("USD")}) != nil {
		t.Error("an amount in another currency matched")
	}

	// An amended invoice replaces its older version; an older one is ignored.
	b.Put(inv("INV-2", "C2", 900, 15, 2))
	b.Put(inv("INV-2", "C2", 100, 15, 1))
	if got := ids(b.ByNumber("INV-2")); fmt.Sprint(got) != "[INV-2:900]" || b.ByAmount(record.Money{Minor: 700, Currency: cny}) != nil {
		t.Errorf("after amendment: %v", got)
	}

	// A partial payment leaves the residual open under the new amount.
	it := b.Get(record.KindInvoice, "erp", "INV-2")
	if !b.Settle(it, record.Money{Minor: 400, Currency: cny}) {
		t.Fatal("settle refused")
	}
	if got := ids(b.ByAmount(record.Money{Minor: 500, Currency: cny})); fmt.Sprint(got) != "[INV-1:500 INV-2:500 INV-3:500]" {
		t.Errorf("residual not indexed by its open amount: %v", got)
	}
	// Never beyond what is open, never in another currency.
	it = b.Get(record.KindInvoice, "erp", "INV-2")
	if b.Settle(it, record.Money{Minor: 501, Currency: cny}) || b.Settle(it, record.Money{Minor: 1, Currency: record.MustCurrency("USD")}) || b.Settle(it, record.Money{Minor: 0, Currency: cny}) {
		t.Error("settled beyond the open amount, in another currency, or nothing")
	}
	if !b.Settle(it, record.Money{Minor: 500, Currency: cny}) || b.Get(record.KindInvoice, "erp", "INV-2") != nil {
		t.Error("a fully settled item stays open")
	}
	b.Remove(record.KindInvoice, "erp", "INV-1")
	if b.Len() != 1 || len(b.ByParty("key-C1")) != 1 || len(b.byAmount) != 1 {
		t.Errorf("after remove: %d items, party %v", b.Len(), ids(b.ByParty("key-C1")))
	}
}

// BenchmarkBook fills a book with one million open items, reports the
// memory each takes, and times a candidate search by amount and party.
func BenchmarkBook(b *testing.B) {
	const n = 1_000_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	book := NewBook()
	for i := 0; i < n; i++ {
		book.Put(inv(fmt.Sprintf("INV-2025-%07d", i), fmt.Sprintf("C%05d", i%20000), int64(10000+i%50000), 1+i%28, 1))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perItem := float64(after.HeapAlloc-before.HeapAlloc) / n
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := book.ByAmount(record.Money{Minor: int64(10000 + i%50000), Currency: cny})
		p := book.ByParty(fmt.Sprintf("key-C%05d", i%20000))
		if len(c) == 0 || len(p) == 0 {
			b.Fatal("no candidates")
		}
	}
	b.ReportMetric(perItem, "B/open-item")
	runtime.KeepAlive(book)
}
