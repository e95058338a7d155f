package clean

// Outlier tests on a party's amount history: a median and median absolute
// deviation kept exact in integers, so that money is never judged through
// floats.

import (
	"math"
	"math/bits"
	"slices"
)

// amountSeries is a bounded history of one party's amounts, one per id:
// the id's latest, as a restart rebuilds it from the landed rows.
type amountSeries struct {
	ring   []int64  // in arrival order of the ids; a ring once full
	ids    []uint64 // the id of each amount in ring
	vers   []uint64 // and the version it is of
	next   int      // the slot the next id overwrites once full
	sorted []int64  // the same amounts, ascending
}

// add puts the amount x of id's version in the history: in place of the
// id's amount if it is there (at i, from at) and of an older version, else
// as the newest, pushing out the oldest once size are held.
func (a *amountSeries) add(x int64, id, version uint64, i, size int) {
	if i >= 0 {
		if version >= a.vers[i] {
			a.replaceSorted(a.ring[i], x)
			a.ring[i], a.vers[i] = x, version
		}
		return
	}
	if len(a.ring) < size {
		a.ring = append(growTo(a.ring, size), x)
		a.ids = append(a.ids, id)
		a.vers = append(a.vers, version)
		a.sorted = insertSorted(growTo(a.sorted, size), x)
		return
	}
	a.replaceSorted(a.ring[a.next], x)
	a.ring[a.next], a.ids[a.next], a.vers[a.next] = x, id, version
	a.next = (a.next + 1) % size
}

// at returns where id's amount is in the history, or -1.
func (a *amountSeries) at(id uint64) int { return slices.Index(a.ids, id) }

func (a *amountSeries) replaceSorted(old, x int64) {
	i, _ := slices.BinarySearch(a.sorted, old)
	a.sorted = insertSorted(slices.Delete(a.sorted, i, i+1), x)
}

func insertSorted(s []int64, x int64) []int64 {
	i, _ := slices.BinarySearch(s, x)
	return slices.Insert(s, i, x)
}

// growTo makes room for one more value, growing by doubling but never
// beyond size.
func growTo(s []int64, size int) []int64 {
	if len(s) < cap(s) {
		return s
	}
	n := make([]int64, len(s), min(max(2*cap(s), 4), size))
	copy(n, s)
	return n
}

// judge tests x against the history.
//
// Everything is exact on integers in "doubled" units, which make the
// median of an even count an integer: m2 = 2·median and D_i = |2·a_i − m2|,
// so mad4 = 4·MAD. With S = max(1.4826·MAD, MinSpread·|median|) expressed
// times 40,000 (s40 = max(14826·mad4, 2·bp·|m2|)), the test
// |x − median| > k·S becomes dev2·2,000,000 > k100·s40, and the score
// 100·|x − median|/S is dev2·2,000,000/s40, in 128-bit arithmetic.
//
// The id's own amount, if the history holds it (a message read again, or a
// new version of the id), is left out: an amount is judged against the
// others. i is where the id's amount is (at), or -1; scratch is reused
// for the history without it.
func (a *amountSeries) judge(x int64, i int, cfg *flagConfig, scratch *[]int64) (bool, int32) {
	hist := a.sorted
	if i >= 0 {
		j, _ := slices.BinarySearch(hist, a.ring[i])
		*scratch = append(append((*scratch)[:0], hist[:j]...), hist[j+1:]...)
		hist = *scratch
	}
	if len(hist) < cfg.minHistory {
		return false, 0
	}
	m2, mad4 := medianMAD(hist)
	dev2 := absDiff(2*x, m2)
	s40 := maxU128(mul64(madConsistencyTimes, mad4), mul64(2*cfg.spreadBP, absDiff(m2, 0)))
	lhs := mul64(dev2, scoreNumerator)
	rhs, over := s40.mulSmall(cfg.k100)
	return !over && rhs.less(lhs), lhs.ratio(s40)
}

