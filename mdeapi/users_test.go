package mdeapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
)

const (
	machine1 = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
	machine2 = "7292e4b8cb74ff1cc3d8a495eb29dc8858b732f7"
)

const odataCT = "application/json; odata.metadata=minimal"

// Both paths of the endpoint, both read paths (in-memory index and SQL),
// over HTTP/1.1 and over HTTPS with HTTP/2, answer the documented example
// byte for byte as the golden files say.
func TestUserMachinesGolden(t *testing.T) {
	for _, mode := range []struct {
		name    string
		noIndex bool
		h2      bool
	}{{"index", false, false}, {"sql", true, false}, {"index-h2", false, true}, {"sql-h2", true, true}} {
		t.Run(mode.name, func(t *testing.T) {
			f := apitest.NewFixtureOn(t, func(c *apitest.Config) { c.NoIndex = mode.noIndex }, mode.h2)
			tok := f.Token(t, f.Tenant, f.App)
			cases := []struct {
				name, path string
				status     int
				golden     string
			}{
				{"several machines", "/api/users/user1/machines", 200, "user-several-machines"},
				{"versioned path", "/api/v1.0/users/user1/machines", 200, "user-several-machines"},
				{"case-insensitive", "/api/users/USER1/machines", 200, "user-several-machines"},
				{"domain form", `/api/users/CONTOSO%5Cuser1/machines`, 200, "user-several-machines"},
				{"one machine", "/api/users/lone.user/machines", 200, "user-one-machine"},
				{"unknown user", "/api/users/nobody/machines", 404, "unknown-user-404"},
				{"other domain", `/api/users/fabrikam%5Cuser1/machines`, 404, "unknown-user-other-domain-404"},
				{"upn", "/api/users/user1@contoso.com/machines", 404, "unknown-user-upn-404"},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					// Twice: the first answer may come from the store
					// while the index builds; both must be identical.
					for range 2 {
						r := f.Do(t, "GET", c.path, tok)
						if r.Status != c.status {
							t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
						}
						if mode.h2 && (r.Proto != "HTTP/2.0" || c.status == 200 && !bytes.Contains(r.Body, []byte(`"https://`))) {
							t.Errorf("over TLS: %s, body %.80s", r.Proto, r.Body)
						}
						want := odataCT
						if c.status != 200 {
							want = apitest.ErrorCT
						}
						apitest.CheckJSONHeaders(t, r, want)
						apitest.Golden(t, c.golden, f.Normalized(t, r))
					}
				})
			}
		})
	}
}

func TestUnknownUserEmpty(t *testing.T) {
	f := apitest.NewFixture(t, func(c *apitest.Config) { c.UnknownUserEmpty = true })
	tok := f.Token(t, f.Tenant, f.App)
	for _, path := range []string{"/api/users/nobody/machines", "/api/users/user1@contoso.com/machines"} {
		r := f.Do(t, "GET", path, tok)
		if r.Status != 200 {
			t.Fatalf("%s: status %d: %s", path, r.Status, r.Body)
		}
		apitest.CheckJSONHeaders(t, r, odataCT)
		apitest.Golden(t, "unknown-user-empty", f.Normalized(t, r))
	}
	// Known users are unaffected.
	if r := f.Do(t, "GET", "/api/users/user1/machines", tok); !bytes.Contains(r.Body, []byte(machine2)) {
		t.Errorf("user1 lost machines in empty mode: %s", r.Body)
	}
}

// Authentication errors, over HTTP/1.1 and over HTTPS with HTTP/2.
func TestAuthErrors(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "http1", true: "h2"}[h2], func(t *testing.T) { authErrors(t, apitest.NewFixtureOn(t, nil, h2)) })
	}
}

func authErrors(t *testing.T, f *apitest.Fixture) {
	noRoles := f.NewApp(t, f.Tenant, "no roles")
	alertsOnly := f.NewApp(t, f.Tenant, "writer", openatp.PermMachineReadWriteAll)
	cases := []struct {
		name, token string
		status      int
		golden      string
	}{
		{"no token", "", 401, "401-no-token"},
		{"garbage token", "not.a.jwt", 401, ""},
		{"app without roles", f.Token(t, f.Tenant, noRoles), 403, "403-missing-roles"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.Do(t, "GET", "/api/users/user1/machines", c.token)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
			apitest.CheckJSONHeaders(t, r, apitest.ErrorCT)
			if c.golden != "" {
				apitest.Golden(t, c.golden, f.Normalized(t, r))
			}
		})
	}
	// Machine.ReadWrite.All reads too.
	if r := f.Do(t, "GET", "/api/users/user1/machines", f.Token(t, f.Tenant, alertsOnly)); r.Status != 200 {
		t.Errorf("Machine.ReadWrite.All: status %d: %s", r.Status, r.Body)
	}
	// A wrong scheme.
	req, _ := http.NewRequest("GET", f.Srv.URL+"/api/users/user1/machines", nil)
	req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
	res, err := f.Srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Errorf("Basic auth: status %d, want 401", res.StatusCode)
	}
}

