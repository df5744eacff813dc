package ingest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/openatp/openatp/internal/jsonlex"
)

// lineSource reads JSON Lines: one record per line, blank lines skipped.
type lineSource struct {
	br     *bufio.Reader
	max    int
	line   int64
	buf    []byte
	data   bool
	first  bool
	stream *streamSource // the input turned out to be an OData envelope
}

func (r *Reader) newJSONL() *lineSource {
	return &lineSource{br: r.br, max: r.opts.MaxRecord, first: true}
}

func (s *lineSource) empty() bool {
	if s.stream != nil {
		return s.stream.empty()
	}
	return !s.data
}

func (s *lineSource) next() ([]byte, int64, error) {
	if s.stream != nil {
		return s.stream.next()
	}
	for {
		s.line++
		b, err := s.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			s.buf = append(s.buf[:0], b...)
			for err == bufio.ErrBufferFull {
				if len(s.buf) > s.max {
					return nil, s.line, &Error{Line: s.line, Reason: fmt.Sprintf("the line is longer than %d bytes (the largest record accepted)", s.max), Syntax: true}
				}
				b, err = s.br.ReadSlice('\n')
				s.buf = append(s.buf, b...)
			}
			b = s.buf
		}
		if err != nil && err != io.EOF {
			return nil, s.line, err
		}
		if len(b) > s.max+2 { // the record plus "\r\n"
			return nil, s.line, &Error{Line: s.line, Reason: fmt.Sprintf("the line is longer than %d bytes (the largest record accepted)", s.max), Syntax: true}
		}
		if len(bytes.TrimLeft(b, " \t\r\n")) == 0 {
			if err == io.EOF {
				return nil, s.line, io.EOF
			}
			continue
		}
		s.data = true
		if s.first {
			s.first = false
			if isEnvelope(b) {
				// Read the rest as JSON, starting with this line.
				line := append([]byte(nil), b...)
				s.stream = newStream(bufio.NewReader(io.MultiReader(bytes.NewReader(line), s.br)), s.max, s.line)
				return s.stream.next()
			}
		}
		b = bytes.TrimRight(b, "\r\n")
		return b, s.line, nil
	}
}

// isEnvelope reports whether b starts an object whose first property is
// "value" or an OData annotation ("@odata.context"): an MDE response body.
func isEnvelope(b []byte) bool {
	l := jsonlex.New(b)
	if !l.Consume('{') {
		return false
	}
	key, err := l.StringBytes()
	return err == nil && (string(key) == "value" || bytes.HasPrefix(key, []byte("@")))
}

// streamSource reads JSON: arrays of records, OData envelopes and single
// records, one after another, in any number. Only one record is held in
// memory at a time.
type streamSource struct {
	br   *bufio.Reader
	max  int
	line int64
	buf  []byte
	tmp  []byte
	data bool

	inArray    bool // inside an array of records
	inEnvelope bool // the array is an envelope's "value"
	afterValue bool // inside an envelope, after "value"
	firstElem  bool
}

func newStream(br *bufio.Reader, max int, line int64) *streamSource {
	return &streamSource{br: br, max: max, line: line}
}

func (s *streamSource) empty() bool { return !s.data }

// peek returns the next byte that is not white space without consuming
// it; 0 and io.EOF at the end.
func (s *streamSource) peek() (byte, error) {
	for {
		c, err := s.br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch c {
		case '\n':
			s.line++
			continue
		case ' ', '\t', '\r':
			continue
		}
		s.data = true
		_ = s.br.UnreadByte()
		return c, nil
	}
}

func (s *streamSource) syntax(line int64, format string, args ...any) error {
	return &Error{Line: line, Reason: "invalid JSON: " + fmt.Sprintf(format, args...), Syntax: true}
}

func (s *streamSource) unexpected(c byte, want string) error {
	if c >= 0x20 && c < 0x7f {
		return s.syntax(s.line, "expected %s, found '%c'", want, c)
	}
	return s.syntax(s.line, "expected %s, found byte 0x%x", want, c)
}

// truncated is the error of an input that ends inside a value.
func (s *streamSource) truncated(line int64) error {
	return &Error{Line: line, Reason: "invalid JSON: unexpected end of the input (truncated?)", Syntax: true}
}

