package main

import "time"

// dlqAt is a dead letter's coordinates: partition and offset.
type dlqAt [2]int64

// replayPlan decides which dead letters a replay sends. A replayed message
// that failed again has a newer dead letter naming, in erpflow-replay-of,
// the one it was sent from; the dead letters of one original message form
// a family, and a replay takes only the family's newest (duplicates
// included, such as two replays before a run), unless named by its
// coordinates. It keeps coordinates, not messages.
type replayPlan struct {
	entries map[dlqAt]*planEntry
}

type planEntry struct {
	parent    dlqAt
	hasParent bool
	time      time.Time // when the broker took it
	dest      string    // the topic a replay sends it to
	takes     bool      // the selectors take it
}

func (p *replayPlan) add(at dlqAt, e planEntry) {
	if p.entries == nil {
		p.entries = map[dlqAt]*planEntry{}
	}
	p.entries[at] = &e
}

// root is the first dead letter of at's family that is still in the topic.
func (p *replayPlan) root(at dlqAt) dlqAt {
	for range len(p.entries) + 1 { // a loop in the headers ends too
		e := p.entries[at]
		if e == nil || !e.hasParent || p.entries[e.parent] == nil {
			return at
		}
		at = e.parent
	}
	return at
}

// choose returns the coordinates to send, how many go to each topic, and
// how many selected dead letters a newer one of the same message replaces.
// Named coordinates are sent whatever replaces them.
func (p *replayPlan) choose(named map[dlqAt]bool) (take map[dlqAt]bool, byTopic map[string]int, replaced int) {
	newest := map[dlqAt]dlqAt{}
	roots := make(map[dlqAt]dlqAt, len(p.entries))
	for at, e := range p.entries {
		r := p.root(at)
		roots[at] = r
		if cur, ok := newest[r]; !ok || newer(at, e.time, cur, p.entries[cur].time) {
			newest[r] = at
		}
	}
	take, byTopic = map[dlqAt]bool{}, map[string]int{}
	for at, e := range p.entries {
		switch {
		case !e.takes:
		case named[at] || newest[roots[at]] == at:
			take[at] = true
			byTopic[e.dest]++
		default:
			replaced++
		}
	}
	return take, byTopic, replaced
}

// newer orders dead letters by the time the broker took them, then by
// coordinates, so that every run picks the same one.
func newer(a dlqAt, at time.Time, b dlqAt, bt time.Time) bool {
	if !at.Equal(bt) {
		return at.After(bt)
	}
	return a[0] > b[0] || a[0] == b[0] && a[1] > b[1]
}
