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
	st, err = run(cfg, emit, truth, progress, nil)
	if err != nil {
		return st, err
	}
	return st, errors.Join(rw.Flush(), tw.Flush())
}

// RawDir is the directory inside WriteRawFiles' directory that holds one
// file per raw source, raw/<source>.ndjson.
const RawDir = "raw"

// WriteRawFiles generates cfg's world in raw mode into dir (created if
// missing): raw/<source>.ndjson for every source in RawSources, one raw
// record a line as that source sends it, in event order; records.ndjson,
// the canonical records those lines must become plus the records that stay
// canonical (PassthroughKinds), in the same order; and truth.ndjson.
// progress, if not nil, is called after each simulated day.
func WriteRawFiles(cfg Config, dir string, progress func(done, total int)) (st Stats, err error) {
	if err := os.MkdirAll(filepath.Join(dir, RawDir), 0o755); err != nil {
		return st, err
	}
	var files []*os.File
	defer func() {
		for _, f := range files {
			err = errors.Join(err, f.Close())
		}
	}()
	create := func(name string, size int) (*bufio.Writer, error) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		return bufio.NewWriterSize(f, size), nil
	}
	rw, err := create(RecordsFile, 1<<20)
	if err != nil {
		return st, err
	}
	tw, err := create(TruthFile, 1<<16)
	if err != nil {
		return st, err
	}
	writers := map[string]*bufio.Writer{}
	all := []*bufio.Writer{rw, tw}
	for _, src := range RawSources {
		w, err := create(filepath.Join(RawDir, src.Name+".ndjson"), 1<<18)
		if err != nil {
			return st, err
		}
		writers[src.Name] = w
		all = append(all, w)
	}
	raw := func(source string, line []byte) error {
		w := writers[source]
		if _, err := w.Write(line); err != nil {
			return err
		}
		return w.WriteByte('\n')
	}
	var buf []byte
	emit := func(r *record.Record) error {
		buf = append(record.AppendJSON(buf[:0], r), '\n')
		_, err := rw.Write(buf)
		return err
	}
	var tbuf []byte
	truth := func(t Truth) error {
		tbuf = append(t.AppendJSON(tbuf[:0]), '\n')
		_, err := tw.Write(tbuf)
		return err
	}
	st, err = run(cfg, emit, truth, progress, raw)
	if err != nil {
		return st, err
	}
	for _, w := range all {
		err = errors.Join(err, w.Flush())
	}
	return st, err
}
