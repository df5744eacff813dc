package mdeapi_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
)

// Token kind × scopes × user roles × group assignments: status and the
// exact machine list.
func TestDelegatedAccess(t *testing.T) {
	for _, mode := range []struct {
		name    string
		noIndex bool
	}{{"index", false}, {"sql", true}} {
		t.Run(mode.name, func(t *testing.T) {
			f := apitest.RBACFixture(t, mode.noIndex)
			read := f.DelegatedApp(t, f.Tenant, openatp.PermMachineRead)
			readWrite := f.DelegatedApp(t, f.Tenant, openatp.PermMachineReadWrite)
			noScope := f.DelegatedApp(t, f.Tenant)
			all := []string{machine1, apitest.VaultMachine, machine2}
			slices.Sort(all)
			cases := []struct {
				name   string
				token  string
				user   string
				status int
				want   []string
			}{
				{"application token sees all", f.Token(t, f.Tenant, f.App), "user1", 200, all},
				{"analyst sees The-A-Team", f.Delegated(t, f.Tenant, read, "ana", "g-ana"), "user1", 200, []string{machine1, machine2}},
				{"Machine.ReadWrite scope", f.Delegated(t, f.Tenant, readWrite, "ana", "g-ana"), "user1", 200, []string{machine1, machine2}},
				{"analyst of both groups", f.Delegated(t, f.Tenant, read, "ana", "g-ana", "g-sec"), "user1", 200, all},
				{"administrator role sees all", f.Delegated(t, f.Tenant, read, "root", "g-admin"), "user1", 200, all},
				{"group access without a role", f.Delegated(t, f.Tenant, read, "sec", "g-sec"), "user1", 403, nil},
				{"role without View Data", f.Delegated(t, f.Tenant, read, "resp", "g-noview"), "user1", 403, nil},
				{"no groups at all", f.Delegated(t, f.Tenant, read, "nobody"), "user1", 403, nil},
				{"app without delegated scope", f.Delegated(t, f.Tenant, noScope, "ana", "g-ana"), "user1", 403, nil},
				{"user only on a hidden machine", f.Delegated(t, f.Tenant, read, "ana", "g-ana"), "vaultonly", 404, nil},
				{"vault user for the vault group", f.Delegated(t, f.Tenant, read, "ana", "g-ana", "g-sec"), "vaultonly", 200, []string{apitest.VaultMachine}},
				{"lone user in the default group", f.Delegated(t, f.Tenant, read, "ana", "g-ana"), "lone.user", 200, []string{strings.Repeat("0", 39) + "1"}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					for range 2 { // store path while the index builds, then the index
						r := f.Do(t, "GET", "/api/users/"+c.user+"/machines", c.token)
						if r.Status != c.status {
							t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
						}
						if c.status == 200 {
							if got := apitest.MachineIDs(t, r.Body); !slices.Equal(got, c.want) {
								t.Errorf("machines %v, want %v", got, c.want)
							}
						}
						if c.status == 403 {
							apitest.CheckError(t, r, 403, "Forbidden")
						}
					}
				})
			}
		})
	}
}

// A user hidden by device groups is answered exactly like an unknown user,
// but for the id echoed in the message and the request id.
func TestDelegatedNoExistenceLeak(t *testing.T) {
	for _, empty := range []bool{false, true} {
		f := apitest.RBACFixture(t, false, func(c *apitest.Config) { c.UnknownUserEmpty = empty })
		read := f.DelegatedApp(t, f.Tenant, openatp.PermMachineRead)
		tok := f.Delegated(t, f.Tenant, read, "ana", "g-ana")
		for range 2 {
			hidden := f.Do(t, "GET", "/api/users/vaultonly/machines", tok)
			unknown := f.Do(t, "GET", "/api/users/vaultonlz/machines", tok)
			if hidden.Status != unknown.Status {
				t.Fatalf("hidden user: %d, unknown user: %d", hidden.Status, unknown.Status)
			}
			h := strings.Replace(string(f.Normalized(t, hidden)), "vaultonly", "X", 1)
			u := strings.Replace(string(f.Normalized(t, unknown)), "vaultonlz", "X", 1)
			if h != u {
				t.Errorf("hidden and unknown users answered differently:\n%s\n%s", h, u)
			}
			for _, k := range []string{"Content-Type", "Content-Length", "Odata-Version"} {
				if hidden.Header.Get(k) != unknown.Header.Get(k) {
					t.Errorf("header %s differs: %q vs %q", k, hidden.Header.Get(k), unknown.Header.Get(k))
				}
			}
		}
	}
}

