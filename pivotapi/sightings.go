package pivotapi

import (
	"context"
	"sync"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/sightings"
)

// maxCachedValues bounds the values whose sightings are kept; past it the
// cache starts over.
const maxCachedValues = 4096

// sightingCache keeps the sightings of the values asked lately (the
// machines of /{files|ips|domains}/{value}/machines), each with the
// store's data version it was read at: an entry serves a request only
// while the version has not moved (no write of any process since), so an
// answer is exact, as the read model's are; a write, whatever it is,
// makes the next request read the store again.
type sightingCache struct {
	mu sync.Mutex
	m  map[sightingKey]sightingEntry
}

type sightingKey struct {
	tenant string
	k      *kind
	value  string
}

type sightingEntry struct {
	version uint64
	sgs     []sightings.Sighting
}

// get returns the sightings of value in the tenant: the cached ones if
// the store's data version has not moved since they were read.
func (c *sightingCache) get(ctx context.Context, store openatp.Store, tenantID string, k *kind, value string) ([]sightings.Sighting, error) {
	v, err := store.DataVersion(ctx)
	if err != nil {
		return nil, err
	}
	key := sightingKey{tenantID, k, value}
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && e.version == v {
		return e.sgs, nil
	}
	sst, err := sightings.Of(store)
	if err != nil {
		return nil, err
	}
	var sgs []sightings.Sighting
	switch k {
	case fileKind:
		sgs, err = sst.FileSightings(ctx, tenantID, openatp.EventFilter{Hash: value})
	case ipKind:
		sgs, err = sst.NetworkSightings(ctx, tenantID, openatp.EventFilter{RemoteIP: value})
	default:
		sgs, err = sst.NetworkSightings(ctx, tenantID, openatp.EventFilter{Domain: value})
	}
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedValues {
		c.m = map[sightingKey]sightingEntry{}
	}
	c.m[key] = sightingEntry{v, sgs}
	c.mu.Unlock()
	return sgs, nil
}
