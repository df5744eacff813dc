// Package tlsca gives the server HTTPS with a locally generated certificate
// authority. Microsoft's identity libraries refuse http:// authorities, so a
// client that should talk to openatp as it would to Entra ID trusts the CA
// file this package writes (ca.pem) and connects over HTTPS.
//
// Load keeps four files in a directory: ca.pem and ca-key.pem (an ECDSA P-256
// CA), and server.pem and server-key.pem (a server certificate signed by the
// CA). Several processes may call Load on the same directory at once.
//
// The CA is trusted system-wide by users who follow docs/clients.md, so it
// can sign for little, for a short time: X.509 name constraints (critical)
// permit only the names openatp serves — localhost, the loopback addresses
// and the host names and addresses asked for (Microsoft's hosts only when
// asked, by serve --as-microsoft) — its certificates are for TLS servers
// only (extended key usage), and it is valid for a year. Whoever reads
// ca-key.pem can impersonate those names only. The CA is issued again when
// it is about to expire, when a name is asked that it may not sign for
// (keeping the names it permitted), and when it was made before these
// limits (no name constraints, or ten years); the server certificate is
// valid for 90 days and regenerated when it is missing, about to expire,
// not signed by the CA or lacks a requested name.
package tlsca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The file names Load keeps in its directory.
const (
	CAFile        = "ca.pem"
	CAKeyFile     = "ca-key.pem"
	ServerFile    = "server.pem"
	ServerKeyFile = "server-key.pem"
	lockFile      = ".tlsca.lock"
)

// CACommonName is the subject common name of a CA Load creates.
const CACommonName = "openatp local CA"

const (
	caValidity     = 365 * 24 * time.Hour
	serverValidity = 90 * 24 * time.Hour
	renewBefore    = 30 * 24 * time.Hour // the CA and the server certificate
	staleLock      = 2 * time.Minute
	lockTimeout    = 30 * time.Second
)

// firstCA is ensure's reason for creating a CA where there was none.
const firstCA = "there was none"

// loopback are the address ranges every CA permits: 127.0.0.0/8 and ::1.
var loopback = []*net.IPNet{
	{IP: net.IPv4(127, 0, 0, 0).To4(), Mask: net.CIDRMask(8, 32)},
	{IP: net.IPv6loopback, Mask: net.CIDRMask(128, 128)},
}

// DefaultNames are the names every server certificate covers.
var DefaultNames = []string{"localhost", "127.0.0.1", "::1"}

// Bundle is what a server needs to serve HTTPS and what a client needs to
// trust it.
type Bundle struct {
	// CAFile is the absolute path of the CA certificate (PEM); clients trust it.
	CAFile string
	// TLSConfig serves the server certificate, TLS 1.2 or later.
	TLSConfig *tls.Config
	// CAPool holds the CA certificate, for clients in this process (tests).
	CAPool *x509.CertPool
	// CAReplaced says why this Load replaced the CA on disk with a new
	// one ("" when it kept it, or created the first): clients that
	// trusted the old ca.pem must trust the new one.
	CAReplaced string
}

