// Package readmodel is openatp's in-memory read model: per tenant, every
// machine's JSON (encoded once, off the Go heap), the users and their
// machines, each machine's device group, and the alerts with their
// indexes (by id, machine, user and lastUpdateTime), so that reads cost
// about as much as serving a fixed body. It has no HTTP in it.
//
// The model is exact, never stale. A read first learns the store's
// DataVersion (one check shared by the reads that arrive while it runs,
// see versionGate); when the tenant's view was made at another version,
// the read brings the view up to date before it answers: it reads the
// tenant's ContentVersion and RBAC, and applies the store's change feed
// (openatp.ChangeStore) to a copy of the view, sharing everything that did
// not change. A write to one tenant costs the others one ContentVersion
// read. Only when the feed cannot answer (a reset, a bulk import, a view
// too far behind) is the tenant rebuilt from a Snapshot, in the
// background, while reads of that tenant are answered by the store.
//
// Lifetimes are explicit. The Model owns its builds (Close cancels and
// waits for them) and the views it publishes; a reader holds a view by
// reference until it calls Release, and a view's off-heap memory is
// unmapped when the last view using it is released. Idle tenants are
// evicted when the views exceed the memory budget.
package readmodel

import (
	"context"
	"errors"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/lifetime"
)

// Options tune a Model.
type Options struct {
	// MemoryBudget bounds the estimated memory of all tenants' views;
	// beyond it the least recently used tenants are evicted (and rebuilt
	// on their next read). 0 means DefaultMemoryBudget.
	MemoryBudget int64
	// MaxDelta is the most changed machines and relations a read applies
	// from the feed; more start a rebuild. 0 means 50,000.
	MaxDelta int
	// Disabled makes every read go to the store (tests of the SQL path).
	Disabled bool
	// StaleReads, when positive, lets a read that finds the store failing
	// (unreachable, or failing to read: not a NotFound, Invalid or
	// Conflict answer) be answered from the tenant's view as it is, for
	// at most this long after the last read that confirmed a view against
	// the store. 0: such reads fail with the store's error.
	StaleReads time.Duration
	// Now is the clock of StaleReads; nil means time.Now (tests set it).
	Now    func() time.Time
	Logger *slog.Logger
}

// DefaultMemoryBudget is the memory budget of a Model without one.
const DefaultMemoryBudget = 3 << 30

// Model is the read model of every tenant of a store.
type Model struct {
	store openatp.Store
	opts  Options
	log   *slog.Logger
	gate  versionGate

	builds *lifetime.Group // Close stops them and waits
	views  atomic.Int64    // made and not yet released by every holder

	stale stale // reads answered while the store fails (Options.StaleReads)

	mu      sync.Mutex // guards closed
	tenants sync.Map   // tenant id → *tenant; read on every request
	closed  bool
}

type tenant struct {
	id       string
	cur      atomic.Pointer[View] // holds one reference of the model
	used     atomic.Int64         // when last read (Unix seconds), for eviction
	syncMu   sync.Mutex           // one sync (or publish) at a time
	building atomic.Bool
}

// New returns a model of store. Close stops it.
func New(store openatp.Store, opts Options) *Model {
	if opts.MemoryBudget <= 0 {
		opts.MemoryBudget = DefaultMemoryBudget
	}
	if opts.MaxDelta <= 0 {
		opts.MaxDelta = 50_000
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := &Model{store: store, opts: opts, log: opts.Logger}
	m.gate.check = store.DataVersion
	m.builds = lifetime.New(context.Background())
	return m
}

// Close stops the model: it cancels running builds, waits for them, and
// drops the model's references to every view (readers keep theirs until
// they release them).
func (m *Model) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	_ = m.builds.Close() // a build logs its failure and returns nil
	for _, t := range m.all() {
		t.syncMu.Lock()
		if v := t.cur.Swap(nil); v != nil {
			v.Release()
		}
		t.syncMu.Unlock()
	}
	return nil
}

// all returns every tenant. Lock order: a tenant's syncMu is never taken
// while m.mu is held.
func (m *Model) all() []*tenant {
	var ts []*tenant
	m.tenants.Range(func(_, v any) bool { ts = append(ts, v.(*tenant)); return true })
	return ts
}

func (m *Model) tenant(id string) *tenant {
	if t, ok := m.tenants.Load(id); ok {
		return t.(*tenant)
	}
	t, _ := m.tenants.LoadOrStore(id, &tenant{id: id})
	return t.(*tenant)
}

