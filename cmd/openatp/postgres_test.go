package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/demotenant"
	"github.com/openatp/openatp/internal/pgtest"
	"github.com/openatp/openatp/internal/redistest"
)

// TestMain runs the tests, stops the shared PostgreSQL cluster, and fails
// when a goroutine outlives them.
func TestMain(m *testing.M) { pgtest.Main(m) }

// replica is one `openatp serve` run in-process.
type replica struct {
	base   string // http://127.0.0.1:port
	stderr *syncBuffer
	stop   func() error // cancels run's context and waits for run to return
}

var baseLine = regexp.MustCompile(`HTTP +(http://\S+)`)

// startReplica runs `openatp serve` with args (plus random ports, no TLS)
// and waits until it listens. It is stopped when t ends, if not before.
func startReplica(t *testing.T, args ...string) *replica {
	t.Helper()
	return launchReplica(t, args...).wait(t)
}

// launching is a serve run started but perhaps not listening yet.
type launching struct {
	r    *replica
	out  *syncBuffer
	done chan error
}

// launchReplica starts `openatp serve` with args (plus random ports, no
// TLS) without waiting for it; it is stopped when t ends, if not before.
func launchReplica(t *testing.T, args ...string) *launching {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errb := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--tls-addr", ""}, args...)
	go func() { done <- runCLI(ctx, args, noEnv, strings.NewReader(""), out, errb) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(40 * time.Second):
				runErr = context.DeadlineExceeded
			}
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v\n%s", err, errb.String())
		}
	})
	return &launching{r: &replica{stderr: errb, stop: stop}, out: out, done: done}
}

// wait waits until the server listens.
func (l *launching) wait(t *testing.T) *replica {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-l.done:
			l.done <- err
			t.Fatalf("serve exited: %v\n%s\n%s", err, l.out.String(), l.r.stderr.String())
		default:
		}
		if m := baseLine.FindStringSubmatch(l.out.String()); m != nil {
			l.r.base = m[1]
			return l.r
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("serve did not start in time:\n%s\n%s", l.out.String(), l.r.stderr.String())
	return nil
}

// clientToken gets a token from a replica's token endpoint, as any MDE
// client does.
func clientToken(t *testing.T, base, tenant, clientID, secret string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret},
		"resource": {"https://api.securitycenter.microsoft.com"}}
	res, err := http.PostForm(base+"/"+tenant+"/oauth2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tr); err != nil || res.StatusCode != 200 || tr.AccessToken == "" {
		t.Fatalf("token from %s: status %d, %v", base, res.StatusCode, err)
	}
	return tr.AccessToken
}

// get GETs base+path with a bearer token and returns the status and body.
func get(t *testing.T, base, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 30 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// newTenantApp creates a tenant and an app with Machine.Read.All through
// the CLI and returns the tenant id, client id and secret.
func newTenantApp(t *testing.T, db, name string, roles ...string) (tenant, clientID, secret string) {
	t.Helper()
	out, err := cli(t, "tenant", "create", "--db", db, "--data", t.TempDir(), "--name", name)
	if err != nil {
		t.Fatal(err, out)
	}
	var tn map[string]string
	if err := json.Unmarshal([]byte(out), &tn); err != nil {
		t.Fatal(err, out)
	}
	if roles == nil {
		roles = []string{"Machine.Read.All"}
	}
	args := []string{"app", "create", "--db", db, "--data", t.TempDir(), "--tenant", name, "--name", "siem"}
	for _, r := range roles {
		args = append(args, "--role", r)
	}
	out, err = cli(t, args...)
	if err != nil {
		t.Fatal(err, out)
	}
	var app struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(out), &app); err != nil {
		t.Fatal(err, out)
	}
	return tn["tenant"], app.ClientID, app.ClientSecret
}

