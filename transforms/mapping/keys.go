package mapping

import (
	"fmt"
	"hash/maphash"
	"strconv"
	"strings"
	"unsafe"

	"github.com/valyala/fastjson"

	"github.com/erpflow/erpflow/pipeline/record"
)

// Source systems name a field the way a person typed its header: Excel's
// "CSV UTF-8" puts a byte-order mark before the first one, a header cell
// keeps a trailing or an ideographic space, a full-width bracket stands for
// a plain one. Read byte for byte, such a key was absent and its value was
// lost without a word (a required field at least reached the dead-letter
// topic; an optional one, or the line items, did not). So keys are read in
// the normal form values are read in (clean.Normalize), on both sides: the
// mapping's paths when it is compiled, a record's keys when it is parsed.
//
// Normalising can make two keys one ("金额" and "金额 "), and a source can
// send the same key twice. Which value it meant cannot be told, and taking
// either would drop the other, so such a record is refused whole.

// maxKeyNorms bounds the keys a Mapper remembers the normal form of; keys
// are a source's headers, a few dozen, unless a source puts data in them.
const maxKeyNorms = 4096

// keyNode is an object a mapping reads from: the record, or one nested in
// it (an object, or each object of a list, such as line items). Only these
// are tidied: a key elsewhere is never read, whatever its spelling.
type keyNode struct {
	id       int // for the Mapper's shapes of it
	children []keyChild
}

type keyChild struct {
	key  string // in normal form
	h    uint32 // keyHash(key)
	id   int32  // the key's number (keyTree)
	node *keyNode
}

// treeBuilder builds a Mapping's keyNode tree and numbers the keys its
// getters name, so that a record of a known shape finds a member by number
// (shape.pos) rather than by name.
type treeBuilder struct {
	ids   map[string]int32
	nodes int
}

func (b *treeBuilder) node() *keyNode {
	b.nodes++
	return &keyNode{id: b.nodes - 1}
}

func (b *treeBuilder) id(k string) int32 {
	id, ok := b.ids[k]
	if !ok {
		id = int32(len(b.ids))
		b.ids[k] = id
	}
	return id
}

// at returns the node under path from n, adding the nodes missing.
func (b *treeBuilder) at(n *keyNode, path []string) *keyNode {
	for _, k := range path {
		var next *keyNode
		for _, c := range n.children {
			if c.key == k {
				next = c.node
				break
			}
		}
		if next == nil {
			next = b.node()
			n.children = append(n.children, keyChild{key: k, h: keyHash(k), id: b.id(k), node: next})
		}
		n = next
	}
	return n
}

// read numbers g's keys and adds the object g reads its value from,
// relative to n.
func (b *treeBuilder) read(n *keyNode, g *getter) {
	if g == nil {
		return
	}
	g.ids = make([]int32, len(g.keys))
	for i, k := range g.keys {
		g.ids[i] = b.id(k)
	}
	if !g.firstOf {
		b.at(n, g.keys[:len(g.keys)-1])
	}
}

// readField adds what f reads: its value relative to n, its currency
// relative to the record.
func (b *treeBuilder) readField(n, root *keyNode, f *fieldPlan) {
	if f != nil {
		b.read(n, f.get)
		b.read(root, f.currency)
	}
}

// keyTree builds the tree of the objects m's rules read and numbers their
// keys.
func keyTree(m *Mapping) {
	b := &treeBuilder{ids: map[string]int32{}}
	root := b.node()
	for _, r := range m.rules {
		b.read(root, r.when)
		for _, f := range append([]*fieldPlan{r.company, r.id, r.version, r.eventTime}, r.fields...) {
			b.readField(root, root, f)
		}
		if r.lines != nil {
			b.read(root, r.lines.at)
			items := b.at(root, r.lines.at.keys)
			for _, lf := range r.lines.fields {
				b.readField(items, root, &lf.fieldPlan)
			}
		}
	}
	m.keys, m.keyIDs, m.keyNodes = root, b.ids, b.nodes
}

// keyAt is one step of the path to an object being tidied: a member's key,
// or an element's index when key is empty.
type keyAt struct {
	key string
	idx int
}

// tidyKeys puts the keys of the objects of record v that the mapping reads
// in normal form, and refuses a record with two keys alike in one of them.
// Nearly every key is normal already and is only scanned, and nearly every
// object has a shape seen before (knownShape); an object is rewritten only
// when one of its keys is not normal.
func (mp *Mapper) tidyKeys(v *fastjson.Value) error {
	mp.path = mp.path[:0]
	mp.root, mp.shape = nil, nil
	o, _ := v.Object()
	if !mp.knownShape(o, mp.m.keys, true) {
		renamed, err := mp.check(o, &mp.rootIx)
		if err != nil {
			return err
		}
		if !renamed {
			mp.learnShape(o, mp.m.keys, true)
		}
	}
	mp.root = v
	return mp.tidyChildren(v, mp.m.keys)
}

