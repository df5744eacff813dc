// Package users is the read model's table of users: each (name key,
// domain key) to the slots of its machines (the read model's numbers of
// them), in 256 copy-on-write shards of flat arrays that hold no pointer
// the garbage collector would scan. Standard library only.
package users

import (
	"hash/maphash"
	"slices"
)

// Shards splits the users of a content so that a change copies only
// the shards it touches.
const Shards = 256

// Table maps a user's name key to their machines, one list per domain.
// Its shards hold no pointer but their four arrays: the garbage collector
// scans a thousand objects for a tenant of 200,000 users, where a map of
// strings to lists was 600,000 (scanning them was about 5 % of a server's
// CPU at rest: a collection every second or two, each walking every one).
// A content's table is immutable once published; a change writes a copy
// (writer) that shares the shards it does not touch.
type Table struct {
	seed   maphash.Seed
	shards [Shards]*userShard
}

// userShard is an open-addressing hash table over records kept in flat
// arrays: a record's name key, domain key and machines are spans of keys
// and slots.
type userShard struct {
	table   []uint32 // a name key's first record, index + 1; 0: empty. A power of two long, at least twice names
	recs    []userRec
	keys    []byte   // the records' name and domain keys, back to back
	slots   []uint32 // the records' machine lists, back to back
	names   int      // name keys in table
	dead    int      // records whose list is empty (deleted users)
	garbage int      // entries of slots no record's list holds any more
}

// userRec is one (name key, domain key) of a shard. Records of one name key
// are chained from the one table holds, in the order they came.
type userRec struct {
	hash   uint32 // the name key's hash, high half: where it probes from, and a first check
	next   uint32 // the next record of the same name key, index + 1; 0: none
	name   span   // in keys
	domain span   // in keys
	list   span   // in slots, ordered by machine id; empty: deleted
}

type span struct{ off, n uint32 }

func New() *Table {
	u := &Table{seed: maphash.MakeSeed()}
	for i := range u.shards {
		u.shards[i] = &userShard{}
	}
	return u
}

// shard returns the shard of a name key, and the key's hash within it.
func (u *Table) shard(nameKey string) (*userShard, uint32) {
	h := maphash.String(u.seed, nameKey)
	return u.shards[h%Shards], uint32(h >> 32)
}

// Add adds the machines of the user (nameKey, domainKey), which need not be
// ordered, as a record of its own. Only a content's build calls it.
func (u *Table) Add(nameKey, domainKey string, machines []uint32) {
	if len(machines) == 0 {
		return // a user without machines is no user
	}
	s, h := u.shard(nameKey)
	s.addRec(h, nameKey, domainKey, machines)
}

// Machines returns the machines of the user: of every domain of the name
// key (merged, ordered by cmp, the result appended to scratch when there are
// several), or of the one domain key when byDomain is set. The list must not
// be changed.
func (u *Table) Machines(nameKey, domainKey string, byDomain bool, scratch []uint32, cmp func(a, b uint32) int) ([]uint32, bool) {
	s, h := u.shard(nameKey)
	e := s.find(h, nameKey)
	if byDomain {
		for ; e != 0; e = s.recs[e-1].next {
			if r := &s.recs[e-1]; r.list.n > 0 && string(s.key(r.domain)) == domainKey {
				return s.list(r), true
			}
		}
		return nil, false
	}
	var first []uint32
	several := false
	for ; e != 0; e = s.recs[e-1].next {
		r := &s.recs[e-1]
		if r.list.n == 0 {
			continue
		}
		switch {
		case first == nil:
			first = s.list(r)
		case !several:
			several = true
			scratch = append(append(scratch[:0], first...), s.list(r)...)
		default:
			scratch = append(scratch, s.list(r)...)
		}
	}
	if !several {
		return first, first != nil
	}
	slices.SortFunc(scratch, cmp)
	return slices.Compact(scratch), true
}

// Count returns the number of (name key, domain key) users.
func (u *Table) Count() int {
	n := 0
	for _, s := range u.shards {
		n += len(s.recs) - s.dead
	}
	return n
}

// EachList calls f with the machine list of every user of the shards
// [lo, hi); f may rewrite it in place and return it shortened. Only a
// content's build calls it, before the content is published.
func (u *Table) EachList(lo, hi int, f func([]uint32) []uint32) {
	for _, s := range u.shards[lo:hi] {
		for i := range s.recs {
			r := &s.recs[i]
			if r.list.n == 0 {
				continue
			}
			l := f(s.list(r))
			s.garbage += int(r.list.n) - len(l)
			r.list.n = uint32(len(l))
			if r.list.n == 0 {
				s.dead++
			}
		}
	}
}

// Each calls f with every user (name key, domain key) and its machines;
// they must not be kept or changed.
func (u *Table) Each(f func(name, domain []byte, list []uint32)) {
	for _, s := range u.shards {
		for i := range s.recs {
			if r := &s.recs[i]; r.list.n > 0 {
				f(s.key(r.name), s.key(r.domain), s.list(r))
			}
		}
	}
}

