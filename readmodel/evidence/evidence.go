// Package evidence is the keys of the values an alert's evidence names
// (file hashes, IP addresses, domains) in their normal forms: the keys of
// the read model's evidence index, which the pivots from a value to its
// alerts read. Over the domain and observable only.
package evidence

import (
	"strings"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/observable"
)

// The kinds of evidence keys.
const (
	File   = 'f' // a SHA-1 or SHA-256, lower case
	IP     = 'i' // an IP address, canonical (an IPv4-mapped one as IPv4)
	Domain = 'd' // a domain, lower case, without a trailing dot
)

// Key is the key of value, of kind File, IP or Domain, in its
// normal form (Values').
func Key(kind byte, value string) string { return string(kind) + value }

// Values returns the values of evidence e in their normal forms:
// its file's hashes, its IP address and the host of its URL (or the URL
// itself when it is a bare domain); "" for each it has not.
func Values(e *openatp.Evidence) (sha1, sha256, ip, host string) {
	lower := func(s *string) string {
		if s == nil {
			return ""
		}
		return strings.ToLower(*s)
	}
	sha1, sha256 = lower(e.SHA1), lower(e.SHA256)
	if e.IPAddress != nil {
		if a, ok := observable.Addr(*e.IPAddress); ok {
			ip = a.Unmap().String()
		}
	}
	if e.URL != nil && *e.URL != "" {
		u := *e.URL
		if h := observable.Host(u); h != "" {
			u = h
		}
		host = strings.ToLower(strings.TrimSuffix(u, "."))
	}
	return sha1, sha256, ip, host
}

// Keys returns the keys of an alert's evidence, each once; nil
// for none.
func Keys(es []openatp.Evidence) []string {
	var keys []string
	add := func(kind byte, v string) {
		if v == "" {
			return
		}
		k := Key(kind, v)
		for _, o := range keys {
			if o == k {
				return
			}
		}
		keys = append(keys, k)
	}
	for i := range es {
		s1, s256, ip, host := Values(&es[i])
		add(File, s1)
		add(File, s256)
		add(IP, ip)
		add(Domain, host)
	}
	return keys
}
