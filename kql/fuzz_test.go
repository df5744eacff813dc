package kql_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/openatp/openatp/kql"
)

// FuzzParse checks that Parse never panics, that every error it returns
// is a *kql.Error whose position lies in the query, and that a query it
// accepts runs over the tenant without panicking, within the limits, to
// a result whose rows fit its schema or to an error of the same kind.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/conformance/*.txt")
	for _, path := range files {
		for _, c := range readCases(f, path) {
			f.Add(c.Query)
		}
	}
	ten := loadTenant(f)
	f.Fuzz(func(t *testing.T, s string) {
		q, err := kql.Parse(s)
		if err != nil {
			checkError(t, s, err)
			return
		}
		if len(s) > 2000 {
			return
		}
		opt := kql.Options{Now: ten.now, MaxRows: 200, MaxHeld: 2000}
		res, err := q.Run(context.Background(), ten.tables, opt)
		if err != nil {
			var e *kql.Error
			if !errors.As(err, &e) {
				t.Fatalf("Run(%q): error %T is not a *kql.Error: %v", s, err, err)
			}
			if e.Pos != (kql.Pos{}) {
				checkError(t, s, err)
			}
			return
		}
		if len(res.Rows) > opt.MaxRows {
			t.Fatalf("Run(%q): %d rows past the limit of %d", s, len(res.Rows), opt.MaxRows)
		}
		for _, row := range res.Rows {
			if len(row) != len(res.Columns) {
				t.Fatalf("Run(%q): a row of %d values for %d columns", s, len(row), len(res.Columns))
			}
		}
		if _, err := res.MarshalJSON(); err != nil {
			t.Fatalf("Run(%q): the result does not encode: %v", s, err)
		}
	})
}

// checkError checks that err is a *kql.Error positioned in the query.
func checkError(t *testing.T, s string, err error) {
	t.Helper()
	var e *kql.Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse(%q): error %T is not a *kql.Error: %v", s, err, err)
	}
	lines := strings.Split(s, "\n")
	if e.Pos.Line < 1 || e.Pos.Line > len(lines) {
		t.Fatalf("Parse(%q): error on line %d of %d: %v", s, e.Pos.Line, len(lines), err)
	}
	if n := utf8.RuneCountInString(lines[e.Pos.Line-1]); e.Pos.Col < 1 || e.Pos.Col > n+1 {
		t.Fatalf("Parse(%q): error at column %d of a line of %d: %v", s, e.Pos.Col, n, err)
	}
}
