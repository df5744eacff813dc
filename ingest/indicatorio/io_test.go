package indicatorio_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/openatp/openatp/ingest"
	"github.com/openatp/openatp/ingest/indicatorio"
)

const one = `{"indicatorValue":"contoso.com","indicatorType":"DomainName","action":"Block","title":"t","description":"d"}`

// Read takes each format, tells them apart without a name, and names the
// line (and property) of what it refuses.
func TestRead(t *testing.T) {
	for _, c := range []struct {
		name, in string
		lines    []int64
	}{
		{"a.json", "[\n" + one + ",\n\n  " + one + "\n]", []int64{2, 4}},
		{"", "\n[" + one + ",\n" + one + "]", []int64{2, 3}},
		{"", `{"@odata.context":"x","value":[` + "\n" + one + "]}", []int64{2}},
		{"", `{"Indicators":[` + one + ",\n" + one + "]}", []int64{1, 2}},
		{"", one + "\n\n" + one + "\n", []int64{1, 3}},
		{"b.ndjson", one, []int64{1}},
		{"", "indicatorValue,indicatorType,action,title,description,rbacGroupNames\n" +
			"evil.example,DomainName,Block,t,d,\"g1, g2\"\n\"x.example\",DomainName,Warn,\"multi\nline\",d,\n", []int64{2, 3}},
	} {
		recs, err := indicatorio.Read(strings.NewReader(c.in), c.name, ingest.Auto)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		var lines []int64
		for _, r := range recs {
			lines = append(lines, r.Line)
		}
		if fmt.Sprint(lines) != fmt.Sprint(c.lines) {
			t.Errorf("%q: lines %v, want %v", c.in, lines, c.lines)
		}
	}
	recs, _ := indicatorio.Read(strings.NewReader("indicatorValue,indicatorType,action,title,description,rbacGroupNames,generateAlert\n"+
		"evil.example,DomainName,Audit,t,d,\"g1, g2\",TRUE\n"), "x.csv", ingest.Auto)
	if len(recs) != 1 || strings.Join(recs[0].Indicator.RBACGroupNames, "|") != "g1|g2" || !recs[0].Indicator.GenerateAlert || recs[0].Indicator.CreatedBy != "openatp import" {
		t.Errorf("CSV record %+v", recs)
	}
	for _, c := range []struct{ name, in, want string }{
		{"e.jsonl", "", "e.jsonl: the input is empty"},
		{"m.json", "[\n" + one + ",\n{\"indicatorValue\": }]", "m.json: line 3: malformed JSON"},
		{"s.jsonl", strings.Replace(one, `"contoso.com"`, "5", 1), "s.jsonl: line 1: indicatorValue: must be a string"},
		{"t.jsonl", one + "\n" + strings.Replace(one, `"title":"t"`, `"sourceType":"Robot","title":"t"`, 1), "t.jsonl: line 2: sourceType:"},
		{"c.csv", "indicatorValue,indicatorType\nx.example,DomainName,extra\n", "c.csv: line 2: 3 cells"},
		{"o.json", `{"items":[]}`, "o.json: line 1: the object holds no array"},
	} {
		_, err := indicatorio.Read(strings.NewReader(c.in), c.name, ingest.Auto)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: %v, want %s…", c.name, err, c.want)
		}
	}
}
