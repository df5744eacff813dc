package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apiserver"
	"github.com/openatp/openatp/auth"
	"github.com/openatp/openatp/readmodel"
	"github.com/openatp/openatp/sqlite"
)

// openStore opens the SQLite store of a data dir.
func openStore(t *testing.T, data string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(data, "openatp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := cli(t, args...)
	if err != nil {
		t.Fatalf("openatp %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// seedExport seeds a tenant and exports it; it returns the two files.
func seedExport(t *testing.T, dir string, seed int, machines, users int) (string, string) {
	t.Helper()
	data := filepath.Join(dir, "data")
	mustCLI(t, "seed", "--data", data, "--tenant", "seeded.example", "--machines", fmt.Sprint(machines), "--users", fmt.Sprint(users), "--seed", fmt.Sprint(seed),
		"--end", "2026-03-04T05:06:07Z")
	m, l := filepath.Join(dir, "machines.jsonl"), filepath.Join(dir, "logons.jsonl")
	mustCLI(t, "export", "--data", data, "--tenant", "seeded.example", "--out", m)
	mustCLI(t, "export", "--data", data, "--tenant", "seeded.example", "--kind", "logons", "--out", l)
	return m, l
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSeedIsDeterministic(t *testing.T) {
	t.Parallel()
	m1, l1 := seedExport(t, t.TempDir(), 42, 800, 400)
	m2, l2 := seedExport(t, t.TempDir(), 42, 800, 400)
	m3, l3 := seedExport(t, t.TempDir(), 43, 800, 400)
	if !bytes.Equal(readFile(t, m1), readFile(t, m2)) || !bytes.Equal(readFile(t, l1), readFile(t, l2)) {
		t.Error("the same seed gave different exports")
	}
	if bytes.Equal(readFile(t, m1), readFile(t, m3)) || bytes.Equal(readFile(t, l1), readFile(t, l3)) {
		t.Error("different seeds gave the same export")
	}
	if n := bytes.Count(readFile(t, m1), []byte("\n")); n != 800 {
		t.Errorf("%d machines exported, want 800", n)
	}
}

// apiServer serves the API of a data dir in process, with a token for its
// tenant.
func apiServer(t *testing.T, store openatp.Store, tenantName string) (http.Handler, string) {
	t.Helper()
	ctx := context.Background()
	svc, err := auth.New(ctx, store, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tn, err := store.Tenant(ctx, tenantName)
	if err != nil {
		t.Fatal(err)
	}
	app, _, err := openatp.NewApp(tn.ID, "reader", []string{openatp.PermMachineReadAll}, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	tok, _, err := svc.Mint(ctx, auth.MintRequest{Tenant: tn, App: app, BaseURL: "http://openatp.test", Version: 1, Audience: auth.Audiences[0]})
	if err != nil {
		t.Fatal(err)
	}
	model := readmodel.New(store, readmodel.Options{})
	t.Cleanup(func() { model.Close() }) // its builds, before the store closes
	srv := apiserver.New(apiserver.Config{Model: model, Store: store, Verifier: svc, NoAccessLog: true})
	return srv.Handler(), tok
}

func apiGet(h http.Handler, tok, path string) (int, string) {
	req := httptest.NewRequest("GET", "http://openatp.test"+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// TestImportRoundTrip: a generated tenant, exported and imported into an
// empty data dir, answers GET /api/users/{id}/machines identically.
func TestImportRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m, l := seedExport(t, dir, 7, 2000, 1000)
	dst := filepath.Join(dir, "imported")

	// --dry-run reads both files, writes nothing, and counts what import
	// will count.
	out := mustCLI(t, "import", "--dry-run", "--data", dst, m, l)
	for _, want := range []string{`"records": 2000,`, `"rbacGroupId": 2000`, `"kind": "logons"`, `"batches": 0`} {
		if !strings.Contains(out, want) {
			t.Errorf("--dry-run summary does not say %s:\n%s", want, out)
		}
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("--dry-run created the data dir (%v)", err)
	}

	out = mustCLI(t, "import", "--data", dst, "--tenant", "copy.example", m, l)
	if !strings.Contains(out, `"rbacGroupId": 2000`) {
		t.Errorf("summary does not count the ignored rbacGroupId:\n%s", out)
	}

	src, cp := openStore(t, filepath.Join(dir, "data")), openStore(t, dst)
	srcRels := relations(t, src, "seeded.example")
	cpRels := relations(t, cp, "copy.example")
	if !slices.Equal(srcRels, cpRels) {
		t.Fatalf("relations differ: %d in the source, %d in the copy", len(srcRels), len(cpRels))
	}
	// Every user's machines over HTTP: a sample of a few hundred, plus the
	// special ones (a scanner on a quarter of the machines, case twins).
	users := []string{"svc-scanner", "svc-backup", "admin", "JDoe", "jdoe", `contoso%5CJDoe`, `fabrikam%5Cjdoe`, "nobody"}
	seen := map[string]bool{}
	for i, r := range srcRels {
		name := strings.SplitN(r, "|", 3)[0]
		if !seen[name] && i%5 == 0 {
			seen[name] = true
			users = append(users, name)
		}
	}
	if len(users) < 200 {
		t.Fatalf("only %d users sampled", len(users))
	}
	hs, tokS := apiServer(t, src, "seeded.example")
	hc, tokC := apiServer(t, cp, "copy.example")
	for _, u := range users {
		path := "/api/users/" + u + "/machines"
		cs, bs := apiGet(hs, tokS, path)
		cc, bc := apiGet(hc, tokC, path)
		bs, bc = targetRE.ReplaceAllString(bs, ""), targetRE.ReplaceAllString(bc, "")
		if cs != cc || bs != bc {
			t.Fatalf("%s: source %d %.200s, copy %d %.200s", path, cs, bs, cc, bc)
		}
		if u == "svc-scanner" && (cs != 200 || strings.Count(bs, `"id":`) < 450) {
			t.Errorf("svc-scanner: %d, %d machines", cs, strings.Count(bs, `"id":`))
		}
	}
	// Importing the same files again changes nothing.
	mustCLI(t, "import", "--data", dst, "--tenant", "copy.example", "--batch-size", "1000", m, l)
	if again := relations(t, cp, "copy.example"); !slices.Equal(srcRels, again) {
		t.Error("re-importing changed the relations")
	}
}

// relations lists a tenant's (user, machine) relations as strings.
func relations(t *testing.T, s openatp.Store, tenant string) []string {
	t.Helper()
	tn, err := s.Tenant(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	err = s.Snapshot(context.Background(), tn.ID, func(openatp.Machine) error { return nil }, func(r openatp.UserMachine) error {
		out = append(out, fmt.Sprintf("%s|%s|%s|%s|%s|%s|%v", r.AccountName, r.AccountDomain, r.AccountSID, r.MachineID,
			r.FirstSeen.Format(time.RFC3339Nano), r.LastSeen.Format(time.RFC3339Nano), r.LogonTypes))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// targetRE matches the request id in an error body.
var targetRE = regexp.MustCompile(`"target":"[0-9a-f-]{36}"`)

const (
	goodID  = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
	goodID2 = "7292e4b8cb74ff1cc3d8a495eb29dc8858b732f7"
)

func TestImportBadFiles(t *testing.T) {
	t.Parallel()
	good := `{"id":"` + goodID + `","computerDnsName":"a.contoso.com"}` + "\n"
	for _, tc := range []struct {
		name, file, content string
		extra               []string
		want                string
		firstStored         bool // the error is the store's: the first file is in
	}{
		{"wrong enum", "m.jsonl", good + `{"id":"` + goodID2 + `","healthStatus":"Healthy"}` + "\n", nil, `m.jsonl: line 2: healthStatus: "Healthy" is not one of Active`, false},
		{"bad timestamp", "m.jsonl", good + `{"id":"` + goodID2 + `","firstSeen":"08/02/2018 14:55"}` + "\n", nil, `m.jsonl: line 2: firstSeen: "08/02/2018 14:55" is not an RFC 3339 timestamp`, false},
		{"truncated line", "m.jsonl", good + `{"id":"` + goodID2 + `","computerDnsNa` + "\n", nil, "m.jsonl: line 2: invalid JSON: unexpected end of the record", false},
		{"truncated last line", "m.jsonl", good + `{"id":"` + goodID2, nil, "m.jsonl: line 2: invalid JSON: unexpected end of the record", false},
		{"duplicate header", "m.csv", "id,computerDnsName,computerDnsName\n" + goodID + ",a,b\n", nil, "m.csv: line 1: computerDnsName: the header names this column twice", false},
		{"invalid UTF-8", "m.jsonl", good + `{"id":"` + goodID2 + `","computerDnsName":"b` + "\xc3\x28" + `"}` + "\n", nil, "m.jsonl: line 2: computerDnsName: is not valid UTF-8", false},
		{"invalid UTF-8 in CSV", "m.csv", "id,osPlatform\n" + goodID + ",Win\xff\n", nil, "m.csv: line 2: osPlatform: is not valid UTF-8", false},
		{"10 MB line", "m.jsonl", good + `{"id":"` + goodID2 + `","computerDnsName":"` + strings.Repeat("x", 10<<20) + `"}` + "\n", nil, "m.jsonl: line 2: the line is longer than 1048576 bytes", false},
		{"empty file", "m.jsonl", "", nil, "m.jsonl: the input is empty", false},
		{"empty CSV", "m.csv", "", nil, "m.csv: the input is empty", false},
		{"unknown kind", "x.jsonl", `{"name":"x"}` + "\n", nil, "x.jsonl: line 1: cannot tell machines from logon events", false},
		{"logons of unknown machines", "l.jsonl", `{"machineId":"` + goodID + `","accountName":"a","accountDomain":"d","timestamp":"2024-01-01T00:00:00Z"}` + "\n", nil, "l.jsonl: line 1: machineId: the tenant has no machine", true},
		{"wrong kind given", "m.jsonl", good, []string{"--kind", "logons"}, "first.jsonl: line 1: machineId: is required", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			name := filepath.Join(dir, tc.file)
			if err := os.WriteFile(name, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			// A good file first: nothing of it may be stored either.
			first := filepath.Join(dir, "first.jsonl")
			if err := os.WriteFile(first, []byte(`{"id":"`+strings.Repeat("e", 40)+`"}`+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if !tc.firstStored { // --dry-run finds the same error
				dry := append(append([]string{"import", "--dry-run"}, tc.extra...), first, name)
				if _, err := cli(t, dry...); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("--dry-run: error %v does not say %q", err, tc.want)
				}
			}
			data := filepath.Join(dir, "data")
			mustCLI(t, "tenant", "create", "--data", data, "--name", "t.example")
			args := append([]string{"import", "--data", data, "--tenant", "t.example"}, tc.extra...)
			out, err := cli(t, append(args, first, name)...)
			if err == nil {
				t.Fatalf("import succeeded:\n%s", out)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", clipString(err.Error()), tc.want)
			}
			if !strings.Contains(err.Error(), "nothing") {
				t.Errorf("error %q does not say that nothing was imported", clipString(err.Error()))
			}
			db := openStore(t, data)
			tn, err := db.Tenant(context.Background(), "t.example")
			if err != nil {
				t.Fatal(err)
			}
			want := openatp.TenantStats{}
			if tc.firstStored {
				want.Machines = 1
			}
			if st, err := db.TenantStats(context.Background(), tn.ID); err != nil || st != want {
				t.Errorf("stored %+v (%v), want %+v", st, err, want)
			}
		})
	}
}

func clipString(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// TestHelperProcess is not a test: it runs the CLI when a test starts this
// test binary as a separate process (OPENATP_HELPER_PROCESS=1).
func TestHelperProcess(t *testing.T) {
	if os.Getenv("OPENATP_HELPER_PROCESS") != "1" {
		t.Skip("helper process only")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	if err := runCLI(context.Background(), args, os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "openatp:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// command returns the CLI as a separate process.
func command(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestHelperProcess$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "OPENATP_HELPER_PROCESS=1")
	return cmd
}

// machineFile writes n machines as JSON Lines; machine i has id i.
func machineFile(t *testing.T, name string, n int) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range n {
		fmt.Fprintf(w, `{"id":"%040x","computerDnsName":"host%d.contoso.com","osPlatform":"Windows11","healthStatus":"Active","machineTags":["t%d"],"ipAddresses":[{"ipAddress":"10.%d.%d.%d","macAddress":"00155D%06X","type":"Ethernet","operationalStatus":"Up"}]}`+"\n",
			i, i, i%7, i>>16&255, i>>8&255, i&255, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// storedIDs returns the ids of the tenant's machines, in order.
func storedIDs(t *testing.T, data string) []string {
	t.Helper()
	db := openStore(t, data)
	tn, err := db.Tenant(context.Background(), "t.example")
	if openatp.IsKind(err, openatp.NotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	err = db.Snapshot(context.Background(), tn.ID, func(m openatp.Machine) error { ids = append(ids, m.ID); return nil },
		func(openatp.UserMachine) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestImportKilled: an import killed with SIGKILL leaves every batch whole
// or absent, and running it again completes it.
func TestImportKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	t.Parallel()
	const n, batch = 150000, 10000
	dir := t.TempDir()
	file := filepath.Join(dir, "m.jsonl")
	machineFile(t, file, n)
	for _, tc := range []struct {
		name string
		args []string
		wait string // on stderr, before the kill
	}{
		{"batches", []string{"--batch-size", fmt.Sprint(batch)}, "batch 2 committed"},
		{"one batch", nil, "in one transaction"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			args := append([]string{"import", "--data", data, "--tenant", "t.example"}, tc.args...)
			cmd := command(append(args, file)...)
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(stderr)
			var log []string
			for sc.Scan() {
				log = append(log, sc.Text())
				if strings.Contains(sc.Text(), tc.wait) {
					break
				}
			}
			time.Sleep(400 * time.Millisecond) // well into the (next) batch
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			go func() { _, _ = io.Copy(io.Discard, stderr) }()
			err = cmd.Wait()
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
				t.Fatalf("the import was not killed (it ended: %v); make the file larger\n%s", err, strings.Join(log, "\n"))
			}

			ids := storedIDs(t, data)
			if len(ids)%batch != 0 || len(ids) == n {
				t.Fatalf("%d machines stored after the kill: not whole batches of %d short of %d", len(ids), batch, n)
			}
			if tc.args == nil && len(ids) != 0 {
				t.Fatalf("%d machines stored by a killed one-batch import", len(ids))
			}
			for i, id := range ids { // the first batches, exactly
				if id != fmt.Sprintf("%040x", i) {
					t.Fatalf("machine %d is %s", i, id)
				}
			}
			t.Logf("%d of %d machines stored when killed", len(ids), n)

			out, err := command(append(args, file)...).CombinedOutput()
			if err != nil {
				t.Fatalf("rerun: %v\n%s", err, out)
			}
			if ids := storedIDs(t, data); len(ids) != n {
				t.Errorf("%d machines after the rerun, want %d", len(ids), n)
			}
		})
	}
}

// Import reports how far it has read on stderr: on a pipe, a line every few
// seconds and one at the end (on a terminal, a redrawn count).
func TestImportProgress(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "m.jsonl")
	machineFile(t, file, 25)
	var out, errb syncBuffer
	args := []string{"import", "--data", filepath.Join(dir, "data"), "--tenant", "t.example", "--chunk-size", "10", file}
	if err := runCLI(context.Background(), args, noEnv, strings.NewReader(""), &out, &errb); err != nil {
		t.Fatal(err, errb.String())
	}
	if !regexp.MustCompile(`(?m)^import: 25 records of m\.jsonl \(\d+/s\)$`).MatchString(errb.String()) {
		t.Errorf("stderr has no final progress line:\n%s", errb.String())
	}
}

// liveAlertItems returns the alerts of the live-shaped GET
// /api/alerts?$expand=evidence answer of ingest's testdata, each compact,
// without the property openatp does not model (domains).
func liveAlertItems(t *testing.T) (string, [][]byte) {
	t.Helper()
	name := filepath.Join("..", "..", "ingest", "testdata", "alerts-live.json")
	var env struct{ Value []json.RawMessage }
	if err := json.Unmarshal(readFile(t, name), &env); err != nil {
		t.Fatal(err)
	}
	var items [][]byte
	for _, raw := range env.Value {
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			t.Fatal(err)
		}
		items = append(items, bytes.Replace(b.Bytes(), []byte(`,"domains":[]`), nil, 1))
	}
	return name, items
}

// TestImportAlertsLiveAnswer: a real GET /api/alerts?$expand=evidence
// answer imports as it is (what openatp does not model counted), and
// exports as the same alerts, byte for byte; the export imports into an
// empty data dir and exports identically again.
func TestImportAlertsLiveAnswer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	name, items := liveAlertItems(t)
	data := filepath.Join(dir, "data")
	out := mustCLI(t, "import", "--data", data, "--tenant", "alerts.example", name)
	for _, want := range []string{`"kind": "alerts"`, `"records": 2,`, `"domains": 2`, `"rbacGroupName": 2`} {
		if !strings.Contains(out, want) {
			t.Errorf("import summary does not say %s:\n%s", want, out)
		}
	}
	// The documentation's alert is of a machine in device group A.
	mustCLI(t, "group", "create", "--data", data, "--tenant", "alerts.example", "--name", "A", "--rule", "name=temp123")
	exported := filepath.Join(dir, "alerts.jsonl")
	mustCLI(t, "export", "--data", data, "--tenant", "alerts.example", "--kind", "alerts", "--out", exported)
	want := append(bytes.Join(items, []byte("\n")), '\n')
	if got := readFile(t, exported); !bytes.Equal(got, want) {
		t.Errorf("export:\n%s\nwant:\n%s", got, want)
	}
	copyData := filepath.Join(dir, "copy")
	mustCLI(t, "import", "--data", copyData, "--tenant", "copy.example", exported)
	mustCLI(t, "group", "create", "--data", copyData, "--tenant", "copy.example", "--name", "A", "--rule", "name=temp123")
	again := filepath.Join(dir, "again.jsonl")
	mustCLI(t, "export", "--data", copyData, "--tenant", "copy.example", "--kind", "alerts", "--out", again)
	if !bytes.Equal(readFile(t, again), want) {
		t.Errorf("export of the re-imported export:\n%s", readFile(t, again))
	}
}

// TestDemoAlerts: the demo tenant holds the documentation's example alert
// on its own machine (device group A) and alerts of every severity and
// status; seed --live adds new alerts and moves earlier ones along, each
// picked up by the next poll.
func TestDemoAlerts(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	c := startServe(t, data, "--access-log=false", "--rate-limit", "off")
	tok := mintToken(t, data, c.Tenant, c.ClientID, c.BaseURL)
	get := func(path string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest("GET", c.BaseURL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var v map[string]any
		if err := json.NewDecoder(res.Body).Decode(&v); err != nil || res.StatusCode != 200 {
			t.Fatalf("GET %s: %d %v", path, res.StatusCode, err)
		}
		return v
	}
	doc := get("/api/alerts/da637472900382838869_1364969609")
	if doc["computerDnsName"] != "temp123.middleeast.corp.microsoft.com" || doc["rbacGroupName"] != "A" || doc["lastUpdateTime"] != "2021-01-26T20:33:59.2Z" {
		t.Errorf("the documentation's alert: %v", doc)
	}
	// Every alert, the documentation's included, carries the tenant's id.
	for _, a := range get("/api/alerts?$select=id,aadTenantId")["value"].([]any) {
		if a := a.(map[string]any); a["aadTenantId"] != c.Tenant {
			t.Errorf("alert %v: aadTenantId %v, want the tenant's id %s", a["id"], a["aadTenantId"], c.Tenant)
			break
		}
	}
	// A connector's first poll, looking back a week from now, finds alerts.
	week := "/api/alerts?$filter=" + url.QueryEscape("lastUpdateTime ge "+time.Now().UTC().Add(-7*24*time.Hour).Format(time.RFC3339)) + "&$select=id"
	if n := len(get(week)["value"].([]any)); n < 10 {
		t.Errorf("the poll of the last 7 days found %d alerts", n)
	}
	for _, f := range []string{"severity eq 'UnSpecified'", "severity eq 'Informational'", "severity eq 'Low'", "severity eq 'Medium'",
		"severity eq 'High'", "status eq 'Unknown'", "status eq 'New'", "status eq 'InProgress'", "status eq 'Resolved'"} {
		if n := get("/api/alerts?$count=true&$top=0&$filter=" + url.QueryEscape(f))["@odata.count"]; n.(float64) < 1 {
			t.Errorf("%s: %v alerts", f, n)
		}
	}
	// The demo's indicators: the six active ones listed, and the alerts
	// of those with generateAlert that the demo's events hold.
	if ins := get("/api/indicators")["value"].([]any); len(ins) != 6 {
		t.Errorf("the demo lists %d indicators, want 6: %v", len(ins), ins)
	}
	ti := map[string]int{}
	for _, a := range get("/api/alerts?$select=id,detectionSource,title")["value"].([]any) {
		if a := a.(map[string]any); a["detectionSource"] == "CustomerTI" {
			ti[a["title"].(string)]++
		}
	}
	if ti["Mimikatz credential dumper"] == 0 || ti["Cryptomining pool"] == 0 || ti["svchost32 loader (expired)"] != 0 {
		t.Errorf("the demo's CustomerTI alerts by title: %v", ti)
	}
	poll := "/api/alerts?$filter=" + url.QueryEscape("lastUpdateTime ge "+time.Now().UTC().Format(time.RFC3339)) + "&$select=id,status"
	if n := len(get(poll)["value"].([]any)); n != 0 {
		t.Fatalf("%d alerts updated since now", n)
	}
	out := mustCLI(t, "seed", "--data", data, "--tenant", c.TenantName, "--alerts", "8", "--live", "--every", "1ms")
	var sum struct{ Created, Updated int }
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatal(err, out)
	}
	// Every alert the run wrote is in the poll, and nothing else: each new
	// one, and each earlier one it moved along or absorbed a new one into
	// (an open alert of the same title on the same machine, possibly one
	// of the demo's).
	got := get(poll)["value"].([]any)
	if len(got) < sum.Created || len(got) > 8+sum.Updated || sum.Created != 8 {
		t.Errorf("the poll after seed --live found %d alerts; it created %d (of 8 writes) and updated %d", len(got), sum.Created, sum.Updated)
	}
}

// TestSeedLive: seed --live --alerts n writes n new alerts, even when open
// alerts absorb some of its writes (one machine, more alerts than
// detections); generated and live alerts carry the tenant's id.
func TestSeedLive(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	mustCLI(t, "seed", "--data", data, "--tenant", "live.example", "--machines", "1", "--users", "1", "--alerts", "3")
	out := mustCLI(t, "seed", "--data", data, "--tenant", "live.example", "--alerts", "20", "--live", "--every", "0s")
	var sum struct{ Tenant string }
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatal(err, out)
	}
	if !strings.Contains(out, `"created": 20,`) {
		t.Errorf("seed --live --alerts 20:\n%s", out)
	}
	store := openStore(t, data)
	n := 0
	err := store.ScanAlerts(context.Background(), sum.Tenant, func(a openatp.Alert) error {
		n++
		if got := fmt.Sprint(a.AADTenantID); a.AADTenantID == nil || *a.AADTenantID != sum.Tenant {
			if a.AADTenantID != nil {
				got = *a.AADTenantID
			}
			t.Errorf("alert %s: aadTenantId %q, want the tenant's id %s", a.ID, got, sum.Tenant)
		}
		return nil
	})
	if err != nil || n != 23 {
		t.Errorf("%d alerts in the tenant, want 23 (3 seeded, 20 live): %v", n, err)
	}
}
