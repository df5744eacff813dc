package storetest

import (
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

func testTenants(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := openatp.Tenant{ID: fixture.TenantID(1), Name: "Contoso.example", Created: fixture.T0}
	b := openatp.Tenant{ID: fixture.TenantID(2), Name: "beta.example", Created: fixture.At(1)}
	fixture.NoErr(t, s.CreateTenant(ctx, a))
	fixture.NoErr(t, s.CreateTenant(ctx, b))

	for _, key := range []string{a.ID, "Contoso.example", "contoso.EXAMPLE"} {
		got, err := s.Tenant(ctx, key)
		fixture.NoErr(t, err)
		fixture.Diff(t, "Tenant("+key+")", a, got)
	}
	_, err := s.Tenant(ctx, "unknown.example")
	fixture.WantKind(t, err, openatp.NotFound)
	_, err = s.Tenant(ctx, fixture.TenantID(3))
	fixture.WantKind(t, err, openatp.NotFound)

	for _, tc := range []struct {
		name string
		t    openatp.Tenant
		kind openatp.Kind
	}{
		{"same id", openatp.Tenant{ID: a.ID, Name: "other.example"}, openatp.Conflict},
		{"same name", openatp.Tenant{ID: fixture.TenantID(3), Name: a.Name}, openatp.Conflict},
		{"same name ignoring case", openatp.Tenant{ID: fixture.TenantID(3), Name: "CONTOSO.example"}, openatp.Conflict},
		{"no id", openatp.Tenant{Name: "x.example"}, openatp.Invalid},
		{"no name", openatp.Tenant{ID: fixture.TenantID(3)}, openatp.Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fixture.WantKind(t, s.CreateTenant(ctx, tc.t), tc.kind)
		})
	}

	// Tenants are ordered by name in byte order: upper case first.
	got, err := s.Tenants(ctx)
	fixture.NoErr(t, err)
	fixture.Diff(t, "Tenants", []openatp.Tenant{a, b}, got)

	// A zero Created is stamped by the store.
	fixture.NoErr(t, s.CreateTenant(ctx, openatp.Tenant{ID: fixture.TenantID(4), Name: "stamped.example"}))
	c, err := s.Tenant(ctx, fixture.TenantID(4))
	fixture.NoErr(t, err)
	if c.Created.IsZero() {
		t.Errorf("Created of a tenant stored without one is zero")
	}
}

func testApps(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	ta := fixture.MustTenant(t, s, 1, "a.example")
	tb := fixture.MustTenant(t, s, 2, "b.example")
	app := func(tenant, client, name string) openatp.App {
		return openatp.App{
			TenantID: tenant, ClientID: client, ObjectID: "obj-" + client, Name: name,
			SecretHash: []byte{0, 1, 2, 0xff}, Roles: []string{openatp.PermMachineReadAll}, Scopes: []string{openatp.PermMachineRead, openatp.PermMachineReadWrite},
			Created: fixture.T0,
		}
	}
	a1 := app(ta, "client-2", "alpha")
	a2 := app(ta, "client-1", "zulu")
	a3 := app(ta, "client-3", "alpha") // same name as a1: ordered by client id after it
	a3.Roles, a3.Scopes = nil, []string{}
	b1 := app(tb, "client-4", "beta")
	for _, a := range []openatp.App{a1, a2, a3, b1} {
		fixture.NoErr(t, s.CreateApp(ctx, a))
	}

	got, err := s.App(ctx, ta, "client-2")
	fixture.NoErr(t, err)
	fixture.Diff(t, "App", a1, got)
	got, err = s.App(ctx, ta, "client-3")
	fixture.NoErr(t, err)
	fixture.Diff(t, "App without permissions", a3, got, fixture.EquateEmpty)

	list, err := s.Apps(ctx, ta)
	fixture.NoErr(t, err)
	fixture.Diff(t, "Apps", []openatp.App{a1, a3, a2}, list, fixture.EquateEmpty)
	list, err = s.Apps(ctx, tb)
	fixture.NoErr(t, err)
	fixture.Diff(t, "Apps of b", []openatp.App{b1}, list, fixture.EquateEmpty)

	t.Run("errors", func(t *testing.T) {
		_, err := s.App(ctx, tb, "client-2") // exists, in another tenant
		fixture.WantKind(t, err, openatp.NotFound)
		_, err = s.App(ctx, ta, "client-9")
		fixture.WantKind(t, err, openatp.NotFound)
		fixture.WantKind(t, s.CreateApp(ctx, app(ta, "client-1", "again")), openatp.Conflict)
		fixture.WantKind(t, s.CreateApp(ctx, app(tb, "client-1", "again")), openatp.Conflict) // client ids are global
		fixture.WantKind(t, s.CreateApp(ctx, app(fixture.TenantID(9), "client-9", "orphan")), openatp.NotFound)
		_, err = s.Apps(ctx, fixture.TenantID(9))
		fixture.WantKind(t, err, openatp.NotFound)
	})
}
