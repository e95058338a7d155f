package main

import "testing"

// TestReplaySelection: every selector given must match; a reason matches
// in full or by its code before the colon, never by a mere prefix.
func TestReplaySelection(t *testing.T) {
	d := deadLetter{DLQPartition: 2, DLQOffset: 17, Reason: "missing_field:body.total", Topic: "raw.erp_cn"}
	for _, c := range []struct {
		name string
		sel  replaySelection
		want bool
	}{
		{"all", replaySelection{all: true}, true},
		{"full reason", replaySelection{reasons: []string{"missing_field:body.total"}}, true},
		{"reason code", replaySelection{reasons: []string{"missing_field"}}, true},
		{"other field", replaySelection{reasons: []string{"missing_field:body.tax"}}, false},
		{"prefix only", replaySelection{reasons: []string{"missing"}}, false},
		{"one of two reasons", replaySelection{reasons: []string{"invalid_json", "missing_field"}}, true},
		{"topic", replaySelection{topics: []string{"raw.erp_cn"}}, true},
		{"other topic", replaySelection{topics: []string{"erp.invoices"}}, false},
		{"reason and other topic", replaySelection{reasons: []string{"missing_field"}, topics: []string{"erp.invoices"}}, false},
		{"coordinates", replaySelection{at: map[[2]int64]bool{{2, 17}: true}}, true},
		{"other coordinates", replaySelection{at: map[[2]int64]bool{{2, 18}: true}}, false},
		{"coordinates and other reason", replaySelection{at: map[[2]int64]bool{{2, 17}: true}, reasons: []string{"invalid_json"}}, false},
	} {
		if got := c.sel.takes(d); got != c.want {
			t.Errorf("%s: takes %v, want %v", c.name, got, c.want)
		}
	}
	if !(&replaySelection{}).empty() || (&replaySelection{topics: []string{"x"}}).empty() {
		t.Error("empty() wrong")
	}
}
