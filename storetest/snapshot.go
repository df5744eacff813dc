package storetest

import (
	"errors"
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

func testSnapshot(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	tenant := fixture.MustTenant(t, s, 1, "a.example")
	m1, m2, m3 := fullMachine(0xb0), fullMachine(0x0b), fullMachine(0xa1)
	m3.MachineTags = []string{"lab"}
	fixture.MustUpsert(t, s, tenant, m1, m2, m3)
	fixture.NoErr(t, s.CreateGroup(ctx, tenant, openatp.DeviceGroup{ID: 7, Name: "Lab", Rank: 1, Rules: []openatp.RuleRow{{Property: openatp.RuleTag, Values: []string{"lab"}}}}))
	fixture.MustLogons(t, s, tenant,
		fixture.Logon("contoso", "bob", 0xb0, 3, "Network"),
		fixture.Logon("Contoso", "Bob", 0x0b, 1, "Interactive"),
		fixture.Logon("zeta", "alice", 0xb0, 2, "Batch"),
		fixture.Logon("Alpha", "alice", 0xa1, 4, "Service"),
		fixture.Logon("alpha", "alice", 0x0b, 4, "Service"),
	)
	ms, rels := fixture.Snapshot(t, s, tenant)
	lab := m3
	lab.RBACGroupID, lab.RBACGroupName = 7, "Lab"
	fixture.Diff(t, "machines", []openatp.Machine{defaultGroup(m2), lab, defaultGroup(m1)}, ms)
	um := func(name, domain string, n, first, last int, typ string) openatp.UserMachine {
		return openatp.UserMachine{AccountName: name, AccountDomain: domain, AccountSID: "S-1-5-21-" + name, MachineID: fixture.MachineID(n), FirstSeen: fixture.At(first), LastSeen: fixture.At(last), LogonTypes: []string{typ}}
	}
	// By user (name, then domain, both ignoring case), then machine id.
	fixture.Diff(t, "relations", []openatp.UserMachine{
		um("alice", "Alpha", 0x0b, 4, 4, "Service"),
		um("alice", "Alpha", 0xa1, 4, 4, "Service"),
		um("alice", "zeta", 0xb0, 2, 2, "Batch"),
		um("bob", "contoso", 0x0b, 1, 1, "Interactive"),
		um("bob", "contoso", 0xb0, 3, 3, "Network"),
	}, rels)

	t.Run("a callback error stops the stream", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		err := s.Snapshot(ctx, tenant, func(openatp.Machine) error { n++; return stop }, func(openatp.UserMachine) error { return nil })
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("got %v after %d machines, want %v after 1", err, n, stop)
		}
		n = 0
		err = s.Snapshot(ctx, tenant, func(openatp.Machine) error { return nil }, func(openatp.UserMachine) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("got %v after %d relations, want %v after 1", err, n, stop)
		}
	})
	t.Run("one consistent view", func(t *testing.T) {
		// Writes made while the snapshot streams are not in it. The
		// callbacks may call the store.
		late := fullMachine(0xff)
		fixture.NoErr(t, late.Normalize())
		var ids []string
		var relations int
		err := s.Snapshot(ctx, tenant, func(m openatp.Machine) error {
			if len(ids) == 0 {
				if err := s.UpsertMachines(ctx, tenant, []openatp.Machine{late}); err != nil {
					return err
				}
				if err := s.AddLogons(ctx, tenant, []openatp.Logon{fixture.Logon("zeta", "zed", 0xff, 1, "Network")}); err != nil {
					return err
				}
			}
			ids = append(ids, m.ID)
			return nil
		}, func(openatp.UserMachine) error { relations++; return nil })
		fixture.NoErr(t, err)
		fixture.Diff(t, "machine ids", fixture.MachineIDs(0x0b, 0xa1, 0xb0), ids)
		fixture.Diff(t, "relations", 5, relations)
		ms, rels := fixture.Snapshot(t, s, tenant)
		if len(ms) != 4 || len(rels) != 6 {
			t.Errorf("after the snapshot: %d machines, %d relations, want 4 and 6", len(ms), len(rels))
		}
	})
	t.Run("unknown tenant", func(t *testing.T) {
		err := s.Snapshot(ctx, fixture.TenantID(9), func(openatp.Machine) error { return nil }, func(openatp.UserMachine) error { return nil })
		fixture.WantKind(t, err, openatp.NotFound)
	})
	t.Run("empty tenant", func(t *testing.T) {
		empty := fixture.MustTenant(t, s, 2, "b.example")
		ms, rels := fixture.Snapshot(t, s, empty)
		if len(ms) != 0 || len(rels) != 0 {
			t.Errorf("got %d machines, %d relations, want none", len(ms), len(rels))
		}
	})
}

