package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// openatp import --kind indicators: a GET /api/indicators page imports as
// it is, JSON Lines and CSV too, the same type and value updating in
// place; a bad record is named by file, line and property and nothing of
// the import is written; export --kind indicators writes what imports
// back the same; seed --out --indicators writes indicators.jsonl.
func TestImportIndicators(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	page := write("page.json", `{"@odata.context":"https://api.securitycenter.microsoft.com/api/$metadata#Indicators","value":[
  {"id":"995","indicatorValue":"220e7d15b011d7fac48f2bd61114db1022197f7f","indicatorType":"FileSha1","action":"AlertAndBlock",
   "application":"demo-test","source":"TestPrdApp","sourceType":"AadApp","createdBy":"45097602-1234-5678-9abc-def012345678",
   "createdBySource":"TestPrdApp","createdByDisplayName":"TestPrdApp","severity":"Informational","title":"test","description":"test",
   "recommendedActions":"nothing","creationTimeDateTimeUtc":"2019-12-19T09:09:46.9139216Z","expirationTime":"2099-12-12T00:00:00Z",
   "lastUpdateTime":"2019-12-19T09:09:47.3358111Z","lastUpdatedBy":null,"rbacGroupNames":[],"rbacGroupIds":[],"generateAlert":false},
  {"id":"996","indicatorValue":"contoso.com","indicatorType":"DomainName","action":"Warn","title":"t2","description":"d"}
]}`)
	mustCLI(t, "import", "--data", data, "--tenant", "ti.example", "--kind", "indicators", page)
	csv := write("more.csv", "indicatorValue,indicatorType,action,title,description,generateAlert\n"+
		"10.1.2.3,IpAddress,Audit,ip,d,true\n"+"CONTOSO.COM,DomainName,Block,renamed,d,\n")
	mustCLI(t, "import", "--data", data, "--tenant", "ti.example", "--kind", "indicators", csv)
	s := openStore(t, data)
	tn, err := s.Tenant(ctx, "ti.example")
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.Indicators(ctx, tn.ID)
	if err != nil || len(all) != 3 {
		t.Fatalf("%d indicators, %v", len(all), err)
	}
	if all[0].ID != "1" || all[0].CreatedBy != "45097602-1234-5678-9abc-def012345678" || all[0].SourceType != "AadApp" ||
		all[1].Title != "renamed" || all[1].IndicatorValue != "CONTOSO.COM" || all[1].CreatedBy != "openatp import" ||
		all[2].IndicatorValue != "10.1.2.3" || !all[2].GenerateAlert {
		t.Errorf("imported %+v", all)
	}

	// A bad record: named, and nothing of the import written.
	for _, c := range []struct{ name, body, want string }{
		{"bad.jsonl", `{"indicatorValue":"8.8.8.8","indicatorType":"IpAddress","action":"Block","title":"t","description":"d"}` + "\n\n" +
			`{"indicatorValue":"xyz","indicatorType":"FileMd5","action":"Block","title":"t","description":"d"}` + "\n",
			"bad.jsonl: line 3: indicatorValue: a MD5 hash is 32 hexadecimal digits"},
		{"bad.json", "[\n" + `{"indicatorValue":"9.9.9.9","indicatorType":"IpAddress","action":"Block","title":"t","description":"d"},` + "\n" +
			`  {"indicatorValue":"9.9.9.8","indicatorType":"IpAddress","action":"Audit","title":"t","description":"d"}` + "\n]",
			"bad.json: line 3: generateAlert: must be true for the Audit action"},
		{"bad.csv", "indicatorValue,indicatorType,action,title,description,rbacGroupNames\n7.7.7.7,IpAddress,Block,t,d,\n7.7.7.6,IpAddress,Block,t,d,Nowhere\n",
			`bad.csv: line 3: rbacGroupNames: no device group is named "Nowhere"`},
	} {
		_, err := cli(t, "import", "--data", data, "--tenant", "ti.example", "--kind", "indicators", write(c.name, c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "nothing was imported") {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if all, _ := s.Indicators(ctx, tn.ID); len(all) != 3 {
		t.Errorf("after the refused imports: %d indicators", len(all))
	}

	// Export, then import into another tenant: the same indicators (ids
	// and times are the store's).
	exported := filepath.Join(dir, "export.jsonl")
	mustCLI(t, "export", "--data", data, "--tenant", "ti.example", "--kind", "indicators", "--out", exported)
	mustCLI(t, "import", "--data", data, "--tenant", "copy.example", "--kind", "indicators", exported)
	again := filepath.Join(dir, "again.jsonl")
	mustCLI(t, "export", "--data", data, "--tenant", "copy.example", "--kind", "indicators", "--out", again)
	a, _ := os.ReadFile(exported)
	b, _ := os.ReadFile(again)
	times := regexp.MustCompile(`"(creationTimeDateTimeUtc|lastUpdateTime)":"[^"]+"`)
	if x, y := times.ReplaceAll(a, nil), times.ReplaceAll(b, nil); string(x) != string(y) || strings.Count(string(a), "\n") != 3 {
		t.Errorf("export after import differs:\n%s\n%s", a, b)
	}

	// seed --out --indicators: a file that imports.
	files := filepath.Join(dir, "files")
	mustCLI(t, "seed", "--out", files, "--machines", "20", "--users", "5", "--file-events", "50", "--network-events", "50", "--indicators", "30", "--seed", "3")
	out := mustCLI(t, "import", "--data", data, "--tenant", "seeded.example", "--kind", "indicators", filepath.Join(files, "indicators.jsonl"))
	if !strings.Contains(out, `"records": 30`) {
		t.Errorf("seeded indicators: %s", out)
	}
}
