package journal_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/openatp/openatp/internal/route"
	"github.com/openatp/openatp/journal"
)

func entry(i int) journal.Entry {
	return journal.Entry{
		Time: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), App: fmt.Sprintf("app-%d", i%2), Method: "GET",
		Path: fmt.Sprintf("/api/machines/%d", i), Status: 200 + 200*(i%3), RequestID: fmt.Sprint("req-", i),
	}
}

// The ring keeps the newest entries up to its size, oldest first, with
// sequence numbers that go on across wrapping and clearing; tenants are
// apart.
func TestRing(t *testing.T) {
	j := journal.New(5)
	for i := range 12 {
		j.Add("t1", entry(i))
	}
	j.Add("t2", entry(100))
	j.Add("", entry(101)) // no tenant: not kept
	got := j.Entries("t1", journal.Filter{})
	if len(got) != 5 {
		t.Fatalf("%d entries, want the bound 5", len(got))
	}
	for k, e := range got {
		if want := uint64(8 + k); e.Seq != want || e.RequestID != fmt.Sprint("req-", want-1) {
			t.Errorf("entry %d: seq %d %s, want seq %d", k, e.Seq, e.RequestID, want)
		}
	}
	if n := j.Count("t2", journal.Filter{}); n != 1 {
		t.Errorf("t2 holds %d entries, want 1", n)
	}
	if n := j.Count("", journal.Filter{}); n != 0 {
		t.Errorf("no tenant holds %d entries, want 0", n)
	}
	j.Clear("t1")
	if n := j.Count("t1", journal.Filter{}); n != 0 {
		t.Errorf("%d entries after Clear", n)
	}
	j.Add("t1", entry(12))
	if got := j.Entries("t1", journal.Filter{}); len(got) != 1 || got[0].Seq != 13 {
		t.Errorf("after Clear: %+v, want one entry with seq 13", got)
	}
	if n := j.Count("t2", journal.Filter{}); n != 1 {
		t.Errorf("clearing t1 changed t2: %d entries", n)
	}

	var none *journal.Journal = journal.New(0)
	none.Add("t1", entry(1))
	if none.Entries("t1", journal.Filter{}) == nil || none.Count("t1", journal.Filter{}) != 0 || none.Size() != 0 {
		t.Error("a journal of size 0 keeps something")
	}
}

// The ring stays within its bound under concurrent writers, every entry
// whole and every sequence number used once.
func TestRingConcurrent(t *testing.T) {
	j := journal.New(100)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				j.Add("t", entry(w*1000+i))
			}
		})
	}
	wg.Go(func() {
		for range 200 {
			if n := j.Count("t", journal.Filter{}); n > 100 {
				t.Errorf("%d entries, beyond the bound", n)
			}
		}
	})
	wg.Wait()
	got := j.Entries("t", journal.Filter{})
	if len(got) != 100 {
		t.Fatalf("%d entries, want 100", len(got))
	}
	for k, e := range got {
		if e.Seq != uint64(3901+k) {
			t.Fatalf("entry %d has seq %d, want %d", k, e.Seq, 3901+k)
		}
	}
}

