package sqlstore

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openatp/openatp"
)

func TestAppendIPs(t *testing.T) {
	seen := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	now := seen.Add(time.Hour)
	id := "0123456789abcdef0123456789abcdef01234567"
	m := openatp.Machine{ID: id, LastSeen: &seen, LastIPAddress: openatp.Ptr("::FFFF:10.0.0.1"),
		LastExternalIPAddress: openatp.Ptr("203.0.113.9"),
		IPAddresses: []openatp.IPAddress{{IPAddress: "10.0.0.1"}, {IPAddress: "2001:0DB8::0:1"}, {IPAddress: "fe80::1%eth0"},
			{IPAddress: "2001:db8::1"}, {IPAddress: "not an address"}, {IPAddress: "10.0.0.2"}}}
	rows, err := AppendIPs(nil, &m, now)
	if err != nil {
		t.Fatal(err)
	}
	n := seen.UnixNano()
	want := []IPSeen{{"10.0.0.1", n, id}, {"2001:db8::1", n, id}, {"fe80::1%eth0", n, id}, {"10.0.0.2", n, id}}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("AppendIPs mismatch (-want +got):\n%s", d)
	}
	for _, r := range rows {
		if k := openatp.IPKey(netip.MustParseAddr(r.IP)); k != r.IP {
			t.Errorf("row address %q is not in IPKey form %q", r.IP, k)
		}
	}

	// Without lastSeen: seen now; without addresses: no rows.
	m.LastSeen = nil
	rows, err = AppendIPs(rows[:0], &m, now)
	if err != nil || len(rows) != 4 || rows[0].Seen != now.UnixNano() {
		t.Errorf("AppendIPs without lastSeen = %v, %v; want 4 rows seen at %d", rows, err, now.UnixNano())
	}
	if rows, err := AppendIPs(nil, &openatp.Machine{ID: id, LastExternalIPAddress: openatp.Ptr("203.0.113.9")}, now); err != nil || len(rows) != 0 {
		t.Errorf("AppendIPs without addresses = %v, %v; want none", rows, err)
	}
	if _, err := AppendIPs(nil, &m, time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)); !openatp.IsKind(err, openatp.Invalid) {
		t.Errorf("AppendIPs at a time out of range: %v, want an Invalid error", err)
	}
}

func TestSortIPs(t *testing.T) {
	rows := SortIPs([]IPSeen{{"10.0.0.2", 1, "b"}, {"10.0.0.1", 2, "a"}, {"10.0.0.1", 1, "b"}, {"10.0.0.2", 1, "b"}, {"10.0.0.1", 1, "a"}})
	want := []IPSeen{{"10.0.0.1", 1, "a"}, {"10.0.0.1", 1, "b"}, {"10.0.0.1", 2, "a"}, {"10.0.0.2", 1, "b"}}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("SortIPs mismatch (-want +got):\n%s", d)
	}
}
