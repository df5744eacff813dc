package fault_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/fault"
)

// apps is an AppStore of two tenants' applications.
type apps map[string][]string // tenant id → client ids

func (a apps) Tenants(context.Context) ([]openatp.Tenant, error) {
	var ts []openatp.Tenant
	for id := range a {
		ts = append(ts, openatp.Tenant{ID: id})
	}
	return ts, nil
}

func (a apps) App(_ context.Context, tenantID, clientID string) (openatp.App, error) {
	for _, c := range a[tenantID] {
		if c == clientID {
			return openatp.App{TenantID: tenantID, ClientID: c}, nil
		}
	}
	return openatp.App{}, openatp.Errorf(openatp.NotFound, "no app")
}

func scopedSet() *fault.Set {
	s := fault.NewSet(nil)
	s.Serve("GET /api/machines", "GET /api/machines/{id}", "/api/machines/{id}", "GET /api/machines/findbytag", "GET /api/v1.0/machines/{id}",
		"GET /api/alerts/{id}", "PATCH /api/alerts/{id}")
	s.Serve("/{tenant}/oauth2/token", "/{tenant}/oauth2/v2.0/token", "GET /{tenant}/discovery/v2.0/keys", "GET /{tenant}/v2.0/.well-known/openid-configuration")
	s.CheckApps(apps{"t1": {"11111111-1111-1111-1111-111111111111"}, "t2": {"22222222-2222-2222-2222-222222222222"}})
	return s
}

