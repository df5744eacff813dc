package odata_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openatp/openatp/odata"
)

func TestParseQuery(t *testing.T) {
	raw := "$filter=riskScore+eq+'High'&$top=100&$skip=5&$select=id,computerDnsName&$orderby=lastSeen+desc,id" +
		"&$count=true&$expand=evidence&$skiptoken=abc%3D&pageSize=10000&api-version=2&foo=%zz&&=x"
	q, err := odata.ParseQuery(machines, raw, odata.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if q.Filter.String() != "riskScore eq 'High'" {
		t.Errorf("Filter = %q", q.Filter)
	}
	got := []any{q.Top, q.Skip, q.PageSize, q.Select, q.OrderBy, q.Count, q.Expand, q.SkipToken}
	want := []any{100, 5, 10000, []int{pID, pDNS}, []odata.OrderKey{{Prop: pLastSeen, Desc: true}, {Prop: pID}}, true, "evidence", "abc="}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ParseQuery(%q) (-want +got):\n%s", raw, d)
	}
}

func TestParseQueryDefaults(t *testing.T) {
	for _, raw := range []string{"", "&", "foo=bar&api-version=1.0"} {
		q, err := odata.ParseQuery(machines, raw, odata.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := odata.Query{Top: -1, PageSize: -1}
		if d := cmp.Diff(want, *q, cmp.AllowUnexported(odata.Filter{})); d != "" {
			t.Errorf("ParseQuery(%q) (-want +got):\n%s", raw, d)
		}
	}
}

// TestParseQueryDecoding: '+' is a space, %2B a plus, option names in any
// case (even %-encoded), pageSize lowered to the maximum.
func TestParseQueryDecoding(t *testing.T) {
	tests := []struct {
		raw, filter string
		top, page   int
	}{
		{"$filter=lastSeen+gt+2019-11-22T00:00:00%2B01:00", "lastSeen gt 2019-11-21T23:00:00Z", -1, -1},
		{"$filter=computerDnsName%20eq%20'a%2Bb'", "computerDnsName eq 'a+b'", -1, -1},
		{"$filter=computerDnsName+eq+'a+b'", "computerDnsName eq 'a b'", -1, -1},
		{"$filter=computerDnsName eq 'a%26b'&$top=1", "computerDnsName eq 'a&b'", 1, -1},
		{"$Filter=id+eq+'m1'&$TOP=0", "id eq 'm1'", 0, -1},
		{"%24filter=id+eq+'m1'&%24top=10000", "id eq 'm1'", 10000, -1},
		{"pageSize=50000", "", -1, 10000},
		{"PAGESIZE=7&$top=3", "", 3, 7},
	}
	for _, tt := range tests {
		q, err := odata.ParseQuery(machines, tt.raw, odata.Options{})
		if err != nil {
			t.Errorf("ParseQuery(%q): %v", tt.raw, err)
			continue
		}
		if q.Filter.String() != tt.filter || q.Top != tt.top || q.PageSize != tt.page {
			t.Errorf("ParseQuery(%q) = filter %q top %d pageSize %d, want %q %d %d",
				tt.raw, q.Filter, q.Top, q.PageSize, tt.filter, tt.top, tt.page)
		}
	}
}

func TestParseQueryErrors(t *testing.T) {
	tests := []struct {
		raw    string
		maxTop int
		want   string
	}{
		{"$top=10001", 0, "$top: 10001 is more than the maximum of 10000"},
		{"$top=101", 100, "$top: 101 is more than the maximum of 100"},
		{"$top=99999999999999999999", 0, "$top: 99999999999999999999 is more than the maximum of 10000"},
		{"$top=-1", 0, "$top: -1 is less than 0"},
		{"$top=abc", 0, "$top: 'abc' is not an integer"},
		{"$top=12x", 0, "$top: '12x' is not an integer"},
		{"$top=+5", 0, "$top: ' 5' is not an integer"},
		{"$top=-", 0, "$top: '-' is not an integer"},
		{"$top=", 0, "$top: empty value"},
		{"$top", 0, "$top: empty value"},
		{"$skip=-5", 0, "$skip: -5 is less than 0"},
		{"$skip=99999999999999999999", 0, "$skip: 99999999999999999999 is too large"},
		{"pageSize=0", 0, "pageSize: 0 is less than 1"},
		{"pageSize=ten", 0, "pageSize: 'ten' is not an integer"},
		{"$count=yes", 0, "$count: expected true or false but found 'yes'"},
		{"$foo=1", 0, "$foo: unknown query option"},
		{"$Foo=1", 0, "$foo: unknown query option"},
		{"$search=x", 0, "$search: query option not supported"},
		{"$format=json", 0, "$format: query option not supported"},
		{"$top=1&$TOP=2", 0, "$top: given more than once"},
		{"$filter=id%2", 0, "$filter: malformed %-escape at position 3"},
		{"$filter=id%zz", 0, "$filter: malformed %-escape at position 3"},
		{"$fil%ter=1", 0, "$fil%ter: malformed %-escape at position 5"},
		{"$filter=lastSeen+gt+2019-11-22T00:00:00+01:00", 0, "$filter: invalid date: expected 'Z' or an offset such as +01:00 (send a '+' in a URL as %2B) at position 32"},
		{"$filter=foo+eq+1", 0, "$filter: unknown property 'foo' at position 1"},
		{"$filter=riskScore+eq+'High'&$top=100000", 0, "$top: 100000 is more than the maximum of 10000"},
		{"$orderby=lastSeen up", 0, "$orderby: expected 'asc' or 'desc' but found 'up' at position 10"},
		{"$orderby=lastSeen+desc+asc", 0, "$orderby: unexpected 'asc' at position 15"},
		{"$orderby=machineTags", 0, "$orderby: property 'machineTags' is not orderable at position 1"},
		{"$orderby=osBuild", 0, "$orderby: property 'osBuild' is not orderable at position 1"},
		{"$orderby=lastSeen desc, LastSeen", 0, "$orderby: property 'lastSeen' is listed twice at position 16"},
		{"$orderby=lastSeen,", 0, "$orderby: expected a property but found end of input at position 10"},
		{"$orderby=", 0, "$orderby: empty value at position 1"},
		{"$orderby=nope", 0, "$orderby: unknown property 'nope' at position 1"},
		{"$select=id,foo", 0, "$select: unknown property 'foo' at position 4"},
		{"$select=osBuild", 0, "$select: property 'osBuild' is not selectable at position 1"},
		{"$select=machineTags/any", 0, "$select: unexpected '/' at position 12"},
		{"$select=id,,dns", 0, "$select: expected a property but found ',' at position 4"},
	}
	for _, tt := range tests {
		q, err := odata.ParseQuery(machines, tt.raw, odata.Options{MaxTop: tt.maxTop})
		var e *odata.Error
		if !errors.As(err, &e) || err.Error() != tt.want {
			t.Errorf("ParseQuery(%q) = %+v, %v; want %q", tt.raw, q, err, tt.want)
		}
	}
}

func TestParseSelect(t *testing.T) {
	tests := []struct {
		sel  string
		want []int
	}{
		{"id", []int{pID}},
		{"ComputerDnsName, id ,computerdnsname", []int{pDNS, pID}},
		{"riskScore,*", append([]int{pRisk}, slices.DeleteFunc(seq(pOsBuild), func(i int) bool { return i == pRisk })...)},
	}
	for _, tt := range tests {
		got, err := odata.ParseSelect(machines, tt.sel)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseSelect(%q) = %v, %v; want %v", tt.sel, got, err, tt.want)
		}
	}
}

