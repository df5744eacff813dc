// Package names is the read model's index of machines by computer name,
// ASCII case ignored: slots (the read model's numbers of its machines)
// by the hash of their folded name, the names themselves read through the
// caller's nameOf. Standard library and odata only.
package names

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"math/rand/v2"
	"slices"

	"github.com/openatp/openatp/odata"
)

// Index finds live machines by computer name, ignoring ASCII case: an
// open-addressing table holds one entry per distinct name, the 32-bit hash
// of the folded name and the first slot of that name (slot+1; 0 empty,
// tombstone deleted); next chains the other slots of the name (slot+1, 0
// at the end). A probe compares hashes, and reads a name (from the arena,
// a cache miss) only when they are equal; growing the table reads none. It
// costs about 20 bytes a machine, against a map's ~80; a change copies it.
type Index struct {
	seed  uint64   // of hash: random, kept by a checkpoint with the table
	table []uint64 // hash<<32 | slot+1
	shift uint     // 64 - log2(len(table))
	used  int      // entries and tombstones
	next  []uint32 // by slot
}

const tombstone = uint64(^uint32(0))

func New(capacity int) *Index {
	x := &Index{seed: rand.Uint64()}
	n := 16
	for n < 2*capacity {
		n *= 2
	}
	x.alloc(n)
	return x
}

func (x *Index) alloc(n int) {
	x.table, x.used, x.shift = make([]uint64, n), 0, uint(64-bits.TrailingZeros(uint(n)))
}

// hash is a keyed hash of folded (multiply-and-fold rounds over its
// 8-byte words, keyed by the index's random seed, as maphash's portable
// form is): a name chosen to collide with others cannot be known without
// the seed, and an index written with its seed is read back as it is.
func (x *Index) hash(folded string) uint32 {
	const k0, k1 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db
	h := mix(x.seed^k0, uint64(len(folded))^k1)
	for len(folded) >= 8 {
		h = mix(h^binary.LittleEndian.Uint64([]byte(folded[:8])), x.seed^k1)
		folded = folded[8:]
	}
	var tail [8]byte
	copy(tail[:], folded)
	return uint32(mix(h^binary.LittleEndian.Uint64(tail[:]), x.seed^k0))
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// State returns what a checkpoint keeps of the index: its seed, its table
// and its chains. They must not be changed.
func (x *Index) State() (seed uint64, table []uint64, next []uint32) { return x.seed, x.table, x.next }

// FromState returns the index of a State, checked: slots beyond slots are
// refused, as is a table that is not a power of two long.
func FromState(seed uint64, table []uint64, next []uint32, slots int) (*Index, error) {
	n := len(table)
	if n < 16 || n&(n-1) != 0 || len(next) > slots {
		return nil, errors.New("a name index of the wrong size")
	}
	x := &Index{seed: seed, table: table, shift: uint(64 - bits.TrailingZeros(uint(n))), next: next}
	for _, e := range table {
		if e != 0 {
			x.used++
			if e != tombstone && uint32(e)-1 >= uint32(len(next)) {
				return nil, errors.New("a name index entry out of its slots")
			}
		}
	}
	for _, p := range next {
		if p > uint32(len(next)) {
			return nil, errors.New("a name index chain out of its slots")
		}
	}
	return x, nil
}

// start is where the probes of hash h begin: its high bits after a
// multiplicative mix, so that the table's position and the hash compared
// are not the same bits.
func (x *Index) start(h uint32) int { return int((uint64(h) * 0x9e3779b97f4a7c15) >> x.shift) }

// find returns the table position of the entry of folded (of hash h), or
// -1 and the first free position.
func (x *Index) find(folded string, h uint32, nameOf func(uint32) string) (at, free int) {
	free = -1
	mask := len(x.table) - 1
	for i := x.start(h); ; i = (i + 1) & mask {
		switch e := x.table[i]; {
		case e == 0:
			if free < 0 {
				free = i
			}
			return -1, free
		case e == tombstone:
			if free < 0 {
				free = i
			}
		case uint32(e>>32) == h && equalFold(nameOf(uint32(e)-1), folded):
			return i, free
		}
	}
}

// head returns the first slot+1 of the entry at position at.
func (x *Index) head(at int) uint32 { return uint32(x.table[at]) }

// setHead makes slot+1 p the first of the entry at position at (0: the
// entry goes, leaving a tombstone).
func (x *Index) setHead(at int, p uint32) {
	if p == 0 {
		x.table[at] = tombstone
		return
	}
	x.table[at] = x.table[at]&^uint64(^uint32(0)) | uint64(p)
}

// Lookup appends to out the slots whose name folds to folded; nameOf
// gives the name of any slot in the index.
func (x *Index) Lookup(folded string, nameOf func(uint32) string, out []uint32) []uint32 {
	at, _ := x.find(folded, x.hash(folded), nameOf)
	if at < 0 {
		return out
	}
	for e := x.head(at); e != 0; e = x.next[e-1] {
		out = append(out, e-1)
	}
	return out
}

// Add enters slot s of name; only for an index no view has seen. nameOf
// gives the name of any slot in the index.
func (x *Index) Add(name string, s uint32, nameOf func(uint32) string) {
	if name == "" {
		return
	}
	for int(s) >= len(x.next) {
		x.next = append(x.next, 0)
	}
	folded := odata.Fold(name)
	h := x.hash(folded)
	at, free := x.find(folded, h, nameOf)
	if at >= 0 { // the name has slots: s becomes its head
		x.next[s] = x.head(at)
		x.setHead(at, s+1)
		return
	}
	if 2*(x.used+1) > len(x.table) {
		x.rehash()
		_, free = x.find(folded, h, nameOf)
	}
	if x.table[free] == 0 {
		x.used++
	}
	x.next[s] = 0
	x.table[free] = uint64(h)<<32 | uint64(s+1)
}

// rehash moves the entries into a table twice as large, dropping
// tombstones. The entries are distinct names and carry their hashes: no
// name is read.
func (x *Index) rehash() {
	old := x.table
	x.alloc(2 * len(old))
	mask := len(x.table) - 1
	for _, e := range old {
		if e != 0 && e != tombstone {
			i := x.start(uint32(e >> 32))
			for x.table[i] != 0 {
				i = (i + 1) & mask
			}
			x.table[i] = e
			x.used++
		}
	}
}

// Remove takes slot s of name out; only for an index no view has seen.
func (x *Index) Remove(name string, s uint32, nameOf func(uint32) string) {
	if name == "" {
		return
	}
	folded := odata.Fold(name)
	at, _ := x.find(folded, x.hash(folded), nameOf)
	if at < 0 {
		return
	}
	if x.head(at) == s+1 {
		x.setHead(at, x.next[s])
		return
	}
	for p := x.head(at); p != 0; p = x.next[p-1] {
		if x.next[p-1] == s+1 {
			x.next[p-1] = x.next[s]
			return
		}
	}
}

// Clone returns a copy to change.
func (x *Index) Clone() *Index {
	return &Index{seed: x.seed, table: slices.Clone(x.table), shift: x.shift, used: x.used, next: slices.Clone(x.next)}
}

// equalFold reports whether name, folded, is folded (ASCII case only).
func equalFold(name, folded string) bool {
	if len(name) != len(folded) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != folded[i] {
			return false
		}
	}
	return true
}
