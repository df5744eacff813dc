package auth

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// post sends a form to a token endpoint.
func post(tb testing.TB, c *http.Client, u, contentType, body string, hdr ...string) (*http.Response, map[string]any) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return do(tb, c, req)
}

func do(tb testing.TB, c *http.Client, req *http.Request) (*http.Response, map[string]any) {
	tb.Helper()
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatalf("%s %s: status %d, body not JSON: %q", req.Method, req.URL, resp.StatusCode, b)
	}
	return resp, m
}

const form = "application/x-www-form-urlencoded"

func TestTokenEndpoint(t *testing.T) {
	st := newMemStore()
	svc := newService(t, st, Options{})
	srv := httptest.NewServer(NewHandler(svc, nil))
	defer srv.Close()
	host := srv.Listener.Addr().String()
	v1 := srv.URL + "/" + tenantA + "/oauth2/token"
	v2 := srv.URL + "/" + tenantA + "/oauth2/v2.0/token"
	cc := func(kv ...string) string {
		v := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientA}, "client_secret": {secretA}}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				v.Del(kv[i])
			} else {
				v.Set(kv[i], kv[i+1])
			}
		}
		return v.Encode()
	}

	type tc struct {
		name       string
		url, ctype string
		body       string
		hdr        []string
		status     int
		errCode    string // OAuth error, "" for success
		errText    string // in error_description
		ver        int    // success: expected token version
	}
	tests := []tc{
		{name: "v1 resource", url: v1, ctype: form, body: cc("resource", "https://api.securitycenter.microsoft.com"), status: 200, ver: 1},
		{name: "v2 scope", url: v2, ctype: form, body: cc("scope", "https://api.securitycenter.microsoft.com/.default"), status: 200, ver: 2},
		{name: "v2 scope with openid", url: v2, ctype: form, body: cc("scope", "openid https://api.securitycenter.microsoft.com/.default offline_access"), status: 200, ver: 2},
		{name: "tenant by name, any case", url: srv.URL + "/Contoso.OnMicrosoft.com/oauth2/token", ctype: form, body: cc("resource", "https://api.securitycenter.microsoft.com"), status: 200, ver: 1},
		{name: "content type with charset", url: v1, ctype: form + "; charset=utf-8", body: cc("resource", "https://api.securitycenter.microsoft.com"), status: 200, ver: 1},
		{name: "client_secret_basic", url: v1, ctype: form, body: cc("client_secret", "", "client_id", "", "resource", ServiceAppID),
			hdr: []string{"Authorization", basic(clientA, secretA)}, status: 200, ver: 1},
		{name: "basic and post secret", url: v1, ctype: form, body: cc("resource", ServiceAppID),
			hdr: []string{"Authorization", basic(clientA, secretA)}, status: 400, errCode: "invalid_request", errText: "both"},
		{name: "basic wrong secret", url: v1, ctype: form, body: cc("client_secret", "", "resource", ServiceAppID),
			hdr: []string{"Authorization", basic(clientA, "nope")}, status: 401, errCode: "invalid_client", errText: "AADSTS7000215"},
		{name: "wrong secret", url: v1, ctype: form, body: cc("client_secret", "wrong", "resource", ServiceAppID), status: 401, errCode: "invalid_client", errText: "AADSTS7000215: Invalid client secret provided."},
		{name: "secret of another app", url: v1, ctype: form, body: cc("client_secret", secretB, "resource", ServiceAppID), status: 401, errCode: "invalid_client", errText: "AADSTS7000215"},
		{name: "no secret", url: v1, ctype: form, body: cc("client_secret", "", "resource", ServiceAppID), status: 401, errCode: "invalid_client", errText: "AADSTS7000218"},
		{name: "unknown client", url: v1, ctype: form, body: cc("client_id", "00000000-1111-4222-8333-444444444444", "resource", ServiceAppID), status: 400, errCode: "unauthorized_client", errText: "AADSTS700016"},
		{name: "client of another tenant", url: v1, ctype: form, body: cc("client_id", clientB, "client_secret", secretB, "resource", ServiceAppID), status: 400, errCode: "unauthorized_client", errText: "AADSTS700016"},
		{name: "unknown tenant", url: srv.URL + "/nosuch.onmicrosoft.com/oauth2/token", ctype: form, body: cc("resource", ServiceAppID), status: 400, errCode: "invalid_request", errText: "AADSTS90002: Tenant 'nosuch.onmicrosoft.com' not found"},
		{name: "unknown resource v1", url: v1, ctype: form, body: cc("resource", "https://management.azure.com"), status: 400, errCode: "invalid_resource", errText: "AADSTS500011"},
		{name: "unknown resource v2", url: v2, ctype: form, body: cc("scope", "https://management.azure.com/.default"), status: 400, errCode: "invalid_resource", errText: "AADSTS500011"},
		{name: "scope without .default", url: v2, ctype: form, body: cc("scope", "https://api.securitycenter.microsoft.com/Machine.Read.All"), status: 400, errCode: "invalid_scope", errText: "AADSTS1002012"},
		{name: "two resources", url: v2, ctype: form, body: cc("scope", "https://api.securitycenter.microsoft.com/.default https://api.security.microsoft.com/.default"), status: 400, errCode: "invalid_scope"},
		{name: "missing grant_type", url: v1, ctype: form, body: cc("grant_type", "", "resource", ServiceAppID), status: 400, errCode: "invalid_request", errText: "'grant_type'"},
		{name: "missing client_id", url: v1, ctype: form, body: cc("client_id", "", "resource", ServiceAppID), status: 400, errCode: "invalid_request", errText: "'client_id'"},
		{name: "missing resource", url: v1, ctype: form, body: cc(), status: 400, errCode: "invalid_request", errText: "'resource'"},
		{name: "missing scope", url: v2, ctype: form, body: cc(), status: 400, errCode: "invalid_request", errText: "'scope'"},
		{name: "password grant, unknown user", url: v1, ctype: form, body: cc("grant_type", "password", "username", "u", "password", "p", "resource", ServiceAppID), status: 400, errCode: "invalid_grant", errText: "AADSTS50126"},
		{name: "unknown grant", url: v1, ctype: form, body: cc("grant_type", "magic", "resource", ServiceAppID), status: 400, errCode: "unsupported_grant_type"},
		{name: "duplicate parameter", url: v1, ctype: form, body: cc("resource", ServiceAppID) + "&client_id=x", status: 400, errCode: "invalid_request", errText: "more than once"},
		{name: "JSON content type", url: v1, ctype: "application/json", body: `{"grant_type":"client_credentials"}`, status: 400, errCode: "invalid_request", errText: "x-www-form-urlencoded"},
		{name: "no content type", url: v1, ctype: "", body: cc("resource", ServiceAppID), status: 400, errCode: "invalid_request"},
		{name: "garbage content type", url: v1, ctype: ";;==", body: cc("resource", ServiceAppID), status: 400, errCode: "invalid_request"},
		{name: "garbage body", url: v1, ctype: form, body: "%zz%%%&&=\x00\xff;;", status: 400, errCode: "invalid_request"},
		{name: "binary body", url: v1, ctype: form, body: "\x00\x01\x02\xff\xfe", status: 400, errCode: "invalid_request"},
		{name: "empty body", url: v1, ctype: form, body: "", status: 400, errCode: "invalid_request", errText: "'grant_type'"},
		{name: "huge body", url: v1, ctype: form, body: cc("resource", ServiceAppID) + "&pad=" + strings.Repeat("a", 70<<10), status: 400, errCode: "invalid_request", errText: "larger"},
	}
	for _, aud := range Audiences {
		tests = append(tests,
			tc{name: "v1 " + aud, url: v1, ctype: form, body: cc("resource", aud), status: 200, ver: 1},
			tc{name: "v1 " + aud + "/", url: v1, ctype: form, body: cc("resource", aud+"/"), status: 200, ver: 1},
			tc{name: "v2 " + aud, url: v2, ctype: form, body: cc("scope", aud+"/.default"), status: 200, ver: 2})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, m := post(t, srv.Client(), tt.url, tt.ctype, tt.body, tt.hdr...)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; body %v", resp.StatusCode, tt.status, m)
			}
			if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Errorf("Cache-Control %q", cc)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			if tt.errCode != "" {
				desc, _ := m["error_description"].(string)
				if m["error"] != tt.errCode || !strings.Contains(desc, tt.errText) || !strings.HasPrefix(desc, "AADSTS") {
					t.Errorf("error %v / %q, want %s / %q", m["error"], desc, tt.errCode, tt.errText)
				}
				if _, ok := m["access_token"]; ok {
					t.Error("error response with a token")
				}
				return
			}
			// The shape of each version's answer: TestTokenAnswerShape.
			wantExp, wantLen := any(float64(3599)), 4
			if tt.ver == 1 {
				wantExp, wantLen = "3599", 7
			}
			if m["token_type"] != "Bearer" || m["expires_in"] != wantExp || m["ext_expires_in"] != wantExp || len(m) != wantLen {
				t.Errorf("response %v", m)
			}
			tok, _ := m["access_token"].(string)
			p, err := svc.Verify(context.Background(), tok, host)
			if err != nil {
				t.Fatalf("minted token rejected: %v", err)
			}
			if p.TenantID != tenantA || p.ClientID != clientA || p.ObjectID != objectA || len(p.Roles) != 2 || p.Delegated {
				t.Errorf("principal %+v", p)
			}
			claims := tokenClaimsOf(t, tok)
			wantIss := srv.URL + "/" + tenantA + "/"
			if tt.ver == 2 {
				wantIss += "v2.0"
			}
			if claims["iss"] != wantIss {
				t.Errorf("iss %v, want %s", claims["iss"], wantIss)
			}
		})
	}

	t.Run("GET", func(t *testing.T) {
		for _, u := range []string{v1, v2} {
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			resp, m := do(t, srv.Client(), req)
			if resp.StatusCode != 400 || m["error"] != "invalid_request" || !strings.Contains(m["error_description"].(string), "AADSTS900561") {
				t.Errorf("GET %s: %d %v", u, resp.StatusCode, m)
			}
		}
	})
}

