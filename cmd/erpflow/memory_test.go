package main

import (
	"math"
	"runtime/debug"
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
	}{
		{map[string]string{}, defaultMemoryLimit, -1},
		{map[string]string{"GOGC": "50"}, defaultMemoryLimit, 100},
		{map[string]string{"GOMEMLIMIT": "1GiB"}, math.MaxInt64, 100},
	} {
		debug.SetMemoryLimit(math.MaxInt64)
		debug.SetGCPercent(100)
		paceCollector(func(k string) string { return c.env[k] })
		if got := debug.SetMemoryLimit(-1); got != c.wantLimit {
			t.Errorf("env %v: memory limit %d, want %d", c.env, got, c.wantLimit)
		}
		if got := debug.SetGCPercent(100); got != c.wantGC {
			t.Errorf("env %v: GC percent %d, want %d", c.env, got, c.wantGC)
		}
	}
}
