package auth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	pwhash "github.com/openatp/openatp/internal/password"
	"github.com/openatp/openatp/ratelimit"
)

// fakeClock is a settable clock for lockout periods and budgets.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// signInStore is a store whose user ann@fabrikam.example of tenant B has
// the password, and whose app of tenant B a delegated permission.
func signInStore(tb testing.TB, password string) *memStore {
	tb.Helper()
	st := newMemStore()
	h, err := pwhash.Hash(password)
	if err != nil {
		tb.Fatal(err)
	}
	st.users[tenantB][0].PasswordHash = h
	st.apps[1].Scopes = []string{"Machine.Read"}
	return st
}

// signInFixture is a token endpoint on a store with user ann (password
// "right") of tenant B, whose app has a delegated permission.
func signInFixture(t *testing.T, opts Options) (*fakeClock, func(user, password string) (*http.Response, map[string]any)) {
	t.Helper()
	st := signInStore(t, "right")
	clock := &fakeClock{t: time.Now()}
	opts.Now = clock.now
	svc := newService(t, st, opts)
	srv := httptest.NewServer(NewHandler(svc, nil))
	t.Cleanup(srv.Close)
	return clock, func(user, password string) (*http.Response, map[string]any) {
		v := url.Values{"grant_type": {"password"}, "client_id": {clientB}, "username": {user}, "password": {password},
			"resource": {"https://api.securitycenter.microsoft.com"}}
		return post(t, http.DefaultClient, srv.URL+"/"+tenantB+"/oauth2/token", form, v.Encode())
	}
}

func wantAADSTS(t *testing.T, what string, res *http.Response, m map[string]any, status int, code string) {
	t.Helper()
	if res.StatusCode != status || !strings.HasPrefix(m["error_description"].(string), code+":") {
		t.Fatalf("%s: %d %v, want %d %s", what, res.StatusCode, m, status, code)
	}
}

// Smart lockout as Entra ID has it: N wrong passwords lock the name, even
// against the right password, for the lockout period; repeats of a recent
// wrong password do not count; a failure after a lockout locks again for
// longer; an unknown user is answered and locked exactly like a real one.
func TestSmartLockout(t *testing.T) {
	const user = "ann@fabrikam.example"
	clock, grant := signInFixture(t, Options{LockoutThreshold: 3, LockoutDuration: time.Minute})

	for range 5 { // the same wrong password again and again: one failure
		res, m := grant(user, "stale")
		wantAADSTS(t, "a repeated wrong password", res, m, 400, "AADSTS50126")
	}
	for _, pw := range []string{"wrong1", "wrong2"} {
		res, m := grant(user, pw)
		wantAADSTS(t, "wrong password "+pw, res, m, 400, "AADSTS50126")
	}
	res, m := grant(user, "right")
	wantAADSTS(t, "the right password after 3 failures", res, m, 400, "AADSTS50053")
	if m["error"] != "invalid_grant" {
		t.Errorf("lockout error %v, want invalid_grant", m["error"])
	}
	clock.add(59 * time.Second)
	res, m = grant(user, "right")
	wantAADSTS(t, "within the lockout period", res, m, 400, "AADSTS50053")
	clock.add(2 * time.Second)
	res, m = grant(user, "wrong3")
	wantAADSTS(t, "a failure after the lockout", res, m, 400, "AADSTS50126")
	clock.add(61 * time.Second) // the second lockout lasts two minutes
	res, m = grant(user, "right")
	wantAADSTS(t, "a minute into the second lockout", res, m, 400, "AADSTS50053")
	clock.add(61 * time.Second)
	if res, m := grant(user, "right"); res.StatusCode != 200 {
		t.Fatalf("after the second lockout: %d %v", res.StatusCode, m)
	}
	// A success forgets the failures.
	for _, pw := range []string{"again1", "again2"} {
		res, m := grant(user, pw)
		wantAADSTS(t, "after a success", res, m, 400, "AADSTS50126")
	}
	if res, m := grant(user, "right"); res.StatusCode != 200 {
		t.Fatalf("two failures after a success locked the name: %d %v", res.StatusCode, m)
	}

	// An unknown user: the same error as a wrong password, locked alike.
	_, known := grant(user, "nope")
	res, unknown := grant("nobody@fabrikam.example", "nope")
	wantAADSTS(t, "an unknown user", res, unknown, 400, "AADSTS50126")
	for _, k := range []string{"error", "error_codes"} {
		if !equalJSON(known[k], unknown[k]) {
			t.Errorf("%s: wrong password %v, unknown user %v", k, known[k], unknown[k])
		}
	}
	if a, b := descriptionText(known), descriptionText(unknown); a != b {
		t.Errorf("descriptions differ:\n%s\n%s", a, b)
	}
	grant("nobody@fabrikam.example", "nope2")
	grant("nobody@fabrikam.example", "nope3")
	res, m = grant("nobody@fabrikam.example", "nope4")
	wantAADSTS(t, "an unknown user after 3 failures", res, m, 400, "AADSTS50053")
}

