package readmodel

import (
	"iter"
	"sync/atomic"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/refcount"
	"github.com/openatp/openatp/readmodel/parts"
	"github.com/openatp/openatp/wire"
)

// View is an immutable, exact picture of one tenant: its machines (with
// their device groups), users and relations at one version. A view is
// reference-counted: Model.View hands it out retained, and the caller
// calls Release when done. No method returns memory of the view: machine
// JSON is copied into the caller's buffer.
type View struct {
	refs        refcount.Count
	live        *atomic.Int64 // the model's count of views not released
	dataVersion uint64        // the store's DataVersion it is exact for, if exact
	exact       bool
	epoch       uint64 // see Version
	c           *content
	rbac        *RBAC
	group       pages[uint16] // slot → index into groupIDs
	groupIDs    []int64
	frags       [][]byte // the encoded group properties of each group
	alertFrags  [][]byte // the rbacGroupName property of an alert of each group
}

// newView makes a view holding one reference, for its creator, and a
// reference to the arena. live counts it until its last release.
func newView(c *content, rbac *RBAC, dataVersion uint64, group pages[uint16], live *atomic.Int64) *View {
	v := &View{c: c, rbac: rbac, dataVersion: dataVersion, group: group, live: live}
	v.groupIDs = append(v.groupIDs, openatp.DefaultGroupID)
	v.frags = append(v.frags, wire.AppendGroup(nil, openatp.DefaultGroupID, openatp.DefaultGroupName))
	v.alertFrags = append(v.alertFrags, alertGroupFrag(openatp.DefaultGroupID, openatp.DefaultGroupName))
	for _, g := range rbac.groups {
		v.groupIDs = append(v.groupIDs, g.ID)
		v.frags = append(v.frags, wire.AppendGroup(nil, g.ID, g.Name))
		v.alertFrags = append(v.alertFrags, alertGroupFrag(g.ID, g.Name))
	}
	v.refs.Init()
	c.arena.retain()
	live.Add(1)
	return v
}

// assignGroups returns the device group of every slot of c under rbac,
// reusing old for the slots not in changed (when old is not nil).
func assignGroups(c *content, rbac *RBAC, old *pages[uint16], changed []uint32) pages[uint16] {
	match := func(s *machineSlot, tags *[]string) uint16 {
		if !s.alive {
			return 0
		}
		ss := c.strings(s)
		m := openatp.Machine{ComputerDNSName: &ss.name, OSPlatform: &ss.os, MachineTags: ss.appendTags((*tags)[:0])}
		*tags = m.MachineTags
		for gi := range rbac.groups {
			if gi+1 > 65535 {
				break
			}
			if rbac.groups[gi].Matches(&m) {
				return uint16(gi + 1)
			}
		}
		return 0
	}
	if old != nil {
		var tags []string // scratch
		ed := old.edit()
		for _, s := range changed {
			ed.set(s, match(c.slots.at(s), &tags))
		}
		return ed.done()
	}
	// A build: the whole array, a range of pages per processor.
	n := c.slots.len()
	p := pages[uint16]{table: make([]*[pageLen]uint16, (n+pageLen-1)/pageLen), n: n}
	parts.Run(parts.Split(len(p.table), partMin/pageLen), func(lo, hi int) {
		var tags []string
		for pi := lo; pi < hi; pi++ {
			page := new([pageLen]uint16)
			for i := range min(pageLen, n-pi*pageLen) {
				page[i] = match(c.slots.at(uint32(pi*pageLen+i)), &tags)
			}
			p.table[pi] = page
		}
	})
	return p
}

// tryRetain adds a reference unless the view is already released.
func (v *View) tryRetain() bool { return v.refs.TryRetain() }

// Release drops the caller's reference. After it the view must not be used.
func (v *View) Release() {
	if v.refs.Release() {
		v.c.arena.release()
		v.live.Add(-1)
	}
}

// RBAC returns the roles and device groups the view was made with.
func (v *View) RBAC() *RBAC { return v.rbac }

// Machines returns the number of machines.
func (v *View) Machines() int { return len(v.c.order) }

// MachineSlots yields the slot of every live machine, in the order the
// machines came into the model (a deleted machine's slot is skipped, so
// the slots are not 0..Machines()-1 once one was deleted).
func (v *View) MachineSlots() iter.Seq[uint32] {
	return func(yield func(uint32) bool) {
		for s := range uint32(v.c.slots.len()) {
			if v.c.slots.at(s).alive && !yield(s) {
				return
			}
		}
	}
}

// Users returns the number of users.
func (v *View) Users() int { return v.c.users.Count() }

// UserMachines returns the machines of user u (as slots, ordered by
// machine id), and whether the user exists. The list may be appended to
// scratch, and must not be changed.
func (v *View) UserMachines(u openatp.UserRef, scratch []uint32) ([]uint32, bool) {
	return v.c.users.Machines(openatp.NameKey(u.Name), openatp.NameKey(u.Domain), u.Domain != "", scratch, v.c.compareSlots)
}

// Visible returns the machines of list that a may see, in order.
func (v *View) Visible(list []uint32, a *openatp.Access) []uint32 {
	if a.AllGroups {
		return list
	}
	out := make([]uint32, 0, len(list))
	for _, s := range list {
		if a.CanSee(v.GroupID(s)) {
			out = append(out, s)
		}
	}
	return out
}

// GroupID returns the device group id of machine slot s.
func (v *View) GroupID(s uint32) int64 { return v.groupIDs[*v.group.at(s)] }

// MachineSize returns the length of machine s's JSON.
func (v *View) MachineSize(s uint32) int {
	return int(v.c.slots.at(s).size) + len(v.frags[*v.group.at(s)])
}

// Touch reads every cache line of the records of the given machines and
// forgets what it read. Called on a batch ahead of the AppendMachine loop
// that writes it, it lets the batch's cache misses overlap (the loads do
// not depend on one another) instead of taking them one at a time inside
// the copy: a page of machines scattered over a large tenant is bound by
// memory latency, not by copying.
func (v *View) Touch(slots []uint32) {
	var x byte
	for _, s := range slots {
		m := v.c.slots.at(s)
		j := v.c.arena.get(m.json)
		for o := 0; o < len(j); o += 64 {
			x += j[o]
		}
		x += byte(*v.group.at(s))
	}
	touched.Store(uint32(x))
}

// touched keeps Touch's reads from being optimized away.
var touched atomic.Uint32

// AppendMachine appends the JSON of machine s to b.
func (v *View) AppendMachine(b []byte, s uint32) []byte {
	m := v.c.slots.at(s)
	j := v.c.arena.get(m.json)
	b = wire.Expand(b, j[:m.cut])
	b = append(b, v.frags[*v.group.at(s)]...)
	return wire.Expand(b, j[m.cut:])
}

// alertGroupFrag is the rbacGroupName property of an alert of a machine
// in group id, without the computerDnsName before it.
func alertGroupFrag(id int64, name string) []byte {
	b := wire.AppendAlertMachine(nil, nil, id, name)
	return b[len(`,"computerDnsName":null`):]
}