// touch records a read of t; at most once a second, so that concurrent
// reads do not all write one cache line.
func (t *tenant) touch() {
	if now := time.Now().Unix(); t.used.Load() != now {
		t.used.Store(now)
	}
}

// View returns the tenant's view, exact for every write acknowledged
// before the call, retained: the caller must Release it. It returns nil
// and no error when the model cannot answer now (the tenant is being
// built, or the model is disabled or closed): the caller asks the store.
func (m *Model) View(ctx context.Context, tenantID string) (*View, error) {
	if m.opts.Disabled {
		return nil, nil
	}
	t := m.tenant(tenantID)
	dv, err := m.gate.get(ctx)
	if err != nil {
		return m.staleView(ctx, t, err)
	}
	t.touch()
	if v := t.retainCurrent(); v != nil {
		if v.exact && v.dataVersion == dv {
			m.confirmed()
			return v, nil
		}
		v.Release()
	}
	v, err := m.sync(ctx, t, dv)
	if err != nil {
		return m.staleView(ctx, t, err)
	}
	if v != nil {
		m.confirmed()
	}
	return v, nil
}

// Refresh brings the tenant's view, if it has one, up to every write
// acknowledged before the call. A writer in this process calls it after
// its write and before its acknowledgement: the readers that follow find
// the view current, instead of the first of them applying the delta while
// the others wait for it. A tenant without a view is left alone (its next
// read builds one).
func (m *Model) Refresh(ctx context.Context, tenantID string) error {
	if m.opts.Disabled {
		return nil
	}
	found, ok := m.tenants.Load(tenantID)
	if !ok {
		return nil
	}
	t := found.(*tenant)
	v := t.retainCurrent()
	if v == nil {
		return nil
	}
	v.Release()
	dv, err := m.gate.get(ctx)
	if err != nil {
		return err
	}
	if v, err = m.sync(ctx, t, dv); v != nil {
		v.Release()
	}
	return err
}

// retainCurrent returns the current view, retained, or nil.
func (t *tenant) retainCurrent() *View {
	for {
		v := t.cur.Load()
		if v == nil {
			return nil
		}
		if v.tryRetain() {
			return v
		}
		// Released between the load and the retain: a newer one is in.
	}
}

// publish makes v the tenant's current view, taking over the creator's
// reference. Called with syncMu held.
func (t *tenant) publish(v *View) {
	if old := t.cur.Swap(v); old != nil {
		old.Release()
	}
}

// sync brings the tenant's view up to the store's state, at least as
// recent as data version dv, and returns it retained; nil when only a
// rebuild can, which it starts.
func (m *Model) sync(ctx context.Context, t *tenant, dv uint64) (*View, error) {
	t.syncMu.Lock()
	defer t.syncMu.Unlock()
	cur := t.retainCurrent()
	if cur != nil {
		defer cur.Release()
		if cur.exact && cur.dataVersion == dv { // another read synced meanwhile
			cur.tryRetain()
			return cur, nil
		}
	}
	if cur == nil {
		m.startBuild(t)
		return nil, nil
	}
	start := time.Now()
	// Read the version first: what follows is at least as recent.
	v0, err := m.store.DataVersion(ctx)
	if err != nil {
		return nil, err
	}
	rbac, err := LoadRBAC(ctx, m.store, t.id)
	if err != nil {
		return nil, m.storeErr(err, t)
	}
	ch, err := m.store.Changes(ctx, t.id, cur.c.version, m.opts.MaxDelta)
	if err != nil {
		return nil, m.storeErr(err, t)
	}
	read := time.Since(start)
	if ch.Rebuild {
		m.startBuild(t)
		return nil, nil
	}
	c, changed := cur.c, []uint32(nil)
	if ch.Version != cur.c.version {
		if c, changed, err = cur.c.apply(&ch); err != nil {
			m.log.Warn("index delta failed; rebuilding", "tenant", t.id, "error", err)
			m.startBuild(t)
			return nil, nil
		}
	}
	var group pages[uint16]
	regroup := "changed"
	if rbac.same(cur.rbac) {
		rbac = cur.rbac // keep its cache of resolved access
		group = assignGroups(c, rbac, &cur.group, changed)
	} else {
		regroup = "all"
		group = assignGroups(c, rbac, nil, nil)
	}
	m.log.Debug("index synced", "tenant", t.id, "machines", len(ch.Machines), "deleted", len(ch.Deleted),
		"relations", len(ch.Relations), "regroup", regroup, "read", read, "duration", time.Since(start))
	v := newView(c, rbac, v0, group, &m.views)
	v.exact = true
	v.epoch = cur.epoch
	if rbac != cur.rbac {
		v.epoch = epochs.Add(1)
	}
	v.tryRetain() // the caller's
	t.publish(v)
	if c.garbage+c.alerts.garbage > max(64<<20, c.arena.bytes.Load()/2) {
		m.startBuild(t) // compact: the arena is mostly replaced JSON
	}
	return v, nil
}

