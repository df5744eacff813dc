package kql

import (
	"context"
	"iter"
	"slices"
	"strconv"
	"strings"

	"github.com/openatp/openatp/kql/syntax"
	"github.com/openatp/openatp/kql/values"
)

// node is a compiled tabular expression: its columns, and how to stream
// its rows to emit until emit returns false.
type node struct {
	cols []Column
	run  func(ctx context.Context, emit func(row []any) bool) error
}

// checkEvery is how many rows a scan reads between looks at its context.
const checkEvery = 1024

func (e *env) pipeline(pl *syntax.Pipeline) (node, error) {
	n, err := e.source(pl)
	if err != nil {
		return n, err
	}
	n, k := e.push(pl, n)
	return e.operators(n, pl.Ops[k:])
}

// operators compiles ops over in.
func (e *env) operators(n node, ops []*syntax.Operator) (node, error) {
	var err error
	for i := 0; i < len(ops); i++ {
		op := ops[i]
		// sort then take is top: it holds the rows it returns, not all.
		if (op.Name == "sort" || op.Name == "order") && i+1 < len(ops) &&
			(ops[i+1].Name == "take" || ops[i+1].Name == "limit") {
			sc := &scope{cols: n.cols, env: e}
			limit, err := e.count(sc, ops[i+1])
			if err != nil {
				return n, err
			}
			if n, err = e.sort(n, sc, op.Keys, limit); err != nil {
				return n, err
			}
			i++
			continue
		}
		if n, err = e.operator(n, op); err != nil {
			return n, err
		}
	}
	return n, nil
}

func (e *env) source(pl *syntax.Pipeline) (node, error) {
	switch {
	case pl.Sub != nil:
		return e.pipeline(pl.Sub)
	case pl.Union != nil:
		return e.union(nil, pl.Union)
	}
	if tab, ok := e.tabs[pl.Table]; ok && !slices.Contains(e.lets, pl.Table) {
		e.lets = append(e.lets, pl.Table)
		n, err := e.pipeline(tab)
		e.lets = e.lets[:len(e.lets)-1]
		return n, err
	}
	t, ok := e.tables[pl.Table]
	if !ok {
		if _, ok := e.scalars[pl.Table]; ok {
			return node{}, errorf(pl.P, "", "%s is a scalar, not a table", pl.Table)
		}
		return node{}, errorf(pl.P, "", "unknown table %q", pl.Table)
	}
	cols := slices.Clone(t.Columns())
	rows := t.Rows
	if ft, ok := t.(FilteredTable); ok {
		if b := e.bounds(cols, pl.Ops); !b.IsZero() {
			rows = func(ctx context.Context) iter.Seq2[[]any, error] { return ft.RowsWhere(ctx, b) }
		}
	}
	return e.scan(t.Name(), cols, rows), nil
}

// scan is the node of a table's rows, each checked against cols.
func (e *env) scan(name string, cols []Column, rows func(context.Context) iter.Seq2[[]any, error]) node {
	return node{cols: cols, run: func(ctx context.Context, emit func([]any) bool) error {
		i := 0
		for row, err := range rows(ctx) {
			if err != nil {
				return err
			}
			if i++; i%checkEvery == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if len(row) != len(cols) {
				return &Error{Msg: "table " + name + " yielded a row of " + strconv.Itoa(len(row)) +
					" values for " + strconv.Itoa(len(cols)) + " columns"}
			}
			for j, c := range cols {
				if values.Fits(row[j], c.Type) {
					continue
				}
				v, ok := values.Normalize(row[j], c.Type)
				if !ok {
					return &Error{Msg: "table " + name + " yielded a value of the wrong type for column " + c.Name}
				}
				row[j] = v
			}
			if !emit(row) {
				return nil
			}
		}
		return ctx.Err()
	}}
}

