package odata

import (
	"slices"
)

// OrderKey is one key of $orderby: a property index and its direction.
type OrderKey struct {
	Prop int
	Desc bool
}

// ParseOrderBy parses "prop [asc|desc], ..." over the Orderable properties
// of s. A property may appear once. Its errors are *Error values with
// Option "$orderby".
func ParseOrderBy(s *Schema, orderby string) ([]OrderKey, error) {
	var keys []OrderKey
	err := run(s, "$orderby", orderby, func(p *parser) {
		for {
			t := p.take()
			i := p.property(t, "orderable", func(p Property) bool { return p.Orderable })
			if slices.ContainsFunc(keys, func(k OrderKey) bool { return k.Prop == i }) {
				p.fail(t.pos, "property '%s' is listed twice", s.props[i].Name)
			}
			k := OrderKey{Prop: i}
			if p.tok.kind == tIdent {
				d := p.take()
				switch {
				case equalFold(d.text, "desc"):
					k.Desc = true
				case !equalFold(d.text, "asc"):
					p.fail(d.pos, "expected 'asc' or 'desc' but found %s", d.describe())
				}
			}
			keys = append(keys, k)
			if p.tok.kind != tComma {
				return
			}
			p.advance()
		}
	})
	if err != nil {
		return nil, err
	}
	return keys, nil
}

// ParseSelect parses "prop, ..." over the Selectable properties of s and
// returns their indexes in the order named, without repeats. A "*" names
// every Selectable property. Its errors are *Error values with Option
// "$select".
func ParseSelect(s *Schema, sel string) ([]int, error) {
	var props []int
	add := func(i int) {
		if !slices.Contains(props, i) {
			props = append(props, i)
		}
	}
	err := run(s, "$select", sel, func(p *parser) {
		for {
			if t := p.take(); t.kind == tStar {
				for i := range s.props {
					if s.props[i].Selectable {
						add(i)
					}
				}
			} else {
				add(p.property(t, "selectable", func(p Property) bool { return p.Selectable }))
			}
			if p.tok.kind != tComma {
				return
			}
			p.advance()
		}
	})
	if err != nil {
		return nil, err
	}
	return props, nil
}

// property returns the index of the property t names, failing unless
// allowed says it may be used here (where names how).
func (p *parser) property(t token, where string, allowed func(Property) bool) int {
	if t.kind != tIdent || isReserved(t.text) {
		p.fail(t.pos, "expected a property but found %s", t.describe())
	}
	i, ok := p.s.Lookup(t.text)
	if !ok {
		p.fail(t.pos, "unknown property '%s'", t.text)
	}
	if !allowed(p.s.props[i]) {
		p.fail(t.pos, "property '%s' is not %s", p.s.props[i].Name, where)
	}
	return i
}

// Compare compares entities a and b by keys, as $orderby sorts: it returns
// a negative number when a sorts first, a positive one when b does, else 0.
// Null sorts before every value (after, under desc); strings compare under
// ASCII case folding, an enum by the order of its Values (a value that is
// not one of them sorts before them), false before true. Use it with
// slices.SortStableFunc.
func (s *Schema) Compare(keys []OrderKey, a, b Entity) int {
	for _, k := range keys {
		c := s.compare(k.Prop, a, b)
		if k.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// compare compares property i of a and b, ascending.
func (s *Schema) compare(i int, a, b Entity) int {
	switch p := &s.props[i]; p.Kind {
	case String:
		x, okx := a.String(i)
		y, oky := b.String(i)
		return nullsFirst(okx, oky, func() int { return compareFold(x, y) })
	case Enum:
		x, okx := a.String(i)
		y, oky := b.String(i)
		return nullsFirst(okx, oky, func() int { return cmpInt(enumIndex(p.Values, x), enumIndex(p.Values, y)) })
	case Int:
		x, okx := a.Int(i)
		y, oky := b.Int(i)
		return nullsFirst(okx, oky, func() int { return cmpInt(x, y) })
	case Time:
		x, okx := a.Time(i)
		y, oky := b.Time(i)
		return nullsFirst(okx, oky, func() int { return cmpInt(x, y) })
	case Bool:
		x, okx := a.Bool(i)
		y, oky := b.Bool(i)
		return nullsFirst(okx, oky, func() int { return cmpInt(b2i(x), b2i(y)) })
	}
	return 0
}

// nullsFirst orders a null before a value and compares two values with c.
func nullsFirst(okx, oky bool, c func() int) int {
	switch {
	case okx && oky:
		return c()
	case okx:
		return 1
	case oky:
		return -1
	}
	return 0
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
