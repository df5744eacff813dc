package mdeapi_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
	"github.com/openatp/openatp/readmodel"
	"github.com/openatp/openatp/sqlite"
)

// outage is the fixture's SQLite store, made to fail by the real engine:
// while down, the calls the read model and the machine writes make go to a
// second store on the same file that is closed, and fail as SQLite fails
// then; up again, to the live store.
type outage struct {
	openatp.Store
	dead openatp.Store
	down atomic.Bool
}

func (s *outage) pick() openatp.Store {
	if s.down.Load() {
		return s.dead
	}
	return s.Store
}

func (s *outage) DataVersion(ctx context.Context) (uint64, error) { return s.pick().DataVersion(ctx) }
func (s *outage) ContentVersion(ctx context.Context, tenantID string) (uint64, error) {
	return s.pick().ContentVersion(ctx, tenantID)
}
func (s *outage) Changes(ctx context.Context, tenantID string, since uint64, max int) (openatp.Changes, error) {
	return s.pick().Changes(ctx, tenantID, since, max)
}
func (s *outage) UpdateMachine(ctx context.Context, tenantID, id string, f func(m *openatp.Machine) error) (openatp.Machine, error) {
	return s.pick().UpdateMachine(ctx, tenantID, id, f)
}

// clock is a settable clock for the read model's stale-reads window.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const unavailableBody = `{"error":{"code":"ServiceUnavailable","message":"The service is temporarily unavailable. Retry the request later.","target":"ID"}}`

// wantUnavailable checks that r is the service's own 503: the exact body,
// Retry-After, and no word of the engine anywhere in the answer.
func wantUnavailable(t *testing.T, what string, r apitest.Response) {
	t.Helper()
	id := r.Header.Get("request-id")
	if r.Status != 503 || string(r.Body) != strings.Replace(unavailableBody, "ID", id, 1) || r.Header.Get("Retry-After") != "5" {
		t.Errorf("%s: %d Retry-After %q %s, want 503 Retry-After 5 %s", what, r.Status, r.Header.Get("Retry-After"), r.Body, unavailableBody)
	}
	noDriverText(t, what, r)
}

// noDriverText checks that no header or body of r names the store's
// engine or its error.
func noDriverText(t *testing.T, what string, r apitest.Response) {
	t.Helper()
	var all strings.Builder
	all.Write(r.Body)
	for k, vs := range r.Header {
		all.WriteString(k + ": " + strings.Join(vs, ","))
	}
	for _, word := range []string{"sql", "closed", "database", "driver", "store"} {
		if strings.Contains(strings.ToLower(all.String()), word) {
			t.Errorf("%s: the answer names %q: %v %s", what, word, r.Header, r.Body)
		}
	}
}

