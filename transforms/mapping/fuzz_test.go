package mapping

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/erpflow/erpflow/pipeline/record"
)

// FuzzMap feeds source records of every shipped mapping, and mutations of
// them, to its Mapper. Whatever maps must be a valid canonical record (its
// canonical JSON decodes to the same bytes again), and must stay as it was
// while the Mapper goes on to the next record: a mapped value that still
// viewed the parser's buffer or the number text would change under it.
// Whatever does not map is refused with a typed error, never a panic.
func FuzzMap(f *testing.F) {
	names := Shipped()
	mappers := make([]*Mapper, len(names))
	for i, name := range names {
		m, err := LoadShipped(name)
		if err != nil {
			f.Fatal(err)
		}
		mappers[i] = m.NewMapper()
	}
	golden, err := filepath.Glob(filepath.Join("testdata", "golden", "*.raw.json"))
	if err != nil || len(golden) == 0 {
		f.Fatalf("no golden raw records: %v", err)
	}
	for _, g := range golden {
		data, err := os.ReadFile(g)
		if err != nil {
			f.Fatal(err)
		}
		for i, name := range names {
			if strings.HasPrefix(filepath.Base(g), name+"_") {
				f.Add(uint8(i), data)
			}
		}
	}
	f.Add(uint8(0), []byte(`{"金额":1e400,"日期":20250416,"x":[true,null]}`))
	// Numbers where the mapping reads text (SAP's document and customer
	// numbers): their text is a view of the Mapper's number buffer.
	for i, name := range names {
		if name == "sap_en" {
			f.Add(uint8(i), []byte(`{"BUKRS":"BJ02","BELNR":1800000001,"GJAHR":"2025","BLART":"DR","KUNNR":11,"NAME1":"Müller GmbH",`+
				`"BLDAT":"20250106","ZFBDT":"20250307","WAERS":"USD","WRBTR":"202.85","WMWST":"","XBLNR":"INV-2025-000011",`+
				`"ZUONR":"SO-2025-000011","STATUS":"OPEN","AUGBL":"","AUGDT":"","ITEMS":[{"MATNR":"P-1047","MAKTX":"液压泵","MENGE":1,`+
				`"NETPR":"202.85","NETWR":"202.85"}],"CHANGENR":"0000000001","CHANGED_AT":"2025-01-06 02:10:47"}`))
		}
	}
	other := []byte(`{"padding":"` + strings.Repeat("z", 300) + `","n":123456789012345678901234567890}`)
	dec := record.NewDecoder()
	f.Fuzz(func(t *testing.T, src uint8, data []byte) {
		mp := mappers[int(src)%len(mappers)]
		var r record.Record
		if err := mp.Map([]byte("SH01"), data, &r); err != nil {
			var de *record.DecodeError
			var me *Error
			if !errors.As(err, &de) && !errors.As(err, &me) {
				t.Fatalf("error %v (%T) is neither a *record.DecodeError nor an *Error", err, err)
			}
			return
		}
		enc := record.Marshal(&r)
		// Overwrite what the record's texts must not view: the parser's
		// buffer (parsing a JSON string as long as the record copies over
		// all of it) and the number buffer.
		if n := len(bytes.TrimLeft(data, " \t\r\n")); n >= 2 {
			mp.p.ParseBytes([]byte(`"` + strings.Repeat("z", n-2) + `"`))
		}
		num := mp.num[:cap(mp.num)]
		for i := range num {
			num[i] = '#'
		}
		if again := record.Marshal(&r); !bytes.Equal(enc, again) {
			t.Fatalf("the mapped record changed with the Mapper's buffers:\n%s\n%s", enc, again)
		}
		var scratch record.Record
		mp.Map([]byte("SH01"), other, &scratch) // the next record reuses the buffers
		mp.Map([]byte("SH01"), data[:len(data)/2], &scratch)
		if again := record.Marshal(&r); !bytes.Equal(enc, again) {
			t.Fatalf("the mapped record changed when the mapper went on:\n%s\n%s", enc, again)
		}
		var back record.Record
		if err := dec.Decode(enc, &back); err != nil {
			t.Fatalf("mapped record is not valid canonical JSON: %v\n%s", err, enc)
		}
		if enc2 := record.Marshal(&back); !bytes.Equal(enc, enc2) {
			t.Fatalf("mapped record does not round-trip:\n%s\n%s", enc, enc2)
		}
	})
}

