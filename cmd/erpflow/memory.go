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
// the base limit and the collector takes gcShareHigh of the busy CPU or
// more: the 90-day demo (a live heap up to about 340 MiB) keeps the base
// limit and its 512 MiB budget. A limit followed up can take the process
// past that budget; GOMEMLIMIT set by hand is the way to hold it to one.
const (
	limitHeadroom = 160 << 20
	liveNearBase  = 64 << 20
	gcShareHigh   = 0.25
)

// followLiveHeap raises the soft memory limit when the live heap (what the
// last collection kept) nears it and the collector, held back by it, takes
// gcShareHigh of the busy CPU or more; and it lowers it again once the
// largest live heap of the last two seconds has shrunk well below it,
// never below defaultMemoryLimit. A limit that little above what is live
// cannot hold the heap down; it only makes the collector run back to back:
// matching's state over a 180-day world (a live heap near 500 MB) had it
// take half of erpflow's CPU. The limit moving is logged.
func followLiveHeap(ctx context.Context, log *slog.Logger, every time.Duration) {
	f := limitFollower{base: defaultMemoryLimit, headroom: limitHeadroom, near: liveNearBase, limit: defaultMemoryLimit,
		set: debug.SetMemoryLimit, log: log}
	var w heapWindow
	r := newHeapReader()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s, ok := r.read()
		if !ok {
			log.Warn("runtime metrics of the heap are missing: the soft memory limit stays where it is")
			return
		}
		share, liveMax := w.add(s)
		f.step(s.live, liveMax, share)
	}
}

// heapSample is what followLiveHeap reads at each tick: the live heap, and
// the cumulative CPU-seconds the collector took outside idle time against
// those the program was busy.
type heapSample struct {
	live      int64
	gc, total float64
}

type heapReader struct{ samples []metrics.Sample }

func newHeapReader() *heapReader {
	return &heapReader{samples: []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/cpu/classes/gc/total:cpu-seconds"},
		{Name: "/cpu/classes/gc/mark/idle:cpu-seconds"}, {Name: "/cpu/classes/total:cpu-seconds"},
		{Name: "/cpu/classes/idle:cpu-seconds"}}}
}

// read samples the runtime, or says a metric is missing. Marking on
// otherwise idle CPUs is left out of the collector's share: it costs the
// program nothing.
func (r *heapReader) read() (heapSample, bool) {
	metrics.Read(r.samples)
	if r.samples[0].Value.Kind() != metrics.KindUint64 {
		return heapSample{}, false
	}
	var f [4]float64
	for i, s := range r.samples[1:] {
		if s.Value.Kind() != metrics.KindFloat64 {
			return heapSample{}, false
		}
		f[i] = s.Value.Float64()
	}
	return heapSample{live: int64(r.samples[0].Value.Uint64()), gc: f[0] - f[1], total: f[2] - f[3]}, true
}

// heapWindow keeps the last heapTicks samples: the CPU estimates move at
// each collection only, so the collector's share is taken across them,
// and lowering the limit looks at the largest live heap among them, not a
// moment's dip.
const heapTicks = 8

type heapWindow struct {
	ring [heapTicks]heapSample
	n    int
}

// add takes a sample and returns the collector's share of the busy CPU
// since the oldest one kept (0 until the window is full) and the largest
// live heap kept.
func (w *heapWindow) add(s heapSample) (share float64, liveMax int64) {
	i := w.n % heapTicks
	old := w.ring[i]
	w.ring[i] = s
	w.n++
	if w.n > heapTicks && s.total > old.total {
		share = (s.gc - old.gc) / (s.total - old.total)
	}
	for j := range min(w.n, heapTicks) {
		liveMax = max(liveMax, w.ring[j].live)
	}
	return share, liveMax
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

// step sets the limit for a live heap of live bytes (liveMax the largest
// of late) while the collector takes gcShare of the busy CPU. It lowers
// the limit only by 64 MiB or more at a time, so that a heap swinging up
// and down keeps its headroom at the top of the swing.
func (f *limitFollower) step(live, liveMax int64, gcShare float64) {
	up, down := max(f.base, live+f.headroom), max(f.base, liveMax+f.headroom)
	var want int64
	switch {
	case up > f.limit && gcShare >= gcShareHigh && live >= f.base-f.near:
		want = up
	case down < f.limit && (f.limit-down >= 64<<20 || down == f.base):
		want = down
	default:
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
