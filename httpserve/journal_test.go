package httpserve_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/apitest"
)

// journalEntry is an entry of GET /_openatp/tenants/{t}/journal.
type journalEntry struct {
	Seq       uint64  `json:"seq"`
	Time      string  `json:"time"`
	App       *string `json:"app"`
	User      *string `json:"user"`
	Method    string  `json:"method"`
	Path      string  `json:"path"`
	Query     string  `json:"query"`
	Route     *string `json:"route"`
	Status    int     `json:"status"`
	LatencyMS float64 `json:"latency_ms"`
	Bytes     int64   `json:"bytes"`
	RequestID string  `json:"request_id"`
	Fault     *string `json:"fault"`
	FaultKind *string `json:"fault_kind"`
}

// journal asks the admin API for a tenant's journal with a query string.
func (f *fixture) journal(t *testing.T, tenant, query string) []journalEntry {
	t.Helper()
	r := f.admin(t, "GET", "/_openatp/tenants/"+tenant+"/journal?"+query, adminKey, "", nil)
	if r.status != 200 {
		t.Fatalf("journal?%s: %d %s", query, r.status, r.body)
	}
	var es []journalEntry
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&es); err != nil {
		t.Fatalf("journal: %v\n%s", err, r.body)
	}
	return es
}

// journalCount asks the count endpoint.
func (f *fixture) journalCount(t *testing.T, tenant, query string) int {
	t.Helper()
	r := f.admin(t, "GET", "/_openatp/tenants/"+tenant+"/journal/count?"+query, adminKey, "", nil)
	if r.status != 200 {
		t.Fatalf("journal/count?%s: %d %s", query, r.status, r.body)
	}
	var v struct{ Count int }
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatal(err)
	}
	return v.Count
}

func str(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}

