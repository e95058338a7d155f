package match

import "slices"

// similarity is the better of two measures on runes: 1 minus the edit
// distance over the longer length (typos, truncation), and the Dice
// coefficient of character pairs, which forgives reordering: a bank writes
// 嘉禾精密制造（北京） for 北京嘉禾精密制造.
//
// Names are short, and a payer is compared with many customers: the runes,
// pairs and rows live on the stack up to nameRunes runes, and the pairs are
// counted by sorting rather than in maps (a third of a matching run's
// similarity time was the maps).
func similarity(a, b string) float64 {
	if a == b {
		return 1
	}
	var ba, bb [nameRunes]rune
	ra, rb := runesOf(a, ba[:0]), runesOf(b, bb[:0])
	return max(editSimilarity(ra, rb), diceSimilarity(ra, rb))
}

// nameRunes is how long a name may be before similarity's buffers move to
// the heap.
const nameRunes = 64

func runesOf(s string, out []rune) []rune {
	for _, r := range s {
		out = append(out, r)
	}
	return out
}

func diceSimilarity(ra, rb []rune) float64 {
	var ba, bb [nameRunes]uint64
	a, b := pairsOf(ra, ba[:0]), pairsOf(rb, bb[:0])
	if len(a)+len(b) == 0 {
		return 0
	}
	slices.Sort(a)
	slices.Sort(b)
	// Each pair counts as often as it occurs in both.
	both := 0
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] == b[j]:
			both++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return 2 * float64(both) / float64(len(a)+len(b))
}

// pairsOf appends r's neighbouring runes, each pair as one number.
func pairsOf(r []rune, out []uint64) []uint64 {
	for i := 0; i+1 < len(r); i++ {
		out = append(out, uint64(uint32(r[i]))<<32|uint64(uint32(r[i+1])))
	}
	return out
}

func editSimilarity(ra, rb []rune) float64 {
	if len(ra) == 0 || len(rb) == 0 {
		return 0
	}
	var bp, bc [nameRunes + 1]int
	prev, cur := bp[:], bc[:]
	if n := len(rb) + 1; n <= len(bp) {
		prev, cur = bp[:n], bc[:n]
	} else {
		prev, cur = make([]int, n), make([]int, n)
	}
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return 1 - float64(prev[len(rb)])/float64(max(len(ra), len(rb)))
}