// storeErr passes on a store error; a tenant that no longer exists drops
// its view.
func (m *Model) storeErr(err error, t *tenant) error {
	if openatp.IsKind(err, openatp.NotFound) {
		if v := t.cur.Swap(nil); v != nil {
			v.Release()
		}
	}
	return err
}

// startBuild starts a full build of the tenant unless one runs.
func (m *Model) startBuild(t *tenant) {
	if !t.building.CompareAndSwap(false, true) {
		return
	}
	started := m.builds.Go(func(ctx context.Context) error {
		defer t.building.Store(false)
		m.build(ctx, t)
		return nil
	})
	if !started { // closed
		t.building.Store(false)
	}
}

// build reads the tenant from a Snapshot and publishes it. The view it
// publishes is marked as exact for no data version: the next read applies
// the changes since the build's content version first. ctx is the
// model's: Close cancels it.
func (m *Model) build(ctx context.Context, t *tenant) {
	start := time.Now()
	c, err := buildContent(ctx, m.store, t.id)
	var rbac *RBAC
	if err == nil {
		rbac, err = LoadRBAC(ctx, m.store, t.id)
		if err != nil {
			c.arena.release()
		}
	}
	if err != nil {
		if !errors.Is(err, context.Canceled) && ctx.Err() == nil {
			m.log.Warn("index build failed; answering from the store", "tenant", t.id, "error", err)
		}
		return
	}
	// Not exact until a read syncs it; the view holds its own reference to
	// the arena, and the builder drops its.
	v := newView(c, rbac, 0, assignGroups(c, rbac, nil, nil), &m.views)
	v.epoch = epochs.Add(1)
	c.arena.release()
	t.syncMu.Lock()
	t.publish(v)
	t.syncMu.Unlock()
	m.log.Info("index built", "tenant", t.id, "machines", len(c.order), "users", v.Users(), "duration", time.Since(start),
		"bytes", c.memory())
	m.evict(t)
	if c.memory() > 64<<20 {
		// A large build leaves hundreds of megabytes of garbage (rows
		// read, buffers grown); give it back now rather than over the
		// minutes the scavenger would take.
		debug.FreeOSMemory()
	}
}

// evict drops the views of the least recently read tenants, but keep,
// while the estimated memory of all views exceeds the budget.
func (m *Model) evict(keep *tenant) {
	type use struct {
		t    *tenant
		used int64
		mem  int64
	}
	var all []use
	var total int64
	for _, t := range m.all() {
		if v := t.cur.Load(); v != nil {
			mem := v.c.memory()
			total += mem
			all = append(all, use{t, t.used.Load(), mem})
		}
	}
	slices.SortFunc(all, func(a, b use) int { return int(a.used - b.used) })
	for _, u := range all {
		if total <= m.opts.MemoryBudget {
			return
		}
		if u.t == keep {
			continue
		}
		u.t.syncMu.Lock()
		if v := u.t.cur.Swap(nil); v != nil {
			v.Release()
		}
		u.t.syncMu.Unlock()
		total -= u.mem
		m.log.Info("index evicted", "tenant", u.t.id, "bytes", u.mem)
	}
}

// LiveViews returns the number of views the model made that are not yet
// released by every holder: the tenants' current views until Close, and
// those readers hold. Once the model is closed and every reader released
// its views, it is 0; tests check that none is left held.
func (m *Model) LiveViews() int64 { return m.views.Load() }

// DataVersion is the store's data version, its checks shared with the
// model's reads: a number no older than the call (see store.DataVersion).
func (m *Model) DataVersion(ctx context.Context) (uint64, error) { return m.gate.get(ctx) }

// Disabled reports whether the model answers nothing (Options.Disabled).
func (m *Model) Disabled() bool { return m.opts.Disabled }

// Warm builds the tenant's view now rather than on its first read, and
// waits for it (or ctx). While the store keeps changing or cannot be
// read, it retries with growing pauses.
func (m *Model) Warm(ctx context.Context, tenantID string) error {
	pause := 20 * time.Millisecond
	for {
		v, err := m.View(ctx, tenantID)
		if v != nil {
			v.Release()
			return nil
		}
		if err != nil || m.opts.Disabled {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(pause*5/4, time.Second)
	}
}
