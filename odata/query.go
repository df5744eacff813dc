package odata

import (
	"slices"
	"strconv"
	"strings"
)

// DefaultMaxTop is the largest $top Defender for Endpoint accepts, used when
// Options.MaxTop is 0.
const DefaultMaxTop = 10000

// Options tunes ParseQuery.
type Options struct {
	// MaxTop is the largest $top accepted and the largest pageSize kept;
	// 0 means DefaultMaxTop.
	MaxTop int
}

// Query holds the query options of a request, parsed and checked.
type Query struct {
	Filter    *Filter    // $filter; nil (which matches everything) when absent
	Top       int        // $top, 0 to MaxTop; -1 when absent
	Skip      int        // $skip; 0 when absent
	PageSize  int        // pageSize, 1 to MaxTop (larger values are lowered to it); -1 when absent
	Select    []int      // $select; nil when absent
	OrderBy   []OrderKey // $orderby; nil when absent
	Count     bool       // $count=true
	Expand    string     // $expand as sent (decoded), for the caller to check; "" when absent
	SkipToken string     // $skiptoken as sent (decoded); "" when absent
}

// unsupported are the OData system query options that ParseQuery knows but
// refuses.
var unsupported = []string{"$apply", "$compute", "$deltatoken", "$format", "$id", "$index", "$levels", "$schemaversion", "$search"}

// ParseQuery parses a raw (still URL-encoded) query string, as in
// url.URL.RawQuery. Option names are matched in any letter case; an
// option given twice, an unknown $-option, or one of $search, $format,
// $apply and the like is an error; parameters without '$' are ignored but
// for pageSize. Values are decoded as application/x-www-form-urlencoded:
// '+' is a space, "%2B" a plus. Errors are *Error values naming the
// option, with Pos counted in the decoded value (in the raw value for a
// malformed %-escape).
func ParseQuery(s *Schema, rawQuery string, opts Options) (*Query, error) {
	maxTop := opts.MaxTop
	if maxTop <= 0 {
		maxTop = DefaultMaxTop
	}
	q := &Query{Top: -1, PageSize: -1}
	var seen []string
	for rest := rawQuery; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, "&")
		rawKey, rawVal, _ := strings.Cut(part, "=")
		key, err := unescape("", rawKey)
		if err != nil && (strings.HasPrefix(rawKey, "$") || strings.HasPrefix(rawKey, "%24")) {
			err.Option = rawKey
			return nil, err
		}
		if err != nil || part == "" {
			continue
		}
		name := strings.ToLower(key)
		if !strings.HasPrefix(name, "$") && name != "pagesize" {
			continue
		}
		if name == "pagesize" {
			key = "pageSize"
		} else {
			key = name
		}
		if slices.Contains(seen, name) {
			return nil, errorf(key, 0, "given more than once")
		}
		seen = append(seen, name)
		val, err := unescape(key, rawVal)
		if err != nil {
			return nil, err
		}
		if err := q.set(s, key, val, maxTop); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// set parses the value of option name into q.
func (q *Query) set(s *Schema, name, val string, maxTop int) error {
	var err error
	switch name {
	case "$filter":
		q.Filter, err = Parse(s, val)
	case "$orderby":
		q.OrderBy, err = ParseOrderBy(s, val)
	case "$select":
		q.Select, err = ParseSelect(s, val)
	case "$top":
		q.Top, err = count(name, val, 0, maxTop)
	case "$skip":
		q.Skip, err = count(name, val, 0, -1)
	case "pageSize":
		q.PageSize, err = count(name, val, 1, -1)
		q.PageSize = min(q.PageSize, maxTop)
	case "$count":
		switch {
		case equalFold(val, "true"):
			q.Count = true
		case !equalFold(val, "false"):
			err = errorf(name, 0, "expected true or false but found %s", quote(val))
		}
	case "$expand":
		q.Expand = val
	case "$skiptoken":
		q.SkipToken = val
	default:
		if slices.Contains(unsupported, name) {
			return errorf(name, 0, "query option not supported")
		}
		return errorf(name, 0, "unknown query option")
	}
	return err
}

// count parses a decimal integer from lo to hi (no limit if hi < 0).
func count(name, val string, lo, hi int) (int, error) {
	if val == "" {
		return 0, errorf(name, 0, "empty value")
	}
	neg := val[0] == '-'
	if val == "-" {
		return 0, errorf(name, 0, "%s is not an integer", quote(val))
	}
	for i := range len(val) {
		if !isDigit(val[i]) && !(i == 0 && neg) {
			return 0, errorf(name, 0, "%s is not an integer", quote(val))
		}
	}
	n, err := strconv.Atoi(val) // fails only out of range, returning the nearest int
	switch {
	case n < lo:
		return 0, errorf(name, 0, "%s is less than %d", val, lo)
	case err != nil && hi < 0:
		return 0, errorf(name, 0, "%s is too large", val)
	case err != nil || hi >= 0 && n > hi:
		return 0, errorf(name, 0, "%s is more than the maximum of %d", val, hi)
	}
	return n, nil
}

// unescape decodes an application/x-www-form-urlencoded component: '+' is a
// space and %XX a byte. A malformed escape is an error at its position.
func unescape(option, s string) (string, *Error) {
	if !strings.ContainsAny(s, "%+") {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b = append(b, ' ')
		case '%':
			if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
				return "", errorf(option, i+1, "malformed %%-escape")
			}
			b = append(b, byte(unhex(s[i+1])<<4|unhex(s[i+2])))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b), nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}
