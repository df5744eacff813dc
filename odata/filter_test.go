package odata_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp/odata"
)

// TestFilter parses each filter, checks its canonical form and the
// machines of the fleet it matches, and that the canonical form parses to
// itself.
func TestFilter(t *testing.T) {
	tests := []struct {
		filter, canonical string // canonical "" means the filter itself
		want              string // ids of the matching machines, space-separated
	}{
		// The documented examples (mde-reference.md §6, §11.2), verbatim.
		{"computerDnsName eq 'mymachine1.contoso.com'", "", "m1"},
		{"riskScore+eq+'High'", "riskScore eq 'High'", "m1"},
		{"healthStatus ne 'Active'", "", "m2 m3 m4"},
		{"lastSeen gt 2018-08-01Z", "lastSeen gt 2018-08-01T00:00:00Z", "m1 m2 m4"},
		{"lastSeen gt 2019-11-22T00:00:00Z", "", "m1"},
		{"startswith(computerDnsName,'mymachine')", "", "m1 m2 m4"},
		{"machineTags/any(tag: tag eq 'ExampleTag')", "", "m1 m4"},
		{"rbacGroupId eq 22 and exposureLevel eq 'High'", "", "m1"},
		{"onboardingStatus in ('Onboarded','CanBeOnboarded')", "", "m1 m2"},
		{"not (osPlatform eq 'Linux')", "", "m1 m3 m4"},
		{"lastSeen+ge+2019-11-22T00:00:00Z", "lastSeen ge 2019-11-22T00:00:00Z", "m1 m4"},
		// The docs' mixed casing of names.
		{"ComputerDnsName eq 'mymachine1.contoso.com'", "computerDnsName eq 'mymachine1.contoso.com'", "m1"},
		{"RiskScore eq 'High' and HealthStatus eq 'Active'", "riskScore eq 'High' and healthStatus eq 'Active'", "m1"},
		{"OsPlatform eq 'Linux' or RbacGroupId eq 5", "osPlatform eq 'Linux' or rbacGroupId eq 5", "m2 m4"},
		{"RiskScore EQ 'High' AND NOT (osPlatform Eq 'Linux')", "riskScore eq 'High' and not (osPlatform eq 'Linux')", "m1"},

		// Integers, null as not equal and never ordered.
		{"rbacGroupId ne 22", "", "m3 m4"},
		{"rbacGroupId gt 5", "", "m1 m2"},
		{"rbacGroupId ge 5", "", "m1 m2 m4"},
		{"rbacGroupId lt 22", "", "m4"},
		{"rbacGroupId le 22", "", "m1 m2 m4"},
		{"rbacGroupId eq -1", "", ""},
		{"rbacGroupId lt 9223372036854775807", "", "m1 m2 m4"},
		{"rbacGroupId gt -9223372036854775808", "", "m1 m2 m4"},
		{"osBuild ge 20000", "", "m4"},
		{"5 lt rbacGroupId", "rbacGroupId gt 5", "m1 m2"},
		{"rbacGroupId gt null", "", ""},
		{"rbacGroupId le null", "", ""},

		// Dates: both documented forms, fractions, offsets, the far past.
		{"lastSeen lt 2019-11-22T00:00:00Z", "", "m2"},
		{"lastSeen le 2019-11-22T00:00:00Z", "", "m2 m4"},
		{"lastSeen eq 2019-11-22T01:00:00+01:00", "lastSeen eq 2019-11-22T00:00:00Z", "m4"},
		{"lastSeen eq 2019-11-21T19:00-05:00", "lastSeen eq 2019-11-22T00:00:00Z", "m4"},
		{"lastSeen eq 2018-09-01T12:30:00.5000000Z", "lastSeen eq 2018-09-01T12:30:00.5Z", "m2"},
		{"lastSeen eq 2018-09-01T07:30:00.5-05:00", "lastSeen eq 2018-09-01T12:30:00.5Z", "m2"},
		{"lastSeen gt 2018-08-01t00:00z", "lastSeen gt 2018-08-01T00:00:00Z", "m1 m2 m4"},
		{"lastSeen ne 2019-11-22T00:00:00.0000001Z", "", "m1 m2 m3 m4"},
		{"lastSeen gt 0001-01-01T00:00:00Z", "", "m1 m2 m4"},
		{"lastSeen lt 9999-12-31T23:59:59.9999999Z", "", "m1 m2 m4"},
		{"lastSeen eq 0001-01-01Z", "lastSeen eq 0001-01-01T00:00:00Z", ""},
		{"lastSeen ne 0001-01-01Z", "lastSeen ne 0001-01-01T00:00:00Z", "m1 m2 m3 m4"},
		{"lastSeen in (2019-11-22T00:00:00Z,2000-01-01Z)", "lastSeen in (2019-11-22T00:00:00Z,2000-01-01T00:00:00Z)", "m4"},
		{"2019-11-22T00:00:00Z lt lastSeen", "lastSeen gt 2019-11-22T00:00:00Z", "m1"},

		// Strings: ASCII case folding, quotes, null.
		{"computerDnsName eq 'MYMACHINE1.CONTOSO.COM'", "", "m1"},
		{"computerDnsName gt 'n'", "", "m3"},
		{"computerDnsName lt 'mymachine2'", "", "m1"},
		{"version eq null", "", "m3"},
		{"version ne null", "", "m1 m2 m4"},
		{"aadDeviceId eq null", "", "m1 m4"},
		{"aadDeviceId ne null", "", "m2 m3"},
		{"null eq aadDeviceId", "aadDeviceId eq null", "m1 m4"},
		{"aadDeviceId eq 'O''Brien'", "", "m3"},
		{"'m2' eq id", "id eq 'm2'", "m2"},
		{"computerDnsName+eq+'mymachine1.contoso.com'+or+id+eq+'a+b'", "computerDnsName eq 'mymachine1.contoso.com' or id eq 'a+b'", "m1"},
		{"\tid eq 'm1'\r\n or\nid eq 'm2' ", "id eq 'm1' or id eq 'm2'", "m1 m2"},

		// Enums: any case in, the schema's spelling out, ordered by Values.
		{"riskScore eq 'high'", "riskScore eq 'High'", "m1"},
		{"riskScore ne 'High'", "", "m2 m3 m4"},
		{"riskScore gt 'Low'", "", "m1"},
		{"riskScore le 'Low'", "", "m2 m4"},
		{"riskScore eq null", "", "m3"},
		{"riskScore ge null", "", ""},
		{"'High' eq riskScore", "riskScore eq 'High'", "m1"},
		{"riskScore in ('low','HIGH')", "riskScore in ('Low','High')", "m1 m2"},
		{"deviceValue eq 'Normal' or deviceValue eq null", "", "m1 m3 m4"},

		// in, and, or, not, parentheses.
		{"id in ('m1','m3')", "", "m1 m3"},
		{"id in ('m1')", "", "m1"},
		{"id in ['m1','m3']", "id in ('m1','m3')", "m1 m3"}, // Sekoia's brackets
		{"rbacGroupId in (5, 22)", "rbacGroupId in (5,22)", "m1 m2 m4"},
		{"aadDeviceId in ('O''Brien', null)", "aadDeviceId in ('O''Brien',null)", "m1 m3 m4"},
		{"osPlatform eq 'Linux' or riskScore eq 'High' and rbacGroupId eq 5", "", "m2"},
		{"(osPlatform eq 'Linux' or riskScore eq 'High') and rbacGroupId eq 22", "", "m1 m2"},
		{"(id eq 'm1' or id eq 'm2') or (id eq 'm3')", "id eq 'm1' or id eq 'm2' or id eq 'm3'", "m1 m2 m3"},
		{"id ne 'm1' and (rbacGroupId eq 22 and osPlatform eq 'Linux')", "id ne 'm1' and rbacGroupId eq 22 and osPlatform eq 'Linux'", "m2"},
		{"((id eq 'm1'))", "id eq 'm1'", "m1"},
		{"not not (id eq 'm1')", "", "m1"},
		{"not(id eq 'm1' and rbacGroupId eq 22)", "not (id eq 'm1' and rbacGroupId eq 22)", "m2 m3 m4"},
		{"not (id eq 'm1' or id eq 'm2') and not startswith(id,'m3')", "", "m4"},

		// Functions.
		{"endswith(computerDnsName,'.contoso.com')", "", "m1 m2 m4"},
		{"contains(computerDnsName, 'FABRIKAM')", "contains(computerDnsName,'FABRIKAM')", "m3"},
		{"contains(computerDnsName,'')", "", "m1 m2 m3 m4"},
		{"startswith(version,'')", "", "m1 m2 m4"},
		{"not startswith(osPlatform,'Windows')", "", "m2"},
		{"STARTSWITH(OsPlatform,'windows')", "startswith(osPlatform,'windows')", "m1 m3 m4"},
		{"endswith(lastIpAddress,'::1')", "", "m4"},

		// Lambdas over machineTags.
		{"machineTags/any(t: startswith(t,'example'))", "", "m1 m3 m4"},
		{"machineTags/any()", "", "m1 m3 m4"},
		{"not machineTags/any()", "", "m2"},
		{"machineTags/all(t: t ne 'Prod')", "", "m2 m3 m4"},
		{"machineTags/any(x: x in ('prod','nothing'))", "", "m1"},
		{"machineTags/any(t: 'ExampleTag' eq t)", "machineTags/any(t: t eq 'ExampleTag')", "m1 m4"},
		{"machineTags/any(t: t eq 'ExampleTag' and rbacGroupId eq 5)", "", "m4"},
		{"MachineTags/ANY(tag:tag eq 'prod')", "machineTags/any(tag: tag eq 'prod')", "m1"},
		{"machineTags/any(id: id eq 'm1')", "", ""},
		{"machineTags/any(id: Id eq 'm1')", "machineTags/any(id: id eq 'm1')", ""}, // the variable hides id in any case
		{"machineTags/any(T: t eq 'prod' and ID eq 'm1')", "machineTags/any(T: T eq 'prod' and id eq 'm1')", "m1"},
		{"machineTags/any(t: t eq null)", "", ""},
		{"machineTags/any(t: t ne null)", "", "m1 m3 m4"},
		{"machineTags/any(t: not (t eq 'Prod' or t eq 'ExampleTag'))", "", "m3"},

		// A Bool property alone, and compared.
		{"isAadJoined", "", "m1"},
		{"not isAadJoined", "", "m2 m3 m4"},
		{"isAadJoined eq false", "", "m2 m4"},
		{"isAadJoined ne true", "", "m2 m3 m4"},
		{"isAadJoined eq null", "", "m3"},
		{"isAadJoined and rbacGroupId eq 22", "", "m1"},
		{"true eq isAadJoined", "isAadJoined eq true", "m1"},
	}
	for _, tt := range tests {
		f, err := odata.Parse(machines, tt.filter)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.filter, err)
			continue
		}
		want := tt.canonical
		if want == "" {
			want = tt.filter
		}
		if got := f.String(); got != want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.filter, got, want)
		}
		if got := strings.Join(matching(f), " "); got != tt.want {
			t.Errorf("%q matches [%s], want [%s]", tt.filter, got, tt.want)
		}
		again, err := odata.Parse(machines, f.String())
		if err != nil || again.String() != f.String() || !slices.Equal(matching(again), matching(f)) {
			t.Errorf("canonical %q of %q does not parse to itself: %v", f.String(), tt.filter, err)
		}
	}
}

