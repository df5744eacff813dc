package mdeapi_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/adminapi"
	"github.com/openatp/openatp/auth"
	"github.com/openatp/openatp/internal/apitest"
	"github.com/openatp/openatp/sqlite"
)

// Nothing unauthenticated touches the store: garbage, unsigned, forged,
// wrong-issuer and wrong-kid tokens, and admin calls with a wrong key, are
// refused from memory. Every call of the real store is counted.
func TestUnauthenticatedRequestsCostNoStoreCall(t *testing.T) {
	ctx := context.Background()
	real, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "openatp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { real.Close() })
	tn, err := openatp.NewTenant("contoso.onmicrosoft.com", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	app, _, err := openatp.NewApp(tn.ID, "reader", []string{openatp.PermMachineReadAll}, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{real.CreateTenant(ctx, tn), real.CreateApp(ctx, app), real.SetSetting(ctx, adminapi.AdminKeySetting, adminKey)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	store := &countingStore{s: real}
	svc, err := auth.New(ctx, store, auth.Options{}) // no background refresh: its polls would count
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	if err := svc.TrustIssuer(ctx, auth.ExternalIssuer{TenantID: tn.ID, Issuer: "https://idp.example/realms/r", JWKSURL: "https://idp.example/certs"}); err != nil {
		t.Fatal(err)
	}
	server := apitest.NewServer(apitest.Config{Store: store, Verifier: svc, Settings: svc})
	t.Cleanup(func() { server.Close() })
	srv := httptest.NewServer(server.Handler())
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv}

	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := jwt.MapClaims{"iss": srv.URL + "/" + tn.ID + "/", "tid": tn.ID, "appid": app.ClientID, "aud": auth.Audiences[0],
		"roles": []string{openatp.PermMachineReadAll}, "exp": now.Add(time.Hour).Unix(), "nbf": now.Unix()}
	sign := func(m jwt.SigningMethod, key any, header map[string]any, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(m, c)
		for k, v := range header {
			tok.Header[k] = v
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for k, v := range claims {
			c[k] = v
		}
		c[k] = v
		return c
	}
	tokens := map[string]string{
		"garbage":                  "garbage",
		"three garbage segments":   "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln",
		"unsigned (alg none)":      sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"kid": svc.ActiveKeyID()}, claims),
		"HS256 with our kid":       sign(jwt.SigningMethodHS256, []byte("secret"), map[string]any{"kid": svc.ActiveKeyID()}, claims),
		"forged with our kid":      sign(jwt.SigningMethodRS256, foreign, map[string]any{"kid": svc.ActiveKeyID()}, claims),
		"wrong kid":                sign(jwt.SigningMethodRS256, foreign, map[string]any{"kid": "not-a-key-of-ours"}, claims),
		"40 KB kid":                sign(jwt.SigningMethodRS256, foreign, map[string]any{"kid": strings.Repeat("k", 40<<10)}, claims),
		"no kid":                   sign(jwt.SigningMethodRS256, foreign, nil, claims),
		"wrong issuer":             sign(jwt.SigningMethodRS256, foreign, map[string]any{"kid": "x"}, with("iss", "https://evil.example/"+tn.ID+"/")),
		"an issuer of every token": sign(jwt.SigningMethodRS256, foreign, map[string]any{"kid": "x"}, with("iss", "https://issuer-"+now.Format("150405.000")+".example/")),
		"crit header":              sign(jwt.SigningMethodRS256, foreign, map[string]any{"kid": svc.ActiveKeyID(), "crit": []string{"exp"}}, claims),
	}
	before := store.calls()
	for name, tok := range tokens {
		for _, path := range []string{"/api/users/user1/machines", "/api/machines", "/api/machines/" + strings.Repeat("a", 40)} {
			if r := f.do(t, "GET", path, tok); r.status != 401 {
				t.Errorf("%s on %s: %d %s", name, path, r.status, r.body)
			}
		}
	}
	for _, key := range []string{"", "wrong", adminKey + "x"} {
		if r := f.admin(t, "GET", "/_openatp/tenants/"+tn.ID+"/stats", key, "", nil); r.status != 401 {
			t.Errorf("admin key %q: %d %s", key, r.status, r.body)
		}
	}
	if got := store.calls() - before; got != 0 {
		t.Errorf("%d store calls for unauthenticated requests, want 0", got)
	}

	// The wrapper does count: a valid token's first use reads its tenant
	// once, and the admin key opens the admin API.
	good, _, err := svc.Mint(ctx, auth.MintRequest{Tenant: tn, App: app, BaseURL: srv.URL, Version: 1, Audience: auth.Audiences[0]})
	if err != nil {
		t.Fatal(err)
	}
	if r := f.do(t, "GET", "/api/users/user1/machines", good); r.status != 404 {
		t.Errorf("valid token: %d %s", r.status, r.body)
	}
	if r := f.admin(t, "GET", "/_openatp/tenants/"+tn.ID+"/stats", adminKey, "", nil); r.status != 200 {
		t.Errorf("admin key: %d %s", r.status, r.body)
	}
	if store.calls() == before {
		t.Error("the counting store counted nothing for authenticated calls")
	}
}
