package kql

import (
	"context"
	"iter"
	"slices"
	"time"

	"github.com/openatp/openatp/kql/syntax"
	"github.com/openatp/openatp/kql/values"
)

// PushTable is a Table that can run the leading part of a pipeline over
// it itself, as a store runs SQL: the engine hands it the Plan of that
// part, and runs the rest of the query in memory over the rows it
// returns. A table that cannot run a plan refuses it, and the engine runs
// the whole pipeline in memory, so the answer is the same either way;
// but for Options.MaxHeld, the limit of what the engine's operators hold
// in memory: the operators a table runs hold nothing there.
type PushTable interface {
	Table
	// Push returns the rows of p (as Rows yields rows, of p.Columns), or
	// false if it cannot run p. It is called when the query is compiled;
	// rows when it runs.
	Push(p *Plan) (rows func(ctx context.Context) iter.Seq2[[]any, error], ok bool)
}

// Plan is the leading part of a pipeline over one table: the where
// clauses (Where), project of columns and an inner join with another
// table whose side is a table and its where clauses (Fields, Join), a
// summarize (Group), then sort, top or take (Order, Limit).
//
// The rows come in the order the engine gives them: the table's in the
// order of its Rows; a join's in the order of its left rows, each with its
// matches in the order of the right table's; a summarize's groups in the
// order of each one's first row; a sort's equal keys in the order they
// came in. A DateTime is compared, grouped and returned at 100 ns ticks,
// as the engine holds it.
type Plan struct {
	Table string
	// Where are conditions every row meets (on either side of Join).
	Where []Cond
	// Fields are the columns of a row after the where clauses, project
	// and join; the rest of the plan names them by index.
	Fields []Field
	Join   *Join
	Group  *Group
	// Order are sort keys over Columns; the first Limit rows are
	// returned, all if Limit < 0.
	Order []Order
	Limit int64
	// Columns are the columns of the rows returned: Fields, or Group's
	// keys then its aggregations.
	Columns []Column
}

// Field is a column of Table (Side 0) or of Join's table (Side 1), as a
// plan names it.
type Field struct {
	Name   string
	Type   Type
	Side   int
	Column string
}

// Cond is a condition on a column of Table (Side 0) or of Join's table
// (Side 1): Column Op Values[0] for ==, !=, <, >=; Column in (or !in)
// Values. Values are of the column's type (int64 for Long and Int); a
// DateTime is compared with >= and < only, to multiples of 100 ns.
type Cond struct {
	Side   int
	Column string
	Type   Type
	Op     string
	Values []any
}

// Join is an inner join of Table's rows with Table2's on Key == Key2:
// each pair of rows whose keys are equal, neither null.
type Join struct {
	Table2    string
	Key, Key2 string
}

// Group is a summarize: one row per distinct By, with Aggs.
type Group struct {
	By   []Key
	Aggs []Agg
}

// Key is a key of a summarize: Fields[Field], rounded down to a multiple
// of Bin counted from 0001-01-01 (bin()) if Bin is not zero.
type Key struct {
	Field int
	Bin   time.Duration
}

// Agg is an aggregation: Func count (Field -1), countif (of the rows that
// meet every If), dcount, sum, avg (as a real), min or max of
// Fields[Field], each as the engine computes it.
type Agg struct {
	Func  string
	Field int
	If    []Cond
}

// Order is a sort key: Columns[Column], descending if Desc, nulls first
// if NullsFirst.
type Order struct {
	Column     int
	Desc       bool
	NullsFirst bool
}

// planner builds a Plan while it compiles the operators it covers.
type planner struct {
	e    *env
	p    *Plan
	cur  node // the operators covered so far, compiled in memory
	rows bool // after summarize, sort, top or take: no where, project, join or summarize
	sort bool // after sort, top or take: no sort or top
}

// push compiles the leading operators of pl that its table can run, and
// returns the node that reads their rows from it and the number of
// operators covered; 0 when the table runs none.
func (e *env) push(pl *syntax.Pipeline, in node) (node, int) {
	t, ok := e.tables[pl.Table].(PushTable)
	if !ok || pl.Sub != nil || pl.Union != nil || e.tabs[pl.Table] != nil {
		return in, 0
	}
	pn := &planner{e: e, cur: in, p: &Plan{Table: pl.Table, Limit: -1}}
	for _, c := range in.cols {
		pn.p.Fields = append(pn.p.Fields, Field{c.Name, c.Type, 0, c.Name})
	}
	k := 0
	for k < len(pl.Ops) {
		n := pn.step(pl.Ops, k)
		if n == 0 {
			break
		}
		k += n
	}
	if k == 0 {
		return in, 0
	}
	p := pn.p
	if p.Group == nil {
		for i := range p.Fields {
			p.Fields[i].Name = pn.cur.cols[i].Name
		}
	}
	p.Columns = slices.Clone(pn.cur.cols)
	rows, ok := t.Push(p)
	if !ok {
		return in, 0
	}
	return e.scan(pl.Table, p.Columns, rows), k
}

