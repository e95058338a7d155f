package kafka

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/valyala/fastjson"

	"github.com/erpflow/erpflow/pipeline/record"
)

// LineError is a line of an NDJSON file that cannot be routed.
type LineError struct {
	File   string
	Line   int
	Reason string
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason) }

// Route says where a canonical record line goes: its kind's topic, keyed by
// its company. It reads only those two keys; the pipeline checks the rest.
func Route(p *fastjson.Parser, line []byte, topicFor func(record.Kind) string) (topic string, key []byte, err error) {
	_, topic, key, _, err = route(p, line, topicFor)
	return topic, key, err
}

// route also returns the record's event_time as written (nil if absent),
// for the HeaderEventTime header.
func route(p *fastjson.Parser, line []byte, topicFor func(record.Kind) string) (k record.Kind, topic string, key, eventTime []byte, err error) {
	v, err := p.ParseBytes(line)
	if err != nil {
		return 0, "", nil, nil, fmt.Errorf("not JSON: %v", err)
	}
	kind := string(v.GetStringBytes("kind"))
	k, ok := record.ParseKind(kind)
	if !ok {
		return 0, "", nil, nil, fmt.Errorf("kind %q is not a record kind", kind)
	}
	company := v.GetStringBytes("company")
	if len(company) == 0 {
		return 0, "", nil, nil, errors.New("no company, which is the record's key")
	}
	if et := v.GetStringBytes("event_time"); len(et) > 0 {
		eventTime = append([]byte(nil), et...)
	}
	return k, topicFor(k), append([]byte(nil), company...), eventTime, nil
}

// ProduceOptions controls ProduceFile.
type ProduceOptions struct {
	// Topic, when set, receives every line verbatim, unread and unkeyed
	// unless readable, so that hostile input can be tried on the pipeline.
	Topic    string
	TopicFor func(record.Kind) string
	// KeyFor, with Topic, gives each verbatim line its key (a raw source's
	// company code); nil keys readable lines by their "company" key.
	KeyFor func(line []byte) []byte
	// TimeFor, with Topic, reads a verbatim line's event time for the
	// HeaderEventTime header; nil or false sends the line without one.
	TimeFor func(line []byte) (time.Time, bool)
	// Keep, in canonical mode, sends only records of the kinds it accepts.
	Keep     func(record.Kind) bool
	Chunk    int              // messages per write; default 10000
	Progress func(sent int64) // called after each chunk
	Open     func(string) (io.ReadCloser, error)
}

// ProduceFile sends an NDJSON file. Canonical mode checks every line first
// and refuses the whole file, naming the line, if one cannot be routed:
// half a file in the topic is worse than none. It returns the count sent.
func ProduceFile(ctx context.Context, w *kafkago.Writer, path string, opt ProduceOptions) (int64, error) {
	if opt.Chunk <= 0 {
		opt.Chunk = 10000
	}
	if opt.Open == nil {
		opt.Open = func(p string) (io.ReadCloser, error) { return os.Open(p) }
	}
	if opt.Topic == "" {
		if err := eachLine(opt.Open, path, func(n int, line []byte, p *fastjson.Parser) error {
			if len(bytes.TrimSpace(line)) == 0 {
				return nil
			}
			if _, _, err := Route(p, line, opt.TopicFor); err != nil {
				return &LineError{File: path, Line: n, Reason: err.Error()}
			}
			return nil
		}); err != nil {
			return 0, err
		}
	}
	var sent int64
	batch := make([]kafkago.Message, 0, opt.Chunk)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := w.WriteMessages(ctx, batch...); err != nil {
			return fmt.Errorf("produce %s: after %d messages: %w", path, sent, Summarize(err))
		}
		sent += int64(len(batch))
		batch = batch[:0]
		if opt.Progress != nil {
			opt.Progress(sent)
		}
		return nil
	}
	err := eachLine(opt.Open, path, func(n int, line []byte, p *fastjson.Parser) error {
		m := kafkago.Message{Value: append([]byte(nil), line...)}
		if opt.Topic != "" {
			m.Topic = opt.Topic
			// Key readable lines by company so they land where the real
			// record would; anything else goes unkeyed.
			if opt.KeyFor != nil {
				m.Key = opt.KeyFor(line)
			} else if v, err := p.ParseBytes(line); err == nil {
				if c := v.GetStringBytes("company"); len(c) > 0 {
					m.Key = append([]byte(nil), c...)
				}
			}
			if opt.TimeFor != nil {
				if t, ok := opt.TimeFor(line); ok {
					m.Headers = []kafkago.Header{{Key: HeaderEventTime, Value: []byte(t.UTC().Format(time.RFC3339Nano))}}
				}
			}
		} else {
			if len(bytes.TrimSpace(line)) == 0 {
				return nil
			}
			k, topic, key, eventTime, err := route(p, line, opt.TopicFor)
			if err != nil {
				return &LineError{File: path, Line: n, Reason: err.Error()}
			}
			if opt.Keep != nil && !opt.Keep(k) {
				return nil
			}
			m.Topic, m.Key = topic, key
			if eventTime != nil {
				m.Headers = []kafkago.Header{{Key: HeaderEventTime, Value: eventTime}}
			}
		}
		batch = append(batch, m)
		if len(batch) == opt.Chunk {
			return flush()
		}
		return nil
	})
	if err != nil {
		return sent, err
	}
	return sent, flush()
}

// eachLine calls f for every line (1-based numbers, blank ones included),
// without a line-length limit: a 1 MiB record is unusual, not an error of
// the file.
func eachLine(open func(string) (io.ReadCloser, error), path string, f func(n int, line []byte, p *fastjson.Parser) error) error {
	rc, err := open(path)
	if err != nil {
		return err
	}
	defer rc.Close()
	r := bufio.NewReaderSize(rc, 1<<20)
	var p fastjson.Parser
	var long []byte
	for n := 1; ; n++ {
		chunk, err := r.ReadSlice('\n')
		line := chunk
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], chunk...)
			for errors.Is(err, bufio.ErrBufferFull) {
				chunk, err = r.ReadSlice('\n')
				long = append(long, chunk...)
			}
			line = long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read %s line %d: %w", path, n, err)
		}
		if len(line) > 0 && line[len(line)-1] == '\n' {
			line = line[:len(line)-1]
		}
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if errors.Is(err, io.EOF) && len(line) == 0 {
			return nil // nothing after the last newline
		}
		if ferr := f(n, line, &p); ferr != nil {
			return ferr
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}
