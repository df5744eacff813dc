package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/openatp/openatp/internal/demotenant"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func noEnv(string) string { return "" }

// cli runs one command to completion and returns its stdout.
func cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb syncBuffer
	err := runCLI(context.Background(), args, noEnv, strings.NewReader(""), &out, &errb)
	if err != nil {
		return out.String() + errb.String(), err
	}
	return out.String(), nil
}

// startServe runs `openatp serve --demo` on random ports and waits for the
// demo credentials it writes.
func startServe(t *testing.T, data string, extra ...string) demotenant.Credentials {
	t.Helper()
	c, _ := startServeLog(t, data, append([]string{"--addr", "127.0.0.1:0", "--tls-addr", "127.0.0.1:0"}, extra...)...)
	return c
}

// startServeLog runs `openatp serve --demo` with args and returns the demo
// credentials and the server's log (its stderr).
func startServeLog(t *testing.T, data string, args ...string) (demotenant.Credentials, *syncBuffer) {
	t.Helper()
	c, errb, _ := startServeOut(t, data, args...)
	return c, errb
}

// startServeOut is startServeLog that also returns what serve printed
// (its stdout).
func startServeOut(t *testing.T, data string, args ...string) (demotenant.Credentials, *syncBuffer, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	errb := &syncBuffer{}
	done := make(chan error, 1)
	args = append([]string{"serve", "--demo", "--data", data}, args...)
	go func() { done <- runCLI(ctx, args, noEnv, strings.NewReader(""), out, errb) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v\n%s", err, errb.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop within 30 s of cancellation")
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v\n%s\n%s", err, out.String(), errb.String())
		default:
		}
		if strings.Contains(out.String(), "Try it") {
			b, err := os.ReadFile(filepath.Join(data, demotenant.CredFile))
			if err != nil {
				t.Fatal(err)
			}
			var c demotenant.Credentials
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatal(err)
			}
			return c, errb, out
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("serve did not print its credentials in time:\n%s\n%s", out.String(), errb.String())
	return demotenant.Credentials{}, nil, nil
}

func httpsClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("CA file holds no certificate")
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 30 * time.Second}
}

type machinesAnswer struct {
	Context string `json:"@odata.context"`
	Value   []struct {
		ID              string `json:"id"`
		ComputerDNSName string `json:"computerDnsName"`
		RBACGroupName   string `json:"rbacGroupName"`
	} `json:"value"`
}

func getMachines(t *testing.T, c *http.Client, url, token string) (int, machinesAnswer, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var a machinesAnswer
	if res.StatusCode == 200 {
		if err := json.Unmarshal(body, &a); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
	}
	return res.StatusCode, a, body
}

