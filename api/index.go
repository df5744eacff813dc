package api

import (
	"context"
	"encoding/hex"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openatp/openatp"
)

// The read path of GET /api/users/{id}/machines must cost about as much as
// serving a fixed body, so it cannot run SQL per request. index keeps, per
// tenant, every machine's JSON (already encoded, in an off-heap arena) and
// each user's sorted machine list, built from one consistent Snapshot of the
// store. It is exact, never stale: every request first asks the store for
// its DataVersion (a cheap counter that changes on any committed write, by
// any process); when it differs from the version a tenant index was built
// at, the request is answered by the store directly and a rebuild starts in
// the background.
//
// An index has two layers. The content (machines, users, logons) is the
// costly one; the device-group layer (each machine's group, the roles) is
// recomputed from match keys kept in the content. When the tenant's
// ContentVersion shows that its content did not change (a rule edited, a
// group re-ranked, another tenant written to), a rebuild reuses the
// content and recomputes groups alone.
type index struct {
	store  openatp.Store
	logger *slog.Logger

	version versionGate

	mu       sync.Mutex
	tenants  map[string]*tenantEntry
	disabled bool
}

type tenantEntry struct {
	ready    atomic.Pointer[tenantIndex]
	content  atomic.Pointer[tenantContent] // of the last build, for reuse
	building atomic.Bool
}

// tenantContent is the machines and users of a tenant at one content
// version. It is immutable and shared by the tenant indexes built on it.
type tenantContent struct {
	contentVersion uint64
	ids            [][20]byte // machine ids, sorted
	json           *arena     // machine i's JSON without its group properties
	cuts           []uint32   // where machine i's group properties go in its JSON
	keys           []matchKey // what device-group rules match on
	users          map[string][]userMachines
}

// matchKey is what device-group rules read of a machine.
type matchKey struct {
	name string
	os   string
	tags []string
}

// tenantIndex is an immutable, exact picture of one tenant at one version.
type tenantIndex struct {
	version  uint64
	content  *tenantContent
	groupIdx []uint16 // machine i is in rbac.groupIDs[groupIdx[i]]
	rbac     rbacConfig
	frags    [][]byte // the encoded group properties of each group
	groupIDs []int64
}

type userMachines struct {
	domainKey string
	machines  []uint32 // indexes into ids, ascending
}

func newIndex(store openatp.Store, logger *slog.Logger, disabled bool) *index {
	x := &index{store: store, logger: logger, tenants: map[string]*tenantEntry{}, disabled: disabled}
	x.version.check = store.DataVersion
	return x
}

func (x *index) entry(tenantID string) *tenantEntry {
	x.mu.Lock()
	defer x.mu.Unlock()
	e := x.tenants[tenantID]
	if e == nil {
		e = &tenantEntry{}
		x.tenants[tenantID] = e
	}
	return e
}

// lookup returns the tenant index if it is exact for the store's current
// version, or nil (and starts a rebuild) when it is not.
func (x *index) lookup(ctx context.Context, tenantID string) (*tenantIndex, error) {
	if x.disabled {
		return nil, nil
	}
	v, err := x.version.get(ctx)
	if err != nil {
		return nil, err
	}
	e := x.entry(tenantID)
	ti := e.ready.Load()
	if ti != nil && ti.version == v {
		return ti, nil
	}
	if ti != nil {
		e.ready.Store(nil)
	}
	if e.building.CompareAndSwap(false, true) {
		go x.build(tenantID, e)
	}
	return nil, nil
}

func (x *index) build(tenantID string, e *tenantEntry) {
	defer e.building.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	ti, reused, err := buildTenantIndex(ctx, x.store, tenantID, e)
	if err != nil {
		x.logger.Warn("index build failed; answering from the store", "tenant", tenantID, "error", err)
		return
	}
	if ti == nil {
		return // written to while building: the next request retries
	}
	e.ready.Store(ti)
	x.logger.Info("index built", "tenant", tenantID, "machines", len(ti.content.ids), "users", len(ti.content.users),
		"groups_only", reused, "duration", time.Since(start))
}

// buildTenantIndex builds the index of a tenant at the store's current
// version. It returns nil, nil when a write was committed while building.
func buildTenantIndex(ctx context.Context, store openatp.Store, tenantID string, e *tenantEntry) (*tenantIndex, bool, error) {
	v0, err := store.DataVersion(ctx)
	if err != nil {
		return nil, false, err
	}
	cv, err := store.ContentVersion(ctx, tenantID)
	if err != nil {
		return nil, false, err
	}
	rbac, err := loadRBAC(ctx, store, tenantID)
	if err != nil {
		return nil, false, err
	}
	content := e.content.Load()
	reused := content != nil && content.contentVersion == cv
	if !reused {
		e.content.Store(nil) // free the old content before reading the new
		if content, err = buildContent(ctx, store, tenantID, cv); err != nil {
			return nil, false, err
		}
	}
	ti := newTenantIndex(content, rbac)
	v1, err := store.DataVersion(ctx)
	if err != nil {
		return nil, false, err
	}
	if v1 != v0 {
		if !reused {
			e.content.Store(content) // its content version still tells whether it is current
		}
		return nil, false, nil
	}
	ti.version = v0
	e.content.Store(content)
	return ti, reused, nil
}

