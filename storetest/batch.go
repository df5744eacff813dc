package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

// testWriteBatch: a batch commits as one, across any number of writes.
func testWriteBatch(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	tenant := fixture.MustTenant(t, s, 1, "a.example")
	other := fixture.MustTenant(t, s, 2, "b.example")
	fixture.MustMachines(t, s, tenant, 1)

	t.Run("concurrent batches writing the same machines in opposite orders", func(t *testing.T) {
		// Each writes one machine, waits, then the other: were the two
		// transactions to run side by side, each would wait for a row the
		// other holds. Both must commit.
		fixture.MustMachines(t, s, tenant, 0x51, 0x52)
		one := func(n int) []openatp.Machine {
			m := openatp.Machine{ID: fixture.MachineID(n), ComputerDNSName: openatp.Ptr("batch.contoso.com")}
			fixture.NoErr(t, m.Normalize())
			return []openatp.Machine{m}
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, order := range [][2]int{{0x51, 0x52}, {0x52, 0x51}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.WriteBatch(ctx, tenant, func(w openatp.BatchWriter) error {
					if err := w.UpsertMachines(one(order[0])); err != nil {
						return err
					}
					time.Sleep(100 * time.Millisecond)
					return w.UpsertMachines(one(order[1]))
				})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("batch %d: %v", i, err)
			}
		}
	})

	t.Run("commits every write", func(t *testing.T) {
		v0, err := s.DataVersion(ctx)
		fixture.NoErr(t, err)
		buf := make([]openatp.Machine, 1)
		err = s.WriteBatch(ctx, tenant, func(w openatp.BatchWriter) error {
			for _, n := range []int{2, 3} {
				buf[0] = openatp.Machine{ID: fixture.MachineID(n)} // the slice is reused
				fixture.NoErr(t, buf[0].Normalize())
				if err := w.UpsertMachines(buf); err != nil {
					return err
				}
			}
			// Logons may name machines of the same batch, and of before.
			if err := w.AddLogons([]openatp.Logon{fixture.Logon("contoso", "alice", 2, 1, "Network"), fixture.Logon("contoso", "alice", 1, 2, "")}); err != nil {
				return err
			}
			return w.AddLogons([]openatp.Logon{fixture.Logon("contoso", "ALICE", 3, 3, "Batch"), fixture.Logon("contoso", "alice", 2, 0, "Interactive")})
		})
		fixture.NoErr(t, err)
		fixture.Diff(t, "alice", fixture.MachineIDs(1, 2, 3), fixture.UserMachineIDs(t, s, tenant, openatp.UserRef{Name: "alice"}))
		_, rels := fixture.Snapshot(t, s, tenant)
		fixture.Diff(t, "relation 2", openatp.UserMachine{AccountName: "alice", AccountDomain: "contoso", AccountSID: "S-1-5-21-alice", MachineID: fixture.MachineID(2),
			FirstSeen: fixture.At(0), LastSeen: fixture.At(1), LogonTypes: []string{"Interactive", "Network"}}, rels[1], fixture.EquateEmpty)
		v1, err := s.DataVersion(ctx)
		fixture.NoErr(t, err)
		if v1 == v0 {
			t.Errorf("DataVersion did not change: %d", v1)
		}
	})

	t.Run("all or nothing", func(t *testing.T) {
		before, beforeRels := fixture.Snapshot(t, s, tenant)
		stop := errors.New("stop")
		for _, tc := range []struct {
			name  string
			f     func(w openatp.BatchWriter) error
			kind  openatp.Kind
			index int
		}{
			{"f fails", func(w openatp.BatchWriter) error {
				mustWrite(t, w.UpsertMachines([]openatp.Machine{{ID: fixture.MachineID(9), MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}}}))
				mustWrite(t, w.AddLogons([]openatp.Logon{fixture.Logon("contoso", "bob", 9, 1, "")}))
				return stop
			}, openatp.Internal, -1},
			{"a bad machine", func(w openatp.BatchWriter) error {
				mustWrite(t, w.UpsertMachines([]openatp.Machine{{ID: fixture.MachineID(9), MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}}}))
				mustWrite(t, w.AddLogons([]openatp.Logon{fixture.Logon("contoso", "bob", 9, 1, "")}))
				return w.UpsertMachines([]openatp.Machine{{ID: fixture.MachineID(10)}, {ID: "bad"}})
			}, openatp.Invalid, 1},
			{"a logon of an unknown machine", func(w openatp.BatchWriter) error {
				mustWrite(t, w.UpsertMachines([]openatp.Machine{{ID: fixture.MachineID(9), MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}}}))
				return w.AddLogons([]openatp.Logon{fixture.Logon("contoso", "bob", 9, 1, ""), fixture.Logon("contoso", "bob", 1, 1, ""), fixture.Logon("contoso", "bob", 99, 1, "")})
			}, openatp.Invalid, 2},
			{"a logon of another tenant's machine", func(w openatp.BatchWriter) error {
				return w.AddLogons([]openatp.Logon{fixture.Logon("contoso", "bob", 1, 1, ""), fixture.Logon("contoso", "bob", 5, 1, "")})
			}, openatp.Invalid, 1},
			{"an error ignored by f", func(w openatp.BatchWriter) error {
				mustWrite(t, w.UpsertMachines([]openatp.Machine{{ID: fixture.MachineID(9), MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}}}))
				_ = w.AddLogons([]openatp.Logon{{MachineID: fixture.MachineID(9), AccountName: "x"}})
				return nil
			}, openatp.Invalid, 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				fixture.MustMachines(t, s, other, 5)
				err := s.WriteBatch(ctx, tenant, tc.f)
				if tc.kind == openatp.Internal {
					if !errors.Is(err, stop) {
						t.Fatalf("got %v, want f's error", err)
					}
				} else {
					fixture.WantKind(t, err, tc.kind)
					if i, ok := openatp.ItemIndex(err); !ok || i != tc.index {
						t.Errorf("ItemIndex(%v) = %d, %v, want %d", err, i, ok, tc.index)
					}
				}
				ms, rels := fixture.Snapshot(t, s, tenant)
				fixture.Diff(t, "machines", before, ms)
				fixture.Diff(t, "relations", beforeRels, rels)
				// Nothing of the batch lingers in a cache either.
				err = s.AddLogons(ctx, tenant, []openatp.Logon{fixture.Logon("contoso", "bob", 9, 1, "")})
				fixture.WantKind(t, err, openatp.Invalid)
				_, err = s.UserMachines(ctx, tenant, openatp.UserRef{Name: "bob"})
				fixture.WantKind(t, err, openatp.NotFound)
			})
		}
	})

	t.Run("unknown tenant", func(t *testing.T) {
		called := false
		err := s.WriteBatch(ctx, fixture.TenantID(9), func(openatp.BatchWriter) error { called = true; return nil })
		fixture.WantKind(t, err, openatp.NotFound)
		if called {
			t.Error("f was called for an unknown tenant")
		}
	})

	t.Run("UpsertMachines and AddLogons name the item", func(t *testing.T) {
		err := s.UpsertMachines(ctx, tenant, []openatp.Machine{{ID: fixture.MachineID(20)}, {ID: fixture.MachineID(21), HealthStatus: openatp.Ptr("Fine")}})
		fixture.WantKind(t, err, openatp.Invalid)
		if i, ok := openatp.ItemIndex(err); !ok || i != 1 {
			t.Errorf("ItemIndex(%v) = %d, %v, want 1", err, i, ok)
		}
		wantField(t, err, "healthStatus")
		err = s.AddLogons(ctx, tenant, []openatp.Logon{fixture.Logon("contoso", "bob", 1, 1, ""), fixture.Logon("contoso", "bob", 77, 1, "")})
		fixture.WantKind(t, err, openatp.Invalid)
		if i, ok := openatp.ItemIndex(err); !ok || i != 1 {
			t.Errorf("ItemIndex(%v) = %d, %v, want 1", err, i, ok)
		}
		wantField(t, err, "machineId")
	})
}

