// Package syntax is the lexer and parser of package kql's query language:
// it turns a query's text into a tree (Script) of tabular operators
// (Pipeline, Operator) and scalar expressions (Expr), or an *Error naming
// a line and column. It resolves no name and checks no type: package kql
// does both when it runs a query. It imports only the standard library.
package syntax

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Error is a query that cannot run: a syntax error, a name that does not
// resolve, a type that does not fit, an operator or function outside the
// subset (Name names it), or a limit reached.
type Error struct {
	Pos  Pos    // where in the query; zero for a limit reached while running
	Name string // the operator or function outside the subset, if that is the error
	Msg  string
}

// Error returns "line:col: message".
func (e *Error) Error() string {
	if e.Pos.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("%d:%d: %s", e.Pos.Line, e.Pos.Col, e.Msg)
}

// Errorf returns an *Error at p; name is what is outside the subset, if
// that is the error.
func Errorf(p Pos, name, format string, args ...any) *Error {
	return &Error{Pos: p, Name: name, Msg: fmt.Sprintf(format, args...)}
}

// Unsupported is the error of an operator or function outside the subset.
func Unsupported(p Pos, what, name string) *Error {
	return Errorf(p, name, "%s %s is not supported", what, name)
}

// The syntax tree. Every node has P, its position, and Pos returns it.
type (
	// Expr is a scalar expression.
	Expr interface{ Pos() Pos }

	// Lit is a literal: V a value of type T (nil for a typed null).
	Lit struct {
		P Pos
		V any
		T Type
	}
	// Ref names a column or a scalar let.
	Ref struct {
		P    Pos
		Name string
	}
	// Side is $left.Name or $right.Name in a join's on clause.
	Side struct {
		P     Pos
		Right bool
		Name  string
	}
	// Star is * in arg_max(x, *).
	Star struct{ P Pos }
	// Call is a function call.
	Call struct {
		P    Pos
		Name string
		Args []Expr
	}
	// Unary is -X.
	Unary struct {
		P  Pos
		Op string
		X  Expr
	}
	// Binary is L Op R: and, or, comparisons, string operators, + - * / %.
	Binary struct {
		P    Pos
		Op   string
		L, R Expr
	}
	// InList is L Op (List): in, !in, in~, !in~, has_any.
	InList struct {
		P    Pos
		Op   string
		L    Expr
		List []Expr
	}
	// Between is X between (Lo .. Hi), or !between when Neg.
	Between struct {
		P         Pos
		Neg       bool
		X, Lo, Hi Expr
	}
	// Member is X.Name, a property of a dynamic value.
	Member struct {
		P    Pos
		X    Expr
		Name string
	}
	// Index is X[Key], an element or property of a dynamic value.
	Index struct {
		P      Pos
		X, Key Expr
	}
	// DynLit is dynamic([...]) or dynamic({...}): V is []any or
	// map[string]any.
	DynLit struct {
		P Pos
		V any
	}
)

// Pos returns where the expression starts.
func (e *Lit) Pos() Pos     { return e.P }
func (e *Ref) Pos() Pos     { return e.P }
func (e *Side) Pos() Pos    { return e.P }
func (e *Star) Pos() Pos    { return e.P }
func (e *Call) Pos() Pos    { return e.P }
func (e *Unary) Pos() Pos   { return e.P }
func (e *Binary) Pos() Pos  { return e.P }
func (e *InList) Pos() Pos  { return e.P }
func (e *Between) Pos() Pos { return e.P }
func (e *Member) Pos() Pos  { return e.P }
func (e *Index) Pos() Pos   { return e.P }
func (e *DynLit) Pos() Pos  { return e.P }

// Assign is "name = expr" or an expression alone (name empty).
type Assign struct {
	P    Pos
	Name string
	X    Expr
}

// SortKey is one key of sort, order and top.
type SortKey struct {
	X          Expr
	Asc        bool
	NullsFirst bool
}

