package jsonlex

import (
	"strings"
	"testing"
)

func TestSkipErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a":1,}`, "invalid JSON: a comma before '}': JSON allows no trailing comma in an object"},
		{`[1,]`, "invalid JSON: a comma before ']': JSON allows no trailing comma in an array"},
		{`"abc`, "invalid JSON: unexpected end of the record (truncated?)"},
		{`tru`, "invalid JSON: expected a value, found 't'"},
		{"\"a\x01\"", "invalid JSON: control character in a string, found byte 0x1"},
		{`"a\x"`, "invalid JSON: bad escape in a string, found 'x'"},
		{`{"a" 1}`, "invalid JSON: expected ':', found '1'"},
		{strings.Repeat("[", MaxDepth+2), "invalid JSON: nested too deeply, found '['"},
		{`{"a":[1,{"b":null}],"c":"\ud83d"}`, ""},
	} {
		err := New([]byte(tc.in)).Skip(0)
		got := ""
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Errorf("%s: error %T, want *SyntaxError", tc.in, err)
			}
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: error %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestStringBytes(t *testing.T) {
	got, err := New([]byte(` "a\u00e9\ud83d\ude00\n\ud83d!"`)).StringBytes()
	if want := "aé😀\n\uFFFD!"; err != nil || string(got) != want {
		t.Errorf("got %q, %v, want %q", got, err, want)
	}
	if _, err := New([]byte("\"\xff\"")).StringBytes(); err != ErrUTF8 {
		t.Errorf("invalid UTF-8: error %v, want ErrUTF8", err)
	}
}

func TestNumberEnd(t *testing.T) {
	var l Lexer
	l.Reset([]byte(" -1.5e+3x"))
	num, err := l.Number()
	if err != nil || string(num) != "-1.5e+3" {
		t.Fatalf("Number: %q, %v", num, err)
	}
	if err := l.End(); err == nil || err.Error() != "invalid JSON: unexpected data after the record, found 'x'" {
		t.Errorf("End: %v", err)
	}
	l.Reset([]byte("1."))
	if _, err := l.Number(); err == nil || err.Error() != "invalid JSON: unexpected end of the record (truncated?)" {
		t.Errorf("Number of 1.: %v", err)
	}
}

func TestObject(t *testing.T) {
	l := New([]byte(`{"a": null, "b": true} `))
	var keys []string
	err := l.Object(func(key []byte) error {
		keys = append(keys, string(key))
		if !l.Null() && !l.Literal("true") {
			t.Errorf("%s: neither null nor true", key)
		}
		return nil
	})
	if err != nil || strings.Join(keys, ",") != "a,b" || l.End() != nil {
		t.Errorf("keys %q, error %v", keys, err)
	}
	err = New([]byte("{\"\xff\":1}")).Object(func([]byte) error { return nil })
	if err == nil || err.Error() != "a property name is not valid UTF-8" {
		t.Errorf("bad key: %v", err)
	}
}