// descriptionText is an error description without its trace id and time.
func descriptionText(m map[string]any) string {
	d, _ := m["error_description"].(string)
	if i := strings.Index(d, " Trace ID:"); i >= 0 {
		d = d[:i]
	}
	return d
}

func equalJSON(a, b any) bool {
	x, _ := jsonMarshal(a)
	y, _ := jsonMarshal(b)
	return x == y
}

// A client address that used up its budget of failed sign-ins is refused,
// whatever it sends, until the budget has room again.
func TestFailureBudgetPerAddress(t *testing.T) {
	var clock *fakeClock
	budget := ratelimit.NewFailures(ratelimit.Policy{{Limit: 4, Every: time.Minute}}, func() time.Time { return clock.now() })
	clock, grant := signInFixture(t, Options{Failures: budget})
	for i := range 4 {
		res, m := grant("ann@fabrikam.example", "guess"+string(rune('a'+i)))
		wantAADSTS(t, "a guess", res, m, 400, "AADSTS50126")
	}
	res, m := grant("ann@fabrikam.example", "right")
	wantAADSTS(t, "the right password from an address out of budget", res, m, 429, "AADSTS50053")
	if res.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	clock.add(time.Minute)
	if res, m := grant("ann@fabrikam.example", "right"); res.StatusCode != 200 {
		t.Fatalf("once the budget has room again: %d %v", res.StatusCode, m)
	}
}

func jsonMarshal(v any) (string, error) { b, err := json.Marshal(v); return string(b), err }

// BenchmarkSignInFailures times a wrong password and an unknown user, in
// turn, in the same run: the two answers cost the same bcrypt work (the
// "unknown/wrong" ratio is near 1; before the dummy comparison it was
// about 0.01, which told names that exist from names that do not).
func BenchmarkSignInFailures(b *testing.B) {
	svc := newService(b, signInStore(b, "right"), Options{LockoutThreshold: -1})
	handler := NewHandler(svc, nil)
	body := func(user string) string {
		return url.Values{"grant_type": {"password"}, "client_id": {clientB}, "username": {user}, "password": {"wrong"},
			"resource": {"https://api.securitycenter.microsoft.com"}}.Encode()
	}
	wrong, unknown := body("ann@fabrikam.example"), body("nobody@fabrikam.example")
	var tWrong, tUnknown time.Duration
	run := func(form string) time.Duration {
		req := httptest.NewRequest("POST", "/"+tenantB+"/oauth2/token", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		start := time.Now()
		handler.ServeHTTP(rec, req)
		d := time.Since(start)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "AADSTS50126") {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
		return d
	}
	for b.Loop() {
		tWrong += run(wrong)
		tUnknown += run(unknown)
	}
	b.ReportMetric(float64(tWrong.Nanoseconds())/float64(b.N), "wrong-ns/op")
	b.ReportMetric(float64(tUnknown.Nanoseconds())/float64(b.N), "unknown-ns/op")
	b.ReportMetric(float64(tUnknown)/float64(tWrong), "unknown/wrong")
}
