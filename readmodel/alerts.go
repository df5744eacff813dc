package readmodel

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"hash/maphash"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/odata"
	"github.com/openatp/openatp/readmodel/alertrec"
	"github.com/openatp/openatp/readmodel/evidence"
	"github.com/openatp/openatp/readmodel/parts"
	"github.com/openatp/openatp/wire"
)

// alertSet is the alerts of a content: each alert's JSON (without the
// properties it takes from its machine, computerDnsName and
// rbacGroupName, which are written with it, and with its evidence apart),
// packed (alertrec: wire.Compact's records, the runs that repeat from
// alert to alert kept once in a dictionary), with the strings queries
// read, as one record in the arena; the filterable properties; and the
// alerts ordered by lastUpdateTime, so that the documented poll
// ("lastUpdateTime ge …") is a binary search and a short scan. A build
// writes the records in that order, so that a poll's page reads one run
// of memory. A slot holds no pointer, as a machine's does not. The set is
// immutable once a view holds it: a change makes a new set sharing what
// did not change.
type alertSet struct {
	arena     *arena // the content's: the records and the dictionary's entries
	slots     pages[alertSlot]
	order     []uint32 // live slots by (lastUpdateTime, id)
	ids       alertIDs
	byMachine *shardMap[[20]byte, []uint32] // machine id → its alerts' slots
	byUser    *shardMap[string, []uint32]   // NameKey of the related user → slots
	byEv      *shardMap[string, []uint32]   // evidence.Key of a value of the evidence → slots
	dict      pages[loc]                    // the dictionary's entries (JSON), by number
	dictIndex *shardMap[uint64, uint32]     // an entry's hash → its number
	dictBytes int64
	seed      maphash.Seed // of the dictionary's hashes
	upper     int          // live alerts whose id has upper-case letters
	garbage   int64        // record bytes of replaced and deleted alerts
}

// alertSlot is one alert. Slots are never reused: a deleted alert leaves
// a dead slot until the next build.
type alertSlot struct {
	machine [20]byte
	mslot   uint32 // the machine's slot in the content
	// rec is the alert's record: its strings (alertStrings) and its
	// evidence's keys (evidence.Keys), then from
	// head its JSON up to machineId's value, from tail from aadTenantId to
	// the comments, from ev its evidence array (empty for none), each
	// packed (alertrec).
	rec            loc
	head, tail, ev uint32
	size           uint32 // the length of the head and tail unpacked
	evSize         uint32 // the length of the evidence unpacked; 0 for none
	p              alertProps
	alive          bool
}

// alertProps are the filterable properties of an alert (wire.AlertSchema)
// that its strings do not hold.
type alertProps struct {
	updated, created, lastEvent int64 // Unix ns
	incident, investigation     int64
	nulls                       uint8 // bits of the null values among the above and the strings
	severity, status            uint8 // index+1 in openatp.AlertSeverities, AlertStatuses
}

// The bits of alertProps.nulls.
const (
	nullCreated = 1 << iota
	nullLastEvent
	nullIncident
	nullInvestigation
	nullAssignedTo
	nullSource
	nullCategory
)

// alertStrings are the strings of an alert that queries read, kept at the
// start of its record as machines' are (slotStrings): valid as long as
// the reader's reference to the arena. The keys of its evidence follow
// them, up to head (as.evKeys).
type alertStrings struct {
	id, assignedTo, source, category string
	userKey, userDomainKey           string // the related user's NameKeys; "" for none
}

func (as *alertSet) strings(s *alertSlot) alertStrings {
	b := as.arena.get(s.rec)[:s.head]
	var r alertStrings
	r.id, b = nextString(b)
	r.assignedTo, b = nextString(b)
	r.source, b = nextString(b)
	r.category, b = nextString(b)
	r.userKey, b = nextString(b)
	r.userDomainKey, _ = nextString(b)
	return r
}

// evKeys calls f with each key (evidence.Key) of the evidence of alert
// slot s, each once; the key is valid as long as the reader's reference
// to the arena.
func (as *alertSet) evKeys(s *alertSlot, f func(key string)) {
	b := as.arena.get(s.rec)[:s.head]
	for range 6 { // alertStrings
		_, b = nextString(b)
	}
	for len(b) > 0 {
		var k string
		k, b = nextString(b)
		f(k)
	}
}

