package odata_test

import (
	"fmt"
	"slices"
	"time"

	"github.com/openatp/openatp/odata"
)

// The properties of the examples' entity set, by index.
const (
	exID = iota
	exTitle
	exSeverity
	exUpdated
)

// exSchema describes a small alert list: the caller's part of the bargain.
var exSchema = odata.NewSchema(
	odata.Property{Name: "id", Kind: odata.String, Filterable: true, Orderable: true, Selectable: true},
	odata.Property{Name: "title", Kind: odata.String, Filterable: true, Orderable: true, Selectable: true},
	odata.Property{Name: "severity", Kind: odata.Enum, Values: []string{"Informational", "Low", "Medium", "High"}, Filterable: true, Orderable: true, Selectable: true},
	odata.Property{Name: "lastUpdateTime", Kind: odata.Time, Filterable: true, Orderable: true, Selectable: true},
)

// exAlert is an entity: it gives the filter its values by property index.
type exAlert struct {
	id, title, severity string
	updated             time.Time
}

func (a *exAlert) String(p int) (string, bool) {
	switch p {
	case exID:
		return a.id, true
	case exTitle:
		return a.title, true
	case exSeverity:
		return a.severity, true
	}
	return "", false
}

func (a *exAlert) Time(p int) (int64, bool) { return a.updated.UnixNano(), p == exUpdated }
func (a *exAlert) Int(int) (int64, bool)    { return 0, false }
func (a *exAlert) Bool(int) (bool, bool)    { return false, false }
func (a *exAlert) Strings(int) []string     { return nil }

// A request's raw query parsed, then run over a list as a service answers
// it: filter, order, page.
func ExampleParseQuery() {
	raw := "$filter=severity+ge+'medium'+and+lastUpdateTime+ge+2026-01-01T00:00:00Z" +
		"&$orderby=lastUpdateTime+desc&$top=2"
	q, err := odata.ParseQuery(exSchema, raw, odata.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("filter: ", q.Filter)
	for _, k := range q.OrderBy {
		fmt.Println("orderby:", exSchema.Property(k.Prop).Name, "desc:", k.Desc)
	}
	fmt.Println("top:    ", q.Top, "skip:", q.Skip)

	day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }
	alerts := []*exAlert{
		{"da1", "Suspicious PowerShell", "High", day(3)},
		{"da2", "Port scan", "Low", day(4)},
		{"da3", "Credential theft", "Medium", day(5)},
		{"da4", "Ransomware behaviour", "High", day(6)},
		{"da5", "Old incident", "High", day(1).AddDate(0, 0, -10)},
	}
	var page []*exAlert
	for _, a := range alerts {
		if q.Filter.Match(a) {
			page = append(page, a)
		}
	}
	slices.SortFunc(page, func(a, b *exAlert) int { return exSchema.Compare(q.OrderBy, a, b) })
	page = page[q.Skip:min(len(page), q.Skip+q.Top)]
	for _, a := range page {
		fmt.Println(a.id, a.severity, a.updated.Format(time.DateOnly))
	}
	// Output:
	// filter:  severity ge 'Medium' and lastUpdateTime ge 2026-01-01T00:00:00Z
	// orderby: lastUpdateTime desc: true
	// top:     2 skip: 0
	// da4 High 2026-01-06
	// da3 Medium 2026-01-05
}

// Every error names the option and the position of the fault in it, for
// the service's 400 answer.
func ExampleParseQuery_error() {
	for _, raw := range []string{
		"$filter=severity+eq+'Severe'",
		"$filter=title+eq+'x'+and",
		"$filter=lastUpdateTime+ge+2026-01-01",
		"$top=10&$orderby=lastUpdateTime,colour",
	} {
		_, err := odata.ParseQuery(exSchema, raw, odata.Options{})
		fmt.Println(err)
	}
	// Output:
	// $filter: 'Severe' is not a value of severity: expected one of Informational, Low, Medium, High at position 13
	// $filter: expected a property or a value but found end of input at position 17
	// $filter: invalid date: expected 'Z' or an offset such as +01:00 at position 29
	// $orderby: unknown property 'colour' at position 16
}

// EqualityOn tells a caller that a filter names a few values of one
// property, so that it can look them up in an index instead of scanning.
func ExampleFilter_EqualityOn() {
	f, err := odata.Parse(exSchema, "id in ('da1', 'da3') and severity eq 'High'")
	if err != nil {
		fmt.Println(err)
		return
	}
	ids, ok := f.EqualityOn(exID)
	fmt.Println(ids, ok)
	_, ok = f.EqualityOn(exTitle)
	fmt.Println(ok)
	// Output:
	// [da1 da3] true
	// false
}
