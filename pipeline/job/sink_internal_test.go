package job

import (
	"context"
	"testing"

	"github.com/erpflow/erpflow/pipeline"
)

type oneAtATime struct{}

func (oneAtATime) Write(context.Context, *pipeline.Batch) error { return nil }

type together struct{ oneAtATime }

func (together) WriteGroup(context.Context, []*pipeline.Batch) error { return nil }

// TestPublishingSinkGroupsOnlyOverAGroupSink: the runner groups batches
// for any sink that says it can; the publishing wrapper says so only when
// the sink under it can, or every group would fail and go batch by batch.
func TestPublishingSinkGroupsOnlyOverAGroupSink(t *testing.T) {
	var plain pipeline.Sink = publishingSink{oneAtATime{}, nil}
	if _, ok := plain.(pipeline.GroupSink); ok {
		t.Error("a publishing sink over a one-at-a-time sink claims to write groups")
	}
	var inner pipeline.Sink = together{}
	gs, ok := inner.(pipeline.GroupSink)
	if !ok {
		t.Fatal("test sink is not a GroupSink")
	}
	var grouped pipeline.Sink = publishingGroupSink{publishingSink{inner, nil}, gs}
	if _, ok := grouped.(pipeline.GroupSink); !ok {
		t.Error("a publishing sink over a GroupSink does not write groups")
	}
}
