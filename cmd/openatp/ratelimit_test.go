package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp/internal/redistest"
)

// call GETs the demo user's machines and returns the status, the
// Retry-After header and the body.
func call(t *testing.T, base, token string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/api/users/user1/machines", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Retry-After"), string(b)
}

// burst sends n calls alternating between the bases and counts the
// answers by status; any status but 200 and 429 fails the test.
func burst(t *testing.T, n int, token string, bases ...string) (ok, throttled int) {
	t.Helper()
	for i := range n {
		status, retry, body := call(t, bases[i%len(bases)], token)
		switch status {
		case 200:
			ok++
		case 429:
			throttled++
			if s, err := strconv.Atoi(retry); err != nil || s < 1 || s > 60 {
				t.Errorf("429 with Retry-After %q, want 1..60", retry)
			}
			if !strings.Contains(body, `"code":"TooManyRequests"`) {
				t.Errorf("429 body: %s", body)
			}
		default:
			t.Fatalf("call %d: status %d: %s", i+1, status, body)
		}
	}
	return ok, throttled
}

func mintToken(t *testing.T, data, tenant, app, base string) string {
	t.Helper()
	out, err := cli(t, "token", "--data", data, "--tenant", tenant, "--app", app, "--base-url", base)
	if err != nil {
		t.Fatal(err, out)
	}
	return strings.TrimSpace(out)
}

// newApp creates an app granted Machine.Read.All and returns its client id.
func newApp(t *testing.T, data, tenant, name string) string {
	t.Helper()
	out, err := cli(t, "app", "create", "--data", data, "--tenant", tenant, "--name", name, "--role", "Machine.Read.All")
	if err != nil {
		t.Fatal(err, out)
	}
	var app struct {
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal([]byte(out), &app); err != nil {
		t.Fatal(err, out)
	}
	return app.ClientID
}

func readyz(t *testing.T, base string) (int, map[string]string) {
	t.Helper()
	res, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]string
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, m
}

// TestRateLimitDefault: the service's limits apply without flags, per app.
func TestRateLimitDefault(t *testing.T) {
	data := t.TempDir()
	c := startServe(t, data, "--access-log=false")
	tok := mintToken(t, data, c.Tenant, c.ClientID, c.BaseURL)
	if ok, throttled := burst(t, 105, tok, c.BaseURL); ok != 100 || throttled != 5 {
		t.Errorf("105 calls: %d accepted, %d throttled; want 100 and 5", ok, throttled)
	}
	if status, m := readyz(t, c.BaseURL); status != 200 || m["status"] != "ready" || m["limiter"] != "" {
		t.Errorf("/readyz: %d %v", status, m)
	}
}

func TestRateLimitFlag(t *testing.T) {
	data := t.TempDir()
	c := startServe(t, data, "--access-log=false", "--rate-limit", "3/min,1000/hour")
	tok := mintToken(t, data, c.Tenant, c.ClientID, c.BaseURL)
	if ok, throttled := burst(t, 5, tok, c.BaseURL); ok != 3 || throttled != 2 {
		t.Errorf("--rate-limit 3/min: %d accepted, %d throttled; want 3 and 2", ok, throttled)
	}
	d2 := t.TempDir()
	c2 := startServe(t, d2, "--access-log=false", "--rate-limit", "off")
	tok2 := mintToken(t, d2, c2.Tenant, c2.ClientID, c2.BaseURL)
	if ok, _ := burst(t, 150, tok2, c2.BaseURL); ok != 150 {
		t.Errorf("--rate-limit off: %d of 150 accepted", ok)
	}
	for _, v := range []string{"0/min", "fast", "10/fortnight"} {
		if out, err := cli(t, "serve", "--data", t.TempDir(), "--rate-limit", v); err == nil || !strings.Contains(err.Error(), "--rate-limit") {
			t.Errorf("--rate-limit %s: %v %s", v, err, out)
		}
	}
	if out, err := cli(t, "serve", "--data", t.TempDir(), "--redis", "http://x"); err == nil || !strings.Contains(err.Error(), "--redis") {
		t.Errorf("--redis http://x: %v %s", err, out)
	}
}

