package keeper_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/readmodel"
	"github.com/openatp/openatp/readmodel/checkpoint"
	"github.com/openatp/openatp/readmodel/keeper"
	"github.com/openatp/openatp/sqlite"
	"go.uber.org/goleak"
)

// The keeper's writer goroutine ends with Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func machine(id, name string) openatp.Machine {
	return openatp.Machine{ID: id, ComputerDNSName: &name, MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}}
}

// The keeper writes a tenant's checkpoint every interval while its
// content moves, once more at Close, and loads it into the next model.
func TestKeeperWritesAndLoads(t *testing.T) {
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "openatp.db"))
	must(t, err)
	defer store.Close()
	tn, err := openatp.NewTenant("contoso", time.Now())
	must(t, err)
	must(t, store.CreateTenant(ctx, tn))
	must(t, store.UpsertMachines(ctx, tn.ID, []openatp.Machine{machine("0100000000000000000000000000000000000001", "one")}))
	dir := filepath.Join(t.TempDir(), "checkpoints")
	model := readmodel.New(store, readmodel.Options{})
	defer model.Close()
	k, err := keeper.Start(ctx, keeper.Config{Dir: dir, Interval: 10 * time.Millisecond, Model: model, Store: store})
	must(t, err)
	must(t, model.Warm(ctx, tn.ID))
	version := func() uint64 {
		f, err := checkpoint.Open(keeper.File(dir, tn.ID))
		if err != nil {
			return 0
		}
		defer f.Close()
		return f.ContentVersion
	}
	waitFor := func(want uint64) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); version() != want; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the checkpoint holds content version %d, want %d", version(), want)
			}
		}
	}
	cv, err := store.ContentVersion(ctx, tn.ID)
	must(t, err)
	waitFor(cv)

	must(t, store.UpsertMachines(ctx, tn.ID, []openatp.Machine{machine("0200000000000000000000000000000000000002", "two")}))
	must(t, model.Refresh(ctx, tn.ID))
	cv, err = store.ContentVersion(ctx, tn.ID)
	must(t, err)
	waitFor(cv)

	// At Close: a write the interval did not see yet.
	must(t, store.UpsertMachines(ctx, tn.ID, []openatp.Machine{machine("0300000000000000000000000000000000000003", "three")}))
	must(t, model.Refresh(ctx, tn.ID))
	must(t, k.Close())
	cv, err = store.ContentVersion(ctx, tn.ID)
	must(t, err)
	if v := version(); v != cv {
		t.Errorf("after Close the checkpoint holds content version %d, want %d", v, cv)
	}
	model.Close()

	next := readmodel.New(store, readmodel.Options{})
	defer next.Close()
	k, err = keeper.Start(ctx, keeper.Config{Dir: dir, Interval: time.Hour, Model: next, Store: store})
	must(t, err)
	defer k.Close()
	k.Load(ctx)
	v, err := next.View(ctx, tn.ID) // no build: the view is the checkpoint's
	must(t, err)
	if v == nil {
		t.Fatal("no view after Load: the checkpoint was not loaded")
	}
	defer v.Release()
	if v.Machines() != 3 {
		t.Errorf("the loaded view has %d machines, want 3", v.Machines())
	}
}
