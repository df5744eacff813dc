package huntapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
	"github.com/openatp/openatp/auth"
	"github.com/openatp/openatp/huntapi"
	"github.com/openatp/openatp/hunting"
	"github.com/openatp/openatp/internal/pgtest"
	"github.com/openatp/openatp/postgres"
	"github.com/openatp/openatp/ratelimit"
	"github.com/openatp/openatp/sqlite"
)

const (
	machine1 = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07" // The-A-Team
	machine2 = "7292e4b8cb74ff1cc3d8a495eb29dc8858b732f7" // The-A-Team
	vault    = apitest.VaultMachine                       // Vault
)

// engines are the stores the tests run on: SQLite (the fixture's own) and
// PostgreSQL, each running what it can of a query (huntsql), and SQLite
// running none of it: the answers are the same.
var engines = []struct {
	name string
	open func(t *testing.T, configure func(*apitest.Config)) *apitest.Fixture
}{
	{"sqlite", func(t *testing.T, configure func(*apitest.Config)) *apitest.Fixture {
		return apitest.NewFixture(t, configure)
	}},
	{"postgres", func(t *testing.T, configure func(*apitest.Config)) *apitest.Fixture {
		db, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return apitest.NewStoreFixture(t, db, configure)
	}},
	{"sqlite in memory", func(t *testing.T, configure func(*apitest.Config)) *apitest.Fixture {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "openatp.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return apitest.NewStoreFixture(t, inMemory{db}, configure)
	}},
}

// inMemory is a SQLite store that runs no hunting SQL: every query runs
// in memory, as it does over a store that cannot run it.
type inMemory struct{ *sqlite.DB }

// HuntRows hides the store's: inMemory is not a huntsql.Store.
func (inMemory) HuntRows() {}

// world is a fixture with AddRBAC's groups and roles, the documented
// machines (The-A-Team) and the vault machine (Vault) last seen an hour
// ago, logons, file and network events and alerts of each (and some older
// than the 30 days a query sees), and apps granted each form's permission.
type world struct {
	*apitest.Fixture
	now                time.Time
	mde, m365d, graph  string // tokens of apps with the forms' permissions
	machineReader      string // a token without a hunting permission
	ana, noview, admin string // delegated tokens: The-A-Team, no View Data, every group
}

