package apitest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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

// Admin sends an admin API request with the given key ("" for none) and
// content type.
func Admin(t testing.TB, srv *httptest.Server, method, path, key, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-Openatp-Admin-Key", key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return Send(t, srv, req)
}

// ErrorCT is the Content-Type of an error answer.
const ErrorCT = "application/json; charset=utf-8"

// CheckError checks an error answer: its status, its headers, and its
// body, the MDE error with the code, a message, and the request id as
// target.
func CheckError(t testing.TB, status int, header http.Header, body []byte, wantStatus int, code string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d: %s", status, wantStatus, body)
	}
	CheckJSONHeaders(t, header, ErrorCT)
	var v struct {
		Error struct {
			Code, Message, Target string
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	if v.Error.Code != code || v.Error.Message == "" || v.Error.Target != header.Get("request-id") {
		t.Errorf("error body %s: want code %s, a message and target = request-id %q", body, code, header.Get("request-id"))
	}
}

// CheckJSONHeaders checks an answer's Content-Type and request-id.
func CheckJSONHeaders(t testing.TB, header http.Header, wantCT string) {
	t.Helper()
	if ct := header.Get("Content-Type"); ct != wantCT {
		t.Errorf("Content-Type = %q, want %q", ct, wantCT)
	}
	if id := header.Get("request-id"); len(id) != 36 {
		t.Errorf("request-id header = %q, want a GUID", id)
	}
}

// DelegatedApp creates a public client application of tn (delegated
// tokens) with the given scopes.
func DelegatedApp(t testing.TB, store openatp.Store, tn openatp.Tenant, scopes ...string) openatp.App {
	t.Helper()
	a, _, err := openatp.NewApp(tn.ID, "native", nil, scopes, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateApp(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

// Delegated mints a user-context token for app (its scopes become scp)
// with the given user groups, as the token endpoint of baseURL would.
func Delegated(t testing.TB, svc *auth.Service, baseURL string, tn openatp.Tenant, app openatp.App, userName string, groups ...string) string {
	t.Helper()
	u := openatp.DirectoryUser{ID: openatp.NewGUID(), UserName: userName, Groups: groups}
	tok, _, err := svc.Mint(context.Background(), auth.MintRequest{
		Tenant: tn, App: app, User: &u, BaseURL: baseURL, Version: 1, Audience: "https://api.securitycenter.microsoft.com"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// VaultMachine is the machine of AddRBAC's group 150.
const VaultMachine = "3333333333333333333333333333333333333333"

// AddRBAC gives an Env's tenant its device groups and roles: the
// documented machines in group 140 (The-A-Team, for user group g-ana), a
// third machine of user1 in group 150 (Vault, for g-sec), and a user seen
// only on the vault machine; roles Viewer (g-ana, View Data), Responder
// (g-noview, no View Data) and the admin role (g-admin).
func AddRBAC(t testing.TB, store openatp.Store, tn openatp.Tenant) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	gs, err := store.Groups(ctx, tn.ID)
	must(err)
	team := gs[0]
	team.UserGroups = []string{"g-ana"}
	must(store.UpdateGroup(ctx, tn.ID, team))
	must(store.CreateGroup(ctx, tn.ID, openatp.DeviceGroup{ID: 150, Name: "Vault", Rank: 2, UserGroups: []string{"g-sec"},
		Rules: []openatp.RuleRow{{Property: openatp.RuleTag, Values: []string{"vault"}}}}))
	must(store.PutRole(ctx, tn.ID, openatp.Role{Name: "Viewer", Permissions: []string{openatp.PermViewData}, UserGroups: []string{"g-ana"}}))
	must(store.PutRole(ctx, tn.ID, openatp.Role{Name: "Responder", Permissions: []string{openatp.PermLiveResponseBasic}, UserGroups: []string{"g-noview"}}))
	must(store.PutRole(ctx, tn.ID, openatp.Role{Name: openatp.AdminRoleName, UserGroups: []string{"g-admin"}}))
	m := openatp.Machine{ID: VaultMachine, ComputerDNSName: openatp.Ptr("vault.contoso.com"), MachineTags: []string{"vault"}}
	Load(t, store, tn, []openatp.Machine{m}, []openatp.Logon{
		{MachineID: m.ID, AccountName: "user1", AccountDomain: "contoso", Timestamp: time.Now()},
		{MachineID: m.ID, AccountName: "vaultonly", AccountDomain: "contoso", Timestamp: time.Now()},
	})
}

// MID is the id of the n-th machine of MachineLine.
func MID(n int) string { return fmt.Sprintf("%040x", 0xab0000+n) }

// MachineLine is a JSON Lines record of machine n, with extra properties
// (",\"name\":value...") if not "".
func MachineLine(n int, extra string) string {
	return fmt.Sprintf(`{"id":%q,"computerDnsName":"adm%d.contoso.com","healthStatus":"Active"%s}`, MID(n), n, extra)
}
