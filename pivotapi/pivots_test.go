package pivotapi_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
	"github.com/openatp/openatp/wire"
)

const (
	machine1 = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
	machine2 = "7292e4b8cb74ff1cc3d8a495eb29dc8858b732f7"
	vault    = apitest.VaultMachine
)

var (
	sha1   = strings.Repeat("a1", 20)
	sha256 = strings.Repeat("b2", 32)
	md5    = strings.Repeat("c3", 16)
)

// world is the RBAC fixture with a file seen on machine1 and machine2
// (The-A-Team) and on the vault machine (Vault), an IP address and a
// domain reached from machine1 and the vault, and an alert naming the
// three on machine1 and on the vault; the times of the events.
func world(t *testing.T) (f *apitest.Fixture, t1, t2, t3 time.Time) {
	f = apitest.RBACFixture(t, false)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	t1, t2, t3 = now.Add(-50*24*time.Hour), now.Add(-48*time.Hour), now.Add(-time.Hour)
	size := int64(4096)
	fe := []openatp.FileEvent{
		{Timestamp: t1, DeviceId: machine1, ActionType: "FileCreated", FileName: "old.exe", SHA1: sha1, SHA256: sha256, MD5: md5, FileSize: &size},
		{Timestamp: t2, DeviceId: machine2, ActionType: "ProcessCreated", FileName: "evil.exe", SHA1: sha1, SHA256: sha256, Signer: "Contoso Ltd", FileSize: &size},
		{Timestamp: t3, DeviceId: vault, ActionType: "FileCreated", FileName: "vault.dll", SHA1: sha1, SHA256: sha256, Signer: "Vault Inc"},
	}
	ne := []openatp.NetworkEvent{
		{Timestamp: t2, DeviceId: machine1, ActionType: "ConnectionSuccess", RemoteIP: "203.0.113.5", RemoteUrl: "https://WWW.Example.com/x"},
		{Timestamp: t3, DeviceId: vault, ActionType: "ConnectionSuccess", RemoteIP: "203.0.113.5", RemoteUrl: "www.example.com"},
		{Timestamp: t3, DeviceId: vault, ActionType: "ConnectionSuccess", RemoteIP: "198.51.100.9", RemoteUrl: "vault.example.org"},
	}
	for i := range fe {
		if err := fe[i].Normalize(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range ne {
		if err := ne[i].Normalize(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Store.AddFileEvents(ctx, f.Tenant.ID, fe); err != nil {
		t.Fatal(err)
	}
	if err := f.Store.AddNetworkEvents(ctx, f.Tenant.ID, ne); err != nil {
		t.Fatal(err)
	}
	p := openatp.Ptr[string]
	ev := []openatp.Evidence{
		{EntityType: p("File"), SHA1: p(strings.ToUpper(sha1)), SHA256: p(sha256), FileName: p("evil.exe")},
		{EntityType: p("Ip"), IPAddress: p("203.0.113.5")},
		{EntityType: p("Url"), URL: p("http://www.example.com/landing")},
		{EntityType: p("Ip"), IPAddress: p("203.0.113.5")},
		{EntityType: p("File"), SHA256: p(strings.Repeat("d4", 32))}, // seen by no event
	}
	if err := f.Store.UpsertAlerts(ctx, f.Tenant.ID, []openatp.Alert{
		{ID: "al-1", Severity: "High", Status: "New", MachineID: machine1, Title: p("seen"), LastUpdateTime: &t2, Evidence: ev},
		{ID: "al-vault", Severity: "High", Status: "New", MachineID: vault, Title: p("vault"), LastUpdateTime: &t3, Evidence: ev},
	}); err != nil {
		t.Fatal(err)
	}
	return f, t1, t2, t3
}

func ts(t time.Time) string { return `"` + t.Format(wire.TimeLayout) + `"` }

// check asserts status and exact body (hosts normalized).
func check(t *testing.T, f *apitest.Fixture, r apitest.Response, status int, want string) {
	t.Helper()
	if got := string(f.Normalized(t, r)); r.Status != status || got != want {
		t.Errorf("got %d %s\nwant %d %s", r.Status, got, status, want)
	}
}

// entity strips a single entity's @odata.context, leaving its object.
func entity(t *testing.T, f *apitest.Fixture, path, tok string) string {
	t.Helper()
	r := f.Do(t, "GET", path, tok)
	if r.Status != 200 {
		t.Fatalf("%s: %d %s", path, r.Status, r.Body)
	}
	_, rest, _ := bytes.Cut(r.Body, []byte(`$entity",`))
	return "{" + string(rest)
}

// An application sees every machine's events and alerts: the File
// entity, its machines (as /api/machines writes them), alerts (as
// /api/alerts/{id} writes them), stats over the look-back; the IP and
// domain pivots; the alert's files, IPs and domains; under /api/v1.0 too.
func TestPivotsApplication(t *testing.T) {
	f, t1, t2, t3 := world(t)
	tok := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "soar", openatp.PermFileReadAll, openatp.PermIPReadAll, openatp.PermURLReadAll,
		openatp.PermMachineReadAll, openatp.PermAlertReadAll))
	file := `{"sha1":"` + sha1 + `","sha256":"` + sha256 + `","md5":"` + md5 + `","globalPrevalence":3,"globalFirstObserved":` + ts(t1) +
		`,"globalLastObserved":` + ts(t3) + `,"size":null,"fileType":null,"isPeFile":true,"filePublisher":null,"fileProductName":null,` +
		`"signer":"Vault Inc","issuer":null,"signerHash":null,"isValidCertificate":null,"determinationType":"Unknown","determinationValue":""}`
	for _, base := range []string{"/api", "/api/v1.0"} {
		for _, h := range []string{sha1, strings.ToUpper(sha256)} {
			check(t, f, f.Do(t, "GET", base+"/files/"+h, tok), 200,
				`{"@odata.context":"http://<host>/api/$metadata#Files/$entity",`+file[1:])
		}
	}
	m := func(ids ...string) string {
		var b []string
		for _, id := range ids {
			b = append(b, entity(t, f, "/api/machines/"+id, tok))
		}
		return `{"@odata.context":"http://<host>/api/$metadata#Machines","value":[` + strings.Join(b, ",") + `]}`
	}
	a := func(ids ...string) string {
		var b []string
		for _, id := range ids {
			b = append(b, entity(t, f, "/api/alerts/"+id, tok))
		}
		return `{"@odata.context":"http://<host>/api/$metadata#Alerts","value":[` + strings.Join(b, ",") + `]}`
	}
	check(t, f, f.Do(t, "GET", "/api/files/"+sha1+"/machines", tok), 200, m(machine1, vault, machine2))
	check(t, f, f.Do(t, "GET", "/api/files/"+sha256+"/alerts", tok), 200, a("al-1", "al-vault"))
	check(t, f, f.Do(t, "GET", "/api/files/"+sha256+"/stats", tok), 200,
		`{"@odata.context":"http://<host>/api/$metadata#microsoft.windowsDefenderATP.api.InOrgFileStats","sha1":"`+sha1+
			`","orgPrevalence":"2","orgFirstSeen":`+ts(t2)+`,"orgLastSeen":`+ts(t3)+`,"globalPrevalence":"2","globalFirstObserved":`+ts(t2)+
			`,"globalLastObserved":`+ts(t3)+`,"topFileNames":["evil.exe","vault.dll"]}`)
	check(t, f, f.Do(t, "GET", "/api/files/"+sha1+"/stats?lookBackHours=2", tok), 200,
		`{"@odata.context":"http://<host>/api/$metadata#microsoft.windowsDefenderATP.api.InOrgFileStats","sha1":"`+sha1+
			`","orgPrevalence":"1","orgFirstSeen":`+ts(t3)+`,"orgLastSeen":`+ts(t3)+`,"globalPrevalence":"1","globalFirstObserved":`+ts(t3)+
			`,"globalLastObserved":`+ts(t3)+`,"topFileNames":["vault.dll"]}`)

	check(t, f, f.Do(t, "GET", "/api/ips/203.0.113.5/machines", tok), 200, m(machine1, vault))
	check(t, f, f.Do(t, "GET", "/api/ips/203.0.113.5/alerts", tok), 200, a("al-1", "al-vault"))
	check(t, f, f.Do(t, "GET", "/api/ips/198.51.100.9/alerts", tok), 200, `{"@odata.context":"http://<host>/api/$metadata#Alerts","value":[]}`)
	check(t, f, f.Do(t, "GET", "/api/ips/203.0.113.5/stats", tok), 200,
		`{"@odata.context":"http://<host>/api/$metadata#microsoft.windowsDefenderATP.api.InOrgIPStats","ipAddress":"203.0.113.5",`+
			`"orgPrevalence":"2","orgFirstSeen":`+ts(t2)+`,"orgLastSeen":`+ts(t3)+`}`)
	check(t, f, f.Do(t, "GET", "/api/domains/WWW.example.com/machines", tok), 200, m(machine1, vault))
	check(t, f, f.Do(t, "GET", "/api/domains/www.example.com/alerts", tok), 200, a("al-1", "al-vault"))
	check(t, f, f.Do(t, "GET", "/api/v1.0/domains/www.example.com/stats", tok), 200,
		`{"@odata.context":"http://<host>/api/$metadata#microsoft.windowsDefenderATP.api.InOrgDomainStats","host":"www.example.com",`+
			`"orgPrevalence":"2","orgFirstSeen":`+ts(t2)+`,"orgLastSeen":`+ts(t3)+`}`)

	// A file known only from evidence: its hashes, seen nowhere.
	only := `{"sha1":null,"sha256":"` + strings.Repeat("d4", 32) + `","md5":null,"globalPrevalence":0,"globalFirstObserved":null,` +
		`"globalLastObserved":null,"size":null,"fileType":null,"isPeFile":false,"filePublisher":null,"fileProductName":null,` +
		`"signer":null,"issuer":null,"signerHash":null,"isValidCertificate":null,"determinationType":"Unknown","determinationValue":""}`
	check(t, f, f.Do(t, "GET", "/api/files/"+strings.Repeat("D4", 32)+"/machines", tok), 200, `{"@odata.context":"http://<host>/api/$metadata#Machines","value":[]}`)
	check(t, f, f.Do(t, "GET", "/api/alerts/al-1/files", tok), 200, `{"@odata.context":"http://<host>/api/$metadata#Files","value":[`+file+`,`+only+`]}`)
	check(t, f, f.Do(t, "GET", "/api/alerts/al-1/ips", tok), 200, `{"@odata.context":"http://<host>/api/$metadata#Ips","value":[{"id":"203.0.113.5"}]}`)
	check(t, f, f.Do(t, "GET", "/api/v1.0/alerts/al-1/domains", tok), 200,
		`{"@odata.context":"http://<host>/api/$metadata#Domains","value":[{"host":"www.example.com"}]}`)
}

// A delegated caller of The-A-Team: the vault machine's events and alert
// count nowhere; a value seen only there is unknown; an alert there is
// unknown.
func TestPivotsDelegatedScope(t *testing.T) {
	f, t1, t2, _ := world(t)
	dapp := f.DelegatedApp(t, f.Tenant, openatp.PermFileReadAll, openatp.PermIPReadAll, openatp.PermURLReadAll,
		openatp.PermMachineRead, openatp.PermAlertRead)
	ana := f.Delegated(t, f.Tenant, dapp, "ana@contoso.com", "g-ana")
	file := `{"sha1":"` + sha1 + `","sha256":"` + sha256 + `","md5":"` + md5 + `","globalPrevalence":2,"globalFirstObserved":` + ts(t1) +
		`,"globalLastObserved":` + ts(t2) + `,"size":4096,"fileType":null,"isPeFile":true,"filePublisher":null,"fileProductName":null,` +
		`"signer":"Contoso Ltd","issuer":null,"signerHash":null,"isValidCertificate":null,"determinationType":"Unknown","determinationValue":""}`
	check(t, f, f.Do(t, "GET", "/api/files/"+sha1, ana), 200, `{"@odata.context":"http://<host>/api/$metadata#Files/$entity",`+file[1:])
	body := func(path string) string {
		r := f.Do(t, "GET", path, ana)
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", path, r.Status, r.Body)
		}
		return string(r.Body)
	}
	for _, path := range []string{"/api/files/" + sha1 + "/machines", "/api/files/" + sha1 + "/alerts", "/api/ips/203.0.113.5/machines",
		"/api/ips/203.0.113.5/alerts", "/api/domains/www.example.com/machines", "/api/domains/www.example.com/alerts"} {
		if b := body(path); strings.Contains(b, vault) || strings.Contains(b, "al-vault") || !strings.Contains(b, machine1) {
			t.Errorf("%s as ana: %s", path, b)
		}
	}
	check(t, f, f.Do(t, "GET", "/api/ips/203.0.113.5/stats", ana), 200,
		`{"@odata.context":"http://<host>/api/$metadata#microsoft.windowsDefenderATP.api.InOrgIPStats","ipAddress":"203.0.113.5",`+
			`"orgPrevalence":"1","orgFirstSeen":`+ts(t2)+`,"orgLastSeen":`+ts(t2)+`}`)
	// Seen only on the vault: as unknown as a value never seen.
	for _, c := range [][2]string{
		{"/api/ips/198.51.100.9/machines", "/api/ips/192.0.2.1/machines"},
		{"/api/domains/vault.example.org/stats", "/api/domains/nowhere.example.org/stats"},
		{"/api/alerts/al-vault/files", "/api/alerts/nosuch/files"},
	} {
		hidden, missing := f.Do(t, "GET", c[0], ana), f.Do(t, "GET", c[1], ana)
		if hidden.Status != 404 || missing.Status != 404 {
			t.Errorf("%s: %d %s; %s: %d %s", c[0], hidden.Status, hidden.Body, c[1], missing.Status, missing.Body)
		}
	}
	check(t, f, f.Do(t, "GET", "/api/ips/198.51.100.9/machines", ana), 404,
		`{"error":{"code":"ResourceNotFound","message":"IP 198.51.100.9 was not found","target":"<request-id>"}}`)
}

// Malformed values are 400 naming them; unknown ones 404; the
// documented permissions are required; other methods are 405.
func TestPivotsBadInput(t *testing.T) {
	f, _, _, _ := world(t)
	tok := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "soar", openatp.PermFileReadAll, openatp.PermIPReadAll, openatp.PermURLReadAll))
	check(t, f, f.Do(t, "GET", "/api/files/xyz", tok), 400,
		`{"error":{"code":"InvalidInput","message":"\"xyz\" is not a SHA-1 or SHA-256 (40 or 64 hexadecimal characters)","target":"<request-id>"}}`)
	check(t, f, f.Do(t, "GET", "/api/ips/300.1.1.1/stats", tok), 400,
		`{"error":{"code":"InvalidInput","message":"\"300.1.1.1\" is not an IPv4 or IPv6 address","target":"<request-id>"}}`)
	check(t, f, f.Do(t, "GET", "/api/domains/bad_domain!/stats", tok), 400,
		`{"error":{"code":"InvalidInput","message":"\"bad_domain!\" is not a domain name","target":"<request-id>"}}`)
	check(t, f, f.Do(t, "GET", "/api/files/"+strings.Repeat("0", 40), tok), 404,
		`{"error":{"code":"ResourceNotFound","message":"File `+strings.Repeat("0", 40)+` was not found","target":"<request-id>"}}`)
	check(t, f, f.Do(t, "GET", "/api/files/"+sha1+"/stats?lookBackHours=0", tok), 400,
		`{"error":{"code":"InvalidInput","message":"lookBackHours: \"0\" is not a number of hours from 1 to 4320","target":"<request-id>"}}`)
	if r := f.Do(t, "GET", "/api/files/"+sha1+"?$top=1", tok); r.Status != 400 {
		t.Errorf("$top on the File entity: %d %s", r.Status, r.Body)
	}
	// Machine and alert pivots need Machine and Alert permissions.
	for _, path := range []string{"/api/files/" + sha1 + "/machines", "/api/ips/203.0.113.5/alerts"} {
		if r := f.Do(t, "GET", path, tok); r.Status != 403 {
			t.Errorf("%s without the permission: %d %s", path, r.Status, r.Body)
		}
	}
	reader := f.Token(t, f.Tenant, f.App) // Machine.Read.All only
	for _, path := range []string{"/api/files/" + sha1, "/api/ips/203.0.113.5/stats", "/api/domains/www.example.com/stats", "/api/alerts/al-1/ips"} {
		if r := f.Do(t, "GET", path, reader); r.Status != 403 {
			t.Errorf("%s without the permission: %d %s", path, r.Status, r.Body)
		}
	}
	// A delegated caller without View Data.
	dapp := f.DelegatedApp(t, f.Tenant, openatp.PermFileReadAll)
	noview := f.Delegated(t, f.Tenant, dapp, "rob@contoso.com", "g-noview")
	if r := f.Do(t, "GET", "/api/files/"+sha1, noview); r.Status != 403 {
		t.Errorf("without View Data: %d %s", r.Status, r.Body)
	}
	if r := f.SendJSON(t, "POST", "/api/files/"+sha1+"/stats", tok, "{}"); r.Status != 405 {
		t.Errorf("POST stats: %d %s", r.Status, r.Body)
	}
}

