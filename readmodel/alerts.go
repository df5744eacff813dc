package readmodel

import (
	"bytes"
	"context"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/odata"
	"github.com/openatp/openatp/wire"
)

// alertSet is the alerts of a content: each alert's JSON (in the arena,
// without its rbacGroupName, which depends on the view's device groups,
// and with its evidence apart), the filterable properties, and the alerts
// ordered by lastUpdateTime, so that the documented poll ("lastUpdateTime
// ge …") is a binary search and a short scan. The JSON is kept expanded,
// not compacted as machines' is: an alert page is written by copying it
// (measured: Expand cost 40 % of a poll's CPU; the expanded JSON costs a
// third more memory). It is immutable once a view holds it: a change
// makes a new set sharing what did not change.
type alertSet struct {
	slots     pages[alertSlot]
	order     []uint32                      // live slots by (lastUpdateTime, id)
	ids       *shardMap[string, uint32]     // alert id → slot
	byMachine *shardMap[[20]byte, []uint32] // machine id → its alerts' slots
	byUser    *shardMap[string, []uint32]   // NameKey of the related user → slots
	byEv      *shardMap[string, []uint32]   // EvidenceKey of a value of the evidence → slots
	upper     int                           // live alerts whose id has upper-case letters
	garbage   int64                         // JSON bytes of replaced and deleted alerts
}

// alertSlot is one alert. Slots are never reused: a deleted alert leaves
// a dead slot until the next build.
type alertSlot struct {
	id      string
	mhex    string // the machine id, shared by the alerts of a machine
	machine [20]byte
	mslot   uint32 // the machine's slot in the content
	json    loc    // the JSON up to computerDnsName's value, then from aadTenantId to the comments
	nameAt  uint32 // where computerDnsName's value starts in json
	cut     uint32 // where it ends: where rbacGroupName goes
	size    uint32 // the length of json
	ev      loc    // the evidence array, compacted (wire.Compact), if hasEv
	evSize  uint32
	evKeys  []string // the evidence's values, as EvidenceKey writes them
	hasEv   bool
	alive   bool
	p       alertProps
}

