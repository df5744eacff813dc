package odata

import (
	"strings"
)

// MaxFilterLength is the longest $filter, $orderby or $select, in bytes,
// that Parse, ParseOrderBy and ParseSelect accept.
const MaxFilterLength = 4096

// MaxDepth is the deepest nesting of parentheses, not, function calls and
// lambda expressions that Parse accepts.
const MaxDepth = 64

// Filter is a parsed and compiled $filter. A nil *Filter matches every
// entity.
type Filter struct {
	s    *Schema
	root node
	m    matcher
}

// Parse parses a $filter expression over the properties of s. Its errors
// are *Error values with Option "$filter".
func Parse(s *Schema, filter string) (*Filter, error) {
	var root node
	err := run(s, "$filter", filter, func(p *parser) { root = p.or(0) })
	if err != nil {
		return nil, err
	}
	return &Filter{s: s, root: root, m: compile(s, root)}, nil
}

// run parses src, the value of option, with read, which must consume all
// of it. It recovers the *Error a fault panics with.
func run(s *Schema, option, src string, read func(p *parser)) (err error) {
	if len(src) > MaxFilterLength {
		return errorf(option, MaxFilterLength+1, "longer than %d bytes", MaxFilterLength)
	}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*Error)
			if !ok {
				panic(r)
			}
			err = e
		}
	}()
	p := &parser{lx: lexer{src: src, option: option}, s: s}
	p.advance()
	if p.tok.kind == tEOF {
		p.fail(1, "empty value")
	}
	read(p)
	if p.tok.kind != tEOF {
		p.fail(p.tok.pos, "unexpected %s", p.tok.describe())
	}
	return nil
}

// String returns the filter in canonical form, which Parse reads back as
// the same filter.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	p := &printer{s: f.s}
	f.root.write(p)
	return p.String()
}

// EqualityOn reports whether the filter can hold only for entities whose
// property prop, a String, Enum or Int, equals one of a few values: when it
// is "prop eq 'x'", "prop in ('x','y')", an or of such, or an and with
// one such term. The values are returned sorted, without repeats and under
// Fold (an Int in decimal), so that a caller can look the candidates up in
// an index keyed by Fold of the property and then run Match on them.
func (f *Filter) EqualityOn(prop int) (values []string, ok bool) {
	if f == nil || prop < 0 || prop >= len(f.s.props) {
		return nil, false
	}
	switch f.s.props[prop].Kind {
	case String, Enum, Int:
		values, ok = equality(f.root, prop)
		if ok {
			return dedup(values), true
		}
	}
	return nil, false
}

// TimeRange reports bounds of the Time property prop in every entity the
// filter holds for: lo ≤ prop ≤ hi, in Unix nanoseconds, the property not
// null (math.MinInt64 or math.MaxInt64 on an open side). ok is false when
// the filter does not bound it: it holds for entities with any value, or
// null. It reads comparisons of prop with a date ("prop ge 2019-11-22Z",
// either side), ands of terms of which one bounds it, and ors of terms that
// all do, so that a caller keeping entities ordered by prop can start and
// stop a scan at the bounds and then run Match on what lies between.
func (f *Filter) TimeRange(prop int) (lo, hi int64, ok bool) {
	if f == nil || prop < 0 || prop >= len(f.s.props) || f.s.props[prop].Kind != Time {
		return 0, 0, false
	}
	return timeRange(f.root, prop)
}

// OnlyTimeRangeOn reports whether the filter is nothing but what
// TimeRange(prop) reads, comparisons of prop with dates (eq, gt, ge, lt,
// le) and ands of them: an entity whose non-null prop lies within
// TimeRange's bounds matches it, and a caller need not run Match.
func (f *Filter) OnlyTimeRangeOn(prop int) bool {
	if _, _, ok := f.TimeRange(prop); !ok {
		return false
	}
	var only func(n node) bool
	only = func(n node) bool {
		switch n := n.(type) {
		case *cmpNode:
			_, _, ok := timeRange(n, prop)
			return ok
		case *andNode:
			for _, t := range n.terms {
				if !only(t) {
					return false
				}
			}
			return true
		}
		return false
	}
	return only(f.root)
}

