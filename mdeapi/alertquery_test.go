package mdeapi_test

import (
	"context"
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

// The reference evaluator of the alert list, written apart from package
// odata and the read model, on the generated alerts themselves (as
// machinequery_test.go does for machines).

type refAlert struct {
	id, machine, severity, status string
	category, assignedTo, source  *string
	incident                      *int64
	updated                       time.Time
	created                       *time.Time
	group                         int64
}

type alertPred interface {
	text() string
	eval(a *refAlert) bool
}

var (
	severityOrder = []string{"UnSpecified", "Informational", "Low", "Medium", "High"}
	statusOrder   = []string{"Unknown", "New", "InProgress", "Resolved"}
	categories    = []string{"Execution", "Malware", "CommandAndControl", "Persistence"}
	sources       = []string{"WindowsDefenderAtp", "WindowsDefenderAv", "CustomerTI", "AutomatedInvestigation"}
	assignees     = []string{"secop1@contoso.com", "SecOp2@contoso.com"}
)

func cmpHolds(op string, c int) bool {
	switch op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	}
	return c <= 0
}

type (
	aEnum struct{ prop, op, v string } // severity or status
	aTime struct {
		prop, op string
		t        time.Time
	}
	aStr struct { // category, assignedTo, detectionSource, id, machineId eq/ne 'v' or null
		prop, op string
		v        *string
	}
	aPrefix   struct{ v string } // startswith(detectionSource, v)
	aIncident struct {
		op string
		n  int64
	}
	aStatusIn struct{ vs []string }
	aAnd      struct{ a, b alertPred }
	aOr       struct{ a, b alertPred }
	aNot      struct{ a alertPred }
)

func (p aEnum) text() string { return fmt.Sprintf("%s %s '%s'", p.prop, p.op, strings.ToLower(p.v)) }
func (p aEnum) eval(a *refAlert) bool {
	v, order := a.severity, severityOrder
	if p.prop == "status" {
		v, order = a.status, statusOrder
	}
	return cmpHolds(p.op, slices.Index(order, v)-slices.Index(order, p.v))
}
func (p aTime) text() string {
	return fmt.Sprintf("%s %s %s", p.prop, p.op, p.t.Format("2006-01-02T15:04:05.0000000Z"))
}
func (p aTime) eval(a *refAlert) bool {
	v := &a.updated
	if p.prop == "alertCreationTime" {
		v = a.created
	}
	if v == nil {
		return false // every ordering with null is false
	}
	return cmpHolds(p.op, v.Compare(p.t))
}
func (p aStr) text() string {
	if p.v == nil {
		return fmt.Sprintf("%s %s null", p.prop, p.op)
	}
	return fmt.Sprintf("%s %s '%s'", p.prop, p.op, *p.v)
}
func (p aStr) eval(a *refAlert) bool {
	var v *string
	switch p.prop {
	case "category":
		v = a.category
	case "assignedTo":
		v = a.assignedTo
	case "detectionSource":
		v = a.source
	case "id":
		v = &a.id
	case "machineId":
		v = &a.machine
	}
	eq := v == nil && p.v == nil || v != nil && p.v != nil && fold(*v) == fold(*p.v)
	if p.op == "ne" {
		return !eq
	}
	return eq
}
func (p aPrefix) text() string { return fmt.Sprintf("startswith(detectionSource,'%s')", p.v) }
func (p aPrefix) eval(a *refAlert) bool {
	return a.source != nil && strings.HasPrefix(fold(*a.source), fold(p.v))
}
func (p aIncident) text() string { return fmt.Sprintf("incidentId %s %d", p.op, p.n) }
func (p aIncident) eval(a *refAlert) bool {
	if a.incident == nil {
		return p.op == "ne"
	}
	c := 0
	switch {
	case *a.incident < p.n:
		c = -1
	case *a.incident > p.n:
		c = 1
	}
	return cmpHolds(p.op, c)
}
func (p aStatusIn) text() string { return "status in ('" + strings.Join(p.vs, "','") + "')" }
func (p aStatusIn) eval(a *refAlert) bool {
	return slices.Contains(p.vs, a.status)
}
func (p aAnd) text() string          { return "(" + p.a.text() + ") and (" + p.b.text() + ")" }
func (p aAnd) eval(a *refAlert) bool { return p.a.eval(a) && p.b.eval(a) }
func (p aOr) text() string           { return "(" + p.a.text() + ") or (" + p.b.text() + ")" }
func (p aOr) eval(a *refAlert) bool  { return p.a.eval(a) || p.b.eval(a) }
func (p aNot) text() string          { return "not (" + p.a.text() + ")" }
func (p aNot) eval(a *refAlert) bool { return !p.a.eval(a) }

