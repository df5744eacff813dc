package readmodel

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/sqlite"
)

// After a write and Refresh, the tenant's current view is already exact
// for the store's data version (its next reader syncs nothing), and
// answers with the write; a tenant without a view is not built by it.
func TestRefreshBringsTheViewUpToDate(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	tn, _ := openatp.NewTenant("contoso", time.Now())
	other, _ := openatp.NewTenant("fabrikam", time.Now())
	mustDo(t, store.CreateTenant(ctx, tn))
	mustDo(t, store.CreateTenant(ctx, other))
	m := openatp.Machine{ID: "00000000000000000000000000000000000000a1", ComputerDNSName: openatp.Ptr("a1.contoso.com"),
		MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}}
	mustDo(t, store.UpsertMachines(ctx, tn.ID, []openatp.Machine{m}))

	model := New(store, Options{})
	defer model.Close()
	mustDo(t, model.Warm(ctx, tn.ID))
	mustDo(t, store.AddLogons(ctx, tn.ID, []openatp.Logon{{MachineID: m.ID, AccountName: "u", AccountDomain: "d", Timestamp: time.Now()}}))
	mustDo(t, model.Refresh(ctx, tn.ID))
	dv, err := store.DataVersion(ctx)
	mustDo(t, err)
	v := model.tenant(tn.ID).retainCurrent()
	if v == nil || !v.exact || v.dataVersion != dv {
		t.Fatalf("after Refresh the view is %+v, want exact at data version %d", v, dv)
	}
	defer v.Release()
	if ss, ok := v.UserMachines(openatp.UserRef{Name: "u", Domain: "d"}, nil); !ok || len(ss) != 1 {
		t.Fatalf("the refreshed view does not have the logon: %v %v", ss, ok)
	}

	mustDo(t, model.Refresh(ctx, other.ID))
	if _, ok := model.tenants.Load(other.ID); ok {
		t.Error("Refresh of a tenant nobody read made it a view")
	}
}
