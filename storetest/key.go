package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

func testSigningKeys(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	ks, err := s.SigningKeys(ctx)
	fixture.NoErr(t, err)
	if len(ks) != 0 {
		t.Fatalf("a new store has keys: %v", ks)
	}
	k1 := openatp.SigningKey{ID: "k1", PrivatePEM: []byte("pem 1"), Created: fixture.At(1), Active: true}
	k2 := openatp.SigningKey{ID: "k2", PrivatePEM: []byte("pem 2"), Created: fixture.At(2), Active: false}
	k3 := openatp.SigningKey{ID: "k3", PrivatePEM: []byte("pem 3"), Created: fixture.At(3), Active: true}
	fixture.NoErr(t, s.AddSigningKey(ctx, k1))
	fixture.NoErr(t, s.AddSigningKey(ctx, k2))
	ks, err = s.SigningKeys(ctx)
	fixture.NoErr(t, err)
	fixture.Diff(t, "keys", []openatp.SigningKey{k2, k1}, ks)

	fixture.NoErr(t, s.AddSigningKey(ctx, k3))
	ks, err = s.SigningKeys(ctx)
	fixture.NoErr(t, err)
	k1.Active = false
	fixture.Diff(t, "keys after activating k3", []openatp.SigningKey{k3, k2, k1}, ks)

	fixture.WantKind(t, s.AddSigningKey(ctx, openatp.SigningKey{ID: "k1", PrivatePEM: []byte("x"), Created: fixture.At(4), Active: true}), openatp.Conflict)
	ks, err = s.SigningKeys(ctx)
	fixture.NoErr(t, err)
	fixture.Diff(t, "keys after a conflict", []openatp.SigningKey{k3, k2, k1}, ks)
}

func testSettings(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	_, err := s.Setting(ctx, "admin_key")
	fixture.WantKind(t, err, openatp.NotFound)

	fixture.NoErr(t, s.SetSetting(ctx, "a", "1"))
	fixture.NoErr(t, s.SetSetting(ctx, "a", "2"))
	v, err := s.Setting(ctx, "a")
	fixture.NoErr(t, err)
	fixture.Diff(t, "a", "2", v)

	v, err = s.SetSettingIfAbsent(ctx, "a", "3")
	fixture.NoErr(t, err)
	fixture.Diff(t, "SetSettingIfAbsent of a set value", "2", v)
	v, err = s.SetSettingIfAbsent(ctx, "b", "")
	fixture.NoErr(t, err)
	fixture.Diff(t, "SetSettingIfAbsent of an empty value", "", v)
	v, err = s.Setting(ctx, "b")
	fixture.NoErr(t, err)
	fixture.Diff(t, "b", "", v)

	fixture.NoErr(t, s.SetSetting(ctx, "external_issuer:https://a.example/", "A"))
	fixture.NoErr(t, s.SetSetting(ctx, "external_issuer:https://b.example/%_", "B"))
	fixture.NoErr(t, s.SetSetting(ctx, "external_issue", "not under the prefix"))
	all, err := s.Settings(ctx, "")
	fixture.NoErr(t, err)
	fixture.Diff(t, "Settings(\"\")", map[string]string{"a": "2", "b": "", "external_issuer:https://a.example/": "A",
		"external_issuer:https://b.example/%_": "B", "external_issue": "not under the prefix"}, all)
	some, err := s.Settings(ctx, "external_issuer:")
	fixture.NoErr(t, err)
	fixture.Diff(t, "Settings(prefix)", map[string]string{"external_issuer:https://a.example/": "A", "external_issuer:https://b.example/%_": "B"}, some)
	some, err = s.Settings(ctx, "%")
	fixture.NoErr(t, err)
	fixture.Diff(t, "Settings of a prefix matching none (no LIKE patterns)", map[string]string{}, some)

	t.Run("concurrent SetSettingIfAbsent", func(t *testing.T) {
		stores := []openatp.Store{s}
		if su.Reopen != nil {
			stores = append(stores, su.Reopen(t, s))
		}
		const n = 8
		got := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errs[i] = stores[i%len(stores)].SetSettingIfAbsent(ctx, "race", fmt.Sprint("value ", i))
			}()
		}
		wg.Wait()
		for i := range n {
			fixture.NoErr(t, errs[i])
			if got[i] != got[0] {
				t.Fatalf("callers disagree: %q", got)
			}
		}
		v, err := s.Setting(ctx, "race")
		fixture.NoErr(t, err)
		fixture.Diff(t, "stored value", got[0], v)
	})
}

