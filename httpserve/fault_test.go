package httpserve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/apitest"
)

// addFault posts a rule and returns the rule the admin API answers.
func (f *fixture) addFault(t *testing.T, rule string) map[string]any {
	t.Helper()
	r := f.admin(t, "POST", "/_openatp/faults", adminKey, "application/json", []byte(rule))
	if r.status != 201 {
		t.Fatalf("add fault %s: %d %s", rule, r.status, r.body)
	}
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Latency: the client waits at least the rule's delay, at most its
// delay_max (plus the request's own time), and the journal says so.
func TestFaultLatency(t *testing.T) {
	f := adminFixture(t)
	tok := f.token(t, f.tenant, f.app)
	f.addFault(t, `{"id":"slow","route":"GET /api/users/{id}/machines","kind":"latency","delay":"150ms","delay_max":"300ms","seed":3}`)
	for range 3 {
		start := time.Now()
		res := f.do(t, "GET", "/api/users/user1/machines", tok)
		took := time.Since(start)
		if res.status != 200 {
			t.Fatalf("%d %s", res.status, res.body)
		}
		if took < 150*time.Millisecond || took > 300*time.Millisecond+2*time.Second {
			t.Errorf("the call took %v, want 150 ms to 300 ms and the call's own time", took)
		}
	}
	start := time.Now()
	if res := f.do(t, "GET", "/api/machines", tok); res.status != 200 || time.Since(start) >= 150*time.Millisecond {
		t.Errorf("another route: %d after %v", res.status, time.Since(start))
	}
	es := f.journal(t, f.tenant.ID, "fault=slow")
	if len(es) != 3 {
		t.Fatalf("%d journal entries of the rule, want 3", len(es))
	}
	for _, e := range es {
		if str(e.FaultKind) != "latency" || e.Status != 200 || e.LatencyMS < 150 {
			t.Errorf("entry %+v", e)
		}
	}
}

// Error answers: a 503 and a 429 with the exact MDE bodies, the request id
// as target and Retry-After; a status without an error kind of its own; a
// rule's own code and message.
func TestFaultErrors(t *testing.T) {
	f := adminFixture(t)
	tok := f.token(t, f.tenant, f.app)
	for _, tc := range []struct {
		rule, golden, retryAfter string
		status                   int
	}{
		{`{"kind":"error","status":503}`, "fault-503", "1", 503},
		{`{"kind":"error","status":503,"retry_after":-1}`, "fault-503", "", 503},
		{`{"kind":"error","status":429,"retry_after":30}`, "fault-429", "30", 429},
		{`{"kind":"error","status":429}`, "fault-429-1", "1", 429},
		{`{"kind":"error","status":500}`, "fault-500", "", 500},
		{`{"kind":"error","status":502,"retry_after":5}`, "fault-502", "5", 502},
		{`{"kind":"error","status":403,"code":"Forbidden","message":"Missing application roles."}`, "fault-403", "", 403},
	} {
		rule := f.addFault(t, tc.rule)
		res := f.do(t, "GET", "/api/users/user1/machines", tok)
		if res.status != tc.status || res.header.Get("Retry-After") != tc.retryAfter {
			t.Errorf("%s: %d Retry-After %q", tc.rule, res.status, res.header.Get("Retry-After"))
		}
		if ct := res.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", tc.rule, ct)
		}
		golden(t, tc.golden, f.normalized(t, res))
		f.admin(t, "DELETE", "/_openatp/faults/"+rule["id"].(string), adminKey, "", nil)
	}
	// The injected 429 is the limiter's own 429, byte for byte but the id.
	limited := newFixture(t, func(c *apitest.Config) { c.Limiter = refusingLimiter(30 * time.Second) })
	res := limited.do(t, "GET", "/api/users/user1/machines", limited.token(t, limited.tenant, limited.app))
	if res.status != 429 || res.header.Get("Retry-After") != "30" {
		t.Fatalf("the limiter's 429: %d %v", res.status, res.header)
	}
	golden(t, "fault-429", limited.normalized(t, res))

	// Nothing in the answer tells it was injected; the journal and the
	// metrics do.
	f.addFault(t, `{"id":"storm","kind":"error","status":503,"max_hits":2}`)
	res = f.do(t, "GET", "/api/machines", tok)
	for k := range res.header {
		if k != "Content-Type" && k != "X-Content-Type-Options" && k != "Request-Id" && k != "Retry-After" && k != "Date" && k != "Content-Length" {
			t.Errorf("the injected answer has header %s", k)
		}
	}
	if e := f.journal(t, f.tenant.ID, "fault=storm"); len(e) != 1 || e[0].Status != 503 || str(e[0].Route) != "GET /api/machines" ||
		e[0].RequestID != res.header.Get("request-id") || str(e[0].FaultKind) != "error" {
		t.Errorf("journal: %+v", e)
	}
	metrics := string(f.do(t, "GET", "/metrics", "").body)
	for _, want := range []string{
		`openatp_faults_applied_total{kind="error",rule="storm"} 1`,
		`openatp_http_requests_total{code="503",route="GET /api/machines"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// onBothProtocols runs a test of a fault rule over HTTP/1.1 and over
// HTTP/2 (TLS): a fixture with the admin key, the rule added, and a token.
func onBothProtocols(t *testing.T, rule string, test func(t *testing.T, f *fixture, h2 bool, tok string)) {
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("http2=%v", h2), func(t *testing.T) {
			f := newFixtureOn(t, nil, h2)
			setAdminKey(t, f)
			f.addFault(t, rule)
			test(t, f, h2, f.token(t, f.tenant, f.app))
		})
	}
}

// get sends GET path with a bearer token through client, answer unread.
func (f *fixture) get(client *http.Client, path, tok string) (*http.Response, error) {
	req, err := http.NewRequest("GET", f.srv.URL+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return client.Do(req)
}

// Reset: the client sees a connection error (a TCP reset on HTTP/1.1, a
// reset stream on HTTP/2), and the journal an answer of status 0.
func TestFaultReset(t *testing.T) {
	onBothProtocols(t, `{"id":"rst","route":"/api/users/{id}/machines","kind":"reset"}`, func(t *testing.T, f *fixture, h2 bool, tok string) {
		client := f.srv.Client()
		if !h2 {
			client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		}
		res, err := f.get(client, "/api/users/user1/machines", tok)
		if err == nil {
			res.Body.Close()
			t.Fatalf("a reset connection answered %d", res.StatusCode)
		}
		if !h2 && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("error %v, want a connection reset", err)
		}
		if h2 && !strings.Contains(err.Error(), "stream error") && !strings.Contains(err.Error(), "INTERNAL_ERROR") {
			t.Errorf("error %v, want a reset stream", err)
		}
		if res := f.do(t, "GET", "/api/machines", tok); res.status != 200 {
			t.Errorf("another route: %d", res.status)
		}
		e := f.journal(t, f.tenant.ID, "fault=rst")
		if len(e) != 1 || e[0].Status != 0 || str(e[0].FaultKind) != "reset" || str(e[0].Route) != "GET /api/users/{id}/machines" {
			t.Errorf("journal: %+v", e)
		}
	})
}

// Truncate: the real answer's headers and first bytes, then the
// connection ends: the client reads an unexpected EOF.
func TestFaultTruncate(t *testing.T) {
	onBothProtocols(t, `{"id":"cut","route":"GET /api/v1.0/machines","kind":"truncate","truncate_after":100}`, func(t *testing.T, f *fixture, h2 bool, tok string) {
		full := f.do(t, "GET", "/api/machines", tok) // the same answer, not faulted
		res, err := f.get(f.srv.Client(), "/api/v1.0/machines", tok)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if res.StatusCode != 200 || err == nil || len(body) != 100 || !bytes.Equal(body, full.body[:100]) {
			t.Errorf("status %d, %d bytes, error %v; want 200, the first 100 bytes of %d, an error", res.StatusCode, len(body), err, len(full.body))
		}
		if !h2 && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("error %v, want an unexpected EOF", err)
		}
		e := f.journal(t, f.tenant.ID, "fault=cut")
		if len(e) != 1 || e[0].Status != 200 || e[0].Bytes != 100 || str(e[0].FaultKind) != "truncate" {
			t.Errorf("journal: %+v", e)
		}
	})
}

// The same seed gives the same sequence of faults over 1,000 requests, a
// different seed another; a rule's hit count is the number of faults.
func TestFaultSeed(t *testing.T) {
	f := adminFixture(t)
	tok := f.token(t, f.tenant, f.app)
	run := func(seed int) (string, float64) {
		t.Helper()
		rule := fmt.Sprintf(`{"id":"p","route":"GET /api/users/{id}/machines","probability":0.3,"seed":%d,"kind":"error","status":503}`, seed)
		if r := f.admin(t, "PUT", "/_openatp/faults/p", adminKey, "application/json", []byte(rule)); r.status != 200 {
			t.Fatalf("PUT: %d %s", r.status, r.body)
		}
		var b strings.Builder
		for range 1000 {
			switch res := f.do(t, "GET", "/api/users/user1/machines", tok); res.status {
			case 200:
				b.WriteByte('.')
			case 503:
				b.WriteByte('x')
			default:
				t.Fatalf("%d %s", res.status, res.body)
			}
		}
		var got map[string]any
		_ = json.Unmarshal(f.admin(t, "GET", "/_openatp/faults/p", adminKey, "", nil).body, &got)
		return b.String(), got["hits"].(float64)
	}
	f.addFault(t, `{"id":"p","kind":"reset","route":"GET /api/alerts"}`) // replaced by run
	first, hits := run(42)
	if n := strings.Count(first, "x"); n < 230 || n > 370 || float64(n) != hits {
		t.Errorf("%d faults of 1,000 at p=0.3 (hits %v)", n, hits)
	}
	if again, _ := run(42); again != first {
		t.Errorf("seed 42 gave another sequence the second time:\n%s\n%s", first, again)
	}
	if other, _ := run(43); other == first {
		t.Error("seeds 42 and 43 gave the same sequence")
	}
}

// A rule limited to one application, user or route never touches another
// (randomized: rules and calls drawn at random, each call checked).
func TestFaultIsolation(t *testing.T) {
	f := rbacFixture(t, false)
	setAdminKey(t, f)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	appB := f.newApp(t, f.tenant, "second", openatp.PermMachineReadAll)
	native := f.delegatedApp(t, f.tenant, openatp.PermMachineRead)
	other := f.newTenant(t, "fabrikam.onmicrosoft.com")
	otherApp := f.newApp(t, other, "theirs", openatp.PermMachineReadAll)
	type caller struct {
		tenant, app, user string
		tok               string
	}
	callers := []caller{
		{f.tenant.ID, f.app.ClientID, "", f.token(t, f.tenant, f.app)},
		{f.tenant.ID, appB.ClientID, "", f.token(t, f.tenant, appB)},
		{f.tenant.ID, native.ClientID, "alice@contoso.com", f.delegated(t, f.tenant, native, "alice@contoso.com", "g-admin")},
		{f.tenant.ID, native.ClientID, "bob@contoso.com", f.delegated(t, f.tenant, native, "bob@contoso.com", "g-admin")},
		{other.ID, otherApp.ClientID, "", f.token(t, other, otherApp)},
	}
	routes := []struct{ pattern, target string }{
		{"GET /api/users/{id}/machines", "/api/users/user1/machines"},
		{"GET /api/machines", "/api/v1.0/machines?$top=2"},
		{"GET /api/machines/{id}", "/api/machines/mymachine1.contoso.com"},
		{"GET /api/machines/findbytag", "/api/machines/findbytag?tag=x"},
	}
	for round := range 6 {
		// One rule per round, limited by one to three conditions, always applying.
		c := callers[rng.IntN(len(callers))]
		rt := routes[rng.IntN(len(routes))]
		var conds []string
		want := func(cc caller, target string) bool { return true }
		for len(conds) == 0 {
			if rng.IntN(2) == 0 {
				conds = append(conds, `"app":"`+c.app+`"`)
				prev := want
				want = func(cc caller, target string) bool { return prev(cc, target) && cc.app == c.app }
			}
			if c.user != "" && rng.IntN(2) == 0 {
				conds = append(conds, `"user":"`+strings.ToUpper(c.user)+`"`)
				prev := want
				want = func(cc caller, target string) bool { return prev(cc, target) && cc.user == c.user }
			}
			if rng.IntN(2) == 0 {
				conds = append(conds, `"route":"`+rt.pattern+`"`)
				prev := want
				want = func(cc caller, target string) bool { return prev(cc, target) && target == rt.target }
			}
			if rng.IntN(3) == 0 {
				conds = append(conds, `"tenant":"`+c.tenant+`"`)
				prev := want
				want = func(cc caller, target string) bool { return prev(cc, target) && cc.tenant == c.tenant }
			}
		}
		rule := fmt.Sprintf(`{"id":"r%d","kind":"error","status":418,%s}`, round, strings.Join(conds, ","))
		f.addFault(t, rule)
		for range 60 {
			cc := callers[rng.IntN(len(callers))]
			target := routes[rng.IntN(len(routes))].target
			res := f.do(t, "GET", target, cc.tok)
			if got, w := res.status == 418, want(cc, target); got != w {
				t.Fatalf("rule %s, caller %+v, %s: faulted %v, want %v (%d %s)", rule, cc, target, got, w, res.status, res.body)
			}
		}
		f.admin(t, "DELETE", "/_openatp/faults", adminKey, "", nil)
	}
}

// Rules are added, listed, read, replaced and deleted; they expire after
// max_hits or at their time; bad rules are refused with the error body.
func TestFaultAdmin(t *testing.T) {
	f := adminFixture(t)
	tok := f.token(t, f.tenant, f.app)
	rule := f.addFault(t, `{"kind":"error","status":429,"tenant":"contoso.onmicrosoft.com","max_hits":2}`)
	if rule["id"] != "fault-1" || rule["tenant"] != f.tenant.ID || rule["seed"].(float64) == 0 || rule["probability"] != 1.0 ||
		rule["retry_after"] != 1.0 || rule["hits"] != 0.0 || rule["active"] != true {
		t.Errorf("added: %v", rule)
	}
	statuses := func(n int) string {
		var s []string
		for range n {
			s = append(s, fmt.Sprint(f.do(t, "GET", "/api/users/user1/machines", tok).status))
		}
		return strings.Join(s, ",")
	}
	if got := statuses(3); got != "429,429,200" {
		t.Errorf("max_hits 2: %s", got)
	}
	var list []map[string]any
	_ = json.Unmarshal(f.admin(t, "GET", "/_openatp/faults", adminKey, "", nil).body, &list)
	if len(list) != 1 || list[0]["hits"] != 2.0 || list[0]["active"] != false {
		t.Errorf("list: %v", list)
	}
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	if r := f.admin(t, "PUT", "/_openatp/faults/fault-1", adminKey, "", []byte(`{"kind":"error","status":503,"expires":"`+past+`"}`)); r.status != 200 ||
		!bytes.Contains(r.body, []byte(`"active":false`)) {
		t.Errorf("PUT expired: %d %s", r.status, r.body)
	}
	if got := statuses(1); got != "200" {
		t.Errorf("an expired rule applied: %s", got)
	}
	f.addFault(t, `{"id":"mine","kind":"latency","delay":"1ms"}`)
	for _, tc := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"POST", "/_openatp/faults", `{"id":"mine","kind":"reset"}`, 409, "Conflict"},
		{"POST", "/_openatp/faults", `{"kind":"explode"}`, 400, "InvalidInput"},
		{"POST", "/_openatp/faults", `{"kind":"error","status":200}`, 400, "InvalidInput"},
		{"POST", "/_openatp/faults", `{"kind":"latency"}`, 400, "InvalidInput"},
		{"POST", "/_openatp/faults", `{"kind":"reset","probability":1.5}`, 400, "InvalidInput"},
		{"POST", "/_openatp/faults", `{"kind":"reset","route":"api/machines"}`, 400, "InvalidInput"},
		{"POST", "/_openatp/faults", `{"kind":"reset","tenant":"nosuch"}`, 400, "InvalidInput"},
		{"POST", "/_openatp/faults", `{"kind":"reset","delay":"soon"}`, 400, "InvalidInput"},
		{"POST", "/_openatp/faults", `{"kind":"reset","colour":"red"}`, 400, "InvalidRequestBody"},
		{"POST", "/_openatp/faults", `{"kind":"reset"} {}`, 400, "InvalidRequestBody"},
		{"POST", "/_openatp/faults", `not json`, 400, "InvalidRequestBody"},
		{"PUT", "/_openatp/faults/nosuch", `{"kind":"reset"}`, 404, "ResourceNotFound"},
		{"PUT", "/_openatp/faults/mine", `{"id":"yours","kind":"reset"}`, 400, "InvalidInput"},
		{"GET", "/_openatp/faults/nosuch", ``, 404, "ResourceNotFound"},
		{"DELETE", "/_openatp/faults/nosuch", ``, 404, "ResourceNotFound"},
		{"PATCH", "/_openatp/faults/mine", ``, 405, "MethodNotAllowed"},
	} {
		r := f.admin(t, tc.method, tc.path, adminKey, "application/json", []byte(tc.body))
		if r.status != tc.status || !bytes.Contains(r.body, []byte(`"code":"`+tc.code+`"`)) {
			t.Errorf("%s %s %s: %d %s, want %d %s", tc.method, tc.path, tc.body, r.status, r.body, tc.status, tc.code)
		}
	}
	if r := f.admin(t, "GET", "/_openatp/faults", "", "", nil); r.status != 401 {
		t.Errorf("without the admin key: %d", r.status)
	}
	if r := f.admin(t, "DELETE", "/_openatp/faults/mine", adminKey, "", nil); r.status != 204 {
		t.Errorf("DELETE: %d %s", r.status, r.body)
	}
	var ids []string
	_ = json.Unmarshal(f.admin(t, "GET", "/_openatp/faults", adminKey, "", nil).body, &list)
	for _, r := range list {
		ids = append(ids, r["id"].(string))
	}
	if strings.Join(ids, ",") != "fault-1" {
		t.Errorf("after DELETE: %v", ids)
	}
	if r := f.admin(t, "DELETE", "/_openatp/faults", adminKey, "", nil); r.status != 204 ||
		string(f.admin(t, "GET", "/_openatp/faults", adminKey, "", nil).body) != "[]\n" {
		t.Errorf("DELETE all: %d", r.status)
	}
}

// refusingLimiter refuses every call, to be retried after its duration.
type refusingLimiter time.Duration

func (l refusingLimiter) Allow(context.Context, string) (bool, time.Duration, error) {
	return false, time.Duration(l), nil
}