// alertProps are the filterable properties of an alert (wire.AlertSchema)
// and its related user's keys.
type alertProps struct {
	updated, created, lastEvent  int64 // Unix ns
	incident, investigation      int64
	nulls                        uint8 // bits of the null values among the above and the strings below
	severity, status             uint8 // index+1 in openatp.AlertSeverities, AlertStatuses
	assignedTo, source, category string
	userKey, userDomainKey       string
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

func newAlertSet() *alertSet {
	return &alertSet{ids: newShardMap[string, uint32](), byMachine: newShardMap[[20]byte, []uint32](), byUser: newShardMap[string, []uint32](),
		byEv: newShardMap[string, []uint32]()}
}

// encodeAlert appends a's JSON to the arena, with name (its machine's
// name) as computerDnsName, and returns its slot (without its machine
// slot).
func (c *content) encodeAlert(a *openatp.Alert, name *string, in *interner, buf *[]byte) (alertSlot, error) {
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
	full := append(wire.AppendAlertHead((*buf)[:0], a), `,"computerDnsName":`...)
	s.nameAt = uint32(len(full))
	full = wire.AppendStringPtr(full, name)
	s.cut = uint32(len(full))
	full = wire.AppendAlertTail(full, a)
	s.size = uint32(len(full))
	var err error
	if s.json, err = c.arena.add(full); err != nil {
		return s, openatp.Errorf(openatp.Unavailable, "cannot map memory for the index: %v", err)
	}
	*buf = full[:0]
	if len(a.Evidence) > 0 {
		ev := wire.AppendEvidence(full[:0], a.Evidence)
		s.evSize = uint32(len(ev))
		cb := wire.Compact(ev[len(ev):], ev)
		if s.ev, err = c.arena.add(cb[:len(cb):len(cb)]); err != nil {
			return s, openatp.Errorf(openatp.Unavailable, "cannot map memory for the index: %v", err)
		}
		s.hasEv = true
		s.evKeys = evidenceKeys(a.Evidence)
		*buf = cb[:0]
	}
	s.id = a.ID
	s.mhex = in.intern(a.MachineID)
	p := &s.p
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
	for _, f := range []struct {
		v   *string
		dst *string
		bit uint8
	}{{a.AssignedTo, &p.assignedTo, nullAssignedTo}, {a.DetectionSource, &p.source, nullSource}, {a.Category, &p.category, nullCategory}} {
		if f.v == nil {
			p.nulls |= f.bit
		} else {
			*f.dst = in.intern(*f.v)
		}
	}
	p.severity = uint8(slices.Index(openatp.AlertSeverities, a.Severity) + 1)
	p.status = uint8(slices.Index(openatp.AlertStatuses, a.Status) + 1)
	if a.RelatedUser != nil {
		p.userKey = openatp.NameKey(a.RelatedUser.Name)
		if a.RelatedUser.Domain != nil {
			p.userDomainKey = in.intern(openatp.NameKey(*a.RelatedUser.Domain))
		}
	}
	s.alive = true
	return s, nil
}

// scanAlerts reads the tenant's alerts into c. A build reads them before
// the machines (see buildContent): an alert whose machine the later scan
// does not see was deleted with it meanwhile, which the feed says; its
// machine is found by resolveAlerts.
func (c *content) scanAlerts(ctx context.Context, store openatp.Store, tenantID string, in *interner, buf *[]byte) error {
	as := newAlertSet()
	c.alerts = as
	return store.ScanAlerts(ctx, tenantID, func(a openatp.Alert) error {
		s, err := c.encodeAlert(&a, a.ComputerDNSName, in, buf) // the name of the scan's moment: see resolveAlerts
		if err != nil {
			return err
		}
		as.slots.appendValue(s)
		return nil
	})
}

// resolveAlerts finds the machine of every alert a build read (dropping
// those of machines it did not see, renaming those of machines renamed
// since) and makes the order and the indexes, in place: no view has seen
// them yet.
func (c *content) resolveAlerts() error {
	as := c.alerts
	ids, byMachine, byUser, byEv := as.ids.edit(true), as.byMachine.edit(true), as.byUser.edit(true), as.byEv.edit(true)
	var buf []byte
	for i := range as.slots.len() {
		slot := uint32(i)
		s := as.slots.at(slot)
		ms, ok := c.findID(s.machine)
		if !ok {
			s.alive = false
			as.garbage += c.alertBytes(s)
			continue
		}
		s.mslot = ms
		renamed, err := c.renameAlert(s, &buf)
		if err != nil {
			return err
		}
		if renamed != nil {
			*s = *renamed
		}
		as.index(slot, s, ids, byMachine, byUser, byEv)
		as.order = append(as.order, slot)
	}
	slices.SortFunc(as.order, as.compare)
	return nil
}

// machineName is the computerDnsName of machine slot ms as an alert
// shows it (null for none).
func (c *content) machineName(ms uint32) *string {
	if name := c.nameOf(ms); name != "" {
		return &name
	}
	return nil
}

// renameAlert returns alert s with its machine's current name, its JSON
// written anew, or nil when it has it already.
func (c *content) renameAlert(s *alertSlot, buf *[]byte) (*alertSlot, error) {
	j := c.arena.get(s.json)
	name := wire.AppendStringPtr((*buf)[:0], c.machineName(s.mslot))
	*buf = name
	if bytes.Equal(j[s.nameAt:s.cut], name) {
		return nil, nil
	}
	b := append(append(append(make([]byte, 0, len(j)+len(name)), j[:s.nameAt]...), name...), j[s.cut:]...)
	r := *s
	r.cut = s.nameAt + uint32(len(name))
	r.size = uint32(len(b))
	var err error
	if r.json, err = c.arena.add(b); err != nil {
		return nil, openatp.Errorf(openatp.Unavailable, "cannot map memory for the index: %v", err)
	}
	return &r, nil
}

// index enters alert slot s in the indexes.
func (as *alertSet) index(slot uint32, s *alertSlot, ids *mapEditor[string, uint32], byMachine *mapEditor[[20]byte, []uint32],
	byUser, byEv *mapEditor[string, []uint32]) {
	ids.set(s.id, slot)
	if odata.Fold(s.id) != s.id {
		as.upper++
	}
	list, _ := byMachine.get(s.machine)
	byMachine.set(s.machine, append(slices.Clip(list), slot))
	if s.p.userKey != "" {
		list, _ := byUser.get(s.p.userKey)
		byUser.set(s.p.userKey, append(slices.Clip(list), slot))
	}
	for _, k := range s.evKeys {
		list, _ := byEv.get(k)
		byEv.set(k, append(slices.Clip(list), slot))
	}
}

// unindex takes alert slot s out of the machine, user and evidence
// indexes.
func unindex(slot uint32, s *alertSlot, byMachine *mapEditor[[20]byte, []uint32], byUser, byEv *mapEditor[string, []uint32]) {
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
	if s.p.userKey != "" {
		drop(byUser, s.p.userKey)
	}
	for _, k := range s.evKeys {
		drop(byEv, k)
	}
}

// without returns list without slot, a copy if it held it.
func without(list []uint32, slot uint32) []uint32 {
	i := slices.Index(list, slot)
	if i < 0 {
		return list
	}
	return slices.Delete(slices.Clone(list), i, i+1)
}

// alertBytes is what alert s holds in the arena.
func (c *content) alertBytes(s *alertSlot) int64 {
	n := int64(len(c.arena.get(s.json)))
	if s.hasEv {
		n += int64(len(c.arena.get(s.ev)))
	}
	return n
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
	return strings.Compare(x.id, y.id)
}

// applyAlerts returns the alerts of n, the content after ch, sharing what
// did not change; n holds ch's machines already. A changed alert takes a
// new slot (its old one dies), so that the order is the old one without
// the changed alerts, merged with them.
func (c *content) applyAlerts(n *content, ch *openatp.Changes) (*alertSet, error) {
	old := c.alerts
	if len(ch.Alerts)+len(ch.DeletedAlerts)+len(ch.Machines) == 0 {
		return old, nil
	}
	as := &alertSet{garbage: old.garbage, upper: old.upper}
	ed := old.slots.edit()
	ids, byMachine, byUser, byEv := old.ids.edit(false), old.byMachine.edit(false), old.byUser.edit(false), old.byEv.edit(false)
	removed := map[uint32]bool{}
	kill := func(id string) {
		prev, ok := ids.get(id)
		if !ok {
			return
		}
		d := *ed.p.at(prev)
		as.garbage += c.alertBytes(&d)
		if odata.Fold(d.id) != d.id {
			as.upper--
		}
		unindex(prev, &d, byMachine, byUser, byEv)
		d.alive = false
		ed.set(prev, d)
		ids.del(id)
		removed[prev] = true
	}
	var added []uint32
	touched := false
	in := interner{}
	var buf []byte
	for i := range ch.Alerts {
		a := &ch.Alerts[i]
		ms, ok := n.find(a.MachineID)
		if !ok {
			return nil, openatp.Errorf(openatp.Internal, "the change feed names alert %s of machine %s, which the index does not have", a.ID, a.MachineID)
		}
		s, err := n.encodeAlert(a, n.machineName(ms), &in, &buf)
		if err != nil {
			return nil, err
		}
		s.mslot = ms
		kill(a.ID)
		slot := uint32(ed.p.len())
		ed.set(slot, s)
		as.index(slot, &s, ids, byMachine, byUser, byEv)
		added = append(added, slot)
	}
	for _, id := range ch.DeletedAlerts {
		kill(id)
	}
	// The alerts of renamed machines show their new name; their place in
	// the order does not change.
	for i := range ch.Machines {
		var id [20]byte
		if _, err := hex.Decode(id[:], []byte(ch.Machines[i].ID)); err != nil {
			continue
		}
		list, _ := byMachine.get(id)
		for _, slot := range list {
			renamed, err := n.renameAlert(ed.p.at(slot), &buf)
			if err != nil {
				return nil, err
			}
			if renamed != nil {
				as.garbage += int64(len(n.arena.get(ed.p.at(slot).json)))
				ed.set(slot, *renamed)
				touched = true
			}
		}
	}
	if !touched && len(added) == 0 && len(removed) == 0 {
		return old, nil // machines changed, none of their alerts
	}
	as.slots = ed.done()
	as.ids, as.byMachine, as.byUser, as.byEv = ids.m, byMachine.m, byUser.m, byEv.m
	if len(added) == 0 && len(removed) == 0 {
		as.order = old.order
		return as, nil
	}
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
	return as, nil
}

// memory estimates what the alerts hold beside their JSON (which is in
// the arena): slots, order and indexes.
func (as *alertSet) memory() int64 {
	return int64(as.slots.len())*200 + int64(len(as.order))*4 + int64(as.ids.len())*64 + int64(as.byEv.len())*96
}

// interner shares the strings that repeat across alerts (machine ids,
// categories, detection sources, domains), up to a bound.
type interner map[string]string

func (in *interner) intern(s string) string {
	if v, ok := (*in)[s]; ok {
		return v
	}
	if *in == nil {
		*in = interner{}
	}
	if len(*in) < 1<<16 {
		(*in)[s] = s
	}
	return s
}