func newWorld(t *testing.T, open func(*testing.T, func(*apitest.Config)) *apitest.Fixture, configure func(*apitest.Config)) *world {
	t.Helper()
	f := open(t, configure)
	t.Cleanup(http.DefaultTransport.(*http.Transport).CloseIdleConnections)
	f.AddRBAC(t)
	ctx := context.Background()
	tn := f.Tenant
	now := time.Now().UTC().Truncate(time.Second)
	recent, old := now.Add(-time.Hour), now.Add(-40*24*time.Hour)
	for _, id := range []string{machine1, machine2, vault} {
		m, err := f.Store.Machine(ctx, tn.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		m.LastSeen = &recent
		f.Load(t, tn, []openatp.Machine{m}, nil)
	}
	at := func(d time.Duration) time.Time { return now.Add(-d) }
	f.Load(t, tn, nil, []openatp.Logon{
		{MachineID: machine1, AccountName: "ana", AccountDomain: "contoso", AccountSID: "S-1-5-21-1", LogonType: "Interactive", Timestamp: at(3 * time.Hour)},
		{MachineID: machine1, AccountName: "ana", AccountDomain: "contoso", LogonType: "Network", Timestamp: at(2 * time.Hour)},
		{MachineID: machine2, AccountName: "bob", AccountDomain: "contoso", LogonType: "RemoteInteractive", Timestamp: at(90 * time.Minute)},
		{MachineID: vault, AccountName: "carol", AccountDomain: "contoso", LogonType: "Interactive", Timestamp: at(time.Hour)},
		{MachineID: machine1, AccountName: "ancient", AccountDomain: "contoso", LogonType: "Interactive", Timestamp: old},
	})
	fe := []openatp.FileEvent{
		{Timestamp: at(5 * time.Hour), DeviceId: machine1, ActionType: "FileCreated", FileName: "evil.exe", SHA1: strings.Repeat("a1", 20), FileSize: openatp.Ptr(int64(4096))},
		{Timestamp: at(4 * time.Hour), DeviceId: vault, ActionType: "FileCreated", FileName: "vault.dll"},
		{Timestamp: old, DeviceId: machine2, ActionType: "FileDeleted", FileName: "old.txt"},
	}
	ne := []openatp.NetworkEvent{
		{Timestamp: at(5 * time.Hour), DeviceId: machine2, ActionType: "ConnectionSuccess", RemoteIP: "203.0.113.5", RemotePort: openatp.Ptr(int64(443)), RemoteUrl: "www.example.com"},
		{Timestamp: at(4 * time.Hour), DeviceId: vault, ActionType: "ConnectionSuccess", RemoteIP: "198.51.100.9"},
	}
	for i := range fe {
		must(t, fe[i].Normalize())
	}
	for i := range ne {
		must(t, ne[i].Normalize())
	}
	must(t, f.Store.AddFileEvents(ctx, tn.ID, fe))
	must(t, f.Store.AddNetworkEvents(ctx, tn.ID, ne))
	p := openatp.Ptr[string]
	created := at(6 * time.Hour)
	must(t, f.Store.UpsertAlerts(ctx, tn.ID, []openatp.Alert{
		{ID: "da1", Severity: "High", Status: "New", MachineID: machine1, Title: p("Suspicious file"), Category: p("Malware"),
			DetectionSource: p("WindowsDefenderAv"), AlertCreationTime: &created, LastUpdateTime: &created, MitreTechniques: []string{"T1059"},
			Evidence: []openatp.Evidence{{EntityType: p("File"), FileName: p("evil.exe"), SHA1: p(strings.Repeat("a1", 20))}}},
		{ID: "da-vault", Severity: "Low", Status: "New", MachineID: vault, Title: p("Vault alert"), AlertCreationTime: &created, LastUpdateTime: &created},
	}))
	w := &world{Fixture: f, now: now}
	w.mde = f.Token(t, tn, f.NewApp(t, tn, "hunter", hunting.PermAdvancedQueryReadAll))
	w.m365d = f.Token(t, tn, f.NewApp(t, tn, "m365d", hunting.PermAdvancedHuntingReadAll))
	w.graph = w.graphToken(t, tn, f.NewApp(t, tn, "graph", hunting.PermThreatHuntingReadAll))
	w.machineReader = f.Token(t, tn, f.App)
	dapp := f.DelegatedApp(t, tn, hunting.PermAdvancedQueryRead)
	w.ana = f.Delegated(t, tn, dapp, "ana@contoso.com", "g-ana")
	w.noview = f.Delegated(t, tn, dapp, "nov@contoso.com", "g-noview")
	w.admin = f.Delegated(t, tn, dapp, "adm@contoso.com", "g-admin")
	return w
}

// graphToken mints a token of Graph's audience for app.
func (w *world) graphToken(t *testing.T, tn openatp.Tenant, app openatp.App) string {
	t.Helper()
	tok, _, err := w.Auth.Mint(context.Background(), auth.MintRequest{Tenant: tn, App: app, BaseURL: w.Srv.URL, Version: 2,
		Audience: "https://graph.microsoft.com"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// run posts a query to path with token and returns the answer.
func (w *world) run(t *testing.T, path, token, query string) apitest.Response {
	t.Helper()
	body, err := json.Marshal(map[string]string{"Query": query})
	must(t, err)
	return w.SendJSON(t, "POST", path, token, string(body))
}

// results runs a query on the MDE route, wants a 200, and returns its
// Results as JSON text.
func (w *world) results(t *testing.T, token, query string) string {
	t.Helper()
	r := w.run(t, "/api/advancedqueries/run", token, query)
	if r.Status != http.StatusOK {
		t.Fatalf("%s: %d %s", query, r.Status, r.Body)
	}
	var ans struct{ Results json.RawMessage }
	must(t, json.Unmarshal(r.Body, &ans))
	return string(ans.Results)
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// TestAdvancedQueries: each table answers from what the store and the
// read model hold, within the last 30 days, in the MDE form, on both
// engines.
func TestAdvancedQueries(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := newWorld(t, e.open, nil)
			at := func(d time.Duration) string { return ts(w.now.Add(-d)) }
			r := w.run(t, "/api/advancedqueries/run", w.mde,
				"DeviceLogonEvents | where AccountName != 'vaultonly' and AccountName != 'user1' | project Timestamp, DeviceName, AccountName, LogonType, AccountSid | order by Timestamp asc")
			apitest.CheckJSONHeaders(t, r, "application/json; charset=utf-8")
			want := `{"Schema":[{"Name":"Timestamp","Type":"DateTime"},{"Name":"DeviceName","Type":"String"},` +
				`{"Name":"AccountName","Type":"String"},{"Name":"LogonType","Type":"String"},{"Name":"AccountSid","Type":"String"}],"Results":[` +
				`{"Timestamp":"` + at(3*time.Hour) + `","DeviceName":"mymachine1.contoso.com","AccountName":"ana","LogonType":"Interactive","AccountSid":"S-1-5-21-1"},` +
				`{"Timestamp":"` + at(2*time.Hour) + `","DeviceName":"mymachine1.contoso.com","AccountName":"ana","LogonType":"Network","AccountSid":""},` +
				`{"Timestamp":"` + at(90*time.Minute) + `","DeviceName":"mymachine2.contoso.com","AccountName":"bob","LogonType":"RemoteInteractive","AccountSid":""},` +
				`{"Timestamp":"` + at(time.Hour) + `","DeviceName":"vault.contoso.com","AccountName":"carol","LogonType":"Interactive","AccountSid":""}]}`
			if string(r.Body) != want {
				t.Errorf("logons: %d\n got %s\nwant %s", r.Status, r.Body, want)
			}
			for _, c := range []struct{ query, want string }{
				{"DeviceInfo | project DeviceId, DeviceName, MachineGroup | order by DeviceName asc",
					`[{"DeviceId":"` + machine1 + `","DeviceName":"mymachine1.contoso.com","MachineGroup":"The-A-Team"},` +
						`{"DeviceId":"` + machine2 + `","DeviceName":"mymachine2.contoso.com","MachineGroup":"The-A-Team"},` +
						`{"DeviceId":"` + vault + `","DeviceName":"vault.contoso.com","MachineGroup":"Vault"}]`},
				{"DeviceFileEvents | project FileName, DeviceName, FileSize",
					`[{"FileName":"evil.exe","DeviceName":"mymachine1.contoso.com","FileSize":4096},` +
						`{"FileName":"vault.dll","DeviceName":"vault.contoso.com","FileSize":null}]`},
				{"DeviceNetworkEvents | project RemoteIP, RemotePort, RemoteIPType",
					`[{"RemoteIP":"203.0.113.5","RemotePort":443,"RemoteIPType":"Public"},{"RemoteIP":"198.51.100.9","RemotePort":null,"RemoteIPType":"Public"}]`},
				{"AlertInfo | project AlertId, Title, Category, Severity, ServiceSource, AttackTechniques | order by AlertId asc",
					`[{"AlertId":"da-vault","Title":"Vault alert","Category":"","Severity":"Low","ServiceSource":"Microsoft Defender for Endpoint","AttackTechniques":""},` +
						`{"AlertId":"da1","Title":"Suspicious file","Category":"Malware","Severity":"High","ServiceSource":"Microsoft Defender for Endpoint","AttackTechniques":"[\"T1059\"]"}]`},
				{"AlertEvidence | where AlertId == 'da1' | project EntityType, EvidenceRole, DeviceId, FileName, Categories",
					`[{"EntityType":"Machine","EvidenceRole":"Impacted","DeviceId":"` + machine1 + `","FileName":"","Categories":"[\"Malware\"]"},` +
						`{"EntityType":"File","EvidenceRole":"Related","DeviceId":"","FileName":"evil.exe","Categories":"[\"Malware\"]"}]`},
				// The benchmark queries (one bin of ten years: the day's
				// would depend on the time of the run).
				{"DeviceLogonEvents | where Timestamp > ago(7d) | summarize count() by AccountName | top 10 by count_",
					`[{"AccountName":"ana","count_":2},{"AccountName":"bob","count_":1},{"AccountName":"carol","count_":1},` +
						`{"AccountName":"user1","count_":1},{"AccountName":"vaultonly","count_":1}]`},
				{"DeviceInfo | project DeviceId, OSPlatform | join kind=inner (DeviceLogonEvents | where Timestamp > ago(1d)) on DeviceId | summarize count() by OSPlatform",
					`[{"OSPlatform":"Windows10","count_":3},{"OSPlatform":"","count_":3}]`},
				{"DeviceLogonEvents | summarize dcount(AccountName) by bin(Timestamp, 3650d) | project dcount_AccountName",
					`[{"dcount_AccountName":5}]`},
				{"DeviceLogonEvents | summarize Logons = count() by DeviceId | join kind=inner (DeviceInfo | project DeviceId, DeviceName) on DeviceId | project DeviceName, Logons | order by DeviceName asc",
					`[{"DeviceName":"mymachine1.contoso.com","Logons":2},{"DeviceName":"mymachine2.contoso.com","Logons":1},{"DeviceName":"vault.contoso.com","Logons":3}]`},
			} {
				if got := w.results(t, w.mde, c.query); got != c.want {
					t.Errorf("%s:\n got %s\nwant %s", c.query, got, c.want)
				}
			}
		})
	}
}

// TestForms: the Microsoft 365 Defender form answers Stats first; Graph's
// takes a Timespan and answers schema and results with its
// @odata.context; each takes its own permission and token audience.
func TestForms(t *testing.T) {
	w := newWorld(t, engines[0].open, nil)
	const q = "DeviceInfo | where DeviceId == '" + machine1 + "' | project DeviceName"
	r := w.run(t, "/api/advancedhunting/run", w.m365d, q)
	var stats struct {
		Stats struct {
			ExecutionTime     float64
			DatasetStatistics []struct {
				TableRowCount int `json:"table_row_count"`
			} `json:"dataset_statistics"`
		}
		Schema, Results json.RawMessage
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &stats) != nil || !strings.HasPrefix(string(r.Body), `{"Stats":{`) ||
		string(stats.Results) != `[{"DeviceName":"mymachine1.contoso.com"}]` || len(stats.Stats.DatasetStatistics) != 1 || stats.Stats.DatasetStatistics[0].TableRowCount != 1 {
		t.Errorf("M365D form: %d %s", r.Status, r.Body)
	}

	r = w.run(t, "/v1.0/security/runHuntingQuery", w.graph, q)
	want := `{"@odata.context":"` + w.Srv.URL + `/v1.0/$metadata#microsoft.graph.security.huntingQueryResults",` +
		`"schema":[{"Name":"DeviceName","Type":"String"}],"results":[{"DeviceName":"mymachine1.contoso.com"}]}`
	if r.Status != http.StatusOK || string(r.Body) != want {
		t.Errorf("Graph form: %d\n got %s\nwant %s", r.Status, r.Body, want)
	}
	// Timespan: only the last 4.5 hours' file events (evil.exe is 5 h old).
	r = w.SendJSON(t, "POST", "/v1.0/security/runHuntingQuery", w.graph, `{"Query":"DeviceFileEvents | project FileName","Timespan":"PT4H30M"}`)
	if r.Status != http.StatusOK || !strings.HasSuffix(string(r.Body), `"results":[{"FileName":"vault.dll"}]}`) {
		t.Errorf("Graph with Timespan: %d %s", r.Status, r.Body)
	}
	iso := func(d time.Duration) string { return w.now.Add(-d).Format(time.RFC3339) }
	for span, want := range map[string]string{
		iso(270*time.Minute) + "/" + iso(3*time.Hour): `[{"FileName":"vault.dll"}]`,
		"P1D/" + iso(270*time.Minute):                 `[{"FileName":"evil.exe"}]`,
		iso(270*time.Minute) + "/PT1H":                `[{"FileName":"vault.dll"}]`,
		iso(270 * time.Minute):                        `[{"FileName":"vault.dll"}]`,
		"P60D":                                        `[{"FileName":"old.txt"},{"FileName":"evil.exe"},{"FileName":"vault.dll"}]`,
	} {
		body, err := json.Marshal(map[string]string{"Query": "DeviceFileEvents | project FileName", "Timespan": span})
		must(t, err)
		r := w.SendJSON(t, "POST", "/v1.0/security/runHuntingQuery", w.graph, string(body))
		if r.Status != http.StatusOK || !strings.HasSuffix(string(r.Body), `"results":`+want+`}`) {
			t.Errorf("Timespan %s: %d %s, want %s", span, r.Status, r.Body, want)
		}
	}
	for _, span := range []string{"yesterday", "P1M", "2024-01-02/2024-01-01", "PT"} {
		r = w.SendJSON(t, "POST", "/v1.0/security/runHuntingQuery", w.graph, `{"Query":"DeviceFileEvents","Timespan":"`+span+`"}`)
		apitest.CheckError(t, r, http.StatusBadRequest, "BadRequest")
	}

	// Audiences and permissions.
	for _, c := range []struct {
		name, path, token string
		status            int
		code              string
	}{
		{"Graph token on the MDE route", "/api/advancedqueries/run", w.graph, 401, "Unauthorized"},
		{"MDE token on Graph", "/v1.0/security/runHuntingQuery", w.mde, 401, "Unauthorized"},
		{"no hunting permission", "/api/advancedqueries/run", w.machineReader, 403, "Forbidden"},
		{"MDE permission on Graph's audience only", "/api/advancedhunting/run", w.mde, 200, ""},
	} {
		r := w.run(t, c.path, c.token, q)
		if c.status == 200 {
			if r.Status != 200 {
				t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
			}
			continue
		}
		apitest.CheckError(t, r, c.status, c.code)
	}
}

// TestDelegatedScope: a delegated caller reads the rows of its device
// groups' machines only, in every table and through any operator; one
// without View Data is refused; the admin role sees all.
func TestDelegatedScope(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { testDelegatedScope(t, e.name, e.open) })
	}
}

