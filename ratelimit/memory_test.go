package ratelimit_test

import (
	"context"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/ratelimit"
	"github.com/openatp/openatp/ratelimit/ratelimittest"
)

var (
	_ httpserve.Limiter = (*ratelimit.Memory)(nil)
	_ ratelimit.Counter = (*ratelimit.Memory)(nil)
)

func TestMemory(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T, p ratelimit.Policy, now func() time.Time) ratelimit.Counter {
		return ratelimit.NewMemory(p, now)
	})
}

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"service", "service", "100/min,1500/hour"},
		{"empty is service", "", "100/min,1500/hour"},
		{"off", "off", "off"},
		{"custom", "20/min,300/hour", "20/min,300/hour"},
		{"spaces and case", " 20 / MIN , 300/h ", "20/min,300/hour"},
		{"duration", "5/30s,1000/day", "5/30s,1000/day"},
		{"seconds", "2/sec", "2/sec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ratelimit.ParsePolicy(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.String(); got != tt.want {
				t.Errorf("ParsePolicy(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
	for _, bad := range []string{"100", "0/min", "-1/min", "x/min", "10/fortnight", "10/0s", "10/min,", "10/1us", "2000000/min"} {
		if p, err := ratelimit.ParsePolicy(bad); err == nil {
			t.Errorf("ParsePolicy(%q) = %v, want an error", bad, p)
		}
	}
}

func TestMemoryDropsIdleKeys(t *testing.T) {
	clk := ratelimittest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	m := ratelimit.NewMemory(ratelimit.Service, clk.Now)
	ctx := context.Background()
	for i := range 1000 {
		_, _, _ = m.Allow(ctx, "key"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	if n := ratelimit.Keys(m); n != 1000 {
		t.Fatalf("%d keys held, want 1000", n)
	}
	clk.Advance(time.Hour)
	for i := range 1000 { // one call per shard is enough to sweep it; call many keys
		_, _, _ = m.Allow(ctx, "other"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	if n := ratelimit.Keys(m); n != 1000 {
		t.Errorf("%d keys held an hour later, want only the 1000 new ones", n)
	}
}

// BenchmarkMemory is the in-process limiter's cost per call: an accepted
// call, a throttled caller's call, and accepted calls of many keys from
// parallel callers.
func BenchmarkMemory(b *testing.B) {
	ctx := context.Background()
	// A clock that moves 2.4 s a call: the service's policy accepts
	// every call (25 a minute, 1,500 an hour), at its full cost.
	var tick atomic.Int64
	clock := func() time.Time { return time.Unix(1e9, 0).Add(time.Duration(tick.Add(1)) * 2400 * time.Millisecond) }
	b.Run("Accepted", func(b *testing.B) {
		m := ratelimit.NewMemory(ratelimit.Service, clock)
		for b.Loop() {
			if ok, _, _ := m.Allow(ctx, "tenant|app|users/machines"); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("Throttled", func(b *testing.B) {
		m := ratelimit.NewMemory(ratelimit.Service, nil)
		for range 101 {
			_, _, _ = m.Allow(ctx, "tenant|app|users/machines")
		}
		for b.Loop() {
			if ok, _, _ := m.Allow(ctx, "tenant|app|users/machines"); ok {
				b.Fatal("accepted")
			}
		}
	})
	b.Run("ParallelAccepted", func(b *testing.B) {
		m := ratelimit.NewMemory(ratelimit.Service, clock)
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			key := "tenant|app" + strconv.FormatInt(n.Add(1), 10) + "|users/machines"
			for pb.Next() {
				_, _, _ = m.Allow(ctx, key)
			}
		})
	})
}

// A budget of failures: exhausted once a window is full, without counting
// the refused attempts; free again when the oldest failure leaves it.
func TestFailures(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	f := ratelimit.NewFailures(ratelimit.Policy{{Limit: 3, Every: time.Minute}}, func() time.Time { return now })
	const key = "192.0.2.7"
	for i := range 3 {
		if _, ex := f.Exhausted(key); ex {
			t.Fatalf("exhausted after %d failures", i)
		}
		f.Fail(key)
		now = now.Add(10 * time.Second)
	}
	retry, ex := f.Exhausted(key)
	if !ex || retry != 30*time.Second {
		t.Fatalf("after 3 failures in 30 s: exhausted %v, retry %v; want true, 30s", ex, retry)
	}
	if _, ex := f.Exhausted("192.0.2.8"); ex {
		t.Error("another address is exhausted")
	}
	now = now.Add(30 * time.Second)
	if _, ex := f.Exhausted(key); ex {
		t.Error("still exhausted once the oldest failure left the window")
	}
	for addr, want := range map[string]string{
		"192.0.2.7:5555":               "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443":   "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1%1]:443": "2001:db8:1:2::/64",
		"[::ffff:192.0.2.7]:80":        "192.0.2.7",
		"not an address":               "not an address",
	} {
		if got := ratelimit.AddressKey(addr); got != want {
			t.Errorf("AddressKey(%q) = %q, want %q", addr, got, want)
		}
	}
}

// TestBoth: a call fits ratelimit.Both(p, q) when it fits both; windows another
// implies are left out.
func TestBoth(t *testing.T) {
	m, h := time.Minute, time.Hour
	for _, c := range []struct{ p, q, want string }{
		{"100/min,1500/hour", "10/min", "10/min,1500/hour"},
		{"100/min,1500/hour", "10/min,500/hour", "10/min,500/hour"},
		{"100/min,1500/hour", "2/min,120/hour", "2/min,120/hour"},
		{"100/min,1500/hour", "15/min", "15/min,1500/hour"},
		{"100/min,1500/hour", "100/min,1500/hour", "100/min,1500/hour"},
		{"10/min", "20/hour", "10/min,20/hour"},
		{"10/hour", "20/min", "10/hour"},
		{"off", "5/sec", "5/sec"},
	} {
		p, err := ratelimit.ParsePolicy(c.p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := ratelimit.ParsePolicy(c.q)
		if err != nil {
			t.Fatal(err)
		}
		if got := ratelimit.Both(p, q).String(); got != c.want {
			t.Errorf("Both(%s, %s) = %s, want %s", c.p, c.q, got, c.want)
		}
	}
	if got := ratelimit.Endpoints["machines/runliveresponse"]; !slices.Equal(got, ratelimit.Policy{{Limit: 10, Every: m}, {Limit: 1500, Every: h}}) {
		t.Errorf("runliveresponse policy %v, want 10/min and the family's 1500/hour", got)
	}
}
