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
)

// wantCode fails t unless err is an *openatp.Error of kind k and MDE code.
func wantCode(t *testing.T, err error, k openatp.Kind, code string) {
	t.Helper()
	wantKind(t, err, k)
	var e *openatp.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Errorf("error %q does not have code %q", err, code)
	}
}

// machineUsers returns the relations of machine n, failing t on an error.
func machineUsers(t *testing.T, s openatp.Store, tenant string, n int) []openatp.UserMachine {
	t.Helper()
	rs, err := s.MachineUsers(ctx, tenant, machineID(n))
	if err != nil {
		t.Fatalf("MachineUsers(%d): %v", n, err)
	}
	if rs == nil {
		t.Errorf("MachineUsers(%d) = nil, want a list", n)
	}
	return rs
}

func testMachineUsers(t *testing.T, su *suite) {
	s := su.open(t)
	a := mustTenant(t, s, 1, "a.example")
	b := mustTenant(t, s, 2, "b.example")
	mustMachines(t, s, a, 1, 2, 3)
	mustMachines(t, s, b, 1, 9)
	bobNoSID := logon("lab", "bob", 2, 1, "Service")
	bobNoSID.AccountSID = ""
	mustLogons(t, s, a,
		logon("Lab", "Zed", 1, 3, "Network"),
		logon("contoso", "alice", 1, 5, "Interactive"), // the first spelling
		logon("CONTOSO", "ALICE", 1, 2, "Batch"),
		logon("fabrikam", "Alice", 1, 4, ""),
		logon("lab", "Ärger", 1, 1, "Unlock"),
		bobNoSID, // bob's first event has no SID
		logon("contoso", "alice", 2, 6, "Network"),
	)
	mustLogons(t, s, a, logon("LAB", "Bob", 1, 7, "RemoteInteractive"))
	mustLogons(t, s, b, logon("contoso", "mallory", 1, 1, "Network"))

	// Ordered by name key, then domain key, in byte order: "ärger"
	// (0xc3...) after "zed".
	want := []openatp.UserMachine{
		{AccountName: "alice", AccountDomain: "contoso", AccountSID: "S-1-5-21-alice", MachineID: machineID(1), FirstSeen: at(2), LastSeen: at(5), LogonTypes: []string{"Batch", "Interactive"}},
		{AccountName: "Alice", AccountDomain: "fabrikam", AccountSID: "S-1-5-21-Alice", MachineID: machineID(1), FirstSeen: at(4), LastSeen: at(4), LogonTypes: []string{}},
		{AccountName: "bob", AccountDomain: "lab", AccountSID: "S-1-5-21-Bob", MachineID: machineID(1), FirstSeen: at(7), LastSeen: at(7), LogonTypes: []string{"RemoteInteractive"}},
		{AccountName: "Zed", AccountDomain: "Lab", AccountSID: "S-1-5-21-Zed", MachineID: machineID(1), FirstSeen: at(3), LastSeen: at(3), LogonTypes: []string{"Network"}},
		{AccountName: "Ärger", AccountDomain: "lab", AccountSID: "S-1-5-21-Ärger", MachineID: machineID(1), FirstSeen: at(1), LastSeen: at(1), LogonTypes: []string{"Unlock"}},
	}
	diff(t, "users of machine 1", want, machineUsers(t, s, a, 1), equateEmpty)

	// The same relations as the snapshot's, machine by machine.
	_, rels := snapshot(t, s, a)
	for _, n := range []int{1, 2, 3} {
		var want []openatp.UserMachine
		for _, r := range rels {
			if r.MachineID == machineID(n) {
				want = append(want, r)
			}
		}
		diff(t, fmt.Sprintf("users of machine %d against the snapshot", n), want, machineUsers(t, s, a, n), equateEmpty)
	}
	// bob's SID, first seen on machine 1, is the user's: machine 2 has it too.
	diff(t, "users of machine 2", []openatp.UserMachine{
		{AccountName: "alice", AccountDomain: "contoso", AccountSID: "S-1-5-21-alice", MachineID: machineID(2), FirstSeen: at(6), LastSeen: at(6), LogonTypes: []string{"Network"}},
		{AccountName: "bob", AccountDomain: "lab", AccountSID: "S-1-5-21-Bob", MachineID: machineID(2), FirstSeen: at(1), LastSeen: at(1), LogonTypes: []string{"Service"}},
	}, machineUsers(t, s, a, 2), equateEmpty)
	if got := machineUsers(t, s, a, 3); len(got) != 0 {
		t.Errorf("users of a machine nobody logged on to = %+v, want none", got)
	}

	// Tenants are apart: the same machine id, other users.
	diff(t, "users of tenant B's machine 1", []openatp.UserMachine{
		{AccountName: "mallory", AccountDomain: "contoso", AccountSID: "S-1-5-21-mallory", MachineID: machineID(1), FirstSeen: at(1), LastSeen: at(1), LogonTypes: []string{"Network"}},
	}, machineUsers(t, s, b, 1), equateEmpty)
	for _, tc := range []struct {
		name   string
		tenant string
		n      int
	}{
		{"unknown machine", a, 99},
		{"another tenant's machine", a, 9},
		{"unknown tenant", tenantID(9), 1},
	} {
		_, err := s.MachineUsers(ctx, tc.tenant, machineID(tc.n))
		wantCode(t, err, openatp.NotFound, "ResourceNotFound")
	}

	noErr(t, s.DeleteMachine(ctx, a, machineID(2)))
	_, err := s.MachineUsers(ctx, a, machineID(2))
	wantCode(t, err, openatp.NotFound, "ResourceNotFound")
	noErr(t, s.ResetTenant(ctx, a))
	_, err = s.MachineUsers(ctx, a, machineID(1))
	wantCode(t, err, openatp.NotFound, "ResourceNotFound")
	diff(t, "tenant B's machine 1 after A's reset", 1, len(machineUsers(t, s, b, 1)))
}

