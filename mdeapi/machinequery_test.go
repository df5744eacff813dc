package mdeapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
)

// The reference evaluator of this file is written apart from package
// odata, on the generated machines themselves: a filter is a small tree
// that renders to $filter text and evaluates in Go.

type refMachine struct {
	id, name, health, risk, os  string
	hasName, hasHealth, hasRisk bool
	hasLastSeen                 bool
	lastSeen                    time.Time
	tags                        []string
	group                       int64
}

type pred interface {
	text() string
	eval(m *refMachine) bool
}

type (
	strEq struct { // computerDnsName or osPlatform eq/ne 'v'
		prop, op, v string
	}
	prefix  struct{ v string }
	enumCmp struct{ prop, op, v string }
	timeCmp struct {
		op string
		t  time.Time
	}
	tagAny  struct{ v string }
	groupEq struct{ id int64 }
	inList  struct{ vs []string }
	and     struct{ a, b pred }
	or      struct{ a, b pred }
	not     struct{ a pred }
)

var riskOrder = []string{"None", "Informational", "Low", "Medium", "High"}

func fold(s string) string { return strings.ToLower(s) } // the generated values are ASCII

func (p strEq) text() string { return fmt.Sprintf("%s %s '%s'", p.prop, p.op, p.v) }
func (p strEq) eval(m *refMachine) bool {
	v, ok := m.name, m.hasName
	if p.prop == "osPlatform" {
		v, ok = m.os, true
	}
	eq := ok && fold(v) == fold(p.v)
	if p.op == "ne" {
		return !eq
	}
	return eq
}
func (p prefix) text() string { return fmt.Sprintf("startswith(computerDnsName,'%s')", p.v) }
func (p prefix) eval(m *refMachine) bool {
	return m.hasName && strings.HasPrefix(fold(m.name), fold(p.v))
}
func (p enumCmp) text() string { return fmt.Sprintf("%s %s '%s'", p.prop, p.op, p.v) }
func (p enumCmp) eval(m *refMachine) bool {
	v, ok := m.health, m.hasHealth
	order := []string{"Active", "Inactive", "ImpairedCommunication", "NoSensorData", "NoSensorDataImpairedCommunication", "Unknown"}
	if p.prop == "riskScore" {
		v, ok, order = m.risk, m.hasRisk, riskOrder
	}
	if !ok {
		return p.op == "ne"
	}
	a, b := slices.Index(order, v), slices.Index(order, p.v)
	switch p.op {
	case "eq":
		return a == b
	case "ne":
		return a != b
	case "gt":
		return a > b
	case "ge":
		return a >= b
	case "lt":
		return a < b
	}
	return a <= b
}
func (p timeCmp) text() string {
	return fmt.Sprintf("lastSeen %s %s", p.op, p.t.Format("2006-01-02T15:04:05Z"))
}
func (p timeCmp) eval(m *refMachine) bool {
	if !m.hasLastSeen {
		return false // every comparison with null is false
	}
	if p.op == "gt" {
		return m.lastSeen.After(p.t)
	}
	return m.lastSeen.Before(p.t)
}
func (p tagAny) text() string { return fmt.Sprintf("machineTags/any(t: t eq '%s')", p.v) }
func (p tagAny) eval(m *refMachine) bool {
	return slices.ContainsFunc(m.tags, func(t string) bool { return fold(t) == fold(p.v) })
}
func (p groupEq) text() string            { return fmt.Sprintf("rbacGroupId eq %d", p.id) }
func (p groupEq) eval(m *refMachine) bool { return m.group == p.id }
func (p inList) text() string             { return "healthStatus in ('" + strings.Join(p.vs, "','") + "')" }
func (p inList) eval(m *refMachine) bool  { return m.hasHealth && slices.Contains(p.vs, m.health) }
func (p and) text() string                { return "(" + p.a.text() + ") and (" + p.b.text() + ")" }
func (p and) eval(m *refMachine) bool     { return p.a.eval(m) && p.b.eval(m) }
func (p or) text() string                 { return "(" + p.a.text() + ") or (" + p.b.text() + ")" }
func (p or) eval(m *refMachine) bool      { return p.a.eval(m) || p.b.eval(m) }
func (p not) text() string                { return "not (" + p.a.text() + ")" }
func (p not) eval(m *refMachine) bool     { return !p.a.eval(m) }

var healths = []string{"Active", "Inactive", "ImpairedCommunication"}

