package match

import (
	"math"

	"github.com/erpflow/erpflow/pipeline/record"
)

// ageQueue finds the state that nothing touched since a cut-off without
// walking all of it: the reconciler forgets such state at the end of every
// event day, and in a backfill a walk over everything held cost more than
// the day's records. The owner calls touch with the new date whenever it
// raises an entry's touched date; an entry may be queued more than once,
// and the owner's check tells a stale turn from a due one.
type ageQueue[K comparable] struct {
	h aged[K]
	// parked are entries old enough to forget that were still in use
	// (an open invoice, an unpaid chain) when last checked: they are
	// checked again at every sweep, since what keeps them (the book, a
	// chain's status) can change without touching them.
	parked map[K]struct{}
	// woken says the owner wakes a parked entry (wake) whenever what keeps
	// it in use may have let go of it, so that a sweep need not check
	// every parked entry again: in a backfill of years the parked entries
	// grow by the thousand and a day ends every few hundred records.
	woken bool
}

type agedKey[K comparable] struct {
	day record.Date
	key K
}

// aged is a min-heap by day, kept by hand: container/heap would box every
// entry pushed and popped into an interface, an allocation per touch.
type aged[K comparable] []agedKey[K]

func (a *aged[K]) push(x agedKey[K]) {
	*a = append(*a, x)
	h := *a
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p].day <= h[i].day {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func (a *aged[K]) pop() agedKey[K] {
	h := *a
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = agedKey[K]{} // let go of the key's strings
	h = h[:n]
	for i := 0; ; {
		l, least := 2*i+1, i
		if l < n && h[l].day < h[least].day {
			least = l
		}
		if r := l + 1; r < n && h[r].day < h[least].day {
			least = r
		}
		if least == i {
			break
		}
		h[i], h[least] = h[least], h[i]
		i = least
	}
	*a = h
	return top
}

// wake has the next sweep check k again if k is parked.
func (q *ageQueue[K]) wake(k K) {
	if _, ok := q.parked[k]; ok {
		delete(q.parked, k)
		q.h.push(agedKey[K]{math.MinInt32, k})
	}
}

// unpark drops k from the parked entries: the owner forgot it.
func (q *ageQueue[K]) unpark(k K) { delete(q.parked, k) }

// touch queues k as touched on day.
func (q *ageQueue[K]) touch(day record.Date, k K) {
	q.h.push(agedKey[K]{day, k})
}

// sweep offers check every entry that may be untouched since cut: the
// parked ones, then every one queued with a date before cut. check forgets
// the entry if it should (it is there, untouched since cut, no longer in
// use) and returns whether to park it: true only for an entry untouched
// since cut that is still in use. Cuts never decrease (event days only
// move on), so a parked entry touched since can be let go: its new turn is
// queued.
func (q *ageQueue[K]) sweep(cut record.Date, check func(K) (park bool)) {
	if !q.woken {
		for k := range q.parked {
			if !check(k) {
				delete(q.parked, k)
			}
		}
	}
	for len(q.h) > 0 && q.h[0].day < cut {
		k := q.h.pop().key
		if check(k) {
			if q.parked == nil {
				q.parked = map[K]struct{}{}
			}
			q.parked[k] = struct{}{}
		}
	}
}
