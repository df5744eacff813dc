package fault_test

import (
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/fault"
)

func rule(t *testing.T, js string) fault.Rule {
	t.Helper()
	var r fault.Rule
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// sequence is which of n requests the set faults, and with what delay.
func sequence(s *fault.Set, q fault.Request, n int) string {
	var b strings.Builder
	for range n {
		d, ok := s.Decide(q)
		switch {
		case !ok:
			b.WriteByte('.')
		default:
			b.WriteString(d.Rule.ID + ":" + d.Delay.String() + " ")
		}
	}
	return b.String()
}

// A rule's draws depend only on its seed and the requests it matches: the
// same with another rule before it, or with requests it does not match in
// between.
func TestDecideDeterministic(t *testing.T) {
	q := fault.Request{Method: "GET", Path: "/api/machines", Tenant: "t", App: "a"}
	s := fault.NewSet(nil)
	if _, err := s.Add(rule(t, `{"id":"b","route":"GET /api/machines","kind":"latency","probability":0.5,"seed":9,"delay":"1ms","delay_max":"9ms"}`)); err != nil {
		t.Fatal(err)
	}
	alone := sequence(s, q, 200)

	s2 := fault.NewSet(nil)
	_, _ = s2.Add(rule(t, `{"id":"a","kind":"error","status":503,"probability":0.3,"seed":1,"app":"other"}`))
	_, _ = s2.Add(rule(t, `{"id":"b","route":"GET /api/machines","kind":"latency","probability":0.5,"seed":9,"delay":"1ms","delay_max":"9ms"}`))
	var b strings.Builder
	for range 200 {
		b.WriteString(sequence(s2, q, 1))
		_ = sequence(s2, fault.Request{Method: "POST", Path: "/api/machines", App: "other"}, 1) // only a matches
	}
	if b.String() != alone {
		t.Errorf("rule b's sequence changed beside rule a:\n%s\n%s", alone, b.String())
	}
	if !strings.Contains(alone, "b:") || !strings.Contains(alone, ".") {
		t.Errorf("p=0.5 gave %s", alone)
	}
}

// The first rule that applies wins; the others still draw but count no hit.
func TestDecideFirstWins(t *testing.T) {
	s := fault.NewSet(nil)
	_, _ = s.Add(rule(t, `{"id":"one","kind":"reset","max_hits":3}`))
	_, _ = s.Add(rule(t, `{"id":"two","kind":"reset"}`))
	got := sequence(s, fault.Request{Method: "GET", Path: "/api/x"}, 5)
	if got != "one:0s one:0s one:0s two:0s two:0s " {
		t.Errorf("got %q", got)
	}
	for _, r := range s.List() {
		if want := map[string]int64{"one": 3, "two": 2}[r.ID]; r.Hits != want {
			t.Errorf("%s: %d hits, want %d", r.ID, r.Hits, want)
		}
	}
}

// max_hits is exact under concurrent requests.
func TestMaxHitsConcurrent(t *testing.T) {
	s := fault.NewSet(nil)
	_, _ = s.Add(rule(t, `{"kind":"reset","max_hits":100}`))
	var n atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if _, ok := s.Decide(fault.Request{Method: "GET", Path: "/api/machines"}); ok {
					n.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n.Load() != 100 {
		t.Errorf("%d faults, want max_hits 100", n.Load())
	}
	if r := s.List()[0]; r.Hits != 100 || r.Active {
		t.Errorf("%+v", r)
	}
}

// A rule expires at its time.
func TestExpires(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := fault.NewSet(func() time.Time { return now })
	_, _ = s.Add(rule(t, `{"kind":"reset","expires":"2026-01-01T00:01:00Z"}`))
	if _, ok := s.Decide(fault.Request{Method: "GET", Path: "/api/machines"}); !ok {
		t.Error("did not apply before expiring")
	}
	now = now.Add(time.Minute)
	if _, ok := s.Decide(fault.Request{Method: "GET", Path: "/api/machines"}); ok {
		t.Error("applied at its expiry")
	}
	if s.List()[0].Active {
		t.Error("listed active")
	}
}

// Matching: tenant exactly, app and user ignoring case, the route with
// the route that answers.
func TestMatch(t *testing.T) {
	s := fault.NewSet(nil)
	_, _ = s.Add(rule(t, `{"kind":"reset","tenant":"T","app":"App","user":"alice@x","route":"GET /api/machines/{id}"}`))
	routeOf := func(p string) func() string { return func() string { return p } }
	base := fault.Request{Method: "GET", Path: "/api/v1.0/machines/m1", RouteOf: routeOf("GET /api/v1.0/machines/{id}"), Tenant: "T", App: "APP", User: "ALICE@x"}
	if _, ok := s.Decide(base); !ok {
		t.Error("no match")
	}
	for name, change := range map[string]func(*fault.Request){
		"tenant": func(q *fault.Request) { q.Tenant = "t" },
		"app":    func(q *fault.Request) { q.App = "other" },
		"user":   func(q *fault.Request) { q.User = "" },
		"method": func(q *fault.Request) { q.Method = "PATCH" },
		"path":   func(q *fault.Request) { q.Path = "/api/machines/m1/tags" },
		"route": func(q *fault.Request) {
			q.Path, q.RouteOf = "/api/machines/findbytag", routeOf("GET /api/machines/findbytag")
		},
	} {
		q := base
		change(&q)
		if _, ok := s.Decide(q); ok {
			t.Errorf("matched with another %s", name)
		}
	}
	// The route is asked once, and only of a rule with a {name} whose path matched.
	asked := 0
	q := base
	q.RouteOf = func() string { asked++; return "GET /api/machines/{id}" }
	_, _ = s.Add(rule(t, `{"kind":"reset","route":"/api/machines/{x}","app":"nobody"}`))
	_, _ = s.Add(rule(t, `{"kind":"reset","route":"/api/machines/{x}","probability":0}`))
	_, _ = s.Add(rule(t, `{"kind":"reset","route":"/api/users/{x}/machines"}`))
	s.Decide(q)
	if asked != 1 {
		t.Errorf("the route was asked %d times, want 1", asked)
	}
}

// A rule's JSON reads back as the same rule; defaults are filled in.
func TestRuleJSON(t *testing.T) {
	s := fault.NewSet(nil)
	r, err := s.Add(rule(t, `{"id":"x","route":"GET /api/machines","kind":"error","status":429,"delay":"1.5s","delay_max":"2s","max_hits":4,"expires":"2030-01-02T03:04:05Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	var back fault.Rule
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if back.Probability != 1 || back.RetryAfter != fault.DefaultRetryAfter || back.Delay != 1500*time.Millisecond ||
		back.DelayMax != 2*time.Second || back.Route.String() != "GET /api/machines" || back.Seed != r.Seed || back.MaxHits != 4 ||
		!back.Expires.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("%s read back as %+v", b, back)
	}
	for _, bad := range []string{`{"kind":"reset","x":1}`, `{"kind":"reset","delay":"1 s"}`, `{"kind":"reset","route":"x"}`, `{"kind":"reset","expires":"tomorrow"}`, `[]`} {
		var r fault.Rule
		if err := json.Unmarshal([]byte(bad), &r); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	for _, bad := range []string{
		`{"kind":"error","status":99}`, `{"kind":"error","status":600}`, `{"kind":"reset","status":503}`,
		`{"kind":"latency","delay":"2s","delay_max":"1s"}`, `{"kind":"latency","delay":"2h"}`, `{"kind":"reset","max_hits":-1}`,
		`{"kind":"truncate","truncate_after":-1}`, `{"kind":"reset","id":"a/b"}`, `{"kind":"error","status":503,"retry_after":-2}`,
	} {
		if _, err := s.Add(rule(t, bad)); !openatp.IsKind(err, openatp.Invalid) {
			t.Errorf("%s: %v, want Invalid", bad, err)
		}
	}
	if _, err := s.Add(rule(t, `{"id":"x","kind":"reset"}`)); !openatp.IsKind(err, openatp.Conflict) {
		t.Errorf("a second x: %v", err)
	}
	var z fault.Rule
	_ = json.Unmarshal([]byte(`{"kind":"reset"}`), &z)
	if !z.Route.IsZero() {
		t.Error("an absent route is not the zero pattern")
	}
}
