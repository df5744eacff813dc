package storeutil

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/openatp/openatp"
)

// The IP history of machines (openatp.MachineAPIStore.MachinesByIP) is
// kept the same way by both SQL engines: a machine_ips table of rows
// (tenant, ip, seen, machine id), one for each address a machine write
// reported, keyed by all four columns so that writing a row again
// changes nothing.

// IPSeen is a row of the IP history: machine MachineID reported address
// IP (in openatp.IPKey form) at Seen (nanoseconds).
type IPSeen struct {
	IP        string
	Seen      int64
	MachineID string
}

// AppendIPs appends to rows the history rows of the normalized machine m:
// one for LastIPAddress and one for each IPAddresses entry (not
// LastExternalIPAddress), seen at m.LastSeen, or at now when it is nil.
// Invalid if the time is out of range; an address that does not parse
// (Normalize lets none through) is skipped.
func AppendIPs(rows []IPSeen, m *openatp.Machine, now time.Time) ([]IPSeen, error) {
	if m.LastIPAddress == nil && len(m.IPAddresses) == 0 {
		return rows, nil
	}
	seenAt := now
	if m.LastSeen != nil {
		seenAt = *m.LastSeen
	}
	seen, err := Nanos("lastSeen", seenAt)
	if err != nil {
		return rows, err
	}
	start := len(rows)
	add := func(s string) {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return
		}
		ip := openatp.IPKey(a)
		for _, r := range rows[start:] {
			if r.IP == ip {
				return
			}
		}
		rows = append(rows, IPSeen{IP: ip, Seen: seen, MachineID: m.ID})
	}
	if m.LastIPAddress != nil {
		add(*m.LastIPAddress)
	}
	for i := range m.IPAddresses {
		add(m.IPAddresses[i].IPAddress)
	}
	return rows, nil
}

// SortIPs sorts rows by key (ip, seen, machine id), the order of the
// table's primary key, so that they are written front to back, and drops
// repeated rows.
func SortIPs(rows []IPSeen) []IPSeen {
	slices.SortFunc(rows, func(a, b IPSeen) int {
		return cmp.Or(strings.Compare(a.IP, b.IP), cmp.Compare(a.Seen, b.Seen), strings.Compare(a.MachineID, b.MachineID))
	})
	return slices.Compact(rows)
}

// ClampNanos is Nanos for the bounds of a time window: a time before the
// range Nanos keeps is the least value, one after it the greatest.
func ClampNanos(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}
