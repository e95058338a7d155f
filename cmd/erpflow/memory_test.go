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
// leaves the headroom free, rises to keep the headroom when it does not,
// comes back down as the heap shrinks, never below the base, and is only
// set (and logged) when it moves.
func TestLimitFollower(t *testing.T) {
	const mib = 1 << 20
	var sets []int64
	var logs bytes.Buffer
	f := limitFollower{base: 448 * mib, headroom: 160 * mib, limit: 448 * mib,
		set: func(v int64) int64 { sets = append(sets, v/mib); return 0 }, log: slog.New(slog.NewTextHandler(&logs, nil))}
	for _, step := range []struct {
		live, want int64 // MiB
	}{
		{100, 448}, // the demo's heap: nothing to do
		{288, 448}, // exactly the headroom left
		{300, 460},
		{310, 470},
		{500, 660},
		{500, 660},
		{200, 448}, // back down, not below the base
		{50, 448},
	} {
		f.step(step.live * mib)
		if f.limit != step.want*mib {
			t.Errorf("live heap %d MiB: limit %d MiB, want %d", step.live, f.limit/mib, step.want)
		}
	}
	if want := []int64{460, 470, 660, 448}; !slices.Equal(sets, want) {
		t.Errorf("limits set %v MiB, want %v: only when it moves", sets, want)
	}
	// 460 and 470 are small moves; 660 and the return to the base are said.
	if n := strings.Count(logs.String(), "soft memory limit follows the live heap"); n != 2 {
		t.Errorf("%d log lines, want 2:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "limit_mib=660 live_heap_mib=500") {
		t.Errorf("log does not give the new limit and the live heap:\n%s", logs.String())
	}
}
