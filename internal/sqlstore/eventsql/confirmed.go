package eventsql

import (
	"strings"
	"sync"
)

// maxConfirmed bounds the machine ids a store's confirmed holds (about
// 100 bytes each: some 100 MB at most); past it the set starts over
// empty.
const maxConfirmed = 1 << 20

// confirmed remembers, per tenant, the ids of machines an import found
// the tenant to have, so that the next batches check only the ids not yet
// confirmed. A tenant's ids are valid while its generation is the one
// they were read under: the only ways a machine is deleted (DeleteMachine
// and ResetTenant, of both engines, by any process) bump it, and the
// import reads it in its transaction, in which no deletion of the tenant
// can commit (SQLite's one writer; PostgreSQL's share lock of the
// tenant's row, which the deletions lock for update).
type confirmed struct {
	mu      sync.Mutex
	n       int // ids held, of all tenants
	tenants map[int64]*confirmedIDs
}

type confirmedIDs struct {
	gen int64
	ids map[string]struct{}
}

// unconfirmed returns the ids (sorted, distinct) not confirmed of tenant
// seq at generation gen, appended to dst[:0].
func (c *confirmed) unconfirmed(dst []string, seq, gen int64, ids []string) []string {
	dst = dst[:0]
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[seq]
	if t == nil || t.gen != gen {
		return append(dst, ids...)
	}
	for _, id := range ids {
		if _, ok := t.ids[id]; !ok {
			dst = append(dst, id)
		}
	}
	return dst
}

// add records that tenant seq had the machines ids at generation gen, in
// a transaction that committed. Ids of an older generation than the
// tenant's held ones are dropped; a newer generation replaces them.
func (c *confirmed) add(seq, gen int64, ids []string) {
	if len(ids) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tenants == nil {
		c.tenants = map[int64]*confirmedIDs{}
	}
	t := c.tenants[seq]
	switch {
	case t != nil && t.gen > gen:
		return
	case t == nil || t.gen < gen:
		if t != nil {
			c.n -= len(t.ids)
		}
		t = &confirmedIDs{gen: gen, ids: map[string]struct{}{}}
		c.tenants[seq] = t
	}
	if c.n+len(ids) > maxConfirmed {
		clear(c.tenants)
		c.n = 0
		if len(ids) > maxConfirmed {
			return
		}
		t = &confirmedIDs{gen: gen, ids: map[string]struct{}{}}
		c.tenants[seq] = t
	}
	for _, id := range ids {
		if _, ok := t.ids[id]; !ok {
			t.ids[strings.Clone(id)] = struct{}{} // not the caller's event's memory
			c.n++
		}
	}
}