// keyIndex is an open-addressed table of the members of one object by
// normal key, with room for twice as many. Filling it finds two keys alike
// in time linear in the keys, however many (a flattened SAP line can have
// hundreds), and a getter's lookup in the record's costs a probe where
// fastjson's Get compares key after key.
type keyIndex struct {
	slots       []keySlot
	gen         uint32 // a slot is empty unless its gen is this
	shift, mask uint32
}

type keySlot struct {
	gen uint32
	h   uint32
	k   string // normal form
	raw string // as the source wrote it, for messages
	v   *fastjson.Value
}

// reset empties the index for an object of n members.
func (ix *keyIndex) reset(n int) {
	bits := uint32(5)
	for 1<<bits < 2*n {
		bits++
	}
	if len(ix.slots) < 1<<bits {
		ix.slots = make([]keySlot, 1<<bits)
		ix.gen = 0
	}
	ix.shift = 32 - bits
	ix.mask = 1<<bits - 1
	if ix.gen++; ix.gen == 0 { // wrapped: old stamps could pass for new
		clear(ix.slots)
		ix.gen = 1
	}
}

// add puts k in the index, or returns the slot of the key alike already in.
func (ix *keyIndex) add(k, raw string, h uint32, v *fastjson.Value) *keySlot {
	for i := h >> ix.shift; ; i = (i + 1) & ix.mask {
		s := &ix.slots[i]
		if s.gen != ix.gen {
			*s = keySlot{gen: ix.gen, h: h, k: k, raw: raw, v: v}
			return nil
		}
		if s.h == h && s.k == k {
			return s
		}
	}
}

func (ix *keyIndex) find(k string, h uint32) *fastjson.Value {
	for i := h >> ix.shift; ; i = (i + 1) & ix.mask {
		s := &ix.slots[i]
		if s.gen != ix.gen {
			return nil
		}
		if s.h == h && s.k == k {
			return s.v
		}
	}
}

// check indexes the keys of an object of a shape not seen before in ix,
// refusing two keys alike that the mapping reads, and puts them in normal
// form. Two alike that it never reads (two blank header cells of a CSV
// export) are let be: the one indexed is never asked for. It says whether
// a key was renamed.
func (mp *Mapper) check(o *fastjson.Object, ix *keyIndex) (bool, error) {
	ix.reset(o.Len())
	renames := 0
	var err error
	o.Visit(func(rawb []byte, x *fastjson.Value) {
		if err != nil {
			return
		}
		k, h, changed := mp.keyNorm(rawb)
		if changed {
			renames++
		}
		raw := k
		if changed {
			raw = string(rawb)
		}
		if first := ix.add(k, raw, h, x); first != nil {
			if _, read := mp.m.keyIDs[k]; read {
				err = mp.twice(first.raw, raw, k)
			}
		}
	})
	if err == nil && renames > 0 {
		mp.rekey(o)
	}
	return renames > 0, err
}

// member returns v's member k, whose keyHash is h and number id: by
// position in a record of a known shape, from the index in a record of a
// new one, by fastjson's scan in anything else.
func (mp *Mapper) member(v *fastjson.Value, k string, h uint32, id int32) *fastjson.Value {
	if v != mp.root || v == nil {
		return v.Get(k)
	}
	if mp.shape != nil {
		if p := mp.shape.pos[id]; p >= 0 {
			return mp.vals[p]
		}
		return nil
	}
	return mp.rootIx.find(k, h)
}

// tidyChildren tidies the objects under v that node reads from.
func (mp *Mapper) tidyChildren(v *fastjson.Value, node *keyNode) error {
	for _, c := range node.children {
		x := mp.member(v, c.key, c.h, c.id)
		if x == nil {
			continue
		}
		mp.path = append(mp.path, keyAt{key: c.key})
		switch x.Type() {
		case fastjson.TypeObject:
			if err := mp.tidyObject(x, c.node); err != nil {
				return err
			}
		case fastjson.TypeArray:
			for i, e := range x.GetArray() {
				if e.Type() != fastjson.TypeObject {
					continue
				}
				mp.path = append(mp.path, keyAt{idx: i})
				if err := mp.tidyObject(e, c.node); err != nil {
					return err
				}
				mp.path = mp.path[:len(mp.path)-1]
			}
		}
		mp.path = mp.path[:len(mp.path)-1]
	}
	return nil
}

