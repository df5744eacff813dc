package alertrec

import (
	"bytes"
	"hash/maphash"
)

// Cached is a Dict in front of another that remembers the runs the other
// named, so that a run seen again is named without asking it: a build's
// encoders share one dictionary, behind a lock, whose map of a million
// runs misses the processor's caches on most lookups. It keeps the last
// run of each of cachedRuns places (by the run's hash) and compares a run
// with it byte for byte. One user at a time.
type Cached struct {
	d    Dict
	seed maphash.Seed
	runs []cachedRun
}

type cachedRun struct {
	id  uint32
	run []byte // nil: none
}

const cachedRuns = 1 << 14

// NewCached returns a cache in front of d.
func NewCached(d Dict) *Cached {
	return &Cached{d: d, seed: maphash.MakeSeed(), runs: make([]cachedRun, cachedRuns)}
}

// Intern names run as the Dict behind c does.
func (c *Cached) Intern(run []byte) (uint32, bool) {
	r := &c.runs[maphash.Bytes(c.seed, run)%cachedRuns]
	if r.run != nil && bytes.Equal(r.run, run) {
		return r.id, true
	}
	id, ok := c.d.Intern(run)
	if ok {
		r.id, r.run = id, append(r.run[:0], run...)
	}
	return id, ok
}