// id returns the id of alert slot s.
func (as *alertSet) id(s *alertSlot) string { return as.idIn(as.arena, s) }

// idIn returns the id of alert slot s whose record is in arena a.
func (as *alertSet) idIn(a *arena, s *alertSlot) string {
	id, _ := nextString(a.get(s.rec)[:s.head])
	return id
}

// Entry returns dictionary entry n (alertrec.Unpack's reader).
func (as *alertSet) Entry(n uint32) []byte { return as.arena.get(*as.dict.at(n)) }

// Limits of the dictionary: beyond them runs stay literal.
const (
	maxDictEntries = 1 << 20
	maxDictBytes   = 64 << 20
	maxSeen        = 4 << 20 // runs seen once an encoder remembers
)

func newAlertSet(a *arena) *alertSet {
	return &alertSet{arena: a, ids: newAlertIDs(), byMachine: newShardMap[[20]byte, []uint32](),
		byUser: newShardMap[string, []uint32](), byEv: newShardMap[string, []uint32](), dictIndex: newShardMap[uint64, uint32](), seed: maphash.MakeSeed()}
}

// alertDict is the dictionary an encoding adds to; the encoders of a
// build share it, under mu.
type alertDict struct {
	mu    sync.Mutex
	as    *alertSet
	dict  *editor[loc]
	index *mapEditor[uint64, uint32]
	added int64
	full  bool                // the arena refused an entry: the runs stay literal
	seen  map[uint64]struct{} // runs seen once: one enters the second time (none unique to an alert)
}

func (as *alertSet) newDict(inPlace bool) *alertDict {
	return &alertDict{as: as, dict: as.dict.edit(), index: as.dictIndex.edit(inPlace), seen: map[uint64]struct{}{}}
}

// done stores the dictionary's changes in the set.
func (d *alertDict) done() {
	d.as.dict, d.as.dictIndex = d.dict.done(), d.index.m
	d.as.dictBytes += d.added
}

// alertEncoder writes alerts into an arena (the set's, or in a build a
// scratch arena of its own for the records), adding to a dictionary. One
// writer at a time.
type alertEncoder struct {
	d          *alertDict
	recs       *arena           // where the records go
	j, c, r, x []byte           // scratch: JSON, compacted, the record, a run expanded
	slots      pages[alertSlot] // in a build, the slots encoded
	dict       alertrec.Dict    // e, or in a build an alertrec.Cached in front of it
}

// Intern is the dictionary of alertrec.Pack: the runs' JSON, by the
// hash of their compacted form.
func (e *alertEncoder) Intern(run []byte) (uint32, bool) {
	d := e.d
	h := maphash.Bytes(d.as.seed, run)
	e.x = wire.Expand(e.x[:0], run)
	d.mu.Lock()
	defer d.mu.Unlock()
	if n, ok := d.index.get(h); ok {
		return n, bytes.Equal(d.as.arena.get(*d.dict.p.at(n)), e.x)
	}
	if d.full || d.dict.p.len() >= maxDictEntries || d.as.dictBytes+d.added+int64(len(run)) > maxDictBytes {
		return 0, false
	}
	if _, ok := d.seen[h]; !ok {
		if len(d.seen) < maxSeen {
			d.seen[h] = struct{}{}
		}
		return 0, false
	}
	l, err := d.as.arena.add(e.x)
	if err != nil {
		d.full = true
		return 0, false
	}
	n := uint32(d.dict.p.len())
	d.dict.set(n, l)
	d.index.set(h, n)
	d.added += int64(len(e.x))
	return n, true
}

// pack appends the packed form of the JSON j to the record.
func (e *alertEncoder) pack(j []byte) {
	e.c = wire.Compact(e.c[:0], j)
	e.r = alertrec.Pack(e.r, e.c, e.dict)
}

