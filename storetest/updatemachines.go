package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

// UpdateMachines changes every machine it names in one transaction, or
// none of them.
func testUpdateMachines(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	tenant := fixture.MustTenant(t, s, 1, "a.example")
	fixture.MustMachines(t, s, tenant, 1, 2, 3)
	tag := func(m *openatp.Machine) error { m.MachineTags = append(m.MachineTags, "t"); return nil }
	v0 := contentVersion(t, s, tenant)

	// A missing machine, an error of f, a result that does not normalize:
	// nothing is written.
	_, err := s.UpdateMachines(ctx, tenant, []string{fixture.MachineID(1), fixture.MachineID(9)}, tag)
	fixture.WantKind(t, err, openatp.NotFound)
	boom := errors.New("boom")
	n := 0
	_, err = s.UpdateMachines(ctx, tenant, []string{fixture.MachineID(2), fixture.MachineID(1)}, func(m *openatp.Machine) error {
		if n++; n == 2 {
			return boom
		}
		return tag(m)
	})
	if !errors.Is(err, boom) {
		t.Fatalf("f's error: got %v", err)
	}
	_, err = s.UpdateMachines(ctx, tenant, []string{fixture.MachineID(3), fixture.MachineID(1)}, func(m *openatp.Machine) error {
		if m.ID == fixture.MachineID(1) {
			m.DeviceValue = openatp.Ptr("Huge")
		}
		return tag(m)
	})
	fixture.WantKind(t, err, openatp.Invalid)
	for _, n := range []int{1, 2, 3} {
		m, err := s.Machine(ctx, tenant, fixture.MachineID(n))
		fixture.NoErr(t, err)
		if len(m.MachineTags) != 0 {
			t.Errorf("machine %d changed by a failed UpdateMachines: %v", n, m.MachineTags)
		}
	}
	if v := contentVersion(t, s, tenant); v != v0 {
		t.Errorf("a failed UpdateMachines moved the content version")
	}

	// All at once, in the order asked, one content version.
	ms, err := s.UpdateMachines(ctx, tenant, []string{fixture.MachineID(3), fixture.MachineID(1)}, tag)
	fixture.NoErr(t, err)
	fixture.Diff(t, "updated", fixture.MachineIDs(3, 1), fixture.IDs(ms))
	for _, n := range []int{1, 3} {
		m, err := s.Machine(ctx, tenant, fixture.MachineID(n))
		fixture.NoErr(t, err)
		fixture.Diff(t, "tags", []string{"t"}, m.MachineTags)
	}
	ch := changes(t, s, tenant, v0)
	fixture.Diff(t, "the feed", feed{Machines: fixture.MachineIDs(1, 3)}, feedOf(ch), fixture.EquateEmpty)
}

// Writing a machine again with the same addresses and lastSeen, by any
// kind of machine write, adds no row to the IP history, and an address
// reported twice is one row (run with WithIPHistoryRows).
func testIPHistoryNotRepeated(t *testing.T, su *fixture.Suite) {
	if su.IPRows == nil {
		t.Skip("the engine gives no way to count its IP history")
	}
	s := su.Open(t)
	rows := func() int { return su.IPRows(t, s) }
	tenant := fixture.MustTenant(t, s, 1, "one.example")
	seen := fixture.T0
	m := openatp.Machine{ID: fixture.MachineID(0x42), LastSeen: &seen, LastIPAddress: openatp.Ptr("10.0.0.1"),
		IPAddresses: []openatp.IPAddress{{IPAddress: "10.0.0.1"}, {IPAddress: "::ffff:10.0.0.1"}, {IPAddress: "FE80::1"}}}
	fixture.NoErr(t, m.Normalize())
	writes := []func() error{
		func() error { return s.UpsertMachines(ctx, tenant, []openatp.Machine{m}) },
		func() error { return s.UpsertMachines(ctx, tenant, []openatp.Machine{m, m}) },
		func() error {
			return s.WriteBatch(ctx, tenant, func(w openatp.BatchWriter) error { return w.UpsertMachines([]openatp.Machine{m}) })
		},
		func() error {
			_, err := s.UpdateMachine(ctx, tenant, m.ID, func(*openatp.Machine) error { return nil })
			return err
		},
	}
	for i, write := range writes {
		fixture.NoErr(t, write())
		if n := rows(); n != 2 {
			t.Fatalf("after write %d: %d rows in the IP history, want 2 (10.0.0.1 and fe80::1)", i, n)
		}
	}
	later := seen.Add(time.Hour)
	m.LastSeen = &later
	fixture.NoErr(t, s.UpsertMachines(ctx, tenant, []openatp.Machine{m}))
	if n := rows(); n != 4 {
		t.Errorf("after a new lastSeen: %d rows in the IP history, want 4", n)
	}
}
