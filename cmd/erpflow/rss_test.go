package main

import (
	"os/exec"
	"testing"
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
