package pipeline

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

func TestAckGateWaitsForTheBatchesBefore(t *testing.T) {
	var g AckGate
	if err := g.Wait(context.Background(), 0); err != nil || g.Waiting() {
		t.Fatalf("nothing before batch 0: %v, waiting %v", err, g.Waiting())
	}
	done := make(chan error)
	go func() { done <- g.Wait(context.Background(), 2) }()
	for !g.Waiting() {
		runtime.Gosched()
	}
	g.Acked(&Batch{Seq: 0})
	select {
	case err := <-done:
		t.Fatalf("Wait(2) returned %v with only batch 0 landed", err)
	default:
	}
	g.Acked(&Batch{Seq: 1})
	if err := <-done; err != nil || g.Waiting() {
		t.Fatalf("Wait(2) after batches 0 and 1: %v, waiting %v", err, g.Waiting())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Wait(ctx, 5); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with an ended context: %v", err)
	}
}

func TestBatchEpoch(t *testing.T) {
	b := &Batch{Messages: []Message{{Epoch: 3}, {Epoch: 5}, {Epoch: 4}}}
	if b.Epoch() != 5 || (&Batch{}).Epoch() != -1 {
		t.Fatalf("epochs %d, %d; want 5, -1", b.Epoch(), (&Batch{}).Epoch())
	}
}

func TestRetryUntilItWorksOrTheContextEnds(t *testing.T) {
	calls, heard := 0, 0
	err := Retry(context.Background(), time.Microsecond, 4*time.Microsecond, func() error {
		if calls++; calls < 4 {
			return errors.New("down")
		}
		return nil
	}, func(attempt int, err error, wait time.Duration) {
		if heard++; attempt != heard || err.Error() != "down" || wait != min(time.Microsecond<<(attempt-1), 4*time.Microsecond) {
			t.Errorf("failure %d heard as attempt %d, %v, wait %v", heard, attempt, err, wait)
		}
	})
	if err != nil || calls != 4 || heard != 3 {
		t.Fatalf("Retry: %v after %d calls, %d failures heard; want nil, 4, 3", err, calls, heard)
	}
	ctx, cancel := context.WithCancel(context.Background())
	err = Retry(ctx, time.Microsecond, time.Microsecond, func() error { return errors.New("down") },
		func(attempt int, _ error, _ time.Duration) {
			if attempt == 3 {
				cancel()
			}
		})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Retry with the context ended: %v", err)
	}
}

func TestAckGateGenerations(t *testing.T) {
	var g AckGate
	at := func(seq uint64, epochs ...int64) *Batch {
		b := &Batch{Seq: seq}
		for _, e := range epochs {
			b.Messages = append(b.Messages, Message{Epoch: e})
		}
		return b
	}
	ctx := context.Background()
	for i, c := range []struct {
		b     *Batch
		fresh bool
	}{
		{at(0), false},    // no messages: no generation
		{at(1, 4), true},  // the first: nothing before it is waited for
		{at(2, 4), false}, // the same generation
		{at(3, 3), false}, // an older one's stragglers
	} {
		if fresh, err := g.Generation(ctx, c.b); fresh != c.fresh || err != nil || g.Waiting() {
			t.Fatalf("case %d: fresh %v, %v; want %v", i, fresh, err, c.fresh)
		}
	}
	if g.Epoch() != 4 {
		t.Fatalf("epoch %d, want 4", g.Epoch())
	}
	done := make(chan bool)
	go func() {
		fresh, _ := g.Generation(ctx, at(4, 4, 5))
		done <- fresh
	}()
	for !g.Waiting() {
		runtime.Gosched()
	}
	for seq := range uint64(4) {
		g.Acked(&Batch{Seq: seq})
	}
	if !<-done || g.Epoch() != 5 {
		t.Fatalf("a batch of generation 5 after 4: not fresh, or epoch %d", g.Epoch())
	}
}
