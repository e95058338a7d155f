package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// AckGate lets a stage's Process wait until the batches before one have
// landed, for a stage that rebuilds its state from the sink when the
// assignment changes and must see what it sent there first. Acknowledgements
// come on the runner's commit goroutine (Acker); Waiting serves AckWaiter,
// so that sink writers do not linger for batches that cannot come while a
// stage waits. The zero value is ready.
type AckGate struct {
	landed  atomic.Uint64 // one past the last batch acknowledged
	waiting atomic.Bool
	once    sync.Once
	ch      chan struct{} // a token after each acknowledgement
	// started and epoch are Generation's, on the stage's goroutine.
	started bool
	epoch   int64
}

func (g *AckGate) signal() chan struct{} {
	g.once.Do(func() { g.ch = make(chan struct{}, 1) })
	return g.ch
}

// Acked records b as landed; batches are acknowledged in order.
func (g *AckGate) Acked(b *Batch) {
	g.landed.Store(b.Seq + 1)
	select {
	case g.signal() <- struct{}{}:
	default:
	}
}

// Wait returns once every batch before seq has landed, or ctx ends.
func (g *AckGate) Wait(ctx context.Context, seq uint64) error {
	g.waiting.Store(true)
	defer g.waiting.Store(false)
	for g.landed.Load() < seq {
		select {
		case <-g.signal():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Generation says whether b opens an assignment generation (the first one
// included), and then waits until the batches before it have landed. A
// stage calls it from Process, for every batch, before working on it: it
// keeps the generation of the last batch, which only Process touches.
func (g *AckGate) Generation(ctx context.Context, b *Batch) (bool, error) {
	e := b.Epoch()
	if e < 0 || g.started && e <= g.epoch {
		return false, nil
	}
	before := g.started
	g.started, g.epoch = true, e
	if before {
		// Batch numbers start at 0 and go up by one, so a first batch has
		// nothing before it to wait for.
		if err := g.Wait(ctx, b.Seq); err != nil {
			return true, err
		}
	}
	return true, nil
}

// Epoch is the generation of the last batch Generation saw; -1 before.
func (g *AckGate) Epoch() int64 {
	if !g.started {
		return -1
	}
	return g.epoch
}

// Waiting says whether a Wait is under way.
func (g *AckGate) Waiting() bool { return g.waiting.Load() }

// Epoch is the newest assignment generation among b's messages; -1 for a
// batch without messages.
func (b *Batch) Epoch() int64 {
	e := int64(-1)
	for i := range b.Messages {
		e = max(e, b.Messages[i].Epoch)
	}
	return e
}

// Retry calls f until it succeeds or ctx ends (then it returns ctx's
// error), waiting first between attempts and twice as long after each
// failure, up to last; failed hears of each failure and the wait before
// the next attempt. Stages use it for
// what they read from outside systems when the assignment changes: a
// server that is down for a while holds the pipeline, as a failed sink
// write does, rather than ending the run.
func Retry(ctx context.Context, first, last time.Duration, f func() error, failed func(attempt int, err error, wait time.Duration)) error {
	backoff := first
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		failed(attempt, err, backoff)
		if !sleep(ctx, backoff) {
			return ctx.Err()
		}
		backoff = min(backoff*2, last)
	}
}
