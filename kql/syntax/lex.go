package syntax

import (
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of a token.
type tokKind uint8

const (
	tEOF    tokKind = iota
	tIdent          // a name or keyword, hyphenated operator names included
	tString         // a string literal, its value unquoted
	tLong           // an integer literal
	tReal           // a real literal
	tSpan           // a timespan literal such as 7d
	tOp             // punctuation or an operator (==, !has, in~, ...)
	tRaw            // the text between the parentheses of datetime(...)
)

// Pos is a position in a query: a 1-based line and a 1-based column
// counted in characters.
type Pos struct {
	Line, Col int
}

// token is one token of a query.
type token struct {
	kind tokKind
	text string // the value of a string, the spelling of anything else
	pos  Pos
	off  int  // byte offset of the token
	end  int  // byte offset just after it
	sp   bool // whitespace or a comment came just before it
}

// hyphenated lists the operator names spelt with a hyphen, those of the
// subset and those outside it (so that an error names them whole).
var hyphenated = map[string]bool{
	"project-away": true, "project-rename": true, "project-keep": true,
	"project-reorder": true, "mv-expand": true, "mv-apply": true,
	"make-series": true, "top-nested": true, "top-hitters": true,
	"find-in": true, "project-smart": true,
}

// lexer splits a query into tokens.
type lexer struct {
	src  string
	off  int
	line int
	lcol int // byte offset where the current line starts
}

// lex returns the tokens of src, ending with a tEOF token, or an error
// naming the position of the first character it cannot read.
func lex(src string) ([]token, error) {
	l := &lexer{src: src, line: 1}
	var toks []token
	for {
		sp := l.skipSpace()
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		t.sp = sp
		toks = append(toks, t)
		if t.kind == tEOF {
			return toks, nil
		}
		if t.kind == tIdent && (t.text == "datetime" || t.text == "timespan" || t.text == "time") {
			toks = l.raw(toks)
		}
	}
}

// raw reads the parenthesized text after datetime and timespan, which
// is not made of tokens (2026-12-01T10:00:00Z, 1.02:00:00), as "(", one
// tRaw token and ")".
func (l *lexer) raw(toks []token) []token {
	sp := l.skipSpace()
	if l.off >= len(l.src) || l.src[l.off] != '(' {
		return toks
	}
	toks = append(toks, token{kind: tOp, text: "(", pos: l.pos(l.off), off: l.off, end: l.off + 1, sp: sp})
	l.off++
	start := l.off
	for l.off < len(l.src) && l.src[l.off] != ')' && l.src[l.off] != '\n' {
		l.off++
	}
	return append(toks, token{kind: tRaw, text: strings.TrimSpace(l.src[start:l.off]), pos: l.pos(start), off: start, end: l.off})
}

func (l *lexer) pos(off int) Pos {
	return Pos{Line: l.line, Col: utf8.RuneCountInString(l.src[l.lcol:off]) + 1}
}

// skipSpace skips white space and // comments, and reports whether it
// skipped any.
func (l *lexer) skipSpace() bool {
	start := l.off
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == '\n':
			l.off++
			l.line++
			l.lcol = l.off
		case c == ' ' || c == '\t' || c == '\r':
			l.off++
		case c == '/' && strings.HasPrefix(l.src[l.off:], "//"):
			for l.off < len(l.src) && l.src[l.off] != '\n' {
				l.off++
			}
		default:
			return l.off > start
		}
	}
	return l.off > start
}

