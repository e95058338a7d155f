package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress reports long work on stderr: a bar on a terminal, and a plain
// line every few seconds otherwise, so logs and CI output stay readable.
type progress struct {
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	w     io.Writer
	desc  string
	total int64
	start time.Time
	last  time.Time
	done  int64
}

func newProgress(desc string, total int64) *progress {
	return newProgressSince(desc, total, time.Now())
}

// newProgressSince is a progress of work that began at start, before its
// total was known: the rate counts from then.
func newProgressSince(desc string, total int64, start time.Time) *progress {
	p := &progress{w: os.Stderr, desc: desc, total: total, start: start}
	if term.IsTerminal(int(os.Stderr.Fd())) {
		p.bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription(desc), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("rec"), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish())
	}
	return p
}

// Set records that done units of the total are finished.
func (p *progress) Set(done int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = done
	if p.bar != nil {
		_ = p.bar.Set64(min(done, p.total))
		return
	}
	if time.Since(p.last) < 3*time.Second {
		return
	}
	p.last = time.Now()
	p.line()
}

func (p *progress) line() {
	// A rate over less than a second says nothing: it is left out.
	rate := "-/s"
	if el := time.Since(p.start).Seconds(); el >= 1 {
		rate = fmt.Sprintf("%.0f/s", float64(p.done)/el)
	}
	if p.total > 0 {
		fmt.Fprintf(p.w, "%s: %d/%d (%.0f%%) %s\n", p.desc, p.done, p.total, 100*float64(p.done)/float64(p.total), rate)
	} else {
		fmt.Fprintf(p.w, "%s: %d %s\n", p.desc, p.done, rate)
	}
}

// Finish ends the bar, or prints the last line.
func (p *progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		return
	}
	p.line()
}
