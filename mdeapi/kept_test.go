package mdeapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
	"github.com/openatp/openatp/fault"
	"github.com/openatp/openatp/ratelimit"
)

// The kept answers (internal/answercache): the reads answered from the
// read model write an answer kept by its bytes while nothing it was built
// from changed, and never to a request it does not answer.

// warm builds the fixture's read model: answers are kept from then on.
func warm(t *testing.T, f *apitest.Fixture) {
	t.Helper()
	if err := f.Server.Warm(context.Background(), f.Tenant.ID); err != nil {
		t.Fatal(err)
	}
}

// counter reads a counter of /metrics.
func counter(t *testing.T, f *apitest.Fixture, name string) float64 {
	t.Helper()
	for l := range strings.SplitSeq(string(f.Do(t, "GET", "/metrics", "").Body), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

// hitsMisses are the answer cache's hits and misses.
func hitsMisses(t *testing.T, f *apitest.Fixture) (float64, float64) {
	return counter(t, f, "openatp_answer_cache_hits_total"), counter(t, f, "openatp_answer_cache_misses_total")
}

// answerHeaders are r's header fields but those that differ per answer.
func answerHeaders(r apitest.Response) http.Header {
	h := r.Header.Clone()
	h.Del("Date")
	h.Del("Request-Id")
	return h
}

// keptRoutes are the routes whose answers are kept, with the queries
// that pick their different writers.
var keptRoutes = []string{
	"/api/users/user1/machines",
	"/api/v1.0/users/CONTOSO%5Cuser1/machines",
	"/api/machines/" + machine1,
	"/api/machines/MYMACHINE2.contoso.com",
	"/api/machines",
	"/api/machines?$top=2&$select=id,computerDnsName&$count=true",
	"/api/machines?$filter=healthStatus+eq+'Active'&$skip=1",
	"/api/alerts",
	"/api/alerts?$filter=lastUpdateTime+ge+2024-05-02T00:00:00Z",
	"/api/alerts?$filter=lastUpdateTime+ge+2024-05-02T00:00:00Z&$top=1&$select=id,status",
}

// A kept answer is the answer the server gives without the cache: the
// same status, header fields and bytes; the second request of a route is
// a hit (of an alert poll, the third: its first is not kept).
func TestKeptAnswerIsTheAnswer(t *testing.T) {
	f, tok := alertFixture(t, nil)
	off, offTok := alertFixture(t, func(c *apitest.Config) { c.AnswerMemory = -1 })
	warm(t, f)
	warm(t, off)
	for _, path := range keptRoutes {
		uncached := off.Do(t, "GET", path, offTok)
		if strings.HasPrefix(path, "/api/alerts") {
			// An alert poll is kept from its second request: the
			// first is a miss that keeps nothing.
			hits, misses := hitsMisses(t, f)
			if r := f.Do(t, "GET", path, tok); r.Status != 200 || !bytes.Equal(f.Normalized(t, r), off.Normalized(t, uncached)) {
				t.Fatalf("%s: first poll %d:\n%s", path, r.Status, r.Body)
			}
			if h, m := hitsMisses(t, f); h != hits || m != misses+1 {
				t.Errorf("%s: first poll: %v hits and %v misses, want 0 and 1", path, h-hits, m-misses)
			}
		}
		hits, misses := hitsMisses(t, f)
		first := f.Do(t, "GET", path, tok)
		second := f.Do(t, "GET", path, tok)
		h, m := hitsMisses(t, f)
		if uncached.Status != 200 || first.Status != 200 || second.Status != 200 {
			t.Fatalf("%s: %d, %d, %d without the cache", path, first.Status, second.Status, uncached.Status)
		}
		if h != hits+1 || m != misses+1 {
			t.Errorf("%s: %v hits and %v misses, want 1 and 1", path, h-hits, m-misses)
		}
		if !bytes.Equal(first.Body, second.Body) {
			t.Errorf("%s: the kept answer differs:\n%s\n%s", path, first.Body, second.Body)
		}
		if !bytes.Equal(f.Normalized(t, second), off.Normalized(t, uncached)) {
			t.Errorf("%s: the kept answer differs from the uncached server's:\n%s\n%s", path, second.Body, uncached.Body)
		}
		for _, r := range []apitest.Response{first, uncached} {
			if got, want := answerHeaders(second), answerHeaders(r); !equalHeaders(got, want) {
				t.Errorf("%s: kept answer's header %v, want %v", path, got, want)
			}
		}
	}
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// A write makes stale the answers it touches and only them: a change to
// a machine of user1 (by another process: the store, not the server) is
// in the next answer of user1's machines, a change to another machine
// leaves it kept; the machine list and the alert poll follow every
// change.
func TestKeptAnswerFollowsWrites(t *testing.T) {
	f, tok := alertFixture(t, nil)
	warm(t, f)
	ctx := context.Background()
	get := func(path string) ([]byte, bool) {
		t.Helper()
		hits, _ := hitsMisses(t, f)
		r := f.Do(t, "GET", path, tok)
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", path, r.Status, r.Body)
		}
		h, _ := hitsMisses(t, f)
		return r.Body, h > hits
	}
	const user = "/api/users/user1/machines"
	lone := strings.Repeat("0", 39) + "1"
	before, _ := get(user)
	if _, hit := get(user); !hit {
		t.Fatal("the second read was not kept")
	}
	machines, _ := get("/api/machines")
	one, _ := get("/api/machines/" + machine1)
	poll := "/api/alerts?$filter=lastUpdateTime+ge+2024-05-02T00:00:00Z"
	alerts, _ := get(poll)

	// Another machine changes: user1's answer stays kept, the list does not.
	if err := f.Store.UpsertMachines(ctx, f.Tenant.ID, []openatp.Machine{{ID: lone, ComputerDNSName: openatp.Ptr("renamed.contoso.com"),
		MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}}}); err != nil {
		t.Fatal(err)
	}
	if got, hit := get(user); !hit || !bytes.Equal(got, before) {
		t.Errorf("user1's answer after a change to another machine: kept %v, same %v", hit, bytes.Equal(got, before))
	}
	if got, hit := get("/api/machines"); hit || !bytes.Contains(got, []byte("renamed.contoso.com")) || bytes.Equal(got, machines) {
		t.Errorf("the machine list after a change: kept %v:\n%s", hit, got)
	}
	if _, hit := get("/api/machines/" + machine1); !hit {
		t.Error("machine1 after a change to another machine was not kept")
	}

	// One of user1's machines changes: both of its answers follow.
	ms, err := f.Store.UserMachines(ctx, f.Tenant.ID, openatp.UserRef{Name: "user1"})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ms, func(m openatp.Machine) bool { return m.ID == machine1 })
	m := ms[i]
	m.MachineTags = append(m.MachineTags, "kept-answer-tag")
	m.RBACGroupID, m.RBACGroupName = 0, ""
	if err := f.Store.UpsertMachines(ctx, f.Tenant.ID, []openatp.Machine{m}); err != nil {
		t.Fatal(err)
	}
	if got, hit := get(user); hit || !bytes.Contains(got, []byte("kept-answer-tag")) {
		t.Errorf("user1's answer after a change to its machine: kept %v:\n%s", hit, got)
	}
	if got, hit := get("/api/machines/" + machine1); hit || !bytes.Contains(got, []byte("kept-answer-tag")) || bytes.Equal(got, one) {
		t.Errorf("machine1 after its change: kept %v:\n%s", hit, got)
	}

	// user1 logs on to another machine: its list grows.
	if err := f.Store.AddLogons(ctx, f.Tenant.ID, []openatp.Logon{{MachineID: lone, AccountName: "user1", AccountDomain: "contoso",
		LogonType: "Interactive", Timestamp: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	if got, hit := get(user); hit || !strings.Contains(string(got), lone) {
		t.Errorf("user1's answer after a new logon: kept %v:\n%s", hit, got)
	}

	// A new alert is in the next poll.
	at := time.Date(2024, 5, 9, 0, 0, 0, 0, time.UTC)
	if err := f.Store.UpsertAlerts(ctx, f.Tenant.ID, []openatp.Alert{{ID: "kept-new-alert", Severity: "Low", Status: "New",
		MachineID: machine2, LastUpdateTime: &at, AlertCreationTime: &at}}); err != nil {
		t.Fatal(err)
	}
	if got, hit := get(poll); hit || !bytes.Contains(got, []byte("kept-new-alert")) || bytes.Equal(got, alerts) {
		t.Errorf("the alert poll after a new alert: kept %v:\n%s", hit, got)
	}
	if _, hit := get(poll); !hit {
		t.Error("the alert poll, again: not kept")
	}
}

// A kept answer never crosses tenants: another tenant's user of the same
// name, at the same path and host, gets its own machines.
func TestKeptAnswerStaysInItsTenant(t *testing.T) {
	f := apitest.NewFixture(t, nil)
	other := f.NewTenant(t, "fabrikam.onmicrosoft.com")
	app := f.NewApp(t, other, "reader", openatp.PermMachineReadAll)
	const otherMachine = "9999999999999999999999999999999999999999"
	f.Load(t, other, []openatp.Machine{{ID: otherMachine, ComputerDNSName: openatp.Ptr("other.fabrikam.com"),
		MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}}},
		[]openatp.Logon{{MachineID: otherMachine, AccountName: "user1", AccountDomain: "contoso", Timestamp: time.Now()}})
	tok, otherTok := f.Token(t, f.Tenant, f.App), f.Token(t, other, app)
	warm(t, f)
	if err := f.Server.Warm(context.Background(), other.ID); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/users/user1/machines", "/api/machines", "/api/machines/" + machine1} {
		for range 2 {
			if r := f.Do(t, "GET", path, tok); r.Status != 200 || bytes.Contains(r.Body, []byte(otherMachine)) {
				t.Fatalf("%s, first tenant: %d %s", path, r.Status, r.Body)
			}
		}
		r := f.Do(t, "GET", path, otherTok)
		switch {
		case strings.Contains(path, machine1):
			if r.Status != 404 {
				t.Errorf("%s, other tenant: %d %s", path, r.Status, r.Body)
			}
		case r.Status != 200 || !bytes.Contains(r.Body, []byte(otherMachine)) || bytes.Contains(r.Body, []byte(machine1)):
			t.Errorf("%s, other tenant: %d %s", path, r.Status, r.Body)
		}
	}
}

// A kept answer never crosses callers who see different device groups:
// after the administrator's answers are kept, an analyst of one group
// gets its own, and a user it sees no machine of is unknown to it.
func TestKeptAnswerStaysWithItsGroups(t *testing.T) {
	f := apitest.RBACFixture(t, false)
	if err := f.Store.PutRole(context.Background(), f.Tenant.ID, openatp.Role{Name: "Vault viewer",
		Permissions: []string{openatp.PermViewData}, UserGroups: []string{"g-sec"}}); err != nil {
		t.Fatal(err)
	}
	warm(t, f)
	dapp := f.DelegatedApp(t, f.Tenant, openatp.PermMachineRead)
	admin := f.Delegated(t, f.Tenant, dapp, "admin@contoso.com", "g-admin")
	ana := f.Delegated(t, f.Tenant, dapp, "ana@contoso.com", "g-ana")
	sec := f.Delegated(t, f.Tenant, dapp, "sec@contoso.com", "g-sec")
	app := f.Token(t, f.Tenant, f.App)
	ids := func(tok, path string) []string {
		t.Helper()
		r := f.Do(t, "GET", path, tok)
		if r.Status == 404 {
			return nil
		}
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", path, r.Status, r.Body)
		}
		if strings.HasPrefix(path, "/api/machines/") {
			var m struct{ ID string }
			if err := json.Unmarshal(r.Body, &m); err != nil {
				t.Fatal(err)
			}
			return []string{m.ID}
		}
		return apitest.MachineIDs(t, r.Body)
	}
	for _, c := range []struct {
		path          string
		all, ana, sec []string
	}{
		{"/api/users/user1/machines", []string{machine1, apitest.VaultMachine, machine2}, []string{machine1, machine2}, []string{apitest.VaultMachine}},
		{"/api/users/vaultonly/machines", []string{apitest.VaultMachine}, nil, []string{apitest.VaultMachine}},
		{"/api/machines/" + apitest.VaultMachine, []string{apitest.VaultMachine}, nil, []string{apitest.VaultMachine}},
	} {
		for _, tok := range []string{admin, app} {
			for range 2 {
				if got := ids(tok, c.path); !sameSet(got, c.all) {
					t.Errorf("%s, every group: %v, want %v", c.path, got, c.all)
				}
			}
		}
		for range 2 {
			if got := ids(ana, c.path); !sameSet(got, c.ana) {
				t.Errorf("%s, g-ana: %v, want %v", c.path, got, c.ana)
			}
			if got := ids(sec, c.path); !sameSet(got, c.sec) {
				t.Errorf("%s, g-sec: %v, want %v", c.path, got, c.sec)
			}
		}
	}
	// And the machine list: the analyst's page has no vault machine.
	for _, tok := range []string{admin, ana} {
		for range 2 {
			got := ids(tok, "/api/machines")
			if has := slices.Contains(got, apitest.VaultMachine); has != (tok == admin) {
				t.Errorf("the machine list of %s: %v", map[bool]string{true: "admin", false: "g-ana"}[tok == admin], got)
			}
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// What runs around a handler stays on for a kept answer: the rate limit
// counts it, a fault rule replaces it, the access log and the request
// journal record it as any other answer.
func TestKeptAnswerKeepsTheRest(t *testing.T) {
	var logs apitest.LockedBuffer
	f := apitest.NewFixture(t, func(c *apitest.Config) {
		c.Limiter = ratelimit.NewMemory(ratelimit.Policy{{Limit: 5, Every: time.Minute}}, time.Now)
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	f.SetAdminKey(t)
	warm(t, f)
	tok := f.Token(t, f.Tenant, f.App)
	const path = "/api/users/user1/machines"
	var sizes []int
	for i := range 5 {
		r := f.Do(t, "GET", path, tok)
		if r.Status != 200 {
			t.Fatalf("read %d: %d %s", i+1, r.Status, r.Body)
		}
		sizes = append(sizes, len(r.Body))
	}
	if h, _ := hitsMisses(t, f); h != 4 {
		t.Errorf("%v hits, want 4", h)
	}
	if r := f.Do(t, "GET", path, tok); r.Status != 429 {
		t.Errorf("read 6, beyond the limit: %d %s", r.Status, r.Body)
	}
	var rule fault.Rule
	if err := json.Unmarshal([]byte(`{"route":"GET /api/users/{id}/machines","kind":"error","status":503}`), &rule); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Server.AddFault(context.Background(), rule); err != nil {
		t.Fatal(err)
	}
	if r := f.Do(t, "GET", path, tok); r.Status != 503 {
		t.Errorf("with a fault rule: %d %s", r.Status, r.Body)
	}
	r := f.Admin(t, "GET", "/_openatp/tenants/"+f.Tenant.ID+"/journal", apitest.AdminKey, "", nil)
	var es []struct {
		Path   string `json:"path"`
		Status int    `json:"status"`
		Bytes  int64  `json:"bytes"`
	}
	if err := json.Unmarshal(r.Body, &es); err != nil {
		t.Fatalf("journal: %v %s", err, r.Body)
	}
	var statuses []int
	for _, e := range es {
		if e.Path == path {
			statuses = append(statuses, e.Status)
			if e.Status == 200 && e.Bytes != int64(sizes[0]) {
				t.Errorf("journal: %d bytes, want %d", e.Bytes, sizes[0])
			}
		}
	}
	if want := []int{503, 429, 200, 200, 200, 200, 200}; !sameInts(statuses, want) {
		t.Errorf("journal statuses %v, want %v (any order)", statuses, want)
	}
	apitest.WaitFor(t, "the access log's lines", func() bool {
		return strings.Count(logs.String(), "path="+path+" ") == 7
	})
	if n := strings.Count(logs.String(), "path="+path+" query=\"\" proto=HTTP/1.1 tenant="+f.Tenant.ID+" app="); n != 7 {
		t.Errorf("%d access log lines of the route with tenant and app, want 7:\n%s", n, logs.String())
	}
}

func sameInts(a, b []int) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// A change to the device groups (a group renamed: every machine of it
// writes the new name, though no machine changed) makes every kept
// answer of the tenant stale.
func TestKeptAnswerFollowsGroups(t *testing.T) {
	f := apitest.RBACFixture(t, false)
	warm(t, f)
	tok := f.Token(t, f.Tenant, f.App)
	const path = "/api/users/user1/machines"
	for range 2 {
		if r := f.Do(t, "GET", path, tok); r.Status != 200 || !bytes.Contains(r.Body, []byte(`"The-A-Team"`)) {
			t.Fatalf("before: %d %s", r.Status, r.Body)
		}
	}
	ctx := context.Background()
	gs, err := f.Store.Groups(ctx, f.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	g := gs[slices.IndexFunc(gs, func(g openatp.DeviceGroup) bool { return g.Name == "The-A-Team" })]
	g.Name = "Renamed-Team"
	if err := f.Store.UpdateGroup(ctx, f.Tenant.ID, g); err != nil {
		t.Fatal(err)
	}
	if r := f.Do(t, "GET", path, tok); r.Status != 200 || !bytes.Contains(r.Body, []byte(`"Renamed-Team"`)) || bytes.Contains(r.Body, []byte(`"The-A-Team"`)) {
		t.Errorf("after the rename: %d %s", r.Status, r.Body)
	}
}

// An alert page larger than the server assembles whole (1 MiB) is
// streamed with the length it declares: the same bytes, and the same
// Content-Length, as the store's answer, whose length is its body's.
func TestAlertPageOverAMebibyte(t *testing.T) {
	f, tok := alertFixture(t, nil)
	off, offTok := alertFixture(t, func(c *apitest.Config) { c.AnswerMemory = -1 })
	long := strings.Repeat("a long description, unique to its alert ", 50)
	var as []openatp.Alert
	for i := range 600 {
		at := time.Date(2024, 6, 1, 0, 0, i, 0, time.UTC)
		as = append(as, openatp.Alert{ID: "big-alert-" + strconv.Itoa(i), Severity: "Low", Status: "New", MachineID: machine2,
			Description: openatp.Ptr(strconv.Itoa(i) + long), LastUpdateTime: &at, AlertCreationTime: &at})
	}
	for _, g := range []*apitest.Fixture{f, off} {
		if err := g.Store.UpsertAlerts(context.Background(), g.Tenant.ID, as); err != nil {
			t.Fatal(err)
		}
		warm(t, g)
	}
	for _, path := range []string{"/api/alerts?$top=10000", "/api/alerts?$top=10000&$expand=evidence", "/api/alerts?$top=1"} {
		r, want := f.Do(t, "GET", path, tok), off.Do(t, "GET", path, offTok)
		if r.Status != 200 || r.Header.Get("Content-Length") != strconv.Itoa(len(r.Body)) {
			t.Fatalf("%s: %d, Content-Length %s for %d bytes", path, r.Status, r.Header.Get("Content-Length"), len(r.Body))
		}
		if path != "/api/alerts?$top=1" && len(r.Body) <= 1<<20 {
			t.Errorf("%s: %d bytes, not over a mebibyte", path, len(r.Body))
		}
		if !bytes.Equal(f.Normalized(t, r), off.Normalized(t, want)) {
			t.Errorf("%s: differs from the answer without the cache (%d and %d bytes)", path, len(r.Body), len(want.Body))
		}
	}
}
