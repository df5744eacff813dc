package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openatp/openatp"
)

// TestImportActionsRoundTrip: a seeded tenant's machine actions,
// exported and imported with its machines into an empty data dir, answer
// GET /api/machineactions identically; importing them again changes
// nothing; a file with a bad record imports nothing and names its line
// and property; seed --out writes actions that import.
func TestImportActionsRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	mustCLI(t, "seed", "--data", data, "--tenant", "seeded.example", "--machines", "40", "--users", "10", "--actions", "300", "--seed", "3",
		"--end", "2026-03-04T05:06:07Z")
	m, a := filepath.Join(dir, "machines.jsonl"), filepath.Join(dir, "actions.jsonl")
	mustCLI(t, "export", "--data", data, "--tenant", "seeded.example", "--out", m)
	mustCLI(t, "export", "--data", data, "--tenant", "seeded.example", "--kind", "actions", "--out", a)
	dst := filepath.Join(dir, "copy")
	out := mustCLI(t, "import", "--data", dst, "--tenant", "copy.example", m, a)
	if !strings.Contains(out, `"kind": "actions",`) || !strings.Contains(out, `"records": 300,`) {
		t.Errorf("import summary:\n%s", out)
	}

	src, cp := openStore(t, data), openStore(t, dst)
	get := serveAPI(t, src, "seeded.example")
	getCopy := serveAPI(t, cp, "copy.example")
	compare := func(what string) {
		t.Helper()
		for _, path := range []string{"/api/machineactions", "/api/machineactions?$filter=status+eq+'Succeeded'&$orderby=creationDateTimeUtc+desc&$top=40&$skip=7",
			"/api/machineactions?$filter=lastUpdateDateTimeUtc+gt+2026-02-20T00:00:00Z"} {
			cs, bs := get(path)
			cc, bc := getCopy(path)
			if cs != http.StatusOK || cs != cc || bs != bc {
				t.Fatalf("%s: %s: source %d %.300s\ncopy %d %.300s", what, path, cs, bs, cc, bc)
			}
			if path == "/api/machineactions" && strings.Count(bs, `"requestorComment"`) != 300 {
				t.Fatalf("%s: %d actions in the answer, want 300", path, strings.Count(bs, `"requestorComment"`))
			}
		}
	}
	compare("imported")

	mustCLI(t, "import", "--data", dst, "--tenant", "copy.example", "--batch-size", "70", a)
	compare("imported again")
	again := filepath.Join(dir, "again.jsonl")
	mustCLI(t, "export", "--data", dst, "--tenant", "copy.example", "--kind", "actions", "--out", again)
	if string(readFile(t, again)) != string(readFile(t, a)) {
		t.Error("the copy's export differs from the source's")
	}

	// A bad record: nothing of the file is written.
	lines := strings.SplitAfter(string(readFile(t, a)), "\n")
	fresh := strings.NewReplacer("-4", "-5").Replace(lines[0]) + strings.NewReplacer("-4", "-6").Replace(lines[1]) +
		strings.Replace(strings.NewReplacer("-4", "-7").Replace(lines[2]), `"status":"`, `"status":"Done`, 1)
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte(fresh), 0o644); err != nil {
		t.Fatal(err)
	}
	msg, err := cli(t, "import", "--data", dst, "--tenant", "copy.example", bad)
	if err == nil || !strings.Contains(msg+err.Error(), "bad.jsonl: line 3: status: \"Done") || !strings.Contains(msg+err.Error(), "nothing of") {
		t.Errorf("bad file: %v\n%s", err, msg)
	}
	tn, err := cp.Tenant(context.Background(), "copy.example")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := cp.CountMachineActions(context.Background(), tn.ID, openatp.MachineActionFilter{}); err != nil || n != 300 {
		t.Errorf("%d actions after the bad file (%v), want 300", n, err)
	}

	// seed --out writes actions.jsonl beside machines.jsonl.
	gen := filepath.Join(dir, "gen")
	mustCLI(t, "seed", "--out", gen, "--machines", "40", "--users", "10", "--actions", "50", "--seed", "3", "--end", "2026-03-04T05:06:07Z")
	out = mustCLI(t, "import", "--data", filepath.Join(dir, "gendata"), "--tenant", "gen.example",
		filepath.Join(gen, "machines.jsonl"), filepath.Join(gen, "actions.jsonl"))
	if !strings.Contains(out, `"kind": "actions",`) || !strings.Contains(out, `"records": 50,`) {
		t.Errorf("import of seed --out's files:\n%s", out)
	}
}

// serveAPI serves the API of a store on a real listener and returns a GET
// of a path as the tenant's reader app, with the host the token names.
func serveAPI(t *testing.T, store openatp.Store, tenant string) func(path string) (int, string) {
	t.Helper()
	h, tok := apiServer(t, store, tenant)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return func(path string) (int, string) {
		t.Helper()
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "openatp.test"
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
}
