package generator

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/erpflow/erpflow/pipeline/record"
)

var (
	cny = record.MustCurrency("CNY")
	usd = record.MustCurrency("USD")
)

// companyCodes name the first companies after their city, as groups with
// one legal entity per city do; more companies get generic codes.
var companyCodes = []string{"SH01", "BJ02", "SZ03", "GZ04", "HZ05", "CD06", "WH07", "NJ08",
	"TJ09", "XA10", "CQ11", "SU12"}

func companyCode(i int) string {
	if i < len(companyCodes) {
		return companyCodes[i]
	}
	return fmt.Sprintf("CO%02d", i+1)
}

// account is one of our own bank accounts; each has its own statement source.
type account struct {
	id     string
	source string // statement system id, the bank_txn envelope's source
	bank   string // prefix of the bank's own reference
	cur    record.Currency
	day    record.Date // statement line numbering restarts every day
	line   int
}

// profile is how a customer pays its invoices.
type profile uint8

const (
	profPrompt profile = iota
	profLate
	profBatch
	profInstalment
	profBad
)

type customer struct {
	idx       int
	ref       record.Party // id and registered name, as the ERP has them
	bankName  string       // the name the payer's bank transmits
	account   string
	cur       record.Currency
	english   bool
	lookalike bool
	profile   profile
	terms     int
	batchDay  int // day of month of a batch payer's payment run
	channel   string
	standing  []item // a standing order repeats the same items, so amounts recur
}

type supplier struct {
	idx       int
	ref       record.Party
	account   string
	cur       record.Currency
	english   bool
	terms     int
	materials []int
}

// product prices are net of VAT in whole yuan, so that 13% VAT is exact in fen.
type product struct {
	sku, desc string
	yuan      int64
	usdCents  int64
}

func (p *product) net(cur record.Currency) int64 {
	if cur == usd {
		return p.usdCents
	}
	return p.yuan * 100
}

// gross is the tax-inclusive unit price a Chinese shop shows; exports carry
// no VAT.
func (p *product) gross(cur record.Currency) int64 {
	if cur == usd {
		return p.usdCents
	}
	return p.yuan * 113
}

type item struct {
	p   *product
	qty int64
}

type dept struct {
	name    string
	manager *employee
}

type employee struct {
	no      int
	ref     record.Party
	dept    *dept
	account string
}

// picker draws an index with probability proportional to its weight.
type picker struct{ cum []int }

func (p *picker) add(w int) {
	last := 0
	if n := len(p.cum); n > 0 {
		last = p.cum[n-1]
	}
	p.cum = append(p.cum, last+w)
}

func (p *picker) pick(r *rand.Rand) int {
	x := r.IntN(p.cum[len(p.cum)-1])
	return sort.SearchInts(p.cum, x+1)
}

type world struct {
	code       string
	cny, usd   *account
	customers  []*customer
	custPick   picker
	suppliers  []*supplier
	supPick    picker
	products   []product
	materials  []product
	depts      []*dept
	claimants  []*employee
	claimPick  picker
	managers   []*employee
	chairman   *employee
	gm, cfo    *employee
	finMgr     *employee
	buyerMgr   *employee
	names      map[string]bool // lookups only: keeps party names unique
	employeeNo int
}

func (w *world) account(cur record.Currency) *account {
	if cur == usd {
		return w.usd
	}
	return w.cny
}

var (
	productNouns = []string{"不锈钢阀门", "液压泵", "深沟球轴承", "压力传感器", "伺服电机", "PLC控制器",
		"电力电缆", "密封圈", "齿轮箱", "变频器", "工业相机", "气缸", "减速机", "温控仪", "继电器", "开关电源"}
	materialNouns = []string{"冷轧钢板", "铝型材", "ABS颗粒", "紫铜线", "包装纸箱", "高强度螺栓",
		"贴片电容", "润滑油", "PCB板", "标签贴纸", "橡胶垫片", "焊丝"}
	deptSpecs = []struct {
		name         string
		size, weight int // weight: how often its people file claims
	}{
		{"销售部", 40, 6}, {"市场部", 15, 4}, {"研发部", 35, 2}, {"采购部", 12, 3},
		{"财务部", 10, 1}, {"行政部", 8, 2}, {"人力资源部", 6, 2}, {"生产部", 24, 1},
	}
)

func clamp(v, lo, hi int) int { return max(lo, min(hi, v)) }

// logUniform spreads values over orders of magnitude, as prices and amounts
// are: a doubling band is drawn uniformly, then a value inside it. Integer
// arithmetic only, because floating-point results (math.Exp, fused
// multiply-add) may differ between CPUs and the output must not.
func logUniform(r *rand.Rand, lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	bands := 0
	for lo<<bands < hi {
		bands++
	}
	for {
		a := lo << r.IntN(bands)
		if v := a + r.Int64N(a); v <= hi {
			return v
		}
	}
}

func digitString(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	if b[0] == '0' {
		b[0] = '1'
	}
	return string(b)
}

