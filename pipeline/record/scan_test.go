package record

import (
	"math/rand/v2"
	"testing"
)

// TestPlainRunAgreesWithByteLoop: the eight-bytes-at-a-time test finds the
// same end of a string's plain run as looking at each byte, for random
// bytes (quotes, backslashes, control characters, UTF-8 and plain text
// mixed in every proportion) from every start.
func TestPlainRunAgreesWithByteLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	pick := []byte{'"', '\\', 0, 0x1f, 0x20, 0x21, 0x7f, 0x80, 0x9f, 0xe4, 0xff, 'a', '0', ' '}
	for n := range 3000 {
		b := make([]byte, rng.IntN(40))
		special := rng.IntN(20) + 1 // one byte in this many is from pick
		for i := range b {
			if rng.IntN(special) == 0 {
				b[i] = pick[rng.IntN(len(pick))]
			} else {
				b[i] = byte(0x20 + rng.IntN(0x60))
			}
		}
		for start := 0; start <= len(b); start++ {
			want := start
			for want < len(b) && !strEnds[b[want]] {
				want++
			}
			if got := plainRun(b, start); got != want {
				t.Fatalf("case %d: plainRun(%q, %d) = %d, want %d", n, b, start, got, want)
			}
		}
	}
}
