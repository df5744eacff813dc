package storetest

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

// machineUsers returns the relations of machine n, failing t on an error.
func machineUsers(t *testing.T, s openatp.Store, tenant string, n int) []openatp.UserMachine {
	t.Helper()
	rs, err := s.MachineUsers(ctx, tenant, fixture.MachineID(n))
	if err != nil {
		t.Fatalf("MachineUsers(%d): %v", n, err)
	}
	if rs == nil {
		t.Errorf("MachineUsers(%d) = nil, want a list", n)
	}
	return rs
}

func testMachineUsers(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "a.example")
	b := fixture.MustTenant(t, s, 2, "b.example")
	fixture.MustMachines(t, s, a, 1, 2, 3)
	fixture.MustMachines(t, s, b, 1, 9)
	bobNoSID := fixture.Logon("lab", "bob", 2, 1, "Service")
	bobNoSID.AccountSID = ""
	fixture.MustLogons(t, s, a,
		fixture.Logon("Lab", "Zed", 1, 3, "Network"),
		fixture.Logon("contoso", "alice", 1, 5, "Interactive"), // the first spelling
		fixture.Logon("CONTOSO", "ALICE", 1, 2, "Batch"),
		fixture.Logon("fabrikam", "Alice", 1, 4, ""),
		fixture.Logon("lab", "Ärger", 1, 1, "Unlock"),
		bobNoSID, // bob's first event has no SID
		fixture.Logon("contoso", "alice", 2, 6, "Network"),
	)
	fixture.MustLogons(t, s, a, fixture.Logon("LAB", "Bob", 1, 7, "RemoteInteractive"))
	fixture.MustLogons(t, s, b, fixture.Logon("contoso", "mallory", 1, 1, "Network"))

	// Ordered by name key, then domain key, in byte order: "ärger"
	// (0xc3...) after "zed".
	want := []openatp.UserMachine{
		{AccountName: "alice", AccountDomain: "contoso", AccountSID: "S-1-5-21-alice", MachineID: fixture.MachineID(1), FirstSeen: fixture.At(2), LastSeen: fixture.At(5), LogonTypes: []string{"Batch", "Interactive"}},
		{AccountName: "Alice", AccountDomain: "fabrikam", AccountSID: "S-1-5-21-Alice", MachineID: fixture.MachineID(1), FirstSeen: fixture.At(4), LastSeen: fixture.At(4), LogonTypes: []string{}},
		{AccountName: "bob", AccountDomain: "lab", AccountSID: "S-1-5-21-Bob", MachineID: fixture.MachineID(1), FirstSeen: fixture.At(7), LastSeen: fixture.At(7), LogonTypes: []string{"RemoteInteractive"}},
		{AccountName: "Zed", AccountDomain: "Lab", AccountSID: "S-1-5-21-Zed", MachineID: fixture.MachineID(1), FirstSeen: fixture.At(3), LastSeen: fixture.At(3), LogonTypes: []string{"Network"}},
		{AccountName: "Ärger", AccountDomain: "lab", AccountSID: "S-1-5-21-Ärger", MachineID: fixture.MachineID(1), FirstSeen: fixture.At(1), LastSeen: fixture.At(1), LogonTypes: []string{"Unlock"}},
	}
	fixture.Diff(t, "users of machine 1", want, machineUsers(t, s, a, 1), fixture.EquateEmpty)

	// The same relations as the snapshot's, machine by machine.
	_, rels := fixture.Snapshot(t, s, a)
	for _, n := range []int{1, 2, 3} {
		var want []openatp.UserMachine
		for _, r := range rels {
			if r.MachineID == fixture.MachineID(n) {
				want = append(want, r)
			}
		}
		fixture.Diff(t, fmt.Sprintf("users of machine %d against the snapshot", n), want, machineUsers(t, s, a, n), fixture.EquateEmpty)
	}
	// bob's SID, first seen on machine 1, is the user's: machine 2 has it too.
	fixture.Diff(t, "users of machine 2", []openatp.UserMachine{
		{AccountName: "alice", AccountDomain: "contoso", AccountSID: "S-1-5-21-alice", MachineID: fixture.MachineID(2), FirstSeen: fixture.At(6), LastSeen: fixture.At(6), LogonTypes: []string{"Network"}},
		{AccountName: "bob", AccountDomain: "lab", AccountSID: "S-1-5-21-Bob", MachineID: fixture.MachineID(2), FirstSeen: fixture.At(1), LastSeen: fixture.At(1), LogonTypes: []string{"Service"}},
	}, machineUsers(t, s, a, 2), fixture.EquateEmpty)
	if got := machineUsers(t, s, a, 3); len(got) != 0 {
		t.Errorf("users of a machine nobody logged on to = %+v, want none", got)
	}

	// Tenants are apart: the same machine id, other users.
	fixture.Diff(t, "users of tenant B's machine 1", []openatp.UserMachine{
		{AccountName: "mallory", AccountDomain: "contoso", AccountSID: "S-1-5-21-mallory", MachineID: fixture.MachineID(1), FirstSeen: fixture.At(1), LastSeen: fixture.At(1), LogonTypes: []string{"Network"}},
	}, machineUsers(t, s, b, 1), fixture.EquateEmpty)
	for _, tc := range []struct {
		name   string
		tenant string
		n      int
	}{
		{"unknown machine", a, 99},
		{"another tenant's machine", a, 9},
		{"unknown tenant", fixture.TenantID(9), 1},
	} {
		_, err := s.MachineUsers(ctx, tc.tenant, fixture.MachineID(tc.n))
		fixture.WantCode(t, err, openatp.NotFound, "ResourceNotFound")
	}

	fixture.NoErr(t, s.DeleteMachine(ctx, a, fixture.MachineID(2)))
	_, err := s.MachineUsers(ctx, a, fixture.MachineID(2))
	fixture.WantCode(t, err, openatp.NotFound, "ResourceNotFound")
	fixture.NoErr(t, s.ResetTenant(ctx, a))
	_, err = s.MachineUsers(ctx, a, fixture.MachineID(1))
	fixture.WantCode(t, err, openatp.NotFound, "ResourceNotFound")
	fixture.Diff(t, "tenant B's machine 1 after A's reset", 1, len(machineUsers(t, s, b, 1)))
}

