package auth

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"time"

	"github.com/openatp/openatp"
)

// keySet is an immutable snapshot of the signing keys.
type keySet struct {
	signer  *rsa.PrivateKey // the newest active key
	signKID string
	public  map[string]*rsa.PublicKey // every stored key, by kid
	jwks    []byte                    // {"keys":[...]}, newest first
}

// jwk is an RSA public key as a JSON Web Key.
type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
	Alg string `json:"alg"`
}

// newKeySet builds a keySet from stored keys, newest first. A key that does
// not parse is logged and skipped rather than locking every caller out.
func newKeySet(stored []openatp.SigningKey, log *slog.Logger) (*keySet, error) {
	ks := &keySet{public: make(map[string]*rsa.PublicKey, len(stored))}
	var keys []jwk
	var newestActive, newest *rsa.PrivateKey
	var newestActiveKID, newestKID string
	var newestActiveT, newestT time.Time
	for _, sk := range stored {
		priv, err := parsePrivateKey(sk.PrivatePEM)
		if err != nil {
			log.Error("auth: unusable signing key", "kid", sk.ID, "err", err)
			continue
		}
		if _, dup := ks.public[sk.ID]; dup {
			continue
		}
		ks.public[sk.ID] = &priv.PublicKey
		keys = append(keys, publicJWK(sk.ID, &priv.PublicKey))
		// The store lists newest first; compare times too, in case it does not.
		if newest == nil || sk.Created.After(newestT) {
			newest, newestKID, newestT = priv, sk.ID, sk.Created
		}
		if sk.Active && (newestActive == nil || sk.Created.After(newestActiveT)) {
			newestActive, newestActiveKID, newestActiveT = priv, sk.ID, sk.Created
		}
	}
	ks.signer, ks.signKID = newestActive, newestActiveKID
	if ks.signer == nil {
		ks.signer, ks.signKID = newest, newestKID
	}
	if keys == nil {
		keys = []jwk{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		Keys []jwk `json:"keys"`
	}{keys}); err != nil {
		return nil, fmt.Errorf("auth: encode JWKS: %w", err)
	}
	ks.jwks = bytes.TrimRight(buf.Bytes(), "\n")
	return ks, nil
}

// generateKey makes a new active RSA-2048 signing key whose kid is its RFC
// 7638 thumbprint.
func generateKey(now time.Time) (openatp.SigningKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return openatp.SigningKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return openatp.SigningKey{}, err
	}
	return openatp.SigningKey{
		ID:         thumbprint(&priv.PublicKey),
		PrivatePEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		Created:    now.UTC(),
		Active:     true,
	}, nil
}

// parsePrivateKey reads a PKCS#8 (or, leniently, PKCS#1) RSA private key.
func parsePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("not an RSA key but %T", k)
	}
	return rk, nil
}

// publicJWK returns pub as a JWK.
func publicJWK(kid string, pub *rsa.PublicKey) jwk {
	return jwk{
		Kty: "RSA",
		Use: "sig",
		Kid: kid,
		N:   b64(pub.N.Bytes()),
		E:   b64(big.NewInt(int64(pub.E)).Bytes()),
		Alg: "RS256",
	}
}

// thumbprint returns the RFC 7638 JWK SHA-256 thumbprint of pub.
func thumbprint(pub *rsa.PublicKey) string {
	j := publicJWK("", pub)
	sum := sha256.Sum256([]byte(`{"e":"` + j.E + `","kty":"RSA","n":"` + j.N + `"}`))
	return b64(sum[:])
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// randomID returns 16 random bytes, base64url-encoded.
func randomID() string {
	var b [16]byte
	randRead(b[:])
	return b64(b[:])
}

// randRead fills b with random bytes; crypto/rand.Read never fails.
func randRead(b []byte) { rand.Read(b) }
