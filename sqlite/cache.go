package sqlite

import "sync"

// maxCachedKeys bounds the entries keyCache keeps per tenant; a tenant
// that outgrows it starts over empty.
const maxCachedKeys = 4 << 20

// keyCache remembers, per tenant, the seqs of machines and the users known
// to be stored, so that AddLogons neither looks up nor upserts them again.
// An entry is valid while the tenant's generation is the one it was read
// under: ResetTenant, the only way machines and users are deleted (by any
// process), bumps the generation. Entries are added only for committed rows.
type keyCache struct {
	mu      sync.Mutex
	tenants map[int64]*tenantKeys
}

type tenantKeys struct {
	gen      int64
	machines map[string]int64   // machine id → machines.seq
	users    map[[2]string]bool // (name key, domain key) → stored with a SID
}

// lock locks the cache and returns the keys of tenant seq at generation
// gen, empty if the cached ones are of another generation. The caller must
// call unlock.
func (c *keyCache) lock(seq, gen int64) *tenantKeys {
	c.mu.Lock()
	if c.tenants == nil {
		c.tenants = map[int64]*tenantKeys{}
	}
	k := c.tenants[seq]
	if k == nil || k.gen != gen || len(k.machines)+len(k.users) > maxCachedKeys {
		k = &tenantKeys{gen: gen, machines: map[string]int64{}, users: map[[2]string]bool{}}
		c.tenants[seq] = k
	}
	return k
}

func (c *keyCache) unlock() { c.mu.Unlock() }

// forget drops what is cached of tenant seq.
func (c *keyCache) forget(seq int64) {
	c.mu.Lock()
	delete(c.tenants, seq)
	c.mu.Unlock()
}
