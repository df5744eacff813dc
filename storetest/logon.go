package storetest

import (
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

func testAddLogons(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	tenant := fixture.MustTenant(t, s, 1, "a.example")
	fixture.MustMachines(t, s, tenant, 1, 2)
	events := []openatp.Logon{
		fixture.Logon("Contoso", "Alice", 1, 5, "Network"),
		fixture.Logon("CONTOSO", "alice", 1, 2, "Interactive"), // same user, earlier
		fixture.Logon("contoso", "ALICE", 1, 9, "Network"),     // later
		fixture.Logon("Contoso", "Alice", 2, 7, ""),            // no type
	}
	events[0].AccountSID = ""
	fixture.MustLogons(t, s, tenant, events...)
	// The user keeps its first non-empty SID: events[0] has none.
	want := []openatp.UserMachine{
		{AccountName: "Alice", AccountDomain: "Contoso", AccountSID: "S-1-5-21-alice", MachineID: fixture.MachineID(1), FirstSeen: fixture.At(2), LastSeen: fixture.At(9), LogonTypes: []string{"Interactive", "Network"}},
		{AccountName: "Alice", AccountDomain: "Contoso", AccountSID: "S-1-5-21-alice", MachineID: fixture.MachineID(2), FirstSeen: fixture.At(7), LastSeen: fixture.At(7), LogonTypes: []string{}},
	}
	_, rels := fixture.Snapshot(t, s, tenant)
	fixture.Diff(t, "relations", want, rels, fixture.EquateEmpty)

	t.Run("idempotent", func(t *testing.T) {
		fixture.MustLogons(t, s, tenant, events...)
		fixture.MustLogons(t, s, tenant, events[2], events[0])
		_, rels := fixture.Snapshot(t, s, tenant)
		fixture.Diff(t, "relations after re-adding", want, rels, fixture.EquateEmpty)
	})
	t.Run("merges with stored relations", func(t *testing.T) {
		fixture.MustLogons(t, s, tenant,
			fixture.Logon("CONTOSO", "alice", 1, 1, "Batch"),   // extends first seen
			fixture.Logon("contoso", "alice", 2, 12, "Unlock"), // extends last seen
			fixture.Logon("contoso", "alice", 1, 3, "Network"), // inside: nothing changes
		)
		want := []openatp.UserMachine{
			{AccountName: "Alice", AccountDomain: "Contoso", AccountSID: "S-1-5-21-alice", MachineID: fixture.MachineID(1), FirstSeen: fixture.At(1), LastSeen: fixture.At(9), LogonTypes: []string{"Batch", "Interactive", "Network"}},
			{AccountName: "Alice", AccountDomain: "Contoso", AccountSID: "S-1-5-21-alice", MachineID: fixture.MachineID(2), FirstSeen: fixture.At(7), LastSeen: fixture.At(12), LogonTypes: []string{"Unlock"}},
		}
		_, rels := fixture.Snapshot(t, s, tenant)
		fixture.Diff(t, "relations", want, rels, fixture.EquateEmpty)
	})
	t.Run("logon types are sorted", func(t *testing.T) {
		var ls []openatp.Logon
		for i := len(openatp.LogonTypes) - 1; i >= 0; i-- {
			ls = append(ls, fixture.Logon("lab", "bob", 1, i, openatp.LogonTypes[i]))
		}
		fixture.MustLogons(t, s, tenant, ls...)
		_, rels := fixture.Snapshot(t, s, tenant)
		got := rels[len(rels)-1]
		want := []string{"Batch", "CachedInteractive", "Interactive", "Network", "NetworkCleartext", "NewCredentials", "RemoteInteractive", "Service", "Unlock"}
		fixture.Diff(t, "logon types", want, got.LogonTypes)
	})
	t.Run("empty batch", func(t *testing.T) {
		fixture.NoErr(t, s.AddLogons(ctx, tenant, nil))
		fixture.WantKind(t, s.AddLogons(ctx, fixture.TenantID(9), []openatp.Logon{fixture.Logon("x", "y", 1, 1, "")}), openatp.NotFound)
	})
}

func testAddLogonsAllOrNothing(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	tenant := fixture.MustTenant(t, s, 1, "a.example")
	other := fixture.MustTenant(t, s, 2, "b.example")
	fixture.MustMachines(t, s, tenant, 1, 2)
	fixture.MustMachines(t, s, other, 3)
	fixture.MustLogons(t, s, tenant, fixture.Logon("contoso", "carol", 1, 1, "Network"))
	before, beforeRels := fixture.Snapshot(t, s, tenant)

	for _, tc := range []struct {
		name string
		bad  openatp.Logon
		kind openatp.Kind
		msg  string
	}{
		{"unknown machine", fixture.Logon("contoso", "dave", 99, 1, ""), openatp.Invalid, "logon 3: machineId"},
		{"machine of another tenant", fixture.Logon("contoso", "dave", 3, 1, ""), openatp.Invalid, "logon 3: machineId"},
		{"unknown logon type", fixture.Logon("contoso", "dave", 1, 1, "Telepathy"), openatp.Invalid, "logon 3"},
		{"no account name", fixture.Logon("contoso", "", 1, 1, ""), openatp.Invalid, "logon 3"},
		{"no timestamp", openatp.Logon{MachineID: fixture.MachineID(1), AccountName: "dave", AccountDomain: "contoso"}, openatp.Invalid, "logon 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			batch := []openatp.Logon{
				fixture.Logon("contoso", "alice", 1, 1, "Network"), // new user
				fixture.Logon("contoso", "carol", 1, 0, "Batch"),   // changes carol
				fixture.Logon("contoso", "carol", 2, 1, "Network"), // new relation
				tc.bad,
			}
			err := s.AddLogons(ctx, tenant, batch)
			fixture.WantKind(t, err, tc.kind)
			fixture.Contains(t, err, tc.msg)
			_, err = s.UserMachines(ctx, tenant, openatp.UserRef{Name: "alice"})
			fixture.WantKind(t, err, openatp.NotFound)
			ms, rels := fixture.Snapshot(t, s, tenant)
			fixture.Diff(t, "machines", before, ms)
			fixture.Diff(t, "relations", beforeRels, rels, fixture.EquateEmpty)
		})
	}
}

