package apitest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/adminapi"
	"github.com/openatp/openatp/auth"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/internal/demo"
	"github.com/openatp/openatp/sqlite"
)

// Env is a composed server on a real listener over a real SQLite store,
// with the built-in token service mounted beside the API, one tenant and
// one application granted Machine.Read.All, and the documentation's
// example machines and logons (plus a user on one machine whose nullable
// properties are all null) loaded.
type Env struct {
	Store  openatp.Store
	Auth   *auth.Service
	Srv    *httptest.Server
	Server *Server
	Tenant openatp.Tenant
	App    openatp.App // granted Machine.Read.All
	DBPath string      // the SQLite file, for a second store on it
}

// Start starts an Env; configure, if set, changes the server's Config
// first. It is served over HTTPS with HTTP/2 when tls is set. Everything
// is closed when t ends.
func Start(t testing.TB, configure func(*Config), tls bool) *Env {
	t.Helper()
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "openatp.db")
	store, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc, err := auth.New(ctx, store, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	e := &Env{Store: store, Auth: svc, DBPath: dbPath}
	e.Tenant = NewTenant(t, store, "contoso.onmicrosoft.com")
	e.App = NewApp(t, store, e.Tenant, "reader", openatp.PermMachineReadAll)
	ms, ls, gs := demo.DocExample()
	for _, g := range gs {
		if err := store.CreateGroup(ctx, e.Tenant.ID, g); err != nil {
			t.Fatal(err)
		}
	}
	// A user on one machine, with every nullable property null.
	lone := openatp.Machine{ID: strings.Repeat("0", 39) + "1", MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}}
	ms = append(ms, lone)
	ls = append(ls, openatp.Logon{MachineID: lone.ID, AccountName: "Lone.User", AccountDomain: "fabrikam", LogonType: "Network",
		Timestamp: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)})
	Load(t, store, e.Tenant, ms, ls)

	cfg := Config{Store: store, Verifier: svc, Settings: svc}
	if configure != nil {
		configure(&cfg)
	}
	e.Server = NewServer(cfg)
	t.Cleanup(func() { e.Server.Close() })
	identity := auth.NewHandler(svc, nil)
	for _, p := range auth.Patterns {
		e.Server.Handle(p, identity)
	}
	e.Srv = httptest.NewUnstartedServer(e.Server.Handler())
	e.Srv.Listener = httpserve.WrapListener(e.Srv.Listener, nil)
	if tls {
		e.Srv.EnableHTTP2 = true
		e.Srv.StartTLS()
	} else {
		e.Srv.Start()
	}
	t.Cleanup(e.Srv.Close)
	return e
}

// NewTenant creates a tenant named name.
func NewTenant(t testing.TB, store openatp.Store, name string) openatp.Tenant {
	t.Helper()
	tn, err := openatp.NewTenant(name, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateTenant(context.Background(), tn); err != nil {
		t.Fatal(err)
	}
	return tn
}

// NewApp creates an application of tn granted roles.
func NewApp(t testing.TB, store openatp.Store, tn openatp.Tenant, name string, roles ...string) openatp.App {
	t.Helper()
	a, _, err := openatp.NewApp(tn.ID, name, roles, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateApp(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

// Load normalizes and stores machines and logons of tn.
func Load(t testing.TB, store openatp.Store, tn openatp.Tenant, ms []openatp.Machine, ls []openatp.Logon) {
	t.Helper()
	ctx := context.Background()
	for i := range ms {
		if err := ms[i].Normalize(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range ls {
		if err := ls[i].Normalize(); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.UpsertMachines(ctx, tn.ID, ms); err != nil {
		t.Fatal(err)
	}
	if err := store.AddLogons(ctx, tn.ID, ls); err != nil {
		t.Fatal(err)
	}
}

// Token mints a v1 token for app, as the token endpoint of baseURL would.
func Token(t testing.TB, svc *auth.Service, baseURL string, tn openatp.Tenant, app openatp.App) string {
	t.Helper()
	tok, _, err := svc.Mint(context.Background(), auth.MintRequest{
		Tenant: tn, App: app, BaseURL: baseURL, Version: 1, Audience: "https://api.securitycenter.microsoft.com"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Do sends a request without a body, with token as bearer token if not
// "", and returns the answer with its body read.
func Do(t testing.TB, srv *httptest.Server, method, path, token string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return Send(t, srv, req)
}

// Send sends req with srv's client and returns the answer with its body
// read.
func Send(t testing.TB, srv *httptest.Server, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

// Raw sends a request line as is (for URLs net/http would refuse to send).
func Raw(t testing.TB, srv *httptest.Server, requestLine string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, requestLine+"\r\nHost: "+srv.Listener.Addr().String()+"\r\nConnection: close\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

var targetRE = regexp.MustCompile(`"target":"[0-9a-f-]{36}"`)

// Normalized replaces what differs between runs in a body of srv (the
// request id, the server's address) so that it can be compared with a
// golden file. It also checks the error target equals requestID (the
// request-id header).
func Normalized(t testing.TB, srv *httptest.Server, body []byte, requestID string) []byte {
	t.Helper()
	b := body
	if m := targetRE.Find(b); m != nil {
		if string(m) != `"target":"`+requestID+`"` {
			t.Errorf("error target %s differs from request-id header %q", m, requestID)
		}
		b = targetRE.ReplaceAll(b, []byte(`"target":"<request-id>"`))
	}
	// Over HTTPS the URLs say https://; the golden files are written for
	// http://, the scheme being the one difference.
	b = bytes.ReplaceAll(b, []byte(srv.URL), []byte("http://<host>"))
	return bytes.ReplaceAll(b, []byte(srv.Listener.Addr().String()), []byte("<host>"))
}

// Golden compares a JSON body with testdata/<name>.golden.json, pretty
// printed, and checks the body is its compact form; update rewrites the
// file first.
func Golden(t testing.TB, name string, got []byte, update bool) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden.json")
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatalf("%s: body is not JSON: %v\n%s", name, err, got)
	}
	pretty.WriteByte('\n')
	if update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the package's tests with -update to create it)", err)
	}
	if !bytes.Equal(want, pretty.Bytes()) {
		t.Errorf("%s: body differs from %s\n--- want\n%s\n--- got\n%s", name, path, want, pretty.Bytes())
	}
	// The wire form is compact JSON: the golden file, compacted, is the body.
	var compact bytes.Buffer
	_ = json.Compact(&compact, want)
	if !bytes.Equal(compact.Bytes(), got) {
		t.Errorf("%s: wire body is not the compact form of the golden file:\n%s", name, got)
	}
}

// LockedBuffer is a bytes.Buffer safe for concurrent use: a logger's
// output read by a test while the server writes it.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// WaitFor polls cond until it holds; a bound, not a measurement.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// AdminKey is the admin key SetAdminKey sets.
const AdminKey = "test-admin-key"

// SetAdminKey sets the deployment's admin key to AdminKey and has svc
// read it (as serve does every second).
func SetAdminKey(t testing.TB, store openatp.Store, svc *auth.Service) {
	t.Helper()
	if err := store.SetSetting(context.Background(), adminapi.AdminKeySetting, AdminKey); err != nil {
		t.Fatal(err)
	}
	if err := svc.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
}
