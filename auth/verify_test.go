package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"maps"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/openatp/openatp"
)

// makeToken signs claims with method and key; header entries are added to
// the header (a nil value deletes one).
func makeToken(tb testing.TB, method jwt.SigningMethod, key any, header, claims map[string]any) string {
	tb.Helper()
	tok := jwt.NewWithClaims(method, jwt.MapClaims(claims))
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		tb.Fatalf("sign: %v", err)
	}
	return s
}

// goodClaims are the claims of a valid v1 application token of tenant A.
func goodClaims(base string, now time.Time) map[string]any {
	return map[string]any{
		"aud":   "https://api.securitycenter.microsoft.com",
		"iss":   base + "/" + tenantA + "/",
		"tid":   tenantA,
		"appid": clientA,
		"oid":   objectA,
		"sub":   objectA,
		"roles": []string{roleRead},
		"iat":   now.Unix(),
		"nbf":   now.Unix(),
		"exp":   now.Add(time.Hour).Unix(),
		"ver":   "1.0",
	}
}

func with(c map[string]any, kv ...any) map[string]any {
	c = maps.Clone(c)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
		} else {
			c[kv[i].(string)] = kv[i+1]
		}
	}
	return c
}

func publicPEM(tb testing.TB, pub *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		tb.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func TestVerifyRejectsHostileTokens(t *testing.T) {
	clk := newClock()
	st := newMemStore()
	svc := newService(t, st, Options{Now: clk.Now})
	srv := httptest.NewServer(NewHandler(svc, nil))
	defer srv.Close()
	host := srv.Listener.Addr().String() // 127.0.0.1:port
	base := srv.URL
	now := clk.Now()

	ks := svc.keys.Load()
	key, kid := ks.signer, ks.signKID
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	good := goodClaims(base, now)
	rs := func(c map[string]any) string {
		return makeToken(t, jwt.SigningMethodRS256, key, map[string]any{"kid": kid}, c)
	}

	// The baseline passes.
	if _, err := svc.Verify(context.Background(), rs(good), host); err != nil {
		t.Fatalf("baseline token rejected: %v", err)
	}

	pubPEM := publicPEM(t, &key.PublicKey)
	hmac := func(m jwt.SigningMethod, secret []byte) string {
		return makeToken(t, m, secret, map[string]any{"kid": kid}, good)
	}
	goodTok := rs(good)
	parts := strings.Split(goodTok, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(mustJSON(t, with(good, "roles", []string{"Machine.ReadWrite.All", "Admin"}))) + "." + parts[2]
	noneTok := makeToken(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"kid": kid}, good)
	// A none token with the RS256 signature of the good token kept.
	noneWithSig := strings.Split(noneTok, ".")[0] + "." + parts[1] + "." + parts[2]

	tests := []struct {
		name, token, host, want string
	}{
		{"empty", "", host, "no bearer token"},
		{"garbled", "not-a-token", host, "malformed"},
		{"three garbage parts", "a.b.c", host, "malformed"},
		{"bad base64", "!!!.???.***", host, "malformed"},
		{"header not JSON", b64([]byte("{{")) + "." + parts[1] + "." + parts[2], host, "malformed"},
		{"claims not JSON", parts[0] + "." + b64([]byte("[1,2")) + "." + parts[2], host, "malformed"},
		{"alg none", noneTok, host, `algorithm "none"`},
		{"alg none with signature", noneWithSig, host, `algorithm "none"`},
		{"HS256 confusion with public key PEM", hmac(jwt.SigningMethodHS256, pubPEM), host, `algorithm "HS256"`},
		{"HS256 with modulus", hmac(jwt.SigningMethodHS256, key.PublicKey.N.Bytes()), host, `algorithm "HS256"`},
		{"HS384", hmac(jwt.SigningMethodHS384, pubPEM), host, `algorithm "HS384"`},
		{"HS512", hmac(jwt.SigningMethodHS512, pubPEM), host, `algorithm "HS512"`},
		{"RS512", makeToken(t, jwt.SigningMethodRS512, key, map[string]any{"kid": kid}, good), host, `algorithm "RS512"`},
		{"no kid", makeToken(t, jwt.SigningMethodRS256, key, map[string]any{"kid": nil}, good), host, "no kid"},
		{"unknown kid", makeToken(t, jwt.SigningMethodRS256, foreign, map[string]any{"kid": "some-other-key"}, good), host, "not in this issuer's JWKS"},
		{"foreign key with our kid", makeToken(t, jwt.SigningMethodRS256, foreign, map[string]any{"kid": kid}, good), host, "bad signature"},
		{"tampered claims", tampered, host, "bad signature"},
		{"signature stripped", parts[0] + "." + parts[1] + ".", host, "bad signature"},
		{"wrong audience", rs(with(good, "aud", "https://management.azure.com")), host, "audience"},
		{"audience lookalike", rs(with(good, "aud", "https://api.securitycenter.microsoft.com.evil.com")), host, "audience"},
		{"no audience", rs(with(good, "aud", nil)), host, "no aud"},
		{"issuer of Entra", rs(with(good, "iss", "https://sts.windows.net/"+tenantA+"/")), host, "issuer host"},
		{"issuer on another host", rs(with(good, "iss", "http://evil.example.com/"+tenantA+"/")), host, "issuer host"},
		{"issuer without trailing slash", rs(with(good, "iss", base+"/"+tenantA)), host, "issuer"},
		{"issuer with extra path", rs(with(good, "iss", base+"/x/"+tenantA+"/")), host, "issuer"},
		{"issuer with query", rs(with(good, "iss", base+"/"+tenantA+"/?a=b")), host, "issuer"},
		{"issuer not a URL", rs(with(good, "iss", "contoso")), host, "issuer"},
		{"issuer ftp", rs(with(good, "iss", "ftp://"+host+"/"+tenantA+"/")), host, "issuer"},
		{"no issuer", rs(with(good, "iss", nil)), host, "issuer"},
		{"request to another host", goodTok, "api.example.com", "issuer host"},
		{"expired", rs(with(good, "iat", now.Add(-2*time.Hour).Unix(), "nbf", now.Add(-2*time.Hour).Unix(), "exp", now.Add(-61*time.Second).Unix())), host, "expired at"},
		{"nbf in the future", rs(with(good, "nbf", now.Add(61*time.Second).Unix())), host, "not valid yet, until"},
		{"no exp", rs(with(good, "exp", nil)), host, "exp"},
		{"exp not a number", rs(with(good, "exp", "tomorrow")), host, "malformed"},
		{"long issuer is clipped", rs(with(good, "iss", strings.Repeat("x", 5000))), host, "xxx..."},
		{"no tid", rs(with(good, "tid", nil)), host, "no tid"},
		{"tid A with issuer of B", rs(with(good, "iss", base+"/"+tenantB+"/")), host, "is not the tenant"},
		{"tid B with issuer of A", rs(with(good, "tid", tenantB)), host, "is not the tenant"},
		{"unknown tenant", rs(with(good, "tid", "deadbeef-0000-4000-8000-000000000000", "iss", base+"/deadbeef-0000-4000-8000-000000000000/")), host, "does not exist"},
		{"tenant by name", rs(with(good, "tid", nameA, "iss", base+"/"+nameA+"/")), host, "does not exist"},
		{"no client", rs(with(good, "appid", nil)), host, "no appid or azp"},
		{"crit header, validly signed", makeToken(t, jwt.SigningMethodRS256, key, map[string]any{"kid": kid, "crit": []string{"exp"}}, good), host, "crit"},
		{"crit header naming an extension", makeToken(t, jwt.SigningMethodRS256, key, map[string]any{"kid": kid, "crit": []string{"x-openatp"}, "x-openatp": 1}, good), host, "crit"},
		{"40 KB kid is clipped", makeToken(t, jwt.SigningMethodRS256, foreign, map[string]any{"kid": strings.Repeat("k", 40<<10)}, good), host, "kkk..."},
		{"40 KB of garbage is clipped", strings.Repeat("x", 40<<10) + ".e30.x", host, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := svc.Verify(context.Background(), tt.token, tt.host)
			if err == nil {
				t.Fatalf("accepted, principal %+v", p)
			}
			var oe *openatp.Error
			if !errors.As(err, &oe) || oe.Kind != openatp.Unauthenticated || oe.Code != "Unauthorized" {
				t.Fatalf("error %#v, want Unauthenticated/Unauthorized", err)
			}
			if !strings.Contains(oe.Message, tt.want) {
				t.Errorf("message %q does not mention %q", oe.Message, tt.want)
			}
			if len(oe.Message) > 300 {
				t.Errorf("message of %d bytes: caller-supplied text is not clipped", len(oe.Message))
			}
		})
	}
	// Rejections are not cached; only the (one) good token is.
	if n := svc.cache.len(); n != 1 {
		t.Errorf("cache holds %d tokens, want 1", n)
	}
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestVerifyAccepts(t *testing.T) {
	clk := newClock()
	st := newMemStore()
	svc := newService(t, st, Options{Now: clk.Now, Hostnames: []string{"ATP.Example.com:8443", "[2001:db8::1]"}})
	ks := svc.keys.Load()
	now := clk.Now()
	rs := func(c map[string]any) string {
		return makeToken(t, jwt.SigningMethodRS256, ks.signer, map[string]any{"kid": ks.signKID}, c)
	}
	good := goodClaims("https://localhost:8443", now)
	v2 := with(good, "iss", "https://localhost:8443/"+tenantA+"/v2.0", "appid", nil, "azp", clientA, "ver", "2.0")
	delegated := with(good, "roles", nil, "scp", "Machine.Read  User.Read.All", "upn", "alice@contoso.com", "groups", []string{"g1", "g2"})

	tests := []struct {
		name   string
		claims map[string]any
		host   string
		want   openatp.Principal
	}{
		{"v1", good, "localhost:8443", openatp.Principal{TenantID: tenantA, ClientID: clientA, ObjectID: objectA, Roles: []string{roleRead}}},
		{"v2", v2, "localhost", openatp.Principal{TenantID: tenantA, ClientID: clientA, ObjectID: objectA, Roles: []string{roleRead}}},
		{"loopback alias 127.0.0.1", good, "127.0.0.1:8080", openatp.Principal{TenantID: tenantA, ClientID: clientA, ObjectID: objectA, Roles: []string{roleRead}}},
		{"loopback alias ::1", good, "[::1]:8080", openatp.Principal{TenantID: tenantA, ClientID: clientA, ObjectID: objectA, Roles: []string{roleRead}}},
		{"extra hostname", with(good, "iss", "https://atp.example.com/"+tenantA+"/"), "10.0.0.1:8443", openatp.Principal{TenantID: tenantA, ClientID: clientA, ObjectID: objectA, Roles: []string{roleRead}}},
		{"extra IPv6 hostname", with(good, "iss", "https://[2001:db8::1]:8443/"+tenantA+"/"), "localhost", openatp.Principal{TenantID: tenantA, ClientID: clientA, ObjectID: objectA, Roles: []string{roleRead}}},
		{"host case", with(good, "iss", "https://API.Example.org/"+tenantA+"/"), "api.example.ORG", openatp.Principal{TenantID: tenantA, ClientID: clientA, ObjectID: objectA, Roles: []string{roleRead}}},
		{"upper-case tid", with(good, "tid", strings.ToUpper(tenantA)), "localhost", openatp.Principal{TenantID: tenantA, ClientID: clientA, ObjectID: objectA, Roles: []string{roleRead}}},
		{"no roles", with(good, "roles", nil), "localhost", openatp.Principal{TenantID: tenantA, ClientID: clientA, ObjectID: objectA}},
		{"aud windows.com/", with(good, "aud", "https://api.securitycenter.windows.com/"), "localhost", openatp.Principal{TenantID: tenantA, ClientID: clientA, ObjectID: objectA, Roles: []string{roleRead}}},
		{"aud app id", with(good, "aud", ServiceAppID), "localhost", openatp.Principal{TenantID: tenantA, ClientID: clientA, ObjectID: objectA, Roles: []string{roleRead}}},
		{"aud array", with(good, "aud", []string{"https://graph.microsoft.com", "https://api.security.microsoft.com"}), "localhost", openatp.Principal{TenantID: tenantA, ClientID: clientA, ObjectID: objectA, Roles: []string{roleRead}}},
		{"exp within leeway", with(good, "exp", now.Add(-59*time.Second).Unix()), "localhost", openatp.Principal{TenantID: tenantA, ClientID: clientA, ObjectID: objectA, Roles: []string{roleRead}}},
		{"nbf within leeway", with(good, "nbf", now.Add(59*time.Second).Unix()), "localhost", openatp.Principal{TenantID: tenantA, ClientID: clientA, ObjectID: objectA, Roles: []string{roleRead}}},
		{"delegated", delegated, "localhost", openatp.Principal{TenantID: tenantA, ClientID: clientA, ObjectID: objectA, Scopes: []string{"Machine.Read", "User.Read.All"}, Delegated: true, UserName: "alice@contoso.com", Groups: []string{"g1", "g2"}}},
		{"delegated unique_name", with(delegated, "upn", nil, "unique_name", `CONTOSO\alice`), "localhost", openatp.Principal{TenantID: tenantA, ClientID: clientA, ObjectID: objectA, Scopes: []string{"Machine.Read", "User.Read.All"}, Delegated: true, UserName: `CONTOSO\alice`, Groups: []string{"g1", "g2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := svc.Verify(context.Background(), rs(tt.claims), tt.host)
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if !equalPrincipal(*p, tt.want) {
				t.Errorf("principal\n got %+v\nwant %+v", *p, tt.want)
			}
		})
	}
}

func equalPrincipal(a, b openatp.Principal) bool {
	return a.TenantID == b.TenantID && a.ClientID == b.ClientID && a.ObjectID == b.ObjectID &&
		slices.Equal(a.Roles, b.Roles) && slices.Equal(a.Scopes, b.Scopes) && a.Delegated == b.Delegated &&
		a.UserName == b.UserName && slices.Equal(a.Groups, b.Groups)
}

func TestMintClaims(t *testing.T) {
	clk := newClock()
	st := newMemStore()
	svc := newService(t, st, Options{Now: clk.Now})
	app, _ := st.App(context.Background(), tenantA, clientA)
	ten, _ := st.Tenant(context.Background(), tenantA)
	for _, v := range []int{1, 2} {
		tok, exp, err := svc.Mint(context.Background(), MintRequest{Tenant: ten, App: app, BaseURL: "https://localhost:8443", Version: v, Audience: "https://API.securitycenter.windows.com/"})
		if err != nil {
			t.Fatal(err)
		}
		if exp != 3599 {
			t.Errorf("expiresIn %d", exp)
		}
		parts := strings.Split(tok, ".")
		var h, c map[string]any
		json.Unmarshal(mustDecode(t, parts[0]), &h)
		json.Unmarshal(mustDecode(t, parts[1]), &c)
		if h["alg"] != "RS256" || h["typ"] != "JWT" || h["kid"] != svc.ActiveKeyID() {
			t.Errorf("header %v", h)
		}
		now := clk.Now().Unix()
		want := map[string]any{
			"aud": "https://api.securitycenter.windows.com", "tid": tenantA, "oid": objectA, "sub": objectA,
			"app_displayname": appNameA, "idtyp": "app",
			"iat": float64(now), "nbf": float64(now), "exp": float64(now + 3600),
		}
		if v == 1 {
			want["iss"], want["appid"], want["ver"] = "https://localhost:8443/"+tenantA+"/", clientA, "1.0"
		} else {
			want["iss"], want["azp"], want["ver"] = "https://localhost:8443/"+tenantA+"/v2.0", clientA, "2.0"
		}
		for k, w := range want {
			if c[k] != w {
				t.Errorf("v%d claim %s = %v, want %v", v, k, c[k], w)
			}
		}
		if r, _ := c["roles"].([]any); len(r) != 2 {
			t.Errorf("roles %v", c["roles"])
		}
	}
	// An app without roles gets no roles claim.
	appB, _ := st.App(context.Background(), tenantB, clientB)
	tenB, _ := st.Tenant(context.Background(), tenantB)
	tok, _, err := svc.Mint(context.Background(), MintRequest{Tenant: tenB, App: appB, BaseURL: "http://localhost", Version: 1, Audience: ServiceAppID})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mustDecode(t, strings.Split(tok, ".")[1])), "roles") {
		t.Error("empty roles claim present")
	}
	if _, _, err := svc.Mint(context.Background(), MintRequest{Tenant: tenB, App: appB, BaseURL: "http://localhost", Version: 1, Audience: "https://management.azure.com"}); !openatp.IsKind(err, openatp.Invalid) {
		t.Errorf("unknown audience: %v", err)
	}
}

func mustDecode(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestHostOnly(t *testing.T) {
	for in, want := range map[string]string{
		"localhost:8080": "localhost", "localhost": "localhost", "[::1]:443": "::1", "[::1]": "::1",
		"::1": "::1", "127.0.0.1:1": "127.0.0.1", "api.example.com": "api.example.com", "": "",
	} {
		if got := hostOnly(in); got != want {
			t.Errorf("hostOnly(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkVerifyGarbage is the cost of refusing a token of a key the
// deployment does not have: a parse of the header and a map look-up, no
// store read and no signature check.
func BenchmarkVerifyGarbage(b *testing.B) {
	svc := newService(b, newMemStore(), Options{})
	toks := make([]string, 1024)
	for i := range toks {
		toks[i] = b64([]byte(`{"alg":"RS256","typ":"JWT","kid":"`+randomID()+`"}`)) + "." +
			b64([]byte(`{"iss":"https://idp.example/`+randomID()+`/","exp":4102444800}`)) + "." + b64(make([]byte, 256))
	}
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.Verify(ctx, toks[i%len(toks)], "api.example"); err == nil {
			b.Fatal("accepted")
		}
		i++
	}
}
