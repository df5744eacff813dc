package odata

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// op is a comparison operator.
type op uint8

const (
	opEq op = iota
	opNe
	opGt
	opGe
	opLt
	opLe
)

var opWords = [...]string{opEq: "eq", opNe: "ne", opGt: "gt", opGe: "ge", opLt: "lt", opLe: "le"}

func (o op) String() string { return opWords[o] }

// opFromWord returns the operator a keyword names, in any letter case.
func opFromWord(w string) (op, bool) {
	for i, s := range opWords {
		if equalFold(w, s) {
			return op(i), true
		}
	}
	return 0, false
}

// mirror returns the operator that gives the same result with the operands
// swapped: 'High' lt riskScore is riskScore gt 'High'.
func (o op) mirror() op {
	switch o {
	case opGt:
		return opLt
	case opGe:
		return opLe
	case opLt:
		return opGt
	case opLe:
		return opGe
	}
	return o
}

// holds reports whether the operator holds for a comparison result c
// (negative, zero or positive, as from cmp.Compare).
func (o op) holds(c int) bool {
	switch o {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opGt:
		return c > 0
	case opGe:
		return c >= 0
	case opLt:
		return c < 0
	}
	return c <= 0
}

// value is a literal of a filter. Its kind is 0 for null; an Enum value
// holds the schema's spelling in s and its position among the values in n.
type value struct {
	kind Kind
	s    string
	n    int64
	t    time.Time
	b    bool
}

func (v value) String() string {
	switch v.kind {
	case String, Enum:
		return quote(v.s)
	case Int:
		return strconv.FormatInt(v.n, 10)
	case Time:
		return formatTime(v.t)
	case Bool:
		return strconv.FormatBool(v.b)
	}
	return "null"
}

// The nodes of a parsed filter. A prop of lambdaVar names the variable of
// the enclosing lambda expression (an element of the collection).
type (
	orNode   struct{ terms []node }
	andNode  struct{ terms []node }
	notNode  struct{ x node }
	boolNode struct{ prop int } // a Bool property standing alone
	cmpNode  struct {
		prop int
		op   op
		lit  value
	}
	inNode struct {
		prop int
		lits []value
	}
	funcNode struct {
		fn   string // startswith, endswith or contains
		prop int
		arg  string
	}
	lambdaNode struct {
		prop int
		all  bool
		v    string // the variable; "" with a nil body, as in tags/any()
		body node
	}
)

// lambdaVar is the prop of a lambda expression's variable.
const lambdaVar = -1

// node is a boolean expression of a filter.
type node interface {
	write(p *printer)
}

// printer writes the canonical form of a filter: keywords in lower case,
// properties in the schema's spelling, the property left of its operator,
// literals normalized, parentheses only where needed.
type printer struct {
	strings.Builder
	s *Schema
	v string // the variable of the lambda being written
}

func (p *printer) prop(i int) {
	if i == lambdaVar {
		p.WriteString(p.v)
		return
	}
	p.WriteString(p.s.props[i].Name)
}

func (p *printer) join(terms []node, sep string, paren func(node) bool) {
	for i, t := range terms {
		if i > 0 {
			p.WriteString(sep)
		}
		if paren(t) {
			p.WriteByte('(')
			t.write(p)
			p.WriteByte(')')
		} else {
			t.write(p)
		}
	}
}

func (n *orNode) write(p *printer) {
	p.join(n.terms, " or ", func(node) bool { return false })
}

func (n *andNode) write(p *printer) {
	p.join(n.terms, " and ", isOr)
}

func (n *notNode) write(p *printer) {
	p.WriteString("not ")
	p.join([]node{n.x}, "", func(t node) bool {
		switch t.(type) {
		case *orNode, *andNode, *cmpNode, *inNode:
			return true
		}
		return false
	})
}

func (n *boolNode) write(p *printer) { p.prop(n.prop) }