// wantField checks that err carries, as a typed value, the field at fault.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var fe *openatp.FieldError
	if !errors.As(err, &fe) || fe.Field != field {
		t.Errorf("%v: want an *openatp.FieldError of field %q, got %#v", err, field, fe)
	}
}

func mustWrite(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("write in the batch: %v", err)
	}
}

func testDeleteMachine(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	tenant := fixture.MustTenant(t, s, 1, "a.example")
	other := fixture.MustTenant(t, s, 2, "b.example")
	fixture.MustMachines(t, s, tenant, 1, 2, 3)
	fixture.MustMachines(t, s, other, 1)
	fixture.MustLogons(t, s, tenant,
		fixture.Logon("contoso", "alice", 1, 1, "Network"), fixture.Logon("contoso", "alice", 2, 1, "Network"),
		fixture.Logon("contoso", "bob", 2, 1, "Network"),
		fixture.Logon("contoso", "carol", 3, 1, "Network"))
	fixture.MustLogons(t, s, other, fixture.Logon("contoso", "bob", 1, 1, "Network"))
	v0, err := s.DataVersion(ctx)
	fixture.NoErr(t, err)

	fixture.NoErr(t, s.DeleteMachine(ctx, tenant, fixture.MachineID(2)))

	if _, err := s.Machine(ctx, tenant, fixture.MachineID(2)); !openatp.IsKind(err, openatp.NotFound) {
		t.Errorf("Machine after delete: %v, want NotFound", err)
	}
	fixture.Diff(t, "alice", fixture.MachineIDs(1), fixture.UserMachineIDs(t, s, tenant, openatp.UserRef{Name: "alice"}))
	_, err = s.UserMachines(ctx, tenant, openatp.UserRef{Name: "bob"})
	fixture.WantKind(t, err, openatp.NotFound)
	fixture.Diff(t, "bob of the other tenant", fixture.MachineIDs(1), fixture.UserMachineIDs(t, s, other, openatp.UserRef{Name: "bob"}))
	st, err := s.TenantStats(ctx, tenant)
	fixture.NoErr(t, err)
	fixture.Diff(t, "stats", openatp.TenantStats{Machines: 2, Users: 2, Relations: 2}, st)
	v1, err := s.DataVersion(ctx)
	fixture.NoErr(t, err)
	if v1 == v0 {
		t.Error("DataVersion did not change")
	}

	fixture.WantKind(t, s.DeleteMachine(ctx, tenant, fixture.MachineID(2)), openatp.NotFound)
	fixture.WantKind(t, s.DeleteMachine(ctx, fixture.TenantID(9), fixture.MachineID(1)), openatp.NotFound)

	t.Run("the id can come back", func(t *testing.T) {
		// A store that remembers keys must not use the deleted ones.
		fixture.MustMachines(t, s, tenant, 2)
		fixture.MustLogons(t, s, tenant, fixture.Logon("contoso", "bob", 2, 5, "Batch"))
		fixture.Diff(t, "bob", fixture.MachineIDs(2), fixture.UserMachineIDs(t, s, tenant, openatp.UserRef{Name: "bob"}))
		st, err := s.TenantStats(ctx, tenant)
		fixture.NoErr(t, err)
		fixture.Diff(t, "stats", openatp.TenantStats{Machines: 3, Users: 3, Relations: 3}, st)
	})
}

