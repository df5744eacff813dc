package adminapi_test

import (
	"encoding/json"
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

const adminKey = apitest.AdminKey

func setAdminKey(t *testing.T, f *fixture) {
	t.Helper()
	apitest.SetAdminKey(t, f.store, f.auth)
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

func (f *fixture) delegatedApp(t *testing.T, tn openatp.Tenant, scopes ...string) openatp.App {
	t.Helper()
	return apitest.DelegatedApp(t, f.store, tn, scopes...)
}

func machineLine(n int, extra string) string { return apitest.MachineLine(n, extra) }

func mid(n int) string { return apitest.MID(n) }

func checkError(t *testing.T, r response, status int, code string) {
	t.Helper()
	apitest.CheckError(t, r.status, r.header, r.body, status, code)
}
