// Package redis is a ratelimit.Counter kept in Redis, so that any number
// of openatp replicas sharing one Redis share each budget exactly. The
// check and the record of a call are one Lua script, atomic on the Redis
// side, over one sorted set per key (scores: call times in microseconds).
//
// When Redis is unreachable, or fails the script, the counter is degraded:
// it counts in this process (a ratelimit.Memory kept from one outage to the
// next, so that a Redis failing on and off gives no fresh budget each
// time), keeps refusing the keys Redis throttled until their waits end,
// logs an error at most once per interval, and reports itself through
// Degraded and Status. In the background it runs the script on a probe key
// of its own, and resumes shared counting when that succeeds: a Redis that
// answers PING but refuses writes (a demoted primary, out of memory, an ACL
// without the keys) stays degraded.
package redis

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/openatp/openatp/internal/lifetime"
	"github.com/openatp/openatp/ratelimit"
)

//go:embed allow.lua
var allowSrc string

var allowScript = goredis.NewScript(allowSrc)

// Options configure a Counter. The zero value of each field is its default.
type Options struct {
	// Policy is the limits applied; the empty policy allows everything.
	Policy ratelimit.Policy
	// Now is the clock. Nil (production) uses the Redis server's clock
	// (TIME inside the script), so replicas need not agree on the time;
	// tests pass a fake clock, and then every process sharing the Redis
	// must pass the same clock.
	Now func() time.Time
	// Logger receives the degraded-mode errors; nil discards them.
	Logger *slog.Logger
	// Prefix starts every Redis key; default "openatp:ratelimit:".
	Prefix string
	// Timeout bounds one call to Redis; default 500ms.
	Timeout time.Duration
	// PingEvery is how often a degraded counter probes Redis (runs the
	// script on a key of its own); default 1s.
	PingEvery time.Duration
	// LogEvery is the least time between two logged errors; default 30s.
	LogEvery time.Duration
}

// Counter is a ratelimit.Counter on Redis, with an in-process fallback.
// It is safe for concurrent use.
type Counter struct {
	client  goredis.UniversalClient
	opts    Options
	replica string
	seq     atomic.Uint64
	// windowArgs are the script's trailing arguments: limit, window µs, ...
	windowArgs []any
	// probeKey is the key the probes write, this replica's own.
	probeKey string

	// blocked remembers, per key, until when Redis refuses every call: a
	// throttled caller's retries are refused here without a round trip,
	// and while the counter is degraded. Exact, because accepted calls
	// only ever make a full window's wait longer. A block given before
	// Redis's last outage (an older epoch) is checked with Redis again once
	// shared counting resumes, as Redis may have restarted empty.
	blockedMu sync.RWMutex
	blocked   map[string]block
	epoch     atomic.Uint64 // outages ended so far

	degraded atomic.Bool
	// local counts while degraded. It is kept across outages; the watcher
	// replaces it once shared counting has lasted the policy's longest
	// window, when all its calls have left every window.
	local   atomic.Pointer[ratelimit.Memory]
	mu      sync.Mutex // guards the fields below
	lastErr error
	since   time.Time // start of the outage
	resumed time.Time // end of the last outage (counter's clock); zero while local is fresh
	lastLog time.Time // the last logged error
	logged  bool      // whether an error was logged during this outage

	bg *lifetime.Group // the watch; Close stops it
}

// block is a wait Redis gave a key: until when (Unix ns, on the counter's
// clock), and the epoch it was given in.
type block struct {
	until  int64
	epoch  uint64
	window int // the policy's window that refused
}

// probeLimit is the limit of the probe's one window: never reached, so the
// probe always goes through the script's writes.
const probeLimit = 1 << 30

// ErrDegraded is what Status wraps while Redis is unreachable.
var ErrDegraded = errors.New("rate limits counted in this replica only: Redis is unreachable")

// New connects to the Redis at url (redis://[user:pass@]host:port[/db],
// rediss:// for TLS). Redis being unreachable is not an error: the counter
// starts degraded and resumes shared counting when Redis answers. Close
// releases the connection.
func New(url string, opts Options) (*Counter, error) {
	o, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	opts = withDefaults(opts)
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout = opts.Timeout, opts.Timeout, opts.Timeout
	// A script is not retried: its write may have happened before the
	// connection broke, and a retry would count the call twice.
	o.MaxRetries = -1
	o.DialerRetries = 1 // fail over to the local counts at once
	quietOnce.Do(func() { goredis.SetLogger(quiet{}) })
	return NewClient(goredis.NewClient(o), opts), nil
}

