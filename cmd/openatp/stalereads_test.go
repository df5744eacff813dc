package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openatp/openatp/internal/pgtest"
)

// httpAnswer is an HTTP answer as a test reads it.
type httpAnswer struct {
	status int
	header http.Header
	body   string
}

// send sends a request with token as bearer token and a JSON body if not
// "".
func send(t *testing.T, method, url, token, body string) httpAnswer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return httpAnswer{res.StatusCode, res.Header, string(b)}
}

// wantServiceUnavailable checks that a is the service's own 503, exactly,
// and that nothing in it names the store, its driver or its error.
func wantServiceUnavailable(t *testing.T, what string, a httpAnswer) {
	t.Helper()
	want := `{"error":{"code":"ServiceUnavailable","message":"The service is temporarily unavailable. Retry the request later.","target":"` +
		a.header.Get("request-id") + `"}}`
	if a.status != 503 || a.body != want || a.header.Get("Retry-After") != "5" {
		t.Errorf("%s: %d Retry-After %q %s, want 503 Retry-After 5 %s", what, a.status, a.header.Get("Retry-After"), a.body, want)
	}
	all := strings.ToLower(a.body)
	for k, vs := range a.header {
		all += k + ": " + strings.ToLower(strings.Join(vs, ",")) + "\n"
	}
	for _, word := range []string{"postgres", "pgx", "sql", "connect", "refused", "database", "store", "tenant"} {
		if strings.Contains(all, word) {
			t.Errorf("%s: the answer names %q: %v %s", what, word, a.header, a.body)
		}
	}
}

// TestPostgresStaleReads stops PostgreSQL under `serve --stale-reads 30s`
// (its read model on a clock the test moves): the reads go on with the
// answers of before for 30 s after the store last answered, /metrics
// shows it, writes get the service's 503; after the 30 s reads get it
// too. Once PostgreSQL is back the same process answers current reads and
// takes writes.
func TestPostgresStaleReads(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	readModelClock = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	t.Cleanup(func() { readModelClock = nil })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	srv := pgtest.Start(t)
	db := srv.NewDatabase(t)
	r := startReplica(t, "--db", db, "--data", t.TempDir(), "--rate-limit", "off", "--stale-reads", "30s")
	tenant, clientID, secret := newTenantApp(t, db, "stale.example", "Machine.Read.All", "Machine.ReadWrite.All")
	if out, err := cli(t, "seed", "--db", db, "--data", t.TempDir(), "--tenant", "stale.example", "--machines", "20", "--users", "5", "--seed", "3"); err != nil {
		t.Fatal(err, out)
	}
	user := seededUsers(t, db, tenant)[0]
	tok := clientToken(t, r.base, tenant, clientID, secret)
	reads := []string{"/api/users/" + user + "/machines", "/api/machines?$top=5&$select=id"}
	before := map[string]string{}
	for _, p := range reads {
		a := send(t, "GET", r.base+p, tok, "")
		if a.status != 200 {
			t.Fatalf("GET %s before the outage: %d %s", p, a.status, a.body)
		}
		before[p] = a.body
	}
	id := before[reads[1]][strings.Index(before[reads[1]], `"id":"`)+6:][:40]

	srv.Stop()
	for _, step := range []time.Duration{0, 29 * time.Second} {
		advance(step)
		for _, p := range reads {
			if a := send(t, "GET", r.base+p, tok, ""); a.status != 200 || a.body != before[p] {
				t.Errorf("GET %s %v into the outage: %d %s, want 200 with the answer of before", p, step, a.status, a.body)
			}
		}
	}
	if _, m := get(t, r.base, "/metrics", ""); !strings.Contains(m, "openatp_index_serving_stale 1\n") ||
		!strings.Contains(m, "openatp_index_stale_answers_total 4\n") {
		t.Errorf("/metrics during the outage does not show the stale answers")
	}
	wantServiceUnavailable(t, "a write during the outage",
		send(t, "POST", r.base+"/api/machines/"+id+"/tags", tok, `{"Value":"during","Action":"Add"}`))

	// The token endpoint reads the tenant and the app: OAuth's 503, in
	// its own shape, as generic.
	res, err := http.PostForm(r.base+"/"+tenant+"/oauth2/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {clientID}, "client_secret": {secret}, "resource": {"https://api.securitycenter.microsoft.com"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if body := string(b); res.StatusCode != 503 || !strings.Contains(body, `"error":"temporarily_unavailable"`) ||
		!strings.Contains(body, "There was an error issuing a token or an authorization code. Please try again in a short while.") ||
		res.Header.Get("Retry-After") != "5" {
		t.Errorf("a token request during the outage: %d Retry-After %q %s", res.StatusCode, res.Header.Get("Retry-After"), body)
	} else {
		for _, word := range []string{"postgres", "pgx", "sql", "refused", "database"} {
			if strings.Contains(strings.ToLower(body), word) {
				t.Errorf("a token request during the outage: the answer names %q: %s", word, body)
			}
		}
	}

	advance(2 * time.Second)
	for _, p := range reads {
		wantServiceUnavailable(t, "GET "+p+" after the window", send(t, "GET", r.base+p, tok, ""))
	}

	srv.Restart(t)
	deadline := time.Now().Add(20 * time.Second)
	for {
		a := send(t, "POST", r.base+"/api/machines/"+id+"/tags", tok, `{"Value":"after","Action":"Add"}`)
		if a.status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("20 s after PostgreSQL restarted, a write: %d %s", a.status, a.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	a := send(t, "GET", r.base+"/api/machines/"+id, tok, "")
	if a.status != 200 || !strings.Contains(a.body, `"after"`) || strings.Contains(a.body, `"during"`) {
		t.Errorf("the machine after the outage: %d %s, want the tag written after it", a.status, a.body)
	}
	if _, m := get(t, r.base, "/metrics", ""); !strings.Contains(m, "openatp_index_serving_stale 0\n") {
		t.Errorf("/metrics after the outage still shows stale reads")
	}
}