// OnlyEqualityOn reports whether the filter is nothing but what
// EqualityOn(prop) reads ("prop eq 'x'", "prop in (…)", an or of such): an
// entity found by those values in an index keyed by Fold matches it, and a
// caller need not run Match.
func (f *Filter) OnlyEqualityOn(prop int) bool {
	if _, ok := f.EqualityOn(prop); !ok {
		return false
	}
	var only func(n node) bool
	only = func(n node) bool {
		switch n := n.(type) {
		case *cmpNode, *inNode:
			return true
		case *orNode:
			for _, t := range n.terms {
				if !only(t) {
					return false
				}
			}
			return true
		}
		return false
	}
	return only(f.root)
}

// parser reads a filter by recursive descent. Faults panic with an *Error,
// which Parse recovers.
type parser struct {
	lx  lexer
	tok token // the next token, not yet consumed
	s   *Schema
	v   string // the variable of the lambda being read, or ""
}

func (p *parser) fail(pos int, format string, args ...any) {
	panic(errorf(p.lx.option, pos, format, args...))
}

// advance reads the next token into p.tok.
func (p *parser) advance() {
	t, err := p.lx.next()
	if err != nil {
		panic(err)
	}
	p.tok = t
}

// take returns p.tok and reads the next one.
func (p *parser) take() token {
	t := p.tok
	p.advance()
	return t
}

func (p *parser) expect(k tokKind, what string) token {
	if p.tok.kind != k {
		p.fail(p.tok.pos, "expected %s but found %s", what, p.tok.describe())
	}
	return p.take()
}

// keyword reports whether p.tok is the keyword w, in any letter case.
func (p *parser) keyword(w string) bool {
	return p.tok.kind == tIdent && equalFold(p.tok.text, w)
}

// deeper returns depth+1, failing at pos if that is too deep.
func (p *parser) deeper(depth, pos int) int {
	if depth >= MaxDepth {
		p.fail(pos, "nesting deeper than %d levels", MaxDepth)
	}
	return depth + 1
}

func (p *parser) or(depth int) node {
	var terms []node
	for {
		// (a or b) or c is a or b or c.
		if t := p.and(depth); isOr(t) {
			terms = append(terms, t.(*orNode).terms...)
		} else {
			terms = append(terms, t)
		}
		if !p.keyword("or") {
			break
		}
		p.advance()
	}
	if len(terms) == 1 {
		return terms[0]
	}
	return &orNode{terms: terms}
}

func (p *parser) and(depth int) node {
	var terms []node
	for {
		if t := p.unary(depth); isAnd(t) {
			terms = append(terms, t.(*andNode).terms...)
		} else {
			terms = append(terms, t)
		}
		if !p.keyword("and") {
			break
		}
		p.advance()
	}
	if len(terms) == 1 {
		return terms[0]
	}
	return &andNode{terms: terms}
}

func isOr(n node) bool  { _, ok := n.(*orNode); return ok }
func isAnd(n node) bool { _, ok := n.(*andNode); return ok }

func (p *parser) unary(depth int) node {
	if p.keyword("not") {
		t := p.take()
		return &notNode{x: p.unary(p.deeper(depth, t.pos))}
	}
	return p.primary(depth)
}

func (p *parser) primary(depth int) node {
	if p.tok.kind == tLParen {
		t := p.take()
		x := p.or(p.deeper(depth, t.pos))
		p.expect(tRParen, "')'")
		return x
	}
	first := p.take()
	if first.kind == tIdent && p.tok.kind == tLParen && !isLiteralWord(first.text) {
		return p.call(first, depth)
	}
	left := p.operand(first)
	if p.tok.kind == tSlash && left.prop >= 0 {
		return p.lambda(first, left.prop, depth)
	}
	if o, ok := opFromWord(p.tok.text); ok && p.tok.kind == tIdent {
		opTok := p.take()
		return p.compare(left, opTok, o, p.operand(p.take()))
	}
	if p.keyword("in") {
		p.advance()
		return p.in(left)
	}
	if left.prop >= 0 && p.s.props[left.prop].Kind == Bool {
		return &boolNode{prop: left.prop}
	}
	p.fail(p.tok.pos, "expected an operator such as eq after %s but found %s", first.describe(), p.tok.describe())
	return nil
}

// isLiteralWord reports whether w is true, false or null.
func isLiteralWord(w string) bool {
	return equalFold(w, "true") || equalFold(w, "false") || equalFold(w, "null")
}

// isReserved reports whether w is a keyword, operator or function name of
// the filter language (or of $orderby), in any letter case.
func isReserved(w string) bool {
	switch strings.ToLower(w) {
	case "and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "in", "any", "all",
		"true", "false", "null", "startswith", "endswith", "contains", "asc", "desc":
		return true
	}
	return false
}