// The alert pivots read the read model's evidence index, which follows
// the alerts written after it was built: a new alert's values find it, an
// alert whose evidence changed is found by its new values only, a value
// only in evidence is known by it (with the hashes the evidence gives),
// a delegated caller does not see an alert outside its groups by it, and
// another tenant's alert with the same value counts nowhere.
func TestPivotAlertsFollowChanges(t *testing.T) {
	f, _, t2, t3 := world(t)
	ctx := context.Background()
	tok := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "soar", openatp.PermFileReadAll, openatp.PermIPReadAll, openatp.PermURLReadAll,
		openatp.PermAlertReadAll))
	ana := f.Delegated(t, f.Tenant, f.DelegatedApp(t, f.Tenant, openatp.PermAlertRead, openatp.PermIPReadAll), "ana@contoso.com", "g-ana")
	a := func(ids ...string) string {
		var b []string
		for _, id := range ids {
			b = append(b, entity(t, f, "/api/alerts/"+id, tok))
		}
		return `{"@odata.context":"http://<host>/api/$metadata#Alerts","value":[` + strings.Join(b, ",") + `]}`
	}
	only := strings.Repeat("d4", 32)
	check(t, f, f.Do(t, "GET", "/api/files/"+only+"/alerts", tok), 200, a("al-1", "al-vault"))
	if r := f.Do(t, "GET", "/api/files/"+only, tok); r.Status != 200 || !strings.Contains(string(r.Body), `"sha1":null,"sha256":"`+only+`"`) {
		t.Errorf("a file known from evidence only: %d %s", r.Status, r.Body)
	}
	// The view is built; alerts written since.
	p := openatp.Ptr[string]
	upsert := func(tenant, id, machine, ip string, at time.Time) {
		t.Helper()
		err := f.Store.UpsertAlerts(ctx, tenant, []openatp.Alert{{ID: id, Severity: "Low", Status: "New", MachineID: machine, Title: p("later"),
			LastUpdateTime: &at, Evidence: []openatp.Evidence{{EntityType: p("Ip"), IPAddress: p(ip)}, {EntityType: p("Url"), URL: p("New.Example.NET.")}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	upsert(f.Tenant.ID, "al-2", machine2, "192.0.2.7", t3)
	upsert(f.Tenant.ID, "al-v2", vault, "::ffff:192.0.2.7", t2)
	check(t, f, f.Do(t, "GET", "/api/ips/192.0.2.7/alerts", tok), 200, a("al-v2", "al-2"))
	check(t, f, f.Do(t, "GET", "/api/domains/new.example.net/alerts", tok), 200, a("al-v2", "al-2"))
	check(t, f, f.Do(t, "GET", "/api/ips/192.0.2.7/alerts", ana), 200, a("al-2"))
	upsert(f.Tenant.ID, "al-2", machine2, "192.0.2.8", t3.Add(time.Minute))
	check(t, f, f.Do(t, "GET", "/api/ips/192.0.2.8/alerts", tok), 200, a("al-2"))
	check(t, f, f.Do(t, "GET", "/api/ips/192.0.2.7/alerts", tok), 200, a("al-v2"))
	check(t, f, f.Do(t, "GET", "/api/ips/192.0.2.7/alerts", ana), 404,
		`{"error":{"code":"ResourceNotFound","message":"IP 192.0.2.7 was not found","target":"<request-id>"}}`)

	other := f.NewTenant(t, "other.example")
	f.Load(t, other, []openatp.Machine{{ID: machine1, MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}}}, nil)
	upsert(other.ID, "al-other", machine1, "192.0.2.9", t3)
	check(t, f, f.Do(t, "GET", "/api/ips/192.0.2.9/alerts", tok), 404,
		`{"error":{"code":"ResourceNotFound","message":"IP 192.0.2.9 was not found","target":"<request-id>"}}`)
	otherTok := f.Token(t, other, f.NewApp(t, other, "soar", openatp.PermAlertReadAll))
	if r := f.Do(t, "GET", "/api/ips/192.0.2.9/alerts", otherTok); r.Status != 200 || !strings.Contains(string(r.Body), `"id":"al-other"`) {
		t.Errorf("the other tenant's pivot: %d %s", r.Status, r.Body)
	}
}

// TestPivotMachinesAfterWrite: the machines of a value asked twice, with
// an event of another machine stored between the two, are those of the
// store at each request (the second is not the first one's answer kept).
func TestPivotMachinesAfterWrite(t *testing.T) {
	f, _, _, t3 := world(t)
	tok := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "soar", openatp.PermMachineReadAll))
	m := func(ids ...string) string {
		var b []string
		for _, id := range ids {
			b = append(b, entity(t, f, "/api/machines/"+id, tok))
		}
		return `{"@odata.context":"http://<host>/api/$metadata#Machines","value":[` + strings.Join(b, ",") + `]}`
	}
	for range 2 {
		check(t, f, f.Do(t, "GET", "/api/ips/198.51.100.9/machines", tok), 200, m(vault))
	}
	ne := []openatp.NetworkEvent{{Timestamp: t3, DeviceId: machine2, ActionType: "ConnectionSuccess", RemoteIP: "198.51.100.9"}}
	if err := ne[0].Normalize(); err != nil {
		t.Fatal(err)
	}
	if err := f.Store.AddNetworkEvents(context.Background(), f.Tenant.ID, ne); err != nil {
		t.Fatal(err)
	}
	check(t, f, f.Do(t, "GET", "/api/ips/198.51.100.9/machines", tok), 200, m(vault, machine2)) // by id
}

// hits reads the answer cache's hits from /metrics.
func hits(t *testing.T, f *apitest.Fixture) string {
	t.Helper()
	for l := range strings.SplitSeq(string(f.Do(t, "GET", "/metrics", "").Body), "\n") {
		if v, ok := strings.CutPrefix(l, "openatp_answer_cache_hits_total "); ok {
			return v
		}
	}
	t.Fatal("/metrics has no openatp_answer_cache_hits_total")
	return ""
}

// The machines of a value asked again are the first answer's bytes, kept
// (internal/answercache) for the callers that see the same machines: a
// delegated user of The-A-Team never gets an administrator's answer
// naming the vault, nor one tenant another's.
func TestPivotMachinesKept(t *testing.T) {
	f, _, _, t3 := world(t)
	tok := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "soar", openatp.PermMachineReadAll))
	dapp := f.DelegatedApp(t, f.Tenant, openatp.PermMachineRead)
	admin := f.Delegated(t, f.Tenant, dapp, "adm@contoso.com", "g-admin")
	ana := f.Delegated(t, f.Tenant, dapp, "ana@contoso.com", "g-ana")
	other := f.NewTenant(t, "other.example")
	f.Load(t, other, []openatp.Machine{{ID: machine2, MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}}}, nil)
	ne := []openatp.NetworkEvent{{Timestamp: t3, DeviceId: machine2, ActionType: "ConnectionSuccess", RemoteIP: "203.0.113.5"}}
	if err := ne[0].Normalize(); err != nil {
		t.Fatal(err)
	}
	if err := f.Store.AddNetworkEvents(context.Background(), other.ID, ne); err != nil {
		t.Fatal(err)
	}
	otherTok := f.Token(t, other, f.NewApp(t, other, "soar", openatp.PermMachineReadAll))
	const path = "/api/ips/203.0.113.5/machines"
	for _, c := range []struct {
		who, tok string
		see      []string // machines named
		hide     []string
	}{
		{"the application", tok, []string{machine1, vault}, []string{machine2}},
		{"the administrator", admin, []string{machine1, vault}, []string{machine2}},
		{"ana", ana, []string{machine1}, []string{vault, machine2}},
		{"the other tenant", otherTok, []string{machine2}, []string{machine1, vault}},
	} {
		first := f.Do(t, "GET", path, c.tok)
		before := hits(t, f)
		second := f.Do(t, "GET", path, c.tok)
		if after := hits(t, f); after == before {
			t.Errorf("%s: the second request was not a hit (%s hits)", c.who, after)
		}
		if first.Status != 200 || !bytes.Equal(first.Body, second.Body) || first.Header.Get("Content-Length") != second.Header.Get("Content-Length") {
			t.Errorf("%s: %d %s, then %d %s", c.who, first.Status, first.Body, second.Status, second.Body)
		}
		for _, m := range c.see {
			if !strings.Contains(string(second.Body), `"id":"`+m+`"`) {
				t.Errorf("%s: %s not named: %s", c.who, m, second.Body)
			}
		}
		for _, m := range c.hide {
			if strings.Contains(string(second.Body), m) {
				t.Errorf("%s: %s named: %s", c.who, m, second.Body)
			}
		}
	}
}
