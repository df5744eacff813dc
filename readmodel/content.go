package readmodel

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"slices"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/lifetime"
	"github.com/openatp/openatp/readmodel/names"
	"github.com/openatp/openatp/readmodel/parts"
	"github.com/openatp/openatp/readmodel/users"
	"github.com/openatp/openatp/wire"
)

// content is the machines and users of a tenant at one content version. It
// is immutable once a view holds it: a change makes a new content that
// shares the arena (appending to it), the unchanged pages of slots and the
// unchanged user shards.
type content struct {
	version   uint64
	arena     *arena
	slots     pages[machineSlot]
	order     []uint32 // the live slots, ordered by machine id
	users     *users.Table
	names     *names.Index
	relations int   // (user, machine) relations
	garbage   int64 // JSON bytes of replaced and deleted machines
	alerts    *alertSet
	mark      mark // the arena's when the content was made
}

// machineSlot is one machine of a content. Slots are never reused: a
// deleted machine leaves a dead slot until the next build.
type machineSlot struct {
	id    [20]byte
	json  loc    // the JSON without its device-group properties, compacted (wire.Compact)
	cut   uint32 // where they go, in the compacted JSON
	size  uint32 // the length of the JSON expanded
	strs  loc    // the strings queries and device-group rules read (slotStrings)
	props slotProps
	alive bool
}

// A slot holds no pointer: a million of them are one allocation per page
// that the garbage collector never scans, and the strings of a machine
// live in the arena beside its JSON.

