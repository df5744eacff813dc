// Package route matches requests against route patterns written the way
// openatp's routes are: "[METHOD ]/path/{id}/more". Fault rules and journal
// queries use them to name the requests they are about.
//
// A pattern's path is a list of segments separated by '/'. A segment is
// literal, {name} (any one non-empty segment), {name...} (last only: the
// rest of the path, possibly nothing), or a literal with '*' wildcards
// (each matches any run of characters within the segment, as in
// "findbyip(*)"). Literals are compared with the request path's segments
// unescaped: byte for byte, except that under /api/ (after its first
// segment) they are compared without regard to ASCII case and a trailing
// slash is ignored, as openatp serves the MDE routes (httpserve folds
// such paths onto their routes). As in Go's ServeMux, the more specific route
// wins: given the route that answers a request (MatchRoute), a {name}
// does not match a segment that route names literally, so that
// "GET /api/machines/{id}" does not match /api/machines/findbytag, which
// has a route of its own. A pattern under /api/ that does not itself start
// with /api/v1.0/ also matches the same path under /api/v1.0/: openatp
// serves both with the same handlers. An empty pattern matches every
// request; a pattern without a method matches every method.
package route

import (
	"fmt"
	"net/url"
	"strings"
)

// Pattern is a parsed route pattern. The zero value matches everything.
type Pattern struct {
	text   string
	method string
	segs   []segment
	rest   bool // the last segment was {name...}
	anyVer bool // /api/... also matches /api/v1.0/...
	fold   bool // under /api/: literals ignore case, a trailing slash is ignored
	wild   bool // a segment is {name}
}

type segment struct {
	lit  string
	kind segKind
}

type segKind uint8

const (
	literal segKind = iota
	wildcard
	glob
)

// Parse reads a pattern. Errors say what is wrong, for the caller to show.
func Parse(s string) (Pattern, error) {
	p := Pattern{text: s}
	s = strings.TrimSpace(s)
	if s == "" {
		return p, nil
	}
	if m, rest, ok := strings.Cut(s, " "); ok {
		for _, c := range m {
			if c < 'A' || c > 'Z' {
				return p, fmt.Errorf("route %q: the method %q is not an upper-case HTTP method", s, m)
			}
		}
		p.method, s = m, strings.TrimSpace(rest)
	}
	if !strings.HasPrefix(s, "/") {
		return p, fmt.Errorf("route %q: the path must start with /", p.text)
	}
	parts := strings.Split(s[1:], "/")
	for i, part := range parts {
		switch {
		case strings.HasPrefix(part, "{") && strings.HasSuffix(part, "...}"):
			if i != len(parts)-1 {
				return p, fmt.Errorf("route %q: %s may only be the last segment", p.text, part)
			}
			p.rest = true
		case strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}"):
			p.segs = append(p.segs, segment{kind: wildcard})
			p.wild = true
		case strings.ContainsAny(part, "{}"):
			return p, fmt.Errorf("route %q: segment %q: a wildcard {name} must be a whole segment", p.text, part)
		case strings.Contains(part, "*"):
			p.segs = append(p.segs, segment{lit: part, kind: glob}) // lower-cased under /api/ below
		default:
			p.segs = append(p.segs, segment{lit: part})
		}
	}
	p.fold = strings.HasPrefix(s, "/api/")
	p.anyVer = p.fold && !hasVersion(s)
	if p.fold {
		for i := range p.segs {
			if p.segs[i].kind == glob {
				p.segs[i].lit = strings.ToLower(p.segs[i].lit)
			}
		}
	}
	return p, nil
}

// MustParse is Parse for patterns known to be valid; it panics otherwise.
func MustParse(s string) Pattern {
	p, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return p
}

// String returns the pattern as it was written.
func (p Pattern) String() string { return p.text }

// HasWildcard reports whether a segment of the pattern is {name}: only
// then does MatchRoute need the route that answers.
func (p Pattern) HasWildcard() bool { return p.wild }

