// Package kqltest holds what the tests of the hunting language share: the
// fixed small tenant of kql/testdata/tenant.json, the cases of the
// conformance table (kql/testdata/conformance), and the form their
// results are compared in. kql's tests run the table in memory; the SQL
// stores' tests run it through the push-down to SQL (huntsql).
package kqltest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp/kql"
)

// Tenant is the fixed small tenant: its clock and its tables.
type Tenant struct {
	Now    time.Time
	Tables []Table
}

// Table is a table of the tenant: its rows, a value a column, of the
// column's type (kql.Table's Rows).
type Table struct {
	Name    string
	Columns []kql.Column
	Rows    [][]any
}

// KQLTables returns the tables held in memory (kql.NewTable).
func (t Tenant) KQLTables() []kql.Table {
	var ts []kql.Table
	for _, tab := range t.Tables {
		ts = append(ts, kql.NewTable(tab.Name, tab.Columns, tab.Rows))
	}
	return ts
}

// ReadTenant reads the tenant file at path.
func ReadTenant(path string) (Tenant, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Tenant{}, err
	}
	var doc struct {
		Now    time.Time
		Tables []struct {
			Name    string
			Columns [][2]string
			Rows    [][]json.RawMessage
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return Tenant{}, err
	}
	types := map[string]kql.Type{
		"string": kql.String, "long": kql.Long, "int": kql.Int, "real": kql.Real, "bool": kql.Bool,
		"datetime": kql.DateTime, "timespan": kql.TimeSpan, "dynamic": kql.Dynamic, "guid": kql.Guid,
	}
	t := Tenant{Now: doc.Now}
	for _, tab := range doc.Tables {
		cols := make([]kql.Column, len(tab.Columns))
		for i, c := range tab.Columns {
			ty, ok := types[c[1]]
			if !ok {
				return Tenant{}, fmt.Errorf("%s.%s: unknown type %s", tab.Name, c[0], c[1])
			}
			cols[i] = kql.Column{Name: c[0], Type: ty}
		}
		var rows [][]any
		for n, raw := range tab.Rows {
			if len(raw) != len(cols) {
				return Tenant{}, fmt.Errorf("%s row %d: %d values for %d columns", tab.Name, n+1, len(raw), len(cols))
			}
			row := make([]any, len(cols))
			for i, r := range raw {
				v, err := value(r, cols[i].Type)
				if err != nil {
					return Tenant{}, fmt.Errorf("%s row %d column %s: %v", tab.Name, n+1, cols[i].Name, err)
				}
				row[i] = v
			}
			rows = append(rows, row)
		}
		t.Tables = append(t.Tables, Table{tab.Name, cols, rows})
	}
	return t, nil
}

// value decodes a JSON value of the tenant file as a value of type t.
func value(r json.RawMessage, t kql.Type) (any, error) {
	if string(r) == "null" {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(r))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	switch t {
	case kql.String, kql.Guid, kql.Bool:
		return v, nil
	case kql.Long:
		return v.(json.Number).Int64()
	case kql.Int:
		n, err := v.(json.Number).Int64()
		return int32(n), err
	case kql.Real:
		return v.(json.Number).Float64()
	case kql.DateTime:
		return time.Parse(time.RFC3339Nano, v.(string))
	case kql.TimeSpan:
		return time.ParseDuration(v.(string))
	}
	return v, nil
}

// Format prints a result as the conformance files hold it: the API's
// JSON with one row a line, then "truncated" when it was cut; or "error: "
// and the error, with the name of what is outside the subset.
func Format(tb testing.TB, res *kql.Result, err error) string {
	tb.Helper()
	if err != nil {
		var e *kql.Error
		if !errors.As(err, &e) {
			return "error (not a *kql.Error): " + err.Error()
		}
		s := "error: " + e.Error()
		if e.Name != "" {
			s += " [" + e.Name + "]"
		}
		return s
	}
	whole, err := json.Marshal(res)
	if err != nil {
		tb.Fatal(err)
	}
	if !json.Valid(whole) {
		tb.Fatalf("invalid JSON: %s", whole)
	}
	head, err := (&kql.Result{Columns: res.Columns}).AppendJSON(nil, "Schema", "Results")
	if err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	b.Write(head[:len(head)-2])
	for i, row := range res.Rows {
		one, err := (&kql.Result{Columns: res.Columns, Rows: [][]any{row}}).AppendJSON(nil, "Schema", "Results")
		if err != nil {
			tb.Fatal(err)
		}
		b.WriteString("\n")
		b.Write(one[len(head)-2 : len(one)-2])
		if i < len(res.Rows)-1 {
			b.WriteString(",")
		}
	}
	if len(res.Rows) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("]}")
	if got := strings.ReplaceAll(strings.ReplaceAll(b.String(), ",\n", ","), "\n", ""); got != string(whole) {
		tb.Fatalf("the lines do not join to the whole result:\n%s\n%s", got, whole)
	}
	if res.Truncated {
		b.WriteString("\ntruncated")
	}
	return b.String()
}

// A conformance file holds cases, each:
//
//	### name [maxrows=N] [maxheld=N]
//	the query, on one line or more
//	---
//	the expected result (see format)
type Case struct {
	Name, Query, Want string
	Opt               kql.Options
}

// ReadCases reads the cases of the conformance file at path.
func ReadCases(tb testing.TB, path string) []Case {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var cases []Case
	for i, part := range strings.Split(string(b), "\n### ")[1:] {
		head, rest, _ := strings.Cut(part, "\n")
		query, want, ok := strings.Cut(rest, "\n---\n")
		if !ok {
			tb.Fatalf("%s: case %d (%s) has no ---", path, i+1, head)
		}
		c := Case{Query: strings.TrimSpace(query), Want: strings.TrimSpace(want)}
		fields := strings.Fields(head)
		c.Name = fields[0]
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(strings.Trim(f, "[]"), "=")
			n, err := strconv.Atoi(v)
			if err != nil {
				tb.Fatalf("%s: case %s: option %s", path, c.Name, f)
			}
			switch k {
			case "maxrows":
				c.Opt.MaxRows = n
			case "maxheld":
				c.Opt.MaxHeld = n
			default:
				tb.Fatalf("%s: case %s: unknown option %s", path, c.Name, f)
			}
		}
		cases = append(cases, c)
	}
	return cases
}
