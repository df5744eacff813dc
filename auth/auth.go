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
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/lifetime"
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
	// DataVersion changes whenever any process commits a write
	// (openatp.Store.DataVersion): the service reloads what it keeps in
	// memory when it moved.
	DataVersion(ctx context.Context) (uint64, error)
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
	// RefreshInterval is how often the service asks the store whether
	// anything changed (its data version) and then reloads what the
	// verifier keeps in memory: signing keys, trusted issuers, settings
	// (the admin key). 0 means only on Refresh and on this service's own
	// changes (Rotate, TrustIssuer): enough for a command that runs briefly.
	// `openatp serve` polls every second; Close stops it.
	RefreshInterval time.Duration
	// LockoutThreshold is the number of failed password sign-ins of one
	// user name after which it is locked (AADSTS50053); 0 means
	// DefaultLockoutThreshold, a negative number turns lockout off.
	LockoutThreshold int
	// LockoutDuration is the first lockout period (it doubles with each
	// lockout that follows, up to an hour); 0 means DefaultLockoutDuration.
	LockoutDuration time.Duration
	// PublicURL, if set (scheme://host[:port], no path), is the base of the
	// issuer and every URL the identity endpoints write, instead of the
	// request's scheme and Host header; its host is accepted in issuers as
	// Hostnames are.
	PublicURL string
	// Failures, if set, bounds the failed sign-ins (wrong client secrets,
	// passwords, unknown apps and tenants) per client address: once a
	// client's budget is used up, its token requests are refused unchecked
	// until the budget has room again.
	Failures FailureBudget
}

// FailureBudget bounds failed attempts per key (a client address, from
// ratelimit.AddressKey); *ratelimit.Failures implements it.
type FailureBudget interface {
	Exhausted(key string) (retryAfter time.Duration, exhausted bool)
	Fail(key string)
}

// TokenLifetime is the lifetime of the tokens Mint issues.
const TokenLifetime = time.Hour

// Service mints and verifies tokens. It is safe for concurrent use.
//
// Verifying a token reads nothing from the store but, once per token, its
// tenant after the signature checked out: the signing keys, the trusted
// external issuers and the settings live in memory, reloaded when the
// store's data version moves (Options.RefreshInterval, Refresh). A token
// that cannot be valid costs a parse and a map look-up.
type Service struct {
	store     Store
	now       func() time.Time
	log       *slog.Logger
	hostnames map[string]bool // lower-case extra issuer hosts

	keys  atomic.Pointer[keySet]
	trust atomic.Pointer[trustState]

	refreshMu sync.Mutex // serializes loads; guards version
	version   uint64     // the store's data version keys and trust were loaded at

	bg *lifetime.Group // what the service runs in the background; Close stops it

	parser   *jwt.Parser // immutable once built
	cache    tokenCache
	external externalKeys

	publicURL  string // Options.PublicURL without a trailing "/"
	publicHost string // its host[:port]

	lockouts *lockouts
	hashing  *hashing
	failures FailureBudget // nil: no budget
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
	if opts.PublicURL != "" {
		u, err := url.Parse(opts.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("auth: public URL %q is not scheme://host[:port]", opts.PublicURL)
		}
		s.publicURL, s.publicHost = u.Scheme+"://"+u.Host, u.Host
		opts.Hostnames = append(slices.Clone(opts.Hostnames), u.Hostname())
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
	threshold, duration := opts.LockoutThreshold, opts.LockoutDuration
	if threshold == 0 {
		threshold = DefaultLockoutThreshold
	}
	if duration <= 0 {
		duration = DefaultLockoutDuration
	}
	s.lockouts, s.hashing, s.failures = newLockouts(threshold, duration), newHashing(), opts.Failures

	ks, err := s.loadKeys(ctx)
	if err != nil {
		return nil, err
	}
	if ks.signer == nil {
		if err := s.firstKey(ctx); err != nil {
			return nil, err
		}
	}
	if err := s.reload(ctx, true); err != nil {
		return nil, err
	}
	if s.keys.Load().signer == nil {
		return nil, errors.New("auth: store returned no signing key after adding one")
	}
	s.bg = lifetime.New(context.Background())
	if opts.RefreshInterval > 0 {
		s.bg.Go(func(ctx context.Context) error { s.refreshLoop(ctx, opts.RefreshInterval); return nil })
	}
	return s, nil
}

// Close stops what the service runs in the background (the refresh of
// its keys and settings, the external issuers' key fetches) and waits for
// it. The service still verifies and mints afterwards, from what it holds.
func (s *Service) Close() error {
	return s.bg.Close()
}

// Refresh reloads the signing keys, trusted issuers and settings if the
// store's data version moved since they were loaded.
func (s *Service) Refresh(ctx context.Context) error { return s.reload(ctx, false) }

// reload loads keys, issuers and settings; unless force, only when the
// data version moved. The version is read first, so that a write that
// commits during the load moves it again for the next call.
func (s *Service) reload(ctx context.Context, force bool) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	v, err := s.store.DataVersion(ctx)
	if err != nil {
		return fmt.Errorf("auth: read the data version: %w", err)
	}
	if !force && v == s.version {
		return nil
	}
	ks, err := s.loadKeys(ctx)
	if err != nil {
		return err
	}
	settings, err := s.store.Settings(ctx, "")
	if err != nil {
		return fmt.Errorf("auth: load settings: %w", err)
	}
	ts := &trustState{issuers: map[string]*ExternalIssuer{}, settings: settings}
	for name, v := range settings {
		iss, ok := strings.CutPrefix(name, issuerSettingPrefix)
		if !ok {
			continue
		}
		var x ExternalIssuer
		if err := json.Unmarshal([]byte(v), &x); err != nil {
			s.log.Error("auth: unusable issuer trust", "issuer", iss, "error", err)
			continue
		}
		ts.issuers[iss] = &x
	}
	if old := s.keys.Load(); ks.signer == nil && old != nil { // keep signing with what we have
		ks.signer, ks.signKID = old.signer, old.signKID
	}
	if old := s.keys.Load(); old != nil && len(old.public) != len(ks.public) {
		s.log.Info("auth: reloaded signing keys", "keys", len(ks.public), "active", ks.signKID)
	}
	s.keys.Store(ks)
	s.trust.Store(ts)
	s.version = v
	return nil
}

