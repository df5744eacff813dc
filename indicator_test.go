package openatp_test

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
)

func TestValidateIndicatorValue(t *testing.T) {
	for _, c := range []struct {
		typ, value string
		ok         bool
	}{
		{openatp.IndicatorFileSha1, strings.Repeat("aF", 20), true},
		{openatp.IndicatorFileSha1, strings.Repeat("a", 41), false},
		{openatp.IndicatorFileSha1, strings.Repeat("g", 40), false},
		{openatp.IndicatorFileSha256, strings.Repeat("0", 64), true},
		{openatp.IndicatorFileSha256, strings.Repeat("0", 40), false},
		{openatp.IndicatorFileMd5, strings.Repeat("e", 32), true},
		{openatp.IndicatorFileMd5, strings.Repeat("e", 31), false},
		{openatp.IndicatorCertificateThumbprint, strings.Repeat("1", 40), true},
		{openatp.IndicatorCertificateThumbprint, strings.Repeat("1", 64), false},
		{openatp.IndicatorIPAddress, "10.1.2.3", true},
		{openatp.IndicatorIPAddress, "2001:db8::1", true},
		{openatp.IndicatorIPAddress, "10.0.0.0/8", false},
		{openatp.IndicatorIPAddress, "fe80::1%eth0", false},
		{openatp.IndicatorIPAddress, "010.1.2.3", false},
		{openatp.IndicatorIPAddress, "contoso.com", false},
		{openatp.IndicatorDomainName, "contoso.com", true},
		{openatp.IndicatorDomainName, "a-b.c_d.example", true},
		{openatp.IndicatorDomainName, "localhost", false},
		{openatp.IndicatorDomainName, "-a.com", false},
		{openatp.IndicatorDomainName, "a..com", false},
		{openatp.IndicatorDomainName, "1.2.3.4", false},
		{openatp.IndicatorDomainName, "*.contoso.com", false},
		{openatp.IndicatorDomainName, strings.Repeat("a", 64) + ".com", false},
		{openatp.IndicatorURL, "https://contoso.com/a?b=c", true},
		{openatp.IndicatorURL, "contoso.com/path", true},
		{openatp.IndicatorURL, "http://10.1.2.3:8080/", true},
		{openatp.IndicatorURL, "http://[2001:db8::1]/x", true},
		{openatp.IndicatorURL, "ftp://contoso.com", false},
		{openatp.IndicatorURL, "https://user:pw@contoso.com", false},
		{openatp.IndicatorURL, "https://contoso.com/a b", false},
		{openatp.IndicatorURL, "https:///x", false},
		{"Sha1", "x", false},
	} {
		err := openatp.ValidateIndicatorValue(c.typ, c.value)
		if (err == nil) != c.ok {
			t.Errorf("%s %q: %v, want ok %v", c.typ, c.value, err, c.ok)
		}
		if err != nil && !openatp.IsKind(err, openatp.Invalid) {
			t.Errorf("%s %q: kind %v", c.typ, c.value, openatp.KindOf(err))
		}
	}
}

func TestIndicatorNormalize(t *testing.T) {
	in := openatp.Indicator{IndicatorType: "DomainName", IndicatorValue: " contoso.com ", Action: "Audit", Title: "t", Description: "d"}
	if err := in.Normalize(); err == nil || !strings.HasPrefix(err.Error(), "generateAlert: ") {
		t.Errorf("Audit without generateAlert: %v", err)
	}
	in.GenerateAlert = true
	in.RBACGroupNames = openatp.SplitGroupNames(" g1 ,G1, g2")
	if err := in.Normalize(); err != nil {
		t.Fatal(err)
	}
	if in.IndicatorValue != "contoso.com" || in.Severity != "Informational" || strings.Join(in.RBACGroupNames, "|") != "g1|g2" {
		t.Errorf("normalized %+v", in)
	}
	now := time.Now()
	if !in.Active(now) {
		t.Error("no expiration: not active")
	}
	in.ExpirationTime = &now
	if in.Active(now) || !in.Active(now.Add(-time.Nanosecond)) {
		t.Error("expires at its expirationTime")
	}
	if openatp.IndicatorValueKey("IpAddress", "2001:DB8:0::1") != openatp.IndicatorValueKey("IpAddress", "2001:db8::1") ||
		openatp.IndicatorValueKey("FileSha1", "AB") != openatp.IndicatorValueKey("FileSha1", "ab") ||
		openatp.IndicatorValueKey("FileSha1", "ab") == openatp.IndicatorValueKey("FileMd5", "ab") {
		t.Error("value keys")
	}
	for id, ok := range map[string]bool{"1": true, "994": true, "0": false, "01": false, "-1": false, "1a": false, "": false, "1234567890123456789": false} {
		if openatp.ValidIndicatorID(id) != ok {
			t.Errorf("ValidIndicatorID(%q) != %v", id, ok)
		}
	}
}

// FuzzIndicatorValue checks the validators on any input: no panic, an
// Invalid error or nothing, and what passes is what each type promises.
func FuzzIndicatorValue(f *testing.F) {
	for _, s := range []string{strings.Repeat("a", 40), strings.Repeat("0", 64), "10.0.0.1", "::1", "10.0.0.0/8", "contoso.com",
		"https://contoso.com/x", "contoso.com/x", "http://[::1]:80/", "a..b", "\x00", "ééé.com", "http://1.2.3.4"} {
		for _, typ := range openatp.IndicatorTypes {
			f.Add(typ, s)
		}
	}
	f.Fuzz(func(t *testing.T, typ, value string) {
		err := openatp.ValidateIndicatorValue(typ, value)
		if err != nil {
			if !openatp.IsKind(err, openatp.Invalid) {
				t.Fatalf("kind %v: %v", openatp.KindOf(err), err)
			}
			return
		}
		hex := func(n int) {
			if len(value) != n || strings.Trim(value, "0123456789abcdefABCDEF") != "" {
				t.Fatalf("%s %q accepted", typ, value)
			}
		}
		switch typ {
		case openatp.IndicatorFileSha1, openatp.IndicatorCertificateThumbprint:
			hex(40)
		case openatp.IndicatorFileSha256:
			hex(64)
		case openatp.IndicatorFileMd5:
			hex(32)
		case openatp.IndicatorIPAddress:
			if a, err := netip.ParseAddr(value); err != nil || strings.Contains(value, "/") || a.Zone() != "" {
				t.Fatalf("address %q accepted", value)
			}
		case openatp.IndicatorDomainName:
			if len(value) > 253 || strings.ContainsAny(value, " /:@*") || !strings.Contains(value, ".") {
				t.Fatalf("domain %q accepted", value)
			}
			if _, err := netip.ParseAddr(value); err == nil {
				t.Fatalf("address %q accepted as a domain", value)
			}
		case openatp.IndicatorURL:
			if strings.ContainsAny(value, " \t\r\n") || len(value) > 2048 {
				t.Fatalf("url %q accepted", value)
			}
			s := value
			if !strings.Contains(s, "://") {
				s = "http://" + s
			}
			if u, err := url.Parse(s); err != nil || u.Hostname() == "" {
				t.Fatalf("url %q accepted", value)
			}
		default:
			t.Fatalf("type %q accepted", typ)
		}
		// The key of an accepted value is the key of its upper-case form
		// (for all but URLs' paths, which keep their case in the value).
		if typ != openatp.IndicatorURL && typ != openatp.IndicatorIPAddress &&
			openatp.IndicatorValueKey(typ, value) != openatp.IndicatorValueKey(typ, strings.ToUpper(value)) {
			t.Fatalf("key of %q depends on case", value)
		}
	})
}
