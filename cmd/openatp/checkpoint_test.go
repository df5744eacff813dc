package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/demotenant"
	"github.com/openatp/openatp/internal/pgtest"
	"github.com/openatp/openatp/postgres"
	"github.com/openatp/openatp/readmodel/keeper"
	"github.com/openatp/openatp/sqlite"
)

// TestCheckpointRestartSQLite: serve writes its read model's checkpoint
// beside the SQLite file at shutdown, loads it at the next start and
// catches up with what was written while it was stopped.
func TestCheckpointRestartSQLite(t *testing.T) {
	data := t.TempDir()
	testCheckpointRestart(t, data, []string{"--data", data}, filepath.Join(data, "openatp.db.checkpoints"), func() (openatp.Store, error) {
		return sqlite.Open(context.Background(), filepath.Join(data, "openatp.db"))
	})
}

// TestCheckpointRestartPostgres: the same with PostgreSQL and --checkpoint.
func TestCheckpointRestartPostgres(t *testing.T) {
	db, data := pgtest.Start(t).NewDatabase(t), t.TempDir()
	dir := filepath.Join(t.TempDir(), "checkpoints")
	testCheckpointRestart(t, data, []string{"--db", db, "--data", data, "--checkpoint", dir}, dir, func() (openatp.Store, error) {
		return postgres.Open(context.Background(), db)
	})
}

// testCheckpointRestart starts the demo, stops it (a checkpoint is
// written), writes to the store as another replica would (a machine of
// user1 with an alert, another tenant with a user1 of its own), restarts
// from the checkpoint and checks that the app's, the admin's and the
// analyst's answers (delegated: one device group) are those of a server
// built from the store. Then a corrupt checkpoint is ignored, logged, and
// the answers are the same again.
func testCheckpointRestart(t *testing.T, data string, args []string, dir string, open func() (openatp.Store, error)) {
	first := startReplica(t, append([]string{"--demo"}, args...)...)
	waitLog(t, first.stderr, "index built")
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(first.stderr.String(), "index checkpoint written") {
		t.Fatalf("no checkpoint written at shutdown:\n%s", first.stderr.String())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.checkpoint"))
	if len(files) != 1 {
		t.Fatalf("checkpoints in %s: %v, want one", dir, files)
	}
	var creds demotenant.Credentials
	b, err := os.ReadFile(filepath.Join(data, demotenant.CredFile))
	if err == nil {
		err = json.Unmarshal(b, &creds)
	}
	if err != nil {
		t.Fatal(err)
	}

	store, err := open()
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Repeat("c", 40)
	now := time.Now().UTC().Truncate(time.Second)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(store.UpsertMachines(context.Background(), creds.Tenant, []openatp.Machine{{ID: id, ComputerDNSName: openatp.Ptr("written-while-stopped.contoso.com"),
		OSPlatform: openatp.Ptr("Windows11"), MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}}}))
	must(store.AddLogons(context.Background(), creds.Tenant, []openatp.Logon{{MachineID: id, AccountName: "user1", AccountDomain: "contoso", LogonType: "Interactive", Timestamp: now}}))
	alert := openatp.Alert{ID: "da-written-while-stopped", MachineID: id, Severity: "High", Status: "New", Title: openatp.Ptr("written while stopped"),
		LastUpdateTime: &now, AlertCreationTime: &now}
	must(alert.Normalize())
	must(store.UpsertAlerts(context.Background(), creds.Tenant, []openatp.Alert{alert}))
	other, err := openatp.NewTenant("other.example", now)
	must(err)
	must(store.CreateTenant(context.Background(), other))
	must(store.UpsertMachines(context.Background(), other.ID, []openatp.Machine{{ID: strings.Repeat("d", 40), ComputerDNSName: openatp.Ptr("other-tenant.example"),
		MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}}}))
	must(store.AddLogons(context.Background(), other.ID, []openatp.Logon{{MachineID: strings.Repeat("d", 40), AccountName: "user1", AccountDomain: "contoso", LogonType: "Interactive", Timestamp: now}}))
	must(store.Close())

	// The answers of a server built from the store, without a checkpoint.
	reference := startReplica(t, append(slicesWithout(args, "--checkpoint"), "--checkpoint", "off")...)
	waitLog(t, reference.stderr, "index built")
	want := demoAnswers(t, reference.base, creds)
	if !strings.Contains(want["admin /api/users/user1/machines"], "written-while-stopped") ||
		strings.Contains(want["app /api/users/user1/machines"], "other-tenant") {
		t.Fatalf("the reference answers miss the machine written, or show another tenant's: %v", want)
	}
	must(reference.stop())

	restarted := startReplica(t, args...)
	waitLog(t, restarted.stderr, "index loaded from a checkpoint")
	if log := tenantLog(restarted, creds.Tenant); strings.Contains(log, "index built") || !strings.Contains(log, "index loaded") ||
		strings.Contains(log, "behind=0 ") {
		t.Errorf("the restarted server built its index, or found nothing to catch up:\n%s", log)
	}
	for k, got := range demoAnswers(t, restarted.base, creds) {
		if got != want[k] {
			t.Errorf("after the restart from the checkpoint, %s:\n%s\nwant (built from the store)\n%s", k, got, want[k])
		}
	}
	must(restarted.stop())

	// A corrupt checkpoint: logged, ignored, the index built.
	file := keeper.File(dir, creds.Tenant)
	b, err = os.ReadFile(file)
	must(err)
	b[len(b)/2] ^= 1
	must(os.WriteFile(file, b, 0o600))
	corrupt := startReplica(t, args...)
	waitLog(t, corrupt.stderr, "index built")
	if log := tenantLog(corrupt, creds.Tenant); !strings.Contains(log, "index checkpoint ignored") || !strings.Contains(log, "checksum mismatch") ||
		strings.Contains(log, "index loaded") {
		t.Errorf("a corrupt checkpoint was not logged and ignored:\n%s", log)
	}
	for k, got := range demoAnswers(t, corrupt.base, creds) {
		if got != want[k] {
			t.Errorf("after a corrupt checkpoint, %s:\n%s\nwant\n%s", k, got, want[k])
		}
	}
}