// Operator is one tabular operator after a pipe.
type Operator struct {
	P     Pos
	Name  string   // "where", "project", ...
	X     Expr     // where's predicate, take's and top's count
	Items []Assign // project, extend, summarize's aggregates, distinct, mv-expand, project-rename (x a ref)
	By    []Assign // summarize's keys
	Keys  []SortKey
	Names []Assign // project-away
	Star  bool     // distinct *
	Kind  string   // join's kind
	Right *Pipeline
	On    [][2]string // join's keys: left name, right name
	OnPos []Pos
	Tabs  []*Pipeline // union's tables
	To    Type        // mv-expand ... to typeof(t)
}

// Pipeline is a tabular expression: a source and the operators after it.
type Pipeline struct {
	P     Pos
	Table string      // a table or tabular let
	Union []*Pipeline // or a union of these
	Sub   *Pipeline   // or a parenthesized pipeline
	Ops   []*Operator
}

// Let binds a name to a scalar or tabular value.
type Let struct {
	P    Pos
	Name string
	X    Expr      // a scalar, or a bare name that may be a table
	Tab  *Pipeline // a tabular expression
}

// Script is a parsed query: its let statements and its tabular expression.
type Script struct {
	Lets []Let
	Body *Pipeline
}

// MaxQueryLength is the longest query text ParseScript accepts, in bytes.
const MaxQueryLength = 100_000

// maxDepth bounds the nesting of expressions and pipelines.
const maxDepth = 100

type parser struct {
	toks  []token
	i     int
	depth int
}

// ParseScript parses a query.
func ParseScript(src string) (*Script, error) {
	if len(src) > MaxQueryLength {
		return nil, Errorf(Pos{1, 1}, "", "the query is longer than %d bytes", MaxQueryLength)
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	return p.query()
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) advance() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}
func (p *parser) isOp(s string) bool {
	t := p.peek()
	return t.kind == tOp && t.text == s
}
func (p *parser) isWord(s string) bool {
	t := p.peek()
	return t.kind == tIdent && t.text == s
}
func (p *parser) accept(s string) bool {
	t := p.peek()
	if (t.kind == tOp || t.kind == tIdent) && t.text == s {
		p.i++
		return true
	}
	return false
}

func (p *parser) unexpected(want string) *Error {
	t := p.peek()
	if t.kind == tEOF {
		return Errorf(t.pos, "", "unexpected end of query, expected %s", want)
	}
	return Errorf(t.pos, "", "unexpected %q, expected %s", t.text, want)
}

func (p *parser) expect(s string) (token, error) {
	if !p.accept(s) {
		return token{}, p.unexpected(strconv.Quote(s))
	}
	return p.toks[p.i-1], nil
}

func (p *parser) ident(what string) (token, error) {
	t := p.peek()
	if t.kind != tIdent {
		return t, p.unexpected(what)
	}
	p.i++
	return t, nil
}

// name reads a column name: an identifier or ['bracketed name'].
func (p *parser) name(what string) (token, error) {
	if p.isOp("[") && p.peekAt(1).kind == tString && p.peekAt(2).kind == tOp && p.peekAt(2).text == "]" {
		p.i++
		t := p.advance()
		p.i++
		return t, nil
	}
	return p.ident(what)
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return Errorf(p.peek().pos, "", "the query nests deeper than %d levels", maxDepth)
	}
	return nil
}

func (p *parser) query() (*Script, error) {
	q := &Script{}
	for {
		for p.accept(";") {
		}
		if p.peek().kind == tEOF {
			break
		}
		if q.Body != nil {
			return nil, Errorf(p.peek().pos, "", "a query has one tabular expression; %q follows it", p.peek().text)
		}
		if p.isWord("let") {
			l, err := p.let()
			if err != nil {
				return nil, err
			}
			q.Lets = append(q.Lets, l)
		} else {
			pl, err := p.pipeline()
			if err != nil {
				return nil, err
			}
			q.Body = pl
		}
		if !p.isOp(";") && p.peek().kind != tEOF {
			return nil, p.unexpected(`";" or "|"`)
		}
	}
	if q.Body == nil {
		return nil, Errorf(p.peek().pos, "", "the query has no tabular expression")
	}
	return q, nil
}