// encode writes alert a's record and returns its slot (without its
// machine slot).
func (e *alertEncoder) encode(a *openatp.Alert) (alertSlot, error) {
	var s alertSlot
	if len(a.MachineID) != 40 {
		return s, openatp.Errorf(openatp.Internal, "store returned an alert with a malformed machine id %q", a.MachineID)
	}
	if _, err := hex.Decode(s.machine[:], []byte(a.MachineID)); err != nil {
		return s, openatp.Errorf(openatp.Internal, "store returned an alert with a malformed machine id %q", a.MachineID)
	}
	if a.LastUpdateTime == nil {
		return s, openatp.Errorf(openatp.Internal, "store returned alert %q without lastUpdateTime", a.ID)
	}
	p := &s.p
	r := appendString(e.r[:0], a.ID)
	for _, f := range []struct {
		v   *string
		bit uint8
	}{{a.AssignedTo, nullAssignedTo}, {a.DetectionSource, nullSource}, {a.Category, nullCategory}} {
		if f.v == nil {
			p.nulls |= f.bit
			r = appendString(r, "")
		} else {
			r = appendString(r, *f.v)
		}
	}
	var userKey, domainKey string
	if a.RelatedUser != nil {
		userKey = openatp.NameKey(a.RelatedUser.Name)
		if a.RelatedUser.Domain != nil {
			domainKey = openatp.NameKey(*a.RelatedUser.Domain)
		}
	}
	r = appendString(appendString(r, userKey), domainKey)
	for _, k := range evidence.Keys(a.Evidence) {
		r = appendString(r, k)
	}
	e.r = r
	s.head = uint32(len(e.r))
	e.j = wire.AppendAlertHead(e.j[:0], a)
	s.size = uint32(len(e.j))
	e.pack(e.j)
	s.tail = uint32(len(e.r))
	e.j = wire.AppendAlertTail(e.j[:0], a)
	s.size += uint32(len(e.j))
	e.pack(e.j)
	s.ev = uint32(len(e.r))
	if len(a.Evidence) > 0 {
		e.j = wire.AppendEvidence(e.j[:0], a.Evidence)
		s.evSize = uint32(len(e.j))
		e.pack(e.j)
	}
	var err error
	if s.rec, err = e.recs.add(e.r); err != nil {
		return s, openatp.Errorf(openatp.Unavailable, "cannot map memory for the index: %v", err)
	}
	p.updated = a.LastUpdateTime.UnixNano()
	if a.AlertCreationTime != nil {
		p.created = a.AlertCreationTime.UnixNano()
	} else {
		p.nulls |= nullCreated
	}
	if a.LastEventTime != nil {
		p.lastEvent = a.LastEventTime.UnixNano()
	} else {
		p.nulls |= nullLastEvent
	}
	if a.IncidentID != nil {
		p.incident = *a.IncidentID
	} else {
		p.nulls |= nullIncident
	}
	if a.InvestigationID != nil {
		p.investigation = *a.InvestigationID
	} else {
		p.nulls |= nullInvestigation
	}
	p.severity = uint8(slices.Index(openatp.AlertSeverities, a.Severity) + 1)
	p.status = uint8(slices.Index(openatp.AlertStatuses, a.Status) + 1)
	s.alive = true
	return s, nil
}

// alertScanner is a store's faster read for a build (sqlite, postgres).
type alertScanner interface {
	ScanAlertsParallel(ctx context.Context, tenantID string, workers int, f func(worker int, a *openatp.Alert) error) error
}

// scanAlerts reads the tenant's alerts into c: each of the store's
// decoding goroutines packs its alerts with an encoder of its own (the
// dictionary shared) into the encoder's arena, which the caller releases.
// A build reads the alerts before the machines (see buildContent): an
// alert whose machine the later scan does not see was deleted with it
// meanwhile, which the feed says; resolveAlerts finds their machines.
func (c *content) scanAlerts(ctx context.Context, store openatp.Store, tenantID string) ([]*alertEncoder, error) {
	as := newAlertSet(c.arena)
	c.alerts = as
	d := as.newDict(true)
	defer d.done()
	encs := make([]*alertEncoder, runtime.GOMAXPROCS(0))
	for i := range encs {
		encs[i] = &alertEncoder{d: d, recs: newArena()}
		encs[i].dict = alertrec.NewCached(encs[i])
	}
	encode := func(w int, a *openatp.Alert) error {
		s, err := encs[w].encode(a)
		encs[w].slots.appendValue(s)
		return err
	}
	if ps, ok := store.(alertScanner); ok {
		return encs, ps.ScanAlertsParallel(ctx, tenantID, len(encs), encode)
	}
	return encs, store.ScanAlerts(ctx, tenantID, func(a openatp.Alert) error { return encode(0, &a) })
}

