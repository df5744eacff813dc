package demo_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/demo"
	"github.com/openatp/openatp/wire"
)

// Generated alerts are valid as they are, of generated machines, in every
// severity and status, created in order over the 30 days before Start and
// the same for the same seed.
func TestAlerts(t *testing.T) {
	o := demo.Options{Seed: 3, Machines: 300, Users: 200, Alerts: 3000}
	var as []openatp.Alert
	machines := map[string]bool{}
	err := demo.Generate(o, demo.Funcs{
		OnMachine: func(m openatp.Machine) error { machines[m.ID] = true; return nil },
		OnAlert:   func(a openatp.Alert) error { as = append(as, a); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != o.Alerts {
		t.Fatalf("%d alerts, want %d", len(as), o.Alerts)
	}
	ids := map[string]bool{}
	severities, statuses := map[string]int{}, map[string]int{}
	for i, a := range as {
		n := a
		if err := n.Normalize(); err != nil {
			t.Fatalf("alert %d: %v", i, err)
		}
		if !reflect.DeepEqual(a, n) {
			t.Fatalf("alert %d changes when normalized:\n%+v\n%+v", i, a, n)
		}
		if ids[a.ID] || !machines[a.MachineID] {
			t.Fatalf("alert %d: id %s (seen %v), machine %s (generated %v)", i, a.ID, ids[a.ID], a.MachineID, machines[a.MachineID])
		}
		ids[a.ID] = true
		severities[a.Severity]++
		statuses[a.Status]++
		start := demo.DefaultStart
		if a.LastUpdateTime.After(start) || a.LastUpdateTime.Before(*a.AlertCreationTime) || a.AlertCreationTime.Before(start.Add(-31*24*time.Hour)) {
			t.Fatalf("alert %d: created %v, updated %v", i, a.AlertCreationTime, a.LastUpdateTime)
		}
		if i > 0 && a.AlertCreationTime.Before(as[i-1].AlertCreationTime.Add(-time.Minute)) {
			t.Fatalf("alert %d created at %v, well before alert %d (%v)", i, a.AlertCreationTime, i-1, as[i-1].AlertCreationTime)
		}
		if (a.Status == "Resolved") != (a.ResolvedTime != nil) || a.RelatedUser == nil || len(a.Evidence) == 0 {
			t.Fatalf("alert %d: %+v", i, a)
		}
	}
	for _, s := range openatp.AlertSeverities {
		if severities[s] < 20 {
			t.Errorf("%d alerts of severity %s", severities[s], s)
		}
	}
	for _, s := range openatp.AlertStatuses {
		if statuses[s] == 0 {
			t.Errorf("no alert of status %s", s)
		}
	}
	var again []openatp.Alert
	_ = demo.Generate(o, demo.Funcs{OnAlert: func(a openatp.Alert) error { again = append(again, a); return nil }})
	if !reflect.DeepEqual(as, again) {
		t.Error("the same options gave other alerts")
	}
	// A live alert is new, and moves on to resolved in two steps.
	live := demo.LiveAlert(1, 7, "4e0d3b8c-2f7a-4c1e-9b5d-6a8f0c2e4b71", as[0].MachineID, "alice", "contoso", time.Now())
	if err := live.Normalize(); err != nil || live.Status != "New" || live.LastUpdateTime != nil || *live.AADTenantID != "4e0d3b8c-2f7a-4c1e-9b5d-6a8f0c2e4b71" {
		t.Fatalf("live alert %+v, %v", live, err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var states []string
	for demo.Advance(&live, r, time.Now()) {
		states = append(states, live.Status)
	}
	if !slices.Equal(states, []string{"InProgress", "Resolved"}) || live.ResolvedTime == nil || live.AssignedTo == nil {
		t.Errorf("live alert went through %v: %+v", states, live)
	}
}

// Alerts carry the tenant they are generated for, and their times lie in
// the 30 days before Start.
func TestAlertsOfTenantAndStart(t *testing.T) {
	const tenant = "0f3c5a7e-9b1d-4e2f-8a6c-3d5e7f9a1b2c"
	start := demo.StartAt(time.Date(2031, 5, 6, 7, 8, 9, 987654321, time.UTC))
	if want := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC); !start.Equal(want) {
		t.Fatalf("StartAt: %v, want %v", start, want)
	}
	var n, recent int
	err := demo.Generate(demo.Options{Seed: 5, Machines: 40, Users: 20, Alerts: 100, Start: start, AADTenant: tenant}, demo.Funcs{
		OnAlert: func(a openatp.Alert) error {
			n++
			if a.AADTenantID == nil || *a.AADTenantID != tenant {
				t.Errorf("alert %s: aadTenantId %v, want %s", a.ID, a.AADTenantID, tenant)
			}
			if !a.LastUpdateTime.Before(start) || a.AlertCreationTime.Before(start.Add(-31*24*time.Hour)) {
				t.Errorf("alert %s: created %v, updated %v, start %v", a.ID, a.AlertCreationTime, a.LastUpdateTime, start)
			}
			if !a.LastUpdateTime.Before(start.Add(-7 * 24 * time.Hour)) {
				recent++
			}
			return nil
		},
	})
	if err != nil || n != 100 || recent == 0 {
		t.Fatalf("%d alerts, %d of the last 7 days: %v", n, recent, err)
	}
}

// The demo's example alert is the documentation's, with the evidence the
// documentation abridges, as ingest's live-shaped fixture has it.
func TestDocAlert(t *testing.T) {
	m, a := demo.DocAlert()
	for _, v := range []any{&m, &a} {
		var err error
		switch x := v.(type) {
		case *openatp.Machine:
			c := *x
			err = c.Normalize()
			if !reflect.DeepEqual(c, *x) {
				t.Errorf("the machine changes when normalized")
			}
		case *openatp.Alert:
			c := *x
			err = c.Normalize()
			if !reflect.DeepEqual(c, *x) {
				t.Errorf("the alert changes when normalized")
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if a.MachineID != m.ID {
		t.Fatal("the alert is not of the machine")
	}
	raw, err := os.ReadFile("../../ingest/testdata/alerts-live.json")
	if err != nil {
		t.Fatal(err)
	}
	var env struct{ Value []json.RawMessage }
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := json.Compact(&want, env.Value[1]); err != nil {
		t.Fatal(err)
	}
	a.ComputerDNSName, a.RBACGroupID, a.RBACGroupName = m.ComputerDNSName, 1, "A"
	got := wire.AppendAlert(nil, &a, true)
	if w := bytes.Replace(want.Bytes(), []byte(`,"domains":[]`), nil, 1); !bytes.Equal(got, w) {
		t.Errorf("DocAlert:\n got %s\nwant %s", got, w)
	}
}