// Hostile delegated tokens are refused.
func TestDelegatedHostileTokens(t *testing.T) {
	f := apitest.RBACFixture(t, false)
	// An unsigned token claiming both scp and roles.
	header := b64url(`{"alg":"none","typ":"JWT"}`)
	claims := b64url(fmt.Sprintf(`{"aud":"https://api.securitycenter.microsoft.com","iss":"%s/%s/","tid":"%s","scp":"Machine.Read","roles":["Machine.Read.All"],"groups":["g-admin"],"exp":%d,"nbf":%d}`,
		f.Srv.URL, f.Tenant.ID, f.Tenant.ID, time.Now().Add(time.Hour).Unix(), time.Now().Unix()))
	if r := f.Do(t, "GET", "/api/users/user1/machines", header+"."+claims+"."); r.Status != 401 {
		t.Errorf("unsigned token: %d %s", r.Status, r.Body)
	}
	// A user of another tenant, even an administrator there, sees nothing here.
	other := f.NewTenant(t, "fabrikam.onmicrosoft.com")
	if err := f.Store.PutRole(context.Background(), other.ID, openatp.Role{Name: openatp.AdminRoleName, UserGroups: []string{"g-admin"}}); err != nil {
		t.Fatal(err)
	}
	app := f.DelegatedApp(t, other, openatp.PermMachineRead)
	r := f.Do(t, "GET", "/api/users/user1/machines", f.Delegated(t, other, app, "mallory", "g-admin"))
	if r.Status != 404 {
		t.Errorf("another tenant's administrator: %d %s", r.Status, r.Body)
	}
}

// The machine ids a delegated user receives equal a plain reference
// evaluation of the rules of spec §4, over random groups, ranks, rules and
// machines (fixed seeds).
func TestDelegatedRandomized(t *testing.T) {
	f := apitest.NewFixture(t, nil)
	ctx := context.Background()
	names := []string{"alpha", "beta", "gamma", "delta"}
	domains := []string{"contoso.com", "fabrikam.local"}
	tags := []string{"red", "green", "blue", "Gold"}
	platforms := []string{"Windows10", "Windows11", "Linux", "macOS"}
	ugs := []string{"u1", "u2", "u3"}
	cases := 150
	outcomes := map[int]int{}
	defer func() { t.Logf("outcomes by status: %v", outcomes) }()
	if testing.Short() {
		cases = 30
	}
	for seed := range cases {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		tn := f.NewTenant(t, fmt.Sprintf("rand%d.example", seed))
		// Machines.
		var ms []openatp.Machine
		for i := range 4 + rng.IntN(12) {
			m := openatp.Machine{ID: fmt.Sprintf("%038x%02x", seed, i)}
			host := names[rng.IntN(len(names))] + fmt.Sprint(rng.IntN(3))
			m.ComputerDNSName = openatp.Ptr(host + "." + domains[rng.IntN(len(domains))])
			m.OSPlatform = openatp.Ptr(platforms[rng.IntN(len(platforms))])
			for _, tg := range tags {
				if rng.IntN(3) == 0 {
					m.MachineTags = append(m.MachineTags, tg)
				}
			}
			ms = append(ms, m)
		}
		// Groups with distinct random ranks.
		var groups []openatp.DeviceGroup
		ranks := rng.Perm(5)
		for gi := range 1 + rng.IntN(4) {
			g := openatp.DeviceGroup{ID: int64(100 + gi), Name: fmt.Sprintf("G%d", gi), Rank: ranks[gi] + 1}
			for range 1 + rng.IntN(3) {
				var row openatp.RuleRow
				switch rng.IntN(4) {
				case 0:
					row = openatp.RuleRow{Property: openatp.RuleName, Values: []string{names[rng.IntN(len(names))] + fmt.Sprint(rng.IntN(3))}}
				case 1:
					row = openatp.RuleRow{Property: openatp.RuleDomain, Values: []string{strings.ToUpper(domains[rng.IntN(len(domains))])}}
				case 2:
					row = openatp.RuleRow{Property: openatp.RuleTag, Values: []string{tags[rng.IntN(len(tags))], tags[rng.IntN(len(tags))]}}
				case 3:
					row = openatp.RuleRow{Property: openatp.RuleOSPlatform, Values: []string{platforms[rng.IntN(len(platforms))]}}
				}
				g.Rules = append(g.Rules, row)
			}
			if rng.IntN(3) != 0 {
				g.UserGroups = []string{ugs[rng.IntN(len(ugs))]}
			}
			groups = append(groups, g)
			if err := f.Store.CreateGroup(ctx, tn.ID, g); err != nil {
				t.Fatal(err)
			}
		}
		viewers := []string{ugs[rng.IntN(len(ugs))]}
		if err := f.Store.PutRole(ctx, tn.ID, openatp.Role{Name: "Viewer", Permissions: []string{openatp.PermViewData}, UserGroups: viewers}); err != nil {
			t.Fatal(err)
		}
		var ls []openatp.Logon
		for _, m := range ms {
			if rng.IntN(2) == 0 {
				ls = append(ls, openatp.Logon{MachineID: m.ID, AccountName: "target", AccountDomain: "contoso", Timestamp: time.Now()})
			}
		}
		ls = append(ls, openatp.Logon{MachineID: ms[0].ID, AccountName: "other", AccountDomain: "contoso", Timestamp: time.Now()})
		f.Load(t, tn, ms, ls)
		callerGroups := []string{}
		for _, u := range ugs {
			if rng.IntN(3) == 0 {
				callerGroups = append(callerGroups, u)
			}
		}
		if rng.IntN(6) != 0 && !slices.Contains(callerGroups, viewers[0]) {
			callerGroups = append(callerGroups, viewers[0]) // most callers hold the role
		}

		// The reference evaluation, from the rules of spec §4.
		want := []string{}
		hasRole := slices.ContainsFunc(viewers, func(v string) bool { return slices.Contains(callerGroups, v) })
		for _, m := range ms {
			if !slices.ContainsFunc(ls, func(l openatp.Logon) bool { return l.MachineID == m.ID && l.AccountName == "target" }) {
				continue
			}
			if refVisible(refGroup(groups, m), callerGroups) {
				want = append(want, m.ID)
			}
		}
		slices.Sort(want)

		app := f.DelegatedApp(t, tn, openatp.PermMachineRead)
		tok := f.Delegated(t, tn, app, "Caller", callerGroups...)
		if seed%2 == 0 {
			if err := f.Server.Warm(ctx, tn.ID); err != nil {
				t.Fatal(err)
			}
		}
		r := f.Do(t, "GET", "/api/users/target/machines", tok)
		outcomes[r.Status]++
		switch {
		case !hasRole:
			if r.Status != 403 {
				t.Fatalf("seed %d: Caller without a role: %d %s", seed, r.Status, r.Body)
			}
		case len(want) == 0:
			if r.Status != 404 {
				t.Fatalf("seed %d: nothing visible: %d %s", seed, r.Status, r.Body)
			}
		default:
			if r.Status != 200 {
				t.Fatalf("seed %d: %d %s", seed, r.Status, r.Body)
			}
			if got := apitest.MachineIDs(t, r.Body); !slices.Equal(got, want) {
				t.Fatalf("seed %d: got %v, want %v (groups %+v, Caller %v)", seed, got, want, groups, callerGroups)
			}
		}
	}
}