func TestFilter(t *testing.T) {
	j := journal.New(100)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(e journal.Entry) { j.Add("t", e) }
	add(journal.Entry{Time: base, App: "A", Method: "GET", Path: "/api/machines", Status: 200, RequestID: "r1"})
	add(journal.Entry{Time: base.Add(time.Second), App: "B", Method: "GET", Path: "/api/v1.0/machines/x", Status: 404, RequestID: "r2"})
	add(journal.Entry{Time: base.Add(2 * time.Second), App: "A", User: "alice@contoso.com", Method: "POST", Path: "/api/machines/x/tags", Status: 429, RequestID: "r3", Fault: "f1", FaultKind: "error"})
	add(journal.Entry{Time: base.Add(3 * time.Second), App: "a", Method: "GET", Path: "/api/users/u/machines", Status: 503, RequestID: "r4", Fault: "f2", FaultKind: "error"})
	ids := func(f journal.Filter) string {
		var s []string
		for _, e := range j.Entries("t", f) {
			s = append(s, e.RequestID)
		}
		if n := j.Count("t", f); f.Limit == 0 && n != len(s) {
			t.Errorf("Count %d, Entries %d", n, len(s))
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct {
		name string
		f    journal.Filter
		want string
	}{
		{"all", journal.Filter{}, "r1,r2,r3,r4"},
		{"app ignoring case", journal.Filter{App: "a"}, "r1,r3,r4"},
		{"user", journal.Filter{User: "ALICE@contoso.com"}, "r3"},
		{"status", journal.Filter{Status: 404}, "r2"},
		{"status class", journal.Filter{Status: 5}, "r4"},
		{"status class 4xx", journal.Filter{Status: 4}, "r2,r3"},
		{"since", journal.Filter{Since: base.Add(2 * time.Second)}, "r3,r4"},
		{"request id", journal.Filter{RequestID: "R2"}, "r2"},
		{"any fault", journal.Filter{Fault: "*"}, "r3,r4"},
		{"no fault", journal.Filter{Fault: "-"}, "r1,r2"},
		{"one rule", journal.Filter{Fault: "f2"}, "r4"},
		{"route", journal.Filter{Route: route.MustParse("GET /api/machines/{id}")}, "r2"},
		{"route any method", journal.Filter{Route: route.MustParse("/api/machines/{id}/tags")}, "r3"},
		{"after", journal.Filter{After: 2}, "r3,r4"},
		{"limit", journal.Filter{Limit: 2}, "r3,r4"},
		{"combined", journal.Filter{App: "A", Status: 4, Fault: "*"}, "r3"},
	} {
		if got := ids(tc.f); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// Add redacts the path and query it is given.
func TestAddRedacts(t *testing.T) {
	j := journal.New(10)
	jwt := "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0aWQiOiJ4In0.c2lnbmF0dXJl"
	secret := "aB3-_xYz0123456789aB3-_xYz0123456789aB3-"
	j.Add("t", journal.Entry{Method: "GET", Path: "/api/users/" + jwt + "/machines", Query: "client_secret=" + secret + "&x=" + secret + "&t=" + jwt})
	e := j.Entries("t", journal.Filter{})[0]
	if e.Path != "/api/users/REDACTED/machines" || e.Query != "client_secret=REDACTED&x=REDACTED&t=REDACTED" {
		t.Errorf("kept %q %q", e.Path, e.Query)
	}
}

func TestRedact(t *testing.T) {
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.sig-_sig"
	for _, tc := range []struct{ in, want string }{
		{"/api/machines", "/api/machines"},
		{"/api/machines/" + strings.Repeat("ab12", 10), "/api/machines/" + strings.Repeat("ab12", 10)}, // a machine id
		{"/api/machines/0b3e1f2a-4b5c-4d6e-8f90-a1b2c3d4e5f6", "/api/machines/0b3e1f2a-4b5c-4d6e-8f90-a1b2c3d4e5f6"},
		{"/api/users/" + strings.Repeat("Ab", 20) + "/machines", "/api/users/REDACTED/machines"},
		{"/api/users/" + strings.Repeat("Ab", 19) + "/machines", "/api/users/" + strings.Repeat("Ab", 19) + "/machines"},
		{"/api/machines/host." + strings.Repeat("Zz", 20) + ".com", "/api/machines/host.REDACTED.com"},
		{"/api/machines/" + jwt, "/api/machines/REDACTED"},
		{"/api/machines/%27" + jwt + "%27", "/api/machines/%REDACTED%27"},
		{"/api/users/eyJames.contoso/machines", "/api/users/eyJames.contoso/machines"},   // too short for a token
		{strings.Repeat("Ab", 20), "REDACTED"},                                           // a secret and nothing else
		{strings.Repeat("Ab", 19) + "A", strings.Repeat("Ab", 19) + "A"},                 // one character short
		{"/" + strings.Repeat("ab12", 9) + "Zz", "/" + strings.Repeat("ab12", 9) + "Zz"}, // 38: too short
		{"/" + strings.Repeat("ab12", 9) + "Zz9a", "/REDACTED"},                          // 40 with a non-hex character
	} {
		if got := journal.RedactPath(tc.in); got != tc.want {
			t.Errorf("RedactPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"$top=10&$filter=id%20eq%20%27x%27", "$top=10&$filter=id%20eq%20%27x%27"},
		{"access_token=abc&Password=p&code&key=", "access_token=REDACTED&Password=REDACTED&code&key=REDACTED"},
		{"client%5Fsecret=s", "client%5Fsecret=REDACTED"},
		{"$filter=computerDnsName%20eq%20%27" + jwt + "%27", "$filter=computerDnsName%20eq%20%REDACTED%27"},
		{"$top=1&x=1&sig=s&y=2", "$top=1&x=1&sig=REDACTED&y=2"},                                    // a secret after parts kept
		{"$top=1&" + strings.Repeat("Ab", 20), "$top=1&REDACTED"},                                  // a secret-shaped part with no value
		{"a=" + strings.Repeat("ab12", 10) + "&code", "a=" + strings.Repeat("ab12", 10) + "&code"}, // a hex id; a key without value
		{"api+key=k&%zz=v&KEY=v", "api+key=k&%zz=v&KEY=REDACTED"},                                  // "api key" is not a secret name; a bad escape is kept
		{"&&=&", "&&=&"},
	} {
		if got := journal.RedactQuery(tc.in); got != tc.want {
			t.Errorf("RedactQuery(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A query string with nothing to redact is returned as it is, without a
// copy: the access log and the journal check every request's.
func TestRedactQueryKeeps(t *testing.T) {
	q := "$filter=computerDnsName%20eq%20%27host-1.contoso.com%27&$top=100&$skip=0"
	var got string
	if n := testing.AllocsPerRun(100, func() { got = journal.RedactQuery(q) }); n != 0 || got != q {
		t.Errorf("RedactQuery(%q) = %q with %v allocations, want it as it is and none", q, got, n)
	}
}

// EntryBytes, the memory the README states per entry, holds for entries
// made as the server makes them: from requests net/http parsed.
func TestEntryMemory(t *testing.T) {
	if s := unsafe.Sizeof(journal.Entry{}); s > 200 {
		t.Errorf("an Entry is %d bytes, the stated figure counts 200", s)
	}
	const n = 5000
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("GET /api/users/user%d/machines?x=%d HTTP/1.1\r\nHost: h\r\n\r\n", rand.IntN(1e6), i)
	}
	j := journal.New(n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i, l := range lines {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(l)))
		if err != nil {
			t.Fatal(err)
		}
		j.Add("t", journal.Entry{Time: time.Now(), App: "00000000-0000-0000-0000-000000000001", Method: r.Method,
			Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Route: "GET /api/users/{id}/machines", Status: 200,
			RequestID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	lines = nil
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("%d bytes per entry", per)
	if per > journal.EntryBytes {
		t.Errorf("%d bytes per entry, more than the stated %d", per, journal.EntryBytes)
	}
	runtime.KeepAlive(j)
}

// BenchmarkAdd is the journal's cost per request: one entry of a typical
// request added to a full ring, by every CPU at once.
func BenchmarkAdd(b *testing.B) {
	j := journal.New(journal.DefaultSize)
	e := journal.Entry{Time: time.Now(), App: "00000000-0000-0000-0000-000000000001", Method: "GET",
		Path: "/api/users/user1234/machines", Route: "GET /api/users/{id}/machines", Status: 200,
		RequestID: "3b1c2d3e-4f5a-4b7c-8d9e-0f1a2b3c4d5e"}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			j.Add("t", e)
		}
	})
}
