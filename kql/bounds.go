package kql

import (
	"context"
	"iter"
	"slices"
	"time"

	"github.com/openatp/openatp/kql/syntax"
)

// Bounds is what the where clauses that directly follow a table's name
// prove of every row they keep, for a FilteredTable to read fewer rows.
// The engine still applies the whole predicate to each row read, so a
// table may ignore any part of Bounds (yield more rows) but must not yield
// fewer than the rows inside them.
type Bounds struct {
	// From and To bound the Timestamp column: From <= Timestamp < To; a
	// zero time does not bound.
	From, To time.Time
	// Equal maps a string column to the values one of which it equals
	// (== or in, compared as they are); a column absent from it is not
	// bounded, an empty set means no row.
	Equal map[string][]string
}

// IsZero reports whether b bounds nothing.
func (b Bounds) IsZero() bool { return b.From.IsZero() && b.To.IsZero() && b.Equal == nil }

// FilteredTable is a Table that can read only the rows inside Bounds.
// The engine calls RowsWhere instead of Rows when the leading where
// clauses bound the rows; a row outside the bounds it yields is filtered
// out as Rows' would be.
type FilteredTable interface {
	Table
	RowsWhere(ctx context.Context, b Bounds) iter.Seq2[[]any, error]
}

// timestampColumn is the column Bounds' From and To bound.
const timestampColumn = "Timestamp"

// bounds computes the Bounds the leading where clauses of ops prove of
// the rows of a table of cols. A clause it cannot read bounds nothing.
func (e *env) bounds(cols []Column, ops []*syntax.Operator) Bounds {
	sc := &scope{cols: cols, env: e}
	var b Bounds
	for _, op := range ops {
		if op.Name != "where" {
			break
		}
		sc.conjuncts(op.X, &b)
	}
	return b
}

// conjuncts tightens b by each clause of x's top-level and.
func (s *scope) conjuncts(x syntax.Expr, b *Bounds) {
	switch x := x.(type) {
	case *syntax.Binary:
		if x.Op == "and" {
			s.conjuncts(x.L, b)
			s.conjuncts(x.R, b)
			return
		}
		col, v, op, ok := s.comparison(x)
		if !ok {
			return
		}
		switch v := v.(type) {
		case time.Time:
			if col != timestampColumn {
				return
			}
			switch op {
			case ">", ">=":
				b.after(v)
			case "<":
				b.before(v)
			case "<=":
				b.before(v.Add(time.Nanosecond))
			case "==":
				b.after(v)
				b.before(v.Add(time.Nanosecond))
			}
		case string:
			if op == "==" {
				b.equal(col, []string{v})
			}
		}
	case *syntax.InList:
		if x.Op != "in" {
			return
		}
		col, ok := s.stringColumn(x.L)
		if !ok {
			return
		}
		set := make([]string, 0, len(x.List))
		for _, el := range x.List {
			v, ok := s.konst(el)
			str, isStr := v.(string)
			if !ok || !isStr {
				return
			}
			set = append(set, str)
		}
		b.equal(col, set)
	case *syntax.Between:
		r, ok := x.X.(*syntax.Ref)
		if x.Neg || !ok || r.Name != timestampColumn || s.colType(r.Name) != DateTime {
			return
		}
		lo, ok1 := s.konst(x.Lo)
		hi, ok2 := s.konst(x.Hi)
		l, okl := lo.(time.Time)
		h, okh := hi.(time.Time)
		if ok1 && ok2 && okl && okh {
			b.after(l)
			b.before(h.Add(time.Nanosecond))
		}
	}
}

// comparison reads column op constant (or constant op column, turned
// around) of a Binary comparing a column of the table.
func (s *scope) comparison(x *syntax.Binary) (string, any, string, bool) {
	flip := map[string]string{">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "=="}
	if _, ok := flip[x.Op]; !ok {
		return "", nil, "", false
	}
	if r, ok := x.L.(*syntax.Ref); ok && s.col(r.Name) >= 0 {
		v, ok := s.konst(x.R)
		return r.Name, v, x.Op, ok && s.fits(r.Name, v)
	}
	if r, ok := x.R.(*syntax.Ref); ok && s.col(r.Name) >= 0 {
		v, ok := s.konst(x.L)
		return r.Name, v, flip[x.Op], ok && s.fits(r.Name, v)
	}
	return "", nil, "", false
}

// fits reports whether v is of the Go type of column name's values, so
// that comparing them compares like with like.
func (s *scope) fits(name string, v any) bool {
	switch v.(type) {
	case time.Time:
		return s.colType(name) == DateTime
	case string:
		return s.colType(name) == String
	}
	return false
}

func (s *scope) colType(name string) Type {
	if i := s.col(name); i >= 0 {
		return s.cols[i].Type
	}
	return 0
}

// stringColumn reads a reference to a string column of the table.
func (s *scope) stringColumn(x syntax.Expr) (string, bool) {
	r, ok := x.(*syntax.Ref)
	if !ok || s.colType(r.Name) != String {
		return "", false
	}
	return r.Name, true
}

// konst computes x if it depends on no column; compiling it again where
// the operator is compiled reports any error.
func (s *scope) konst(x syntax.Expr) (any, bool) {
	c, err := s.compile(x)
	if err != nil || !c.konst {
		return nil, false
	}
	v := c.eval(nil)
	return v, v != nil
}

func (b *Bounds) after(t time.Time) {
	if b.From.IsZero() || t.After(b.From) {
		b.From = t
	}
}

func (b *Bounds) before(t time.Time) {
	if b.To.IsZero() || t.Before(b.To) {
		b.To = t
	}
}

func (b *Bounds) equal(col string, set []string) {
	if b.Equal == nil {
		b.Equal = map[string][]string{}
	}
	old, ok := b.Equal[col]
	if !ok {
		b.Equal[col] = set
		return
	}
	both := []string{}
	for _, v := range set {
		if slices.Contains(old, v) && !slices.Contains(both, v) {
			both = append(both, v)
		}
	}
	b.Equal[col] = both
}