// Rules that could never apply are refused, saying why.
func TestRefusedRules(t *testing.T) {
	for _, tc := range []struct{ name, rule, msg string }{
		{"no such route", `{"kind":"reset","route":"GET /api/machine/{id}"}`,
			`Fault rule: route "GET /api/machine/{id}" matches no route openatp serves, so it could never apply (did you mean "GET /api/machines/{id}"?)`},
		{"no such method", `{"kind":"reset","route":"DELETE /api/alerts/{id}"}`, `route "DELETE /api/alerts/{id}" matches no route openatp serves`},
		{"outside /api/", `{"kind":"reset","route":"GET /healthz"}`,
			`Fault rule: route "GET /healthz" is outside /api/ and names no sign-in endpoint, so it could never apply: rules apply to the MDE API (/api/...) and to the sign-in endpoints (/{tenant}/oauth2/token, /{tenant}/oauth2/v2.0/token, GET /{tenant}/discovery/v2.0/keys, GET /{tenant}/v2.0/.well-known/openid-configuration)`},
		{"admin API", `{"kind":"reset","route":"/_openatp/faults"}`, `is outside /api/ and names no sign-in endpoint`},
		{"no such app", `{"kind":"reset","app":"33333333-3333-3333-3333-333333333333"}`,
			`Fault rule: app "33333333-3333-3333-3333-333333333333" is the client id of no application of any tenant, so the rule could never apply`},
		{"app of another tenant", `{"kind":"reset","tenant":"t1","app":"22222222-2222-2222-2222-222222222222"}`,
			`app "22222222-2222-2222-2222-222222222222" is the client id of no application of tenant t1`},
		{"app on a sign-in route", `{"kind":"reset","route":"POST /{tenant}/oauth2/v2.0/token","app":"11111111-1111-1111-1111-111111111111"}`,
			`route "POST /{tenant}/oauth2/v2.0/token" is a sign-in endpoint, whose requests carry no token: a rule on it may name a tenant, not an app or a user`},
		{"aadsts on latency", `{"kind":"latency","delay":"1s","aadsts":50000}`, "status, code, message and aadsts are for kind error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := scopedSet()
			_, err := s.Add(rule(t, tc.rule))
			if !openatp.IsKind(err, openatp.Invalid) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v, want Invalid with %q", err, tc.msg)
			}
			if !s.Empty() {
				t.Error("the rule was added")
			}
		})
	}
	for _, ok := range []string{
		`{"kind":"reset"}`,
		`{"kind":"reset","route":"GET /api/machines/{id}"}`,
		`{"kind":"reset","route":"GET /api/machines/mymachine1.contoso.com"}`,
		`{"kind":"reset","route":"GET /api/machines/findbyip(*)"}`,
		`{"kind":"reset","route":"/api/machines/{id}"}`,
		`{"kind":"reset","route":"GET /api/v1.0/machines/{id}"}`,
		`{"kind":"reset","app":"22222222-2222-2222-2222-222222222222"}`,
		`{"kind":"reset","tenant":"t1","app":"11111111-1111-1111-1111-111111111111"}`,
		`{"kind":"error","status":429,"route":"POST /{tenant}/oauth2/v2.0/token","tenant":"t1"}`,
		`{"kind":"latency","delay":"2s","route":"GET /{tenant}/discovery/v2.0/keys"}`,
	} {
		if _, err := scopedSet().Add(rule(t, ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// A rule on a sign-in endpoint matches the requests of its tenant, named
// by id or name in the path; a rule without a route matches /api/ only.
func TestSignInRules(t *testing.T) {
	s := scopedSet()
	if s.Beyond() {
		t.Error("an empty set reaches beyond /api/")
	}
	every := rule(t, `{"id":"every","kind":"reset"}`)
	if _, err := s.Add(every); err != nil {
		t.Fatal(err)
	}
	if s.Beyond() {
		t.Error("a rule without a route reaches beyond /api/")
	}
	token := rule(t, `{"id":"token","kind":"error","status":503,"route":"POST /{tenant}/oauth2/v2.0/token","tenant":"t1"}`)
	token.TenantName = "contoso.onmicrosoft.com"
	if _, err := s.Add(token); err != nil {
		t.Fatal(err)
	}
	if !s.Beyond() {
		t.Error("a rule on the token endpoint does not reach beyond /api/")
	}
	for _, tc := range []struct {
		q    fault.Request
		want string // the rule that applies; "" none
	}{
		{fault.Request{Method: "POST", Path: "/t1/oauth2/v2.0/token", TenantRef: "t1"}, "token"},
		{fault.Request{Method: "POST", Path: "/Contoso.onmicrosoft.com/oauth2/v2.0/token", TenantRef: "Contoso.onmicrosoft.com"}, "token"},
		{fault.Request{Method: "POST", Path: "/fabrikam.com/oauth2/v2.0/token", TenantRef: "fabrikam.com"}, ""},
		{fault.Request{Method: "POST", Path: "/t1/oauth2/token", TenantRef: "t1"}, ""},
		{fault.Request{Method: "GET", Path: "/t1/discovery/v2.0/keys", TenantRef: "t1"}, ""},
		{fault.Request{Method: "GET", Path: "/api/machines", Tenant: "t2"}, "every"},
	} {
		got := ""
		if d, ok := s.Decide(tc.q); ok {
			got = d.Rule.ID
		}
		if got != tc.want {
			t.Errorf("%s %s: rule %q applied, want %q", tc.q.Method, tc.q.Path, got, tc.want)
		}
	}
}

// An error injected into a sign-in endpoint is Entra's: its OAuth error,
// AADSTS code and description, by status or as the rule gives them.
func TestSignInError(t *testing.T) {
	now := time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ rule, want string }{
		{`{"kind":"error","status":429}`, `{"error":"temporarily_unavailable","error_description":"AADSTS50196: The server terminated an operation because it encountered a client request loop. Please contact your app vendor. Trace ID: tid Correlation ID: tid Timestamp: 2026-12-07 16:00:00Z","error_codes":[50196],"timestamp":"2026-12-07 16:00:00Z","trace_id":"tid","correlation_id":"tid"}`},
		{`{"kind":"error","status":503}`, `{"error":"temporarily_unavailable","error_description":"AADSTS50000: There was an error issuing a token or an authorization code. Please try again in a short while. Trace ID: tid Correlation ID: tid Timestamp: 2026-12-07 16:00:00Z","error_codes":[50000],"timestamp":"2026-12-07 16:00:00Z","trace_id":"tid","correlation_id":"tid"}`},
		{`{"kind":"error","status":400,"code":"invalid_grant","aadsts":50126,"message":"Error validating credentials due to invalid username or password."}`, `{"error":"invalid_grant","error_description":"AADSTS50126: Error validating credentials due to invalid username or password. Trace ID: tid Correlation ID: tid Timestamp: 2026-12-07 16:00:00Z","error_codes":[50126],"timestamp":"2026-12-07 16:00:00Z","trace_id":"tid","correlation_id":"tid"}`},
	} {
		r := rule(t, tc.rule)
		if got := string(fault.SignInError(&r, now, "tid")); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.rule, got, tc.want)
		}
	}
	r := rule(t, `{"kind":"error","status":400,"aadsts":50126}`)
	b, _ := json.Marshal(r)
	if !strings.Contains(string(b), `"aadsts":50126`) {
		t.Errorf("the rule's JSON %s lacks its aadsts", b)
	}
}

