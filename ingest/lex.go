package ingest

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// lexer reads JSON from one record's bytes. It is hand-written rather than
// encoding/json so that a record costs no reflection, unknown properties can
// be skipped and counted, null and the wrong type are told apart per
// property, and every error names the property it is about.
type lexer struct {
	b   []byte
	i   int
	buf []byte // scratch for strings with escapes
}

// maxDepth bounds the nesting of skipped values.
const maxDepth = 64

// syntaxError is a JSON syntax error inside a record.
type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return e.msg }

func (l *lexer) errorf(msg string) error {
	if l.i >= len(l.b) {
		return &syntaxError{"invalid JSON: unexpected end of the record (truncated?)"}
	}
	c := l.b[l.i]
	if c >= 0x20 && c < 0x7f {
		return &syntaxError{"invalid JSON: " + msg + ", found '" + string(rune(c)) + "'"}
	}
	return &syntaxError{"invalid JSON: " + msg + ", found byte 0x" + strconv.FormatUint(uint64(c), 16)}
}

func (l *lexer) ws() {
	for l.i < len(l.b) {
		switch l.b[l.i] {
		case ' ', '\t', '\n', '\r':
			l.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (l *lexer) peek() byte {
	l.ws()
	if l.i < len(l.b) {
		return l.b[l.i]
	}
	return 0
}

// consume skips white space and c, reporting whether c was there.
func (l *lexer) consume(c byte) bool {
	if l.peek() == c {
		l.i++
		return true
	}
	return false
}

// literal consumes the literal word (true, false, null) at l.i.
func (l *lexer) literal(word string) bool {
	if len(l.b)-l.i >= len(word) && string(l.b[l.i:l.i+len(word)]) == word {
		l.i += len(word)
		return true
	}
	return false
}

// null consumes null if it comes next.
func (l *lexer) null() bool {
	return l.peek() == 'n' && l.literal("null")
}

// stringBytes reads the JSON string at l.i (after white space) and returns
// its decoded bytes, valid UTF-8, valid until the next call. errUTF8 reports
// invalid UTF-8 separately from syntax errors so that the caller can name
// the property.
func (l *lexer) stringBytes() ([]byte, error) {
	if l.peek() != '"' {
		return nil, l.errorf("expected a string")
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
				return nil, errUTF8
			}
			return s, nil
		case c == '\\':
			return l.slowString(start, j)
		case c < 0x20:
			l.i = j
			return nil, l.errorf("control character in a string")
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	l.i = len(l.b)
	return nil, l.errorf("")
}

// slowString decodes a string with escapes; b[start:j] has none.
func (l *lexer) slowString(start, j int) ([]byte, error) {
	buf := append(l.buf[:0], l.b[start:j]...)
	defer func() { l.buf = buf[:0] }()
	for j < len(l.b) {
		c := l.b[j]
		switch {
		case c == '"':
			l.i = j + 1
			if !utf8.Valid(buf) {
				return nil, errUTF8
			}
			return buf, nil
		case c < 0x20:
			l.i = j
			return nil, l.errorf("control character in a string")
		case c != '\\':
			buf = append(buf, c)
			j++
			continue
		}
		if j+1 >= len(l.b) {
			l.i = len(l.b)
			return nil, l.errorf("")
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
				return nil, l.errorf(`bad \u escape`)
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
			return nil, l.errorf("bad escape in a string")
		}
	}
	l.i = len(l.b)
	return nil, l.errorf("")
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

// errUTF8 is a string that is not valid UTF-8.
var errUTF8 = &syntaxError{"is not valid UTF-8"}

// number reads a JSON number at l.i and returns its text.
func (l *lexer) number() ([]byte, error) {
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
		return nil, l.errorf("expected a value")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			l.i = i
			return nil, l.errorf("bad number")
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
			return nil, l.errorf("bad number")
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	l.i = i
	return b[start:i], nil
}

// skip reads and checks one value of any type.
func (l *lexer) skip(depth int) error {
	if depth > maxDepth {
		return l.errorf("nested too deeply")
	}
	switch l.peek() {
	case '"':
		_, err := l.stringBytes()
		if err == errUTF8 {
			return nil // not ours to judge: the value is ignored
		}
		return err
	case '{':
		l.i++
		if l.consume('}') {
			return nil
		}
		for {
			if _, err := l.stringBytes(); err != nil && err != errUTF8 {
				return err
			}
			if !l.consume(':') {
				return l.errorf("expected ':'")
			}
			if err := l.skip(depth + 1); err != nil {
				return err
			}
			if l.consume('}') {
				return nil
			}
			if !l.consume(',') {
				return l.errorf("expected ',' or '}'")
			}
			if l.peek() == '}' {
				return l.trailingComma('}')
			}
		}
	case '[':
		l.i++
		if l.consume(']') {
			return nil
		}
		for {
			if err := l.skip(depth + 1); err != nil {
				return err
			}
			if l.consume(']') {
				return nil
			}
			if !l.consume(',') {
				return l.errorf("expected ',' or ']'")
			}
			if l.peek() == ']' {
				return l.trailingComma(']')
			}
		}
	case 't':
		if l.literal("true") {
			return nil
		}
	case 'f':
		if l.literal("false") {
			return nil
		}
	case 'n':
		if l.literal("null") {
			return nil
		}
	default:
		_, err := l.number()
		return err
	}
	return l.errorf("expected a value")
}

// object calls field for each property of the object at l.i (after white
// space); field must consume the value. Duplicate keys are the caller's to
// find.
func (l *lexer) object(field func(key []byte) error) error {
	if !l.consume('{') {
		return l.errorf("expected an object")
	}
	if l.consume('}') {
		return nil
	}
	for {
		key, err := l.stringBytes()
		if err == errUTF8 {
			return &syntaxError{"a property name is not valid UTF-8"}
		}
		if err != nil {
			return err
		}
		if !l.consume(':') {
			return l.errorf("expected ':'")
		}
		if err := field(key); err != nil {
			return err
		}
		if l.consume('}') {
			return nil
		}
		if !l.consume(',') {
			return l.errorf("expected ',' or '}'")
		}
		if l.peek() == '}' {
			return l.trailingComma('}')
		}
	}
}

// trailingComma is the error of a comma before the closing bracket.
func (l *lexer) trailingComma(closing byte) error {
	what := "an object"
	if closing == ']' {
		what = "an array"
	}
	return &syntaxError{"invalid JSON: a comma before '" + string(rune(closing)) + "': JSON allows no trailing comma in " + what}
}

// end checks that nothing but white space follows.
func (l *lexer) end() error {
	if l.peek() != 0 || l.i < len(l.b) {
		return l.errorf("unexpected data after the record")
	}
	return nil
}
