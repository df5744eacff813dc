package kql_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openatp/openatp/kql"
)

// tenant is the fixed small tenant of testdata/tenant.json: its clock and
// its tables.
type tenant struct {
	now    time.Time
	tables []kql.Table
}

var (
	tenantOnce sync.Once
	tenantVal  tenant
	tenantErr  error
)

// loadTenant reads testdata/tenant.json once.
func loadTenant(tb testing.TB) tenant {
	tb.Helper()
	tenantOnce.Do(func() { tenantVal, tenantErr = readTenant("testdata/tenant.json") })
	if tenantErr != nil {
		tb.Fatal(tenantErr)
	}
	return tenantVal
}

func readTenant(path string) (tenant, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return tenant{}, err
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
		return tenant{}, err
	}
	types := map[string]kql.Type{
		"string": kql.String, "long": kql.Long, "int": kql.Int, "real": kql.Real, "bool": kql.Bool,
		"datetime": kql.DateTime, "timespan": kql.TimeSpan, "dynamic": kql.Dynamic, "guid": kql.Guid,
	}
	t := tenant{now: doc.Now}
	for _, tab := range doc.Tables {
		cols := make([]kql.Column, len(tab.Columns))
		for i, c := range tab.Columns {
			ty, ok := types[c[1]]
			if !ok {
				return tenant{}, fmt.Errorf("%s.%s: unknown type %s", tab.Name, c[0], c[1])
			}
			cols[i] = kql.Column{Name: c[0], Type: ty}
		}
		var rows [][]any
		for n, raw := range tab.Rows {
			if len(raw) != len(cols) {
				return tenant{}, fmt.Errorf("%s row %d: %d values for %d columns", tab.Name, n+1, len(raw), len(cols))
			}
			row := make([]any, len(cols))
			for i, r := range raw {
				v, err := value(r, cols[i].Type)
				if err != nil {
					return tenant{}, fmt.Errorf("%s row %d column %s: %v", tab.Name, n+1, cols[i].Name, err)
				}
				row[i] = v
			}
			rows = append(rows, row)
		}
		t.tables = append(t.tables, kql.NewTable(tab.Name, cols, rows))
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

// format prints a result as the conformance files hold it: the API's
// JSON with one row a line, then "truncated" when it was cut; or "error: "
// and the error, with the name of what is outside the subset.
func format(tb testing.TB, res *kql.Result, err error) string {
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
