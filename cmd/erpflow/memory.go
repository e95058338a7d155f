package main

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// defaultMemoryLimit is the Go heap's soft limit for erpflow run unless
// GOMEMLIMIT says otherwise; the process budget is 512 MiB.
const defaultMemoryLimit = 448 << 20

// paceCollector leaves the collector's pace to the soft memory limit: it
// runs when the heap nears the limit, not each time the heap has doubled
// since the last collection (GOGC=100), which made it run several times as
// often while the live heap was small. The run without matching (live heap
// about 150 MB) took 3.3-3.8 CPU-seconds instead of 3.8-4.0 for the same
// records, at a peak RSS of 456-459 MiB instead of 372-410 (A/B, three
// runs each); with matching the live heap is near the limit anyway and
// nothing changed. GOMEMLIMIT and GOGC in the environment decide if set.
// It reports whether it set the limit, which followLiveHeap then keeps.
func paceCollector(getenv func(string) string) bool {
	if getenv("GOMEMLIMIT") != "" {
		return false
	}
	debug.SetMemoryLimit(defaultMemoryLimit)
	if getenv("GOGC") == "" {
		debug.SetGCPercent(-1)
	}
	return true
}

// limitHeadroom is how far above the live heap followLiveHeap keeps the
// soft limit: a little less than the 90-day demo leaves under 448 MiB, so
// that its runs keep the base limit and stay within their 512 MiB.
const limitHeadroom = 128 << 20

// followLiveHeap raises the soft memory limit when the live heap (what the
// last collection kept) comes within limitHeadroom of it, and lowers it
// again, never below defaultMemoryLimit. A limit below the live heap does
// not hold the heap down; it only makes the collector run back to back:
// matching's state over a 180-day world (a live heap near 500 MB) had the
// collector take half of erpflow's CPU. The limit moving is logged.
func followLiveHeap(ctx context.Context, log *slog.Logger, every time.Duration) {
	f := limitFollower{base: defaultMemoryLimit, headroom: limitHeadroom, limit: defaultMemoryLimit,
		set: debug.SetMemoryLimit, log: log}
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(live)
		if live[0].Value.Kind() == metrics.KindUint64 {
			f.step(int64(live[0].Value.Uint64()))
		}
	}
}

// limitFollower is followLiveHeap's arithmetic, apart from the runtime.
type limitFollower struct {
	base, headroom int64
	limit          int64 // as last set
	logged         int64 // the limit last logged
	set            func(int64) int64
	log            *slog.Logger
}

// step sets the limit for a live heap of live bytes.
func (f *limitFollower) step(live int64) {
	want := max(f.base, live+f.headroom)
	if want == f.limit {
		return
	}
	f.set(want)
	f.limit = want
	// Every step would be noise: say so when it moved by 64 MiB or more
	// since last said, or came back to the base.
	if d := want - max(f.logged, f.base); d >= 64<<20 || d <= -64<<20 || (want == f.base && f.logged > f.base) {
		f.logged = want
		f.log.Info("soft memory limit follows the live heap", "limit_mib", want>>20, "live_heap_mib", live>>20,
			"base_mib", f.base>>20)
	}
}
