package kql

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/openatp/openatp/kql/syntax"
	"github.com/openatp/openatp/kql/values"
)

// aggState accumulates one aggregation over the rows of one group.
type aggState interface {
	add(row []any) error
	// result writes the aggregation's columns; empty is true for the one
	// row summarize without by returns over no rows.
	result(out []any, empty bool)
}

// aggregate is a compiled aggregation: its output columns and a
// constructor of its state.
type aggregate struct {
	cols  []Column
	state func() aggState
}

// maxSetSize is make_set's and make_list's default size limit.
const maxSetSize = 1_048_576

func (e *env) aggregate(sc *scope, a syntax.Assign, by []Column) (aggregate, error) {
	c, ok := a.X.(*syntax.Call)
	if !ok {
		return aggregate{}, errorf(a.P, "", "summarize takes aggregation functions such as count() or sum(x)")
	}
	if !aggNames[c.Name] {
		if _, scalar := functions[c.Name]; scalar {
			return aggregate{}, errorf(c.P, "", "%s is not an aggregation function", c.Name)
		}
		return aggregate{}, unsupported(c.P, "aggregation function", c.Name)
	}
	argn := map[string][2]int{
		"count": {0, 0}, "countif": {1, 1}, "dcount": {1, 2}, "sum": {1, 1}, "avg": {1, 1},
		"min": {1, 1}, "max": {1, 1}, "arg_max": {2, 64}, "arg_min": {2, 64},
		"make_set": {1, 2}, "make_list": {1, 2},
	}[c.Name]
	if len(c.Args) < argn[0] || len(c.Args) > argn[1] {
		return aggregate{}, errorf(c.P, "", "%s takes %d to %d arguments, not %d", c.Name, argn[0], argn[1], len(c.Args))
	}
	if c.Name == "arg_max" || c.Name == "arg_min" {
		return e.argAgg(sc, a, c, by)
	}
	var x cx
	if len(c.Args) > 0 {
		var err error
		if x, err = sc.compile(c.Args[0]); err != nil {
			return aggregate{}, err
		}
	}
	name := a.Name
	if name == "" {
		name = c.Name + "_"
		if len(c.Args) > 0 && c.Name != "countif" {
			name += nameOf(c.Args[0])
		}
	}
	col := func(t Type, f func() aggState) (aggregate, error) {
		return aggregate{cols: []Column{{name, t}}, state: f}, nil
	}
	switch c.Name {
	case "count":
		return col(Long, func() aggState { return &countState{} })
	case "countif":
		if x.t != Bool {
			return aggregate{}, errorf(c.P, "", "countif needs a bool predicate, not a %s", x.t)
		}
		return col(Long, func() aggState { return &countState{pred: x.eval} })
	case "dcount":
		return col(Long, func() aggState { return &setState{e: e, x: x.eval, seen: map[string]struct{}{}, count: true} })
	case "make_set", "make_list":
		limit := int64(maxSetSize)
		if len(c.Args) == 2 {
			l, err := sc.compile(c.Args[1])
			if err != nil {
				return aggregate{}, err
			}
			n, ok := int64(0), false
			if l.konst {
				n, ok = values.ToInt(l.eval(nil))
			}
			if !ok || n <= 0 {
				return aggregate{}, errorf(c.Args[1].Pos(), "", "%s's size limit is a constant positive number", c.Name)
			}
			limit = min(n, limit)
		}
		list := c.Name == "make_list"
		return col(Dynamic, func() aggState {
			s := &setState{e: e, x: x.eval, limit: int(limit), list: list}
			if !list {
				s.seen = map[string]struct{}{}
			}
			return s
		})
	case "sum", "avg":
		t := x.t
		switch {
		case c.Name == "avg" && (values.IsNumeric(t) || t == Dynamic):
			t = Real
		case t == Int:
			t = Long
		case t == Long || t == Real || t == TimeSpan && c.Name == "sum":
		case t == Dynamic:
			t = Real
		default:
			return aggregate{}, errorf(c.P, "", "%s needs a number, not a %s", c.Name, x.t)
		}
		return col(t, func() aggState { return &sumState{x: x.eval, t: t, avg: c.Name == "avg"} })
	default: // min, max
		if x.t == Dynamic {
			return aggregate{}, errorf(c.P, "", "%s of a dynamic value: convert it with tostring, tolong or todouble", c.Name)
		}
		return col(x.t, func() aggState { return &minState{x: x.eval, max: c.Name == "max"} })
	}
}

