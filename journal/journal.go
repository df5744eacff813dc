// Package journal keeps a record of the API requests each tenant made: a
// bounded ring per tenant, queried with filters, counted and cleared
// (openatp's request journal, for tests that verify what a client asked).
// Entries never hold a token or secret: Add redacts paths and query
// strings (RedactPath, RedactQuery), and headers and bodies are not kept.
package journal

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openatp/openatp/internal/route"
)

// DefaultSize is the number of entries kept per tenant unless configured.
const DefaultSize = 10000

// EntryBytes is about what one entry costs in memory: the Entry itself
// (200 bytes on 64-bit platforms) and what it keeps of the request (its
// request line, request id). Measured by TestEntryMemory.
const EntryBytes = 400

// Entry is one request.
type Entry struct {
	Seq       uint64 // 1 for a tenant's first request, then one more per request; never reused (not by Clear)
	Time      time.Time
	App       string // the client id of the token
	User      string // the signed-in user of a delegated token, else ""
	Method    string
	Path      string // escaped, as sent (secrets redacted)
	Query     string // raw, as sent (secrets redacted)
	Route     string // the route pattern that answered ("GET /api/machines/{id}"), or ""
	Status    int    // 0 when no answer was written (the connection was reset)
	Latency   time.Duration
	Bytes     int64 // response body bytes written
	RequestID string
	Fault     string // the id of the fault rule that applied, or ""
	FaultKind string // its kind (latency, error, reset, truncate), or ""
}

// MarshalJSON writes the entry as the admin API shows it; every property
// is present, absent values as null. &, < and > are not escaped: the query
// a=1&b=2 reads as sent.
func (e Entry) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(struct {
		Seq       uint64  `json:"seq"`
		Time      string  `json:"time"`
		App       *string `json:"app"`
		User      *string `json:"user"`
		Method    string  `json:"method"`
		Path      string  `json:"path"`
		Query     string  `json:"query"`
		Route     *string `json:"route"`
		Status    int     `json:"status"`
		LatencyMS float64 `json:"latency_ms"`
		Bytes     int64   `json:"bytes"`
		RequestID string  `json:"request_id"`
		Fault     *string `json:"fault"`
		FaultKind *string `json:"fault_kind"`
	}{e.Seq, e.Time.UTC().Format(time.RFC3339Nano), orNull(e.App), orNull(e.User), e.Method, e.Path, e.Query, orNull(e.Route),
		e.Status, float64(e.Latency.Microseconds()) / 1000, e.Bytes, e.RequestID, orNull(e.Fault), orNull(e.FaultKind)})
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), err
}

func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Journal holds the rings of every tenant. Its methods are safe for
// concurrent use; a nil *Journal records nothing and holds nothing.
type Journal struct {
	size  int
	rings sync.Map // tenant id → *ring
}

// A ring is a tenant's entries. Requests add to it on every core at once,
// so Add takes no lock that another Add waits on: it claims the next
// sequence number atomically, and entry seq lives in slot (seq-1) % size,
// each slot with a lock of its own (held by one writer, or a reader
// copying it out). Slots are allocated a chunk at a time as the ring fills.
type ring struct {
	last   atomic.Uint64 // Seq of the newest entry claimed
	floor  atomic.Uint64 // entries with Seq ≤ floor were cleared
	chunks []atomic.Pointer[chunk]
	clear  sync.Mutex // one Clear at a time
}

const chunkLen = 256

type chunk [chunkLen]slot

type slot struct {
	mu sync.Mutex
	e  Entry // e.Seq is 0 until written
}

// New returns a journal keeping the newest size entries of each tenant;
// size ≤ 0 returns nil (no journal).
func New(size int) *Journal {
	if size <= 0 {
		return nil
	}
	return &Journal{size: size}
}

// Size is the number of entries kept per tenant.
func (j *Journal) Size() int {
	if j == nil {
		return 0
	}
	return j.size
}

func (j *Journal) ring(tenant string) *ring {
	if r, ok := j.rings.Load(tenant); ok {
		return r.(*ring)
	}
	r, _ := j.rings.LoadOrStore(tenant, &ring{chunks: make([]atomic.Pointer[chunk], (j.size+chunkLen-1)/chunkLen)})
	return r.(*ring)
}