func testResetTenant(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "a.example")
	b := fixture.MustTenant(t, s, 2, "b.example")
	app := openatp.App{TenantID: a, ClientID: "client-a", Name: "app", SecretHash: []byte{1}, Created: fixture.T0}
	fixture.NoErr(t, s.CreateApp(ctx, app))
	for _, tenant := range []string{a, b} {
		fixture.MustMachines(t, s, tenant, 1, 2)
		fixture.MustLogons(t, s, tenant, fixture.Logon("contoso", "alice", 1, 1, "Network"))
		fixture.NoErr(t, s.CreateGroup(ctx, tenant, openatp.DeviceGroup{ID: 1, Name: "G", Rank: 1}))
	}
	bMachines, bRels := fixture.Snapshot(t, s, b)

	fixture.NoErr(t, s.ResetTenant(ctx, a))

	ms, rels := fixture.Snapshot(t, s, a)
	if len(ms) != 0 || len(rels) != 0 {
		t.Errorf("after reset: %d machines, %d relations, want none", len(ms), len(rels))
	}
	_, err := s.UserMachines(ctx, a, openatp.UserRef{Name: "alice"})
	fixture.WantKind(t, err, openatp.NotFound)
	gs, err := s.Groups(ctx, a)
	fixture.NoErr(t, err)
	if len(gs) != 0 {
		t.Errorf("after reset: groups %v, want none", gs)
	}
	if _, err := s.Tenant(ctx, a); err != nil {
		t.Errorf("the tenant is gone: %v", err)
	}
	got, err := s.App(ctx, a, "client-a")
	fixture.NoErr(t, err)
	fixture.Diff(t, "app", app, got, fixture.EquateEmpty)

	ms, rels = fixture.Snapshot(t, s, b)
	fixture.Diff(t, "machines of b", bMachines, ms)
	fixture.Diff(t, "relations of b", bRels, rels)
	gs, err = s.Groups(ctx, b)
	fixture.NoErr(t, err)
	if len(gs) != 1 {
		t.Errorf("groups of b: %v, want 1", gs)
	}

	// The tenant can be filled again, with the same ids.
	fixture.MustMachines(t, s, a, 1)
	fixture.MustLogons(t, s, a, fixture.Logon("contoso", "alice", 1, 1, "Network"))
	fixture.Diff(t, "alice after refill", fixture.MachineIDs(1), fixture.UserMachineIDs(t, s, a, openatp.UserRef{Name: "alice"}))
	fixture.NoErr(t, s.CreateGroup(ctx, a, openatp.DeviceGroup{ID: 1, Name: "G", Rank: 1}))

	fixture.WantKind(t, s.ResetTenant(ctx, fixture.TenantID(9)), openatp.NotFound)

	if su.Reopen == nil {
		return
	}
	t.Run("reset through another store", func(t *testing.T) {
		// Whatever a store caches of a tenant must not survive a reset
		// made elsewhere.
		other := su.Reopen(t, s)
		fixture.MustLogons(t, s, a, fixture.Logon("contoso", "alice", 1, 2, "Batch"))
		fixture.NoErr(t, other.ResetTenant(ctx, a))
		fixture.MustMachines(t, other, a, 3, 1)
		fixture.MustLogons(t, s, a, fixture.Logon("CONTOSO", "ALICE", 1, 3, "Network"))
		_, rels := fixture.Snapshot(t, s, a)
		fixture.Diff(t, "relations", []openatp.UserMachine{{AccountName: "ALICE", AccountDomain: "CONTOSO", AccountSID: "S-1-5-21-ALICE", MachineID: fixture.MachineID(1),
			FirstSeen: fixture.At(3), LastSeen: fixture.At(3), LogonTypes: []string{"Network"}}}, rels)
		fixture.WantKind(t, s.AddLogons(ctx, a, []openatp.Logon{fixture.Logon("contoso", "alice", 2, 1, "")}), openatp.Invalid)
	})
}
