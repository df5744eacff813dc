package wire_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/wire"
)

// Compact and Expand give back the same bytes, and Compact makes a
// machine much smaller, also for strings that look like property names.
func TestCompactRoundTrip(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 600, time.UTC)
	tricky := `x,"version":"y"],"deviceValue":{"ipAddress":` + "\x01\n"
	ms := []openatp.Machine{
		{ID: "1e5bc9d7e413ddd7902c2932e418702b84d0cc07", MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}},
		{ID: "1e5bc9d7e413ddd7902c2932e418702b84d0cc07", ComputerDNSName: &tricky, FirstSeen: &ts, LastSeen: &ts,
			OSPlatform: openatp.Ptr("Windows11"), OSBuild: openatp.Ptr(int64(22631)), IsAADJoined: openatp.Ptr(true),
			MachineTags: []string{tricky, "b"}, DeviceValue: openatp.Ptr("High"), RBACGroupID: 7, RBACGroupName: tricky,
			IPAddresses: []openatp.IPAddress{{IPAddress: "10.0.0.1", MACAddress: openatp.Ptr("8CEC4B897E73"), Type: &tricky},
				{IPAddress: "fe80::1"}}},
	}
	for _, m := range ms {
		full := wire.AppendMachine(nil, &m)
		c := wire.Compact(nil, full)
		if got := wire.Expand(nil, c); !bytes.Equal(got, full) {
			t.Errorf("round trip:\n got %s\nwant %s", got, full)
		}
		if n := wire.ExpandedLen(c); n != len(full) {
			t.Errorf("ExpandedLen = %d, want %d", n, len(full))
		}
		if len(c)*2 > len(full)+200 {
			t.Errorf("compact form of %d bytes is %d bytes", len(full), len(c))
		}
	}
}
