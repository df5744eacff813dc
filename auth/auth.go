// Package auth is openatp's built-in token issuer, shaped like Microsoft
// Entra ID (OAuth2 client credentials, OpenID Connect discovery, JWKS), and
// the bearer-token verifier the API runs on every request.
//
// Tokens are RS256 JWTs. Signing keys live in the store (openatp.KeyStore) so
// that every process of a deployment signs and verifies with the same set:
// the newest active key signs, every stored key verifies.
package auth

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/openatp/openatp"
)

// Store is what the token service needs from the store: tenants and their
// application registrations, and the shared signing keys. openatp.Store
// satisfies it.
type Store interface {
	// Tenant finds a tenant by id or by name (ignoring case). NotFound if none.
	Tenant(ctx context.Context, idOrName string) (openatp.Tenant, error)
	// Tenants lists every tenant.
	Tenants(ctx context.Context) ([]openatp.Tenant, error)
	// App finds an application of a tenant by client id. NotFound if none.
	App(ctx context.Context, tenantID, clientID string) (openatp.App, error)
	// DirectoryUser finds a user who signs in, by user name ignoring case.
	// NotFound if none.
	DirectoryUser(ctx context.Context, tenantID, userName string) (openatp.DirectoryUser, error)
	openatp.KeyStore
}

// Options configures a Service. The zero value is usable.
type Options struct {
	// Now returns the current time; nil means time.Now. Tests inject it.
	Now func() time.Time
	// Hostnames are extra host names accepted in a token's issuer, besides
	// the host the request was sent to; for deployments behind a proxy or
	// with several names. A port, if given, is ignored.
	Hostnames []string
	// Logger receives key generation and reload events; nil discards them.
	Logger *slog.Logger
	// CacheSize bounds the cache of verified tokens; 0 means 100,000.
	CacheSize int
}

// TokenLifetime is the lifetime of the tokens Mint issues.
const TokenLifetime = time.Hour

// leeway is the clock skew tolerated on exp and nbf.
const leeway = 60 * time.Second

// reloadInterval is the shortest time between two key reloads caused by an
// unknown kid.
const reloadInterval = time.Second

// Service mints and verifies tokens. It is safe for concurrent use.
type Service struct {
	store     Store
	now       func() time.Time
	log       *slog.Logger
	hostnames map[string]bool // lower-case extra issuer hosts

	keys atomic.Pointer[keySet]

	reloadMu   sync.Mutex
	lastReload time.Time

	parser   *jwt.Parser // immutable once built
	cache    tokenCache
	external externalKeys
}

// New returns a Service using the signing keys of store. If the store has no
// key yet it generates an RSA-2048 key and stores it as the active one. Two
// processes starting at once may each add a key; that is harmless, since
// every stored key verifies and the newest active key signs.
func New(ctx context.Context, store Store, opts Options) (*Service, error) {
	if store == nil {
		return nil, errors.New("auth: nil store")
	}
	s := &Service{
		store:     store,
		now:       opts.Now,
		log:       opts.Logger,
		hostnames: make(map[string]bool),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, h := range opts.Hostnames {
		h = strings.ToLower(hostOnly(strings.TrimSpace(h)))
		if h != "" {
			s.hostnames[h] = true
		}
	}
	s.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(s.now),
		jwt.WithExpirationRequired(),
	)
	size := opts.CacheSize
	if size <= 0 {
		size = 100_000
	}
	s.cache.init(size)

	ks, err := s.loadKeys(ctx)
	if err != nil {
		return nil, err
	}
	if ks.signer == nil {
		if err := s.addKey(ctx); err != nil {
			return nil, err
		}
		if ks, err = s.loadKeys(ctx); err != nil {
			return nil, err
		}
		if ks.signer == nil {
			return nil, errors.New("auth: store returned no signing key after adding one")
		}
	}
	s.keys.Store(ks)
	return s, nil
}

// Rotate generates a new signing key and makes it the active one. Tokens
// signed with older keys still verify, here and in every other process.
func (s *Service) Rotate(ctx context.Context) error {
	if err := s.addKey(ctx); err != nil {
		return err
	}
	ks, err := s.loadKeys(ctx)
	if err != nil {
		return err
	}
	s.keys.Store(ks)
	return nil
}

// hostnameList returns Options.Hostnames, lower-case and sorted.
func (s *Service) hostnameList() []string {
	l := make([]string, 0, len(s.hostnames))
	for h := range s.hostnames {
		l = append(l, h)
	}
	slices.Sort(l)
	return l
}

// ActiveKeyID returns the kid of the key new tokens are signed with.
func (s *Service) ActiveKeyID() string { return s.keys.Load().signKID }

// JWKS returns the public signing keys as a JSON Web Key Set document
// ({"keys":[...]}). The slice is shared: callers must not modify it.
func (s *Service) JWKS() []byte { return s.keys.Load().jwks }

// addKey generates a key and stores it as the active one.
func (s *Service) addKey(ctx context.Context) error {
	k, err := generateKey(s.now())
	if err != nil {
		return fmt.Errorf("auth: generate signing key: %w", err)
	}
	if err := s.store.AddSigningKey(ctx, k); err != nil {
		return fmt.Errorf("auth: store signing key: %w", err)
	}
	s.log.Info("auth: generated signing key", "kid", k.ID)
	return nil
}

// loadKeys reads every signing key of the store.
func (s *Service) loadKeys(ctx context.Context) (*keySet, error) {
	stored, err := s.store.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("auth: load signing keys: %w", err)
	}
	return newKeySet(stored, s.log)
}

// publicKey returns the verification key of kid. On an unknown kid it
// reloads the keys from the store (at most once per reloadInterval), since
// another process may have rotated.
func (s *Service) publicKey(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	if k := s.keys.Load().public[kid]; k != nil {
		return k, nil
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if k := s.keys.Load().public[kid]; k != nil { // reloaded meanwhile
		return k, nil
	}
	// Real time, not Options.Now: this limits load on the store.
	if !s.lastReload.IsZero() && time.Since(s.lastReload) < reloadInterval {
		return nil, nil
	}
	s.lastReload = time.Now()
	ks, err := s.loadKeys(ctx)
	if err != nil {
		return nil, err
	}
	if ks.signer == nil { // keep signing with what we have
		ks.signer, ks.signKID = s.keys.Load().signer, s.keys.Load().signKID
	}
	s.keys.Store(ks)
	s.log.Info("auth: reloaded signing keys", "keys", len(ks.public), "active", ks.signKID)
	return ks.public[kid], nil
}
