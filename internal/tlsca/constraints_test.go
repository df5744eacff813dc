package tlsca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// forge signs, with the CA of dir, a server certificate for one name (a
// DNS name or an IP address): what whoever read ca-key.pem could make.
func forge(t *testing.T, dir, name string) *x509.Certificate {
	t.Helper()
	ca, err := readCA(dir)
	if err != nil || ca == nil {
		t.Fatalf("readCA: %v", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		NotBefore:   time.Now().Add(-time.Hour),
		NotAfter:    time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{name}
	}
	cert, err := sign(tmpl, ca.cert, key, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// verify checks cert for name as a TLS client would, trusting only the CA
// of dir, with Go's x509 verifier.
func verify(t *testing.T, dir, name string, cert *x509.Certificate) error {
	t.Helper()
	ca, err := readCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	_, err = cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots})
	return err
}

// The CA can sign for the names openatp serves and for nothing else: a
// certificate for another name, signed with its key, is refused by Go's
// verifier for the CA's name constraints. Microsoft's hosts are among the
// permitted names only when asked for (serve --as-microsoft).
func TestCANameConstraints(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir, []string{"atp.example.test", "10.1.2.3"}); err != nil {
		t.Fatal(err)
	}
	ca, _ := readCA(dir)
	if !ca.cert.PermittedDNSDomainsCritical {
		t.Error("the name constraints are not critical")
	}
	if !slices.Equal(ca.cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("CA extended key usage %v, want server authentication only", ca.cert.ExtKeyUsage)
	}
	for _, name := range []string{"localhost", "127.0.0.1", "127.8.9.10", "::1", "atp.example.test", "api.atp.example.test", "10.1.2.3"} {
		if err := verify(t, dir, name, forge(t, dir, name)); err != nil {
			t.Errorf("%s: refused: %v", name, err)
		}
	}
	for _, name := range []string{"example.com", "login.microsoftonline.com", "api.security.microsoft.com", "localhost.example.com",
		"example.test", "10.1.2.4", "192.168.0.1", "2001:db8::1"} {
		err := verify(t, dir, name, forge(t, dir, name))
		var inv x509.CertificateInvalidError
		if !errors.As(err, &inv) || inv.Reason != x509.CANotAuthorizedForThisName {
			t.Errorf("%s: %v, want the CA refused as not authorized for this name", name, err)
		}
	}

	// serve --as-microsoft asks for Microsoft's hosts: then, and only
	// then, the CA may sign for them.
	ms := t.TempDir()
	if _, err := Load(ms, []string{"login.microsoftonline.com", "api.security.microsoft.com"}); err != nil {
		t.Fatal(err)
	}
	if err := verify(t, ms, "login.microsoftonline.com", forge(t, ms, "login.microsoftonline.com")); err != nil {
		t.Errorf("asked for: %v", err)
	}
	if err := verify(t, ms, "graph.microsoft.com", forge(t, ms, "graph.microsoft.com")); err == nil {
		t.Error("graph.microsoft.com, not asked for, verified")
	}
}

// A CA made before the constraints (no name constraints, ten years) is
// issued again on the next Load, and so is one about to expire; the
// server certificate follows the new CA.
func TestOldOrExpiringCAIsReissued(t *testing.T) {
	names, _ := certNames(nil)
	now := time.Now()

	t.Run("unconstrained, ten years", func(t *testing.T) {
		dir := t.TempDir()
		// What an older openatp made.
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			Subject: pkix.Name{CommonName: CACommonName}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour),
			KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true,
		}
		cert, err := sign(tmpl, tmpl, key, key)
		if err != nil {
			t.Fatal(err)
		}
		if err := writeKeyAndCert(dir, CAKeyFile, CAFile, key, cert); err != nil {
			t.Fatal(err)
		}
		oldKey, _ := os.ReadFile(filepath.Join(dir, CAKeyFile))
		b, err := Load(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if b.CAReplaced == "" {
			t.Error("CAReplaced is empty")
		}
		ca, _ := readCA(dir)
		if ca.cert.Equal(cert) || len(ca.cert.PermittedDNSDomains) == 0 || ca.cert.NotAfter.After(now.Add(366*24*time.Hour)) {
			t.Errorf("the CA on disk: permitted %v, until %v", ca.cert.PermittedDNSDomains, ca.cert.NotAfter)
		}
		if newKey, _ := os.ReadFile(filepath.Join(dir, CAKeyFile)); string(newKey) == string(oldKey) {
			t.Error("the old CA key is still on disk")
		}
		if err := verify(t, dir, "localhost", b.TLSConfig.Certificates[0].Leaf); err != nil {
			t.Errorf("the server certificate: %v", err)
		}
	})

	t.Run("about to expire", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := ensure(dir, names, now); err != nil {
			t.Fatal(err)
		}
		old, _ := readCA(dir)
		later := old.cert.NotAfter.Add(-renewBefore + time.Hour)
		if _, err := load(dir, names, later); err == nil {
			t.Fatal("load accepted a CA that expires within 30 days")
		}
		issued, err := ensure(dir, names, later)
		if err != nil {
			t.Fatal(err)
		}
		renewed, _ := readCA(dir)
		if issued == "" || !renewed.cert.NotAfter.After(old.cert.NotAfter) {
			t.Errorf("issued %q, NotAfter %v, want after %v", issued, renewed.cert.NotAfter, old.cert.NotAfter)
		}
		if _, err := load(dir, names, later); err != nil {
			t.Errorf("after renewal: %v", err)
		}
	})
}
