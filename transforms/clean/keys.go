package clean

import (
	"context"

	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
)

// KeysStageName is the stage label in metrics.
const KeysStageName = "keys"

// Keys derives the match key of every party name (Party.Key), which the
// matching stage compares and analysts can group by: a payer written
// "上海华东贸易有限公司" on the invoice and "上海华东贸易" on the bank line
// is one party. It changes nothing else and refuses nothing.
type Keys struct {
	cache map[string]string // name -> key; names repeat far more than they vary
}

// NewKeys returns the stage.
func NewKeys() *Keys { return &Keys{cache: make(map[string]string, 1024)} }

// Name implements pipeline.Stage.
func (k *Keys) Name() string { return KeysStageName }

// Process implements pipeline.Stage.
func (k *Keys) Process(ctx context.Context, b *pipeline.Batch) error {
	for i := range b.Items {
		for _, p := range parties(b.Items[i].Rec.Body) {
			if p.Name != "" {
				p.Key = k.key(p.Name)
			}
		}
	}
	return nil
}

func (k *Keys) key(name string) string {
	if key, ok := k.cache[name]; ok {
		return key
	}
	key := MatchKey(name)
	if len(k.cache) >= 1<<16 {
		clear(k.cache) // a crude bound; the names of one world fit many times over
	}
	k.cache[name] = key
	return key
}

// SetPartyKeys derives the match keys of a body's parties as the stage
// does, for a record read back without them (matching's rebuild).
func SetPartyKeys(b record.Body) {
	for _, p := range parties(b) {
		if p.Name != "" {
			p.Key = MatchKey(p.Name)
		}
	}
}

// parties returns pointers to the parties of a body.
func parties(b record.Body) []*record.Party {
	switch x := b.(type) {
	case *record.Invoice:
		return []*record.Party{&x.Party}
	case *record.Payment:
		return []*record.Party{&x.Party}
	case *record.BankTxn:
		return []*record.Party{&x.Counterparty}
	case *record.SalesOrder:
		return []*record.Party{&x.Customer}
	case *record.Shipment:
		return []*record.Party{&x.Customer}
	case *record.PurchaseOrder:
		return []*record.Party{&x.Supplier}
	case *record.GoodsReceipt:
		return []*record.Party{&x.Supplier}
	case *record.ExpenseClaim:
		return []*record.Party{&x.Employee}
	case *record.Approval:
		return []*record.Party{&x.Approver}
	}
	return nil
}
