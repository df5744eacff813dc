package storetest

import (
	"testing"

	"github.com/openatp/openatp"
)

func testAddLogons(t *testing.T, su *suite) {
	s := su.open(t)
	tenant := mustTenant(t, s, 1, "a.example")
	mustMachines(t, s, tenant, 1, 2)
	events := []openatp.Logon{
		logon("Contoso", "Alice", 1, 5, "Network"),
		logon("CONTOSO", "alice", 1, 2, "Interactive"), // same user, earlier
		logon("contoso", "ALICE", 1, 9, "Network"),     // later
		logon("Contoso", "Alice", 2, 7, ""),            // no type
	}
	events[0].AccountSID = ""
	mustLogons(t, s, tenant, events...)
	// The user keeps its first non-empty SID: events[0] has none.
	want := []openatp.UserMachine{
		{AccountName: "Alice", AccountDomain: "Contoso", AccountSID: "S-1-5-21-alice", MachineID: machineID(1), FirstSeen: at(2), LastSeen: at(9), LogonTypes: []string{"Interactive", "Network"}},
		{AccountName: "Alice", AccountDomain: "Contoso", AccountSID: "S-1-5-21-alice", MachineID: machineID(2), FirstSeen: at(7), LastSeen: at(7), LogonTypes: []string{}},
	}
	_, rels := snapshot(t, s, tenant)
	diff(t, "relations", want, rels, equateEmpty)

	t.Run("idempotent", func(t *testing.T) {
		mustLogons(t, s, tenant, events...)
		mustLogons(t, s, tenant, events[2], events[0])
		_, rels := snapshot(t, s, tenant)
		diff(t, "relations after re-adding", want, rels, equateEmpty)
	})
	t.Run("merges with stored relations", func(t *testing.T) {
		mustLogons(t, s, tenant,
			logon("CONTOSO", "alice", 1, 1, "Batch"),   // extends first seen
			logon("contoso", "alice", 2, 12, "Unlock"), // extends last seen
			logon("contoso", "alice", 1, 3, "Network"), // inside: nothing changes
		)
		want := []openatp.UserMachine{
			{AccountName: "Alice", AccountDomain: "Contoso", AccountSID: "S-1-5-21-alice", MachineID: machineID(1), FirstSeen: at(1), LastSeen: at(9), LogonTypes: []string{"Batch", "Interactive", "Network"}},
			{AccountName: "Alice", AccountDomain: "Contoso", AccountSID: "S-1-5-21-alice", MachineID: machineID(2), FirstSeen: at(7), LastSeen: at(12), LogonTypes: []string{"Unlock"}},
		}
		_, rels := snapshot(t, s, tenant)
		diff(t, "relations", want, rels, equateEmpty)
	})
	t.Run("logon types are sorted", func(t *testing.T) {
		var ls []openatp.Logon
		for i := len(openatp.LogonTypes) - 1; i >= 0; i-- {
			ls = append(ls, logon("lab", "bob", 1, i, openatp.LogonTypes[i]))
		}
		mustLogons(t, s, tenant, ls...)
		_, rels := snapshot(t, s, tenant)
		got := rels[len(rels)-1]
		want := []string{"Batch", "CachedInteractive", "Interactive", "Network", "NetworkCleartext", "NewCredentials", "RemoteInteractive", "Service", "Unlock"}
		diff(t, "logon types", want, got.LogonTypes)
	})
	t.Run("empty batch", func(t *testing.T) {
		noErr(t, s.AddLogons(ctx, tenant, nil))
		wantKind(t, s.AddLogons(ctx, tenantID(9), []openatp.Logon{logon("x", "y", 1, 1, "")}), openatp.NotFound)
	})
}

func testAddLogonsAllOrNothing(t *testing.T, su *suite) {
	s := su.open(t)
	tenant := mustTenant(t, s, 1, "a.example")
	other := mustTenant(t, s, 2, "b.example")
	mustMachines(t, s, tenant, 1, 2)
	mustMachines(t, s, other, 3)
	mustLogons(t, s, tenant, logon("contoso", "carol", 1, 1, "Network"))
	before, beforeRels := snapshot(t, s, tenant)

	for _, tc := range []struct {
		name string
		bad  openatp.Logon
		kind openatp.Kind
		msg  string
	}{
		{"unknown machine", logon("contoso", "dave", 99, 1, ""), openatp.Invalid, "logon 3: machineId"},
		{"machine of another tenant", logon("contoso", "dave", 3, 1, ""), openatp.Invalid, "logon 3: machineId"},
		{"unknown logon type", logon("contoso", "dave", 1, 1, "Telepathy"), openatp.Invalid, "logon 3"},
		{"no account name", logon("contoso", "", 1, 1, ""), openatp.Invalid, "logon 3"},
		{"no timestamp", openatp.Logon{MachineID: machineID(1), AccountName: "dave", AccountDomain: "contoso"}, openatp.Invalid, "logon 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			batch := []openatp.Logon{
				logon("contoso", "alice", 1, 1, "Network"), // new user
				logon("contoso", "carol", 1, 0, "Batch"),   // changes carol
				logon("contoso", "carol", 2, 1, "Network"), // new relation
				tc.bad,
			}
			err := s.AddLogons(ctx, tenant, batch)
			wantKind(t, err, tc.kind)
			contains(t, err, tc.msg)
			_, err = s.UserMachines(ctx, tenant, openatp.UserRef{Name: "alice"})
			wantKind(t, err, openatp.NotFound)
			ms, rels := snapshot(t, s, tenant)
			diff(t, "machines", before, ms)
			diff(t, "relations", beforeRels, rels, equateEmpty)
		})
	}
}

