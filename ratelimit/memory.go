package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// shards is the number of independently locked parts of a Memory's key
// space: calls of different keys rarely wait for each other.
const shards = 64

// Memory is a Counter in this process's memory. Per active key it keeps
// a ring of the accepted calls' times, as many as the policy's largest
// limit (1,500 × 8 bytes for the service policy); a key idle for the
// policy's longest window is dropped. It is safe for concurrent use.
type Memory struct {
	policy   Policy
	now      func() time.Time
	maxLimit int
	maxEvery int64 // ns
	seed     maphash.Seed
	shards   [shards]shard
}

type shard struct {
	mu        sync.Mutex
	keys      map[string]*ring
	lastSweep int64 // ns
}

// ring holds the times (Unix ns) of a key's most recent accepted calls,
// oldest first from head; it grows up to the policy's largest limit and
// then overwrites its oldest entry.
type ring struct {
	ts   []int64
	head int
}

// NewMemory returns an in-memory counter for p. now is the clock (nil:
// time.Now); tests pass a fake one.
func NewMemory(p Policy, now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	m := &Memory{policy: p, now: now, maxLimit: p.MaxLimit(), maxEvery: int64(p.MaxEvery()), seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].keys = make(map[string]*ring)
	}
	return m
}

// Policy returns the counter's policy.
func (m *Memory) Policy() Policy { return m.policy }

// Allow records a call under key if every window of the policy has room
// for it; otherwise it records nothing and says how long until one would be
// accepted. It never returns an error.
func (m *Memory) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	ok, retry, _, err := m.AllowWindow(ctx, key)
	return ok, retry, err
}

// AllowWindow is Allow, and for a refused call the window that refused it
// (WindowCounter).
func (m *Memory) AllowWindow(_ context.Context, key string) (bool, time.Duration, int, error) {
	if m.policy.Off() {
		return true, 0, 0, nil
	}
	s := &m.shards[maphash.String(m.seed, key)%shards]
	s.mu.Lock()
	// The clock is read under the lock so that a key's times are recorded
	// in order even when calls race.
	now := m.now().UnixNano()
	ok, retry, window := m.allow(s, key, now)
	s.mu.Unlock()
	return ok, retry, window, nil
}

func (m *Memory) allow(s *shard, key string, now int64) (bool, time.Duration, int) {
	if now-s.lastSweep >= min(m.maxEvery, int64(time.Minute)) {
		m.sweep(s, now)
	}
	r := s.keys[key]
	if r == nil {
		r = &ring{ts: make([]int64, 0, min(m.maxLimit, 16))}
		s.keys[key] = r
	}
	if retry, window := m.wait(r, now); retry > 0 {
		return false, time.Duration(retry), window
	}
	n := len(r.ts)
	if n < m.maxLimit { // still growing: head is 0
		r.ts = append(r.ts, now)
	} else {
		r.ts[r.head] = now
		r.head = (r.head + 1) % n
	}
	return true, 0, 0
}

// wait returns how long until a call under r would fit every window (ns),
// 0 if one fits now, and the index of the window with that wait (the
// first of the longest).
func (m *Memory) wait(r *ring, now int64) (int64, int) {
	n := len(r.ts)
	var retry int64
	window := 0
	for i, w := range m.policy {
		if n < w.Limit {
			continue
		}
		// The w.Limit-th most recent call: while it is inside the window,
		// the window is full, and it is the first to leave it.
		t := r.ts[(r.head+n-w.Limit)%n]
		if wait := t + int64(w.Every) - now; wait > retry {
			retry, window = wait, i
		}
	}
	return retry, window
}

// Full reports whether a call under key would be refused now, and for how
// long, without recording anything.
func (m *Memory) Full(key string) (bool, time.Duration) {
	if m.policy.Off() {
		return false, 0
	}
	s := &m.shards[maphash.String(m.seed, key)%shards]
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.keys[key]
	if r == nil {
		return false, 0
	}
	retry, _ := m.wait(r, m.now().UnixNano())
	return retry > 0, time.Duration(retry)
}

// sweep drops the keys of s whose newest call has left every window.
func (m *Memory) sweep(s *shard, now int64) {
	s.lastSweep = now
	for k, r := range s.keys {
		if len(r.ts) == 0 || r.ts[(r.head+len(r.ts)-1)%len(r.ts)] <= now-m.maxEvery {
			delete(s.keys, k)
		}
	}
}

// Reset forgets every recorded call.
func (m *Memory) Reset() {
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		clear(s.keys)
		s.mu.Unlock()
	}
}

// keys returns the number of keys held (for tests).
func (m *Memory) keys() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.keys)
		s.mu.Unlock()
	}
	return n
}