// TestMapperStartsEachRecordAfresh: every way into a Mapper (Map,
// EventTime, Company) starts a record, so the text of its JSON numbers
// (the shop's updated_at, Unix milliseconds) does not pile up in a Mapper
// that only ever reads event times, as erpflow produce's does.
func TestMapperStartsEachRecordAfresh(t *testing.T) {
	m, err := LoadShipped("shop")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("testdata", "golden", "shop_1.raw.json"))
	if err != nil {
		t.Fatal(err)
	}
	mp := m.NewMapper()
	for name, read := range map[string]func(){
		"EventTime": func() { mp.EventTime(data) },
		"Company":   func() { mp.Company(data) },
		"Map":       func() { mp.Map([]byte("BJ02"), data, new(record.Record)) },
	} {
		read()
		once := len(mp.num)
		for range 100 {
			read()
		}
		if len(mp.num) != once {
			t.Errorf("%s: number text grew from %d to %d bytes over 100 records", name, once, len(mp.num))
		}
	}
	if _, ok := mp.EventTime(data); !ok {
		t.Fatal("no event time read from the shop record")
	}
}

// TestMapperReadsEachRecordsCurrency holds the per-record memory of a
// money field's currency to one record: the next record's amounts take
// its own currency, and one whose currency is not one is refused. An ERP
// payment has a single money field, so a memory kept past its record
// would show at once; a shop order's line items ask again for the
// currency its total read.
func TestMapperReadsEachRecordsCurrency(t *testing.T) {
	for _, tc := range []struct {
		mapping, golden, field, word string
		// plain drops a currency the amount itself is written with.
		plain   *strings.Replacer
		amounts func(record.Body) []record.Money
	}{
		{"erp_cn", "erp_cn_3", "body.amount", `"币别":"¥"`, strings.NewReplacer(`"付款金额":"¥`, `"付款金额":"`), func(b record.Body) []record.Money {
			return []record.Money{b.(*record.Payment).Amount}
		}},
		{"shop", "shop_1", "body.total", `"currency":"CNY"`, strings.NewReplacer(), func(b record.Body) []record.Money {
			so := b.(*record.SalesOrder)
			out := []record.Money{so.Total}
			for _, l := range so.Lines {
				out = append(out, l.Amount)
			}
			return out
		}},
	} {
		m, err := LoadShipped(tc.mapping)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join("testdata", "golden", tc.golden+".raw.json"))
		if err != nil {
			t.Fatal(err)
		}
		mp := m.NewMapper()
		key := tc.word[:strings.Index(tc.word, ":")+1]
		for _, c := range []struct{ currency, want string }{
			{"CNY", "CNY"}, {"美元", "USD"}, {"CNY", "CNY"}, {"Rupees", ""}, {"人民币", "CNY"}, {"USD", "USD"},
			// Remembered by normal form, and a refusal is never remembered.
			{"ＵＳＤ", "USD"}, {"Rupees", ""}, {"美元", "USD"},
		} {
			raw := strings.Replace(tc.plain.Replace(string(data)), tc.word, key+`"`+c.currency+`"`, 1)
			var r record.Record
			err := mp.Map([]byte("SH01"), []byte(raw), &r)
			if c.want == "" {
				var de *record.DecodeError
				if !errors.As(err, &de) || de.Code() != "wrong_type:"+tc.field {
					t.Errorf("%s, currency %q: got %v, want wrong_type:%s", tc.mapping, c.currency, err, tc.field)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s, currency %q: %v", tc.mapping, c.currency, err)
			}
			for i, a := range tc.amounts(r.Body) {
				if got := a.Currency.String(); got != c.want {
					t.Errorf("%s, currency %q: amount %d in %s, want %s", tc.mapping, c.currency, i, got, c.want)
				}
			}
		}
	}
}
