package main

import (
	"bytes"
	"log/slog"
	"math"
	"runtime"
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
// to keep the headroom once both change; comes back down only when the
// largest live heap of late leaves 64 MiB or more to spare, never below the
// base, whatever the share; and is only set (and logged) when it moves.
func TestLimitFollower(t *testing.T) {
	const mib = 1 << 20
	var sets []int64
	var logs bytes.Buffer
	f := limitFollower{base: 448 * mib, headroom: 160 * mib, near: 64 * mib, limit: 448 * mib,
		set: func(v int64) int64 { sets = append(sets, v/mib); return 0 }, log: slog.New(slog.NewTextHandler(&logs, nil))}
	for _, step := range []struct {
		live, liveMax int64 // MiB
		share         float64
		want          int64 // MiB
	}{
		{100, 100, 0.1, 448},  // the demo's heap: nothing to do
		{340, 340, 0.3, 448},  // the demo's largest: busy, but well below the base
		{400, 400, 0.12, 448}, // near it, but the collector keeps up
		{400, 400, 0.3, 560},  // it no longer does
		{410, 410, 0.3, 570},
		{540, 540, 0.5, 700},
		{440, 540, 0.1, 700}, // a dip: the swing's top keeps its headroom
		{440, 440, 0.1, 600}, // the top came down by 100 MiB
		{420, 440, 0.1, 600}, // 20 MiB to spare is not worth a move
		{500, 500, 0.1, 600}, // and a rise the collector copes with stays
		{200, 200, 0.1, 448}, // back to the base, not below
		{50, 50, 0.6, 448},
	} {
		f.step(step.live*mib, step.liveMax*mib, step.share)
		if f.limit != step.want*mib {
			t.Errorf("live heap %d MiB (%d of late), collector at %.2f: limit %d MiB, want %d",
				step.live, step.liveMax, step.share, f.limit/mib, step.want)
		}
	}
	if want := []int64{560, 570, 700, 600, 448}; !slices.Equal(sets, want) {
		t.Errorf("limits set %v MiB, want %v: only when it moves", sets, want)
	}
	// 560, 700, 600 and the return to the base are said; 570 is a move of
	// less than 64 MiB.
	if n := strings.Count(logs.String(), "soft memory limit follows the live heap"); n != 4 {
		t.Errorf("%d log lines, want 4:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "limit_mib=700 live_heap_mib=540 gc_cpu_share=0.50") {
		t.Errorf("log does not give the new limit, the live heap and the collector's share:\n%s", logs.String())
	}
}

// TestHeapWindow: the collector's share is taken across the whole window
// (nothing until it is full), and the largest live heap kept is the
// window's, not the last sample's.
func TestHeapWindow(t *testing.T) {
	var w heapWindow
	for i := range heapTicks {
		// A second of busy CPU a tick, a quarter of it the collector's.
		share, liveMax := w.add(heapSample{live: int64(100 + i), gc: 0.25 * float64(i), total: float64(i)})
		if share != 0 || liveMax != int64(100+i) {
			t.Fatalf("tick %d: share %v, largest live %d; want 0 until the window is full, %d", i, share, liveMax, 100+i)
		}
	}
	// The next tick takes 2 CPU-seconds, all the collector's: 2.25 of 8
	// across the window.
	share, liveMax := w.add(heapSample{live: 50, gc: 0.25*7 + 2, total: 9})
	if want := (0.25*7 + 2) / 9; share != want || liveMax != 107 {
		t.Errorf("share %v, largest live %d; want %v and 107 (the dip is not the window's largest)", share, liveMax, want)
	}
}

// TestHeapReader reads the running program's heap and CPU: a metric
// missing or renamed would leave the limit where it is, silently but for
// a warning.
func TestHeapReader(t *testing.T) {
	keep := make([]byte, 8<<20)
	runtime.GC()
	s, ok := newHeapReader().read()
	runtime.KeepAlive(keep)
	if !ok || s.live < 8<<20 || s.total <= 0 || s.gc < 0 || s.gc > s.total {
		t.Errorf("read %+v, %v; want a live heap of at least 8 MiB and CPU-seconds with the collector's within the busy", s, ok)
	}
}
