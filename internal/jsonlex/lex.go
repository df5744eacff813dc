// Package jsonlex is the hand-written JSON lexer of the ingest package: it reads
// one record's bytes without reflection, skips and checks values of any type,
// and returns errors (*SyntaxError) whose messages name what was expected and
// found. It uses the standard library only.
package jsonlex

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Lexer reads JSON from one record's bytes. It is hand-written rather than
// encoding/json so that a record costs no reflection, unknown properties can
// be skipped and counted, null and the wrong type are told apart per
// property, and every error names the property it is about.
type Lexer struct {
	b   []byte
	i   int
	buf []byte // scratch for strings with escapes
}

// MaxDepth bounds the nesting of skipped values.
const MaxDepth = 64

// SyntaxError is a JSON syntax error inside a record.
type SyntaxError struct{ msg string }

func (e *SyntaxError) Error() string { return e.msg }

// New returns a lexer at the start of b.
func New(b []byte) *Lexer { return &Lexer{b: b} }

// Reset moves l to the start of b, keeping its scratch buffer.
func (l *Lexer) Reset(b []byte) { l.b, l.i = b, 0 }

// Errorf returns a *SyntaxError of msg and of the byte at the position
// (or of the end of the record).
func (l *Lexer) Errorf(msg string) error {
	if l.i >= len(l.b) {
		return &SyntaxError{"invalid JSON: unexpected end of the record (truncated?)"}
	}
	c := l.b[l.i]
	if c >= 0x20 && c < 0x7f {
		return &SyntaxError{"invalid JSON: " + msg + ", found '" + string(rune(c)) + "'"}
	}
	return &SyntaxError{"invalid JSON: " + msg + ", found byte 0x" + strconv.FormatUint(uint64(c), 16)}
}

func (l *Lexer) ws() {
	for l.i < len(l.b) {
		switch l.b[l.i] {
		case ' ', '\t', '\n', '\r':
			l.i++
		default:
			return
		}
	}
}

// Peek returns the next byte after white space, or 0 at the end.
func (l *Lexer) Peek() byte {
	l.ws()
	if l.i < len(l.b) {
		return l.b[l.i]
	}
	return 0
}

// Consume skips white space and c, reporting whether c was there.
func (l *Lexer) Consume(c byte) bool {
	if l.Peek() == c {
		l.i++
		return true
	}
	return false
}

// Literal consumes the literal word (true, false, null) at l.i.
func (l *Lexer) Literal(word string) bool {
	if len(l.b)-l.i >= len(word) && string(l.b[l.i:l.i+len(word)]) == word {
		l.i += len(word)
		return true
	}
	return false
}

// Null consumes null if it comes next.
func (l *Lexer) Null() bool {
	return l.Peek() == 'n' && l.Literal("null")
}