// medianMAD returns twice the median and four times the median absolute
// deviation of a, which is sorted and not empty. Values are below 2^60 in
// magnitude, so nothing overflows. The deviations come out ascending by
// merging outwards from the median, with no sort and no allocation.
func medianMAD(a []int64) (m2 int64, mad4 uint64) {
	n := len(a)
	m2 = a[(n-1)/2] + a[n/2]
	// r is the first index with 2·a[r] > m2.
	lo, hi := 0, n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if 2*a[mid] > m2 {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	r := lo
	l := r - 1
	want1, want2 := (n-1)/2, n/2
	var d1, d2 uint64
	for rank := 0; rank <= want2; rank++ {
		var d uint64
		if r >= n || (l >= 0 && m2-2*a[l] <= 2*a[r]-m2) {
			d = uint64(m2 - 2*a[l])
			l--
		} else {
			d = uint64(2*a[r] - m2)
			r++
		}
		if rank == want1 {
			d1 = d
		}
		if rank == want2 {
			d2 = d
		}
	}
	return m2, d1 + d2
}

func absDiff(a, b int64) uint64 {
	if a < b {
		return uint64(b - a)
	}
	return uint64(a - b)
}

// u128 is an unsigned 128-bit integer.
type u128 struct{ hi, lo uint64 }

func mul64(a, b uint64) u128 {
	hi, lo := bits.Mul64(a, b)
	return u128{hi, lo}
}

func (x u128) less(y u128) bool { return x.hi < y.hi || (x.hi == y.hi && x.lo < y.lo) }

func maxU128(x, y u128) u128 {
	if x.less(y) {
		return y
	}
	return x
}

// mulSmall returns x·k and whether it overflowed 128 bits.
func (x u128) mulSmall(k uint64) (u128, bool) {
	h1, lo := bits.Mul64(x.lo, k)
	h2, l2 := bits.Mul64(x.hi, k)
	hi, carry := bits.Add64(h1, l2, 0)
	return u128{hi, lo}, h2 != 0 || carry != 0
}

// ratio returns ⌊x/y⌋ capped at MaxInt32; y is not 0. A divisor beyond 64
// bits (a MAD above about 10^15 minor units) is divided in float64: the
// score is a dimensionless ratio for ranking, and the flag itself is
// decided exactly.
func (x u128) ratio(y u128) int32 {
	if y.hi == 0 {
		if x.hi >= y.lo {
			return math.MaxInt32
		}
		q, _ := bits.Div64(x.hi, x.lo, y.lo)
		return int32(min(q, math.MaxInt32))
	}
	f := (float64(x.hi)*0x1p64 + float64(x.lo)) / (float64(y.hi)*0x1p64 + float64(y.lo))
	return int32(min(f, math.MaxInt32))
}

// lru is a map whose entries are also in a list by last use, so the least
// recently used one can be forgotten. Entries live in one slice and link by
// index: no allocation per entry once the slice has grown, and no pointers
// for the garbage collector to follow but those inside the values. Slot 0
// is the list's head and means "none".
type lru[K comparable, V any] struct {
	m     map[K]int32
	slots []lruSlot[K, V] // slots[0].next is the newest, slots[0].prev the oldest
	free  []int32
}

type lruSlot[K comparable, V any] struct {
	key        K
	val        V
	prev, next int32
}

func (l *lru[K, V]) init() {
	l.m = map[K]int32{}
	l.slots = make([]lruSlot[K, V], 1, 64)
}

func (l *lru[K, V]) len() int { return len(l.m) }

// get returns k's slot, or 0.
func (l *lru[K, V]) get(k K) int32 { return l.m[k] }

// at returns the value in slot i; the pointer holds until the next push.
func (l *lru[K, V]) at(i int32) *V { return &l.slots[i].val }

func (l *lru[K, V]) key(i int32) K { return l.slots[i].key }

func (l *lru[K, V]) oldest() int32 { return l.slots[0].prev }

// push adds a new entry as the newest and returns its slot.
func (l *lru[K, V]) push(k K, v V) int32 {
	var i int32
	if n := len(l.free); n > 0 {
		i, l.free = l.free[n-1], l.free[:n-1]
	} else {
		i = int32(len(l.slots))
		l.slots = append(l.slots, lruSlot[K, V]{})
	}
	l.slots[i] = lruSlot[K, V]{key: k, val: v}
	l.m[k] = i
	l.linkFront(i)
	return i
}

// remove forgets slot i and frees it.
func (l *lru[K, V]) remove(i int32) {
	l.unlink(i)
	delete(l.m, l.slots[i].key)
	l.slots[i] = lruSlot[K, V]{}
	l.free = append(l.free, i)
}

// touch makes slot i the newest.
func (l *lru[K, V]) touch(i int32) {
	if l.slots[0].next != i {
		l.unlink(i)
		l.linkFront(i)
	}
}

func (l *lru[K, V]) unlink(i int32) {
	s := &l.slots[i]
	l.slots[s.prev].next, l.slots[s.next].prev = s.next, s.prev
}

func (l *lru[K, V]) linkFront(i int32) {
	s := &l.slots[i]
	s.prev, s.next = 0, l.slots[0].next
	l.slots[s.next].prev = i
	l.slots[0].next = i
}
