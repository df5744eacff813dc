package storetest

import (
	"fmt"
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

// changes reads the feed since v, failing t on an error.
func changes(t *testing.T, s openatp.Store, tenant string, since uint64) openatp.Changes {
	t.Helper()
	ch, err := s.Changes(ctx, tenant, since, 100_000)
	if err != nil {
		t.Fatalf("Changes(%d): %v", since, err)
	}
	return ch
}

func contentVersion(t *testing.T, s openatp.Store, tenant string) uint64 {
	t.Helper()
	v, err := s.ContentVersion(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// feed is what a reader learns from Changes, in comparable form.
type feed struct {
	Rebuild   bool
	Machines  []string
	Deleted   []string
	Relations []openatp.RelationChange
}

func feedOf(ch openatp.Changes) feed {
	return feed{Rebuild: ch.Rebuild, Machines: fixture.IDs(ch.Machines), Deleted: ch.Deleted, Relations: ch.Relations}
}

func rel(name, domain string, n int, exists bool) openatp.RelationChange {
	return openatp.RelationChange{NameKey: openatp.NameKey(name), DomainKey: openatp.NameKey(domain), MachineID: fixture.MachineID(n), Exists: exists}
}

func testChanges(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	b := fixture.MustTenant(t, s, 2, "B")

	_, err := s.Changes(ctx, fixture.TenantID(99), 0, 10)
	fixture.WantKind(t, err, openatp.NotFound)

	// The first content write may start the tenant's counter anywhere
	// (PostgreSQL starts it at a random value): the feed starts there.
	fixture.MustMachines(t, s, a, 50)
	v0 := contentVersion(t, s, a)
	if ch := changes(t, s, a, v0); ch.Version != v0 || ch.Rebuild || len(ch.Machines)+len(ch.Deleted)+len(ch.Relations) != 0 {
		t.Fatalf("Changes at the current version = %+v, want nothing", ch)
	}

	// One write at a time: each answer names what it changed, and leads
	// to the version ContentVersion gives.
	fixture.MustMachines(t, s, a, 3, 1)
	v1 := contentVersion(t, s, a)
	ch := changes(t, s, a, v0)
	if ch.Version != v1 {
		t.Errorf("Version = %d, want ContentVersion %d", ch.Version, v1)
	}
	fixture.Diff(t, "machines written", feed{Machines: fixture.MachineIDs(1, 3)}, feedOf(ch), fixture.EquateEmpty)
	if ch.Machines[0].ComputerDNSName == nil || *ch.Machines[0].ComputerDNSName != "host1.contoso.com" {
		t.Errorf("changed machine = %+v, want its stored state", ch.Machines[0])
	}

	fixture.MustLogons(t, s, a, fixture.Logon("contoso", "Alice", 1, 1, "Interactive"), fixture.Logon("CONTOSO", "alice", 3, 2, "Network"),
		fixture.Logon("contoso", "bob", 3, 2, ""))
	v2 := contentVersion(t, s, a)
	fixture.Diff(t, "relations written", feed{Relations: []openatp.RelationChange{
		rel("alice", "contoso", 1, true), rel("alice", "contoso", 3, true), rel("bob", "contoso", 3, true)}},
		feedOf(changes(t, s, a, v1)), fixture.EquateEmpty)

	// Another tenant's writes are not in the feed, nor do they move it.
	fixture.MustMachines(t, s, b, 7)
	fixture.MustLogons(t, s, b, fixture.Logon("contoso", "carol", 7, 1, ""))
	if ch := changes(t, s, a, v2); ch.Version != v2 || len(ch.Machines)+len(ch.Relations) != 0 {
		t.Errorf("tenant A's feed after writes to B = %+v, want nothing", ch)
	}

	// A gap: several writes read at once, each key once, in key order.
	fixture.MustUpsert(t, s, a, openatp.Machine{ID: fixture.MachineID(1), ComputerDNSName: openatp.Ptr("renamed.contoso.com")})
	fixture.MustMachines(t, s, a, 2)
	fixture.MustLogons(t, s, a, fixture.Logon("contoso", "bob", 2, 3, ""), fixture.Logon("contoso", "bob", 3, 4, ""))
	fixture.NoErr(t, s.DeleteMachine(ctx, a, fixture.MachineID(3)))
	v3 := contentVersion(t, s, a)
	ch = changes(t, s, a, v2)
	fixture.Diff(t, "catch-up after a gap", feed{
		Machines: fixture.MachineIDs(1, 2),
		Deleted:  fixture.MachineIDs(3),
		Relations: []openatp.RelationChange{
			rel("alice", "contoso", 3, false), rel("bob", "contoso", 2, true), rel("bob", "contoso", 3, false)},
	}, feedOf(ch), fixture.EquateEmpty)
	if got := *ch.Machines[0].ComputerDNSName; got != "renamed.contoso.com" {
		t.Errorf("machine 1 after the gap is named %q, want its latest state", got)
	}
	if ch.Version != v3 {
		t.Errorf("Version = %d, want %d", ch.Version, v3)
	}
	// From the start: everything, at its current state.
	fixture.Diff(t, "from the first version", feed{
		Machines: fixture.MachineIDs(1, 2),
		Deleted:  fixture.MachineIDs(3),
		Relations: []openatp.RelationChange{rel("alice", "contoso", 1, true), rel("alice", "contoso", 3, false),
			rel("bob", "contoso", 2, true), rel("bob", "contoso", 3, false)},
	}, feedOf(changes(t, s, a, v0)), fixture.EquateEmpty)

	// More changes than the caller's limit, a batch larger than the feed
	// records, a reset, and a version the feed never gave: Rebuild.
	if ch, err := s.Changes(ctx, a, v0, 3); err != nil || !ch.Rebuild || ch.Version != v3 {
		t.Errorf("Changes over the limit = %+v, %v; want Rebuild at %d", ch, err, v3)
	}
	if ch := changes(t, s, a, v3+1_000_000); !ch.Rebuild {
		t.Errorf("Changes from a version ahead of the feed = %+v, want Rebuild", ch)
	}
	if su.Reopen != nil {
		// A write by another process or replica is in the feed.
		other := su.Reopen(t, s)
		if err := other.UpsertMachines(ctx, a, []openatp.Machine{{ID: fixture.MachineID(9), MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}}}); err != nil {
			t.Fatal(err)
		}
		fixture.Diff(t, "a write of another process", feed{Machines: fixture.MachineIDs(9)}, feedOf(changes(t, s, a, v3)), fixture.EquateEmpty)
		v3 = contentVersion(t, s, a)
	}
	big := make([]openatp.Machine, sqlstore.MaxLoggedChanges+1)
	for i := range big {
		big[i] = openatp.Machine{ID: fixture.MachineID(1000 + i), MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}}
	}
	fixture.NoErr(t, s.WriteBatch(ctx, a, func(w openatp.BatchWriter) error { return w.UpsertMachines(big) }))
	v4 := contentVersion(t, s, a)
	if ch := changes(t, s, a, v3); !ch.Rebuild || ch.Version != v4 {
		t.Errorf("Changes over a batch of %d machines = Rebuild %v at %d, want Rebuild at %d", len(big), ch.Rebuild, ch.Version, v4)
	}
	fixture.MustMachines(t, s, a, 5)
	v5 := contentVersion(t, s, a)
	fixture.Diff(t, "after the large batch", feed{Machines: fixture.MachineIDs(5)}, feedOf(changes(t, s, a, v4)), fixture.EquateEmpty)
	fixture.NoErr(t, s.ResetTenant(ctx, a))
	if ch := changes(t, s, a, v5); !ch.Rebuild {
		t.Errorf("Changes over a reset = %+v, want Rebuild", ch)
	}

	// Compaction: the feed keeps sqlstore.FeedRetention versions; a
	// reader further behind is told to rebuild, one within it is not.
	fixture.MustMachines(t, s, b, 8)
	old := contentVersion(t, s, b)
	var recent uint64
	for i := range sqlstore.FeedRetention + sqlstore.CompactEvery {
		fixture.MustUpsert(t, s, b, openatp.Machine{ID: fixture.MachineID(8), ComputerDNSName: openatp.Ptr(fmt.Sprintf("v%d", i))})
		if i == sqlstore.CompactEvery {
			recent = contentVersion(t, s, b)
		}
	}
	if ch := changes(t, s, b, old); !ch.Rebuild {
		t.Errorf("Changes from %d versions back = %+v, want Rebuild", sqlstore.FeedRetention+sqlstore.CompactEvery, feedOf(ch))
	}
	ch = changes(t, s, b, recent)
	fixture.Diff(t, "within the retention", feed{Machines: fixture.MachineIDs(8)}, feedOf(ch), fixture.EquateEmpty)
}
