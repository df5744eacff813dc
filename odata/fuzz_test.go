package odata_test

import (
	"errors"
	"testing"

	"github.com/openatp/openatp/odata"
)

// FuzzParse checks that Parse never panics, that every error is an *Error
// of $filter whose position lies in the input or just after it, and that
// the canonical form of every accepted filter parses to itself and matches
// the same machines.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"computerDnsName eq 'mymachine1.contoso.com'",
		"riskScore+eq+'High'",
		"healthStatus ne 'Active'",
		"lastSeen gt 2018-08-01Z",
		"lastSeen gt 2019-11-22T00:00:00Z",
		"startswith(computerDnsName,'mymachine')",
		"machineTags/any(tag: tag eq 'ExampleTag')",
		"rbacGroupId eq 22 and exposureLevel eq 'High'",
		"onboardingStatus in ('Onboarded','CanBeOnboarded')",
		"not (osPlatform eq 'Linux')",
		"aadDeviceId eq null or aadDeviceId ne 'O''Brien'",
		"lastSeen le 2019-11-22T01:00:00.1234567+01:00 and rbacGroupId ge -5",
		"machineTags/all(t: not contains(t,'x')) or not isAadJoined",
		"(id eq 'a' or (id eq 'b')) and endswith(version,'H2')",
		"'High' gt riskScore",
		"machineTags/any()",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := odata.Parse(machines, s)
		if err != nil {
			var e *odata.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q): error %T is not an *odata.Error: %v", s, err, err)
			}
			if e.Option != "$filter" || e.Pos < 1 || e.Pos > len(s)+1 || e.Msg == "" {
				t.Fatalf("Parse(%q): bad error %+v", s, *e)
			}
			return
		}
		canon := flt.String()
		again, err := odata.Parse(machines, canon)
		if err != nil {
			t.Fatalf("Parse(%q) prints %q, which does not parse: %v", s, canon, err)
		}
		if got := again.String(); got != canon {
			t.Fatalf("Parse(%q) prints %q, which prints %q", s, canon, got)
		}
		for _, m := range fleet {
			if flt.Match(m) != again.Match(m) {
				t.Fatalf("Parse(%q) and its canonical %q disagree on %s", s, canon, m.id)
			}
		}
	})
}

// FuzzParseQuery checks that ParseQuery never panics and that its errors
// are *Error values naming an option and a position within the raw query.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"$filter=riskScore+eq+'High'&$top=100",
		"$filter=lastSeen+gt+2019-11-22T00:00:00%2B01:00&$skip=5&pageSize=10000",
		"$select=id,computerDnsName&$orderby=lastSeen+desc,id&$count=true",
		"$expand=evidence&$skiptoken=abc%3D&api-version=2&foo=%zz",
		"$top=1&$TOP=2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := odata.ParseQuery(machines, raw, odata.Options{MaxTop: 100})
		if err != nil {
			var e *odata.Error
			if !errors.As(err, &e) || e.Option == "" || e.Pos < 0 || e.Pos > len(raw)+1 {
				t.Fatalf("ParseQuery(%q): bad error %#v", raw, err)
			}
			return
		}
		if q.Top > 100 || q.PageSize > 100 || q.Skip < 0 || q.PageSize == 0 {
			t.Fatalf("ParseQuery(%q) = %+v: out of bounds", raw, q)
		}
	})
}