func testDelegatedScope(t *testing.T, engine string, open func(*testing.T, func(*apitest.Config)) *apitest.Fixture) {
	w := newWorld(t, open, nil)
	queries := map[string]string{
		"DeviceInfo":          "DeviceInfo | summarize dcount(DeviceId)",
		"DeviceNetworkInfo":   "DeviceNetworkInfo | where DeviceId == '" + vault + "' | count",
		"DeviceLogonEvents":   "DeviceLogonEvents | where DeviceName has 'vault' | count",
		"DeviceFileEvents":    "DeviceFileEvents | where FileName == 'vault.dll' | count",
		"DeviceNetworkEvents": "DeviceNetworkEvents | where RemoteIP == '198.51.100.9' | count",
		"AlertInfo":           "AlertInfo | where AlertId == 'da-vault' | count",
		"AlertEvidence":       "AlertEvidence | where AlertId == 'da-vault' | count",
	}
	for name, q := range queries {
		got := w.results(t, w.ana, q)
		if name == "DeviceInfo" {
			if got != `[{"dcount_DeviceId":2}]` {
				t.Errorf("ana's DeviceInfo: %s, want the 2 machines of The-A-Team", got)
			}
			continue
		}
		if got != `[{"Count":0}]` {
			t.Errorf("ana's %s: %s, want no vault row", name, got)
		}
	}
	if got := w.results(t, w.admin, "DeviceLogonEvents | where DeviceName has 'vault' | count"); got != `[{"Count":3}]` {
		t.Errorf("admin's vault logons: %s, want 3", got)
	}
	// The benchmark queries, each run by the SQL stores.
	before := huntapi.Pushed()
	for _, c := range []struct{ token, query, want string }{
		{w.ana, "DeviceLogonEvents | summarize count() by AccountName | top 10 by count_", `[{"AccountName":"ana","count_":2},{"AccountName":"bob","count_":1}]`},
		{w.admin, "DeviceLogonEvents | count", `[{"Count":6}]`},
		{w.ana, "DeviceInfo | project DeviceId, OSPlatform | join kind=inner (DeviceLogonEvents | where Timestamp > ago(1d)) on DeviceId | summarize count() by OSPlatform",
			`[{"OSPlatform":"Windows10","count_":3}]`},
		{w.ana, "DeviceLogonEvents | summarize dcount(AccountName) by bin(Timestamp, 3650d) | project dcount_AccountName", `[{"dcount_AccountName":2}]`},
	} {
		if got := w.results(t, c.token, c.query); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.query, got, c.want)
		}
	}
	if n := huntapi.Pushed() - before; (n >= 4) != (engine != "sqlite in memory") {
		t.Errorf("%d plans run by the store %s", n, engine)
	}
	if got := w.results(t, w.ana, "union DeviceFileEvents, DeviceNetworkEvents | summarize Ids = make_set(DeviceId)"); got != `[{"Ids":["`+machine1+`","`+machine2+`"]}]` {
		t.Errorf("ana's union: %s", got)
	}
	r := w.run(t, "/api/advancedqueries/run", w.noview, "DeviceInfo | count")
	apitest.CheckError(t, r, http.StatusForbidden, "Forbidden")
}

