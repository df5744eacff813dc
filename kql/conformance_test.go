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
			if names[c.Name] {
				t.Errorf("%s: two cases are named %s", path, c.Name)
			}
			names[c.Name] = true
			opt := c.Opt
			opt.Now = ten.now
			res, err := kql.Run(context.Background(), c.Query, ten.tables, opt)
			got := format(t, res, err)
			if *update {
				head := c.Name
				if c.Opt.MaxRows != 0 {
					head += " maxrows=" + strconv.Itoa(c.Opt.MaxRows)
				}
				if c.Opt.MaxHeld != 0 {
					head += " maxheld=" + strconv.Itoa(c.Opt.MaxHeld)
				}
				out.WriteString("\n### " + head + "\n" + c.Query + "\n---\n" + got + "\n")
				continue
			}
			if got != c.Want {
				t.Errorf("%s: %s:\n%s\ngot:\n%s\nwant:\n%s", filepath.Base(path), c.Name, c.Query, got, c.Want)
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
			all.WriteString(c.Query + "\n")
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