// A token of tenant A asking about a user who exists only in tenant B gets
// exactly the unknown-user answer.
func TestTenantIsolation(t *testing.T) {
	f := apitest.NewFixture(t, nil)
	other := f.NewTenant(t, "fabrikam.onmicrosoft.com")
	otherApp := f.NewApp(t, other, "reader", openatp.PermMachineReadAll)
	m := openatp.Machine{ID: strings.Repeat("ab", 20)}
	f.Load(t, other, []openatp.Machine{m}, []openatp.Logon{{MachineID: m.ID, AccountName: "onlyinb", AccountDomain: "fabrikam", Timestamp: time.Now()}})

	tokA := f.Token(t, f.Tenant, f.App)
	tokB := f.Token(t, other, otherApp)
	for range 2 {
		hidden := f.Do(t, "GET", "/api/users/onlyinb/machines", tokA)
		unknown := f.Do(t, "GET", "/api/users/onlyinc/machines", tokA)
		if hidden.Status != 404 || unknown.Status != 404 {
			t.Fatalf("statuses %d and %d, want 404", hidden.Status, unknown.Status)
		}
		h := strings.Replace(string(f.Normalized(t, hidden)), "onlyinb", "X", 1)
		u := strings.Replace(string(f.Normalized(t, unknown)), "onlyinc", "X", 1)
		if h != u {
			t.Errorf("answer about a user of another tenant differs from the unknown-user answer:\n%s\n%s", h, u)
		}
		// And tenant B does not see tenant A's user1.
		if r := f.Do(t, "GET", "/api/users/user1/machines", tokB); r.Status != 404 {
			t.Errorf("tenant B sees tenant A's user: %d %s", r.Status, r.Body)
		}
		if r := f.Do(t, "GET", "/api/users/onlyinb/machines", tokB); r.Status != 200 || !bytes.Contains(r.Body, []byte(m.ID)) {
			t.Errorf("tenant B's own user: %d %s", r.Status, r.Body)
		}
	}
}

func TestMalformedRequests(t *testing.T) {
	f := apitest.NewFixture(t, nil)
	tok := f.Token(t, f.Tenant, f.App)
	long := strings.Repeat("a", 10000)
	cases := []struct {
		name, method, path string
		status             int
		code               string
	}{
		{"id of 10,000 characters", "GET", "/api/users/" + long + "/machines", 404, "ResourceNotFound"},
		{"invalid UTF-8 id", "GET", "/api/users/%ff%fe/machines", 404, "ResourceNotFound"},
		{"control character id", "GET", "/api/users/a%00b/machines", 404, "ResourceNotFound"},
		{"encoded slash", "GET", "/api/users/a%2Fb/machines", 404, "ResourceNotFound"},
		{"unknown path", "GET", "/api/machines/x/users", 404, "NotFound"},
		{"unknown root", "GET", "/nothing", 404, "NotFound"},
		{"segment after the route", "GET", "/api/users/user1/machines/x", 404, "NotFound"}, // a trailing slash is tolerated: httpserve/casefold_test.go
		{"wrong method", "POST", "/api/users/user1/machines", 405, "MethodNotAllowed"},
		{"wrong method delete", "DELETE", "/api/v1.0/users/user1/machines", 405, "MethodNotAllowed"},
		{"odata option", "GET", "/api/users/user1/machines?$top=1", 400, "ODataError"},
		{"other parameter", "GET", "/api/users/user1/machines?foo=bar", 400, "InvalidInput"},
		{"bad query escape", "GET", "/api/users/user1/machines?%zz=1", 400, "InvalidInput"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.Do(t, c.method, c.path, tok)
			apitest.CheckError(t, r, c.status, c.code)
			if len(r.Body) > 2000 {
				t.Errorf("error body is %d bytes: the id must not be echoed whole", len(r.Body))
			}
		})
	}
	t.Run("bad percent-encoding", func(t *testing.T) {
		r := f.Raw(t, "GET /api/users/%zz/machines HTTP/1.1")
		apitest.CheckError(t, r, 400, "BadRequest")
	})
	t.Run("garbage request line", func(t *testing.T) {
		r := f.Raw(t, "GET /api/users/a b/machines HTTP/1.1")
		apitest.CheckError(t, r, 400, "BadRequest")
	})
	for _, te := range []string{"gzip", "gzip, chunked", "compress"} {
		t.Run("Transfer-Encoding: "+te, func(t *testing.T) {
			r := f.Raw(t, "POST /"+f.Tenant.ID+"/oauth2/token HTTP/1.1\r\nTransfer-Encoding: "+te)
			apitest.CheckError(t, r, 501, "NotImplemented")
		})
	}
	t.Run("header fields too large", func(t *testing.T) {
		r := f.Raw(t, "GET /healthz HTTP/1.1\r\nX-Big: "+strings.Repeat("a", 2<<20))
		apitest.CheckError(t, r, 431, "RequestHeaderFieldsTooLarge")
	})
}