func (n *cmpNode) write(p *printer) {
	p.prop(n.prop)
	p.WriteString(" " + n.op.String() + " " + n.lit.String())
}

func (n *inNode) write(p *printer) {
	p.prop(n.prop)
	p.WriteString(" in (")
	for i, v := range n.lits {
		if i > 0 {
			p.WriteByte(',')
		}
		p.WriteString(v.String())
	}
	p.WriteByte(')')
}

func (n *funcNode) write(p *printer) {
	p.WriteString(n.fn + "(")
	p.prop(n.prop)
	p.WriteString("," + quote(n.arg) + ")")
}

func (n *lambdaNode) write(p *printer) {
	p.prop(n.prop)
	if n.all {
		p.WriteString("/all(")
	} else {
		p.WriteString("/any(")
	}
	if n.body != nil {
		p.v = n.v
		p.WriteString(n.v + ": ")
		n.body.write(p)
		p.v = ""
	}
	p.WriteByte(')')
}

// equality returns the values, under Fold, that property prop must have
// for n to hold; ok is false when n holds for other values too.
func equality(n node, prop int) (vals []string, ok bool) {
	switch n := n.(type) {
	case *cmpNode:
		if n.prop == prop && n.op == opEq && n.lit.kind != 0 {
			return []string{keyOf(n.lit)}, true
		}
	case *inNode:
		if n.prop != prop {
			return nil, false
		}
		for _, v := range n.lits {
			if v.kind == 0 {
				return nil, false
			}
			vals = append(vals, keyOf(v))
		}
		return vals, true
	case *orNode:
		for _, t := range n.terms {
			tv, ok := equality(t, prop)
			if !ok {
				return nil, false
			}
			vals = append(vals, tv...)
		}
		return vals, true
	case *andNode:
		for _, t := range n.terms {
			if tv, ok := equality(t, prop); ok && (vals == nil || len(tv) < len(vals)) {
				vals = tv
			}
		}
		return vals, vals != nil
	}
	return nil, false
}

// timeRange returns bounds of Time property prop for n to hold (see
// Filter.TimeRange).
func timeRange(n node, prop int) (lo, hi int64, ok bool) {
	switch n := n.(type) {
	case *cmpNode:
		if n.prop != prop || n.lit.kind != Time {
			return 0, 0, false
		}
		t, clamp := nanos(n.lit.t)
		if clamp != 0 {
			return 0, 0, false // beyond every stored time: Match decides
		}
		switch n.op {
		case opEq:
			return t, t, true
		case opGt:
			if t == math.MaxInt64 {
				return 0, 0, false
			}
			return t + 1, math.MaxInt64, true
		case opGe:
			return t, math.MaxInt64, true
		case opLt:
			if t == math.MinInt64 {
				return 0, 0, false
			}
			return math.MinInt64, t - 1, true
		case opLe:
			return math.MinInt64, t, true
		}
	case *andNode:
		lo, hi = math.MinInt64, math.MaxInt64
		for _, t := range n.terms {
			if l, h, tok := timeRange(t, prop); tok {
				lo, hi, ok = max(lo, l), min(hi, h), true
			}
		}
		return lo, hi, ok
	case *orNode:
		lo, hi = math.MaxInt64, math.MinInt64
		for _, t := range n.terms {
			l, h, tok := timeRange(t, prop)
			if !tok {
				return 0, 0, false
			}
			lo, hi = min(lo, l), max(hi, h)
		}
		return lo, hi, len(n.terms) > 0
	}
	return 0, 0, false
}

// keyOf returns the index key of a String, Enum or Int literal.
func keyOf(v value) string {
	if v.kind == Int {
		return strconv.FormatInt(v.n, 10)
	}
	return Fold(v.s)
}

// dedup sorts vals and removes repeats.
func dedup(vals []string) []string {
	slices.Sort(vals)
	return slices.Compact(vals)
}
