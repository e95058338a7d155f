package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/erpflow/erpflow/connectors/kafka"
)

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
		{"coordinates", replaySelection{at: map[dlqAt]bool{{2, 17}: true}}, true},
		{"other coordinates", replaySelection{at: map[dlqAt]bool{{2, 18}: true}}, false},
		{"coordinates and other reason", replaySelection{at: map[dlqAt]bool{{2, 17}: true}, reasons: []string{"invalid_json"}}, false},
	} {
		if got := c.sel.takes(d); got != c.want {
			t.Errorf("%s: takes %v, want %v", c.name, got, c.want)
		}
	}
	if !(&replaySelection{}).empty() || (&replaySelection{topics: []string{"x"}}).empty() {
		t.Error("empty() wrong")
	}
}

// TestReplayPlanTakesTheNewestOfEachMessage: a replay takes one dead
// letter a message, the newest of its family (a chain of replays that
// failed again, duplicates among them), whatever its partition; a newest
// the selectors leave out leaves its family out; named coordinates are
// taken anyway; a family whose first dead letter is gone, and headers
// that loop, still end.
func TestReplayPlanTakesTheNewestOfEachMessage(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	var p replayPlan
	// A (0:1) -> B (2:5) -> C (1:3) and C' (3:4), C' the later.
	p.add(dlqAt{0, 1}, planEntry{time: at(0), dest: "erp.invoices", takes: true})
	p.add(dlqAt{2, 5}, planEntry{parent: dlqAt{0, 1}, hasParent: true, time: at(1), dest: "erp.invoices", takes: true})
	p.add(dlqAt{1, 3}, planEntry{parent: dlqAt{2, 5}, hasParent: true, time: at(2), dest: "erp.invoices", takes: true})
	p.add(dlqAt{3, 4}, planEntry{parent: dlqAt{2, 5}, hasParent: true, time: at(3), dest: "erp.invoices", takes: true})
	// D (0:2) -> E (0:9), E not selected: D is left out too.
	p.add(dlqAt{0, 2}, planEntry{time: at(0), dest: "raw.shop", takes: true})
	p.add(dlqAt{0, 9}, planEntry{parent: dlqAt{0, 2}, hasParent: true, time: at(5), dest: "raw.shop", takes: false})
	// F (1:7) replays a dead letter retention took: F is its family's first.
	p.add(dlqAt{1, 7}, planEntry{parent: dlqAt{9, 9}, hasParent: true, time: at(4), dest: "raw.shop", takes: true})
	// G (2:1) and H (2:2) name each other.
	p.add(dlqAt{2, 1}, planEntry{parent: dlqAt{2, 2}, hasParent: true, time: at(6), dest: "bank.transactions", takes: true})
	p.add(dlqAt{2, 2}, planEntry{parent: dlqAt{2, 1}, hasParent: true, time: at(7), dest: "bank.transactions", takes: true})

	take, byTopic, replaced := p.choose(nil)
	for _, want := range []dlqAt{{3, 4}, {1, 7}} {
		if !take[want] {
			t.Errorf("%v not taken", want)
		}
	}
	for _, not := range []dlqAt{{0, 1}, {2, 5}, {1, 3}, {0, 2}, {0, 9}} {
		if take[not] {
			t.Errorf("%v taken; a newer dead letter of its message replaces it", not)
		}
	}
	if n := byTopic["erp.invoices"]; n != 1 {
		t.Errorf("%d to erp.invoices, want 1", n)
	}
	if n := byTopic["bank.transactions"]; n < 1 || n > 2 {
		t.Errorf("%d to bank.transactions from the looping pair, want 1 or 2", n)
	}
	if replaced < 4 {
		t.Errorf("replaced %d, want at least A, B, C and D", replaced)
	}
	// Named, an older one goes too.
	take, _, _ = p.choose(map[dlqAt]bool{{0, 1}: true})
	if !take[dlqAt{0, 1}] || !take[dlqAt{3, 4}] {
		t.Errorf("named 0:1: taken %v, want 0:1 and the family's newest 3:4", take)
	}
	// Equal times: the larger coordinates win, every run.
	var q replayPlan
	q.add(dlqAt{0, 1}, planEntry{time: at(0), dest: "x", takes: true})
	q.add(dlqAt{1, 1}, planEntry{parent: dlqAt{0, 1}, hasParent: true, time: at(1), dest: "x", takes: true})
	q.add(dlqAt{0, 2}, planEntry{parent: dlqAt{0, 1}, hasParent: true, time: at(1), dest: "x", takes: true})
	if take, _, _ := q.choose(nil); len(take) != 1 || !take[dlqAt{1, 1}] {
		t.Errorf("equal times: took %v, want 1:1", take)
	}
}

// TestReplayOfColumn: the table names the dead letter a message was
// replayed from by its DLQ coordinates, as 'dlq show' and 'replay' take
// them.
func TestReplayOfColumn(t *testing.T) {
	for in, want := range map[string]string{"": "-", "erpflow.dlq/2/17": "2:17", "my/dlq.topic/0/5": "0:5", "odd": "odd"} {
		if got := replayOf(deadLetter{ReplayOf: in}); got != want {
			t.Errorf("replayOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// A dead letter written without its value says why, in the listing a
// person reads and in the JSON a script reads.
func TestDeadLetterWithoutItsValue(t *testing.T) {
	m := kafkago.Message{Partition: 1, Offset: 7, Key: []byte("SH01"), Headers: []kafkago.Header{
		{Key: kafka.HeaderReason, Value: []byte("sink_refused")},
		{Key: kafka.HeaderValueGone, Value: []byte("gone from its topic: the partition holds offsets 3 to 4")},
	}}
	d := toDeadLetter(m)
	if d.ValueGone != "gone from its topic: the partition holds offsets 3 to 4" {
		t.Fatalf("value_gone %q", d.ValueGone)
	}
	if got := preview(d); got != "(no value: gone from its topic: the partition holds offsets 3 to 4)" {
		t.Errorf("preview %q", got)
	}
	out, err := json.Marshal(d)
	if err != nil || !strings.Contains(string(out), `"value_gone":"gone from its topic`) {
		t.Errorf("JSON %s, %v", out, err)
	}
}

// A long value is cut where a character starts: Chinese text is three
// bytes a character, and a cut inside one showed as a broken byte.
func TestPreviewCutsWholeCharacters(t *testing.T) {
	// The quoted value's 67th byte falls inside 深.
	v := strings.Repeat("a", 65) + "深圳市华强电子有限公司"
	got := preview(deadLetter{Value: v, ValueUTF8: true})
	if !utf8.ValidString(got) || !strings.HasSuffix(got, "...") || len(got) > 70 {
		t.Errorf("preview %q (%d bytes): want valid UTF-8 of at most 70 bytes ending in ...", got, len(got))
	}
}
