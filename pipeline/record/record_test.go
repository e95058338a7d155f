package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// docExamples returns the ```json blocks of docs/records.md, so that the page
// a producer reads is the page the decoder is tested against.
func docExamples(t testing.TB) [][]byte {
	t.Helper()
	doc, err := os.ReadFile("../../docs/records.md")
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, m := range regexp.MustCompile("(?s)```json\n(.*?)\n```").FindAllSubmatch(doc, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestDocExamplesRoundTrip(t *testing.T) {
	seen := map[Kind]bool{}
	d := NewDecoder()
	for _, ex := range docExamples(t) {
		var r Record
		if err := d.Decode(ex, &r); err != nil {
			t.Fatalf("decode %s: %v", ex, err)
		}
		if r.Body.Kind() != r.Kind {
			t.Fatalf("body %T for kind %s", r.Body, r.Kind)
		}
		seen[r.Kind] = true
		if got := Marshal(&r); !bytes.Equal(got, ex) {
			t.Errorf("re-encoding changed the record:\n got %s\nwant %s", got, ex)
		}
	}
	for _, k := range Kinds {
		if !seen[k] {
			t.Errorf("docs/records.md has no example of kind %s", k)
		}
	}
}

func TestDecodeValues(t *testing.T) {
	ex := docExamples(t)
	d := NewDecoder()
	var r Record
	if err := d.Decode(ex[0], &r); err != nil {
		t.Fatal(err)
	}
	inv := r.Body.(*Invoice)
	if inv.Total.Minor != 1130000 || inv.Total.Currency.String() != "CNY" {
		t.Errorf("total = %+v", inv.Total)
	}
	if inv.Lines[0].Quantity != 20*10000 || inv.Lines[0].UnitPrice != 500*10000 {
		t.Errorf("line = %+v", inv.Lines[0])
	}
	if inv.DueDate.String() != "2025-05-16" || inv.Party.Name != "上海华东贸易有限公司" {
		t.Errorf("due %s party %q", inv.DueDate, inv.Party.Name)
	}
	if r.Version != 3 || r.EventTime.Format("2006-01-02T15:04:05Z07:00") != "2025-04-16T06:30:00Z" {
		t.Errorf("envelope = %+v", r.Envelope)
	}
}

// TestDecodeKeyOrderAndEscapes: a body before its kind, escaped keys and
// strings, and whitespace decode as the same record as the plain form.
func TestDecodeKeyOrderAndEscapes(t *testing.T) {
	d := NewDecoder()
	var want Record
	if err := d.Decode(docExamples(t)[0], &want); err != nil {
		t.Fatal(err)
	}
	body := string(Marshal(&want))
	body = body[strings.Index(body, `"body":`)+len(`"body":`) : len(body)-1]
	for name, in := range map[string]string{
		"body first":   `{"body":` + body + `,"version":3,"kind":"invoice","company":"SH01","source":"erp","id":"INV-2025-0042","event_time":"2025-04-16T06:30:00Z"}`,
		"escaped keys": `{"\u006bind":"invoice","comp\u0061ny":"SH01","source":"erp","id":"INV-2025-0042","version":3,"event_time":"2025-04-16T06:30:00Z","body":` + body + `}`,
		"whitespace":   " \n{ \"kind\" : \"invoice\" ,\"company\":\"SH01\",\"source\":\"erp\",\"id\":\"INV-2025-0042\",\"version\":3,\"event_time\":\"2025-04-16T06:30:00Z\",\"body\":" + body + "\t}\r\n",
	} {
		var r Record
		if err := d.Decode([]byte(in), &r); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := Marshal(&r); !bytes.Equal(got, Marshal(&want)) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, Marshal(&want))
		}
	}
	var r Record
	in := bytes.Replace(docExamples(t)[0], []byte(`"number":"INV-2025-0042"`), []byte(`"number":"INV\ud83d\ude00\u4e2d\n\ud800"`), 1)
	if err := d.Decode(in, &r); err != nil {
		t.Fatal(err)
	}
	if got := r.Body.(*Invoice).Number; got != "INV😀中\n\uFFFD" {
		t.Errorf("escapes: %q (a lone surrogate becomes U+FFFD)", got)
	}
}

