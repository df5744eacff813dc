// Package answercache keeps encoded HTTP answers: the status, the headers
// the handler set and the body of an answer, by a key (what the request
// names: tenant, route, query, the caller's visibility) and its
// dependencies (what the answer was built from: versions and stamps that
// the handler reads from its data). An answer is written again, as it is,
// only to a request with the same key whose data is at the version the
// answer was last checked at, or whose dependencies, read again, are
// equal (the answer is then valid at that version too): a change to
// anything it was built from makes it stale, and nothing else does. An
// answer that the clock changes (one with items that expire) is kept with
// the time it stops being valid, and is not written from then on. The
// cache is bounded by memory, least recently used answers first out.
// Standard library only; no knowledge of any route.
package answercache

import (
	"hash/maphash"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// shards spreads the keys over locks.
const shards = 16

// entryOverhead is what an entry costs beyond its key, dependencies,
// headers and body (the entry, its map slot, the list links).
const entryOverhead = 160

// Cache is a set of kept answers, safe for concurrent use. A nil *Cache
// keeps nothing: Serve finds nothing and Record passes writes through.
type Cache struct {
	seed      maphash.Seed
	hashOf    func(string) uint64 // tests: the hash of keys, to make keys collide (nil: maphash)
	maxEntry  int64               // the largest answer kept
	shardMax  int64
	shards    [shards]shard
	hits      atomic.Uint64
	misses    atomic.Uint64
	evictions atomic.Uint64
}

type shard struct {
	mu    sync.Mutex
	m     map[uint64]*entry // by the key's hash (Cache.hash); the entry holds its key
	lru   entry             // sentinel: lru.next is the most recently used
	bytes int64
	seen  [seenSlots]uint64 // Admit: the hashes of keys asked, one a slot
}

// seenSlots is how many keys a shard remembers for Admit (8 bytes each):
// a key is forgotten when another of the same slot is asked.
const seenSlots = 1024

type entry struct {
	key        string
	hash       uint64
	version    Version // a version of the data the answer is valid at (guarded by the shard's lock)
	deps       []uint64
	until      int64   // when the answer stops being valid (Unix nanoseconds); 0: never
	header     []field // the header fields the handler set
	status     int
	body       []byte
	prev, next *entry
}

type field struct {
	name   string
	values []string
}

// expired reports whether the answer is no longer valid at now.
func (e *entry) expired(now int64) bool { return e.until != 0 && now >= e.until }

func (e *entry) size() int64 {
	n := int64(entryOverhead + len(e.key) + 8*len(e.deps) + len(e.body))
	for _, f := range e.header {
		n += int64(len(f.name)) + 16
		for _, v := range f.values {
			n += int64(len(v)) + 16
		}
	}
	return n
}

// New returns a cache of at most maxBytes (keys, bodies and bookkeeping);
// nil when maxBytes is not positive. An answer larger than an eighth of
// it (or than 16 MiB) is not kept.
func New(maxBytes int64) *Cache {
	if maxBytes <= 0 {
		return nil
	}
	c := &Cache{seed: maphash.MakeSeed(), shardMax: maxBytes / shards, maxEntry: min(maxBytes/8, 16<<20)}
	for i := range c.shards {
		s := &c.shards[i]
		s.m = map[uint64]*entry{}
		s.lru.prev, s.lru.next = &s.lru, &s.lru
	}
	return c
}

// Stats are the cache's counters.
type Stats struct {
	Hits, Misses, Evictions uint64
	Entries                 int
	Bytes                   int64
}

// Stats returns the counters and the current size.
func (c *Cache) Stats() Stats {
	if c == nil {
		return Stats{}
	}
	st := Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), Evictions: c.evictions.Load()}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		st.Entries += len(s.m)
		st.Bytes += s.bytes
		s.mu.Unlock()
	}
	return st
}

// hash is the hash of key, which picks its shard and is its key in the
// shard's map: a key (hundreds of bytes: the tenant, URL and query) is
// hashed once per request, and compared once, with the entry's.
func (c *Cache) hash(key string) uint64 {
	if c.hashOf != nil {
		return c.hashOf(key)
	}
	return maphash.String(c.seed, key)
}

func (c *Cache) shard(h uint64) *shard { return &c.shards[h%shards] }

// get is the entry of key with hash h, or nil; two keys of one hash
// replace each other (put), so a lookup checks the key it finds.
func (s *shard) get(h uint64, key string) *entry {
	if e := s.m[h]; e != nil && e.key == key {
		return e
	}
	return nil
}

// Admit reports whether an answer of key is worth keeping because it was
// asked before: a request of key was admitted before (and not forgotten
// since: see seenSlots), or an answer of key is kept (a stale one: the
// caller missed it). Otherwise it notes key and reports false: the
// caller then writes the answer without Record (a poll of a new time
// costs no copy). A nil cache admits nothing.
func (c *Cache) Admit(key string) bool {
	if c == nil {
		return false
	}
	h := c.hash(key)
	s := c.shard(h)
	slot := &s.seen[(h/shards)%seenSlots]
	s.mu.Lock()
	defer s.mu.Unlock()
	if *slot == h || s.get(h, key) != nil {
		return true
	}
	*slot = h
	return false
}

// Version is the version of the data a request is answered from: two
// requests at the same Version read the same data (a read model's epoch
// and content version).
type Version [2]uint64

