package auth

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/openatp/openatp"
)

var jwtRS256 = jwt.SigningMethodRS256

func TestCachedTokenStillExpires(t *testing.T) {
	clk := newClock()
	st := newMemStore()
	svc := newService(t, st, Options{Now: clk.Now})
	srv := httptest.NewServer(NewHandler(svc, nil))
	defer srv.Close()
	host := srv.Listener.Addr().String()
	tok := mintHTTP(t, srv)

	p1, err := svc.Verify(context.Background(), tok, host)
	if err != nil {
		t.Fatal(err)
	}
	if svc.cache.len() != 1 {
		t.Fatalf("token not cached")
	}
	p2, err := svc.Verify(context.Background(), tok, host)
	if err != nil || p2 != p1 {
		t.Fatalf("cache hit: %v, same principal %v", err, p2 == p1)
	}

	// A cache hit still checks the request host.
	if _, err := svc.Verify(context.Background(), tok, "evil.example.com"); err == nil || !strings.Contains(err.Error(), "issuer host") {
		t.Errorf("cached token on another host: %v", err)
	}
	if _, err := svc.Verify(context.Background(), tok, "localhost:1"); err != nil {
		t.Errorf("cached token on a loopback alias: %v", err)
	}

	// Within the leeway after exp, still good; past it, expired.
	clk.Add(time.Hour + 59*time.Second)
	if _, err := svc.Verify(context.Background(), tok, host); err != nil {
		t.Errorf("within leeway: %v", err)
	}
	clk.Add(2 * time.Second)
	_, err = svc.Verify(context.Background(), tok, host)
	if !openatp.IsKind(err, openatp.Unauthenticated) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired cached token: %v", err)
	}
	// And a cached token is not valid before its nbf (clock going back).
	clk.Add(-time.Hour - 61*time.Second - 2*time.Minute)
	if _, err := svc.Verify(context.Background(), tok, host); err == nil || !strings.Contains(err.Error(), "not valid yet") {
		t.Errorf("cached token before nbf: %v", err)
	}
}

func TestCacheIsBounded(t *testing.T) {
	clk := newClock()
	st := newMemStore()
	svc := newService(t, st, Options{Now: clk.Now, CacheSize: 3})
	srv := httptest.NewServer(NewHandler(svc, nil))
	defer srv.Close()
	host := srv.Listener.Addr().String()
	for range 3 {
		tok := mintHTTP(t, srv)
		if _, err := svc.Verify(context.Background(), tok, host); err != nil {
			t.Fatal(err)
		}
	}
	if n := svc.cache.len(); n != 3 {
		t.Fatalf("cache len %d", n)
	}
	// Full of live tokens: the next one clears the cache.
	tok := mintHTTP(t, srv)
	if _, err := svc.Verify(context.Background(), tok, host); err != nil {
		t.Fatal(err)
	}
	if n := svc.cache.len(); n != 1 {
		t.Errorf("cache len %d after overflow, want 1", n)
	}
	// Expired entries go first.
	for range 2 {
		if _, err := svc.Verify(context.Background(), mintHTTP(t, srv), host); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(30 * time.Minute)
	fresh := mintHTTP(t, srv)
	if _, err := svc.Verify(context.Background(), fresh, host); err != nil {
		t.Fatal(err)
	}
	clk.Add(31*time.Minute + leeway)
	if _, err := svc.Verify(context.Background(), mintHTTP(t, srv), host); err != nil {
		t.Fatal(err)
	}
	if n := svc.cache.len(); n != 2 {
		t.Errorf("cache len %d, want 2 (the fresh token and the new one)", n)
	}
	if _, err := svc.Verify(context.Background(), fresh, host); err != nil {
		t.Errorf("fresh token: %v", err)
	}
	if n := svc.cache.len(); n != 2 {
		t.Errorf("fresh token was evicted")
	}
}

func TestVerifyCachedDoesNotAllocate(t *testing.T) {
	svc, tok, host := benchSetup(t)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := svc.Verify(context.Background(), tok, host); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("cached Verify allocates %v times", allocs)
	}
}

func benchSetup(tb testing.TB) (*Service, string, string) {
	st := newMemStore()
	svc := newService(tb, st, Options{})
	ten, _ := st.Tenant(context.Background(), tenantA)
	app, _ := st.App(context.Background(), tenantA, clientA)
	tok, _, err := svc.Mint(context.Background(), MintRequest{Tenant: ten, App: app, BaseURL: "https://localhost:8443", Version: 1, Audience: Audiences[0]})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := svc.Verify(context.Background(), tok, "localhost:8443"); err != nil {
		tb.Fatal(err)
	}
	return svc, tok, "localhost:8443"
}

func BenchmarkVerifyCached(b *testing.B) {
	svc, tok, host := benchSetup(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.Verify(ctx, tok, host); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerifyCachedSerial(b *testing.B) {
	svc, tok, host := benchSetup(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.Verify(ctx, tok, host); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyUncached(b *testing.B) {
	svc, tok, host := benchSetup(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		svc.cache.mu.Lock()
		clear(svc.cache.m)
		svc.cache.mu.Unlock()
		if _, err := svc.Verify(ctx, tok, host); err != nil {
			b.Fatal(err)
		}
	}
}
