package indicatorapi

import (
	"context"
	"slices"
	"sync"

	"github.com/openatp/openatp"
)

// The indicators of a tenant kept in memory for the list's lookups by
// value ("indicatorValue eq '…'", what a SIEM or SOAR asks before it
// submits, one call a value): a snapshot of every indicator with an index
// by value key, valid while the store's data version has not moved since
// it was read. A lookup on a stale or missing snapshot asks the store
// (an index lookup); the snapshot is read again only once the version
// has stayed the same for as many lookups as the read is worth (a read of
// n indicators costs about as many SQL lookups as n/4), so that a store
// written without pause (events, alerts) keeps the lookups on SQL
// instead of reading the tenant again and again. At most maxSnapshots
// tenants are kept, the least recently used dropped. One lookup at a
// time reads the snapshot; the others ask the store meanwhile.

// maxSnapshots bounds the tenants whose indicators are kept.
const maxSnapshots = 64

// snapshot is a tenant's indicators at a data version.
type snapshot struct {
	version uint64
	all     []openatp.Indicator // by id, expired ones included
	byKey   map[string][]int32  // IndicatorValueKey → places in all
}

// tenantCache is a tenant's snapshot and the lookups missed since.
type tenantCache struct {
	snap        *snapshot
	missVersion uint64 // the version of the last missed lookups
	misses      int    // how many at missVersion
	reading     bool   // a lookup is reading the snapshot
	used        uint64 // the cache's clock at the last use
}

// cache holds the snapshots of the tenants.
type cache struct {
	store   openatp.IndicatorStore
	mu      sync.Mutex
	tenants map[string]*tenantCache
	clock   uint64
}

// indicators returns the tenant's indicators by id (expired ones
// included), or, with keys, a superset of those of these value keys, at
// least as recent as the store's data version v (read before; !ok: not
// known, the store answers).
func (c *cache) indicators(ctx context.Context, tenantID string, keys []string, v uint64, ok bool) ([]openatp.Indicator, error) {
	if !ok {
		return c.store.Indicators(ctx, tenantID, keys...)
	}
	snap, read := c.lookup(tenantID, v, len(keys) == 0)
	if snap != nil {
		return snap.find(keys), nil
	}
	if !read {
		return c.store.Indicators(ctx, tenantID, keys...)
	}
	all, err := c.store.Indicators(ctx, tenantID)
	if err != nil {
		c.install(tenantID, nil)
		return nil, err
	}
	snap = &snapshot{version: v, all: all, byKey: make(map[string][]int32, len(all))}
	for i := range all {
		k := openatp.IndicatorValueKey(all[i].IndicatorType, all[i].IndicatorValue)
		snap.byKey[k] = append(snap.byKey[k], int32(i))
	}
	c.install(tenantID, snap)
	return snap.find(keys), nil
}

// lookup returns the tenant's snapshot if it is of version v; else
// whether to read one (always for a full list, which reads every
// indicator anyway; for lookups, once they have missed at v as often as
// the read is worth, and no other lookup is reading one). A true read
// must be followed by install.
func (c *cache) lookup(tenantID string, v uint64, full bool) (*snapshot, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clock++
	t := c.tenants[tenantID]
	if t == nil {
		t = &tenantCache{}
		if c.tenants == nil {
			c.tenants = map[string]*tenantCache{}
		}
		c.tenants[tenantID] = t
		c.evict()
	}
	t.used = c.clock
	if t.snap != nil && t.snap.version == v {
		return t.snap, false
	}
	if t.missVersion != v {
		t.missVersion, t.misses = v, 0
	}
	t.misses++
	size := 0
	if t.snap != nil {
		size = len(t.snap.all)
	}
	read := full || (!t.reading && t.misses > 16+size/4)
	t.reading = t.reading || read
	return nil, read
}

// install keeps snap as the tenant's (data versions are not ordered:
// the last read wins, and a lookup at another version misses), or, with
// nil (the read failed), leaves it as it is; the read is over.
func (c *cache) install(tenantID string, snap *snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.tenants[tenantID]; t != nil {
		t.reading = false
		if snap != nil {
			t.snap, t.misses = snap, 0
		}
	}
}

// evict drops the least recently used tenant beyond maxSnapshots.
func (c *cache) evict() {
	if len(c.tenants) <= maxSnapshots {
		return
	}
	var oldest string
	for id, t := range c.tenants {
		if oldest == "" || t.used < c.tenants[oldest].used {
			oldest = id
		}
	}
	delete(c.tenants, oldest)
}

// find returns the snapshot's indicators of keys by id (all without),
// a copy the caller may change.
func (s *snapshot) find(keys []string) []openatp.Indicator {
	if len(keys) == 0 {
		return slices.Clone(s.all)
	}
	var at []int32
	for _, k := range keys {
		at = append(at, s.byKey[k]...)
	}
	slices.Sort(at)
	at = slices.Compact(at)
	out := make([]openatp.Indicator, len(at))
	for i, j := range at {
		out[i] = s.all[j]
	}
	return out
}
