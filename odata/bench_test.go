package odata_test

import (
	"testing"

	"github.com/openatp/openatp/odata"
)

// benchFilter is a typical filter of a Machine list: an and of an enum,
// a date, a prefix and a lambda.
const benchFilter = "healthStatus eq 'Active' and lastSeen gt 2019-11-22T00:00:00Z and " +
	"startswith(computerDnsName,'mymachine') and machineTags/any(t: t eq 'Prod')"

// BenchmarkMatch runs a compiled filter over one machine; it must not
// allocate.
func BenchmarkMatch(b *testing.B) {
	f, err := odata.Parse(machines, benchFilter)
	if err != nil {
		b.Fatal(err)
	}
	var e odata.Entity = fleet[0]
	if !f.Match(e) {
		b.Fatal("the benchmark machine must match")
	}
	b.ReportAllocs()
	for b.Loop() {
		f.Match(e)
	}
}

// BenchmarkMatchMiss is BenchmarkMatch on a machine the first term
// rejects.
func BenchmarkMatchMiss(b *testing.B) {
	f, err := odata.Parse(machines, benchFilter)
	if err != nil {
		b.Fatal(err)
	}
	var e odata.Entity = fleet[1]
	b.ReportAllocs()
	for b.Loop() {
		f.Match(e)
	}
}

// BenchmarkParse parses the typical filter.
func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := odata.Parse(machines, benchFilter); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMatchDoesNotAllocate holds BenchmarkMatch's claim in the ordinary
// test run.
func TestMatchDoesNotAllocate(t *testing.T) {
	f, err := odata.Parse(machines, benchFilter+" or rbacGroupId in (1,2) or riskScore ge 'Low' or isAadJoined")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range fleet {
		var e odata.Entity = m
		if n := testing.AllocsPerRun(100, func() { f.Match(e) }); n != 0 {
			t.Errorf("Match(%s) allocates %v times", m.id, n)
		}
	}
}
