package responseapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/ratelimit"
	"github.com/openatp/openatp/ratelimit/ratelimittest"
)

// Under the service policy each action route has its own budget of 100
// calls a minute (a refused or busy call counts, as every call does), the
// reads of machine actions theirs, and runliveresponse its tighter 10 a
// minute: 429 with Retry-After beyond, and a minute later room again.
func TestActionRateLimits(t *testing.T) {
	clk := ratelimittest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	f := apitest.NewFixture(t, func(c *apitest.Config) {
		c.Limiter = ratelimit.NewMemory(ratelimit.Service, clk.Now)
		c.EndpointLimiters = map[string]httpserve.Limiter{}
		for endpoint, p := range ratelimit.Endpoints {
			c.EndpointLimiters[endpoint] = ratelimit.NewMemory(p, clk.Now)
		}
	})
	f.Load(t, f.Tenant, []openatp.Machine{{ID: apitest.MID(1), ComputerDNSName: openatp.Ptr("act1.contoso.com")}}, nil)
	app := f.NewApp(t, f.Tenant, "soar", append([]string{openatp.PermMachineReadAll}, openatp.ActionPermissions...)...)
	tok := f.Token(t, f.Tenant, app)
	isolate := "/api/machines/" + apitest.MID(1) + "/isolate"
	for i := range 100 {
		want := http.StatusBadRequest // busy: the first isolation is Pending
		if i == 0 {
			want = http.StatusCreated
		}
		if r := f.SendJSON(t, "POST", isolate, tok, `{"Comment":"c"}`); r.Status != want {
			t.Fatalf("isolate %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	r := f.SendJSON(t, "POST", isolate, tok, `{"Comment":"c"}`)
	apitest.CheckError(t, r, http.StatusTooManyRequests, "TooManyRequests")
	if r.Header.Get("Retry-After") != "60" {
		t.Errorf("isolate 101: Retry-After %q, want 60", r.Header.Get("Retry-After"))
	}
	// /api/v1.0 is the same route, and so the same budget.
	apitest.CheckError(t, f.SendJSON(t, "POST", "/api/v1.0/machines/"+apitest.MID(1)+"/isolate", tok, `{"Comment":"c"}`), http.StatusTooManyRequests, "TooManyRequests")
	// Another action and the reads have budgets of their own.
	if r := f.SendJSON(t, "POST", "/api/machines/"+apitest.MID(1)+"/runAntiVirusScan", tok, `{"Comment":"c","ScanType":"Quick"}`); r.Status != http.StatusCreated {
		t.Errorf("scan after the isolations: %d %s", r.Status, r.Body)
	}
	for i := range 100 {
		if r := f.Do(t, "GET", "/api/machineactions?$top=1", tok); r.Status != http.StatusOK {
			t.Fatalf("read %d: %d", i+1, r.Status)
		}
	}
	apitest.CheckError(t, f.Do(t, "GET", "/api/machineactions?$top=1", tok), http.StatusTooManyRequests, "TooManyRequests")
	// runliveresponse: 10 a minute (bad bodies count too).
	lr := "/api/machines/" + apitest.MID(1) + "/runliveresponse"
	for i := range 10 {
		if r := f.SendJSON(t, "POST", lr, tok, `{"Comment":"c"}`); r.Status != http.StatusBadRequest {
			t.Fatalf("runliveresponse %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	apitest.CheckError(t, f.SendJSON(t, "POST", lr, tok, `{"Comment":"c"}`), http.StatusTooManyRequests, "TooManyRequests")
	clk.Set(clk.Now().Add(time.Minute))
	if r := f.SendJSON(t, "POST", isolate, tok, `{"Comment":"c"}`); r.Status != http.StatusBadRequest {
		t.Errorf("isolate a minute later: %d %s, want the busy 400", r.Status, r.Body)
	}
	if r := f.SendJSON(t, "POST", lr, tok, `{"Comment":"c"}`); r.Status != http.StatusBadRequest {
		t.Errorf("runliveresponse a minute later: %d %s", r.Status, r.Body)
	}
}