// mutate replaces old with new in the first doc example of kind k.
func mutate(t *testing.T, kind, old, new string) []byte {
	t.Helper()
	for _, ex := range docExamples(t) {
		if bytes.Contains(ex, []byte(`"kind":"`+kind+`"`)) {
			if !bytes.Contains(ex, []byte(old)) {
				t.Fatalf("example %s has no %q", kind, old)
			}
			return bytes.Replace(ex, []byte(old), []byte(new), 1)
		}
	}
	t.Fatalf("no example of %s", kind)
	return nil
}

func TestDecodeRefusals(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		code string
	}{
		{"empty", nil, "empty_body"},
		{"blank", []byte(" \n\t"), "empty_body"},
		{"gbk bytes", []byte("{\"kind\":\"invoice\",\"company\":\"\xc9\xcf\xba\xa3\"}"), "invalid_utf8"},
		{"not json", []byte("BUKRS;BELNR"), "invalid_json"},
		{"truncated", []byte(`{"kind":"invoice","company":"A"`), "invalid_json"},
		{"array", []byte(`[1,2]`), "invalid_json"},
		{"no kind", []byte(`{"company":"A"}`), "missing_field:kind"},
		{"kind number", []byte(`{"kind":7}`), "wrong_type:kind"},
		{"unknown kind", []byte(`{"kind":"voucher"}`), "unknown_kind"},
		{"top-level unknown", mutate(t, "invoice", `"version":3`, `"version":3,"ingest_time":"2025-01-01T00:00:00Z"`), "unknown_field:ingest_time"},
		{"no company", mutate(t, "invoice", `"company":"SH01",`, ``), "missing_field:company"},
		{"empty id", mutate(t, "invoice", `"id":"INV-2025-0042"`, `"id":""`), "missing_field:id"},
		{"no version", mutate(t, "invoice", `"version":3,`, ``), "missing_field:version"},
		{"version string", mutate(t, "invoice", `"version":3`, `"version":"3"`), "wrong_type:version"},
		{"version float", mutate(t, "invoice", `"version":3`, `"version":3.5`), "wrong_type:version"},
		{"version negative", mutate(t, "invoice", `"version":3`, `"version":-1`), "wrong_type:version"},
		{"bad event time", mutate(t, "invoice", `2025-04-16T06:30:00Z`, `2025-04-16 06:30`), "wrong_type:event_time"},
		{"no body", mutate(t, "shipment", `"body"`, `"bodi"`), "unknown_field:bodi"},
		{"body not object", []byte(`{"kind":"invoice","company":"A","source":"s","id":"1","version":1,"event_time":"2025-01-01T00:00:00Z","body":[]}`), "wrong_type:body"},
		{"missing body", []byte(`{"kind":"invoice","company":"A","source":"s","id":"1","version":1,"event_time":"2025-01-01T00:00:00Z"}`), "missing_field:body"},
		{"body unknown", mutate(t, "invoice", `"status":"open"`, `"status":"open","colour":"red"`), "unknown_field:body.colour"},
		{"missing number", mutate(t, "invoice", `"number":"INV-2025-0042",`, ``), "missing_field:body.number"},
		{"party without id", mutate(t, "invoice", `{"id":"C0007","name"`, `{"name"`), "missing_field:body.party.id"},
		{"party unknown key", mutate(t, "invoice", `{"id":"C0007"`, `{"iban":"x","id":"C0007"`), "unknown_field:body.party.iban"},
		{"amount as number", mutate(t, "invoice", `"total":{"amount":"11300.00"`, `"total":{"amount":11300`), "wrong_type:body.total.amount"},
		{"amount too precise", mutate(t, "invoice", `"total":{"amount":"11300.00"`, `"total":{"amount":"11300.001"`), "wrong_type:body.total.amount"},
		{"amount with comma", mutate(t, "invoice", `"total":{"amount":"11300.00"`, `"total":{"amount":"11,300.00"`), "wrong_type:body.total.amount"},
		{"no currency", mutate(t, "invoice", `"amount":"11300.00","currency":"CNY"`, `"amount":"11300.00"`), "missing_field:body.total.currency"},
		{"unknown currency", mutate(t, "invoice", `"amount":"11300.00","currency":"CNY"`, `"amount":"11300.00","currency":"RMB"`), "wrong_type:body.total.currency"},
		{"impossible date", mutate(t, "invoice", `"due_date":"2025-05-16"`, `"due_date":"2025-02-30"`), "wrong_type:body.due_date"},
		{"open-ended date", mutate(t, "invoice", `"due_date":"2025-05-16"`, `"due_date":"9999-12-31"`), "wrong_type:body.due_date"},
		{"date before 1970", mutate(t, "invoice", `"issue_date":"2025-04-16"`, `"issue_date":"1969-12-31"`), "wrong_type:body.issue_date"},
		{"time before 1970", mutate(t, "invoice", `2025-04-16T06:30:00Z`, `1960-01-01T00:00:00Z`), "wrong_type:event_time"},
		{"time after 2105", mutate(t, "approval", `"acted_at":"2025-04-18T02:15:00Z"`, `"acted_at":"2106-01-01T00:00:00Z"`), "wrong_type:body.acted_at"},
		{"bad status", mutate(t, "invoice", `"status":"open"`, `"status":"已付款"`), "wrong_type:body.status"},
		{"bad direction", mutate(t, "invoice", `"direction":"AR"`, `"direction":"ar"`), "wrong_type:body.direction"},
		{"line without sku", mutate(t, "invoice", `"sku":"P-100",`, ``), "missing_field:body.lines[0].sku"},
		{"line quantity", mutate(t, "invoice", `"quantity":"20"`, `"quantity":"2 0"`), "wrong_type:body.lines[0].quantity"},
		{"negative bank amount", mutate(t, "bank_txn", `"amount":{"amount":"11285.00"`, `"amount":{"amount":"-11285.00"`), "wrong_type:body.amount"},
		{"paid not bool", mutate(t, "expense_claim", `"paid":true`, `"paid":"是"`), "wrong_type:body.paid"},
		{"refs not strings", mutate(t, "payment", `["AP-2025-0088"]`, `[88]`), "wrong_type:body.invoice_refs[0]"},
		{"step zero", mutate(t, "approval", `"step":2`, `"step":0`), "missing_field:body.step"},
		{"tax in other currency", mutate(t, "invoice", `"tax":{"amount":"1300.00","currency":"CNY"}`, `"tax":{"amount":"1300.00","currency":"USD"}`), "wrong_type:body.tax.currency"},
		{"line in other currency", mutate(t, "purchase_order", `"amount":{"amount":"4520.00","currency":"EUR"}}]`, `"amount":{"amount":"4520.00","currency":"USD"}}]`), "wrong_type:body.lines[0].amount.currency"},
		{"charges in other currency", mutate(t, "bank_txn", `"charges":{"amount":"15.00","currency":"CNY"}`, `"charges":{"amount":"15.00","currency":"USD"}`), "wrong_type:body.charges.currency"},
		{"subject kind", mutate(t, "approval", `"subject_kind":"expense_claim"`, `"subject_kind":"claim"`), "wrong_type:body.subject_kind"},
		// records.md: an empty string in a required key counts as missing.
		{"empty status", mutate(t, "invoice", `"status":"open"`, `"status":""`), "missing_field:body.status"},
		{"empty direction", mutate(t, "invoice", `"direction":"AR"`, `"direction":""`), "missing_field:body.direction"},
		{"empty issue date", mutate(t, "invoice", `"issue_date":"2025-04-16"`, `"issue_date":""`), "missing_field:body.issue_date"},
		{"empty event time", mutate(t, "invoice", `"event_time":"2025-04-16T06:30:00Z"`, `"event_time":""`), "missing_field:event_time"},
		{"empty amount", mutate(t, "invoice", `"total":{"amount":"11300.00"`, `"total":{"amount":""`), "missing_field:body.total.amount"},
		{"empty quantity", mutate(t, "invoice", `"quantity":"20"`, `"quantity":""`), "missing_field:body.lines[0].quantity"},
		// 1970-01-01 is the empty date, in erpflow and in ClickHouse.
		{"the empty date", mutate(t, "bank_txn", `"booking_date":"2025-05-20"`, `"booking_date":"1970-01-01"`), "wrong_type:body.booking_date"},
		// Offsets Go's time.Parse lets by: a day's shift, 60 minutes, a comma.
		{"offset of 24 hours", mutate(t, "invoice", `2025-04-16T06:30:00Z`, `2025-04-16T06:30:00+24:00`), "wrong_type:event_time"},
		{"offset of 60 minutes", mutate(t, "invoice", `2025-04-16T06:30:00Z`, `2025-04-16T06:30:00+08:60`), "wrong_type:event_time"},
		{"comma fraction", mutate(t, "invoice", `2025-04-16T06:30:00Z`, `2025-04-16T06:30:00,5Z`), "wrong_type:event_time"},
		{"ten fraction digits", mutate(t, "invoice", `2025-04-16T06:30:00Z`, `2025-04-16T06:30:00.1234567891Z`), "wrong_type:event_time"},
		// A producer's key must not make the path name a real field.
		{"dotted key", mutate(t, "invoice", `"status":"open"`, `"status":"open","party.id":"x"`), `unknown_field:body.party\u002eid`},
		// Precedence, whatever the order of the keys: bad JSON anywhere,
		// then the kind, then the first bad top-level field, then the body.
		{"nul after the record", []byte("{}\x00"), "invalid_json"},
		{"field error then bad JSON", mutate(t, "invoice", `"company":"SH01"`, `"company":7`+`,,`), "invalid_json"},
		{"body error then bad JSON", mutate(t, "invoice", `"status":"open"`, `"status":"nope","x":[1,}`), "invalid_json"},
		{"control character", mutate(t, "invoice", `"number":"INV-2025-0042"`, "\"number\":\"INV\t42\""), "invalid_json"},
		{"bad escape", mutate(t, "invoice", `"number":"INV-2025-0042"`, `"number":"INV\x42"`), "invalid_json"},
		{"leading zero", mutate(t, "invoice", `"version":3`, `"version":03`), "invalid_json"},
		{"kind after a bad field", []byte(`{"company":7,"kind":"voucher"}`), "unknown_kind"},
		{"kind wrong after a bad field", []byte(`{"company":7,"kind":[1]}`), "wrong_type:kind"},
		{"first bad field wins", []byte(`{"kind":"invoice","colour":1,"company":7}`), "unknown_field:colour"},
		{"field before body", []byte(`{"body":{"colour":1},"kind":"invoice","company":7}`), "wrong_type:company"},
		{"missing before body", []byte(`{"kind":"invoice","body":{"colour":1},"company":"A"}`), "missing_field:source"},
		{"version too big", mutate(t, "invoice", `"version":3`, `"version":18446744073709551616`), "wrong_type:version"},
		{"step too big", mutate(t, "approval", `"step":2`, `"step":4294967296`), "wrong_type:body.step"},
		{"deep nesting", []byte(`{"kind":"invoice","x":` + strings.Repeat("[", 400) + strings.Repeat("]", 400) + `}`), "invalid_json"},
	}
	d := NewDecoder()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r Record
			err := d.Decode(c.in, &r)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode(%s) = %v, want a *DecodeError %s", c.in, err, c.code)
			}
			if de.Code() != c.code {
				t.Fatalf("code = %s (%v), want %s", de.Code(), err, c.code)
			}
			if !strings.HasPrefix(err.Error(), c.code) {
				t.Errorf("message %q does not start with its code", err)
			}
		})
	}
}