// step covers the operator at ops[i] (with a take after a sort), and
// returns how many it covered: 0 if the plan cannot take it.
func (pn *planner) step(ops []*syntax.Operator, i int) int {
	op := ops[i]
	n := 1
	ok := false
	switch op.Name {
	case "where":
		ok = !pn.rows && pn.where(op.X, &pn.p.Where)
	case "project":
		ok = !pn.rows && pn.project(op)
	case "join":
		ok = !pn.rows && pn.p.Join == nil && pn.join(op)
	case "summarize", "count":
		ok = !pn.rows && pn.summarize(op)
	case "take", "limit":
		ok = pn.limit(op)
	case "top", "sort", "order":
		if pn.sort || !pn.order(op.Keys) {
			return 0
		}
		if op.Name == "top" {
			ok = pn.limit(op)
		} else if i+1 < len(ops) && (ops[i+1].Name == "take" || ops[i+1].Name == "limit") {
			ok, n = pn.limit(ops[i+1]), 2
		} else {
			ok = true
		}
	}
	if !ok {
		return 0
	}
	next, err := pn.e.operators(pn.cur, ops[i:i+n])
	if err != nil {
		return 0 // the engine reports it
	}
	pn.cur = next
	if op.Name != "where" && op.Name != "project" && op.Name != "join" {
		pn.rows = true
		pn.sort = pn.sort || op.Name != "summarize" && op.Name != "count"
	}
	return n
}

// field returns the index of the field x names, or -1.
func (pn *planner) field(x syntax.Expr) int {
	r, ok := x.(*syntax.Ref)
	if !ok || pn.p.Group != nil {
		return -1
	}
	return slices.IndexFunc(pn.cur.cols, func(c Column) bool { return c.Name == r.Name })
}

// where appends the conditions of x's conjuncts to conds, or reports that
// one has none.
func (pn *planner) where(x syntax.Expr, conds *[]Cond) bool {
	sc := &scope{cols: pn.cur.cols, env: pn.e}
	switch x := x.(type) {
	case *syntax.Binary:
		if x.Op == "and" {
			return pn.where(x.L, conds) && pn.where(x.R, conds)
		}
		f, v, op := pn.field(x.L), sc.konst(x.R), x.Op
		if f < 0 {
			f, v, op = pn.field(x.R), sc.konst(x.L), flipped[x.Op]
		}
		if f < 0 || op == "" {
			return false
		}
		return pn.cond(f, op, []any{v}, conds)
	case *syntax.InList:
		f := pn.field(x.L)
		if f < 0 || x.Op != "in" && x.Op != "!in" {
			return false
		}
		vs := make([]any, len(x.List))
		for i, el := range x.List {
			vs[i] = sc.konst(el)
		}
		return len(vs) > 0 && pn.cond(f, x.Op, vs, conds)
	case *syntax.Between:
		f := pn.field(x.X)
		return f >= 0 && !x.Neg && pn.cond(f, ">=", []any{sc.konst(x.Lo)}, conds) &&
			pn.cond(f, "<=", []any{sc.konst(x.Hi)}, conds)
	}
	return false
}

// cond appends the condition field op vs, in the forms Cond lists.
func (pn *planner) cond(f int, op string, vs []any, conds *[]Cond) bool {
	fd := pn.p.Fields[f]
	c := Cond{Side: fd.Side, Column: fd.Column, Type: fd.Type, Op: op}
	for _, v := range vs {
		switch x := v.(type) {
		case string:
			if fd.Type != String && fd.Type != Guid || op != "==" && op != "!=" && op != "in" && op != "!in" {
				return false
			}
		case int64, int32:
			n, _ := values.ToInt(x)
			if fd.Type != Long && fd.Type != Int || op == "!in" {
				return false
			}
			v = n
		case time.Time:
			if fd.Type != DateTime || x.Nanosecond()%100 != 0 || op == "!=" || op == "in" || op == "!in" {
				return false
			}
		case bool:
			if fd.Type != Bool || op != "==" && op != "!=" {
				return false
			}
		default:
			return false
		}
		c.Values = append(c.Values, v)
	}
	if t, ok := c.Values[0].(time.Time); ok {
		next := t.Add(100)
		switch op {
		case ">":
			c.Op, c.Values[0] = ">=", next
		case "<=":
			c.Op, c.Values[0] = "<", next
		case "==":
			*conds = append(*conds, Cond{c.Side, c.Column, c.Type, ">=", []any{t}})
			c.Op, c.Values[0] = "<", next
		}
	} else if op == "in" && len(c.Values) == 1 {
		c.Op = "=="
	} else if n, ok := c.Values[0].(int64); ok && (op == ">" || op == "<=") {
		// x > n is x >= n+1, x <= n is x < n+1: the forms Cond has.
		if n == 1<<63-1 {
			return false
		}
		c.Op, c.Values[0] = map[string]string{">": ">=", "<=": "<"}[op], n+1
	}
	*conds = append(*conds, c)
	return true
}

