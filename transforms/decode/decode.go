// Package decode is the first stage: Kafka message bytes in, canonical
// records out, and a dead letter with an exact reason for anything else.
// Messages of canonical topics are decoded; messages of a source's raw topic
// go through that source's mapping (transforms/mapping) instead, in the same
// pass, so records keep their message order.
package decode

import (
	"context"
	"crypto/sha256"
	"errors"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
	"github.com/erpflow/erpflow/transforms/mapping"
)

// StageName is the stage label in metrics and dead-letter headers;
// MapStageName labels the dead letters of mapped records.
const (
	StageName    = "decode"
	MapStageName = "map"
)

// minChunk is the smallest share of a batch worth a goroutine of its own.
const minChunk = 2000

// Stage decodes canonical JSON. Decoding is stateless per message, so a
// batch is split into contiguous chunks decoded in parallel and joined back
// in message order: the output is the same as decoding one by one.
type Stage struct {
	workers []*worker
	now     func() time.Time
}

type worker struct {
	dec     *record.Decoder
	mappers map[string]*mapping.Mapper // by raw topic
	n       int                        // items decoded by the last decode
	dead    []pipeline.DeadLetter
	// pass are topics whose messages are not records: a later stage reads
	// them from the batch (matching reads review decisions).
	pass map[string]bool
	// release lets each decoded message's bytes go (ReleaseValues).
	release bool
}

// New returns a decode stage using up to GOMAXPROCS goroutines per batch.
// mappings names the mapping of each raw topic; other topics are canonical.
func New(mappings map[string]*mapping.Mapping) *Stage {
	s := &Stage{now: time.Now}
	for i := 0; i < max(1, runtime.GOMAXPROCS(0)); i++ {
		w := &worker{dec: record.NewDecoder(), mappers: map[string]*mapping.Mapper{}}
		for topic, m := range mappings {
			w.mappers[topic] = m.NewMapper()
		}
		s.workers = append(s.workers, w)
	}
	return s
}

// PassThrough leaves the messages of topics to a later stage: they are
// neither decoded nor dead-lettered here.
func (s *Stage) PassThrough(topics ...string) *Stage {
	for _, w := range s.workers {
		if w.pass == nil {
			w.pass = map[string]bool{}
		}
		for _, t := range topics {
			w.pass[t] = true
		}
	}
	return s
}

// ReleaseValues lets go of each message's bytes once it is decoded
// (pipeline.Message.Released). Use it only with a dead-letter sink that can
// read a released message again from its topic (kafka.DeadLetters).
func (s *Stage) ReleaseValues() *Stage {
	for _, w := range s.workers {
		w.release = true
	}
	return s
}

// Name implements pipeline.Stage.
func (s *Stage) Name() string { return StageName }

// Process implements pipeline.Stage. Each worker decodes its share of the
// messages straight into its share of b.Items (room for one item per
// message), and the shares are then closed up: a batch's items are its
// largest allocation, and decoding into worker buffers first made it twice.
func (s *Stage) Process(ctx context.Context, b *pipeline.Batch) error {
	ingest := s.now().UTC().Truncate(time.Second)
	n := len(b.Messages)
	parts := min(len(s.workers), max(1, n/minChunk))
	size := (n + parts - 1) / parts
	base := len(b.Items)
	b.Items = slices.Grow(b.Items, n)[:base+n]
	var wg sync.WaitGroup
	for p := 0; p < parts; p++ {
		lo, hi := p*size, min((p+1)*size, n)
		w := s.workers[p]
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.decode(b, lo, hi, b.Items[base+lo:base+hi], ingest)
		}()
	}
	wg.Wait()
	end := base
	for p, w := range s.workers[:parts] {
		lo := base + p*size
		if end != lo {
			copy(b.Items[end:], b.Items[lo:lo+w.n])
		}
		end += w.n
		b.Dead = append(b.Dead, w.dead...)
		w.dead = w.dead[:0]
	}
	clear(b.Items[end:])
	b.Items = b.Items[:end]
	return nil
}

// decode decodes messages lo to hi into out, one item per record, and
// leaves the number of items in w.n.
func (w *worker) decode(b *pipeline.Batch, lo, hi int, out []pipeline.Item, ingest time.Time) {
	w.n = 0
	for i := lo; i < hi; i++ {
		m := &b.Messages[i]
		if w.pass[m.Topic] || m.Control {
			continue
		}
		it := &out[w.n]
		*it = pipeline.Item{Msg: i}
		stage := StageName
		var err error
		if mp := w.mappers[m.Topic]; mp != nil {
			stage = MapStageName
			err = mp.Map(m.Key, m.Value, &it.Rec)
		} else {
			err = w.dec.Decode(m.Value, &it.Rec)
		}
		if err != nil {
			w.dead = append(w.dead, pipeline.DeadLetter{Msg: m, Stage: stage, Reason: reason(err), Message: err.Error()})
			continue
		}
		w.n++
		it.Rec.IngestTime = ingest
		it.Rec.Provenance.Topic, it.Rec.Provenance.Partition, it.Rec.Provenance.Offset = m.Topic, m.Partition, m.Offset
		it.Rec.Provenance.SHA256 = sha256.Sum256(m.Value)
		if w.release {
			m.Value, m.Released = nil, true
		}
	}
}

// reason is the dead-letter reason code of a decoding or mapping error.
func reason(err error) string {
	var de *record.DecodeError
	var me *mapping.Error
	switch {
	case errors.As(err, &de):
		return de.Code()
	case errors.As(err, &me):
		return me.Code()
	}
	return record.ReasonInvalidJSON
}
