package readmodel

import (
	"context"
	"testing"
	"time"

	"github.com/openatp/openatp"
)

// After a write and Refresh, the tenant's current view is already exact
// for the store's data version (its next reader syncs nothing), and
// answers with the write; a tenant without a view is not built by it.
func TestRefreshBringsTheViewUpToDate(t *testing.T) {
	ctx := context.Background()
	store, tn, m := oneMachineTenant(t)
	other, _ := openatp.NewTenant("fabrikam", time.Now())
	mustDo(t, store.CreateTenant(ctx, other))

	model := newModel(t, store, Options{})
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
