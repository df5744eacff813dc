package kql

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openatp/openatp/kql/syntax"
	"github.com/openatp/openatp/kql/values"
)

// function is a scalar function of the subset: its arity and how it
// compiles given its compiled arguments.
type function struct {
	min, max int // max -1: any number
	build    func(s *scope, p Pos, args []cx) (cx, error)
}

// ticksAt0001 is the number of 100 ns ticks from 0001-01-01 to the Unix
// epoch: bin on datetimes counts from 0001-01-01, as .NET does.
const ticksAt0001 = 621355968000000000

var functions map[string]function

func init() {
	functions = map[string]function{
		"ago": {1, 1, func(s *scope, p Pos, a []cx) (cx, error) {
			if err := want(p, "ago", a[0], TimeSpan); err != nil {
				return cx{}, err
			}
			now := s.env.now
			return unary1(DateTime, a[0], func(v any) any { return now.Add(-v.(time.Duration)) }), nil
		}},
		"now": {0, 1, func(s *scope, p Pos, a []cx) (cx, error) {
			if len(a) == 0 {
				return constant(DateTime, s.env.now), nil
			}
			if err := want(p, "now", a[0], TimeSpan); err != nil {
				return cx{}, err
			}
			now := s.env.now
			return unary1(DateTime, a[0], func(v any) any { return now.Add(v.(time.Duration)) }), nil
		}},
		"bin":        {2, 2, buildBin},
		"startofday": {1, 2, buildStartOfDay},
		"tostring": {1, 1, func(s *scope, p Pos, a []cx) (cx, error) {
			x := a[0]
			return cx{t: String, konst: x.konst, eval: func(row []any) any { return values.ToString(x.eval(row)) }}, nil
		}},
		"toint":    {1, 1, func(s *scope, p Pos, a []cx) (cx, error) { return convert(a[0], Int), nil }},
		"tolong":   {1, 1, func(s *scope, p Pos, a []cx) (cx, error) { return convert(a[0], Long), nil }},
		"todouble": {1, 1, func(s *scope, p Pos, a []cx) (cx, error) { return convert(a[0], Real), nil }},
		"tolower":  {1, 1, strFunc(strings.ToLower)},
		"toupper":  {1, 1, strFunc(strings.ToUpper)},
		"strcat": {1, 64, func(s *scope, p Pos, a []cx) (cx, error) {
			return cx{t: String, konst: allConst(a), eval: func(row []any) any {
				var b strings.Builder
				for _, x := range a {
					b.WriteString(values.ToString(x.eval(row)))
				}
				return b.String()
			}}, nil
		}},
		"strlen": {1, 1, func(s *scope, p Pos, a []cx) (cx, error) {
			x := a[0]
			return cx{t: Long, konst: x.konst, eval: func(row []any) any {
				return int64(utf8.RuneCountInString(values.ToString(x.eval(row))))
			}}, nil
		}},
		"substring": {2, 3, buildSubstring},
		"split":     {2, 3, buildSplit},
		"isempty": {1, 1, func(s *scope, p Pos, a []cx) (cx, error) {
			x := a[0]
			return cx{t: Bool, konst: x.konst, eval: func(row []any) any { return isEmpty(x.eval(row)) }}, nil
		}},
		"isnotempty": {1, 1, func(s *scope, p Pos, a []cx) (cx, error) {
			x := a[0]
			return cx{t: Bool, konst: x.konst, eval: func(row []any) any { return !isEmpty(x.eval(row)) }}, nil
		}},
		"isnull": {1, 1, func(s *scope, p Pos, a []cx) (cx, error) {
			x := a[0]
			return cx{t: Bool, konst: x.konst, eval: func(row []any) any { return x.eval(row) == nil && x.t != String }}, nil
		}},
		"not": {1, 1, func(s *scope, p Pos, a []cx) (cx, error) {
			if err := want(p, "not", a[0], Bool); err != nil {
				return cx{}, err
			}
			return unary1(Bool, a[0], func(v any) any {
				b, ok := v.(bool)
				if !ok {
					return nil
				}
				return !b
			}), nil
		}},
		"iff":      {3, 3, buildIff},
		"iif":      {3, 3, buildIff},
		"case":     {3, -1, buildCase},
		"coalesce": {1, 64, buildCoalesce},
		"parse_json": {1, 1, func(s *scope, p Pos, a []cx) (cx, error) {
			x := a[0]
			return cx{t: Dynamic, konst: x.konst, eval: func(row []any) any {
				v := x.eval(row)
				if str, ok := v.(string); ok && x.t != Dynamic {
					return values.ParseJSON(str)
				}
				if str, ok := v.(string); ok {
					return values.ParseJSON(str)
				}
				return values.DynamicOf(v)
			}}, nil
		}},
		"array_length": {1, 1, func(s *scope, p Pos, a []cx) (cx, error) {
			x := a[0]
			if x.t != Dynamic {
				return cx{}, errorf(p, "", "array_length needs a dynamic array, not a %s", x.t)
			}
			return cx{t: Long, konst: x.konst, eval: func(row []any) any {
				if arr, ok := x.eval(row).([]any); ok {
					return int64(len(arr))
				}
				return nil
			}}, nil
		}},
		"pack":     {0, 128, buildPack},
		"bag_pack": {0, 128, buildPack},
	}
}

