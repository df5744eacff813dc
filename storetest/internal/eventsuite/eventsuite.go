// Package eventsuite holds the cases of the store conformance suite about
// observed events (openatp.EventStore): file and network events, their
// identity, the reads by hash, IP, domain, machine and time, and their
// retention.
package eventsuite

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/sightings"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

var ctx = context.Background()

// FileEvent returns a normalized file event of machine n at hour h, of
// a file whose hashes are derived from name.
func FileEvent(t *testing.T, n, h int, name string) openatp.FileEvent {
	t.Helper()
	hex := func(k int) string { return strings.Repeat(string("0123456789abcdef"[len(name)%16]), k) }
	e := openatp.FileEvent{Timestamp: fixture.At(h), DeviceId: fixture.MachineID(n), DeviceName: "host.contoso.com",
		ActionType: "FileCreated", FileName: name, FolderPath: `C:\Users\ana\Downloads\` + name,
		SHA1: hex(40), SHA256: hex(64), MD5: hex(32), FileSize: openatp.Ptr(int64(4096)), Signer: "Contoso Ltd",
		InitiatingProcessFileName: "msedge.exe", InitiatingProcessId: openatp.Ptr(int64(4242))}
	fixture.NoErr(t, e.Normalize())
	return e
}

// NetworkEvent returns a normalized network event of machine n at hour
// h to ip and url.
func NetworkEvent(t *testing.T, n, h int, ip, url string) openatp.NetworkEvent {
	t.Helper()
	e := openatp.NetworkEvent{Timestamp: fixture.At(h), DeviceId: fixture.MachineID(n), ActionType: "ConnectionSuccess",
		RemoteIP: ip, RemotePort: openatp.Ptr(int64(443)), RemoteUrl: url, LocalIP: "10.0.0.5", LocalPort: openatp.Ptr(int64(50123)),
		Protocol: "Tcp", InitiatingProcessFileName: "chrome.exe"}
	fixture.NoErr(t, e.Normalize())
	return e
}

func files(t *testing.T, s openatp.Store, tenant string, f openatp.EventFilter) []openatp.FileEvent {
	t.Helper()
	es, err := s.FileEvents(ctx, tenant, f)
	fixture.NoErr(t, err)
	return es
}

func conns(t *testing.T, s openatp.Store, tenant string, f openatp.EventFilter) []openatp.NetworkEvent {
	t.Helper()
	es, err := s.NetworkEvents(ctx, tenant, f)
	fixture.NoErr(t, err)
	return es
}

// wantItemField checks that err is Invalid, about item i and field.
func wantItemField(t *testing.T, err error, i int, field string) {
	t.Helper()
	fixture.WantKind(t, err, openatp.Invalid)
	var fe *openatp.FieldError
	if n, ok := openatp.ItemIndex(err); !ok || n != i || !errors.As(err, &fe) || fe.Field != field {
		t.Errorf("error %v: want item %d, field %s", err, i, field)
	}
}

// FileEvents: file events are stored as given and read back by hash
// (SHA-1, SHA-256 or MD5, any case), machine and time range, in time
// order; the same events again change nothing.
func FileEvents(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	fixture.MustMachines(t, s, a, 1, 2)
	e1 := FileEvent(t, 1, 2, "invoice.exe")
	e2 := FileEvent(t, 2, 1, "invoice.exe")
	e3 := FileEvent(t, 1, 3, "notes.txt")
	e3.ActionType, e3.FileSize, e3.Signer, e3.InitiatingProcessId = "FileDeleted", nil, "", nil
	fixture.NoErr(t, e3.Normalize())
	fixture.NoErr(t, s.AddFileEvents(ctx, a, []openatp.FileEvent{e1, e2, e3, e1})) // e1 twice in a batch: once
	fixture.NoErr(t, s.AddFileEvents(ctx, a, []openatp.FileEvent{e3, e1}))         // again: nothing changes

	fixture.Diff(t, "all", []openatp.FileEvent{e2, e1, e3}, files(t, s, a, openatp.EventFilter{}))
	for _, h := range []string{e1.SHA1, e1.SHA256, strings.ToUpper(e1.MD5)} {
		fixture.Diff(t, "by hash "+h, []openatp.FileEvent{e2, e1}, files(t, s, a, openatp.EventFilter{Hash: h}))
	}
	fixture.Diff(t, "by machine", []openatp.FileEvent{e1, e3}, files(t, s, a, openatp.EventFilter{MachineID: fixture.MachineID(1)}))
	fixture.Diff(t, "by time", []openatp.FileEvent{e1}, files(t, s, a, openatp.EventFilter{From: fixture.At(2), To: fixture.At(3)}))
	fixture.Diff(t, "limit", []openatp.FileEvent{e2}, files(t, s, a, openatp.EventFilter{Limit: 1}))
	fixture.Diff(t, "unknown hash", []openatp.FileEvent{}, files(t, s, a, openatp.EventFilter{Hash: strings.Repeat("e", 40)}))

	// Two events of one machine at one time are two events when their
	// content (so their derived ReportId) differs.
	e4 := FileEvent(t, 1, 2, "invoice.exe")
	e4.ActionType, e4.ReportId = "FileModified", 0
	fixture.NoErr(t, e4.Normalize())
	fixture.NoErr(t, s.AddFileEvents(ctx, a, []openatp.FileEvent{e4}))
	if got := files(t, s, a, openatp.EventFilter{MachineID: fixture.MachineID(1)}); len(got) != 3 {
		t.Errorf("after a second event at one time: %d events, want 3", len(got))
	}

	_, err := s.FileEvents(ctx, a, openatp.EventFilter{Hash: "abc"})
	fixture.WantKind(t, err, openatp.Invalid)
	_, err = s.FileEvents(ctx, a, openatp.EventFilter{RemoteIP: "1.2.3.4"})
	fixture.WantKind(t, err, openatp.Invalid)
}

// NetworkEvents: network events are read back by remote IP (any form of
// the address), by the domain of the remote URL (ignoring case), by
// machine and time; the same events again change nothing; an event
// without a DeviceName is given its machine's computerDnsName.
func NetworkEvents(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	fixture.MustMachines(t, s, a, 1, 2)
	n1 := NetworkEvent(t, 1, 1, "203.0.113.7", "https://Evil.Example/payload?x=1")
	n2 := NetworkEvent(t, 2, 2, "203.0.113.7", "evil.example:8443")
	n3 := NetworkEvent(t, 1, 3, "2001:db8::1", "")
	n3.ActionType, n3.RemotePort = "ConnectionFailed", nil
	fixture.NoErr(t, n3.Normalize())
	fixture.NoErr(t, s.AddNetworkEvents(ctx, a, []openatp.NetworkEvent{n1, n2, n3}))
	fixture.NoErr(t, s.AddNetworkEvents(ctx, a, []openatp.NetworkEvent{n1, n2, n3}))
	// Without a DeviceName, an event has its machine's name.
	n1.DeviceName, n2.DeviceName, n3.DeviceName = "host1.contoso.com", "host2.contoso.com", "host1.contoso.com"

	fixture.Diff(t, "all", []openatp.NetworkEvent{n1, n2, n3}, conns(t, s, a, openatp.EventFilter{}))
	fixture.Diff(t, "by ip", []openatp.NetworkEvent{n1, n2}, conns(t, s, a, openatp.EventFilter{RemoteIP: "::ffff:203.0.113.7"}))
	fixture.Diff(t, "by ipv6", []openatp.NetworkEvent{n3}, conns(t, s, a, openatp.EventFilter{RemoteIP: "2001:DB8::1"}))
	fixture.Diff(t, "by domain", []openatp.NetworkEvent{n1, n2}, conns(t, s, a, openatp.EventFilter{Domain: "EVIL.example"}))
	fixture.Diff(t, "by domain and machine", []openatp.NetworkEvent{n2}, conns(t, s, a, openatp.EventFilter{Domain: "evil.example", MachineID: fixture.MachineID(2)}))
	fixture.Diff(t, "by time", []openatp.NetworkEvent{n2, n3}, conns(t, s, a, openatp.EventFilter{From: fixture.At(2)}))
	if n3.RemoteIPType != "Public" || n1.RemoteIPType != "Public" || n1.LocalIPType != "Private" {
		t.Errorf("IP types %s, %s, %s: want Public, Public, Private", n3.RemoteIPType, n1.RemoteIPType, n1.LocalIPType)
	}
	_, err := s.NetworkEvents(ctx, a, openatp.EventFilter{Hash: strings.Repeat("a", 40)})
	fixture.WantKind(t, err, openatp.Invalid)
}

// EventsAllOrNothing: a batch with an event of a machine the tenant does
// not have, or an invalid one, is refused whole, naming the event.
func EventsAllOrNothing(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	fixture.MustMachines(t, s, a, 1)
	good := FileEvent(t, 1, 1, "a.dll")
	err := s.AddFileEvents(ctx, a, []openatp.FileEvent{good, FileEvent(t, 9, 1, "b.dll")})
	wantItemField(t, err, 1, "DeviceId")
	bad := FileEvent(t, 1, 2, "c.dll")
	bad.SHA1 = "not a hash"
	wantItemField(t, s.AddFileEvents(ctx, a, []openatp.FileEvent{good, good, bad}), 2, "SHA1")
	fixture.Diff(t, "file events", []openatp.FileEvent{}, files(t, s, a, openatp.EventFilter{}))

	conn := NetworkEvent(t, 1, 1, "198.51.100.1", "")
	err = s.AddNetworkEvents(ctx, a, []openatp.NetworkEvent{NetworkEvent(t, 7, 1, "198.51.100.1", ""), conn})
	wantItemField(t, err, 0, "DeviceId")
	fixture.Diff(t, "network events", []openatp.NetworkEvent{}, conns(t, s, a, openatp.EventFilter{}))

	// The first event of the batch whose machine is missing is named,
	// whatever the order of the events' times, with or without a
	// DeviceName.
	wantItemField(t, s.AddFileEvents(ctx, a, []openatp.FileEvent{good, FileEvent(t, 9, 3, "b.dll"), FileEvent(t, 8, 2, "b.dll")}), 1, "DeviceId")
	unnamed := good
	unnamed.DeviceName = ""
	wantItemField(t, s.AddFileEvents(ctx, a, []openatp.FileEvent{unnamed, good, FileEvent(t, 9, 3, "b.dll")}), 2, "DeviceId")
	noName := FileEvent(t, 7, 4, "b.dll")
	noName.DeviceName = ""
	wantItemField(t, s.AddFileEvents(ctx, a, []openatp.FileEvent{good, FileEvent(t, 9, 5, "b.dll"), noName}), 1, "DeviceId")
	wantItemField(t, s.AddFileEvents(ctx, a, []openatp.FileEvent{good, noName, FileEvent(t, 9, 1, "b.dll")}), 1, "DeviceId")
	fixture.Diff(t, "file events", []openatp.FileEvent{}, files(t, s, a, openatp.EventFilter{}))

	fixture.WantKind(t, s.AddFileEvents(ctx, fixture.TenantID(9), []openatp.FileEvent{good}), openatp.NotFound)
	_, err = s.NetworkEvents(ctx, fixture.TenantID(9), openatp.EventFilter{})
	fixture.WantKind(t, err, openatp.NotFound)
	fixture.NoErr(t, s.AddNetworkEvents(ctx, a, nil))
}

// EventsDeletedMachine: once a store has stored events of a machine, the
// machine's deletion (DeleteMachine, ResetTenant) makes a batch with an
// event of it refused whole, naming its first event of the machine.
func EventsDeletedMachine(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	fixture.MustMachines(t, s, a, 1, 2)
	unnamed := FileEvent(t, 2, 1, "u.dll")
	unnamed.DeviceName = ""
	batch := []openatp.FileEvent{FileEvent(t, 2, 2, "a.dll"), FileEvent(t, 1, 3, "a.dll"), unnamed, FileEvent(t, 1, 1, "b.dll")}
	fixture.NoErr(t, s.AddFileEvents(ctx, a, batch))
	fixture.NoErr(t, s.AddFileEvents(ctx, a, batch))
	fixture.NoErr(t, s.DeleteMachine(ctx, a, fixture.MachineID(1)))
	later := []openatp.FileEvent{FileEvent(t, 2, 4, "c.dll"), FileEvent(t, 1, 5, "c.dll"), FileEvent(t, 1, 0, "c.dll")}
	wantItemField(t, s.AddFileEvents(ctx, a, later), 1, "DeviceId")
	stored := unnamed
	stored.DeviceName = "host2.contoso.com"
	fixture.Diff(t, "machine 2's events", []openatp.FileEvent{stored, batch[0]}, files(t, s, a, openatp.EventFilter{MachineID: fixture.MachineID(2)}))
	wantItemField(t, s.AddNetworkEvents(ctx, a, []openatp.NetworkEvent{NetworkEvent(t, 2, 1, "192.0.2.1", ""), NetworkEvent(t, 1, 1, "192.0.2.1", "")}), 1, "DeviceId")
	fixture.NoErr(t, s.AddFileEvents(ctx, a, later[:1])) // machine 2 is still the tenant's

	fixture.NoErr(t, s.ResetTenant(ctx, a))
	wantItemField(t, s.AddFileEvents(ctx, a, later[:1]), 0, "DeviceId")
	fixture.Diff(t, "after the reset", []openatp.FileEvent{}, files(t, s, a, openatp.EventFilter{}))
}

// EventsLargeBatch: a batch of more events than one statement takes
// (5,099, out of time order, of three files; a store may write it in
// parts) is stored whole, each event once, those without a DeviceName
// given their machine's computerDnsName; adding it or part of it again
// changes nothing.
func EventsLargeBatch(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	fixture.MustMachines(t, s, a, 1, 2)
	es := make([]openatp.FileEvent, 5099)
	want := make([]openatp.FileEvent, len(es))
	for i := range es {
		n := 1 + i%2
		es[i] = FileEvent(t, n, 1, []string{"a.dll", "bb.dll", "ccc.dll"}[i%3])
		es[i].Timestamp = es[i].Timestamp.Add(time.Duration(len(es)-i) * time.Second)
		want[len(es)-1-i] = es[i]
		if i%5 == 0 {
			es[i].DeviceName = ""
			want[len(es)-1-i].DeviceName = fmt.Sprintf("host%d.contoso.com", n)
		}
	}
	fixture.NoErr(t, s.AddFileEvents(ctx, a, es))
	fixture.NoErr(t, s.AddFileEvents(ctx, a, es)) // again (with the statements a store may keep from the first time)
	fixture.NoErr(t, s.AddFileEvents(ctx, a, es[1000:1100]))
	fixture.Diff(t, "all", want, files(t, s, a, openatp.EventFilter{}))
	if es[0].DeviceName != "" {
		t.Errorf("the caller's event was changed: DeviceName %q", es[0].DeviceName)
	}
}

// EventsTenants: a tenant sees only its events; ResetTenant deletes them.
func EventsTenants(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	b := fixture.MustTenant(t, s, 2, "B")
	fixture.MustMachines(t, s, a, 1)
	fixture.MustMachines(t, s, b, 1)
	fa, fb := FileEvent(t, 1, 1, "a.exe"), FileEvent(t, 1, 1, "a.exe")
	fixture.NoErr(t, s.AddFileEvents(ctx, a, []openatp.FileEvent{fa}))
	fixture.NoErr(t, s.AddFileEvents(ctx, b, []openatp.FileEvent{fb}))
	fixture.NoErr(t, s.AddNetworkEvents(ctx, a, []openatp.NetworkEvent{NetworkEvent(t, 1, 1, "192.0.2.1", "a.example")}))
	fixture.NoErr(t, s.ResetTenant(ctx, a))
	fixture.Diff(t, "A's file events", []openatp.FileEvent{}, files(t, s, a, openatp.EventFilter{}))
	fixture.Diff(t, "A's network events", []openatp.NetworkEvent{}, conns(t, s, a, openatp.EventFilter{}))
	fixture.Diff(t, "B's file events", []openatp.FileEvent{fb}, files(t, s, b, openatp.EventFilter{}))
}

// EventRetention: DeleteEventsBefore deletes the events and the IP
// history older than its time, in every tenant, and keeps the rest.
func EventRetention(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	b := fixture.MustTenant(t, s, 2, "B")
	old, recent := fixture.At(0), fixture.At(10)
	for _, tenant := range []string{a, b} {
		fixture.MustUpsert(t, s, tenant, openatp.Machine{ID: fixture.MachineID(1), LastSeen: &old, LastIPAddress: openatp.Ptr("10.1.1.1")})
		fixture.MustUpsert(t, s, tenant, openatp.Machine{ID: fixture.MachineID(1), LastSeen: &recent, LastIPAddress: openatp.Ptr("10.2.2.2")})
		fixture.NoErr(t, s.AddFileEvents(ctx, tenant, []openatp.FileEvent{FileEvent(t, 1, 0, "old.exe"), FileEvent(t, 1, 10, "new.exe")}))
		fixture.NoErr(t, s.AddNetworkEvents(ctx, tenant, []openatp.NetworkEvent{NetworkEvent(t, 1, 0, "192.0.2.1", ""), NetworkEvent(t, 1, 10, "192.0.2.2", "")}))
	}
	n, err := s.DeleteEventsBefore(ctx, fixture.At(5))
	fixture.NoErr(t, err)
	if n != 6 {
		t.Errorf("deleted %d rows, want 6 (2 tenants × a file event, a network event, an IP history row)", n)
	}
	for _, tenant := range []string{a, b} {
		if got := files(t, s, tenant, openatp.EventFilter{}); len(got) != 1 || got[0].FileName != "new.exe" {
			t.Errorf("file events kept: %+v, want new.exe's", got)
		}
		if got := conns(t, s, tenant, openatp.EventFilter{}); len(got) != 1 || got[0].RemoteIP != "192.0.2.2" {
			t.Errorf("network events kept: %+v, want 192.0.2.2's", got)
		}
		for ip, want := range map[string]int{"10.1.1.1": 0, "10.2.2.2": 1} {
			at := old
			if want == 1 {
				at = recent
			}
			ids, err := s.MachinesByIP(ctx, tenant, netip.MustParseAddr(ip), at.Add(-time.Minute), at.Add(time.Minute))
			fixture.NoErr(t, err)
			if len(ids) != want {
				t.Errorf("machines by %s after the retention: %v, want %d", ip, ids, want)
			}
		}
	}
	n, err = s.DeleteEventsBefore(ctx, fixture.At(5))
	fixture.NoErr(t, err)
	if n != 0 {
		t.Errorf("deleted %d rows again, want 0", n)
	}
}

// Sightings: a value's events summed up per machine (sightings.Store):
// first and last Timestamp and the number of events, by machine id, over
// the time window asked; nothing of another tenant or another value.
func Sightings(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	sst, err := sightings.Of(s)
	fixture.NoErr(t, err)
	a := fixture.MustTenant(t, s, 1, "A")
	b := fixture.MustTenant(t, s, 2, "B")
	fixture.MustMachines(t, s, a, 1, 2)
	fixture.MustMachines(t, s, b, 1)
	fixture.NoErr(t, s.AddFileEvents(ctx, a, []openatp.FileEvent{FileEvent(t, 2, 1, "invoice.exe"), FileEvent(t, 1, 2, "invoice.exe"),
		FileEvent(t, 1, 5, "invoice.exe"), FileEvent(t, 1, 3, "notes.txt")}))
	fixture.NoErr(t, s.AddFileEvents(ctx, b, []openatp.FileEvent{FileEvent(t, 1, 0, "invoice.exe")}))
	fixture.NoErr(t, s.AddNetworkEvents(ctx, a, []openatp.NetworkEvent{NetworkEvent(t, 1, 1, "203.0.113.7", "https://Evil.example/x"),
		NetworkEvent(t, 1, 4, "203.0.113.7", "evil.example"), NetworkEvent(t, 2, 2, "198.51.100.1", "other.example")}))
	sg := func(n, first, last int, events int64) sightings.Sighting {
		return sightings.Sighting{DeviceId: fixture.MachineID(n), First: fixture.At(first), Last: fixture.At(last), Events: events}
	}
	hash := FileEvent(t, 1, 0, "invoice.exe").MD5
	got, err := sst.FileSightings(ctx, a, openatp.EventFilter{Hash: strings.ToUpper(hash)})
	fixture.NoErr(t, err)
	fixture.Diff(t, "file", []sightings.Sighting{sg(1, 2, 5, 2), sg(2, 1, 1, 1)}, got)
	got, err = sst.FileSightings(ctx, a, openatp.EventFilter{Hash: hash, From: fixture.At(2)})
	fixture.NoErr(t, err)
	fixture.Diff(t, "file from hour 2", []sightings.Sighting{sg(1, 2, 5, 2)}, got)
	got, err = sst.NetworkSightings(ctx, a, openatp.EventFilter{Domain: "EVIL.example"})
	fixture.NoErr(t, err)
	fixture.Diff(t, "domain", []sightings.Sighting{sg(1, 1, 4, 2)}, got)
	got, err = sst.NetworkSightings(ctx, a, openatp.EventFilter{RemoteIP: "198.51.100.1"})
	fixture.NoErr(t, err)
	fixture.Diff(t, "ip", []sightings.Sighting{sg(2, 2, 2, 1)}, got)
	got, err = sst.NetworkSightings(ctx, a, openatp.EventFilter{RemoteIP: "192.0.2.1"})
	fixture.NoErr(t, err)
	fixture.Diff(t, "unknown ip", []sightings.Sighting{}, got)
	_, err = sst.FileSightings(ctx, a, openatp.EventFilter{Hash: hash, MachineID: fixture.MachineID(1)})
	fixture.WantKind(t, err, openatp.Invalid)
	_, err = sst.FileSightings(ctx, "no-such-tenant", openatp.EventFilter{Hash: hash})
	fixture.WantKind(t, err, openatp.NotFound)
}