// argAgg is arg_max and arg_min: the value that is largest (smallest),
// then the columns it returns from the row that has it.
func (e *env) argAgg(sc *scope, a syntax.Assign, c *syntax.Call, by []Column) (aggregate, error) {
	x, err := sc.compile(c.Args[0])
	if err != nil {
		return aggregate{}, err
	}
	if x.t == Dynamic {
		return aggregate{}, errorf(c.P, "", "%s of a dynamic value: convert it with tostring, tolong or todouble", c.Name)
	}
	first := a.Name
	if first == "" {
		if first = nameOf(c.Args[0]); first == "" {
			first = c.Name[4:] + "_"
		}
	}
	cols := []Column{{first, x.t}}
	var rets []cx
	taken := func(name string) bool {
		return slices.ContainsFunc(cols, func(c Column) bool { return c.Name == name }) ||
			slices.ContainsFunc(by, func(c Column) bool { return c.Name == name })
	}
	var nm namer
	for _, r := range c.Args[1:] {
		if _, ok := r.(*syntax.Star); ok {
			for i, col := range sc.cols {
				if taken(col.Name) {
					continue
				}
				cols = append(cols, col)
				rets = append(rets, cx{t: col.Type, eval: func(row []any) any { return row[i] }})
			}
			continue
		}
		v, err := sc.compile(r)
		if err != nil {
			return aggregate{}, err
		}
		name := nm.name(syntax.Assign{X: r})
		for k := 1; taken(name); k++ {
			name = nm.name(syntax.Assign{X: r}) + strconv.Itoa(k)
		}
		cols = append(cols, Column{name, v.t})
		rets = append(rets, v)
	}
	isMax := c.Name == "arg_max"
	return aggregate{cols: cols, state: func() aggState {
		return &argState{x: x.eval, rets: rets, max: isMax}
	}}, nil
}

type countState struct {
	pred func([]any) any
	n    int64
}

func (s *countState) add(row []any) error {
	if s.pred != nil {
		if b, _ := s.pred(row).(bool); !b {
			return nil
		}
	}
	s.n++
	return nil
}

func (s *countState) result(out []any, _ bool) { out[0] = s.n }

type sumState struct {
	x    func([]any) any
	t    Type
	avg  bool
	n    int64
	i    int64
	f    float64
	seen bool
}

func (s *sumState) add(row []any) error {
	v := s.x(row)
	switch y := v.(type) {
	case nil:
		return nil
	case int64:
		s.i += y
		s.f += float64(y)
	case int32:
		s.i += int64(y)
		s.f += float64(y)
	case float64:
		s.f += y
	case time.Duration:
		s.i += int64(y)
	default:
		return nil
	}
	s.n++
	s.seen = true
	return nil
}

func (s *sumState) result(out []any, empty bool) {
	switch {
	case !s.seen && (!empty || s.avg):
		out[0] = nil
	case s.avg:
		out[0] = s.f / float64(s.n)
	case s.t == Long:
		out[0] = s.i
	case s.t == TimeSpan:
		out[0] = time.Duration(s.i)
	default:
		out[0] = s.f
	}
}

type minState struct {
	x   func([]any) any
	max bool
	v   any
}

func (s *minState) add(row []any) error {
	v := s.x(row)
	if v == nil {
		return nil
	}
	if s.v == nil {
		s.v = v
		return nil
	}
	c := values.Compare(v, s.v)
	if s.max && c > 0 || !s.max && c < 0 {
		s.v = v
	}
	return nil
}

func (s *minState) result(out []any, _ bool) { out[0] = s.v }

type argState struct {
	x    func([]any) any
	rets []cx
	max  bool
	best any
	vals []any
}

func (s *argState) add(row []any) error {
	v := s.x(row)
	if v == nil {
		return nil
	}
	if s.best != nil {
		c := values.Compare(v, s.best)
		if s.max && c <= 0 || !s.max && c >= 0 {
			return nil
		}
	}
	s.best = v
	if s.vals == nil {
		s.vals = make([]any, len(s.rets))
	}
	for i, r := range s.rets {
		s.vals[i] = r.eval(row)
	}
	return nil
}

