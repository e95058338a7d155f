package clickhouse

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	chproto "github.com/ClickHouse/ch-go/proto"
	chcolumn "github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"

	"github.com/erpflow/erpflow/pipeline"
	"github.com/erpflow/erpflow/pipeline/record"
)

// Tables maps each kind to its table, as DESIGN.md names them.
var Tables = map[record.Kind]string{
	record.KindInvoice:       "invoices",
	record.KindPayment:       "payments",
	record.KindBankTxn:       "bank_txns",
	record.KindSalesOrder:    "sales_orders",
	record.KindShipment:      "shipments",
	record.KindPurchaseOrder: "purchase_orders",
	record.KindGoodsReceipt:  "goods_receipts",
	record.KindExpenseClaim:  "expense_claims",
	record.KindApproval:      "approvals",
}

// Sink writes a batch's records with one columnar insert per kind:
// PrepareBatch, column Append, Send. Send returning nil is the only
// acknowledgement; a failed batch is written again whole, which the
// ReplacingMergeTree tables absorb.
type Sink struct {
	conn driver.Conn
}

// NewSink returns a sink writing through conn.
func NewSink(conn driver.Conn) *Sink {
	return &Sink{conn: conn}
}

// Write implements pipeline.Sink.
func (s *Sink) Write(ctx context.Context, b *pipeline.Batch) error {
	bs := []*pipeline.Batch{b}
	rows, lines := countRows(bs)
	var refused map[int]error // item index -> why ClickHouse refused it
	for _, k := range record.Kinds {
		if rows[k] == 0 {
			continue
		}
		err := s.sendKind(ctx, k, bs, rows[k], lines[k])
		var de *dataError
		if errors.As(err, &de) {
			// Some value of this kind does not fit its table: find which,
			// by halves, so the rest lands and only those are refused.
			if refused == nil {
				refused = map[int]error{}
			}
			err = s.isolate(ctx, b, k, refused)
		}
		if err != nil {
			return err
		}
	}
	if len(refused) > 0 {
		order := make([]int, 0, len(refused))
		for i := range refused {
			order = append(order, i)
		}
		sort.Ints(order) // dead letters in message order, replay after replay
		for _, i := range order {
			b.Reject(b.Items[i].Msg, SinkStageName, ReasonRefused, refused[i].Error())
		}
		n := 0
		b.Keep(func(*pipeline.Item) bool { _, bad := refused[n]; n++; return !bad })
	}
	if err := s.sendDuplicates(ctx, b.Duplicates); err != nil {
		return err
	}
	return s.sendRows(ctx, b.Rows)
}

// WriteGroup implements pipeline.GroupSink: the batches' records, their
// duplicates and their derived rows go in one insert per table. Half the
// inserts is half the parts ClickHouse writes and later merges. A refused
// value fails the group; the runner then writes each batch with Write,
// which finds the record. Every table is a ReplacingMergeTree keyed so
// that rows written again replace themselves, so a group that failed
// after some of its inserts landed can be written again.
//
// Two inserts run at a time: while ClickHouse takes one, the next one's
// columns are built. One after the other, a group of three batches took
// 310-370 ms to land while the stages, their slots taken, had nothing to
// do; two at a time, 200-230 ms (docs/benchmarks.md, fifth session).
func (s *Sink) WriteGroup(ctx context.Context, bs []*pipeline.Batch) error {
	rows, lines := countRows(bs)
	var tasks []func(context.Context) error
	for _, k := range record.Kinds {
		if rows[k] == 0 {
			continue
		}
		tasks = append(tasks, func(ctx context.Context) error { return s.sendKind(ctx, k, bs, rows[k], lines[k]) })
	}
	var dups []pipeline.Item
	for _, b := range bs {
		dups = append(dups, b.Duplicates...)
	}
	tasks = append(tasks, func(ctx context.Context) error { return s.sendDuplicates(ctx, dups) })
	derived, err := mergeRows(bs)
	if err != nil {
		return fmt.Errorf("derived rows: %w", err)
	}
	for _, r := range derived {
		tasks = append(tasks, func(ctx context.Context) error { return s.sendRows(ctx, []*pipeline.Rows{r}) })
	}
	return inParallel(ctx, groupInserts, tasks)
}

// groupInserts is how many of a group's inserts run at once.
const groupInserts = 2

