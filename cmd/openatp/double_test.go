package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Fault rules from the config file are there at start; the
// CLI adds, lists and deletes rules and reads, counts, clears and follows
// the journal of a running server, printing the admin API's JSON.
func TestFaultAndJournalCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	data := t.TempDir()
	config := filepath.Join(t.TempDir(), "openatp.json")
	write(t, config, `{"fault": [{"id": "from-flag", "route": "POST /api/alerts/batchUpdate", "kind": "reset", "seed": 7},
		{"id": "from-config", "route": "GET /api/users/{id}/machines", "kind": "error", "status": 503, "max_hits": 1}]}`)
	c := startServe(t, data, "--config", config, "--rate-limit", "off")
	tok := strings.TrimSpace(mustCLI(t, "token", "--data", data, "--tenant", c.Tenant, "--app", c.ClientID))
	conn := []string{"--data", data, "--base-url", c.BaseURL}
	fault := func(args ...string) string { return mustCLI(t, append(append([]string{"fault"}, args...), conn...)...) }
	journal := func(args ...string) string {
		return mustCLI(t, append(append([]string{"journal", "--tenant", c.TenantName}, args...), conn...)...)
	}
	get := func(path string) int {
		req, _ := http.NewRequest("GET", c.BaseURL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}

	var rules []struct {
		ID     string
		Seed   uint64
		Kind   string
		Status int
		Hits   int
		Active bool
	}
	if err := json.Unmarshal([]byte(fault("list")), &rules); err != nil || len(rules) != 2 ||
		rules[0].ID != "from-flag" || rules[0].Seed != 7 || rules[1].ID != "from-config" || rules[1].Status != 503 {
		t.Fatalf("fault list: %+v %v", rules, err)
	}
	if s := get("/api/users/user1/machines"); s != 503 {
		t.Errorf("the config file's rule: %d, want 503", s)
	}
	if s := get("/api/users/user1/machines"); s != 200 {
		t.Errorf("after its one hit: %d, want 200", s)
	}

	var added struct {
		ID         string
		RetryAfter int `json:"retry_after"`
		Route      string
	}
	out := fault("add", "--kind", "error", "--status", "429", "--route", "GET /api/machines/{id}", "--max-hits", "2", "--id", "storm")
	if err := json.Unmarshal([]byte(out), &added); err != nil || added.ID != "storm" || added.RetryAfter != 1 || added.Route != "GET /api/machines/{id}" {
		t.Fatalf("fault add: %s %v", out, err)
	}
	if !strings.HasPrefix(out, "{\n  \"") {
		t.Errorf("fault add prints %q, not indented JSON", out)
	}
	if _, err := cli(t, append([]string{"fault", "add", "--kind", "error", "--status", "soon"}, conn...)...); err == nil {
		t.Error("--status soon accepted")
	}
	if _, err := cli(t, append([]string{"fault", "add", "--kind", "explode"}, conn...)...); err == nil || !strings.Contains(err.Error(), "400 InvalidInput") {
		t.Errorf("a bad kind: %v", err)
	}
	// fail-action: the errorHResult given unsigned is shown signed; only
	// on a route that creates an action.
	out = fault("add", "--kind", "fail-action", "--route", "POST /api/machines/{id}/isolate", "--error-hresult", "0x80004005", "--id", "fails")
	if !strings.Contains(out, `"kind": "fail-action"`) || !strings.Contains(out, `"error_hresult": -2147467259`) {
		t.Errorf("fault add --kind fail-action: %s", out)
	}
	fault("delete", "--id", "fails")
	if _, err := cli(t, append([]string{"fault", "add", "--kind", "fail-action", "--route", "GET /api/machines/{id}"}, conn...)...); err == nil ||
		!strings.Contains(err.Error(), "400 InvalidInput") || !strings.Contains(err.Error(), "creates no machine action") {
		t.Errorf("fail-action on a route that creates no action: %v", err)
	}

	// Follow the journal while calls come in.
	ctx, cancel := context.WithCancel(context.Background())
	var followed syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runCLI(ctx, append([]string{"journal", "--tenant", c.Tenant, "--follow", "--interval", "20ms", "--fault", "storm"}, conn...),
			noEnv, strings.NewReader(""), &followed, &followed)
	}()
	for range 3 {
		get("/api/machines/mymachine1.contoso.com")
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(followed.String(), "\n") < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("journal --follow: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(followed.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("journal --follow printed %d lines, want the rule's 2 hits:\n%s", len(lines), followed.String())
	}
	for _, l := range lines {
		var e struct {
			Status int
			Fault  string
			Path   string
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.Status != 429 || e.Fault != "storm" || e.Path != "/api/machines/mymachine1.contoso.com" {
			t.Errorf("followed line %s: %v", l, err)
		}
	}

	var entries []struct{ Status int }
	if err := json.Unmarshal([]byte(journal("--route", "GET /api/users/{id}/machines")), &entries); err != nil || len(entries) != 2 ||
		entries[0].Status != 503 || entries[1].Status != 200 {
		t.Errorf("journal --route: %+v %v", entries, err)
	}
	if got := strings.Join(strings.Fields(journal("--count", "--status", "4xx")), ""); got != `{"count":2}` {
		t.Errorf("journal --count: %s", got)
	}
	journal("--clear")
	if got := strings.Join(strings.Fields(journal("--count")), ""); got != `{"count":0}` {
		t.Errorf("after --clear: %s", got)
	}

	fault("delete", "--id", "storm")
	if err := json.Unmarshal([]byte(fault("list")), &rules); err != nil || len(rules) != 2 {
		t.Errorf("after delete: %+v", rules)
	}
	fault("delete", "--all")
	if got := strings.TrimSpace(fault("list")); got != "[]" {
		t.Errorf("after delete --all: %s", got)
	}
	if _, err := cli(t, "fault", "delete", "--id", "nosuch", "--base-url", c.BaseURL, "--admin-key", c.AdminKey); err == nil || !strings.Contains(err.Error(), "404 ResourceNotFound") {
		t.Errorf("deleting an unknown rule: %v", err)
	}
	if _, err := cli(t, "journal", "--tenant", c.Tenant, "--base-url", c.BaseURL, "--admin-key", "wrong"); err == nil || !strings.Contains(err.Error(), "401 Unauthorized") {
		t.Errorf("a wrong admin key: %v", err)
	}
}

// --fault adds a rule at start; a bad one stops serve with a message
// naming it.
func TestServeFaultFlag(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	data := t.TempDir()
	_, err := cli(t, "serve", "--data", data, "--addr", "127.0.0.1:0", "--tls-addr", "", "--fault", `{"kind":"error","status":700}`)
	if err == nil || !strings.Contains(err.Error(), "--fault") || !strings.Contains(err.Error(), "status 700") {
		t.Errorf("serve with a bad rule: %v", err)
	}
	_, err = cli(t, "serve", "--data", data, "--addr", "127.0.0.1:0", "--tls-addr", "", "--fault", `{"kind":"reset","route":"/api/x"}`)
	if err == nil || !strings.Contains(err.Error(), `route "/api/x" matches no route openatp serves`) {
		t.Errorf("serve with a rule that can never apply: %v", err)
	}
	c := startServe(t, data, "--fault", `{"id":"a","kind":"reset","route":"POST /{tenant}/oauth2/v2.0/token","probability":0}`, "--fault", `{"id":"b","kind":"error","status":503}`)
	var rules []struct{ ID string }
	out := mustCLI(t, "fault", "list", "--base-url", c.BaseURL, "--admin-key", c.AdminKey)
	if err := json.Unmarshal([]byte(out), &rules); err != nil || len(rules) != 2 || rules[0].ID != "a" || rules[1].ID != "b" {
		t.Errorf("fault list: %s", out)
	}
}