func TestMoney(t *testing.T) {
	cny, jpy, bhd := MustCurrency("CNY"), MustCurrency("JPY"), MustCurrency("BHD")
	cases := []struct {
		in   string
		cur  Currency
		want int64
		str  string
		err  error
	}{
		{"1234.50", cny, 123450, "1234.50", nil},
		{"1234.5", cny, 123450, "1234.50", nil},
		{"-0.01", cny, -1, "-0.01", nil},
		{"+7", cny, 700, "7.00", nil},
		{"0", jpy, 0, "0", nil},
		{"1500", jpy, 1500, "1500", nil},
		{"1.5", jpy, 0, "", ErrTooPrecise},
		{"0.125", bhd, 125, "0.125", nil},
		{"1.", cny, 0, "", ErrBadDecimal},
		{".5", cny, 0, "", ErrBadDecimal},
		{"1e3", cny, 0, "", ErrBadDecimal},
		{"1,000", cny, 0, "", ErrBadDecimal},
		{"99999999999999999999", cny, 0, "", ErrOverflow},
		{"99999999999999.99", cny, 9999999999999999, "99999999999999.99", nil},
		{"100000000000000", cny, 0, "", ErrOverflow},
		{"-100000000000000", jpy, 0, "", ErrOverflow},
	}
	for _, c := range cases {
		m, err := ParseMoney(c.in, c.cur)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("ParseMoney(%q) err = %v, want %v", c.in, err, c.err)
			}
			continue
		}
		if err != nil || m.Minor != c.want || m.String() != c.str {
			t.Errorf("ParseMoney(%q, %s) = %d %q %v, want %d %q", c.in, c.cur, m.Minor, m.String(), err, c.want, c.str)
		}
	}
	if _, err := (Money{1, cny}).Add(Money{1, jpy}); !errors.Is(err, ErrCurrencyMismatch) {
		t.Errorf("adding CNY to JPY: %v", err)
	}
}