func (p *parser) let() (Let, error) {
	kw := p.advance()
	t, err := p.ident("a name after let")
	if err != nil {
		return Let{}, err
	}
	if _, err := p.expect("="); err != nil {
		return Let{}, err
	}
	l := Let{P: kw.pos, Name: t.text}
	if p.isOp("(") && (p.peekAt(1).kind == tIdent && p.peekAt(2).kind == tOp && p.peekAt(2).text == ":" ||
		p.peekAt(1).kind == tOp && p.peekAt(1).text == ")") {
		return l, Errorf(p.peek().pos, "", "user-defined functions are not supported")
	}
	if p.isWord("union") || p.isOp("(") && p.parenPipeline() {
		l.Tab, err = p.pipeline()
		return l, err
	}
	if p.peek().kind == tIdent && p.peekAt(1).kind == tOp && p.peekAt(1).text == "|" {
		l.Tab, err = p.pipeline()
		return l, err
	}
	l.X, err = p.expr()
	return l, err
}

// parenPipeline reports whether the parenthesis at the current token
// holds a pipeline: a "|" at its own depth, or a table name alone.
func (p *parser) parenPipeline() bool {
	depth := 0
	for i := p.i; i < len(p.toks); i++ {
		t := p.toks[i]
		if t.kind != tOp {
			if t.kind == tIdent && t.text == "union" && depth == 1 {
				return true
			}
			continue
		}
		switch t.text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
			if depth == 0 {
				return false
			}
		case "|", ";":
			if depth == 1 {
				return true
			}
		}
	}
	return false
}

// source reads what a pipeline starts with.
func (p *parser) source() (*Pipeline, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	t := p.peek()
	pl := &Pipeline{P: t.pos}
	switch {
	case t.kind == tOp && t.text == "(":
		p.i++
		sub, err := p.pipeline()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(")"); err != nil {
			return nil, err
		}
		pl.Sub = sub
	case t.kind == tIdent && t.text == "union":
		p.i++
		tabs, err := p.unionArgs()
		if err != nil {
			return nil, err
		}
		pl.Union = tabs
	case t.kind == tIdent:
		if p.peekAt(1).kind == tOp && p.peekAt(1).text == "(" {
			return nil, Unsupported(t.pos, "function", t.text)
		}
		if sourceOps[t.text] {
			return nil, Unsupported(t.pos, "operator", t.text)
		}
		p.i++
		pl.Table = t.text
	case t.kind == tOp && t.text == "[":
		n, err := p.name("a table name")
		if err != nil {
			return nil, err
		}
		pl.Table = n.text
	default:
		return nil, p.unexpected("a table name")
	}
	return pl, nil
}

// sourceOps are the operators that start a query outside the subset.
var sourceOps = map[string]bool{
	"print": true, "range": true, "datatable": true, "search": true, "find": true,
	"externaldata": true, "evaluate": true, "set": true, "declare": true, "alias": true,
	"materialize": true, "view": true, "pattern": true, "restrict": true,
}

// unionArgs reads the tables of a union: [kind=outer] T, (pipeline), ...
func (p *parser) unionArgs() ([]*Pipeline, error) {
	for p.peek().kind == tIdent && p.peekAt(1).kind == tOp && p.peekAt(1).text == "=" {
		o := p.advance()
		p.i++
		v := p.advance()
		if o.text != "kind" || v.text != "outer" {
			return nil, Errorf(o.pos, "union", "union %s=%s is not supported", o.text, v.text)
		}
	}
	var tabs []*Pipeline
	for {
		s, err := p.source()
		if err != nil {
			return nil, err
		}
		tabs = append(tabs, s)
		if !p.accept(",") {
			return tabs, nil
		}
	}
}

