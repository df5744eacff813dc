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
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/storetest/internal/actionsuite"
	"github.com/openatp/openatp/storetest/internal/eventsuite"
	"github.com/openatp/openatp/storetest/internal/fixture"
	"github.com/openatp/openatp/storetest/internal/indicatorsuite"
	"github.com/openatp/openatp/storetest/internal/vulnsuite"
)

// Option changes how Run tests a store.
type Option func(*fixture.Suite)

// WithReopen gives Run a way to open a second store on the data of s, as
// another process or replica would; the suite then checks that writes
// through one are seen by the other, DataVersion included. The second store
// is closed by reopen's caller through t.Cleanup, which reopen must
// register.
func WithReopen(reopen func(t *testing.T, s openatp.Store) openatp.Store) Option {
	return func(s *fixture.Suite) { s.Reopen = reopen }
}

// WithPreviousVersionWrite gives Run a way to make, on the data of s, the
// mark every write of a process of the previous version leaves (it bumps
// the global content counter of the schema before per-tenant content
// versions): during an upgrade such writes must still change every
// tenant's ContentVersion.
func WithPreviousVersionWrite(write func(t *testing.T, s openatp.Store)) Option {
	return func(s *fixture.Suite) { s.PreviousWrite = write }
}

// WithIPHistoryRows gives Run a way to count the rows of the IP history
// of s, the engine's own table: the suite then checks that writing a
// machine again, by any kind of machine write, adds no row.
func WithIPHistoryRows(rows func(t *testing.T, s openatp.Store) int) Option {
	return func(s *fixture.Suite) { s.IPRows = rows }
}

// Run runs the suite. open must return a new, empty store for each call
// (subtests run in parallel) and close it through t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) openatp.Store, opts ...Option) {
	s := &fixture.Suite{Open: open}
	for _, o := range opts {
		o(s)
	}
	tests := []struct {
		name string
		f    func(t *testing.T, s *fixture.Suite)
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
		{"AlertScanParallel", testAlertScanParallel},
		{"UpsertAlerts", testUpsertAlerts},
		{"AlertClock", testAlertClock},
		{"UpdateAlerts", testUpdateAlerts},
		{"CreateAlert", testCreateAlert},
		{"AlertChanges", testAlertChanges},
		{"UserRelations", testUserRelations},
		{"ActionRoundTrip", actionsuite.ActionRoundTrip},
		{"ActionBusy", actionsuite.ActionBusy},
		{"ActionSessions", actionsuite.ActionSessions},
		{"ActionUpdateBatch", actionsuite.ActionUpdateBatch},
		{"ActionCancel", actionsuite.ActionCancel},
		{"ActionClock", actionsuite.ActionClock},
		{"ActionFilter", actionsuite.ActionFilter},
		{"ActionTenantIsolation", actionsuite.ActionTenantIsolation},
		{"MachineState", actionsuite.MachineState},
		{"Library", actionsuite.Library},
		{"Investigations", actionsuite.Investigations},
		{"ActionPut", actionsuite.ActionPut},
		{"ActionImport", actionsuite.ActionImport},
		{"ActionEpoch", actionsuite.ActionEpoch},
		{"IndicatorRoundTrip", indicatorsuite.RoundTrip},
		{"IndicatorDelete", indicatorsuite.Delete},
		{"IndicatorLimit", indicatorsuite.Limit},
		{"IndicatorConcurrent", indicatorsuite.Concurrent},
		{"IndicatorBatch", indicatorsuite.Batch},
		{"IndicatorLookup", indicatorsuite.Lookup},
		{"IndicatorImport", indicatorsuite.Import},
		{"FileEvents", eventsuite.FileEvents},
		{"NetworkEvents", eventsuite.NetworkEvents},
		{"EventsAllOrNothing", eventsuite.EventsAllOrNothing},
		{"EventsDeletedMachine", eventsuite.EventsDeletedMachine},
		{"EventsLargeBatch", eventsuite.EventsLargeBatch},
		{"EventsTenants", eventsuite.EventsTenants},
		{"EventRetention", eventsuite.EventRetention},
		{"VulnDerived", vulnsuite.Derived},
		{"VulnScope", vulnsuite.Scope},
		{"VulnScans", vulnsuite.Scans},
		{"VulnDelta", vulnsuite.Delta},
		{"VulnAllOrNothing", vulnsuite.AllOrNothing},
		{"VulnReplicas", vulnsuite.Replicas},
		{"LogonEvents", testLogonEvents},
		{"LogonEventsDeletedMachine", testLogonEventsDeletedMachine},
		{"LogonEventsAllOrNothing", testLogonEventsAllOrNothing},
		{"LogonEventRetention", testLogonEventRetention},
		{"EventSightings", eventsuite.Sightings},
		{"Canceled", testCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.f(t, s)
		})
	}
}
