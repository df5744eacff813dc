package storetest

import (
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

// testEngineDifferences pins down what SQL engines tend to do differently:
// string ordering (collations), case folding beyond ASCII and time
// precision.
func testEngineDifferences(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	tenant := fixture.MustTenant(t, s, 1, "a.example")

	t.Run("machine ids in byte order", func(t *testing.T) {
		// Digits sort before letters, whatever the locale.
		fixture.MustMachines(t, s, tenant, 0xf000, 0x0fff, 0xa000, 0x9fff)
		for _, n := range []int{0xf000, 0x0fff, 0xa000, 0x9fff} {
			fixture.MustLogons(t, s, tenant, fixture.Logon("d", "orderly", n, 1, ""))
		}
		fixture.Diff(t, "ids", fixture.MachineIDs(0x0fff, 0x9fff, 0xa000, 0xf000), fixture.UserMachineIDs(t, s, tenant, openatp.UserRef{Name: "orderly"}))
	})
	t.Run("case folding is openatp.NameKey", func(t *testing.T) {
		fixture.MustMachines(t, s, tenant, 1, 2, 3)
		fixture.MustLogons(t, s, tenant,
			fixture.Logon("DÖMÄIN", "ÄBC", 1, 1, ""),
			fixture.Logon("dömäin", "äbc", 2, 1, ""),
			fixture.Logon("DOMAIN", "ABC", 3, 1, ""), // not the same as ÄBC
		)
		fixture.Diff(t, "äbc", fixture.MachineIDs(1, 2), fixture.UserMachineIDs(t, s, tenant, openatp.UserRef{Name: "äbc"}))
		fixture.Diff(t, "ÄBC in dÖmäin", fixture.MachineIDs(1, 2), fixture.UserMachineIDs(t, s, tenant, openatp.UserRef{Name: "ÄBC", Domain: "dÖmäin"}))
		fixture.Diff(t, "abc", fixture.MachineIDs(3), fixture.UserMachineIDs(t, s, tenant, openatp.UserRef{Name: "abc"}))
		_, rels := fixture.Snapshot(t, s, tenant)
		var spelled []string
		for _, r := range rels {
			if r.MachineID == fixture.MachineID(2) {
				spelled = append(spelled, r.AccountDomain+`\`+r.AccountName)
			}
		}
		fixture.Diff(t, "spelling of the first event", []string{`DÖMÄIN\ÄBC`}, spelled)

		fixture.NoErr(t, s.CreateTenant(ctx, openatp.Tenant{ID: fixture.TenantID(2), Name: "ÜBER.example", Created: fixture.T0}))
		got, err := s.Tenant(ctx, "über.EXAMPLE")
		fixture.NoErr(t, err)
		fixture.Diff(t, "tenant id", fixture.TenantID(2), got.ID)
	})
	t.Run("times keep 100 ns", func(t *testing.T) {
		first := time.Date(1999, 12, 31, 23, 59, 59, 999999900, time.UTC)
		last := time.Date(2100, 1, 1, 0, 0, 0, 100, time.UTC)
		m := openatp.Machine{ID: fixture.MachineID(0x77), FirstSeen: &first, LastSeen: &last}
		fixture.MustUpsert(t, s, tenant, m)
		got, err := s.Machine(ctx, tenant, m.ID)
		fixture.NoErr(t, err)
		fixture.Diff(t, "machine", defaultGroup(m), got)
		fixture.MustLogons(t, s, tenant, openatp.Logon{MachineID: m.ID, AccountName: "precise", AccountDomain: "d", Timestamp: last})
		fixture.MustLogons(t, s, tenant, openatp.Logon{MachineID: m.ID, AccountName: "precise", AccountDomain: "d", Timestamp: last.Add(-100 * time.Nanosecond)})
		_, rels := fixture.Snapshot(t, s, tenant)
		for _, r := range rels {
			if r.AccountName == "precise" {
				if !r.FirstSeen.Equal(last.Add(-100*time.Nanosecond)) || !r.LastSeen.Equal(last) {
					t.Errorf("relation seen %v to %v, want %v to %v", r.FirstSeen, r.LastSeen, last.Add(-100*time.Nanosecond), last)
				}
			}
		}
	})
	t.Run("non-UTC input", func(t *testing.T) {
		zone := time.FixedZone("UTC+5", 5*3600)
		first := fixture.T0.In(zone)
		m := openatp.Machine{ID: fixture.MachineID(0x78), FirstSeen: &first}
		fixture.MustUpsert(t, s, tenant, m)
		got, err := s.Machine(ctx, tenant, m.ID)
		fixture.NoErr(t, err)
		if !got.FirstSeen.Equal(fixture.T0) || got.FirstSeen.Location() != time.UTC {
			t.Errorf("FirstSeen %v, want %v in UTC", got.FirstSeen, fixture.T0)
		}
	})
}
