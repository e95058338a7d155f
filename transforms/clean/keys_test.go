package clean

import (
	"context"
	"strings"
	"testing"

	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
)

func TestKeysStage(t *testing.T) {
	b := &pipeline.Batch{Items: []pipeline.Item{
		{Rec: record.Record{Envelope: record.Envelope{Kind: record.KindInvoice}, Body: &record.Invoice{Party: record.Party{ID: "C1", Name: "上海华东贸易有限公司"}}}},
		{Rec: record.Record{Envelope: record.Envelope{Kind: record.KindBankTxn}, Body: &record.BankTxn{Counterparty: record.Party{Name: " 上海华东贸易 "}}}},
		{Rec: record.Record{Envelope: record.Envelope{Kind: record.KindPayment}, Body: &record.Payment{Party: record.Party{ID: "S1", Name: "ACME Trading Co., Ltd."}}}},
		{Rec: record.Record{Envelope: record.Envelope{Kind: record.KindInvoice}, Body: &record.Invoice{Party: record.Party{ID: "S2"}}}},
	}}
	if err := NewKeys().Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	inv := b.Items[0].Rec.Body.(*record.Invoice).Party.Key
	bank := b.Items[1].Rec.Body.(*record.BankTxn).Counterparty.Key
	if inv == "" || inv != bank {
		t.Errorf("invoice key %q, bank key %q: want equal and set", inv, bank)
	}
	if k := b.Items[2].Rec.Body.(*record.Payment).Party.Key; k != MatchKey("Acme Trading") {
		t.Errorf("payment key %q", k)
	}
	if k := b.Items[3].Rec.Body.(*record.Invoice).Party.Key; k != "" {
		t.Errorf("a party without a name got key %q", k)
	}
	if len(b.Items) != 4 || len(b.Dead) != 0 {
		t.Error("the stage changed the batch")
	}
	// The key is derived, not part of the canonical JSON.
	if got := string(record.Marshal(&b.Items[0].Rec)); strings.Contains(got, `"key"`) {
		t.Errorf("key leaked into JSON: %s", got)
	}
}
