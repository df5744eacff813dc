package kql_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/openatp/openatp/kql"
)

// benchRows is the number of generated logon rows the benchmarks read.
const benchRows = 1_000_000

// benchQuery runs query over benchRows generated rows and reports, beside
// ns/op, its ratio to baseline: the same work written by hand in Go over
// the same table, timed in the same run (the fastest of three).
func benchQuery(b *testing.B, query string, baseline func(tab kql.Table) int) {
	benchQueryWith(b, nil, query, baseline)
}

// benchQueryWith is benchQuery with more tables beside the logons.
func benchQueryWith(b *testing.B, more []kql.Table, query string, baseline func(tab kql.Table) int) {
	tab := &genTable{n: benchRows}
	tables := append([]kql.Table{tab}, more...)
	opt := kql.Options{Now: genStart.Add(14 * 24 * time.Hour)}
	q, err := kql.Parse(query)
	if err != nil {
		b.Fatal(err)
	}
	res, err := q.Run(context.Background(), tables, opt)
	if err != nil {
		b.Fatal(err)
	}
	if want := baseline(tab); len(res.Rows) != want {
		b.Fatalf("%d rows, the baseline makes %d", len(res.Rows), want)
	}
	var base time.Duration // the fastest of three runs of the baseline
	for range 3 {
		start := time.Now()
		baseline(tab)
		if d := time.Since(start); base == 0 || d < base {
			base = d
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := q.Run(context.Background(), tables, opt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(base), "x_baseline")
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrows/s")
}

// BenchmarkSummarize is the query: a time filter, a count by
// account, the top 10.
func BenchmarkSummarize(b *testing.B) {
	now := genStart.Add(14 * 24 * time.Hour)
	benchQuery(b, "DeviceLogonEvents | where Timestamp > ago(7d) | summarize count() by AccountName | top 10 by count_",
		func(tab kql.Table) int {
			counts := map[string]int64{}
			since := now.Add(-7 * 24 * time.Hour)
			for row, err := range tab.Rows(context.Background()) {
				if err != nil {
					b.Fatal(err)
				}
				if row[0].(time.Time).After(since) {
					counts[row[2].(string)]++
				}
			}
			type kv struct {
				k string
				n int64
			}
			var all []kv
			for k, n := range counts {
				all = append(all, kv{k, n})
			}
			sort.Slice(all, func(i, j int) bool { return all[i].n > all[j].n })
			return min(10, len(all))
		})
}

// BenchmarkDcountByDay is a distinct count of devices per day.
func BenchmarkDcountByDay(b *testing.B) {
	benchQuery(b, "DeviceLogonEvents | summarize dcount(DeviceId) by bin(Timestamp, 1d)",
		func(tab kql.Table) int {
			days := map[time.Time]map[string]struct{}{}
			for row, err := range tab.Rows(context.Background()) {
				if err != nil {
					b.Fatal(err)
				}
				d := row[0].(time.Time).Truncate(24 * time.Hour)
				if days[d] == nil {
					days[d] = map[string]struct{}{}
				}
				days[d][row[1].(string)] = struct{}{}
			}
			return len(days)
		})
}

// BenchmarkScan is the cost of reading the rows alone, through a where
// that keeps none: what every query over the table pays.
func BenchmarkScan(b *testing.B) {
	benchQuery(b, `DeviceLogonEvents | where AccountName == "nobody"`,
		func(tab kql.Table) int {
			n := 0
			for row, err := range tab.Rows(context.Background()) {
				if err != nil {
					b.Fatal(err)
				}
				if row[2].(string) == "nobody" {
					n++
				}
			}
			return n
		})
}

// BenchmarkJoin joins the logons to 10,000 devices and counts logons per
// OS platform: the right side is held, the left streams.
func BenchmarkJoin(b *testing.B) {
	oses := []string{"Windows10", "Windows11", "macOS", "Linux"}
	var rows [][]any
	for i, d := range genDevices {
		rows = append(rows, []any{d, oses[i%len(oses)]})
	}
	devices := kql.NewTable("DeviceInfo", []kql.Column{{Name: "DeviceId", Type: kql.String}, {Name: "OSPlatform", Type: kql.String}}, rows)
	benchQueryWith(b, []kql.Table{devices},
		"DeviceLogonEvents | join kind=inner DeviceInfo on DeviceId | summarize count() by OSPlatform",
		func(tab kql.Table) int {
			os := map[string]string{}
			for row, err := range devices.Rows(context.Background()) {
				if err != nil {
					b.Fatal(err)
				}
				os[row[0].(string)] = row[1].(string)
			}
			counts := map[string]int{}
			for row, err := range tab.Rows(context.Background()) {
				if err != nil {
					b.Fatal(err)
				}
				if o, ok := os[row[1].(string)]; ok {
					counts[o]++
				}
			}
			return len(counts)
		})
}