// TestRateLimitSharedRedis: two servers sharing one real Redis share each
// app's budget exactly; apps never share one; with Redis killed both keep
// answering and /readyz says degraded; with Redis back the budget is shared
// again.
func TestRateLimitSharedRedis(t *testing.T) {
	srv := redistest.Start(t)
	data := t.TempDir()
	a := startServe(t, data, "--access-log=false", "--redis", srv.URL)
	b := startServe(t, data, "--access-log=false", "--redis", srv.URL)
	bases := []string{a.BaseURL, b.BaseURL}
	tok := mintToken(t, data, a.Tenant, a.ClientID, a.BaseURL)
	for _, base := range bases {
		if status, m := readyz(t, base); status != 200 || m["status"] != "ready" || m["limiter"] != "ok" {
			t.Errorf("%s/readyz: %d %v", base, status, m)
		}
	}

	if ok, throttled := burst(t, 150, tok, bases...); ok != 100 || throttled != 50 {
		t.Errorf("150 calls alternating between two servers: %d accepted, %d throttled; want 100 and 50", ok, throttled)
	}

	// Another app of the tenant has its own budget, on both servers.
	tok2 := mintToken(t, data, a.Tenant, newApp(t, data, a.Tenant, "other"), a.BaseURL)
	if ok, throttled := burst(t, 101, tok2, bases...); ok != 100 || throttled != 1 {
		t.Errorf("second app while the first is throttled: %d accepted, %d throttled; want 100 and 1", ok, throttled)
	}

	// Redis killed: every call is answered. A throttled app stays
	// throttled for the wait Redis gave; otherwise each server counts
	// alone, from zero.
	srv.Stop()
	if ok, throttled := burst(t, 10, tok, bases...); ok != 0 || throttled != 10 {
		t.Errorf("Redis down, throttled app: %d accepted, %d throttled; want 0 and 10", ok, throttled)
	}
	tok3 := mintToken(t, data, a.Tenant, newApp(t, data, a.Tenant, "third"), a.BaseURL)
	if ok, throttled := burst(t, 220, tok3, bases...); ok != 200 || throttled != 20 {
		t.Errorf("Redis down, 220 calls over two servers: %d accepted, %d throttled; want 100 each", ok, throttled)
	}
	for _, base := range bases {
		if status, m := readyz(t, base); status != 200 || m["status"] != "degraded" || !strings.Contains(m["limiter"], "degraded") {
			t.Errorf("%s/readyz with Redis down: %d %v", base, status, m)
		}
	}

	// Redis back (empty): shared counting resumes by itself.
	srv.Restart()
	deadline := time.Now().Add(15 * time.Second)
	for _, base := range bases {
		for {
			_, m := readyz(t, base)
			if m["status"] == "ready" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s/readyz still %v 15 s after Redis restarted", base, m)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if ok, throttled := burst(t, 150, tok, bases...); ok != 100 || throttled != 50 {
		t.Errorf("after Redis restarted: %d accepted, %d throttled; want 100 and 50 shared", ok, throttled)
	}
}

// postAlerts POSTs body to an alert write route and returns the status.
func postAlerts(t *testing.T, base, token, route, body string) int {
	t.Helper()
	req, err := http.NewRequest("POST", base+route, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

// TestRateLimitAlertEndpoints: under the service policy, batchUpdate has
// its documented 10 calls a minute, shared by replicas through Redis;
// under a custom policy it has that one.
func TestRateLimitAlertEndpoints(t *testing.T) {
	const batch = `{"alertIds":["da637472900382838869_1364969609"],"comment":"seen"}`
	count := func(n int, token string, bases ...string) (ok int) {
		for i := range n {
			switch s := postAlerts(t, bases[i%len(bases)], token, "/api/alerts/batchUpdate", batch); s {
			case 200:
				ok++
			case 429:
			default:
				t.Fatalf("call %d: %d", i+1, s)
			}
		}
		return ok
	}
	data := t.TempDir()
	c := startServe(t, data, "--access-log=false")
	tok := mintToken(t, data, c.Tenant, c.ClientID, c.BaseURL)
	if ok := count(12, tok, c.BaseURL); ok != 10 {
		t.Errorf("12 batch updates under the service policy: %d accepted, want 10", ok)
	}
	if ok, _ := burst(t, 5, tok, c.BaseURL); ok != 5 {
		t.Errorf("the other endpoints' budgets are apart: %d of 5 accepted", ok)
	}
	d2 := t.TempDir()
	c2 := startServe(t, d2, "--access-log=false", "--rate-limit", "20/min")
	tok2 := mintToken(t, d2, c2.Tenant, c2.ClientID, c2.BaseURL)
	if ok := count(22, tok2, c2.BaseURL); ok != 20 {
		t.Errorf("22 batch updates under --rate-limit 20/min: %d accepted, want 20", ok)
	}

	srv := redistest.Start(t)
	d3 := t.TempDir()
	a := startServe(t, d3, "--access-log=false", "--redis", srv.URL)
	b := startServe(t, d3, "--access-log=false", "--redis", srv.URL)
	tok3 := mintToken(t, d3, a.Tenant, a.ClientID, a.BaseURL)
	if ok := count(14, tok3, a.BaseURL, b.BaseURL); ok != 10 {
		t.Errorf("14 batch updates over two replicas sharing Redis: %d accepted, want 10", ok)
	}
}