func (s *argState) result(out []any, _ bool) {
	out[0] = s.best
	for i := range s.rets {
		if s.vals != nil {
			out[1+i] = s.vals[i]
		} else {
			out[1+i], _ = values.Normalize(nil, s.rets[i].t)
		}
	}
}

// setState is dcount (count), make_set (seen) and make_list (list).
type setState struct {
	e     *env
	x     func([]any) any
	seen  map[string]struct{}
	count bool
	list  bool
	limit int
	vals  []any
	key   []byte
}

func (s *setState) add(row []any) error {
	v := s.x(row)
	if v == nil {
		return nil
	}
	if !s.count && len(s.vals) >= s.limit {
		return nil
	}
	if s.seen != nil {
		s.key = values.AppendKey(s.key[:0], v)
		if _, ok := s.seen[string(s.key)]; ok {
			return nil
		}
		s.seen[string(s.key)] = struct{}{}
	}
	if err := s.e.hold(1); err != nil {
		return err
	}
	if !s.count {
		s.vals = append(s.vals, values.DynamicOf(v))
	}
	return nil
}

func (s *setState) result(out []any, _ bool) {
	if s.count {
		out[0] = int64(len(s.seen))
		return
	}
	if s.vals == nil {
		out[0] = []any{}
		return
	}
	out[0] = s.vals
}

// group is one group of summarize: its key values and its states.
type group struct {
	keys   []any
	states []aggState
}

func (e *env) summarize(in node, sc *scope, op *syntax.Operator) (node, error) {
	var cols []Column
	var keys []cx
	var nm namer
	for _, b := range op.By {
		c, err := sc.compile(b.X)
		if err != nil {
			return in, err
		}
		if c.t == Dynamic {
			return in, errorf(b.X.Pos(), "", "summarize by a dynamic value: convert it with tostring, tolong or todouble")
		}
		keys = append(keys, c)
		cols = append(cols, Column{nm.name(b), c.t})
	}
	var aggs []aggregate
	for _, a := range op.Items {
		ag, err := e.aggregate(sc, a, cols[:len(keys)])
		if err != nil {
			return in, err
		}
		if a.Name == "" { // a generated name takes a number: count_, count_1
			for i, c := range ag.cols {
				name := c.Name
				for k := 1; slices.ContainsFunc(cols, func(x Column) bool { return x.Name == name }); k++ {
					name = c.Name + strconv.Itoa(k)
				}
				ag.cols[i].Name = name
			}
		}
		aggs = append(aggs, ag)
		cols = append(cols, ag.cols...)
	}
	if err := uniqueNames(cols, op.P); err != nil {
		return in, err
	}
	newGroup := func(kv []any) *group {
		g := &group{keys: kv, states: make([]aggState, len(aggs))}
		for i, a := range aggs {
			g.states[i] = a.state()
		}
		return g
	}
	return node{cols: cols, run: func(ctx context.Context, emit func([]any) bool) error {
		groups := map[string]*group{}
		var order []*group
		var key []byte
		var err error
		var one *group
		if len(keys) == 0 {
			one = newGroup(nil)
			order = append(order, one)
		}
		kv := make([]any, len(keys))
		rows := 0
		err2 := in.run(ctx, func(row []any) bool {
			rows++
			g := one
			if g == nil {
				key = key[:0]
				for i, k := range keys {
					kv[i] = k.eval(row)
					key = values.AppendKey(key, kv[i])
				}
				if g = groups[string(key)]; g == nil {
					if err = e.hold(1); err != nil {
						return false
					}
					g = newGroup(slices.Clone(kv))
					groups[string(key)] = g
					order = append(order, g)
				}
			}
			for _, s := range g.states {
				if err = s.add(row); err != nil {
					return false
				}
			}
			return true
		})
		if err != nil {
			return err
		}
		if err2 != nil {
			return err2
		}
		empty := rows == 0
		for _, g := range order {
			out := make([]any, len(cols))
			copy(out, g.keys)
			k := len(keys)
			for i, s := range g.states {
				s.result(out[k:k+len(aggs[i].cols)], empty)
				k += len(aggs[i].cols)
			}
			if !emit(out) {
				break
			}
		}
		return nil
	}}, nil
}