func basic(id, secret string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return req.Header.Get("Authorization")
}

func tokenClaimsOf(tb testing.TB, tok string) map[string]any {
	tb.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		tb.Fatalf("token %q", tok)
	}
	var m map[string]any
	if err := json.Unmarshal(mustDecode(tb, parts[1]), &m); err != nil {
		tb.Fatal(err)
	}
	return m
}

func TestDiscovery(t *testing.T) {
	st := newMemStore()
	svc := newService(t, st, Options{})
	srv := httptest.NewTLSServer(NewHandler(svc, nil))
	defer srv.Close()
	get := func(path string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("X-Forwarded-Proto", "http") // not trusted
		return do(t, srv.Client(), req)
	}
	tb := srv.URL + "/" + tenantA
	for _, tt := range []struct {
		path                    string
		issuer, token, jwks, az string
	}{
		{"/" + tenantA + "/v2.0/.well-known/openid-configuration", tb + "/v2.0", tb + "/oauth2/v2.0/token", tb + "/discovery/v2.0/keys", tb + "/oauth2/v2.0/authorize"},
		{"/CONTOSO.onmicrosoft.com/v2.0/.well-known/openid-configuration", tb + "/v2.0", tb + "/oauth2/v2.0/token", tb + "/discovery/v2.0/keys", tb + "/oauth2/v2.0/authorize"},
		{"/" + tenantA + "/.well-known/openid-configuration", tb + "/", tb + "/oauth2/token", tb + "/discovery/keys", tb + "/oauth2/authorize"},
	} {
		resp, m := get(tt.path)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", tt.path, resp.StatusCode, m)
		}
		if m["issuer"] != tt.issuer || m["token_endpoint"] != tt.token || m["jwks_uri"] != tt.jwks || m["authorization_endpoint"] != tt.az {
			t.Errorf("%s: %v", tt.path, m)
		}
		for _, k := range []string{"response_types_supported", "subject_types_supported", "id_token_signing_alg_values_supported", "token_endpoint_auth_methods_supported", "tenant_region_scope"} {
			if _, ok := m[k]; !ok {
				t.Errorf("%s: no %s", tt.path, k)
			}
		}
		// The advertised endpoints are served.
		jr, jwks := get(strings.TrimPrefix(m["jwks_uri"].(string), srv.URL))
		if jr.StatusCode != 200 {
			t.Errorf("jwks_uri: %d", jr.StatusCode)
		}
		keys, _ := jwks["keys"].([]any)
		if len(keys) != 1 || keys[0].(map[string]any)["kid"] != svc.ActiveKeyID() || keys[0].(map[string]any)["kty"] != "RSA" {
			t.Errorf("jwks %v", jwks)
		}
	}
	resp, m := get("/nosuch/v2.0/.well-known/openid-configuration")
	if resp.StatusCode != 400 || !strings.Contains(m["error_description"].(string), "AADSTS90002: Tenant 'nosuch' not found") {
		t.Errorf("unknown tenant: %d %v", resp.StatusCode, m)
	}
	resp, m = get("/nosuch/discovery/v2.0/keys")
	if resp.StatusCode != 400 || m["error"] != "invalid_request" {
		t.Errorf("unknown tenant keys: %d %v", resp.StatusCode, m)
	}
}

