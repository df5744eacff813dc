package httpserve_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestFaultRulesThatCannotApply: the admin API refuses a rule that could
// never apply, saying why.
func TestFaultRulesThatCannotApply(t *testing.T) {
	f := adminFixture(t)
	for _, tc := range []struct{ name, rule, msg string }{
		{"no such route", `{"kind":"reset","route":"GET /api/machine/{id}"}`,
			`Fault rule: route "GET /api/machine/{id}" matches no route openatp serves, so it could never apply (did you mean "GET /api/machines/{id}"?)`},
		{"outside /api/", `{"kind":"reset","route":"GET /healthz"}`,
			`Fault rule: route "GET /healthz" is outside /api/ and names no sign-in endpoint, so it could never apply: rules apply to the MDE API (/api/...) and to the sign-in endpoints (/{tenant}/oauth2/token, /{tenant}/oauth2/v2.0/token, GET /{tenant}/.well-known/openid-configuration, GET /{tenant}/v2.0/.well-known/openid-configuration, GET /{tenant}/discovery/keys, GET /{tenant}/discovery/v2.0/keys, GET /{tenant}/discovery/instance, GET /common/userrealm/{upn}, GET /common/UserRealm/{upn})`},
		{"no such app", `{"kind":"reset","app":"00000000-0000-0000-0000-000000000000"}`,
			`Fault rule: app "00000000-0000-0000-0000-000000000000" is the client id of no application of any tenant, so the rule could never apply`},
		{"an app on a sign-in route", `{"kind":"reset","route":"POST /{tenant}/oauth2/token","app":"` + f.app.ClientID + `"}`,
			`Fault rule: route "POST /{tenant}/oauth2/token" is a sign-in endpoint, whose requests carry no token: a rule on it may name a tenant, not an app or a user`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.admin(t, "POST", "/_openatp/faults", adminKey, "application/json", []byte(tc.rule))
			checkError(t, r, 400, "InvalidInput")
			var body struct{ Error struct{ Message string } }
			if err := json.Unmarshal(r.body, &body); err != nil || body.Error.Message != tc.msg {
				t.Errorf("message %q, want %q (%v)", body.Error.Message, tc.msg, err)
			}
		})
	}
	if r := f.admin(t, "GET", "/_openatp/faults", adminKey, "", nil); strings.TrimSpace(string(r.body)) != "[]" {
		t.Errorf("rules after the refusals: %s", r.body)
	}
	f.addFault(t, `{"kind":"reset","app":"`+strings.ToUpper(f.app.ClientID)+`"}`) // an app that exists, in any case
}

// TestFaultSignIn: rules apply to the sign-in endpoints too: an injected
// error is Entra's (its OAuth error and AADSTS code), latency delays the
// JWKS; a rule of one tenant's token endpoint matches it by id or name
// and leaves the other endpoints alone.
func TestFaultSignIn(t *testing.T) {
	f := adminFixture(t)
	f.addFault(t, `{"id":"throttle","kind":"error","status":429,"route":"POST /{tenant}/oauth2/v2.0/token","tenant":"contoso.onmicrosoft.com"}`)
	f.addFault(t, `{"id":"slow-keys","kind":"latency","delay":"300ms","route":"GET /{tenant}/discovery/v2.0/keys"}`)
	token := func(path string) (*http.Response, map[string]any) {
		t.Helper()
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {f.app.ClientID}, "client_secret": {"wrong"},
			"scope": {"https://api.securitycenter.microsoft.com/.default"}, "resource": {"https://api.securitycenter.microsoft.com"}}
		res, err := f.srv.Client().PostForm(f.srv.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return res, body
	}
	for _, tn := range []string{"contoso.onmicrosoft.com", "CONTOSO.onmicrosoft.com", f.tenant.ID} {
		res, body := token("/" + tn + "/oauth2/v2.0/token")
		desc, _ := body["error_description"].(string)
		if res.StatusCode != 429 || res.Header.Get("Retry-After") != "1" || res.Header.Get("Content-Type") != "application/json; charset=utf-8" ||
			body["error"] != "temporarily_unavailable" || !strings.HasPrefix(desc, "AADSTS50196: ") || body["trace_id"] == nil {
			t.Errorf("token of %s: %d %v %v", tn, res.StatusCode, res.Header, body)
		}
		if codes, _ := body["error_codes"].([]any); len(codes) != 1 || codes[0] != float64(50196) {
			t.Errorf("token of %s: error_codes %v", tn, body["error_codes"])
		}
	}
	// The v1 endpoint answers for itself: the secret is wrong.
	if res, body := token("/" + f.tenant.ID + "/oauth2/token"); res.StatusCode != 401 || body["error"] != "invalid_client" {
		t.Errorf("v1 token: %d %v", res.StatusCode, body)
	}
	start := time.Now()
	res, err := f.srv.Client().Get(f.srv.URL + "/" + f.tenant.ID + "/discovery/v2.0/keys")
	if err != nil {
		t.Fatal(err)
	}
	var keys struct{ Keys []any }
	err = json.NewDecoder(res.Body).Decode(&keys)
	res.Body.Close()
	if took := time.Since(start); took < 300*time.Millisecond || res.StatusCode != 200 || err != nil || len(keys.Keys) == 0 {
		t.Errorf("JWKS with 300ms of latency: %d after %v, %d keys, %v", res.StatusCode, took, len(keys.Keys), err)
	}
	var rules []struct {
		ID   string
		Hits int
	}
	_ = json.Unmarshal(f.admin(t, "GET", "/_openatp/faults", adminKey, "", nil).body, &rules)
	if len(rules) != 2 || rules[0].Hits != 3 || rules[1].Hits != 1 {
		t.Errorf("rules %+v, want 3 and 1 hits", rules)
	}
}
