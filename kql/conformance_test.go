package kql_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/openatp/openatp/kql"
)

var update = flag.Bool("update", false, "rewrite the expected results of testdata/conformance/*.txt")

// A conformance file holds cases, each:
//
//	### name [maxrows=N] [maxheld=N]
//	the query, on one line or more
//	---
//	the expected result (see format)
type confCase struct {
	name, query, want string
	opt               kql.Options
}

func readCases(tb testing.TB, path string) []confCase {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var cases []confCase
	for i, part := range strings.Split(string(b), "\n### ")[1:] {
		head, rest, _ := strings.Cut(part, "\n")
		query, want, ok := strings.Cut(rest, "\n---\n")
		if !ok {
			tb.Fatalf("%s: case %d (%s) has no ---", path, i+1, head)
		}
		c := confCase{query: strings.TrimSpace(query), want: strings.TrimSpace(want)}
		fields := strings.Fields(head)
		c.name = fields[0]
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(strings.Trim(f, "[]"), "=")
			n, err := strconv.Atoi(v)
			if err != nil {
				tb.Fatalf("%s: case %s: option %s", path, c.name, f)
			}
			switch k {
			case "maxrows":
				c.opt.MaxRows = n
			case "maxheld":
				c.opt.MaxHeld = n
			default:
				tb.Fatalf("%s: case %s: unknown option %s", path, c.name, f)
			}
		}
		cases = append(cases, c)
	}
	return cases
}

// TestConformance runs every query of testdata/conformance over the fixed
// tenant and compares the result, or the error, with the one checked in.
func TestConformance(t *testing.T) {
	ten := loadTenant(t)
	files, err := filepath.Glob("testdata/conformance/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no conformance files: %v", err)
	}
	total := 0
	for _, path := range files {
		cases := readCases(t, path)
		total += len(cases)
		names := map[string]bool{}
		var out strings.Builder
		for _, c := range cases {
			if names[c.name] {
				t.Errorf("%s: two cases are named %s", path, c.name)
			}
			names[c.name] = true
			opt := c.opt
			opt.Now = ten.now
			res, err := kql.Run(context.Background(), c.query, ten.tables, opt)
			got := format(t, res, err)
			if *update {
				head := c.name
				if c.opt.MaxRows != 0 {
					head += " maxrows=" + strconv.Itoa(c.opt.MaxRows)
				}
				if c.opt.MaxHeld != 0 {
					head += " maxheld=" + strconv.Itoa(c.opt.MaxHeld)
				}
				out.WriteString("\n### " + head + "\n" + c.query + "\n---\n" + got + "\n")
				continue
			}
			if got != c.want {
				t.Errorf("%s: %s:\n%s\ngot:\n%s\nwant:\n%s", filepath.Base(path), c.name, c.query, got, c.want)
			}
		}
		if *update {
			b, _ := os.ReadFile(path)
			preamble, _, _ := strings.Cut(string(b), "\n### ")
			if err := os.WriteFile(path, []byte(preamble+out.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if total < 150 {
		t.Errorf("%d conformance cases, want at least 150", total)
	}
}

// TestCoverage checks that the conformance cases use every operator,
// aggregation, scalar operator and function of the subset.
func TestCoverage(t *testing.T) {
	files, _ := filepath.Glob("testdata/conformance/*.txt")
	var all strings.Builder
	for _, path := range files {
		for _, c := range readCases(t, path) {
			all.WriteString(c.query + "\n")
		}
	}
	text := all.String()
	for _, w := range strings.Fields(`
		| where | project | project-away | project-rename | extend | summarize by
		count( countif( dcount( sum( avg( min( max( arg_max( arg_min( make_set( make_list(
		| top | take | limit | sort by | order by | distinct | count
		| join kind=inner kind=leftouter kind=leftanti kind=leftsemi $left. $right.
		union let | mv-expand
		== != =~ !~ has !has has_any contains startswith endswith in !in in~ between
		and or not( + - * / % 7d 1h
		ago( now( datetime( bin( startofday( tostring( toint( tolong( todouble( tolower(
		toupper( strcat( strlen( substring( split( isempty( isnotempty( isnull( iff( case(
		coalesce( parse_json( array_length( pack( bag_pack(`) {
		if !strings.Contains(text, w) {
			t.Errorf("no conformance case uses %s", w)
		}
	}
}