func (p *parser) pipeline() (*Pipeline, error) {
	pl, err := p.source()
	if err != nil {
		return nil, err
	}
	for p.accept("|") {
		op, err := p.operator()
		if err != nil {
			return nil, err
		}
		pl.Ops = append(pl.Ops, op)
	}
	return pl, nil
}

func (p *parser) operator() (*Operator, error) {
	t := p.peek()
	if t.kind != tIdent {
		return nil, p.unexpected("an operator")
	}
	p.i++
	op := &Operator{P: t.pos, Name: t.text}
	var err error
	switch t.text {
	case "where":
		op.X, err = p.expr()
	case "project", "extend":
		op.Items, err = p.assigns(false)
	case "project-away":
		op.Names, err = p.assigns(false)
	case "project-rename":
		op.Items, err = p.assigns(true)
	case "summarize":
		if !p.isWord("by") {
			op.Items, err = p.assigns(false)
		}
		if err == nil && p.accept("by") {
			op.By, err = p.assigns(false)
		}
	case "top":
		op.X, err = p.expr()
		if err == nil {
			_, err = p.expect("by")
		}
		if err == nil {
			op.Keys, err = p.sortKeys()
		}
	case "take", "limit":
		op.X, err = p.expr()
	case "sort", "order":
		_, err = p.expect("by")
		if err == nil {
			op.Keys, err = p.sortKeys()
		}
	case "distinct":
		if p.accept("*") {
			op.Star = true
		} else {
			op.Items, err = p.assigns(false)
		}
	case "count":
	case "join":
		err = p.join(op)
	case "union":
		op.Tabs, err = p.unionArgs()
	case "mv-expand":
		err = p.mvExpand(op)
	case "as":
		return nil, Unsupported(t.pos, "operator", t.text)
	default:
		return nil, Unsupported(t.pos, "operator", t.text)
	}
	if err != nil {
		return nil, err
	}
	return op, nil
}

// assigns reads a comma-separated list of "name = expr" or "expr"; with
// rename, each is "new = old".
func (p *parser) assigns(rename bool) ([]Assign, error) {
	var out []Assign
	for {
		a := Assign{P: p.peek().pos}
		if p.isOp("(") && p.peekAt(1).kind == tIdent && p.peekAt(2).kind == tOp && p.peekAt(2).text == "," {
			return nil, Errorf(a.P, "", "naming several columns at once, (a, b) = ..., is not supported")
		}
		if (p.peek().kind == tIdent || p.isOp("[")) && p.nameThenAssign() {
			n, err := p.name("a column name")
			if err != nil {
				return nil, err
			}
			p.i++ // =
			a.Name = n.text
		} else if rename {
			return nil, p.unexpected("new_name = column")
		}
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		a.X = x
		out = append(out, a)
		if !p.accept(",") {
			return out, nil
		}
	}
}

// nameThenAssign reports whether a name and "=" come next.
func (p *parser) nameThenAssign() bool {
	n := 1
	if p.isOp("[") {
		n = 3
	}
	t := p.peekAt(n)
	return t.kind == tOp && t.text == "="
}

func (p *parser) sortKeys() ([]SortKey, error) {
	var keys []SortKey
	for {
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		k := SortKey{X: x}
		if p.accept("asc") {
			k.Asc = true
		} else {
			p.accept("desc")
		}
		k.NullsFirst = k.Asc
		if p.accept("nulls") {
			switch {
			case p.accept("first"):
				k.NullsFirst = true
			case p.accept("last"):
				k.NullsFirst = false
			default:
				return nil, p.unexpected(`"first" or "last"`)
			}
		}
		keys = append(keys, k)
		if !p.accept(",") {
			return keys, nil
		}
	}
}