func isLetter(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// spanUnits maps the suffixes of timespan literals to their length in
// 100-nanosecond ticks.
var spanUnits = map[string]int64{
	"d": 864e9, "day": 864e9, "days": 864e9,
	"h": 36e9, "hr": 36e9, "hrs": 36e9, "hour": 36e9, "hours": 36e9,
	"m": 6e8, "min": 6e8, "minute": 6e8, "minutes": 6e8,
	"s": 1e7, "sec": 1e7, "second": 1e7, "seconds": 1e7,
	"ms": 1e4, "milli": 1e4, "millis": 1e4, "millisecond": 1e4, "milliseconds": 1e4,
	"microsecond": 10, "microseconds": 10, "tick": 1, "ticks": 1,
}

// ops lists the punctuation and operators, longest first.
var ops = []string{
	"!contains", "!startswith", "!endswith", "!between", "!has", "!in~", "!in",
	"==", "!=", "=~", "!~", "<=", ">=", "..", "=>",
	"|", "(", ")", "[", "]", "{", "}", ",", ";", "=", "<", ">", "+", "-", "*",
	"/", "%", ".", ":", "$", "~", "@", "?",
}

func (l *lexer) next() (token, error) {
	start := l.off
	t := token{off: start, pos: l.pos(start)}
	done := func(k tokKind, text string) (token, error) {
		t.kind, t.text, t.end = k, text, l.off
		return t, nil
	}
	if l.off >= len(l.src) {
		return done(tEOF, "")
	}
	c := l.src[l.off]
	switch {
	case c == '@' && l.off+1 < len(l.src) && (l.src[l.off+1] == '"' || l.src[l.off+1] == '\''):
		q := l.src[l.off+1]
		i := strings.IndexByte(l.src[l.off+2:], q)
		if i < 0 {
			return t, Errorf(t.pos, "", "unterminated string literal")
		}
		s := l.src[l.off+2 : l.off+2+i]
		if strings.IndexByte(s, '\n') >= 0 {
			return t, Errorf(t.pos, "", "unterminated string literal")
		}
		l.off += 3 + i
		return done(tString, s)
	case c == '"' || c == '\'':
		s, err := l.quoted(t.pos)
		if err != nil {
			return t, err
		}
		return done(tString, s)
	case isLetter(c):
		for l.off < len(l.src) && (isLetter(l.src[l.off]) || isDigit(l.src[l.off])) {
			l.off++
		}
		w := l.src[start:l.off]
		// mv-expand, project-away: a name, a hyphen, a name, no spaces.
		if l.off+1 < len(l.src) && l.src[l.off] == '-' && isLetter(l.src[l.off+1]) {
			e := l.off + 1
			for e < len(l.src) && (isLetter(l.src[e]) || isDigit(l.src[e])) {
				e++
			}
			if hyphenated[l.src[start:e]] {
				l.off = e
				w = l.src[start:e]
			}
		}
		if w == "in" && l.off < len(l.src) && l.src[l.off] == '~' {
			l.off++
			w = "in~"
		}
		return done(tIdent, w)
	case isDigit(c):
		return l.number(t)
	}
	for _, op := range ops {
		if strings.HasPrefix(l.src[l.off:], op) {
			// !has and friends only when no letter follows (!hasprefix).
			if isLetter(op[len(op)-1]) {
				e := l.off + len(op)
				if e < len(l.src) && (isLetter(l.src[e]) || isDigit(l.src[e])) {
					continue
				}
			}
			l.off += len(op)
			return done(tOp, op)
		}
	}
	if c == '!' { // !hasprefix, !contains_cs: an operator outside the subset
		e := l.off + 1
		for e < len(l.src) && (isLetter(l.src[e]) || isDigit(l.src[e])) {
			e++
		}
		if e > l.off+1 {
			l.off = e
			return done(tOp, l.src[start:e])
		}
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.off:])
	return t, Errorf(t.pos, "", "unexpected character %q", r)
}

// quoted reads a string literal between single or double quotes, with
// backslash escapes.
func (l *lexer) quoted(p Pos) (string, error) {
	q := l.src[l.off]
	l.off++
	var b strings.Builder
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == q:
			l.off++
			return b.String(), nil
		case c == '\n':
			return "", Errorf(p, "", "unterminated string literal")
		case c == '\\':
			if l.off+1 >= len(l.src) {
				return "", Errorf(p, "", "unterminated string literal")
			}
			e := l.src[l.off+1]
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '\\', '\'', '"':
				b.WriteByte(e)
			default:
				return "", Errorf(l.pos(l.off), "", "unknown escape sequence \\%c in a string literal", e)
			}
			l.off += 2
		default:
			b.WriteByte(c)
			l.off++
		}
	}
	return "", Errorf(p, "", "unterminated string literal")
}

// number reads an integer, a real or a timespan literal (7d, 1.5h, 30m).
func (l *lexer) number(t token) (token, error) {
	start := l.off
	for l.off < len(l.src) && isDigit(l.src[l.off]) {
		l.off++
	}
	kind := tLong
	if l.off+1 < len(l.src) && l.src[l.off] == '.' && isDigit(l.src[l.off+1]) {
		kind = tReal
		l.off++
		for l.off < len(l.src) && isDigit(l.src[l.off]) {
			l.off++
		}
	}
	if l.off < len(l.src) && (l.src[l.off] == 'e' || l.src[l.off] == 'E') {
		e := l.off + 1
		if e < len(l.src) && (l.src[e] == '+' || l.src[e] == '-') {
			e++
		}
		if e < len(l.src) && isDigit(l.src[e]) {
			for e < len(l.src) && isDigit(l.src[e]) {
				e++
			}
			l.off = e
			kind = tReal
		}
	}
	if l.off < len(l.src) && isLetter(l.src[l.off]) {
		e := l.off
		for e < len(l.src) && (isLetter(l.src[e]) || isDigit(l.src[e])) {
			e++
		}
		if _, ok := spanUnits[l.src[l.off:e]]; !ok {
			return t, Errorf(t.pos, "", "invalid number or timespan literal %q", l.src[start:e])
		}
		l.off = e
		kind = tSpan
	}
	t.kind, t.text, t.end = kind, l.src[start:l.off], l.off
	return t, nil
}