// slot returns the slot of sequence number seq, or nil when its chunk was
// never allocated and alloc is false.
func (j *Journal) slot(r *ring, seq uint64, alloc bool) *slot {
	i := int((seq - 1) % uint64(j.size))
	p := &r.chunks[i/chunkLen]
	c := p.Load()
	if c == nil {
		if !alloc {
			return nil
		}
		p.CompareAndSwap(nil, new(chunk))
		c = p.Load()
	}
	return &c[i%chunkLen]
}

// Add records a request of the tenant, its path and query redacted; it
// sets e.Seq. Requests of no tenant ("") are not recorded.
func (j *Journal) Add(tenant string, e Entry) {
	if j == nil || tenant == "" {
		return
	}
	e.Path, e.Query = RedactPath(e.Path), RedactQuery(e.Query)
	r := j.ring(tenant)
	e.Seq = r.last.Add(1)
	s := j.slot(r, e.Seq, true)
	s.mu.Lock()
	if s.e.Seq < e.Seq { // else a later request already took the slot over
		s.e = e
	}
	s.mu.Unlock()
}

// Filter selects entries; its zero value selects all.
type Filter struct {
	Route     route.Pattern // method and path (route.Pattern.MatchRoute, with the entry's Route)
	Status    int           // 0: any; 1 to 5: a class (4 is 4xx); else exactly
	App       string        // client id, ignoring case
	User      string        // ignoring case
	Since     time.Time     // at or after
	RequestID string        // ignoring case
	Fault     string        // "": any; "*": entries a fault rule applied to; "-": entries none applied to; else that rule's id
	After     uint64        // Seq greater than this
	Limit     int           // only the newest Limit of those selected (0: all)
}

func (f *Filter) match(e *Entry) bool {
	switch {
	case e.Seq <= f.After:
		return false
	case f.Status > 0 && f.Status <= 5 && e.Status/100 != f.Status:
		return false
	case f.Status > 5 && e.Status != f.Status:
		return false
	case f.App != "" && !strings.EqualFold(e.App, f.App):
		return false
	case f.User != "" && !strings.EqualFold(e.User, f.User):
		return false
	case !f.Since.IsZero() && e.Time.Before(f.Since):
		return false
	case f.RequestID != "" && !strings.EqualFold(e.RequestID, f.RequestID):
		return false
	case f.Fault == "*" && e.Fault == "", f.Fault == "-" && e.Fault != "":
		return false
	case f.Fault != "" && f.Fault != "*" && f.Fault != "-" && e.Fault != f.Fault:
		return false
	}
	return f.Route.MatchRoute(e.Method, e.Path, e.Route)
}

// each calls fn on the tenant's entries, oldest first, each under its
// slot's lock. An entry whose number was claimed but not yet written (its
// request is still being answered) is not there yet.
func (j *Journal) each(tenant string, fn func(*Entry)) {
	if j == nil {
		return
	}
	v, ok := j.rings.Load(tenant)
	if !ok {
		return
	}
	r := v.(*ring)
	last := r.last.Load()
	first := r.floor.Load() + 1
	if last >= uint64(j.size) {
		first = max(first, last-uint64(j.size)+1)
	}
	for seq := first; seq <= last; seq++ {
		s := j.slot(r, seq, false)
		if s == nil {
			continue
		}
		s.mu.Lock()
		if s.e.Seq == seq {
			fn(&s.e)
		}
		s.mu.Unlock()
	}
}

// Entries returns the tenant's entries that f selects, oldest first.
func (j *Journal) Entries(tenant string, f Filter) []Entry {
	out := []Entry{}
	j.each(tenant, func(e *Entry) {
		if f.match(e) {
			out = append(out, *e)
		}
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out
}

// Count returns how many of the tenant's entries f selects (Limit aside).
func (j *Journal) Count(tenant string, f Filter) int {
	n := 0
	j.each(tenant, func(e *Entry) {
		if f.match(e) {
			n++
		}
	})
	return n
}

// Clear forgets the tenant's entries. Sequence numbers go on from where
// they were.
func (j *Journal) Clear(tenant string) {
	if j == nil {
		return
	}
	v, ok := j.rings.Load(tenant)
	if !ok {
		return
	}
	r := v.(*ring)
	r.clear.Lock()
	defer r.clear.Unlock()
	floor := r.last.Load()
	r.floor.Store(floor)
	for i := range r.chunks {
		c := r.chunks[i].Load()
		if c == nil {
			continue
		}
		for k := range c {
			s := &c[k]
			s.mu.Lock()
			if s.e.Seq <= floor {
				s.e = Entry{Seq: s.e.Seq} // let go of what it holds; keep its number for Add's check
			}
			s.mu.Unlock()
		}
	}
}