func (s *streamSource) next() ([]byte, int64, error) {
	for {
		c, err := s.peek()
		if err == io.EOF {
			if s.inArray || s.afterValue {
				return nil, s.line, s.truncated(s.line)
			}
			return nil, s.line, io.EOF
		}
		if err != nil {
			return nil, s.line, err
		}
		switch {
		case s.inArray:
			if c == ']' {
				_, _ = s.br.ReadByte()
				s.inArray = false
				s.afterValue = s.inEnvelope
				continue
			}
			if !s.firstElem {
				if c != ',' {
					return nil, s.line, s.unexpected(c, "',' or ']'")
				}
				_, _ = s.br.ReadByte()
				if c, err = s.peek(); err != nil {
					return nil, s.line, s.eof(err)
				}
			}
			if c == ']' && !s.firstElem {
				return nil, s.line, s.syntax(s.line, "a comma before ']': JSON allows no trailing comma in an array")
			}
			s.firstElem = false
			if c != '{' {
				return nil, s.line, s.syntax(s.line, "an element of the array is not a JSON object")
			}
			line := s.line
			s.buf = s.buf[:0]
			if err := s.capture(true, line); err != nil {
				return nil, line, err
			}
			return s.buf, line, nil
		case s.afterValue:
			// Only annotations may follow the envelope's "value".
			_, _ = s.br.ReadByte()
			if c == '}' {
				s.afterValue, s.inEnvelope = false, false
				continue
			}
			if c != ',' {
				return nil, s.line, s.unexpected(c, "',' or '}'")
			}
			key, err := s.key()
			if err != nil {
				return nil, s.line, err
			}
			if !strings.HasPrefix(key, "@") {
				return nil, s.line, s.syntax(s.line, "unexpected property %q in the OData envelope after \"value\"", clip(key))
			}
			if err := s.capture(false, s.line); err != nil {
				return nil, s.line, err
			}
		case c == '[':
			_, _ = s.br.ReadByte()
			s.inArray, s.inEnvelope, s.firstElem = true, false, true
		case c == '{':
			b, line, ok, err := s.object()
			if err != nil || ok {
				return b, line, err
			}
		default:
			return nil, s.line, s.unexpected(c, "a JSON object or array")
		}
	}
}

func (s *streamSource) eof(err error) error {
	if err == io.EOF {
		return s.truncated(s.line)
	}
	return err
}

// object reads a top-level object: an OData envelope (its first properties
// annotations, then "value": the array is then read by next) or a single
// record, returned with ok set.
func (s *streamSource) object() (rec []byte, line int64, ok bool, err error) {
	line = s.line
	_, _ = s.br.ReadByte() // '{'
	for first := true; ; first = false {
		c, err := s.peek()
		if err != nil {
			return nil, line, false, s.eof(err)
		}
		if !first {
			_, _ = s.br.ReadByte()
			if c == '}' {
				return nil, line, false, nil // annotations only: no records
			}
			if c != ',' {
				return nil, line, false, s.unexpected(c, "',' or '}'")
			}
			if c, err = s.peek(); err != nil {
				return nil, line, false, s.eof(err)
			}
			if c == '}' {
				return nil, line, false, s.syntax(s.line, "a comma before '}': JSON allows no trailing comma in an object")
			}
		} else if c == '}' {
			_, _ = s.br.ReadByte()
			return []byte("{}"), line, true, nil
		}
		if c != '"' {
			return nil, line, false, s.unexpected(c, "a property name")
		}
		s.tmp = s.tmp[:0]
		if err := s.capture(true, line); err != nil { // the key, raw, into s.buf
			return nil, line, false, err
		}
		raw := append(s.tmp, s.buf...)
		s.tmp = raw
		key, err := jsonlex.New(raw).StringBytes()
		if err != nil {
			return nil, line, false, s.syntax(s.line, "bad property name")
		}
		switch {
		case string(key) == "value":
			if c, err := s.peek(); err != nil || c != ':' {
				return nil, line, false, s.expected(c, err, "':'")
			}
			_, _ = s.br.ReadByte()
			if c, err := s.peek(); err != nil || c != '[' {
				if err == nil && c != '[' {
					return nil, line, false, s.syntax(s.line, "the \"value\" of an OData envelope must be an array of records")
				}
				return nil, line, false, s.expected(c, err, "'['")
			}
			_, _ = s.br.ReadByte()
			s.inArray, s.inEnvelope, s.firstElem = true, true, true
			return nil, line, false, nil
		case bytes.HasPrefix(key, []byte("@")):
			if c, err := s.peek(); err != nil || c != ':' {
				return nil, line, false, s.expected(c, err, "':'")
			}
			_, _ = s.br.ReadByte()
			if err := s.capture(false, line); err != nil {
				return nil, line, false, err
			}
		default:
			// A single record: capture the rest of it after its first
			// property name (annotations before it are dropped).
			s.buf = append(append(s.buf[:0], '{'), raw...)
			if err := s.captureRest(1, line); err != nil {
				return nil, line, false, err
			}
			return s.buf, line, true, nil
		}
	}
}

