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
	"github.com/openatp/openatp/internal/apitest"
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
			f := newFixtureOn(t, func(c *apitest.Config) { c.NoIndex = mode.noIndex }, mode.h2)
			tok := f.token(t, f.tenant, f.app)
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
						r := f.do(t, "GET", c.path, tok)
						if r.status != c.status {
							t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
						}
						if mode.h2 && (r.proto != "HTTP/2.0" || c.status == 200 && !bytes.Contains(r.body, []byte(`"https://`))) {
							t.Errorf("over TLS: %s, body %.80s", r.proto, r.body)
						}
						want := odataCT
						if c.status != 200 {
							want = errorCT
						}
						checkJSONHeaders(t, r, want)
						golden(t, c.golden, f.normalized(t, r))
					}
				})
			}
		})
	}
}

func TestUnknownUserEmpty(t *testing.T) {
	f := newFixture(t, func(c *apitest.Config) { c.UnknownUserEmpty = true })
	tok := f.token(t, f.tenant, f.app)
	for _, path := range []string{"/api/users/nobody/machines", "/api/users/user1@contoso.com/machines"} {
		r := f.do(t, "GET", path, tok)
		if r.status != 200 {
			t.Fatalf("%s: status %d: %s", path, r.status, r.body)
		}
		checkJSONHeaders(t, r, odataCT)
		golden(t, "unknown-user-empty", f.normalized(t, r))
	}
	// Known users are unaffected.
	if r := f.do(t, "GET", "/api/users/user1/machines", tok); !bytes.Contains(r.body, []byte(machine2)) {
		t.Errorf("user1 lost machines in empty mode: %s", r.body)
	}
}

// Authentication errors, over HTTP/1.1 and over HTTPS with HTTP/2.
func TestAuthErrors(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "http1", true: "h2"}[h2], func(t *testing.T) { authErrors(t, newFixtureOn(t, nil, h2)) })
	}
}

func authErrors(t *testing.T, f *fixture) {
	noRoles := f.newApp(t, f.tenant, "no roles")
	alertsOnly := f.newApp(t, f.tenant, "writer", openatp.PermMachineReadWriteAll)
	cases := []struct {
		name, token string
		status      int
		golden      string
	}{
		{"no token", "", 401, "401-no-token"},
		{"garbage token", "not.a.jwt", 401, ""},
		{"app without roles", f.token(t, f.tenant, noRoles), 403, "403-missing-roles"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.do(t, "GET", "/api/users/user1/machines", c.token)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			checkJSONHeaders(t, r, errorCT)
			if c.golden != "" {
				golden(t, c.golden, f.normalized(t, r))
			}
		})
	}
	// Machine.ReadWrite.All reads too.
	if r := f.do(t, "GET", "/api/users/user1/machines", f.token(t, f.tenant, alertsOnly)); r.status != 200 {
		t.Errorf("Machine.ReadWrite.All: status %d: %s", r.status, r.body)
	}
	// A wrong scheme.
	req, _ := http.NewRequest("GET", f.srv.URL+"/api/users/user1/machines", nil)
	req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
	res, err := f.srv.Client().Do(req)
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
	f := newFixture(t, nil)
	other := f.newTenant(t, "fabrikam.onmicrosoft.com")
	otherApp := f.newApp(t, other, "reader", openatp.PermMachineReadAll)
	m := openatp.Machine{ID: strings.Repeat("ab", 20)}
	f.load(t, other, []openatp.Machine{m}, []openatp.Logon{{MachineID: m.ID, AccountName: "onlyinb", AccountDomain: "fabrikam", Timestamp: time.Now()}})

	tokA := f.token(t, f.tenant, f.app)
	tokB := f.token(t, other, otherApp)
	for range 2 {
		hidden := f.do(t, "GET", "/api/users/onlyinb/machines", tokA)
		unknown := f.do(t, "GET", "/api/users/onlyinc/machines", tokA)
		if hidden.status != 404 || unknown.status != 404 {
			t.Fatalf("statuses %d and %d, want 404", hidden.status, unknown.status)
		}
		h := strings.Replace(string(f.normalized(t, hidden)), "onlyinb", "X", 1)
		u := strings.Replace(string(f.normalized(t, unknown)), "onlyinc", "X", 1)
		if h != u {
			t.Errorf("answer about a user of another tenant differs from the unknown-user answer:\n%s\n%s", h, u)
		}
		// And tenant B does not see tenant A's user1.
		if r := f.do(t, "GET", "/api/users/user1/machines", tokB); r.status != 404 {
			t.Errorf("tenant B sees tenant A's user: %d %s", r.status, r.body)
		}
		if r := f.do(t, "GET", "/api/users/onlyinb/machines", tokB); r.status != 200 || !bytes.Contains(r.body, []byte(m.ID)) {
			t.Errorf("tenant B's own user: %d %s", r.status, r.body)
		}
	}
}