func testUserMachines(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	tenant := fixture.MustTenant(t, s, 1, "a.example")
	other := fixture.MustTenant(t, s, 2, "b.example")
	fixture.MustMachines(t, s, tenant, 1, 2, 3, 4, 5, 0xa0, 0x0a)
	fixture.MustMachines(t, s, other, 1, 2, 3)
	fixture.MustLogons(t, s, tenant,
		fixture.Logon("CONTOSO", "Alice", 5, 1, "Network"),
		fixture.Logon("CONTOSO", "Alice", 0xa0, 1, "Network"),
		fixture.Logon("CONTOSO", "Alice", 3, 1, "Network"),
		fixture.Logon("CONTOSO", "Alice", 0x0a, 1, "Network"),
		fixture.Logon("Fabrikam", "alice", 3, 2, "Interactive"), // another user, same name, same machine
		fixture.Logon("Fabrikam", "alice", 1, 2, "Interactive"),
		fixture.Logon("CONTOSO", "Bob", 2, 1, "Network"),
		fixture.Logon("lab", "ÄBC", 4, 1, "Network"),
	)
	fixture.MustLogons(t, s, other, fixture.Logon("contoso", "zed", 1, 1, "Network"))

	for _, tc := range []struct {
		name string
		u    openatp.UserRef
		want []string
	}{
		{"every domain, ordered by id, each once", openatp.UserRef{Name: "alice"}, fixture.MachineIDs(1, 3, 5, 0x0a, 0xa0)},
		{"ignoring case", openatp.UserRef{Name: "ALICE"}, fixture.MachineIDs(1, 3, 5, 0x0a, 0xa0)},
		{"one domain", openatp.UserRef{Name: "alice", Domain: "contoso"}, fixture.MachineIDs(3, 5, 0x0a, 0xa0)},
		{"one domain ignoring case", openatp.UserRef{Name: "Alice", Domain: "FABRIKAM"}, fixture.MachineIDs(1, 3)},
		{"unicode", openatp.UserRef{Name: "äbc"}, fixture.MachineIDs(4)},
		{"unicode domain", openatp.UserRef{Name: "ÄBC", Domain: "LAB"}, fixture.MachineIDs(4)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fixture.Diff(t, "machine ids", tc.want, fixture.UserMachineIDs(t, s, tenant, tc.u))
		})
	}
	for _, tc := range []struct {
		name   string
		tenant string
		u      openatp.UserRef
	}{
		{"unknown user", tenant, openatp.UserRef{Name: "carol"}},
		{"known in another domain only", tenant, openatp.UserRef{Name: "bob", Domain: "fabrikam"}},
		{"known in another tenant only", tenant, openatp.UserRef{Name: "zed"}},
		{"known in this tenant only", other, openatp.UserRef{Name: "alice"}},
		{"unknown tenant", fixture.TenantID(9), openatp.UserRef{Name: "alice"}},
		{"a prefix of a name", tenant, openatp.UserRef{Name: "ali"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.UserMachines(ctx, tc.tenant, tc.u)
			fixture.WantKind(t, err, openatp.NotFound)
		})
	}
	t.Run("full machines", func(t *testing.T) {
		m := fullMachine(2)
		fixture.MustUpsert(t, s, tenant, m)
		got, err := s.UserMachines(ctx, tenant, openatp.UserRef{Name: "bob"})
		fixture.NoErr(t, err)
		fixture.Diff(t, "machines", []openatp.Machine{defaultGroup(m)}, got)
	})
}