// buildContent reads the tenant's alerts with ScanAlerts, then the rest
// with one ScanTenant. The content version is read first: the scans are
// at least that recent, and applying the changes since it later is
// harmless (the feed is state-based).
func buildContent(ctx context.Context, store openatp.Store, tenantID string) (*content, error) {
	cv, err := store.ContentVersion(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	c := &content{version: cv, arena: newArena(), users: users.New()}
	c.names = names.New(1024)
	ok := false
	defer func() {
		if !ok {
			c.arena.release()
		}
	}()
	encs, err := c.scanAlerts(ctx, store, tenantID)
	defer func() {
		for _, e := range encs {
			e.recs.release() // the alerts' records until resolveAlerts orders them
		}
	}()
	if err != nil {
		return nil, err
	}
	var buf []byte
	addMachine := func(m *openatp.Machine) error {
		s, err := c.encode(m, &buf)
		if err != nil {
			return err
		}
		slot := uint32(c.slots.len())
		c.order = append(c.order, slot)
		c.slots.appendValue(s)
		c.names.Add(c.strings(&s).name, slot, c.nameOf)
		return nil
	}
	// A user's machines come by their positions in the scan, which are
	// their slots: the machines were given the slots in the scan's order.
	addUser := func(u *openatp.ScannedUser) error {
		n := uint32(c.slots.len())
		for _, p := range u.Machines {
			if p >= n {
				return openatp.Errorf(openatp.Internal, "the store named machine %d of a scan of %d", p, n)
			}
		}
		c.users.Add(openatp.NameKey(u.AccountName), openatp.NameKey(u.AccountDomain), u.Machines)
		c.relations += len(u.Machines)
		return nil
	}
	err = pipeScan(ctx, store, tenantID, func(b *scanBatch) error {
		for i := range b.machines {
			if err := addMachine(&b.machines[i]); err != nil {
				return err
			}
		}
		for i := range b.users {
			if err := addUser(&b.users[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := c.sortOrder(); err != nil {
		return nil, err
	}
	// Each user's machines in id order: sorted by rank (a machine's place
	// in c.order), plain integers, rather than by comparing ids, which
	// would read a slot of a million at random for every comparison.
	rank := make([]uint32, c.slots.len())
	parts.Run(parts.Split(len(c.order), partMin), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			rank[c.order[r]] = uint32(r)
		}
	})
	parts.Run(parts.Split(users.Shards, 1), func(lo, hi int) {
		c.users.EachList(lo, hi, func(l []uint32) []uint32 {
			for k, s := range l {
				l[k] = rank[s]
			}
			slices.Sort(l)
			l = slices.Compact(l)
			for k, r := range l {
				l[k] = c.order[r]
			}
			return l
		})
	})
	if err := c.resolveAlerts(encs); err != nil {
		return nil, err
	}
	ok = true
	c.mark = c.arena.mark()
	return c, nil
}

// sortOrder sorts c.order by machine id, in parts (one per processor)
// merged after: by the ids' first 8 bytes, a sort of plain keys held
// beside their slots, then by whole ids among equal keys (rare: ids are
// hashes). Comparing whole ids would read a slot of a million at random
// for every comparison. Internal if an id is there twice.
func (c *content) sortOrder() error {
	type keyed struct {
		key  uint64
		slot uint32
	}
	byID := func(a, b keyed) int {
		if r := cmp.Compare(a.key, b.key); r != 0 {
			return r
		}
		return c.compareSlots(a.slot, b.slot)
	}
	ks, tmp := make([]keyed, len(c.order)), make([]keyed, len(c.order))
	bounds := parts.Split(len(ks), partMin)
	parts.Run(bounds, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			s := c.order[i]
			ks[i] = keyed{binary.BigEndian.Uint64(c.slots.at(s).id[:8]), s}
		}
		slices.SortFunc(ks[lo:hi], byID)
	})
	ks = parts.MergeRuns(ks, tmp, bounds, byID)
	for i := range ks {
		if i > 0 && ks[i].key == ks[i-1].key && c.compareSlots(ks[i].slot, ks[i-1].slot) == 0 {
			return openatp.Errorf(openatp.Internal, "the store listed machine %x twice", c.slots.at(ks[i].slot).id)
		}
		c.order[i] = ks[i].slot
	}
	return nil
}

// encode appends m's JSON, compacted (wire.CompactMachine), to the arena
// and returns its slot.
func (c *content) encode(m *openatp.Machine, buf *[]byte) (machineSlot, error) {
	var s machineSlot
	if _, err := hex.Decode(s.id[:], []byte(m.ID)); err != nil || len(m.ID) != 40 {
		return s, openatp.Errorf(openatp.Internal, "store returned a malformed machine id %q", m.ID)
	}
	b, cut, size := wire.CompactMachine((*buf)[:0], m)
	s.cut, s.size = uint32(cut), uint32(size)
	var err error
	if s.json, err = c.arena.add(b); err != nil {
		return s, openatp.Errorf(openatp.Unavailable, "cannot map memory for the index: %v", err)
	}
	if s.strs, err = c.arena.add(appendSlotStrings(b[len(b):], m)); err != nil {
		return s, openatp.Errorf(openatp.Unavailable, "cannot map memory for the index: %v", err)
	}
	*buf = b[:0]
	s.props = propsOf(m)
	s.alive = true
	return s, nil
}

// nameOf returns the computer name of slot s (the first string of its
// record: the others are not read).
func (c *content) nameOf(s uint32) string {
	name, _ := nextString(c.arena.get(c.slots.at(s).strs))
	return name
}

// strings returns the strings of slot s: they live in the arena, as long
// as the caller's reference to it, and are never kept.
func (c *content) strings(s *machineSlot) slotStrings {
	return readSlotStrings(c.arena.get(s.strs))
}

// find returns the slot of a live machine by its hex id.
func (c *content) find(hexID string) (uint32, bool) {
	var id [20]byte
	if len(hexID) != 40 {
		return 0, false
	}
	if _, err := hex.Decode(id[:], []byte(hexID)); err != nil {
		return 0, false
	}
	return c.findID(id)
}

func (c *content) findID(id [20]byte) (uint32, bool) {
	i, ok := slices.BinarySearchFunc(c.order, id, func(s uint32, id [20]byte) int {
		return bytes.Compare(c.slots.at(s).id[:], id[:])
	})
	if !ok {
		return 0, false
	}
	return c.order[i], true
}

// compareSlots orders slots by machine id.
func (c *content) compareSlots(a, b uint32) int {
	return bytes.Compare(c.slots.at(a).id[:], c.slots.at(b).id[:])
}

// apply returns the content after ch, sharing what did not change, and
// the slots whose machine changed (for their device groups). It appends to
// the arena: only the tenant's writer calls it.
func (c *content) apply(ch *openatp.Changes) (*content, []uint32, error) {
	n := &content{version: ch.Version, arena: c.arena, users: c.users, relations: c.relations, garbage: c.garbage, order: c.order, alerts: c.alerts}
	ed := c.slots.edit()
	var ne *names.Index // copied on the first change of a name
	nx := func() *names.Index {
		if ne == nil {
			ne = c.names.Clone()
		}
		return ne
	}
	nameOf := func(s uint32) string { return c.strings(ed.p.at(s)).name }
	var changed, added []uint32
	removed := map[uint32]bool{}
	gone := map[string]uint32{} // deleted machines: their relations go too
	var buf []byte
	for i := range ch.Machines {
		s, err := n.encode(&ch.Machines[i], &buf)
		if err != nil {
			return nil, nil, err
		}
		if old, ok := c.findID(s.id); ok {
			prev := c.slots.at(old)
			n.garbage += int64(len(c.arena.get(prev.json)))
			if was, is := c.strings(prev).name, c.strings(&s).name; was != is {
				nx().Remove(was, old, nameOf)
				ed.set(old, s)
				nx().Add(is, old, nameOf)
			}
			ed.set(old, s)
			changed = append(changed, old)
			continue
		}
		slot := uint32(ed.p.len())
		ed.set(slot, s)
		nx().Add(c.strings(&s).name, slot, nameOf)
		changed, added = append(changed, slot), append(added, slot)
	}
	for _, id := range ch.Deleted {
		old, ok := c.find(id)
		if !ok {
			continue
		}
		s := *c.slots.at(old)
		n.garbage += int64(len(c.arena.get(s.json)))
		s.alive = false
		ed.set(old, s)
		nx().Remove(c.strings(&s).name, old, nameOf)
		removed[old] = true
		gone[id] = old
	}
	n.slots = ed.done()
	n.names = c.names
	if ne != nil {
		n.names = ne
	}
	if len(added) > 0 || len(removed) > 0 {
		order := make([]uint32, 0, len(c.order)+len(added))
		for _, s := range c.order {
			if !removed[s] {
				order = append(order, s)
			}
		}
		order = append(order, added...)
		slices.SortFunc(order, n.compareSlots)
		n.order = order
	}
	if len(ch.Relations) > 0 {
		if err := n.applyRelations(ch.Relations, gone); err != nil {
			return nil, nil, err
		}
	}
	var err error
	if n.alerts, err = c.applyAlerts(n, ch); err != nil {
		return nil, nil, err
	}
	n.mark = n.arena.mark()
	return n, changed, nil
}

// applyRelations adds and removes (user, machine) relations, copying the
// user shards it touches; gone are the slots of machines just deleted.
func (n *content) applyRelations(rels []openatp.RelationChange, gone map[string]uint32) error {
	uw := n.users.Writer()
	for _, r := range rels {
		slot, ok := n.find(r.MachineID)
		if !ok && !r.Exists {
			slot, ok = gone[r.MachineID]
		}
		if !ok {
			if r.Exists {
				return openatp.Errorf(openatp.Internal, "the change feed names a relation to machine %s, which the index does not have", r.MachineID)
			}
			continue
		}
		slots := uw.List(r.NameKey, r.DomainKey)
		pos, found := slices.BinarySearchFunc(slots, slot, n.compareSlots)
		switch {
		case r.Exists && !found:
			uw.Set(r.NameKey, r.DomainKey, slices.Insert(slices.Clip(slots), pos, slot))
			n.relations++
		case !r.Exists && found:
			uw.Set(r.NameKey, r.DomainKey, slices.Delete(slices.Clone(slots), pos, pos+1))
			n.relations--
		}
	}
	n.users = uw.Done()
	return nil
}

// memory estimates what the content holds, for the memory budget: the
// arena, the slots and the relation lists.
func (c *content) memory() int64 {
	return c.arena.bytes.Load() + int64(c.slots.len())*96 + int64(c.relations)*4 + int64(len(c.order))*4 + c.alerts.memory()
}

// scanBatch is a run of a ScanTenant: machines, then (once the machines
// are over) users.
type scanBatch struct {
	machines []openatp.Machine
	users    []openatp.ScannedUser
}

const (
	batchMachines = 256
	batchUsers    = 128
	batchesAhead  = 4 // batches read and not yet indexed, at most
)

// pipeScan runs store.ScanTenant on the calling goroutine and index on
// another, in order, batch by batch: the store's reading and decoding and
// the model's indexing overlap, and a build takes the longer of the two
// rather than their sum. The indexing goroutine is started and waited for
// here; an error on either side stops both.
func pipeScan(ctx context.Context, store openatp.Store, tenantID string, index func(*scanBatch) error) error {
	g := lifetime.New(ctx) // an index error cancels its context: the scan's
	defer g.Stop()
	ctx = g.Context()
	work := make(chan *scanBatch, batchesAhead)
	free := make(chan *scanBatch, batchesAhead+2)
	g.Go(func(context.Context) error {
		for b := range work {
			if err := index(b); err != nil {
				return err // cancels ctx: send and the scan stop
			}
			clear(b.users) // the index copied their machine lists: let them go
			b.machines, b.users = b.machines[:0], b.users[:0]
			select {
			case free <- b:
			default:
			}
		}
		return nil
	})
	b := &scanBatch{}
	send := func() error {
		select {
		case work <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case b = <-free:
		default:
			b = &scanBatch{}
		}
		return nil
	}
	err := store.ScanTenant(ctx, tenantID,
		func(m openatp.Machine) error {
			if b.machines = append(b.machines, m); len(b.machines) < batchMachines {
				return nil
			}
			return send()
		},
		func(u openatp.ScannedUser) error {
			if len(b.machines) > 0 { // the machines are over: index them first
				if err := send(); err != nil {
					return err
				}
			}
			if b.users = append(b.users, u); len(b.users) < batchUsers {
				return nil
			}
			return send()
		})
	if err == nil && (len(b.machines) > 0 || len(b.users) > 0) {
		err = send()
	}
	close(work)
	if ierr := g.Wait(); ierr != nil {
		return ierr // the scan's error, if any, is its cancellation
	}
	return err
}
