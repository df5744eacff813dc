package tlsca_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/openatp/openatp/internal/tlsca"
)

func mustLoad(t *testing.T, dir string, names ...string) *tlsca.Bundle {
	t.Helper()
	b, err := tlsca.Load(dir, names)
	if err != nil {
		t.Fatalf("Load(%v): %v", names, err)
	}
	return b
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestCreateAndReload(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	b := mustLoad(t, dir)
	if want := filepath.Join(dir, tlsca.CAFile); b.CAFile != want {
		t.Errorf("CAFile = %q, want %q", b.CAFile, want)
	}
	if b.TLSConfig.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x, want TLS 1.2", b.TLSConfig.MinVersion)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("dir mode = %o, want 700", perm)
	}
	for _, name := range []string{tlsca.CAKeyFile, tlsca.ServerKeyFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s mode = %o, want 600", name, perm)
		}
	}
	if b.TLSConfig.Certificates[0].Leaf == nil {
		t.Fatal("no leaf certificate")
	}
	caPEM, serverPEM := readFile(t, b.CAFile), readFile(t, filepath.Join(dir, tlsca.ServerFile))
	b2 := mustLoad(t, dir)
	if !bytes.Equal(readFile(t, b2.CAFile), caPEM) {
		t.Error("reload changed ca.pem")
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, tlsca.ServerFile)), serverPEM) {
		t.Error("reload changed server.pem")
	}
	caCert := parseCA(t, b2)
	if caCert.Subject.CommonName != tlsca.CACommonName || !caCert.IsCA {
		t.Errorf("CA subject %q, IsCA %v", caCert.Subject.CommonName, caCert.IsCA)
	}
	if days := caCert.NotAfter.Sub(caCert.NotBefore).Hours() / 24; days < 364 || days > 366 {
		t.Errorf("CA valid for %.1f days, want a year", days)
	}
	leaf := b2.TLSConfig.Certificates[0].Leaf
	if days := leaf.NotAfter.Sub(leaf.NotBefore).Hours() / 24; days < 89 || days > 91 {
		t.Errorf("server certificate valid for %.1f days, want 90", days)
	}
	if b.CAReplaced != "" || b2.CAReplaced != "" {
		t.Errorf("CAReplaced %q, then %q: want none (the first CA, then the same)", b.CAReplaced, b2.CAReplaced)
	}
}

func parseCA(t *testing.T, b *tlsca.Bundle) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(readFile(t, b.CAFile))
	if block == nil {
		t.Fatal("ca.pem holds no PEM block")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// get makes an HTTPS request to srv as host name, trusting only pool.
func get(t *testing.T, srv *httptest.Server, name string, pool *x509.CertPool) error {
	t.Helper()
	addr := srv.Listener.Addr().String()
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: name},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	defer client.CloseIdleConnections()
	host := name
	if strings.Contains(name, ":") {
		host = "[" + name + "]"
	}
	resp, err := client.Get("https://" + host + "/")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "ok" {
		t.Errorf("body %q", body)
	}
	return nil
}

