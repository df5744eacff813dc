package readmodel

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/readmodel/checkpoint"
	"github.com/openatp/openatp/readmodel/names"
	"github.com/openatp/openatp/readmodel/parts"
	"github.com/openatp/openatp/readmodel/users"
)

// A checkpoint of a tenant (readmodel/checkpoint's format) holds its
// content as the view has it: the arena's chunks as they are, the slabs of
// machine and alert slots as they are (they hold no pointer), the orders,
// the users' machine lists, the alerts' dictionary and the name index
// (its hash's seed is its own). The other hash indexes (users, alert ids,
// the alerts of machines, users and evidence) are made again on load:
// their seeds are the process's.
var slabLayout = checkpoint.Layout(reflect.TypeFor[machineSlot](), reflect.TypeFor[alertSlot](), reflect.TypeFor[loc]())

// storeMark names the store a tenant is read from: its creation time in
// it, which another store's tenant of the same id does not share.
func (m *Model) storeMark(ctx context.Context, tenantID string) (string, error) {
	t, err := m.store.Tenant(ctx, tenantID)
	if err != nil {
		return "", err
	}
	return "tenant-created:" + strconv.FormatInt(t.Created.UnixNano(), 10), nil
}

// WriteCheckpoint writes the tenant's view, as of its last sync, to path
// (atomically), unless the tenant has none or its content version is
// done (the one written last). It returns the content version written,
// or done.
func (m *Model) WriteCheckpoint(ctx context.Context, tenantID, path string, done uint64) (uint64, error) {
	found, ok := m.tenants.Load(tenantID)
	if !ok {
		return done, nil
	}
	v := found.(*tenant).retainCurrent()
	if v == nil {
		return done, nil
	}
	defer v.Release()
	c := v.c
	if c.version == done {
		return done, nil
	}
	mark, err := m.storeMark(ctx, tenantID)
	if err != nil {
		return done, err
	}
	w, err := checkpoint.Create(path, checkpoint.Header{Tenant: tenantID, Store: mark, ContentVersion: c.version,
		DataVersion: v.dataVersion, Layout: slabLayout, Written: time.Now()})
	if err != nil {
		return done, err
	}
	var e checkpoint.Encoder
	as := c.alerts
	for _, n := range []int64{int64(c.relations), c.garbage, as.dictBytes, as.garbage, int64(c.slots.len()), int64(as.slots.len()),
		int64(as.dict.len()), int64(c.mark.chunks), int64(c.mark.used)} {
		e.U64(uint64(n))
	}
	chunks := *c.arena.chunks.Load()
	sizes := make([]uint32, c.mark.chunks)
	for i := range sizes {
		sizes[i] = uint32(len(chunks[i]))
	}
	e.U32s(sizes)
	w.Section(e.Bytes())
	for i := range c.mark.chunks {
		if i == c.mark.chunks-1 {
			w.Section(chunks[i][:c.mark.used])
		} else {
			w.Section(chunks[i])
		}
	}
	writePages(w, &c.slots)
	e = checkpoint.Encoder{}
	e.U32s(c.order)
	e.U32s(as.order)
	seed, table, next := c.names.State()
	e.U64(seed)
	e.U64s(table)
	e.U32s(next)
	w.Section(e.Bytes())
	writePages(w, &as.slots)
	writePages(w, &as.dict)
	e = checkpoint.Encoder{}
	c.users.Each(func(name, domain []byte, list []uint32) {
		e.String(string(name))
		e.String(string(domain))
		e.U32s(list)
	})
	w.Section(e.Bytes())
	if err := w.Commit(); err != nil {
		return done, err
	}
	return c.version, nil
}

func writePages[T any](w *checkpoint.Writer, p *pages[T]) {
	parts := make([][]byte, len(p.table))
	for i, pg := range p.table {
		parts[i] = checkpoint.AsBytes(pg[:min(pageLen, p.n-i*pageLen)])
	}
	w.Section(parts...)
}

