package kql

import (
	"bytes"
	"context"
	"encoding/json"
	"iter"
	"slices"
	"strconv"
	"time"

	"github.com/openatp/openatp/kql/syntax"
	"github.com/openatp/openatp/kql/values"
)

// Column is a named, typed column of a table or a result.
type Column struct {
	Name string
	Type Type
}

// Table is a table a query can read. Run calls Columns once and Rows once
// per time the query reads the table (a table named twice is read twice).
//
// Rows yields each row as a slice of one value per column, in the order of
// Columns, each of the Go type its column's Type lists (nil for null); the
// engine may keep the slice, so each row must be a slice of its own. Rows
// stops when the yield function returns false, and should stop when ctx
// is done; an error it yields ends the query with that error.
type Table interface {
	Name() string
	Columns() []Column
	Rows(ctx context.Context) iter.Seq2[[]any, error]
}

// Options are the limits and clock of a run.
type Options struct {
	// Now is the time now() and ago() count from; the zero time means the
	// time Run starts.
	Now time.Time
	// MaxRows is the most rows a result holds; a longer result is cut
	// and marked Truncated. Zero means DefaultMaxRows.
	MaxRows int
	// MaxHeld is the most rows, groups and set elements the query's
	// operators may hold in memory at once (sort, summarize, distinct,
	// join's right side, top); a query that needs more fails. Zero means
	// DefaultMaxHeld.
	MaxHeld int
}

// The default limits: the service's 100,000 rows, and ten times as many
// held in memory by the operators that keep rows.
const (
	DefaultMaxRows = 100_000
	DefaultMaxHeld = 1_000_000
)

// Result is the table a query returns.
type Result struct {
	Columns []Column
	// Rows are the rows, one JSON-ready value per column: strings,
	// int64, int32, float64, bool, datetimes and timespans as the service
	// prints them, dynamic values as decoded JSON, nil for null.
	Rows [][]any
	// Truncated is true when the query returned more than MaxRows rows.
	Truncated bool
}

// MarshalJSON writes the result as the MDE API answers a query:
// {"Schema":[{"Name":…,"Type":…}],"Results":[{column: value, …}]}, each
// row's properties in column order.
func (r *Result) MarshalJSON() ([]byte, error) {
	return r.AppendJSON(nil, "Schema", "Results")
}

