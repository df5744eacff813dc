package auth

import (
	"strings"
	"sync"
	"time"

	"github.com/openatp/openatp"
)

// cacheEntry is a verified token.
type cacheEntry struct {
	p        *openatp.Principal
	from     time.Time // nbf - leeway; zero if the token has no nbf
	until    time.Time // exp + leeway
	issHost  string    // lower-case host name of the issuer
	loopback bool      // issHost is a loopback name
	anyHost  bool      // issHost is one of Options.Hostnames
}

// check applies the per-request checks of a verified token: its validity
// period at now and its issuer host against the request's host.
func (e *cacheEntry) check(now time.Time, host string) error {
	if !now.Before(e.until) {
		return errExpired(e.until.Add(-leeway))
	}
	if now.Before(e.from) {
		return errNotYet(e.from.Add(leeway))
	}
	if e.anyHost || strings.EqualFold(e.issHost, host) || (e.loopback && isLoopback(host)) {
		return nil
	}
	return unauthorized("invalid token: issuer host %q is not accepted on host %q", e.issHost, clip(host))
}

// tokenCache maps raw tokens to their verification. It is bounded: when
// full, expired entries are dropped, and if that is not enough, all.
type tokenCache struct {
	mu  sync.RWMutex
	m   map[string]*cacheEntry
	max int
}

func (c *tokenCache) init(max int) {
	c.max = max
	c.m = make(map[string]*cacheEntry)
}

func (c *tokenCache) get(raw string) *cacheEntry {
	c.mu.RLock()
	e := c.m[raw]
	c.mu.RUnlock()
	return e
}

func (c *tokenCache) put(raw string, e *cacheEntry, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, v := range c.m {
			if !now.Before(v.until) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m)
		}
	}
	c.m[raw] = e
}

// len returns the number of cached tokens.
func (c *tokenCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
