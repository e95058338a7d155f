package clickhouse

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"

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
	pool sync.Pool // *kindBuffers, one per concurrent Write
}

// NewSink returns a sink writing through conn.
func NewSink(conn driver.Conn) *Sink {
	s := &Sink{conn: conn}
	s.pool.New = func() any { return newKindBuffers() }
	return s
}

// Write implements pipeline.Sink.
func (s *Sink) Write(ctx context.Context, b *pipeline.Batch) error {
	bufs := s.pool.Get().(*kindBuffers)
	defer s.pool.Put(bufs)
	bufs.reset()
	for i := range b.Items {
		r := &b.Items[i].Rec
		bufs.byKind[r.Kind].add(r)
	}
	for _, k := range record.Kinds {
		t := bufs.byKind[k]
		if t.rows == 0 {
			continue
		}
		if err := s.send(ctx, Tables[k], t); err != nil {
			return err
		}
	}
	return nil
}

func (s *Sink) send(ctx context.Context, table string, t *tableBuffer) error {
	cols := t.columns()
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+table+" ("+strings.Join(names, ", ")+")")
	if err != nil {
		return fmt.Errorf("insert %s: prepare: %w", table, err)
	}
	for i, c := range cols {
		if err := batch.Column(i).Append(c.data); err != nil {
			batch.Abort()
			return fmt.Errorf("insert %s: column %s: %w", table, c.name, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %s: %d rows: %w", table, t.rows, err)
	}
	return nil
}

// column is a column name and a slice clickhouse-go can Append.
type column struct {
	name string
	data any
}

type kindBuffers struct {
	byKind [record.KindApproval + 1]*tableBuffer
}

func newKindBuffers() *kindBuffers {
	kb := &kindBuffers{}
	for i := range kb.byKind {
		kb.byKind[i] = &tableBuffer{kind: record.Kind(i)}
	}
	return kb
}

func (kb *kindBuffers) reset() {
	for _, t := range kb.byKind {
		t.reset()
	}
}

// tableBuffer holds one insert's columns. Slices are reused across batches;
// the common envelope columns come first, then the kind's own.
type tableBuffer struct {
	kind record.Kind
	rows int

	company, source, id, topic, sha []string
	version, offset                 []uint64
	partition                       []uint32
	eventTime, ingestTime           []time.Time

	// Body columns by name, in insert order; filled by add.
	body []column
	strs map[string]*[]string
	decs map[string]*[]decimal.Decimal
	// Other body column types, kept by name.
	dates     map[string]*[]time.Time
	nullDates map[string]*[]*time.Time
	u32s      map[string]*[]uint32
	u8s       map[string]*[]uint8
	strArrs   map[string]*[][]string
	decArrs   map[string]*[][]decimal.Decimal

	// Line items of all rows live in these flat arrays; each row's array
	// column is a sub-slice of them, so a batch allocates no slice per row.
	// clickhouse-go copies on Append, and reset reuses them.
	lineSKU, lineDesc           []string
	lineQty, linePrice, lineAmt []decimal.Decimal
}

func (t *tableBuffer) reset() {
	t.rows = 0
	t.lineSKU, t.lineDesc = t.lineSKU[:0], t.lineDesc[:0]
	t.lineQty, t.linePrice, t.lineAmt = t.lineQty[:0], t.linePrice[:0], t.lineAmt[:0]
	t.company, t.source, t.id, t.topic, t.sha = t.company[:0], t.source[:0], t.id[:0], t.topic[:0], t.sha[:0]
	t.version, t.offset, t.partition = t.version[:0], t.offset[:0], t.partition[:0]
	t.eventTime, t.ingestTime = t.eventTime[:0], t.ingestTime[:0]
	for _, p := range t.strs {
		*p = (*p)[:0]
	}
	for _, p := range t.decs {
		*p = (*p)[:0]
	}
	for _, p := range t.dates {
		*p = (*p)[:0]
	}
	for _, p := range t.nullDates {
		*p = (*p)[:0]
	}
	for _, p := range t.u32s {
		*p = (*p)[:0]
	}
	for _, p := range t.u8s {
		*p = (*p)[:0]
	}
	for _, p := range t.strArrs {
		clear(*p)
		*p = (*p)[:0]
	}
	for _, p := range t.decArrs {
		clear(*p)
		*p = (*p)[:0]
	}
}

func (t *tableBuffer) columns() []column {
	env := []column{
		{"company", t.company}, {"source", t.source}, {"id", t.id}, {"version", t.version},
		{"event_time", t.eventTime}, {"ingest_time", t.ingestTime},
		{"src_topic", t.topic}, {"src_partition", t.partition}, {"src_offset", t.offset}, {"raw_sha256", t.sha},
	}
	out := make([]column, 0, len(env)+len(t.body))
	out = append(out, env...)
	for _, c := range t.body {
		out = append(out, column{c.name, deref(c.data)})
	}
	return out
}

func deref(p any) any {
	switch v := p.(type) {
	case *[]string:
		return *v
	case *[]decimal.Decimal:
		return *v
	case *[]time.Time:
		return *v
	case *[]*time.Time:
		return *v
	case *[]uint32:
		return *v
	case *[]uint8:
		return *v
	case *[][]string:
		return *v
	case *[][]decimal.Decimal:
		return *v
	}
	panic(fmt.Sprintf("clickhouse sink: column type %T", p))
}

func (t *tableBuffer) add(r *record.Record) {
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
	t.sha = append(t.sha, hex.EncodeToString(r.Provenance.SHA256[:]))
	addBody(t, r.Body)
}

// The typed column helpers register a column on first use, which fixes the
// insert's column order to the order addBody writes them in.

func (t *tableBuffer) register(name string, p any) {
	t.body = append(t.body, column{name, p})
}

func (t *tableBuffer) str(name, v string) {
	if t.strs == nil {
		t.strs = map[string]*[]string{}
	}
	p, ok := t.strs[name]
	if !ok {
		p = new([]string)
		t.strs[name] = p
		t.register(name, p)
	}
	*p = append(*p, v)
}

func (t *tableBuffer) dec(name string, minor int64, scale uint8) {
	if t.decs == nil {
		t.decs = map[string]*[]decimal.Decimal{}
	}
	p, ok := t.decs[name]
	if !ok {
		p = new([]decimal.Decimal)
		t.decs[name] = p
		t.register(name, p)
	}
	*p = append(*p, decimal.New(minor, -int32(scale)))
}

func (t *tableBuffer) money(name string, m record.Money) { t.dec(name, m.Minor, m.Currency.Scale()) }

func (t *tableBuffer) date(name string, d record.Date) {
	if t.dates == nil {
		t.dates = map[string]*[]time.Time{}
	}
	p, ok := t.dates[name]
	if !ok {
		p = new([]time.Time)
		t.dates[name] = p
		t.register(name, p)
	}
	*p = append(*p, d.Time())
}

func (t *tableBuffer) timestamp(name string, v time.Time) {
	if t.dates == nil {
		t.dates = map[string]*[]time.Time{}
	}
	p, ok := t.dates[name]
	if !ok {
		p = new([]time.Time)
		t.dates[name] = p
		t.register(name, p)
	}
	*p = append(*p, v)
}

func (t *tableBuffer) nullDate(name string, d record.Date) {
	if t.nullDates == nil {
		t.nullDates = map[string]*[]*time.Time{}
	}
	p, ok := t.nullDates[name]
	if !ok {
		p = new([]*time.Time)
		t.nullDates[name] = p
		t.register(name, p)
	}
	var v *time.Time
	if d != record.NoDate {
		tt := d.Time()
		v = &tt
	}
	*p = append(*p, v)
}

func (t *tableBuffer) u32(name string, v uint32) {
	if t.u32s == nil {
		t.u32s = map[string]*[]uint32{}
	}
	p, ok := t.u32s[name]
	if !ok {
		p = new([]uint32)
		t.u32s[name] = p
		t.register(name, p)
	}
	*p = append(*p, v)
}

func (t *tableBuffer) flag(name string, v bool) {
	if t.u8s == nil {
		t.u8s = map[string]*[]uint8{}
	}
	p, ok := t.u8s[name]
	if !ok {
		p = new([]uint8)
		t.u8s[name] = p
		t.register(name, p)
	}
	var b uint8
	if v {
		b = 1
	}
	*p = append(*p, b)
}

func (t *tableBuffer) strArr(name string, v []string) {
	if t.strArrs == nil {
		t.strArrs = map[string]*[][]string{}
	}
	p, ok := t.strArrs[name]
	if !ok {
		p = new([][]string)
		t.strArrs[name] = p
		t.register(name, p)
	}
	if v == nil {
		v = []string{}
	}
	*p = append(*p, v)
}

func (t *tableBuffer) decArr(name string, v []decimal.Decimal) {
	if t.decArrs == nil {
		t.decArrs = map[string]*[][]decimal.Decimal{}
	}
	p, ok := t.decArrs[name]
	if !ok {
		p = new([][]decimal.Decimal)
		t.decArrs[name] = p
		t.register(name, p)
	}
	*p = append(*p, v)
}

// lines writes the line-item arrays; priced documents carry all five.
func (t *tableBuffer) lines(ls []record.Line, priced bool) {
	start := len(t.lineSKU)
	for _, l := range ls {
		t.lineSKU = append(t.lineSKU, l.SKU)
		t.lineQty = append(t.lineQty, decimal.New(int64(l.Quantity), -record.FixedScale))
		if priced {
			t.lineDesc = append(t.lineDesc, l.Description)
			t.linePrice = append(t.linePrice, decimal.New(int64(l.UnitPrice), -record.FixedScale))
			t.lineAmt = append(t.lineAmt, decimal.New(l.Amount.Minor, -int32(l.Amount.Currency.Scale())))
		}
	}
	end := len(t.lineSKU)
	// Full slice expressions keep a row's array from growing into the next.
	t.strArr("line_sku", t.lineSKU[start:end:end])
	if priced {
		t.strArr("line_description", t.lineDesc[start:end:end])
	}
	t.decArr("line_quantity", t.lineQty[start:end:end])
	if priced {
		t.decArr("line_unit_price", t.linePrice[start:end:end])
		t.decArr("line_amount", t.lineAmt[start:end:end])
	}
}