func TestNilFilter(t *testing.T) {
	var f *odata.Filter
	if !f.Match(fleet[0]) || f.String() != "" {
		t.Error("a nil filter must match everything and print empty")
	}
	if _, ok := f.EqualityOn(pID); ok {
		t.Error("a nil filter has no equality")
	}
}

func TestNesting(t *testing.T) {
	deep := strings.Repeat("(", odata.MaxDepth) + "id eq 'm1'" + strings.Repeat(")", odata.MaxDepth)
	if f, err := odata.Parse(machines, deep); err != nil || !f.Match(fleet[0]) {
		t.Errorf("%d parentheses: %v", odata.MaxDepth, err)
	}
	long := strings.Repeat("id eq 'x' or ", 300) + "id eq 'm1'"
	if f, err := odata.Parse(machines, long); err != nil || !f.Match(fleet[0]) || f.Match(fleet[1]) {
		t.Errorf("301 terms: %v", err)
	}
}

func TestEqualityOn(t *testing.T) {
	tests := []struct {
		filter string
		prop   int
		want   []string // nil: not indexable
	}{
		{"id eq 'M1'", pID, []string{"m1"}},
		{"Id Eq 'abc'", pID, []string{"abc"}},
		{"computerDnsName eq 'mymachine1.contoso.com'", pDNS, []string{"mymachine1.contoso.com"}},
		{"id in ('b','a','b')", pID, []string{"a", "b"}},
		{"id eq 'a' or id in ('c','b')", pID, []string{"a", "b", "c"}},
		{"id eq 'a' and rbacGroupId eq 5", pID, []string{"a"}},
		{"rbacGroupId eq 5 and (id eq 'a' or id eq 'b')", pID, []string{"a", "b"}},
		{"(id eq 'a' or id eq 'b') and id eq 'c'", pID, []string{"c"}},
		{"rbacGroupId in (22,5)", pRbac, []string{"22", "5"}},
		{"riskScore eq 'high'", pRisk, []string{"high"}},
		{"id eq 'a' or rbacGroupId eq 5", pID, nil},
		{"id ne 'a'", pID, nil},
		{"id in ('a', null)", pID, nil},
		{"id eq null", pID, nil},
		{"computerDnsName eq 'x'", pID, nil},
		{"not (id eq 'a')", pID, nil},
		{"startswith(id,'a')", pID, nil},
		{"machineTags/any(t: t eq 'x')", pTags, nil},
		{"lastSeen eq 2019-11-22T00:00:00Z", pLastSeen, nil},
		{"isAadJoined eq true", pIsAAD, nil},
		{"id eq 'a'", -1, nil},
		{"id eq 'a'", 99, nil},
	}
	for _, tt := range tests {
		f, err := odata.Parse(machines, tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := f.EqualityOn(tt.prop)
		if ok != (tt.want != nil) || !slices.Equal(got, tt.want) {
			t.Errorf("Parse(%q).EqualityOn(%d) = %q, %v; want %q", tt.filter, tt.prop, got, ok, tt.want)
		}
	}
}

func TestTimeRange(t *testing.T) {
	const (
		t0 = int64(1574380800000000000) // 2019-11-22T00:00:00Z
		lo = math.MinInt64
		hi = math.MaxInt64
	)
	tests := []struct {
		filter string
		prop   int
		lo, hi int64
		ok     bool
	}{
		{"lastSeen ge 2019-11-22T00:00:00Z", pLastSeen, t0, hi, true},
		{"lastSeen gt 2019-11-22Z", pLastSeen, t0 + 1, hi, true},
		{"2019-11-22Z gt lastSeen", pLastSeen, lo, t0 - 1, true},
		{"lastSeen le 2019-11-22Z and riskScore eq 'High'", pLastSeen, lo, t0, true},
		{"lastSeen ge 2019-11-22Z and lastSeen lt 2019-11-22T00:00:01Z", pLastSeen, t0, t0 + 1e9 - 1, true},
		{"lastSeen eq 2019-11-22Z or lastSeen eq 2019-11-22T00:00:02Z", pLastSeen, t0, t0 + 2e9, true},
		{"(lastSeen ge 2019-11-22Z and id eq 'a') or lastSeen le 2019-11-21Z", pLastSeen, lo, hi, true},
		{"lastSeen ge 2019-11-22Z or id eq 'a'", pLastSeen, 0, 0, false},
		{"lastSeen ne 2019-11-22Z", pLastSeen, 0, 0, false},
		{"not (lastSeen lt 2019-11-22Z)", pLastSeen, 0, 0, false},
		{"lastSeen eq null", pLastSeen, 0, 0, false},
		{"lastSeen ge 2019-11-22Z", pFirstSeen, 0, 0, false},
		{"lastSeen ge 2019-11-22Z", pID, 0, 0, false},
		{"lastSeen ge 9999-12-31Z", pLastSeen, 0, 0, false},
	}
	for _, tt := range tests {
		f, err := odata.Parse(machines, tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		l, h, ok := f.TimeRange(tt.prop)
		if ok != tt.ok || ok && (l != tt.lo || h != tt.hi) {
			t.Errorf("Parse(%q).TimeRange(%d) = %d, %d, %v; want %d, %d, %v", tt.filter, tt.prop, l, h, ok, tt.lo, tt.hi, tt.ok)
		}
		// Every entity the filter holds for lies within the bounds.
		for _, sec := range []int64{-1, 0, 1, 2, 3, -86400} {
			for _, ns := range []int64{-1, 0, 1} {
				m := &machine{lastSeen: time.Unix(0, t0+sec*1e9+ns), id: "a", risk: "High"}
				if ok && f.Match(m) && (m.lastSeen.UnixNano() < l || m.lastSeen.UnixNano() > h) {
					t.Errorf("%q holds for lastSeen %v, outside [%d, %d]", tt.filter, m.lastSeen, l, h)
				}
			}
		}
	}
	var nilFilter *odata.Filter
	if _, _, ok := nilFilter.TimeRange(pLastSeen); ok || nilFilter.OnlyTimeRangeOn(pLastSeen) {
		t.Error("a nil filter bounds nothing")
	}
	for filter, want := range map[string]bool{
		"lastSeen ge 2019-11-22Z":                             true,
		"lastSeen ge 2019-11-22Z and lastSeen lt 2019-11-23Z": true,
		"lastSeen eq 2019-11-22Z":                             true,
		"lastSeen ge 2019-11-22Z and riskScore eq 'High'":     false,
		"lastSeen eq 2019-11-22Z or lastSeen eq 2019-11-24Z":  false, // the bounds hold the day between
		"lastSeen ne 2019-11-22Z":                             false,
		"not (lastSeen lt 2019-11-22Z)":                       false,
		"lastSeen ge 9999-12-31Z":                             false,
		"lastSeen ge 2019-11-22Z and id ne 'a'":               false,
	} {
		f, err := odata.Parse(machines, filter)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.OnlyTimeRangeOn(pLastSeen); got != want {
			t.Errorf("Parse(%q).OnlyTimeRangeOn(lastSeen) = %v, want %v", filter, got, want)
		}
	}
}