// MatchRoute is Match for a request that the route answeredBy (a ServeMux
// pattern such as "GET /api/machines/findbytag"; "" if not known)
// answers: a {name} of p does not match a segment that answeredBy names
// literally.
func (p Pattern) MatchRoute(method, path, answeredBy string) bool {
	if !p.Match(method, path) {
		return false
	}
	if !p.wild || answeredBy == "" {
		return true
	}
	if _, rp, ok := strings.Cut(answeredBy, " "); ok {
		answeredBy = rp
	}
	rs := strings.Split(strings.TrimPrefix(answeredBy, "/"), "/")
	if p.anyVer && hasVersion(path) && len(rs) > 1 && rs[1] == "v1.0" {
		rs = append(rs[:1:1], rs[2:]...) // aligned with p's segments, as the path was
	}
	for i, s := range p.segs {
		if s.kind == wildcard && i < len(rs) && !strings.HasPrefix(rs[i], "{") {
			return false
		}
	}
	return true
}

// IsZero reports whether the pattern matches every request.
func (p Pattern) IsZero() bool { return p.method == "" && p.segs == nil && !p.rest }

// Match reports whether a request of this method on this path (escaped, as
// sent: r.URL.EscapedPath()) matches the pattern.
func (p Pattern) Match(method, path string) bool {
	if p.method != "" && p.method != method {
		return false
	}
	if p.segs == nil && !p.rest {
		return true
	}
	if !strings.HasPrefix(path, "/") {
		return false
	}
	rest, first := path[1:], 0
	if p.anyVer && hasVersion(path) {
		rest, first = path[len("/api/v1.0/"):], 1 // segment 0 is "api"
	}
	for i := first; i < len(p.segs); i++ {
		s := p.segs[i]
		seg, after, more := strings.Cut(rest, "/")
		switch s.kind {
		case wildcard:
			if seg == "" {
				return false
			}
		case literal:
			if seg != s.lit && !p.equal(unescape(seg), s.lit, i) {
				return false
			}
		case glob:
			u := unescape(seg)
			if p.fold && i > 0 {
				u = strings.ToLower(u)
			}
			if !globMatch(s.lit, u) {
				return false
			}
		}
		if i == len(p.segs)-1 {
			// Segments left over match only {name...}, or a trailing slash
			// under /api/.
			return !more || p.rest || p.fold && after == ""
		}
		if !more {
			return false // the path ended before the pattern
		}
		rest = after
	}
	return true // only {name...}: any path
}

// equal compares a path's segment (unescaped) with the pattern's literal
// segment i.
func (p Pattern) equal(seg, lit string, i int) bool {
	if p.fold && i > 0 {
		return strings.EqualFold(seg, lit)
	}
	return seg == lit
}

// hasVersion reports whether path starts with /api/v1.0/ (the version in
// any case).
func hasVersion(path string) bool {
	const v = "/api/v1.0/"
	return len(path) >= len(v) && path[:5] == "/api/" && strings.EqualFold(path[5:len(v)], v[5:])
}

func unescape(seg string) string {
	if !strings.Contains(seg, "%") {
		return seg
	}
	u, err := url.PathUnescape(seg)
	if err != nil {
		return seg
	}
	return u
}

// globMatch matches s against a pattern whose only special character is
// '*' (any run of characters).
func globMatch(pat, s string) bool {
	first, rest, star := strings.Cut(pat, "*")
	if !star {
		return pat == s
	}
	if !strings.HasPrefix(s, first) {
		return false
	}
	s = s[len(first):]
	parts := strings.Split(rest, "*")
	last := parts[len(parts)-1]
	for _, part := range parts[:len(parts)-1] {
		i := strings.Index(s, part)
		if i < 0 {
			return false
		}
		s = s[i+len(part):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}

// Method returns the pattern's method; "" matches every method.
func (p Pattern) Method() string { return p.method }

// Example returns a path the pattern matches: its literal segments, with
// "x" for each {name} and each '*', and nothing for a final {name...}.
func (p Pattern) Example() string {
	if p.segs == nil {
		return "/"
	}
	var b strings.Builder
	for _, s := range p.segs {
		b.WriteByte('/')
		switch s.kind {
		case wildcard:
			b.WriteString("x")
		case glob:
			b.WriteString(url.PathEscape(strings.ReplaceAll(s.lit, "*", "x")))
		default:
			b.WriteString(url.PathEscape(s.lit))
		}
	}
	if p.rest {
		b.WriteByte('/')
	}
	return b.String()
}

// Overlaps reports whether a request could match both p and q, as far as
// their examples tell: one's example matches the other, for a method
// both take.
func (p Pattern) Overlaps(q Pattern) bool {
	if p.method != "" && q.method != "" && p.method != q.method {
		return false
	}
	m := p.method
	if m == "" {
		m = q.method
	}
	return p.Match(m, q.Example()) || q.Match(m, p.Example())
}
