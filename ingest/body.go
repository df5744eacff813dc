package ingest

import (
	"bytes"
	"mime"
	"strings"
)

// BodyOptions returns the Options of a request body of records of kind,
// sent with Content-Type contentType. The types of JSON Lines
// (application/x-ndjson, application/jsonl, ...), of CSV (text/csv,
// application/csv) and of JSON (application/json, and any type ending in
// +json) choose their format. Any other type, or none (curl -d sends
// application/x-www-form-urlencoded, --data-binary too), leaves the
// format to the body, as `openatp import` does for a file without an
// extension: JSON when its first byte (after a byte order mark and white
// space) is '{' or '[' (several objects one after another are JSON too,
// so NDJSON is read), else CSV.
//
// A syntax error of the first record then says how the format was chosen,
// so that a body read as the wrong format is seen as such.
func BodyOptions(contentType string, body []byte, kind Kind) Options {
	mt, _, _ := mime.ParseMediaType(contentType)
	o := Options{Kind: kind}
	switch {
	case mt == "application/x-ndjson" || mt == "application/ndjson" || mt == "application/jsonl" ||
		mt == "application/x-jsonlines" || mt == "application/jsonlines" || mt == "application/json-lines":
		o.Format = JSONL
	case mt == "text/csv" || mt == "application/csv":
		o.Format = CSV
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		o.Format = JSON
	}
	if o.Format != Auto {
		o.formatNote = "read as " + o.Format.name() + " as its Content-Type " + mt + " says; send " + otherTypes(o.Format)
		return o
	}
	b := bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	b = bytes.TrimLeft(b, " \t\r\n")
	o.Format = CSV
	if len(b) == 0 || b[0] == '{' || b[0] == '[' {
		o.Format = JSON
	}
	how := "its Content-Type " + mt
	if mt == "" {
		how = "it has no Content-Type"
	}
	o.formatNote = "read as " + o.Format.name() + ": " + how + ", and it starts with "
	if o.Format == JSON {
		o.formatNote += "'{' or '['"
	} else {
		o.formatNote += "neither '{' nor '['"
	}
	o.formatNote += "; send " + otherTypes(Auto)
	return o
}

// name is the format's name in messages.
func (f Format) name() string {
	switch f {
	case JSONL:
		return "JSON Lines"
	case JSON:
		return "JSON"
	case CSV:
		return "CSV"
	}
	return "auto"
}

// otherTypes names the Content-Types of the formats other than f.
func otherTypes(f Format) string {
	var out []string
	for _, t := range []struct {
		f  Format
		mt string
	}{{CSV, "CSV as text/csv"}, {JSON, "JSON as application/json"}, {JSONL, "JSON Lines as application/x-ndjson"}} {
		if t.f != f {
			out = append(out, t.mt)
		}
	}
	return strings.Join(out, ", ")
}
