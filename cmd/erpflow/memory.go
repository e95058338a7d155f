package main

import (
	"context"
	"fmt"
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

// limitHeadroom is how far above the live heap followLiveHeap raises the
// soft limit. It does so only once the live heap is within liveNearBase of
// the base limit and the collector takes gcShareHigh of the CPU or more:
// the 90-day demo (a live heap up to about 340 MiB) keeps the base limit
// and its 512 MiB budget.
const (
	limitHeadroom = 160 << 20
	liveNearBase  = 64 << 20
	gcShareHigh   = 0.25
)

// followLiveHeap raises the soft memory limit when the live heap (what the
// last collection kept) nears it and the collector, held back by it, takes
// gcShareHigh of the CPU or more; and it lowers it again as the live heap
// shrinks, never below defaultMemoryLimit. A limit that little above what
// is live cannot hold the heap down; it only makes the collector run back
// to back: matching's state over a 180-day world (a live heap near 500 MB)
// had it take half of erpflow's CPU. The limit moving is logged.
func followLiveHeap(ctx context.Context, log *slog.Logger, every time.Duration) {
	f := limitFollower{base: defaultMemoryLimit, headroom: limitHeadroom, near: liveNearBase, limit: defaultMemoryLimit,
		set: debug.SetMemoryLimit, log: log}
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/cpu/classes/gc/total:cpu-seconds"},
		{Name: "/cpu/classes/total:cpu-seconds"}}
	// The collector's share is taken over the last two seconds: the CPU
	// estimates move at each collection only.
	const window = 8
	var gcs, totals [window]float64
	t := time.NewTicker(every)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(samples)
		if samples[0].Value.Kind() != metrics.KindUint64 || samples[1].Value.Kind() != metrics.KindFloat64 ||
			samples[2].Value.Kind() != metrics.KindFloat64 {
			return // a runtime without these metrics: the limit stays put
		}
		i := n % window
		oldGC, oldTotal := gcs[i], totals[i]
		gcs[i], totals[i] = samples[1].Value.Float64(), samples[2].Value.Float64()
		share := 0.0
		if n >= window && totals[i] > oldTotal {
			share = (gcs[i] - oldGC) / (totals[i] - oldTotal)
		}
		f.step(int64(samples[0].Value.Uint64()), share)
	}
}

// limitFollower is followLiveHeap's arithmetic, apart from the runtime.
type limitFollower struct {
	base, headroom int64
	near           int64 // how near the base the live heap must come before the limit rises
	limit          int64 // as last set
	logged         int64 // the limit last logged
	set            func(int64) int64
	log            *slog.Logger
}

// step sets the limit for a live heap of live bytes while the collector
// takes gcShare of the CPU.
func (f *limitFollower) step(live int64, gcShare float64) {
	want := max(f.base, live+f.headroom)
	if want == f.limit || (want > f.limit && (gcShare < gcShareHigh || live < f.base-f.near)) {
		return
	}
	f.set(want)
	f.limit = want
	// Every step would be noise: say so when it moved by 64 MiB or more
	// since last said, or came back to the base.
	if d := want - max(f.logged, f.base); d >= 64<<20 || d <= -64<<20 || (want == f.base && f.logged > f.base) {
		f.logged = want
		f.log.Info("soft memory limit follows the live heap", "limit_mib", want>>20, "live_heap_mib", live>>20,
			"gc_cpu_share", fmt.Sprintf("%.2f", gcShare), "base_mib", f.base>>20)
	}
}