func (e *env) operator(in node, op *syntax.Operator) (node, error) {
	sc := &scope{cols: in.cols, env: e}
	switch op.Name {
	case "where":
		pred, err := sc.compile(op.X)
		if err != nil {
			return in, err
		}
		if pred.t != Bool && pred.t != Dynamic {
			return in, errorf(op.X.Pos(), "", "where needs a bool predicate, not a %s", pred.t)
		}
		return node{cols: in.cols, run: func(ctx context.Context, emit func([]any) bool) error {
			return in.run(ctx, func(row []any) bool {
				if b, _ := pred.eval(row).(bool); b {
					return emit(row)
				}
				return true
			})
		}}, nil
	case "project", "extend":
		return e.project(in, sc, op)
	case "project-away":
		drop := make([]bool, len(in.cols))
		for _, a := range op.Names {
			r, ok := a.X.(*syntax.Ref)
			if !ok || a.Name != "" {
				return in, errorf(a.P, "", "project-away takes column names")
			}
			i := sc.col(r.Name)
			if i < 0 {
				return in, errorf(r.P, "", "unknown column %q", r.Name)
			}
			drop[i] = true
		}
		var keep []int
		for i := range in.cols {
			if !drop[i] {
				keep = append(keep, i)
			}
		}
		return pick(in, keep), nil
	case "project-rename":
		cols := slices.Clone(in.cols)
		for _, a := range op.Items {
			r, ok := a.X.(*syntax.Ref)
			if !ok {
				return in, errorf(a.P, "", "project-rename takes new_name = column")
			}
			i := sc.col(r.Name)
			if i < 0 {
				return in, errorf(r.P, "", "unknown column %q", r.Name)
			}
			cols[i].Name = a.Name
		}
		if err := uniqueNames(cols, op.P); err != nil {
			return in, err
		}
		return node{cols: cols, run: in.run}, nil
	case "summarize":
		return e.summarize(in, sc, op)
	case "take", "limit":
		n, err := e.count(sc, op)
		if err != nil {
			return in, err
		}
		return node{cols: in.cols, run: func(ctx context.Context, emit func([]any) bool) error {
			if n == 0 {
				return nil
			}
			seen := int64(0)
			return in.run(ctx, func(row []any) bool {
				seen++
				return emit(row) && seen < n
			})
		}}, nil
	case "top":
		n, err := e.count(sc, op)
		if err != nil {
			return in, err
		}
		return e.sort(in, sc, op.Keys, n)
	case "sort", "order":
		return e.sort(in, sc, op.Keys, -1)
	case "distinct":
		return e.distinct(in, sc, op)
	case "count":
		return node{cols: []Column{{"Count", Long}}, run: func(ctx context.Context, emit func([]any) bool) error {
			var n int64
			if err := in.run(ctx, func([]any) bool { n++; return true }); err != nil {
				return err
			}
			emit([]any{n})
			return nil
		}}, nil
	case "join":
		return e.join(in, op)
	case "union":
		return e.union(&in, op.Tabs)
	case "mv-expand":
		return e.mvExpand(in, sc, op)
	}
	return in, unsupported(op.P, "operator", op.Name)
}

// alive counts a row an operator makes without reading one (join's
// matches, mv-expand's elements) and reports whether the query may go on:
// every checkEvery rows it looks at the context.
func (e *env) alive(ctx context.Context) bool {
	e.made++
	return e.made%checkEvery != 0 || ctx.Err() == nil
}

// count is the row count of take and top: a constant non-negative integer.
func (e *env) count(sc *scope, op *syntax.Operator) (int64, error) {
	c, err := sc.compile(op.X)
	if err != nil {
		return 0, err
	}
	if !c.konst || !values.IsNumeric(c.t) {
		return 0, errorf(op.X.Pos(), "", "%s needs a constant number of rows", op.Name)
	}
	n, ok := values.ToInt(c.eval(nil))
	if !ok || n < 0 {
		return 0, errorf(op.X.Pos(), "", "%s needs a constant number of rows", op.Name)
	}
	return n, nil
}

