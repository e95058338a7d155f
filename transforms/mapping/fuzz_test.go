package mapping

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/erpflow/erpflow/pipeline/record"
)

// FuzzMap feeds source records of every shipped mapping, and mutations of
// them, to its Mapper. Whatever maps must be a valid canonical record (its
// canonical JSON decodes to the same bytes again), and must stay as it was
// while the Mapper goes on to the next record: a mapped value that still
// viewed the parser's buffer or the number text would change under it.
// Whatever does not map is refused with a typed error, never a panic.
func FuzzMap(f *testing.F) {
	names := Shipped()
	mappers := make([]*Mapper, len(names))
	for i, name := range names {
		m, err := LoadShipped(name)
		if err != nil {
			f.Fatal(err)
		}
		mappers[i] = m.NewMapper()
	}
	golden, err := filepath.Glob(filepath.Join("testdata", "golden", "*.raw.json"))
	if err != nil || len(golden) == 0 {
		f.Fatalf("no golden raw records: %v", err)
	}
	for _, g := range golden {
		data, err := os.ReadFile(g)
		if err != nil {
			f.Fatal(err)
		}
		for i, name := range names {
			if strings.HasPrefix(filepath.Base(g), name+"_") {
				f.Add(uint8(i), data)
			}
		}
	}
	f.Add(uint8(0), []byte(`{"金额":1e400,"日期":20250416,"x":[true,null]}`))
	other := []byte(`{"padding":"` + strings.Repeat("z", 300) + `","n":123456789012345678901234567890}`)
	dec := record.NewDecoder()
	f.Fuzz(func(t *testing.T, src uint8, data []byte) {
		mp := mappers[int(src)%len(mappers)]
		var r record.Record
		if err := mp.Map([]byte("SH01"), data, &r); err != nil {
			var de *record.DecodeError
			var me *Error
			if !errors.As(err, &de) && !errors.As(err, &me) {
				t.Fatalf("error %v (%T) is neither a *record.DecodeError nor an *Error", err, err)
			}
			return
		}
		enc := record.Marshal(&r)
		var scratch record.Record
		mp.Map([]byte("SH01"), other, &scratch) // the next record reuses the buffers
		mp.Map([]byte("SH01"), data[:len(data)/2], &scratch)
		if again := record.Marshal(&r); !bytes.Equal(enc, again) {
			t.Fatalf("the mapped record changed when the mapper went on:\n%s\n%s", enc, again)
		}
		var back record.Record
		if err := dec.Decode(enc, &back); err != nil {
			t.Fatalf("mapped record is not valid canonical JSON: %v\n%s", err, enc)
		}
		if enc2 := record.Marshal(&back); !bytes.Equal(enc, enc2) {
			t.Fatalf("mapped record does not round-trip:\n%s\n%s", enc, enc2)
		}
	})
}