func testUserMachines(t *testing.T, su *suite) {
	s := su.open(t)
	tenant := mustTenant(t, s, 1, "a.example")
	other := mustTenant(t, s, 2, "b.example")
	mustMachines(t, s, tenant, 1, 2, 3, 4, 5, 0xa0, 0x0a)
	mustMachines(t, s, other, 1, 2, 3)
	mustLogons(t, s, tenant,
		logon("CONTOSO", "Alice", 5, 1, "Network"),
		logon("CONTOSO", "Alice", 0xa0, 1, "Network"),
		logon("CONTOSO", "Alice", 3, 1, "Network"),
		logon("CONTOSO", "Alice", 0x0a, 1, "Network"),
		logon("Fabrikam", "alice", 3, 2, "Interactive"), // another user, same name, same machine
		logon("Fabrikam", "alice", 1, 2, "Interactive"),
		logon("CONTOSO", "Bob", 2, 1, "Network"),
		logon("lab", "ÄBC", 4, 1, "Network"),
	)
	mustLogons(t, s, other, logon("contoso", "zed", 1, 1, "Network"))

	for _, tc := range []struct {
		name string
		u    openatp.UserRef
		want []string
	}{
		{"every domain, ordered by id, each once", openatp.UserRef{Name: "alice"}, machineIDs(1, 3, 5, 0x0a, 0xa0)},
		{"ignoring case", openatp.UserRef{Name: "ALICE"}, machineIDs(1, 3, 5, 0x0a, 0xa0)},
		{"one domain", openatp.UserRef{Name: "alice", Domain: "contoso"}, machineIDs(3, 5, 0x0a, 0xa0)},
		{"one domain ignoring case", openatp.UserRef{Name: "Alice", Domain: "FABRIKAM"}, machineIDs(1, 3)},
		{"unicode", openatp.UserRef{Name: "äbc"}, machineIDs(4)},
		{"unicode domain", openatp.UserRef{Name: "ÄBC", Domain: "LAB"}, machineIDs(4)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			diff(t, "machine ids", tc.want, userMachineIDs(t, s, tenant, tc.u))
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
		{"unknown tenant", tenantID(9), openatp.UserRef{Name: "alice"}},
		{"a prefix of a name", tenant, openatp.UserRef{Name: "ali"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.UserMachines(ctx, tc.tenant, tc.u)
			wantKind(t, err, openatp.NotFound)
		})
	}
	t.Run("full machines", func(t *testing.T) {
		m := fullMachine(2)
		mustUpsert(t, s, tenant, m)
		got, err := s.UserMachines(ctx, tenant, openatp.UserRef{Name: "bob"})
		noErr(t, err)
		diff(t, "machines", []openatp.Machine{defaultGroup(m)}, got)
	})
}

func testTenantIsolation(t *testing.T, su *suite) {
	s := su.open(t)
	a := mustTenant(t, s, 1, "a.example")
	b := mustTenant(t, s, 2, "b.example")
	ma, mb := fullMachine(1), fullMachine(1) // the same id in both tenants
	mb.OSPlatform = openatp.Ptr("Linux")
	mustUpsert(t, s, a, ma)
	mustUpsert(t, s, b, mb)
	mustMachines(t, s, b, 2)
	mustLogons(t, s, a, logon("contoso", "alice", 1, 1, "Network"))
	mustLogons(t, s, b, logon("contoso", "alice", 1, 5, "Batch"), logon("contoso", "alice", 2, 5, "Batch"))
	noErr(t, s.CreateGroup(ctx, b, openatp.DeviceGroup{ID: 1, Name: "Linux", Rank: 1, Rules: []openatp.RuleRow{{Property: openatp.RuleOSPlatform, Values: []string{"linux"}}}}))

	got, err := s.Machine(ctx, a, ma.ID)
	noErr(t, err)
	diff(t, "machine of a", defaultGroup(ma), got)
	got, err = s.Machine(ctx, b, mb.ID)
	noErr(t, err)
	wantB := mb
	wantB.RBACGroupID, wantB.RBACGroupName = 1, "Linux"
	diff(t, "machine of b", wantB, got)
	_, err = s.Machine(ctx, a, machineID(2))
	wantKind(t, err, openatp.NotFound)

	diff(t, "alice in a", machineIDs(1), userMachineIDs(t, s, a, openatp.UserRef{Name: "alice"}))
	diff(t, "alice in b", machineIDs(1, 2), userMachineIDs(t, s, b, openatp.UserRef{Name: "alice"}))

	ga, err := s.Groups(ctx, a)
	noErr(t, err)
	diff(t, "groups of a", []openatp.DeviceGroup(nil), ga, equateEmpty)
	// The same group id and name are free in the other tenant.
	noErr(t, s.CreateGroup(ctx, a, openatp.DeviceGroup{ID: 1, Name: "Linux", Rank: 1}))

	ms, rels := snapshot(t, s, a)
	diff(t, "machines of a", []string{ma.ID}, ids(ms))
	diff(t, "relations of a", []openatp.UserMachine{{AccountName: "alice", AccountDomain: "contoso", AccountSID: "S-1-5-21-alice", MachineID: ma.ID, FirstSeen: at(1), LastSeen: at(1), LogonTypes: []string{"Network"}}}, rels)
}