// AppendJSON appends the result to b as an object with the schema under
// schemaKey and the rows under rowsKey (Graph's runHuntingQuery names them
// "schema" and "results"); the schema's entries are {"Name","Type"}.
func (r *Result) AppendJSON(b []byte, schemaKey, rowsKey string) ([]byte, error) {
	b = append(b, '{')
	b = strconv.AppendQuote(b, schemaKey)
	b = append(b, ":["...)
	names := make([][]byte, len(r.Columns))
	for i, c := range r.Columns {
		if i > 0 {
			b = append(b, ',')
		}
		n, err := json.Marshal(c.Name)
		if err != nil {
			return nil, err
		}
		names[i] = n
		b = append(b, `{"Name":`...)
		b = append(b, n...)
		b = append(b, `,"Type":"`...)
		b = append(b, c.Type.APIName()...)
		b = append(b, `"}`...)
	}
	b = append(b, "],"...)
	b = strconv.AppendQuote(b, rowsKey)
	b = append(b, ":["...)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i, row := range r.Rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		for j, v := range row {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, names[j]...)
			b = append(b, ':')
			buf.Reset()
			if err := enc.Encode(v); err != nil {
				return nil, err
			}
			b = append(b, bytes.TrimRight(buf.Bytes(), "\n")...)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

// Query is a parsed query, ready to run.
type Query struct {
	q *syntax.Script
}

// Parse parses a query; an error is an *Error naming its position.
// Names are resolved, and types checked, when it runs.
func Parse(text string) (*Query, error) {
	q, err := syntax.ParseScript(text)
	if err != nil {
		return nil, err
	}
	return &Query{q: q}, nil
}

// Tables returns the names the query reads tables by, in the order they
// first appear, less those its let statements define: the tables a caller
// must give Run.
func (q *Query) Tables() []string {
	var names []string
	defined := map[string]bool{}
	var walk func(p *syntax.Pipeline)
	walk = func(p *syntax.Pipeline) {
		if p == nil {
			return
		}
		if p.Table != "" && !defined[p.Table] && !slices.Contains(names, p.Table) {
			names = append(names, p.Table)
		}
		walk(p.Sub)
		for _, u := range p.Union {
			walk(u)
		}
		for _, op := range p.Ops {
			walk(op.Right)
			for _, t := range op.Tabs {
				walk(t)
			}
		}
	}
	for _, l := range q.q.Lets {
		walk(l.Tab)
		if r, ok := l.X.(*syntax.Ref); ok && !defined[r.Name] {
			if !slices.Contains(names, r.Name) {
				names = append(names, r.Name)
			}
		}
		defined[l.Name] = true
	}
	walk(q.q.Body)
	return names
}

// Run parses query and runs it over tables: Parse, then Query.Run.
func Run(ctx context.Context, query string, tables []Table, opt Options) (*Result, error) {
	q, err := Parse(query)
	if err != nil {
		return nil, err
	}
	return q.Run(ctx, tables, opt)
}

// Run runs the query over tables. An error in the query is an *Error
// naming its position; an error a table yields, or ctx's error when ctx is
// done first, ends the run and is returned as is.
func (q *Query) Run(ctx context.Context, tables []Table, opt Options) (*Result, error) {
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	if opt.MaxRows <= 0 {
		opt.MaxRows = DefaultMaxRows
	}
	if opt.MaxHeld <= 0 {
		opt.MaxHeld = DefaultMaxHeld
	}
	ev := &env{
		now:     opt.Now.UTC().Truncate(100),
		scalars: map[string]cx{},
		tabs:    map[string]*syntax.Pipeline{},
		tables:  map[string]Table{},
		maxHeld: opt.MaxHeld,
		ctx:     ctx,
	}
	for _, t := range tables {
		ev.tables[t.Name()] = t
	}
	for _, l := range q.q.Lets {
		if err := ev.let(l); err != nil {
			return nil, err
		}
	}
	n, err := ev.pipeline(q.q.Body)
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: n.cols, Rows: [][]any{}}
	err = n.run(ctx, func(row []any) bool {
		if len(res.Rows) == opt.MaxRows {
			res.Truncated = true
			return false
		}
		out := make([]any, len(row))
		for i, v := range row {
			out[i] = values.JSONValue(v)
		}
		res.Rows = append(res.Rows, out)
		return true
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// env is what a query's names resolve to, and its state while it runs.
type env struct {
	now     time.Time
	scalars map[string]cx
	tabs    map[string]*syntax.Pipeline // tabular lets, compiled where named
	lets    []string                    // the tabular lets being compiled, against cycles
	tables  map[string]Table
	maxHeld int
	held    int
	made    int // rows made by join and mv-expand, for alive
	ctx     context.Context
}

// tabular returns the tabular let or table a name names.
func (e *env) tabular(name string) (*syntax.Pipeline, bool) {
	if p, ok := e.tabs[name]; ok {
		return p, true
	}
	if _, ok := e.tables[name]; ok {
		return &syntax.Pipeline{Table: name}, true
	}
	return nil, false
}

// hold counts n more values held in memory, and fails past the limit.
func (e *env) hold(n int) error {
	e.held += n
	if e.held > e.maxHeld {
		return &Error{Msg: "the query holds more than " + strconv.Itoa(e.maxHeld) +
			" rows in memory; filter or summarize the rows before sort, join, distinct or summarize"}
	}
	return nil
}

func (e *env) let(l syntax.Let) error {
	delete(e.scalars, l.Name)
	delete(e.tabs, l.Name)
	if l.Tab == nil {
		if r, ok := l.X.(*syntax.Ref); ok {
			if _, isTab := e.tabular(r.Name); isTab {
				if _, isScalar := e.scalars[r.Name]; !isScalar {
					l.Tab = &syntax.Pipeline{P: r.P, Table: r.Name}
				}
			}
		}
	}
	if l.Tab != nil {
		// Checked now, compiled again where it is named.
		e.tabs[l.Name] = l.Tab
		e.lets = append(e.lets, l.Name)
		_, err := e.pipeline(l.Tab)
		e.lets = e.lets[:len(e.lets)-1]
		return err
	}
	s := &scope{env: e}
	c, err := s.compile(l.X)
	if err != nil {
		return err
	}
	if !c.konst {
		return errorf(l.X.Pos(), "", "let %s: the value must not depend on a column", l.Name)
	}
	e.scalars[l.Name] = c
	return nil
}
