package auth

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/openatp/openatp"
)

// externalAlgs are the signature algorithms accepted from external
// issuers: asymmetric only, never none or HS*.
var externalAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}

// TrustIssuer makes a tenant accept tokens of an external issuer. The
// issuer must be an https URL (http only for loopback hosts, for tests),
// and so must the JWKS URL.
//
// An issuer is trusted by one tenant: the tokens of an issuer carry no
// openatp tenant, so a second tenant's trust would take over the first
// one's tokens. Trusting an issuer another tenant trusts is a Conflict;
// trusting it again for the same tenant replaces its JWKS URL and tid.
func (s *Service) TrustIssuer(ctx context.Context, x ExternalIssuer) error {
	for _, u := range []struct{ name, v string }{{"issuer", x.Issuer}, {"jwks-url", x.JWKSURL}} {
		p, err := url.Parse(u.v)
		if err != nil || p.Host == "" || (p.Scheme != "https" && !(p.Scheme == "http" && isLoopback(p.Hostname()))) {
			return openatp.Errorf(openatp.Invalid, "%s %q: want an https:// URL (http:// only on loopback)", u.name, clip(u.v))
		}
	}
	t, err := s.store.Tenant(ctx, x.TenantID)
	if err != nil {
		return err
	}
	x.TenantID = t.ID
	b, _ := json.Marshal(x)
	name := issuerSettingPrefix + x.Issuer
	// A new trust is stored only if no tenant holds one, atomically in the
	// store, so of two processes trusting the issuer for different tenants
	// at once only one wins. A trust is never deleted and only its own
	// tenant replaces it, so the owner read back here cannot change before
	// the SetSetting below.
	v, err := s.store.SetSettingIfAbsent(ctx, name, string(b))
	if err != nil {
		return err
	}
	if v == string(b) {
		return s.reload(ctx, true)
	}
	var old ExternalIssuer
	if err := json.Unmarshal([]byte(v), &old); err != nil {
		return fmt.Errorf("auth: stored issuer trust %q: %w", x.Issuer, err)
	}
	if old.TenantID != x.TenantID {
		owner := old.TenantID
		if ot, err := s.store.Tenant(ctx, old.TenantID); err == nil {
			owner = fmt.Sprintf("%s (%s)", ot.ID, ot.Name)
		}
		return openatp.CodedErrorf(openatp.Conflict, "Conflict",
			"issuer %q is already trusted by tenant %s: an issuer is trusted by one tenant", clip(x.Issuer), owner)
	}
	if err := s.store.SetSetting(ctx, name, string(b)); err != nil {
		return err
	}
	return s.reload(ctx, true)
}

// Keys of external issuers. Each JWKS URL has one key set, fetched on
// first use, again every externalRefresh by a goroutine of the service,
// and at once when a token names a kid the set lacks (at most every
// unknownKidInterval, so that tokens with made-up kids cannot make the
// server hammer the issuer). A fetch runs in a goroutine of the service,
// under its own deadline (externalFetchTimeout), never under a lock or a
// request's context: requests that need the set wait for the fetch in
// flight (one per set at a time) or their own end, whichever comes
// first. Close stops the goroutines.
const (
	externalRefresh      = time.Hour
	unknownKidInterval   = 10 * time.Second
	externalFetchTimeout = 10 * time.Second
	maxJWKSBytes         = 1 << 20
)

// set returns the key set of jwksURL, made (not fetched) on first use; its
// hourly refresh starts with it.
func (s *Service) set(jwksURL string) *jwksSet {
	s.external.mu.Lock()
	defer s.external.mu.Unlock()
	if ks := s.external.sets[jwksURL]; ks != nil {
		return ks
	}
	ks := &jwksSet{url: jwksURL}
	if s.external.sets == nil {
		s.external.sets = map[string]*jwksSet{}
	}
	s.external.sets[jwksURL] = ks
	s.bg.Go(func(ctx context.Context) error {
		t := time.NewTicker(externalRefresh)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				s.fetch(ks, false)
			}
		}
	})
	return ks
}

// fetch starts a fetch of the set unless one is in flight, and returns a
// channel closed when the fetch in flight ends. For an unknown kid
// (unknownKid), a set fetched before is fetched again at most every
// unknownKidInterval: fetch then returns nil.
func (s *Service) fetch(ks *jwksSet, unknownKid bool) <-chan struct{} {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if ks.fetching != nil {
		return ks.fetching
	}
	if unknownKid && ks.keys.Load() != nil {
		if time.Since(ks.lastUnknown) < unknownKidInterval {
			return nil
		}
		ks.lastUnknown = time.Now()
	}
	done := make(chan struct{})
	ks.fetching = done
	started := s.bg.Go(func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, externalFetchTimeout)
		keys, err := fetchJWKS(ctx, ks.url)
		cancel()
		if err != nil {
			s.log.Warn("auth: cannot fetch an external issuer's keys", "jwks_url", ks.url, "error", err)
		} else {
			ks.keys.Store(&keys)
		}
		ks.mu.Lock()
		ks.err, ks.fetching = err, nil
		ks.mu.Unlock()
		close(done)
		return nil // logged and kept for the callers: not the service's failure
	})
	if !started { // closed: no more fetches
		ks.err, ks.fetching = errors.New("auth: the service is closed"), nil
		close(done)
	}
	return done
}

