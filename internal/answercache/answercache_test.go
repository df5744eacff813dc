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
	return buildAt(c, key, answercache.Version{}, deps, body)
}

// buildAt is build at version: deps is what the data says now.
func buildAt(c *answercache.Cache, key string, version answercache.Version, deps []uint64, body string) (*httptest.ResponseRecorder, bool) {
	w := httptest.NewRecorder()
	w.Header().Set("Request-Id", "set-before")
	if c.Serve(w, key, version, func() []uint64 { return deps }) {
		return w, true
	}
	rec := c.Record(w, key, version, deps)
	rec.Header().Set("Content-Type", "application/json")
	rec.Header().Set("Request-Id", "set-before") // unchanged: not the handler's
	rec.WriteHeader(http.StatusOK)
	_, _ = rec.Write([]byte(body[:len(body)/2]))
	_, _ = rec.Write([]byte(body[len(body)/2:]))
	rec.Done()
	return w, false
}

// At the version it was kept or checked at, an answer is served without
// its dependencies being read; at another, only while they are equal.
func TestServeAtVersion(t *testing.T) {
	c := answercache.New(1 << 20)
	v1, v2, v3 := answercache.Version{1, 1}, answercache.Version{1, 2}, answercache.Version{1, 3}
	buildAt(c, "k", v1, []uint64{7}, "first")
	read := 0
	serve := func(v answercache.Version, deps []uint64) string {
		w := httptest.NewRecorder()
		if !c.Serve(w, "k", v, func() []uint64 { read++; return deps }) {
			return ""
		}
		return w.Body.String()
	}
	if got := serve(v1, []uint64{99}); got != "first" || read != 0 {
		t.Errorf("at its version: %q, deps read %d times", got, read)
	}
	if got := serve(v2, []uint64{7}); got != "first" || read != 1 {
		t.Errorf("at a version with the same deps: %q, deps read %d times", got, read)
	}
	if got := serve(v2, []uint64{99}); got != "first" || read != 1 {
		t.Errorf("at the version it was checked at: %q, deps read %d times", got, read)
	}
	if got := serve(v3, []uint64{8}); got != "" || read != 2 {
		t.Errorf("at a version with other deps: %q, deps read %d times", got, read)
	}
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
	// The data moved on (another version) and the answer's deps changed.
	if w, hit := buildAt(c, "k", answercache.Version{0, 1}, []uint64{1, 3}, "second"); hit || w.Body.String() != "second" {
		t.Fatalf("stale deps: hit %v, %q", hit, w.Body)
	}
	if w, hit := buildAt(c, "k", answercache.Version{0, 2}, []uint64{1, 3}, "x"); !hit || w.Body.String() != "second" {
		t.Fatalf("replaced: hit %v, %q", hit, w.Body)
	}
	if _, hit := buildAt(c, "k2", answercache.Version{0, 2}, []uint64{1, 3}, "x"); hit {
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
	rec := c.Record(failingWriter{httptest.NewRecorder()}, "k", answercache.Version{}, nil)
	_, _ = rec.Write([]byte("cut"))
	rec.Done()
	rec = c.Record(httptest.NewRecorder(), "k2", answercache.Version{}, nil)
	rec.WriteHeader(http.StatusNotFound)
	_, _ = rec.Write([]byte("nf"))
	rec.Done()
	if st := c.Stats(); st.Entries != 0 {
		t.Errorf("%d entries kept", st.Entries)
	}
	var none *answercache.Cache
	if none.Serve(httptest.NewRecorder(), "k", answercache.Version{}, nil) {
		t.Error("a nil cache served")
	}
	w := httptest.NewRecorder()
	rec = none.Record(w, "k", answercache.Version{}, nil)
	_, _ = rec.Write([]byte("through"))
	rec.Done()
	if w.Body.String() != "through" {
		t.Errorf("a nil cache's recorder wrote %q", w.Body)
	}
}

// An answer kept with an expiry is written before it, at any version its
// dependencies allow, and never from then on.
func TestUntil(t *testing.T) {
	c := answercache.New(1 << 20)
	v := answercache.Version{1, 1}
	rec := c.Record(httptest.NewRecorder(), "k", v, []uint64{7})
	rec.Until(200)
	rec.Until(0)   // no bound: the earlier one holds
	rec.Until(300) // later: the earlier one holds
	_, _ = rec.Write([]byte("listed"))
	rec.Done()
	serve := func(v answercache.Version, now int64) string {
		w := httptest.NewRecorder()
		if !c.ServeAt(w, "k", v, now, func() []uint64 { return []uint64{7} }) {
			return ""
		}
		return w.Body.String()
	}
	if got := serve(v, 199); got != "listed" {
		t.Errorf("before its expiry: %q", got)
	}
	if got := serve(answercache.Version{1, 2}, 199); got != "listed" {
		t.Errorf("before its expiry, at a version of the same deps: %q", got)
	}
	for _, now := range []int64{200, 10_000} {
		if got := serve(v, now); got != "" {
			t.Errorf("at %d, from its expiry of 200 on: %q", now, got)
		}
	}
	// By the system clock: kept until a time already past.
	rec = c.Record(httptest.NewRecorder(), "past", v, nil)
	rec.Until(1)
	_, _ = rec.Write([]byte("gone"))
	rec.Done()
	if c.Serve(httptest.NewRecorder(), "past", v, func() []uint64 { return nil }) {
		t.Error("an answer kept until 1970 was served")
	}
	if c.Stats().Entries != 2 {
		t.Errorf("entries %+v", c.Stats())
	}
}

// Admit admits a key asked before (noted by an earlier Admit, or with an
// answer kept), and notes a new one; a nil cache admits nothing.
func TestAdmit(t *testing.T) {
	c := answercache.New(1 << 20)
	if c.Admit("poll-a") {
		t.Error("a new key was admitted")
	}
	if !c.Admit("poll-a") {
		t.Error("a key asked before was not admitted")
	}
	if c.Admit("poll-b") {
		t.Error("another new key was admitted")
	}
	build(c, "kept", nil, "body")
	if !c.Admit("kept") {
		t.Error("the key of a kept answer was not admitted")
	}
	var none *answercache.Cache
	first := none.Admit("poll-c")
	if second := none.Admit("poll-c"); first || second {
		t.Error("a nil cache admitted a key")
	}
}