// TestReplicas runs two `openatp serve` on one PostgreSQL database and one
// Redis, started at the same moment on an empty database: both migrate it
// without error; a token either issues is accepted by the other; data
// written through another process is read the same through both; and a
// rate limit is shared exactly.
func TestReplicas(t *testing.T) {
	db := pgtest.NewDatabase(t)
	rds := redistest.Start(t)
	args := []string{"--db", db, "--redis", rds.URL, "--rate-limit", "30/min", "--access-log=false"}
	la := launchReplica(t, append(args, "--data", t.TempDir())...)
	lb := launchReplica(t, append(args, "--data", t.TempDir())...)
	a, b := la.wait(t), lb.wait(t)

	tenant, clientID, secret := newTenantApp(t, db, "replicas.example")
	tokA := clientToken(t, a.base, tenant, clientID, secret)
	tokB := clientToken(t, b.base, tenant, clientID, secret)
	// Each token on the other replica: the unknown user's 404, not a 401.
	for _, c := range []struct{ base, token string }{{b.base, tokA}, {a.base, tokB}} {
		if status, body := get(t, c.base, "/api/users/alice/machines", c.token); status != 404 || !strings.Contains(body, "ResourceNotFound") {
			t.Fatalf("a token of one replica on the other: %d %s", status, body)
		}
	}

	// Written by a third process; read through both replicas, at once.
	if out, err := cli(t, "seed", "--db", db, "--data", t.TempDir(), "--tenant", "replicas.example", "--machines", "40", "--users", "10", "--seed", "7"); err != nil {
		t.Fatal(err, out)
	}
	users := seededUsers(t, db, tenant)
	for _, u := range users[:3] {
		sa, ba := get(t, a.base, "/api/users/"+u+"/machines", tokA)
		sb, bb := get(t, b.base, "/api/users/"+u+"/machines", tokB)
		if sa != 200 || sb != 200 || stripBase(ba, a.base) != stripBase(bb, b.base) {
			t.Errorf("user %s: replica A %d %s\nreplica B %d %s", u, sa, ba, sb, bb)
		}
	}

	// The limit (30/min; 2+3+3 calls made) is shared: of 40 more calls
	// alternating between the replicas, exactly 22 are accepted.
	ok, throttled := 0, 0
	for i := range 40 {
		base := []string{a.base, b.base}[i%2]
		switch status, body := get(t, base, "/api/users/"+users[0]+"/machines", tokA); status {
		case 200:
			ok++
		case 429:
			throttled++
		default:
			t.Fatalf("call %d: %d %s", i, status, body)
		}
	}
	if ok != 22 || throttled != 18 {
		t.Errorf("shared limit of 30/min after 8 calls: %d accepted, %d throttled; want 22 and 18", ok, throttled)
	}
}

// TestReplicasDemo starts two `openatp serve --demo` at the same moment on
// one empty database: one creates the demo tenant, the other waits for it,
// and both print the same credentials.
func TestReplicasDemo(t *testing.T) {
	db := pgtest.NewDatabase(t)
	dirs := []string{t.TempDir(), t.TempDir()}
	la := launchReplica(t, "--db", db, "--demo", "--data", dirs[0], "--access-log=false")
	lb := launchReplica(t, "--db", db, "--demo", "--data", dirs[1], "--access-log=false")
	a, b := la.wait(t), lb.wait(t)
	var creds [2]demotenant.Credentials
	for i, dir := range dirs {
		// serve writes the file just after it prints its address.
		raw, err := os.ReadFile(filepath.Join(dir, demotenant.CredFile))
		for deadline := time.Now().Add(30 * time.Second); err != nil && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
			raw, err = os.ReadFile(filepath.Join(dir, demotenant.CredFile))
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &creds[i]); err != nil {
			t.Fatal(err)
		}
	}
	if creds[0].Tenant == "" || creds[0].Tenant != creds[1].Tenant || creds[0].ClientID != creds[1].ClientID || creds[0].ClientSecret != creds[1].ClientSecret {
		t.Fatalf("the replicas disagree on the demo: %+v and %+v", creds[0], creds[1])
	}
	tok := clientToken(t, a.base, creds[0].Tenant, creds[0].ClientID, creds[0].ClientSecret)
	sa, ba := get(t, a.base, "/api/users/user1/machines", tok)
	sb, bb := get(t, b.base, "/api/users/user1/machines", tok)
	if sa != 200 || sb != 200 || stripBase(ba, a.base) != stripBase(bb, b.base) {
		t.Errorf("user1: replica A %d %s\nreplica B %d %s", sa, ba, sb, bb)
	}
}

// stripBase removes a replica's own address (in @odata.context) from an
// answer.
func stripBase(body, base string) string { return strings.ReplaceAll(body, base, "") }

// seededUsers returns account names of the tenant's users, read through
// the store as another process would.
func seededUsers(t *testing.T, db, tenant string) []string {
	t.Helper()
	var sf storeFlags
	sf.db, sf.data = db, t.TempDir()
	s, err := sf.open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var names []string
	seen := map[string]bool{}
	err = s.Snapshot(context.Background(), tenant, func(openatp.Machine) error { return nil }, func(r openatp.UserMachine) error {
		if !seen[r.AccountName] {
			seen[r.AccountName] = true
			names = append(names, url.PathEscape(r.AccountName))
		}
		return nil
	})
	if err != nil || len(names) < 3 {
		t.Fatalf("seeded users %v: %v", names, err)
	}
	return names
}