// TestQueryErrors: a query the language refuses is a 400 naming the
// operator or function and its position; a body without Query is a 400;
// the time limit and the result size give the service's 400s.
func TestQueryErrors(t *testing.T) {
	w := newWorld(t, engines[0].open, func(c *apitest.Config) { c.HuntingMaxResult = 300 })
	for _, c := range []struct{ query, want string }{
		{"DeviceInfo | frobnicate", "frobnicate"},
		{"DeviceInfo | extend x = hash_sha256(DeviceName)", "hash_sha256"},
		{"NoSuchTable | take 1", "NoSuchTable"},
	} {
		r := w.run(t, "/api/advancedqueries/run", w.mde, c.query)
		apitest.CheckError(t, r, http.StatusBadRequest, "BadRequest")
		var e struct{ Error struct{ Message string } }
		must(t, json.Unmarshal(r.Body, &e))
		if !strings.Contains(e.Error.Message, c.want) || !strings.HasPrefix(e.Error.Message, "1:") {
			t.Errorf("%s: message %q, want one naming %s at line 1:col", c.query, e.Error.Message, c.want)
		}
	}
	r := w.SendJSON(t, "POST", "/api/advancedqueries/run", w.mde, `{"query":"DeviceInfo | count"}`)
	if r.Status != http.StatusOK {
		t.Errorf("query in lower case: %d %s", r.Status, r.Body)
	}
	for _, body := range []string{`{}`, `{"Query":""}`, `{"Query":42}`, `[1]`} {
		r := w.SendJSON(t, "POST", "/api/advancedqueries/run", w.mde, body)
		apitest.CheckError(t, r, http.StatusBadRequest, "InvalidRequestBody")
	}
	r = w.run(t, "/api/advancedqueries/run", w.mde, "DeviceInfo")
	apitest.CheckError(t, r, http.StatusBadRequest, "BadRequest")
	var e struct{ Error struct{ Message string } }
	must(t, json.Unmarshal(r.Body, &e))
	if e.Error.Message != "Query execution has exceeded the allowed result size. Optimize your query by limiting the number of results and try again" {
		t.Errorf("result size: %q", e.Error.Message)
	}

	w = newWorld(t, engines[0].open, func(c *apitest.Config) { c.HuntingTimeout = time.Nanosecond })
	r = w.run(t, "/api/advancedqueries/run", w.mde, "DeviceInfo | count")
	apitest.CheckError(t, r, http.StatusBadRequest, "BadRequest")
	if !strings.Contains(string(r.Body), "exceeded the allowed limits") {
		t.Errorf("timeout: %s", r.Body)
	}
}

