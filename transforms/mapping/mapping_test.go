package mapping

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/erpflow/erpflow/pipeline/record"
)

func load(t *testing.T, path string) *Mapping {
	t.Helper()
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

const claim = `{"公司代码":"SH01","单据编号":"BX-1","版本号":"3","最后修改时间":"2025-04-16 14:30:05",
"工号":"E0042","报销人":" \"王芳\" ","部门":"销售部","报销金额":"壹仟贰佰叁拾肆元伍角整","报销日期":"２０２５年４月１６日",
"费用类型":"差旅费 ","付款状态":"已付款","审批状态":"已审批"}`

func TestMapClaim(t *testing.T) {
	m := load(t, "testdata/claims.yaml")
	var r record.Record
	if err := m.NewMapper().Map([]byte("SH01"), []byte(claim), &r); err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"expense_claim","company":"SH01","source":"reimb_test","id":"BX-1","version":3,"event_time":"2025-04-16T06:30:05Z","body":{"number":"BX-1","employee":{"id":"E0042","name":"王芳"},"department":"销售部","amount":{"amount":"1234.50","currency":"CNY"},"claim_date":"2025-04-16","expense_type":"差旅费","gl_account":"6601.02","approval_status":"approved","paid":true}}`
	if got := string(record.Marshal(&r)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if r.Provenance.Mapping != "test_claims" || r.Provenance.MappingVersion != 2 {
		t.Errorf("provenance %+v", r.Provenance)
	}
}

func TestMapRefusals(t *testing.T) {
	m := load(t, "testdata/claims.yaml")
	cases := []struct {
		name, old, new, code string
	}{
		{"unmapped status", `"审批状态":"已审批"`, `"审批状态":"作废中"`, "unmapped_value:body.approval_status"},
		{"a built-in word is not in this source's map", `"审批状态":"已审批"`, `"审批状态":"审批通过"`, "unmapped_value:body.approval_status"},
		{"blank required", `"工号":"E0042"`, `"工号":" - "`, "missing_field:body.employee.id"},
		{"bad amount", `"报销金额":"壹仟贰佰叁拾肆元伍角整"`, `"报销金额":"12.345"`, "wrong_type:body.amount"},
		{"other currency", `"报销金额":"壹仟贰佰叁拾肆元伍角整"`, `"报销金额":"USD 12.00"`, "wrong_type:body.amount"},
		{"lookup miss", `"费用类型":"差旅费 "`, `"费用类型":"火箭费"`, "unmapped_value:body.gl_account"},
		{"bad date", `"报销日期":"２０２５年４月１６日"`, `"报销日期":"04/05/2025"`, "wrong_type:body.claim_date"},
		{"no id", `"单据编号":"BX-1",`, ``, "missing_field:id"},
		{"not json", claim, `{"a":`, "invalid_json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := strings.Replace(claim, c.old, c.new, 1)
			var r record.Record
			err := m.NewMapper().Map([]byte("SH01"), []byte(in), &r)
			if c.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var code string
			var me *Error
			var de *record.DecodeError
			switch {
			case errors.As(err, &me):
				code = me.Code()
			case errors.As(err, &de):
				code = de.Code()
			default:
				t.Fatalf("error %v (%T)", err, err)
			}
			if code != c.code {
				t.Errorf("code %s (%v), want %s", code, err, c.code)
			}
		})
	}
}

func TestLoadErrorsNameFileLineAndKey(t *testing.T) {
	base, err := os.ReadFile("testdata/claims.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, old, new string
		want           []string
	}{
		{"unknown canonical field", "      department: {field: 部门}", "      departmnt: {field: 部门}", []string{"rules[0].fields.departmnt", "not a canonical field", ":20:"}},
		{"missing required", "      amount: {field: 报销金额}\n", "", []string{"required canonical field is not mapped: expense_claim.amount"}},
		{"map to a bad value", "审批中: pending", "审批中: waiting", []string{"rules[0].fields.approval_status.map.审批中", `"waiting" is not one of pending, approved, rejected`}},
		{"unknown lookup", "lookup: gl}", "lookup: gls}", []string{"rules[0].fields.gl_account.lookup", "no such lookup table"}},
		{"bad option", "tz: Asia/Shanghai", "tz: Mars/Olympus", []string{"options.tz", "bad option"}},
		{"bad lookup file", "lookups/gl.csv", "lookups/nope.csv", []string{"lookups.gl.file", "bad lookup table"}},
		{"two sources", "      number: {field: 单据编号}", "      number: {field: 单据编号, const: X}", []string{"rules[0].fields.number", "exactly one of"}},
		{"unknown key", "version: 2", "version: 2\nowner: me", []string{"unknown field \"owner\""}},
		{"map and lookup", "lookup: gl}", "lookup: gl, map: {a: b}}", []string{"rules[0].fields.gl_account", "one of map, lookup or sign"}},
		{"default outside the map", "map: {已审批: approved,", "default: 同意, map: {已审批: approved,", []string{"approval_status.default", "no entry"}},
		{"unreachable rule", "rules:\n  - kind: expense_claim", "rules:\n  - kind: expense_claim\n    fields: {}\n  - kind: expense_claim", []string{"rules[1]", "unreachable"}},
		{"map words alike", "map: {已审批: approved,", "map: {OPEN: approved, ＯＰＥＮ: rejected, 已审批: approved,", []string{"approval_status.map", `read alike ("OPEN")`}},
		{"currency forced and read", "amount: {field: 报销金额}", "amount: {field: 报销金额, currency: CNY, currency_field: 币种}", []string{"fields.amount.currency", "give one of them"}},
		{"lookup row without a value", "", "", []string{"lookups.gl.file", `key "空白" has no`}},
		// go-yaml reads 00042 as octal 34 and gives the text "34".
		{"unquoted number", "      department: {field: 部门}", "      department: {const: 00042}", []string{":20:", "const: bad option: 00042 is a YAML number", `quote it ("00042")`}},
		{"impossible constant date", "      claim_date: {field: 报销日期}", "      claim_date: {const: \"2025-02-30\"}", []string{"claim_date.const", "no such day"}},
		{"sign on an amount", "      amount: {field: 报销金额}", "      amount: {field: 报销金额, sign: {negative: a, positive: b}}", []string{"amount.sign", "sign gives a word"}},
		{"default outside the lookup", "lookup: gl}", "lookup: gl, default: 火箭费}", []string{"gl_account.default", "lookup table has no row"}},
		{"abs on a text field", "      department: {field: 部门}", "      department: {field: 部门, abs: true}", []string{"department.abs", "abs is for amounts"}},
		{"unquoted number in a map", "map: {已审批: approved,", "map: {010: approved, 已审批: approved,", []string{"map: bad option: 010 is a YAML number"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := strings.Replace(string(base), c.old, c.new, 1)
			if body == string(base) && c.old != "" {
				t.Fatalf("fixture has no %q", c.old)
			}
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "lookups"), 0o755)
			gl, _ := os.ReadFile("testdata/lookups/gl.csv")
			if c.name == "lookup row without a value" {
				gl = append(gl, []byte("空白,\n")...)
			}
			os.WriteFile(filepath.Join(dir, "lookups/gl.csv"), gl, 0o644)
			p := filepath.Join(dir, "m.yaml")
			os.WriteFile(p, []byte(body), 0o644)
			_, err := Load(p)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestShippedMappingsLoad(t *testing.T) {
	names := Shipped()
	if len(names) != 6 {
		t.Fatalf("shipped %v", names)
	}
	for _, n := range names {
		m, err := LoadShipped(n)
		if err != nil {
			t.Fatal(err)
		}
		if m.Name != n || m.Source != n {
			t.Errorf("%s: name %s source %s", n, m.Name, m.Source)
		}
	}
	if _, err := LoadShipped("nope"); err == nil {
		t.Error("loaded a mapping that does not exist")
	}
}

func TestLineItemsAreCheckedLikeDecodedOnes(t *testing.T) {
	m, err := LoadShipped("sap_en")
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile("testdata/golden/sap_en_1.raw.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(base, &doc); err != nil {
		t.Fatal(err)
	}
	item := doc["ITEMS"].([]any)[0].(map[string]any)
	cases := []struct {
		field, value, code string
	}{
		{"MENGE", "1,5", "wrong_type:body.lines[0].quantity"},   // point source: 1,5 is not 15
		{"MENGE", "1 000", "wrong_type:body.lines[0].quantity"}, // nor is 1 000 silently 1000
		{"MENGE", "", "missing_field:body.lines[0].quantity"},   // required, as when decoding
		{"MATNR", "-", "missing_field:body.lines[0].sku"},       // a placeholder is blank
		{"NETPR", "1,234.5", ""},                                // thousands grouping is fine
	}
	for _, c := range cases {
		old := item[c.field]
		item[c.field] = c.value
		data, _ := json.Marshal(doc)
		item[c.field] = old
		var r record.Record
		err := m.NewMapper().Map(nil, data, &r)
		if c.code == "" {
			if err != nil {
				t.Errorf("%s=%q: %v", c.field, c.value, err)
			}
			continue
		}
		if got := codeOf(err); got != c.code {
			t.Errorf("%s=%q: %s (%v), want %s", c.field, c.value, got, err, c.code)
		}
	}
}

func TestSignWithAnyCurrency(t *testing.T) {
	// Every way the amount parser reads a minus gives a debit: the
	// direction used to come from a check of its own, which took
	// "USD-10,00" or "10,00−" for money in.
	for amount, want := range map[string]string{"-12,50": "debit", "12,50": "credit", "(12,50)": "debit", "USD -12,50": "debit",
		"USD-10,00": "debit", "USD (10,00)": "debit", "(10,00) USD": "debit", "10,00\u2212": "debit", "USD \u221210,00": "debit",
		"10,00-": "debit", "0,00": "credit", "USD 10,00": "credit"} {
		r, err := mapEdited(t, "bank_b", "bank_b_1", func(d map[string]any) { d["Amount"] = amount })
		if err != nil {
			t.Errorf("%q: %v", amount, err)
			continue
		}
		if got := r.Body.(*record.BankTxn).Direction; got != want {
			t.Errorf("%q: direction %s, want %s", amount, got, want)
		}
	}
}

// TestEventTimeForProducers: producers read a raw record's event time the
// way its mapping does, to put it on the message; what the mapping cannot
// read gives false rather than a guess.
func TestEventTimeForProducers(t *testing.T) {
	mp := load(t, "testdata/claims.yaml").NewMapper()
	got, ok := mp.EventTime([]byte(claim))
	if want := time.Date(2025, 4, 16, 6, 30, 5, 0, time.UTC); !ok || !got.Equal(want) {
		t.Errorf("EventTime = %v, %v; want %v", got, ok, want)
	}
	for _, bad := range []string{`not json`, `[1]`, strings.Replace(claim, "2025-04-16 14:30:05", "someday", 1)} {
		if got, ok := mp.EventTime([]byte(bad)); ok {
			t.Errorf("EventTime(%.30q) = %v, want false", bad, got)
		}
	}
}

// TestDebitAndCreditColumns: bank_a splits amounts over a debit and a
// credit column; exports often write 0.00 in the one not used. The amount
// is the column that holds one, whichever comes first; two that both do
// are refused, as is a value neither parser nor column can read. The
// column must agree with the 借贷标志 flag, and gives the direction when
// the flag is blank.
func TestDebitAndCreditColumns(t *testing.T) {
	for _, c := range []struct {
		debit, credit, flag string
		want                int64  // minor units; -1: refused
		dir                 string // the direction, or the field refused
	}{
		{"", "1432.00", "贷", 143200, "credit"},
		{"0.00", "1432.00", "贷", 143200, "credit"},
		{"1432.00", "0.00", "借", 143200, "debit"},
		{"1432.00", "", "借方", 143200, "debit"},
		{"0.00", "0.00", "贷", 0, "credit"},
		{"", "1432.00", "", 143200, "credit"},
		{"1432.00", "", "", 143200, "debit"},
		{"99.00", "1432.00", "贷", -1, "body.amount"},
		{"abc", "1432.00", "贷", -1, "body.amount"},
		{"", "1432¹", "贷", -1, "body.amount"}, // NFKC would read 14321
		{"1432.00", "", "贷", -1, "body.direction"},
		{"", "1432.00", "借", -1, "body.direction"},
	} {
		r, err := mapEdited(t, "bank_a", "bank_a_1", func(d map[string]any) {
			d["借方金额"], d["贷方金额"], d["借贷标志"] = c.debit, c.credit, c.flag
		})
		switch {
		case c.want < 0 && codeOf(err) != "wrong_type:"+c.dir:
			t.Errorf("%q/%q/%q: %v, want wrong_type:%s", c.debit, c.credit, c.flag, err, c.dir)
		case c.want >= 0 && err != nil:
			t.Errorf("%q/%q/%q: %v", c.debit, c.credit, c.flag, err)
		case c.want >= 0 && r.Body.(*record.BankTxn).Amount.Minor != c.want:
			t.Errorf("%q/%q/%q: amount %d, want %d", c.debit, c.credit, c.flag, r.Body.(*record.BankTxn).Amount.Minor, c.want)
		case c.want >= 0 && r.Body.(*record.BankTxn).Direction != c.dir:
			t.Errorf("%q/%q/%q: direction %s, want %s", c.debit, c.credit, c.flag, r.Body.(*record.BankTxn).Direction, c.dir)
		}
	}
}

// TestLineItemsThatAreNotAList: line items given as an object or a string
// are refused as wrong_type:body.lines, not read as none.
func TestLineItemsThatAreNotAList(t *testing.T) {
	for _, lines := range []any{map[string]any{"a": []any{}}, "明细", 3} {
		if _, err := mapEdited(t, "erp_cn", "erp_cn_1", func(d map[string]any) { d["明细"] = lines }); codeOf(err) != "wrong_type:body.lines" {
			t.Errorf("明细 = %v: %v, want wrong_type:body.lines", lines, err)
		}
	}
	// An empty list and no list at all are no line items.
	for _, lines := range []any{[]any{}, nil} {
		if _, err := mapEdited(t, "erp_cn", "erp_cn_1", func(d map[string]any) { d["明细"] = lines }); err != nil {
			t.Errorf("明细 = %v: %v", lines, err)
		}
	}
}

// TestObjectWhereAValueIsExpected: an object or a list where the mapping
// reads one value is refused as wrong_type, not dropped as absent; so is a
// list of references holding an object.
func TestObjectWhereAValueIsExpected(t *testing.T) {
	for _, c := range []struct {
		source, golden string
		set            func(doc map[string]any)
		code           string
	}{
		{"shop", "shop_1", func(d map[string]any) { d["channel"] = map[string]any{"name": "web"} }, "wrong_type:body.channel"},
		{"shop", "shop_1", func(d map[string]any) {
			d["items"].([]any)[0].(map[string]any)["price"] = map[string]any{"amount": "619.24"}
		}, "wrong_type:body.lines[0].unit_price"},
		{"erp_cn", "erp_cn_3", func(d map[string]any) { d["关联单据"] = []any{"AP-2025-000006", map[string]any{"x": 1}} }, "wrong_type:body.invoice_refs"},
	} {
		if _, err := mapEdited(t, c.source, c.golden, c.set); codeOf(err) != c.code {
			t.Errorf("%s: %v, want %s", c.golden, err, c.code)
		}
	}
}

// TestUnknownCurrencyNamesItsColumn: a currency word erpflow does not know
// refuses the money field it belongs to, and the message names the column
// that holds the word, not only the amount's.
func TestUnknownCurrencyNamesItsColumn(t *testing.T) {
	_, err := mapEdited(t, "erp_cn", "erp_cn_1", func(d map[string]any) { d["币别"] = "卢布布" })
	// Whichever money field is read first (税额 or 价税合计) is refused.
	code := codeOf(err)
	if code != "wrong_type:body.total" && code != "wrong_type:body.tax" ||
		!strings.Contains(err.Error(), "source field 币别, the currency of ") || !strings.Contains(err.Error(), `"卢布布"`) {
		t.Errorf("got %v; want wrong_type on a money field, naming 币别 and the word", err)
	}
}

// TestBlankFlagIsNotFalse: a reimbursement system's 付款状态 left blank is
// refused as missing, not read as unpaid.
func TestBlankFlagIsNotFalse(t *testing.T) {
	for _, paid := range []any{"", "  ", nil} {
		if _, err := mapEdited(t, "reimb_cn", "reimb_cn_1", func(d map[string]any) { d["付款状态"] = paid }); codeOf(err) != "missing_field:body.paid" {
			t.Errorf("付款状态 %q: %v, want missing_field:body.paid", paid, err)
		}
	}
}

// mapEdited maps testdata/golden/<golden>.raw.json through source's
// shipped mapping after edit has changed it.
func mapEdited(t *testing.T, source, golden string, edit func(doc map[string]any)) (record.Record, error) {
	t.Helper()
	m, err := LoadShipped(source)
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile("testdata/golden/" + golden + ".raw.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(base, &doc); err != nil {
		t.Fatal(err)
	}
	edit(doc)
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var r record.Record
	err = m.NewMapper().Map(nil, data, &r)
	return r, err
}

// TestVersionFromADayAlone: where the version is the event time, an event
// time given as a day alone would order a later change before an earlier
// one; it is refused. Where a version field is mapped, a day is enough.
func TestVersionFromADayAlone(t *testing.T) {
	for _, c := range []struct {
		source, golden, key, value, code string
	}{
		{"erp_cn", "erp_cn_1", "修改时间", "2025-01-03 14:07:00", ""},
		{"erp_cn", "erp_cn_1", "修改时间", "2025-01-03", "wrong_type:event_time"},
		{"erp_cn", "erp_cn_1", "修改时间", "20250103", "wrong_type:event_time"},
		{"sap_en", "sap_en_1", "CHANGED_AT", "2025-01-03", ""},
	} {
		_, err := mapEdited(t, c.source, c.golden, func(doc map[string]any) { doc[c.key] = c.value })
		if got := codeOrNil(err); got != c.code {
			t.Errorf("%s %s=%q: %v, want %q", c.source, c.key, c.value, err, c.code)
		}
	}
}

// TestEpochVersion: shop's version is Unix milliseconds; one in seconds,
// a thousand times smaller, would read as older than every version before
// it and the change would be dropped, so it is refused.
func TestEpochVersion(t *testing.T) {
	for _, c := range []struct {
		value any
		code  string
		want  uint64
	}{
		{json.Number("1735691584000"), "", 1735691584000},
		{"1735691584000", "", 1735691584000},
		{json.Number("1735691584"), "wrong_type:version", 0},
		{json.Number("4102444799999"), "", 4102444799999},
		{json.Number("4102444800000"), "wrong_type:version", 0}, // 2100: a fine event time, not a version
	} {
		r, err := mapEdited(t, "shop", "shop_1", func(doc map[string]any) { doc["updated_at"] = c.value })
		if got := codeOrNil(err); got != c.code {
			t.Errorf("updated_at %v: %v, want %q", c.value, err, c.code)
		} else if err == nil && r.Version != c.want {
			t.Errorf("updated_at %v: version %d, want %d", c.value, r.Version, c.want)
		}
	}
	src, err := os.ReadFile("testdata/claims.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, edit := range []string{"{field: 报销金额, epoch: ms}", "{field: 报销金额, epoch: us}"} {
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS("testdata")); err != nil {
			t.Fatal(err)
		}
		edited := strings.Replace(string(src), "{field: 报销金额}", edit, 1)
		if err := os.WriteFile(filepath.Join(dir, "claims.yaml"), []byte(edited), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(filepath.Join(dir, "claims.yaml")); !errors.Is(err, ErrBadOption) || !strings.Contains(err.Error(), "epoch") {
			t.Errorf("%s: %v, want a bad option naming epoch", edit, err)
		}
	}
}

func codeOrNil(err error) string {
	if err == nil {
		return ""
	}
	return codeOf(err)
}

// TestColumnsAreChecked: a columns option is checked when the mapping is
// loaded, naming the key.
func TestColumnsAreChecked(t *testing.T) {
	src, err := os.ReadFile("sources/bank_a.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const shipped = "columns: {借方金额: debit, 贷方金额: credit}"
	if !strings.Contains(string(src), shipped) {
		t.Fatal("bank_a.yaml no longer gives columns")
	}
	for _, c := range []struct {
		edit string
		want error
	}{
		{"columns: {借方金额: debit, 贷方: credit}", ErrBadOption}, // not one of first_of
		{"columns: {借方金额: debit, 贷方金额: in}", ErrBadMapValue}, // not a bank_txn direction
	} {
		path := filepath.Join(t.TempDir(), "bank_a.yaml")
		if err := os.WriteFile(path, []byte(strings.Replace(string(src), shipped, c.edit, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); !errors.Is(err, c.want) || !strings.Contains(err.Error(), "columns") {
			t.Errorf("%s: %v, want %v naming columns", c.edit, err, c.want)
		}
	}
	path := filepath.Join(t.TempDir(), "bank_a.yaml")
	edited := strings.Replace(string(src), "account: {field: 本方账号}", "account: {field: 本方账号, columns: {借方金额: debit}}", 1)
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); !errors.Is(err, ErrBadOption) {
		t.Errorf("columns on a text field: %v, want %v", err, ErrBadOption)
	}
}

// TestColumnsAgainstAConstant: a direction the mapping gives as a constant
// is held to the amount's column too, and the message says where it came
// from.
func TestColumnsAgainstAConstant(t *testing.T) {
	src, err := os.ReadFile("sources/bank_a.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const flag = "direction: {field: 借贷标志, map: {借: debit, 借方: debit, 贷: credit, 贷方: credit}}"
	if !strings.Contains(string(src), flag) {
		t.Fatal("bank_a.yaml no longer maps 借贷标志 so")
	}
	path := filepath.Join(t.TempDir(), "bank_a.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(string(src), flag, "direction: {const: debit}", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	m := load(t, path)
	data, err := os.ReadFile("testdata/golden/bank_a_1.raw.json") // a credit: 贷方金额
	if err != nil {
		t.Fatal(err)
	}
	var r record.Record
	err = m.NewMapper().Map(nil, data, &r)
	var de *record.DecodeError
	if !errors.As(err, &de) || de.Code() != "wrong_type:body.direction" || !strings.HasPrefix(de.Detail, "the mapping says debit") {
		t.Errorf("got %v, want wrong_type:body.direction from the mapping's constant", err)
	}
}

// TestLineNumbersWithALeadingZeroGroup: a line's quantity or price whose
// first digit group is a leading 0 is a decimal comma of another locale,
// refused as amounts are, not read a thousand times off.
func TestLineNumbersWithALeadingZeroGroup(t *testing.T) {
	for _, c := range []struct{ key, value, code string }{
		{"数量", "0,125", "wrong_type:body.lines[0].quantity"},
		{"单价", "0,890.00", "wrong_type:body.lines[0].unit_price"},
		{"数量", "1,125", ""},
	} {
		_, err := mapEdited(t, "erp_cn", "erp_cn_1", func(d map[string]any) {
			d["明细"].([]any)[0].(map[string]any)[c.key] = c.value
		})
		if c.code == "" && err != nil || c.code != "" && codeOf(err) != c.code {
			t.Errorf("%s %q: %v, want %q", c.key, c.value, err, c.code)
		}
	}
}

func TestLossyNumber(t *testing.T) {
	for s, want := range map[string]bool{"1": false, "150": false, "-12": false, "1.5": false, "0": false, "0.5": false,
		"0001": true, "00042": true, "010": true, "+1": true, "1_000": true, "0x10": true, "0o17": true, "1e3": true, "1.50": true, "-007": true} {
		if got := lossyNumber(s); got != want {
			t.Errorf("lossyNumber(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestSignNeedsBothWords: a sign map with one word gave every amount of the
// other sign an empty value, which reads as absent; the file is refused.
func TestSignNeedsBothWords(t *testing.T) {
	b, err := os.ReadFile("sources/bank_b.yaml")
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Replace(string(b), "sign: {negative: debit, positive: credit}", "sign: {negative: debit}", 1)
	if body == string(b) {
		t.Fatal("bank_b.yaml has no sign map to edit")
	}
	_, err = LoadFS(fstest.MapFS{"m.yaml": {Data: []byte(body)}}, "m.yaml", "m.yaml")
	if err == nil || !strings.Contains(err.Error(), "sign needs a word for negative and for positive") {
		t.Errorf("error %v", err)
	}
}