// Load loads, or creates, the CA and the server certificate in dir (created
// with mode 0700 if absent). The server certificate covers localhost,
// 127.0.0.1, ::1 and hostnames (DNS names, or IP addresses which become IP
// SANs); it is regenerated, keeping the CA, when it is missing, expires
// within 30 days, is not signed by the CA or lacks one of those names. The
// CA is issued again (Bundle.CAReplaced says why) when it expires within 30
// days, may not sign for one of those names, or has no name constraints or
// a validity longer than caValidity (made by an older openatp). A file that
// exists but cannot be used (a corrupt PEM, a CA without its key) is an
// error naming the file: Load does not replace what it cannot read.
//
// Concurrent calls, from goroutines or processes, are safe: changes are made
// under a lock file and written to temporary files renamed into place, and
// every caller reads the result back from disk, so all use the same files.
func Load(dir string, hostnames []string) (*Bundle, error) {
	names, err := certNames(hostnames)
	if err != nil {
		return nil, err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, fmt.Errorf("tlsca: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tlsca: create directory: %w", err)
	}
	// Fast path: everything is in place; no lock needed.
	if b, err := load(dir, names, time.Now()); err == nil {
		return b, nil
	}
	unlock, err := lock(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	issued, err := ensure(dir, names, time.Now())
	if err != nil {
		return nil, err
	}
	b, err := load(dir, names, time.Now())
	if err != nil {
		return nil, err
	}
	if issued != firstCA {
		b.CAReplaced = issued
	}
	return b, nil
}

// certNames returns the default names plus the requested ones, cleaned and
// without duplicates.
func certNames(hostnames []string) ([]string, error) {
	names := slices.Clone(DefaultNames)
	for _, h := range hostnames {
		h = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(h), "["), "]"))
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			h = ip.String()
		} else if strings.ContainsAny(h, " /:@\\") {
			return nil, fmt.Errorf("tlsca: %q is neither a host name nor an IP address", h)
		}
		if !slices.Contains(names, h) {
			names = append(names, h)
		}
	}
	return names, nil
}

// load reads the four files and checks that they are complete, consistent,
// fresh and cover names.
func load(dir string, names []string, now time.Time) (*Bundle, error) {
	ca, err := readCA(dir)
	if err != nil {
		return nil, err
	}
	if ca == nil {
		return nil, fmt.Errorf("tlsca: %s does not exist", filepath.Join(dir, CAFile))
	}
	if reason := ca.caUnusable(names, now); reason != "" {
		return nil, fmt.Errorf("tlsca: %s: %s", filepath.Join(dir, CAFile), reason)
	}
	srv, err := readServer(dir)
	if err != nil {
		return nil, err
	}
	if reason := srv.unusable(ca, names, now); reason != "" {
		return nil, fmt.Errorf("tlsca: %s: %s", filepath.Join(dir, ServerFile), reason)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return &Bundle{
		CAFile: filepath.Join(dir, CAFile),
		TLSConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{{Certificate: [][]byte{srv.cert.Raw}, PrivateKey: srv.key, Leaf: srv.cert}},
		},
		CAPool: pool,
	}, nil
}

// ensure creates the CA if absent or unusable for names, and
// (re)generates the server certificate if it cannot be used. It returns why
// it issued a CA, or "". The caller holds the lock.
func ensure(dir string, names []string, now time.Time) (issued string, err error) {
	ca, err := readCA(dir)
	if err != nil {
		return "", err
	}
	switch {
	case ca == nil:
		issued = firstCA
	default:
		issued = ca.caUnusable(names, now)
	}
	if issued != "" {
		permit := names
		if ca != nil && len(ca.cert.PermittedDNSDomains) > 0 {
			// Keep what the CA permitted, so that two callers with
			// different names do not replace each other's CA forever.
			permit = slices.Clone(names)
			for _, d := range ca.cert.PermittedDNSDomains {
				if !slices.Contains(permit, d) {
					permit = append(permit, d)
				}
			}
			for _, n := range ca.cert.PermittedIPRanges {
				if ones, bits := n.Mask.Size(); ones == bits && !slices.Contains(permit, n.IP.String()) {
					permit = append(permit, n.IP.String())
				}
			}
		}
		if ca, err = createCA(dir, permit, now); err != nil {
			return "", err
		}
	}
	srv, err := readServer(dir)
	if err != nil {
		return "", err
	}
	if srv.unusable(ca, names, now) == "" {
		return issued, nil
	}
	// Keep the names an earlier caller asked for (that the CA may sign
	// for), so that two callers with different names do not replace each
	// other's certificate forever.
	if srv.cert != nil {
		old := slices.Clone(srv.cert.DNSNames)
		for _, ip := range srv.cert.IPAddresses {
			old = append(old, ip.String())
		}
		for _, n := range old {
			if !slices.Contains(names, n) && permits(ca.cert, n) {
				names = append(names, n)
			}
		}
	}
	return issued, createServer(dir, ca, names, now)
}