func (pn *planner) project(op *syntax.Operator) bool {
	var fields []Field
	for _, a := range op.Items {
		f := pn.field(a.X)
		if f < 0 {
			return false
		}
		fields = append(fields, pn.p.Fields[f])
	}
	pn.p.Fields = fields
	return true
}

func (pn *planner) join(op *syntax.Operator) bool {
	r := op.Right
	for r.Sub != nil && r.Table == "" && len(r.Ops) == 0 {
		r = r.Sub
	}
	_, ok := pn.e.tables[r.Table].(PushTable)
	if op.Kind != "inner" || len(op.On) != 1 || !ok || r.Sub != nil || r.Union != nil || pn.e.tabs[r.Table] != nil {
		return false
	}
	right := pn.e.tables[r.Table].Columns()
	rp := &planner{e: pn.e, p: &Plan{}, cur: node{cols: right}}
	for _, c := range right {
		rp.p.Fields = append(rp.p.Fields, Field{c.Name, c.Type, 1, c.Name})
	}
	for _, o := range r.Ops {
		if o.Name != "where" || !rp.where(o.X, &pn.p.Where) {
			return false
		}
	}
	k := slices.IndexFunc(pn.cur.cols, func(c Column) bool { return c.Name == op.On[0][0] })
	k2 := slices.IndexFunc(right, func(c Column) bool { return c.Name == op.On[0][1] })
	if k < 0 || k2 < 0 || pn.cur.cols[k].Type != right[k2].Type || right[k2].Type == Dynamic {
		return false
	}
	if pn.p.Fields[k].Side != 0 {
		return false
	}
	pn.p.Join = &Join{Table2: r.Table, Key: pn.p.Fields[k].Column, Key2: op.On[0][1]}
	pn.p.Fields = append(pn.p.Fields, rp.p.Fields...)
	return true
}

func (pn *planner) summarize(op *syntax.Operator) bool {
	g := &Group{}
	if op.Name == "count" {
		g.Aggs = []Agg{{Func: "count", Field: -1}}
		pn.p.Group = g
		return true
	}
	for _, b := range op.By {
		k := Key{Field: pn.field(b.X)}
		if c, ok := b.X.(*syntax.Call); ok && c.Name == "bin" && len(c.Args) == 2 {
			k.Field = pn.field(c.Args[0])
			d, ok := (&scope{env: pn.e}).konst(c.Args[1]).(time.Duration)
			if !ok || d < 100 || k.Field < 0 || pn.p.Fields[k.Field].Type != DateTime {
				return false
			}
			k.Bin = d / 100 * 100
		} else if k.Field < 0 || pn.p.Fields[k.Field].Type == DateTime {
			return false
		}
		if t := pn.p.Fields[k.Field].Type; t == Dynamic || t == Real {
			return false
		}
		g.By = append(g.By, k)
	}
	for _, a := range op.Items {
		c, ok := a.X.(*syntax.Call)
		if !ok {
			return false
		}
		ag := Agg{Func: c.Name, Field: -1}
		switch {
		case c.Name == "count" && len(c.Args) == 0:
		case c.Name == "countif" && len(c.Args) == 1:
			if !pn.where(c.Args[0], &ag.If) {
				return false
			}
		case len(c.Args) == 1 && slices.Contains([]string{"dcount", "sum", "avg", "min", "max"}, c.Name):
			if ag.Field = pn.field(c.Args[0]); ag.Field < 0 {
				return false
			}
			t := pn.p.Fields[ag.Field].Type
			num := t == Long || t == Int
			if !num && (c.Name == "sum" || c.Name == "avg") || t == Dynamic || t == Real || t == Bool ||
				t == TimeSpan || t == DateTime && c.Name == "dcount" {
				return false
			}
		default:
			return false
		}
		g.Aggs = append(g.Aggs, ag)
	}
	pn.p.Group = g
	return true
}

// order sets the plan's sort keys, columns of the rows so far.
func (pn *planner) order(keys []syntax.SortKey) bool {
	var os []Order
	for _, k := range keys {
		r, ok := k.X.(*syntax.Ref)
		if !ok {
			return false
		}
		i := slices.IndexFunc(pn.cur.cols, func(c Column) bool { return c.Name == r.Name })
		if i < 0 || pn.cur.cols[i].Type == Dynamic || pn.cur.cols[i].Type == Real {
			return false
		}
		os = append(os, Order{Column: i, Desc: !k.Asc, NullsFirst: k.NullsFirst})
	}
	pn.p.Order = os
	return true
}

// limit sets the plan's limit: take's or top's count, the smaller of two.
func (pn *planner) limit(op *syntax.Operator) bool {
	n, err := pn.e.count(&scope{cols: pn.cur.cols, env: pn.e}, op)
	if err != nil {
		return false
	}
	if pn.p.Limit < 0 || n < pn.p.Limit {
		pn.p.Limit = n
	}
	return true
}
