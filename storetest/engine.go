package storetest

import (
	"testing"
	"time"

	"github.com/openatp/openatp"
)

// testEngineDifferences pins down what SQL engines tend to do differently:
// string ordering (collations), case folding beyond ASCII and time
// precision.
func testEngineDifferences(t *testing.T, su *suite) {
	s := su.open(t)
	tenant := mustTenant(t, s, 1, "a.example")

	t.Run("machine ids in byte order", func(t *testing.T) {
		// Digits sort before letters, whatever the locale.
		mustMachines(t, s, tenant, 0xf000, 0x0fff, 0xa000, 0x9fff)
		for _, n := range []int{0xf000, 0x0fff, 0xa000, 0x9fff} {
			mustLogons(t, s, tenant, logon("d", "orderly", n, 1, ""))
		}
		diff(t, "ids", machineIDs(0x0fff, 0x9fff, 0xa000, 0xf000), userMachineIDs(t, s, tenant, openatp.UserRef{Name: "orderly"}))
	})
	t.Run("case folding is openatp.NameKey", func(t *testing.T) {
		mustMachines(t, s, tenant, 1, 2, 3)
		mustLogons(t, s, tenant,
			logon("DÖMÄIN", "ÄBC", 1, 1, ""),
			logon("dömäin", "äbc", 2, 1, ""),
			logon("DOMAIN", "ABC", 3, 1, ""), // not the same as ÄBC
		)
		diff(t, "äbc", machineIDs(1, 2), userMachineIDs(t, s, tenant, openatp.UserRef{Name: "äbc"}))
		diff(t, "ÄBC in dÖmäin", machineIDs(1, 2), userMachineIDs(t, s, tenant, openatp.UserRef{Name: "ÄBC", Domain: "dÖmäin"}))
		diff(t, "abc", machineIDs(3), userMachineIDs(t, s, tenant, openatp.UserRef{Name: "abc"}))
		_, rels := snapshot(t, s, tenant)
		var spelled []string
		for _, r := range rels {
			if r.MachineID == machineID(2) {
				spelled = append(spelled, r.AccountDomain+`\`+r.AccountName)
			}
		}
		diff(t, "spelling of the first event", []string{`DÖMÄIN\ÄBC`}, spelled)

		noErr(t, s.CreateTenant(ctx, openatp.Tenant{ID: tenantID(2), Name: "ÜBER.example", Created: t0}))
		got, err := s.Tenant(ctx, "über.EXAMPLE")
		noErr(t, err)
		diff(t, "tenant id", tenantID(2), got.ID)
	})
	t.Run("times keep 100 ns", func(t *testing.T) {
		first := time.Date(1999, 12, 31, 23, 59, 59, 999999900, time.UTC)
		last := time.Date(2100, 1, 1, 0, 0, 0, 100, time.UTC)
		m := openatp.Machine{ID: machineID(0x77), FirstSeen: &first, LastSeen: &last}
		mustUpsert(t, s, tenant, m)
		got, err := s.Machine(ctx, tenant, m.ID)
		noErr(t, err)
		diff(t, "machine", defaultGroup(m), got)
		mustLogons(t, s, tenant, openatp.Logon{MachineID: m.ID, AccountName: "precise", AccountDomain: "d", Timestamp: last})
		mustLogons(t, s, tenant, openatp.Logon{MachineID: m.ID, AccountName: "precise", AccountDomain: "d", Timestamp: last.Add(-100 * time.Nanosecond)})
		_, rels := snapshot(t, s, tenant)
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
		first := t0.In(zone)
		m := openatp.Machine{ID: machineID(0x78), FirstSeen: &first}
		mustUpsert(t, s, tenant, m)
		got, err := s.Machine(ctx, tenant, m.ID)
		noErr(t, err)
		if !got.FirstSeen.Equal(t0) || got.FirstSeen.Location() != time.UTC {
			t.Errorf("FirstSeen %v, want %v in UTC", got.FirstSeen, t0)
		}
	})
}
