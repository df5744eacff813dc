package demo_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/demo"
)

// collect runs Generate and keeps everything.
func collect(t testing.TB, o demo.Options) ([]openatp.Machine, []openatp.Logon) {
	t.Helper()
	var ms []openatp.Machine
	var ls []openatp.Logon
	err := demo.Generate(o, demo.Funcs{
		OnMachine: func(m openatp.Machine) error {
			if len(ls) > 0 {
				return fmt.Errorf("machine %s after a logon", m.ID)
			}
			ms = append(ms, m)
			return nil
		},
		OnLogon: func(l openatp.Logon) error { ls = append(ls, l); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return ms, ls
}

// digest hashes the JSON of every record Generate emits.
func digest(t *testing.T, o demo.Options) string {
	t.Helper()
	h := sha256.New()
	enc := json.NewEncoder(h)
	write := func(v any) error { return enc.Encode(v) }
	err := demo.Generate(o, demo.Funcs{
		OnMachine: func(m openatp.Machine) error { return write(m) },
		OnLogon:   func(l openatp.Logon) error { return write(l) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return sum(h)
}

func sum(h hash.Hash) string { return fmt.Sprintf("%x", h.Sum(nil)) }

func TestDeterministic(t *testing.T) {
	o := demo.Options{Seed: 42, Machines: 3000, Users: 2000}
	a, b := digest(t, o), digest(t, o)
	if a != b {
		t.Fatalf("same options, different output: %s vs %s", a, b)
	}
	o.Seed = 43
	if c := digest(t, o); c == a {
		t.Fatal("seeds 42 and 43 give the same output")
	}
	// The zero Options are the demo tenant and are stable too.
	if d0, d1 := digest(t, demo.Options{}), digest(t, demo.Options{}); d0 != d1 {
		t.Fatal("demo tenant not deterministic")
	}
}

func TestRecordsNormalize(t *testing.T) {
	o := demo.Options{Seed: 7, Machines: 5000, Users: 4000}
	ms, ls := collect(t, o)
	if len(ms) != o.Machines {
		t.Fatalf("%d machines, want %d", len(ms), o.Machines)
	}
	seen := map[string]*openatp.Machine{}
	for i := range ms {
		m := ms[i]
		n := m
		if err := n.Normalize(); err != nil {
			t.Fatalf("machine %d: %v", i, err)
		}
		if !reflect.DeepEqual(m, n) {
			t.Fatalf("machine %d changes when normalized:\n%+v\n%+v", i, m, n)
		}
		if seen[m.ID] != nil {
			t.Fatalf("machine id %s twice", m.ID)
		}
		seen[m.ID] = &ms[i]
		if m.LastSeen.After(demo.DefaultStart) || m.FirstSeen.After(*m.LastSeen) {
			t.Fatalf("machine %d: firstSeen %v, lastSeen %v", i, m.FirstSeen, m.LastSeen)
		}
		if n := len(m.IPAddresses); n < 1 || n > 3 {
			t.Fatalf("machine %d: %d ipAddresses", i, n)
		}
		if m.IPAddresses[0].IPAddress != *m.LastIPAddress {
			t.Fatalf("machine %d: first interface %s, lastIpAddress %s", i, m.IPAddresses[0].IPAddress, *m.LastIPAddress)
		}
		if len(m.MachineTags) > 3 {
			t.Fatalf("machine %d: %d tags", i, len(m.MachineTags))
		}
		if (m.AADDeviceID != nil) != *m.IsAADJoined {
			t.Fatalf("machine %d: isAadJoined %v with aadDeviceId %v", i, *m.IsAADJoined, m.AADDeviceID)
		}
	}
	want, err := o.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != want.Logons {
		t.Errorf("%d logons, Resolve said %d", len(ls), want.Logons)
	}
	for i, l := range ls {
		n := l
		if err := n.Normalize(); err != nil {
			t.Fatalf("logon %d: %v", i, err)
		}
		if !reflect.DeepEqual(l, n) {
			t.Fatalf("logon %d changes when normalized:\n%+v\n%+v", i, l, n)
		}
		m := seen[l.MachineID]
		if m == nil {
			t.Fatalf("logon %d names unknown machine %s", i, l.MachineID)
		}
		if l.Timestamp.Before(*m.FirstSeen) || l.Timestamp.After(*m.LastSeen) {
			t.Fatalf("logon %d at %v outside [%v, %v]", i, l.Timestamp, m.FirstSeen, m.LastSeen)
		}
		if l.LogonType == "" || !strings.HasPrefix(l.AccountSID, "S-1-5-21-") {
			t.Fatalf("logon %d: %+v", i, l)
		}
	}
}

type userKey struct{ name, domain string }

// relations returns each user's (by exact name and domain) set of machines.
func relations(ls []openatp.Logon) map[userKey]map[string]bool {
	rel := map[userKey]map[string]bool{}
	for _, l := range ls {
		k := userKey{l.AccountName, l.AccountDomain}
		if rel[k] == nil {
			rel[k] = map[string]bool{}
		}
		rel[k][l.MachineID] = true
	}
	return rel
}

func TestSpecialUsers(t *testing.T) {
	o, err := demo.Options{}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	_, ls := collect(t, o)
	rel := relations(ls)

	// Users are distinct even ignoring case, but for the two twins.
	keys := map[userKey]bool{}
	for k := range rel {
		keys[userKey{openatp.NameKey(k.name), openatp.NameKey(k.domain)}] = true
	}
	if len(keys) != o.Users || len(rel) != o.Users {
		t.Errorf("%d users (%d ignoring case), want %d", len(rel), len(keys), o.Users)
	}

	scanner := rel[userKey{"svc-scanner", "contoso"}]
	if len(scanner)*5 < o.Machines {
		t.Errorf("svc-scanner on %d of %d machines, want at least 20%%", len(scanner), o.Machines)
	}
	upper, lower := rel[userKey{"JDoe", "contoso"}], rel[userKey{"jdoe", "fabrikam"}]
	if len(upper) == 0 || len(lower) == 0 {
		t.Fatalf("case twins: JDoe on %d machines, jdoe on %d", len(upper), len(lower))
	}
	for id := range upper {
		if lower[id] {
			t.Errorf("JDoe and jdoe share machine %s", id)
		}
	}
	var other int
	for k := range rel {
		if strings.EqualFold(k.name, "jdoe") {
			other++
		}
	}
	if other != 2 {
		t.Errorf("%d users named jdoe in any case, want 2", other)
	}
}

func TestDistributions(t *testing.T) {
	o := demo.Options{Seed: 1, Machines: 10000, Users: 7500}
	ms, ls := collect(t, o)
	count := map[string]int{}
	for _, m := range ms {
		count["os:"+*m.OSPlatform]++
		count["health:"+*m.HealthStatus]++
		count["onboarding:"+*m.OnboardingStatus]++
		if m.AADDeviceID == nil {
			count["aad:null"]++
		}
		if m.LastExternalIPAddress == nil {
			count["ext:null"]++
		}
		if m.RiskScore == nil {
			count["risk:null"]++
		}
		count[fmt.Sprintf("tags:%d", len(m.MachineTags))]++
		for _, a := range m.IPAddresses {
			count["iftype:"+*a.Type]++
		}
		switch {
		case strings.HasPrefix(*m.ComputerDNSName, "desktop-"), strings.HasPrefix(*m.ComputerDNSName, "lap-"),
			strings.HasPrefix(*m.ComputerDNSName, "srv-"), strings.HasPrefix(*m.ComputerDNSName, "mbp-"),
			*m.OSPlatform == "Linux" && strings.HasSuffix(*m.ComputerDNSName, ".io"):
		default:
			t.Errorf("unexpected host name %q (%s)", *m.ComputerDNSName, *m.OSPlatform)
		}
	}
	share := func(keys ...string) float64 {
		n := 0
		for _, k := range keys {
			n += count[k]
		}
		return float64(n) / float64(len(ms))
	}
	checks := []struct {
		name   string
		got    float64
		lo, hi float64
	}{
		{"Windows client", share("os:Windows10", "os:Windows11"), 0.60, 0.80},
		{"Windows server", share("os:WindowsServer2016", "os:WindowsServer2019", "os:WindowsServer2022"), 0.10, 0.20},
		{"Linux", share("os:Linux"), 0.06, 0.14},
		{"macOS", share("os:macOS"), 0.03, 0.07},
		{"Active", share("health:Active"), 0.70, 0.90},
		{"Inactive", share("health:Inactive"), 0.05, 0.20},
		{"Onboarded", share("onboarding:Onboarded"), 0.90, 0.99},
		{"aadDeviceId null", share("aad:null"), 0.30, 0.60},
		{"lastExternalIpAddress null", share("ext:null"), 0.05, 0.40},
		{"riskScore null", share("risk:null"), 0.001, 0.05},
		{"no tags", share("tags:0"), 0.40, 0.60},
		{"3 tags", share("tags:3"), 0.02, 0.08},
		{"loopback", share("iftype:SoftwareLoopback"), 0.2, 0.4},
	}
	for _, c := range checks {
		if c.got < c.lo || c.got > c.hi {
			t.Errorf("%s: %.3f, want %.2f..%.2f", c.name, c.got, c.lo, c.hi)
		}
	}

	rel := relations(ls)
	perUser := make([]int, 0, len(rel))
	users := map[string]int{} // machine id → number of users
	for _, set := range rel {
		perUser = append(perUser, len(set))
		for id := range set {
			users[id]++
		}
	}
	slices.Sort(perUser)
	few := 0
	for _, n := range perUser {
		if n <= 3 {
			few++
		}
	}
	if f := float64(few) / float64(len(perUser)); f < 0.8 {
		t.Errorf("%.2f of users on at most 3 machines, want most", f)
	}
	if top := perUser[len(perUser)-1]; top < 1000 {
		t.Errorf("busiest user on %d machines, want thousands", top)
	}
	if perUser[len(perUser)-3] < 100 {
		t.Errorf("third busiest user on %d machines, want hundreds", perUser[len(perUser)-3])
	}
	crowded := 0
	for _, n := range users {
		if n >= 20 {
			crowded++
		}
	}
	if crowded < 50 {
		t.Errorf("%d machines with 20 or more users, want some shared machines", crowded)
	}
	types := map[string]int{}
	for _, l := range ls {
		types[l.LogonType]++
	}
	for _, lt := range []string{"Interactive", "Network", "RemoteInteractive"} {
		if types[lt] < len(ls)/20 {
			t.Errorf("%d %s logons of %d", types[lt], lt, len(ls))
		}
	}
}

func TestLogonTotal(t *testing.T) {
	for _, total := range []int{500, 700, 20000} {
		o := demo.Options{Seed: 3, Machines: 1000, Users: 500, Logons: total}
		_, ls := collect(t, o)
		if len(ls) != total {
			t.Errorf("Logons %d: emitted %d", total, len(ls))
		}
		if rel := relations(ls); len(rel) != o.Users {
			t.Errorf("Logons %d: %d users, want %d", total, len(rel), o.Users)
		}
	}
	if err := demo.Generate(demo.Options{Users: 100, Logons: 99}, demo.Funcs{}); err == nil {
		t.Error("99 logons for 100 users accepted")
	}
	if err := demo.Generate(demo.Options{Domains: []string{"bad\\name"}}, demo.Funcs{}); err == nil {
		t.Error(`domain "bad\name" accepted`)
	}
}

func TestSmallAndOddSizes(t *testing.T) {
	for _, o := range []demo.Options{
		{Machines: 1, Users: 1},
		{Machines: 1, Users: 12},
		{Machines: 2, Users: 10, Domains: []string{"fabrikam"}},
		{Machines: 40, Users: 3, Domains: []string{"corp.example.com"}},
	} {
		ms, ls := collect(t, o)
		if len(ms) != o.Machines || len(relations(ls)) != o.Users {
			t.Errorf("%+v: %d machines, %d users", o, len(ms), len(relations(ls)))
		}
		if o.Users >= 10 && o.Machines >= 2 {
			rel := relations(ls)
			var upper, lower map[string]bool
			for k, set := range rel {
				switch k.name {
				case "JDoe":
					upper = set
				case "jdoe":
					lower = set
				}
			}
			for id := range upper {
				if lower[id] {
					t.Errorf("%+v: twins share a machine", o)
				}
			}
		}
	}
}

// documented is the documentation's response of GET /api/users/user1/machines.
const documented = `{
    "@odata.context": "https://api.securitycenter.windows.com/api/$metadata#Machines",
    "value": [
        {
            "id": "1e5bc9d7e413ddd7902c2932e418702b84d0cc07",
            "computerDnsName": "mymachine1.contoso.com",
            "firstSeen": "2018-08-02T14:55:03.7791856Z",
            "lastSeen": "2018-08-02T14:55:03.7791856Z",
            "osPlatform": "Windows10",
            "osVersion": "10.0.0.0",
            "lastIpAddress": "172.17.230.209",
            "lastExternalIpAddress": "167.220.196.71",
            "agentVersion": "10.5830.18209.1001",
            "osBuild": 18209,
            "healthStatus": "Active",
            "rbacGroupId": 140,
            "rbacGroupName": "The-A-Team",
            "riskScore": "Low",
            "aadDeviceId": "80fe8ff8-2624-418e-9591-41f0491218f9",
            "machineTags": [ "test tag 1", "test tag 2" ]
        },
        {
            "id": "7292e4b8cb74ff1cc3d8a495eb29dc8858b732f7",
            "computerDnsName": "mymachine2.contoso.com",
            "firstSeen": "2018-07-09T13:22:45.1250071Z",
            "lastSeen": "2018-07-09T13:22:45.1250071Z",
            "osPlatform": "Windows10",
            "osVersion": "10.0.0.0",
            "lastIpAddress": "192.168.12.225",
            "lastExternalIpAddress": "79.183.65.82",
            "agentVersion": "10.5820.17724.1000",
            "osBuild": 17724,
            "healthStatus": "Inactive",
            "rbacGroupId": 140,
            "rbacGroupName": "The-A-Team",
            "riskScore": "Low",
            "aadDeviceId": null,
            "machineTags": [ "test tag 1" ]
        }
    ]
}`

// fields renders m the way the documentation's JSON decodes.
func fields(m openatp.Machine) map[string]any {
	str := func(s *string) any {
		if s == nil {
			return nil
		}
		return *s
	}
	tm := func(t *time.Time) any { return t.Format("2006-01-02T15:04:05.0000000Z") }
	tags := []any{}
	for _, t := range m.MachineTags {
		tags = append(tags, t)
	}
	return map[string]any{
		"id": m.ID, "computerDnsName": str(m.ComputerDNSName), "firstSeen": tm(m.FirstSeen), "lastSeen": tm(m.LastSeen),
		"osPlatform": str(m.OSPlatform), "osVersion": str(m.OSVersion), "osProcessor": str(m.OSProcessor), "version": str(m.Version),
		"lastIpAddress": str(m.LastIPAddress), "lastExternalIpAddress": str(m.LastExternalIPAddress),
		"agentVersion": str(m.AgentVersion), "osBuild": float64(*m.OSBuild), "healthStatus": str(m.HealthStatus),
		"rbacGroupId": float64(m.RBACGroupID), "rbacGroupName": m.RBACGroupName, "riskScore": str(m.RiskScore),
		"exposureLevel": str(m.ExposureLevel), "isAadJoined": *m.IsAADJoined, "aadDeviceId": str(m.AADDeviceID), "machineTags": tags,
	}
}

func TestDocExample(t *testing.T) {
	ms, ls, groups := demo.DocExample()
	var doc struct{ Value []map[string]any }
	if err := json.Unmarshal([]byte(documented), &doc); err != nil {
		t.Fatal(err)
	}
	if len(ms) != len(doc.Value) {
		t.Fatalf("%d machines, documented %d", len(ms), len(doc.Value))
	}
	for i, m := range ms {
		n := m
		if err := n.Normalize(); err != nil || !reflect.DeepEqual(m, n) {
			t.Errorf("machine %d: Normalize: %v; changed %v", i, err, !reflect.DeepEqual(m, n))
		}
		openatp.AssignGroup(groups, &m)
		got := fields(m)
		for k, want := range doc.Value[i] {
			if !reflect.DeepEqual(got[k], want) {
				t.Errorf("machine %d %s = %#v, documented %#v", i, k, got[k], want)
			}
		}
		if *m.OnboardingStatus != "Onboarded" || *m.OSArchitecture != "64-bit" || *m.DeviceValue != "Normal" ||
			len(m.IPAddresses) == 0 || m.IPAddresses[0].IPAddress != *m.LastIPAddress || m.IPAddresses[0].MACAddress == nil {
			t.Errorf("machine %d: undocumented properties %+v", i, m)
		}
	}
	// The documentation's other example of machine 1 (get-machine-by-id).
	m1 := fields(ms[0])
	for k, want := range map[string]any{"version": "1709", "osProcessor": "x64", "exposureLevel": "Medium", "isAadJoined": true} {
		if m1[k] != want {
			t.Errorf("machine 1 %s = %v, documented %v", k, m1[k], want)
		}
	}
	if m2 := fields(ms[1]); m2["isAadJoined"] != false {
		t.Errorf("machine 2 isAadJoined = %v, want false", m2["isAadJoined"])
	}
	if len(ls) != 2 {
		t.Fatalf("%d logons, want 2", len(ls))
	}
	for i, l := range ls {
		n := l
		if err := n.Normalize(); err != nil || !reflect.DeepEqual(l, n) {
			t.Errorf("logon %d: Normalize: %v", i, err)
		}
		if l.AccountName != "user1" || l.AccountDomain != "contoso" || l.MachineID != ms[i].ID || !l.Timestamp.Equal(*ms[i].LastSeen) {
			t.Errorf("logon %d: %+v", i, l)
		}
	}
	// Generate's groups rank after The-A-Team and do not clash with it.
	all := append(groups, demo.Groups()...)
	names, ids := map[string]bool{}, map[int64]bool{}
	for i, g := range all {
		if g.Rank != i+1 || names[g.Name] || ids[g.ID] || g.ID == openatp.DefaultGroupID {
			t.Errorf("group %d: %+v", i, g)
		}
		names[g.Name], ids[g.ID] = true, true
	}
}

func TestGroupsMatchGeneratedMachines(t *testing.T) {
	ms, _ := collect(t, demo.Options{})
	groups := demo.Groups()
	in := map[string]int{}
	for _, m := range ms {
		openatp.AssignGroup(groups, &m)
		in[m.RBACGroupName]++
	}
	for _, g := range groups {
		if in[g.Name] == 0 {
			t.Errorf("no demo machine in group %q", g.Name)
		}
	}
	if in[openatp.DefaultGroupName] == 0 {
		t.Error("no demo machine in the default group")
	}
}

// benchmark generates o per iteration and reports records per second and
// the largest live heap seen.
func benchmark(b *testing.B, o demo.Options) {
	o, err := o.Resolve()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var peak uint64
	var records int
	var ms runtime.MemStats
	sample := func() {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}
	emit := demo.Funcs{
		OnMachine: func(openatp.Machine) error {
			if records++; records%500_000 == 0 {
				sample()
			}
			return nil
		},
		OnLogon: func(openatp.Logon) error {
			if records++; records%500_000 == 0 {
				sample()
			}
			return nil
		},
	}
	start := time.Now()
	for b.Loop() {
		if err := demo.Generate(o, emit); err != nil {
			b.Fatal(err)
		}
		sample()
	}
	b.ReportMetric(float64(records)/time.Since(start).Seconds(), "records/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}

// BenchmarkGenerate is the demo-to-mid size: 10,000 machines, 50,000 logons.
func BenchmarkGenerate(b *testing.B) {
	benchmark(b, demo.Options{Seed: 1, Machines: 10_000, Users: 6_000, Logons: 50_000})
}

// BenchmarkGenerateMillion is the benchmark data set: 1,000,000 machines
// and 5,000,000 logons. Run it with -bench=Million -benchtime=1x.
func BenchmarkGenerateMillion(b *testing.B) {
	benchmark(b, demo.Options{Seed: 1, Machines: 1_000_000, Users: 600_000, Logons: 5_000_000})
}
