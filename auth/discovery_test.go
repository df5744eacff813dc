package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func get(tb testing.TB, u string) (*http.Response, map[string]any) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return do(tb, http.DefaultClient, req)
}

// Instance discovery answers as Entra does for Entra's hosts, and for
// openatp's own names; other hosts are refused with invalid_instance.
func TestInstanceDiscovery(t *testing.T) {
	svc := newService(t, newMemStore(), Options{Hostnames: []string{"openatp.example"}})
	srv := httptest.NewServer(NewHandler(svc, nil))
	defer srv.Close()
	self := srv.Listener.Addr().String()
	ww := map[string]any{
		"preferred_network": "login.microsoftonline.com",
		"preferred_cache":   "login.windows.net",
		"aliases":           []any{"login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"},
	}
	own := func(h string) map[string]any {
		return map[string]any{"preferred_network": h, "preferred_cache": h, "aliases": []any{h}}
	}
	ask := func(path, authz string) (*http.Response, map[string]any) {
		q := url.Values{"api-version": {"1.1"}}
		if authz != "" {
			q.Set("authorization_endpoint", authz)
		}
		return get(t, srv.URL+path+"?"+q.Encode())
	}
	for _, c := range []struct {
		name, path, authz string
		want              map[string]any
	}{
		{"entra v2", "/common/discovery/instance", "https://login.microsoftonline.com/" + tenantA + "/oauth2/v2.0/authorize", map[string]any{
			"tenant_discovery_endpoint": "https://login.microsoftonline.com/" + tenantA + "/v2.0/.well-known/openid-configuration",
			"api-version":               "1.1",
			"metadata":                  []any{ww, own(self), own("openatp.example")},
		}},
		{"entra v1 under a tenant", "/" + nameA + "/discovery/instance", "https://login.microsoftonline.com/" + nameA + "/oauth2/authorize", map[string]any{
			"tenant_discovery_endpoint": "https://login.microsoftonline.com/" + nameA + "/.well-known/openid-configuration",
			"api-version":               "1.1",
			"metadata":                  []any{ww, own(self), own("openatp.example")},
		}},
		{"own host with port", "/common/discovery/instance", "https://" + self + "/organizations/oauth2/v2.0/authorize", map[string]any{
			"tenant_discovery_endpoint": "https://" + self + "/organizations/v2.0/.well-known/openid-configuration",
			"api-version":               "1.1",
			"metadata":                  []any{ww, own(self), own("openatp.example")},
		}},
		{"configured host name", "/common/discovery/instance", "https://openatp.example:8443/" + tenantA + "/oauth2/v2.0/authorize", map[string]any{
			"tenant_discovery_endpoint": "https://openatp.example:8443/" + tenantA + "/v2.0/.well-known/openid-configuration",
			"api-version":               "1.1",
			"metadata":                  []any{ww, own("openatp.example:8443"), own(self), own("openatp.example")},
		}},
	} {
		res, m := ask(c.path, c.authz)
		if res.StatusCode != 200 {
			t.Errorf("%s: status %d %v", c.name, res.StatusCode, m)
			continue
		}
		if d := cmp.Diff(c.want, m); d != "" {
			t.Errorf("%s: (-want +got)\n%s", c.name, d)
		}
	}
	for _, c := range []struct{ name, authz, code string }{
		{"unknown host", "https://login.example.com/" + tenantA + "/oauth2/v2.0/authorize", "invalid_instance"},
		{"http", "http://login.microsoftonline.com/" + tenantA + "/oauth2/v2.0/authorize", "invalid_instance"},
		{"not an authorize endpoint", "https://login.microsoftonline.com/" + tenantA + "/oauth2/v2.0/token", "invalid_instance"},
		{"missing", "", "invalid_request"},
	} {
		res, m := ask("/common/discovery/instance", c.authz)
		if res.StatusCode != 400 || m["error"] != c.code {
			t.Errorf("%s: status %d %v, want 400 %s", c.name, res.StatusCode, m, c.code)
		}
	}
}