// newTenantIndex assigns every machine of content to its device group.
func newTenantIndex(c *tenantContent, rbac rbacConfig) *tenantIndex {
	ti := &tenantIndex{content: c, rbac: rbac, groupIdx: make([]uint16, len(c.ids))}
	ti.groupIDs = append(ti.groupIDs, openatp.DefaultGroupID)
	ti.frags = append(ti.frags, appendGroup(nil, openatp.DefaultGroupID, openatp.DefaultGroupName))
	for _, g := range rbac.groups {
		ti.groupIDs = append(ti.groupIDs, g.ID)
		ti.frags = append(ti.frags, appendGroup(nil, g.ID, g.Name))
	}
	groups := rbac.groups
	var m openatp.Machine
	for i := range c.keys {
		k := &c.keys[i]
		m.ComputerDNSName, m.OSPlatform, m.MachineTags = &k.name, &k.os, k.tags
		for gi := range groups {
			if gi+1 > 65535 {
				break
			}
			if groups[gi].Matches(&m) {
				ti.groupIdx[i] = uint16(gi + 1)
				break
			}
		}
	}
	return ti
}

// buildContent reads one Snapshot of the tenant's machines and users.
func buildContent(ctx context.Context, store openatp.Store, tenantID string, cv uint64) (*tenantContent, error) {
	c := &tenantContent{contentVersion: cv, json: &arena{}, users: map[string][]userMachines{}}
	sealed := false
	defer func() {
		if !sealed {
			c.json.discard()
		}
	}()
	interned := map[string]string{}
	intern := func(s string) string {
		if v, ok := interned[s]; ok {
			return v
		}
		if len(interned) < 1<<16 {
			interned[s] = s
		}
		return s
	}
	var (
		buf       []byte
		lastName  string
		lastDom   string
		cur       *userMachines
		unordered bool
	)
	err := store.Snapshot(ctx, tenantID,
		func(m openatp.Machine) error {
			var id [20]byte
			if _, err := hex.Decode(id[:], []byte(m.ID)); err != nil {
				return err
			}
			if n := len(c.ids); n > 0 && string(c.ids[n-1][:]) >= string(id[:]) {
				unordered = true
			}
			c.ids = append(c.ids, id)
			buf = appendMachineHead(buf[:0], &m)
			c.cuts = append(c.cuts, uint32(len(buf)))
			buf = appendMachineTail(buf, &m)
			k := matchKey{}
			if m.ComputerDNSName != nil {
				k.name = *m.ComputerDNSName
			}
			if m.OSPlatform != nil {
				k.os = intern(*m.OSPlatform)
			}
			if len(m.MachineTags) > 0 {
				k.tags = make([]string, len(m.MachineTags))
				for i, t := range m.MachineTags {
					k.tags[i] = intern(t)
				}
			}
			c.keys = append(c.keys, k)
			return c.json.add(buf)
		},
		func(um openatp.UserMachine) error {
			if unordered {
				return nil
			}
			i, ok := c.find(um.MachineID)
			if !ok {
				return nil
			}
			name, dom := openatp.NameKey(um.AccountName), openatp.NameKey(um.AccountDomain)
			if cur == nil || name != lastName || dom != lastDom {
				lastName, lastDom = name, dom
				list := c.users[name]
				list = append(list, userMachines{domainKey: dom})
				c.users[name] = list
				cur = &list[len(list)-1]
			}
			cur.machines = append(cur.machines, i)
			return nil
		})
	if err != nil {
		return nil, err
	}
	if unordered {
		return nil, openatp.Errorf(openatp.Internal, "store snapshot is not ordered by machine id")
	}
	for _, list := range c.users {
		for i := range list {
			slices.Sort(list[i].machines)
			list[i].machines = slices.Compact(list[i].machines)
		}
	}
	c.json.seal()
	sealed = true
	return c, nil
}

func (c *tenantContent) find(hexID string) (uint32, bool) {
	var id [20]byte
	if len(hexID) != 40 {
		return 0, false
	}
	if _, err := hex.Decode(id[:], []byte(hexID)); err != nil {
		return 0, false
	}
	i, ok := slices.BinarySearchFunc(c.ids, id, func(a, b [20]byte) int {
		return compareBytes(a[:], b[:])
	})
	return uint32(i), ok
}

func compareBytes(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// userMachines returns the indexes of u's machines in ascending id order,
// and whether the user exists.
func (ti *tenantIndex) userMachines(u openatp.UserRef, scratch []uint32) ([]uint32, bool) {
	list := ti.content.users[openatp.NameKey(u.Name)]
	if u.Domain != "" {
		dom := openatp.NameKey(u.Domain)
		for i := range list {
			if list[i].domainKey == dom {
				return list[i].machines, true
			}
		}
		return nil, false
	}
	switch len(list) {
	case 0:
		return nil, false
	case 1:
		return list[0].machines, true
	}
	out := scratch[:0]
	for i := range list {
		out = append(out, list[i].machines...)
	}
	slices.Sort(out)
	return slices.Compact(out), true
}

// machineParts returns the JSON of machine i around its group properties,
// and those properties; valid while ti is reachable (see arena.get).
func (ti *tenantIndex) machineParts(i uint32) (head, group, tail []byte) {
	b := ti.content.json.get(i)
	cut := ti.content.cuts[i]
	return b[:cut], ti.frags[ti.groupIdx[i]], b[cut:]
}

// groupID returns the device group id of machine i.
func (ti *tenantIndex) groupID(i uint32) int64 { return ti.groupIDs[ti.groupIdx[i]] }