func TestFixed(t *testing.T) {
	for in, want := range map[string]string{"2": "2", "1.5000": "1.5", "-0.0001": "-0.0001", "12.3456": "12.3456", "0.10": "0.1"} {
		f, err := ParseFixed(in)
		if err != nil || f.String() != want {
			t.Errorf("ParseFixed(%q) = %s, %v; want %s", in, f, err, want)
		}
	}
	if _, err := ParseFixed("1.23456"); !errors.Is(err, ErrTooPrecise) {
		t.Errorf("five decimals: %v", err)
	}
}

func TestAppendString(t *testing.T) {
	cases := map[string]string{
		"plain":        `"plain"`,
		`a"b\c`:        `"a\"b\\c"`,
		"tab\tnl\n":    `"tab\tnl\n"`,
		"\x01":         `"\u0001"`,
		"上海":           `"上海"`,
		"bad\xffbyte":  `"bad\ufffdbyte"`,
		"sep\u2028end": `"sep\u2028end"`,
	}
	for in, want := range cases {
		if got := string(appendString(nil, in)); got != want {
			t.Errorf("appendString(%q) = %s, want %s", in, got, want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, ex := range docExamples(f) {
		f.Add(ex)
	}
	f.Add([]byte(`{"kind":"invoice"}`))
	f.Add([]byte("\xff"))
	// The one-pass decoder's own paths: a body before its kind, escapes,
	// repeated keys, a field error before bad JSON, numbers at the limits.
	f.Add([]byte(`{"body":{"number":"A"},"kind":"invoice","company":"\u0041","source":"s","id":"1","version":1,"event_time":"2025-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"kind":"approval","kind":"x","company":7,"body":{"step":4294967295,"x":[[{}]]},"version":18446744073709551615}`))
	f.Add([]byte(`{"kind":"payment","id":"\ud83d\ude00\ud800","body":{"invoice_refs":["a",1]},"version":-0,}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder()
		var r Record
		if err := d.Decode(data, &r); err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DecodeError", err)
			}
			return
		}
		// Whatever decodes must encode to canonical bytes that decode to the
		// same record and encode to the same bytes again.
		enc := Marshal(&r)
		var r2 Record
		if err := d.Decode(enc, &r2); err != nil {
			t.Fatalf("re-decode of %s: %v", enc, err)
		}
		if enc2 := Marshal(&r2); !bytes.Equal(enc, enc2) {
			t.Fatalf("not stable:\n%s\n%s", enc, enc2)
		}
	})
}

func TestDateLimits(t *testing.T) {
	for in, ok := range map[string]bool{"1970-01-01": false, "1970-01-02": true, "2105-12-31": true, "2106-01-01": false, "9999-12-31": false, "1969-12-31": false} {
		_, err := ParseDate(in)
		if (err == nil) != ok {
			t.Errorf("ParseDate(%s): %v", in, err)
		}
	}
}

// TestHugeUnknownKeyKeepsTheReasonShort: a key is the producer's to
// choose; the reason code that names it stays short enough for the dead
// letter to be written (a 460 KiB key made one too large, which held its
// batch for good).
func TestHugeUnknownKeyKeepsTheReasonShort(t *testing.T) {
	key := strings.Repeat("账", 160<<10) // 480 KiB
	in := mutate(t, "invoice", `"status":"open"`, `"status":"open","`+key+`":1`)
	var r Record
	err := NewDecoder().Decode(in, &r)
	var de *DecodeError
	if !errors.As(err, &de) || de.Reason != ReasonUnknownField {
		t.Fatalf("error %v, want unknown_field", err)
	}
	if code := de.Code(); len(code) > 200 || !strings.HasPrefix(code, "unknown_field:body.账账") || !strings.Contains(code, "(491520 bytes)") || !utf8.ValidString(code) {
		t.Errorf("code %.300q (%d bytes)", code, len(code))
	}
}

// BenchmarkDecode decodes the docs' examples in turn (ns/op per record).
func BenchmarkDecode(b *testing.B) {
	ex := docExamples(b)
	d := NewDecoder()
	var r Record
	var n int
	for _, e := range ex {
		n += len(e)
	}
	b.SetBytes(int64(n / len(ex)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := d.Decode(ex[i%len(ex)], &r); err != nil {
			b.Fatal(err)
		}
	}
}

func TestParseUTCSecondsAgreesWithTimeParse(t *testing.T) {
	for _, in := range []string{"2025-04-16T06:30:00Z", "1970-01-01T00:00:00Z", "2024-02-29T23:59:59Z",
		"2025-02-29T00:00:00Z", "2025-13-01T00:00:00Z", "2025-04-16T24:00:00Z", "2025-04-16T06:30:00+08:00", "2025-04-16 06:30:00Z"} {
		fast, ok := ParseUTCSeconds([]byte(in))
		slow, err := time.Parse(time.RFC3339Nano, in)
		if ok && (err != nil || !fast.Equal(slow)) {
			t.Errorf("%s: fast path %v, time.Parse %v %v", in, fast, slow, err)
		}
	}
}

// TestValidateAppliesTheDecodersRules checks records built in code (as the
// mapping stage builds them) against the same rules and reasons.
func TestValidateAppliesTheDecodersRules(t *testing.T) {
	d := NewDecoder()
	for _, ex := range docExamples(t) {
		var r Record
		if err := d.Decode(ex, &r); err != nil {
			t.Fatal(err)
		}
		if err := Validate(&r); err != nil {
			t.Errorf("%s: %v", r.Kind, err)
		}
	}
	base := func() Record {
		var r Record
		if err := d.Decode(docExamples(t)[0], &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	cases := []struct {
		name   string
		change func(*Record)
		code   string
	}{
		{"status", func(r *Record) { r.Body.(*Invoice).Status = "已付款" }, "wrong_type:body.status"},
		{"direction", func(r *Record) { r.Body.(*Invoice).Direction = "ar" }, "wrong_type:body.direction"},
		{"party id", func(r *Record) { r.Body.(*Invoice).Party.ID = "" }, "missing_field:body.party.id"},
		{"tax currency", func(r *Record) { r.Body.(*Invoice).Tax.Currency = MustCurrency("USD") }, "wrong_type:body.tax.currency"},
		{"company", func(r *Record) { r.Company = "" }, "missing_field:company"},
		{"event time", func(r *Record) { r.EventTime = time.Time{} }, "missing_field:event_time"},
		{"body of another kind", func(r *Record) { r.Body = &Payment{} }, "missing_field:body"},
	}
	for _, c := range cases {
		r := base()
		c.change(&r)
		err := Validate(&r)
		var de *DecodeError
		if !errors.As(err, &de) || de.Code() != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
}

func TestLinesOf(t *testing.T) {
	withLines := map[Kind]bool{KindInvoice: true, KindSalesOrder: true, KindShipment: true, KindPurchaseOrder: true, KindGoodsReceipt: true}
	for _, k := range Kinds {
		b := NewBody(k)
		ls := LinesOf(b)
		if (ls != nil) != withLines[k] {
			t.Fatalf("%s: LinesOf = %v, want line items %v", k, ls, withLines[k])
		}
		if ls != nil {
			*ls = []Line{{SKU: "A"}}
			if got := LinesOf(b); len(*got) != 1 || (*got)[0].SKU != "A" {
				t.Fatalf("%s: lines set through LinesOf did not stay in the body", k)
			}
		}
	}
}

// printedCurrency keeps what String returns alive, as a caller would: a
// result that goes nowhere may be built on the stack.
var printedCurrency string

// TestCurrencyStringKnownCodes: every accepted code prints as itself
// without allocating (the sink prints one per amount); other values still
// print their bytes.
func TestCurrencyStringKnownCodes(t *testing.T) {
	for c := range minorUnits {
		if got, err := ParseCurrency(c.String()); err != nil || got != c {
			t.Errorf("%q: parsed back as %v, %v", c.String(), got, err)
		}
		if n := testing.AllocsPerRun(10, func() { printedCurrency = c.String() }); n != 0 {
			t.Errorf("%s: String allocated %v times", c.String(), n)
		}
	}
	if s := (Currency{'X', 'Y', 'Z'}).String(); s != "XYZ" {
		t.Errorf("unknown code printed as %q", s)
	}
	if s := (Currency{}).String(); s != "\x00\x00\x00" {
		t.Errorf("zero currency printed as %q", s)
	}
}

// TestDecodeRefusesRepeatedKeys: a key given twice in one object, at any
// depth and however escaped, refuses the record as invalid_json naming the
// key: keeping either copy would drop the other without a word. The same
// name in different objects is no repeat.
func TestDecodeRefusesRepeatedKeys(t *testing.T) {
	plain := string(docExamples(t)[0])
	d := NewDecoder()
	var r Record
	if err := d.Decode([]byte(plain), &r); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ old, new, key string }{
		"kind":            {`"kind":"invoice"`, `"kind":"invoice","kind":"payment"`, "kind"},
		"company":         {`"company":"SH01"`, `"company":"XX","company":"SH01"`, "company"},
		"escaped":         {`"company":"SH01"`, `"company":"SH01","comp\u0061ny":"XX"`, "company"},
		"body":            {`"body":{`, `"body":{},"body":{`, "body"},
		"in the body":     {`"number":"INV-2025-0042"`, `"number":"INV-2025-0042","number":"INV-2025-0043"`, "number"},
		"in the party":    {`"id":"C0007"`, `"id":"C0007","id":"C0002"`, "id"},
		"in an amount":    {`"currency":"CNY"`, `"currency":"CNY","currency":"USD"`, "currency"},
		"in a line item":  {`"sku":"`, `"sku":"X","sku":"`, "sku"},
		"after many keys": {`"order_ref":"`, `"order_ref":"A","order_ref":"`, "order_ref"},
	} {
		in := strings.Replace(plain, c.old, c.new, 1)
		if in == plain {
			t.Fatalf("%s: the example has no %s", name, c.old)
		}
		err := d.Decode([]byte(in), &r)
		var de *DecodeError
		if !errors.As(err, &de) || de.Code() != ReasonInvalidJSON || !strings.Contains(de.Detail, `"`+c.key+`" appears twice`) {
			t.Errorf("%s: %v, want invalid_json naming %q", name, err, c.key)
		}
	}
	// Long keys that differ in the middle are two keys, both unknown.
	long := strings.Replace(plain, `"body":{`, `"body":{"counterparty_account":"1","counterpARTY_account":"2",`, 1)
	err := d.Decode([]byte(long), &r)
	var de *DecodeError
	if !errors.As(err, &de) || de.Code() != "unknown_field:body.counterparty_account" {
		t.Errorf("two long keys: %v, want unknown_field:body.counterparty_account", err)
	}
	// Past the keys checked for repeats, a wide object is still refused.
	var wide strings.Builder
	for i := range 100 {
		fmt.Fprintf(&wide, `"k%d":1,`, i)
	}
	in := strings.Replace(plain, `"body":{`, `"body":{`+wide.String()+`"k80":2,`, 1)
	if err := d.Decode([]byte(in), &r); err == nil {
		t.Error("an object of a hundred unknown keys and a repeat was accepted")
	}
}

// TestKeyPrintsAreDistinct: keyPrint is exact up to sixteen bytes and a
// hash beyond, so two longer names could share a print and read as one key
// given twice. No two field names of the examples of every kind do, nor
// two long unknown keys that differ only in the middle.
func TestKeyPrintsAreDistinct(t *testing.T) {
	names := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				names[k] = true
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for _, ex := range docExamples(t) {
		var v any
		if err := json.Unmarshal(ex, &v); err != nil {
			t.Fatal(err)
		}
		walk(v)
	}
	if len(names) < 50 {
		t.Fatalf("only %d field names in the examples", len(names))
	}
	names["counterparty_account"], names["counterpARTY_account"] = true, true
	seen := map[keyPrint]string{}
	for k := range names {
		p := printOf([]byte(k))
		if other, ok := seen[p]; ok {
			t.Errorf("%q and %q have the same print", k, other)
		}
		seen[p] = k
	}
}