func testTenantIsolation(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "a.example")
	b := fixture.MustTenant(t, s, 2, "b.example")
	ma, mb := fullMachine(1), fullMachine(1) // the same id in both tenants
	mb.OSPlatform = openatp.Ptr("Linux")
	fixture.MustUpsert(t, s, a, ma)
	fixture.MustUpsert(t, s, b, mb)
	fixture.MustMachines(t, s, b, 2)
	fixture.MustLogons(t, s, a, fixture.Logon("contoso", "alice", 1, 1, "Network"))
	fixture.MustLogons(t, s, b, fixture.Logon("contoso", "alice", 1, 5, "Batch"), fixture.Logon("contoso", "alice", 2, 5, "Batch"))
	fixture.NoErr(t, s.CreateGroup(ctx, b, openatp.DeviceGroup{ID: 1, Name: "Linux", Rank: 1, Rules: []openatp.RuleRow{{Property: openatp.RuleOSPlatform, Values: []string{"linux"}}}}))

	got, err := s.Machine(ctx, a, ma.ID)
	fixture.NoErr(t, err)
	fixture.Diff(t, "machine of a", defaultGroup(ma), got)
	got, err = s.Machine(ctx, b, mb.ID)
	fixture.NoErr(t, err)
	wantB := mb
	wantB.RBACGroupID, wantB.RBACGroupName = 1, "Linux"
	fixture.Diff(t, "machine of b", wantB, got)
	_, err = s.Machine(ctx, a, fixture.MachineID(2))
	fixture.WantKind(t, err, openatp.NotFound)

	fixture.Diff(t, "alice in a", fixture.MachineIDs(1), fixture.UserMachineIDs(t, s, a, openatp.UserRef{Name: "alice"}))
	fixture.Diff(t, "alice in b", fixture.MachineIDs(1, 2), fixture.UserMachineIDs(t, s, b, openatp.UserRef{Name: "alice"}))

	ga, err := s.Groups(ctx, a)
	fixture.NoErr(t, err)
	fixture.Diff(t, "groups of a", []openatp.DeviceGroup(nil), ga, fixture.EquateEmpty)
	// The same group id and name are free in the other tenant.
	fixture.NoErr(t, s.CreateGroup(ctx, a, openatp.DeviceGroup{ID: 1, Name: "Linux", Rank: 1}))

	ms, rels := fixture.Snapshot(t, s, a)
	fixture.Diff(t, "machines of a", []string{ma.ID}, fixture.IDs(ms))
	fixture.Diff(t, "relations of a", []openatp.UserMachine{{AccountName: "alice", AccountDomain: "contoso", AccountSID: "S-1-5-21-alice", MachineID: ma.ID, FirstSeen: fixture.At(1), LastSeen: fixture.At(1), LogonTypes: []string{"Network"}}}, rels)
}