func allConst(a []cx) bool {
	for _, x := range a {
		if !x.konst {
			return false
		}
	}
	return true
}

// unary1 applies f to non-null values of x.
func unary1(t Type, x cx, f func(any) any) cx {
	return cx{t: t, konst: x.konst, eval: func(row []any) any {
		v := x.eval(row)
		if v == nil {
			return nil
		}
		return f(v)
	}}
}

func want(p Pos, fn string, x cx, t Type) error {
	if x.t == t || x.t == Dynamic {
		return nil
	}
	return errorf(p, "", "%s needs a %s argument, not a %s", fn, t, x.t)
}

func strFunc(f func(string) string) func(*scope, Pos, []cx) (cx, error) {
	return func(s *scope, p Pos, a []cx) (cx, error) {
		x := a[0]
		return cx{t: String, konst: x.konst, eval: func(row []any) any { return f(values.ToString(x.eval(row))) }}, nil
	}
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	}
	return false
}

// convert is toint, tolong and todouble: numbers convert, strings parse,
// bools are 0 or 1, anything else is null.
func convert(x cx, t Type) cx {
	return cx{t: t, konst: x.konst, eval: func(row []any) any {
		v := x.eval(row)
		var f float64
		isF := false
		var n int64
		switch y := v.(type) {
		case int64:
			n = y
		case int32:
			n = int64(y)
		case float64:
			f, isF = y, true
		case bool:
			if y {
				n = 1
			}
		case string:
			y = strings.TrimSpace(y)
			if i, err := strconv.ParseInt(y, 10, 64); err == nil {
				n = i
			} else if g, err := strconv.ParseFloat(y, 64); err == nil && t == Real {
				f, isF = g, true
			} else {
				return nil
			}
		case time.Duration:
			n = int64(y / 100)
		case time.Time:
			n = y.UnixNano()/100 + ticksAt0001
		default:
			return nil
		}
		switch t {
		case Real:
			if isF {
				return f
			}
			return float64(n)
		case Long:
			if isF {
				i, ok := values.ToInt(f)
				if !ok {
					return nil
				}
				return i
			}
			return n
		}
		if isF {
			i, ok := values.ToInt(f)
			if !ok {
				return nil
			}
			n = i
		}
		return int32(n)
	}}
}