// quiet drops go-redis's own log lines (printed with the standard logger):
// the Counter logs Redis failures itself, at most once per interval.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

var quietOnce sync.Once

func withDefaults(o Options) Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Prefix == "" {
		o.Prefix = "openatp:ratelimit:"
	}
	if o.Timeout <= 0 {
		o.Timeout = 500 * time.Millisecond
	}
	if o.PingEvery <= 0 {
		o.PingEvery = time.Second
	}
	if o.LogEvery <= 0 {
		o.LogEvery = 30 * time.Second
	}
	return o
}

// NewClient is New on an existing client, which Close closes.
func NewClient(client goredis.UniversalClient, opts Options) *Counter {
	opts = withDefaults(opts)
	var id [8]byte
	_, _ = rand.Read(id[:])
	c := &Counter{client: client, opts: opts, replica: hex.EncodeToString(id[:]) + ":",
		probeKey: opts.Prefix + "probe:" + hex.EncodeToString(id[:]),
		blocked:  make(map[string]block), bg: lifetime.New(context.Background())}
	for _, w := range opts.Policy {
		c.windowArgs = append(c.windowArgs, w.Limit, w.Every.Microseconds())
	}
	c.local.Store(ratelimit.NewMemory(opts.Policy, opts.Now))
	if err := c.probe(); err != nil {
		c.fail(err)
	}
	c.bg.Go(func(ctx context.Context) error { c.watch(ctx); return nil })
	return c
}

// Allow records a call under key if the shared budget has room, atomically
// across replicas. When Redis fails it answers from this replica's counts
// (and logs, and reports itself degraded) rather than fail the call; the
// only error is the caller's context ending. A key Redis throttled is
// refused until the wait Redis gave has passed, degraded or not.
func (c *Counter) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	ok, retry, _, err := c.AllowWindow(ctx, key)
	return ok, retry, err
}

// AllowWindow is Allow, and for a refused call the window of the policy
// that refused it (ratelimit.WindowCounter), checked in the same script.
func (c *Counter) AllowWindow(ctx context.Context, key string) (bool, time.Duration, int, error) {
	if len(c.windowArgs) == 0 {
		return true, 0, 0, nil
	}
	start := c.now()
	c.blockedMu.RLock()
	b, blocked := c.blocked[key]
	c.blockedMu.RUnlock()
	if blocked {
		if wait := time.Duration(b.until - start.UnixNano()); wait <= 0 {
			c.unblock(key, b)
			blocked = false
		} else if c.degraded.Load() || b.epoch == c.epoch.Load() {
			return false, wait, b.window, nil
		}
		// A block from before Redis's last outage: ask Redis, but keep
		// the block for the case it fails.
	}
	if c.degraded.Load() {
		return c.local.Load().AllowWindow(ctx, key)
	}
	now := "" // the script reads Redis's clock
	if c.opts.Now != nil {
		now = strconv.FormatInt(start.UnixMicro(), 10)
	}
	args := make([]any, 0, 2+len(c.windowArgs))
	args = append(args, now, c.replica+strconv.FormatUint(c.seq.Add(1), 36))
	args = append(args, c.windowArgs...)
	rctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	res, err := allowScript.Run(rctx, c.client, []string{c.opts.Prefix + key}, args...).Int64Slice()
	cancel()
	if err == nil && len(res) != 2 {
		err = fmt.Errorf("the rate limit script answered %d values, want 2", len(res))
	}
	if err != nil {
		if ctx.Err() != nil {
			return false, 0, 0, ctx.Err()
		}
		c.fail(err)
		if blocked {
			return false, time.Duration(b.until - start.UnixNano()), b.window, nil
		}
		return c.local.Load().AllowWindow(ctx, key)
	}
	if retry, window := res[0], int(res[1]); retry > 0 {
		// Redis refused at its time r >= start; no call is accepted before
		// r + wait, so start + wait is a safe (early) end of the block.
		wait := time.Duration(retry) * time.Microsecond
		c.blockedMu.Lock()
		c.blocked[key] = block{until: start.Add(wait).UnixNano(), epoch: c.epoch.Load(), window: window}
		c.blockedMu.Unlock()
		return false, wait, window, nil
	}
	if blocked {
		c.unblock(key, b) // Redis lost the calls behind the block
	}
	return true, 0, 0, nil
}