// The documented request, made by Microsoft's own Go identity library
// against the server's HTTPS authority, returns the documented machines.
func TestDemoWithAzidentity(t *testing.T) {
	data := t.TempDir()
	c := startServe(t, data)
	if c.CAFile == "" || c.TLSBaseURL == "" || c.ClientSecret == "" || c.AdminKey == "" {
		t.Fatalf("incomplete demo credentials: %+v", c)
	}
	client := httpsClient(t, c.CAFile)
	cred, err := azidentity.NewClientSecretCredential(c.Tenant, c.ClientID, c.ClientSecret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: c.TLSBaseURL + "/"},
			Transport: client,
		},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://api.securitycenter.microsoft.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{c.TLSBaseURL, c.BaseURL} {
		status, a, body := getMachines(t, client, base+"/api/users/user1/machines", tok.Token)
		if status != 200 {
			t.Fatalf("%s: status %d: %s", base, status, body)
		}
		if want := base + "/api/$metadata#Machines"; a.Context != want {
			t.Errorf("@odata.context %q, want %q", a.Context, want)
		}
		var got []string
		for _, m := range a.Value {
			got = append(got, m.ID+" "+m.ComputerDNSName+" "+m.RBACGroupName)
		}
		want := []string{
			"1e5bc9d7e413ddd7902c2932e418702b84d0cc07 mymachine1.contoso.com The-A-Team",
			"7292e4b8cb74ff1cc3d8a495eb29dc8858b732f7 mymachine2.contoso.com Tier-0 assets",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: machines\n%s\nwant\n%s", base, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}

	// A v1 token requested with resource= works the same.
	form := "grant_type=client_credentials&client_id=" + c.ClientID + "&client_secret=" + c.ClientSecret +
		"&resource=https%3A%2F%2Fapi.securitycenter.windows.com%2F"
	res, err := client.Post(c.TLSBaseURL+"/"+c.Tenant+"/oauth2/token", "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		TokenType   string `json:"token_type"`
		ExpiresIn   string `json:"expires_in"` // v1: a string of digits, as Entra's
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(res.Body).Decode(&tr)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 || tr.TokenType != "Bearer" || tr.ExpiresIn != "3599" {
		t.Fatalf("v1 token: status %d %+v %v", res.StatusCode, tr, err)
	}
	if status, a, body := getMachines(t, client, c.BaseURL+"/api/v1.0/users/user1/machines", tr.AccessToken); status != 200 || len(a.Value) != 2 {
		t.Fatalf("v1 token: status %d: %s", status, body)
	}

	// The demo's special users: one on many machines, case twins.
	if status, a, _ := getMachines(t, client, c.BaseURL+"/api/users/svc-scanner/machines", tr.AccessToken); status != 200 || len(a.Value) < 50 {
		t.Errorf("svc-scanner: status %d, %d machines, want >= 50", status, len(a.Value))
	}
	_, both, _ := getMachines(t, client, c.BaseURL+"/api/users/jdoe/machines", tr.AccessToken)
	_, one, _ := getMachines(t, client, c.BaseURL+"/api/users/contoso%5CJDoe/machines", tr.AccessToken)
	if len(both.Value) < 2 || len(one.Value) == 0 || len(one.Value) >= len(both.Value) {
		t.Errorf("case twins: jdoe has %d machines, contoso\\JDoe %d", len(both.Value), len(one.Value))
	}

	// demo-credentials prints the same JSON while the server runs.
	out, err := cli(t, "demo-credentials", "--data", data)
	if err != nil {
		t.Fatal(err, out)
	}
	var printed demotenant.Credentials
	if err := json.Unmarshal([]byte(out), &printed); err != nil {
		t.Fatal(err)
	}
	if printed.ClientSecret != c.ClientSecret || printed.Tenant != c.Tenant || printed.Users == nil {
		t.Errorf("demo-credentials printed %+v, want %+v", printed, c)
	}
}

// The CLI creates tenants and apps and mints tokens that the server
// accepts, while the server runs on the same data.
func TestCLIWhileServing(t *testing.T) {
	data := t.TempDir()
	c := startServe(t, data)
	out, err := cli(t, "tenant", "create", "--data", data, "--name", "fabrikam.example")
	if err != nil {
		t.Fatal(err, out)
	}
	var tn map[string]string
	if err := json.Unmarshal([]byte(out), &tn); err != nil || tn["tenant"] == "" {
		t.Fatalf("tenant create printed %q: %v", out, err)
	}
	out, err = cli(t, "app", "create", "--data", data, "--tenant", "fabrikam.example", "--name", "siem", "--role", "Machine.Read.All")
	if err != nil {
		t.Fatal(err, out)
	}
	var app map[string]any
	if err := json.Unmarshal([]byte(out), &app); err != nil || app["client_id"] == "" || app["client_secret"] == "" {
		t.Fatalf("app create printed %q: %v", out, err)
	}
	tok, err := cli(t, "token", "--data", data, "--tenant", tn["tenant"], "--app", app["client_id"].(string))
	if err != nil {
		t.Fatal(err, tok)
	}
	// The new tenant has no users: the unknown-user answer, not a 401.
	status, _, body := getMachines(t, http.DefaultClient, c.BaseURL+"/api/users/user1/machines", strings.TrimSpace(tok))
	if status != 404 || !strings.Contains(string(body), "ResourceNotFound") {
		t.Errorf("fabrikam token on user1: %d %s", status, body)
	}
	// Errors go to stderr with a non-zero exit.
	for _, args := range [][]string{
		{"app", "create", "--data", data, "--tenant", "nope", "--name", "x"},
		{"app", "create", "--data", data, "--tenant", "fabrikam.example", "--name", "x", "--role", "Alert.Read"}, // a delegated permission
		{"tenant", "create", "--data", data, "--name", "fabrikam.example"},
		{"tenant", "create", "--data", data, "--name", "bad name"},
		{"token", "--data", data, "--tenant", "fabrikam.example", "--app", "nope"},
		{"serve", "--data", data, "--unknown-user", "maybe"},
		{"serve", "--data", data, "--answer-cache", "60"},
		{"nonsense"},
	} {
		if out, err := cli(t, args...); err == nil {
			t.Errorf("%v succeeded: %s", args, out)
		}
	}
}

// --answer-cache 0 keeps no answer; by default a read of a user's
// machines repeated once the index is built is a kept answer, counted in
// /metrics, and the same bytes.
func TestAnswerCacheFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		kept bool
	}{{nil, true}, {[]string{"--answer-cache", "0"}, false}} {
		data := t.TempDir()
		s := startServe(t, data, c.args...)
		out, err := cli(t, "token", "--data", data, "--tenant", s.Tenant, "--app", s.ClientID, "--base-url", s.BaseURL)
		if err != nil {
			t.Fatal(err, out)
		}
		tok := strings.TrimSpace(out)
		hits := func() string {
			res, err := http.Get(s.BaseURL + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			m, _ := io.ReadAll(res.Body)
			for l := range strings.SplitSeq(string(m), "\n") {
				if v, ok := strings.CutPrefix(l, "openatp_answer_cache_hits_total "); ok {
					return v
				}
			}
			t.Fatalf("/metrics has no openatp_answer_cache_hits_total:\n%s", m)
			return ""
		}
		var first string
		for i := range 100 { // the first reads may come from the store while the index builds
			status, _, body := getMachines(t, http.DefaultClient, s.BaseURL+"/api/users/user1/machines", tok)
			if status != 200 || i > 0 && string(body) != first {
				t.Fatalf("%v, read %d: %d %s", c.args, i+1, status, body)
			}
			first = string(body)
			if hits() != "0" || !c.kept && i == 20 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if got := hits() != "0"; got != c.kept {
			t.Errorf("%v: kept answers %v, want %v", c.args, got, c.kept)
		}
	}
}

func TestUnknownUserEmptyFlag(t *testing.T) {
	data := t.TempDir()
	c := startServe(t, data, "--unknown-user", "empty")
	out, err := cli(t, "token", "--data", data, "--tenant", c.Tenant, "--app", c.ClientID, "--base-url", c.BaseURL)
	if err != nil {
		t.Fatal(err, out)
	}
	status, a, body := getMachines(t, http.DefaultClient, c.BaseURL+"/api/users/nobody/machines", strings.TrimSpace(out))
	if status != 200 || a.Value == nil || len(a.Value) != 0 {
		t.Errorf("unknown user in empty mode: %d %s", status, body)
	}
}

// The demo's delegated users get tokens with the documented password flow;
// the restricted analyst sees mymachine1 but not mymachine2, the
// administrator both.
func TestDemoDelegatedUsers(t *testing.T) {
	data := t.TempDir()
	c := startServe(t, data)
	if len(c.Users) < 2 {
		t.Fatalf("demo users: %+v", c.Users)
	}
	token := func(username, password string) (int, string) {
		form := url.Values{"grant_type": {"password"}, "client_id": {c.ClientID}, "username": {username}, "password": {password},
			"resource": {"https://api.securitycenter.microsoft.com"}}
		res, err := http.PostForm(c.BaseURL+"/"+c.Tenant+"/oauth2/token", form)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var tr struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.NewDecoder(res.Body).Decode(&tr)
		return res.StatusCode, tr.AccessToken
	}
	names := func(tok string) []string {
		status, a, body := getMachines(t, http.DefaultClient, c.BaseURL+"/api/users/user1/machines", tok)
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		var out []string
		for _, m := range a.Value {
			out = append(out, m.ComputerDNSName)
		}
		return out
	}
	var admin, analyst demotenant.User
	for _, u := range c.Users {
		switch {
		case strings.HasPrefix(u.Username, "admin@"):
			admin = u
		case strings.HasPrefix(u.Username, "analyst@"):
			analyst = u
		}
	}
	status, tok := token(analyst.Username, analyst.Password)
	if status != 200 {
		t.Fatalf("analyst token: %d", status)
	}
	if got := strings.Join(names(tok), ","); got != "mymachine1.contoso.com" {
		t.Errorf("analyst sees %s, want mymachine1.contoso.com only", got)
	}
	status, tok = token(admin.Username, admin.Password)
	if status != 200 {
		t.Fatalf("admin token: %d", status)
	}
	if got := strings.Join(names(tok), ","); got != "mymachine1.contoso.com,mymachine2.contoso.com" {
		t.Errorf("admin sees %s, want both documented machines", got)
	}
	if status, _ := token(analyst.Username, "wrong password"); status != 400 {
		t.Errorf("wrong password: %d, want 400 invalid_grant", status)
	}
	// openatp token --user mints the same kind of token.
	out, err := cli(t, "token", "--data", data, "--tenant", c.Tenant, "--app", c.ClientID, "--user", analyst.Username, "--base-url", c.BaseURL)
	if err != nil {
		t.Fatal(err, out)
	}
	if got := strings.Join(names(strings.TrimSpace(out)), ","); got != "mymachine1.contoso.com" {
		t.Errorf("CLI analyst token sees %s", got)
	}
}

// Groups, roles and users managed with the CLI change the next answer.
func TestCLIRBAC(t *testing.T) {
	data := t.TempDir()
	c := startServe(t, data)
	run := func(args ...string) map[string]any {
		t.Helper()
		out, err := cli(t, append(args, "--data", data, "--tenant", c.Tenant)...)
		if err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			var list []any
			if json.Unmarshal([]byte(out), &list) != nil {
				t.Fatalf("%v printed %q", args, out)
			}
		}
		return v
	}
	run("usergroup", "create", "--name", "Night shift")
	run("role", "create", "--name", "Night viewer", "--permission", "View Data", "--user-group", "Night shift")
	u := run("user", "create", "--name", "owl@demo.onmicrosoft.com", "--group", "Night shift")
	pw, _ := u["password"].(string)
	if pw == "" {
		t.Fatalf("user create printed %v", u)
	}
	tok := func() string {
		out, err := cli(t, "token", "--data", data, "--tenant", c.Tenant, "--app", c.ClientID, "--user", "owl@demo.onmicrosoft.com", "--base-url", c.BaseURL)
		if err != nil {
			t.Fatal(err, out)
		}
		return strings.TrimSpace(out)
	}
	count := func() (int, int) {
		status, a, _ := getMachines(t, http.DefaultClient, c.BaseURL+"/api/users/user1/machines", tok())
		return status, len(a.Value)
	}
	// The owl sees user1's machines in groups open to all: none of the two.
	if status, n := count(); status != 404 || n != 0 {
		t.Errorf("before: %d with %d machines, want the unknown-user answer", status, n)
	}
	// A new top group for mymachine1 open to the night shift.
	run("group", "create", "--name", "Night", "--rank", "1", "--rule", "name=mymachine1", "--user-group", "Night shift")
	if status, n := count(); status != 200 || n != 1 {
		t.Errorf("after group create: %d with %d machines, want 1", status, n)
	}
	// Re-rank it below Tier-0 and The-A-Team: mymachine1 leaves it.
	out, _ := cli(t, "group", "list", "--data", data, "--tenant", c.Tenant)
	var groups []map[string]any
	if err := json.Unmarshal([]byte(out), &groups); err != nil {
		t.Fatal(err)
	}
	var nightID string
	for _, gr := range groups {
		if gr["name"] == "Night" {
			nightID = fmt.Sprint(gr["id"])
		}
	}
	run("group", "update", "--id", nightID, "--rank", "5")
	if status, n := count(); status != 404 || n != 0 {
		t.Errorf("after re-rank: %d with %d machines, want none", status, n)
	}
	for _, args := range [][]string{
		{"group", "delete", "--id", "0"},
		{"group", "create", "--name", "Bad", "--rule", "color=red"},
		{"role", "create", "--name", "X", "--permission", "Fly"},
		{"user", "create", "--name", "bad name"},
		{"user", "create", "--name", "x@y", "--group", "no such group"},
	} {
		if out, err := cli(t, append(args, "--data", data, "--tenant", c.Tenant)...); err == nil {
			t.Errorf("%v succeeded: %s", args, out)
		}
	}
}

