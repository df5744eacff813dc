package ratelimit

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// Failures is a budget of failed attempts per key; openatp keys it by client
// address (AddressKey) to bound how fast one client can guess credentials
// (client secrets, passwords, the admin key). Once a key's failures fill a
// window of the policy, Exhausted reports it until the oldest of them leaves
// that window: the caller then refuses the key's requests without checking
// them. It is safe for concurrent use.
type Failures struct{ m *Memory }

// NewFailures returns a budget of failures under p; now is the clock (nil:
// time.Now). An Off policy never exhausts.
func NewFailures(p Policy, now func() time.Time) *Failures {
	return &Failures{m: NewMemory(p, now)}
}

// Exhausted reports whether key has used its budget up, and how long until
// it has room again.
func (f *Failures) Exhausted(key string) (time.Duration, bool) {
	full, retry := f.m.Full(key)
	return retry, full
}

// Fail records a failed attempt under key.
func (f *Failures) Fail(key string) { _, _, _ = f.m.Allow(context.Background(), key) }

// AddressKey is the budget key of a client's address (an http.Request's
// RemoteAddr, host:port): the IP for IPv4, its /64 network for IPv6, where
// one client commonly holds a whole /64. Never a header: X-Forwarded-For is
// whatever the client says.
func AddressKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.WithZone("").Prefix(64)
		return p.String()
	}
	return ip.String()
}