// resolveAlerts finds the machine of every alert a build read (dropping
// those of machines it did not see), and makes the slots anew in the
// order of lastUpdateTime, their records copied into the content's arena
// in that order, then the order and the indexes, in place.
func (c *content) resolveAlerts(encs []*alertEncoder) error {
	read := c.alerts
	type keyed struct {
		updated   int64
		enc, slot uint32
	}
	var live []keyed
	for w, e := range encs {
		for i := range uint32(e.slots.len()) {
			s := e.slots.at(i)
			if ms, ok := c.findID(s.machine); ok {
				s.mslot = ms
				live = append(live, keyed{s.p.updated, uint32(w), i})
			}
		}
	}
	byTime := func(a, b keyed) int {
		if r := cmp.Compare(a.updated, b.updated); r != 0 {
			return r
		}
		x, y := encs[a.enc], encs[b.enc]
		return strings.Compare(x.d.as.idIn(x.recs, x.slots.at(a.slot)), y.d.as.idIn(y.recs, y.slots.at(b.slot)))
	}
	live = parts.Sort(live, partMin, byTime)
	as := *read // its dictionary and its empty indexes (the slots are the encoders')
	as.order = make([]uint32, len(live))
	for i, k := range live {
		s := *encs[k.enc].slots.at(k.slot)
		var err error
		if s.rec, err = c.arena.add(encs[k.enc].recs.get(s.rec)); err != nil {
			return openatp.Errorf(openatp.Unavailable, "cannot map memory for the index: %v", err)
		}
		as.slots.appendValue(s)
		as.order[i] = uint32(i)
	}
	as.indexAll()
	c.alerts = &as
	return nil
}

// indexAll makes the indexes of a build's alerts, in place, one index a
// goroutine: each key's slots gathered in slot order, then set once.
func (as *alertSet) indexAll() {
	n := uint32(as.slots.len())
	type lists = map[string]*[]uint32
	gather := func(g lists, k string, slot uint32) {
		if l, ok := g[k]; ok {
			*l = append(*l, slot)
		} else {
			g[strings.Clone(k)] = &[]uint32{slot} // the key outlives the record's reference
		}
	}
	load := func(m *shardMap[string, []uint32], g lists) {
		e := m.edit(true)
		for k, l := range g {
			e.set(k, *l)
		}
	}
	parts.Run([]int{0, 1, 2, 3, 4}, func(index, _ int) {
		switch index {
		case 0:
			ids := as.ids.edit(true)
			ids.idOf = func(s uint32) string { return as.id(as.slots.at(s)) }
			for slot := range n {
				id := as.id(as.slots.at(slot))
				ids.set(id, slot)
				if odata.Fold(id) != id {
					as.upper++
				}
			}
			as.ids = ids.done()
		case 1:
			m := as.byMachine.edit(true)
			for slot := range n {
				k := as.slots.at(slot).machine
				l, _ := m.get(k)
				m.set(k, append(l, slot)) // grown in place: no view has seen it
			}
		case 2:
			g := lists{}
			for slot := range n {
				if k := as.strings(as.slots.at(slot)).userKey; k != "" {
					gather(g, k, slot)
				}
			}
			load(as.byUser, g)
		case 3:
			g := lists{}
			for slot := range n {
				as.evKeys(as.slots.at(slot), func(k string) { gather(g, k, slot) })
			}
			load(as.byEv, g)
		}
	})
}