// unblock drops key's block b, unless a newer one replaced it.
func (c *Counter) unblock(key string, b block) {
	c.blockedMu.Lock()
	if c.blocked[key] == b {
		delete(c.blocked, key)
	}
	c.blockedMu.Unlock()
}

// probe runs the script on the counter's own key, with a window that never
// fills, so that it goes through the same writes as a call: a Redis that
// answers PING but refuses writes fails it.
func (c *Counter) probe() error {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	// Redis's clock and a 1 µs window: the set holds one call at most.
	args := []any{"", c.replica + strconv.FormatUint(c.seq.Add(1), 36), probeLimit, 1}
	return allowScript.Run(ctx, c.client, []string{c.probeKey}, args...).Err()
}

func (c *Counter) now() time.Time {
	if c.opts.Now != nil {
		return c.opts.Now()
	}
	return time.Now()
}

// forgetBlocks drops the blocks that have ended.
func (c *Counter) forgetBlocks() {
	now := c.now().UnixNano()
	c.blockedMu.Lock()
	defer c.blockedMu.Unlock()
	for k, b := range c.blocked {
		if b.until <= now {
			delete(c.blocked, k)
		}
	}
}

// freshLocal replaces the local counts, freeing their memory, once shared
// counting has lasted the policy's longest window: all their calls have
// then left every window.
func (c *Counter) freshLocal() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.degraded.Load() || c.resumed.IsZero() || c.now().Sub(c.resumed) < c.opts.Policy.MaxEvery() {
		return
	}
	c.local.Store(ratelimit.NewMemory(c.opts.Policy, c.opts.Now))
	c.resumed = time.Time{}
}

// fail enters (or stays in) degraded mode after err. The local counts are
// not reset: the calls of an outage that ended less than a window ago
// still count, or a Redis failing on and off would give a fresh budget
// each time.
func (c *Counter) fail(err error) {
	now := time.Now()
	c.mu.Lock()
	c.lastErr = err
	if !c.degraded.Load() {
		c.since = now
		c.logged = false
		c.degraded.Store(true)
	}
	log := now.Sub(c.lastLog) >= c.opts.LogEvery
	if log {
		c.lastLog, c.logged = now, true
	}
	c.mu.Unlock()
	if log {
		c.opts.Logger.Error("rate limit: Redis is unreachable; counting in this replica only until it answers", "err", err)
	}
}

// watch probes Redis while the counter is degraded and resumes shared
// counting when the probe succeeds.
func (c *Counter) watch(ctx context.Context) {
	t := time.NewTicker(c.opts.PingEvery)
	defer t.Stop()
	lastSweep := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if time.Since(lastSweep) >= time.Minute {
			c.forgetBlocks()
			c.freshLocal()
			lastSweep = time.Now()
		}
		if !c.degraded.Load() {
			continue
		}
		if err := c.probe(); err != nil {
			c.fail(err)
			continue
		}
		c.mu.Lock()
		since, logged := c.since, c.logged
		// Blocks given so far are checked with Redis again (it may have
		// lost its counts); the epoch moves before degraded is cleared.
		c.epoch.Add(1)
		c.resumed = c.now()
		c.lastErr = nil
		c.degraded.Store(false)
		c.mu.Unlock()
		// The log throttle is left as it is: a Redis failing on and off
		// logs one error per interval, not one per outage.
		if logged {
			c.opts.Logger.Info("rate limit: Redis answers again; shared counting resumed", "degraded_for", time.Since(since).Round(time.Millisecond))
		}
	}
}

// Degraded returns whether the counter counts in this replica only.
func (c *Counter) Degraded() bool { return c.degraded.Load() }

// Status returns nil when calls are counted in Redis, or an error wrapping
// ErrDegraded (for /readyz).
func (c *Counter) Status(context.Context) error {
	if !c.degraded.Load() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Errorf("%w (since %s): %v", ErrDegraded, c.since.UTC().Format(time.RFC3339), c.lastErr)
}

// Close stops the background pings and closes the Redis client.
func (c *Counter) Close() error {
	if c.bg.Context().Err() != nil { // closed already: only Close stops the group
		return nil
	}
	_ = c.bg.Close() // the watch returns no error
	return c.client.Close()
}
