package storetest

import (
	"testing"

	"github.com/openatp/openatp"
)

func testTenants(t *testing.T, su *suite) {
	s := su.open(t)
	a := openatp.Tenant{ID: tenantID(1), Name: "Contoso.example", Created: t0}
	b := openatp.Tenant{ID: tenantID(2), Name: "beta.example", Created: at(1)}
	noErr(t, s.CreateTenant(ctx, a))
	noErr(t, s.CreateTenant(ctx, b))

	for _, key := range []string{a.ID, "Contoso.example", "contoso.EXAMPLE"} {
		got, err := s.Tenant(ctx, key)
		noErr(t, err)
		diff(t, "Tenant("+key+")", a, got)
	}
	_, err := s.Tenant(ctx, "unknown.example")
	wantKind(t, err, openatp.NotFound)
	_, err = s.Tenant(ctx, tenantID(3))
	wantKind(t, err, openatp.NotFound)

	for _, tc := range []struct {
		name string
		t    openatp.Tenant
		kind openatp.Kind
	}{
		{"same id", openatp.Tenant{ID: a.ID, Name: "other.example"}, openatp.Conflict},
		{"same name", openatp.Tenant{ID: tenantID(3), Name: a.Name}, openatp.Conflict},
		{"same name ignoring case", openatp.Tenant{ID: tenantID(3), Name: "CONTOSO.example"}, openatp.Conflict},
		{"no id", openatp.Tenant{Name: "x.example"}, openatp.Invalid},
		{"no name", openatp.Tenant{ID: tenantID(3)}, openatp.Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantKind(t, s.CreateTenant(ctx, tc.t), tc.kind)
		})
	}

	// Tenants are ordered by name in byte order: upper case first.
	got, err := s.Tenants(ctx)
	noErr(t, err)
	diff(t, "Tenants", []openatp.Tenant{a, b}, got)

	// A zero Created is stamped by the store.
	noErr(t, s.CreateTenant(ctx, openatp.Tenant{ID: tenantID(4), Name: "stamped.example"}))
	c, err := s.Tenant(ctx, tenantID(4))
	noErr(t, err)
	if c.Created.IsZero() {
		t.Errorf("Created of a tenant stored without one is zero")
	}
}

func testApps(t *testing.T, su *suite) {
	s := su.open(t)
	ta := mustTenant(t, s, 1, "a.example")
	tb := mustTenant(t, s, 2, "b.example")
	app := func(tenant, client, name string) openatp.App {
		return openatp.App{
			TenantID: tenant, ClientID: client, ObjectID: "obj-" + client, Name: name,
			SecretHash: []byte{0, 1, 2, 0xff}, Roles: []string{openatp.PermMachineReadAll}, Scopes: []string{openatp.PermMachineRead, openatp.PermMachineReadWrite},
			Created: t0,
		}
	}
	a1 := app(ta, "client-2", "alpha")
	a2 := app(ta, "client-1", "zulu")
	a3 := app(ta, "client-3", "alpha") // same name as a1: ordered by client id after it
	a3.Roles, a3.Scopes = nil, []string{}
	b1 := app(tb, "client-4", "beta")
	for _, a := range []openatp.App{a1, a2, a3, b1} {
		noErr(t, s.CreateApp(ctx, a))
	}

	got, err := s.App(ctx, ta, "client-2")
	noErr(t, err)
	diff(t, "App", a1, got)
	got, err = s.App(ctx, ta, "client-3")
	noErr(t, err)
	diff(t, "App without permissions", a3, got, equateEmpty)

	list, err := s.Apps(ctx, ta)
	noErr(t, err)
	diff(t, "Apps", []openatp.App{a1, a3, a2}, list, equateEmpty)
	list, err = s.Apps(ctx, tb)
	noErr(t, err)
	diff(t, "Apps of b", []openatp.App{b1}, list, equateEmpty)

	t.Run("errors", func(t *testing.T) {
		_, err := s.App(ctx, tb, "client-2") // exists, in another tenant
		wantKind(t, err, openatp.NotFound)
		_, err = s.App(ctx, ta, "client-9")
		wantKind(t, err, openatp.NotFound)
		wantKind(t, s.CreateApp(ctx, app(ta, "client-1", "again")), openatp.Conflict)
		wantKind(t, s.CreateApp(ctx, app(tb, "client-1", "again")), openatp.Conflict) // client ids are global
		wantKind(t, s.CreateApp(ctx, app(tenantID(9), "client-9", "orphan")), openatp.NotFound)
		_, err = s.Apps(ctx, tenantID(9))
		wantKind(t, err, openatp.NotFound)
	})
}
