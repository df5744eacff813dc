package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/openatp/openatp/adminapi"
	"github.com/openatp/openatp/sqlite"
)

var adminLine = regexp.MustCompile(`admin +(http://\S+)`)

// adminKeyOf reads the admin key serve created in the database.
func adminKeyOf(t *testing.T, db string) string {
	t.Helper()
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key, err := st.Setting(context.Background(), adminapi.AdminKeySetting)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// With --admin-addr, the admin API and /metrics are served on their own
// listener and not on the public one.
func TestAdminAddr(t *testing.T) {
	db := filepath.Join(t.TempDir(), "openatp.db")
	tenant, _, _ := newTenantApp(t, db, "admin.example")
	la := launchReplica(t, "--db", db, "--data", t.TempDir(), "--admin-addr", "127.0.0.1:0")
	r := la.wait(t)
	m := adminLine.FindStringSubmatch(la.out.String())
	if m == nil || m[1] == r.base {
		t.Fatalf("no admin listener of its own printed:\n%s", la.out.String())
	}
	admin, key := m[1], adminKeyOf(t, db)
	for _, c := range []struct {
		base, path string
		want       int
	}{
		{admin, "/_openatp/tenants/" + tenant + "/stats", 200},
		{admin, "/metrics", 200},
		{admin, "/healthz", 200},
		{admin, "/api/users/user1/machines", 404},
		{r.base, "/_openatp/tenants/" + tenant + "/stats", 404},
		{r.base, "/metrics", 404},
		{r.base, "/healthz", 200},
	} {
		if status, body := get(t, c.base, c.path, key); status != c.want {
			t.Errorf("%s%s: %d %s, want %d", c.base, c.path, status, body, c.want)
		}
	}
}

// On a public listener that is not loopback, the admin API and /metrics
// are not served unless --public-admin asks for them.
func TestAdminNotOnNonLoopback(t *testing.T) {
	db := filepath.Join(t.TempDir(), "openatp.db")
	tenant, _, _ := newTenantApp(t, db, "exposed.example")
	for _, c := range []struct {
		args []string
		want int
	}{
		{nil, 404},
		{[]string{"--public-admin"}, 200},
	} {
		la := launchReplica(t, append([]string{"--db", db, "--data", t.TempDir(), "--addr", "0.0.0.0:0"}, c.args...)...)
		r := la.wait(t)
		base := strings.Replace(r.base, "0.0.0.0", "127.0.0.1", 1)
		key := adminKeyOf(t, db)
		for _, path := range []string{"/_openatp/tenants/" + tenant + "/stats", "/metrics"} {
			if status, body := get(t, base, path, key); status != c.want {
				t.Errorf("%v %s: %d %s, want %d", c.args, path, status, body, c.want)
			}
		}
		if c.want == 404 && !strings.Contains(la.out.String(), "admin  not served") {
			t.Errorf("serve does not say the admin API is not served:\n%s", la.out.String())
		}
		if err := r.stop(); err != nil {
			t.Fatal(err)
		}
	}
}

// --public-url pins the issuer, the discovery documents and @odata.context,
// whatever Host the request names.
func TestPublicURL(t *testing.T) {
	db := filepath.Join(t.TempDir(), "openatp.db")
	tenant, clientID, secret := newTenantApp(t, db, "pinned.example")
	r := startReplica(t, "--db", db, "--data", t.TempDir(), "--public-url", "https://atp.example.com/")
	send := func(req *http.Request) (int, string) {
		req.Host = "evil.example"
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	form := strings.NewReader("grant_type=client_credentials&client_id=" + clientID + "&client_secret=" + secret + "&resource=https://api.securitycenter.microsoft.com")
	req, _ := http.NewRequest("POST", r.base+"/"+tenant+"/oauth2/token", form)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, body := send(req)
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(body), &tr); err != nil || status != 200 {
		t.Fatalf("token: %d %s", status, body)
	}
	if iss := jwtClaim(t, tr.AccessToken, "iss"); iss != "https://atp.example.com/"+tenant+"/" {
		t.Errorf("iss %q, want the public URL's", iss)
	}
	req, _ = http.NewRequest("GET", r.base+"/"+tenant+"/v2.0/.well-known/openid-configuration", nil)
	if status, body := send(req); status != 200 || strings.Contains(body, "evil.example") || !strings.Contains(body, `"issuer":"https://atp.example.com/`+tenant+`/v2.0"`) {
		t.Errorf("discovery: %d %s", status, body)
	}
	// The token works on the server's own address, and the answer names
	// the public URL.
	req, _ = http.NewRequest("GET", r.base+"/api/machines", nil)
	req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
	if status, body := send(req); status != 200 || !strings.Contains(body, `"@odata.context":"https://atp.example.com/api/$metadata#Machines"`) {
		t.Errorf("machines: %d %s", status, body)
	}
}

// jwtClaim returns a string claim of a token, unverified.
func jwtClaim(t *testing.T, tok, name string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	s, _ := m[name].(string)
	return s
}
