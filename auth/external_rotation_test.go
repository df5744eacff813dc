package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/openatp/openatp"
)

// externalFixture trusts idp's issuer for tenant A and returns a token
// maker for it.
func externalFixture(t *testing.T, svc *Service, idp *fakeIdP, realm string) func(kid int, jti string) string {
	t.Helper()
	iss := idp.srv.URL + "/realms/" + realm
	if err := svc.TrustIssuer(context.Background(), ExternalIssuer{TenantID: nameA, Issuer: iss, JWKSURL: idp.srv.URL + "/certs/" + realm}); err != nil {
		t.Fatal(err)
	}
	return func(kid int, jti string) string {
		now := time.Now()
		return idp.sign(t, kid, jwt.MapClaims{"iss": iss, "aud": "https://api.securitycenter.microsoft.com", "exp": now.Add(time.Hour).Unix(),
			"nbf": now.Unix(), "azp": "client", "sub": "u", "roles": []string{"Machine.Read.All"}, "jti": jti})
	}
}

// A trusted issuer rotates its key: the token signed with the new key,
// published at the JWKS URL, is accepted on its first use, with one fetch.
func TestExternalKeyRotation(t *testing.T) {
	svc := newService(t, newMemStore(), Options{})
	idp := newFakeIdP(t)
	token := externalFixture(t, svc, idp, "r")
	ctx := context.Background()
	if _, err := svc.Verify(ctx, token(0, "a"), "api.example"); err != nil {
		t.Fatal(err)
	}
	fetches := idp.fetches.Load()
	rotated, _ := rsa.GenerateKey(rand.Reader, 2048)
	keys := []any{(*idp.keys.Load())[0], rotated} // k1 published beside k0
	idp.keys.Store(&keys)
	if _, err := svc.Verify(ctx, token(1, "b"), "api.example"); err != nil {
		t.Fatalf("the first token of the rotated-in key: %v", err)
	}
	if got := idp.fetches.Load() - fetches; got != 1 {
		t.Errorf("%d fetches for the new kid, want 1", got)
	}
	// A made-up kid right after is refused without another fetch.
	fetches = idp.fetches.Load()
	forged := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": idp.srv.URL + "/realms/r"})
	forged.Header["kid"] = "made-up"
	forgedTok, _ := forged.SignedString(rotated)
	if _, err := svc.Verify(ctx, forgedTok, "api.example"); !openatp.IsKind(err, openatp.Unauthenticated) {
		t.Errorf("made-up kid: %v", err)
	}
	if got := idp.fetches.Load() - fetches; got != 0 {
		t.Errorf("%d fetches for a made-up kid within %s of the last, want 0", got, unknownKidInterval)
	}
}

// Requests that need an issuer's keys share one fetch, which runs under
// its own deadline, not under a lock or a request's context: a request
// that gives up does not stop it, and other issuers' tokens are verified
// meanwhile. Close stops the service's goroutines.
func TestExternalKeyFetchesOneAtATime(t *testing.T) {
	svc := newService(t, newMemStore(), Options{})
	slow, fast := newFakeIdP(t), newFakeIdP(t)
	slowToken := externalFixture(t, svc, slow, "slow")
	fastToken := externalFixture(t, svc, fast, "fast")
	gate := make(chan struct{})
	slow.gate.Store(&gate)

	// A request that gives up while the fetch is in flight.
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() { _, err := svc.Verify(ctx, slowToken(0, "first"), "api.example"); gaveUp <- err }()
	<-slow.entered
	cancel()
	if err := <-gaveUp; !openatp.IsKind(err, openatp.Canceled) {
		t.Errorf("a request that gave up: %v, want Canceled", err)
	}

	// Twenty requests meanwhile: they wait for the same fetch.
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = svc.Verify(context.Background(), slowToken(0, "w"+string(rune('a'+i))), "api.example")
		})
	}
	// Another issuer's token is verified while the slow fetch is held.
	done := make(chan error, 1)
	go func() { _, err := svc.Verify(context.Background(), fastToken(0, "x"), "api.example"); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the other issuer's token: %v", err)
		}
	case <-time.After(20 * time.Second): // a bound: with a lock held across the fetch it never comes
		t.Error("the other issuer's token waited for the slow issuer's fetch")
	}
	close(gate)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("request %d: %v", i, err)
		}
	}
	if f, m := slow.fetches.Load(), slow.maxIn.Load(); f != 1 || m != 1 {
		t.Errorf("%d fetches, at most %d at once; want 1 and 1", f, m)
	}

	svc.Close()
	buf := make([]byte, 1<<20)
	if stacks := string(buf[:runtime.Stack(buf, true)]); strings.Contains(stacks, "auth.(*Service)") {
		t.Errorf("goroutines of the service run after Close:\n%s", stacks)
	}
}
