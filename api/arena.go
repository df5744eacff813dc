package api

import "runtime"

// arena holds the encoded JSON of a tenant's machines in large chunks
// allocated outside the Go heap where the platform allows (arena_unix.go).
// A tenant of a million machines needs most of a gigabyte of JSON; kept on
// the heap it would double the heap goal and so the resident memory, and
// growing one slice would copy it again and again. Chunks are freed when the
// arena becomes unreachable.
type arena struct {
	chunks   [][]byte
	cur      []byte // the chunk being filled: len = used, cap = chunkSize
	loc      []uint64
	oversize map[uint32][]byte // machines whose JSON is too long for a location
}

const (
	chunkSize = 4 << 20 // bytes per chunk; offsets take 22 bits
	offBits   = 22
	lenBits   = 18 // longest JSON stored in a chunk: 256 KiB; the chunk number takes the other 24 bits
)

// add stores b as item number len(a.loc).
func (a *arena) add(b []byte) error {
	i := uint32(len(a.loc))
	if len(b) >= 1<<lenBits {
		if a.oversize == nil {
			a.oversize = map[uint32][]byte{}
		}
		a.oversize[i] = append([]byte(nil), b...)
		a.loc = append(a.loc, 0)
		return nil
	}
	if a.cur == nil || cap(a.cur)-len(a.cur) < len(b) {
		if a.cur != nil {
			a.chunks[len(a.chunks)-1] = a.cur
		}
		c, err := allocChunk(chunkSize)
		if err != nil {
			return err
		}
		a.cur = c[:0]
		a.chunks = append(a.chunks, a.cur)
	}
	off := len(a.cur)
	a.cur = append(a.cur, b...)
	c := uint64(len(a.chunks) - 1)
	a.loc = append(a.loc, c<<(offBits+lenBits)|uint64(off)<<lenBits|uint64(len(b)))
	return nil
}

// get returns item i. The bytes stay valid while the arena's owner is
// reachable: callers keep it alive (runtime.KeepAlive) until they are done.
func (a *arena) get(i uint32) []byte {
	l := a.loc[i]
	n := l & (1<<lenBits - 1)
	if n == 0 && a.oversize != nil {
		if b, ok := a.oversize[i]; ok {
			return b
		}
	}
	off := (l >> lenBits) & (1<<offBits - 1)
	c := l >> (offBits + lenBits)
	return a.chunks[c][off : off+n : off+n]
}

// seal finishes filling and arranges for the chunks to be freed once the
// arena is unreachable.
func (a *arena) seal() {
	if a.cur != nil {
		a.chunks[len(a.chunks)-1] = a.cur
		a.cur = nil
	}
	if len(a.chunks) > 0 && chunksOffHeap {
		runtime.AddCleanup(a, freeChunks, a.chunks)
	}
}

// discard frees the chunks of an arena that will never be sealed.
func (a *arena) discard() {
	if chunksOffHeap {
		freeChunks(a.chunks)
	}
	a.chunks, a.cur = nil, nil
}