// pick keeps the columns at the indexes given.
func pick(in node, keep []int) node {
	cols := make([]Column, len(keep))
	for i, k := range keep {
		cols[i] = in.cols[k]
	}
	return node{cols: cols, run: func(ctx context.Context, emit func([]any) bool) error {
		return in.run(ctx, func(row []any) bool {
			out := make([]any, len(keep))
			for i, k := range keep {
				out[i] = row[k]
			}
			return emit(out)
		})
	}}
}

func uniqueNames(cols []Column, p Pos) error {
	seen := map[string]bool{}
	for _, c := range cols {
		if seen[c.Name] {
			return errorf(p, "", "column %q appears twice in the result", c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

// nameOf is the name a column takes from its expression when none is
// given: a column's own name, bin(x, …)'s x, a property path joined by _;
// "" for anything else.
func nameOf(x syntax.Expr) string {
	switch x := x.(type) {
	case *syntax.Ref:
		return x.Name
	case *syntax.Member:
		if n := nameOf(x.X); n != "" {
			return n + "_" + x.Name
		}
	case *syntax.Index:
		if l, ok := x.Key.(*syntax.Lit); ok {
			if n := nameOf(x.X); n != "" {
				return n + "_" + values.ToString(l.V)
			}
		}
	case *syntax.Call:
		if x.Name == "bin" && len(x.Args) == 2 {
			return nameOf(x.Args[0])
		}
	}
	return ""
}

// namer hands out the names of a list of new columns.
type namer struct{ n int }

func (nm *namer) name(a syntax.Assign) string {
	if a.Name != "" {
		return a.Name
	}
	if n := nameOf(a.X); n != "" {
		return n
	}
	nm.n++
	return "Column" + strconv.Itoa(nm.n)
}

func (e *env) project(in node, sc *scope, op *syntax.Operator) (node, error) {
	extend := op.Name == "extend"
	var cols []Column
	var exprs []cx
	var src []int // per output column: an input column (>= 0), or expression -1-src
	if extend {
		cols = slices.Clone(in.cols)
		for i := range cols {
			src = append(src, i)
		}
	}
	var nm namer
	for _, a := range op.Items {
		if _, ok := a.X.(*syntax.Star); ok {
			return in, errorf(a.P, "", "%s * is not supported", op.Name)
		}
		c, err := sc.compile(a.X)
		if err != nil {
			return in, err
		}
		name := nm.name(a)
		i := slices.IndexFunc(cols, func(c Column) bool { return c.Name == name })
		switch {
		case i >= 0 && !extend:
			return in, errorf(a.P, "", "column %q appears twice in the result", name)
		case i < 0:
			cols = append(cols, Column{name, c.t})
			src = append(src, -1-len(exprs))
		default:
			cols[i].Type = c.t
			src[i] = -1 - len(exprs)
		}
		exprs = append(exprs, c)
	}
	return node{cols: cols, run: func(ctx context.Context, emit func([]any) bool) error {
		return in.run(ctx, func(row []any) bool {
			out := make([]any, len(cols))
			for i, s := range src {
				if s >= 0 {
					out[i] = row[s]
				} else {
					out[i] = exprs[-1-s].eval(row)
				}
			}
			return emit(out)
		})
	}}, nil
}

// sortFunc compiles the keys of sort and top: the comparison of two
// rows' key values, and the keys.
func (e *env) sortFunc(sc *scope, keys []syntax.SortKey) (func(a, b []any) int, []cx, error) {
	cs := make([]cx, len(keys))
	for i, k := range keys {
		c, err := sc.compile(k.X)
		if err != nil {
			return nil, nil, err
		}
		if c.t == Dynamic {
			return nil, nil, errorf(k.X.Pos(), "", "cannot sort by a dynamic value; convert it with tostring, tolong or todouble")
		}
		cs[i] = c
	}
	cmp := func(a, b []any) int { // a and b hold the keys' values
		for i, k := range keys {
			x, y := a[i], b[i]
			switch {
			case x == nil && y == nil:
				continue
			case x == nil:
				if k.NullsFirst {
					return -1
				}
				return 1
			case y == nil:
				if k.NullsFirst {
					return 1
				}
				return -1
			}
			c := values.Compare(x, y)
			if !k.Asc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	}
	return cmp, cs, nil
}

// sort is sort (limit -1) and top (the first limit rows).
func (e *env) sort(in node, sc *scope, keys []syntax.SortKey, limit int64) (node, error) {
	cmp, cs, err := e.sortFunc(sc, keys)
	if err != nil {
		return in, err
	}
	type item struct{ keys, row []any }
	return node{cols: in.cols, run: func(ctx context.Context, emit func([]any) bool) error {
		var items []item
		less := func(a, b item) int { return cmp(a.keys, b.keys) }
		var herr error
		err := in.run(ctx, func(row []any) bool {
			k := make([]any, len(cs))
			for i, c := range cs {
				k[i] = c.eval(row)
			}
			it := item{k, row}
			if limit >= 0 {
				if int64(len(items)) == limit {
					if limit == 0 || cmp(k, items[len(items)-1].keys) >= 0 {
						return true
					}
					items = items[:len(items)-1]
				} else if herr = e.hold(1); herr != nil {
					return false
				}
				i, _ := slices.BinarySearchFunc(items, it, func(a, b item) int {
					if c := less(a, b); c != 0 {
						return c
					}
					return -1 // after equal keys: stable
				})
				items = slices.Insert(items, i, it)
				return true
			}
			if herr = e.hold(1); herr != nil {
				return false
			}
			items = append(items, it)
			return true
		})
		if herr != nil {
			return herr
		}
		if err != nil {
			return err
		}
		if limit < 0 {
			slices.SortStableFunc(items, less)
		}
		for _, it := range items {
			if !emit(it.row) {
				break
			}
		}
		return nil
	}}, nil
}

func (e *env) distinct(in node, sc *scope, op *syntax.Operator) (node, error) {
	var exprs []cx
	var cols []Column
	if op.Star {
		for i, c := range in.cols {
			exprs = append(exprs, cx{t: c.Type, eval: func(row []any) any { return row[i] }})
		}
		cols = in.cols
	} else {
		var nm namer
		for _, a := range op.Items {
			c, err := sc.compile(a.X)
			if err != nil {
				return in, err
			}
			exprs = append(exprs, c)
			cols = append(cols, Column{nm.name(a), c.t})
		}
		if err := uniqueNames(cols, op.P); err != nil {
			return in, err
		}
	}
	return node{cols: cols, run: func(ctx context.Context, emit func([]any) bool) error {
		seen := map[string]struct{}{}
		var key []byte
		var err error
		err2 := in.run(ctx, func(row []any) bool {
			out := make([]any, len(exprs))
			key = key[:0]
			for i, c := range exprs {
				out[i] = c.eval(row)
				key = values.AppendKey(key, out[i])
			}
			if _, ok := seen[string(key)]; ok {
				return true
			}
			if err = e.hold(1); err != nil {
				return false
			}
			seen[string(key)] = struct{}{}
			return emit(out)
		})
		if err != nil {
			return err
		}
		return err2
	}}, nil
}

func (e *env) join(left node, op *syntax.Operator) (node, error) {
	right, err := e.pipeline(op.Right)
	if err != nil {
		return left, err
	}
	lk := make([]int, len(op.On))
	rk := make([]int, len(op.On))
	for i, on := range op.On {
		lk[i] = (&scope{cols: left.cols}).col(on[0])
		rk[i] = (&scope{cols: right.cols}).col(on[1])
		switch {
		case lk[i] < 0:
			return left, errorf(op.OnPos[i], "", "join key %q is not a column of the left side", on[0])
		case rk[i] < 0:
			return left, errorf(op.OnPos[i], "", "join key %q is not a column of the right side", on[1])
		}
		lt, rt := left.cols[lk[i]].Type, right.cols[rk[i]].Type
		if lt != rt && !(values.IsNumeric(lt) && values.IsNumeric(rt) && lt != Real && rt != Real) {
			return left, errorf(op.OnPos[i], "", "join key %s is a %s on the left and a %s on the right", on[0], lt, rt)
		}
	}
	kind := op.Kind
	cols := slices.Clone(left.cols)
	withRight := kind != "leftsemi" && kind != "leftanti"
	if withRight {
		for _, c := range right.cols {
			name := c.Name
			for k := 1; slices.ContainsFunc(cols, func(x Column) bool { return x.Name == name }); k++ {
				name = c.Name + strconv.Itoa(k)
			}
			cols = append(cols, Column{name, c.Type})
		}
	}
	nullRight := make([]any, len(right.cols))
	for i, c := range right.cols {
		nullRight[i], _ = values.Normalize(nil, c.Type)
	}
	keyOf := func(b []byte, row []any, idx []int) ([]byte, bool) {
		for _, i := range idx {
			if row[i] == nil {
				return b, false
			}
			b = values.AppendKey(b, row[i])
		}
		return b, true
	}
	return node{cols: cols, run: func(ctx context.Context, emit func([]any) bool) error {
		table := map[string][][]any{}
		var key []byte
		var err error
		err2 := right.run(ctx, func(row []any) bool {
			var ok bool
			if key, ok = keyOf(key[:0], row, rk); !ok {
				return true
			}
			if err = e.hold(1); err != nil {
				return false
			}
			table[string(key)] = append(table[string(key)], row)
			return true
		})
		if err != nil {
			return err
		}
		if err2 != nil {
			return err2
		}
		var seenLeft map[string]bool
		if kind == "innerunique" {
			seenLeft = map[string]bool{}
		}
		err2 = left.run(ctx, func(row []any) bool {
			var ok bool
			key, ok = keyOf(key[:0], row, lk)
			var matches [][]any
			if ok {
				matches = table[string(key)]
			}
			switch kind {
			case "leftsemi":
				if len(matches) > 0 {
					return emit(row)
				}
				return true
			case "leftanti":
				if len(matches) == 0 {
					return emit(row)
				}
				return true
			case "leftouter":
				if len(matches) == 0 {
					return emit(append(slices.Clip(row), nullRight...))
				}
			case "innerunique":
				if len(matches) == 0 || seenLeft[string(key)] {
					return true
				}
				if err = e.hold(1); err != nil {
					return false
				}
				seenLeft[string(key)] = true
			}
			for _, m := range matches {
				if !e.alive(ctx) {
					return false
				}
				out := make([]any, 0, len(cols))
				out = append(append(out, row...), m...)
				if !emit(out) {
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
		return ctx.Err()
	}}, nil
}

// union streams its inputs one after the other; a column of one name
// and one type in several inputs is one column, and a name with several
// types makes one column per type, named name_type.
func (e *env) union(first *node, tabs []*syntax.Pipeline) (node, error) {
	var ins []node
	if first != nil {
		ins = append(ins, *first)
	}
	for _, t := range tabs {
		n, err := e.pipeline(t)
		if err != nil {
			return node{}, err
		}
		ins = append(ins, n)
	}
	types := map[string][]Type{}
	for _, n := range ins {
		for _, c := range n.cols {
			if !slices.Contains(types[c.Name], c.Type) {
				types[c.Name] = append(types[c.Name], c.Type)
			}
		}
	}
	var cols []Column
	index := map[Column]int{}
	for _, n := range ins {
		for _, c := range n.cols {
			if _, ok := index[c]; ok {
				continue
			}
			name := c.Name
			if len(types[c.Name]) > 1 {
				name += "_" + c.Type.String()
			}
			index[c] = len(cols)
			cols = append(cols, Column{name, c.Type})
		}
	}
	maps := make([][]int, len(ins))
	for k, n := range ins {
		for _, c := range n.cols {
			maps[k] = append(maps[k], index[c])
		}
	}
	nulls := make([]any, len(cols))
	for i, c := range cols {
		nulls[i], _ = values.Normalize(nil, c.Type)
	}
	return node{cols: cols, run: func(ctx context.Context, emit func([]any) bool) error {
		for k, n := range ins {
			stop := false
			err := n.run(ctx, func(row []any) bool {
				out := slices.Clone(nulls)
				for i, j := range maps[k] {
					out[j] = row[i]
				}
				if !emit(out) {
					stop = true
					return false
				}
				return true
			})
			if err != nil || stop {
				return err
			}
		}
		return nil
	}}, nil
}

func (e *env) mvExpand(in node, sc *scope, op *syntax.Operator) (node, error) {
	cols := slices.Clone(in.cols)
	var exprs []cx
	var at []int // the column each expansion writes
	for _, a := range op.Items {
		c, err := sc.compile(a.X)
		if err != nil {
			return in, err
		}
		if c.t != Dynamic {
			return in, errorf(a.X.Pos(), "", "mv-expand needs a dynamic array or bag, not a %s", c.t)
		}
		name := a.Name
		if name == "" {
			if name = nameOf(a.X); name == "" {
				return in, errorf(a.P, "", "mv-expand of an expression needs a name: Name = expression")
			}
		}
		i := slices.IndexFunc(cols, func(c Column) bool { return c.Name == name })
		t := Dynamic
		if op.To != 0 {
			t = op.To
		}
		if i < 0 {
			i = len(cols)
			cols = append(cols, Column{name, t})
		} else {
			cols[i].Type = t
		}
		exprs = append(exprs, c)
		at = append(at, i)
	}
	to := op.To
	return node{cols: cols, run: func(ctx context.Context, emit func([]any) bool) error {
		vals := make([][]any, len(exprs))
		err := in.run(ctx, func(row []any) bool {
			n := 0
			for i, c := range exprs {
				vals[i] = elements(c.eval(row))
				n = max(n, len(vals[i]))
			}
			for k := range n {
				if !e.alive(ctx) {
					return false
				}
				out := make([]any, len(cols))
				copy(out, row)
				for i, v := range vals {
					var x any
					if k < len(v) {
						x = v[k]
					}
					if to != 0 {
						x = cast(x, to)
					}
					out[at[i]] = x
				}
				if !emit(out) {
					return false
				}
			}
			return true
		})
		if err != nil {
			return err
		}
		return ctx.Err()
	}}, nil
}

// elements are the values mv-expand makes rows of: an array's elements, a
// bag's properties as one-property bags, null once, any other value once.
func elements(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case map[string]any:
		out := make([]any, 0, len(x))
		for _, k := range values.SortedKeys(x) {
			out = append(out, map[string]any{k: x[k]})
		}
		return out
	}
	return []any{v}
}

// cast is mv-expand's to typeof(t): a value of that type, else null.
func cast(v any, t Type) any {
	switch t {
	case Dynamic:
		return v
	case String, Guid:
		s, ok := v.(string)
		if !ok {
			return ""
		}
		return s
	case Long, Int:
		n, ok := v.(int64)
		if !ok {
			return nil
		}
		if t == Int {
			return int32(n)
		}
		return n
	case Real:
		f, ok := values.ToFloat(v)
		if !ok {
			return nil
		}
		return f
	case Bool:
		if b, ok := v.(bool); ok {
			return b
		}
	case DateTime:
		if s, ok := v.(string); ok {
			if tm, ok := syntax.ParseTime(s); ok {
				return tm
			}
		}
	case TimeSpan:
		if s, ok := v.(string); ok && strings.Contains(s, ":") {
			if d, err := syntax.ParseSpan(s); err == nil {
				return d
			}
		}
	}
	return nil
}

// column runs a tabular let and returns its first column's values, for
// "x in (T)".
func (e *env) column(tab *syntax.Pipeline, p Pos) ([]any, error) {
	n, err := e.pipeline(tab)
	if err != nil {
		return nil, err
	}
	if len(n.cols) == 0 {
		return nil, errorf(p, "", "the table has no column")
	}
	var vals []any
	var herr error
	err = n.run(e.ctx, func(row []any) bool {
		if herr = e.hold(1); herr != nil {
			return false
		}
		vals = append(vals, row[0])
		return true
	})
	if herr != nil {
		return nil, herr
	}
	return vals, err
}
