package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
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
	err := run(context.Background(), args, noEnv, strings.NewReader(""), &out, &errb)
	if err != nil {
		return out.String() + errb.String(), err
	}
	return out.String(), nil
}

// startServe runs `openatp serve --demo` on random ports and waits for the
// demo credentials it writes.
func startServe(t *testing.T, data string, extra ...string) demoCredentials {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan error, 1)
	args := append([]string{"serve", "--demo", "--data", data, "--addr", "127.0.0.1:0", "--tls-addr", "127.0.0.1:0"}, extra...)
	go func() { done <- run(ctx, args, noEnv, strings.NewReader(""), &out, &errb) }()
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
			b, err := os.ReadFile(filepath.Join(data, demoCredFile))
			if err != nil {
				t.Fatal(err)
			}
			var c demoCredentials
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatal(err)
			}
			return c
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("serve did not print its credentials in time:\n%s\n%s", out.String(), errb.String())
	return demoCredentials{}
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
			"7292e4b8cb74ff1cc3d8a495eb29dc8858b732f7 mymachine2.contoso.com The-A-Team",
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
		ExpiresIn   int    `json:"expires_in"`
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(res.Body).Decode(&tr)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 || tr.TokenType != "Bearer" || tr.ExpiresIn != 3599 {
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
	var printed demoCredentials
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
		{"app", "create", "--data", data, "--tenant", "fabrikam.example", "--name", "x", "--role", "Alert.Read.All"},
		{"tenant", "create", "--data", data, "--name", "fabrikam.example"},
		{"tenant", "create", "--data", data, "--name", "bad name"},
		{"token", "--data", data, "--tenant", "fabrikam.example", "--app", "nope"},
		{"serve", "--data", data, "--unknown-user", "maybe"},
		{"nonsense"},
	} {
		if out, err := cli(t, args...); err == nil {
			t.Errorf("%v succeeded: %s", args, out)
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
