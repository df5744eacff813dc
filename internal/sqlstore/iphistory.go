package sqlstore

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
// changes nothing. Rows seen before the event retention are deleted with
// the expired events (Writer.DeleteEventsBefore, retention.go).

// IPSeen is a row of the IP history: machine MachineID reported address
// IP (in openatp.IPKey form) at Seen (nanoseconds).
type IPSeen struct {
	IP        string
	Seen      int64
	MachineID string
}

// AppendIPs appends to rows the history rows of the normalized machine m:
// one for LastIPAddress and one for each IPAddresses entry (not
// LastExternalIPAddress), each address once, seen at m.LastSeen, or at now
// when it is nil. Invalid if the time is out of range; an address that
// does not parse (Normalize lets none through) is skipped.
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
	for i := -1; i < len(m.IPAddresses); i++ {
		var s string
		if i < 0 {
			if m.LastIPAddress == nil {
				continue
			}
			s = *m.LastIPAddress
		} else {
			s = m.IPAddresses[i].IPAddress
		}
		// Most addresses come in canonical form, and the last one is
		// usually an interface's too: look for the text as it is first.
		if hasIP(rows[start:], s) {
			continue
		}
		ip, ok := ipKey(s)
		if !ok || ip != s && hasIP(rows[start:], ip) {
			continue
		}
		rows = append(rows, IPSeen{IP: ip, Seen: seen, MachineID: m.ID})
	}
	return rows, nil
}

func hasIP(rows []IPSeen, ip string) bool {
	for i := range rows {
		if rows[i].IP == ip {
			return true
		}
	}
	return false
}

// ipKey returns openatp.IPKey of the address s, and s itself (no
// allocation) when it is in that form already.
func ipKey(s string) (string, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", false
	}
	a = a.Unmap()
	var buf [64]byte
	if b := a.AppendTo(buf[:0]); string(b) != s {
		return string(b), true
	}
	return s, true
}

// SortIPs sorts rows by key (ip, seen, machine id), the order of the
// table's primary key, so that they are written front to back, and drops
// repeated rows.
func SortIPs(rows []IPSeen) []IPSeen {
	slices.SortFunc(rows, func(a, b IPSeen) int {
		if c := strings.Compare(a.IP, b.IP); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Seen, b.Seen); c != 0 {
			return c
		}
		return strings.Compare(a.MachineID, b.MachineID)
	})
	return slices.Compact(rows)
}

// ClampNanos is Nanos for the bounds of a time window: a time before the
// range Nanos keeps is the least value, one after it the greatest.
func ClampNanos(t time.Time) int64 {
	switch {
	case t.Before(MinTime):
		return math.MinInt64
	case t.After(MaxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}
