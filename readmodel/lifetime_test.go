package readmodel

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/sqlite"
)

// A view keeps its arena mapped while held, after the model has moved on
// to a rebuilt one, and the last release unmaps it: no mapped memory is
// left to the garbage collector, and none is freed under a reader.
func TestArenaLifetime(t *testing.T) {
	ctx := context.Background()
	store, tn, m := oneMachineTenant(t)
	mustDo(t, store.AddLogons(ctx, tn.ID, []openatp.Logon{{MachineID: m.ID, AccountName: "u", AccountDomain: "d", Timestamp: time.Now()}}))

	model := newModel(t, store, Options{})
	defer model.Close()
	mustDo(t, model.Warm(ctx, tn.ID))
	old, err := model.View(ctx, tn.ID)
	if err != nil || old == nil {
		t.Fatalf("View = %v, %v", old, err)
	}
	want := string(old.AppendMachine(nil, 0))

	// A reset needs a rebuild: the model publishes a view on a new arena
	// and drops its reference to the old view.
	mustDo(t, store.ResetTenant(ctx, tn.ID))
	mustDo(t, store.UpsertMachines(ctx, tn.ID, []openatp.Machine{m}))
	mustDo(t, model.Warm(ctx, tn.ID))
	cur, _ := model.View(ctx, tn.ID)
	if cur == nil || cur.c.arena == old.c.arena {
		t.Fatal("the reset did not give a view on a new arena")
	}
	cur.Release()
	runtime.GC()
	if got := string(old.AppendMachine(nil, 0)); got != want || old.c.arena.chunks.Load() == nil {
		t.Fatalf("a held view lost its memory: %q, want %q", got, want)
	}
	a := old.c.arena
	old.Release()
	if a.refs.N() != 0 || a.chunks.Load() != nil {
		t.Errorf("after the last release the arena has %d references and chunks mapped", a.refs.N())
	}
	// The current view still holds the model's reference to its arena.
	if cur.c.arena.refs.N() != 1 || cur.c.arena.chunks.Load() == nil {
		t.Errorf("the current arena has %d references", cur.c.arena.refs.N())
	}
	model.Close()
	if cur.c.arena.refs.N() != 0 || cur.c.arena.chunks.Load() != nil {
		t.Errorf("after Close the current arena has %d references", cur.c.arena.refs.N())
	}
}

// oneMachineTenant is a store (closed by the test's cleanup) with tenant
// contoso and its one machine.
func oneMachineTenant(t *testing.T) (*sqlite.DB, openatp.Tenant, openatp.Machine) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	tn, _ := openatp.NewTenant("contoso", time.Now())
	mustDo(t, store.CreateTenant(ctx, tn))
	m := openatp.Machine{ID: "00000000000000000000000000000000000000a1", ComputerDNSName: openatp.Ptr("a1.contoso.com"),
		MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}}
	mustDo(t, store.UpsertMachines(ctx, tn.ID, []openatp.Machine{m}))
	return store, tn, m
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Beyond the memory budget the least recently read tenant is evicted (its
// memory unmapped once no reader holds it) and rebuilt when read again.
func TestEvictionUnderBudget(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var tenants []openatp.Tenant
	for _, name := range []string{"a.example", "b.example"} {
		tn, _ := openatp.NewTenant(name, time.Now())
		mustDo(t, store.CreateTenant(ctx, tn))
		ms := make([]openatp.Machine, 200)
		for i := range ms {
			ms[i] = openatp.Machine{ID: fmt.Sprintf("%040x", i+1), ComputerDNSName: openatp.Ptr(fmt.Sprintf("m%d.%s", i, name)),
				MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}}
		}
		mustDo(t, store.UpsertMachines(ctx, tn.ID, ms))
		tenants = append(tenants, tn)
	}
	model := newModel(t, store, Options{MemoryBudget: 1}) // room for one tenant at most
	defer model.Close()
	view := func(tn openatp.Tenant) *View {
		t.Helper()
		mustDo(t, model.Warm(ctx, tn.ID))
		v, err := model.View(ctx, tn.ID)
		if err != nil || v == nil {
			t.Fatalf("View(%s) = %v, %v", tn.Name, v, err)
		}
		return v
	}
	a := view(tenants[0])
	arenaA := a.c.arena
	a.Release()
	b := view(tenants[1]) // builds b, evicts a
	b.Release()
	if model.tenant(tenants[0].ID).cur.Load() != nil {
		t.Fatal("tenant a was not evicted")
	}
	if arenaA.refs.N() != 0 || arenaA.chunks.Load() != nil {
		t.Errorf("the evicted tenant's arena has %d references", arenaA.refs.N())
	}
	a = view(tenants[0]) // rebuilt on demand, exact
	defer a.Release()
	if s, ok := a.Machine("M5.A.EXAMPLE"); !ok || a.MachineID(s) != fmt.Sprintf("%040x", 6) {
		t.Errorf("tenant a after its rebuild: machine m5 not found")
	}
	if model.tenant(tenants[1].ID).cur.Load() != nil {
		t.Error("tenant b was not evicted in its turn")
	}
}
