package mapping

import (
	"strings"

	"github.com/valyala/fastjson"
)

// A source sends its records in a few shapes: the same keys in the same
// order, record after record (a CSV export's header, an ERP's fixed JSON).
// Once the keys of a shape have been checked (normal, no two alike), a
// record of that shape needs only its keys compared with the shape's; and
// the record's members are found by position, which the shape has for every
// key the mapping names. Checking every key afresh cost the mapping stage
// a tenth of its time.

const (
	// maxShapeKeys bounds the keys of an object whose shape is remembered:
	// wider objects (a SAP table with every column) are checked each time.
	maxShapeKeys = 128
	// maxShapes bounds the shapes a Mapper learns: a source whose records
	// keep changing shape (keys left out when blank) stops being learned
	// rather than allocating for every record.
	maxShapes = 256
	// shapesAlike bounds the shapes kept of one node and length, each
	// compared in turn.
	shapesAlike = 4
)

// shape is the sequence of keys of a checked object.
type shape struct {
	keys []string
	// pos is the position of each numbered key (Mapping.keyIDs) among
	// keys, or -1; only for the record itself.
	pos []int32
}

// knownShape says whether o has the keys, in order, of a shape learned for
// node and o's length; if so, and o is the record itself, its members go to
// vals by position and mp.shape is that shape.
func (mp *Mapper) knownShape(o *fastjson.Object, node *keyNode, root bool) bool {
	n := o.Len()
	if n >= maxShapeKeys || len(mp.shapes) <= node.id || mp.shapes[node.id] == nil {
		return false
	}
	if root && len(mp.vals) < n {
		mp.vals = make([]*fastjson.Value, maxShapeKeys)
	}
	for _, s := range mp.shapes[node.id][n] {
		i := 0
		o.Visit(func(raw []byte, x *fastjson.Value) {
			if i < 0 || string(raw) != s.keys[i] {
				i = -1
				return
			}
			if root {
				mp.vals[i] = x
			}
			i++
		})
		if i == n {
			if root {
				mp.shape = s
			}
			return true
		}
	}
	return false
}

// learnShape remembers the shape of o, whose keys have just been found
// normal and distinct, beside the few others of its node and length (a
// shop's orders and shipments can have as many keys).
func (mp *Mapper) learnShape(o *fastjson.Object, node *keyNode, root bool) {
	n := o.Len()
	if n >= maxShapeKeys || mp.learned >= maxShapes {
		return
	}
	if len(mp.shapes) < mp.m.keyNodes {
		mp.shapes = make([][][]*shape, mp.m.keyNodes)
	}
	if mp.shapes[node.id] == nil {
		mp.shapes[node.id] = make([][]*shape, maxShapeKeys)
	}
	// One string for all the keys: they must outlive the record's buffer.
	var b strings.Builder
	o.Visit(func(raw []byte, _ *fastjson.Value) { b.Write(raw) })
	all := b.String()
	s := &shape{keys: make([]string, 0, n)}
	off := 0
	o.Visit(func(raw []byte, _ *fastjson.Value) {
		s.keys = append(s.keys, all[off:off+len(raw)])
		off += len(raw)
	})
	if root {
		s.pos = make([]int32, len(mp.m.keyIDs))
		for i := range s.pos {
			s.pos[i] = -1
		}
		for i, k := range s.keys {
			if id, ok := mp.m.keyIDs[k]; ok {
				s.pos[id] = int32(i)
			}
		}
	}
	list := mp.shapes[node.id][n]
	if len(list) < shapesAlike {
		list = append(list, s)
	} else {
		copy(list, list[1:])
		list[len(list)-1] = s
	}
	mp.shapes[node.id][n] = list
	mp.learned++
}
