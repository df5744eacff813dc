package storetest

import (
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

// fullMachine returns a machine with every stored property set.
func fullMachine(n int) openatp.Machine {
	first := fixture.T0.Add(-48 * time.Hour)
	last := fixture.T0.Add(100 * time.Nanosecond)
	return openatp.Machine{
		ID:                    fixture.MachineID(n),
		ComputerDNSName:       openatp.Ptr("Desktop-Ä1.contoso.com"),
		FirstSeen:             &first,
		LastSeen:              &last,
		OSPlatform:            openatp.Ptr("Windows11"),
		OSVersion:             openatp.Ptr("10.0.22631"),
		OSProcessor:           openatp.Ptr("x64"),
		Version:               openatp.Ptr("23H2"),
		LastIPAddress:         openatp.Ptr("fe80::1c2d:3e4f:5a6b:7c8d"),
		LastExternalIPAddress: openatp.Ptr("203.0.113.7"),
		AgentVersion:          openatp.Ptr("10.8760.22631.3447"),
		OSBuild:               openatp.Ptr(int64(22631)),
		HealthStatus:          openatp.Ptr("Active"),
		OnboardingStatus:      openatp.Ptr("Onboarded"),
		RiskScore:             openatp.Ptr("Medium"),
		ExposureLevel:         openatp.Ptr("High"),
		IsAADJoined:           openatp.Ptr(true),
		AADDeviceID:           openatp.Ptr("80fe8ff8-2624-418e-9591-41f0491218f9"),
		MachineTags:           []string{"zeta", "Alpha", "ümlaut tag", "alpha"},
		DeviceValue:           openatp.Ptr("High"),
		IPAddresses: []openatp.IPAddress{
			{IPAddress: "2001:db8::8a2e:370:7334", MACAddress: openatp.Ptr("00155D0A0B0C"), Type: openatp.Ptr("Ethernet"), OperationalStatus: openatp.Ptr("Up")},
			{IPAddress: "10.0.0.4"},
		},
		OSArchitecture: openatp.Ptr("64-bit"),
	}
}

// defaultGroup returns m normalized, as the store keeps it, in the default
// device group.
func defaultGroup(m openatp.Machine) openatp.Machine {
	if err := m.Normalize(); err != nil {
		panic(err)
	}
	m.RBACGroupID, m.RBACGroupName = openatp.DefaultGroupID, openatp.DefaultGroupName
	return m
}

func testMachineRoundTrip(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	tenant := fixture.MustTenant(t, s, 1, "a.example")
	zeroBuild := fullMachine(3)
	zeroBuild.OSBuild, zeroBuild.IsAADJoined = openatp.Ptr(int64(0)), openatp.Ptr(false)
	zeroBuild.MachineTags, zeroBuild.IPAddresses = []string{}, []openatp.IPAddress{}
	for _, tc := range []struct {
		name string
		m    openatp.Machine
	}{
		{"every property", fullMachine(1)},
		{"only an id", openatp.Machine{ID: fixture.MachineID(2)}},
		{"zero values", zeroBuild},
		{"empty strings", openatp.Machine{ID: fixture.MachineID(4), ComputerDNSName: openatp.Ptr(""), OSVersion: openatp.Ptr("")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.m
			fixture.MustUpsert(t, s, tenant, m)
			got, err := s.Machine(ctx, tenant, m.ID)
			fixture.NoErr(t, err)
			// No cmp options: nil and empty differ, times must be equal.
			fixture.Diff(t, "Machine", defaultGroup(m), got)
			if got.FirstSeen != nil && got.FirstSeen.Location() != time.UTC {
				t.Errorf("FirstSeen is in %v, want UTC", got.FirstSeen.Location())
			}
		})
	}
	_, err := s.Machine(ctx, tenant, fixture.MachineID(99))
	fixture.WantKind(t, err, openatp.NotFound)
	_, err = s.Machine(ctx, fixture.TenantID(9), fixture.MachineID(1))
	fixture.WantKind(t, err, openatp.NotFound)
}

func testUpsertMachines(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	tenant := fixture.MustTenant(t, s, 1, "a.example")
	fixture.MustUpsert(t, s, tenant, fullMachine(1), fullMachine(2))

	t.Run("replaces", func(t *testing.T) {
		m := openatp.Machine{ID: fixture.MachineID(1), OSPlatform: openatp.Ptr("Linux"), MachineTags: []string{"new"}}
		fixture.MustUpsert(t, s, tenant, m)
		got, err := s.Machine(ctx, tenant, m.ID)
		fixture.NoErr(t, err)
		fixture.Diff(t, "replaced machine", defaultGroup(m), got)
	})
	t.Run("same id twice in a batch: the last wins", func(t *testing.T) {
		a, b := fullMachine(5), fullMachine(5)
		b.OSPlatform = openatp.Ptr("macOS")
		fixture.MustUpsert(t, s, tenant, a, b)
		got, err := s.Machine(ctx, tenant, b.ID)
		fixture.NoErr(t, err)
		fixture.Diff(t, "machine", defaultGroup(b), got)
	})
	t.Run("a bad machine stores nothing", func(t *testing.T) {
		good := fullMachine(7)
		changed := fullMachine(2)
		changed.OSPlatform = openatp.Ptr("Linux")
		bad := openatp.Machine{ID: "not-an-id"}
		err := s.UpsertMachines(ctx, tenant, []openatp.Machine{good, changed, bad})
		fixture.WantKind(t, err, openatp.Invalid)
		fixture.Contains(t, err, "machine 2")
		_, err = s.Machine(ctx, tenant, good.ID)
		fixture.WantKind(t, err, openatp.NotFound)
		got, err := s.Machine(ctx, tenant, changed.ID)
		fixture.NoErr(t, err)
		fixture.Diff(t, "machine changed by a failed batch", defaultGroup(fullMachine(2)), got)
	})
	t.Run("unknown tenant", func(t *testing.T) {
		err := s.UpsertMachines(ctx, fixture.TenantID(9), []openatp.Machine{fullMachine(8)})
		fixture.WantKind(t, err, openatp.NotFound)
		_, err = s.Machine(ctx, fixture.TenantID(9), fixture.MachineID(8))
		fixture.WantKind(t, err, openatp.NotFound)
	})
	t.Run("empty batch", func(t *testing.T) {
		fixture.NoErr(t, s.UpsertMachines(ctx, tenant, nil))
	})
}
