package storetest

import (
	"context"
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

// testCanceled: a call whose context is canceled (the caller went away)
// fails with kind Canceled, never Unavailable or Internal: the API answers
// it as a client that left, not as a store failure. Nothing is written.
func testCanceled(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	tenant := fixture.MustTenant(t, s, 1, "contoso.com")
	fixture.MustMachines(t, s, tenant, 1)
	fixture.MustLogons(t, s, tenant, fixture.Logon("contoso", "alice", 1, 1, ""))
	dead, cancel := context.WithCancel(ctx)
	cancel()
	calls := map[string]func() error{
		"Tenant":         func() error { _, err := s.Tenant(dead, tenant); return err },
		"Setting":        func() error { _, err := s.Setting(dead, "admin_key"); return err },
		"SigningKeys":    func() error { _, err := s.SigningKeys(dead); return err },
		"DataVersion":    func() error { _, err := s.DataVersion(dead); return err },
		"ContentVersion": func() error { _, err := s.ContentVersion(dead, tenant); return err },
		"UserMachines":   func() error { _, err := s.UserMachines(dead, tenant, openatp.UserRef{Name: "alice"}); return err },
		"Snapshot": func() error {
			return s.Snapshot(dead, tenant, func(openatp.Machine) error { return nil }, func(openatp.UserMachine) error { return nil })
		},
		"UpsertMachines": func() error {
			m := openatp.Machine{ID: fixture.MachineID(2)}
			fixture.NoErr(t, m.Normalize())
			return s.UpsertMachines(dead, tenant, []openatp.Machine{m})
		},
		"WriteBatch": func() error {
			return s.WriteBatch(dead, tenant, func(openatp.BatchWriter) error { return nil })
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) { fixture.WantKind(t, call(), openatp.Canceled) })
	}
	fixture.Diff(t, "machines after canceled writes", fixture.MachineIDs(1), fixture.UserMachineIDs(t, s, tenant, openatp.UserRef{Name: "alice"}))
	if _, err := s.Machine(ctx, tenant, fixture.MachineID(2)); !openatp.IsKind(err, openatp.NotFound) {
		t.Errorf("machine of a canceled write: %v, want NotFound", err)
	}
}
