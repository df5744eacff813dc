package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openatp/openatp"
)

// A failed import creates no tenant: nothing is created when nothing is
// imported, with one file as with several. A good one creates it.
func TestFailedImportCreatesNoTenant(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := file("good.jsonl", `{"id":"`+goodID+`","computerDnsName":"a.contoso.com"}`+"\n")
	bad := file("bad.jsonl", `{"id":"`+goodID2+`","healthStatus":"Healthy"}`+"\n")
	logons := file("logons.jsonl", `{"machineId":"`+goodID+`","accountName":"a","accountDomain":"d","timestamp":"2024-01-01T00:00:00Z"}`+"\n")
	actions := file("actions.jsonl", `{"id":"7327b54f-e1c4-4a8d-a4b6-bc9e1fc8b4c0","type":"Isolate","requestor":"r","requestorComment":"c","status":"Succeeded","machineId":"`+goodID+
		`","creationDateTimeUtc":"2024-01-01T00:00:00Z","lastUpdateDateTimeUtc":"2024-01-01T00:00:10Z"}`+"\n")
	for _, tc := range []struct {
		name   string
		args   []string
		want   string
		tenant bool // the import succeeds and creates the tenant
	}{
		{name: "one bad file", args: []string{bad}, want: `bad.jsonl: line 1: healthStatus`},
		{name: "one bad file in batches", args: []string{"--batch-size", "1", bad}, want: `bad.jsonl: line 1: healthStatus`},
		{name: "a missing file", args: []string{filepath.Join(dir, "nosuch.jsonl")}, want: "nosuch.jsonl"},
		{name: "logons of machines a new tenant lacks", args: []string{logons}, want: "logons.jsonl: logon events name machines"},
		{name: "a good and a bad file", args: []string{good, bad}, want: `bad.jsonl: line 1: healthStatus`},
		{name: "actions of machines a new tenant lacks", args: []string{actions}, want: "actions.jsonl: machine actions name machines"},
		{name: "machines, then their logons", args: []string{good, logons}, tenant: true},
		{name: "machines, then their actions", args: []string{good, actions}, tenant: true},
		{name: "one good file", args: []string{good}, tenant: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := t.TempDir()
			out, err := cli(t, append([]string{"import", "--data", data, "--tenant", "new.example"}, tc.args...)...)
			if tc.tenant != (err == nil) {
				t.Fatalf("import: %v\n%s", err, out)
			}
			if err != nil && (!strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "nothing")) {
				t.Errorf("error %q does not say %q and that nothing was imported", clipString(err.Error()), tc.want)
			}
			db := openStore(t, data)
			_, err = db.Tenant(context.Background(), "new.example")
			if tc.tenant && err != nil {
				t.Errorf("the tenant: %v", err)
			}
			if !tc.tenant && !openatp.IsKind(err, openatp.NotFound) {
				t.Errorf("a failed import left the tenant (%v)", err)
			}
		})
	}
}