func buildBin(s *scope, p Pos, a []cx) (cx, error) {
	x, size := a[0], a[1]
	switch {
	case x.t == DateTime && size.t == TimeSpan, x.t == TimeSpan && size.t == TimeSpan:
		return cx{t: x.t, konst: x.konst && size.konst, eval: func(row []any) any {
			v, sz := x.eval(row), size.eval(row)
			d, ok := sz.(time.Duration)
			if v == nil || !ok || d < 100 {
				return nil
			}
			st := int64(d / 100)
			switch y := v.(type) {
			case time.Time:
				t := y.UnixNano()/100 + ticksAt0001
				t = floorDiv(t, st) * st
				return time.Unix(0, (t-ticksAt0001)*100).UTC()
			case time.Duration:
				return time.Duration(floorDiv(int64(y/100), st)*st) * 100
			}
			return nil
		}}, nil
	case values.IsNumeric(x.t) && values.IsNumeric(size.t):
		t := x.t
		if size.t == Real {
			t = Real
		}
		return cx{t: t, konst: x.konst && size.konst, eval: func(row []any) any {
			v, sz := x.eval(row), size.eval(row)
			if v == nil || sz == nil {
				return nil
			}
			if t == Real {
				f, _ := values.ToFloat(v)
				g, _ := values.ToFloat(sz)
				if g <= 0 {
					return nil
				}
				return math.Floor(f/g) * g
			}
			n, _ := values.ToInt(v)
			m, _ := values.ToInt(sz)
			if m <= 0 {
				return nil
			}
			if t == Int {
				return int32(floorDiv(n, m) * m)
			}
			return floorDiv(n, m) * m
		}}, nil
	}
	return cx{}, errorf(p, "", "bin cannot round a %s to a %s", x.t, size.t)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func buildStartOfDay(s *scope, p Pos, a []cx) (cx, error) {
	if err := want(p, "startofday", a[0], DateTime); err != nil {
		return cx{}, err
	}
	off := constant(Long, int64(0))
	if len(a) == 2 {
		if !values.IsNumeric(a[1].t) {
			return cx{}, errorf(p, "", "startofday's offset is a number of days, not a %s", a[1].t)
		}
		off = a[1]
	}
	x := a[0]
	return cx{t: DateTime, konst: x.konst && off.konst, eval: func(row []any) any {
		t, ok := x.eval(row).(time.Time)
		n, ok2 := values.ToInt(off.eval(row))
		if !ok || !ok2 {
			return nil
		}
		y, m, d := t.Date()
		return time.Date(y, m, d+int(n), 0, 0, 0, 0, time.UTC)
	}}, nil
}

func buildSubstring(s *scope, p Pos, a []cx) (cx, error) {
	for _, x := range a[1:] {
		if !values.IsNumeric(x.t) {
			return cx{}, errorf(p, "", "substring's start and length are numbers, not a %s", x.t)
		}
	}
	return cx{t: String, konst: allConst(a), eval: func(row []any) any {
		r := []rune(values.ToString(a[0].eval(row)))
		start, ok := values.ToInt(a[1].eval(row))
		if !ok {
			return ""
		}
		if start < 0 {
			start = 0
		}
		end := int64(len(r))
		if len(a) == 3 {
			n, ok := values.ToInt(a[2].eval(row))
			if !ok || n < 0 {
				return ""
			}
			if start+n < end {
				end = start + n
			}
		}
		if start >= end {
			return ""
		}
		return string(r[start:end])
	}}, nil
}

func buildSplit(s *scope, p Pos, a []cx) (cx, error) {
	if len(a) == 3 && !values.IsNumeric(a[2].t) {
		return cx{}, errorf(p, "", "split's index is a number, not a %s", a[2].t)
	}
	return cx{t: Dynamic, konst: allConst(a), eval: func(row []any) any {
		str, sep := values.ToString(a[0].eval(row)), values.ToString(a[1].eval(row))
		var parts []string
		if sep == "" {
			parts = []string{str}
		} else {
			parts = strings.Split(str, sep)
		}
		if len(a) == 3 {
			i, ok := values.ToInt(a[2].eval(row))
			if !ok || i < 0 || i >= int64(len(parts)) {
				return []any{}
			}
			return []any{parts[i]}
		}
		out := make([]any, len(parts))
		for i, x := range parts {
			out[i] = x
		}
		return out
	}}, nil
}

// unify is the type of a value that is one of several expressions (iff,
// case, coalesce), or false when they do not agree.
func unify(ts ...Type) (Type, bool) {
	t := ts[0]
	for _, u := range ts[1:] {
		switch {
		case u == t:
		case values.IsNumeric(u) && values.IsNumeric(t):
			if u == Real || t == Real {
				t = Real
			} else {
				t = Long
			}
		case (u == String || u == Guid) && (t == String || t == Guid):
			t = String
		default:
			return 0, false
		}
	}
	return t, true
}

// as converts a value of one of unify's inputs to the unified type.
func as(v any, t Type) any {
	if v == nil {
		if t == String {
			return ""
		}
		return nil
	}
	switch t {
	case Long:
		n, _ := values.ToInt(v)
		return n
	case Real:
		f, _ := values.ToFloat(v)
		return f
	}
	return v
}

func buildIff(s *scope, p Pos, a []cx) (cx, error) {
	if err := want(p, "iff", a[0], Bool); err != nil {
		return cx{}, err
	}
	t, ok := unify(a[1].t, a[2].t)
	if !ok {
		return cx{}, errorf(p, "", "iff's values are a %s and a %s: they must be of one type", a[1].t, a[2].t)
	}
	return cx{t: t, konst: allConst(a), eval: func(row []any) any {
		if b, _ := a[0].eval(row).(bool); b {
			return as(a[1].eval(row), t)
		}
		return as(a[2].eval(row), t)
	}}, nil
}

func buildCase(s *scope, p Pos, a []cx) (cx, error) {
	if len(a)%2 == 0 {
		return cx{}, errorf(p, "", "case takes pairs of a predicate and a value, then an else value")
	}
	var vals []Type
	for i := 0; i+1 < len(a); i += 2 {
		if err := want(p, "case", a[i], Bool); err != nil {
			return cx{}, err
		}
		vals = append(vals, a[i+1].t)
	}
	vals = append(vals, a[len(a)-1].t)
	t, ok := unify(vals...)
	if !ok {
		return cx{}, errorf(p, "", "case's values must be of one type")
	}
	return cx{t: t, konst: allConst(a), eval: func(row []any) any {
		for i := 0; i+1 < len(a); i += 2 {
			if b, _ := a[i].eval(row).(bool); b {
				return as(a[i+1].eval(row), t)
			}
		}
		return as(a[len(a)-1].eval(row), t)
	}}, nil
}

func buildCoalesce(s *scope, p Pos, a []cx) (cx, error) {
	ts := make([]Type, len(a))
	for i, x := range a {
		ts[i] = x.t
	}
	t, ok := unify(ts...)
	if !ok {
		return cx{}, errorf(p, "", "coalesce's arguments must be of one type")
	}
	return cx{t: t, konst: allConst(a), eval: func(row []any) any {
		for _, x := range a {
			if v := x.eval(row); !isEmpty(v) {
				return as(v, t)
			}
		}
		return as(nil, t)
	}}, nil
}

func buildPack(s *scope, p Pos, a []cx) (cx, error) {
	if len(a)%2 != 0 {
		return cx{}, errorf(p, "", "pack takes pairs of a key and a value")
	}
	for i := 0; i < len(a); i += 2 {
		if a[i].t != String {
			return cx{}, errorf(p, "", "pack's keys are strings, not a %s", a[i].t)
		}
	}
	return cx{t: Dynamic, konst: allConst(a), eval: func(row []any) any {
		m := make(map[string]any, len(a)/2)
		for i := 0; i < len(a); i += 2 {
			m[values.ToString(a[i].eval(row))] = values.DynamicOf(a[i+1].eval(row))
		}
		return m
	}}, nil
}

// aggNames are the aggregation functions, named in the error of a call
// outside summarize.
var aggNames = map[string]bool{
	"count": true, "countif": true, "dcount": true, "sum": true, "avg": true, "min": true,
	"max": true, "arg_max": true, "arg_min": true, "make_set": true, "make_list": true,
}

func (s *scope) call(e *syntax.Call) (cx, error) {
	f, ok := functions[e.Name]
	if !ok {
		if aggNames[e.Name] {
			return cx{}, errorf(e.P, e.Name, "%s is an aggregation function: use it in summarize", e.Name)
		}
		return cx{}, unsupported(e.P, "function", e.Name)
	}
	if len(e.Args) < f.min || f.max >= 0 && len(e.Args) > f.max {
		return cx{}, errorf(e.P, "", "%s takes %s, not %d", e.Name, arity(f), len(e.Args))
	}
	args := make([]cx, len(e.Args))
	for i, a := range e.Args {
		c, err := s.compile(a)
		if err != nil {
			return c, err
		}
		args[i] = c
	}
	return f.build(s, e.P, args)
}

func arity(f function) string {
	switch {
	case f.min == f.max && f.min == 1:
		return "1 argument"
	case f.min == f.max:
		return strconv.Itoa(f.min) + " arguments"
	case f.max < 0:
		return "at least " + strconv.Itoa(f.min) + " arguments"
	}
	return strconv.Itoa(f.min) + " to " + strconv.Itoa(f.max) + " arguments"
}
