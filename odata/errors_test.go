package odata_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/openatp/openatp/odata"
)

// TestFilterErrors checks the exact message and position of each
// rejection.
func TestFilterErrors(t *testing.T) {
	tests := []struct{ filter, want string }{
		{"foo eq 1", "unknown property 'foo' at position 1"},
		{"id eq 'm1' and Foo eq 1", "unknown property 'Foo' at position 16"},
		{"firstSeen gt 2018-08-01Z", "property 'firstSeen' is not filterable at position 1"},
		{"computerDnsName eq 'abc", "unterminated string literal at position 20"},
		{"computerDnsName eq 'it''s", "unterminated string literal at position 20"},

		{"lastSeen gt 2018-13-01Z", "invalid date: month must be 01 to 12 at position 18"},
		{"lastSeen gt 2018-02-30Z", "invalid date: day must be 01 to 28 at position 21"},
		{"lastSeen gt 2018-08-01", "invalid date: expected 'Z' or an offset such as +01:00 at position 23"},
		{"lastSeen gt 2018-08-01+and+id eq 'x'", "invalid date: expected 'Z' or an offset such as +01:00 at position 23"},
		{"lastSeen gt 2019-11-22T00:00:00 01:00", "invalid date: expected 'Z' or an offset such as +01:00 (send a '+' in a URL as %2B) at position 32"},
		{"lastSeen gt 2018-8-01Z", "invalid date: expected 2 digits of month at position 18"},
		{"lastSeen gt 0000-01-01Z", "invalid date: year must be 0001 to 9999 at position 13"},
		{"lastSeen gt 2019-11-22T24:00:00Z", "invalid date: hour must be 00 to 23 at position 24"},
		{"lastSeen gt 2019-11-22T10Z", "invalid date: expected ':' at position 26"},
		{"lastSeen gt 2019-11-22T00:00:00.12345678Z", "invalid date: at most 7 digits of fractional seconds at position 40"},
		{"lastSeen gt 2019-11-22T00:00:00.Z", "invalid date: expected digits of fractional seconds at position 33"},
		{"lastSeen gt 2019-11-22T00:00:00+15:00", "invalid date: offset hours must be 00 to 14 at position 33"},
		{"lastSeen gt 2019-11-22T00:00:00+14:30", "invalid date: offset must be at most 14:00 at position 33"},
		{"lastSeen gt 0001-01-01T00:00:00+01:00", "invalid date: out of range in UTC at position 13"},
		{"lastSeen gt 9999-12-31T23:00:00-01:00", "invalid date: out of range in UTC at position 13"},
		{"lastSeen gt 2019-11-22Zabc", "invalid date: unexpected 'a' at position 24"},

		{"rbacGroupId eq 'x'", "type mismatch: rbacGroupId takes an integer, not a string at position 16"},
		{"rbacGroupId eq '22'", "type mismatch: rbacGroupId takes an integer, not a string at position 16"},
		{"lastSeen gt 5", "type mismatch: lastSeen takes a date, not an integer at position 13"},
		{"lastSeen gt '2019-11-22T00:00:00Z'", "type mismatch: lastSeen takes a date, not a string at position 13"},
		{"computerDnsName eq 5", "type mismatch: computerDnsName takes a string, not an integer at position 20"},
		{"isAadJoined eq 'true'", "type mismatch: isAadJoined takes a boolean, not a string at position 16"},
		{"riskScore eq 2", "type mismatch: riskScore takes a string, not an integer at position 14"},
		{"machineTags/any(t: t eq 1)", "type mismatch: t takes a string, not an integer at position 25"},
		{"riskScore eq 'Hgh'", "'Hgh' is not a value of riskScore: expected one of None, Informational, Low, Medium, High at position 14"},
		{"riskScore in ('High','Severe')", "'Severe' is not a value of riskScore: expected one of None, Informational, Low, Medium, High at position 22"},
		{"isAadJoined gt true", "operator gt is not defined for boolean isAadJoined at position 13"},
		{"machineTags eq 'x'", "machineTags is a collection: use machineTags/any(x: x eq '...') at position 1"},
		{"'a' eq 'b'", "a comparison needs a property on one side at position 1"},
		{"null eq null", "a comparison needs a property on one side at position 1"},
		{"id eq computerDnsName", "comparing two properties is not supported at position 7"},

		{"id eq 'a' foo", "unexpected 'foo' at position 11"},
		{"id eq 'a')", "unexpected ')' at position 10"},
		{"id eq 'a' 'b'", "unexpected 'b' at position 11"},
		{"(id eq 'a'", "expected ')' but found end of input at position 11"},
		{"", "empty value at position 1"},
		{" + \t", "empty value at position 1"},
		{"id eq", "expected a property or a value but found end of input at position 6"},
		{"id eq eq", "expected a property or a value but found 'eq' at position 7"},
		{"and id eq 'a'", "expected a property or a value but found 'and' at position 1"},
		{"id", "expected an operator such as eq after 'id' but found end of input at position 3"},
		{"id has 'a'", "expected an operator such as eq after 'id' but found 'has' at position 4"},
		{"id eq 1.5", "invalid number '1.5': only integers are supported at position 7"},
		{"rbacGroupId eq 22L", "invalid number '22L': only integers are supported at position 16"},
		{"rbacGroupId eq 99999999999999999999", "number '99999999999999999999' is out of range at position 16"},
		{"id eq \"a\"", "unexpected character '\"' at position 7"},
		{"id eq 'a' && id eq 'b'", "unexpected character '&' at position 11"},
		{"ïd eq 'a'", "unexpected character 'ï' at position 1"},
		{"id eq 'a' and \x00", "unexpected character '\\x00' at position 15"},

		{"tolower(id) eq 'a'", "unknown function 'tolower' at position 1"},
		{"startswith('a', id)", "startswith needs a string property as its first argument at position 12"},
		{"startswith(rbacGroupId,'1')", "startswith needs a string property as its first argument at position 12"},
		{"startswith(riskScore,'H')", "startswith needs a string property as its first argument at position 12"},
		{"startswith(id, id)", "startswith needs a string literal as its second argument at position 16"},
		{"startswith(id 'a')", "expected ',' but found 'a' at position 15"},
		{"startswith(id,'a'", "expected ')' but found end of input at position 18"},

		{"id/any(t: t eq 'a')", "id is not a collection at position 3"},
		{"machineTags/some(t: t eq 'a')", "expected any or all after '/' but found 'some' at position 13"},
		{"machineTags/any(t: machineTags/any(u: u eq 'a'))", "nested lambda expressions are not supported at position 20"},
		{"machineTags/all()", "expected a variable name but found ')' at position 17"},
		{"machineTags/any(eq: eq eq 'a')", "expected a variable name but found 'eq' at position 17"},
		{"machineTags/any(t t eq 'a')", "expected ':' but found 't' at position 19"},
		{"machineTags/any(t: t eq 'a'", "expected ')' but found end of input at position 28"},
		{"machineTags/any(t: t eq 'a') and t eq 'b'", "unknown property 't' at position 34"},

		{"id in ()", "expected a value but found ')' at position 8"},
		{"id in ('a' 'b')", "expected ',' or ')' but found 'b' at position 12"},
		{"id in ('a', foo)", "expected a value but found 'foo' at position 13"},
		{"id in 'a'", "expected '(' or '[' but found 'a' at position 7"},
		{"id in ['a')", "expected ',' or ']' but found ')' at position 11"},
		{"'a' in ('a')", "a comparison needs a property on one side at position 1"},

		{strings.Repeat("(", odata.MaxDepth+1) + "id eq 'a'" + strings.Repeat(")", odata.MaxDepth+1),
			"nesting deeper than 64 levels at position 65"},
		{strings.Repeat("not ", odata.MaxDepth+1) + "isAadJoined", "nesting deeper than 64 levels at position 257"},
		{strings.Repeat("x", odata.MaxFilterLength+1), "longer than 4096 bytes at position 4097"},
	}
	for _, tt := range tests {
		f, err := odata.Parse(machines, tt.filter)
		var e *odata.Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%.60q) = %v, %v; want error %q", tt.filter, f, err, tt.want)
			continue
		}
		if e.Option != "$filter" || e.Msg+" at position "+strconv.Itoa(e.Pos) != tt.want || err.Error() != "$filter: "+tt.want {
			t.Errorf("Parse(%.60q):\n got %q (%+v)\nwant %q", tt.filter, err.Error(), *e, "$filter: "+tt.want)
		}
	}
}