// slicesWithout returns args without flag and its value.
func slicesWithout(args []string, flag string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if args[i] == flag {
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}

// tenantLog returns the lines of r's log about tenant.
func tenantLog(r *replica, tenant string) string {
	var out []string
	for _, l := range strings.Split(r.stderr.String(), "\n") {
		if strings.Contains(l, "tenant="+tenant) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// demoAnswers reads the demo tenant as its app, its admin and its analyst
// (delegated, one device group), the base URL taken out.
func demoAnswers(t *testing.T, base string, c demotenant.Credentials) map[string]string {
	t.Helper()
	tokens := map[string]string{"app": clientToken(t, base, c.Tenant, c.ClientID, c.ClientSecret)}
	for _, u := range c.Users {
		form := url.Values{"grant_type": {"password"}, "client_id": {c.ClientID}, "username": {u.Username}, "password": {u.Password},
			"resource": {"https://api.securitycenter.microsoft.com"}}
		res, err := http.PostForm(base+"/"+c.Tenant+"/oauth2/token", form)
		if err != nil {
			t.Fatal(err)
		}
		var tr struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.NewDecoder(res.Body).Decode(&tr)
		res.Body.Close()
		tokens[strings.SplitN(u.Username, "@", 2)[0]] = tr.AccessToken
	}
	out := map[string]string{}
	for who, tok := range tokens {
		for _, p := range []string{"/api/users/user1/machines", "/api/machines?$top=500", "/api/alerts?$top=500",
			"/api/machines/" + strings.Repeat("c", 40), "/api/machines?$filter=computerDnsName+eq+'written-while-stopped.contoso.com'"} {
			status, body := get(t, base, p, tok)
			out[who+" "+p] = http.StatusText(status) + " " + stripRequestID(stripBase(body, base))
		}
	}
	return out
}

// stripRequestID takes out an error's target (the request id).
func stripRequestID(body string) string {
	if i := strings.Index(body, `"target":"`); i >= 0 {
		if j := strings.Index(body[i+10:], `"`); j >= 0 {
			return body[:i] + body[i+10+j:]
		}
	}
	return body
}
