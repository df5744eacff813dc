package storetest

import (
	"errors"
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/hunting"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

// logonEvents reads the tenant's logon events in [from, to) of a store
// that keeps them (hunting.LogonEventStore: every engine must).
func logonEvents(t *testing.T, s openatp.Store, tenant string, from, to int) []openatp.Logon {
	t.Helper()
	ls, err := readLogonEvents(t, s, tenant, from, to)
	fixture.NoErr(t, err)
	return ls
}

func readLogonEvents(t *testing.T, s openatp.Store, tenant string, from, to int) ([]openatp.Logon, error) {
	t.Helper()
	es, ok := s.(hunting.LogonEventStore)
	if !ok {
		t.Fatalf("the store %T does not keep logon events (hunting.LogonEventStore)", s)
	}
	ls := []openatp.Logon{}
	err := es.LogonEvents(ctx, tenant, fixture.At(from), fixture.At(to), func(l openatp.Logon) error {
		ls = append(ls, l)
		return nil
	})
	return ls, err
}

// testLogonEvents: the logon events themselves are kept beside the
// relations, once each, read back in time order over a time range, from
// AddLogons and WriteBatch alike; a tenant reads only its own.
func testLogonEvents(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "a.example")
	b := fixture.MustTenant(t, s, 2, "b.example")
	fixture.MustMachines(t, s, a, 1, 2)
	fixture.MustMachines(t, s, b, 1)
	events := []openatp.Logon{
		fixture.Logon("Contoso", "Alice", 1, 5, "Network"),
		fixture.Logon("CONTOSO", "alice", 1, 2, "Interactive"),
		fixture.Logon("Contoso", "Alice", 2, 7, ""),
		fixture.Logon("Contoso", "Alice", 1, 5, "Interactive"), // same time, another type: another event
	}
	events[0].AccountSID = ""
	fixture.MustLogons(t, s, a, events...)
	fixture.MustLogons(t, s, b, fixture.Logon("Fabrikam", "bob", 1, 3, "Batch"))
	want := []openatp.Logon{events[1], events[3], events[0], events[2]} // by time
	fixture.Diff(t, "A's logon events", want, logonEvents(t, s, a, 0, 100))
	fixture.Diff(t, "events in [5h, 7h)", []openatp.Logon{events[3], events[0]}, logonEvents(t, s, a, 5, 7))
	fixture.Diff(t, "B's logon events", []openatp.Logon{fixture.Logon("Fabrikam", "bob", 1, 3, "Batch")}, logonEvents(t, s, b, 0, 100))

	t.Run("idempotent", func(t *testing.T) {
		fixture.MustLogons(t, s, a, events...)
		fixture.MustLogons(t, s, a, events[2], events[0])
		fixture.Diff(t, "logon events after re-adding", want, logonEvents(t, s, a, 0, 100))
	})
	t.Run("WriteBatch", func(t *testing.T) {
		l := fixture.Logon("lab", "carol", 2, 50, "RemoteInteractive")
		fixture.NoErr(t, s.WriteBatch(ctx, a, func(w openatp.BatchWriter) error {
			if err := w.UpsertMachines([]openatp.Machine{{ID: fixture.MachineID(3)}}); err != nil {
				return err
			}
			return w.AddLogons([]openatp.Logon{l, fixture.Logon("lab", "carol", 3, 51, "Service")})
		}))
		fixture.Diff(t, "events of the batch", []openatp.Logon{l, fixture.Logon("lab", "carol", 3, 51, "Service")}, logonEvents(t, s, a, 50, 60))
	})
	t.Run("unknown tenant", func(t *testing.T) {
		_, err := readLogonEvents(t, s, fixture.TenantID(99), 0, 100)
		fixture.WantKind(t, err, openatp.NotFound)
	})
	t.Run("yield stops the read", func(t *testing.T) {
		stop := errors.New("enough")
		n := 0
		err := s.(hunting.LogonEventStore).LogonEvents(ctx, a, fixture.At(0), fixture.At(100), func(openatp.Logon) error {
			n++
			return stop
		})
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("LogonEvents: %v after %d events, want the yield's error after 1", err, n)
		}
	})
	t.Run("reset", func(t *testing.T) {
		fixture.NoErr(t, s.ResetTenant(ctx, b))
		fixture.Diff(t, "B's logon events after the reset", []openatp.Logon{}, logonEvents(t, s, b, 0, 100))
	})
}

// testLogonEventsAllOrNothing: a batch that fails keeps none of its
// events, whether AddLogons or a WriteBatch fails.
func testLogonEventsAllOrNothing(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "a.example")
	fixture.MustMachines(t, s, a, 1)
	err := s.AddLogons(ctx, a, []openatp.Logon{fixture.Logon("Contoso", "alice", 1, 1, "Network"), fixture.Logon("Contoso", "alice", 9, 2, "Network")})
	fixture.WantKind(t, err, openatp.Invalid)
	fixture.Diff(t, "events after a failed AddLogons", []openatp.Logon{}, logonEvents(t, s, a, 0, 100))
	err = s.WriteBatch(ctx, a, func(w openatp.BatchWriter) error {
		if err := w.AddLogons([]openatp.Logon{fixture.Logon("Contoso", "alice", 1, 1, "Network")}); err != nil {
			return err
		}
		return w.AddLogons([]openatp.Logon{fixture.Logon("Contoso", "alice", 9, 2, "Network")})
	})
	fixture.WantKind(t, err, openatp.Invalid)
	fixture.Diff(t, "events after a failed WriteBatch", []openatp.Logon{}, logonEvents(t, s, a, 0, 100))
	_, err = s.UserMachines(ctx, a, openatp.UserRef{Name: "alice"})
	fixture.WantKind(t, err, openatp.NotFound) // no relation either
}

