package pipeline

import (
	"slices"
	"testing"
)

// TestKeep checks that Keep leaves the kept items in their order and lets
// go of the rest: the slots past the new end hold nothing, so the records
// there can be collected.
func TestKeep(t *testing.T) {
	for _, tc := range []struct {
		name string
		drop []int64 // offsets of the messages dropped
	}{
		{"none", nil},
		{"first", []int64{0}},
		{"last", []int64{4}},
		{"middle two", []int64{1, 3}},
		{"all", []int64{0, 1, 2, 3, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &Batch{}
			for i := range 5 {
				b.Items = append(b.Items, Item{Msg: i})
				b.Items[i].Rec.ID = string(rune('a' + i))
			}
			b.Keep(func(it *Item) bool { return !slices.Contains(tc.drop, int64(it.Msg)) })
			var got []int
			for _, it := range b.Items {
				got = append(got, it.Msg)
				if it.Rec.ID != string(rune('a'+it.Msg)) {
					t.Errorf("item of message %d carries record %q", it.Msg, it.Rec.ID)
				}
			}
			var want []int
			for i := range 5 {
				if !slices.Contains(tc.drop, int64(i)) {
					want = append(want, i)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("kept messages %v, want %v", got, want)
			}
			for i, it := range b.Items[len(b.Items):cap(b.Items)] {
				if it != (Item{}) {
					t.Errorf("slot %d past the end still holds %+v", len(b.Items)+i, it)
				}
			}
		})
	}
}