// seq returns 0 to n-1.
func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// TestCompare sorts the fleet as $orderby says: nulls first ascending,
// strings under ASCII case folding, enums by their order.
func TestCompare(t *testing.T) {
	tests := []struct{ orderby, want string }{
		{"lastSeen desc", "m1 m4 m2 m3"},
		{"LastSeen asc", "m3 m2 m4 m1"},
		{"riskScore", "m3 m4 m2 m1"},
		{"rbacGroupId desc,id", "m1 m2 m4 m3"},
		{"rbacGroupId desc,id desc", "m2 m1 m4 m3"},
		{"computerDnsName", "m1 m2 m4 m3"},
		{"isAadJoined, id", "m3 m2 m4 m1"},
	}
	for _, tt := range tests {
		keys, err := odata.ParseOrderBy(machines, tt.orderby)
		if err != nil {
			t.Fatal(err)
		}
		ms := slices.Clone(fleet)
		slices.Reverse(ms)
		slices.SortStableFunc(ms, func(a, b *machine) int { return machines.Compare(keys, a, b) })
		var ids []string
		for _, m := range ms {
			ids = append(ids, m.id)
		}
		if got := strings.Join(ids, " "); got != tt.want {
			t.Errorf("$orderby=%s sorts %s, want %s", tt.orderby, got, tt.want)
		}
	}
}

// OnlyEqualityOn holds for a filter that is nothing but equalities on the
// property, and for nothing else.
func TestOnlyEqualityOn(t *testing.T) {
	s := machines
	name, _ := s.Lookup("computerDnsName")
	for filter, want := range map[string]bool{
		"computerDnsName eq 'a'":                              true,
		"computerDnsName in ('a','b')":                        true,
		"computerDnsName eq 'a' or computerDnsName eq 'b'":    true,
		"computerDnsName eq 'a' and healthStatus eq 'Active'": false,
		"computerDnsName ne 'a'":                              false,
		"computerDnsName eq null":                             false,
		"startswith(computerDnsName,'a')":                     false,
		"not (computerDnsName eq 'a')":                        false,
	} {
		f, err := odata.Parse(s, filter)
		if err != nil {
			t.Fatalf("%s: %v", filter, err)
		}
		if got := f.OnlyEqualityOn(name); got != want {
			t.Errorf("%s: OnlyEqualityOn = %v, want %v", filter, got, want)
		}
	}
}

// ParseDate reads the literals $filter reads, and names the position of
// what it refuses.
func TestParseDate(t *testing.T) {
	for in, want := range map[string]string{
		"2019-09-22T08:44:05Z":        "2019-09-22T08:44:05Z",
		"2018-08-01Z":                 "2018-08-01T00:00:00Z",
		"2019-09-22T10:44:05.5+02:00": "2019-09-22T08:44:05.5Z",
	} {
		got, err := odata.ParseDate("timestamp", in)
		if err != nil || got.Format(time.RFC3339Nano) != want {
			t.Errorf("ParseDate(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"":                      "timestamp: expected a date such as 2019-11-22T00:00:00Z at position 1",
		"2019-09-22T08:44:05":   "timestamp: invalid date: expected 'Z' or an offset such as +01:00 at position 20",
		"2019-09-22T08:44:05Zx": "timestamp: invalid date: unexpected 'x' at position 21",
	} {
		if _, err := odata.ParseDate("timestamp", in); err == nil || err.Error() != want {
			t.Errorf("ParseDate(%q) error %v, want %s", in, err, want)
		}
	}
}
