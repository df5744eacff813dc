package storetest

// What every case of the suite uses: the suite, the context and times of
// its calls, and the helpers that write fixtures and compare results.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/openatp/openatp"
)

// suite is what every case of the suite is given: how to open a store,
// and what the options added.
type suite struct {
	open          func(t *testing.T) openatp.Store
	reopen        func(t *testing.T, s openatp.Store) openatp.Store
	previousWrite func(t *testing.T, s openatp.Store)
	ipRows        func(t *testing.T, s openatp.Store) int
}

// ctx is the context of every call (testCanceled cancels its own).
var ctx = context.Background()

// t0 is a time with 100 ns precision, the precision openatp keeps.
var t0 = time.Date(2024, 5, 6, 7, 8, 9, 123456700, time.UTC)

// at returns t0 plus n hours.
func at(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }

// tenantID returns the id of the n-th test tenant.
func tenantID(n int) string { return fmt.Sprintf("%08x-0000-4000-8000-000000000000", n) }

// machineID returns a machine id; ids of larger n sort later.
func machineID(n int) string { return fmt.Sprintf("%040x", n) }

// mustTenant creates tenant n, named name.
func mustTenant(t *testing.T, s openatp.Store, n int, name string) string {
	t.Helper()
	id := tenantID(n)
	if err := s.CreateTenant(ctx, openatp.Tenant{ID: id, Name: name, Created: t0}); err != nil {
		t.Fatalf("CreateTenant(%s): %v", name, err)
	}
	return id
}

// mustMachines upserts machines with the given ids, named host<n>.<domain>.
func mustMachines(t *testing.T, s openatp.Store, tenant string, ids ...int) {
	t.Helper()
	var ms []openatp.Machine
	for _, n := range ids {
		ms = append(ms, openatp.Machine{ID: machineID(n), ComputerDNSName: openatp.Ptr(fmt.Sprintf("host%d.contoso.com", n))})
	}
	mustUpsert(t, s, tenant, ms...)
}

func mustUpsert(t *testing.T, s openatp.Store, tenant string, ms ...openatp.Machine) {
	t.Helper()
	for i := range ms {
		if err := ms[i].Normalize(); err != nil {
			t.Fatalf("Normalize(%s): %v", ms[i].ID, err)
		}
	}
	if err := s.UpsertMachines(ctx, tenant, ms); err != nil {
		t.Fatalf("UpsertMachines: %v", err)
	}
}

// logon returns a logon event of domain\name on machine n at hour h.
func logon(domain, name string, n, h int, typ string) openatp.Logon {
	return openatp.Logon{MachineID: machineID(n), AccountName: name, AccountDomain: domain, AccountSID: "S-1-5-21-" + name, LogonType: typ, Timestamp: at(h)}
}

func mustLogons(t *testing.T, s openatp.Store, tenant string, ls ...openatp.Logon) {
	t.Helper()
	if err := s.AddLogons(ctx, tenant, ls); err != nil {
		t.Fatalf("AddLogons: %v", err)
	}
}

// wantKind fails t unless err is an *openatp.Error of kind k.
func wantKind(t *testing.T, err error, k openatp.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", k)
	}
	if got := openatp.KindOf(err); got != k {
		t.Fatalf("got error %q of kind %v, want %v", err, got, k)
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// diff fails t if want and got differ.
func diff(t *testing.T, what string, want, got any, opts ...cmp.Option) {
	t.Helper()
	if d := cmp.Diff(want, got, opts...); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// machineIDs returns the ids of the machines the store returns for u.
func userMachineIDs(t *testing.T, s openatp.Store, tenant string, u openatp.UserRef) []string {
	t.Helper()
	ms, err := s.UserMachines(ctx, tenant, u)
	if err != nil {
		t.Fatalf("UserMachines(%+v): %v", u, err)
	}
	return ids(ms)
}

func ids(ms []openatp.Machine) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

func machineIDs(ns ...int) []string {
	var ids []string
	for _, n := range ns {
		ids = append(ids, machineID(n))
	}
	return ids
}

// snapshot reads a whole tenant.
func snapshot(t *testing.T, s openatp.Store, tenant string) ([]openatp.Machine, []openatp.UserMachine) {
	t.Helper()
	var ms []openatp.Machine
	var rs []openatp.UserMachine
	err := s.Snapshot(ctx, tenant,
		func(m openatp.Machine) error { ms = append(ms, m); return nil },
		func(r openatp.UserMachine) error { rs = append(rs, r); return nil })
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return ms, rs
}

// equateEmpty treats nil and empty slices alike where the contract leaves
// the choice to the engine (apps' permissions, relations' logon types,
// groups' rules).
var equateEmpty = cmpopts.EquateEmpty()

func contains(t *testing.T, err error, part string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), part) {
		t.Errorf("error %q does not contain %q", err, part)
	}
}