func randPred(rng *rand.Rand, depth int, ms []refMachine) pred {
	if depth > 0 && rng.IntN(3) == 0 {
		a, b := randPred(rng, depth-1, ms), randPred(rng, depth-1, ms)
		switch rng.IntN(3) {
		case 0:
			return and{a, b}
		case 1:
			return or{a, b}
		}
		return not{a}
	}
	m := ms[rng.IntN(len(ms))]
	switch rng.IntN(9) {
	case 0:
		return strEq{"computerDnsName", []string{"eq", "ne"}[rng.IntN(2)], strings.ToUpper(m.name)}
	case 1:
		return prefix{m.name[:rng.IntN(len(m.name)+1)]}
	case 2:
		return enumCmp{"healthStatus", []string{"eq", "ne"}[rng.IntN(2)], healths[rng.IntN(len(healths))]}
	case 3:
		return enumCmp{"riskScore", []string{"eq", "ne", "gt", "ge", "lt", "le"}[rng.IntN(6)], riskOrder[rng.IntN(len(riskOrder))]}
	case 4:
		return timeCmp{[]string{"gt", "lt"}[rng.IntN(2)], m.lastSeen.Truncate(time.Second)}
	case 5:
		return tagAny{[]string{"web", "db", "vault", "PCI"}[rng.IntN(4)]}
	case 6:
		return groupEq{[]int64{0, 140, 150}[rng.IntN(3)]}
	case 7:
		return inList{healths[:1+rng.IntN(len(healths))]}
	}
	return strEq{"osPlatform", "eq", []string{"Windows10", "linux"}[rng.IntN(2)]}
}

// queryFixture loads n generated machines besides the fixture's, and
// returns them as the reference sees them (with their device groups).
func queryFixture(t *testing.T, n int) (*apitest.Fixture, []refMachine) {
	f := apitest.RBACFixture(t, false)
	rng := rand.New(rand.NewPCG(7, 7))
	var ms []openatp.Machine
	for i := range n {
		m := openatp.Machine{ID: fmt.Sprintf("%040x", 0x1000+i*7919), OSPlatform: openatp.Ptr([]string{"Windows10", "Linux", "macOS"}[rng.IntN(3)])}
		if rng.IntN(8) > 0 {
			m.ComputerDNSName = openatp.Ptr(fmt.Sprintf("%s-%03d.%s", []string{"web", "db", "lap"}[rng.IntN(3)], rng.IntN(500), []string{"contoso.com", "fabrikam.com"}[rng.IntN(2)]))
		}
		if rng.IntN(6) > 0 {
			m.HealthStatus = &healths[rng.IntN(len(healths))]
		}
		if rng.IntN(5) > 0 {
			m.RiskScore = &riskOrder[rng.IntN(len(riskOrder))]
		}
		ls := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(300*24)) * time.Hour).Add(time.Duration(rng.IntN(3600)) * time.Second)
		m.LastSeen = &ls
		for _, tag := range []string{"web", "db", "vault", "pci"} {
			if rng.IntN(4) == 0 {
				m.MachineTags = append(m.MachineTags, tag)
			}
		}
		ms = append(ms, m)
	}
	f.Load(t, f.Tenant, ms, nil)
	ctx := context.Background()
	groups, err := f.Store.Groups(ctx, f.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	var all []openatp.Machine
	if err := f.Store.Snapshot(ctx, f.Tenant.ID, func(m openatp.Machine) error { all = append(all, m); return nil },
		func(openatp.UserMachine) error { return nil }); err != nil {
		t.Fatal(err)
	}
	var ref []refMachine
	for _, m := range all {
		openatp.AssignGroup(groups, &m)
		r := refMachine{id: m.ID, tags: m.MachineTags, group: m.RBACGroupID}
		if m.ComputerDNSName != nil {
			r.name, r.hasName = *m.ComputerDNSName, true
		}
		if m.HealthStatus != nil {
			r.health, r.hasHealth = *m.HealthStatus, true
		}
		if m.RiskScore != nil {
			r.risk, r.hasRisk = *m.RiskScore, true
		}
		if m.OSPlatform != nil {
			r.os = *m.OSPlatform
		}
		if m.LastSeen != nil {
			r.lastSeen, r.hasLastSeen = *m.LastSeen, true
		}
		ref = append(ref, r)
	}
	return f, ref
}

