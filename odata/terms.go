package odata

import (
	"strings"
)

// operand is one side of a comparison: a property, the lambda variable
// (prop == lambdaVar) or a literal (prop == isLiteral).
type operand struct {
	tok  token
	prop int
	lit  value
}

const isLiteral = -2

// operand turns t into an operand.
func (p *parser) operand(t token) operand {
	o := operand{tok: t, prop: isLiteral}
	switch t.kind {
	case tString:
		o.lit = value{kind: String, s: t.text}
		return o
	case tInt:
		o.lit = value{kind: Int, n: t.num}
		return o
	case tTime:
		o.lit = value{kind: Time, t: t.time}
		return o
	case tIdent:
		switch {
		case equalFold(t.text, "null"):
			return o
		case equalFold(t.text, "true"), equalFold(t.text, "false"):
			o.lit = value{kind: Bool, b: equalFold(t.text, "true")}
			return o
		case p.v != "" && equalFold(t.text, p.v): // it hides a property of its name
			o.prop = lambdaVar
			return o
		case isReserved(t.text):
			break
		default:
			i, ok := p.s.Lookup(t.text)
			if !ok {
				p.fail(t.pos, "unknown property '%s'", t.text)
			}
			if !p.s.props[i].Filterable {
				p.fail(t.pos, "property '%s' is not filterable", p.s.props[i].Name)
			}
			o.prop = i
			return o
		}
	}
	p.fail(t.pos, "expected a property or a value but found %s", t.describe())
	return o
}

// name returns how messages call the property of o.
func (p *parser) name(o operand) string {
	if o.prop == lambdaVar {
		return p.v
	}
	return p.s.props[o.prop].Name
}

// kind returns the kind of the property of o; the lambda variable is a
// String.
func (p *parser) kind(o operand) Kind {
	if o.prop == lambdaVar {
		return String
	}
	return p.s.props[o.prop].Kind
}

// subject checks that o can be compared with a value: a property that is
// not a collection, or the lambda variable.
func (p *parser) subject(o operand) {
	if o.prop == isLiteral {
		p.fail(o.tok.pos, "a comparison needs a property on one side")
	}
	if p.kind(o) == StringCollection {
		n := p.name(o)
		p.fail(o.tok.pos, "%s is a collection: use %s/any(x: x eq '...')", n, n)
	}
}

// literal checks that lit can be compared with the property of subject
// and returns it as the property's kind.
func (p *parser) literal(subject, lit operand) value {
	if lit.prop != isLiteral {
		p.fail(lit.tok.pos, "comparing two properties is not supported")
	}
	v, k := lit.lit, p.kind(subject)
	if v.kind == 0 {
		return v
	}
	if k == Enum && v.kind == String {
		prop := &p.s.props[subject.prop]
		i := enumIndex(prop.Values, v.s)
		if i < 0 {
			p.fail(lit.tok.pos, "%s is not a value of %s: expected one of %s",
				quote(v.s), prop.Name, strings.Join(prop.Values, ", "))
		}
		return value{kind: Enum, s: prop.Values[i], n: int64(i)}
	}
	if k != v.kind {
		p.fail(lit.tok.pos, "type mismatch: %s takes %s, not %s", p.name(subject), k.article(), v.kind.article())
	}
	return v
}

// compare builds left op right.
func (p *parser) compare(left operand, opTok token, o op, right operand) node {
	if left.prop == isLiteral && right.prop != isLiteral {
		left, right, o = right, left, o.mirror()
	}
	p.subject(left)
	lit := p.literal(left, right)
	if p.kind(left) == Bool && o != opEq && o != opNe && lit.kind != 0 {
		p.fail(opTok.pos, "operator %s is not defined for boolean %s", o, p.name(left))
	}
	return &cmpNode{prop: left.prop, op: o, lit: lit}
}

// in reads the list of "left in (...)" or "left in [...]"; p.tok is its
// opening parenthesis or bracket.
func (p *parser) in(left operand) node {
	p.subject(left)
	closing, what := tRParen, "',' or ')'"
	if p.tok.kind == tLBracket {
		closing, what = tRBracket, "',' or ']'"
		p.advance()
	} else {
		p.expect(tLParen, "'(' or '['")
	}
	n := &inNode{prop: left.prop}
	for {
		t := p.take()
		if t.kind == tIdent && !isLiteralWord(t.text) || t.kind == tEOF || t.kind > tTime {
			p.fail(t.pos, "expected a value but found %s", t.describe())
		}
		n.lits = append(n.lits, p.literal(left, p.operand(t)))
		if p.tok.kind != tComma {
			break
		}
		p.advance()
	}
	p.expect(closing, what)
	return n
}

// call reads a function call; p.tok is its opening parenthesis.
func (p *parser) call(fn token, depth int) node {
	name := strings.ToLower(fn.text)
	if name != "startswith" && name != "endswith" && name != "contains" {
		p.fail(fn.pos, "unknown function '%s'", fn.text)
	}
	p.deeper(depth, fn.pos)
	p.advance()
	arg := p.operand(p.take())
	if arg.prop == isLiteral || p.kind(arg) != String {
		p.fail(arg.tok.pos, "%s needs a string property as its first argument", name)
	}
	p.expect(tComma, "','")
	s := p.take()
	if s.kind != tString {
		p.fail(s.pos, "%s needs a string literal as its second argument", name)
	}
	p.expect(tRParen, "')'")
	return &funcNode{fn: name, prop: arg.prop, arg: s.text}
}

// lambda reads "/any(v: body)", "/all(v: body)" or "/any()" after the
// property prop; p.tok is the slash.
func (p *parser) lambda(propTok token, prop int, depth int) node {
	if p.s.props[prop].Kind != StringCollection {
		p.fail(p.tok.pos, "%s is not a collection", p.s.props[prop].Name)
	}
	p.advance()
	fn := p.take()
	all := fn.kind == tIdent && equalFold(fn.text, "all")
	if !all && (fn.kind != tIdent || !equalFold(fn.text, "any")) {
		p.fail(fn.pos, "expected any or all after '/' but found %s", fn.describe())
	}
	if p.v != "" {
		p.fail(propTok.pos, "nested lambda expressions are not supported")
	}
	depth = p.deeper(depth, fn.pos)
	p.expect(tLParen, "'('")
	n := &lambdaNode{prop: prop, all: all}
	if p.tok.kind == tRParen && !all {
		p.advance()
		return n
	}
	v := p.take()
	if v.kind != tIdent || isReserved(v.text) {
		p.fail(v.pos, "expected a variable name but found %s", v.describe())
	}
	p.expect(tColon, "':'")
	n.v, p.v = v.text, v.text
	n.body = p.or(depth)
	p.v = ""
	p.expect(tRParen, "')'")
	return n
}
