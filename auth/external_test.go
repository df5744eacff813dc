package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/openatp/openatp"
)

// fakeIdP is an external OIDC issuer on a real listener: it publishes a
// JWKS whose keys the test can rotate.
type fakeIdP struct {
	srv     *httptest.Server
	keys    atomic.Pointer[[]any] // *rsa.PrivateKey or *ecdsa.PrivateKey, kid = index
	fetches atomic.Int32

	// gate, when set, holds each JWKS request until it is closed;
	// entered gets a value as each request arrives.
	gate     atomic.Pointer[chan struct{}]
	entered  chan struct{}
	inFlight atomic.Int32
	maxIn    atomic.Int32 // the most requests in flight at once
}

func newFakeIdP(t *testing.T) *fakeIdP {
	idp := &fakeIdP{entered: make(chan struct{}, 100)}
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	keys := []any{rk}
	idp.keys.Store(&keys)
	idp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		idp.fetches.Add(1)
		n := idp.inFlight.Add(1)
		defer idp.inFlight.Add(-1)
		for m := idp.maxIn.Load(); n > m && !idp.maxIn.CompareAndSwap(m, n); m = idp.maxIn.Load() {
		}
		if g := idp.gate.Load(); g != nil {
			idp.entered <- struct{}{}
			<-*g
		}
		var out []map[string]string
		for i, k := range *idp.keys.Load() {
			kid := "k" + string(rune('0'+i))
			switch k := k.(type) {
			case *rsa.PrivateKey:
				out = append(out, map[string]string{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
					"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())})
			case *ecdsa.PrivateKey:
				x, y := make([]byte, 32), make([]byte, 32)
				k.X.FillBytes(x)
				k.Y.FillBytes(y)
				out = append(out, map[string]string{"kty": "EC", "kid": kid, "use": "sig", "alg": "ES256", "crv": "P-256",
					"x": base64.RawURLEncoding.EncodeToString(x), "y": base64.RawURLEncoding.EncodeToString(y)})
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": out})
	}))
	t.Cleanup(idp.srv.Close)
	return idp
}

func (idp *fakeIdP) sign(t *testing.T, i int, claims jwt.MapClaims) string {
	t.Helper()
	k := (*idp.keys.Load())[i]
	m := jwt.SigningMethod(jwt.SigningMethodRS256)
	if _, ok := k.(*ecdsa.PrivateKey); ok {
		m = jwt.SigningMethodES256
	}
	tok := jwt.NewWithClaims(m, claims)
	tok.Header["kid"] = "k" + string(rune('0'+i))
	s, err := tok.SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A tenant that trusts an external issuer accepts its tokens, mapped like
// built-in ones; keys are cached and fetched again on an unknown kid.
func TestExternalIssuer(t *testing.T) {
	st := newMemStore()
	svc := newService(t, st, Options{})
	idp := newFakeIdP(t)
	iss := idp.srv.URL + "/realms/contoso"
	ctx := context.Background()
	if err := svc.TrustIssuer(ctx, ExternalIssuer{TenantID: nameA, Issuer: iss, JWKSURL: idp.srv.URL + "/certs"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	base := func(kv ...any) jwt.MapClaims {
		c := jwt.MapClaims{"iss": iss, "aud": "https://api.securitycenter.microsoft.com", "exp": now.Add(time.Hour).Unix(),
			"nbf": now.Unix(), "azp": "keycloak-client", "sub": "u-123", "preferred_username": "alice",
			"scope": "openid Machine.Read", "groups": []string{"analysts"}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(c, kv[i].(string))
			} else {
				c[kv[i].(string)] = kv[i+1]
			}
		}
		return c
	}
	p, err := svc.Verify(ctx, idp.sign(t, 0, base()), "api.example")
	if err != nil {
		t.Fatal(err)
	}
	if p.TenantID != tenantA || !p.Delegated || !p.HasAny("Machine.Read") || p.UserName != "alice" || strings.Join(p.Groups, ",") != "analysts" {
		t.Errorf("principal %+v", p)
	}
	// Application tokens of Entra ID shape (roles, appid).
	p, err = svc.Verify(ctx, idp.sign(t, 0, base("scope", nil, "roles", []string{"Machine.Read.All"}, "appid", "app-1")), "api.example")
	if err != nil || p.Delegated || !p.HasAny("Machine.Read.All") || p.ClientID != "app-1" {
		t.Errorf("application token: %+v %v", p, err)
	}

	// A new key appears at the issuer: an unknown kid refreshes the set.
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keys := append(append([]any{}, *idp.keys.Load()...), ek)
	idp.keys.Store(&keys)
	before := idp.fetches.Load()
	if _, err := svc.Verify(ctx, idp.sign(t, 1, base("jti", "new")), "api.example"); err != nil {
		t.Errorf("token signed with a rotated-in ES256 key: %v", err)
	}
	if idp.fetches.Load() == before {
		t.Error("unknown kid did not refresh the JWKS")
	}

	// Hostile variants are refused.
	foreign, _ := rsa.GenerateKey(rand.Reader, 2048)
	forged := jwt.NewWithClaims(jwt.SigningMethodRS256, base("jti", "forged"))
	forged.Header["kid"] = "k0"
	forgedTok, _ := forged.SignedString(foreign)
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, base("jti", "hs"))
	hs.Header["kid"] = "k0"
	hsTok, _ := hs.SignedString([]byte("secret"))
	none := jwt.NewWithClaims(jwt.SigningMethodNone, base("jti", "none"))
	noneTok, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	for name, tok := range map[string]string{
		"foreign key":    forgedTok,
		"HS256":          hsTok,
		"alg none":       noneTok,
		"wrong audience": idp.sign(t, 0, base("aud", "https://management.azure.com")),
		"expired":        idp.sign(t, 0, base("exp", now.Add(-time.Hour).Unix())),
		"no exp":         idp.sign(t, 0, base("exp", nil)),
		"untrusted iss":  idp.sign(t, 0, base("iss", idp.srv.URL+"/realms/other")),
	} {
		if _, err := svc.Verify(ctx, tok, "api.example"); openatp.KindOf(err) != openatp.Unauthenticated {
			t.Errorf("%s: got %v, want Unauthenticated", name, err)
		}
	}

	// Trust with a required tid refuses other Entra tenants.
	if err := svc.TrustIssuer(ctx, ExternalIssuer{TenantID: nameB, Issuer: iss + "2", JWKSURL: idp.srv.URL + "/certs", Tid: "11111111-1111-1111-1111-111111111111"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Verify(ctx, idp.sign(t, 0, base("iss", iss+"2", "tid", "22222222-2222-2222-2222-222222222222")), "x"); openatp.KindOf(err) != openatp.Unauthenticated {
		t.Errorf("foreign tid accepted: %v", err)
	}
	if p, err := svc.Verify(ctx, idp.sign(t, 0, base("iss", iss+"2", "tid", "11111111-1111-1111-1111-111111111111")), "x"); err != nil || p.TenantID != tenantB {
		t.Errorf("matching tid: %+v %v", p, err)
	}
	if err := svc.TrustIssuer(ctx, ExternalIssuer{TenantID: nameA, Issuer: "http://evil.example/", JWKSURL: "http://evil.example/keys"}); openatp.KindOf(err) != openatp.Invalid {
		t.Errorf("plain-http non-loopback issuer accepted: %v", err)
	}
}

// An issuer is trusted by one tenant: a second tenant's trust is a
// Conflict naming the owner and leaves the first tenant's tokens its own;
// the owner may trust the issuer again to change its JWKS URL or tid.
func TestTrustIssuerOneTenant(t *testing.T) {
	st := newMemStore()
	svc := newService(t, st, Options{})
	idp := newFakeIdP(t)
	iss := idp.srv.URL + "/realms/shared"
	ctx := context.Background()
	trustA := ExternalIssuer{TenantID: nameA, Issuer: iss, JWKSURL: idp.srv.URL + "/certs"}
	if err := svc.TrustIssuer(ctx, trustA); err != nil {
		t.Fatal(err)
	}
	err := svc.TrustIssuer(ctx, ExternalIssuer{TenantID: nameB, Issuer: iss, JWKSURL: idp.srv.URL + "/certs"})
	if openatp.KindOf(err) != openatp.Conflict || !strings.Contains(err.Error(), iss) || !strings.Contains(err.Error(), tenantA) {
		t.Fatalf("trust of A's issuer for B: got %v, want a Conflict naming the issuer and tenant %s", err, tenantA)
	}
	if v, err := st.Setting(ctx, issuerSettingPrefix+iss); err != nil || !strings.Contains(v, tenantA) {
		t.Fatalf("stored trust after B's refused trust: %s %v", v, err)
	}

	now := time.Now()
	claims := func(jti string, kv ...any) jwt.MapClaims {
		c := jwt.MapClaims{"iss": iss, "aud": "https://api.securitycenter.microsoft.com", "exp": now.Add(time.Hour).Unix(),
			"azp": "a-client-of-A", "roles": []string{"Machine.Read.All"}, "jti": jti}
		for i := 0; i+1 < len(kv); i += 2 {
			c[kv[i].(string)] = kv[i+1]
		}
		return c
	}
	if p, err := svc.Verify(ctx, idp.sign(t, 0, claims("1")), "x"); err != nil || p.TenantID != tenantA {
		t.Fatalf("A's token after B's refused trust: %+v %v", p, err)
	}

	// Again for A, by id this time, with a required tid: accepted, and
	// tokens not yet cached must carry that tid.
	const tid = "11111111-1111-1111-1111-111111111111"
	trustA.TenantID, trustA.Tid = tenantA, tid
	if err := svc.TrustIssuer(ctx, trustA); err != nil {
		t.Fatalf("re-trust for the same tenant: %v", err)
	}
	if err := svc.TrustIssuer(ctx, trustA); err != nil {
		t.Fatalf("identical re-trust: %v", err)
	}
	if _, err := svc.Verify(ctx, idp.sign(t, 0, claims("2")), "x"); openatp.KindOf(err) != openatp.Unauthenticated {
		t.Errorf("token without the new tid: got %v, want Unauthenticated", err)
	}
	if p, err := svc.Verify(ctx, idp.sign(t, 0, claims("3", "tid", tid)), "x"); err != nil || p.TenantID != tenantA {
		t.Errorf("token with the new tid: %+v %v", p, err)
	}
	// B is still refused after A's update.
	if err := svc.TrustIssuer(ctx, ExternalIssuer{TenantID: tenantB, Issuer: iss, JWKSURL: idp.srv.URL + "/certs", Tid: tid}); openatp.KindOf(err) != openatp.Conflict {
		t.Errorf("trust for B after A's update: got %v, want Conflict", err)
	}
}

// Two tenants trusting one new issuer at the same time: only one wins,
// and the stored trust is the winner's.
func TestTrustIssuerConcurrent(t *testing.T) {
	st := newMemStore()
	svc := newService(t, st, Options{})
	iss := "https://127.0.0.1/realms/race"
	ctx := context.Background()
	tenants := []string{tenantA, tenantB}
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = svc.TrustIssuer(ctx, ExternalIssuer{TenantID: tenants[i%2], Issuer: iss, JWKSURL: iss + "/certs"})
		}()
	}
	wg.Wait()
	won := map[string]bool{}
	for i, err := range errs {
		switch {
		case err == nil:
			won[tenants[i%2]] = true
		case openatp.KindOf(err) != openatp.Conflict:
			t.Errorf("trust %d: %v", i, err)
		}
	}
	v, err := st.Setting(ctx, issuerSettingPrefix+iss)
	if err != nil {
		t.Fatal(err)
	}
	var x ExternalIssuer
	if err := json.Unmarshal([]byte(v), &x); err != nil {
		t.Fatal(err)
	}
	if len(won) != 1 || !won[x.TenantID] {
		t.Errorf("tenants whose trust succeeded: %v; stored trust: %s", won, v)
	}
}