// TestQuota: a tenant makes 45 calls a minute and 1,500 an hour, every
// app and form together; the 429s carry the service's bodies ("code":
// "429") and Retry-After; another tenant is not counted with it. The run
// time budget refuses the calls after it is spent.
func TestQuota(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	quota := huntapi.NewQuota(ratelimit.NewMemory(huntapi.CallPolicy, clock.now), 0, clock.now)
	w := newWorld(t, engines[0].open, func(c *apitest.Config) { c.HuntingQuota = quota })
	other := w.NewTenant(t, "fabrikam.onmicrosoft.com")
	otherTok := w.Token(t, other, w.NewApp(t, other, "hunter", hunting.PermAdvancedQueryReadAll))
	const q = "AlertInfo | count"
	for i := range 45 {
		tok := w.mde
		if i%2 == 1 {
			tok = w.m365d // another app, another form: the same tenant's quota
		}
		path := map[bool]string{false: "/api/advancedqueries/run", true: "/api/advancedhunting/run"}[i%2 == 1]
		if r := w.run(t, path, tok, q); r.Status != http.StatusOK {
			t.Fatalf("call %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	r := w.run(t, "/api/advancedqueries/run", w.mde, q)
	checkQuota(t, r, "API calls quota exceeded! maximum allowed 45 per 00:01:00")
	if r := w.run(t, "/api/advancedqueries/run", otherTok, q); r.Status != http.StatusOK {
		t.Errorf("another tenant: %d %s", r.Status, r.Body)
	}
	// The hour: 1,500 calls in 34 minutes.
	n := 45
	for n < 1500 {
		clock.advance(time.Minute + time.Second)
		for i := 0; i < 45 && n < 1500; i++ {
			if r := w.run(t, "/api/advancedqueries/run", w.mde, q); r.Status != http.StatusOK {
				t.Fatalf("call %d: %d %s", n+1, r.Status, r.Body)
			}
			n++
		}
	}
	clock.advance(time.Minute + time.Second)
	checkQuota(t, w.run(t, "/api/advancedqueries/run", w.mde, q), "API calls quota exceeded! maximum allowed 1500 per 01:00:00")

	cpu := huntapi.NewQuota(nil, time.Nanosecond, clock.now)
	w = newWorld(t, engines[0].open, func(c *apitest.Config) { c.HuntingQuota = cpu })
	if r := w.run(t, "/api/advancedqueries/run", w.mde, q); r.Status != http.StatusOK {
		t.Fatalf("first call: %d %s", r.Status, r.Body)
	}
	checkQuota(t, w.run(t, "/api/advancedqueries/run", w.mde, q), "CPU quota exceeded! maximum allowed 00:00:00 of query run time per 01:00:00")
	clock.advance(time.Hour + time.Second)
	if r := w.run(t, "/api/advancedqueries/run", w.mde, q); r.Status != http.StatusOK {
		t.Errorf("an hour later: %d %s", r.Status, r.Body)
	}
}

// checkQuota checks a 429 of the hunting quota: the body, its code "429"
// and target the request id, and Retry-After.
func checkQuota(t *testing.T, r apitest.Response, message string) {
	t.Helper()
	id := r.Header.Get("request-id")
	want := `{"error":{"code":"429","message":"` + message + `","target":"` + id + `"}}`
	if r.Status != http.StatusTooManyRequests || string(r.Body) != want || r.Header.Get("Retry-After") == "" || id == "" {
		t.Errorf("quota: %d (Retry-After %q)\n got %s\nwant %s", r.Status, r.Header.Get("Retry-After"), r.Body, want)
	}
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestClientGone: a query whose client goes away stops at once (its
// access log line says 499, after well under the minute the query needs).
func TestClientGone(t *testing.T) {
	var logs apitest.LockedBuffer
	w := newWorld(t, engines[0].open, func(c *apitest.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	base := w.now.Add(-24 * time.Hour)
	ls := make([]openatp.Logon, 40_000)
	for i := range ls {
		ls[i] = openatp.Logon{MachineID: machine1, AccountName: "batch" + strconv.Itoa(i%40), AccountDomain: "contoso", LogonType: "Batch",
			Timestamp: base.Add(time.Duration(i) * time.Second)}
	}
	w.Load(t, w.Tenant, nil, ls)
	// 40,000 × 1,000 matches: a minute of work, in memory (startswith) and
	// in the store (==, which SQLite runs as 40,000 scans of 40,000 rows).
	line := regexp.MustCompile(`path=/api/advancedqueries/run .*status=499 .*duration=(\S+)`)
	for i, query := range []string{
		"DeviceLogonEvents | where AccountName startswith 'batch' | join kind=inner (DeviceLogonEvents | where AccountName startswith 'batch') on AccountName | count",
		"DeviceLogonEvents | where LogonType == 'Batch' | join kind=inner (DeviceLogonEvents | where LogonType == 'Batch') on AccountName | count",
	} {
		body := `{"Query":"` + query + `"}`
		before := huntapi.Pushed()
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		req, err := http.NewRequestWithContext(ctx, "POST", w.Srv.URL+"/api/advancedqueries/run", strings.NewReader(body))
		must(t, err)
		req.Header.Set("Authorization", "Bearer "+w.mde)
		req.Header.Set("Content-Type", "application/json")
		if res, err := w.Srv.Client().Do(req); err == nil {
			res.Body.Close()
			t.Fatalf("%s: answered %d before the client went away", query, res.StatusCode)
		}
		cancel()
		var m [][]string
		apitest.WaitFor(t, "the query's access log line", func() bool {
			m = line.FindAllStringSubmatch(logs.String(), -1)
			return len(m) > i
		})
		if d, err := time.ParseDuration(m[i][1]); err != nil || d > 10*time.Second {
			t.Errorf("%s: ran %s (%v), want it stopped when its client went away", query, m[i][1], err)
		}
		if pushed := huntapi.Pushed() > before; pushed != (i == 1) {
			t.Errorf("%s: run by the store %v", query, pushed)
		}
	}
}

// TestPushedFilters: a query's leading where on Timestamp and DeviceId
// reads only those rows of the store or read model, and answers as the
// same query that reads the whole table (take first keeps the where from
// being pushed).
func TestPushedFilters(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := newWorld(t, e.open, nil)
			for _, c := range []struct{ query, want string }{
				{"DeviceLogonEvents | where Timestamp > ago(150m) and Timestamp <= ago(90m) | project AccountName, LogonType",
					`[{"AccountName":"ana","LogonType":"Network"},{"AccountName":"bob","LogonType":"RemoteInteractive"}]`},
				{"DeviceLogonEvents | where DeviceId in ('" + machine1 + "', '" + vault + "') | where Timestamp between (ago(3h) .. now()) | summarize count() by AccountName | order by AccountName asc",
					`[{"AccountName":"ana","count_":1},{"AccountName":"carol","count_":1},{"AccountName":"user1","count_":1},{"AccountName":"vaultonly","count_":1}]`},
				{"DeviceLogonEvents | where DeviceId == '" + strings.ToUpper(machine1) + "' | count", `[{"Count":0}]`},
				{"DeviceFileEvents | where DeviceId == '" + vault + "' and Timestamp < ago(1h) | project FileName", `[{"FileName":"vault.dll"}]`},
				{"DeviceFileEvents | where Timestamp > ago(270m) | project FileName", `[{"FileName":"vault.dll"}]`},
				{"DeviceNetworkEvents | where DeviceId in ('" + machine2 + "', 'nosuch') | project RemoteIP", `[{"RemoteIP":"203.0.113.5"}]`},
				{"DeviceNetworkEvents | where DeviceId == 'a' and DeviceId == 'b' | count", `[{"Count":0}]`},
				{"DeviceInfo | where DeviceId in ('" + vault + "', '" + machine1 + "', 'mymachine2.contoso.com') | project DeviceName",
					`[{"DeviceName":"mymachine1.contoso.com"},{"DeviceName":"vault.contoso.com"}]`},
				{"DeviceInfo | where DeviceId == '" + machine2 + "' and Timestamp > ago(2h) | project DeviceName", `[{"DeviceName":"mymachine2.contoso.com"}]`},
				// Groups whose keys grow with time: in the order of their
				// first rows, without the store computing it.
				{"DeviceLogonEvents | where AccountName in ('ana', 'bob', 'carol') | summarize count() by bin(Timestamp, 1m), H = bin(Timestamp, 1h)",
					bins(w.now, time.Minute, 3*time.Hour, 2*time.Hour, 90*time.Minute, time.Hour)},
			} {
				if got := w.results(t, w.mde, c.query); got != c.want {
					t.Errorf("%s:\n got %s\nwant %s", c.query, got, c.want)
				}
				whole := strings.Replace(c.query, " | where", " | take 1000000 | where", 1)
				if got := w.results(t, w.mde, whole); got != c.want {
					t.Errorf("%s:\n got %s\nwant %s", whole, got, c.want)
				}
			}
			// A delegated caller learns nothing more of a machine outside
			// its groups by naming it.
			q := "DeviceInfo | where DeviceId == '" + vault + "' | count"
			if got := w.results(t, w.ana, q); got != `[{"Count":0}]` {
				t.Errorf("%s as ana: %s", q, got)
			}
			q = "DeviceLogonEvents | where DeviceId == '" + vault + "' | count"
			if got := w.results(t, w.ana, q); got != `[{"Count":0}]` {
				t.Errorf("%s as ana: %s", q, got)
			}
		})
	}
}

// TestDeletedMachine: the logon events of a deleted machine stay in the
// store until the retention removes them, and no table shows them, on
// both engines, pushed to the store or not, for an application and a
// delegated caller (before a deletion the store runs an application's
// query without a condition on the machines).
func TestDeletedMachine(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := newWorld(t, e.open, nil)
			queries := []string{
				"DeviceLogonEvents | summarize count() by AccountName | order by AccountName asc",
				"DeviceLogonEvents | summarize count() by AccountName | top 10 by count_",
				"DeviceLogonEvents | summarize dcount(AccountName) by bin(Timestamp, 3650d) | project dcount_AccountName",
			}
			check := func(token string, wants ...string) {
				t.Helper()
				for i, q := range queries {
					for _, q := range []string{q, strings.Replace(q, "DeviceLogonEvents |", "DeviceLogonEvents | take 1000000 |", 1)} {
						if got := w.results(t, token, q); got != wants[i] {
							t.Errorf("%s:\n got %s\nwant %s", q, got, wants[i])
						}
					}
				}
			}
			before := `[{"AccountName":"ana","count_":2},{"AccountName":"bob","count_":1},{"AccountName":"carol","count_":1},{"AccountName":"user1","count_":1},{"AccountName":"vaultonly","count_":1}]`
			check(w.mde, before, `[{"AccountName":"ana","count_":2},{"AccountName":"bob","count_":1},{"AccountName":"carol","count_":1},{"AccountName":"user1","count_":1},{"AccountName":"vaultonly","count_":1}]`, `[{"dcount_AccountName":5}]`)
			must(t, w.Store.DeleteMachine(context.Background(), w.Tenant.ID, machine2))
			after := `[{"AccountName":"ana","count_":2},{"AccountName":"carol","count_":1},{"AccountName":"user1","count_":1},{"AccountName":"vaultonly","count_":1}]`
			check(w.mde, after, after, `[{"dcount_AccountName":4}]`)
			check(w.admin, after, after, `[{"dcount_AccountName":4}]`)
			check(w.ana, `[{"AccountName":"ana","count_":2}]`, `[{"AccountName":"ana","count_":2}]`, `[{"dcount_AccountName":1}]`)
		})
	}
}

// TestChangedReadModel runs the in-memory tables over a view whose slots
// are no longer 0..n-1: a machine deleted, an alert updated (a new slot,
// the old one dead). DeviceInfo and AlertInfo show the live ones only.
func TestChangedReadModel(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := newWorld(t, e.open, nil)
			ctx := context.Background()
			devices := "DeviceInfo | project DeviceId | order by DeviceId asc"
			before := w.results(t, w.mde, devices)
			if !strings.Contains(before, machine2) {
				t.Fatalf("%s: %s, want %s among them", devices, before, machine2)
			}
			must(t, w.Store.DeleteMachine(ctx, w.Tenant.ID, machine2))
			want := strings.Replace(strings.Replace(before, `{"DeviceId":"`+machine2+`"},`, "", 1), `,{"DeviceId":"`+machine2+`"}`, "", 1)
			if got := w.results(t, w.mde, devices); got != want || strings.Contains(got, machine2) {
				t.Errorf("after deleting %s: %s\nwant %s", machine2, got, want)
			}
			_, err := w.Store.UpdateAlerts(ctx, w.Tenant.ID, []string{"da1"}, func(a *openatp.Alert, stamp time.Time) error {
				a.Title = openatp.Ptr("Renamed")
				a.LastUpdateTime = &stamp
				return nil
			})
			must(t, err)
			alerts := "AlertInfo | project AlertId, Title | order by AlertId asc"
			if got, want := w.results(t, w.mde, alerts), `[{"AlertId":"da-vault","Title":"Vault alert"},{"AlertId":"da1","Title":"Renamed"}]`; got != want {
				t.Errorf("%s after an update:\n got %s\nwant %s", alerts, got, want)
			}
		})
	}
}

// bins is the answer of a count by bin(Timestamp, d) and by the hour of
// the rows at now minus each of ago, one a bin.
func bins(now time.Time, d time.Duration, ago ...time.Duration) string {
	var parts []string
	for _, a := range ago {
		t := now.Add(-a)
		parts = append(parts, `{"Timestamp":"`+ts(t.Truncate(d))+`","H":"`+ts(t.Truncate(time.Hour))+`","count_":1}`)
	}
	return "[" + strings.Join(parts, ",") + "]"
}
