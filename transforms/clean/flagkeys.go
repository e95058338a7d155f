package clean

// The keys the flag stage indexes documents by, hashed to 128 bits so that
// state stays small whatever the ids and names look like.

import (
	"encoding/binary"
	"hash/maphash"
)

// fkey is a 128-bit hash standing for a key: two independent 64-bit
// maphashes, so a collision (a wrong flag) has odds of about 2^-128.
type fkey struct{ a, b uint64 }

// keyBuf lays a key's fields out in one buffer, each with its length, so
// that ("ab","c") and ("a","bc") differ, and hashes it.
type keyBuf struct {
	seed1, seed2 maphash.Seed
	b            []byte
}

func (k *keyBuf) init() {
	k.seed1, k.seed2 = maphash.MakeSeed(), maphash.MakeSeed()
	k.b = make([]byte, 0, 256)
}

func (k *keyBuf) reset() { k.b = k.b[:0] }

func (k *keyBuf) u64(v uint64) { k.b = binary.LittleEndian.AppendUint64(k.b, v) }

func (k *keyBuf) str(v string) {
	k.b = binary.LittleEndian.AppendUint32(k.b, uint32(len(v)))
	k.b = append(k.b, v...)
}

// text writes a text field folded for comparing: ASCII letters in lower
// case, white space trimmed and runs of it one space. The mapping has
// already put text in NFKC.
func (k *keyBuf) text(v string) {
	at := len(k.b)
	b := append(k.b, 0, 0, 0, 0) // the length, once known
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			space = len(b) > at+4
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if space {
			b = append(b, ' ')
			space = false
		}
		b = append(b, c)
	}
	binary.LittleEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	k.b = b
}

func (k *keyBuf) sum() fkey { return fkey{maphash.Bytes(k.seed1, k.b), maphash.Bytes(k.seed2, k.b)} }
