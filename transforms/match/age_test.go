package match

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/erpflow/erpflow/pipeline/record"
)

// TestAgedPopsOldestFirst: whatever order days are pushed in, with pops in
// between, every pop returns the oldest day left.
func TestAgedPopsOldestFirst(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	var h aged[int]
	var model []record.Date
	for i := range 5000 {
		if rng.IntN(3) > 0 || len(model) == 0 {
			d := record.Date(rng.IntN(200))
			h.push(agedKey[int]{d, i})
			model = append(model, d)
			continue
		}
		slices.Sort(model)
		if got := h.pop(); got.day != model[0] {
			t.Fatalf("pop %d: day %d, the oldest left is %d", i, got.day, model[0])
		}
		model = model[1:]
	}
	if len(h) != len(model) {
		t.Fatalf("%d left in the heap, %d pushed and not popped", len(h), len(model))
	}
}