// staleFixture is a fixture whose store can be taken down, with a read
// model of the given stale-reads window on a clock the test moves.
func staleFixture(t *testing.T, window time.Duration) (*apitest.Fixture, *outage, *clock, *apitest.LockedBuffer) {
	t.Helper()
	s := &outage{}
	c := &clock{now: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}
	logs := &apitest.LockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	f := apitest.NewFixture(t, func(cfg *apitest.Config) {
		s.Store = cfg.Store
		cfg.Store = s
		cfg.Logger = logger
		cfg.Model = readmodel.New(s, readmodel.Options{StaleReads: window, Now: c.Now, Logger: logger})
		t.Cleanup(func() { cfg.Model.Close() })
	})
	dead, err := sqlite.Open(context.Background(), f.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	dead.Close()
	s.dead = dead
	return f, s, c, logs
}

// TestStaleReads takes the store down under a running server. With a
// 30 s window the reads the read model answers go on, as they were, for
// 30 s after the store last answered, shown in /metrics and logged once;
// writes fail with the service's 503; after the window reads fail so too.
// Once the store answers again, reads are current and writes work, with
// no restart.
func TestStaleReads(t *testing.T) {
	f, s, c, logs := staleFixture(t, 30*time.Second)
	app := f.NewApp(t, f.Tenant, "writer", openatp.PermMachineReadWriteAll, openatp.PermUserReadAll, openatp.PermAlertReadAll)
	tok := f.Token(t, f.Tenant, app)
	reads := []string{"/api/users/Lone.User/machines", "/api/machines", "/api/machines/" + machine1, "/api/alerts"}
	before := map[string]string{}
	for _, p := range reads {
		r := f.Do(t, "GET", p, tok)
		if r.Status != 200 {
			t.Fatalf("GET %s before the outage: %d %s", p, r.Status, r.Body)
		}
		before[p] = string(r.Body)
	}

	s.down.Store(true)
	for _, step := range []time.Duration{0, 10 * time.Second, 19 * time.Second} { // 29 s after the last answer
		c.Add(step)
		for _, p := range reads {
			r := f.Do(t, "GET", p, tok)
			if r.Status != 200 || string(r.Body) != before[p] {
				t.Errorf("GET %s %v into the outage: %d %s, want 200 with the answer of before", p, step, r.Status, r.Body)
			}
		}
	}
	metrics := string(f.Do(t, "GET", "/metrics", "").Body)
	for _, want := range []string{"openatp_index_serving_stale 1", "openatp_index_stale_answers_total 12"} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics during the outage lacks %q:\n%s", want, grep(metrics, "openatp_index"))
		}
	}
	w := f.SendJSON(t, "POST", "/api/machines/"+machine1+"/tags", tok, `{"Value":"during","Action":"Add"}`)
	wantUnavailable(t, "a write during the outage", w)

	c.Add(2 * time.Second) // 31 s
	for _, p := range reads {
		wantUnavailable(t, "GET "+p+" after the window", f.Do(t, "GET", p, tok))
	}
	if m := string(f.Do(t, "GET", "/metrics", "").Body); !strings.Contains(m, "openatp_index_serving_stale 0\n") {
		t.Errorf("/metrics after the window:\n%s", grep(m, "openatp_index"))
	}

	s.down.Store(false)
	w = f.SendJSON(t, "POST", "/api/machines/"+machine1+"/tags", tok, `{"Value":"after","Action":"Add"}`)
	if w.Status != 200 || !strings.Contains(string(w.Body), `"after"`) {
		t.Fatalf("a write after the outage: %d %s", w.Status, w.Body)
	}
	r := f.Do(t, "GET", "/api/machines/"+machine1, tok)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"after"`) || strings.Contains(string(r.Body), `"during"`) {
		t.Errorf("GET the machine after the outage: %d %s, want the tag written after it, not the refused one", r.Status, r.Body)
	}

	// Each transition is logged once; the store's error only in the log.
	l := logs.String()
	for msg, n := range map[string]int{
		"store failing: answering reads from the read model as it is":      1,
		"store failing for longer than the stale-reads window: reads fail": 1,
		"store answers again: reads are current":                           1,
	} {
		if got := strings.Count(l, msg); got != n {
			t.Errorf("log line %q %d times, want %d:\n%s", msg, got, n, l)
		}
	}
	if !strings.Contains(l, "database is closed") {
		t.Errorf("the store's error is not in the log:\n%s", l)
	}
}

// TestStaleReadsOff: without a window, a read that finds the store down
// fails at once with the service's 503, and the next read after the store
// is back is answered.
func TestStaleReadsOff(t *testing.T) {
	f, s, _, _ := staleFixture(t, 0)
	tok := f.Token(t, f.Tenant, f.App)
	path := "/api/users/Lone.User/machines"
	if r := f.Do(t, "GET", path, tok); r.Status != 200 {
		t.Fatalf("before the outage: %d %s", r.Status, r.Body)
	}
	s.down.Store(true)
	wantUnavailable(t, "GET during the outage", f.Do(t, "GET", path, tok))
	wantUnavailable(t, "GET /api/machines during the outage", f.Do(t, "GET", "/api/machines", tok))
	if m := string(f.Do(t, "GET", "/metrics", "").Body); !strings.Contains(m, "openatp_index_serving_stale 0\n") ||
		!strings.Contains(m, "openatp_index_stale_answers_total 0\n") {
		t.Errorf("/metrics without stale reads:\n%s", grep(m, "openatp_index"))
	}
	s.down.Store(false)
	if r := f.Do(t, "GET", path, tok); r.Status != 200 {
		t.Errorf("after the outage: %d %s", r.Status, r.Body)
	}
}

// grep returns the lines of s that start with prefix.
func grep(s, prefix string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