func TestDiscoveryPlainHTTPIgnoresForwardedProto(t *testing.T) {
	svc := newService(t, newMemStore(), Options{})
	srv := httptest.NewServer(NewHandler(svc, nil))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/"+nameA+"/v2.0/.well-known/openid-configuration", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-Host", "evil.example.com")
	resp, m := do(t, srv.Client(), req)
	if want := srv.URL + "/" + tenantA + "/v2.0"; resp.StatusCode != 200 || m["issuer"] != want {
		t.Errorf("%d issuer %v, want %s", resp.StatusCode, m["issuer"], want)
	}
}

func TestPatternsMountOnAnotherMux(t *testing.T) {
	svc := newService(t, newMemStore(), Options{})
	h := NewHandler(svc, nil)
	mux := http.NewServeMux()
	for _, p := range Patterns {
		mux.Handle(p, h)
	}
	mux.HandleFunc("GET /api/users/{id}/machines", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, path := range []string{"/" + tenantA + "/discovery/keys", "/" + tenantA + "/discovery/v2.0/keys", "/" + tenantA + "/.well-known/openid-configuration", "/" + tenantA + "/v2.0/.well-known/openid-configuration"} {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if resp, m := do(t, srv.Client(), req); resp.StatusCode != 200 {
			t.Errorf("%s: %d %v", path, resp.StatusCode, m)
		}
	}
	resp, _ := post(t, srv.Client(), srv.URL+"/"+tenantA+"/oauth2/v2.0/token", form,
		url.Values{"grant_type": {"client_credentials"}, "client_id": {clientA}, "client_secret": {secretA}, "scope": {ServiceAppID + "/.default"}}.Encode())
	if resp.StatusCode != 200 {
		t.Errorf("token via mounted routes: %d", resp.StatusCode)
	}
}