func TestMalformedRequests(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.token(t, f.tenant, f.app)
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
		{"trailing slash", "GET", "/api/users/user1/machines/", 404, "NotFound"},
		{"wrong method", "POST", "/api/users/user1/machines", 405, "MethodNotAllowed"},
		{"wrong method delete", "DELETE", "/api/v1.0/users/user1/machines", 405, "MethodNotAllowed"},
		{"odata option", "GET", "/api/users/user1/machines?$top=1", 400, "ODataError"},
		{"other parameter", "GET", "/api/users/user1/machines?foo=bar", 400, "InvalidInput"},
		{"bad query escape", "GET", "/api/users/user1/machines?%zz=1", 400, "InvalidInput"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.do(t, c.method, c.path, tok)
			checkError(t, r, c.status, c.code)
			if len(r.body) > 2000 {
				t.Errorf("error body is %d bytes: the id must not be echoed whole", len(r.body))
			}
		})
	}
	t.Run("bad percent-encoding", func(t *testing.T) {
		r := f.raw(t, "GET /api/users/%zz/machines HTTP/1.1")
		checkError(t, r, 400, "BadRequest")
	})
	t.Run("garbage request line", func(t *testing.T) {
		r := f.raw(t, "GET /api/users/a b/machines HTTP/1.1")
		checkError(t, r, 400, "BadRequest")
	})
	for _, te := range []string{"gzip", "gzip, chunked", "compress"} {
		t.Run("Transfer-Encoding: "+te, func(t *testing.T) {
			r := f.raw(t, "POST /"+f.tenant.ID+"/oauth2/token HTTP/1.1\r\nTransfer-Encoding: "+te)
			checkError(t, r, 501, "NotImplemented")
		})
	}
	t.Run("header fields too large", func(t *testing.T) {
		r := f.raw(t, "GET /healthz HTTP/1.1\r\nX-Big: "+strings.Repeat("a", 2<<20))
		checkError(t, r, 431, "RequestHeaderFieldsTooLarge")
	})
}

