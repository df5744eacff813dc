package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openatp/openatp/adminapi"
	"github.com/openatp/openatp/sqlite"
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

// TestShutdownKeepsAcknowledgedWrites cancels serve's context while
// clients write machines through the admin API: every write the server
// acknowledged (2xx) is in the store afterwards.
func TestShutdownKeepsAcknowledgedWrites(t *testing.T) {
	db := filepath.Join(t.TempDir(), "openatp.db")
	tenant, _, _ := newTenantApp(t, db, "writes.example")
	r := startReplica(t, "--db", db, "--data", t.TempDir(), "--rate-limit", "off")
	ctx := context.Background()
	store, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	key, err := store.Setting(ctx, adminapi.AdminKeySetting)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var acked []string
	var next atomic.Int64
	var wg sync.WaitGroup
	stopAt := time.Now().Add(20 * time.Second)
	for range 4 {
		wg.Go(func() {
			c := &http.Client{Timeout: 30 * time.Second}
			for time.Now().Before(stopAt) {
				id := fmt.Sprintf("%040x", 0xdead0000+next.Add(1))
				req, _ := http.NewRequest("POST", r.base+"/_openatp/tenants/"+tenant+"/machines",
					strings.NewReader(`{"id":"`+id+`","computerDnsName":"w.example.com"}`+"\n"))
				req.Header.Set("X-Openatp-Admin-Key", key)
				req.Header.Set("Content-Type", "application/x-ndjson")
				res, err := c.Do(req)
				if err != nil {
					return // no longer accepting: done
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode/100 == 2 {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	if err := r.stop(); err != nil {
		t.Fatalf("serve returned %v", err)
	}
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged before the shutdown")
	}
	for _, id := range acked {
		if _, err := store.Machine(ctx, tenant, id); err != nil {
			t.Errorf("acknowledged machine %s: %v", id, err)
		}
	}
	t.Logf("%d acknowledged writes, all stored", len(acked))
}

// TestShutdownCutsStuckConnections: a connection still busy when the
// shutdown timeout ends is cut, and serve says so in its log and its
// error, rather than exiting as if all had finished.
func TestShutdownCutsStuckConnections(t *testing.T) {
	db := filepath.Join(t.TempDir(), "openatp.db")
	tenant, _, _ := newTenantApp(t, db, "stuck.example")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errb := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runCLI(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--tls-addr", "", "--db", db, "--data", t.TempDir(),
			"--shutdown-timeout", "300ms", "--body-timeout", "1m"}, noEnv, strings.NewReader(""), out, errb)
	}()
	var addr string
	for deadline := time.Now().Add(60 * time.Second); addr == ""; time.Sleep(10 * time.Millisecond) {
		if m := baseLine.FindStringSubmatch(out.String()); m != nil {
			addr = strings.TrimPrefix(m[1], "http://")
		} else if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", errb.String())
		}
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A token request whose body never comes: busy until its deadline, a
	// minute away. (Until the server has read its headers, the connection
	// is new, which Shutdown waits for too.)
	fmt.Fprintf(c, "POST /%s/oauth2/token HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant", tenant, addr)
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err = <-done:
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not return")
	}
	if err == nil || !strings.Contains(err.Error(), "1 connections still open after 300ms were cut") {
		t.Fatalf("serve returned %v, want it to say it cut 1 connection", err)
	}
	if !strings.Contains(errb.String(), `msg="shut down: connections still open after the shutdown timeout were cut" cut=1`) {
		t.Errorf("no log line of the cut connection:\n%s", errb.String())
	}
}
