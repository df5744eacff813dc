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
// tenant, every machine's JSON (already encoded, in one arena) and each
// user's sorted machine list, built from one consistent Snapshot of the
// store. It is exact, never stale: every request first asks the store for
// its DataVersion (a cheap counter that changes on any committed write, by
// any process); when it differs from the version a tenant index was built
// at, the request is answered by the store directly and a rebuild starts in
// the background.
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
	building atomic.Bool
}

// tenantIndex is an immutable, exact picture of one tenant at one version.
type tenantIndex struct {
	version uint64
	ids     [][20]byte                // machine ids, sorted
	groupOf []int64                   // device group id of machine i
	json    arena                     // JSON of machine i is json.get(i)
	rbac    rbacConfig                // roles and device groups
	users   map[string][]userMachines // NameKey(account name) → one entry per domain
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
		e.ready.Store(nil) // free the stale copy before building the next
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
	ti, err := buildTenantIndex(ctx, x.store, tenantID)
	if err != nil {
		x.logger.Warn("index build failed; answering from the store", "tenant", tenantID, "error", err)
		return
	}
	if ti == nil {
		return // written to while building: the next request retries
	}
	e.ready.Store(ti)
	x.logger.Info("index built", "tenant", tenantID, "machines", len(ti.ids), "users", len(ti.users), "duration", time.Since(start))
}

// buildTenantIndex reads one Snapshot. It returns nil, nil when a write was
// committed while reading, since the result could then mix two versions of
// the data version counter's meaning.
func buildTenantIndex(ctx context.Context, store openatp.Store, tenantID string) (*tenantIndex, error) {
	v0, err := store.DataVersion(ctx)
	if err != nil {
		return nil, err
	}
	ti := &tenantIndex{version: v0, users: map[string][]userMachines{}}
	if ti.rbac, err = loadRBAC(ctx, store, tenantID); err != nil {
		return nil, err
	}
	sealed := false
	defer func() {
		if !sealed {
			ti.json.discard()
		}
	}()
	var (
		buf       []byte
		lastName  string
		lastDom   string
		cur       *userMachines
		unordered bool
	)
	err = store.Snapshot(ctx, tenantID,
		func(m openatp.Machine) error {
			var id [20]byte
			if _, err := hex.Decode(id[:], []byte(m.ID)); err != nil {
				return err
			}
			if n := len(ti.ids); n > 0 && string(ti.ids[n-1][:]) >= string(id[:]) {
				unordered = true
			}
			ti.ids = append(ti.ids, id)
			ti.groupOf = append(ti.groupOf, m.RBACGroupID)
			buf = appendMachine(buf[:0], &m)
			return ti.json.add(buf)
		},
		func(um openatp.UserMachine) error {
			if unordered {
				return nil
			}
			i, ok := ti.find(um.MachineID)
			if !ok {
				return nil
			}
			name, dom := openatp.NameKey(um.AccountName), openatp.NameKey(um.AccountDomain)
			if cur == nil || name != lastName || dom != lastDom {
				lastName, lastDom = name, dom
				list := ti.users[name]
				list = append(list, userMachines{domainKey: dom})
				ti.users[name] = list
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
	for _, list := range ti.users {
		for i := range list {
			slices.Sort(list[i].machines)
			list[i].machines = slices.Compact(list[i].machines)
		}
	}
	v1, err := store.DataVersion(ctx)
	if err != nil {
		return nil, err
	}
	if v1 != v0 {
		return nil, nil
	}
	ti.json.seal(ti)
	sealed = true
	return ti, nil
}

func (ti *tenantIndex) find(hexID string) (uint32, bool) {
	var id [20]byte
	if len(hexID) != 40 {
		return 0, false
	}
	if _, err := hex.Decode(id[:], []byte(hexID)); err != nil {
		return 0, false
	}
	i, ok := slices.BinarySearchFunc(ti.ids, id, func(a, b [20]byte) int {
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
	list := ti.users[openatp.NameKey(u.Name)]
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

// machineJSON returns the JSON of machine i; it is valid while ti is
// reachable (see arena.get).
func (ti *tenantIndex) machineJSON(i uint32) []byte { return ti.json.get(i) }
