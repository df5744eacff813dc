package readmodel

import (
	"slices"
	"sync/atomic"

	"github.com/openatp/openatp/internal/refcount"
)

// arena holds the encoded JSON of a tenant's machines in large chunks
// allocated outside the Go heap where the platform allows (arena_unix.go).
// A tenant of a million machines needs most of a gigabyte of JSON; kept on
// the heap it would double the heap goal and so the resident memory.
//
// An arena is append-only: the views of one tenant share it, each reading
// only what was written before it was published, while the one writer (the
// tenant's sync, or a build) appends the JSON of changed machines. Its
// lifetime is explicit: every view that reads it holds a reference
// (retain), and the chunks are unmapped when the last one is released,
// never by the garbage collector.
type arena struct {
	refs refcount.Count
	// chunks is replaced, never changed, when a chunk is added: readers
	// load the list while the writer appends.
	chunks atomic.Pointer[[][]byte]
	cur    []byte       // the chunk being filled (writer only): len = used
	bytes  atomic.Int64 // bytes mapped, for the memory budget
}

const (
	chunkSize = 4 << 20 // bytes per chunk; offsets take 22 bits
	offBits   = 22
	lenBits   = 18 // longest JSON stored in a chunk: 256 KiB; the chunk number takes the other 24 bits
)

// loc is where an item of an arena is: chunk, offset and length packed; a
// length of 0 means the whole chunk (an item too long to share one).
type loc uint64

func newArena() *arena {
	a := &arena{}
	a.refs.Init() // the builder's, passed on to the first view
	return a
}

// add appends b, which is not empty, and returns where it is. Only the
// arena's writer calls it.
func (a *arena) add(b []byte) (loc, error) {
	if len(b) >= 1<<lenBits {
		c, err := a.newChunk(len(b))
		if err != nil {
			return 0, err
		}
		copy(c, b)
		a.cur = nil // the next item starts a chunk: a loc's chunk is the last one
		return loc(uint64(a.numChunks()-1) << (offBits + lenBits)), nil
	}
	if a.cur == nil || cap(a.cur)-len(a.cur) < len(b) {
		c, err := a.newChunk(chunkSize)
		if err != nil {
			return 0, err
		}
		a.cur = c[:0]
	}
	off := len(a.cur)
	a.cur = append(a.cur, b...)
	c := uint64(a.numChunks() - 1)
	return loc(c<<(offBits+lenBits) | uint64(off)<<lenBits | uint64(len(b))), nil
}

// mark is how much of the arena its writer had written: every chunk
// before the last whole, the last up to used. A content keeps the mark of
// when it was made: a checkpoint of it reads no further.
type mark struct{ chunks, used int }

func (a *arena) mark() mark {
	n := a.numChunks()
	if a.cur != nil || n == 0 {
		return mark{n, len(a.cur)}
	}
	return mark{n, len((*a.chunks.Load())[n-1])}
}

// valid reports whether l is within the arena (a checkpoint's locs are
// checked before they are read).
func (a *arena) valid(l loc) bool {
	p := a.chunks.Load()
	if p == nil {
		return false
	}
	chunks := *p
	n, c, off := uint64(l)&(1<<lenBits-1), uint64(l)>>(offBits+lenBits), (uint64(l)>>lenBits)&(1<<offBits-1)
	return c < uint64(len(chunks)) && (n == 0 && off == 0 || off+n <= uint64(len(chunks[c])))
}

func (a *arena) numChunks() int {
	if p := a.chunks.Load(); p != nil {
		return len(*p)
	}
	return 0
}

// newChunk maps a chunk of n bytes and publishes a new chunk list.
func (a *arena) newChunk(n int) ([]byte, error) {
	c, err := allocChunk(n)
	if err != nil {
		return nil, err
	}
	var list [][]byte
	if p := a.chunks.Load(); p != nil {
		list = make([][]byte, len(*p), len(*p)+1)
		copy(list, *p)
	}
	list = append(list, c[:n])
	a.chunks.Store(&list)
	a.bytes.Add(int64(n))
	return c[:n], nil
}

// adopt makes chunks (nil for none mapped) the arena's, which has none.
func (a *arena) adopt(chunks [][]byte) {
	chunks = slices.DeleteFunc(chunks, func(c []byte) bool { return c == nil })
	for _, c := range chunks {
		a.bytes.Add(int64(len(c)))
	}
	a.chunks.Store(&chunks)
}

// get returns the bytes at l. They live as long as the caller's reference
// to the arena: they are never handed outside the package.
func (a *arena) get(l loc) []byte {
	chunks := *a.chunks.Load()
	n := uint64(l) & (1<<lenBits - 1)
	c := uint64(l) >> (offBits + lenBits)
	if n == 0 {
		return chunks[c]
	}
	off := (uint64(l) >> lenBits) & (1<<offBits - 1)
	return chunks[c][off : off+n : off+n]
}

// retain adds a reference.
func (a *arena) retain() { a.refs.Retain() }

// release drops a reference; the last one frees the chunks.
func (a *arena) release() {
	if a.refs.Release() {
		if p := a.chunks.Swap(nil); p != nil && chunksOffHeap {
			freeChunks(*p)
		}
		a.cur = nil
	}
}