// StringBytes reads the JSON string at l.i (after white space) and returns
// its decoded bytes, valid UTF-8, valid until the next call. ErrUTF8 reports
// invalid UTF-8 separately from syntax errors so that the caller can name
// the property.
func (l *Lexer) StringBytes() ([]byte, error) {
	if l.Peek() != '"' {
		return nil, l.Errorf("expected a string")
	}
	l.i++
	start := l.i
	ascii := true
	for j := start; j < len(l.b); j++ {
		c := l.b[j]
		switch {
		case c == '"':
			l.i = j + 1
			s := l.b[start:j]
			if !ascii && !utf8.Valid(s) {
				return nil, ErrUTF8
			}
			return s, nil
		case c == '\\':
			return l.slowString(start, j)
		case c < 0x20:
			l.i = j
			return nil, l.Errorf("control character in a string")
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	l.i = len(l.b)
	return nil, l.Errorf("")
}

// slowString decodes a string with escapes; b[start:j] has none.
func (l *Lexer) slowString(start, j int) ([]byte, error) {
	buf := append(l.buf[:0], l.b[start:j]...)
	defer func() { l.buf = buf[:0] }()
	for j < len(l.b) {
		c := l.b[j]
		switch {
		case c == '"':
			l.i = j + 1
			if !utf8.Valid(buf) {
				return nil, ErrUTF8
			}
			return buf, nil
		case c < 0x20:
			l.i = j
			return nil, l.Errorf("control character in a string")
		case c != '\\':
			buf = append(buf, c)
			j++
			continue
		}
		if j+1 >= len(l.b) {
			l.i = len(l.b)
			return nil, l.Errorf("")
		}
		e := l.b[j+1]
		j += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(l.b, j)
			if !ok {
				l.i = j
				return nil, l.Errorf(`bad \u escape`)
			}
			j += 4
			if utf16.IsSurrogate(r) {
				r2, ok := rune(-1), false
				if j+6 <= len(l.b) && l.b[j] == '\\' && l.b[j+1] == 'u' {
					r2, ok = hex4(l.b, j+2)
				}
				if ok {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						j += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			l.i = j - 1
			return nil, l.Errorf("bad escape in a string")
		}
	}
	l.i = len(l.b)
	return nil, l.Errorf("")
}

func hex4(b []byte, j int) (rune, bool) {
	if j+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[j : j+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// ErrUTF8 is a string that is not valid UTF-8.
var ErrUTF8 = &SyntaxError{"is not valid UTF-8"}

// Number reads a JSON number at l.i and returns its text.
func (l *Lexer) Number() ([]byte, error) {
	l.ws()
	start := l.i
	b := l.b
	i := l.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		l.i = i
		return nil, l.Errorf("expected a value")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			l.i = i
			return nil, l.Errorf("bad number")
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			l.i = i
			return nil, l.Errorf("bad number")
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	l.i = i
	return b[start:i], nil
}

// Skip reads and checks one value of any type.
func (l *Lexer) Skip(depth int) error {
	if depth > MaxDepth {
		return l.Errorf("nested too deeply")
	}
	switch l.Peek() {
	case '"':
		_, err := l.StringBytes()
		if err == ErrUTF8 {
			return nil // not ours to judge: the value is ignored
		}
		return err
	case '{':
		l.i++
		if l.Consume('}') {
			return nil
		}
		for {
			if _, err := l.StringBytes(); err != nil && err != ErrUTF8 {
				return err
			}
			if !l.Consume(':') {
				return l.Errorf("expected ':'")
			}
			if err := l.Skip(depth + 1); err != nil {
				return err
			}
			if l.Consume('}') {
				return nil
			}
			if !l.Consume(',') {
				return l.Errorf("expected ',' or '}'")
			}
			if l.Peek() == '}' {
				return l.trailingComma('}')
			}
		}
	case '[':
		l.i++
		if l.Consume(']') {
			return nil
		}
		for {
			if err := l.Skip(depth + 1); err != nil {
				return err
			}
			if l.Consume(']') {
				return nil
			}
			if !l.Consume(',') {
				return l.Errorf("expected ',' or ']'")
			}
			if l.Peek() == ']' {
				return l.trailingComma(']')
			}
		}
	case 't':
		if l.Literal("true") {
			return nil
		}
	case 'f':
		if l.Literal("false") {
			return nil
		}
	case 'n':
		if l.Literal("null") {
			return nil
		}
	default:
		_, err := l.Number()
		return err
	}
	return l.Errorf("expected a value")
}

// Object calls field for each property of the object at l.i (after white
// space); field must consume the value. Duplicate keys are the caller's to
// find.
func (l *Lexer) Object(field func(key []byte) error) error {
	if !l.Consume('{') {
		return l.Errorf("expected an object")
	}
	if l.Consume('}') {
		return nil
	}
	for {
		key, err := l.StringBytes()
		if err == ErrUTF8 {
			return &SyntaxError{"a property name is not valid UTF-8"}
		}
		if err != nil {
			return err
		}
		if !l.Consume(':') {
			return l.Errorf("expected ':'")
		}
		if err := field(key); err != nil {
			return err
		}
		if l.Consume('}') {
			return nil
		}
		if !l.Consume(',') {
			return l.Errorf("expected ',' or '}'")
		}
		if l.Peek() == '}' {
			return l.trailingComma('}')
		}
	}
}

// trailingComma is the error of a comma before the closing bracket.
func (l *Lexer) trailingComma(closing byte) error {
	what := "an object"
	if closing == ']' {
		what = "an array"
	}
	return &SyntaxError{"invalid JSON: a comma before '" + string(rune(closing)) + "': JSON allows no trailing comma in " + what}
}

// End checks that nothing but white space follows.
func (l *Lexer) End() error {
	if l.Peek() != 0 || l.i < len(l.b) {
		return l.Errorf("unexpected data after the record")
	}
	return nil
}