var ops = []string{"eq", "ne", "gt", "ge", "lt", "le"}

func randAlertPred(rng *rand.Rand, depth int, as []refAlert) alertPred {
	if depth > 0 && rng.IntN(3) == 0 {
		a, b := randAlertPred(rng, depth-1, as), randAlertPred(rng, depth-1, as)
		switch rng.IntN(3) {
		case 0:
			return aAnd{a, b}
		case 1:
			return aOr{a, b}
		}
		return aNot{a}
	}
	x := as[rng.IntN(len(as))]
	pick := func(vs []string) *string {
		if rng.IntN(5) == 0 {
			return nil
		}
		return &vs[rng.IntN(len(vs))]
	}
	switch rng.IntN(11) {
	case 0:
		return aEnum{"severity", ops[rng.IntN(6)], severityOrder[rng.IntN(5)]}
	case 1:
		return aEnum{"status", ops[rng.IntN(6)], statusOrder[rng.IntN(4)]}
	case 2, 3: // the poll, on the exact stamps of alerts (page boundaries)
		return aTime{"lastUpdateTime", ops[2+rng.IntN(4)], x.updated.Add(time.Duration(rng.IntN(3)-1) * 100)}
	case 4:
		return aTime{"alertCreationTime", ops[2+rng.IntN(4)], x.updated.Add(-time.Duration(rng.IntN(48)) * time.Hour)}
	case 5:
		return aStr{"category", []string{"eq", "ne"}[rng.IntN(2)], pick(categories)}
	case 6:
		return aStr{"assignedTo", []string{"eq", "ne"}[rng.IntN(2)], pick(assignees)}
	case 7:
		return aPrefix{[]string{"Windows", "windowsdefenderA", "C", ""}[rng.IntN(4)]}
	case 8:
		return aIncident{ops[rng.IntN(6)], int64(rng.IntN(12))}
	case 9:
		return aStatusIn{statusOrder[:1+rng.IntN(3)]}
	}
	if rng.IntN(2) == 0 {
		return aStr{"id", "eq", &x.id}
	}
	return aStr{"machineId", "eq", openatp.Ptr(strings.ToUpper(x.machine))}
}