// Writes are visible at once: the in-memory index never answers stale.
func TestAnswersFollowWrites(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.token(t, f.tenant, f.app)
	ctx := context.Background()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := f.server.Warm(wctx, f.tenant.ID); err != nil {
		t.Fatal(err)
	}
	newID := strings.Repeat("f", 40)
	for i := range 5 {
		id := newID[:39] + string("01234"[i])
		m := openatp.Machine{ID: id, ComputerDNSName: openatp.Ptr("new.contoso.com")}
		if err := m.Normalize(); err != nil {
			t.Fatal(err)
		}
		if err := f.store.UpsertMachines(ctx, f.tenant.ID, []openatp.Machine{m}); err != nil {
			t.Fatal(err)
		}
		l := openatp.Logon{MachineID: id, AccountName: "user1", AccountDomain: "contoso", Timestamp: time.Now()}
		if err := l.Normalize(); err != nil {
			t.Fatal(err)
		}
		if err := f.store.AddLogons(ctx, f.tenant.ID, []openatp.Logon{l}); err != nil {
			t.Fatal(err)
		}
		r := f.do(t, "GET", "/api/users/user1/machines", tok)
		var got struct {
			Value []struct {
				ID string `json:"id"`
			} `json:"value"`
		}
		if err := json.Unmarshal(r.body, &got); err != nil {
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
	f := newFixture(t, nil)
	tok := f.token(t, f.tenant, f.app)
	ctx := context.Background()
	want := f.do(t, "GET", "/api/users/user1/machines", tok)
	if want.status != 200 {
		t.Fatal(want.status)
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
				r := f.do(t, "GET", "/api/users/user1/machines", tok)
				if r.status != 200 || !bytes.Equal(f.normalized(t, r), f.normalized(t, want)) {
					errs <- string(r.body)
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
		if err := f.store.UpsertMachines(ctx, f.tenant.ID, []openatp.Machine{m}); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := f.server.Warm(wctx, f.tenant.ID); err != nil {
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
	f := newFixture(t, nil)
	tok := f.token(t, f.tenant, f.app)
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
	f.load(t, f.tenant, ms, ls)
	if err := f.server.Warm(context.Background(), f.tenant.ID); err != nil {
		t.Fatal(err)
	}
	indexed := f.do(t, "GET", "/api/users/svc-big/machines", tok)
	if indexed.status != 200 || len(indexed.body) < 300<<10 {
		t.Fatalf("status %d, %d bytes; want 200 and more than 300 KiB", indexed.status, len(indexed.body))
	}
	if cl := indexed.header.Get("Content-Length"); cl != strconv.Itoa(len(indexed.body)) {
		t.Errorf("Content-Length %s for a body of %d bytes", cl, len(indexed.body))
	}
	sqlAPI := apitest.NewServer(apitest.Config{Store: f.store, Verifier: f.auth, NoIndex: true})
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
	a := bytes.Replace(indexed.body, []byte(f.srv.URL), nil, 1)
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
	f := newFixture(t, nil)
	tok := f.token(t, f.tenant, f.app)
	ctx := context.Background()
	if err := f.server.Warm(ctx, f.tenant.ID); err != nil {
		t.Fatal(err)
	}
	want := f.do(t, "GET", "/api/users/user1/machines", tok)
	plain := f.server.Handler()
	swap := func() {
		// A reset needs a rebuild: a new view on new memory.
		var all []openatp.Machine
		var rels []openatp.UserMachine
		if err := f.store.Snapshot(ctx, f.tenant.ID, func(m openatp.Machine) error { all = append(all, m); return nil },
			func(r openatp.UserMachine) error { rels = append(rels, r); return nil }); err != nil {
			t.Error(err)
			return
		}
		groups, _ := f.store.Groups(ctx, f.tenant.ID)
		if err := f.store.ResetTenant(ctx, f.tenant.ID); err != nil {
			t.Error(err)
			return
		}
		for _, g := range groups {
			_ = f.store.CreateGroup(ctx, f.tenant.ID, g)
		}
		for i := range all {
			all[i].RBACGroupID, all[i].RBACGroupName = 0, ""
		}
		var ls []openatp.Logon
		for _, r := range rels {
			ls = append(ls, openatp.Logon{MachineID: r.MachineID, AccountName: r.AccountName, AccountDomain: r.AccountDomain,
				AccountSID: r.AccountSID, LogonType: "Interactive", Timestamp: r.FirstSeen})
		}
		if err := f.store.UpsertMachines(ctx, f.tenant.ID, all); err != nil {
			t.Error(err)
		}
		if err := f.store.AddLogons(ctx, f.tenant.ID, ls); err != nil {
			t.Error(err)
		}
		if err := f.server.Warm(ctx, f.tenant.ID); err != nil {
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
	got := bytes.ReplaceAll(body, []byte(srv.URL), []byte(f.srv.URL))
	if resp.StatusCode != 200 || !bytes.Equal(got, want.body) {
		t.Errorf("buffered answer:\n%s\nwant:\n%s", got, want.body)
	}
}
