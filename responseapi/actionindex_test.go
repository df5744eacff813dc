package responseapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
	"github.com/openatp/openatp/sqlite"
)

// The poll (a filter on lastUpdateDateTimeUtc, answered from memory) sees
// every write as the store holds it: a create and a cancel through the
// API, an update and a history stored by another process (another store
// on the same file, older stamps included), a reset; each action once, as
// stored, by stamp, and exactly the page the same query answers from the
// store (an order the index does not serve).
func TestActionPollSeesEveryWrite(t *testing.T) {
	ctx := context.Background()
	af := newActionFixture(t, openatp.ActionTiming{Pending: time.Hour, InProgress: time.Hour, TimeOut: 48 * time.Hour})
	other, err := sqlite.Open(ctx, af.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	// poll answers the poll from t0, and the same from the store (an
	// $orderby the index does not serve, which reads the store: the
	// stamps are unique, so the order is the same).
	t0 := "2000-01-01T00:00:00Z"
	poll := func(query string) []map[string]any {
		t.Helper()
		var pages [2][]map[string]any
		for i, extra := range []string{"", "&$orderby=lastUpdateDateTimeUtc,id"} {
			r := af.Do(t, "GET", "/api/machineactions?$filter=lastUpdateDateTimeUtc%20gt%20"+query+extra, af.token)
			if r.Status != 200 {
				t.Fatalf("poll: %d %s", r.Status, r.Body)
			}
			var v struct{ Value []map[string]any }
			if err := json.Unmarshal(r.Body, &v); err != nil {
				t.Fatal(err)
			}
			pages[i] = v.Value
		}
		a, _ := json.Marshal(pages[0])
		b, _ := json.Marshal(pages[1])
		if string(a) != string(b) {
			t.Errorf("from memory:\n%s\nfrom the store:\n%s", a, b)
		}
		return pages[0]
	}
	statuses := func(page []map[string]any) string {
		var s []string
		for _, a := range page {
			s = append(s, a["type"].(string)+":"+a["status"].(string))
		}
		return strings.Join(s, " ")
	}
	start := func(n int, route, body string) map[string]any {
		t.Helper()
		return actionJSON(t, af.SendJSON(t, "POST", "/api/machines/"+apitest.MID(n)+"/"+route, af.token, body), 201,
			af.Srv.URL+"/api/$metadata#MachineActions/$entity")
	}
	iso := start(1, "isolate", `{"Comment":"c"}`)
	if got := statuses(poll(t0)); got != "Isolate:Pending" {
		t.Errorf("after a create: %s", got)
	}
	scan := start(2, "runAntiVirusScan", `{"Comment":"c","ScanType":"Full"}`)
	last := iso["lastUpdateDateTimeUtc"].(string)
	if got := statuses(poll(last)); got != "RunAntiVirusScan:Pending" {
		t.Errorf("after a second create, from the first: %s", got)
	}
	// Another process moves the isolation on: the index reads it.
	if _, err := other.UpdateMachineAction(ctx, af.Tenant.ID, iso["id"].(string), func(a *openatp.MachineAction, _ time.Time) error {
		return a.Advance(openatp.ActionInProgress, 0)
	}); err != nil {
		t.Fatal(err)
	}
	if got := statuses(poll(t0)); got != "RunAntiVirusScan:Pending Isolate:InProgress" {
		t.Errorf("after another process's update: %s", got)
	}
	r := af.SendJSON(t, "POST", "/api/machineactions/"+scan["id"].(string)+"/cancel", af.token, `{"Comment":"no"}`)
	if r.Status != 200 {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	if got := statuses(poll(t0)); got != "Isolate:InProgress RunAntiVirusScan:Cancelled" {
		t.Errorf("after a cancel: %s", got)
	}
	// Another process stores a history stamped before everything, and
	// replaces the isolation by an older version of it.
	old := openatp.MachineAction{ID: openatp.NewGUID(), Type: openatp.ActionOffboard, Requestor: "app", RequestorComment: "old",
		Status: openatp.ActionSucceeded, MachineID: apitest.MID(3), CreationDateTimeUTC: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		LastUpdateDateTimeUTC: time.Date(2020, 1, 1, 0, 1, 0, 0, time.UTC)}
	back, err := other.MachineAction(ctx, af.Tenant.ID, iso["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	back.Status, back.LastUpdateDateTimeUTC = openatp.ActionFailed, time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	back.ErrorHResult = -1
	if err := other.PutMachineActions(ctx, af.Tenant.ID, []openatp.MachineAction{old, back}); err != nil {
		t.Fatal(err)
	}
	if got := statuses(poll(t0)); got != "Offboard:Succeeded Isolate:Failed RunAntiVirusScan:Cancelled" {
		t.Errorf("after another process's history: %s", got)
	}
	if err := other.ResetTenant(ctx, af.Tenant.ID); err != nil {
		t.Fatal(err)
	}
	if got := statuses(poll(t0)); got != "" {
		t.Errorf("after a reset: %s", got)
	}
}

// A page of the poll from memory, with $top, $skip, $count and the
// reverse order, is the page the store answers.
func TestActionPollPages(t *testing.T) {
	af := newActionFixture(t, openatp.ActionTiming{Pending: time.Hour, InProgress: time.Hour, TimeOut: 48 * time.Hour})
	for n := 1; n <= 3; n++ {
		for _, route := range []string{"isolate", "restrictCodeExecution", "collectInvestigationPackage"} {
			r := af.SendJSON(t, "POST", "/api/machines/"+apitest.MID(n)+"/"+route, af.token, `{"Comment":"c"}`)
			if r.Status != 201 {
				t.Fatalf("%s: %d %s", route, r.Status, r.Body)
			}
		}
	}
	for _, q := range []string{
		"$filter=lastUpdateDateTimeUtc gt 2000-01-01Z&$top=4",
		"$filter=lastUpdateDateTimeUtc gt 2000-01-01Z&$top=4&$skip=3&$count=true",
		"$filter=lastUpdateDateTimeUtc ge 2000-01-01Z and lastUpdateDateTimeUtc lt 2100-01-01Z&$skip=7&$top=4&$count=true",
		"$orderby=lastUpdateDateTimeUtc desc&$top=5&$count=true",
		"$top=0&$count=true",
		"$filter=lastUpdateDateTimeUtc gt 2100-01-01Z&$count=true",
	} {
		q = strings.ReplaceAll(q, " ", "%20")
		fromMemory := af.Do(t, "GET", "/api/machineactions?"+q, af.token)
		// The same with a filter term the index does not serve, which
		// keeps every action: read from the store.
		storeQ := q + "&$filter=requestor%20ne%20'x'"
		if strings.Contains(q, "$filter=") {
			storeQ = strings.Replace(q, "$filter=", "$filter=requestor%20ne%20'x'%20and%20", 1)
		}
		fromStore := af.Do(t, "GET", "/api/machineactions?"+storeQ, af.token)
		if fromMemory.Status != 200 || fromStore.Status != 200 {
			t.Fatalf("%s: %d %s; %d %s", q, fromMemory.Status, fromMemory.Body, fromStore.Status, fromStore.Body)
		}
		// The next links differ by the query they repeat: compare
		// without them, and their $skip.
		strip := func(b []byte) (string, string) {
			var v map[string]any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			next, _ := v["@odata.nextLink"].(string)
			delete(v, "@odata.nextLink")
			out, _ := json.Marshal(v)
			if i := strings.LastIndex(next, "$skip="); i >= 0 {
				next = next[i:]
			}
			return string(out), next
		}
		m, mn := strip(fromMemory.Body)
		s, sn := strip(fromStore.Body)
		if m != s || mn != sn {
			t.Errorf("%s:\nfrom memory %s (next %q)\nfrom the store %s (next %q)", q, m, mn, s, sn)
		}
	}
}
