package auth

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rawFields returns the top-level fields of a JSON object in the order
// written, each with its raw value.
func rawFields(tb testing.TB, b []byte) (keys []string, vals map[string]json.RawMessage) {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		tb.Fatalf("not an object: %s", b)
	}
	vals = map[string]json.RawMessage{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			tb.Fatal(err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			tb.Fatal(err)
		}
		keys = append(keys, k.(string))
		vals[k.(string)] = v
	}
	return keys, vals
}

// The token answers have Entra ID's fields, in its order and with its
// types: on v1 the times are strings of digits and expires_on, not_before
// and resource are added (connectors cache on expires_on); on v2 they are
// numbers. A delegated token's answer names its scope.
func TestTokenAnswerShape(t *testing.T) {
	st := signInStore(t, "right")
	now := time.Unix(1796660894, 0)
	svc := newService(t, st, Options{Now: func() time.Time { return now }})
	srv := httptest.NewServer(NewHandler(svc, nil))
	defer srv.Close()

	const res = "https://api.securitycenter.microsoft.com"
	app := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientA}, "client_secret": {secretA}}
	user := url.Values{"grant_type": {"password"}, "client_id": {clientB}, "username": {"ann@fabrikam.example"}, "password": {"right"}}
	with := func(v url.Values, kv ...string) string {
		w := url.Values{}
		for k, vs := range v {
			w[k] = vs
		}
		for i := 0; i < len(kv); i += 2 {
			w.Set(kv[i], kv[i+1])
		}
		return w.Encode()
	}
	for _, tt := range []struct {
		name   string
		path   string
		body   string
		keys   string            // the fields, in order
		values map[string]string // raw JSON values
	}{
		{
			name: "v1 application", path: "/" + tenantA + "/oauth2/token", body: with(app, "resource", res),
			keys: "token_type expires_in ext_expires_in expires_on not_before resource access_token",
			values: map[string]string{"token_type": `"Bearer"`, "expires_in": `"3599"`, "ext_expires_in": `"3599"`,
				"expires_on": `"1796664493"`, "not_before": `"1796660894"`, "resource": `"` + res + `"`},
		},
		{
			name: "v1 application, resource as written", path: "/" + tenantA + "/oauth2/token", body: with(app, "resource", ServiceAppID+"/"),
			keys:   "token_type expires_in ext_expires_in expires_on not_before resource access_token",
			values: map[string]string{"expires_in": `"3599"`, "resource": `"` + ServiceAppID + `/"`},
		},
		{
			name: "v2 application", path: "/" + tenantA + "/oauth2/v2.0/token", body: with(app, "scope", res+"/.default"),
			keys:   "token_type expires_in ext_expires_in access_token",
			values: map[string]string{"token_type": `"Bearer"`, "expires_in": `3599`, "ext_expires_in": `3599`},
		},
		{
			name: "v1 delegated", path: "/" + tenantB + "/oauth2/token", body: with(user, "resource", res),
			keys: "token_type scope expires_in ext_expires_in expires_on not_before resource access_token id_token",
			values: map[string]string{"scope": `"Machine.Read"`, "expires_in": `"3599"`, "expires_on": `"1796664493"`,
				"not_before": `"1796660894"`, "resource": `"` + res + `"`},
		},
		{
			name: "v2 delegated", path: "/" + tenantB + "/oauth2/v2.0/token", body: with(user, "scope", res+"/.default openid profile offline_access", "client_info", "1"),
			keys: "token_type scope expires_in ext_expires_in access_token id_token client_info",
			values: map[string]string{"scope": `"` + res + `/Machine.Read ` + res + `/.default openid profile"`,
				"expires_in": `3599`, "ext_expires_in": `3599`},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL+tt.path, form, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			keys, vals := rawFields(t, b)
			if got := strings.Join(keys, " "); got != tt.keys {
				t.Errorf("fields\n got %s\nwant %s", got, tt.keys)
			}
			for k, want := range tt.values {
				if got := string(vals[k]); got != want {
					t.Errorf("%s = %s, want %s", k, got, want)
				}
			}
			if _, err := svc.Verify(t.Context(), strings.Trim(string(vals["access_token"]), `"`), srv.Listener.Addr().String()); err != nil {
				t.Errorf("access_token: %v", err)
			}
		})
	}
}
