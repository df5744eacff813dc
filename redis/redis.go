// Package redis is a ratelimit.Counter kept in Redis, so that any number
// of openatp replicas sharing one Redis share each budget exactly. The
// check and the record of a call are one Lua script, atomic on the Redis
// side, over one sorted set per key (scores: call times in microseconds).
//
// When Redis is unreachable the counter is degraded: it counts in this
// process (ratelimit.Memory, starting empty), logs an error at most once per
// interval, and reports itself through Degraded and Status; it pings Redis
// in the background and resumes shared counting when Redis answers.
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
	// PingEvery is how often a degraded counter pings Redis; default 1s.
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

	// blocked remembers, per key, until when (Unix ns, on the counter's
	// clock) Redis refuses every call: a throttled caller's retries are
	// refused here without a round trip. Exact, because accepted calls
	// only ever make a full window's wait longer.
	blockedMu sync.RWMutex
	blocked   map[string]int64

	degraded atomic.Bool
	local    atomic.Pointer[ratelimit.Memory]
	mu       sync.Mutex // guards lastErr and since
	lastErr  error
	since    time.Time
	lastLog  atomic.Int64 // unix ns of the last logged error

	stop chan struct{}
	done chan struct{}
}

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
		blocked: make(map[string]int64), stop: make(chan struct{}), done: make(chan struct{})}
	for _, w := range opts.Policy {
		c.windowArgs = append(c.windowArgs, w.Limit, w.Every.Microseconds())
	}
	c.local.Store(ratelimit.NewMemory(opts.Policy, opts.Now))
	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	if err := client.Ping(ctx).Err(); err != nil {
		c.fail(err)
	}
	cancel()
	go c.watch()
	return c
}

// Allow records a call under key if the shared budget has room, atomically
// across replicas. When Redis fails it answers from this replica's counts
// (and logs, and reports itself degraded) rather than fail the call; the
// only error is the caller's context ending.
func (c *Counter) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	if len(c.windowArgs) == 0 {
		return true, 0, nil
	}
	if c.degraded.Load() {
		return c.local.Load().Allow(ctx, key)
	}
	start := c.now()
	c.blockedMu.RLock()
	until, blocked := c.blocked[key]
	c.blockedMu.RUnlock()
	if blocked {
		if wait := until - start.UnixNano(); wait > 0 {
			return false, time.Duration(wait), nil
		}
		c.blockedMu.Lock()
		if c.blocked[key] == until {
			delete(c.blocked, key)
		}
		c.blockedMu.Unlock()
	}
	now := "" // the script reads Redis's clock
	if c.opts.Now != nil {
		now = strconv.FormatInt(start.UnixMicro(), 10)
	}
	args := make([]any, 0, 2+len(c.windowArgs))
	args = append(args, now, c.replica+strconv.FormatUint(c.seq.Add(1), 36))
	args = append(args, c.windowArgs...)
	rctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	retry, err := allowScript.Run(rctx, c.client, []string{c.opts.Prefix + key}, args...).Int64()
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return false, 0, ctx.Err()
		}
		c.fail(err)
		return c.local.Load().Allow(ctx, key)
	}
	if retry > 0 {
		// Redis refused at its time r >= start; no call is accepted before
		// r + wait, so start + wait is a safe (early) end of the block.
		wait := time.Duration(retry) * time.Microsecond
		c.blockedMu.Lock()
		c.blocked[key] = start.Add(wait).UnixNano()
		c.blockedMu.Unlock()
		return false, wait, nil
	}
	return true, 0, nil
}

func (c *Counter) now() time.Time {
	if c.opts.Now != nil {
		return c.opts.Now()
	}
	return time.Now()
}

// forgetBlocks drops the blocks that have ended, or all of them.
func (c *Counter) forgetBlocks(all bool) {
	now := c.now().UnixNano()
	c.blockedMu.Lock()
	defer c.blockedMu.Unlock()
	for k, until := range c.blocked {
		if all || until <= now {
			delete(c.blocked, k)
		}
	}
}

// fail enters (or stays in) degraded mode after err.
func (c *Counter) fail(err error) {
	c.mu.Lock()
	c.lastErr = err
	if !c.degraded.Load() {
		c.since = time.Now()
		// Counting starts afresh here: calls counted in an earlier outage
		// are in Redis's past, not this one's.
		c.local.Store(ratelimit.NewMemory(c.opts.Policy, c.opts.Now))
		c.degraded.Store(true)
	}
	c.mu.Unlock()
	now := time.Now().UnixNano()
	last := c.lastLog.Load()
	if now-last >= int64(c.opts.LogEvery) && c.lastLog.CompareAndSwap(last, now) {
		c.opts.Logger.Error("rate limit: Redis is unreachable; counting in this replica only until it answers", "err", err)
	}
}

// watch pings Redis while the counter is degraded and resumes shared
// counting when it answers.
func (c *Counter) watch() {
	defer close(c.done)
	t := time.NewTicker(c.opts.PingEvery)
	defer t.Stop()
	lastSweep := time.Now()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		if time.Since(lastSweep) >= time.Minute {
			c.forgetBlocks(false)
			lastSweep = time.Now()
		}
		if !c.degraded.Load() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
		err := c.client.Ping(ctx).Err()
		cancel()
		if err != nil {
			c.fail(err)
			continue
		}
		c.mu.Lock()
		since := c.since
		c.degraded.Store(false)
		c.lastErr = nil
		c.mu.Unlock()
		c.lastLog.Store(0)   // the next outage is logged at once
		c.forgetBlocks(true) // Redis may have lost its counts
		c.opts.Logger.Info("rate limit: Redis answers again; shared counting resumed", "degraded_for", time.Since(since).Round(time.Millisecond))
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
	select {
	case <-c.stop:
		return nil
	default:
	}
	close(c.stop)
	<-c.done
	return c.client.Close()
}
