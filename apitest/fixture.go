package apitest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
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

// Fixture is a composed server on a real listener over a real SQLite
// store, with the built-in token service mounted beside the API, one
// tenant and one application granted Machine.Read.All, and the
// documentation's example machines and logons (plus a user on one machine
// whose nullable properties are all null) loaded. It is the fixture of the
// tests of httpserve, mdeapi and adminapi.
type Fixture struct {
	Store  openatp.Store
	Auth   *auth.Service
	Srv    *httptest.Server
	Server *Server
	Tenant openatp.Tenant
	App    openatp.App // granted Machine.Read.All
	DBPath string      // the SQLite file, for a second store on it
}

// NewFixture starts a Fixture; configure, if set, changes the server's
// Config first. Everything is closed when t ends.
func NewFixture(t testing.TB, configure func(*Config)) *Fixture {
	t.Helper()
	return NewFixtureOn(t, configure, false)
}

// NewFixtureOn is NewFixture, served over HTTPS with HTTP/2 when tls is
// set.
func NewFixtureOn(t testing.TB, configure func(*Config), tls bool) *Fixture {
	t.Helper()
	dbPath := filepath.Join(t.TempDir(), "openatp.db")
	store, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := newFixture(t, store, configure, tls)
	f.DBPath = dbPath
	return f
}

// NewStoreFixture is NewFixture over store (another engine's: the caller
// closes it), served over HTTP.
func NewStoreFixture(t testing.TB, store openatp.Store, configure func(*Config)) *Fixture {
	t.Helper()
	return newFixture(t, store, configure, false)
}

// newFixture starts a Fixture over store.
func newFixture(t testing.TB, store openatp.Store, configure func(*Config), tls bool) *Fixture {
	t.Helper()
	ctx := context.Background()
	svc, err := auth.New(ctx, store, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	f := &Fixture{Store: store, Auth: svc}
	f.Tenant = f.NewTenant(t, "contoso.onmicrosoft.com")
	f.App = f.NewApp(t, f.Tenant, "reader", openatp.PermMachineReadAll)
	ms, ls, gs := demo.DocExample()
	for _, g := range gs {
		if err := store.CreateGroup(ctx, f.Tenant.ID, g); err != nil {
			t.Fatal(err)
		}
	}
	// A user on one machine, with every nullable property null.
	lone := openatp.Machine{ID: strings.Repeat("0", 39) + "1", MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}}
	ms = append(ms, lone)
	ls = append(ls, openatp.Logon{MachineID: lone.ID, AccountName: "Lone.User", AccountDomain: "fabrikam", LogonType: "Network",
		Timestamp: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)})
	f.Load(t, f.Tenant, ms, ls)

	cfg := Config{Store: store, Verifier: svc, Settings: svc}
	if configure != nil {
		configure(&cfg)
	}
	f.Server = NewServer(cfg)
	t.Cleanup(func() {
		// After the listener's Close, which waits for the requests: every
		// view a request took must have been released.
		f.Server.Close()
		if n := f.Server.LiveViews(); n != 0 {
			t.Errorf("%d read-model views not released at the end of the test", n)
		}
	})
	identity := auth.NewHandler(svc, nil)
	for _, p := range auth.Patterns {
		f.Server.Handle(p, identity)
	}
	f.Srv = httptest.NewUnstartedServer(f.Server.Handler())
	f.Srv.Listener = httpserve.WrapListener(f.Srv.Listener, nil)
	if tls {
		f.Srv.EnableHTTP2 = true
		f.Srv.StartTLS()
	} else {
		f.Srv.Start()
	}
	t.Cleanup(f.Srv.Close)
	return f
}

// AdminFixture is a Fixture with the deployment's admin key set to
// AdminKey.
func AdminFixture(t testing.TB) *Fixture {
	t.Helper()
	f := NewFixture(t, nil)
	f.SetAdminKey(t)
	return f
}

// RBACFixture is a Fixture with AddRBAC's device groups and roles, its
// read model disabled if noIndex, and configure (if any) applied to its
// Config.
func RBACFixture(t testing.TB, noIndex bool, configure ...func(*Config)) *Fixture {
	t.Helper()
	f := NewFixture(t, func(c *Config) {
		c.NoIndex = noIndex
		for _, fn := range configure {
			fn(c)
		}
	})
	f.AddRBAC(t)
	return f
}

