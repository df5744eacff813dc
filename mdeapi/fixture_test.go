package mdeapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/adminapi"
	"github.com/openatp/openatp/auth"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/internal/apitest"
	"github.com/openatp/openatp/internal/demo"
	"github.com/openatp/openatp/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixture is a real server on a real listener over a real SQLite store,
// with the built-in token service.
type fixture struct {
	store  openatp.Store
	auth   *auth.Service
	srv    *httptest.Server
	server *apitest.Server
	tenant openatp.Tenant
	app    openatp.App // granted Machine.Read.All
	dbPath string      // the SQLite file, for a second store on it
	socApp string      // the client id of alertFixture's application
}

func newFixture(t testing.TB, configure func(*apitest.Config)) *fixture {
	t.Helper()
	return newFixtureOn(t, configure, false)
}

// newFixtureOn is newFixture, served over HTTPS with HTTP/2 when tls is set.
func newFixtureOn(t testing.TB, configure func(*apitest.Config), tls bool) *fixture {
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
	f := &fixture{store: store, auth: svc, dbPath: dbPath}
	f.tenant = f.newTenant(t, "contoso.onmicrosoft.com")
	f.app = f.newApp(t, f.tenant, "reader", openatp.PermMachineReadAll)
	ms, ls, gs := demo.DocExample()
	for _, g := range gs {
		if err := store.CreateGroup(ctx, f.tenant.ID, g); err != nil {
			t.Fatal(err)
		}
	}
	// A user on one machine, with every nullable property null.
	lone := openatp.Machine{ID: strings.Repeat("0", 39) + "1", MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}}
	ms = append(ms, lone)
	ls = append(ls, openatp.Logon{MachineID: lone.ID, AccountName: "Lone.User", AccountDomain: "fabrikam", LogonType: "Network",
		Timestamp: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)})
	f.load(t, f.tenant, ms, ls)

	cfg := apitest.Config{Store: store, Verifier: svc, Settings: svc}
	if configure != nil {
		configure(&cfg)
	}
	f.server = apitest.NewServer(cfg)
	t.Cleanup(func() { f.server.Close() })
	identity := auth.NewHandler(svc, nil)
	for _, p := range auth.Patterns {
		f.server.Handle(p, identity)
	}
	f.srv = httptest.NewUnstartedServer(f.server.Handler())
	f.srv.Listener = httpserve.WrapListener(f.srv.Listener, nil)
	if tls {
		f.srv.EnableHTTP2 = true
		f.srv.StartTLS()
	} else {
		f.srv.Start()
	}
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) newTenant(t testing.TB, name string) openatp.Tenant {
	t.Helper()
	tn, err := openatp.NewTenant(name, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateTenant(context.Background(), tn); err != nil {
		t.Fatal(err)
	}
	return tn
}

func (f *fixture) newApp(t testing.TB, tn openatp.Tenant, name string, roles ...string) openatp.App {
	t.Helper()
	a, _, err := openatp.NewApp(tn.ID, name, roles, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateApp(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

func (f *fixture) load(t testing.TB, tn openatp.Tenant, ms []openatp.Machine, ls []openatp.Logon) {
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
	if err := f.store.UpsertMachines(ctx, tn.ID, ms); err != nil {
		t.Fatal(err)
	}
	if err := f.store.AddLogons(ctx, tn.ID, ls); err != nil {
		t.Fatal(err)
	}
}

// token mints a v1 token for app, as the token endpoint would.
func (f *fixture) token(t testing.TB, tn openatp.Tenant, app openatp.App) string {
	t.Helper()
	tok, _, err := f.auth.Mint(context.Background(), auth.MintRequest{
		Tenant: tn, App: app, BaseURL: f.srv.URL, Version: 1, Audience: "https://api.securitycenter.microsoft.com"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type response struct {
	status int
	header http.Header
	body   []byte
	proto  string
}

func (f *fixture) do(t *testing.T, method, path, token string) response {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, body, res.Proto}
}

// raw sends a request line as is (for URLs net/http would refuse to send).
func (f *fixture) raw(t *testing.T, requestLine string) response {
	t.Helper()
	conn, err := net.Dial("tcp", f.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, requestLine+"\r\nHost: "+f.srv.Listener.Addr().String()+"\r\nConnection: close\r\n\r\n")
	res, err := http.ReadResponse(bufioReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, body, res.Proto}
}

var targetRE = regexp.MustCompile(`"target":"[0-9a-f-]{36}"`)

// normalized replaces what differs between runs (the request id, the
// server's address) so a body can be compared with a golden file. It also
// checks the error target equals the request-id header.
func (f *fixture) normalized(t *testing.T, r response) []byte {
	t.Helper()
	b := r.body
	if m := targetRE.Find(b); m != nil {
		if id := r.header.Get("request-id"); string(m) != `"target":"`+id+`"` {
			t.Errorf("error target %s differs from request-id header %q", m, id)
		}
		b = targetRE.ReplaceAll(b, []byte(`"target":"<request-id>"`))
	}
	// Over HTTPS the URLs say https://; the golden files are written for
	// http://, the scheme being the one difference.
	b = bytes.ReplaceAll(b, []byte(f.srv.URL), []byte("http://<host>"))
	return bytes.ReplaceAll(b, []byte(f.srv.Listener.Addr().String()), []byte("<host>"))
}

func golden(t *testing.T, name string, got []byte) {
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
		t.Fatalf("%v (run go test ./mdeapi -update to create it)", err)
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

func adminFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, nil)
	setAdminKey(t, f)
	return f
}

// admin sends an admin API request with the given key ("" for none) and
// content type.
func (f *fixture) admin(t *testing.T, method, path, key, contentType string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-Openatp-Admin-Key", key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, b, res.Proto}
}

const adminKey = "test-admin-key"

func setAdminKey(t *testing.T, f *fixture) {
	t.Helper()
	if err := f.store.SetSetting(t.Context(), adminapi.AdminKeySetting, adminKey); err != nil {
		t.Fatal(err)
	}
	if err := f.auth.Refresh(t.Context()); err != nil { // as serve does every second
		t.Fatal(err)
	}
}
