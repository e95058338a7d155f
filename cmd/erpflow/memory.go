package main

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"time"
)

// defaultMemoryLimit is the Go heap's soft limit for erpflow run unless
// GOMEMLIMIT says otherwise; the process budget is 512 MiB. Resident
// memory settles 8-14 MiB above the limit (the binary, and what the
// runtime has not yet handed back), so 480 MiB leaves some 20 MiB of the
// budget. Each megabyte of room above the live heap spaces collections
// further apart: against 448 MiB, a run with matching took 3-4 % less CPU
// (docs/benchmarks.md).
const defaultMemoryLimit = 480 << 20

// paceCollector leaves the collector's pace to the soft memory limit: it
// runs when the heap nears the limit, not each time the heap has doubled
// since the last collection (GOGC=100), which made it run several times as
// often while the live heap was small. The run without matching (live heap
// about 150 MB) took 3.3-3.8 CPU-seconds instead of 3.8-4.0 for the same
// records, at a peak RSS of 456-459 MiB instead of 372-410 (A/B, three
// runs each); with matching the live heap is near the limit anyway and
// nothing changed. GOMEMLIMIT and GOGC in the environment decide if set.
// It reports whether it set the limit, which followLiveHeap then keeps.
func paceCollector(getenv func(string) string, ceiling int64) bool {
	if getenv("GOMEMLIMIT") != "" {
		return false
	}
	debug.SetMemoryLimit(baseLimit(ceiling))
	if getenv("GOGC") == "" {
		debug.SetGCPercent(-1)
	}
	return true
}

// baseLimit is defaultMemoryLimit, or the ceiling where that is lower: a
// container given less memory than erpflow's budget.
func baseLimit(ceiling int64) int64 {
	if ceiling > 0 {
		return min(defaultMemoryLimit, ceiling)
	}
	return defaultMemoryLimit
}

// memoryCeiling is the most the soft memory limit may reach: nine tenths
// of the memory limit of the control group erpflow runs in (a container's
// limit), so that a limit following a growing live heap makes the
// collector work harder instead of getting the process killed; the rest
// is for what the Go runtime does not count. 0 when no limit is set or
// none can be read. read is os.ReadFile.
func memoryCeiling(read func(string) ([]byte, error)) int64 {
	limit := int64(0)
	if own, err := read("/proc/self/cgroup"); err == nil {
		for _, line := range strings.Split(string(own), "\n") {
			// cgroup v2 is "0::/path"; v1's memory controller "N:memory:/path".
			parts := strings.SplitN(line, ":", 3)
			if len(parts) != 3 {
				continue
			}
			switch {
			case parts[0] == "0" && parts[1] == "":
				limit = cgroupLimit(read, "/sys/fs/cgroup"+parts[2]+"/memory.max", limit)
			case slices.Contains(strings.Split(parts[1], ","), "memory"):
				limit = cgroupLimit(read, "/sys/fs/cgroup/memory"+parts[2]+"/memory.limit_in_bytes", limit)
			}
		}
	}
	if limit == 0 {
		// Inside a container the own group's path is often not mounted:
		// the mount's root is the group.
		limit = cgroupLimit(read, "/sys/fs/cgroup/memory.max", 0)
		limit = cgroupLimit(read, "/sys/fs/cgroup/memory/memory.limit_in_bytes", limit)
	}
	return limit / 10 * 9
}

// cgroupLimit reads a control group's memory limit from file and returns
// the lower of it and have (0 for none). "max", or a number near 2^63 (v1
// writes the largest page-aligned one), is no limit.
func cgroupLimit(read func(string) ([]byte, error), file string, have int64) int64 {
	b, err := read(file)
	if err != nil {
		return have
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n <= 0 || n >= 1<<62 {
		return have
	}
	if have == 0 {
		return n
	}
	return min(have, n)
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
func followLiveHeap(ctx context.Context, log *slog.Logger, every time.Duration, ceiling int64) {
	base := baseLimit(ceiling)
	f := limitFollower{base: base, headroom: limitHeadroom, near: liveNearBase, limit: base, ceiling: ceiling,
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
	ceiling        int64 // the most the limit may reach (memoryCeiling); 0 for none
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
	if f.ceiling > 0 {
		up, down = min(up, max(f.ceiling, f.base)), min(down, max(f.ceiling, f.base))
	}
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
