// Package logbuf buffers a log's writes: a busy server writes one access
// log line per request, and a write(2) each costs more than the rest of the
// line. A Writer collects whole lines and writes them out when its buffer
// fills or, at the latest, every flush interval; Close writes what is left.
package logbuf

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/openatp/openatp/internal/lifetime"
)

// Writer is a buffered io.Writer for log lines, safe for concurrent use.
// Its flushing goroutine is started by New and stopped by Close.
type Writer struct {
	out io.Writer
	max int
	mu  sync.Mutex
	buf []byte
	bg  *lifetime.Group // the flushing goroutine
}

// New returns a Writer on out that holds up to size bytes and writes them
// at least every interval.
func New(out io.Writer, size int, interval time.Duration) *Writer {
	w := &Writer{out: out, max: size, buf: make([]byte, 0, size), bg: lifetime.New(context.Background())}
	w.bg.Go(func(ctx context.Context) error { w.run(ctx, interval); return nil })
	return w
}

func (w *Writer) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Flush()
		}
	}
}

// Write adds p (one or more whole lines, as a log handler writes them) to
// the buffer, writing the buffer out first if p does not fit. It never
// keeps p.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf)+len(p) > w.max {
		if err := w.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > w.max {
			return w.out.Write(p)
		}
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// Flush writes the buffer out now.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

func (w *Writer) flushLocked() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.out.Write(w.buf)
	w.buf = w.buf[:0]
	return err
}

// Close stops the flushing goroutine, waits for it, and writes what is
// left. The Writer may still be written to after Close; it then writes
// through at once.
func (w *Writer) Close() error {
	_ = w.bg.Close() // the flushing goroutine returns no error
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.flushLocked()
	w.max = 0 // from now on every write goes straight out
	return err
}