// testLogonEventRetention: DeleteEventsBefore deletes the logon events
// older than its time in every tenant, keeps the rest and the relations.
func testLogonEventRetention(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	b := fixture.MustTenant(t, s, 2, "B")
	for _, tenant := range []string{a, b} {
		fixture.MustMachines(t, s, tenant, 1)
		fixture.MustLogons(t, s, tenant, fixture.Logon("Contoso", "alice", 1, 0, "Network"),
			fixture.Logon("Contoso", "alice", 1, 1, "Interactive"), fixture.Logon("Contoso", "alice", 1, 10, "Network"))
	}
	n, err := s.DeleteEventsBefore(ctx, fixture.At(5))
	fixture.NoErr(t, err)
	if n != 4 {
		t.Errorf("deleted %d rows, want 4 (2 tenants × 2 logon events)", n)
	}
	for _, tenant := range []string{a, b} {
		fixture.Diff(t, "events kept", []openatp.Logon{fixture.Logon("Contoso", "alice", 1, 10, "Network")}, logonEvents(t, s, tenant, -1000, 1000))
		fixture.Diff(t, "relations kept", fixture.MachineIDs(1), fixture.UserMachineIDs(t, s, tenant, openatp.UserRef{Name: "alice"}))
	}
	n, err = s.DeleteEventsBefore(ctx, fixture.At(5))
	fixture.NoErr(t, err)
	if n != 0 {
		t.Errorf("deleted %d rows again, want 0", n)
	}
}

// testLogonEventsDeletedMachine: a machine deleted, then another added:
// the new one has none of the deleted one's logon events (SQLite gives a
// new row the highest seq plus one, which the deleted machine had).
func testLogonEventsDeletedMachine(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "a.example")
	fixture.MustMachines(t, s, a, 1, 2)
	kept := fixture.Logon("Contoso", "alice", 1, 2, "Interactive")
	fixture.MustLogons(t, s, a, kept, fixture.Logon("Contoso", "bob", 2, 3, "Interactive"))
	fixture.NoErr(t, s.DeleteMachine(ctx, a, fixture.MachineID(2)))
	fixture.Diff(t, "logon events after machine 2 was deleted", []openatp.Logon{kept}, logonEvents(t, s, a, 0, 100))
	fixture.MustMachines(t, s, a, 3)
	fixture.Diff(t, "logon events after machine 3 was added", []openatp.Logon{kept}, logonEvents(t, s, a, 0, 100))
	fixture.MustLogons(t, s, a, fixture.Logon("Contoso", "carol", 3, 4, "Network"))
	fixture.Diff(t, "logon events of machine 3", []openatp.Logon{kept, fixture.Logon("Contoso", "carol", 3, 4, "Network")}, logonEvents(t, s, a, 0, 100))

	t.Run("a lower one deleted first", func(t *testing.T) {
		s := su.Open(t)
		a := fixture.MustTenant(t, s, 1, "a.example")
		fixture.MustMachines(t, s, a, 1, 2, 3)
		fixture.MustLogons(t, s, a, kept, fixture.Logon("Contoso", "bob", 2, 3, "Interactive"), fixture.Logon("Contoso", "carol", 3, 4, "Network"))
		fixture.NoErr(t, s.DeleteMachine(ctx, a, fixture.MachineID(2)))
		fixture.NoErr(t, s.DeleteMachine(ctx, a, fixture.MachineID(3)))
		fixture.MustMachines(t, s, a, 4, 5)
		fixture.Diff(t, "logon events after machines 4 and 5 were added", []openatp.Logon{kept}, logonEvents(t, s, a, 0, 100))
	})
	t.Run("another tenant reset", func(t *testing.T) {
		s := su.Open(t)
		a := fixture.MustTenant(t, s, 1, "a.example")
		b := fixture.MustTenant(t, s, 2, "b.example")
		fixture.MustMachines(t, s, a, 1, 2)
		fixture.MustMachines(t, s, b, 3)
		fixture.MustLogons(t, s, a, kept, fixture.Logon("Contoso", "bob", 2, 3, "Interactive"))
		fixture.NoErr(t, s.DeleteMachine(ctx, a, fixture.MachineID(2)))
		fixture.NoErr(t, s.ResetTenant(ctx, b))
		fixture.MustMachines(t, s, a, 4, 5)
		fixture.Diff(t, "logon events after B's reset and machines 4 and 5 added", []openatp.Logon{kept}, logonEvents(t, s, a, 0, 100))
	})
}
