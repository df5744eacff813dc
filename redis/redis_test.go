package redis_test

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/internal/redistest"
	"github.com/openatp/openatp/ratelimit"
	"github.com/openatp/openatp/ratelimit/ratelimittest"
	"github.com/openatp/openatp/redis"
)

var (
	_ httpserve.Limiter = (*redis.Counter)(nil)
	_ ratelimit.Counter = (*redis.Counter)(nil)
)

func newCounter(t testing.TB, url string, opts redis.Options) *redis.Counter {
	t.Helper()
	if opts.Prefix == "" {
		opts.Prefix = "test:" + t.Name() + ":"
	}
	c, err := redis.New(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCounter(t *testing.T) {
	srv := redistest.Start(t)
	ratelimittest.Run(t, func(t *testing.T, p ratelimit.Policy, now func() time.Time) ratelimit.Counter {
		c := newCounter(t, srv.URL, redis.Options{Policy: p, Now: now})
		if c.Degraded() {
			t.Fatal("counter degraded at start")
		}
		t.Cleanup(func() {
			if c.Degraded() {
				t.Error("counter degraded: the suite ran on the in-process fallback")
			}
		})
		return c
	})
}

// TestReplicasShare: two counters (two replicas) on one Redis share one
// budget, with the server's clock.
func TestReplicasShare(t *testing.T) {
	srv := redistest.Start(t)
	p := ratelimit.Policy{{Limit: 100, Every: time.Minute}}
	a := newCounter(t, srv.URL, redis.Options{Policy: p, Prefix: "share:"})
	b := newCounter(t, srv.URL, redis.Options{Policy: p, Prefix: "share:"})
	var mu sync.Mutex
	accepted := 0
	var wg sync.WaitGroup
	for i := range 150 {
		c := a
		if i%2 == 1 {
			c = b
		}
		wg.Go(func() {
			ok, retry, err := c.Allow(context.Background(), "tenant|app|users/machines")
			if err != nil {
				t.Error(err)
				return
			}
			if !ok && (retry <= 0 || retry > time.Minute) {
				t.Errorf("refused with retryAfter %v, want in (0, 1m]", retry)
			}
			if ok {
				mu.Lock()
				accepted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if accepted != 100 {
		t.Errorf("two replicas accepted %d of 150 calls, want 100", accepted)
	}
}

// TestDegraded: Redis killed → calls are answered from this replica's
// counts, the counter says degraded, one error is logged; Redis back →
// shared counting resumes.
func TestDegraded(t *testing.T) {
	srv := redistest.Start(t)
	var logs syncBuffer
	clk := ratelimittest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p := ratelimit.Policy{{Limit: 10, Every: time.Minute}}
	opts := redis.Options{Policy: p, Now: clk.Now, PingEvery: 20 * time.Millisecond, Prefix: "deg:",
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	a := newCounter(t, srv.URL, opts)
	b := newCounter(t, srv.URL, opts)
	ctx := context.Background()
	allow := func(c *redis.Counter, key string) bool {
		t.Helper()
		ok, _, err := c.Allow(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for range 5 {
		if !allow(a, "k") || !allow(b, "k") {
			t.Fatal("refused within the shared budget")
		}
	}
	if allow(a, "k") || allow(b, "k") {
		t.Fatal("shared budget of 10 exceeded")
	}

	srv.Stop()
	// A key Redis refused stays refused for the wait Redis gave.
	if allow(a, "k") {
		t.Error("throttled key accepted after Redis stopped, within its wait")
	}
	if a.Degraded() {
		t.Error("a throttled call went to Redis: the counter noticed the outage")
	}
	// Each replica now counts alone, from zero: 10 each.
	for i := range 10 {
		if !allow(a, "k2") {
			t.Fatalf("degraded: call %d refused", i+1)
		}
	}
	if allow(a, "k2") {
		t.Fatal("degraded: call 11 accepted; the local budget is 10")
	}
	for range 100 {
		allow(a, "k2")
		allow(b, "k2")
	}
	if !a.Degraded() || a.Status(ctx) == nil || !strings.Contains(a.Status(ctx).Error(), "Redis is unreachable") {
		t.Fatalf("Degraded() = %v, Status = %v; want degraded", a.Degraded(), a.Status(ctx))
	}
	time.Sleep(100 * time.Millisecond) // several failed pings
	if n := strings.Count(logs.String(), "level=ERROR"); n != 2 {
		t.Errorf("%d errors logged by two replicas, want one each:\n%s", n, logs.String())
	}

	srv.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for a.Degraded() || b.Degraded() {
		if time.Now().After(deadline) {
			t.Fatal("still degraded 10 s after Redis restarted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := a.Status(ctx); err != nil {
		t.Errorf("Status after recovery: %v", err)
	}
	// The restarted Redis is empty: 10 calls between both replicas.
	n := 0
	for i := range 30 {
		c := a
		if i%2 == 1 {
			c = b
		}
		if allow(c, "k") {
			n++
		}
	}
	if n != 10 {
		t.Errorf("after recovery the replicas accepted %d calls, want 10 shared", n)
	}
	if !strings.Contains(logs.String(), "shared counting resumed") {
		t.Errorf("recovery not logged:\n%s", logs.String())
	}
}

func TestStartsDegraded(t *testing.T) {
	srv := redistest.Start(t)
	srv.Stop()
	c := newCounter(t, srv.URL, redis.Options{Policy: ratelimit.Service, PingEvery: 20 * time.Millisecond})
	if !c.Degraded() {
		t.Fatal("not degraded with Redis down")
	}
	if ok, _, err := c.Allow(context.Background(), "k"); !ok || err != nil {
		t.Fatalf("Allow = %v, %v; want accepted from the local counts", ok, err)
	}
	srv.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for c.Degraded() {
		if time.Now().After(deadline) {
			t.Fatal("still degraded 10 s after Redis started")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestThrottledStaysThrottled: a key Redis throttled is refused for the
// wait Redis gave even after another key's call made the counter degraded.
func TestThrottledStaysThrottled(t *testing.T) {
	srv := redistest.Start(t)
	clk := ratelimittest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p := ratelimit.Policy{{Limit: 10, Every: time.Hour}}
	c := newCounter(t, srv.URL, redis.Options{Policy: p, Now: clk.Now, PingEvery: time.Hour})
	for i := range 10 {
		if !allow(t, c, "k") {
			t.Fatalf("call %d refused within the budget", i+1)
		}
	}
	if allow(t, c, "k") {
		t.Fatal("call 11 accepted; the budget is 10 an hour")
	}

	srv.Stop()
	allow(t, c, "other") // notices the outage
	if !c.Degraded() {
		t.Fatal("not degraded after a failed call")
	}
	for i := range 20 {
		ok, retry, err := c.Allow(context.Background(), "k")
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			t.Fatalf("degraded: throttled key's call %d accepted within its 1h wait", i+1)
		}
		if retry <= 0 || retry > time.Hour {
			t.Fatalf("degraded: retryAfter %v, want in (0, 1h]", retry)
		}
	}
	// Once the wait has passed the key counts locally, from zero.
	clk.Advance(time.Hour)
	if !allow(t, c, "k") {
		t.Error("degraded: key refused after its wait ended")
	}
}

// TestWritesRefused: a Redis that answers PING but refuses writes (a
// demoted primary) keeps the counter degraded, with one local budget and
// one logged error, until the script works again.
func TestWritesRefused(t *testing.T) {
	srv := redistest.Start(t)
	var logs syncBuffer
	p := ratelimit.Policy{{Limit: 10, Every: time.Minute}}
	c := newCounter(t, srv.URL, redis.Options{Policy: p, PingEvery: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	readOnly(t, srv, true)
	accepted := 0
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		if allow(t, c, "k") {
			accepted++
		}
		time.Sleep(2 * time.Millisecond)
	}
	if accepted != 10 {
		t.Errorf("one replica accepted %d calls in 2 s, want 10 (its local budget, once)", accepted)
	}
	if !c.Degraded() {
		t.Error("not degraded while Redis refuses writes")
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
		t.Errorf("%d errors logged in 2 s, want 1:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "resumed") {
		t.Errorf("shared counting resumed while Redis refuses writes:\n%s", logs.String())
	}

	readOnly(t, srv, false)
	waitShared(t, c)
	if !strings.Contains(logs.String(), "shared counting resumed") {
		t.Errorf("recovery not logged:\n%s", logs.String())
	}
}

// TestFlappingRedis: outages close together share one local budget, keep
// Redis's blocks, and log one error per interval.
func TestFlappingRedis(t *testing.T) {
	srv := redistest.Start(t)
	var logs syncBuffer
	clk := ratelimittest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p := ratelimit.Policy{{Limit: 10, Every: time.Minute}}
	c := newCounter(t, srv.URL, redis.Options{Policy: p, Now: clk.Now, PingEvery: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for range 10 {
		allow(t, c, "throttled")
	}
	if allow(t, c, "throttled") {
		t.Fatal("call 11 accepted; the budget is 10")
	}

	accepted := 0
	for range 3 {
		readOnly(t, srv, true)
		for range 4 {
			if allow(t, c, "k") {
				accepted++
			}
		}
		if !c.Degraded() {
			t.Fatal("not degraded while Redis refuses writes")
		}
		if allow(t, c, "throttled") {
			t.Error("throttled key accepted in an outage following a resume")
		}
		readOnly(t, srv, false)
		waitShared(t, c)
	}
	if accepted != 10 {
		t.Errorf("three outages within a minute accepted %d calls, want 10 (one local budget)", accepted)
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
		t.Errorf("%d errors logged, want 1 (one per 30 s):\n%s", n, logs.String())
	}
	// Redis kept its counts: the block still holds with Redis answering.
	if allow(t, c, "throttled") {
		t.Error("throttled key accepted after shared counting resumed")
	}
}

// readOnly makes srv refuse writes (a replica of a primary that does not
// exist: PING still answers) or accept them again.
func readOnly(t *testing.T, srv *redistest.Server, on bool) {
	t.Helper()
	cl := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer cl.Close()
	host, port := "NO", "ONE"
	if on {
		host, port = "127.0.0.1", "1"
	}
	if err := cl.ReplicaOf(context.Background(), host, port).Err(); err != nil {
		t.Fatal(err)
	}
}

// waitShared waits until c counts in Redis again.
func waitShared(t *testing.T, c *redis.Counter) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); c.Degraded(); {
		if time.Now().After(deadline) {
			t.Fatal("still degraded 10 s after Redis accepts writes")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func allow(t *testing.T, c *redis.Counter, key string) bool {
	t.Helper()
	ok, _, err := c.Allow(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestBadURL(t *testing.T) {
	if _, err := redis.New("http://nope", redis.Options{}); err == nil {
		t.Error("New accepted an http:// URL")
	}
}

// BenchmarkCounter is the Redis limiter's cost per call: an accepted call
// (one round trip and the script), a throttled caller's call (refused by the
// replica from the wait Redis gave), and accepted calls of many keys from
// parallel callers.
func BenchmarkCounter(b *testing.B) {
	srv := redistest.Start(b)
	ctx := context.Background()
	// A clock that moves 2.4 s a call: the service's policy accepts
	// every call (25 a minute, 1,500 an hour), at its full cost.
	var tick atomic.Int64
	clock := func() time.Time { return time.Unix(1e9, 0).Add(time.Duration(tick.Add(1)) * 2400 * time.Millisecond) }
	b.Run("Accepted", func(b *testing.B) {
		c := newCounter(b, srv.URL, redis.Options{Policy: ratelimit.Service, Now: clock})
		for b.Loop() {
			if ok, _, _ := c.Allow(ctx, "tenant|app|users/machines"); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("Throttled", func(b *testing.B) {
		c := newCounter(b, srv.URL, redis.Options{Policy: ratelimit.Service})
		for range 101 {
			_, _, _ = c.Allow(ctx, "tenant|app|users/machines")
		}
		for b.Loop() {
			if ok, _, _ := c.Allow(ctx, "tenant|app|users/machines"); ok {
				b.Fatal("accepted")
			}
		}
	})
	b.Run("ParallelAccepted", func(b *testing.B) {
		c := newCounter(b, srv.URL, redis.Options{Policy: ratelimit.Service, Now: clock})
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			key := "tenant|app" + strconv.FormatInt(n.Add(1), 10) + "|users/machines"
			for pb.Next() {
				_, _, _ = c.Allow(ctx, key)
			}
		})
	})
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
