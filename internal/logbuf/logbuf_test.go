package logbuf

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	return l.b.Write(p)
}

func (l *lockedBuffer) String() (string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String(), l.writes
}

// Lines written by many goroutines come out whole, in far fewer writes,
// and Close writes the rest.
func TestWholeLinesFewerWrites(t *testing.T) {
	var out lockedBuffer
	w := New(&out, 4096, time.Hour)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				fmt.Fprintf(w, "goroutine=%d line=%d %s\n", g, i, strings.Repeat("x", i%50))
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, writes := out.String()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 4000 {
		t.Fatalf("%d lines, want 4000", len(lines))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "goroutine=") || strings.Count(l, "line=") != 1 {
			t.Fatalf("torn line %q", l)
		}
	}
	if writes > 4000/10 {
		t.Errorf("%d writes for 4000 lines", writes)
	}
	// After Close, writes go straight through.
	fmt.Fprintln(w, "late")
	if got, _ := out.String(); !strings.HasSuffix(got, "late\n") {
		t.Error("a write after Close was held back")
	}
}

// A line waits at most one interval.
func TestFlushedEveryInterval(t *testing.T) {
	var out lockedBuffer
	w := New(&out, 1<<20, 10*time.Millisecond)
	defer w.Close()
	fmt.Fprintln(w, "hello")
	for range 500 {
		if got, _ := out.String(); got == "hello\n" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the line was never written")
}