// A scripted sequence of calls from two apps of one tenant, and one of
// another tenant: the journal's queries and counts return exactly those
// calls, each with what the client saw (status, request id, body bytes).
func TestJournal(t *testing.T) {
	f := adminFixture(t)
	appB := f.newApp(t, f.tenant, "second", openatp.PermMachineReadAll)
	other := f.newTenant(t, "fabrikam.onmicrosoft.com")
	otherApp := f.newApp(t, other, "theirs", openatp.PermMachineReadAll)
	tokA, tokB, tokO := f.token(t, f.tenant, f.app), f.token(t, f.tenant, appB), f.token(t, other, otherApp)

	type call struct{ tok, method, target string }
	script := []call{
		{tokA, "GET", "/api/users/user1/machines"},
		{tokB, "GET", "/api/v1.0/machines?$top=1&$select=id"},
		{tokA, "GET", "/api/users/nobody/machines"},
		{tokO, "GET", "/api/machines"},
		{tokB, "PATCH", "/api/machines/" + strings.Repeat("0", 39) + "1"}, // 400: no body
		{tokA, "GET", "/api/machines/findbytag?tag=x"},
		{"", "GET", "/api/machines"}, // no token: no tenant, not journaled
		{tokA, "DELETE", "/api/machines"},
		{tokA, "GET", "/healthz"}, // not the MDE API
	}
	type seen struct {
		app, method, path, query string
		status                   int
		id                       string
		bytes                    int
	}
	var want, wantOther []seen
	apps := map[string]string{tokA: f.app.ClientID, tokB: appB.ClientID, tokO: otherApp.ClientID}
	for _, c := range script {
		res := f.do(t, c.method, c.target, c.tok)
		u, _ := url.Parse(c.target)
		s := seen{apps[c.tok], c.method, u.EscapedPath(), u.RawQuery, res.status, res.header.Get("request-id"), len(res.body)}
		switch {
		case c.tok == "" || !strings.HasPrefix(c.target, "/api/"):
		case c.tok == tokO:
			wantOther = append(wantOther, s)
		default:
			want = append(want, s)
		}
	}
	got := func(es []journalEntry) []seen {
		var out []seen
		for _, e := range es {
			out = append(out, seen{str(e.App), e.Method, e.Path, e.Query, e.Status, e.RequestID, int(e.Bytes)})
		}
		return out
	}
	es := f.journal(t, f.tenant.ID, "")
	// The query reads as sent: & is not escaped as \u0026.
	if r := f.admin(t, "GET", "/_openatp/tenants/"+f.tenant.ID+"/journal", adminKey, "", nil); !bytes.Contains(r.body, []byte(`"query":"$top=1&$select=id"`)) {
		t.Errorf("the journal's answer does not show the query as sent:\n%s", r.body)
	}
	if diff := cmp.Diff(want, got(es), cmp.AllowUnexported(seen{})); diff != "" {
		t.Fatalf("journal (-want +got):\n%s", diff)
	}
	for i, e := range es {
		if e.Seq != uint64(i+1) || e.User != nil || e.Fault != nil || e.FaultKind != nil || e.LatencyMS <= 0 || e.Time == "" {
			t.Errorf("entry %d: %+v", i, e)
		}
	}
	if r := str(es[0].Route); r != "GET /api/users/{id}/machines" {
		t.Errorf("route of the first call: %s", r)
	}
	if diff := cmp.Diff(wantOther, got(f.journal(t, other.Name, "")), cmp.AllowUnexported(seen{})); diff != "" {
		t.Errorf("the other tenant's journal (-want +got):\n%s", diff)
	}

	// Filters, and the count of each.
	for _, tc := range []struct {
		query string
		want  []int // indexes into want
	}{
		{"app=" + appB.ClientID, []int{1, 3}},
		{"app=" + strings.ToUpper(f.app.ClientID), []int{0, 2, 4, 5}},
		{"route=" + url.QueryEscape("GET /api/machines"), []int{1}},
		{"route=" + url.QueryEscape("/api/machines"), []int{1, 5}},
		{"route=" + url.QueryEscape("GET /api/users/{id}/machines"), []int{0, 2}},
		{"status=404", []int{2}},
		{"status=4xx", []int{2, 3, 5}},
		{"status=200&app=" + f.app.ClientID, []int{0, 4}},
		{"request_id=" + want[3].id, []int{3}},
		{"since=" + url.QueryEscape(es[3].Time), []int{3, 4, 5}},
		{"after=4", []int{4, 5}},
		{"limit=2", []int{4, 5}},
		{"fault=true", nil},
		{"fault=false", []int{0, 1, 2, 3, 4, 5}},
	} {
		var w []seen
		for _, i := range tc.want {
			w = append(w, want[i])
		}
		if diff := cmp.Diff(w, got(f.journal(t, f.tenant.ID, tc.query)), cmp.AllowUnexported(seen{})); diff != "" {
			t.Errorf("journal?%s (-want +got):\n%s", tc.query, diff)
		}
		if n := f.journalCount(t, f.tenant.Name, tc.query); n != len(tc.want) && !strings.HasPrefix(tc.query, "limit") {
			t.Errorf("journal/count?%s = %d, want %d", tc.query, n, len(tc.want))
		}
	}

	// Clearing forgets one tenant's requests only.
	if r := f.admin(t, "DELETE", "/_openatp/tenants/"+f.tenant.ID+"/journal", adminKey, "", nil); r.status != 204 {
		t.Fatalf("clear: %d %s", r.status, r.body)
	}
	if n := f.journalCount(t, f.tenant.ID, ""); n != 0 {
		t.Errorf("%d entries after clearing", n)
	}
	if n := f.journalCount(t, other.ID, ""); n != 1 {
		t.Errorf("clearing one tenant left the other %d entries, want 1", n)
	}
	f.do(t, "GET", "/api/users/user1/machines", tokA)
	if es := f.journal(t, f.tenant.ID, ""); len(es) != 1 || es[0].Seq != 7 {
		t.Errorf("after clearing: %+v, want one entry numbered 7", es)
	}
}

// The journal answers bad queries, unknown tenants and a missing admin key
// with the error body.
func TestJournalErrors(t *testing.T) {
	f := adminFixture(t)
	for _, tc := range []struct {
		path, key string
		status    int
		code      string
	}{
		{"/_openatp/tenants/" + f.tenant.ID + "/journal", "", 401, "Unauthorized"},
		{"/_openatp/tenants/nosuch/journal", adminKey, 404, "ResourceNotFound"},
		{"/_openatp/tenants/" + f.tenant.ID + "/journal?bogus=1", adminKey, 400, "InvalidInput"},
		{"/_openatp/tenants/" + f.tenant.ID + "/journal?status=4x", adminKey, 400, "InvalidInput"},
		{"/_openatp/tenants/" + f.tenant.ID + "/journal/count?since=yesterday", adminKey, 400, "InvalidInput"},
		{"/_openatp/tenants/" + f.tenant.ID + "/journal?route=machines", adminKey, 400, "InvalidInput"},
		{"/_openatp/tenants/" + f.tenant.ID + "/journal?limit=-1", adminKey, 400, "InvalidInput"},
	} {
		r := f.admin(t, "GET", tc.path, tc.key, "", nil)
		if r.status != tc.status || !bytes.Contains(r.body, []byte(`"code":"`+tc.code+`"`)) ||
			!bytes.Contains(r.body, []byte(`"target":"`+r.header.Get("request-id")+`"`)) {
			t.Errorf("%s: %d %s, want %d %s", tc.path, r.status, r.body, tc.status, tc.code)
		}
	}
	if r := f.admin(t, "POST", "/_openatp/tenants/"+f.tenant.ID+"/journal", adminKey, "", nil); r.status != 405 || r.header.Get("Allow") != "GET, DELETE" {
		t.Errorf("POST journal: %d %v", r.status, r.header)
	}

	off := newFixture(t, func(c *apitest.Config) { c.JournalSize = -1 })
	setAdminKey(t, off)
	off.do(t, "GET", "/api/users/user1/machines", off.token(t, off.tenant, off.app))
	if r := off.admin(t, "GET", "/_openatp/tenants/"+off.tenant.ID+"/journal", adminKey, "", nil); r.status != 409 || !bytes.Contains(r.body, []byte("JournalOff")) {
		t.Errorf("journal off: %d %s", r.status, r.body)
	}
}

