package odata

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// tokKind is the kind of a lexical token.
type tokKind uint8

const (
	tEOF    tokKind = iota
	tIdent          // name, keyword, function, true/false/null
	tString         // 'single-quoted'
	tInt            // -?[0-9]+
	tTime           // 2018-08-01Z, 2019-11-22T00:00:00.1234567+01:00
	tLParen
	tRParen
	tComma
	tColon
	tSlash
	tStar
	tLBracket // '[' opening the list of in, as Sekoia sends it
	tRBracket
)

// token is one lexical token. pos is its 1-based byte position; text is its
// source text (for a string, its value: quotes removed, doubled quotes undone).
type token struct {
	kind tokKind
	pos  int
	text string
	num  int64     // tInt
	time time.Time // tTime, in UTC
}

// describe names the token in an error message.
func (t token) describe() string {
	if t.kind == tEOF {
		return "end of input"
	}
	if t.kind == tString {
		return quote(t.text)
	}
	return "'" + t.text + "'"
}

// quote writes s as an OData string literal.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// lexer reads tokens from src on demand, so that the first fault in the
// text is the one reported.
type lexer struct {
	src    string
	option string // for errors
	off    int    // byte offset of the next unread byte
}

func (l *lexer) errorf(pos int, format string, args ...any) *Error {
	return errorf(l.option, pos, format, args...)
}

// isSpace reports whether c separates tokens. A '+' does: it is how a
// form-encoded space that was not decoded arrives.
func isSpace(c byte) bool {
	return c == ' ' || c == '+' || c == '\t' || c == '\n' || c == '\r'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isIdentStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

func isIdentByte(c byte) bool { return isIdentStart(c) || isDigit(c) }

// isIdent reports whether s is a whole identifier.
func isIdent(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentByte(s[i]) {
			return false
		}
	}
	return true
}

// next returns the next token.
func (l *lexer) next() (token, error) {
	for l.off < len(l.src) && isSpace(l.src[l.off]) {
		l.off++
	}
	start := l.off
	t := token{pos: start + 1}
	if start == len(l.src) {
		return t, nil
	}
	c := l.src[start]
	switch {
	case punct(c) != tEOF:
		l.off++
		t.kind, t.text = punct(c), l.src[start:l.off]
		return t, nil
	case isIdentStart(c):
		for l.off < len(l.src) && isIdentByte(l.src[l.off]) {
			l.off++
		}
		t.kind, t.text = tIdent, l.src[start:l.off]
		return t, nil
	case c == '\'':
		return l.str()
	case isDigit(c) || c == '-' && start+1 < len(l.src) && isDigit(l.src[start+1]):
		if isDateStart(l.src[start:]) {
			return l.date()
		}
		return l.number()
	}
	r, _ := utf8.DecodeRuneInString(l.src[start:])
	return t, l.errorf(t.pos, "unexpected character %q", r)
}

// punct returns the kind of a one-byte token, or tEOF.
func punct(c byte) tokKind {
	switch c {
	case '(':
		return tLParen
	case ')':
		return tRParen
	case ',':
		return tComma
	case ':':
		return tColon
	case '/':
		return tSlash
	case '*':
		return tStar
	case '[':
		return tLBracket
	case ']':
		return tRBracket
	}
	return tEOF
}

// str reads a string literal; l.off is at its opening quote.
func (l *lexer) str() (token, error) {
	t := token{kind: tString, pos: l.off + 1}
	var b strings.Builder
	for i := l.off + 1; i < len(l.src); i++ {
		if l.src[i] != '\'' {
			continue
		}
		b.WriteString(l.src[l.off+1 : i])
		if i+1 < len(l.src) && l.src[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			l.off = i // the next run starts after the doubled quote
			continue
		}
		l.off = i + 1
		t.text = b.String()
		return t, nil
	}
	return t, l.errorf(t.pos, "unterminated string literal")
}

// number reads an integer literal.
func (l *lexer) number() (token, error) {
	start := l.off
	t := token{kind: tInt, pos: start + 1}
	l.off++ // a digit or '-'
	for l.off < len(l.src) && isDigit(l.src[l.off]) {
		l.off++
	}
	if l.off < len(l.src) && (isIdentByte(l.src[l.off]) || l.src[l.off] == '.') {
		end := l.off
		for end < len(l.src) && (isIdentByte(l.src[end]) || l.src[end] == '.') {
			end++
		}
		return t, l.errorf(t.pos, "invalid number '%s': only integers are supported", l.src[start:end])
	}
	t.text = l.src[start:l.off]
	n, err := strconv.ParseInt(t.text, 10, 64)
	if err != nil {
		return t, l.errorf(t.pos, "number '%s' is out of range", t.text)
	}
	t.num = n
	return t, nil
}

// isDateStart reports whether s starts like a date literal: four digits
// and a dash.
func isDateStart(s string) bool {
	return len(s) >= 5 && isDigit(s[0]) && isDigit(s[1]) && isDigit(s[2]) && isDigit(s[3]) && s[4] == '-'
}