func (s *streamSource) expected(c byte, err error, want string) error {
	if err != nil {
		return s.eof(err)
	}
	return s.unexpected(c, want)
}

// key reads a property name after white space.
func (s *streamSource) key() (string, error) {
	c, err := s.peek()
	if err != nil {
		return "", s.eof(err)
	}
	if c != '"' {
		return "", s.unexpected(c, "a property name")
	}
	s.buf = s.buf[:0]
	if err := s.capture(true, s.line); err != nil {
		return "", err
	}
	key, err := jsonlex.New(s.buf).StringBytes()
	if err != nil {
		return "", s.syntax(s.line, "bad property name")
	}
	if c, err := s.peek(); err != nil || c != ':' {
		return "", s.expected(c, err, "':'")
	}
	_, _ = s.br.ReadByte()
	return string(key), nil
}

// capture reads one value (after white space) and, if keep, appends its
// bytes to s.buf (at most s.max of them). Only its structure is checked
// here (strings, nesting); the record decoder checks the rest.
func (s *streamSource) capture(keep bool, line int64) error {
	c, err := s.peek()
	if err != nil {
		return s.eof(err)
	}
	if keep {
		s.buf = s.buf[:0]
	}
	switch c {
	case '{', '[':
		_, _ = s.br.ReadByte()
		if keep {
			s.buf = append(s.buf, c)
		}
		return s.captureRestKeep(1, line, keep)
	case '"':
		_, _ = s.br.ReadByte()
		if keep {
			s.buf = append(s.buf, c)
		}
		return s.captureString(keep, line)
	}
	// A number or a literal: up to a delimiter.
	for {
		c, err := s.br.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch c {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			_ = s.br.UnreadByte()
			return nil
		}
		if keep {
			s.buf = append(s.buf, c)
		}
	}
}

func (s *streamSource) captureRest(depth int, line int64) error {
	return s.captureRestKeep(depth, line, true)
}

// captureRestKeep reads to the end of a value nested depth deep.
func (s *streamSource) captureRestKeep(depth int, line int64, keep bool) error {
	for depth > 0 {
		c, err := s.br.ReadByte()
		if err != nil {
			return s.eofAt(err, line)
		}
		if keep {
			s.buf = append(s.buf, c)
			if len(s.buf) > s.max {
				return &Error{Line: line, Reason: fmt.Sprintf("the record is longer than %d bytes (the largest record accepted)", s.max), Syntax: true}
			}
		}
		switch c {
		case '\n':
			s.line++
		case '{', '[':
			depth++
			if depth > jsonlex.MaxDepth+2 {
				return s.syntax(line, "nested too deeply")
			}
		case '}', ']':
			depth--
		case '"':
			if err := s.captureString(keep, line); err != nil {
				return err
			}
		}
	}
	return nil
}

// captureString reads the rest of a string whose opening quote was read.
func (s *streamSource) captureString(keep bool, line int64) error {
	for {
		c, err := s.br.ReadByte()
		if err != nil {
			return s.eofAt(err, line)
		}
		if keep {
			s.buf = append(s.buf, c)
			if len(s.buf) > s.max {
				return &Error{Line: line, Reason: fmt.Sprintf("the record is longer than %d bytes (the largest record accepted)", s.max), Syntax: true}
			}
		}
		switch c {
		case '"':
			return nil
		case '\n':
			s.line++
			return s.syntax(line, "a string runs past the end of line %d (truncated?)", s.line-1)
		case '\\':
			e, err := s.br.ReadByte()
			if err != nil {
				return s.eofAt(err, line)
			}
			if keep {
				s.buf = append(s.buf, e)
			}
			if e == '\n' {
				s.line++
			}
		}
	}
}

func (s *streamSource) eofAt(err error, line int64) error {
	if err == io.EOF {
		return s.truncated(line)
	}
	return err
}