// refGroup is the reference rule evaluation: the highest-ranked group whose
// rule matches (rows of one property OR'ed, properties AND'ed), else the
// default group (nil).
func refGroup(groups []openatp.DeviceGroup, m openatp.Machine) *openatp.DeviceGroup {
	sorted := slices.Clone(groups)
	slices.SortFunc(sorted, func(a, b openatp.DeviceGroup) int { return a.Rank - b.Rank })
	for i := range sorted {
		g := &sorted[i]
		props := map[openatp.RuleProperty]bool{}
		for _, row := range g.Rules {
			props[row.Property] = props[row.Property] || refRow(row, m)
		}
		ok := len(props) > 0
		for _, v := range props {
			ok = ok && v
		}
		if ok {
			return g
		}
	}
	return nil
}

func refRow(row openatp.RuleRow, m openatp.Machine) bool {
	name := *m.ComputerDNSName
	dot := strings.Index(name, ".")
	for _, v := range row.Values {
		v = strings.ToLower(v)
		switch row.Property {
		case openatp.RuleName:
			if v == strings.ToLower(name) || v == strings.ToLower(name[:dot]) {
				return true
			}
		case openatp.RuleDomain:
			if v == strings.ToLower(name[dot+1:]) {
				return true
			}
		case openatp.RuleTag:
			for _, tg := range m.MachineTags {
				if v == strings.ToLower(tg) {
					return true
				}
			}
		case openatp.RuleOSPlatform:
			if v == strings.ToLower(*m.OSPlatform) {
				return true
			}
		}
	}
	return false
}

func refVisible(g *openatp.DeviceGroup, callerGroups []string) bool {
	if g == nil || len(g.UserGroups) == 0 {
		return true
	}
	return slices.ContainsFunc(g.UserGroups, func(u string) bool { return slices.Contains(callerGroups, u) })
}