// key returns the key of kid from the set of jwksURL, fetching the set if
// it lacks kid (see fetch). An empty kid gives every key of the set. It
// waits for a fetch as long as ctx lets it.
func (s *Service) key(ctx context.Context, jwksURL, kid string) (map[string]externalKey, error) {
	ks := s.set(jwksURL)
	if m := ks.keys.Load(); m != nil {
		if _, ok := (*m)[kid]; ok || kid == "" {
			return *m, nil
		}
	}
	if done := s.fetch(ks, true); done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return nil, &openatp.Error{Kind: openatp.Canceled, Message: "waiting for an issuer's keys", Err: ctx.Err()}
		}
	}
	m := ks.keys.Load()
	if m == nil { // never fetched
		ks.mu.Lock()
		err := ks.err
		ks.mu.Unlock()
		return nil, &openatp.Error{Kind: openatp.Unavailable, Message: "cannot fetch the keys of the token's issuer", Err: err}
	}
	return *m, nil
}

// fetchJWKS gets and reads a JWKS document: its signature keys by kid
// (keys of other types, or for encryption, are skipped).
func fetchJWKS(ctx context.Context, jwksURL string) (map[string]externalKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, jwksURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d", jwksURL, res.StatusCode)
	}
	var doc jwkset.JWKSMarshal
	if err := json.NewDecoder(io.LimitReader(res.Body, maxJWKSBytes)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("GET %s: not a JWKS: %w", jwksURL, err)
	}
	keys := make(map[string]externalKey, len(doc.Keys))
	for _, m := range doc.Keys {
		if m.USE == jwkset.UseEnc {
			continue
		}
		jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			continue // a key type openatp does not verify with
		}
		k := jwk.Key()
		if pk, ok := k.(interface{ Public() crypto.PublicKey }); ok {
			k = pk.Public()
		}
		keys[m.KID] = externalKey{key: k, alg: m.ALG.String()}
	}
	return keys, nil
}

// verifyExternal verifies a token of a trusted external issuer and maps it
// to a principal the same way as a built-in token: "scp" (Entra ID) or
// "scope" (Keycloak and others) makes it delegated, "roles" carries
// application permissions, "groups" the user's groups.
func (s *Service) verifyExternal(ctx context.Context, raw string, x *ExternalIssuer) (*cacheEntry, error) {
	var c tokenClaims
	p := jwt.NewParser(jwt.WithValidMethods(externalAlgs), jwt.WithIssuer(x.Issuer), jwt.WithLeeway(leeway),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.now))
	tok, err := p.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		alg, _ := t.Header["alg"].(string)
		keys, err := s.key(ctx, x.JWKSURL, kid)
		if err != nil {
			return nil, err
		}
		if kid != "" {
			k, ok := keys[kid]
			if !ok || (k.alg != "" && k.alg != alg) {
				return nil, unauthorized("invalid token: signing key %q is not in the JWKS of issuer %s", clip(kid), x.Issuer)
			}
			return k.key, nil
		}
		var set jwt.VerificationKeySet
		for _, k := range keys {
			if k.alg == "" || k.alg == alg {
				set.Keys = append(set.Keys, k.key)
			}
		}
		return set, nil
	})
	if err != nil {
		return nil, tokenError(tok, &c, err)
	}
	if x.Tid != "" && !strings.EqualFold(c.Tid, x.Tid) {
		return nil, unauthorized("invalid token: tid %q is not the tenant %q this issuer is trusted for", clip(c.Tid), x.Tid)
	}
	audOK := false
	for _, a := range c.Audience {
		if _, ok := NormalizeAudience(a); ok {
			audOK = true
		}
	}
	if !audOK {
		return nil, unauthorized("invalid token: audience %q is not accepted (want e.g. %s)", clip(strings.Join(c.Audience, " ")), Audiences[0])
	}
	pr := &openatp.Principal{TenantID: x.TenantID, ClientID: firstNonEmpty(c.AppID, c.Azp), ObjectID: firstNonEmpty(c.Oid, c.Subject), Roles: c.Roles}
	if scopes := firstNonEmpty(c.Scp, c.Scope); scopes != "" {
		pr.Delegated = true
		pr.Scopes = strings.Fields(scopes)
		pr.UserName = firstNonEmpty(c.Upn, c.UniqueName, c.PreferredUsername, c.Subject)
		pr.Groups = c.Groups
	}
	// The entry is cached until the token expires without looking at the
	// trust again. That cannot move the token to another tenant: an
	// issuer's trust, once stored, is only ever replaced by the same
	// tenant (TrustIssuer) and never deleted. A new JWKS URL or tid for
	// that tenant applies to tokens not yet cached.
	e := &cacheEntry{p: pr, anyHost: true, until: c.ExpiresAt.Add(leeway)}
	if c.NotBefore != nil {
		e.from = c.NotBefore.Add(-leeway)
	}
	return e, nil
}