// refreshLoop calls Refresh every interval until ctx (the service's, done
// on Close) ends; a failure is logged once until a refresh succeeds again.
func (s *Service) refreshLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := s.Refresh(rctx)
		cancel()
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			s.log.Warn("auth: cannot refresh signing keys and settings; verifying with those held", "error", err)
			failing = true
		case err == nil && failing:
			s.log.Info("auth: signing keys and settings refreshed again")
			failing = false
		}
	}
}

// Setting returns a setting of the store as of the last refresh (see
// Options.RefreshInterval), without asking the store.
func (s *Service) Setting(name string) (string, bool) {
	v, ok := s.trust.Load().settings[name]
	return v, ok
}

// Rotate generates a new signing key and makes it the active one. Tokens
// signed with older keys still verify, here and in every other process
// (there after its next refresh).
func (s *Service) Rotate(ctx context.Context) error {
	if err := s.addKey(ctx); err != nil {
		return err
	}
	return s.reload(ctx, true)
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

// firstKeySetting names the process that generates a deployment's first
// signing key.
const firstKeySetting = "signing_key_first"

// firstKeyWait is how long a process waits for another one to store the
// first signing key before it stores one of its own.
const firstKeyWait = 30 * time.Second

// firstKey makes the deployment's first signing key. Of processes starting
// together on a new store, one generates it and the others wait for it, so
// that all of them start with the same key: verifying reads keys from
// memory only, and a token signed with a key another replica made a moment
// ago would be refused until the next refresh. Should the generating
// process die first, the others add keys of their own after firstKeyWait
// (harmless: every stored key verifies).
func (s *Service) firstKey(ctx context.Context) error {
	claim := randomID()
	owner, err := s.store.SetSettingIfAbsent(ctx, firstKeySetting, claim)
	if err != nil {
		return fmt.Errorf("auth: claim the first signing key: %w", err)
	}
	if owner == claim {
		return s.addKey(ctx)
	}
	deadline := time.Now().Add(firstKeyWait)
	for {
		ks, err := s.loadKeys(ctx)
		if err != nil {
			return err
		}
		if ks.signer != nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.log.Warn("auth: the process that claimed the first signing key stored none; adding one")
			return s.addKey(ctx)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

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

// publicKey returns the verification key of kid, or nil: from memory
// only, so that a token naming an unknown kid costs no store read. A key
// another process added is known after the next refresh.
func (s *Service) publicKey(kid string) *rsa.PublicKey { return s.keys.Load().public[kid] }