// Done returns the table the writer made.
func (w *Writer) Done() *Table { return w.t }

// Writer changes a copy of a table: the shards it writes are copied
// once each, the others shared with the table it was made from.
type Writer struct {
	t     *Table
	owned [Shards]bool
}

func (u *Table) Writer() *Writer {
	c := *u
	return &Writer{t: &c}
}

// List returns the machines of the user (nameKey, domainKey); nil when
// there is none. The list must not be changed.
func (w *Writer) List(nameKey, domainKey string) []uint32 {
	l, _ := w.t.Machines(nameKey, domainKey, true, nil, nil)
	return l
}

// Set makes l (ordered by machine id) the machines of the user
// (nameKey, domainKey); an empty l deletes the user.
func (w *Writer) Set(nameKey, domainKey string, l []uint32) {
	h := maphash.String(w.t.seed, nameKey)
	si := int(h % Shards)
	if !w.owned[si] {
		w.t.shards[si] = w.t.shards[si].clone()
		w.owned[si] = true
	}
	s, tag := w.t.shards[si], uint32(h>>32)
	for e := s.find(tag, nameKey); e != 0; e = s.recs[e-1].next {
		r := &s.recs[e-1]
		if r.list.n == 0 || string(s.key(r.domain)) != domainKey {
			continue
		}
		s.garbage += int(r.list.n)
		if len(l) == 0 {
			r.list = span{}
			s.dead++
		} else {
			r.list = s.putList(l)
		}
		s.compactIfWasteful()
		return
	}
	if len(l) > 0 {
		s.addRec(tag, nameKey, domainKey, l)
	}
}

// find returns the first record of name key k (hash h), index + 1; 0 if
// there is none.
func (s *userShard) find(h uint32, k string) uint32 {
	if len(s.table) == 0 {
		return 0
	}
	mask := uint32(len(s.table) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		e := s.table[i]
		if e == 0 {
			return 0
		}
		if r := &s.recs[e-1]; r.hash == h && string(s.key(r.name)) == k {
			return e
		}
	}
}

func (s *userShard) key(sp span) []byte { return s.keys[sp.off : sp.off+sp.n] }
func (s *userShard) list(r *userRec) []uint32 {
	return s.slots[r.list.off : r.list.off+r.list.n : r.list.off+r.list.n]
}

func (s *userShard) putKey(k string) span {
	sp := span{uint32(len(s.keys)), uint32(len(k))}
	s.keys = append(s.keys, k...)
	return sp
}

func (s *userShard) putList(l []uint32) span {
	sp := span{uint32(len(s.slots)), uint32(len(l))}
	s.slots = append(s.slots, l...)
	return sp
}

// addRec appends a record and chains it to its name key's records, or
// enters it in the table as the first of a new name key.
func (s *userShard) addRec(h uint32, nameKey, domainKey string, l []uint32) {
	e := s.find(h, nameKey)
	r := userRec{hash: h, domain: s.putKey(domainKey), list: s.putList(l)}
	if e != 0 {
		r.name = s.recs[e-1].name
	} else {
		r.name = s.putKey(nameKey)
	}
	s.recs = append(s.recs, r)
	idx := uint32(len(s.recs))
	if e == 0 {
		if 2*(s.names+1) > len(s.table) {
			s.rehash(max(16, 2*len(s.table)))
		}
		s.enter(idx)
		s.names++
		return
	}
	for s.recs[e-1].next != 0 {
		e = s.recs[e-1].next
	}
	s.recs[e-1].next = idx
}

// enter puts record idx (index + 1) in the table.
func (s *userShard) enter(idx uint32) {
	mask := uint32(len(s.table) - 1)
	i := s.recs[idx-1].hash & mask
	for s.table[i] != 0 {
		i = (i + 1) & mask
	}
	s.table[i] = idx
}

// rehash makes the table n entries long.
func (s *userShard) rehash(n int) {
	old := s.table
	s.table = make([]uint32, n)
	for _, e := range old {
		if e != 0 {
			s.enter(e)
		}
	}
}

// clone returns a copy that can be changed without changing s: the table
// and records are copied; keys and slots, only ever appended to, are
// shared up to their length (clipped, so an append copies them).
func (s *userShard) clone() *userShard {
	c := *s
	c.table = slices.Clone(s.table)
	c.recs = slices.Clone(s.recs)
	c.keys = slices.Clip(s.keys)
	c.slots = slices.Clip(s.slots)
	return &c
}

// compactIfWasteful rebuilds the shard from its live records when more than
// half of its lists' space or of its records is dead.
func (s *userShard) compactIfWasteful() {
	if s.garbage <= len(s.slots)/2+64 && s.dead <= len(s.recs)/2+16 {
		return
	}
	// From the table along the chains: each name key's records keep
	// their order.
	c := &userShard{}
	for _, e := range s.table {
		for ; e != 0; e = s.recs[e-1].next {
			if r := &s.recs[e-1]; r.list.n > 0 {
				c.addRec(r.hash, string(s.key(r.name)), string(s.key(r.domain)), s.list(r))
			}
		}
	}
	*s = *c
}
