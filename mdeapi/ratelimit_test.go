package mdeapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/apitest"
	"github.com/openatp/openatp/ratelimit"
	"github.com/openatp/openatp/ratelimit/ratelimittest"
)

// TestRateLimit: with the service's limits and a fake clock, call 100
// passes, call 101 gets the documented 429 with the right Retry-After,
// another app is not slowed, and after the window slides calls pass again.
// A throttled call never reaches the store.
func TestRateLimit(t *testing.T) {
	clk := ratelimittest.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	f := newFixture(t, func(c *apitest.Config) { c.Limiter = ratelimit.NewMemory(ratelimit.Service, clk.Now) })
	tok := f.token(t, f.tenant, f.app)
	for i := range 100 { // one call every 0.3 s: the last at +29.7s
		if r := f.do(t, "GET", "/api/users/user1/machines", tok); r.status != 200 {
			t.Fatalf("call %d: %d %s", i+1, r.status, r.body)
		}
		clk.Advance(300 * time.Millisecond)
	}
	// Call 101 at +30s: the first call leaves the minute at +60s.
	r := f.do(t, "GET", "/api/users/user1/machines", tok)
	checkError(t, r, 429, "TooManyRequests")
	if got := r.header.Get("Retry-After"); got != "30" {
		t.Errorf("Retry-After %q, want 30", got)
	}
	var body struct{ Error struct{ Message string } }
	if err := json.Unmarshal(r.body, &body); err != nil || body.Error.Message != "Rate limit is exceeded. Try again in 30 seconds." {
		t.Errorf("429 message %q (%v)", body.Error.Message, err)
	}
	clk.Advance(29*time.Second + 500*time.Millisecond)
	r = f.do(t, "GET", "/api/users/user1/machines", tok)
	checkError(t, r, 429, "TooManyRequests")
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q half a second before a slot opens, want 1 (rounded up)", got)
	}

	// Another app of the tenant, and the same app's name in another
	// tenant, have their own budgets.
	other := f.newApp(t, f.tenant, "other", openatp.PermMachineReadAll)
	if r := f.do(t, "GET", "/api/users/user1/machines", f.token(t, f.tenant, other)); r.status != 200 {
		t.Errorf("another app while the first is throttled: %d %s", r.status, r.body)
	}

	// A throttled call costs no query: with the store closed it still gets
	// its 429 (an admitted call gets a store error).
	clk.Advance(600 * time.Millisecond) // +60.1s: the call at +0s has left, one slot
	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}
	r = f.do(t, "GET", "/api/users/user1/machines", tok)
	if r.status == 200 || r.status == 429 {
		t.Fatalf("admitted call with the store closed: %d %s", r.status, r.body)
	}
	for range 3 {
		r = f.do(t, "GET", "/api/users/user1/machines", tok)
		checkError(t, r, 429, "TooManyRequests")
	}
}

// TestReadyzLimiter: a degraded limiter is reported with 200, the replica
// still serving.
func TestReadyzLimiter(t *testing.T) {
	var limiterErr error
	f := newFixture(t, func(c *apitest.Config) {
		c.Limiter = ratelimit.NewMemory(ratelimit.Service, nil)
		c.LimiterStatus = func(context.Context) error { return limiterErr }
	})
	r := f.do(t, "GET", "/readyz", "")
	if r.status != 200 || string(r.body) != `{"status":"ready","store":"ok","limiter":"ok"}` {
		t.Errorf("/readyz: %d %s", r.status, r.body)
	}
	limiterErr = context.DeadlineExceeded
	r = f.do(t, "GET", "/readyz", "")
	want := `{"status":"degraded","store":"ok","limiter":"degraded: shared rate-limit state unreachable, counting in this replica only"}`
	if r.status != 200 || string(r.body) != want {
		t.Errorf("/readyz with the limiter degraded: %d %s, want 200 %s", r.status, r.body, want)
	}
}

// Each route of the Machine API has its own budget per application (mde-
// reference §7): exhausting the list's leaves the user route, findbytag,
// logonusers and the tag writes their own calls; the list's 429 carries
// Retry-After.
func TestRateLimitPerEndpoint(t *testing.T) {
	clk := ratelimittest.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	policy, err := ratelimit.ParsePolicy("2/min")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *apitest.Config) { c.Limiter = ratelimit.NewMemory(policy, clk.Now) })
	app := f.newApp(t, f.tenant, "all", openatp.PermMachineReadWriteAll, openatp.PermUserReadAll)
	tok := f.token(t, f.tenant, app)
	for i := range 2 {
		if r := f.do(t, "GET", "/api/machines?$top=1", tok); r.status != 200 {
			t.Fatalf("list call %d: %d %s", i+1, r.status, r.body)
		}
	}
	r := f.do(t, "GET", "/api/v1.0/machines/"+machine1, tok) // the same budget: list, get, PATCH
	checkError(t, r, 429, "TooManyRequests")
	if r.header.Get("Retry-After") != "60" {
		t.Errorf("Retry-After %q, want 60", r.header.Get("Retry-After"))
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/users/user1/machines", ""},
		{"GET", "/api/machines/findbytag?tag=x", ""},
		{"GET", "/api/machines/" + machine1 + "/logonusers", ""},
		{"POST", "/api/machines/" + machine1 + "/tags", `{"Value":"t","Action":"Add"}`},
		{"POST", "/api/machines/" + machine1 + "/setDeviceValue", `{"DeviceValue":"Low"}`},
	} {
		if r := f.send(t, c.method, c.path, tok, c.body); r.status != 200 {
			t.Errorf("%s %s while the list is throttled: %d %s", c.method, c.path, r.status, r.body)
		}
	}
}

// pingCounter counts the store's pings and can make them fail.
type pingCounter struct {
	openatp.Store
	pings atomic.Int64
	fail  atomic.Bool
}

func (s *pingCounter) Ping(ctx context.Context) error {
	s.pings.Add(1)
	time.Sleep(5 * time.Millisecond) // a round trip, so that requests pile up behind it
	if s.fail.Load() {
		return openatp.Errorf(openatp.Unavailable, "the test stopped the store")
	}
	return s.Store.Ping(ctx)
}

// /readyz is open to anyone: a burst of it costs the store one ping, not
// one each; a failing store is pinged again by the next request, and
// reported at once.
func TestReadyzSharesThePing(t *testing.T) {
	var counter *pingCounter
	f := newFixture(t, func(c *apitest.Config) {
		counter = &pingCounter{Store: c.Store}
		c.Store = counter
	})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if r := f.do(t, "GET", "/readyz", ""); r.status != 200 || string(r.body) != `{"status":"ready","store":"ok"}` {
				t.Errorf("/readyz: %d %s", r.status, r.body)
			}
		})
	}
	wg.Wait()
	if n := counter.pings.Load(); n > 2 { // one, or two if the burst straddled the second
		t.Errorf("50 concurrent /readyz pinged the store %d times", n)
	}
	counter.fail.Store(true)
	time.Sleep(time.Second) // past the last success's second
	before := counter.pings.Load()
	for range 3 {
		if r := f.do(t, "GET", "/readyz", ""); r.status != 503 || !strings.Contains(string(r.body), "the test stopped the store") {
			t.Errorf("/readyz with the store failing: %d %s, want 503 saying why", r.status, r.body)
		}
	}
	if n := counter.pings.Load() - before; n != 3 {
		t.Errorf("3 /readyz with the store failing pinged it %d times, want 3 (a failure is not kept)", n)
	}
}
