package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// An issuer is trusted by one tenant: `tenant trust` for a second tenant
// fails (main prints the error on stderr and exits 1) and names the
// tenant that trusts it; the first tenant may trust it again.
func TestTenantTrustOneTenant(t *testing.T) {
	data := t.TempDir()
	ids := map[string]string{}
	for _, name := range []string{"contoso.example", "fabrikam.example"} {
		out, err := cli(t, "tenant", "create", "--data", data, "--name", name)
		if err != nil {
			t.Fatal(err, out)
		}
		var tn map[string]string
		if err := json.Unmarshal([]byte(out), &tn); err != nil || tn["tenant"] == "" {
			t.Fatalf("tenant create printed %q: %v", out, err)
		}
		ids[name] = tn["tenant"]
	}
	const iss, jwks = "https://127.0.0.1:9443/realms/shared", "https://127.0.0.1:9443/realms/shared/certs"
	trust := func(tenant string, extra ...string) (string, error) {
		return cli(t, append([]string{"tenant", "trust", "--data", data, "--tenant", tenant, "--issuer", iss, "--jwks-url", jwks}, extra...)...)
	}
	if out, err := trust("contoso.example"); err != nil {
		t.Fatal(err, out)
	}
	out, err := trust("fabrikam.example")
	if err == nil {
		t.Fatalf("trust of contoso's issuer for fabrikam succeeded: %s", out)
	}
	if msg := err.Error(); !strings.Contains(msg, "already trusted by tenant "+ids["contoso.example"]) || !strings.Contains(msg, iss) {
		t.Errorf("conflict error %q does not name the issuer and tenant %s", msg, ids["contoso.example"])
	}
	out, err = trust(ids["contoso.example"], "--tid", "11111111-1111-1111-1111-111111111111")
	if err != nil {
		t.Fatalf("re-trust for the same tenant: %v %s", err, out)
	}
	var x map[string]string
	if err := json.Unmarshal([]byte(out), &x); err != nil || x["tenant"] != ids["contoso.example"] || x["tid"] == "" {
		t.Errorf("re-trust printed %q: %v", out, err)
	}
}