func (p *parser) join(op *Operator) error {
	op.Kind = "innerunique"
	for p.peek().kind == tIdent && p.peekAt(1).kind == tOp && p.peekAt(1).text == "=" {
		o := p.advance()
		p.i++
		v, err := p.ident("a value")
		if err != nil {
			return err
		}
		switch {
		case o.text == "kind":
			switch v.text {
			case "inner", "innerunique", "leftouter", "leftanti", "leftsemi":
				op.Kind = v.text
			case "anti", "leftantisemi":
				op.Kind = "leftanti"
			case "semi":
				op.Kind = "leftsemi"
			default:
				return Errorf(v.pos, "join", "join kind=%s is not supported", v.text)
			}
		case strings.HasPrefix(o.text, "hint"):
		default:
			return Errorf(o.pos, "join", "join parameter %s is not supported", o.text)
		}
	}
	var err error
	if op.Right, err = p.source(); err != nil {
		return err
	}
	if _, err := p.expect("on"); err != nil {
		return err
	}
	for {
		t := p.peek()
		switch {
		case t.kind == tOp && t.text == "$":
			l, err := p.sideName()
			if err != nil {
				return err
			}
			if _, err := p.expect("=="); err != nil {
				return err
			}
			r, err := p.sideName()
			if err != nil {
				return err
			}
			if l.Right == r.Right {
				return Errorf(t.pos, "", "a join condition compares $left with $right")
			}
			if l.Right {
				l, r = r, l
			}
			op.On = append(op.On, [2]string{l.Name, r.Name})
		default:
			n, err := p.name("a join key")
			if err != nil {
				return err
			}
			op.On = append(op.On, [2]string{n.text, n.text})
		}
		op.OnPos = append(op.OnPos, t.pos)
		if !p.accept(",") && !p.accept("and") {
			return nil
		}
	}
}

func (p *parser) sideName() (*Side, error) {
	t, err := p.expect("$")
	if err != nil {
		return nil, err
	}
	w, err := p.ident("left or right")
	if err != nil {
		return nil, err
	}
	if w.text != "left" && w.text != "right" {
		return nil, Errorf(w.pos, "", "expected $left or $right")
	}
	if _, err := p.expect("."); err != nil {
		return nil, err
	}
	n, err := p.name("a column name")
	if err != nil {
		return nil, err
	}
	return &Side{P: t.pos, Right: w.text == "right", Name: n.text}, nil
}

func (p *parser) mvExpand(op *Operator) error {
	for p.peek().kind == tIdent && p.peekAt(1).kind == tOp && p.peekAt(1).text == "=" &&
		(p.peek().text == "bagexpansion" || p.peek().text == "with_itemindex" || p.peek().text == "kind") {
		return Errorf(p.peek().pos, "mv-expand", "mv-expand %s is not supported", p.peek().text)
	}
	var err error
	if op.Items, err = p.assigns(false); err != nil {
		return err
	}
	if p.accept("to") {
		if _, err := p.expect("typeof"); err != nil {
			return err
		}
		if _, err := p.expect("("); err != nil {
			return err
		}
		n, err := p.ident("a type name")
		if err != nil {
			return err
		}
		t, ok := TypeFromName(n.text)
		if !ok {
			return Errorf(n.pos, "", "unknown type %q", n.text)
		}
		op.To = t
		if _, err := p.expect(")"); err != nil {
			return err
		}
	}
	if p.isWord("limit") {
		return Errorf(p.peek().pos, "mv-expand", "mv-expand limit is not supported")
	}
	return nil
}

// Expressions, by precedence: or, and, comparisons, + -, * / %, unary,
// postfix (. and []).
func (p *parser) expr() (Expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	return p.or()
}

func (p *parser) or() (Expr, error) {
	l, err := p.and()
	for err == nil && p.isWord("or") {
		t := p.advance()
		var r Expr
		if r, err = p.and(); err == nil {
			l = &Binary{P: t.pos, Op: "or", L: l, R: r}
		}
	}
	return l, err
}

