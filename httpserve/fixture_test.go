package httpserve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/auth"
	"github.com/openatp/openatp/internal/apitest"
)

// fixture is a composed server on a real listener (apitest.Env), as this
// package's tests use it.
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
	e := apitest.Start(t, configure, tls)
	return &fixture{store: e.Store, auth: e.Auth, srv: e.Srv, server: e.Server, tenant: e.Tenant, app: e.App, dbPath: e.DBPath}
}

func (f *fixture) newTenant(t testing.TB, name string) openatp.Tenant {
	t.Helper()
	return apitest.NewTenant(t, f.store, name)
}

func (f *fixture) newApp(t testing.TB, tn openatp.Tenant, name string, roles ...string) openatp.App {
	t.Helper()
	return apitest.NewApp(t, f.store, tn, name, roles...)
}

func (f *fixture) load(t testing.TB, tn openatp.Tenant, ms []openatp.Machine, ls []openatp.Logon) {
	t.Helper()
	apitest.Load(t, f.store, tn, ms, ls)
}

// token mints a v1 token for app, as the token endpoint would.
func (f *fixture) token(t testing.TB, tn openatp.Tenant, app openatp.App) string {
	t.Helper()
	return apitest.Token(t, f.auth, f.srv.URL, tn, app)
}

type response struct {
	status int
	header http.Header
	body   []byte
	proto  string
}

func answer(res *http.Response, body []byte) response {
	return response{res.StatusCode, res.Header, body, res.Proto}
}

func (f *fixture) do(t *testing.T, method, path, token string) response {
	t.Helper()
	return answer(apitest.Do(t, f.srv, method, path, token))
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// normalized replaces what differs between runs (the request id, the
// server's address) so a body can be compared with a golden file. It also
// checks the error target equals the request-id header.
func (f *fixture) normalized(t *testing.T, r response) []byte {
	t.Helper()
	return apitest.Normalized(t, f.srv, r.body, r.header.Get("request-id"))
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	apitest.Golden(t, name, got, *update)
}

type lockedBuffer = apitest.LockedBuffer

const adminKey = apitest.AdminKey

func setAdminKey(t *testing.T, f *fixture) {
	t.Helper()
	apitest.SetAdminKey(t, f.store, f.auth)
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

func adminFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, nil)
	setAdminKey(t, f)
	return f
}

// rbacFixture: the documented machines in group 140 (The-A-Team, for user
// group g-ana), a third machine of user1 in group 150 (Vault, for g-sec),
// and a user seen only on the vault machine.
func rbacFixture(t *testing.T, noIndex bool, configure ...func(*apitest.Config)) *fixture {
	f := newFixture(t, func(c *apitest.Config) {
		c.NoIndex = noIndex
		for _, fn := range configure {
			fn(c)
		}
	})
	ctx := context.Background()
	s := f.store
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	gs, err := s.Groups(ctx, f.tenant.ID)
	must(err)
	team := gs[0]
	team.UserGroups = []string{"g-ana"}
	must(s.UpdateGroup(ctx, f.tenant.ID, team))
	must(s.CreateGroup(ctx, f.tenant.ID, openatp.DeviceGroup{ID: 150, Name: "Vault", Rank: 2, UserGroups: []string{"g-sec"},
		Rules: []openatp.RuleRow{{Property: openatp.RuleTag, Values: []string{"vault"}}}}))
	must(s.PutRole(ctx, f.tenant.ID, openatp.Role{Name: "Viewer", Permissions: []string{openatp.PermViewData}, UserGroups: []string{"g-ana"}}))
	must(s.PutRole(ctx, f.tenant.ID, openatp.Role{Name: "Responder", Permissions: []string{openatp.PermLiveResponseBasic}, UserGroups: []string{"g-noview"}}))
	must(s.PutRole(ctx, f.tenant.ID, openatp.Role{Name: openatp.AdminRoleName, UserGroups: []string{"g-admin"}}))
	m := openatp.Machine{ID: vaultMachine, ComputerDNSName: openatp.Ptr("vault.contoso.com"), MachineTags: []string{"vault"}}
	f.load(t, f.tenant, []openatp.Machine{m}, []openatp.Logon{
		{MachineID: m.ID, AccountName: "user1", AccountDomain: "contoso", Timestamp: time.Now()},
		{MachineID: m.ID, AccountName: "vaultonly", AccountDomain: "contoso", Timestamp: time.Now()},
	})
	return f
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

// delegated mints a user-context token for app (its scopes become scp)
// with the given user groups.
func (f *fixture) delegated(t *testing.T, tn openatp.Tenant, app openatp.App, userName string, groups ...string) string {
	t.Helper()
	u := openatp.DirectoryUser{ID: openatp.NewGUID(), UserName: userName, Groups: groups}
	tok, _, err := f.auth.Mint(context.Background(), auth.MintRequest{
		Tenant: tn, App: app, User: &u, BaseURL: f.srv.URL, Version: 1, Audience: "https://api.securitycenter.microsoft.com"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

const vaultMachine = "3333333333333333333333333333333333333333"

func machineLine(n int, extra string) string {
	return fmt.Sprintf(`{"id":%q,"computerDnsName":"adm%d.contoso.com","healthStatus":"Active"%s}`, mid(n), n, extra)
}

func mid(n int) string { return fmt.Sprintf("%040x", 0xab0000+n) }

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
