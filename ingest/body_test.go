package ingest

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// A request body's format comes from its Content-Type when that names
// one, else from its first byte, as for a file without an extension; an
// error of the body's start says how the format was chosen.
func TestBodyOptions(t *testing.T) {
	const id = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
	csv := "id,computerDnsName\n" + id + ",a.contoso.com\n"
	jsonl := `{"id":"` + id + `","computerDnsName":"a.contoso.com"}` + "\n" + `{"id":"` + strings.Repeat("b", 40) + `"}`
	array := "\xef\xbb\xbf \n[{\"id\":\"" + id + "\"}]"
	pretty := "{\n  \"id\": \"" + id + "\"\n}\n"
	for _, tc := range []struct {
		name, contentType, body string
		format                  Format
		records                 int
		err                     string // a part of the error; "" for none
	}{
		{"csv without type", "", csv, CSV, 1, ""},
		{"csv as form", "application/x-www-form-urlencoded", csv, CSV, 1, ""},
		{"csv as octet stream", "application/octet-stream", csv, CSV, 1, ""},
		{"csv as text/csv", "text/csv; charset=utf-8", csv, CSV, 1, ""},
		{"ndjson without type", "", jsonl, JSON, 2, ""},
		{"array with bom", "", array, JSON, 1, ""},
		{"pretty object as text/plain", "text/plain", pretty, JSON, 1, ""},
		{"ndjson typed", "application/x-ndjson", jsonl, JSONL, 2, ""},
		{"json typed", "application/json", array, JSON, 1, ""},
		{"vendor json", "application/vnd.example+json", array, JSON, 1, ""},
		{"csv sent as json", "application/json", csv, JSON, 0,
			"line 1: invalid JSON: expected a JSON object or array, found 'i' (the body is read as JSON as its Content-Type application/json says; send CSV as text/csv, JSON Lines as application/x-ndjson)"},
		{"json sent as csv", "text/csv", pretty, CSV, 0, "(the body is read as CSV as its Content-Type text/csv says; send JSON as application/json"},
		{"garbage without type", "", "hello world\n", CSV, 0, "(the body is read as CSV: it has no Content-Type, and it starts with neither '{' nor '['; send CSV as text/csv, JSON as application/json"},
		{"bad record is not about the format", "", `[{"id":"` + id + `","healthStatus":"Fine"}]`, JSON, 0, `line 1: healthStatus: "Fine" is not one of`},
		{"empty", "", "", JSON, 0, "the input is empty: no records"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := BodyOptions(tc.contentType, []byte(tc.body), Machines)
			if o.Format != tc.format {
				t.Errorf("format %v, want %v", o.Format, tc.format)
			}
			r := NewReader(bytes.NewReader([]byte(tc.body)), o)
			n := 0
			var err error
			for err = r.Next(); err == nil; err = r.Next() {
				n++
			}
			var e *Error
			switch {
			case tc.err == "" && err.Error() != "EOF":
				t.Errorf("error %v", err)
			case tc.err != "" && (!errors.As(err, &e) || !strings.Contains(e.Error(), tc.err)):
				t.Errorf("error %v, want one containing %q", err, tc.err)
			case tc.err == "" && n != tc.records:
				t.Errorf("%d records, want %d", n, tc.records)
			}
			if strings.Contains(tc.name, "not about") || tc.name == "empty" {
				if strings.Contains(err.Error(), "the body is read as") {
					t.Errorf("error %v speaks of the format", err)
				}
			}
		})
	}
}

// A trailing comma is reported as what it is, in an array of records, in
// an object and in a record.
func TestTrailingComma(t *testing.T) {
	const id = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
	rec := `{"id":"` + id + `"}`
	for _, tc := range []struct {
		name, input string
		format      Format
		line        int64
		reason      string
	}{
		{"array of records", "[" + rec + ",\n" + rec + ",\n]", JSON, 3, "a comma before ']': JSON allows no trailing comma in an array"},
		{"envelope value", `{"value":[` + rec + `,]}`, JSON, 1, "a comma before ']': JSON allows no trailing comma in an array"},
		{"record", `[{"id":"` + id + `",}]`, JSON, 1, "a comma before '}': JSON allows no trailing comma in an object"},
		{"record in json lines", `{"id":"` + id + `",}`, JSONL, 1, "a comma before '}': JSON allows no trailing comma in an object"},
		{"tags", `{"id":"` + id + `","machineTags":["a",]}`, JSONL, 1, "no trailing comma in an array"},
		{"unknown property value", `{"id":"` + id + `","vmMetadata":{"a":1,}}`, JSONL, 1, "no trailing comma in an object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, _, err := readAll(t, tc.input, Options{Format: tc.format})
			var e *Error
			if !errors.As(err, &e) || e.Line != tc.line || !strings.Contains(e.Reason, tc.reason) || !e.Syntax {
				t.Errorf("got %v, want line %d: %s", err, tc.line, tc.reason)
			}
		})
	}
}