// TestPostgresOutage stops PostgreSQL under a running server: requests get
// the documented 503 error body within a bounded time, /readyz says why,
// and once PostgreSQL is back the same server answers again.
func TestPostgresOutage(t *testing.T) {
	srv := pgtest.Start(t)
	db := srv.NewDatabase(t)
	r := startReplica(t, "--db", db, "--data", t.TempDir(), "--rate-limit", "off")
	tenant, clientID, secret := newTenantApp(t, db, "outage.example")
	if out, err := cli(t, "seed", "--db", db, "--data", t.TempDir(), "--tenant", "outage.example", "--machines", "20", "--users", "5", "--seed", "3"); err != nil {
		t.Fatal(err, out)
	}
	user := seededUsers(t, db, tenant)[0]
	tok := clientToken(t, r.base, tenant, clientID, secret)
	path := "/api/users/" + user + "/machines"
	if status, body := get(t, r.base, path, tok); status != 200 {
		t.Fatalf("before the outage: %d %s", status, body)
	}

	srv.Stop()
	for range 3 {
		start := time.Now()
		a := send(t, "GET", r.base+path, tok, "")
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("answer took %v with PostgreSQL stopped", d)
		}
		wantServiceUnavailable(t, "with PostgreSQL stopped", a) // without --stale-reads: at once
	}
	status, body := get(t, r.base, "/readyz", "")
	if status != 503 || !strings.Contains(body, "store") || !strings.Contains(body, "PostgreSQL") {
		t.Errorf("/readyz with PostgreSQL stopped: %d %s, want 503 saying why", status, body)
	}
	t.Logf("/readyz with PostgreSQL stopped: %d %s", status, body)
	if status, _ := get(t, r.base, "/healthz", ""); status != 200 {
		t.Errorf("/healthz with PostgreSQL stopped: %d, want 200 (the process is up)", status)
	}

	srv.Restart(t)
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, body = get(t, r.base, path, tok)
		if status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("20 s after PostgreSQL restarted: %d %s", status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if status, body := get(t, r.base, "/readyz", ""); status != 200 {
		t.Errorf("/readyz after the restart: %d %s", status, body)
	}
}

// TestReplicasTagWrite: a tag written through one replica is in the very
// next read of the other, by id and in a $filter, and the tag's answer
// shows it, on one PostgreSQL database.
func TestReplicasTagWrite(t *testing.T) {
	db := pgtest.NewDatabase(t)
	args := []string{"--db", db, "--rate-limit", "off", "--access-log=false"}
	la := launchReplica(t, append(args, "--data", t.TempDir())...)
	lb := launchReplica(t, append(args, "--data", t.TempDir())...)
	a, b := la.wait(t), lb.wait(t)
	tenant, clientID, secret := newTenantApp(t, db, "tags.example", "Machine.Read.All", "Machine.ReadWrite.All")
	if out, err := cli(t, "seed", "--db", db, "--data", t.TempDir(), "--tenant", "tags.example", "--machines", "40", "--users", "10", "--seed", "7"); err != nil {
		t.Fatal(err, out)
	}
	tok := clientToken(t, a.base, tenant, clientID, secret)
	status, body := get(t, b.base, "/api/machines?$top=1&$select=id", tok)
	var page struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	if err := json.Unmarshal([]byte(body), &page); status != 200 || err != nil || len(page.Value) != 1 {
		t.Fatalf("list: %d %s", status, body)
	}
	id := page.Value[0].ID
	for i := range 6 {
		writer, reader := a.base, b.base
		if i%2 == 1 {
			writer, reader = b.base, a.base
		}
		tag := fmt.Sprintf("wave-%d", i)
		req, _ := http.NewRequest("POST", writer+"/api/machines/"+id+"/tags", strings.NewReader(`{"Value":"`+tag+`","Action":"Add"}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		wb, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(wb), `"`+tag+`"`) {
			t.Fatalf("tag %s through %s: %d %s", tag, writer, res.StatusCode, wb)
		}
		if status, body := get(t, reader, "/api/machines/"+id, tok); status != 200 || !strings.Contains(body, `"`+tag+`"`) {
			t.Fatalf("the other replica's next read of the machine lacks %s: %d %s", tag, status, body)
		}
		q := url.QueryEscape("machineTags/any(t: t eq '" + tag + "')")
		if status, body := get(t, reader, "/api/machines?$select=id&$filter="+q, tok); status != 200 || !strings.Contains(body, id) {
			t.Fatalf("the other replica's filter on %s: %d %s", tag, status, body)
		}
	}
}