func newWorld(r *rand.Rand, ci int, ordersPerDay int) *world {
	code := companyCode(ci)
	w := &world{
		code:  code,
		cny:   &account{id: "CN-ICBC-" + code + "-CNY", source: "icbc", bank: "ICBC", cur: cny},
		usd:   &account{id: "CN-BOC-" + code + "-USD", source: "boc", bank: "BOC", cur: usd},
		names: map[string]bool{},
	}
	for i := range 200 {
		y := logUniform(r, 20, 20000)
		if y > 1000 {
			y = y / 10 * 10
		}
		w.products = append(w.products, product{
			sku:  fmt.Sprintf("P-%d", 1001+i),
			desc: fmt.Sprintf("%s %c-%d", pick(r, productNouns), 'A'+r.IntN(8), 10+r.IntN(90)),
			yuan: y, usdCents: y * 100 / 7,
		})
	}
	for i := range 120 {
		y := logUniform(r, 5, 5000)
		w.materials = append(w.materials, product{
			sku:  fmt.Sprintf("M-%d", 101+i),
			desc: fmt.Sprintf("%s %c%d", pick(r, materialNouns), 'Q'+r.IntN(6), 100+r.IntN(900)),
			yuan: y, usdCents: y * 100 / 7,
		})
	}
	w.buildCustomers(r, clamp(ordersPerDay*8/3, 60, 3000))
	w.buildSuppliers(r, clamp(ordersPerDay/2, 20, 500))
	w.buildStaff(r)
	return w
}

// uniqueName draws names until one is new in this company.
func (w *world) uniqueName(r *rand.Rand, english bool) string {
	for {
		var n string
		if english {
			n = enCompany(r)
		} else {
			n = zhCompany(r)
		}
		if !w.names[n] {
			w.names[n] = true
			return n
		}
	}
}

func (w *world) buildCustomers(r *rand.Rand, n int) {
	for i := range n {
		c := &customer{idx: i, cur: cny, terms: pick(r, []int{30, 30, 30, 45, 60}),
			channel: pick(r, []string{"web", "web", "sales", "sales", "edi", "marketplace"})}
		if r.Float64() < 0.15 {
			c.cur, c.english, c.terms = usd, true, pick(r, []int{30, 60})
			c.channel = pick(r, []string{"sales", "edi"})
		} else if r.Float64() < 0.1 {
			c.english = true // foreign-invested, trading in CNY
		}
		c.ref = record.Party{ID: fmt.Sprintf("C%04d", i+1), Name: w.uniqueName(r, c.english)}
		c.bankName = c.ref.Name
		if r.Float64() < shareLookalike {
			c.lookalike = true
			c.bankName = lookalike(r, c.ref.Name)
		}
		if strings.HasSuffix(c.ref.Name, "GmbH") {
			c.account = "DE" + digitString(r, 20)
		} else {
			c.account = digitString(r, 19)
		}
		switch x := r.Float64(); {
		case x < 0.55:
			c.profile = profPrompt
		case x < 0.75:
			c.profile = profLate
		case x < 0.87:
			c.profile = profBatch
		case x < 0.95:
			c.profile = profInstalment
		default:
			c.profile = profBad
		}
		c.batchDay = pick(r, []int{5, 10, 15, 20, 25})
		if r.Float64() < 0.10 {
			c.standing = w.orderItems(r)
		}
		w.customers = append(w.customers, c)
		weight := 1 + r.IntN(6)
		if r.IntN(20) == 0 {
			weight *= 5
		}
		w.custPick.add(weight)
	}
}

// orderItems draws one to four lines whose values spread from a few hundred
// yuan to tens of thousands.
func (w *world) orderItems(r *rand.Rand) []item {
	n := 1
	switch x := r.IntN(20); {
	case x >= 19:
		n = 4
	case x >= 16:
		n = 3
	case x >= 10:
		n = 2
	}
	items := make([]item, n)
	for i := range items {
		p := &w.products[r.IntN(len(w.products))]
		target := logUniform(r, 300, 60000)
		items[i] = item{p: p, qty: min(500, max(1, target/p.yuan))}
	}
	return items
}

func (w *world) buildSuppliers(r *rand.Rand, n int) {
	for i := range n {
		s := &supplier{idx: i, cur: cny, terms: pick(r, []int{15, 30, 30, 45, 60})}
		if r.Float64() < 0.15 {
			s.cur, s.english = usd, true
		}
		s.ref = record.Party{ID: fmt.Sprintf("S%04d", i+1), Name: w.uniqueName(r, s.english)}
		s.account = digitString(r, 19)
		for range 3 + r.IntN(6) {
			s.materials = append(s.materials, r.IntN(len(w.materials)))
		}
		w.suppliers = append(w.suppliers, s)
		w.supPick.add(1 + r.IntN(8))
	}
}

func (w *world) newEmployee(r *rand.Rand, d *dept) *employee {
	w.employeeNo++
	return &employee{
		no:      w.employeeNo,
		ref:     record.Party{ID: fmt.Sprintf("E%04d", w.employeeNo), Name: personName(r)},
		dept:    d,
		account: "6222" + digitString(r, 15),
	}
}

func (w *world) buildStaff(r *rand.Rand) {
	top := &dept{name: "总经办"}
	w.chairman = w.newEmployee(r, top)
	w.gm = w.newEmployee(r, top)
	w.cfo = w.newEmployee(r, top)
	top.manager = w.gm
	for _, spec := range deptSpecs {
		d := &dept{name: spec.name}
		w.depts = append(w.depts, d)
		for i := range spec.size {
			e := w.newEmployee(r, d)
			if i == 0 {
				d.manager = e
				w.managers = append(w.managers, e)
			}
			w.claimants = append(w.claimants, e)
			w.claimPick.add(spec.weight)
		}
		switch spec.name {
		case "财务部":
			w.finMgr = d.manager
		case "采购部":
			w.buyerMgr = d.manager
		}
	}
}
