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
// The files are written under other names and renamed once complete: a
// world that could not be made leaves the one already there as it was.
func WriteFiles(cfg Config, dir string, progress func(done, total int)) (st Stats, err error) {
	if err := cfg.Check(); err != nil {
		return st, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return st, err
	}
	var out outFiles
	defer func() { err = out.finish(err) }()
	rw, err := out.create(filepath.Join(dir, RecordsFile), 1<<20)
	if err != nil {
		return st, err
	}
	tw, err := out.create(filepath.Join(dir, TruthFile), 1<<16)
	if err != nil {
		return st, err
	}
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
	return run(cfg, emit, truth, progress, nil)
}

// partialSuffix marks a generated file still being written.
const partialSuffix = ".partial"

// outFiles are the files of one world being written, each under its name
// plus partialSuffix until finish.
type outFiles struct {
	names   []string
	files   []*os.File
	writers []*bufio.Writer
}

func (o *outFiles) create(name string, size int) (*bufio.Writer, error) {
	f, err := os.Create(name + partialSuffix)
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriterSize(f, size)
	o.names, o.files, o.writers = append(o.names, name), append(o.files, f), append(o.writers, w)
	return w, nil
}

// finish flushes and closes every file and, when err and all of that are
// nil, renames each to its name; otherwise it removes them.
func (o *outFiles) finish(err error) error {
	for i, f := range o.files {
		if err == nil {
			err = o.writers[i].Flush()
		}
		err = errors.Join(err, f.Close())
	}
	for _, n := range o.names {
		if err == nil {
			err = os.Rename(n+partialSuffix, n)
		} else {
			os.Remove(n + partialSuffix)
		}
	}
	return err
}

// RawDir is the directory inside WriteRawFiles' directory that holds one
// file per raw source, raw/<source>.ndjson.
const RawDir = "raw"

// WriteRawFiles generates cfg's world in raw mode into dir (created if
// missing): raw/<source>.ndjson for every source in RawSources, one raw
// record a line as that source sends it, in event order; records.ndjson,
// the canonical records those lines must become plus the records that stay
// canonical (PassthroughKinds), in the same order; and truth.ndjson.
// progress, if not nil, is called after each simulated day. As with
// WriteFiles, the files appear only once all of them are complete.
func WriteRawFiles(cfg Config, dir string, progress func(done, total int)) (st Stats, err error) {
	if err := cfg.Check(); err != nil {
		return st, err
	}
	if err := os.MkdirAll(filepath.Join(dir, RawDir), 0o755); err != nil {
		return st, err
	}
	var out outFiles
	defer func() { err = out.finish(err) }()
	rw, err := out.create(filepath.Join(dir, RecordsFile), 1<<20)
	if err != nil {
		return st, err
	}
	tw, err := out.create(filepath.Join(dir, TruthFile), 1<<16)
	if err != nil {
		return st, err
	}
	writers := map[string]*bufio.Writer{}
	for _, src := range RawSources {
		w, err := out.create(filepath.Join(dir, RawDir, src.Name+".ndjson"), 1<<18)
		if err != nil {
			return st, err
		}
		writers[src.Name] = w
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
	return run(cfg, emit, truth, progress, raw)
}
