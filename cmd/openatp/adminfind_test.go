package main

import (
	"encoding/json"
	"github.com/openatp/openatp/internal/demotenant"
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// fault and journal find a server on any port through the data folder:
// the admin_url that `serve --demo` wrote to demo-credentials.json. A
// server that is not reached is named, with where its address came from
// and how to give another.
func TestAdminCLIFindsServerThroughDataFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	data := t.TempDir()
	c := startServe(t, data, "--rate-limit", "off")
	if c.AdminURL == "" || c.AdminURL == defaultAdminURL {
		t.Fatalf("admin_url %q: the test needs a server off the default address", c.AdminURL)
	}
	if got := strings.TrimSpace(mustCLI(t, "fault", "list", "--data", data)); got != "[]" {
		t.Errorf("fault list --data: %s", got)
	}
	if got := strings.Join(strings.Fields(mustCLI(t, "journal", "--tenant", c.Tenant, "--count", "--data", data)), ""); got != `{"count":0}` {
		t.Errorf("journal --count --data: %s", got)
	}

	// A server that has gone: its port is closed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "http://" + ln.Addr().String()
	ln.Close()
	stale := t.TempDir()
	b, _ := json.Marshal(demotenant.Credentials{AdminURL: gone})
	write(t, filepath.Join(stale, demotenant.CredFile), string(b))
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"fault", "list", "--data", stale, "--admin-key", "k"},
			[]string{"not reached at " + gone + " (the admin_url of " + filepath.Join(stale, demotenant.CredFile) + ")", "--base-url"}},
		{[]string{"journal", "--tenant", "t", "--data", stale, "--admin-key", "k"},
			[]string{"not reached at " + gone + " (the admin_url of ", "--base-url"}},
		{[]string{"fault", "list", "--base-url", gone + "/", "--data", data},
			[]string{"not reached at " + gone + " (--base-url)"}},
	} {
		_, err := cli(t, tt.args...)
		if err == nil {
			t.Errorf("%v: no error", tt.args)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v:\n%v\nwant it to say %q", tt.args, err, w)
			}
		}
	}
}
