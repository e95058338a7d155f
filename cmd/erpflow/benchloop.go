package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/erpflow/erpflow/connectors/clickhouse"
	"github.com/erpflow/erpflow/pipeline/config"
	"github.com/erpflow/erpflow/pipeline/record"
)

// minimalTable receives the minimal loop's rows: the envelope every record
// has, in one plain MergeTree table.
const minimalTable = "bench_minimal_loop"

// minimalBatch is the loop's insert size in the bench, the ~50k rows of
// the loop issue 3 cites.
const minimalBatch = 50_000

// minimalLoop measures the least a consumer that checks records and lands
// them must do: plain kafka-go readers as in bareConsume, each message
// decoded and validated by the canonical decoder erpflow's decode stage
// uses, the envelope appended to columns, and batches of batchRows rows
// sent to one table by two concurrent inserts. No dedupe, flags, mapping,
// matching, body columns, version copies, dead letters or offset commits:
// it is the reference for what those cost, not a way to run erpflow. Its
// records must be canonical (the raw bench's source shapes are not).
func minimalLoop(ctx context.Context, c clickhouse.Config, brokers, topics []string, kc config.Kafka, batchRows int) (int64, time.Duration, error) {
	conn, err := clickhouse.Open(ctx, c, c.Database)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	if err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+minimalTable); err != nil {
		return 0, 0, err
	}
	if err := conn.Exec(ctx, "CREATE TABLE "+minimalTable+` (kind String, company String, source String, id String,
		version UInt64, event_time DateTime) ENGINE = MergeTree() ORDER BY (company, source, id)`); err != nil {
		return 0, 0, err
	}

	type rows struct {
		kind, company, source, id []string
		version                   []uint64
		eventTime                 []time.Time
	}
	full := make(chan *rows, 2)
	sendErr := make(chan error, 2)
	var senders sync.WaitGroup
	for range 2 {
		senders.Add(1)
		go func() {
			defer senders.Done()
			for r := range full {
				b, err := conn.PrepareBatch(ctx, "INSERT INTO "+minimalTable+" (kind, company, source, id, version, event_time)")
				if err == nil {
					for i, col := range []any{r.kind, r.company, r.source, r.id, r.version, r.eventTime} {
						if err = b.Column(i).Append(col); err != nil {
							b.Abort()
							break
						}
					}
				}
				if err == nil {
					err = b.Send()
				}
				if err != nil {
					sendErr <- fmt.Errorf("minimal loop insert: %w", err)
					for range full { // let the readers finish
					}
					return
				}
			}
		}()
	}

	var mu sync.Mutex
	cur := &rows{}
	var decoders sync.Map // reader -> *record.Decoder
	start := time.Now()
	n, _, err := readAll(ctx, brokers, topics, kc, func(reader int, m *kafkago.Message) error {
		d, ok := decoders.Load(reader)
		if !ok {
			d, _ = decoders.LoadOrStore(reader, record.NewDecoder())
		}
		var r record.Record
		if err := d.(*record.Decoder).Decode(m.Value, &r); err != nil {
			return err
		}
		mu.Lock()
		c := cur
		c.kind = append(c.kind, r.Kind.String())
		c.company = append(c.company, r.Company)
		c.source = append(c.source, r.Source)
		c.id = append(c.id, r.ID)
		c.version = append(c.version, r.Version)
		c.eventTime = append(c.eventTime, r.EventTime)
		if len(c.id) < batchRows {
			mu.Unlock()
			return nil
		}
		cur = &rows{}
		mu.Unlock()
		full <- c
		return nil
	})
	if err == nil && len(cur.id) > 0 {
		full <- cur
	}
	close(full)
	senders.Wait()
	elapsed := time.Since(start)
	select {
	case serr := <-sendErr:
		if err == nil {
			err = serr
		}
	default:
	}
	if err != nil {
		return 0, 0, err
	}
	return n, elapsed, nil
}
