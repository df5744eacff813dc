// Package refcount counts the references to a resource that its last
// release frees: memory mapped outside the Go heap, whose lifetime must not
// rest on the garbage collector.
package refcount

import "sync/atomic"

// Count is a reference count. Its zero value counts none: Init gives the
// creator its reference.
type Count struct{ n atomic.Int64 }

// Init sets the count to one reference, the creator's.
func (c *Count) Init() { c.n.Store(1) }

// Retain adds a reference; the caller must hold one already.
func (c *Count) Retain() { c.n.Add(1) }

// TryRetain adds a reference unless the last one was released, and reports
// whether it did.
func (c *Count) TryRetain() bool {
	for {
		n := c.n.Load()
		if n <= 0 {
			return false
		}
		if c.n.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Release drops a reference and reports whether it was the last: the
// caller then frees the resource. It panics when the count is released
// more often than retained.
func (c *Count) Release() bool {
	switch n := c.n.Add(-1); {
	case n == 0:
		return true
	case n < 0:
		panic("refcount: released more often than retained")
	}
	return false
}

// N returns the number of references held (for diagnostics and tests).
func (c *Count) N() int64 { return c.n.Load() }