// Writes are visible at once: the in-memory index never answers stale.
func TestAnswersFollowWrites(t *testing.T) {
	f := apitest.NewFixture(t, nil)
	tok := f.Token(t, f.Tenant, f.App)
	ctx := context.Background()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := f.Server.Warm(wctx, f.Tenant.ID); err != nil {
		t.Fatal(err)
	}
	newID := strings.Repeat("f", 40)
	for i := range 5 {
		id := newID[:39] + string("01234"[i])
		m := openatp.Machine{ID: id, ComputerDNSName: openatp.Ptr("new.contoso.com")}
		if err := m.Normalize(); err != nil {
			t.Fatal(err)
		}
		if err := f.Store.UpsertMachines(ctx, f.Tenant.ID, []openatp.Machine{m}); err != nil {
			t.Fatal(err)
		}
		l := openatp.Logon{MachineID: id, AccountName: "user1", AccountDomain: "contoso", Timestamp: time.Now()}
		if err := l.Normalize(); err != nil {
			t.Fatal(err)
		}
		if err := f.Store.AddLogons(ctx, f.Tenant.ID, []openatp.Logon{l}); err != nil {
			t.Fatal(err)
		}
		r := f.Do(t, "GET", "/api/users/user1/machines", tok)
		var got struct {
			Value []struct {
				ID string `json:"id"`
			} `json:"value"`
		}
		if err := json.Unmarshal(r.Body, &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Value) != 3+i {
			t.Fatalf("after write %d: %d machines, want %d", i, len(got.Value), 3+i)
		}
		if last := got.Value[len(got.Value)-1].ID; last != id {
			t.Errorf("last machine %s, want %s (ordered by id)", last, id)
		}
	}
}

// Index rebuilds free the old index's memory while requests run: every
// answer stays whole and correct.
func TestIndexRebuildUnderLoad(t *testing.T) {
	f := apitest.NewFixture(t, nil)
	tok := f.Token(t, f.Tenant, f.App)
	ctx := context.Background()
	want := f.Do(t, "GET", "/api/users/user1/machines", tok)
	if want.Status != 200 {
		t.Fatal(want.Status)
	}
	stop := make(chan struct{})
	errs := make(chan string, 4)
	for range 4 {
		go func() {
			for {
				select {
				case <-stop:
					errs <- ""
					return
				default:
				}
				r := f.Do(t, "GET", "/api/users/user1/machines", tok)
				if r.Status != 200 || !bytes.Equal(f.Normalized(t, r), f.Normalized(t, want)) {
					errs <- string(r.Body)
					return
				}
			}
		}()
	}
	for i := range 20 {
		m := openatp.Machine{ID: strings.Repeat("e", 38) + string("0123456789abcdef"[i%16]) + "0"}
		if err := m.Normalize(); err != nil {
			t.Fatal(err)
		}
		if err := f.Store.UpsertMachines(ctx, f.Tenant.ID, []openatp.Machine{m}); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := f.Server.Warm(wctx, f.Tenant.ID); err != nil {
			t.Fatal(err)
		}
		cancel()
		runtime.GC()
	}
	close(stop)
	for range 4 {
		if e := <-errs; e != "" {
			t.Fatalf("answer changed during rebuilds: %s", e)
		}
	}
}

