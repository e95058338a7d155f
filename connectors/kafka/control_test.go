package kafka

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/erpflow/erpflow/pipeline"
)

func TestIsControlRecord(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    kafkago.Message
		want bool
	}{
		{"commit marker", kafkago.Message{Key: []byte{0, 0, 0, 1}, Value: []byte{0, 0, 0, 0, 0, 7}}, true},
		{"abort marker", kafkago.Message{Key: []byte{0, 0, 0, 0}, Value: []byte{0, 0, 0, 0, 0, 0}}, true},
		{"a record keyed by company", kafkago.Message{Key: []byte("C001"), Value: []byte(`{"kind":"invoice"}`)}, false},
		{"unknown marker type", kafkago.Message{Key: []byte{0, 0, 0, 2}, Value: []byte{0, 0, 0, 0, 0, 0}}, false},
		{"marker version 1", kafkago.Message{Key: []byte{0, 1, 0, 1}, Value: []byte{0, 0, 0, 0, 0, 0}}, false},
		{"value too long", kafkago.Message{Key: []byte{0, 0, 0, 1}, Value: []byte{0, 0, 0, 0, 0, 0, 0}}, false},
		{"headers", kafkago.Message{Key: []byte{0, 0, 0, 1}, Value: []byte{0, 0, 0, 0, 0, 0}, Headers: []kafkago.Header{{Key: "h"}}}, false},
	} {
		if got := isControlRecord(tc.m); got != tc.want {
			t.Errorf("%s: isControlRecord = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestSourceFlagsTransactionMarkers has a transactional producer (franz-go's
// client, as other systems' producers would be) write to an input topic:
// kafka-go hands the broker's commit marker out as a message, and the
// source must flag it so that no stage takes it for a record, while its
// offset still commits, so that the group's lag reaches zero.
func TestSourceFlagsTransactionMarkers(t *testing.T) {
	b := startBroker(t, "erp.invoices")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := transactional(t, b, "erp.invoices")
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	const n = 10
	for i := 0; i < n; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte("C001"), Value: []byte(`{"n":1}`)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}

	s := testSource(t, b, "g-tx", "erp.invoices")
	var got []pipeline.Message
	for len(got) < n+1 && ctx.Err() == nil {
		msgs, err := s.Fetch(ctx, 100, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, msgs...)
	}
	if len(got) != n+1 {
		t.Fatalf("read %d messages, want %d records and the commit marker", len(got), n)
	}
	for i, m := range got {
		if want := i == n; m.Control != want {
			t.Fatalf("message %d (offset %d, value %q): Control = %v, want %v", i, m.Offset, m.Value, m.Control, want)
		}
	}
	last := got[n]
	if err := s.Commit(ctx, []pipeline.Mark{{Topic: last.Topic, Partition: last.Partition, Next: last.Offset + 1, Epoch: last.Epoch}}); err != nil {
		t.Fatal(err)
	}
	if lag, err := s.Lag(ctx); err != nil || lag != 0 {
		t.Fatalf("lag after committing past the marker = %d, %v", lag, err)
	}
}

// TestSourceReportsAbortedTransactions: kafka-go hands out the records of
// an aborted transaction as data and cannot say which they were; the
// source flags the abort marker like a commit marker and counts it, so
// that an operator learns of records that should not have been read.
func TestSourceReportsAbortedTransactions(t *testing.T) {
	b := startBroker(t, "erp.invoices")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := transactional(t, b, "erp.invoices")
	for _, end := range []kgo.TransactionEndTry{kgo.TryAbort, kgo.TryCommit} {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte("C001"), Value: []byte(`{"n":1}`)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := cl.EndTransaction(ctx, end); err != nil {
			t.Fatal(err)
		}
	}
	metrics := pipeline.NewMetrics(nil)
	s := testSourceWith(t, b, "g-abort", metrics, "erp.invoices")
	var got []pipeline.Message
	for len(got) < 4 && ctx.Err() == nil {
		msgs, err := s.Fetch(ctx, 100, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, msgs...)
	}
	if len(got) != 4 || got[0].Control || !got[1].Control || got[2].Control || !got[3].Control {
		t.Fatalf("read %d messages (%v); want record, abort marker, record, commit marker", len(got), got)
	}
	if n := testutil.ToFloat64(metrics.AbortedTransactions.WithLabelValues("erp.invoices")); n != 1 {
		t.Errorf("aborted transactions counted %v, want 1", n)
	}
}

// transactional is a franz-go client producing to topic in transactions,
// as another system's producer would; closed with the test.
func transactional(t *testing.T, b *Broker, topic string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.TransactionalID("erp-connector"), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}