// A fail-action rule names routes that create a machine action, and no
// other; its errorHResult is 32 bits, signed or not, E_FAIL by default.
func TestFailActionRules(t *testing.T) {
	served := func() *fault.Set {
		s := fault.NewSet(nil)
		s.Serve(fault.ActionRoutes...)
		s.Serve("/api/machines/{id}/isolate", "GET /api/machines/{id}", "POST /api/machines/{id}/tags", "GET /api/machineactions/{id}",
			"POST /api/machineactions/{id}/cancel", "POST /api/v1.0/machines/{id}/isolate")
		return s
	}
	for _, tc := range []struct{ name, rule, msg string }{
		{"no route", `{"kind":"fail-action"}`, `Fault rule: kind fail-action needs a route that creates a machine action, such as "POST /api/machines/{id}/isolate"`},
		{"a read", `{"kind":"fail-action","route":"GET /api/machines/{id}"}`, `Fault rule: route "GET /api/machines/{id}" creates no machine action, so kind fail-action could never apply`},
		{"cancel", `{"kind":"fail-action","route":"POST /api/machineactions/{id}/cancel"}`, `creates no machine action`},
		{"too wide", `{"kind":"fail-action","route":"POST /api/machines/{id}/{call}"}`,
			`Fault rule: route "POST /api/machines/{id}/{call}" also matches "POST /api/machines/{id}/tags", which creates no machine action: kind fail-action applies only to routes that do`},
		{"hresult of another kind", `{"kind":"reset","error_hresult":5}`, "error_hresult is for kind fail-action"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := served()
			_, err := s.Add(rule(t, tc.rule))
			if !openatp.IsKind(err, openatp.Invalid) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v, want Invalid with %q", err, tc.msg)
			}
		})
	}
	for _, tc := range []struct {
		rule string
		want int32
	}{
		{`{"kind":"fail-action","route":"POST /api/machines/{id}/isolate"}`, fault.DefaultFailHResult},
		{`{"kind":"fail-action","route":"POST /api/v1.0/machines/{id}/isolate","error_hresult":2147500037}`, -2147467259},
		{`{"kind":"fail-action","route":"/api/machines/{id}/runliveresponse","error_hresult":-5}`, -5},
		{`{"kind":"fail-action","route":"POST /api/machines/*/StopAndQuarantineFile","probability":0.5,"delay":"10ms"}`, fault.DefaultFailHResult},
	} {
		r, err := served().Add(rule(t, tc.rule))
		if err != nil || r.HResult != tc.want {
			t.Errorf("%s: %v %d, want %d", tc.rule, err, r.HResult, tc.want)
			continue
		}
		b, _ := json.Marshal(r)
		if !strings.Contains(string(b), `"kind":"fail-action"`) || !strings.Contains(string(b), `"error_hresult":`+strconv.Itoa(int(tc.want))) {
			t.Errorf("shown as %s", b)
		}
	}
	for _, bad := range []string{`{"kind":"fail-action","error_hresult":4294967296}`, `{"kind":"fail-action","error_hresult":-2147483649}`} {
		var r fault.Rule
		if err := json.Unmarshal([]byte(bad), &r); !openatp.IsKind(err, openatp.Invalid) {
			t.Errorf("%s: %v, want Invalid", bad, err)
		}
	}
}