// The ring of a tenant never holds more than its size, under concurrent
// clients, and keeps the newest.
func TestJournalBound(t *testing.T) {
	f := newFixture(t, func(c *apitest.Config) { c.JournalSize = 7 })
	setAdminKey(t, f)
	tok := f.token(t, f.tenant, f.app)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 15 {
				f.do(t, "GET", fmt.Sprintf("/api/users/w%d-%d/machines", w, i), tok)
			}
		})
	}
	wg.Wait()
	f.do(t, "GET", "/api/users/last/machines", tok)
	es := f.journal(t, f.tenant.ID, "")
	if len(es) != 7 || f.journalCount(t, f.tenant.ID, "") != 7 {
		t.Fatalf("%d entries, want the bound 7", len(es))
	}
	for i, e := range es {
		if e.Seq != uint64(55+i) {
			t.Errorf("entry %d has seq %d, want %d", i, e.Seq, 55+i)
		}
	}
	if es[6].Path != "/api/users/last/machines" {
		t.Errorf("newest entry: %s", es[6].Path)
	}
}

// A token and a client secret in every place a client can put them: no
// journal entry, nor the access log, holds either (or any part of the
// token).
func TestJournalNoSecrets(t *testing.T) {
	var logBuf lockedBuffer
	f := newFixture(t, func(c *apitest.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logBuf, nil))
	})
	setAdminKey(t, f)
	tok := f.token(t, f.tenant, f.app)
	secret := openatp.NewSecret()
	for strings.IndexFunc(secret, func(r rune) bool { return r < '0' || r > 'f' || r > '9' && r < 'a' }) < 0 {
		secret = openatp.NewSecret() // one that could not pass for hex
	}
	machine := strings.Repeat("0", 39) + "1"
	send := func(method, target string, body string, header map[string]string) {
		req, err := http.NewRequest(method, f.srv.URL+target, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		res, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	for _, v := range []string{tok, secret} {
		q := url.QueryEscape(v)
		for _, target := range []string{
			"/api/users/" + v + "/machines",
			"/api/machines/" + v,
			"/api/machines/" + v + "/logonusers",
			"/api/machines/x." + v + ".com",
			"/api/machines?access_token=" + q,
			"/api/machines?client_secret=" + q,
			"/api/machines?token=" + q + "&code=" + q + "&password=" + q,
			"/api/machines?x=" + q,
			"/api/machines?" + q,
			"/api/machines?$filter=" + url.QueryEscape("computerDnsName eq '"+v+"'"),
			"/api/machines/findbytag?tag=" + q,
			"/api/machines/findbyip(ip='" + v + "',timestamp=2024-01-01T00:00:00Z)",
		} {
			send("GET", target, "", nil)
		}
		send("GET", "/api/machines", "", map[string]string{"Cookie": "session=" + v, "X-Api-Key": v, "X-Client-Secret": v, "Referer": "https://x/?t=" + v})
		send("POST", "/api/machines/"+machine+"/tags", `{"Value":"`+v+`","Action":"Add"}`, map[string]string{"Content-Type": "application/json"})
		send("POST", "/api/machines/"+machine+"/tags?client_secret="+q, "client_secret="+q+"&access_token="+q, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	}
	r := f.admin(t, "GET", "/_openatp/tenants/"+f.tenant.ID+"/journal", adminKey, "", nil)
	if r.status != 200 || f.journalCount(t, f.tenant.ID, "") != 2*15 {
		t.Fatalf("journal: %d, %d entries", r.status, f.journalCount(t, f.tenant.ID, ""))
	}
	parts := append(strings.Split(tok, "."), secret, url.QueryEscape(secret))
	for _, place := range []struct {
		name string
		text string
	}{{"journal", string(r.body)}, {"access log", logBuf.String()}} {
		for _, p := range parts {
			if strings.Contains(place.text, p) {
				t.Errorf("the %s holds %q", place.name, p)
			}
		}
		if !strings.Contains(place.text, "REDACTED") {
			t.Errorf("the %s redacted nothing", place.name)
		}
	}
}
