package observable_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp/observable"
)

func TestHost(t *testing.T) {
	for in, want := range map[string]string{
		"https://Evil.Example/payload?x=1": "evil.example",
		"evil.example":                     "evil.example",
		"evil.example.":                    "evil.example",
		"evil.example:8443/a":              "evil.example",
		"http://user:pw@host.test:80/":     "host.test",
		"https://[2001:DB8::1]:443/":       "2001:db8::1",
		"2001:db8::1":                      "2001:db8::1",
		"::ffff:1.2.3.4":                   "1.2.3.4",
		"https:///a":                       "",
		"bad host/x":                       "",
	} {
		if got := observable.Host(in); got != want {
			t.Errorf("Host(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSyntax(t *testing.T) {
	for _, c := range []struct {
		name string
		f    func(string) bool
		in   string
		want bool
	}{
		{"IsHex40", func(s string) bool { return observable.IsHex(s, observable.SHA1Len) }, strings.Repeat("aF", 20), true},
		{"IsHex40", func(s string) bool { return observable.IsHex(s, observable.SHA1Len) }, strings.Repeat("a", 41), false},
		{"IsHex40", func(s string) bool { return observable.IsHex(s, observable.SHA1Len) }, strings.Repeat("g", 40), false},
		{"IsHex32", func(s string) bool { return observable.IsHex(s, observable.MD5Len) }, strings.Repeat("E", 32), true},
		{"IsRange", observable.IsRange, "10.0.0.0/8", true},
		{"IsRange", observable.IsRange, "10.0.0.1", false},
		{"Addr", func(s string) bool { _, ok := observable.Addr(s); return ok }, "10.1.2.3", true},
		{"Addr", func(s string) bool { _, ok := observable.Addr(s); return ok }, "2001:db8::1", true},
		{"Addr", func(s string) bool { _, ok := observable.Addr(s); return ok }, "fe80::1%eth0", false},
		{"Addr", func(s string) bool { _, ok := observable.Addr(s); return ok }, "010.1.2.3", false},
		{"Addr", func(s string) bool { _, ok := observable.Addr(s); return ok }, "contoso.com", false},
		{"IsDomain", observable.IsDomain, "contoso.com", true},
		{"IsDomain", observable.IsDomain, "a-b.c_d.example", true},
		{"IsDomain", observable.IsDomain, "localhost", false},
		{"IsDomain", observable.IsDomain, "-a.com", false},
		{"IsDomain", observable.IsDomain, "a..com", false},
		{"IsDomain", observable.IsDomain, "1.2.3.4", false},
		{"IsDomain", observable.IsDomain, "*.contoso.com", false},
		{"IsDomain", observable.IsDomain, strings.Repeat("a", 64) + ".com", false},
		{"IsURL", observable.IsURL, "https://contoso.com/a?b=c", true},
		{"IsURL", observable.IsURL, "contoso.com/path", true},
		{"IsURL", observable.IsURL, "http://10.1.2.3:8080/", true},
		{"IsURL", observable.IsURL, "http://[2001:db8::1]/x", true},
		{"IsURL", observable.IsURL, "http://[fe80::1%25eth0]/x", false},
		{"IsURL", observable.IsURL, "ftp://contoso.com", false},
		{"IsURL", observable.IsURL, "https://user:pw@contoso.com", false},
		{"IsURL", observable.IsURL, "https://contoso.com/a b", false},
		{"IsURL", observable.IsURL, "https:///x", false},
		{"IsURL", observable.IsURL, "https://contoso.com/" + strings.Repeat("a", observable.MaxURL), false},
	} {
		if got := c.f(c.in); got != c.want {
			t.Errorf("%s(%q) = %v, want %v", c.name, c.in, got, c.want)
		}
	}
}

func TestIPType(t *testing.T) {
	for in, want := range map[string]string{
		"8.8.8.8": "Public", "192.168.1.9": "Private", "127.0.0.1": "Loopback", "169.254.1.1": "LinkLocal",
		"224.0.0.1": "Multicast", "255.255.255.255": "Broadcast", "2001:0:1::1": "Teredo", "0.0.0.0": "Reserved",
		"2606:4700::1111": "Public", "fd00::1": "Private", "::1": "Loopback",
	} {
		got := observable.IPType(netip.MustParseAddr(in))
		if got != want {
			t.Errorf("IPType(%s) = %s, want %s", in, got, want)
		}
		found := false
		for _, v := range observable.IPTypes {
			found = found || v == got
		}
		if !found {
			t.Errorf("IPType(%s) = %s, not one of IPTypes", in, got)
		}
	}
}

// ReportID is a function of every field, never zero, and the same for
// the same record.
func TestReportID(t *testing.T) {
	at := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	name, port := "a.exe", int64(53)
	var none *int64
	some := &port
	base := observable.ReportID([]any{&at, &name, &none})
	if base <= 0 || base != observable.ReportID([]any{&at, &name, &none}) {
		t.Fatalf("ReportID = %d, not positive and stable", base)
	}
	later, other := at.Add(100), "b.exe"
	for i, fields := range [][]any{{&later, &name, &none}, {&at, &other, &none}, {&at, &name, &some}} {
		if observable.ReportID(fields) == base {
			t.Errorf("record %d: the ReportID of another record", i)
		}
	}
	if observable.ReportID(nil) != 1 {
		t.Error("ReportID of no fields is not 1 (the hash of nothing is zero)")
	}
}
