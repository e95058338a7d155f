package main

import (
	"bytes"
	"log/slog"
	"math"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

// TestPaceCollector: without GOMEMLIMIT and GOGC the run's collector is
// paced by the soft limit alone; either variable keeps its own say.
func TestPaceCollector(t *testing.T) {
	limit, percent := debug.SetMemoryLimit(-1), debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetMemoryLimit(limit); debug.SetGCPercent(percent) })
	for _, c := range []struct {
		env       map[string]string
		wantLimit int64
		wantGC    int
		wantOurs  bool
	}{
		{map[string]string{}, defaultMemoryLimit, -1, true},
		{map[string]string{"GOGC": "50"}, defaultMemoryLimit, 100, true},
		{map[string]string{"GOMEMLIMIT": "1GiB"}, math.MaxInt64, 100, false},
	} {
		debug.SetMemoryLimit(math.MaxInt64)
		debug.SetGCPercent(100)
		if ours := paceCollector(func(k string) string { return c.env[k] }); ours != c.wantOurs {
			t.Errorf("env %v: limit ours to follow %v, want %v", c.env, ours, c.wantOurs)
		}
		if got := debug.SetMemoryLimit(-1); got != c.wantLimit {
			t.Errorf("env %v: memory limit %d, want %d", c.env, got, c.wantLimit)
		}
		if got := debug.SetGCPercent(100); got != c.wantGC {
			t.Errorf("env %v: GC percent %d, want %d", c.env, got, c.wantGC)
		}
	}
}

// TestLimitFollower: the soft limit stays at its base while the live heap
// is well below it or the collector takes a modest share of the CPU; rises
// to keep the headroom once both change; comes back down as the heap
// shrinks, never below the base, whatever the share; and is only set (and
// logged) when it moves.
func TestLimitFollower(t *testing.T) {
	const mib = 1 << 20
	var sets []int64
	var logs bytes.Buffer
	f := limitFollower{base: 448 * mib, headroom: 160 * mib, near: 64 * mib, limit: 448 * mib,
		set: func(v int64) int64 { sets = append(sets, v/mib); return 0 }, log: slog.New(slog.NewTextHandler(&logs, nil))}
	for _, step := range []struct {
		live  int64 // MiB
		share float64
		want  int64 // MiB
	}{
		{100, 0.1, 448},  // the demo's heap: nothing to do
		{340, 0.3, 448},  // the demo's largest: busy, but well below the base
		{400, 0.12, 448}, // near it, but the collector keeps up
		{400, 0.3, 560},  // it no longer does
		{410, 0.3, 570},
		{500, 0.5, 660},
		{500, 0.5, 660},
		{490, 0.1, 650}, // down as the heap shrinks, whatever the share
		{350, 0.5, 510}, // still above the base while the heap needs it
		{200, 0.1, 448}, // not below the base
		{50, 0.6, 448},
	} {
		f.step(step.live*mib, step.share)
		if f.limit != step.want*mib {
			t.Errorf("live heap %d MiB, collector at %.2f: limit %d MiB, want %d", step.live, step.share, f.limit/mib, step.want)
		}
	}
	if want := []int64{560, 570, 660, 650, 510, 448}; !slices.Equal(sets, want) {
		t.Errorf("limits set %v MiB, want %v: only when it moves", sets, want)
	}
	// 560, 660, 510 and the return to the base are said; 570 and 650 are
	// moves of less than 64 MiB.
	if n := strings.Count(logs.String(), "soft memory limit follows the live heap"); n != 4 {
		t.Errorf("%d log lines, want 4:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "limit_mib=660 live_heap_mib=500 gc_cpu_share=0.50") {
		t.Errorf("log does not give the new limit, the live heap and the collector's share:\n%s", logs.String())
	}
}
