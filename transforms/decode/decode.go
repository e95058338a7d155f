// Package decode is the first stage: Kafka message bytes in, canonical
// records out, and a dead letter with an exact reason for anything else.
package decode

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
)

// StageName is the stage label in metrics and dead-letter headers.
const StageName = "decode"

// Stage decodes canonical JSON. It keeps one decoder, so the runner's
// one-batch-at-a-time contract is what makes it safe.
type Stage struct {
	dec *record.Decoder
	now func() time.Time
}

// New returns a decode stage.
func New() *Stage { return &Stage{dec: record.NewDecoder(), now: time.Now} }

// Name implements pipeline.Stage.
func (s *Stage) Name() string { return StageName }

// Process implements pipeline.Stage.
func (s *Stage) Process(ctx context.Context, b *pipeline.Batch) error {
	ingest := s.now().UTC().Truncate(time.Second)
	if cap(b.Items)-len(b.Items) < len(b.Messages) {
		b.Items = append(make([]pipeline.Item, 0, len(b.Items)+len(b.Messages)), b.Items...)
	}
	for i := range b.Messages {
		m := &b.Messages[i]
		b.Items = append(b.Items, pipeline.Item{Msg: i})
		it := &b.Items[len(b.Items)-1]
		if err := s.dec.Decode(m.Value, &it.Rec); err != nil {
			b.Items = b.Items[:len(b.Items)-1]
			var de *record.DecodeError
			if errors.As(err, &de) {
				b.Reject(i, StageName, de.Code(), de.Error())
			} else {
				b.Reject(i, StageName, record.ReasonInvalidJSON, err.Error())
			}
			continue
		}
		it.Rec.IngestTime = ingest
		it.Rec.Provenance = record.Provenance{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, SHA256: sha256.Sum256(m.Value)}
	}
	return nil
}
