package kql

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp/kql/syntax"
	"github.com/openatp/openatp/kql/values"
)

// cx is a compiled scalar expression: its type and how to compute it
// from a row.
type cx struct {
	t     Type
	eval  func(row []any) any
	konst bool // depends on no column: computed once
}

func constant(t Type, v any) cx {
	return cx{t: t, konst: true, eval: func([]any) any { return v }}
}

// scope is what names in an expression resolve to.
type scope struct {
	cols []Column
	env  *env
}

func (s *scope) col(name string) int {
	for i, c := range s.cols {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// fold computes a constant expression once.
func fold(c cx) cx {
	if !c.konst {
		return c
	}
	return constant(c.t, c.eval(nil))
}

func (s *scope) compile(e syntax.Expr) (cx, error) {
	c, err := s.compile1(e)
	if err != nil {
		return c, err
	}
	return fold(c), nil
}

func (s *scope) compile1(e syntax.Expr) (cx, error) {
	switch e := e.(type) {
	case *syntax.Lit:
		return constant(e.T, e.V), nil
	case *syntax.DynLit:
		return constant(Dynamic, e.V), nil
	case *syntax.Ref:
		if i := s.col(e.Name); i >= 0 {
			return cx{t: s.cols[i].Type, eval: func(row []any) any { return row[i] }}, nil
		}
		if v, ok := s.env.scalars[e.Name]; ok {
			return v, nil
		}
		if _, ok := s.env.tabular(e.Name); ok {
			return cx{}, errorf(e.P, "", "%s is a table, not a scalar value", e.Name)
		}
		return cx{}, errorf(e.P, "", "unknown column or scalar %q", e.Name)
	case *syntax.Side:
		return cx{}, errorf(e.P, "", "$left and $right are only allowed in join's on clause")
	case *syntax.Star:
		return cx{}, errorf(e.P, "", "unexpected *")
	case *syntax.Unary:
		x, err := s.compile(e.X)
		if err != nil {
			return x, err
		}
		switch x.t {
		case Long, Int, Real, TimeSpan, Dynamic:
		default:
			return cx{}, errorf(e.P, "", "cannot negate a %s", x.t)
		}
		return cx{t: x.t, konst: x.konst, eval: func(row []any) any { return negate(x.eval(row)) }}, nil
	case *syntax.Binary:
		return s.binary(e)
	case *syntax.InList:
		return s.inList(e)
	case *syntax.Between:
		x, err := s.compile(e.X)
		if err != nil {
			return x, err
		}
		lo, err := s.compile(e.Lo)
		if err != nil {
			return lo, err
		}
		hi, err := s.compile(e.Hi)
		if err != nil {
			return hi, err
		}
		if !comparable(x.t, lo.t) || !comparable(x.t, hi.t) {
			return cx{}, errorf(e.P, "", "between compares a %s with %s and %s", x.t, lo.t, hi.t)
		}
		neg := e.Neg
		return cx{t: Bool, konst: x.konst && lo.konst && hi.konst, eval: func(row []any) any {
			v, a, b := x.eval(row), lo.eval(row), hi.eval(row)
			if v == nil || a == nil || b == nil {
				return nil
			}
			in := values.Compare(v, a) >= 0 && values.Compare(v, b) <= 0
			return in != neg
		}}, nil
	case *syntax.Member:
		x, err := s.compile(e.X)
		if err != nil {
			return x, err
		}
		if x.t != Dynamic {
			return cx{}, errorf(e.P, "", "property %s of a %s: only dynamic values have properties", e.Name, x.t)
		}
		name := e.Name
		return cx{t: Dynamic, konst: x.konst, eval: func(row []any) any {
			m, _ := x.eval(row).(map[string]any)
			return m[name]
		}}, nil
	case *syntax.Index:
		x, err := s.compile(e.X)
		if err != nil {
			return x, err
		}
		i, err := s.compile(e.Key)
		if err != nil {
			return i, err
		}
		if x.t != Dynamic {
			return cx{}, errorf(e.P, "", "indexing a %s: only dynamic values have elements", x.t)
		}
		return cx{t: Dynamic, konst: x.konst && i.konst, eval: func(row []any) any {
			switch v := x.eval(row).(type) {
			case []any:
				n, ok := values.ToInt(i.eval(row))
				if !ok {
					return nil
				}
				if n < 0 {
					n += int64(len(v))
				}
				if n < 0 || n >= int64(len(v)) {
					return nil
				}
				return v[n]
			case map[string]any:
				k, ok := i.eval(row).(string)
				if !ok {
					return nil
				}
				return v[k]
			}
			return nil
		}}, nil
	case *syntax.Call:
		return s.call(e)
	}
	return cx{}, errorf(e.Pos(), "", "unexpected expression")
}

// comparable reports whether values of two types may be compared.
func comparable(a, b Type) bool {
	switch {
	case a == Dynamic || b == Dynamic:
		return true
	case values.IsNumeric(a) && values.IsNumeric(b):
		return true
	case (a == String || a == Guid) && (b == String || b == Guid):
		return true
	}
	return a == b
}

func negate(v any) any {
	switch x := v.(type) {
	case int64:
		return -x
	case int32:
		return -x
	case float64:
		return -x
	case time.Duration:
		return -x
	}
	return nil
}

func truth(v any) (bool, bool) {
	b, ok := v.(bool)
	return b, ok
}

func (s *scope) binary(e *syntax.Binary) (cx, error) {
	l, err := s.compile(e.L)
	if err != nil {
		return l, err
	}
	r, err := s.compile(e.R)
	if err != nil {
		return r, err
	}
	k := l.konst && r.konst
	le, re := l.eval, r.eval
	switch e.Op {
	case "and", "or":
		if l.t != Bool && l.t != Dynamic || r.t != Bool && r.t != Dynamic {
			return cx{}, errorf(e.P, "", "%s needs bool operands, not %s and %s", e.Op, l.t, r.t)
		}
		and := e.Op == "and"
		return cx{t: Bool, konst: k, eval: func(row []any) any {
			a, aok := truth(le(row))
			if aok && a != and { // false and x, true or x
				return a
			}
			b, bok := truth(re(row))
			if bok && b != and {
				return b
			}
			if !aok || !bok {
				return nil
			}
			return and
		}}, nil
	case "==", "!=", "<", "<=", ">", ">=":
		if !comparable(l.t, r.t) {
			return cx{}, errorf(e.P, "", "cannot compare a %s with a %s using %s", l.t, r.t, e.Op)
		}
		op := e.Op
		dyn := l.t == Dynamic || r.t == Dynamic
		return cx{t: Bool, konst: k, eval: func(row []any) any {
			a, b := le(row), re(row)
			if a == nil || b == nil {
				return nil
			}
			if dyn {
				a, b = dynCoerce(a, b)
			}
			switch op {
			case "==":
				return values.Equal(a, b)
			case "!=":
				return !values.Equal(a, b)
			}
			if values.TypeRank(a) != values.TypeRank(b) {
				return nil
			}
			c := values.Compare(a, b)
			switch op {
			case "<":
				return c < 0
			case "<=":
				return c <= 0
			case ">":
				return c > 0
			}
			return c >= 0
		}}, nil
	case "=~", "!~", "has", "!has", "contains", "!contains", "startswith", "!startswith", "endswith", "!endswith":
		neg := strings.HasPrefix(e.Op, "!")
		var f func(a, b string) bool
		switch strings.TrimPrefix(e.Op, "!") {
		case "=~", "~":
			f = strings.EqualFold
		case "has":
			f = values.HasTerm
		case "contains":
			f = func(a, b string) bool { return values.IndexFold(a, b) >= 0 }
		case "startswith":
			f = func(a, b string) bool {
				return len(a) >= len(b) && strings.EqualFold(a[:len(b)], b) || values.HasPrefixFold(a, b)
			}
		case "endswith":
			f = func(a, b string) bool {
				return len(a) >= len(b) && strings.EqualFold(a[len(a)-len(b):], b) || values.HasSuffixFold(a, b)
			}
		}
		return cx{t: Bool, konst: k, eval: func(row []any) any {
			return f(values.ToString(le(row)), values.ToString(re(row))) != neg
		}}, nil
	case "+", "-", "*", "/", "%":
		t, err := arithType(e, l.t, r.t)
		if err != nil {
			return cx{}, err
		}
		op := e.Op[0]
		return cx{t: t, konst: k, eval: func(row []any) any {
			return arith(op, t, le(row), re(row))
		}}, nil
	}
	return cx{}, unsupported(e.P, "operator", e.Op)
}

// dynCoerce makes a dynamic value comparable with a typed one: a dynamic
// string compared with a datetime or a number is read as one.
func dynCoerce(a, b any) (any, any) {
	conv := func(x, other any) any {
		s, ok := x.(string)
		if !ok {
			return x
		}
		switch other.(type) {
		case time.Time:
			if t, ok := syntax.ParseTime(s); ok {
				return t
			}
		case int64, int32, float64:
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				return f
			}
		}
		return x
	}
	return conv(a, b), conv(b, a)
}

// arithType is the type of an arithmetic operation, or an error.
func arithType(e *syntax.Binary, a, b Type) (Type, error) {
	switch {
	case a == Dynamic || b == Dynamic:
		return Dynamic, nil
	case values.IsNumeric(a) && values.IsNumeric(b):
		switch {
		case a == Real || b == Real:
			return Real, nil
		case a == Long || b == Long:
			return Long, nil
		}
		return Int, nil
	}
	switch e.Op {
	case "+":
		switch {
		case a == DateTime && b == TimeSpan, a == TimeSpan && b == DateTime:
			return DateTime, nil
		case a == TimeSpan && b == TimeSpan:
			return TimeSpan, nil
		}
	case "-":
		switch {
		case a == DateTime && b == TimeSpan:
			return DateTime, nil
		case a == DateTime && b == DateTime, a == TimeSpan && b == TimeSpan:
			return TimeSpan, nil
		}
	case "*":
		if a == TimeSpan && values.IsNumeric(b) || values.IsNumeric(a) && b == TimeSpan {
			return TimeSpan, nil
		}
	case "/":
		switch {
		case a == TimeSpan && values.IsNumeric(b):
			return TimeSpan, nil
		case a == TimeSpan && b == TimeSpan:
			return Real, nil
		}
	}
	return 0, errorf(e.P, "", "operator %s cannot apply to a %s and a %s", e.Op, a, b)
}

// arith computes a op b for a result of type t; null in, null out.
func arith(op byte, t Type, a, b any) any {
	if a == nil || b == nil {
		return nil
	}
	if x, ok := a.(time.Duration); ok && t == Real { // timespan / timespan
		y, _ := b.(time.Duration)
		if y == 0 {
			return nil
		}
		return float64(x) / float64(y)
	}
	if t == Dynamic {
		switch {
		case isInt(a) && isInt(b):
			t = Long
		default:
			_, fa := values.ToFloat(a)
			_, fb := values.ToFloat(b)
			if !fa || !fb {
				return nil
			}
			t = Real
		}
	}
	switch t {
	case Long, Int:
		x, _ := values.ToInt(a)
		y, _ := values.ToInt(b)
		var z int64
		switch op {
		case '+':
			z = x + y
		case '-':
			z = x - y
		case '*':
			z = x * y
		case '/', '%':
			if y == 0 {
				return nil
			}
			if op == '/' {
				z = x / y
			} else {
				z = x % y
			}
		}
		if t == Int {
			return int32(z)
		}
		return z
	case Real:
		x, _ := values.ToFloat(a)
		y, _ := values.ToFloat(b)
		switch op {
		case '+':
			return x + y
		case '-':
			return x - y
		case '*':
			return x * y
		case '/':
			return x / y
		}
		return math.Mod(x, y)
	case DateTime:
		switch x := a.(type) {
		case time.Time:
			d := b.(time.Duration)
			if op == '-' {
				d = -d
			}
			return x.Add(d)
		case time.Duration:
			return b.(time.Time).Add(x)
		}
	case TimeSpan:
		switch x := a.(type) {
		case time.Time:
			return x.Sub(b.(time.Time))
		case time.Duration:
			switch y := b.(type) {
			case time.Duration:
				if op == '+' {
					return x + y
				}
				return x - y
			default:
				f, _ := values.ToFloat(y)
				if op == '/' {
					if f == 0 {
						return nil
					}
					return time.Duration(float64(x) / f)
				}
				return time.Duration(float64(x) * f)
			}
		default:
			f, _ := values.ToFloat(x)
			return time.Duration(f * float64(b.(time.Duration)))
		}
	}
	return nil
}

func isInt(v any) bool {
	switch v.(type) {
	case int64, int32:
		return true
	}
	return false
}

func (s *scope) inList(e *syntax.InList) (cx, error) {
	l, err := s.compile(e.L)
	if err != nil {
		return l, err
	}
	var items []cx
	for _, x := range e.List {
		if r, ok := x.(*syntax.Ref); ok && s.col(r.Name) < 0 {
			if tl, ok := s.env.tabular(r.Name); ok {
				vals, err := s.env.column(tl, r.P)
				if err != nil {
					return cx{}, err
				}
				items = append(items, constant(Dynamic, vals))
				continue
			}
		}
		c, err := s.compile(x)
		if err != nil {
			return c, err
		}
		if e.Op != "has_any" && !comparable(l.t, c.t) {
			return cx{}, errorf(x.Pos(), "", "%s compares a %s with a %s", e.Op, l.t, c.t)
		}
		items = append(items, c)
	}
	op := e.Op
	neg := strings.HasPrefix(op, "!")
	fold := strings.HasSuffix(op, "~")
	le := l.eval
	var konst = l.konst
	for _, c := range items {
		konst = konst && c.konst
	}
	match := func(v, w any) bool {
		if op == "has_any" {
			return values.HasTerm(values.ToString(v), values.ToString(w))
		}
		if w == nil {
			return false
		}
		if fold {
			return strings.EqualFold(values.ToString(v), values.ToString(w))
		}
		if l.t == Dynamic {
			v, w = dynCoerce(v, w)
		}
		return values.Equal(v, w)
	}
	return cx{t: Bool, konst: konst, eval: func(row []any) any {
		v := le(row)
		if v == nil && op != "has_any" {
			return nil
		}
		found := false
	search:
		for _, c := range items {
			w := c.eval(row)
			if arr, ok := w.([]any); ok && (c.t == Dynamic) {
				for _, x := range arr {
					if match(v, x) {
						found = true
						break search
					}
				}
				continue
			}
			if match(v, w) {
				found = true
				break
			}
		}
		return found != neg
	}}, nil
}
