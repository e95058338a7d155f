package clickhouse

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// TestInParallelRunsEveryTaskOnceAtMostNAtATime: a group's inserts all
// run, each once, never more than n at a time, and at times n at once.
func TestInParallelRunsEveryTaskOnceAtMostNAtATime(t *testing.T) {
	const n, count = 2, 40
	var ran [count]atomic.Int32
	var running, most atomic.Int32
	tasks := make([]func(context.Context) error, count)
	for i := range tasks {
		tasks[i] = func(context.Context) error {
			now := running.Add(1)
			for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
			}
			time.Sleep(time.Millisecond)
			running.Add(-1)
			ran[i].Add(1)
			return nil
		}
	}
	if err := inParallel(context.Background(), n, tasks); err != nil {
		t.Fatal(err)
	}
	for i := range ran {
		if got := ran[i].Load(); got != 1 {
			t.Errorf("task %d ran %d times", i, got)
		}
	}
	if m := most.Load(); m != n {
		t.Errorf("at most %d tasks ran at once, want %d", m, n)
	}
}

// TestInParallelStopsAtTheFirstError: the failing insert's error comes
// back, the one running beside it sees its context cancelled, and no task
// starts after the failure.
func TestInParallelStopsAtTheFirstError(t *testing.T) {
	bad := errors.New("insert refused")
	var started atomic.Int32
	var sawCancel atomic.Bool
	tasks := []func(context.Context) error{
		func(ctx context.Context) error { // beside the failure, until cancelled
			started.Add(1)
			select {
			case <-ctx.Done():
				sawCancel.Store(true)
				return ctx.Err()
			case <-time.After(5 * time.Second):
				return nil
			}
		},
		func(context.Context) error { started.Add(1); return bad },
	}
	for range 5 {
		tasks = append(tasks, func(context.Context) error { started.Add(1); return nil })
	}
	if err := inParallel(context.Background(), 2, tasks); !errors.Is(err, bad) {
		t.Fatalf("got %v, want the failing task's error", err)
	}
	if !sawCancel.Load() {
		t.Error("the task running beside the failure was not cancelled")
	}
	if n := started.Load(); n != 2 {
		t.Errorf("%d tasks started, want the 2 before the failure", n)
	}
}

// TestInParallelCountsTasksLeftUndone: a context cancelled before every
// task ran is an error, never a nil that would acknowledge a group with
// inserts missing.
func TestInParallelCountsTasksLeftUndone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ran := 0
	tasks := []func(context.Context) error{
		func(context.Context) error { ran++; cancel(); return nil },
		func(context.Context) error { ran++; return nil },
	}
	if err := inParallel(ctx, 1, tasks); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v with a task left undone, want context.Canceled", err)
	}
	if ran != 1 {
		t.Errorf("%d tasks ran after the cancel, want 1 before it", ran)
	}
}