// walk reads every page of a query by following @odata.nextLink and
// returns the ids in order and the @odata.count of the first page.
func walk(t *testing.T, f *apitest.Fixture, tok, path string) ([]string, int, bool) {
	t.Helper()
	var ids []string
	count := -1
	for pages := 0; path != ""; pages++ {
		r := f.Do(t, "GET", path, tok)
		if r.Status != 200 {
			t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
		}
		var v struct {
			Count *int   `json:"@odata.count"`
			Next  string `json:"@odata.nextLink"`
			Value []struct {
				ID string `json:"id"`
			} `json:"value"`
		}
		if err := json.Unmarshal(r.Body, &v); err != nil {
			t.Fatal(err)
		}
		if v.Count != nil && count < 0 {
			count = *v.Count
		} else if v.Count != nil && *v.Count != count {
			t.Fatalf("@odata.count %d on a later page, %d on the first: %s", *v.Count, count, path)
		}
		for _, m := range v.Value {
			ids = append(ids, m.ID)
		}
		path = strings.TrimPrefix(v.Next, f.Srv.URL)
		if pages > 1000 {
			t.Fatal("endless paging")
		}
	}
	return ids, count, true
}

// Thousands of generated $filter/$orderby/$top/$skip queries: every answer
// (all pages, followed by nextLink) equals the reference's, for an
// application and for delegated callers limited to some device groups.
func TestMachineQueriesAgainstReference(t *testing.T) {
	f, ms := queryFixture(t, 300)
	app := f.Token(t, f.Tenant, f.App)
	dapp := f.DelegatedApp(t, f.Tenant, openatp.PermMachineRead)
	callers := []struct {
		name    string
		tok     string
		visible func(m *refMachine) bool
	}{
		{"application", app, func(*refMachine) bool { return true }},
		{"delegated g-ana", f.Delegated(t, f.Tenant, dapp, "ana@contoso.com", "g-ana"), func(m *refMachine) bool { return m.group != 150 }},
		{"delegated g-ana g-sec", f.Delegated(t, f.Tenant, dapp, "both@contoso.com", "g-ana", "g-sec"), func(*refMachine) bool { return true }},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	n := 0
	for range 1200 {
		c := callers[rng.IntN(len(callers))]
		p := randPred(rng, 3, ms)
		var want []refMachine
		for i := range ms {
			if c.visible(&ms[i]) && p.eval(&ms[i]) {
				want = append(want, ms[i])
			}
		}
		q := url.Values{}
		q.Set("$filter", p.text())
		q.Set("$select", "id")
		orderBy := rng.IntN(3)
		switch orderBy {
		case 1:
			q.Set("$orderby", "computerDnsName")
			slices.SortStableFunc(want, func(a, b refMachine) int {
				if a.hasName != b.hasName {
					return map[bool]int{false: -1, true: 1}[a.hasName] // nulls first
				}
				return strings.Compare(fold(a.name), fold(b.name))
			})
		case 2:
			q.Set("$orderby", "lastSeen desc")
			slices.SortStableFunc(want, func(a, b refMachine) int { // nulls last, descending
				if a.hasLastSeen != b.hasLastSeen {
					return map[bool]int{false: 1, true: -1}[a.hasLastSeen]
				}
				return b.lastSeen.Compare(a.lastSeen)
			})
		}
		var wantIDs []string
		for _, m := range want {
			wantIDs = append(wantIDs, m.id)
		}
		walkAgainst(t, f, c.tok, c.name, "/api/machines", q, rng, 60, wantIDs)
		n++
	}
	t.Logf("%d queries matched the reference", n)
}

// walkAgainst gives q random paging options ($skip now and then, $top up
// to maxTop, $count), walks every page of path?q as tok, and fails t unless
// the ids visited are want's (but the skipped) and @odata.count is their
// number. It returns the number of ids visited.
func walkAgainst(t *testing.T, f *apitest.Fixture, tok, Caller, path string, q url.Values, rng *rand.Rand, maxTop int, want []string) int {
	t.Helper()
	skip := 0
	if rng.IntN(3) == 0 {
		skip = rng.IntN(10)
		q.Set("$skip", fmt.Sprint(skip))
	}
	if rng.IntN(2) == 0 {
		q.Set("$top", fmt.Sprint(1+rng.IntN(maxTop)))
	}
	count := rng.IntN(2) == 0
	if count {
		q.Set("$count", "true")
	}
	got, gotCount, _ := walk(t, f, tok, path+"?"+q.Encode())
	wantIDs := want[min(skip, len(want)):]
	if !slices.Equal(got, wantIDs) {
		t.Fatalf("%s: %s\n got %d %v\nwant %d %v", Caller, q.Encode(), len(got), got, len(wantIDs), wantIDs)
	}
	if count && gotCount != len(want) {
		t.Fatalf("%s: %s: @odata.count %d, want %d", Caller, q.Encode(), gotCount, len(want))
	}
	return len(got)
}
