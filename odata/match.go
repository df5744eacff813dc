package odata

// Entity gives a filter the property values of one entity. prop is the
// property's index in the Schema; ok false means the value is null. Each
// method is called only for properties of its kind (String also for Enum).
// Implement it on a pointer type so that Match does not allocate.
type Entity interface {
	String(prop int) (v string, ok bool)
	Int(prop int) (v int64, ok bool)
	Time(prop int) (unixNanos int64, ok bool)
	Bool(prop int) (v bool, ok bool)
	Strings(prop int) []string
}

// Match reports whether the filter holds for e. A nil filter holds for
// every entity.
func (f *Filter) Match(e Entity) bool {
	return f == nil || f.m.match(e, "")
}

// matcher is a compiled node. cur is the element of the collection that
// the enclosing lambda expression is at.
type matcher interface {
	match(e Entity, cur string) bool
}

type (
	orM    []matcher
	andM   []matcher
	notM   struct{ m matcher }
	constM bool
	nullM  struct { // prop eq null; prop ne null when !null
		prop int
		kind Kind
		null bool
	}
	boolM struct{ prop int } // a Bool property standing alone
	strM  struct{ c cmpNode }
	enumM struct {
		c      cmpNode
		values []string // the enum's values, in order
	}
	intM  struct{ c cmpNode }
	timeM struct {
		c     cmpNode
		ns    int64
		clamp int8 // the literal lies before (-1) or after (1) all int64 nanoseconds
	}
	boolCmpM struct{ c cmpNode }
	funcM    struct{ f funcNode }
	lambdaM  struct {
		prop int
		all  bool
		body matcher // nil: any() holds for a non-empty collection
	}
)

// compile turns a node into its matcher.
func compile(s *Schema, n node) matcher {
	switch n := n.(type) {
	case *orNode:
		m := make(orM, len(n.terms))
		for i, t := range n.terms {
			m[i] = compile(s, t)
		}
		return m
	case *andNode:
		m := make(andM, len(n.terms))
		for i, t := range n.terms {
			m[i] = compile(s, t)
		}
		return m
	case *notNode:
		return notM{compile(s, n.x)}
	case *boolNode:
		return boolM{n.prop}
	case *funcNode:
		return funcM{*n}
	case *lambdaNode:
		m := lambdaM{prop: n.prop, all: n.all}
		if n.body != nil {
			m.body = compile(s, n.body)
		}
		return m
	case *inNode:
		m := make(orM, len(n.lits))
		for i, v := range n.lits {
			m[i] = compile(s, &cmpNode{prop: n.prop, op: opEq, lit: v})
		}
		return m
	case *cmpNode:
		return compileCmp(s, n)
	}
	panic("odata: unknown node")
}

func compileCmp(s *Schema, n *cmpNode) matcher {
	if n.lit.kind == 0 {
		switch {
		case n.op != opEq && n.op != opNe:
			return constM(false) // ordering with null is false
		case n.prop == lambdaVar:
			return constM(n.op == opNe) // elements are never null
		}
		return nullM{prop: n.prop, kind: s.props[n.prop].Kind, null: n.op == opEq}
	}
	switch n.lit.kind {
	case String:
		return strM{*n}
	case Enum:
		return enumM{c: *n, values: s.props[n.prop].Values}
	case Int:
		return intM{*n}
	case Time:
		ns, clamp := nanos(n.lit.t)
		return timeM{c: *n, ns: ns, clamp: clamp}
	}
	return boolCmpM{*n}
}

func (m orM) match(e Entity, cur string) bool {
	for _, t := range m {
		if t.match(e, cur) {
			return true
		}
	}
	return false
}

func (m andM) match(e Entity, cur string) bool {
	for _, t := range m {
		if !t.match(e, cur) {
			return false
		}
	}
	return true
}

func (m notM) match(e Entity, cur string) bool { return !m.m.match(e, cur) }

func (m constM) match(Entity, string) bool { return bool(m) }

func (m nullM) match(e Entity, _ string) bool {
	var ok bool
	switch m.kind {
	case String, Enum:
		_, ok = e.String(m.prop)
	case Int:
		_, ok = e.Int(m.prop)
	case Time:
		_, ok = e.Time(m.prop)
	case Bool:
		_, ok = e.Bool(m.prop)
	}
	return ok != m.null
}

func (m boolM) match(e Entity, _ string) bool {
	v, ok := e.Bool(m.prop)
	return ok && v
}

// str returns the string prop names: the lambda's element or a property.
func str(e Entity, prop int, cur string) (string, bool) {
	if prop == lambdaVar {
		return cur, true
	}
	return e.String(prop)
}

// A null value compares unequal to every literal and fails every ordering.

func (m strM) match(e Entity, cur string) bool {
	v, ok := str(e, m.c.prop, cur)
	if !ok {
		return m.c.op == opNe
	}
	if m.c.op <= opNe { // fast path: no ordering needed
		return equalFold(v, m.c.lit.s) == (m.c.op == opEq)
	}
	return m.c.op.holds(compareFold(v, m.c.lit.s))
}

func (m enumM) match(e Entity, _ string) bool {
	v, ok := e.String(m.c.prop)
	if !ok {
		return m.c.op == opNe
	}
	i := enumIndex(m.values, v)
	if i < 0 { // not a value of the enum
		return m.c.op == opNe
	}
	return m.c.op.holds(cmpInt(int64(i), m.c.lit.n))
}

func (m intM) match(e Entity, _ string) bool {
	v, ok := e.Int(m.c.prop)
	if !ok {
		return m.c.op == opNe
	}
	return m.c.op.holds(cmpInt(v, m.c.lit.n))
}

func (m timeM) match(e Entity, _ string) bool {
	v, ok := e.Time(m.c.prop)
	if !ok {
		return m.c.op == opNe
	}
	if m.clamp != 0 {
		return m.c.op.holds(-int(m.clamp))
	}
	return m.c.op.holds(cmpInt(v, m.ns))
}

func (m boolCmpM) match(e Entity, _ string) bool {
	v, ok := e.Bool(m.c.prop)
	if !ok {
		return m.c.op == opNe
	}
	return (v == m.c.lit.b) == (m.c.op == opEq)
}

func (m funcM) match(e Entity, cur string) bool {
	v, ok := str(e, m.f.prop, cur)
	if !ok || len(v) < len(m.f.arg) {
		return false
	}
	switch m.f.fn {
	case "startswith":
		return equalFold(v[:len(m.f.arg)], m.f.arg)
	case "endswith":
		return equalFold(v[len(v)-len(m.f.arg):], m.f.arg)
	}
	return containsFold(v, m.f.arg)
}

// containsFold reports whether sub occurs in s under ASCII case folding.
func containsFold(s, sub string) bool {
	if sub == "" {
		return true
	}
	for i := 0; i+len(sub) <= len(s); i++ {
		if lower(s[i]) == lower(sub[0]) && equalFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

func (m lambdaM) match(e Entity, _ string) bool {
	elems := e.Strings(m.prop)
	if m.body == nil {
		return len(elems) > 0
	}
	for _, x := range elems {
		if m.body.match(e, x) != m.all {
			return !m.all
		}
	}
	return m.all
}
