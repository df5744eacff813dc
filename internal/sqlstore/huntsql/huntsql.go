// Package huntsql translates the leading part of an advanced hunting
// query (a kql.Plan: where clauses, project, an inner join, summarize,
// sort, top, take) into one SQL statement over the tables a store keeps,
// written once for SQLite and PostgreSQL; each engine gives only its
// Dialect and runs the statement (Store). A plan it cannot translate
// exactly is refused, and the query runs in memory.
package huntsql

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp/internal/sqlstore"
	"github.com/openatp/openatp/kql"
)

// Dialect is what differs between the engines' SQL.
type Dialect struct {
	// Collate follows a text expression that is sorted or compared by
	// order, so that it sorts in byte order as the engine does
	// (PostgreSQL: ` COLLATE "C"`).
	Collate string
	// Hex16 is the expression of an integer's 16 hexadecimal digits,
	// with %s for the integer.
	Hex16 string
	// InList is the condition "x is one of the integers of a list given
	// as one argument", with %s for x; List converts the list to that
	// argument.
	InList string
	List   func([]int64) any
}

// Store is a store that runs the statements: sqlite.DB and postgres.DB.
type Store interface {
	HuntDialect() Dialect
	// HuntRows runs q and calls yield with each row, a value a column
	// (int64, float64, string or []byte, bool, or nil), until yield
	// returns an error, which it returns as it is.
	HuntRows(ctx context.Context, q Query, yield func([]any) error) error
}

// Query is a statement with ? placeholders, its arguments and the
// number of columns of its rows.
type Query struct {
	SQL   string
	Args  []any
	Width int
}

// Run runs query on q: an engine's HuntRows.
func Run(ctx context.Context, q sqlstore.Querier, query Query, yield func([]any) error) error {
	rows, err := q.Query(ctx, query.SQL, query.Args...)
	if err != nil {
		return q.Error(err, "cannot run the hunting query")
	}
	defer rows.Close()
	vals := make([]any, query.Width)
	dest := make([]any, len(vals))
	for i := range vals {
		dest[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return q.Error(err, "cannot read the hunting query's rows")
		}
		if n++; n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := yield(append([]any(nil), vals...)); err != nil {
			return err
		}
	}
	return q.Error(rows.Err(), "cannot read the hunting query's rows")
}

// Table is a table as SQL reads it. Its SQL names the row's table by
// the alias {t}: From is a FROM item ("logon_events {t}"), Where a
// condition every row meets, with Args for its placeholders in order.
type Table struct {
	From    string
	Where   string
	Args    []any
	Columns map[string]Column
	// Order is the expression of the rows' order, an integer: the order
	// of the table's rows in memory (equal for rows whose order there
	// is unspecified).
	Order string
	// Window bounds every row's DateTime column: the plan's conditions on
	// it are merged with it into one range (the engines read an index
	// by one range, and would not choose the narrower of two).
	Window Window
}

// Window is Lo <= Column < Hi, in nanoseconds; a zero Window bounds
// nothing.
type Window struct {
	Column string
	Lo, Hi int64
}

// Column is the SQL of a column: an expression of {t}'s columns; a
// string is never NULL (coalesce it), a DateTime is Unix nanoseconds, a
// Bool an integer. Key, if not empty, is an expression equal for two rows
// of the store (of either table) exactly when the column is: what a join
// on the column compares.
type Column struct {
	SQL, Key string
}

// Tables gives the Table of a name, false if the store does not have it.
type Tables func(name string) (Table, bool)