func serve(t *testing.T, b *tlsca.Bundle, network, addr string) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	if addr != "" {
		ln, err := net.Listen(network, addr)
		if err != nil {
			t.Skipf("cannot listen on %s: %v", addr, err)
		}
		srv.Listener.Close()
		srv.Listener = ln
	}
	srv.TLS = b.TLSConfig
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestClientsConnect(t *testing.T) {
	b := mustLoad(t, t.TempDir(), "openatp.test", "10.1.2.3")
	srv := serve(t, b, "", "")
	for _, name := range []string{"localhost", "127.0.0.1", "openatp.test", "10.1.2.3"} {
		if err := get(t, srv, name, b.CAPool); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := get(t, srv, "other.test", b.CAPool); err == nil {
		t.Error("other.test: connected, want a certificate name error")
	}
	if err := get(t, srv, "localhost", x509.NewCertPool()); err == nil {
		t.Error("connected without trusting the CA")
	}
	t.Run("IPv6", func(t *testing.T) {
		srv6 := serve(t, b, "tcp6", "[::1]:0")
		if err := get(t, srv6, "::1", b.CAPool); err != nil {
			t.Errorf("::1: %v", err)
		}
	})
}

// A name the CA may not sign for issues a new CA, which permits the old
// names and the new one; asking for fewer names keeps the CA and the
// server certificate.
func TestNewHostnameReissuesCA(t *testing.T) {
	dir := t.TempDir()
	b1 := mustLoad(t, dir, "old.example.test")
	caPEM := readFile(t, b1.CAFile)

	b2 := mustLoad(t, dir, "Atp.Example.Test")
	if bytes.Equal(readFile(t, b2.CAFile), caPEM) {
		t.Fatal("the CA was kept although it may not sign for the new name")
	}
	if !strings.Contains(b2.CAReplaced, "atp.example.test") {
		t.Errorf("CAReplaced %q does not name the new name", b2.CAReplaced)
	}
	ca := parseCA(t, b2)
	if !slices.Contains(ca.PermittedDNSDomains, "old.example.test") || !slices.Contains(ca.PermittedDNSDomains, "atp.example.test") {
		t.Errorf("the new CA permits %v, want the old name and the new one", ca.PermittedDNSDomains)
	}
	srv := serve(t, b2, "", "")
	for _, name := range []string{"atp.example.test", "old.example.test", "localhost"} {
		if err := get(t, srv, name, b2.CAPool); err != nil {
			t.Errorf("%s with the new CA: %v", name, err)
		}
	}
	if err := get(t, srv, "atp.example.test", b1.CAPool); err == nil {
		t.Error("the old CA verified the new server certificate")
	}
	// Asking for fewer names keeps the CA and the certificate.
	caPEM, srvPEM := readFile(t, b2.CAFile), readFile(t, filepath.Join(dir, tlsca.ServerFile))
	if b := mustLoad(t, dir); b.CAReplaced != "" {
		t.Errorf("CAReplaced %q for fewer names", b.CAReplaced)
	}
	if !bytes.Equal(readFile(t, b2.CAFile), caPEM) || !bytes.Equal(readFile(t, filepath.Join(dir, tlsca.ServerFile)), srvPEM) {
		t.Error("ca.pem or server.pem regenerated although they cover every name")
	}
}

func TestMissingServerCertIsRegenerated(t *testing.T) {
	dir := t.TempDir()
	b1 := mustLoad(t, dir)
	caPEM := readFile(t, b1.CAFile)
	if err := os.Remove(filepath.Join(dir, tlsca.ServerKeyFile)); err != nil {
		t.Fatal(err)
	}
	b2 := mustLoad(t, dir)
	if !bytes.Equal(readFile(t, b2.CAFile), caPEM) {
		t.Error("CA changed")
	}
	if err := get(t, serve(t, b2, "", ""), "localhost", b1.CAPool); err != nil {
		t.Error(err)
	}
}

func TestConcurrentLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	const n = 4
	bundles := make([]*tlsca.Bundle, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { bundles[i], errs[i] = tlsca.Load(dir, []string{"concurrent.test"}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Load %d: %v", i, err)
		}
	}
	onDisk := readFile(t, filepath.Join(dir, tlsca.CAFile))
	leaf := bundles[0].TLSConfig.Certificates[0].Certificate[0]
	for i, b := range bundles {
		if !bytes.Equal(readFile(t, b.CAFile), onDisk) {
			t.Errorf("Load %d: different CA file", i)
		}
		if !bytes.Equal(b.TLSConfig.Certificates[0].Certificate[0], leaf) {
			t.Errorf("Load %d: different server certificate", i)
		}
		if err := get(t, serve(t, b, "", ""), "concurrent.test", bundles[0].CAPool); err != nil {
			t.Errorf("Load %d: %v", i, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("dir holds %v, want the four files only", names)
	}
}

func TestCorruptFiles(t *testing.T) {
	for _, name := range []string{tlsca.CAFile, tlsca.CAKeyFile, tlsca.ServerFile, tlsca.ServerKeyFile} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			mustLoad(t, dir)
			if err := os.WriteFile(filepath.Join(dir, name), []byte("garbage\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := tlsca.Load(dir, nil)
			if err == nil {
				t.Fatal("Load succeeded on a corrupt file")
			}
			if !strings.Contains(err.Error(), filepath.Join(dir, name)) {
				t.Errorf("error %q does not name %s", err, name)
			}
		})
	}
	t.Run("CAWithoutKey", func(t *testing.T) {
		dir := t.TempDir()
		mustLoad(t, dir)
		os.Remove(filepath.Join(dir, tlsca.CAKeyFile))
		_, err := tlsca.Load(dir, nil)
		if err == nil || !strings.Contains(err.Error(), tlsca.CAKeyFile) {
			t.Errorf("err = %v, want one naming %s", err, tlsca.CAKeyFile)
		}
	})
	t.Run("BadName", func(t *testing.T) {
		if _, err := tlsca.Load(t.TempDir(), []string{"a b"}); err == nil {
			t.Error("Load accepted the host name \"a b\"")
		}
	})
}
