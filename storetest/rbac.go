package storetest

import (
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

func testRBAC(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	tenant := fixture.MustTenant(t, s, 1, "a.example")
	other := fixture.MustTenant(t, s, 2, "b.example")

	// User groups: stored, renamed, listed by name, per tenant.
	fixture.NoErr(t, s.PutUserGroup(ctx, tenant, openatp.UserGroup{ID: "g-sec", Name: "Security"}))
	fixture.NoErr(t, s.PutUserGroup(ctx, tenant, openatp.UserGroup{ID: "g-ana", Name: "Zeta"}))
	fixture.NoErr(t, s.PutUserGroup(ctx, tenant, openatp.UserGroup{ID: "g-ana", Name: "Analysts"}))
	ugs, err := s.UserGroups(ctx, tenant)
	fixture.NoErr(t, err)
	fixture.Diff(t, "user groups", []openatp.UserGroup{{ID: "g-ana", Name: "Analysts"}, {ID: "g-sec", Name: "Security"}}, ugs, fixture.EquateEmpty)
	ugs, err = s.UserGroups(ctx, other)
	fixture.NoErr(t, err)
	fixture.Diff(t, "other tenant's user groups", []openatp.UserGroup{}, ugs, fixture.EquateEmpty)
	fixture.WantKind(t, s.PutUserGroup(ctx, tenant, openatp.UserGroup{ID: "", Name: "x"}), openatp.Invalid)
	fixture.WantKind(t, s.PutUserGroup(ctx, "no-such-tenant", openatp.UserGroup{ID: "a", Name: "x"}), openatp.NotFound)

	// Directory users: found by name ignoring case, updated, unique.
	alice := openatp.DirectoryUser{ID: "u-1", UserName: "alice@contoso.com", DisplayName: "Alice", PasswordHash: []byte("h1"), Groups: []string{"g-ana"}}
	bob := openatp.DirectoryUser{ID: "u-2", UserName: "Bob@contoso.com", PasswordHash: []byte("h2"), Groups: []string{}}
	fixture.NoErr(t, s.CreateDirectoryUser(ctx, tenant, alice))
	fixture.NoErr(t, s.CreateDirectoryUser(ctx, tenant, bob))
	fixture.WantKind(t, s.CreateDirectoryUser(ctx, tenant, openatp.DirectoryUser{ID: "u-3", UserName: "ALICE@contoso.com"}), openatp.Conflict)
	fixture.WantKind(t, s.CreateDirectoryUser(ctx, tenant, openatp.DirectoryUser{ID: "u-1", UserName: "carol@contoso.com"}), openatp.Conflict)
	fixture.WantKind(t, s.CreateDirectoryUser(ctx, tenant, openatp.DirectoryUser{ID: "u-4", UserName: "bad name"}), openatp.Invalid)
	fixture.NoErr(t, s.CreateDirectoryUser(ctx, other, openatp.DirectoryUser{ID: "u-1", UserName: "alice@contoso.com", PasswordHash: []byte("x")}))
	got, err := s.DirectoryUser(ctx, tenant, "ALICE@CONTOSO.COM")
	fixture.NoErr(t, err)
	fixture.Diff(t, "alice", alice, got, fixture.EquateEmpty)
	_, err = s.DirectoryUser(ctx, tenant, "carol@contoso.com")
	fixture.WantKind(t, err, openatp.NotFound)
	alice.Groups = []string{"g-ana", "g-sec"}
	alice.PasswordHash = []byte("h3")
	fixture.NoErr(t, s.UpdateDirectoryUser(ctx, tenant, alice))
	fixture.WantKind(t, s.UpdateDirectoryUser(ctx, tenant, openatp.DirectoryUser{ID: "u-9", UserName: "x@y"}), openatp.NotFound)
	users, err := s.DirectoryUsers(ctx, tenant)
	fixture.NoErr(t, err)
	fixture.Diff(t, "users by name", []openatp.DirectoryUser{alice, bob}, users, fixture.EquateEmpty)

	// Roles: replaced by name ignoring case, deleted.
	viewer := openatp.Role{Name: "Viewer", Permissions: []string{openatp.PermViewData}, UserGroups: []string{"g-ana"}}
	admin := openatp.Role{Name: openatp.AdminRoleName, Permissions: []string{}, UserGroups: []string{"g-sec"}}
	fixture.NoErr(t, s.PutRole(ctx, tenant, openatp.Role{Name: "viewer", Permissions: []string{openatp.PermLiveResponseBasic}}))
	fixture.NoErr(t, s.PutRole(ctx, tenant, viewer))
	fixture.NoErr(t, s.PutRole(ctx, tenant, admin))
	fixture.WantKind(t, s.PutRole(ctx, tenant, openatp.Role{Name: "Bad", Permissions: []string{"Fly"}}), openatp.Invalid)
	roles, err := s.Roles(ctx, tenant)
	fixture.NoErr(t, err)
	fixture.Diff(t, "roles", []openatp.Role{admin, viewer}, roles, fixture.EquateEmpty)
	fixture.NoErr(t, s.DeleteRole(ctx, tenant, "VIEWER"))
	fixture.WantKind(t, s.DeleteRole(ctx, tenant, "viewer"), openatp.NotFound)
	roles, err = s.Roles(ctx, other)
	fixture.NoErr(t, err)
	fixture.Diff(t, "other tenant's roles", []openatp.Role{}, roles, fixture.EquateEmpty)
}

func testGroupManagement(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	tenant := fixture.MustTenant(t, s, 1, "a.example")
	tag := func(v string) []openatp.RuleRow {
		return []openatp.RuleRow{{Property: openatp.RuleTag, Values: []string{v}}}
	}
	for i, name := range []string{"A", "B", "C", "D"} {
		fixture.NoErr(t, s.CreateGroup(ctx, tenant, openatp.DeviceGroup{ID: int64(i + 1), Name: name, Rank: i + 1, Rules: tag(name)}))
	}
	order := func() []string {
		t.Helper()
		gs, err := s.Groups(ctx, tenant)
		fixture.NoErr(t, err)
		var out []string
		for i, g := range gs {
			if g.Rank != i+1 {
				t.Errorf("group %s has rank %d at position %d", g.Name, g.Rank, i+1)
			}
			out = append(out, g.Name)
		}
		return out
	}
	// Move D to the top, then A to the bottom; change a rule and access.
	fixture.NoErr(t, s.UpdateGroup(ctx, tenant, openatp.DeviceGroup{ID: 4, Name: "D", Rank: 1, Rules: tag("D")}))
	fixture.Diff(t, "after moving D up", []string{"D", "A", "B", "C"}, order())
	fixture.NoErr(t, s.UpdateGroup(ctx, tenant, openatp.DeviceGroup{ID: 1, Name: "A2", Rank: 99, Rules: tag("x"), UserGroups: []string{"g1"}}))
	fixture.Diff(t, "after moving A down", []string{"D", "B", "C", "A2"}, order())
	gs, err := s.Groups(ctx, tenant)
	fixture.NoErr(t, err)
	fixture.Diff(t, "updated group", openatp.DeviceGroup{ID: 1, Name: "A2", Rank: 4, Rules: tag("x"), UserGroups: []string{"g1"}}, gs[3], fixture.EquateEmpty)
	fixture.WantKind(t, s.UpdateGroup(ctx, tenant, openatp.DeviceGroup{ID: 2, Name: "c", Rank: 1}), openatp.Conflict)
	fixture.WantKind(t, s.UpdateGroup(ctx, tenant, openatp.DeviceGroup{ID: 9, Name: "Z", Rank: 1}), openatp.NotFound)
	fixture.WantKind(t, s.UpdateGroup(ctx, tenant, openatp.DeviceGroup{ID: openatp.DefaultGroupID, Name: "Z", Rank: 1}), openatp.Conflict)
	fixture.NoErr(t, s.DeleteGroup(ctx, tenant, 2))
	fixture.WantKind(t, s.DeleteGroup(ctx, tenant, 2), openatp.NotFound)
	fixture.WantKind(t, s.DeleteGroup(ctx, tenant, openatp.DefaultGroupID), openatp.Conflict)
	fixture.Diff(t, "after delete", []string{"D", "C", "A2"}, order())

	// Membership follows the change at once.
	m := openatp.Machine{ID: "00000000000000000000000000000000000000aa", MachineTags: []string{"C", "D"}}
	fixture.NoErr(t, m.Normalize())
	fixture.NoErr(t, s.UpsertMachines(ctx, tenant, []openatp.Machine{m}))
	got, err := s.Machine(ctx, tenant, m.ID)
	fixture.NoErr(t, err)
	fixture.Diff(t, "group of a machine tagged C and D", "D", got.RBACGroupName)
	fixture.NoErr(t, s.UpdateGroup(ctx, tenant, openatp.DeviceGroup{ID: 3, Name: "C", Rank: 1, Rules: tag("C")}))
	got, err = s.Machine(ctx, tenant, m.ID)
	fixture.NoErr(t, err)
	fixture.Diff(t, "after re-ranking C first", "C", got.RBACGroupName)
	fixture.NoErr(t, s.DeleteGroup(ctx, tenant, 3))
	fixture.NoErr(t, s.DeleteGroup(ctx, tenant, 4))
	got, err = s.Machine(ctx, tenant, m.ID)
	fixture.NoErr(t, err)
	fixture.Diff(t, "after deleting both", openatp.DefaultGroupName, got.RBACGroupName)
}

func testContentVersion(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	tenant := fixture.MustTenant(t, s, 1, "a.example")
	other := fixture.MustTenant(t, s, 2, "b.example")
	cv := func(tenant string) uint64 {
		t.Helper()
		v, err := s.ContentVersion(ctx, tenant)
		fixture.NoErr(t, err)
		return v
	}
	v0, o0 := cv(tenant), cv(other)
	unknown, err := s.ContentVersion(ctx, fixture.TenantID(99))
	fixture.NoErr(t, err)
	fixture.Diff(t, "an unknown tenant's content version (that of a tenant without content)", o0, unknown)

	// RBAC writes and writes outside any tenant's content leave it alone...
	fixture.NoErr(t, s.CreateGroup(ctx, tenant, openatp.DeviceGroup{ID: 1, Name: "G", Rank: 1, Rules: []openatp.RuleRow{{Property: openatp.RuleTag, Values: []string{"x"}}}}))
	fixture.NoErr(t, s.UpdateGroup(ctx, tenant, openatp.DeviceGroup{ID: 1, Name: "G2", Rank: 1}))
	fixture.NoErr(t, s.PutRole(ctx, tenant, openatp.Role{Name: "R", Permissions: []string{openatp.PermViewData}}))
	fixture.NoErr(t, s.PutUserGroup(ctx, tenant, openatp.UserGroup{ID: "u", Name: "U"}))
	fixture.NoErr(t, s.CreateDirectoryUser(ctx, tenant, openatp.DirectoryUser{ID: "d", UserName: "d@x"}))
	fixture.NoErr(t, s.DeleteGroup(ctx, tenant, 1))
	fixture.NoErr(t, s.CreateApp(ctx, openatp.App{TenantID: tenant, ClientID: "c", Name: "app", Created: fixture.T0}))
	fixture.NoErr(t, s.AddSigningKey(ctx, openatp.SigningKey{ID: "cv", PrivatePEM: []byte("x"), Created: fixture.T0, Active: true}))
	fixture.NoErr(t, s.SetSetting(ctx, "cv", "1"))
	fixture.MustTenant(t, s, 3, "c.example")
	if v := cv(tenant); v != v0 {
		t.Errorf("writes outside the content changed the content version: %d → %d", v0, v)
	}

	// ...each write of the tenant's content changes it, and only its.
	m := openatp.Machine{ID: "00000000000000000000000000000000000000cc"}
	fixture.NoErr(t, m.Normalize())
	l := openatp.Logon{MachineID: m.ID, AccountName: "a", AccountDomain: "b", Timestamp: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	fixture.NoErr(t, l.Normalize())
	prev := v0
	for _, w := range []struct {
		name  string
		write func() error
	}{
		{"UpsertMachines", func() error { return s.UpsertMachines(ctx, tenant, []openatp.Machine{m}) }},
		{"AddLogons", func() error { return s.AddLogons(ctx, tenant, []openatp.Logon{l}) }},
		{"WriteBatch", func() error {
			later := l
			later.Timestamp = later.Timestamp.Add(time.Hour)
			return s.WriteBatch(ctx, tenant, func(w openatp.BatchWriter) error { return w.AddLogons([]openatp.Logon{later}) })
		}},
		{"DeleteMachine", func() error { return s.DeleteMachine(ctx, tenant, m.ID) }},
		{"ResetTenant", func() error { return s.ResetTenant(ctx, tenant) }},
	} {
		if w.name == "WriteBatch" || w.name == "DeleteMachine" {
			fixture.NoErr(t, s.UpsertMachines(ctx, tenant, []openatp.Machine{m}))
			prev = cv(tenant)
		}
		fixture.NoErr(t, w.write())
		v := cv(tenant)
		if v == prev {
			t.Errorf("%s did not change the content version", w.name)
		}
		prev = v
	}
	if o := cv(other); o != o0 {
		t.Errorf("writes to another tenant changed the content version: %d → %d", o0, o)
	}

	t.Run("a write of the previous version changes every tenant's", func(t *testing.T) {
		if su.PreviousWrite == nil {
			t.Skip("no WithPreviousVersionWrite")
		}
		before, otherBefore := cv(tenant), cv(other)
		su.PreviousWrite(t, s)
		if cv(tenant) == before || cv(other) == otherBefore {
			t.Error("a write of the previous version did not change every tenant's content version")
		}
	})
	t.Run("a failed write changes nothing", func(t *testing.T) {
		before := cv(tenant)
		bad := l
		bad.MachineID = "00000000000000000000000000000000000000dd" // not in the tenant
		fixture.WantKind(t, s.AddLogons(ctx, tenant, []openatp.Logon{bad}), openatp.Invalid)
		if v := cv(tenant); v != before {
			t.Errorf("a failed AddLogons changed the content version: %d → %d", before, v)
		}
	})
}