// NewTenant creates a tenant named name.
func (f *Fixture) NewTenant(t testing.TB, name string) openatp.Tenant {
	t.Helper()
	tn, err := openatp.NewTenant(name, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Store.CreateTenant(context.Background(), tn); err != nil {
		t.Fatal(err)
	}
	return tn
}

// NewApp creates an application of tn granted roles.
func (f *Fixture) NewApp(t testing.TB, tn openatp.Tenant, name string, roles ...string) openatp.App {
	t.Helper()
	a, _, err := openatp.NewApp(tn.ID, name, roles, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Store.CreateApp(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

// Load normalizes and stores machines and logons of tn.
func (f *Fixture) Load(t testing.TB, tn openatp.Tenant, ms []openatp.Machine, ls []openatp.Logon) {
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
	if err := f.Store.UpsertMachines(ctx, tn.ID, ms); err != nil {
		t.Fatal(err)
	}
	if err := f.Store.AddLogons(ctx, tn.ID, ls); err != nil {
		t.Fatal(err)
	}
}

// Token mints a v1 token for app, as the token endpoint would.
func (f *Fixture) Token(t testing.TB, tn openatp.Tenant, app openatp.App) string {
	t.Helper()
	tok, _, err := f.Auth.Mint(context.Background(), auth.MintRequest{
		Tenant: tn, App: app, BaseURL: f.Srv.URL, Version: 1, Audience: "https://api.securitycenter.microsoft.com"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// DelegatedApp creates a public client application of tn (delegated
// tokens) with the given scopes.
func (f *Fixture) DelegatedApp(t testing.TB, tn openatp.Tenant, scopes ...string) openatp.App {
	t.Helper()
	a, _, err := openatp.NewApp(tn.ID, "native", nil, scopes, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Store.CreateApp(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

// Delegated mints a user-context token for app (its scopes become scp)
// with the given user groups, as the token endpoint would.
func (f *Fixture) Delegated(t testing.TB, tn openatp.Tenant, app openatp.App, userName string, groups ...string) string {
	t.Helper()
	u := openatp.DirectoryUser{ID: openatp.NewGUID(), UserName: userName, Groups: groups}
	tok, _, err := f.Auth.Mint(context.Background(), auth.MintRequest{
		Tenant: tn, App: app, User: &u, BaseURL: f.Srv.URL, Version: 1, Audience: "https://api.securitycenter.microsoft.com"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// A Response is an answer with its body read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	Proto  string
}

// Answer is the Response of res, whose body was read as body.
func Answer(res *http.Response, body []byte) Response {
	return Response{Status: res.StatusCode, Header: res.Header, Body: body, Proto: res.Proto}
}

// Do sends a request without a body, with token as bearer token if not
// "".
func (f *Fixture) Do(t testing.TB, method, path, token string) Response {
	t.Helper()
	req, err := http.NewRequest(method, f.Srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return f.Send(t, req)
}

// SendJSON sends a request with a JSON body and token as bearer token.
func (f *Fixture) SendJSON(t testing.TB, method, path, token, body string) Response {
	t.Helper()
	req, err := http.NewRequest(method, f.Srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	return f.Send(t, req)
}

// Send sends req with the server's client.
func (f *Fixture) Send(t testing.TB, req *http.Request) Response {
	t.Helper()
	res, err := f.Srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Answer(res, body)
}

// Raw sends a request line as is (for URLs net/http would refuse to send).
func (f *Fixture) Raw(t testing.TB, requestLine string) Response {
	t.Helper()
	addr := f.Srv.Listener.Addr().String()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, requestLine+"\r\nHost: "+addr+"\r\nConnection: close\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return Answer(res, body)
}

// AdminKey is the admin key SetAdminKey sets.
const AdminKey = "test-admin-key"

// SetAdminKey sets the deployment's admin key to AdminKey and has the
// token service read it (as serve does every second).
func (f *Fixture) SetAdminKey(t testing.TB) {
	t.Helper()
	if err := f.Store.SetSetting(context.Background(), adminapi.AdminKeySetting, AdminKey); err != nil {
		t.Fatal(err)
	}
	if err := f.Auth.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Admin sends an admin API request with the given key ("" for none) and
// content type.
func (f *Fixture) Admin(t testing.TB, method, path, key, contentType string, body []byte) Response {
	t.Helper()
	req, err := http.NewRequest(method, f.Srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-Openatp-Admin-Key", key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return f.Send(t, req)
}

// AdminObject sends an admin API request with AdminKey (and body as JSON
// if not nil), checks its status is want and returns the JSON object it
// answers.
func (f *Fixture) AdminObject(t testing.TB, method, path string, body []byte, want int) map[string]any {
	t.Helper()
	contentType := ""
	if body != nil {
		contentType = "application/json"
	}
	r := f.Admin(t, method, path, AdminKey, contentType, body)
	if r.Status != want {
		t.Fatalf("%s %s %s: %d %s", method, path, body, r.Status, r.Body)
	}
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

var targetRE = regexp.MustCompile(`"target":"[0-9a-f-]{36}"`)

// Normalized replaces what differs between runs in r's body (the request
// id, the server's address) so that it can be compared with a golden
// file. It also checks the error target equals the request-id header.
func (f *Fixture) Normalized(t testing.TB, r Response) []byte {
	t.Helper()
	b := r.Body
	if m := targetRE.Find(b); m != nil {
		if requestID := r.Header.Get("request-id"); string(m) != `"target":"`+requestID+`"` {
			t.Errorf("error target %s differs from request-id header %q", m, requestID)
		}
		b = targetRE.ReplaceAll(b, []byte(`"target":"<request-id>"`))
	}
	// Over HTTPS the URLs say https://; the golden files are written for
	// http://, the scheme being the one difference.
	b = bytes.ReplaceAll(b, []byte(f.Srv.URL), []byte("http://<host>"))
	return bytes.ReplaceAll(b, []byte(f.Srv.Listener.Addr().String()), []byte("<host>"))
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Golden compares a JSON body with testdata/<name>.golden.json, pretty
// printed, and checks the body is its compact form; the test flag -update
// rewrites the file first.
func Golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden.json")
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatalf("%s: body is not JSON: %v\n%s", name, err, got)
	}
	pretty.WriteByte('\n')
	if *update {
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

// ErrorCT is the Content-Type of an error answer.
const ErrorCT = "application/json; charset=utf-8"

// CheckError checks an error answer: its status, its headers, and its
// body, the MDE error with the code, a message, and the request id as
// target.
func CheckError(t testing.TB, r Response, wantStatus int, code string) {
	t.Helper()
	if r.Status != wantStatus {
		t.Fatalf("status %d, want %d: %s", r.Status, wantStatus, r.Body)
	}
	CheckJSONHeaders(t, r, ErrorCT)
	var v struct {
		Error struct {
			Code, Message, Target string
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("error body %s: %v", r.Body, err)
	}
	if id := r.Header.Get("request-id"); v.Error.Code != code || v.Error.Message == "" || v.Error.Target != id {
		t.Errorf("error body %s: want code %s, a message and target = request-id %q", r.Body, code, id)
	}
}

// CheckJSONHeaders checks an answer's Content-Type and request-id.
func CheckJSONHeaders(t testing.TB, r Response, wantCT string) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != wantCT {
		t.Errorf("Content-Type = %q, want %q", ct, wantCT)
	}
	if id := r.Header.Get("request-id"); len(id) != 36 {
		t.Errorf("request-id header = %q, want a GUID", id)
	}
}

// MachineIDs reads the ids of a collection answer.
func MachineIDs(t testing.TB, body []byte) []string {
	t.Helper()
	var v struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	ids := []string{}
	for _, m := range v.Value {
		ids = append(ids, m.ID)
	}
	return ids
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

// DocMachine1 and DocMachine2 are the machines of the documentation's
// example user (contoso\user1), which every Fixture holds.
const (
	DocMachine1 = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
	DocMachine2 = "7292e4b8cb74ff1cc3d8a495eb29dc8858b732f7"
)

// VaultMachine is the machine of AddRBAC's group 150.
const VaultMachine = "3333333333333333333333333333333333333333"

// AddRBAC gives the fixture's tenant its device groups and roles: the
// documented machines in group 140 (The-A-Team, for user group g-ana), a
// third machine of user1 in group 150 (Vault, for g-sec), and a user seen
// only on the vault machine; roles Viewer (g-ana, View Data), Responder
// (g-noview, no View Data) and the admin role (g-admin).
func (f *Fixture) AddRBAC(t testing.TB) {
	store, tn := f.Store, f.Tenant
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
	f.Load(t, tn, []openatp.Machine{m}, []openatp.Logon{
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
