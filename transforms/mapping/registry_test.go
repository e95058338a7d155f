package mapping

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/erpflow/erpflow/pipeline/record"
)

// TestTargetsAreCanonicalNames sets every registered field and checks that
// the canonical JSON then carries it under the registered name, so the
// names mapping files use are the names of docs/records.md.
func TestTargetsAreCanonicalNames(t *testing.T) {
	sample := map[valueType]value{
		tString:   {s: "x"},
		tMoney:    {m: record.Money{Minor: 1, Currency: record.MustCurrency("CNY")}},
		tDate:     {d: record.MakeDate(2025, 1, 2)},
		tDateTime: {t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)},
		tBool:     {b: true},
		tUint:     {u: 7},
		tStrings:  {ss: []string{"x"}},
		tKind:     {k: record.KindInvoice},
	}
	for _, k := range record.Kinds {
		ts := targets[k]
		if len(ts) == 0 {
			t.Fatalf("no targets for %s", k)
		}
		for name, tg := range ts {
			r := record.Record{Envelope: record.Envelope{Kind: k}, Body: record.NewBody(k)}
			v := sample[tg.typ]
			tg.set(r.Body, &v)
			var doc map[string]any
			if err := json.Unmarshal(record.Marshal(&r), &doc); err != nil {
				t.Fatal(err)
			}
			cur := doc["body"]
			for _, part := range strings.Split(name, ".") {
				m, ok := cur.(map[string]any)
				if !ok {
					cur = nil
					break
				}
				cur = m[part]
			}
			if cur == nil {
				t.Errorf("%s: setting %s does not show as body.%s in canonical JSON", k, name, name)
			}
		}
	}
}