// The user realm is Managed for a tenant's domain and for a directory
// user of any tenant, and Entra's Unknown answer otherwise, under both
// spellings MSAL uses.
func TestUserRealm(t *testing.T) {
	svc := newService(t, newMemStore(), Options{})
	srv := httptest.NewServer(NewHandler(svc, nil))
	defer srv.Close()
	host := srv.Listener.Addr().String()
	managed := func(domain string) map[string]any {
		return map[string]any{"ver": "1.0", "account_type": "Managed", "domain_name": domain,
			"cloud_instance_name": hostOnly(host), "cloud_audience_urn": "urn:federation:MicrosoftOnline"}
	}
	unknown := map[string]any{"ver": "1.0", "account_type": "Unknown", "cloud_instance_name": hostOnly(host)}
	for _, c := range []struct {
		path string
		want map[string]any
	}{
		{"/common/userrealm/analyst@" + nameA + "?api-version=1.0", managed(nameA)},
		{"/common/UserRealm/Analyst@CONTOSO.onmicrosoft.com?api-version=1.0", managed(nameA)},
		{"/common/userrealm/ann@fabrikam.example?api-version=1.0", managed("fabrikam.example")},
		{"/common/userrealm/bob@fabrikam.example?api-version=1.0", unknown},
		{"/common/userrealm/nobody@example.org?api-version=1.0", unknown},
		{"/common/userrealm/no-domain?api-version=1.0", unknown},
	} {
		res, m := get(t, srv.URL+c.path)
		if res.StatusCode != 200 {
			t.Errorf("%s: status %d", c.path, res.StatusCode)
		}
		if d := cmp.Diff(c.want, m); d != "" {
			t.Errorf("%s: (-want +got)\n%s", c.path, d)
		}
	}
}

// The discovery document names the grants the token endpoints serve.
func TestOpenIDConfigGrantTypes(t *testing.T) {
	svc := newService(t, newMemStore(), Options{})
	srv := httptest.NewServer(NewHandler(svc, nil))
	defer srv.Close()
	for _, p := range []string{"/.well-known/openid-configuration", "/v2.0/.well-known/openid-configuration"} {
		_, m := get(t, srv.URL+"/"+tenantA+p)
		if d := cmp.Diff([]any{"client_credentials", "password"}, m["grant_types_supported"]); d != "" {
			t.Errorf("%s: grant_types_supported (-want +got)\n%s", p, d)
		}
	}
}

// The password grant answers with the user's ID token and client_info, as
// MSAL expects of a sign-in: on v2 when openid is asked, always on v1.
func TestPasswordGrantIDToken(t *testing.T) {
	st := signInStore(t, "pw")
	svc := newService(t, st, Options{})
	srv := httptest.NewServer(NewHandler(svc, nil))
	defer srv.Close()
	user := st.users[tenantB][0]
	claims := func(tok string) map[string]any {
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			t.Fatalf("not a JWT: %q", tok)
		}
		b, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	grant := func(path string, kv ...string) map[string]any {
		v := url.Values{"grant_type": {"password"}, "client_id": {clientB}, "username": {user.UserName}, "password": {"pw"}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		res, m := post(t, http.DefaultClient, srv.URL+"/"+tenantB+path, form, v.Encode())
		if res.StatusCode != 200 {
			t.Fatalf("%s: status %d %v", path, res.StatusCode, m)
		}
		return m
	}
	m := grant("/oauth2/v2.0/token", "scope", "https://api.securitycenter.microsoft.com/.default openid profile offline_access", "client_info", "1")
	id := claims(m["id_token"].(string))
	base := srv.URL
	if id["aud"] != clientB || id["tid"] != tenantB || id["oid"] != user.ID || id["sub"] != user.ID ||
		id["preferred_username"] != user.UserName || id["ver"] != "2.0" || id["iss"] != Issuer(base, tenantB, 2) {
		t.Errorf("v2 ID token claims %v", id)
	}
	ci, _ := base64.RawURLEncoding.DecodeString(m["client_info"].(string))
	if string(ci) != `{"uid":"`+user.ID+`","utid":"`+tenantB+`"}` {
		t.Errorf("client_info %s", ci)
	}
	if _, err := svc.Verify(context.Background(), m["access_token"].(string), srv.Listener.Addr().String()); err != nil {
		t.Errorf("access token: %v", err)
	}
	if m := grant("/oauth2/v2.0/token", "scope", "https://api.securitycenter.microsoft.com/.default"); m["id_token"] != nil || m["client_info"] != nil {
		t.Errorf("v2 without openid or client_info: %v", m)
	}
	m = grant("/oauth2/token", "resource", "https://api.securitycenter.microsoft.com")
	if id := claims(m["id_token"].(string)); id["upn"] != user.UserName || id["ver"] != "1.0" || id["iss"] != Issuer(base, tenantB, 1) {
		t.Errorf("v1 ID token claims %v", id)
	}
}
