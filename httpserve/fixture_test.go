package httpserve_test

import (
	"flag"
	"net/http"
	"net/http/httptest"
	"testing"

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

func (f *fixture) admin(t *testing.T, method, path, key, contentType string, body []byte) response {
	t.Helper()
	return answer(apitest.Admin(t, f.srv, method, path, key, contentType, body))
}

func adminFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, nil)
	setAdminKey(t, f)
	return f
}

// rbacFixture is a fixture with apitest.AddRBAC's device groups and roles.
func rbacFixture(t *testing.T, noIndex bool, configure ...func(*apitest.Config)) *fixture {
	t.Helper()
	f := newFixture(t, func(c *apitest.Config) {
		c.NoIndex = noIndex
		for _, fn := range configure {
			fn(c)
		}
	})
	apitest.AddRBAC(t, f.store, f.tenant)
	return f
}

func (f *fixture) delegatedApp(t *testing.T, tn openatp.Tenant, scopes ...string) openatp.App {
	t.Helper()
	return apitest.DelegatedApp(t, f.store, tn, scopes...)
}

// delegated mints a user-context token for app (its scopes become scp)
// with the given user groups.
func (f *fixture) delegated(t *testing.T, tn openatp.Tenant, app openatp.App, userName string, groups ...string) string {
	t.Helper()
	return apitest.Delegated(t, f.auth, f.srv.URL, tn, app, userName, groups...)
}

func machineLine(n int, extra string) string { return apitest.MachineLine(n, extra) }

func checkError(t *testing.T, r response, status int, code string) {
	t.Helper()
	apitest.CheckError(t, r.status, r.header, r.body, status, code)
}
