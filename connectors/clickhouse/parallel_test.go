package clickhouse

import (
	"context"
	"errors"
	"sync"
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
// back, the one running beside it finishes with its context whole (ending
// it near its end could close a pooled connection), and no task starts
// after the failure.
func TestInParallelStopsAtTheFirstError(t *testing.T) {
	bad := errors.New("insert refused")
	var started atomic.Int32
	var besideEnded, besideFinished atomic.Bool
	besideRuns, failed := make(chan struct{}), make(chan struct{})
	tasks := []func(context.Context) error{
		func(ctx context.Context) error { // beside the failure
			started.Add(1)
			close(besideRuns)
			<-failed
			time.Sleep(5 * time.Millisecond) // the failure is in by now
			besideEnded.Store(ctx.Err() != nil)
			besideFinished.Store(true)
			return nil
		},
		func(context.Context) error { <-besideRuns; started.Add(1); defer close(failed); return bad },
	}
	for range 5 {
		tasks = append(tasks, func(context.Context) error { started.Add(1); return nil })
	}
	if err := inParallel(context.Background(), 2, tasks); !errors.Is(err, bad) {
		t.Fatalf("got %v, want the failing task's error", err)
	}
	if !besideFinished.Load() || besideEnded.Load() {
		t.Errorf("the task beside the failure: finished %v, context ended %v; want finished, not ended", besideFinished.Load(), besideEnded.Load())
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

// TestInParallelNeverEndsAFinishedTasksContext: the context a task got is
// never ended once the task returned, whether the group succeeded, another
// task failed, or the group's context ended: clickhouse-go may close a
// pooled connection on a late end (see inParallel). A task still running
// when the group's context ends sees its own end.
func TestInParallelNeverEndsAFinishedTasksContext(t *testing.T) {
	bad := errors.New("insert refused")
	const count = 8
	for _, c := range []struct {
		name    string
		n       int  // at once
		fail    int  // the task that fails, -1 none
		endCtx  bool // the group's context ends while the last task runs
		wantErr error
	}{
		{"all succeed", 2, -1, false, nil},
		{"one fails", 2, 3, false, bad},
		// One at a time: a task that signalled but has not yet returned
		// is still running, and may be ended, as inParallel allows.
		{"group context ends", 1, -1, true, context.Canceled},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var (
				mu       sync.Mutex
				finished []context.Context
			)
			others := make(chan struct{}, count)
			tasks := make([]func(context.Context) error, count)
			for i := range tasks {
				tasks[i] = func(tctx context.Context) error {
					if i == c.fail {
						return bad
					}
					if c.endCtx && i == count-1 {
						for range count - 1 {
							<-others // every other task has returned
						}
						cancel()
						<-tctx.Done()
						return tctx.Err()
					}
					mu.Lock()
					finished = append(finished, tctx)
					mu.Unlock()
					others <- struct{}{}
					return nil
				}
			}
			if err := inParallel(ctx, c.n, tasks); !errors.Is(err, c.wantErr) {
				t.Fatalf("got %v, want %v", err, c.wantErr)
			}
			time.Sleep(10 * time.Millisecond) // a late end would have come by now
			if len(finished) == 0 {
				t.Fatal("no task finished")
			}
			for i, tctx := range finished {
				if tctx.Err() != nil {
					t.Errorf("finished task %d: its context ended after it returned", i)
				}
			}
		})
	}
}
