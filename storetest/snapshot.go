package storetest

import (
	"errors"
	"testing"

	"github.com/openatp/openatp"
)

func testSnapshot(t *testing.T, su *suite) {
	s := su.open(t)
	tenant := mustTenant(t, s, 1, "a.example")
	m1, m2, m3 := fullMachine(0xb0), fullMachine(0x0b), fullMachine(0xa1)
	m3.MachineTags = []string{"lab"}
	mustUpsert(t, s, tenant, m1, m2, m3)
	noErr(t, s.CreateGroup(ctx, tenant, openatp.DeviceGroup{ID: 7, Name: "Lab", Rank: 1, Rules: []openatp.RuleRow{{Property: openatp.RuleTag, Values: []string{"lab"}}}}))
	mustLogons(t, s, tenant,
		logon("contoso", "bob", 0xb0, 3, "Network"),
		logon("Contoso", "Bob", 0x0b, 1, "Interactive"),
		logon("zeta", "alice", 0xb0, 2, "Batch"),
		logon("Alpha", "alice", 0xa1, 4, "Service"),
		logon("alpha", "alice", 0x0b, 4, "Service"),
	)
	ms, rels := snapshot(t, s, tenant)
	lab := m3
	lab.RBACGroupID, lab.RBACGroupName = 7, "Lab"
	diff(t, "machines", []openatp.Machine{defaultGroup(m2), lab, defaultGroup(m1)}, ms)
	um := func(name, domain string, n, first, last int, typ string) openatp.UserMachine {
		return openatp.UserMachine{AccountName: name, AccountDomain: domain, AccountSID: "S-1-5-21-" + name, MachineID: machineID(n), FirstSeen: at(first), LastSeen: at(last), LogonTypes: []string{typ}}
	}
	// By user (name, then domain, both ignoring case), then machine id.
	diff(t, "relations", []openatp.UserMachine{
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
		noErr(t, late.Normalize())
		var ids []string
		var relations int
		err := s.Snapshot(ctx, tenant, func(m openatp.Machine) error {
			if len(ids) == 0 {
				if err := s.UpsertMachines(ctx, tenant, []openatp.Machine{late}); err != nil {
					return err
				}
				if err := s.AddLogons(ctx, tenant, []openatp.Logon{logon("zeta", "zed", 0xff, 1, "Network")}); err != nil {
					return err
				}
			}
			ids = append(ids, m.ID)
			return nil
		}, func(openatp.UserMachine) error { relations++; return nil })
		noErr(t, err)
		diff(t, "machine ids", machineIDs(0x0b, 0xa1, 0xb0), ids)
		diff(t, "relations", 5, relations)
		ms, rels := snapshot(t, s, tenant)
		if len(ms) != 4 || len(rels) != 6 {
			t.Errorf("after the snapshot: %d machines, %d relations, want 4 and 6", len(ms), len(rels))
		}
	})
	t.Run("unknown tenant", func(t *testing.T) {
		err := s.Snapshot(ctx, tenantID(9), func(openatp.Machine) error { return nil }, func(openatp.UserMachine) error { return nil })
		wantKind(t, err, openatp.NotFound)
	})
	t.Run("empty tenant", func(t *testing.T) {
		empty := mustTenant(t, s, 2, "b.example")
		ms, rels := snapshot(t, s, empty)
		if len(ms) != 0 || len(rels) != 0 {
			t.Errorf("got %d machines, %d relations, want none", len(ms), len(rels))
		}
	})
}

func testResetTenant(t *testing.T, su *suite) {
	s := su.open(t)
	a := mustTenant(t, s, 1, "a.example")
	b := mustTenant(t, s, 2, "b.example")
	app := openatp.App{TenantID: a, ClientID: "client-a", Name: "app", SecretHash: []byte{1}, Created: t0}
	noErr(t, s.CreateApp(ctx, app))
	for _, tenant := range []string{a, b} {
		mustMachines(t, s, tenant, 1, 2)
		mustLogons(t, s, tenant, logon("contoso", "alice", 1, 1, "Network"))
		noErr(t, s.CreateGroup(ctx, tenant, openatp.DeviceGroup{ID: 1, Name: "G", Rank: 1}))
	}
	bMachines, bRels := snapshot(t, s, b)

	noErr(t, s.ResetTenant(ctx, a))

	ms, rels := snapshot(t, s, a)
	if len(ms) != 0 || len(rels) != 0 {
		t.Errorf("after reset: %d machines, %d relations, want none", len(ms), len(rels))
	}
	_, err := s.UserMachines(ctx, a, openatp.UserRef{Name: "alice"})
	wantKind(t, err, openatp.NotFound)
	gs, err := s.Groups(ctx, a)
	noErr(t, err)
	if len(gs) != 0 {
		t.Errorf("after reset: groups %v, want none", gs)
	}
	if _, err := s.Tenant(ctx, a); err != nil {
		t.Errorf("the tenant is gone: %v", err)
	}
	got, err := s.App(ctx, a, "client-a")
	noErr(t, err)
	diff(t, "app", app, got, equateEmpty)

	ms, rels = snapshot(t, s, b)
	diff(t, "machines of b", bMachines, ms)
	diff(t, "relations of b", bRels, rels)
	gs, err = s.Groups(ctx, b)
	noErr(t, err)
	if len(gs) != 1 {
		t.Errorf("groups of b: %v, want 1", gs)
	}

	// The tenant can be filled again, with the same ids.
	mustMachines(t, s, a, 1)
	mustLogons(t, s, a, logon("contoso", "alice", 1, 1, "Network"))
	diff(t, "alice after refill", machineIDs(1), userMachineIDs(t, s, a, openatp.UserRef{Name: "alice"}))
	noErr(t, s.CreateGroup(ctx, a, openatp.DeviceGroup{ID: 1, Name: "G", Rank: 1}))

	wantKind(t, s.ResetTenant(ctx, tenantID(9)), openatp.NotFound)

	if su.reopen == nil {
		return
	}
	t.Run("reset through another store", func(t *testing.T) {
		// Whatever a store caches of a tenant must not survive a reset
		// made elsewhere.
		other := su.reopen(t, s)
		mustLogons(t, s, a, logon("contoso", "alice", 1, 2, "Batch"))
		noErr(t, other.ResetTenant(ctx, a))
		mustMachines(t, other, a, 3, 1)
		mustLogons(t, s, a, logon("CONTOSO", "ALICE", 1, 3, "Network"))
		_, rels := snapshot(t, s, a)
		diff(t, "relations", []openatp.UserMachine{{AccountName: "ALICE", AccountDomain: "CONTOSO", AccountSID: "S-1-5-21-ALICE", MachineID: machineID(1),
			FirstSeen: at(3), LastSeen: at(3), LogonTypes: []string{"Network"}}}, rels)
		wantKind(t, s.AddLogons(ctx, a, []openatp.Logon{logon("contoso", "alice", 2, 1, "")}), openatp.Invalid)
	})
}
