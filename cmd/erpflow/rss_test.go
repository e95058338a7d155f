package main

import (
	"os/exec"
	"testing"
	"time"
)

func TestVMHWM(t *testing.T) {
	for _, tc := range []struct {
		status string
		want   int64
		ok     bool
	}{
		{"Name:\terpflow\nVmPeak:\t  900000 kB\nVmHWM:\t  471234 kB\nVmRSS:\t  400000 kB\n", 471234, true},
		{"VmHWM:\t0 kB", 0, true},
		{"Name:\tzombie\nState:\tZ (zombie)\n", 0, false},
		{"VmHWM:\tlots kB\n", 0, false},
	} {
		got, ok := vmHWM([]byte(tc.status))
		if got != tc.want || ok != tc.ok {
			t.Errorf("vmHWM(%q) = %d, %v; want %d, %v", tc.status, got, ok, tc.want, tc.ok)
		}
	}
}

// TestRunMeasuredCountsOnlyTheChild runs a small child from a process
// that holds a large heap: the child's peak must not be this process's
// (rusage's maxrss of a child started by os/exec is, on Linux).
func TestRunMeasuredCountsOnlyTheChild(t *testing.T) {
	ballast := make([]byte, 256<<20)
	for i := range ballast {
		ballast[i] = 1
	}
	cmd := exec.Command("sleep", "0.3")
	peak, err := runMeasured(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if peak <= 0 || peak > 64<<10 {
		t.Fatalf("peak of sleep measured as %d KiB, from a process holding %d MiB", peak, len(ballast)>>20)
	}
}

func TestProcStatBusy(t *testing.T) {
	for _, tc := range []struct {
		stat string
		want time.Duration
		ok   bool
	}{
		// user nice system idle iowait irq softirq steal guest guest_nice
		{"cpu  100 5 50 9000 40 3 2 0 0 0\ncpu0 50 2 25 4500 20 1 1 0 0 0\n", 1600 * time.Millisecond, true},
		{"cpu  100 5 50 9000 40 3 2 77 0 0\n", 1600 * time.Millisecond, true}, // steal is not ours
		{"cpu  100 5 50 9000 40\n", 1550 * time.Millisecond, true},            // an old kernel's five fields
		{"cpu0 1 2 3 4 5 6 7\n", 0, false},
		{"cpu  1 x 3 4 5\n", 0, false},
		{"", 0, false},
	} {
		got, ok := procStatBusy([]byte(tc.stat))
		if got != tc.want || ok != tc.ok {
			t.Errorf("procStatBusy(%q) = %v, %v; want %v, %v", tc.stat, got, ok, tc.want, tc.ok)
		}
	}
	if busy, ok := machineBusy(); !ok || busy <= 0 {
		t.Errorf("machineBusy on this machine: %v, %v", busy, ok)
	}
}

// TestSelfCPUAndTheRest: this process's CPU time grows while it works, and
// what a run leaves to ClickHouse is the machine's time less erpflow's and
// the broker's, never below zero (the counters are read at different
// moments).
func TestSelfCPUAndTheRest(t *testing.T) {
	start := selfCPU()
	if start <= 0 {
		t.Fatalf("selfCPU = %v before any work", start)
	}
	deadline := time.Now().Add(10 * time.Second)
	x := 0
	for selfCPU() <= start {
		if time.Now().After(deadline) {
			t.Fatal("selfCPU did not grow while this process worked")
		}
		for i := range 1_000_000 {
			x ^= i
		}
	}
	_ = x
	for _, tc := range []struct {
		r    childRun
		want time.Duration
	}{
		{childRun{machine: 10 * time.Second, cpu: 6 * time.Second, self: time.Second}, 3 * time.Second},
		{childRun{machine: 5 * time.Second, cpu: 6 * time.Second}, 0},
		{childRun{}, 0},
	} {
		if got := tc.r.rest(); got != tc.want {
			t.Errorf("rest of %+v = %v, want %v", tc.r, got, tc.want)
		}
	}
}
