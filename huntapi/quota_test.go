package huntapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp/apitest"
	"github.com/openatp/openatp/huntapi"
	"github.com/openatp/openatp/internal/redistest"
	"github.com/openatp/openatp/redis"
)

// TestQuotaSharedRedis: two servers over one store whose quotas count in
// one real Redis share each tenant's 45 calls a minute and 1,500 an hour
// exactly, calls alternating between them; each answers the 429 of the
// window reached, whichever server counted the calls before.
func TestQuotaSharedRedis(t *testing.T) {
	rs := redistest.Start(t)
	clock := &fakeClock{t: time.Now()}
	newQuota := func() *huntapi.Quota {
		// The fake clock is the one of both: replicas sharing a Redis
		// with a clock of their own must share it (redis.Options.Now).
		c, err := redis.New(rs.URL, redis.Options{Policy: huntapi.CallPolicy, Now: clock.now})
		must(t, err)
		t.Cleanup(func() { _ = c.Close() })
		if c.Degraded() {
			t.Fatal("the counter did not reach Redis")
		}
		return huntapi.NewQuota(c, 0, clock.now)
	}
	w := newWorld(t, engines[0].open, func(c *apitest.Config) { c.HuntingQuota = newQuota() })
	second := apitest.NewServer(apitest.Config{Store: w.Store, Verifier: w.Auth, Settings: w.Auth, HuntingQuota: newQuota()})
	t.Cleanup(func() {
		second.Close()
		if n := second.LiveViews(); n != 0 {
			t.Errorf("second server: %d read-model views not released", n)
		}
	})
	srv2 := httptest.NewServer(second.Handler())
	t.Cleanup(srv2.Close)
	bases := []string{w.Srv.URL, srv2.URL}
	const q = "AlertInfo | count"
	post := func(i int, path, token string) apitest.Response {
		t.Helper()
		body, err := json.Marshal(map[string]string{"Query": q})
		must(t, err)
		req, err := http.NewRequest("POST", bases[i%2]+path, strings.NewReader(string(body)))
		must(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		return w.Send(t, req)
	}

	for i := range 45 {
		if r := post(i, "/api/advancedqueries/run", w.mde); r.Status != http.StatusOK {
			t.Fatalf("call %d (server %d): %d %s", i+1, i%2+1, r.Status, r.Body)
		}
	}
	for i := range 2 { // the minute is full on both servers
		checkQuota(t, post(i, "/api/advancedhunting/run", w.m365d), "API calls quota exceeded! maximum allowed 45 per 00:01:00")
	}
	// The hour: 1,500 calls in 34 minutes, over both servers.
	n := 45
	for n < 1500 {
		clock.advance(time.Minute + time.Second)
		for i := 0; i < 45 && n < 1500; i++ {
			if r := post(n, "/api/advancedqueries/run", w.mde); r.Status != http.StatusOK {
				t.Fatalf("call %d (server %d): %d %s", n+1, n%2+1, r.Status, r.Body)
			}
			n++
		}
	}
	clock.advance(time.Minute + time.Second)
	for i := range 2 {
		checkQuota(t, post(i, "/api/advancedqueries/run", w.mde), "API calls quota exceeded! maximum allowed 1500 per 01:00:00")
	}
	// When the first minute's calls leave the hour, 45 more are accepted.
	clock.advance(time.Hour - 34*(time.Minute+time.Second))
	for i := range 45 {
		if r := post(i, "/api/advancedqueries/run", w.mde); r.Status != http.StatusOK {
			t.Fatalf("call %d after the first minute left the hour: %d %s", i+1, r.Status, r.Body)
		}
	}
	checkQuota(t, post(0, "/api/advancedqueries/run", w.mde), "API calls quota exceeded! maximum allowed 1500 per 01:00:00")
}
