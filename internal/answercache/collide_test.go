package answercache

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Two keys of one hash never answer for each other: the one kept last
// replaces the other, which is then a miss, and the sizes stay exact.
func TestHashCollision(t *testing.T) {
	c := New(1 << 20)
	c.hashOf = func(string) uint64 { return 42 }
	keep := func(key, body string) {
		rec := c.Record(httptest.NewRecorder(), key, Version{1, 1}, nil)
		rec.WriteHeader(http.StatusOK)
		_, _ = rec.Write([]byte(body))
		rec.Done()
	}
	serve := func(key string) string {
		w := httptest.NewRecorder()
		if !c.Serve(w, key, Version{1, 1}, func() []uint64 { return nil }) {
			return "(miss)"
		}
		return w.Body.String()
	}
	keep("a", "answer of a")
	if got := serve("b"); got != "(miss)" {
		t.Errorf("b, of a's hash, got %q", got)
	}
	keep("b", "answer of b")
	if got, gotA := serve("b"), serve("a"); got != "answer of b" || gotA != "(miss)" {
		t.Errorf("after b was kept: b %q, a %q", got, gotA)
	}
	st := c.Stats()
	want := (&entry{key: "b", body: []byte("answer of b")}).size()
	if st.Entries != 1 || st.Bytes != want || st.Hits != 1 || st.Misses != 2 {
		t.Errorf("stats %+v, want 1 entry of %d bytes, 1 hit, 2 misses", st, want)
	}
}