// alertQueryFixture loads n generated alerts on the query fixture's
// machines, many sharing a lastUpdateTime, and returns them as the
// reference sees them.
func alertQueryFixture(t *testing.T, n int) (*apitest.Fixture, []refAlert) {
	f, ms := queryFixture(t, 60)
	rng := rand.New(rand.NewPCG(11, 12))
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	var as []openatp.Alert
	var ref []refAlert
	for i := range n {
		m := ms[rng.IntN(len(ms))]
		a := openatp.Alert{ID: fmt.Sprintf("da%018d_%d", 638700000000000000+rng.IntN(1000), i), MachineID: m.id,
			Severity: severityOrder[rng.IntN(5)], Status: statusOrder[rng.IntN(4)]}
		// A few distinct stamps: ties are broken by id, across pages.
		updated := base.Add(time.Duration(rng.IntN(n/3)) * time.Minute)
		a.LastUpdateTime = &updated
		if rng.IntN(4) > 0 {
			c := updated.Add(-time.Duration(rng.IntN(72)) * time.Hour)
			a.AlertCreationTime = &c
		}
		r := refAlert{id: a.ID, machine: a.MachineID, severity: a.Severity, status: a.Status, updated: updated, created: a.AlertCreationTime, group: m.group}
		if rng.IntN(5) > 0 {
			a.Category = &categories[rng.IntN(len(categories))]
			r.category = a.Category
		}
		if rng.IntN(3) > 0 {
			a.AssignedTo = &assignees[rng.IntN(len(assignees))]
			r.assignedTo = a.AssignedTo
		}
		if rng.IntN(6) > 0 {
			a.DetectionSource = &sources[rng.IntN(len(sources))]
			r.source = a.DetectionSource
		}
		if rng.IntN(4) > 0 {
			a.IncidentID = openatp.Ptr(int64(rng.IntN(12)))
			r.incident = a.IncidentID
		}
		as, ref = append(as, a), append(ref, r)
	}
	if err := f.Store.UpsertAlerts(context.Background(), f.Tenant.ID, as); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(ref, func(a, b refAlert) int {
		if c := a.updated.Compare(b.updated); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return f, ref
}

// 600 generated $filter/$orderby/$top/$skip/$count queries of the alert list:
// every answer (all pages, followed by nextLink) equals the reference's,
// for an application and for delegated callers limited to some device
// groups.
func TestAlertQueriesAgainstReference(t *testing.T) {
	f, as := alertQueryFixture(t, 400)
	app := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "siem", openatp.PermAlertReadAll))
	dapp := f.DelegatedApp(t, f.Tenant, openatp.PermAlertRead)
	callers := []struct {
		name    string
		tok     string
		visible func(a *refAlert) bool
	}{
		{"application", app, func(*refAlert) bool { return true }},
		{"delegated g-ana", f.Delegated(t, f.Tenant, dapp, "ana@contoso.com", "g-ana"), func(a *refAlert) bool { return a.group != 150 }},
		{"delegated g-ana g-sec", f.Delegated(t, f.Tenant, dapp, "both@contoso.com", "g-ana", "g-sec"), func(*refAlert) bool { return true }},
	}
	rng := rand.New(rand.NewPCG(5, 6))
	nonEmpty, hidden := 0, 0
	for range 600 {
		c := callers[rng.IntN(len(callers))]
		p := randAlertPred(rng, 3, as)
		var want []refAlert
		for i := range as {
			if c.visible(&as[i]) && p.eval(&as[i]) {
				want = append(want, as[i])
			}
		}
		q := url.Values{}
		q.Set("$filter", p.text())
		q.Set("$select", "id")
		switch rng.IntN(4) {
		case 1:
			q.Set("$orderby", "severity desc")
			slices.SortStableFunc(want, func(a, b refAlert) int {
				return slices.Index(severityOrder, b.severity) - slices.Index(severityOrder, a.severity)
			})
		case 2:
			q.Set("$orderby", "alertCreationTime,id")
			slices.SortStableFunc(want, func(a, b refAlert) int {
				switch {
				case a.created == nil && b.created != nil:
					return -1 // nulls first
				case a.created != nil && b.created == nil:
					return 1
				case a.created != nil:
					if c := a.created.Compare(*b.created); c != 0 {
						return c
					}
				}
				return strings.Compare(a.id, b.id)
			})
		}
		var wantIDs []string
		for _, a := range want {
			wantIDs = append(wantIDs, a.id)
		}
		if walkAgainst(t, f, c.tok, c.name, "/api/alerts", q, rng, 40, wantIDs) > 0 {
			nonEmpty++
		}
		for i := range as {
			if !c.visible(&as[i]) && p.eval(&as[i]) {
				hidden++ // a match the Caller must not see
				break
			}
		}
	}
	// The generated queries are not trivial: most find alerts, and many
	// match alerts a delegated Caller may not see.
	if nonEmpty < 300 || hidden < 60 {
		t.Errorf("%d queries found alerts, %d matched hidden ones", nonEmpty, hidden)
	}
	t.Logf("%d queries found alerts, %d matched hidden ones", nonEmpty, hidden)
}
