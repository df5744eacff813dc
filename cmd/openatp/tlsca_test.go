package main

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"strings"
	"testing"
	"time"
)

// serve's CA permits the names it serves: a new --hostname makes a new CA
// (the old one may not sign for it), which serve says in its log; the
// first CA and an unchanged one are not news.
func TestServeReissuesCAForANewHostname(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	data := t.TempDir()
	const warning = "a new TLS CA was issued"
	permitted := func(t *testing.T, caFile string) []string {
		t.Helper()
		b, err := os.ReadFile(caFile)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(b)
		if block == nil {
			t.Fatalf("%s: no PEM", caFile)
		}
		ca, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return ca.PermittedDNSDomains
	}
	for _, step := range []struct {
		name, hostname string
		warns          bool
		permits        string
	}{
		{"first start", "a.example.test", false, "localhost a.example.test"},
		{"same names", "a.example.test", false, "localhost a.example.test"},
		{"a new hostname", "b.example.test", true, "localhost b.example.test a.example.test"},
	} {
		t.Run(step.name, func(t *testing.T) {
			c, log := startServeLog(t, data, "--addr", "127.0.0.1:0", "--tls-addr", "127.0.0.1:0", "--hostname", step.hostname)
			// The log is written in batches, at the latest every 100 ms.
			if !step.warns {
				time.Sleep(300 * time.Millisecond)
			}
			for deadline := time.Now().Add(2 * time.Second); step.warns && !strings.Contains(log.String(), warning) && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
			}
			if got := strings.Contains(log.String(), warning); got != step.warns {
				t.Errorf("the log says %q: %v, want %v\n%s", warning, got, step.warns, log.String())
			}
			if got := strings.Join(permitted(t, c.CAFile), " "); got != step.permits {
				t.Errorf("the CA permits %q, want %q", got, step.permits)
			}
		})
	}
}