// Translate returns the statement of plan p over the tables ts and a
// function that converts its rows to p's, or false if it cannot.
func Translate(d Dialect, ts Tables, p *kql.Plan) (Query, func([]any) []any, bool) {
	left, ok := ts(p.Table)
	if !ok {
		return Query{}, nil, false
	}
	sides := []Table{left}
	if p.Join != nil {
		right, ok := ts(p.Join.Table2)
		if !ok {
			return Query{}, nil, false
		}
		sides = append(sides, right)
	}
	b := &builder{d: d, sides: sides}
	var sel []string
	var conv []func(v []any, i int) (any, int) // per output column: its value from the row at i, and the next i
	one := func(t kql.Type) func(v []any, i int) (any, int) {
		return func(v []any, i int) (any, int) { return value(v[i], t), i + 1 }
	}
	var order []string // the rows' order: the first-seen order of a group
	for s, t := range sides {
		order = append(order, b.expr(s, t.Order))
	}
	// The first row of a group: the least of the rows' orders, the left's
	// then the right's; the left's alone when the keys are all the left's
	// (the rows of one left row are then all of one group).
	first := order[0]
	if len(order) > 1 && p.Group != nil && slices.ContainsFunc(p.Group.By, func(k kql.Key) bool { return p.Fields[k.Field].Side != 0 }) {
		first = fmt.Sprintf(d.Hex16, order[0]) + " || " + fmt.Sprintf(d.Hex16, order[1])
	}
	var group []string
	var keys []string // the SQL of each output column, for ORDER BY
	if g := p.Group; g != nil {
		for _, k := range g.By {
			f := p.Fields[k.Field]
			x, _ := b.col(f.Side, f.Column)
			g := x
			if k.Bin > 0 {
				// The bin's number, ticks/st after the origin's offset o,
				// is what is grouped (ordered as the bins); the bin is
				// computed from it once a group: ticks - (ticks+o)%st is
				// (ticks+o)/st*st - o, in nanoseconds.
				st := int64(k.Bin / 100)
				o := int64(ticksAt0001 % uint64(st))
				if o == 0 {
					g = fmt.Sprintf("(%s / %d)", x, st*100)
					x = fmt.Sprintf("%s * %d", g, st*100)
				} else {
					g = fmt.Sprintf("((%s / 100 + %d) / %d)", x, o, st)
					x = fmt.Sprintf("(%s * %d - %d) * 100", g, st, o)
				}
			}
			if c := sides[f.Side].Columns[f.Column]; k.Bin == 0 && c.Key != "" {
				g = b.expr(f.Side, c.Key) // the same groups, without computing x for each row
			}
			group = append(group, g)
			keys = append(keys, x)
			sel = append(sel, x)
			conv = append(conv, one(f.Type))
		}
		for _, a := range g.Aggs {
			var x string
			t := kql.Long
			if a.Field >= 0 {
				f := p.Fields[a.Field]
				x, _ = b.col(f.Side, f.Column)
				t = f.Type
				if t == kql.String || t == kql.Guid {
					x += d.Collate
				}
			}
			switch a.Func {
			case "count":
				x, t = "count(*)", kql.Long
			case "countif":
				x, t = "count(CASE WHEN "+b.conds(a.If)+" THEN 1 END)", kql.Long
			case "dcount":
				if c := sides[p.Fields[a.Field].Side].Columns[p.Fields[a.Field].Column]; c.Key != "" {
					x = b.expr(p.Fields[a.Field].Side, c.Key)
				}
				x, t = "count(DISTINCT "+x+")", kql.Long
			case "sum":
				if len(g.By) == 0 {
					x = "CASE WHEN count(*) = 0 THEN 0 ELSE CAST(sum(" + x + ") AS BIGINT) END"
				} else {
					x = "CAST(sum(" + x + ") AS BIGINT)"
				}
				t = kql.Long
			case "avg":
				// The sum and the count: the engine divides them, as kql does.
				sel = append(sel, "CAST(sum("+x+") AS BIGINT)")
				keys = append(keys, "")
				x = "count(" + x + ")"
				conv = append(conv, func(v []any, i int) (any, int) {
					s, n := value(v[i], kql.Long), value(v[i+1], kql.Long)
					if s == nil || n == nil || n.(int64) == 0 {
						return nil, i + 2
					}
					return float64(s.(int64)) / float64(n.(int64)), i + 2
				})
				sel = append(sel, x)
				continue
			case "min", "max":
				x = a.Func + "(" + x + ")"
			default:
				return Query{}, nil, false
			}
			keys = append(keys, x)
			sel = append(sel, x)
			conv = append(conv, one(t))
		}
	} else {
		for _, f := range p.Fields {
			x, _ := b.col(f.Side, f.Column)
			keys = append(keys, x)
			sel = append(sel, x)
			conv = append(conv, one(f.Type))
		}
	}
	var sb strings.Builder
	sb.WriteString("SELECT ")
	for i, x := range sel {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(x + " AS c" + strconv.Itoa(i))
	}
	sb.WriteString(" FROM " + b.expr(0, left.From))
	var where []string
	if left.Where != "" {
		where = append(where, b.expr(0, left.Where))
		b.args = append(b.args, left.Args...)
	}
	if p.Join != nil {
		k, _ := b.col(0, p.Join.Key)
		k2, ok := b.col(1, p.Join.Key2)
		if !ok {
			return Query{}, nil, false
		}
		c, c2 := left.Columns[p.Join.Key], sides[1].Columns[p.Join.Key2]
		if c.Key != "" && c2.Key != "" {
			k, k2 = b.expr(0, c.Key), b.expr(1, c2.Key)
		}
		sb.WriteString(" JOIN " + b.expr(1, sides[1].From) + " ON " + k2 + " = " + k)
		if sides[1].Where != "" {
			where = append(where, b.expr(1, sides[1].Where))
			b.args = append(b.args, sides[1].Args...)
		}
	}
	conds := p.Where
	for s, t := range sides {
		var x string
		if conds, x = b.window(s, t.Window, conds); x != "" {
			where = append(where, x)
		}
	}
	if len(conds) > 0 {
		where = append(where, b.conds(conds))
	}
	if b.bad {
		return Query{}, nil, false
	}
	if len(where) > 0 {
		sb.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	var by []string
	for _, o := range p.Order {
		x := keys[o.Column]
		if x == "" {
			return Query{}, nil, false // an avg
		}
		if t := p.Columns[o.Column].Type; t == kql.String || t == kql.Guid {
			x += d.Collate
		}
		if t := p.Columns[o.Column].Type; t == kql.DateTime {
			x = "(" + x + ") / 100"
		}
		if o.Desc {
			x += " DESC"
		}
		if o.NullsFirst {
			x += " NULLS FIRST"
		} else {
			x += " NULLS LAST"
		}
		by = append(by, x)
	}
	if p.Group != nil {
		if len(group) > 0 {
			sb.WriteString(" GROUP BY " + strings.Join(group, ", "))
			if !keysOrder(p, sides) {
				by = append(by, "min("+first+")")
			}
			by = append(by, group...) // rows of one instant: in the order of their keys
		}
	} else {
		by = append(by, order...)
	}
	if len(by) > 0 {
		sb.WriteString(" ORDER BY " + strings.Join(by, ", "))
	}
	if p.Limit >= 0 {
		sb.WriteString(" LIMIT " + strconv.FormatInt(p.Limit, 10))
	}
	convert := func(v []any) []any {
		out := make([]any, len(conv))
		i := 0
		for k, c := range conv {
			out[k], i = c(v, i)
		}
		return out
	}
	return Query{SQL: sb.String(), Args: b.args, Width: len(sel)}, convert, true
}

// keysOrder reports whether the groups of p are in the order of their
// first rows without min(first) in the statement (it costs an aggregate
// a row): when p's own sort keys include every group key (two groups
// never tie, so nothing observes the order of their first rows), or when
// every key is the left table's row order (Timestamp of
// DeviceLogonEvents) or a bin of it: each key is then a non-decreasing
// function of the order, so the order of the keys is that of the groups'
// first rows.
func keysOrder(p *kql.Plan, sides []Table) bool {
	g := p.Group
	sorted := true
	for i, k := range g.By {
		// A DateTime sorts by its 100 ns ticks: two groups of one tick
		// would tie (a bin's are multiples of ticks).
		if k.Bin == 0 && p.Columns[i].Type == kql.DateTime ||
			!slices.ContainsFunc(p.Order, func(o kql.Order) bool { return o.Column == i }) {
			sorted = false
			break
		}
	}
	if sorted {
		return true
	}
	for _, k := range g.By {
		f := p.Fields[k.Field]
		if f.Side != 0 || sides[0].Order == "" || sides[0].Columns[f.Column].SQL != sides[0].Order {
			return false
		}
	}
	return true
}

// ticksAt0001 is the Unix epoch in 100 ns ticks since 0001-01-01, the
// origin of bin() on a datetime.
const ticksAt0001 = 621355968000000000

// builder writes a statement's expressions and collects its arguments.
type builder struct {
	d     Dialect
	sides []Table
	args  []any
	bad   bool
}

// expr is x with {t} the alias of side s.
func (b *builder) expr(s int, x string) string {
	return strings.ReplaceAll(x, "{t}", "t"+strconv.Itoa(s))
}

func (b *builder) col(s int, name string) (string, bool) {
	c, ok := b.sides[s].Columns[name]
	if !ok {
		b.bad = true
		return "", false
	}
	return "(" + b.expr(s, c.SQL) + ")", true
}

// window returns the condition of side s's window w, narrowed by the
// conditions of cs on its column, and the other conditions.
func (b *builder) window(s int, w Window, cs []kql.Cond) ([]kql.Cond, string) {
	if w.Column == "" {
		return cs, ""
	}
	lo, hi := w.Lo, w.Hi
	var rest []kql.Cond
	for _, c := range cs {
		t, ok := c.Values[0].(time.Time)
		switch {
		case c.Side != s || c.Column != w.Column || !ok || c.Op != ">=" && c.Op != "<":
			rest = append(rest, c)
		case c.Op == ">=":
			lo = max(lo, t.UnixNano())
		default:
			hi = min(hi, t.UnixNano())
		}
	}
	x, _ := b.col(s, w.Column)
	var parts []string
	if lo != math.MinInt64 {
		parts = append(parts, x+" >= ?")
		b.args = append(b.args, lo)
	}
	if hi != math.MaxInt64 {
		parts = append(parts, x+" < ?")
		b.args = append(b.args, hi)
	}
	return rest, strings.Join(parts, " AND ")
}

// conds is the SQL of conditions all of which hold.
func (b *builder) conds(cs []kql.Cond) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		x, ok := b.col(c.Side, c.Column)
		if !ok {
			return "1 = 0"
		}
		op := map[string]string{"==": "=", "!=": "<>", "<": "<", ">=": ">=", "in": "IN", "!in": "NOT IN"}[c.Op]
		if op == "" {
			b.bad = true
			return "1 = 0"
		}
		if op == "IN" || op == "NOT IN" {
			parts[i] = x + " " + op + " (" + strings.TrimSuffix(strings.Repeat("?, ", len(c.Values)), ", ") + ")"
		} else {
			parts[i] = x + " " + op + " ?"
		}
		for _, v := range c.Values {
			b.args = append(b.args, arg(v))
		}
	}
	return strings.Join(parts, " AND ")
}

// arg is the SQL argument of a condition's value.
func arg(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UnixNano()
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	}
	return v
}

// value converts a column's value read from SQL to kql's type t.
func value(v any, t kql.Type) any {
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	if v == nil {
		if t == kql.String || t == kql.Guid {
			return ""
		}
		return nil
	}
	n, isInt := v.(int64)
	if x, ok := v.(int32); ok {
		n, isInt = int64(x), true
	}
	switch t {
	case kql.DateTime:
		if isInt {
			return time.Unix(0, n).UTC().Truncate(100)
		}
	case kql.Int:
		if isInt && n >= math.MinInt32 && n <= math.MaxInt32 {
			return int32(n)
		}
	case kql.Long:
		if isInt {
			return n
		}
	case kql.Bool:
		if isInt {
			return n != 0
		}
	}
	return v // kql reports a value of the wrong type
}