// withoutGroup returns m normalized, as UpdateMachine returns it.
func withoutGroup(m openatp.Machine) openatp.Machine {
	if err := m.Normalize(); err != nil {
		panic(err)
	}
	m.RBACGroupID, m.RBACGroupName = 0, ""
	return m
}

func testUpdateMachine(t *testing.T, su *suite) {
	s := su.open(t)
	a := mustTenant(t, s, 1, "a.example")
	b := mustTenant(t, s, 2, "b.example")
	mustUpsert(t, s, a, fullMachine(1), fullMachine(2))
	mustUpsert(t, s, b, fullMachine(1))
	mustLogons(t, s, a, logon("contoso", "alice", 1, 1, "Network"))
	// fullMachine runs Windows11: the machine is in this group when read.
	noErr(t, s.CreateGroup(ctx, a, openatp.DeviceGroup{ID: 5, Name: "Win11", Rank: 1,
		Rules: []openatp.RuleRow{{Property: openatp.RuleOSPlatform, Values: []string{"Windows11"}}}}))
	stored := withoutGroup(fullMachine(1))

	t.Run("changes the machine", func(t *testing.T) {
		v0 := contentVersion(t, s, a)
		zone := time.FixedZone("UTC+5", 5*3600)
		seen := at(3).In(zone)
		got, err := s.UpdateMachine(ctx, a, machineID(1), func(m *openatp.Machine) error {
			diff(t, "the machine f is given", stored, *m)
			m.MachineTags = append(m.MachineTags, "new tag")
			m.LastSeen = &seen
			m.RBACGroupID, m.RBACGroupName = 77, "not stored"
			return nil
		})
		noErr(t, err)
		want := stored
		want.MachineTags = append(slices.Clone(want.MachineTags), "new tag")
		want.LastSeen = openatp.Ptr(at(3)) // normalized: UTC
		diff(t, "UpdateMachine", want, got)
		if got.LastSeen.Location() != time.UTC {
			t.Errorf("LastSeen is in %v, want UTC", got.LastSeen.Location())
		}
		read, err := s.Machine(ctx, a, machineID(1))
		noErr(t, err)
		want.RBACGroupID, want.RBACGroupName = 5, "Win11"
		diff(t, "Machine after UpdateMachine", want, read)
		stored = got

		// The update is a content write with its change in the feed;
		// the relations and the other tenant's machine stay.
		ch := changes(t, s, a, v0)
		if ch.Version == v0 || ch.Rebuild {
			t.Errorf("Changes after UpdateMachine = %+v, want a new version", feedOf(ch))
		}
		diff(t, "feed", feed{Machines: machineIDs(1)}, feedOf(ch), equateEmpty)
		if len(ch.Machines) == 1 {
			diff(t, "feed's machine", got, ch.Machines[0])
		}
		diff(t, "alice", machineIDs(1), userMachineIDs(t, s, a, openatp.UserRef{Name: "alice"}))
		other, err := s.Machine(ctx, b, machineID(1))
		noErr(t, err)
		diff(t, "tenant B's machine", defaultGroup(fullMachine(1)), other)
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
				wantCode(t, err, openatp.Invalid, "InvalidInput")
				contains(t, err, "healthStatus")
			}},
			{"lastSeen before firstSeen", func(m *openatp.Machine) error {
				m.LastSeen = openatp.Ptr(m.FirstSeen.Add(-time.Hour))
				return nil
			}, func(t *testing.T, err error) { wantCode(t, err, openatp.Invalid, "InvalidInput") }},
			{"a time out of range", func(m *openatp.Machine) error {
				m.LastSeen = openatp.Ptr(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC))
				return nil
			}, func(t *testing.T, err error) { wantCode(t, err, openatp.Invalid, "InvalidInput") }},
			{"the id changes", func(m *openatp.Machine) error {
				m.ID = machineID(3)
				return nil
			}, func(t *testing.T, err error) {
				wantCode(t, err, openatp.Invalid, "InvalidInput")
				contains(t, err, "id")
			}},
			{"the id changes to another machine's", func(m *openatp.Machine) error {
				m.ID = machineID(2)
				return nil
			}, func(t *testing.T, err error) { wantCode(t, err, openatp.Invalid, "InvalidInput") }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				v0 := contentVersion(t, s, a)
				_, err := s.UpdateMachine(ctx, a, machineID(1), tc.f)
				tc.err(t, err)
				for _, n := range []int{1, 2, 3} {
					got, err := s.Machine(ctx, a, machineID(n))
					switch n {
					case 1:
						noErr(t, err)
						got.RBACGroupID, got.RBACGroupName = 0, ""
						diff(t, "machine 1", stored, got)
					case 2:
						noErr(t, err)
						diff(t, "machine 2", withoutGroup(fullMachine(2)), withoutGroup(got))
					case 3:
						wantKind(t, err, openatp.NotFound)
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
		_, err := s.UpdateMachine(ctx, a, machineID(99), f)
		wantCode(t, err, openatp.NotFound, "ResourceNotFound")
		_, err = s.UpdateMachine(ctx, tenantID(9), machineID(1), f)
		wantCode(t, err, openatp.NotFound, "ResourceNotFound")
		mustMachines(t, s, b, 40)
		_, err = s.UpdateMachine(ctx, a, machineID(40), f)
		wantCode(t, err, openatp.NotFound, "ResourceNotFound")
		if called {
			t.Error("f was called without a machine")
		}
	})

	t.Run("concurrent updates lose nothing", func(t *testing.T) {
		// 20 goroutines on each of two stores (a second process or
		// replica when the engine has one) each add a tag.
		stores := []openatp.Store{s, s}
		if su.reopen != nil {
			stores[1] = su.reopen(t, s)
		}
		before, err := s.Machine(ctx, a, machineID(2))
		noErr(t, err)
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i, st := range stores {
			for j := range 20 {
				wg.Go(func() {
					tag := fmt.Sprintf("concurrent-%d-%02d", i, j)
					_, err := st.UpdateMachine(ctx, a, machineID(2), func(m *openatp.Machine) error {
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
		got, err := s.Machine(ctx, a, machineID(2))
		noErr(t, err)
		want := slices.Clone(before.MachineTags)
		for i := range stores {
			for j := range 20 {
				want = append(want, fmt.Sprintf("concurrent-%d-%02d", i, j))
			}
		}
		slices.Sort(want)
		tags := slices.Clone(got.MachineTags)
		slices.Sort(tags)
		diff(t, "tags after 40 concurrent updates", want, tags)
	})
}

// ipMachine returns machine n seen last at hour h, with the given last IP
// address (none if "") and interface addresses.
func ipMachine(n, h int, last string, addrs ...string) openatp.Machine {
	m := openatp.Machine{ID: machineID(n), LastSeen: openatp.Ptr(at(h)), LastExternalIPAddress: openatp.Ptr("203.0.113.9")}
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

func testMachinesByIP(t *testing.T, su *suite) {
	s := su.open(t)
	a := mustTenant(t, s, 1, "a.example")
	b := mustTenant(t, s, 2, "b.example")
	ever, never := time.Time{}, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

	// Machine 1 moves from .1 to .2 and back; its interfaces count, its
	// external address does not.
	mustUpsert(t, s, a, ipMachine(1, 0, "10.0.0.1", "10.0.0.1", "2001:DB8:0::1"))
	mustUpsert(t, s, a, ipMachine(1, 5, "10.0.0.2", "10.0.0.2"))
	mustUpsert(t, s, a, ipMachine(1, 5, "10.0.0.2", "10.0.0.2")) // again: nothing new
	mustUpsert(t, s, a, ipMachine(1, 10, "10.0.0.1"))
	// Machine 2 reports an IPv4-mapped address, machine 3 an interface
	// address only, machine 4 none.
	mustUpsert(t, s, a, ipMachine(2, 5, "::ffff:10.0.0.1"), ipMachine(3, 5, "", "10.0.0.2"), ipMachine(4, 5, ""))
	// Tenant B has a machine 1 too, and another on the same address.
	mustUpsert(t, s, b, ipMachine(1, 0, "10.0.0.1"), ipMachine(7, 0, "10.0.0.1"))

	quarter := 15 * time.Minute
	for _, tc := range []struct {
		name     string
		ip       string
		from, to time.Time
		want     []string
	}{
		{"±15 minutes of the first upsert", "10.0.0.1", at(0).Add(-quarter), at(0).Add(quarter), machineIDs(1)},
		{"±15 minutes of the second", "10.0.0.1", at(5).Add(-quarter), at(5).Add(quarter), machineIDs(2)},
		{"±15 minutes of the second, the other address", "10.0.0.2", at(5).Add(-quarter), at(5).Add(quarter), machineIDs(1, 3)},
		{"±15 minutes of the third", "10.0.0.1", at(10).Add(-quarter), at(10).Add(quarter), machineIDs(1)},
		{"±15 minutes of the third, the other address", "10.0.0.2", at(10).Add(-quarter), at(10).Add(quarter), nil},
		{"between upserts", "10.0.0.1", at(1), at(4), nil},
		{"the bounds are inclusive", "10.0.0.1", at(0), at(0), machineIDs(1)},
		{"just before", "10.0.0.1", at(-1), at(0).Add(-100 * time.Nanosecond), nil},
		{"just after", "10.0.0.1", at(10).Add(100 * time.Nanosecond), at(11), nil},
		{"every time, each machine once", "10.0.0.1", ever, never, machineIDs(1, 2)},
		{"an empty window", "10.0.0.1", at(10), at(0), nil},
		{"an interface address in IPv6", "2001:db8::1", ever, never, machineIDs(1)},
		{"IPv6 spelled otherwise", "2001:0DB8:0:0:0:0:0:1", at(0), at(0), machineIDs(1)},
		{"asked as IPv4-mapped", "::ffff:10.0.0.2", ever, never, machineIDs(1, 3)},
		{"the external address is not recorded", "203.0.113.9", ever, never, nil},
		{"an address no machine had", "192.0.2.55", ever, never, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			diff(t, "ids", tc.want, byIP(t, s, a, tc.ip, tc.from, tc.to), equateEmpty)
		})
	}
	diff(t, "tenant B", machineIDs(1, 7), byIP(t, s, b, "10.0.0.1", ever, never))

	_, err := s.MachinesByIP(ctx, a, netip.Addr{}, ever, never)
	wantKind(t, err, openatp.Invalid)
	_, err = s.MachinesByIP(ctx, tenantID(9), netip.MustParseAddr("10.0.0.1"), ever, never)
	wantKind(t, err, openatp.NotFound)

	t.Run("a machine without lastSeen is seen when written", func(t *testing.T) {
		before := time.Now()
		m := ipMachine(5, 0, "10.5.5.5")
		m.LastSeen = nil
		mustUpsert(t, s, a, m)
		after := time.Now()
		diff(t, "at the write", machineIDs(5), byIP(t, s, a, "10.5.5.5", before.Add(-time.Minute), after.Add(time.Minute)))
		diff(t, "before it", []string{}, byIP(t, s, a, "10.5.5.5", ever, before.Add(-time.Minute)))
	})
	t.Run("UpdateMachine and WriteBatch record it", func(t *testing.T) {
		_, err := s.UpdateMachine(ctx, a, machineID(1), func(m *openatp.Machine) error {
			m.LastSeen, m.LastIPAddress = openatp.Ptr(at(20)), openatp.Ptr("10.6.6.6")
			return nil
		})
		noErr(t, err)
		diff(t, "after UpdateMachine", machineIDs(1), byIP(t, s, a, "10.6.6.6", at(20), at(20)))
		diff(t, "the old address after UpdateMachine", []string{}, byIP(t, s, a, "10.0.0.1", at(11), never))

		// Every machine of a batch counts, one replaced in it as well.
		noErr(t, s.WriteBatch(ctx, a, func(w openatp.BatchWriter) error {
			ms := []openatp.Machine{ipMachine(6, 21, "10.7.7.1"), ipMachine(6, 22, "10.7.7.2")}
			for i := range ms {
				noErr(t, ms[i].Normalize())
			}
			return w.UpsertMachines(ms)
		}))
		diff(t, "the first of a batch", machineIDs(6), byIP(t, s, a, "10.7.7.1", at(21), at(21)))
		diff(t, "the last of a batch", machineIDs(6), byIP(t, s, a, "10.7.7.2", at(22), at(22)))

		// A batch that fails records nothing.
		stop := errors.New("stop")
		err = s.WriteBatch(ctx, a, func(w openatp.BatchWriter) error {
			m := ipMachine(8, 23, "10.8.8.8")
			noErr(t, m.Normalize())
			mustWrite(t, w.UpsertMachines([]openatp.Machine{m}))
			return stop
		})
		if !errors.Is(err, stop) {
			t.Fatalf("WriteBatch: %v, want f's error", err)
		}
		diff(t, "after a failed batch", []string{}, byIP(t, s, a, "10.8.8.8", ever, never))
		// So does an UpdateMachine whose f fails.
		_, err = s.UpdateMachine(ctx, a, machineID(1), func(m *openatp.Machine) error {
			m.LastIPAddress = openatp.Ptr("10.8.8.8")
			return stop
		})
		if err != stop {
			t.Fatalf("UpdateMachine: %v, want f's error", err)
		}
		diff(t, "after a failed update", []string{}, byIP(t, s, a, "10.8.8.8", ever, never))
	})
	t.Run("deletion", func(t *testing.T) {
		noErr(t, s.DeleteMachine(ctx, a, machineID(2)))
		diff(t, "after deleting machine 2", machineIDs(1), byIP(t, s, a, "10.0.0.1", ever, never))
		// The id comes back without its history.
		mustUpsert(t, s, a, ipMachine(2, 30, "10.9.9.9"))
		diff(t, "machine 2 back", machineIDs(1), byIP(t, s, a, "10.0.0.1", ever, never))
		diff(t, "machine 2's new address", machineIDs(2), byIP(t, s, a, "10.9.9.9", ever, never))
		// Deleting tenant B's machine 1 leaves tenant A's.
		noErr(t, s.DeleteMachine(ctx, b, machineID(1)))
		diff(t, "tenant B", machineIDs(7), byIP(t, s, b, "10.0.0.1", ever, never))
		diff(t, "tenant A", machineIDs(1), byIP(t, s, a, "10.0.0.1", ever, never))
	})
	t.Run("reset", func(t *testing.T) {
		noErr(t, s.ResetTenant(ctx, a))
		for _, ip := range []string{"10.0.0.1", "10.0.0.2", "2001:db8::1", "10.6.6.6", "10.9.9.9"} {
			diff(t, ip+" after the reset", []string{}, byIP(t, s, a, ip, ever, never))
		}
		diff(t, "tenant B after A's reset", machineIDs(7), byIP(t, s, b, "10.0.0.1", ever, never))
		mustUpsert(t, s, a, ipMachine(1, 40, "10.0.0.1"))
		diff(t, "after the reset", machineIDs(1), byIP(t, s, a, "10.0.0.1", ever, never))
	})
}
