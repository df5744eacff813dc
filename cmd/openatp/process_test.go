package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Imports run by other processes beside serve (the CLI on the same data
// dir) are answered at once, while the server keeps answering its own
// requests: the server learns of another process's commit from SQLite's
// shared memory, not from anything of its own.
func TestServeSeesOtherProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	data := t.TempDir()
	c := startServe(t, data, "--rate-limit", "off")
	tok := strings.TrimSpace(mustCLI(t, "token", "--data", data, "--tenant", c.Tenant, "--app", c.ClientID))

	// Requests run all along; every one must succeed.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			req, _ := http.NewRequest("GET", c.BaseURL+"/api/users/user1/machines", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			res, err := http.DefaultClient.Do(req)
			if err == nil {
				res.Body.Close()
			}
			if err != nil || res.StatusCode != 200 {
				mu.Lock()
				failures = append(failures, fmt.Sprintf("request %d: %v %v", n, res, err))
				mu.Unlock()
			}
		}
	}()

	dir := t.TempDir()
	for i := range 4 {
		id := fmt.Sprintf("%040x", 0xabc0+i)
		user := fmt.Sprintf("proc%d", i)
		m, l := filepath.Join(dir, fmt.Sprintf("m%d.jsonl", i)), filepath.Join(dir, fmt.Sprintf("l%d.jsonl", i))
		write(t, m, `{"id":"`+id+`","computerDnsName":"`+user+`.contoso.com"}`+"\n")
		write(t, l, `{"machineId":"`+id+`","accountName":"`+user+`","accountDomain":"contoso","logonType":"Network","timestamp":"2026-01-02T03:04:05Z"}`+"\n")
		if out, err := command("import", "--data", data, "--tenant", c.Tenant, m, l).CombinedOutput(); err != nil {
			t.Fatalf("import in another process: %v\n%s", err, out)
		}
		status, a, body := getMachines(t, http.DefaultClient, c.BaseURL+"/api/users/"+user+"/machines", tok)
		if status != 200 || len(a.Value) != 1 || a.Value[0].ID != id {
			t.Fatalf("%s right after the import: %d %s", user, status, body)
		}
	}
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Errorf("%d requests failed while other processes wrote, first: %s", len(failures), failures[0])
	}
}

func write(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
