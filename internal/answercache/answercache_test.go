package answercache_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openatp/openatp/internal/answercache"
)

// build answers key through c (a kept answer, or one built with body) and
// returns what the client got and whether it was kept.
func build(c *answercache.Cache, key string, deps []uint64, body string) (*httptest.ResponseRecorder, bool) {
	w := httptest.NewRecorder()
	w.Header().Set("Request-Id", "set-before")
	if c.Serve(w, key, deps) {
		return w, true
	}
	rec := c.Record(w, key, deps)
	rec.Header().Set("Content-Type", "application/json")
	rec.Header().Set("Request-Id", "set-before") // unchanged: not the handler's
	rec.WriteHeader(http.StatusOK)
	_, _ = rec.Write([]byte(body[:len(body)/2]))
	_, _ = rec.Write([]byte(body[len(body)/2:]))
	rec.Done()
	return w, false
}

func TestServeWhileDepsEqual(t *testing.T) {
	c := answercache.New(1 << 20)
	if _, hit := build(c, "k", []uint64{1, 2}, "first"); hit {
		t.Fatal("hit on an empty cache")
	}
	w, hit := build(c, "k", []uint64{1, 2}, "other")
	if !hit || w.Body.String() != "first" || w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("kept: %v %d %q %v", hit, w.Code, w.Body, w.Header())
	}
	if w, hit := build(c, "k", []uint64{1, 3}, "second"); hit || w.Body.String() != "second" {
		t.Fatalf("stale deps: hit %v, %q", hit, w.Body)
	}
	if w, hit := build(c, "k", []uint64{1, 3}, "x"); !hit || w.Body.String() != "second" {
		t.Fatalf("replaced: hit %v, %q", hit, w.Body)
	}
	if _, hit := build(c, "k2", []uint64{1, 3}, "x"); hit {
		t.Fatal("another key hit")
	}
	if st := c.Stats(); st.Hits != 2 || st.Misses != 3 || st.Entries != 2 {
		t.Errorf("stats %+v", st)
	}
}

// The cache stays within its memory, least recently used out first, and
// keeps no answer larger than an eighth of it.
func TestBounded(t *testing.T) {
	const max = 64 << 10
	c := answercache.New(max)
	body := strings.Repeat("x", 1000)
	for i := range 1000 {
		build(c, "key"+string(rune('a'+i%26))+strings.Repeat("k", i), nil, body)
	}
	st := c.Stats()
	if st.Bytes > max || st.Evictions == 0 || st.Entries == 0 {
		t.Errorf("after 1000 answers: %+v", st)
	}
	build(c, "big", nil, strings.Repeat("y", max/8+1))
	if _, hit := build(c, "big", nil, "z"); hit {
		t.Error("an answer over an eighth of the budget was kept")
	}
}

type failingWriter struct{ *httptest.ResponseRecorder }

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("gone") }

// An answer whose write failed, or that is not a 200, is not kept.
func TestNotKept(t *testing.T) {
	c := answercache.New(1 << 20)
	rec := c.Record(failingWriter{httptest.NewRecorder()}, "k", nil)
	_, _ = rec.Write([]byte("cut"))
	rec.Done()
	rec = c.Record(httptest.NewRecorder(), "k2", nil)
	rec.WriteHeader(http.StatusNotFound)
	_, _ = rec.Write([]byte("nf"))
	rec.Done()
	if st := c.Stats(); st.Entries != 0 {
		t.Errorf("%d entries kept", st.Entries)
	}
	var none *answercache.Cache
	if none.Serve(httptest.NewRecorder(), "k", nil) {
		t.Error("a nil cache served")
	}
	w := httptest.NewRecorder()
	rec = none.Record(w, "k", nil)
	_, _ = rec.Write([]byte("through"))
	rec.Done()
	if w.Body.String() != "through" {
		t.Errorf("a nil cache's recorder wrote %q", w.Body)
	}
}