type pair struct {
	cert *x509.Certificate // nil if the files do not exist
	key  crypto.Signer
}

// readCA returns nil, nil when neither CA file exists.
func readCA(dir string) (*pair, error) {
	certPath, keyPath := filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile)
	cert, err := readCert(certPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	certMissing := err != nil
	key, err := readKey(keyPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	keyMissing := err != nil
	switch {
	case certMissing && keyMissing:
		return nil, nil
	case certMissing:
		return nil, fmt.Errorf("tlsca: %s exists but %s does not; restore it, or remove both to create a new CA", keyPath, certPath)
	case keyMissing:
		return nil, fmt.Errorf("tlsca: %s exists but its key %s does not; restore it, or remove both to create a new CA", certPath, keyPath)
	}
	if !publicKeyEqual(cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("tlsca: %s is not the key of %s", keyPath, certPath)
	}
	return &pair{cert, key}, nil
}

// caUnusable says why the CA p must be issued again before it signs for
// names now, or "".
func (p *pair) caUnusable(names []string, now time.Time) string {
	c := p.cert
	switch {
	case !c.IsCA:
		return "not a CA certificate"
	case len(c.PermittedDNSDomains) == 0 || len(c.PermittedIPRanges) == 0:
		return "it has no name constraints: it could sign for any name (made by an older openatp)"
	case c.NotAfter.Sub(c.NotBefore) > caValidity+24*time.Hour:
		return "it is valid until " + c.NotAfter.Format(time.DateOnly) + " (made by an older openatp)"
	case now.Add(renewBefore).After(c.NotAfter):
		return "it expires " + c.NotAfter.Format(time.RFC3339)
	}
	for _, n := range names {
		if !permits(c, n) {
			return "it may not sign for " + n
		}
	}
	return ""
}

// permits reports whether the name constraints of ca permit the name (a
// DNS name, or an IP address), as x509 verifiers read them: a DNS
// constraint permits the name and its subdomains.
func permits(ca *x509.Certificate, name string) bool {
	if ip := net.ParseIP(name); ip != nil {
		return slices.ContainsFunc(ca.PermittedIPRanges, func(n *net.IPNet) bool { return n.Contains(ip) })
	}
	return slices.ContainsFunc(ca.PermittedDNSDomains, func(d string) bool {
		d = strings.ToLower(strings.TrimPrefix(d, "."))
		return name == d || strings.HasSuffix(name, "."+d)
	})
}

// readServer returns an empty pair when a file is missing, so that the
// certificate is regenerated; a corrupt file is an error.
func readServer(dir string) (pair, error) {
	cert, err := readCert(filepath.Join(dir, ServerFile))
	if errors.Is(err, fs.ErrNotExist) {
		return pair{}, nil
	} else if err != nil {
		return pair{}, err
	}
	key, err := readKey(filepath.Join(dir, ServerKeyFile))
	if errors.Is(err, fs.ErrNotExist) {
		return pair{}, nil
	} else if err != nil {
		return pair{}, err
	}
	return pair{cert, key}, nil
}

// unusable says why p cannot serve names now, or "".
func (p pair) unusable(ca *pair, names []string, now time.Time) string {
	switch {
	case p.cert == nil:
		return "missing"
	case !publicKeyEqual(p.cert.PublicKey, p.key.Public()):
		return "does not match " + ServerKeyFile
	case p.cert.CheckSignatureFrom(ca.cert) != nil:
		return "not signed by " + CAFile
	case now.Add(renewBefore).After(p.cert.NotAfter):
		return "expires " + p.cert.NotAfter.Format(time.RFC3339)
	}
	for _, n := range names {
		if p.cert.VerifyHostname(n) != nil {
			return "does not cover " + n
		}
	}
	return ""
}

func readCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tlsca: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("tlsca: %s: no PEM CERTIFICATE block; the file is corrupt (remove it to regenerate)", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("tlsca: %s: corrupt certificate (remove it to regenerate): %w", path, err)
	}
	return cert, nil
}

func readKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tlsca: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || !strings.HasSuffix(block.Type, "PRIVATE KEY") {
		return nil, fmt.Errorf("tlsca: %s: no PEM PRIVATE KEY block; the file is corrupt", path)
	}
	var key any
	if key, err = x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		if k, err2 := x509.ParseECPrivateKey(block.Bytes); err2 == nil {
			key, err = k, nil
		} else if k, err2 := x509.ParsePKCS1PrivateKey(block.Bytes); err2 == nil {
			key, err = k, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("tlsca: %s: corrupt private key: %w", path, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("tlsca: %s: unsupported private key type %T", path, key)
	}
	return signer, nil
}

func publicKeyEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

// createCA issues a CA for TLS servers whose name constraints permit
// names (host names and their subdomains, addresses) and the loopback
// addresses, and nothing else.
func createCA(dir string, names []string, now time.Time) (*pair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("tlsca: generate CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		Subject:                     pkix.Name{CommonName: CACommonName, Organization: []string{"openatp"}},
		NotBefore:                   now.Add(-time.Hour),
		NotAfter:                    now.Add(caValidity),
		KeyUsage:                    x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:                 []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid:       true,
		IsCA:                        true,
		MaxPathLenZero:              true,
		PermittedDNSDomainsCritical: true,
		PermittedIPRanges:           slices.Clone(loopback),
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			if !slices.ContainsFunc(tmpl.PermittedIPRanges, func(r *net.IPNet) bool { return r.Contains(ip) }) {
				bits := 128
				if ip4 := ip.To4(); ip4 != nil {
					ip, bits = ip4, 32
				}
				tmpl.PermittedIPRanges = append(tmpl.PermittedIPRanges, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			}
		} else if !slices.Contains(tmpl.PermittedDNSDomains, n) {
			tmpl.PermittedDNSDomains = append(tmpl.PermittedDNSDomains, n)
		}
	}
	cert, err := sign(tmpl, tmpl, key, key)
	if err != nil {
		return nil, err
	}
	if err := writeKeyAndCert(dir, CAKeyFile, CAFile, key, cert); err != nil {
		return nil, err
	}
	return &pair{cert, key}, nil
}

func createServer(dir string, ca *pair, names []string, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("tlsca: generate server key: %w", err)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost", Organization: []string{"openatp"}},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(serverValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	if tmpl.NotAfter.After(ca.cert.NotAfter) {
		tmpl.NotAfter = ca.cert.NotAfter
	}
	cert, err := sign(tmpl, ca.cert, key, ca.key)
	if err != nil {
		return err
	}
	return writeKeyAndCert(dir, ServerKeyFile, ServerFile, key, cert)
}

func sign(tmpl, parent *x509.Certificate, key *ecdsa.PrivateKey, parentKey crypto.Signer) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("tlsca: serial number: %w", err)
	}
	tmpl.SerialNumber = serial
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, fmt.Errorf("tlsca: create certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// writeKeyAndCert writes the key (0600) before the certificate (0644), each
// through a temporary file renamed into place.
func writeKeyAndCert(dir, keyName, certName string, key *ecdsa.PrivateKey, cert *x509.Certificate) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("tlsca: encode key: %w", err)
	}
	if err := writeAtomic(filepath.Join(dir, keyName), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, certName), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644)
}

func writeAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("tlsca: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("tlsca: write %s: %w", path, err)
	}
	return nil
}

// lock takes the directory's lock file, created with O_EXCL. A lock file
// older than staleLock is left over by a crashed process and is removed.
func lock(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, lockFile)
	deadline := time.Now().Add(lockTimeout)
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			fmt.Fprintf(f, "%d\n", os.Getpid())
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("tlsca: lock: %w", err)
		}
		if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) > staleLock {
			// Rename first so that only one waiter removes a given stale lock.
			stale := path + fmt.Sprintf(".stale%d", os.Getpid())
			if os.Rename(path, stale) == nil {
				os.Remove(stale)
			}
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("tlsca: %s is held by another process; remove it if no openatp process is starting", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
