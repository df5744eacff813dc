package kql

import (
	"context"
	"iter"
	"slices"
	"time"

	"github.com/openatp/openatp/kql/syntax"
)

// Bounds is what the where clauses directly after a table's name prove of
// every row they keep. The engine still applies the whole predicate to
// each row, so a table may yield rows outside them, never fewer.
type Bounds struct {
	// From <= Timestamp < To; a zero time does not bound.
	From, To time.Time
	// Equal maps a string column to the values one of which it equals
	// (== or in, as they are); an empty set means no row.
	Equal map[string][]string
}

// IsZero reports whether b bounds nothing.
func (b Bounds) IsZero() bool { return b.From.IsZero() && b.To.IsZero() && b.Equal == nil }

// FilteredTable is a Table that can read only the rows inside Bounds:
// the engine calls RowsWhere rather than Rows when the query bounds them.
type FilteredTable interface {
	Table
	RowsWhere(ctx context.Context, b Bounds) iter.Seq2[[]any, error]
}

// bounds returns the Bounds the leading where operators of ops prove of
// a table of cols; a clause it cannot read bounds nothing.
func (e *env) bounds(cols []Column, ops []*syntax.Operator) Bounds {
	b := Bounds{}
	for i := 0; i < len(ops) && ops[i].Name == "where"; i++ {
		(&scope{cols: cols, env: e}).conjuncts(ops[i].X, &b)
	}
	return b
}

// flipped is a comparison with its sides swapped.
var flipped = map[string]string{">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "=="}

// conjuncts tightens b by each clause of x's top-level and.
func (s *scope) conjuncts(x syntax.Expr, b *Bounds) {
	switch x := x.(type) {
	case *syntax.Binary:
		if x.Op == "and" {
			s.conjuncts(x.L, b)
			s.conjuncts(x.R, b)
			return
		}
		col, v, op := s.column(x.L), s.konst(x.R), x.Op
		if col == "" {
			col, v, op = s.column(x.R), s.konst(x.L), flipped[x.Op]
		}
		if t, ok := v.(time.Time); ok && col == "Timestamp" {
			if op == ">" || op == ">=" || op == "==" {
				b.From = later(b.From, t)
			}
			if op == "<" {
				b.To = earlier(b.To, t)
			} else if op == "<=" || op == "==" {
				b.To = earlier(b.To, t.Add(time.Nanosecond))
			}
		} else if str, ok := v.(string); ok && op == "==" && col != "Timestamp" {
			b.equal(col, []string{str})
		}
	case *syntax.InList:
		col := s.column(x.L)
		if x.Op != "in" || col == "" || col == "Timestamp" {
			return
		}
		set := []string{}
		for _, el := range x.List {
			str, ok := s.konst(el).(string)
			if !ok {
				return
			}
			set = append(set, str)
		}
		b.equal(col, set)
	case *syntax.Between:
		lo, okl := s.konst(x.Lo).(time.Time)
		hi, okh := s.konst(x.Hi).(time.Time)
		if col := s.column(x.X); !x.Neg && okl && okh && col == "Timestamp" {
			b.From, b.To = later(b.From, lo), earlier(b.To, hi.Add(time.Nanosecond))
		}
	}
}

// column returns the name of the column x names ("" for none), as
// "Timestamp" only if it is the datetime column, and others if strings.
func (s *scope) column(x syntax.Expr) string {
	if r, ok := x.(*syntax.Ref); ok && s.col(r.Name) >= 0 {
		if t := s.cols[s.col(r.Name)].Type; t == DateTime && r.Name == "Timestamp" || t == String && r.Name != "Timestamp" {
			return r.Name
		}
	}
	return ""
}

// konst computes x if it depends on no column, else nil; compiling it
// again where its operator is compiled reports any error.
func (s *scope) konst(x syntax.Expr) any {
	if c, err := s.compile(x); err == nil && c.konst {
		return c.eval(nil)
	}
	return nil
}

func later(a, b time.Time) time.Time   { return tighter(a, b, time.Time.After) }
func earlier(a, b time.Time) time.Time { return tighter(a, b, time.Time.Before) }
func tighter(a, b time.Time, tighter func(b, a time.Time) bool) time.Time {
	if a.IsZero() || tighter(b, a) {
		return b
	}
	return a
}

func (b *Bounds) equal(col string, set []string) {
	if b.Equal == nil {
		b.Equal = map[string][]string{}
	}
	if old, ok := b.Equal[col]; ok {
		set = slices.DeleteFunc(set, func(v string) bool { return !slices.Contains(old, v) })
	}
	b.Equal[col] = slices.Compact(set)
}