// inParallel runs tasks on up to n goroutines, each taking the next task
// in the list, and returns the first error. After an error no task starts, and those
// running finish: an insert is bounded, and ending one is what must not
// happen near its end (below). When ctx ends, the running tasks are ended
// too and no task starts. It returns nil only when every task ran and
// returned nil.
//
// A task's context ends only with ctx, and only while the task runs:
// clickhouse-go v2.50 watches a Send's context on a goroutine that may act
// on an end coming just after Send returned, and close the connection,
// back in the pool by then and possibly another query's (clickhouse-go
// PR #2032, open). A group context cancelled as soon as the group was done
// did that now and then; when ctx ends the sink is shutting down, and a
// connection closed late costs nothing.
func inParallel(ctx context.Context, n int, tasks []func(context.Context) error) error {
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		mu      sync.Mutex
		running = map[int]*abortable{}
		first   error
	)
	defer context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		for _, a := range running {
			a.abort()
		}
	})()
	for range min(n, len(tasks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(tasks); i = int(next.Add(1) - 1) {
				mu.Lock()
				if first != nil {
					mu.Unlock()
					return
				}
				// A task left undone is an error too, or a group cut short
				// by shutdown would be acknowledged with inserts missing.
				err := context.Cause(ctx)
				tctx := &abortable{Context: ctx, done: make(chan struct{})}
				if err == nil {
					running[i] = tctx
				}
				mu.Unlock()
				if err == nil {
					err = tasks[i](tctx)
					mu.Lock()
					delete(running, i)
					mu.Unlock()
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// abortable is a task's context: the group's context, but ended only by
// abort, which inParallel calls when the group's context ends while the
// task runs. Err and Cause are then the group's.
type abortable struct {
	context.Context
	done chan struct{}
	once sync.Once
}

func (a *abortable) Done() <-chan struct{} { return a.done }

func (a *abortable) Err() error {
	select {
	case <-a.done:
		return a.Context.Err()
	default:
		return nil
	}
}

func (a *abortable) abort() { a.once.Do(func() { close(a.done) }) }

// countRows counts the batches' records and line items by kind.
func countRows(bs []*pipeline.Batch) (rows, lines [record.KindApproval + 1]int) {
	for _, b := range bs {
		for i := range b.Items {
			r := &b.Items[i].Rec
			rows[r.Kind]++
			if ls := record.LinesOf(r.Body); ls != nil {
				lines[r.Kind] += len(*ls)
			}
		}
	}
	return rows, lines
}

// sendKind inserts the batches' records of kind k. A kind's columns are
// built when its insert starts (two at a time in a group) and left to the
// collector once sent: building every kind's first kept them all live
// until the last insert. Kept between Writes (a
// sync.Pool, or a free list) the buffers held about 100 MB live: runs with
// matching then peaked at 476–556 MiB RSS and ran slower, against 466–488
// MiB allocating anew (raw world, A/B).
//
// The rows go in key order, (company, source, id, version): ClickHouse
// sorts an insert by the table's key, and the materialized view's copy by
// the _versions key, each time moving every column into the new order,
// unless the block is sorted already (MergeTreeDataWriterBlocksAlreadySorted,
// 18.16 included). Sorting pointers here costs less than that twice.
func (s *Sink) sendKind(ctx context.Context, k record.Kind, bs []*pipeline.Batch, rows, lines int) error {
	return s.send(ctx, Tables[k], kindBuffer(bs, k, rows, lines))
}

// kindBuffer holds the batches' records of kind k as the columns of one
// insert, in key order.
func kindBuffer(bs []*pipeline.Batch, k record.Kind, rows, lines int) *tableBuffer {
	t := &tableBuffer{kind: k}
	t.reserve(rows, lines)
	for _, r := range inKeyOrder(bs, k, rows) {
		t.add(r)
	}
	return t
}

// inKeyOrder returns the batches' records of kind k (rows of them) in key
// order.
func inKeyOrder(bs []*pipeline.Batch, k record.Kind, rows int) []*record.Record {
	recs := make([]*record.Record, 0, rows)
	for _, b := range bs {
		for i := range b.Items {
			if r := &b.Items[i].Rec; r.Kind == k {
				recs = append(recs, r)
			}
		}
	}
	slices.SortFunc(recs, keyOrder)
	return recs
}

// keyOrder orders records as the _versions tables' key does, which the
// canonical tables' key is a prefix of. Go compares strings bytewise, as
// ClickHouse compares a String column. Rows with one key and one version
// (which dedupe lets through only as a version conflict, never both) would
// keep their message order, a record's topic and partition being its
// kind's and its company's, so that the later one wins, as
// ReplacingMergeTree decides; a stable sort did the same at 1.6 times the
// cost (20,000 records, a benchmark of both).
func keyOrder(a, b *record.Record) int {
	if c := strings.Compare(a.Company, b.Company); c != 0 {
		return c
	}
	if c := strings.Compare(a.Source, b.Source); c != 0 {
		return c
	}
	if c := strings.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Version, b.Version); c != 0 {
		return c
	}
	return cmp.Compare(a.Provenance.Offset, b.Provenance.Offset)
}

// Dead-letter labels of records ClickHouse refuses.
const (
	SinkStageName = "sink"
	ReasonRefused = "sink_refused"
)

// dataError is a refusal caused by the values sent (a conversion on the
// client, or a server exception about the data), as opposed to the server
// being unreachable or misconfigured, which is retried. server says it was
// the server's exception.
type dataError struct {
	err    error
	server bool
}

func (e *dataError) Error() string { return e.err.Error() }
func (e *dataError) Unwrap() error { return e.err }

// dataCodes are ClickHouse exception codes about the values inserted.
// Type mismatches (53, 70) are left out: they mean a table that drifted
// from the migrations, which no record can fix.
var dataCodes = map[int32]bool{6: true, 27: true, 38: true, 41: true, 69: true, 72: true, 131: true, 407: true}

// isolate writes the items of kind k in ever smaller groups until each group
// either lands or is one record that does not; those go into refused.
func (s *Sink) isolate(ctx context.Context, b *pipeline.Batch, k record.Kind, refused map[int]error) (allErr error) {
	var idx []int
	for i := range b.Items {
		if b.Items[i].Rec.Kind == k {
			idx = append(idx, i)
		}
	}
	if len(idx) > 1 {
		defer func() {
			// Every record refused by the server is not a few bad values
			// but a table that cannot take this kind at all: hold the batch
			// and retry. A value the client found not to fit (a decimal
			// beyond its column) is that record's alone, however many of
			// the batch's records share the fault.
			var sample error
			for _, i := range idx {
				var de *dataError
				if !errors.As(refused[i], &de) || !de.server {
					return
				}
				if sample == nil {
					sample = refused[i]
				}
			}
			for _, i := range idx {
				delete(refused, i)
			}
			allErr = fmt.Errorf("insert %s: the server refused every record, not dead-lettering them one by one: the table does not match the migrations (the first: %w)", Tables[k], sample)
		}()
	}
	var try func(group []int) error
	try = func(group []int) error {
		t := &tableBuffer{kind: k}
		for _, i := range group {
			t.add(&b.Items[i].Rec)
		}
		err := s.send(ctx, Tables[k], t)
		var de *dataError
		switch {
		case err == nil:
			return nil
		case !errors.As(err, &de):
			return err
		case len(group) == 1:
			refused[group[0]] = err
			return nil
		}
		half := len(group) / 2
		if err := try(group[:half]); err != nil {
			return err
		}
		return try(group[half:])
	}
	return try(idx)
}

// send inserts t's rows and empties t: clickhouse-go copies every column
// into its own buffers, so ours are let go as each is appended rather than
// held through Send, which waits for the server to write the part while
// another batch's columns are being built.
func (s *Sink) send(ctx context.Context, table string, t *tableBuffer) error {
	cols, rows := t.columns(), t.rows
	*t = tableBuffer{}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+table+" ("+strings.Join(names, ", ")+")")
	if err != nil {
		return fmt.Errorf("insert %s: prepare: %w", table, err)
	}
	chCols := batch.Columns()
	makeRoom(chCols, cols)
	for i, c := range cols {
		cols[i].data = nil
		var err error
		if nc, ok := c.data.(nativeColumn); ok && i < len(chCols) {
			err = fill(chCols[i], nc, rows)
			var de *dataError
			var fe *fillError
			switch {
			case errors.As(err, &fe):
				batch.Abort()
				return fmt.Errorf("insert %s: column %s: %w", table, c.name, err)
			case errors.As(err, &de):
				err = de.err // wrapped below
			}
		} else {
			err = batch.Column(i).Append(c.data)
		}
		if err != nil {
			batch.Abort()
			err = fmt.Errorf("insert %s: column %s: %w", table, c.name, err)
			// A value that does not fit (a decimal overflowing its column)
			// is about the data; a Go type the column type cannot take at
			// all means the table drifted from the migrations.
			var conv *chcolumn.ColumnConverterError
			if errors.As(err, &conv) {
				return err
			}
			return &dataError{err, false}
		}
	}
	if err := batch.Send(); err != nil {
		var ex *proto.Exception
		if errors.As(err, &ex) && dataCodes[ex.Code] {
			return &dataError{fmt.Errorf("insert %s: %d rows: %w", table, rows, err), true}
		}
		return fmt.Errorf("insert %s: %d rows: %w", table, rows, err)
	}
	return nil
}

// makeRoom gives each String column, and the strings of each Array(String)
// column, room for all of its text before the values go in. clickhouse-go
// appends a []string value by value, so a column's buffer grew step by step
// from nothing, every step fresh memory for the collector. One value as
// long as all of them, then Reset, which keeps the capacity (ch-go's
// ColStr), sizes the buffer once: BenchmarkSinkWrite allocated 59 instead
// of 71 MiB a write. (The native fill of Array(String) decodes into that
// capacity too.)
//
// A String column's row positions (16 bytes a row) grew by doubling as
// well; sizeRows makes them at their size: a third of the bytes that
// growing took. Filling String columns in native form with
// their text made the positions once too, but reading every string back
// through the protocol reader cost more CPU than the collector saved.
func makeRoom(chCols []chcolumn.Interface, cols []column) {
	for i, c := range cols {
		if i >= len(chCols) {
			return
		}
		target, n := chCols[i], 0
		switch v := c.data.(type) {
		case []string:
			for _, s := range v {
				n += len(s)
			}
			if len(v) >= 1<<10 {
				sizeRows(target, len(v))
			}
		case *stringArrays:
			a, ok := target.(*chcolumn.Array)
			if !ok {
				continue
			}
			target = a.Base()
			for _, s := range v.vals {
				n += len(s)
			}
		default:
			continue
		}
		if _, ok := target.(*chcolumn.String); !ok || n < 4<<10 || target.Rows() != 0 {
			continue
		}
		_ = target.AppendRow(zeroText(n)) // a String takes any []byte
		target.Reset()
	}
}

// sizeRows gives an empty String column room for rows positions. ch-go's
// ColStr.DecodeColumn makes room for all the rows it is asked for before it
// reads the first length; with nothing to read it then fails at once, and
// Reset empties the column, keeping that room. Decoding real empty strings
// instead cost 50 ns a row in the protocol reader: 0.16 CPU-seconds of a
// run. TestMakeRoomSizesStringColumns holds ch-go to this.
func sizeRows(col chcolumn.Interface, rows int) {
	if _, ok := col.(*chcolumn.String); !ok || col.Rows() != 0 {
		return
	}
	rd := readers.Get().(*nativeReader)
	defer readers.Put(rd)
	rd.src.Reset(nil)
	rd.br.Reset(&rd.src)
	_ = col.Decode(chproto.NewReader(rd.br), rows) // fails: nothing to read
	col.Reset()
}

// zeros is read-only zero bytes for makeRoom, grown to the largest need.
var zeros atomic.Pointer[[]byte]

func zeroText(n int) []byte {
	if z := zeros.Load(); z != nil && len(*z) >= n {
		return (*z)[:n]
	}
	z := make([]byte, n+n/4)
	zeros.Store(&z)
	return z[:n]
}

// sendDuplicates records the batch's duplicates, one row per message.
func (s *Sink) sendDuplicates(ctx context.Context, dups []pipeline.Item) error {
	if len(dups) == 0 {
		return nil
	}
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO duplicates (kind, company, source, id, version, src_topic, src_partition, src_offset, raw_sha256, ingest_time)")
	if err != nil {
		return fmt.Errorf("insert duplicates: prepare: %w", err)
	}
	for i := range dups {
		r := &dups[i].Rec
		p := &r.Provenance
		if err := batch.Append(r.Kind.String(), r.Company, r.Source, r.ID, r.Version, p.Topic, uint32(p.Partition),
			uint64(p.Offset), hex.EncodeToString(p.SHA256[:]), r.IngestTime); err != nil {
			batch.Abort()
			return fmt.Errorf("insert duplicates: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert duplicates: %d rows: %w", len(dups), err)
	}
	return nil
}

// flagged are the kinds whose tables have the flag columns (migration 0005).
var flagged = map[record.Kind]bool{record.KindInvoice: true, record.KindPayment: true, record.KindBankTxn: true,
	record.KindSalesOrder: true, record.KindPurchaseOrder: true, record.KindExpenseClaim: true}

// column is a column name and a slice clickhouse-go can Append.
type column struct {
	name string
	data any
}

// tableBuffer holds one insert's columns: the common envelope columns
// first, then the kind's own.
type tableBuffer struct {
	kind record.Kind
	rows int

	// wantRows and wantLines are what reserve announced: every column is
	// made at that size on its first row, so that a batch's columns are
	// allocated once rather than grown by doubling (which was most of
	// what the sink allocated besides clickhouse-go itself).
	wantRows, wantLines int

	company, source, id, topic, mapping []string
	sha                                 [][32]byte // hex-encoded all at once by columns
	version, offset                     []uint64
	partition, mappingVersion           []uint32
	eventTime, ingestTime               []time.Time

	// body holds the kind's own columns in the order addBody writes them;
	// cursor is the next one while a row is added.
	body   []bodyColumn
	cursor int
}

type bodyColumn struct {
	name string
	buf  columnBuffer
}

// columnBuffer is one column's values of a batch.
type columnBuffer interface {
	data() any // a slice clickhouse-go can Append
}

type typedColumn[T any] struct{ vals []T }

func (c *typedColumn[T]) data() any { return c.vals }

// next returns the row's next body column, creating it on the first row.
// Every row of a kind writes the same columns in the same order, so the
// position identifies the column; the name only matters for the insert.
func next[T any](t *tableBuffer, name string) *typedColumn[T] {
	return nextCol(t, name, func(rows, _ int) *typedColumn[T] {
		return &typedColumn[T]{vals: make([]T, 0, rows)}
	})
}

// nextCol is next for any column buffer, made by mk at the rows and line
// items reserve announced.
func nextCol[C columnBuffer](t *tableBuffer, name string, mk func(rows, lines int) C) C {
	i := t.cursor
	t.cursor++
	if i < len(t.body) {
		return t.body[i].buf.(C)
	}
	c := mk(max(t.wantRows, 1), t.wantLines)
	t.body = append(t.body, bodyColumn{name: name, buf: c})
	return c
}

func (t *tableBuffer) columns() []column {
	out := []column{
		{"company", t.company}, {"source", t.source}, {"id", t.id}, {"version", t.version},
		{"event_time", t.eventTime}, {"ingest_time", t.ingestTime},
		{"src_topic", t.topic}, {"src_partition", t.partition}, {"src_offset", t.offset}, {"raw_sha256", t.shaHex()},
		{"mapping", t.mapping}, {"mapping_version", t.mappingVersion},
	}
	for _, c := range t.body {
		out = append(out, column{c.name, c.buf.data()})
	}
	return out
}

// reserve announces rows and line items still to come, before the first add.
func (t *tableBuffer) reserve(rows, lines int) {
	t.wantRows += rows
	t.wantLines += lines
}

// shaHex encodes every row's digest into one string and hands out slices
// of it: one allocation per insert instead of one per row.
func (t *tableBuffer) shaHex() []string {
	const n = 2 * len(record.Provenance{}.SHA256)
	buf := make([]byte, n*len(t.sha))
	for i := range t.sha {
		hex.Encode(buf[i*n:], t.sha[i][:])
	}
	all := string(buf)
	out := make([]string, len(t.sha))
	for i := range out {
		out[i] = all[i*n : (i+1)*n]
	}
	return out
}

func (t *tableBuffer) add(r *record.Record) {
	if t.rows == 0 {
		t.alloc()
	}
	t.rows++
	t.company = append(t.company, r.Company)
	t.source = append(t.source, r.Source)
	t.id = append(t.id, r.ID)
	t.version = append(t.version, r.Version)
	t.eventTime = append(t.eventTime, r.EventTime)
	t.ingestTime = append(t.ingestTime, r.IngestTime)
	t.topic = append(t.topic, r.Provenance.Topic)
	t.partition = append(t.partition, uint32(r.Provenance.Partition))
	t.offset = append(t.offset, uint64(r.Provenance.Offset))
	t.sha = append(t.sha, r.Provenance.SHA256)
	t.mapping = append(t.mapping, r.Provenance.Mapping)
	t.mappingVersion = append(t.mappingVersion, r.Provenance.MappingVersion)
	t.cursor = 0
	addBody(t, r.Body)
	if flagged[r.Kind] {
		t.flags(r.Flags)
	}
}

// alloc makes the envelope columns at the size reserve announced.
func (t *tableBuffer) alloc() {
	n := max(t.wantRows, 1)
	t.company, t.source, t.id = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	t.topic, t.mapping = make([]string, 0, n), make([]string, 0, n)
	t.sha = make([][32]byte, 0, n)
	t.version, t.offset = make([]uint64, 0, n), make([]uint64, 0, n)
	t.partition, t.mappingVersion = make([]uint32, 0, n), make([]uint32, 0, n)
	t.eventTime, t.ingestTime = make([]time.Time, 0, n), make([]time.Time, 0, n)
}

func (t *tableBuffer) str(name, v string) {
	c := next[string](t, name)
	c.vals = append(c.vals, v)
}

func (t *tableBuffer) dec(name string, minor int64, scale uint8) {
	nextCol(t, name, newDecimals).add(minor, scale)
}

func newDecimals(rows, _ int) *decimalColumn { return &decimalColumn{vals: make([]int64, 0, rows)} }

func (t *tableBuffer) money(name string, m record.Money) { t.dec(name, m.Minor, m.Currency.Scale()) }

func (t *tableBuffer) date(name string, d record.Date) { t.timestamp(name, d.Time()) }

func (t *tableBuffer) timestamp(name string, v time.Time) {
	c := next[time.Time](t, name)
	c.vals = append(c.vals, v)
}

func (t *tableBuffer) nullDate(name string, d record.Date) {
	c := next[*time.Time](t, name)
	var v *time.Time
	if d != record.NoDate {
		tt := d.Time()
		v = &tt
	}
	c.vals = append(c.vals, v)
}

func (t *tableBuffer) i32(name string, v int32) {
	c := next[int32](t, name)
	c.vals = append(c.vals, v)
}

// flags writes the cleaning stage's marks of a record.
func (t *tableBuffer) flags(f record.Flags) {
	t.str("duplicate_of", f.DuplicateOf)
	t.flag("outlier", f.Outlier)
	t.i32("outlier_score", f.OutlierScore)
}

func (t *tableBuffer) u32(name string, v uint32) {
	c := next[uint32](t, name)
	c.vals = append(c.vals, v)
}

func (t *tableBuffer) flag(name string, v bool) {
	c := next[uint8](t, name)
	var b uint8
	if v {
		b = 1
	}
	c.vals = append(c.vals, b)
}

func (t *tableBuffer) strArr(name string, v []string) {
	c := nextCol(t, name, func(rows, _ int) *stringArrays { return &stringArrays{newArrays[string](rows, rows)} })
	c.vals = append(c.vals, v...)
	c.endRow()
}

// lines writes the line-item arrays; priced documents carry all five.
// Each array column keeps all rows' items in one slice, so a batch
// allocates no slice per row.
func (t *tableBuffer) lines(ls []record.Line, priced bool) {
	strs := func(rows, lines int) *stringArrays { return &stringArrays{newArrays[string](rows, lines)} }
	decs := func(rows, lines int) *decimalArrays { return &decimalArrays{arrays: newArrays[int64](rows, lines)} }
	sku := nextCol(t, "line_sku", strs)
	for _, l := range ls {
		sku.vals = append(sku.vals, l.SKU)
	}
	sku.endRow()
	if priced {
		desc := nextCol(t, "line_description", strs)
		for _, l := range ls {
			desc.vals = append(desc.vals, l.Description)
		}
		desc.endRow()
	}
	qty := nextCol(t, "line_quantity", decs)
	for _, l := range ls {
		qty.add(int64(l.Quantity), record.FixedScale)
	}
	qty.endRow()
	if priced {
		price, amount := nextCol(t, "line_unit_price", decs), nextCol(t, "line_amount", decs)
		for _, l := range ls {
			price.add(int64(l.UnitPrice), record.FixedScale)
			amount.add(l.Amount.Minor, l.Amount.Currency.Scale())
		}
		price.endRow()
		amount.endRow()
	}
}