// Serve writes the answer kept under key to w if it is valid at version
// (it was built or last checked at version, or its dependencies equal
// deps(), which is called only then, and is valid at version from now
// on), and reports whether it did. A miss is counted; the caller then
// builds the answer through Record. An answer kept with an expiry
// (Recorder.Until) is not written from then on, by the system clock.
func (c *Cache) Serve(w http.ResponseWriter, key string, version Version, deps func() []uint64) bool {
	if c == nil {
		return false
	}
	return c.ServeAt(w, key, version, time.Now().UnixNano(), deps)
}

// ServeAt is Serve at time now (Unix nanoseconds), for callers with a
// clock of their own: an answer kept until now or earlier is a miss.
func (c *Cache) ServeAt(w http.ResponseWriter, key string, version Version, now int64, deps func() []uint64) bool {
	if c == nil {
		return false
	}
	h := c.hash(key)
	s := c.shard(h)
	s.mu.Lock()
	e := s.get(h, key)
	if e != nil && e.expired(now) {
		e = nil // the Record that follows replaces it
	}
	if e != nil && e.version != version {
		// Checked without the lock: deps reads the caller's data.
		s.mu.Unlock()
		d := deps()
		s.mu.Lock()
		if e = s.get(h, key); e != nil && !e.expired(now) && (e.version == version || slices.Equal(e.deps, d)) {
			e.version = version
		} else {
			e = nil
		}
	}
	if e != nil {
		s.unlink(e)
		s.front(e)
	}
	s.mu.Unlock()
	if e == nil {
		c.misses.Add(1)
		return false
	}
	c.hits.Add(1)
	// An entry is never changed once kept (a newer answer replaces it):
	// it is written without the lock.
	hdr := w.Header()
	for _, f := range e.header {
		hdr[f.name] = f.values
	}
	w.WriteHeader(e.status)
	_, _ = w.Write(e.body)
	return true
}

func (s *shard) unlink(e *entry) { e.prev.next, e.next.prev = e.next, e.prev }

func (s *shard) front(e *entry) {
	e.prev, e.next = &s.lru, s.lru.next
	s.lru.next.prev = e
	s.lru.next = e
}

// put keeps e, replacing the entry of its key, and evicts the least
// recently used entries of its shard beyond its share of the budget.
func (c *Cache) put(e *entry) {
	size := e.size()
	e.hash = c.hash(e.key)
	s := c.shard(e.hash)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[e.hash]; ok { // the same key, or one of the same hash
		s.unlink(old)
		s.bytes -= old.size()
	}
	s.m[e.hash] = e
	s.front(e)
	s.bytes += size
	for s.bytes > c.shardMax && s.lru.prev != &s.lru {
		last := s.lru.prev
		s.unlink(last)
		delete(s.m, last.hash)
		s.bytes -= last.size()
		c.evictions.Add(1)
	}
}

// Recorder is the http.ResponseWriter of an answer being built: it passes
// everything on to the writer it wraps and keeps a copy, which Done puts
// in the cache.
type Recorder struct {
	http.ResponseWriter
	c       *Cache
	key     string
	version Version
	deps    []uint64
	until   int64
	before  http.Header // the header fields set before the handler ran
	header  []field
	status  int
	body    []byte
	dropped bool // too large, or a write failed: not kept
}

// Record returns the writer that builds the answer of key at version from
// deps (copied) on w. Call Done once the answer is written whole. With a
// nil cache it is a Recorder that only passes writes on.
func (c *Cache) Record(w http.ResponseWriter, key string, version Version, deps []uint64) *Recorder {
	if c == nil {
		return &Recorder{ResponseWriter: w, dropped: true}
	}
	return &Recorder{ResponseWriter: w, c: c, key: key, version: version, deps: slices.Clone(deps), before: w.Header().Clone()}
}

// WriteHeader notes the header fields the handler set (those added or
// changed since Record) and passes the status on.
func (r *Recorder) WriteHeader(status int) {
	if r.status == 0 && !r.dropped {
		r.status = status
		for name, values := range r.ResponseWriter.Header() {
			if was, ok := r.before[name]; !ok || !slices.Equal(was, values) {
				r.header = append(r.header, field{name, slices.Clip(slices.Clone(values))})
			}
		}
		for name := range r.before {
			if _, ok := r.ResponseWriter.Header()[name]; !ok {
				r.dropped = true // a field removed: not something an answer replayed can do
			}
		}
	}
	r.ResponseWriter.WriteHeader(status)
}

// Write passes b on and keeps a copy.
func (r *Recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	n, err := r.ResponseWriter.Write(b)
	if !r.dropped {
		if err != nil || int64(len(r.body)+len(b)) > r.c.maxEntry {
			r.dropped, r.body = true, nil
		} else {
			r.body = append(r.body, b...)
		}
	}
	return n, err
}

// Until makes the answer valid only before t (Unix nanoseconds; 0: no
// bound): an answer that lists items expiring at t must not be written
// from then on. Called more than once, the earliest time holds.
func (r *Recorder) Until(t int64) {
	if t != 0 && (r.until == 0 || t < r.until) {
		r.until = t
	}
}

// Unwrap returns the wrapped writer (http.ResponseController).
func (r *Recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Done keeps the answer written, when it is a 200 written whole.
func (r *Recorder) Done() {
	if r.dropped || r.status != http.StatusOK {
		return
	}
	r.c.put(&entry{key: r.key, version: r.version, deps: r.deps, until: r.until, header: r.header, status: r.status, body: slices.Clip(r.body)})
}
