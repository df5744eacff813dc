package auth

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/openatp/openatp"
)

// mintHTTP gets a v1 token of app A from the token endpoint of srv.
func mintHTTP(tb testing.TB, srv *httptest.Server) string {
	tb.Helper()
	resp, m := post(tb, srv.Client(), srv.URL+"/"+tenantA+"/oauth2/token", form,
		url.Values{"grant_type": {"client_credentials"}, "client_id": {clientA}, "client_secret": {secretA}, "resource": {Audiences[0]}}.Encode())
	if resp.StatusCode != 200 {
		tb.Fatalf("token: %d %v", resp.StatusCode, m)
	}
	return m["access_token"].(string)
}

func jwksKids(tb testing.TB, b []byte) []string {
	tb.Helper()
	var doc struct {
		Keys []struct {
			Kid, Kty, Use, Alg, N, E string
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		tb.Fatal(err)
	}
	var kids []string
	for _, k := range doc.Keys {
		if k.Kty != "RSA" || k.Use != "sig" || k.Alg != "RS256" || k.N == "" || k.E != "AQAB" {
			tb.Errorf("key %+v", k)
		}
		kids = append(kids, k.Kid)
	}
	return kids
}

func TestKeyGeneratedOnceAndPersisted(t *testing.T) {
	st := newMemStore()
	s1 := newService(t, st, Options{})
	if len(st.keys) != 1 || !st.keys[0].Active || st.keys[0].ID != s1.ActiveKeyID() {
		t.Fatalf("stored keys %+v", st.keys)
	}
	if _, err := parsePrivateKey(st.keys[0].PrivatePEM); err != nil {
		t.Fatal(err)
	}
	s2 := newService(t, st, Options{})
	if len(st.keys) != 1 || s2.ActiveKeyID() != s1.ActiveKeyID() {
		t.Errorf("second start made a key: %d keys", len(st.keys))
	}
	if string(s1.JWKS()) != string(s2.JWKS()) {
		t.Errorf("JWKS differ:\n%s\n%s", s1.JWKS(), s2.JWKS())
	}
}

func TestConcurrentStartsAreHarmless(t *testing.T) {
	st := newMemStore()
	svcs := make([]*Service, 4)
	var wg sync.WaitGroup
	for i := range svcs {
		wg.Go(func() { svcs[i] = newService(t, st, Options{}) })
	}
	wg.Wait()
	// After a refresh (serve runs one every second), every service
	// verifies the tokens of every other, whichever key it signs with.
	for _, s := range svcs {
		if err := s.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range svcs {
		srv := httptest.NewServer(NewHandler(a, nil))
		tok := mintHTTP(t, srv)
		for _, b := range svcs {
			if _, err := b.Verify(context.Background(), tok, srv.Listener.Addr().String()); err != nil {
				t.Errorf("token signed with %s rejected: %v", a.ActiveKeyID(), err)
			}
		}
		srv.Close()
	}
}

func TestRotate(t *testing.T) {
	st := newMemStore()
	svc := newService(t, st, Options{})
	srv := httptest.NewServer(NewHandler(svc, nil))
	defer srv.Close()
	host := srv.Listener.Addr().String()
	other := newService(t, st, Options{}) // another process on the same store
	oldKid := svc.ActiveKeyID()
	before := mintHTTP(t, srv)

	if err := svc.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if svc.ActiveKeyID() == oldKid {
		t.Fatal("active key unchanged")
	}
	if kids := jwksKids(t, svc.JWKS()); len(kids) != 2 || kids[0] != svc.ActiveKeyID() || kids[1] != oldKid {
		t.Errorf("JWKS kids %v", kids)
	}
	after := mintHTTP(t, srv)
	if h := tokenHeaderOf(t, after); h["kid"] != svc.ActiveKeyID() {
		t.Errorf("new token kid %v", h["kid"])
	}
	for name, tok := range map[string]string{"before": before, "after": after} {
		if _, err := svc.Verify(context.Background(), tok, host); err != nil {
			t.Errorf("%s rotation: %v", name, err)
		}
	}

	// The other process learns the new key at its next refresh, with one
	// reload of the store; until then the new kid is unknown to it, which
	// costs no store read.
	loads := st.loads()
	if _, err := other.Verify(context.Background(), after, host); !openatp.IsKind(err, openatp.Unauthenticated) {
		t.Fatalf("other process before its refresh: %v, want Unauthenticated", err)
	}
	if got := st.loads() - loads; got != 0 {
		t.Errorf("%d key reloads for an unknown kid, want 0", got)
	}
	if err := other.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Verify(context.Background(), after, host); err != nil {
		t.Fatalf("other process rejects the rotated key: %v", err)
	}
	if got := st.loads() - loads; got != 1 {
		t.Errorf("%d key reloads, want 1", got)
	}
	if other.ActiveKeyID() != svc.ActiveKeyID() {
		t.Errorf("other process signs with %s, want the new active %s", other.ActiveKeyID(), svc.ActiveKeyID())
	}
	if _, err := other.Verify(context.Background(), before, host); err != nil {
		t.Errorf("other process rejects the old key: %v", err)
	}

	// Unknown kids never reload, and a refresh with nothing changed
	// reloads nothing.
	loads = st.loads()
	for range 5 {
		tok := makeToken(t, jwtRS256, svc.keys.Load().signer, map[string]any{"kid": "nope-" + randomID()}, goodClaims(srv.URL, time.Now()))
		if _, err := other.Verify(context.Background(), tok, host); !openatp.IsKind(err, openatp.Unauthenticated) {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if err := other.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := st.loads() - loads; got != 0 {
		t.Errorf("%d key reloads for 5 unknown kids and an idle refresh, want 0", got)
	}
}

// A service with a RefreshInterval learns, by itself, a key another
// process added; Close stops its refresher.
func TestBackgroundRefresh(t *testing.T) {
	st := newMemStore()
	svc := newService(t, st, Options{RefreshInterval: 5 * time.Millisecond})
	other := newService(t, st, Options{})
	if err := other.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second) // a bound, not a measurement
	for svc.keys.Load().public[other.ActiveKeyID()] == nil {
		if time.Now().After(deadline) {
			t.Fatal("the refresher did not load the rotated key")
		}
		time.Sleep(time.Millisecond)
	}
	if svc.ActiveKeyID() != other.ActiveKeyID() {
		t.Errorf("signs with %s, want the newest active key %s", svc.ActiveKeyID(), other.ActiveKeyID())
	}
	svc.Close()
	loads := st.loads()
	if err := other.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if got := st.loads() - loads; got != 1 { // other's own reload only
		t.Errorf("%d key loads after Close, want 1 (the rotating service's)", got)
	}
}

func tokenHeaderOf(tb testing.TB, tok string) map[string]any {
	tb.Helper()
	var h map[string]any
	if err := json.Unmarshal(mustDecode(tb, tok[:indexByte(tok, '.')]), &h); err != nil {
		tb.Fatal(err)
	}
	return h
}

func indexByte(s string, c byte) int {
	for i := range len(s) {
		if s[i] == c {
			return i
		}
	}
	return len(s)
}
