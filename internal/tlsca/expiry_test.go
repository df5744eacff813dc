package tlsca

import (
	"testing"
	"time"
)

func TestExpiringServerCertIsRenewed(t *testing.T) {
	dir := t.TempDir()
	names, _ := certNames(nil)
	now := time.Now()
	if _, err := ensure(dir, names, now); err != nil {
		t.Fatal(err)
	}
	old, err := readServer(dir)
	if err != nil {
		t.Fatal(err)
	}
	later := old.cert.NotAfter.Add(-renewBefore + time.Hour) // inside the renewal window
	if _, err := load(dir, names, later); err == nil {
		t.Fatal("load accepted a certificate that expires within 30 days")
	}
	if _, err := ensure(dir, names, later); err != nil {
		t.Fatal(err)
	}
	renewed, err := readServer(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !renewed.cert.NotAfter.After(old.cert.NotAfter) {
		t.Errorf("NotAfter %v, want after %v", renewed.cert.NotAfter, old.cert.NotAfter)
	}
	if _, err := load(dir, names, later); err != nil {
		t.Errorf("renewed certificate: %v", err)
	}
}
