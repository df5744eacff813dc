package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestShutdownUnderLoad cancels serve's context (what SIGTERM does) while
// clients keep sending requests: every request the server accepted is
// answered (each request it logged reached its client with a status), and
// run returns cleanly.
func TestShutdownUnderLoad(t *testing.T) {
	db := filepath.Join(t.TempDir(), "openatp.db")
	tenant, clientID, secret := newTenantApp(t, db, "shutdown.example")
	r := startReplica(t, "--db", db, "--data", t.TempDir(), "--rate-limit", "off")
	tok := clientToken(t, r.base, tenant, clientID, secret)

	const clients = 8
	var answered, bad atomic.Int64
	var wg sync.WaitGroup
	stopAt := time.Now().Add(20 * time.Second) // a bound, should shutdown never refuse
	for range clients {
		wg.Go(func() {
			c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer c.CloseIdleConnections()
			for time.Now().Before(stopAt) {
				req, _ := http.NewRequest("GET", r.base+"/api/users/nobody/machines", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				res, err := c.Do(req)
				if err != nil {
					// The server no longer accepts connections: done.
					return
				}
				_, err = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 404 || err != nil {
					bad.Add(1)
					t.Errorf("status %d, body read error %v", res.StatusCode, err)
				}
				answered.Add(1)
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	if err := r.stop(); err != nil {
		t.Fatalf("serve returned %v", err)
	}
	wg.Wait()
	logged := int64(strings.Count(r.stderr.String(), "path=/api/users/nobody/machines "))
	if answered.Load() == 0 || logged != answered.Load() {
		t.Errorf("the server logged %d requests, its clients got %d answers: want the same, and some", logged, answered.Load())
	}
	if bad.Load() > 0 {
		t.Errorf("%d answers were not the expected 404", bad.Load())
	}
	t.Logf("%d requests answered across the shutdown", answered.Load())
}
