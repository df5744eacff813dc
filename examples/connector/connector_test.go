package connector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/openatp/openatp/examples/connector"
)

// openatpBin is the openatp binary the tests run: $OPENATP_BIN, else one
// built by TestMain.
var openatpBin = os.Getenv("OPENATP_BIN")

func TestMain(m *testing.M) {
	if openatpBin == "" {
		dir, err := os.MkdirTemp("", "openatp-bin")
		if err != nil {
			panic(err)
		}
		openatpBin = filepath.Join(dir, "openatp")
		build := exec.Command("go", "build", "-o", openatpBin, "github.com/openatp/openatp/cmd/openatp")
		if out, err := build.CombinedOutput(); err != nil {
			panic(fmt.Sprintf("go build openatp: %v\n%s", err, out))
		}
		code := m.Run()
		os.RemoveAll(dir)
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// openATP is a running `openatp serve --demo`, as its demo-credentials.json
// describes it.
type openATP struct {
	BaseURL      string `json:"base_url"`
	AdminURL     string `json:"admin_url"`
	Tenant       string `json:"tenant"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	AdminKey     string `json:"admin_key"`
}

// startOpenATP starts openatp on a free port with a fresh data directory
// and stops it when the test ends.
func startOpenATP(t *testing.T) *openATP {
	t.Helper()
	data := t.TempDir()
	cmd := exec.Command(openatpBin, "serve", "--demo", "--data", data, "--addr", "127.0.0.1:0", "--tls-addr", "")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b, err := os.ReadFile(filepath.Join(data, "demo-credentials.json"))
		if err != nil {
			continue
		}
		o := &openATP{}
		if err := json.Unmarshal(b, o); err != nil {
			t.Fatal(err)
		}
		return o
	}
	t.Fatal("openatp did not start within 60 s")
	return nil
}

// admin calls openatp's admin API and decodes its JSON answer into out
// (when not nil); any status but 2xx fails the test.
func (o *openATP) admin(t *testing.T, method, path, body string, out any) {
	t.Helper()
	req, err := http.NewRequest(method, o.AdminURL+path, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+o.AdminKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s %s", method, path, res.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// journalEntry is what these tests read of openatp's request journal.
type journalEntry struct {
	Time   time.Time `json:"time"`
	Status int       `json:"status"`
	Fault  *string   `json:"fault"`
}

// On a storm of 429s the connector waits as long as Retry-After says and
// tries again: it calls the endpoint exactly three times (two refused,
// one answered), a second apart, and returns the machine.
func TestConnectorBacksOffOn429(t *testing.T) {
	o := startOpenATP(t)

	// Seed the data this test needs: one machine, and the user's logon on it.
	id := "4a1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c"
	o.admin(t, "POST", "/_openatp/tenants/"+o.Tenant+"/machines",
		`[{"id":"`+id+`","computerDnsName":"build01.contoso.com","healthStatus":"Active"}]`, nil)
	o.admin(t, "POST", "/_openatp/tenants/"+o.Tenant+"/logons",
		`[{"machineId":"`+id+`","accountName":"ci-runner-42","accountDomain":"contoso","logonType":"Service","timestamp":"2026-01-02T03:04:05Z"}]`, nil)

	// The storm: the next two calls of this app to the endpoint get 429 with
	// Retry-After: 1, as the service's throttling answers.
	o.admin(t, "POST", "/_openatp/faults", `{"route":"GET /api/users/{id}/machines","app":"`+o.ClientID+`",
		"kind":"error","status":429,"retry_after":1,"max_hits":2}`, nil)

	c := &connector.Client{APIBase: o.BaseURL, Authority: o.BaseURL + "/" + o.Tenant,
		ClientID: o.ClientID, ClientSecret: o.ClientSecret, HTTP: &http.Client{Timeout: 10 * time.Second}}
	ms, err := c.UserMachines(context.Background(), "ci-runner-42")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].ComputerDNSName != "build01.contoso.com" {
		t.Fatalf("machines: %+v", ms)
	}

	// What the connector asked, from openatp's journal.
	var calls []journalEntry
	o.admin(t, "GET", "/_openatp/tenants/"+o.Tenant+"/journal?app="+o.ClientID+
		"&route="+url.QueryEscape("GET /api/users/{id}/machines"), "", &calls)
	if len(calls) != 3 || calls[0].Status != 429 || calls[1].Status != 429 || calls[2].Status != 200 {
		t.Fatalf("calls: %+v, want 429, 429, 200", calls)
	}
	for i := 1; i < len(calls); i++ {
		if gap := calls[i].Time.Sub(calls[i-1].Time); gap < time.Second {
			t.Errorf("call %d came %v after the one before: Retry-After said 1 s", i+1, gap)
		}
	}
	var throttled struct{ Count int }
	o.admin(t, "GET", "/_openatp/tenants/"+o.Tenant+"/journal/count?status=429&fault=true", "", &throttled)
	if throttled.Count != 2 {
		t.Errorf("%d throttled calls, want 2", throttled.Count)
	}
}

// When the service stays unavailable the connector gives up after
// MaxAttempts calls, and says so.
func TestConnectorGivesUp(t *testing.T) {
	o := startOpenATP(t)
	o.admin(t, "POST", "/_openatp/faults", `{"route":"/api/users/{id}/machines","kind":"error","status":503,"retry_after":0}`, nil)

	c := &connector.Client{APIBase: o.BaseURL, Authority: o.BaseURL + "/" + o.Tenant,
		ClientID: o.ClientID, ClientSecret: o.ClientSecret, HTTP: &http.Client{Timeout: 10 * time.Second}, MaxAttempts: 3}
	if _, err := c.UserMachines(context.Background(), "user1"); err == nil {
		t.Fatal("no error from an unavailable service")
	}
	var n struct{ Count int }
	o.admin(t, "GET", "/_openatp/tenants/"+o.Tenant+"/journal/count?status=503", "", &n)
	if n.Count != 3 {
		t.Errorf("%d calls, want MaxAttempts 3", n.Count)
	}
}

// A playbook isolates a machine and waits until the isolation has
// succeeded; the journal shows the action moving on openatp's clock
// (Pending, InProgress, Succeeded: about 12 s by default) while the
// playbook polls it.
func TestPlaybookIsolates(t *testing.T) {
	o := startOpenATP(t)

	// An app allowed to isolate machines and read them.
	var app struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	o.admin(t, "POST", "/_openatp/tenants/"+o.Tenant+"/apps",
		`{"name":"playbook","roles":["Machine.Isolate","Machine.Read.All"]}`, &app)

	c := &connector.Client{APIBase: o.BaseURL, Authority: o.BaseURL + "/" + o.Tenant,
		ClientID: app.ClientID, ClientSecret: app.ClientSecret, HTTP: &http.Client{Timeout: 10 * time.Second}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// mymachine1.contoso.com, a machine of the demo tenant.
	a, err := c.Isolate(ctx, "1e5bc9d7e413ddd7902c2932e418702b84d0cc07", "Contain: credential theft")
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != "Pending" {
		t.Fatalf("new action: %+v, want Pending", a)
	}
	done, err := c.WaitForAction(ctx, a.ID, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != "Succeeded" {
		t.Fatalf("action ended %s, want Succeeded", done.Status)
	}

	// The polling, from openatp's journal: every read answered 200, a few
	// seconds apart, until the action had succeeded.
	var polls []journalEntry
	o.admin(t, "GET", "/_openatp/tenants/"+o.Tenant+"/journal?app="+app.ClientID+
		"&route="+url.QueryEscape("GET /api/machineactions/{id}"), "", &polls)
	if len(polls) < 3 {
		t.Fatalf("%d polls, want the several of a 12 s isolation", len(polls))
	}
	for i, p := range polls {
		if p.Status != 200 {
			t.Errorf("poll %d: %d", i+1, p.Status)
		}
		if i > 0 && p.Time.Sub(polls[i-1].Time) < 2*time.Second {
			t.Errorf("poll %d came %v after the one before, want the 2 s interval", i+1, p.Time.Sub(polls[i-1].Time))
		}
	}
}

// A threat-intelligence pipeline pushes an IOC that raises alerts; a
// machine then reports a file with that hash (a file event, imported
// through the admin API); the SIEM's lastUpdateTime poll sees the alert;
// the pipeline removes the IOC with BatchDelete.
func TestPipelineIOCRaisesAlert(t *testing.T) {
	o := startOpenATP(t)
	var app struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	o.admin(t, "POST", "/_openatp/tenants/"+o.Tenant+"/apps",
		`{"name":"ti-pipeline","roles":["Ti.ReadWrite.All","Alert.Read.All"]}`, &app)
	c := &connector.Client{APIBase: o.BaseURL, Authority: o.BaseURL + "/" + o.Tenant,
		ClientID: app.ClientID, ClientSecret: app.ClientSecret, HTTP: &http.Client{Timeout: 10 * time.Second}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	const hash = "3395856ce81f2b7382dee72602f798b642f14140"
	in, err := c.SubmitIndicator(ctx, connector.Indicator{IndicatorValue: hash, IndicatorType: "FileSha1",
		Action: "Audit", GenerateAlert: true, Severity: "High", Title: "Invoice dropper", Description: "From the TI feed"})
	if err != nil {
		t.Fatal(err)
	}
	since := time.Now()
	// mymachine1.contoso.com reports the file.
	o.admin(t, "POST", "/_openatp/tenants/"+o.Tenant+"/fileevents", `[{"Timestamp":"`+
		time.Now().UTC().Format(time.RFC3339)+`","DeviceId":"1e5bc9d7e413ddd7902c2932e418702b84d0cc07",`+
		`"ActionType":"FileCreated","FileName":"invoice.exe","SHA1":"`+hash+`"}]`, nil)

	alerts, err := c.AlertsSince(ctx, since)
	if err != nil {
		t.Fatal(err)
	}
	var raised []connector.Alert
	for _, a := range alerts {
		if a.DetectionSource == "CustomerTI" {
			raised = append(raised, a)
		}
	}
	if len(raised) != 1 || raised[0].Title != "Invoice dropper" || raised[0].Severity != "High" ||
		raised[0].MachineID != "1e5bc9d7e413ddd7902c2932e418702b84d0cc07" {
		t.Fatalf("alerts since the import: %+v, want the IOC's", alerts)
	}

	if err := c.DeleteIndicators(ctx, []string{in.ID}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteIndicators(ctx, []string{in.ID}); err == nil {
		t.Error("the IOC is still there after BatchDelete")
	}
}