// TestDemoPrintedLines: every curl line `serve --demo` prints with
// $TOKEN answers 200 as printed (GETs, and POSTs with their body), the
// token being the one it prints.
func TestDemoPrintedLines(t *testing.T) {
	_, _, out := startServeOut(t, t.TempDir(), "--addr", "127.0.0.1:0", "--tls-addr", "127.0.0.1:0")
	var text string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if text = out.String(); strings.Contains(text, "advancedqueries/run") {
			break
		}
	}
	var token string
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "export TOKEN='"); ok {
			token = strings.TrimSuffix(v, "'")
		}
	}
	if token == "" {
		t.Fatalf("no token printed:\n%s", text)
	}
	// curl -s -H "Authorization: Bearer $TOKEN" [options] URL|"URL"   [# comment]
	line := regexp.MustCompile(`^curl -s -H "Authorization: Bearer \$TOKEN"(.*?) ("[^"]+"|[^\s"]+)(?:\s+#.*)?$`)
	flagX, flagD := regexp.MustCompile(`-X (\w+)`), regexp.MustCompile(`-d '([^']*)'`)
	n := 0
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		m := line.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		u := strings.ReplaceAll(strings.Trim(m[2], `"`), `\$`, "$")
		var body, method string
		if d := flagD.FindStringSubmatch(m[1]); d != nil {
			body, method = d[1], "POST"
		}
		if x := flagX.FindStringSubmatch(m[1]); x != nil {
			method = x[1]
		}
		method = cmp.Or(method, "GET")
		req, err := http.NewRequest(method, u, strings.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		answer, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("%s: %d %s", l, res.StatusCode, answer)
		}
		n++
	}
	if n < 14 {
		t.Errorf("%d curl lines with $TOKEN answered, want the 14 printed:\n%s", n, text)
	}
}
