package wire_test

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/wire"
)

// Compact and Expand give back the same bytes, and Compact makes a
// machine much smaller, also for strings that look like property names.
func TestCompactRoundTrip(t *testing.T) {
	ms := compactMachines()
	for _, m := range ms {
		full := wire.AppendMachine(nil, &m)
		c := wire.Compact(nil, full)
		if got := wire.Expand(nil, c); !bytes.Equal(got, full) {
			t.Errorf("round trip:\n got %s\nwant %s", got, full)
		}
		if len(c)*2 > len(full)+200 {
			t.Errorf("compact form of %d bytes is %d bytes", len(full), len(c))
		}
	}
}

func compactMachines() []openatp.Machine {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 600, time.UTC)
	tricky := `x,"version":"y"],"deviceValue":{"ipAddress":` + "\x01\n"
	return []openatp.Machine{
		{ID: "1e5bc9d7e413ddd7902c2932e418702b84d0cc07", MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}},
		{ID: "1e5bc9d7e413ddd7902c2932e418702b84d0cc07", ComputerDNSName: &tricky, FirstSeen: &ts, LastSeen: &ts,
			OSPlatform: openatp.Ptr("Windows11"), OSBuild: openatp.Ptr(int64(22631)), IsAADJoined: openatp.Ptr(true),
			MachineTags: []string{tricky, "b"}, DeviceValue: openatp.Ptr("High"), RBACGroupID: 7, RBACGroupName: tricky,
			IPAddresses: []openatp.IPAddress{{IPAddress: "10.0.0.1", MACAddress: openatp.Ptr("8CEC4B897E73"), Type: &tricky},
				{IPAddress: "fe80::1"}}},
	}
}

// CompactMachine writes what Compact makes of the machine's head and of
// its tail, for any machine: random ones, with values of every length a
// segment's length is written in (one, two and three bytes).
func TestCompactMachine(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	str := func() string {
		b := make([]byte, []int{0, 1, 5, 126, 127, 128, 300, 20000}[r.IntN(8)])
		for i := range b {
			b[i] = (`ab",{}[]:\` + "\x01\xff")[r.IntN(12)]
		}
		return string(b)
	}
	ptr := func() *string {
		if r.IntN(4) == 0 {
			return nil
		}
		return openatp.Ptr(str())
	}
	ms := compactMachines()
	for range 2000 {
		m := openatp.Machine{ID: str(), ComputerDNSName: ptr(), OSPlatform: ptr(), OSVersion: ptr(), OSProcessor: ptr(),
			Version: ptr(), LastIPAddress: ptr(), LastExternalIPAddress: ptr(), AgentVersion: ptr(), HealthStatus: ptr(),
			OnboardingStatus: ptr(), RiskScore: ptr(), ExposureLevel: ptr(), AADDeviceID: ptr(), DeviceValue: ptr(), OSArchitecture: ptr()}
		for range r.IntN(4) {
			m.MachineTags = append(m.MachineTags, str())
		}
		for range r.IntN(3) {
			m.IPAddresses = append(m.IPAddresses, openatp.IPAddress{IPAddress: str(), MACAddress: ptr(), Type: ptr(), OperationalStatus: ptr()})
		}
		ms = append(ms, m)
	}
	for i, m := range ms {
		head := wire.Compact(nil, wire.AppendMachineHead(nil, &m))
		want := wire.Compact(head, wire.AppendMachineTail(nil, &m))
		size := len(wire.AppendMachineHead(nil, &m)) + len(wire.AppendMachineTail(nil, &m))
		got, cut, n := wire.CompactMachine([]byte("prefix"), &m)
		if !bytes.Equal(got[6:], want) || cut != 6+len(head) || n != size {
			t.Fatalf("machine %d: CompactMachine = %q, cut %d, size %d; want %q, cut %d, size %d", i, got[6:], cut-6, n, want, len(head), size)
		}
	}
}

// Alerts compact too, evidence and all.
func TestCompactAlert(t *testing.T) {
	ts := time.Date(2021, 1, 26, 20, 33, 59, 200000000, time.UTC)
	tricky := `x,"status":"y"],"evidence":{"userName":` + "\x01\n"
	a := openatp.Alert{ID: "da637472900382838869_1364969609", IncidentID: openatp.Ptr(int64(1126093)), Severity: "Low", Status: "New",
		Title: &tricky, LastUpdateTime: &ts, MachineID: "111e6dd8c833c8a052ea231ec1b19adaf497b625", ComputerDNSName: &tricky,
		RBACGroupID: 3, RBACGroupName: "A", MitreTechniques: []string{"T1064"}, RelatedUser: &openatp.AlertAccount{Name: tricky},
		LoggedOnUsers: []openatp.AlertAccount{{Name: "a", Domain: &tricky}},
		Comments:      []openatp.AlertComment{{Comment: tricky, CreatedTime: &ts}},
		Evidence:      []openatp.Evidence{{EntityType: openatp.Ptr("Process"), ProcessID: openatp.Ptr(int64(3276)), EvidenceCreationTime: &ts}, {}}}
	for _, ev := range []bool{true, false} {
		full := wire.AppendAlert(nil, &a, ev)
		c := wire.Compact(nil, full)
		if got := wire.Expand(nil, c); !bytes.Equal(got, full) {
			t.Errorf("round trip:\n got %s\nwant %s", got, full)
		}
		if len(c)*2 > len(full)+300 {
			t.Errorf("compact form of %d bytes is %d bytes", len(full), len(c))
		}
	}
	if got := string(wire.AppendAlertTime(nil, &ts)); got != `"2021-01-26T20:33:59.2Z"` {
		t.Errorf("alert time = %s", got)
	}
}
