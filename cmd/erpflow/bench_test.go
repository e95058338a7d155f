package main

import (
	"fmt"
	"testing"
	"time"
)

// TestTargetsLine: each target of issue 3 is said met or not with the
// figure it was judged on, the engine only when it was measured.
func TestTargetsLine(t *testing.T) {
	for _, c := range []struct {
		ours, noMatch, bare, eng float64
		rss                      int64
		want                     string
	}{
		{82050, 153907, 651650, 63991, 456, "targets: 100,000 records/s NOT met with matching (82050), met without (153907); " +
			"half the bare consume rate NOT met (13 %); ahead of the Kafka engine met (1.28x); resident memory within 512 MiB met (456 MiB)"},
		{120000, 200000, 230000, 0, 600, "targets: 100,000 records/s met with matching (120000), met without (200000); " +
			"half the bare consume rate met (52 %); resident memory within 512 MiB NOT met (600 MiB)"},
		{50000, 99999, 400000, 60000, 512, "targets: 100,000 records/s NOT met with matching (50000), NOT met without (99999); " +
			"half the bare consume rate NOT met (12 %); ahead of the Kafka engine NOT met (0.83x); resident memory within 512 MiB met (512 MiB)"},
	} {
		if got := targetsLine(c.ours, c.noMatch, c.bare, c.eng, c.rss); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
}

// TestMedianRun: the bench reports the run of median speed, the slower of
// the middle two for an even count, whatever order the runs came in.
func TestMedianRun(t *testing.T) {
	run := func(ms int) childRun {
		return childRun{elapsed: time.Duration(ms) * time.Millisecond, last: fmt.Sprint(ms)}
	}
	for _, c := range []struct {
		runs []int
		want string
	}{
		{[]int{3000}, "3000"},
		{[]int{3900, 3500, 4400}, "3900"},
		{[]int{3500, 4400, 3900}, "3900"},
		{[]int{3500, 3600, 4000, 4400}, "4000"},
	} {
		var rs []childRun
		for _, ms := range c.runs {
			rs = append(rs, run(ms))
		}
		if got := medianRun(rs, 300000); got.last != c.want {
			t.Errorf("%v: the run of %s ms, want %s", c.runs, got.last, c.want)
		}
	}
}