func testTenantStats(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	tenant := fixture.MustTenant(t, s, 1, "a.example")
	other := fixture.MustTenant(t, s, 2, "b.example")
	st, err := s.TenantStats(ctx, tenant)
	fixture.NoErr(t, err)
	fixture.Diff(t, "empty", openatp.TenantStats{}, st)
	fixture.MustMachines(t, s, tenant, 1, 2, 3)
	fixture.MustMachines(t, s, other, 1)
	fixture.MustLogons(t, s, tenant,
		fixture.Logon("contoso", "alice", 1, 1, "Network"), fixture.Logon("CONTOSO", "Alice", 2, 1, "Network"),
		fixture.Logon("fabrikam", "alice", 2, 1, "Network"))
	fixture.MustLogons(t, s, other, fixture.Logon("contoso", "bob", 1, 1, "Network"))
	fixture.NoErr(t, s.CreateGroup(ctx, tenant, openatp.DeviceGroup{ID: 1, Name: "G", Rank: 1}))
	st, err = s.TenantStats(ctx, tenant)
	fixture.NoErr(t, err)
	fixture.Diff(t, "stats", openatp.TenantStats{Machines: 3, Users: 2, Relations: 3, Groups: 1}, st)
	_, err = s.TenantStats(ctx, fixture.TenantID(9))
	fixture.WantKind(t, err, openatp.NotFound)
	fixture.NoErr(t, s.ResetTenant(ctx, tenant))
	st, err = s.TenantStats(ctx, tenant)
	fixture.NoErr(t, err)
	fixture.Diff(t, "after reset", openatp.TenantStats{}, st)
}