func readPages[T any](b []byte, n int) (pages[T], error) {
	var zero [1]T
	if len(checkpoint.AsBytes(zero[:]))*n != len(b) {
		return pages[T]{}, fmt.Errorf("a slab of %d bytes for %d values", len(b), n)
	}
	p := pages[T]{n: n}
	for i := 0; i < n; i += pageLen {
		pg := new([pageLen]T)
		b = b[copy(checkpoint.AsBytes(pg[:min(pageLen, n-i)]), b):]
		p.table = append(p.table, pg)
	}
	return p, nil
}

// LoadCheckpoint publishes the tenant's view from the checkpoint at path,
// unless the tenant has a view or a build, and returns its content
// version: the next read brings it up to date with the change feed. A checkpoint that is not one of this tenant
// in this store, in this layout, that the feed cannot bring up to date
// (its content version is not one of the store's, or too old), or that is
// not whole is not loaded: an error says why, and the tenant is built as
// it would have been.
func (m *Model) LoadCheckpoint(ctx context.Context, tenantID, path string) (uint64, error) {
	t := m.tenant(tenantID)
	if t.cur.Load() != nil || !t.building.CompareAndSwap(false, true) {
		return 0, nil
	}
	defer t.building.Store(false) // reads start a build when none was published
	start := time.Now()
	f, err := checkpoint.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	mark, err := m.storeMark(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	switch {
	case f.Tenant != tenantID || f.Store != mark:
		return 0, fmt.Errorf("%s: a checkpoint of another tenant or store (%s %s)", path, f.Tenant, f.Store)
	case f.Layout != slabLayout:
		return 0, fmt.Errorf("%s: a checkpoint of another layout", path)
	}
	ch, err := m.store.Changes(ctx, tenantID, f.ContentVersion, m.opts.MaxDelta)
	if err != nil {
		return 0, err
	}
	if ch.Rebuild {
		return 0, fmt.Errorf("%s: the store's change feed cannot bring content version %d up to date", path, f.ContentVersion)
	}
	c, err := decodeContent(f)
	if err != nil {
		return 0, fmt.Errorf("%s: %w: %v", path, checkpoint.ErrInvalid, err)
	}
	rbac, err := LoadRBAC(ctx, m.store, tenantID)
	if err != nil {
		c.arena.release()
		return 0, err
	}
	v := newView(c, rbac, 0, assignGroups(c, rbac, nil, nil), &m.views)
	v.epoch = epochs.Add(1)
	c.arena.release()
	t.syncMu.Lock()
	if t.cur.Load() == nil {
		t.publish(v)
		v = nil
	}
	t.syncMu.Unlock()
	if v != nil {
		v.Release()
		return 0, nil
	}
	m.log.Info("index loaded from a checkpoint", "tenant", tenantID, "machines", len(c.order), "alerts", len(c.alerts.order),
		"content_version", f.ContentVersion, "behind", len(ch.Machines)+len(ch.Deleted)+len(ch.Relations)+len(ch.Alerts)+len(ch.DeletedAlerts),
		"duration", time.Since(start))
	m.evict(t)
	return f.ContentVersion, nil
}

// decodeContent makes the content a checkpoint holds, its every loc and
// slot number checked.
func decodeContent(f *checkpoint.File) (*content, error) {
	if len(f.Sections) < 1 {
		return nil, errors.New("no sections")
	}
	d := checkpoint.NewDecoder(f.Sections[0])
	var n [9]int
	for i := range n {
		if n[i] = int(d.U64()); n[i] < 0 || n[i] > 1<<40 {
			return nil, errors.New("a count out of range")
		}
	}
	sizes := d.U32s()
	if err := d.Err(); err != nil {
		return nil, err
	}
	nchunks := n[7]
	if len(sizes) != nchunks || len(f.Sections) != 1+nchunks+5 {
		return nil, fmt.Errorf("%d sections, not %d", len(f.Sections), 1+nchunks+5)
	}
	c := &content{version: f.ContentVersion, arena: newArena(), users: users.New(), relations: n[0], garbage: int64(n[1])}
	ok := false
	defer func() {
		if !ok {
			c.arena.release()
		}
	}()
	for i, b := range f.Sections[1 : 1+nchunks] {
		if size := int(sizes[i]); len(b) > size || size != chunkSize && size < 1<<lenBits || size > 1<<31 || i < nchunks-1 && len(b) != size {
			return nil, errors.New("a chunk of the wrong size")
		}
	}
	// The chunks mapped and copied on every processor: the kernel's
	// zeroing of the pages is most of the cost.
	chunks, errs := make([][]byte, nchunks), make([]error, nchunks)
	parts.Run(parts.Split(nchunks, 1), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if chunks[i], errs[i] = allocChunk(int(sizes[i])); errs[i] == nil {
				chunks[i] = chunks[i][:sizes[i]]
				copy(chunks[i], f.Sections[1+i])
			}
		}
	})
	c.arena.adopt(chunks)
	if err := errors.Join(errs...); err != nil {
		return nil, openatp.Errorf(openatp.Unavailable, "cannot map memory for the index: %v", err)
	}
	c.mark = c.arena.mark()
	rest := f.Sections[1+nchunks:]
	var err error
	if c.slots, err = readPages[machineSlot](rest[0], n[4]); err != nil {
		return nil, err
	}
	as := newAlertSet(c.arena)
	c.alerts, as.dictBytes, as.garbage = as, int64(n[2]), int64(n[3])
	if as.slots, err = readPages[alertSlot](rest[2], n[5]); err != nil {
		return nil, err
	}
	if as.dict, err = readPages[loc](rest[3], n[6]); err != nil {
		return nil, err
	}
	d = checkpoint.NewDecoder(rest[1])
	c.order, as.order = d.U32s(), d.U32s()
	seed, table, next := d.U64(), d.U64s(), d.U32s()
	if err := d.Err(); err != nil {
		return nil, err
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	if c.names, err = names.FromState(seed, table, next, c.slots.len()); err != nil {
		return nil, err
	}
	d = checkpoint.NewDecoder(rest[4])
	for d.More() {
		name, domain, list := d.String(), d.String(), d.U32s()
		for _, s := range list {
			if s >= uint32(c.slots.len()) || !c.slots.at(s).alive {
				return nil, fmt.Errorf("a user of machine slot %d", s)
			}
		}
		c.users.Add(name, domain, list)
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	ids, byMachine, byUser, byEv := as.ids.edit(true), as.byMachine.edit(true), as.byUser.edit(true), as.byEv.edit(true)
	ids.idOf = func(s uint32) string { return as.id(as.slots.at(s)) }
	parts.Run([]int{0, 1, 2}, func(evidence, _ int) { // the evidence index beside the others
		for slot := range uint32(as.slots.len()) {
			if s := as.slots.at(slot); s.alive && evidence == 1 {
				as.index(slot, s, nil, nil, nil, byEv, true)
			} else if s.alive {
				as.index(slot, s, ids, byMachine, byUser, nil, true)
			}
		}
	})
	as.ids = ids.done()
	ok = true
	return c, nil
}

// check reports a loc outside the arena, or a slot number outside its
// slots, of a content read from a checkpoint.
func (c *content) check() error {
	as, a := c.alerts, c.arena
	for i := range uint32(c.slots.len()) {
		if s := c.slots.at(i); !a.valid(s.json) || !a.valid(s.strs) || int(s.cut) > len(a.get(s.json)) {
			return fmt.Errorf("machine slot %d out of the arena", i)
		}
	}
	for i := range uint32(as.slots.len()) {
		s := as.slots.at(i)
		if !a.valid(s.rec) || s.head > s.tail || s.tail > s.ev || int(s.ev) > len(a.get(s.rec)) || s.mslot >= uint32(c.slots.len()) {
			return fmt.Errorf("alert slot %d out of the arena or the machines", i)
		}
	}
	for i := range uint32(as.dict.len()) {
		if !a.valid(*as.dict.at(i)) {
			return fmt.Errorf("dictionary entry %d out of the arena", i)
		}
	}
	for _, l := range []struct {
		order []uint32
		n     int
		alive func(uint32) bool
	}{{c.order, c.slots.len(), func(s uint32) bool { return c.slots.at(s).alive }},
		{as.order, as.slots.len(), func(s uint32) bool { return as.slots.at(s).alive }}} {
		for _, s := range l.order {
			if s >= uint32(l.n) || !l.alive(s) {
				return fmt.Errorf("an order names slot %d of %d", s, l.n)
			}
		}
	}
	return nil
}
