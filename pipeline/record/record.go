// Package record is erpflow's canonical model: one envelope and one typed
// body per kind, and the canonical JSON form producers send (docs/records.md).
package record

import (
	"time"
)

// Kind names what a record is. The zero value is not a kind.
type Kind uint8

// The kinds of DESIGN.md, in a fixed order that tables, topics and metrics
// share.
const (
	KindInvoice Kind = iota + 1
	KindPayment
	KindBankTxn
	KindSalesOrder
	KindShipment
	KindPurchaseOrder
	KindGoodsReceipt
	KindExpenseClaim
	KindApproval
)

// Kinds lists every kind, in order.
var Kinds = []Kind{KindInvoice, KindPayment, KindBankTxn, KindSalesOrder, KindShipment,
	KindPurchaseOrder, KindGoodsReceipt, KindExpenseClaim, KindApproval}

var kindNames = [...]string{"", "invoice", "payment", "bank_txn", "sales_order", "shipment",
	"purchase_order", "goods_receipt", "expense_claim", "approval"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool { return k >= KindInvoice && k <= KindApproval }

// ParseKind maps a kind name to its Kind; ok is false for anything else.
func ParseKind(s string) (k Kind, ok bool) {
	for i := 1; i < len(kindNames); i++ {
		if kindNames[i] == s {
			return Kind(i), true
		}
	}
	return 0, false
}

// Provenance says where a record came from; the pipeline sets it, never a
// producer.
type Provenance struct {
	Topic     string
	Partition int32
	Offset    int64
	SHA256    [32]byte // of the original message value
	// Mapping and MappingVersion name the mapping file that made the record
	// from a source's own shape; empty for records that arrived canonical.
	Mapping        string
	MappingVersion uint32
}

// Envelope is what every record carries regardless of kind.
type Envelope struct {
	Kind       Kind
	Company    string // tenant / company code; also the Kafka key
	Source     string // producing system id
	ID         string // natural key inside source+kind
	Version    uint64 // monotonic per id; ReplacingMergeTree keeps the highest
	EventTime  time.Time
	IngestTime time.Time
	Provenance Provenance
}

// Record is one canonical record. Body's concrete type matches Kind:
// *Invoice, *Payment, *BankTxn, *SalesOrder, *Shipment, *PurchaseOrder,
// *GoodsReceipt, *ExpenseClaim or *Approval.
type Record struct {
	Envelope
	Body Body
	// Flags are the cleaning stage's advisory marks; not part of the
	// canonical JSON.
	Flags Flags
}

// Flags mark a record for people and for matching; they never drop it.
type Flags struct {
	// DuplicateOf is the id of an earlier record of the same source and kind
	// that looks like the same document under another id (a duplicate
	// invoice, claim or payment candidate), or "".
	DuplicateOf string
	// Outlier is set when the amount is far from the party's usual ones;
	// OutlierScore is how far, in hundredths of a robust spread (MAD).
	Outlier      bool
	OutlierScore int32
}

// Body is the typed part of a record.
type Body interface {
	Kind() Kind
	appendJSON(dst []byte) []byte
	decode(d *Decoder) error
	validate() error
}

// Date is a calendar day with no time zone, as ERP and bank documents carry
// them. It counts days since 1970-01-01, which is also ClickHouse's Date.
type Date int32

// NoDate is the zero Date; optional dates use it for "not set".
const NoDate Date = 0

// DateOf returns the calendar day of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// MakeDate builds a Date from a year, month and day.
func MakeDate(y int, m time.Month, d int) Date {
	return Date(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// Time returns midnight UTC of the day.
func (d Date) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

func (d Date) String() string { return string(d.Append(nil)) }

// Append writes the day as YYYY-MM-DD.
func (d Date) Append(dst []byte) []byte {
	y, m, dd := d.Time().Date()
	dst = append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	dst = append(dst, byte('0'+int(m)/10), byte('0'+int(m)%10), '-')
	return append(dst, byte('0'+dd/10), byte('0'+dd%10))
}

// Storage limits: ClickHouse's Date counts days in 16 bits and DateTime
// seconds in 32 bits from 1970, and the driver wraps values beyond without a
// word (9999-12-31 would land as a day in 2105). 18.16's calendar tables
// also end with 2105 (toDate('2106-01-01') is 0000-00-00 there), so that is
// the last year erpflow stores. Values outside are refused at the door.
// The first day, 1970-01-01, is Date 0: NoDate to erpflow and the empty
// date (0000-00-00) to ClickHouse, so a document dated that day could
// not be told from one without the date; days start at 1970-01-02.
var (
	MinDate = NoDate + 1
	MaxDate = MakeDate(2105, time.December, 31)
	MinTime = time.Unix(0, 0).UTC()
	MaxTime = time.Date(2105, time.December, 31, 23, 59, 59, 0, time.UTC)
)

// ParseDate reads a strict YYYY-MM-DD and refuses impossible days
// (2025-02-30) and days ClickHouse cannot store (before 1970, after
// 2105-12-31).
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, ErrBadDate
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > 31 {
		return 0, ErrBadDate
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d {
		return 0, ErrBadDate
	}
	if y < 1970 {
		return 0, ErrDateRange // a date, but not one erpflow can store
	}
	if dt := Date(t.Unix() / 86400); dt >= MinDate && dt <= MaxDate {
		return dt, nil
	}
	return 0, ErrDateRange
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// Party is a customer, supplier or employee as a document names it.
type Party struct {
	ID      string
	Name    string
	Account string // bank account; never logged in full
	// Key is Name reduced for matching (case, punctuation and legal
	// suffixes dropped: 上海华东贸易有限公司 and 上海华东贸易 share it). The
	// cleaning stage derives it; it is not part of the canonical JSON.
	Key string
}

// Line is one item line of an order, shipment, receipt or invoice.
type Line struct {
	SKU         string
	Description string
	Quantity    Fixed
	UnitPrice   Fixed // in the document's currency; zero on shipments and receipts
	Amount      Money // zero on shipments and receipts
}

// Invoice is an AR (customer) or AP (supplier) invoice or credit note.
type Invoice struct {
	Number    string
	Direction string // "AR" or "AP"
	Party     Party
	IssueDate Date
	DueDate   Date
	Total     Money // tax included; negative for a credit note
	Tax       Money
	Status    string // open, partially_paid, paid, cancelled
	OrderRef  string // sales or purchase order number
	Lines     []Line
}

// Payment is the ERP's own record of money received or paid.
type Payment struct {
	Number              string
	Direction           string // "in" or "out"
	Party               Party
	Amount              Money
	Method              string // bank_transfer, cash, cheque, card, other
	ValueDate           Date
	Status              string // pending, executed, cancelled, returned
	InvoiceRefs         []string
	Remittance          string
	BankAccount         string // our account the money moves through
	CounterpartyAccount string
}

// BankTxn is one line of a bank statement.
type BankTxn struct {
	Account      string // our account
	BookingDate  Date
	ValueDate    Date
	Direction    string // "credit" (money in) or "debit" (money out)
	Amount       Money  // positive; Direction gives the sign
	Charges      Money  // bank fees the bank deducted, when it reports them
	Counterparty Party  // payer or payee as the bank reports them; ID usually empty
	Remittance   string
	BankRef      string
}

// SalesOrder is a customer order.
type SalesOrder struct {
	Number    string
	Customer  Party
	OrderDate Date
	Status    string // open, shipped, invoiced, closed, cancelled
	Channel   string
	Total     Money
	Lines     []Line
}

// Shipment is goods leaving for a customer; DeliveredDate is the sign-off.
type Shipment struct {
	Number        string
	OrderRef      string
	Customer      Party
	ShipDate      Date
	DeliveredDate Date   // NoDate until signed off
	Status        string // shipped, delivered, returned, cancelled
	Carrier       string
	Lines         []Line
}

// PurchaseOrder is an order to a supplier.
type PurchaseOrder struct {
	Number    string
	Supplier  Party
	OrderDate Date
	Status    string // open, received, invoiced, closed, cancelled
	Total     Money
	Lines     []Line
}

// GoodsReceipt is goods arriving against a purchase order.
type GoodsReceipt struct {
	Number      string
	PORef       string
	Supplier    Party
	ReceiptDate Date
	Status      string // received, returned, cancelled
	Lines       []Line
}

// ExpenseClaim is an employee's reimbursement claim (报销单).
type ExpenseClaim struct {
	Number         string
	Employee       Party
	Department     string
	Amount         Money
	ClaimDate      Date   // voucher date (报销时间)
	ExpenseType    string // 费用类型 as the source names it
	GLAccount      string // 会计科目 code
	Description    string
	ApprovalStatus string // pending, approved, rejected
	Paid           bool
	PaidDate       Date
}

// Approval is one step of an approval workflow.
type Approval struct {
	SubjectKind    Kind   // what is being approved
	SubjectID      string // its id in the same source
	Step           uint32 // 1-based position in the workflow
	Level          uint32 // authority level the step represents
	RequiredLevels uint32 // levels the policy requires for the subject
	Approver       Party
	Action         string // submit, approve, reject, return
	ActedAt        time.Time
	Comment        string
}

func (*Invoice) Kind() Kind       { return KindInvoice }
func (*Payment) Kind() Kind       { return KindPayment }
func (*BankTxn) Kind() Kind       { return KindBankTxn }
func (*SalesOrder) Kind() Kind    { return KindSalesOrder }
func (*Shipment) Kind() Kind      { return KindShipment }
func (*PurchaseOrder) Kind() Kind { return KindPurchaseOrder }
func (*GoodsReceipt) Kind() Kind  { return KindGoodsReceipt }
func (*ExpenseClaim) Kind() Kind  { return KindExpenseClaim }
func (*Approval) Kind() Kind      { return KindApproval }

// LinesOf returns where a body keeps its line items, or nil for the kinds
// that have none (payments, bank lines, expense claims, approvals).
func LinesOf(b Body) *[]Line {
	switch b := b.(type) {
	case *Invoice:
		return &b.Lines
	case *SalesOrder:
		return &b.Lines
	case *Shipment:
		return &b.Lines
	case *PurchaseOrder:
		return &b.Lines
	case *GoodsReceipt:
		return &b.Lines
	}
	return nil
}

// NewBody returns an empty body of kind k, or nil for an invalid kind.
func NewBody(k Kind) Body {
	switch k {
	case KindInvoice:
		return &Invoice{}
	case KindPayment:
		return &Payment{}
	case KindBankTxn:
		return &BankTxn{}
	case KindSalesOrder:
		return &SalesOrder{}
	case KindShipment:
		return &Shipment{}
	case KindPurchaseOrder:
		return &PurchaseOrder{}
	case KindGoodsReceipt:
		return &GoodsReceipt{}
	case KindExpenseClaim:
		return &ExpenseClaim{}
	case KindApproval:
		return &Approval{}
	}
	return nil
}