func (p *parser) and() (Expr, error) {
	l, err := p.cmp()
	for err == nil && p.isWord("and") {
		t := p.advance()
		var r Expr
		if r, err = p.cmp(); err == nil {
			l = &Binary{P: t.pos, Op: "and", L: l, R: r}
		}
	}
	return l, err
}

// cmpOps are the comparison and string operators of the subset.
var cmpOps = map[string]bool{
	"==": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true, "=~": true, "!~": true,
	"has": true, "!has": true, "contains": true, "!contains": true, "startswith": true,
	"!startswith": true, "endswith": true, "!endswith": true,
}

// otherOps are string operators outside the subset, named in errors.
var otherOps = map[string]bool{
	"has_cs": true, "!has_cs": true, "hasprefix": true, "!hasprefix": true, "hassuffix": true,
	"!hassuffix": true, "hasprefix_cs": true, "hassuffix_cs": true, "contains_cs": true,
	"!contains_cs": true, "startswith_cs": true, "!startswith_cs": true, "endswith_cs": true,
	"!endswith_cs": true, "matches": true, "has_all": true, "like": true, "notcontains": true,
	"!hasprefix_cs": true, "!hassuffix_cs": true, "has_any_cs": true,
}

func (p *parser) cmp() (Expr, error) {
	l, err := p.additive()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	switch {
	case (t.kind == tOp || t.kind == tIdent) && cmpOps[t.text]:
		p.i++
		r, err := p.additive()
		if err != nil {
			return nil, err
		}
		return &Binary{P: t.pos, Op: t.text, L: l, R: r}, nil
	case t.text == "in" || t.text == "!in" || t.text == "in~" || t.text == "!in~" || t.text == "has_any" && t.kind == tIdent:
		p.i++
		list, err := p.list()
		if err != nil {
			return nil, err
		}
		return &InList{P: t.pos, Op: t.text, L: l, List: list}, nil
	case t.text == "between" && t.kind == tIdent || t.text == "!between" && t.kind == tOp:
		p.i++
		if _, err := p.expect("("); err != nil {
			return nil, err
		}
		lo, err := p.additive()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(".."); err != nil {
			return nil, err
		}
		hi, err := p.additive()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(")"); err != nil {
			return nil, err
		}
		return &Between{P: t.pos, Neg: t.text == "!between", X: l, Lo: lo, Hi: hi}, nil
	case otherOps[t.text] && (t.kind == tIdent || t.kind == tOp):
		return nil, Unsupported(t.pos, "operator", t.text)
	}
	return l, nil
}

// list reads the right side of in and has_any: a parenthesized list of
// expressions, or one expression (a dynamic array or a tabular let).
func (p *parser) list() ([]Expr, error) {
	if !p.accept("(") {
		x, err := p.additive()
		return []Expr{x}, err
	}
	var out []Expr
	for !p.isOp(")") {
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		out = append(out, x)
		if !p.accept(",") {
			break
		}
	}
	_, err := p.expect(")")
	return out, err
}

func (p *parser) additive() (Expr, error) {
	l, err := p.multiplicative()
	for err == nil && (p.isOp("+") || p.isOp("-")) {
		t := p.advance()
		var r Expr
		if r, err = p.multiplicative(); err == nil {
			l = &Binary{P: t.pos, Op: t.text, L: l, R: r}
		}
	}
	return l, err
}

func (p *parser) multiplicative() (Expr, error) {
	l, err := p.unary()
	for err == nil && (p.isOp("*") || p.isOp("/") || p.isOp("%")) {
		t := p.advance()
		var r Expr
		if r, err = p.unary(); err == nil {
			l = &Binary{P: t.pos, Op: t.text, L: l, R: r}
		}
	}
	return l, err
}

func (p *parser) unary() (Expr, error) {
	if p.isOp("-") || p.isOp("+") {
		t := p.advance()
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		if t.text == "+" {
			return x, nil
		}
		return &Unary{P: t.pos, Op: "-", X: x}, nil
	}
	return p.postfix()
}

