// Package observable is the values observed on machines and named by
// indicators — file hashes, IP addresses, domain names, URLs: their
// syntax, kinds and normal forms. It computes only, on the standard
// library alone; the domain (package openatp) gives them their rules,
// fields and error messages.
package observable

import (
	"net/netip"
	"net/url"
	"strings"
)

// The lengths of the hashes, in hexadecimal digits.
const (
	SHA1Len   = 40
	SHA256Len = 64
	MD5Len    = 32
)

// MaxURL bounds a URL, in bytes.
const MaxURL = 2048

// IsHex reports whether s is n hexadecimal digits, in either case (a
// regexp costs more than the rest of an event's checks together).
func IsHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// IsRange reports whether s is written as a CIDR range (an address, a
// slash and a prefix length) rather than one address.
func IsRange(s string) bool { return strings.Contains(s, "/") }

// Addr parses one IPv4 or IPv6 address without a zone; false otherwise.
func Addr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}

// IsDomain reports whether s is a domain name: at most 253 bytes, two or
// more labels of 1 to 63 letters, digits, '-' or '_' (not starting or
// ending with '-'), the last not all digits (that would be an address).
func IsDomain(s string) bool {
	if len(s) > 253 || s == "" {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	last := labels[len(labels)-1]
	return strings.Trim(last, "0123456789") != ""
}

// IsURL reports whether s is a URL an indicator may name: at most MaxURL
// bytes without spaces or control characters, http or https (or no
// scheme: http), no user information, with a domain name (IsDomain) or
// an address without a zone for host.
func IsURL(s string) bool {
	if len(s) > MaxURL {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return false
		}
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Opaque != "" {
		return false
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Zone() == ""
	}
	return IsDomain(host)
}

// Host returns the host a URL names, lower-cased and without a trailing
// dot, or "" if none: the domain network events are looked up by. A URL
// without a scheme ("evil.example/x", "evil.example:443") is a host with
// an optional port and path; a bare address is in its canonical form
// (IPv4-mapped addresses unmapped).
func Host(url string) string {
	if a, err := netip.ParseAddr(url); err == nil { // a bare address (IPv6 has colons)
		return a.Unmap().String()
	}
	s := url
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	if strings.HasPrefix(s, "[") { // an IPv6 literal
		if i := strings.IndexByte(s, ']'); i > 0 {
			return strings.ToLower(s[1:i])
		}
		return ""
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSuffix(strings.ToLower(s), ".")
	if s == "" || strings.ContainsAny(s, " \t\\") {
		return ""
	}
	return s
}

// IPTypes are the kinds of address IPType tells (the values of the
// advanced hunting IPType columns).
var IPTypes = []string{"Public", "Private", "Reserved", "Loopback", "Teredo", "FourToSixMapping", "Broadcast", "LinkLocal", "Multicast"}

// IPType classifies an address the way the IPType columns do.
func IPType(a netip.Addr) string {
	switch {
	case a.IsLoopback():
		return "Loopback"
	case a.IsLinkLocalUnicast():
		return "LinkLocal"
	case a.IsMulticast():
		return "Multicast"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "Broadcast"
	case a.Is6() && netip.MustParsePrefix("2001::/32").Contains(a):
		return "Teredo"
	case a.IsPrivate():
		return "Private"
	case a.IsUnspecified() || !a.IsGlobalUnicast():
		return "Reserved"
	}
	return "Public"
}
