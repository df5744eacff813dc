package adminapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
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

func (f *fixture) delegatedApp(t *testing.T, tn openatp.Tenant, scopes ...string) openatp.App {
	t.Helper()
	a, _, err := openatp.NewApp(tn.ID, "native", nil, scopes, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateApp(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

// machineIDs reads the ids of a collection answer.
func machineIDs(t *testing.T, body []byte) []string {
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

const (
	machine1 = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
	machine2 = "7292e4b8cb74ff1cc3d8a495eb29dc8858b732f7"
)

func checkError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	checkJSONHeaders(t, r, errorCT)
	var body struct {
		Error struct {
			Code, Message, Target string
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("error body %s: %v", r.body, err)
	}
	if body.Error.Code != code || body.Error.Message == "" || body.Error.Target != r.header.Get("request-id") {
		t.Errorf("error body %s: want code %s, a message and target = request-id %q", r.body, code, r.header.Get("request-id"))
	}
}

func setAdminKey(t *testing.T, f *fixture) {
	t.Helper()
	if err := f.store.SetSetting(t.Context(), adminapi.AdminKeySetting, adminKey); err != nil {
		t.Fatal(err)
	}
	if err := f.auth.Refresh(t.Context()); err != nil { // as serve does every second
		t.Fatal(err)
	}
}

func checkJSONHeaders(t *testing.T, r response, wantCT string) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != wantCT {
		t.Errorf("Content-Type = %q, want %q", ct, wantCT)
	}
	if id := r.header.Get("request-id"); len(id) != 36 {
		t.Errorf("request-id header = %q, want a GUID", id)
	}
}

const errorCT = "application/json; charset=utf-8"
