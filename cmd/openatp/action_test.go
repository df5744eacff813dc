package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/openatp/openatp"
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
	if len(page.Value) != 1+demoActions {
		t.Errorf("%d actions, want %d", len(page.Value), 1+demoActions)
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
