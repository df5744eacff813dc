// Package storetest is the conformance suite of openatp.Store: every
// storage engine runs it unchanged, so that all of them behave alike,
// including where SQL engines differ (ordering, case folding, time
// precision).
//
// An engine's test calls Run with a function that opens a new, empty store:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) openatp.Store { ... }, storetest.WithReopen(...))
//	}
package storetest

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

// Option changes how Run tests a store.
type Option func(*suite)

// WithReopen gives Run a way to open a second store on the data of s, as
// another process or replica would; the suite then checks that writes
// through one are seen by the other, DataVersion included. The second store
// is closed by reopen's caller through t.Cleanup, which reopen must
// register.
func WithReopen(reopen func(t *testing.T, s openatp.Store) openatp.Store) Option {
	return func(s *suite) { s.reopen = reopen }
}

// WithPreviousVersionWrite gives Run a way to make, on the data of s, the
// mark every write of a process of the previous version leaves (it bumps
// the global content counter of the schema before per-tenant content
// versions): during an upgrade such writes must still change every
// tenant's ContentVersion.
func WithPreviousVersionWrite(write func(t *testing.T, s openatp.Store)) Option {
	return func(s *suite) { s.previousWrite = write }
}

// WithIPHistoryRows gives Run a way to count the rows of the IP history
// of s, the engine's own table: the suite then checks that writing a
// machine again, by any kind of machine write, adds no row.
func WithIPHistoryRows(rows func(t *testing.T, s openatp.Store) int) Option {
	return func(s *suite) { s.ipRows = rows }
}

type suite struct {
	open          func(t *testing.T) openatp.Store
	reopen        func(t *testing.T, s openatp.Store) openatp.Store
	previousWrite func(t *testing.T, s openatp.Store)
	ipRows        func(t *testing.T, s openatp.Store) int
}

// Run runs the suite. open must return a new, empty store for each call
// (subtests run in parallel) and close it through t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) openatp.Store, opts ...Option) {
	s := &suite{open: open}
	for _, o := range opts {
		o(s)
	}
	tests := []struct {
		name string
		f    func(t *testing.T, s *suite)
	}{
		{"Tenants", testTenants},
		{"Apps", testApps},
		{"MachineRoundTrip", testMachineRoundTrip},
		{"UpsertMachines", testUpsertMachines},
		{"AddLogons", testAddLogons},
		{"AddLogonsAllOrNothing", testAddLogonsAllOrNothing},
		{"UserMachines", testUserMachines},
		{"TenantIsolation", testTenantIsolation},
		{"Groups", testGroups},
		{"GroupAssignment", testGroupAssignment},
		{"Snapshot", testSnapshot},
		{"ResetTenant", testResetTenant},
		{"DataVersion", testDataVersion},
		{"SigningKeys", testSigningKeys},
		{"Settings", testSettings},
		{"EngineDifferences", testEngineDifferences},
		{"WriteBatch", testWriteBatch},
		{"DeleteMachine", testDeleteMachine},
		{"TenantStats", testTenantStats},
		{"RBAC", testRBAC},
		{"GroupManagement", testGroupManagement},
		{"ContentVersion", testContentVersion},
		{"Changes", testChanges},
		{"ScanTenant", testScanTenant},
		{"UpdateMachines", testUpdateMachines},
		{"IPHistoryNotRepeated", testIPHistoryNotRepeated},
		{"MachineUsers", testMachineUsers},
		{"UpdateMachine", testUpdateMachine},
		{"MachinesByIP", testMachinesByIP},
		{"AlertRoundTrip", testAlertRoundTrip},
		{"UpsertAlerts", testUpsertAlerts},
		{"AlertClock", testAlertClock},
		{"UpdateAlerts", testUpdateAlerts},
		{"CreateAlert", testCreateAlert},
		{"AlertChanges", testAlertChanges},
		{"UserRelations", testUserRelations},
		{"ActionRoundTrip", testActionRoundTrip},
		{"ActionBusy", testActionBusy},
		{"ActionCancel", testActionCancel},
		{"ActionClock", testActionClock},
		{"ActionFilter", testActionFilter},
		{"ActionTenantIsolation", testActionTenantIsolation},
		{"Library", testLibrary},
		{"Investigations", testInvestigations},
		{"Canceled", testCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.f(t, s)
		})
	}
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
