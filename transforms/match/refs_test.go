package match

import (
	"reflect"
	"testing"
)

func TestRefFinder(t *testing.T) {
	f, err := NewRefFinder(DefaultRefPatterns)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		text string
		want []string
	}{
		{"", nil}, // first, before any text was searched
		{"货款 INV-2025-000042", []string{"INV-2025-000042"}},
		{"货款ＩＮＶ－２０２５－００００４２", []string{"INV-2025-000042"}},
		// Two digits are too few to be a number; order of appearance kept.
		{"/RFB/inv 2025 42 and INV-2025-000043, inv-2025-000042", []string{"INV-2025-000043", "INV-2025-000042"}},
		{"INV-2025-0042 short form", []string{"INV-2025-000042"}},
		{"payment AP2025000088", []string{"AP-2025-000088"}},
		{"PAY-2025-000107 货款", []string{"PAY-2025-000107"}},
		{"no reference here 2025-04-16", nil},
		{"INVOICE 2025", nil},
		{"XINV-2025-000042", nil}, // not at a word boundary
	}
	// Twice in a row (the second from Find's memory of the last text),
	// then the whole list again, so every text follows another.
	for _, c := range append(cases, cases...) {
		for range 2 {
			if got := f.Find(c.text); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Find(%q) = %v, want %v", c.text, got, c.want)
			}
		}
	}
	if _, err := NewRefFinder([]string{`INV-\d+`}); err == nil {
		t.Error("a pattern without the three groups was accepted")
	}
	if _, err := NewRefFinder([]string{`(`}); err == nil {
		t.Error("a bad pattern was accepted")
	}
}