func (p *parser) postfix() (Expr, error) {
	x, err := p.primary()
	for err == nil {
		switch {
		case p.isOp(".") && !p.peek().sp:
			t := p.advance()
			var n token
			if n, err = p.name("a property name"); err == nil {
				x = &Member{P: t.pos, X: x, Name: n.text}
			}
		case p.isOp("["):
			t := p.advance()
			var i Expr
			if i, err = p.expr(); err == nil {
				if _, err = p.expect("]"); err == nil {
					x = &Index{P: t.pos, X: x, Key: i}
				}
			}
		default:
			return x, nil
		}
	}
	return nil, err
}

func (p *parser) primary() (Expr, error) {
	t := p.peek()
	switch t.kind {
	case tString:
		p.i++
		s := t.text
		for p.peek().kind == tString { // adjacent literals concatenate
			s += p.advance().text
		}
		return &Lit{P: t.pos, V: s, T: String}, nil
	case tLong:
		p.i++
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return nil, Errorf(t.pos, "", "integer literal %s is out of range", t.text)
		}
		return &Lit{P: t.pos, V: n, T: Long}, nil
	case tReal:
		p.i++
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, Errorf(t.pos, "", "real literal %s is out of range", t.text)
		}
		return &Lit{P: t.pos, V: f, T: Real}, nil
	case tSpan:
		p.i++
		d, err := ParseSpan(t.text)
		if err != nil {
			return nil, Errorf(t.pos, "", "%s", err.Error())
		}
		return &Lit{P: t.pos, V: d, T: TimeSpan}, nil
	case tOp:
		switch t.text {
		case "(":
			p.i++
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			if _, err := p.expect(")"); err != nil {
				return nil, err
			}
			return x, nil
		case "$":
			return p.sideName()
		case "*":
			p.i++
			return &Star{P: t.pos}, nil
		case "[":
			if p.peekAt(1).kind == tString {
				n, err := p.name("a column name")
				if err != nil {
					return nil, err
				}
				return &Ref{P: t.pos, Name: n.text}, nil
			}
		}
		return nil, p.unexpected("an expression")
	case tIdent:
		p.i++
		switch t.text {
		case "true", "false":
			return &Lit{P: t.pos, V: t.text == "true", T: Bool}, nil
		}
		if !p.isOp("(") {
			return &Ref{P: t.pos, Name: t.text}, nil
		}
		switch t.text {
		case "datetime", "timespan", "time":
			return p.rawLiteral(t)
		case "dynamic":
			p.i++
			v, err := p.jsonLit()
			if err != nil {
				return nil, err
			}
			if _, err := p.expect(")"); err != nil {
				return nil, err
			}
			return &DynLit{P: t.pos, V: v}, nil
		}
		p.i++
		c := &Call{P: t.pos, Name: t.text}
		for !p.isOp(")") {
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			c.Args = append(c.Args, x)
			if !p.accept(",") {
				break
			}
		}
		if _, err := p.expect(")"); err != nil {
			return nil, err
		}
		return c, nil
	}
	return nil, p.unexpected("an expression")
}

// rawLiteral reads datetime(...) and timespan(...), whose text between
// the parentheses is not tokens of the language (2026-12-01T10:00:00Z).
func (p *parser) rawLiteral(t token) (Expr, error) {
	p.i++ // (
	rt := p.peek()
	if rt.kind != tRaw {
		return nil, p.unexpected("a literal")
	}
	p.i++
	if _, err := p.expect(")"); err != nil {
		return nil, err
	}
	raw := strings.Trim(rt.text, `"'`)
	if t.text == "datetime" {
		if raw == "null" {
			return &Lit{P: t.pos, V: nil, T: DateTime}, nil
		}
		tm, ok := ParseTime(raw)
		if !ok {
			return nil, Errorf(t.pos, "", "invalid datetime literal %q", raw)
		}
		return &Lit{P: t.pos, V: tm, T: DateTime}, nil
	}
	if raw == "null" {
		return &Lit{P: t.pos, V: nil, T: TimeSpan}, nil
	}
	d, err := ParseSpan(raw)
	if err != nil {
		return nil, Errorf(t.pos, "", "%s", err.Error())
	}
	return &Lit{P: t.pos, V: d, T: TimeSpan}, nil
}