// withoutGroup returns m normalized, as UpdateMachine returns it.
func withoutGroup(m openatp.Machine) openatp.Machine {
	if err := m.Normalize(); err != nil {
		panic(err)
	}
	m.RBACGroupID, m.RBACGroupName = 0, ""
	return m
}

func testUpdateMachine(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "a.example")
	b := fixture.MustTenant(t, s, 2, "b.example")
	fixture.MustUpsert(t, s, a, fullMachine(1), fullMachine(2))
	fixture.MustUpsert(t, s, b, fullMachine(1))
	fixture.MustLogons(t, s, a, fixture.Logon("contoso", "alice", 1, 1, "Network"))
	// fullMachine runs Windows11: the machine is in this group when read.
	fixture.NoErr(t, s.CreateGroup(ctx, a, openatp.DeviceGroup{ID: 5, Name: "Win11", Rank: 1,
		Rules: []openatp.RuleRow{{Property: openatp.RuleOSPlatform, Values: []string{"Windows11"}}}}))
	stored := withoutGroup(fullMachine(1))

	t.Run("changes the machine", func(t *testing.T) {
		v0 := contentVersion(t, s, a)
		zone := time.FixedZone("UTC+5", 5*3600)
		seen := fixture.At(3).In(zone)
		got, err := s.UpdateMachine(ctx, a, fixture.MachineID(1), func(m *openatp.Machine) error {
			fixture.Diff(t, "the machine f is given", stored, *m)
			m.MachineTags = append(m.MachineTags, "new tag")
			m.LastSeen = &seen
			m.RBACGroupID, m.RBACGroupName = 77, "not stored"
			return nil
		})
		fixture.NoErr(t, err)
		want := stored
		want.MachineTags = append(slices.Clone(want.MachineTags), "new tag")
		want.LastSeen = openatp.Ptr(fixture.At(3)) // normalized: UTC
		fixture.Diff(t, "UpdateMachine", want, got)
		if got.LastSeen.Location() != time.UTC {
			t.Errorf("LastSeen is in %v, want UTC", got.LastSeen.Location())
		}
		read, err := s.Machine(ctx, a, fixture.MachineID(1))
		fixture.NoErr(t, err)
		want.RBACGroupID, want.RBACGroupName = 5, "Win11"
		fixture.Diff(t, "Machine after UpdateMachine", want, read)
		stored = got

		// The update is a content write with its change in the feed;
		// the relations and the other tenant's machine stay.
		ch := changes(t, s, a, v0)
		if ch.Version == v0 || ch.Rebuild {
			t.Errorf("Changes after UpdateMachine = %+v, want a new version", feedOf(ch))
		}
		fixture.Diff(t, "feed", feed{Machines: fixture.MachineIDs(1)}, feedOf(ch), fixture.EquateEmpty)
		if len(ch.Machines) == 1 {
			fixture.Diff(t, "feed's machine", got, ch.Machines[0])
		}
		fixture.Diff(t, "alice", fixture.MachineIDs(1), fixture.UserMachineIDs(t, s, a, openatp.UserRef{Name: "alice"}))
		other, err := s.Machine(ctx, b, fixture.MachineID(1))
		fixture.NoErr(t, err)
		fixture.Diff(t, "tenant B's machine", defaultGroup(fullMachine(1)), other)
	})

	t.Run("writes nothing when it fails", func(t *testing.T) {
		stop := errors.New("stop")
		for _, tc := range []struct {
			name string
			f    func(m *openatp.Machine) error
			err  func(t *testing.T, err error)
		}{
			{"f fails", func(m *openatp.Machine) error {
				m.OSPlatform = openatp.Ptr("Linux")
				return stop
			}, func(t *testing.T, err error) {
				if err != stop {
					t.Errorf("got %v, want f's error as it is", err)
				}
			}},
			{"the result does not normalize", func(m *openatp.Machine) error {
				m.OSPlatform, m.HealthStatus = openatp.Ptr("Linux"), openatp.Ptr("Fine")
				return nil
			}, func(t *testing.T, err error) {
				fixture.WantCode(t, err, openatp.Invalid, "InvalidInput")
				fixture.Contains(t, err, "healthStatus")
			}},
			{"lastSeen before firstSeen", func(m *openatp.Machine) error {
				m.LastSeen = openatp.Ptr(m.FirstSeen.Add(-time.Hour))
				return nil
			}, func(t *testing.T, err error) { fixture.WantCode(t, err, openatp.Invalid, "InvalidInput") }},
			{"a time out of range", func(m *openatp.Machine) error {
				m.LastSeen = openatp.Ptr(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC))
				return nil
			}, func(t *testing.T, err error) { fixture.WantCode(t, err, openatp.Invalid, "InvalidInput") }},
			{"the id changes", func(m *openatp.Machine) error {
				m.ID = fixture.MachineID(3)
				return nil
			}, func(t *testing.T, err error) {
				fixture.WantCode(t, err, openatp.Invalid, "InvalidInput")
				fixture.Contains(t, err, "id")
			}},
			{"the id changes to another machine's", func(m *openatp.Machine) error {
				m.ID = fixture.MachineID(2)
				return nil
			}, func(t *testing.T, err error) { fixture.WantCode(t, err, openatp.Invalid, "InvalidInput") }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				v0 := contentVersion(t, s, a)
				_, err := s.UpdateMachine(ctx, a, fixture.MachineID(1), tc.f)
				tc.err(t, err)
				for _, n := range []int{1, 2, 3} {
					got, err := s.Machine(ctx, a, fixture.MachineID(n))
					switch n {
					case 1:
						fixture.NoErr(t, err)
						got.RBACGroupID, got.RBACGroupName = 0, ""
						fixture.Diff(t, "machine 1", stored, got)
					case 2:
						fixture.NoErr(t, err)
						fixture.Diff(t, "machine 2", withoutGroup(fullMachine(2)), withoutGroup(got))
					case 3:
						fixture.WantKind(t, err, openatp.NotFound)
					}
				}
				if v := contentVersion(t, s, a); v != v0 {
					t.Errorf("ContentVersion changed from %d to %d", v0, v)
				}
			})
		}
	})

	t.Run("unknown machine or tenant", func(t *testing.T) {
		called := false
		f := func(*openatp.Machine) error { called = true; return nil }
		_, err := s.UpdateMachine(ctx, a, fixture.MachineID(99), f)
		fixture.WantCode(t, err, openatp.NotFound, "ResourceNotFound")
		_, err = s.UpdateMachine(ctx, fixture.TenantID(9), fixture.MachineID(1), f)
		fixture.WantCode(t, err, openatp.NotFound, "ResourceNotFound")
		fixture.MustMachines(t, s, b, 40)
		_, err = s.UpdateMachine(ctx, a, fixture.MachineID(40), f)
		fixture.WantCode(t, err, openatp.NotFound, "ResourceNotFound")
		if called {
			t.Error("f was called without a machine")
		}
	})

	t.Run("concurrent updates lose nothing", func(t *testing.T) {
		// 20 goroutines on each of two stores (a second process or
		// replica when the engine has one) each add a tag.
		stores := []openatp.Store{s, s}
		if su.Reopen != nil {
			stores[1] = su.Reopen(t, s)
		}
		before, err := s.Machine(ctx, a, fixture.MachineID(2))
		fixture.NoErr(t, err)
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i, st := range stores {
			for j := range 20 {
				wg.Go(func() {
					tag := fmt.Sprintf("concurrent-%d-%02d", i, j)
					_, err := st.UpdateMachine(ctx, a, fixture.MachineID(2), func(m *openatp.Machine) error {
						m.MachineTags = append(m.MachineTags, tag)
						return nil
					})
					if err != nil {
						errs <- fmt.Errorf("%s: %w", tag, err)
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		got, err := s.Machine(ctx, a, fixture.MachineID(2))
		fixture.NoErr(t, err)
		want := slices.Clone(before.MachineTags)
		for i := range stores {
			for j := range 20 {
				want = append(want, fmt.Sprintf("concurrent-%d-%02d", i, j))
			}
		}
		slices.Sort(want)
		tags := slices.Clone(got.MachineTags)
		slices.Sort(tags)
		fixture.Diff(t, "tags after 40 concurrent updates", want, tags)
	})
}

// ipMachine returns machine n seen last at hour h, with the given last IP
// address (none if "") and interface addresses.
func ipMachine(n, h int, last string, addrs ...string) openatp.Machine {
	m := openatp.Machine{ID: fixture.MachineID(n), LastSeen: openatp.Ptr(fixture.At(h)), LastExternalIPAddress: openatp.Ptr("203.0.113.9")}
	if last != "" {
		m.LastIPAddress = &last
	}
	for _, a := range addrs {
		m.IPAddresses = append(m.IPAddresses, openatp.IPAddress{IPAddress: a, Type: openatp.Ptr("Ethernet")})
	}
	return m
}

// byIP returns the ids of the machines seen with ip from ≤ seen ≤ to,
// failing t on an error.
func byIP(t *testing.T, s openatp.Store, tenant, ip string, from, to time.Time) []string {
	t.Helper()
	ids, err := s.MachinesByIP(ctx, tenant, netip.MustParseAddr(ip), from, to)
	if err != nil {
		t.Fatalf("MachinesByIP(%s): %v", ip, err)
	}
	if ids == nil {
		t.Errorf("MachinesByIP(%s) = nil, want a list", ip)
	}
	return ids
}

func testMachinesByIP(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "a.example")
	b := fixture.MustTenant(t, s, 2, "b.example")
	ever, never := time.Time{}, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

	// Machine 1 moves from .1 to .2 and back; its interfaces count, its
	// external address does not.
	fixture.MustUpsert(t, s, a, ipMachine(1, 0, "10.0.0.1", "10.0.0.1", "2001:DB8:0::1"))
	fixture.MustUpsert(t, s, a, ipMachine(1, 5, "10.0.0.2", "10.0.0.2"))
	fixture.MustUpsert(t, s, a, ipMachine(1, 5, "10.0.0.2", "10.0.0.2")) // again: nothing new
	fixture.MustUpsert(t, s, a, ipMachine(1, 10, "10.0.0.1"))
	// Machine 2 reports an IPv4-mapped address, machine 3 an interface
	// address only, machine 4 none.
	fixture.MustUpsert(t, s, a, ipMachine(2, 5, "::ffff:10.0.0.1"), ipMachine(3, 5, "", "10.0.0.2"), ipMachine(4, 5, ""))
	// Tenant B has a machine 1 too, and another on the same address.
	fixture.MustUpsert(t, s, b, ipMachine(1, 0, "10.0.0.1"), ipMachine(7, 0, "10.0.0.1"))

	quarter := 15 * time.Minute
	for _, tc := range []struct {
		name     string
		ip       string
		from, to time.Time
		want     []string
	}{
		{"±15 minutes of the first upsert", "10.0.0.1", fixture.At(0).Add(-quarter), fixture.At(0).Add(quarter), fixture.MachineIDs(1)},
		{"±15 minutes of the second", "10.0.0.1", fixture.At(5).Add(-quarter), fixture.At(5).Add(quarter), fixture.MachineIDs(2)},
		{"±15 minutes of the second, the other address", "10.0.0.2", fixture.At(5).Add(-quarter), fixture.At(5).Add(quarter), fixture.MachineIDs(1, 3)},
		{"±15 minutes of the third", "10.0.0.1", fixture.At(10).Add(-quarter), fixture.At(10).Add(quarter), fixture.MachineIDs(1)},
		{"±15 minutes of the third, the other address", "10.0.0.2", fixture.At(10).Add(-quarter), fixture.At(10).Add(quarter), nil},
		{"between upserts", "10.0.0.1", fixture.At(1), fixture.At(4), nil},
		{"the bounds are inclusive", "10.0.0.1", fixture.At(0), fixture.At(0), fixture.MachineIDs(1)},
		{"just before", "10.0.0.1", fixture.At(-1), fixture.At(0).Add(-100 * time.Nanosecond), nil},
		{"just after", "10.0.0.1", fixture.At(10).Add(100 * time.Nanosecond), fixture.At(11), nil},
		{"every time, each machine once", "10.0.0.1", ever, never, fixture.MachineIDs(1, 2)},
		{"an empty window", "10.0.0.1", fixture.At(10), fixture.At(0), nil},
		{"an interface address in IPv6", "2001:db8::1", ever, never, fixture.MachineIDs(1)},
		{"IPv6 spelled otherwise", "2001:0DB8:0:0:0:0:0:1", fixture.At(0), fixture.At(0), fixture.MachineIDs(1)},
		{"asked as IPv4-mapped", "::ffff:10.0.0.2", ever, never, fixture.MachineIDs(1, 3)},
		{"the external address is not recorded", "203.0.113.9", ever, never, nil},
		{"an address no machine had", "192.0.2.55", ever, never, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fixture.Diff(t, "ids", tc.want, byIP(t, s, a, tc.ip, tc.from, tc.to), fixture.EquateEmpty)
		})
	}
	fixture.Diff(t, "tenant B", fixture.MachineIDs(1, 7), byIP(t, s, b, "10.0.0.1", ever, never))

	_, err := s.MachinesByIP(ctx, a, netip.Addr{}, ever, never)
	fixture.WantKind(t, err, openatp.Invalid)
	_, err = s.MachinesByIP(ctx, fixture.TenantID(9), netip.MustParseAddr("10.0.0.1"), ever, never)
	fixture.WantKind(t, err, openatp.NotFound)

	t.Run("a machine without lastSeen is seen when written", func(t *testing.T) {
		before := time.Now()
		m := ipMachine(5, 0, "10.5.5.5")
		m.LastSeen = nil
		fixture.MustUpsert(t, s, a, m)
		after := time.Now()
		fixture.Diff(t, "at the write", fixture.MachineIDs(5), byIP(t, s, a, "10.5.5.5", before.Add(-time.Minute), after.Add(time.Minute)))
		fixture.Diff(t, "before it", []string{}, byIP(t, s, a, "10.5.5.5", ever, before.Add(-time.Minute)))
	})
	t.Run("UpdateMachine and WriteBatch record it", func(t *testing.T) {
		_, err := s.UpdateMachine(ctx, a, fixture.MachineID(1), func(m *openatp.Machine) error {
			m.LastSeen, m.LastIPAddress = openatp.Ptr(fixture.At(20)), openatp.Ptr("10.6.6.6")
			return nil
		})
		fixture.NoErr(t, err)
		fixture.Diff(t, "after UpdateMachine", fixture.MachineIDs(1), byIP(t, s, a, "10.6.6.6", fixture.At(20), fixture.At(20)))
		fixture.Diff(t, "the old address after UpdateMachine", []string{}, byIP(t, s, a, "10.0.0.1", fixture.At(11), never))

		// Every machine of a batch counts, one replaced in it as well.
		fixture.NoErr(t, s.WriteBatch(ctx, a, func(w openatp.BatchWriter) error {
			ms := []openatp.Machine{ipMachine(6, 21, "10.7.7.1"), ipMachine(6, 22, "10.7.7.2")}
			for i := range ms {
				fixture.NoErr(t, ms[i].Normalize())
			}
			return w.UpsertMachines(ms)
		}))
		fixture.Diff(t, "the first of a batch", fixture.MachineIDs(6), byIP(t, s, a, "10.7.7.1", fixture.At(21), fixture.At(21)))
		fixture.Diff(t, "the last of a batch", fixture.MachineIDs(6), byIP(t, s, a, "10.7.7.2", fixture.At(22), fixture.At(22)))

		// A batch that fails records nothing.
		stop := errors.New("stop")
		err = s.WriteBatch(ctx, a, func(w openatp.BatchWriter) error {
			m := ipMachine(8, 23, "10.8.8.8")
			fixture.NoErr(t, m.Normalize())
			mustWrite(t, w.UpsertMachines([]openatp.Machine{m}))
			return stop
		})
		if !errors.Is(err, stop) {
			t.Fatalf("WriteBatch: %v, want f's error", err)
		}
		fixture.Diff(t, "after a failed batch", []string{}, byIP(t, s, a, "10.8.8.8", ever, never))
		// So does an UpdateMachine whose f fails.
		_, err = s.UpdateMachine(ctx, a, fixture.MachineID(1), func(m *openatp.Machine) error {
			m.LastIPAddress = openatp.Ptr("10.8.8.8")
			return stop
		})
		if err != stop {
			t.Fatalf("UpdateMachine: %v, want f's error", err)
		}
		fixture.Diff(t, "after a failed update", []string{}, byIP(t, s, a, "10.8.8.8", ever, never))
	})
	t.Run("deletion", func(t *testing.T) {
		fixture.NoErr(t, s.DeleteMachine(ctx, a, fixture.MachineID(2)))
		fixture.Diff(t, "after deleting machine 2", fixture.MachineIDs(1), byIP(t, s, a, "10.0.0.1", ever, never))
		// The id comes back without its history.
		fixture.MustUpsert(t, s, a, ipMachine(2, 30, "10.9.9.9"))
		fixture.Diff(t, "machine 2 back", fixture.MachineIDs(1), byIP(t, s, a, "10.0.0.1", ever, never))
		fixture.Diff(t, "machine 2's new address", fixture.MachineIDs(2), byIP(t, s, a, "10.9.9.9", ever, never))
		// Deleting tenant B's machine 1 leaves tenant A's.
		fixture.NoErr(t, s.DeleteMachine(ctx, b, fixture.MachineID(1)))
		fixture.Diff(t, "tenant B", fixture.MachineIDs(7), byIP(t, s, b, "10.0.0.1", ever, never))
		fixture.Diff(t, "tenant A", fixture.MachineIDs(1), byIP(t, s, a, "10.0.0.1", ever, never))
	})
	t.Run("reset", func(t *testing.T) {
		fixture.NoErr(t, s.ResetTenant(ctx, a))
		for _, ip := range []string{"10.0.0.1", "10.0.0.2", "2001:db8::1", "10.6.6.6", "10.9.9.9"} {
			fixture.Diff(t, ip+" after the reset", []string{}, byIP(t, s, a, ip, ever, never))
		}
		fixture.Diff(t, "tenant B after A's reset", fixture.MachineIDs(7), byIP(t, s, b, "10.0.0.1", ever, never))
		fixture.MustUpsert(t, s, a, ipMachine(1, 40, "10.0.0.1"))
		fixture.Diff(t, "after the reset", fixture.MachineIDs(1), byIP(t, s, a, "10.0.0.1", ever, never))
	})
}