// index enters alert slot s in the indexes: all of them, or without ids
// the evidence's alone, or without byEv the others (a load makes the two
// on two goroutines). fresh says no view has seen
// their lists (a build, a load): they grow in place, where a change must
// copy a list it appends to (a value's list of a million alerts copied
// at each append made a load quadratic).
func (as *alertSet) index(slot uint32, s *alertSlot, ids *alertIDsEditor, byMachine *mapEditor[[20]byte, []uint32],
	byUser, byEv *mapEditor[string, []uint32], fresh bool) {
	add := func(list []uint32) []uint32 {
		if !fresh {
			list = slices.Clip(list)
		}
		return append(list, slot)
	}
	if byEv == nil || ids != nil { // without byEv, or with all: ids, machines, users
		str := as.strings(s)
		ids.set(str.id, slot)
		if odata.Fold(str.id) != str.id {
			as.upper++
		}
		list, _ := byMachine.get(s.machine)
		byMachine.set(s.machine, add(list))
		if str.userKey != "" {
			key := strings.Clone(str.userKey) // the key outlives the record's reference
			list, _ := byUser.get(key)
			byUser.set(key, add(list))
		}
	}
	if byEv == nil {
		return
	}
	as.evKeys(s, func(k string) {
		k = strings.Clone(k) // the key outlives the record's reference
		list, _ := byEv.get(k)
		byEv.set(k, add(list))
	})
}

// unindex takes alert slot s out of the machine, user and evidence
// indexes.
func (as *alertSet) unindex(slot uint32, s *alertSlot, byMachine *mapEditor[[20]byte, []uint32], byUser, byEv *mapEditor[string, []uint32]) {
	if list, ok := byMachine.get(s.machine); ok {
		if list = without(list, slot); len(list) == 0 {
			byMachine.del(s.machine)
		} else {
			byMachine.set(s.machine, list)
		}
	}
	drop := func(m *mapEditor[string, []uint32], k string) {
		if list, ok := m.get(k); ok {
			if list = without(list, slot); len(list) == 0 {
				m.del(k)
			} else {
				m.set(k, list)
			}
		}
	}
	if key := as.strings(s).userKey; key != "" {
		drop(byUser, key)
	}
	as.evKeys(s, func(k string) { drop(byEv, k) })
}

// without returns list without slot, a copy if it held it.
func without(list []uint32, slot uint32) []uint32 {
	i := slices.Index(list, slot)
	if i < 0 {
		return list
	}
	return slices.Delete(slices.Clone(list), i, i+1)
}

// compare orders alert slots by lastUpdateTime, then id: the order of
// the alert list and of its keyset paging.
func (as *alertSet) compare(a, b uint32) int {
	x, y := as.slots.at(a), as.slots.at(b)
	if x.p.updated != y.p.updated {
		if x.p.updated < y.p.updated {
			return -1
		}
		return 1
	}
	return strings.Compare(as.id(x), as.id(y))
}

// applyAlerts returns the alerts of n, the content after ch, sharing what
// did not change; n holds ch's machines already. A changed alert takes a
// new slot (its old one dies), so that the order is the old one without
// the changed alerts, merged with them. An alert shows its machine's
// name as it is when written: a renamed machine changes no alert.
func (c *content) applyAlerts(n *content, ch *openatp.Changes) (*alertSet, error) {
	old := c.alerts
	if len(ch.Alerts)+len(ch.DeletedAlerts) == 0 {
		return old, nil
	}
	as := *old
	as.upper, as.garbage = old.upper, old.garbage
	ed := old.slots.edit()
	ids, byMachine, byUser, byEv := old.ids.edit(false), old.byMachine.edit(false), old.byUser.edit(false), old.byEv.edit(false)
	ids.idOf = func(s uint32) string { return as.id(ed.p.at(s)) }
	removed := map[uint32]bool{}
	kill := func(id string) {
		prev, ok := ids.get(id)
		if !ok {
			return
		}
		d := *ed.p.at(prev)
		as.garbage += int64(len(as.arena.get(d.rec)))
		if odata.Fold(id) != id {
			as.upper--
		}
		as.unindex(prev, &d, byMachine, byUser, byEv)
		d.alive = false
		ed.set(prev, d)
		ids.del(id)
		removed[prev] = true
	}
	var added []uint32
	d := as.newDict(false)
	e := &alertEncoder{d: d, recs: as.arena}
	e.dict = e
	for i := range ch.Alerts {
		a := &ch.Alerts[i]
		ms, ok := n.find(a.MachineID)
		if !ok {
			return nil, openatp.Errorf(openatp.Internal, "the change feed names alert %s of machine %s, which the index does not have", a.ID, a.MachineID)
		}
		s, err := e.encode(a)
		if err != nil {
			return nil, err
		}
		s.mslot = ms
		kill(a.ID)
		slot := uint32(ed.p.len())
		ed.set(slot, s)
		as.index(slot, &s, ids, byMachine, byUser, byEv, false)
		added = append(added, slot)
	}
	d.done()
	for _, id := range ch.DeletedAlerts {
		kill(id)
	}
	if len(added) == 0 && len(removed) == 0 {
		return old, nil
	}
	as.slots = ed.done()
	as.ids, as.byMachine, as.byUser, as.byEv = ids.done(), byMachine.m, byUser.m, byEv.m
	slices.SortFunc(added, as.compare)
	as.order = make([]uint32, 0, len(old.order)-len(removed)+len(added))
	j := 0
	for _, s := range old.order {
		if removed[s] {
			continue
		}
		for j < len(added) && as.compare(added[j], s) < 0 {
			as.order = append(as.order, added[j])
			j++
		}
		as.order = append(as.order, s)
	}
	as.order = append(as.order, added[j:]...)
	return &as, nil
}

