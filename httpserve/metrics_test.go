package httpserve_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp/internal/apitest"
)

// failingLimiter fails every call.
type failingLimiter struct{}

func (failingLimiter) Allow(context.Context, string) (bool, time.Duration, error) {
	return false, 0, errors.New("limiter down")
}

// GET /metrics counts requests by route and status, times them, and counts
// limiter failures.
func TestMetrics(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.token(t, f.tenant, f.app)
	for range 3 {
		f.do(t, "GET", "/api/users/user1/machines", tok)
	}
	f.do(t, "GET", "/api/users/nobody/machines", tok)
	f.do(t, "GET", "/api/users/user1/machines", "")
	f.do(t, "GET", "/no/such/path", "")
	res := f.do(t, "GET", "/metrics", "")
	if res.status != 200 {
		t.Fatalf("/metrics: %d %s", res.status, res.body)
	}
	body := string(res.body)
	for _, want := range []string{
		`openatp_http_requests_total{code="200",route="GET /api/users/{id}/machines"} 3`,
		`openatp_http_requests_total{code="404",route="GET /api/users/{id}/machines"} 1`,
		`openatp_http_requests_total{code="401",route="GET /api/users/{id}/machines"} 1`,
		`openatp_http_requests_total{code="404",route="/"} 1`,
		`openatp_http_request_duration_seconds_count{route="GET /api/users/{id}/machines"} 5`,
		`openatp_limiter_errors_total 0`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	g := newFixture(t, func(c *apitest.Config) { c.Limiter = failingLimiter{} })
	if res := g.do(t, "GET", "/api/users/user1/machines", g.token(t, g.tenant, g.app)); res.status != 500 {
		t.Errorf("with a failing limiter: %d %s", res.status, res.body)
	}
	if body := string(g.do(t, "GET", "/metrics", "").body); !strings.Contains(body, "openatp_limiter_errors_total 1") {
		t.Errorf("/metrics does not count the limiter's failure:\n%s", grep(body, "openatp_"))
	}
}

// A store failure is counted by operation and kind.
func TestMetricsStoreErrors(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.token(t, f.tenant, f.app)
	f.do(t, "GET", "/api/users/user1/machines", tok) // the token is verified and cached
	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}
	if res := f.do(t, "GET", "/api/users/user1/machines", tok); res.status < 500 {
		t.Fatalf("with the store closed: %d %s", res.status, res.body)
	}
	body := string(f.do(t, "GET", "/metrics", "").body)
	// At least the request's failure; a background index build may add more.
	if !regexp.MustCompile(`openatp_store_errors_total\{kind="[a-z ]+",op="DataVersion"\} [1-9]`).MatchString(body) {
		t.Errorf("/metrics does not count the store failure:\n%s", grep(body, "openatp_s"))
	}
}

func grep(s, prefix string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
