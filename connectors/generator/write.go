package generator

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"

	"github.com/erpflow/erpflow/pipeline/record"
)

// File names WriteFiles uses inside its directory.
const (
	RecordsFile = "records.ndjson"
	TruthFile   = "truth.ndjson"
)

// WriteFiles generates cfg's world into dir (created if missing):
// records.ndjson, one canonical record a line in event-time order, and
// truth.ndjson. progress, if not nil, is called after each simulated day.
func WriteFiles(cfg Config, dir string, progress func(done, total int)) (st Stats, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return st, err
	}
	rf, err := os.Create(filepath.Join(dir, RecordsFile))
	if err != nil {
		return st, err
	}
	defer func() { err = errors.Join(err, rf.Close()) }()
	tf, err := os.Create(filepath.Join(dir, TruthFile))
	if err != nil {
		return st, err
	}
	defer func() { err = errors.Join(err, tf.Close()) }()

	rw, tw := bufio.NewWriterSize(rf, 1<<20), bufio.NewWriterSize(tf, 1<<16)
	var buf []byte
	var last *record.Record
	emit := func(r *record.Record) error {
		if r != last { // a duplicate re-sends the bytes already encoded
			buf = append(record.AppendJSON(buf[:0], r), '\n')
			last = r
		}
		_, err := rw.Write(buf)
		return err
	}
	var tbuf []byte
	truth := func(t Truth) error {
		tbuf = append(t.AppendJSON(tbuf[:0]), '\n')
		_, err := tw.Write(tbuf)
		return err
	}
	st, err = run(cfg, emit, truth, progress)
	if err != nil {
		return st, err
	}
	return st, errors.Join(rw.Flush(), tw.Flush())
}