func testDataVersion(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	version := func(t *testing.T, s openatp.Store) uint64 {
		t.Helper()
		v, err := s.DataVersion(ctx)
		fixture.NoErr(t, err)
		return v
	}
	fixture.NoErr(t, s.Ping(ctx))
	tenant := fixture.TenantID(1)
	writes := []struct {
		name  string
		write func(s openatp.Store) error
	}{
		{"CreateTenant", func(s openatp.Store) error {
			return s.CreateTenant(ctx, openatp.Tenant{ID: tenant, Name: "a.example", Created: fixture.T0})
		}},
		{"CreateApp", func(s openatp.Store) error {
			return s.CreateApp(ctx, openatp.App{TenantID: tenant, ClientID: "c", Name: "app", Created: fixture.T0})
		}},
		{"UpsertMachines", func(s openatp.Store) error {
			m := fullMachine(1)
			fixture.NoErr(t, m.Normalize())
			return s.UpsertMachines(ctx, tenant, []openatp.Machine{m})
		}},
		{"AddLogons", func(s openatp.Store) error {
			return s.AddLogons(ctx, tenant, []openatp.Logon{fixture.Logon("contoso", "alice", 1, 1, "Network")})
		}},
		{"AddLogons later", func(s openatp.Store) error {
			return s.AddLogons(ctx, tenant, []openatp.Logon{fixture.Logon("contoso", "alice", 1, 2, "Network")})
		}},
		{"CreateGroup", func(s openatp.Store) error {
			return s.CreateGroup(ctx, tenant, openatp.DeviceGroup{ID: 1, Name: "G", Rank: 1})
		}},
		{"AddSigningKey", func(s openatp.Store) error {
			return s.AddSigningKey(ctx, openatp.SigningKey{ID: "k", PrivatePEM: []byte("pem"), Created: fixture.T0, Active: true})
		}},
		{"SetSetting", func(s openatp.Store) error { return s.SetSetting(ctx, "a", "1") }},
		{"SetSettingIfAbsent", func(s openatp.Store) error {
			_, err := s.SetSettingIfAbsent(ctx, "b", "1")
			return err
		}},
		{"ResetTenant", func(s openatp.Store) error { return s.ResetTenant(ctx, tenant) }},
	}
	readAll := func(t *testing.T, s openatp.Store) {
		t.Helper()
		_, _ = s.Tenant(ctx, tenant)
		_, _ = s.Tenants(ctx)
		_, _ = s.Apps(ctx, tenant)
		_, _ = s.Machine(ctx, tenant, fixture.MachineID(1))
		_, _ = s.UserMachines(ctx, tenant, openatp.UserRef{Name: "alice"})
		_, _ = s.Groups(ctx, tenant)
		_ = s.Snapshot(ctx, tenant, func(openatp.Machine) error { return nil }, func(openatp.UserMachine) error { return nil })
		_, _ = s.SigningKeys(ctx)
		_, _ = s.Setting(ctx, "a")
		fixture.NoErr(t, s.Ping(ctx))
	}
	run := func(t *testing.T, writer, reader openatp.Store) {
		seen := map[uint64]string{}
		v := version(t, reader)
		seen[v] = "start"
		for _, w := range writes {
			fixture.NoErr(t, w.write(writer))
			nv := version(t, reader)
			if prev, ok := seen[nv]; ok {
				t.Errorf("after %s: version %d, as after %s", w.name, nv, prev)
			}
			seen[nv] = w.name
			readAll(t, reader)
			readAll(t, writer)
			if again := version(t, reader); again != nv {
				t.Errorf("after %s and reads only: version %d, then %d", w.name, nv, again)
			}
		}
	}
	t.Run("one store", func(t *testing.T) { run(t, s, s) })
	if su.Reopen == nil {
		return
	}
	t.Run("written through another store", func(t *testing.T) {
		s := su.Open(t)
		run(t, su.Reopen(t, s), s)
	})
	t.Run("written through this store, read by another", func(t *testing.T) {
		s := su.Open(t)
		run(t, s, su.Reopen(t, s))
	})
}
