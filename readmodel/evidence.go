package readmodel

import (
	"strings"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/observable"
)

// The alerts' evidence index: the file hashes, IP addresses and domains
// each alert's evidence names, keyed by EvidenceKey, so that the pivots
// from a value to its alerts (GET /api/files/{hash}/alerts, …) are a
// lookup, not a scan of every alert. It is kept beside the alerts' other
// indexes, copy-on-write, and changes with them.

// The kinds of evidence keys.
const (
	EvidenceFile   = 'f' // a SHA-1 or SHA-256, lower case
	EvidenceIP     = 'i' // an IP address, canonical (an IPv4-mapped one as IPv4)
	EvidenceDomain = 'd' // a domain, lower case, without a trailing dot
)

// EvidenceKey is the key of value, of kind EvidenceFile, EvidenceIP or
// EvidenceDomain, in its normal form (EvidenceValues').
func EvidenceKey(kind byte, value string) string { return string(kind) + value }

// EvidenceValues returns the values of evidence e in their normal forms:
// its file's hashes, its IP address and the host of its URL (or the URL
// itself when it is a bare domain); "" for each it has not.
func EvidenceValues(e *openatp.Evidence) (sha1, sha256, ip, host string) {
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

// evidenceKeys returns the keys of an alert's evidence, each once; nil
// for none.
func evidenceKeys(es []openatp.Evidence) []string {
	var keys []string
	add := func(kind byte, v string) {
		if v == "" {
			return
		}
		k := EvidenceKey(kind, v)
		for _, o := range keys {
			if o == k {
				return
			}
		}
		keys = append(keys, k)
	}
	for i := range es {
		s1, s256, ip, host := EvidenceValues(&es[i])
		add(EvidenceFile, s1)
		add(EvidenceFile, s256)
		add(EvidenceIP, ip)
		add(EvidenceDomain, host)
	}
	return keys
}

// AlertsWithEvidence returns the slots of the alerts whose evidence names
// key (EvidenceKey), in no particular order. The caller must not change
// the slice.
func (v *View) AlertsWithEvidence(key string) []uint32 {
	list, _ := v.c.alerts.byEv.get(key)
	return list
}