// tidyObject checks the keys of a nested object the mapping reads from.
// Its index serves only the check: members of nested objects are found by
// fastjson's Get, and the next object checked reuses it.
func (mp *Mapper) tidyObject(v *fastjson.Value, node *keyNode) error {
	o, _ := v.Object()
	if !mp.knownShape(o, node, false) {
		renamed, err := mp.check(o, &mp.nestedIx)
		if err != nil {
			return err
		}
		if !renamed {
			mp.learnShape(o, node, false)
		}
	}
	return mp.tidyChildren(v, node)
}

// rekey puts every member of o under its key's normal form. Del and Set go
// by key, and the normal keys are distinct (checked before), so renaming
// one key cannot touch another member.
func (mp *Mapper) rekey(o *fastjson.Object) {
	mp.renames = mp.renames[:0]
	o.Visit(func(raw []byte, x *fastjson.Value) {
		if k, _, changed := mp.keyNorm(raw); changed {
			mp.renames = append(mp.renames, rekey{from: string(raw), to: k, v: x})
		}
	})
	for _, r := range mp.renames {
		o.Del(r.from)
		o.Set(r.to, r.v)
	}
	clear(mp.renames)
}

// rekey is a member of an object to be put under its key's normal form.
type rekey struct {
	from, to string
	v        *fastjson.Value
}

func (mp *Mapper) twice(first, second, norm string) error {
	where := "the record"
	if len(mp.path) > 0 {
		where = pathText(mp.path)
	}
	detail := fmt.Sprintf("key %q appears twice in %s: which value the source meant cannot be told", norm, where)
	if first != second {
		detail = fmt.Sprintf("keys %q and %q in %s both read as %q: which value the source meant cannot be told", first, second, where, norm)
	}
	return &record.DecodeError{Reason: record.ReasonInvalidJSON, Detail: detail}
}

func pathText(path []keyAt) string {
	var b strings.Builder
	for i, p := range path {
		if p.key == "" {
			b.WriteString("[" + strconv.Itoa(p.idx) + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p.key)
	}
	return b.String()
}

// keyNorm returns raw in normal form, its hash (keyHash) and whether it
// differs from raw. An unchanged key is a view of raw, valid as long as the
// record.
func (mp *Mapper) keyNorm(raw []byte) (string, uint32, bool) {
	if plainKey(raw) {
		if len(raw) == 0 {
			return "", keyHash(""), false
		}
		k := unsafe.String(&raw[0], len(raw))
		return k, keyHash(k), false
	}
	n, ok := mp.keyNorms[string(raw)]
	if !ok {
		k := string(raw)
		n = normalize(k)
		if mp.keyNorms == nil || len(mp.keyNorms) >= maxKeyNorms {
			mp.keyNorms = make(map[string]string, 64)
		}
		mp.keyNorms[k] = n
	}
	return n, keyHash(n), n != string(raw)
}

// keyHash hashes a key with the process's seed: getters hash their keys
// when a mapping is compiled, records' keys when they are checked. Every
// byte counts: a cheaper hash of a key's ends made the many keys a
// flattened export shares them in (ITEM0001_MATNR, ITEM0002_MATNR) one
// chain in the index, and a record of them took seconds.
func keyHash(k string) uint32 {
	return uint32(maphash.String(keySeed, k))
}

var keySeed = maphash.MakeSeed()

// plainKey says, by a scan and without Normalize, that k is in normal form
// for certain: it holds only printable ASCII with single spaces inside, and
// ideographs of U+4000–U+9FFF (CJK Unified and Extension A, three bytes led
// by E4–E9, none of which NFKC changes). Any other key is left to Normalize.
// Keys are valid UTF-8 (the record is checked before it is parsed, and
// fastjson writes an escaped lone surrogate as U+FFFD), so a lead byte
// vouches for the two bytes after it, and a byte is judged on its own.
func plainKey(k []byte) bool {
	if len(k) == 0 {
		return true
	}
	if k[0] == '"' || k[0] == '\'' {
		return false
	}
	// last starts as a space, so that a leading one is refused too.
	last := uint8(keySpace)
	for _, c := range k {
		cl := keyBytes[c]
		if cl == keyOther || cl&last == keySpace {
			return false
		}
		last = cl
	}
	return last != keySpace
}

// Classes of the bytes of a key, for plainKey.
const (
	keyOther = 0 // anything that sends the key to Normalize
	keyPlain = 1
	keySpace = 2
)

var keyBytes = func() (t [256]uint8) {
	for c := '!'; c < 0x7f; c++ {
		t[c] = keyPlain
	}
	t[' '] = keySpace
	for c := 0x80; c <= 0xbf; c++ {
		t[c] = keyPlain // continuation bytes
	}
	for c := 0xe4; c <= 0xe9; c++ {
		t[c] = keyPlain // leads of U+4000–U+9FFF
	}
	return t
}()
