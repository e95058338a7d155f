package main

import (
	"bytes"
	"log/slog"
	"math"
	"os"
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
		ceiling   int64
		wantLimit int64
		wantGC    int
		wantOurs  bool
	}{
		{map[string]string{}, 0, defaultMemoryLimit, -1, true},
		{map[string]string{"GOGC": "50"}, 0, defaultMemoryLimit, 100, true},
		{map[string]string{"GOMEMLIMIT": "1GiB"}, 0, math.MaxInt64, 100, false},
		// A container with room to spare leaves the base; a small one lowers it.
		{map[string]string{}, 2 << 30, defaultMemoryLimit, -1, true},
		{map[string]string{}, 230 << 20, 230 << 20, -1, true},
	} {
		debug.SetMemoryLimit(math.MaxInt64)
		debug.SetGCPercent(100)
		if ours := paceCollector(func(k string) string { return c.env[k] }, c.ceiling); ours != c.wantOurs {
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

// TestLimitFollowerCeiling: under a container's limit the soft limit
// follows the live heap up to the ceiling and no further.
func TestLimitFollowerCeiling(t *testing.T) {
	const mib = 1 << 20
	f := limitFollower{base: 448 * mib, headroom: 160 * mib, near: 64 * mib, ceiling: 600 * mib, limit: 448 * mib,
		set: func(int64) int64 { return 0 }, log: slog.New(slog.DiscardHandler)}
	for _, step := range []struct {
		live  int64 // MiB
		share float64
		want  int64 // MiB
	}{
		{400, 0.3, 560},
		{500, 0.5, 600}, // 660 wanted, 600 allowed
		{580, 0.6, 600},
		{200, 0.1, 448},
	} {
		f.step(step.live*mib, step.live*mib, step.share)
		if f.limit != step.want*mib {
			t.Errorf("live heap %d MiB: limit %d MiB, want %d", step.live, f.limit/mib, step.want)
		}
	}
}

// TestMemoryCeiling reads control group memory limits as cgroup v1 and v2
// lay them out, inside and outside a container's own mount.
func TestMemoryCeiling(t *testing.T) {
	const gib = 1 << 30
	for _, c := range []struct {
		name  string
		files map[string]string
		want  int64
	}{
		{"v2, own group", map[string]string{"/proc/self/cgroup": "0::/kubepods/pod1/c1\n",
			"/sys/fs/cgroup/kubepods/pod1/c1/memory.max": "2147483648\n"}, 2 * gib / 10 * 9},
		{"v2, no limit", map[string]string{"/proc/self/cgroup": "0::/user.slice\n",
			"/sys/fs/cgroup/user.slice/memory.max": "max\n"}, 0},
		{"v2, the mount is the group", map[string]string{"/proc/self/cgroup": "0::/\n",
			"/sys/fs/cgroup/memory.max": "1073741824"}, gib / 10 * 9},
		{"v1, own group", map[string]string{"/proc/self/cgroup": "12:pids:/a\n4:memory:/process_api/x\n1:cpu,cpuacct:/\n",
			"/sys/fs/cgroup/memory/process_api/x/memory.limit_in_bytes": "1073741824\n"}, gib / 10 * 9},
		{"v1, unlimited", map[string]string{"/proc/self/cgroup": "4:memory:/x\n",
			"/sys/fs/cgroup/memory/x/memory.limit_in_bytes": "9223372036854771712\n"}, 0},
		{"v1, the mount is the group", map[string]string{"/proc/self/cgroup": "4:memory:/docker/abc\n",
			"/sys/fs/cgroup/memory/memory.limit_in_bytes": "536870912\n"}, 512 << 20 / 10 * 9},
		{"nothing readable", map[string]string{}, 0},
		{"garbage", map[string]string{"/proc/self/cgroup": "0::/a\n", "/sys/fs/cgroup/a/memory.max": "lots"}, 0},
	} {
		read := func(name string) ([]byte, error) {
			if v, ok := c.files[name]; ok {
				return []byte(v), nil
			}
			return nil, os.ErrNotExist
		}
		if got := memoryCeiling(read); got != c.want {
			t.Errorf("%s: ceiling %d, want %d", c.name, got, c.want)
		}
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