// memory estimates what the alerts hold beside their records and
// dictionary (which are in the arena): slots, order and indexes.
func (as *alertSet) memory() int64 {
	return int64(as.slots.len())*96 + int64(len(as.order))*4 + int64(as.ids.len())*24 + int64(as.dict.len())*32 +
		int64(as.byEv.len())*96
}

// alertIDs finds alerts by id without keeping the ids: a copy-on-write
// map from the id's 64-bit hash to the slot, the id compared with the
// slot's; the rare id whose hash another live id has goes to a small map
// of its own.
type alertIDs struct {
	seed   maphash.Seed
	byHash *shardMap[uint64, uint32]
	extra  map[string]uint32 // copied on change
}

func newAlertIDs() alertIDs {
	return alertIDs{seed: maphash.MakeSeed(), byHash: newShardMap[uint64, uint32](), extra: map[string]uint32{}}
}

func (x *alertIDs) len() int { return x.byHash.len() + len(x.extra) }

// findID returns the slot of alert id.
func (as *alertSet) findID(id string) (uint32, bool) {
	return as.ids.get(id, func(s uint32) string { return as.id(as.slots.at(s)) })
}

func (x alertIDs) get(id string, idOf func(uint32) string) (uint32, bool) {
	if s, ok := x.byHash.get(maphash.String(x.seed, id)); ok && idOf(s) == id {
		return s, true
	}
	s, ok := x.extra[id]
	return s, ok
}

// alertIDsEditor changes a copy of an alertIDs; idOf reads the id of a
// slot of the set being made.
type alertIDsEditor struct {
	x      alertIDs
	byHash *mapEditor[uint64, uint32]
	copied bool
	idOf   func(uint32) string
}

func (x alertIDs) edit(inPlace bool) *alertIDsEditor {
	return &alertIDsEditor{x: x, byHash: x.byHash.edit(inPlace), copied: inPlace}
}

func (e *alertIDsEditor) get(id string) (uint32, bool) {
	return alertIDs{e.x.seed, e.byHash.m, e.x.extra}.get(id, e.idOf)
}

func (e *alertIDsEditor) writableExtra() map[string]uint32 {
	if !e.copied {
		e.x.extra = maps.Clone(e.x.extra)
		e.copied = true
	}
	return e.x.extra
}

func (e *alertIDsEditor) set(id string, slot uint32) {
	h := maphash.String(e.x.seed, id)
	if s, ok := e.byHash.get(h); ok && e.idOf(s) != id {
		e.writableExtra()[strings.Clone(id)] = slot // another id has the hash
		return
	}
	e.byHash.set(h, slot)
}

func (e *alertIDsEditor) del(id string) {
	if _, ok := e.x.extra[id]; ok {
		delete(e.writableExtra(), id)
		return
	}
	e.byHash.del(maphash.String(e.x.seed, id))
}

func (e *alertIDsEditor) done() alertIDs {
	e.x.byHash = e.byHash.m
	return e.x
}