// An answer too large to assemble in memory is streamed; it is the same
// as the store's answer, byte for byte, with a matching Content-Length.
func TestLargeAnswerStreams(t *testing.T) {
	f := apitest.NewFixture(t, nil)
	tok := f.Token(t, f.Tenant, f.App)
	var ms []openatp.Machine
	var ls []openatp.Logon
	for i := range 600 {
		id := []byte(strings.Repeat("c", 40))
		copy(id[34:], []byte(strings.Repeat("0", 6)))
		hex := "0123456789abcdef"
		id[37], id[38], id[39] = hex[i>>8&15], hex[i>>4&15], hex[i&15]
		m := openatp.Machine{ID: string(id), ComputerDNSName: openatp.Ptr("host.contoso.com"),
			MachineTags: []string{strings.Repeat("t", 200), strings.Repeat("u", 200)}}
		ms = append(ms, m)
		ls = append(ls, openatp.Logon{MachineID: m.ID, AccountName: "svc-big", AccountDomain: "contoso", Timestamp: time.Now()})
	}
	f.Load(t, f.Tenant, ms, ls)
	if err := f.Server.Warm(context.Background(), f.Tenant.ID); err != nil {
		t.Fatal(err)
	}
	indexed := f.Do(t, "GET", "/api/users/svc-big/machines", tok)
	if indexed.Status != 200 || len(indexed.Body) < 300<<10 {
		t.Fatalf("status %d, %d bytes; want 200 and more than 300 KiB", indexed.Status, len(indexed.Body))
	}
	if cl := indexed.Header.Get("Content-Length"); cl != strconv.Itoa(len(indexed.Body)) {
		t.Errorf("Content-Length %s for a body of %d bytes", cl, len(indexed.Body))
	}
	sqlAPI := apitest.NewServer(apitest.Config{Store: f.Store, Verifier: f.Auth, NoIndex: true})
	defer sqlAPI.Close()
	sqlServer := httptest.NewServer(sqlAPI.Handler())
	defer sqlServer.Close()
	req, _ := http.NewRequest("GET", sqlServer.URL+"/api/users/svc-big/machines", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	fromStore, _ := io.ReadAll(res.Body)
	res.Body.Close()
	a := bytes.Replace(indexed.Body, []byte(f.Srv.URL), nil, 1)
	b := bytes.Replace(fromStore, []byte(sqlServer.URL), nil, 1)
	if !bytes.Equal(a, b) {
		t.Errorf("streamed answer differs from the store's answer (%d vs %d bytes)", len(a), len(b))
	}
}

// A middleware that holds the whole body until after the handler returned
// (as compression or a test recorder does) writes the right bytes even
// when, meanwhile, the read model moved to a rebuilt view and the old one
// was released and collected: the handler never hands out memory of a
// view.
func TestBufferedBodyOutlivesView(t *testing.T) {
	f := apitest.NewFixture(t, nil)
	tok := f.Token(t, f.Tenant, f.App)
	ctx := context.Background()
	if err := f.Server.Warm(ctx, f.Tenant.ID); err != nil {
		t.Fatal(err)
	}
	want := f.Do(t, "GET", "/api/users/user1/machines", tok)
	plain := f.Server.Handler()
	swap := func() {
		// A reset needs a rebuild: a new view on new memory.
		var all []openatp.Machine
		var rels []openatp.UserMachine
		if err := f.Store.Snapshot(ctx, f.Tenant.ID, func(m openatp.Machine) error { all = append(all, m); return nil },
			func(r openatp.UserMachine) error { rels = append(rels, r); return nil }); err != nil {
			t.Error(err)
			return
		}
		groups, _ := f.Store.Groups(ctx, f.Tenant.ID)
		if err := f.Store.ResetTenant(ctx, f.Tenant.ID); err != nil {
			t.Error(err)
			return
		}
		for _, g := range groups {
			_ = f.Store.CreateGroup(ctx, f.Tenant.ID, g)
		}
		for i := range all {
			all[i].RBACGroupID, all[i].RBACGroupName = 0, ""
		}
		var ls []openatp.Logon
		for _, r := range rels {
			ls = append(ls, openatp.Logon{MachineID: r.MachineID, AccountName: r.AccountName, AccountDomain: r.AccountDomain,
				AccountSID: r.AccountSID, LogonType: "Interactive", Timestamp: r.FirstSeen})
		}
		if err := f.Store.UpsertMachines(ctx, f.Tenant.ID, all); err != nil {
			t.Error(err)
		}
		if err := f.Store.AddLogons(ctx, f.Tenant.ID, ls); err != nil {
			t.Error(err)
		}
		if err := f.Server.Warm(ctx, f.Tenant.ID); err != nil {
			t.Error(err)
		}
		runtime.GC()
		runtime.GC()
	}
	buffered := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		plain.ServeHTTP(rec, r)
		swap() // the view that answered is gone before a byte is sent
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
	srv := httptest.NewServer(buffered)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api/users/user1/machines", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	got := bytes.ReplaceAll(body, []byte(srv.URL), []byte(f.Srv.URL))
	if resp.StatusCode != 200 || !bytes.Equal(got, want.Body) {
		t.Errorf("buffered answer:\n%s\nwant:\n%s", got, want.Body)
	}
}
