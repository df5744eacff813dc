package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/actionrequest"
	"github.com/openatp/openatp/internal/demotenant"
)

// getJSON GETs url with token and returns the status and body.
func getJSON(t *testing.T, u, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestDemoActions: `serve --demo` seeds the documentation's example
// action, served as documented, and a history of every implemented type
// in every final status, laid out before the tenant was made.
func TestDemoActions(t *testing.T) {
	data := t.TempDir()
	c := startServe(t, data, "--access-log=false")
	tok := mintToken(t, data, c.Tenant, c.ClientID, c.BaseURL)

	status, body := getJSON(t, c.BaseURL+"/api/machineactions/5382f7ea-7557-4ab7-9782-d50480024a4e", tok)
	want := `{"@odata.context":"` + c.BaseURL + `/api/$metadata#MachineActions/$entity","id":"5382f7ea-7557-4ab7-9782-d50480024a4e",` +
		`"type":"Isolate","title":null,"requestor":"Analyst@TestPrd.onmicrosoft.com","requestorComment":"test for docs","status":"Succeeded",` +
		`"machineId":"7b1f4967d9728e5aa3c06a9e617a22a4a5a17378","computerDnsName":"desktop-test",` +
		`"creationDateTimeUtc":"2019-01-02T14:39:38.2262283Z","lastUpdateDateTimeUtc":"2019-01-02T14:40:44.6596267Z",` +
		`"cancellationRequestor":null,"cancellationComment":null,"cancellationDateTimeUtc":null,"errorHResult":0,"scope":"Selective",` +
		`"externalId":null,"requestSource":"PublicApi","relatedFileInfo":null,"commands":[],"troubleshootInfo":null}`
	if status != 200 || string(body) != want {
		t.Errorf("the documented example: %d\n got %s\nwant %s", status, body, want)
	}

	status, body = getJSON(t, c.BaseURL+"/api/machineactions?"+url.Values{"$top": {"10000"}}.Encode(), tok)
	var page struct {
		Value []struct {
			Type, Status          string
			CreationDateTimeUtc   time.Time
			LastUpdateDateTimeUtc time.Time
		}
	}
	if err := json.Unmarshal(body, &page); status != 200 || err != nil {
		t.Fatalf("list: %d %v %s", status, err, body)
	}
	if len(page.Value) != 1+demotenant.Actions {
		t.Errorf("%d actions, want %d", len(page.Value), 1+demotenant.Actions)
	}
	seen := map[string]map[string]bool{}
	for _, a := range page.Value {
		if !openatp.FinalActionStatus(a.Status) {
			t.Errorf("a %s action is %s: the history is final", a.Type, a.Status)
		}
		if a.LastUpdateDateTimeUtc.After(time.Now()) || a.CreationDateTimeUtc.After(a.LastUpdateDateTimeUtc) {
			t.Errorf("a %s action created %v, updated %v: not before now", a.Type, a.CreationDateTimeUtc, a.LastUpdateDateTimeUtc)
		}
		if seen[a.Type] == nil {
			seen[a.Type] = map[string]bool{}
		}
		seen[a.Type][a.Status] = true
	}
	for _, typ := range []string{"Isolate", "Unisolate", "RunAntiVirusScan", "RestrictCodeExecution", "UnrestrictCodeExecution",
		"CollectInvestigationPackage", "StopAndQuarantineFile", "Offboard"} {
		for _, s := range []string{"Succeeded", "Failed", "Cancelled", "TimeOut"} {
			if !seen[typ][s] && !(typ == "Offboard" && s == "Succeeded") {
				t.Errorf("no %s action ends %s", typ, s)
			}
		}
	}
}

// TestCLIActions: `seed --actions` writes the same history for the same
// seed and end, before the end; `action list|get|cancel` read and cancel
// them in the store.
func TestCLIActions(t *testing.T) {
	data := t.TempDir()
	const end = "2026-03-01T12:00:00Z"
	seed := func(name string) map[string]any {
		out, err := cli(t, "seed", "--data", data, "--tenant", name, "--machines", "20", "--users", "10", "--actions", "24", "--seed", "3", "--end", end)
		if err != nil {
			t.Fatal(err, out)
		}
		var res map[string]any
		if err := json.Unmarshal([]byte(out), &res); err != nil || res["actions"] != float64(24) {
			t.Fatalf("seed printed %q: %v", out, err)
		}
		return res
	}
	seed("a.example")
	seed("b.example")
	list := func(args ...string) []actionJSON {
		t.Helper()
		out, err := cli(t, append([]string{"action", "list", "--data", data}, args...)...)
		if err != nil {
			t.Fatal(err, out)
		}
		var as []actionJSON
		if err := json.Unmarshal([]byte(out), &as); err != nil {
			t.Fatalf("action list printed %q: %v", out, err)
		}
		return as
	}
	as, bs := list("--tenant", "a.example", "--limit", "0"), list("--tenant", "b.example", "--limit", "0")
	if len(as) != 24 || !reflect.DeepEqual(as, bs) {
		t.Fatalf("the same seed and end gave different histories: %d and %d actions", len(as), len(bs))
	}
	endT, _ := time.Parse(time.RFC3339, end)
	for i, a := range as {
		updated, err := time.Parse(time.RFC3339Nano, a.LastUpdateDateTimeUTC)
		if err != nil || !updated.Before(endT) || !openatp.FinalActionStatus(a.Status) {
			t.Errorf("action %d: %s, updated %s: want final, before %s", i, a.Status, a.LastUpdateDateTimeUTC, end)
		}
		if i > 0 && a.LastUpdateDateTimeUTC > as[i-1].LastUpdateDateTimeUTC {
			t.Errorf("action %d is more recent than action %d: not newest first", i, i-1)
		}
	}
	if got := list("--tenant", "a.example"); len(got) != 24 {
		t.Errorf("the default --limit listed %d of 24", len(got))
	}
	failed := list("--tenant", "a.example", "--status", "failed", "--limit", "2")
	if len(failed) != 2 || failed[0].Status != "Failed" || failed[1].Status != "Failed" || failed[0].ErrorHResult == 0 {
		t.Errorf("--status failed --limit 2 gave %+v", failed)
	}
	on := list("--tenant", "a.example", "--machine", strings.ToUpper(as[0].MachineID))
	if len(on) == 0 {
		t.Errorf("no action on machine %s", as[0].MachineID)
	}
	for _, a := range on {
		if a.MachineID != as[0].MachineID {
			t.Errorf("--machine %s listed an action on %s", as[0].MachineID, a.MachineID)
		}
	}

	out, err := cli(t, "action", "get", "--data", data, "--tenant", "a.example", "--id", as[3].ID)
	var got actionJSON
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || !reflect.DeepEqual(got, as[3]) {
		t.Errorf("action get: %v %s; want %+v", err, out, as[3])
	}
	if out, err := cli(t, "action", "get", "--data", data, "--tenant", "a.example", "--id", openatp.NewGUID()); err == nil {
		t.Errorf("get of an unknown id succeeded: %s", out)
	}
	if out, err := cli(t, "action", "cancel", "--data", data, "--tenant", "a.example", "--id", as[0].ID, "--comment", "late"); err == nil ||
		!strings.Contains(err.Error(), "is in a final state ("+as[0].Status+") and cannot be cancelled") {
		t.Errorf("cancel of a final action: %v %s", err, out)
	}

	// A live action, as the API would create it, is cancelled.
	st := openStore(t, data)
	tn, err := st.Tenant(context.Background(), "a.example")
	if err != nil {
		t.Fatal(err)
	}
	req := actionrequest.Request{Type: openatp.ActionIsolate, Comment: "contain"}
	live, err := req.Action(&openatp.Machine{ID: as[0].MachineID}, "analyst@contoso.com", openatp.ActionRequestSource)
	if err == nil {
		live, err = st.CreateMachineAction(context.Background(), tn.ID, live)
	}
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, err = cli(t, "action", "cancel", "--data", data, "--tenant", "a.example", "--id", strings.ToUpper(live.ID), "--comment", "wrong machine")
	if err != nil || json.Unmarshal([]byte(out), &got) != nil {
		t.Fatalf("action cancel: %v %s", err, out)
	}
	if got.Status != "Cancelled" || got.CancellationComment == nil || *got.CancellationComment != "wrong machine" ||
		got.CancellationRequestor == nil || *got.CancellationRequestor != cliRequestor || got.CancellationDateTimeUTC == nil {
		t.Errorf("cancelled action: %s", out)
	}
	if got := list("--tenant", "a.example", "--status", "Cancelled", "--limit", "1"); len(got) != 1 || got[0].ID != live.ID {
		t.Errorf("the cancelled action is not the most recently updated: %+v", got)
	}
	if out, err := cli(t, "action", "list", "--data", data, "--tenant", "a.example", "--status", "Done"); err == nil {
		t.Errorf("--status Done succeeded: %s", out)
	}
}