// jsonLit reads the contents of dynamic(...): a JSON-like value whose
// strings may be in single quotes.
func (p *parser) jsonLit() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	t := p.advance()
	switch t.kind {
	case tString:
		return t.text, nil
	case tLong:
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return nil, Errorf(t.pos, "", "integer literal %s is out of range", t.text)
		}
		return n, nil
	case tReal:
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, Errorf(t.pos, "", "real literal %s is out of range", t.text)
		}
		return f, nil
	case tIdent:
		switch t.text {
		case "true", "false":
			return t.text == "true", nil
		case "null":
			return nil, nil
		}
	case tOp:
		switch t.text {
		case "-":
			v, err := p.jsonLit()
			if err != nil {
				return nil, err
			}
			switch x := v.(type) {
			case int64:
				return -x, nil
			case float64:
				return -x, nil
			}
		case "[":
			out := []any{}
			for !p.isOp("]") {
				v, err := p.jsonLit()
				if err != nil {
					return nil, err
				}
				out = append(out, v)
				if !p.accept(",") {
					break
				}
			}
			_, err := p.expect("]")
			return out, err
		case "{":
			out := map[string]any{}
			for !p.isOp("}") {
				k := p.advance()
				if k.kind != tString {
					p.i--
					return nil, p.unexpected("a string key")
				}
				if _, err := p.expect(":"); err != nil {
					return nil, err
				}
				v, err := p.jsonLit()
				if err != nil {
					return nil, err
				}
				out[k.text] = v
				if !p.accept(",") {
					break
				}
			}
			_, err := p.expect("}")
			return out, err
		}
	}
	return nil, Errorf(t.pos, "", "invalid dynamic literal at %q", t.text)
}

// ParseTime reads a datetime literal: a date, and optionally a time of
// day after T or a space, seconds, a fraction and Z.
func ParseTime(s string) (time.Time, bool) {
	s = strings.TrimSuffix(strings.TrimSuffix(s, "Z"), "z")
	for _, layout := range []string{
		"2006-01-02T15:04:05.9999999", "2006-01-02 15:04:05.9999999",
		"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// ParseSpan reads a timespan literal: a number and a unit (7d, 1.5h), or
// [d.]hh:mm[:ss[.fffffff]].
func ParseSpan(s string) (time.Duration, error) {
	if i := strings.IndexFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }); i > 0 {
		unit, ok := spanUnits[s[i:]]
		if !ok {
			return 0, fmt.Errorf("invalid timespan literal %q", s)
		}
		f, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || f*float64(unit) > 9.2e16 {
			return 0, fmt.Errorf("invalid timespan literal %q", s)
		}
		return time.Duration(f*float64(unit)+0.5) * 100, nil
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var days int64
	if i := strings.IndexByte(s, '.'); i >= 0 && i < strings.IndexByte(s, ':') {
		d, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || d > 100000 {
			return 0, fmt.Errorf("invalid timespan literal %q", s)
		}
		days, s = d, s[i+1:]
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("invalid timespan literal %q", s)
	}
	h, err1 := strconv.ParseInt(parts[0], 10, 64)
	m, err2 := strconv.ParseInt(parts[1], 10, 64)
	var sec float64
	var err3 error
	if len(parts) == 3 {
		sec, err3 = strconv.ParseFloat(parts[2], 64)
	}
	if err1 != nil || err2 != nil || err3 != nil || h > 23 || m > 59 || sec >= 60 || h < 0 || m < 0 || sec < 0 {
		return 0, fmt.Errorf("invalid timespan literal %q", s)
	}
	d := time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
		time.Duration(sec*1e7+0.5)*100
	if neg {
		d = -d
	}
	return d, nil
}
