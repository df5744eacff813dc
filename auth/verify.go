package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/openatp/openatp"
)

// tokenClaims are the claims Verify reads, of application and delegated
// tokens alike.
type tokenClaims struct {
	jwt.RegisteredClaims
	Tid               string   `json:"tid"`
	AppID             string   `json:"appid"`
	Azp               string   `json:"azp"`
	Oid               string   `json:"oid"`
	Roles             []string `json:"roles"`
	Scp               string   `json:"scp"`
	Upn               string   `json:"upn"`
	UniqueName        string   `json:"unique_name"`
	PreferredUsername string   `json:"preferred_username"`
	Groups            []string `json:"groups"`
	Scope             string   `json:"scope"` // delegated permissions of non-Entra issuers
}

// unauthorized returns the error of a rejected token.
func unauthorized(format string, args ...any) error {
	return openatp.CodedErrorf(openatp.Unauthenticated, "Unauthorized", format, args...)
}

var errNoToken = unauthorized("no bearer token")

// Verify checks a bearer token (without the "Bearer " prefix) received on a
// request addressed to requestHost (the request's Host, port optional) and
// returns its principal. A rejected token gives an *openatp.Error of kind
// Unauthenticated, code "Unauthorized", whose message says what was wrong;
// a store failure gives another kind.
//
// Verified tokens are cached, so the returned Principal may be shared with
// other callers: it must not be modified.
func (s *Service) Verify(ctx context.Context, raw, requestHost string) (*openatp.Principal, error) {
	if raw == "" {
		return nil, errNoToken
	}
	host := hostOnly(requestHost)
	now := s.now()
	if e := s.cache.get(raw); e != nil {
		if err := e.check(now, host); err != nil {
			return nil, err
		}
		return e.p, nil
	}
	e, err := s.verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	if err := e.check(now, host); err != nil {
		return nil, err
	}
	s.cache.put(raw, e, now)
	return e.p, nil
}

// verify checks everything about a token that does not depend on the time
// or the request host (the parser checks the time too, with the same rules
// as cacheEntry.check). It reads the token once without verifying it, to
// learn its issuer, algorithm and key: a token of an issuer no tenant
// trusts, of another algorithm than RS256, or naming a key this
// deployment does not have is refused then, from memory, before any
// signature check.
func (s *Service) verify(ctx context.Context, raw string) (*cacheEntry, error) {
	issuers := s.trust.Load().issuers
	h, iss, err := peek(raw, len(issuers) > 0)
	if err != nil {
		return nil, err
	}
	if h.Crit != nil {
		return nil, errCrit
	}
	if x := issuers[iss]; x != nil && iss != "" {
		return s.verifyExternal(ctx, raw, x)
	}
	if h.Alg != "RS256" {
		return nil, unauthorized("invalid token: signing algorithm %q is not accepted, only RS256", clip(h.Alg))
	}
	kid := h.Kid
	if kid == "" {
		return nil, unauthorized("invalid token: the header has no kid")
	}
	key := s.publicKey(kid)
	if key == nil {
		return nil, unauthorized("invalid token: signing key %q is not in this issuer's JWKS", clip(kid))
	}
	var c tokenClaims
	tok, err := s.parser.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return key, nil })
	if err != nil {
		return nil, tokenError(tok, &c, err)
	}

	// Issuer: <scheme>://<host>/<tid>/ (v1) or <scheme>://<host>/<tid>/v2.0.
	issTenant, issHost, ok := parseIssuer(c.Issuer)
	if !ok {
		return nil, unauthorized("invalid token: issuer %q is not of the form <base>/<tenant>/ or <base>/<tenant>/v2.0", clip(c.Issuer))
	}
	if c.Tid == "" {
		return nil, unauthorized("invalid token: no tid claim")
	}
	if !strings.EqualFold(c.Tid, issTenant) {
		return nil, unauthorized("invalid token: tid %q is not the tenant %q of the issuer", clip(c.Tid), clip(issTenant))
	}
	if len(c.Audience) == 0 {
		return nil, unauthorized("invalid token: no aud claim")
	}
	audOK := false
	for _, a := range c.Audience {
		if _, ok := NormalizeAudience(a); ok {
			audOK = true
			break
		}
	}
	if !audOK {
		return nil, unauthorized("invalid token: audience %q is not accepted (want e.g. %s)", clip(strings.Join(c.Audience, " ")), Audiences[0])
	}
	clientID := c.AppID
	if clientID == "" {
		clientID = c.Azp
	}
	if clientID == "" {
		return nil, unauthorized("invalid token: no appid or azp claim")
	}
	t, err := s.store.Tenant(ctx, c.Tid)
	if openatp.IsKind(err, openatp.NotFound) || (err == nil && !strings.EqualFold(t.ID, c.Tid)) {
		return nil, unauthorized("invalid token: tenant %q (tid) does not exist", clip(c.Tid))
	}
	if err != nil {
		return nil, fmt.Errorf("auth: look up tenant of token: %w", err)
	}

	pr := &openatp.Principal{
		TenantID: t.ID,
		ClientID: clientID,
		ObjectID: c.Oid,
		Roles:    c.Roles,
	}
	if c.Scp != "" {
		pr.Delegated = true
		pr.Scopes = strings.Fields(c.Scp)
		pr.UserName = firstNonEmpty(c.Upn, c.UniqueName, c.PreferredUsername)
		pr.Groups = c.Groups
	}
	e := &cacheEntry{
		p:        pr,
		issHost:  issHost,
		loopback: isLoopback(issHost),
		anyHost:  s.hostnames[issHost],
		until:    c.ExpiresAt.Add(leeway), // exp is required
	}
	if c.NotBefore != nil {
		e.from = c.NotBefore.Add(-leeway)
	}
	return e, nil
}

// tokenError turns a jwt parse error into the Unauthenticated error the
// caller sees.
func tokenError(tok *jwt.Token, c *tokenClaims, err error) error {
	var oe *openatp.Error
	if errors.As(err, &oe) {
		return oe
	}
	if errors.Is(err, jwt.ErrTokenMalformed) {
		return unauthorized("invalid token: malformed (%v)", clipError(err))
	}
	if tok != nil && tok.Header != nil {
		if alg, _ := tok.Header["alg"].(string); alg != "RS256" {
			return unauthorized("invalid token: signing algorithm %q is not accepted, only RS256", clip(alg))
		}
	}
	switch {
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return unauthorized("invalid token: bad signature")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && c.ExpiresAt == nil:
		return unauthorized("invalid token: no exp claim")
	case errors.Is(err, jwt.ErrTokenExpired) && c.ExpiresAt != nil:
		return errExpired(c.ExpiresAt.Time)
	case errors.Is(err, jwt.ErrTokenNotValidYet) && c.NotBefore != nil:
		return errNotYet(c.NotBefore.Time)
	}
	return unauthorized("invalid token: %v", clipError(err))
}

// tokenHeader is what verify reads of a token's header before checking it.
type tokenHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

// errCrit refuses a token whose header has a crit parameter: it names
// extensions the recipient must understand (RFC 7515 §4.1.11), and openatp
// understands none.
var errCrit = unauthorized("invalid token: the header's crit parameter names extensions this service does not understand")

// peek reads a compact JWS's header, and its claims' issuer when iss is
// asked for, without checking anything: the least work that tells which
// key, if any, could verify it. The claims of a built-in token are read
// by the parser afterwards, once its key is known.
func peek(raw string, iss bool) (tokenHeader, string, error) {
	var h tokenHeader
	head, rest, ok := strings.Cut(raw, ".")
	claims, _, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.Count(rest, ".") != 1 {
		return h, "", unauthorized("invalid token: malformed (not three dot-separated parts)")
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil || json.Unmarshal(b, &h) != nil {
		return h, "", unauthorized("invalid token: malformed (the header is not base64url-encoded JSON with string alg and kid)")
	}
	if !iss {
		return h, "", nil
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if b, err = base64.RawURLEncoding.DecodeString(claims); err != nil || json.Unmarshal(b, &c) != nil {
		return h, "", unauthorized("invalid token: malformed (the claims are not base64url-encoded JSON)")
	}
	return h, c.Iss, nil
}

// clipError is the text of err, clipped: parse errors may quote the input.
func clipError(err error) string { return clip(err.Error()) }

// parseIssuer splits an issuer of ours into its tenant and its lower-case
// host name (without port).
func parseIssuer(iss string) (tenant, host string, ok bool) {
	u, err := url.Parse(iss)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", "", false
	}
	path, ok := strings.CutPrefix(u.Path, "/")
	if !ok {
		return "", "", false
	}
	if t, ok := strings.CutSuffix(path, "/v2.0"); ok {
		tenant = t
	} else if t, ok := strings.CutSuffix(path, "/"); ok {
		tenant = t
	}
	if tenant == "" || strings.Contains(tenant, "/") {
		return "", "", false
	}
	return tenant, strings.ToLower(u.Hostname()), true
}

// hostOnly returns the host name of a Host header value, without port or
// IPv6 brackets. It does not allocate.
func hostOnly(hostport string) string {
	if strings.HasPrefix(hostport, "[") {
		if i := strings.IndexByte(hostport, ']'); i > 0 {
			return hostport[1:i]
		}
		return hostport
	}
	if i := strings.IndexByte(hostport, ':'); i >= 0 && strings.IndexByte(hostport[i+1:], ':') < 0 {
		return hostport[:i] // host:port; more colons is a bare IPv6 address
	}
	return hostport
}

// isLoopback reports whether host is one of the loopback names openatp
// treats as one: localhost, 127.0.0.1 and ::1.
func isLoopback(host string) bool {
	return strings.EqualFold(host, "localhost") || host == "127.0.0.1" || host == "::1"
}

func errExpired(exp time.Time) error {
	return unauthorized("invalid token: expired at %s (exp)", exp.UTC().Format(time.RFC3339))
}

func errNotYet(nbf time.Time) error {
	return unauthorized("invalid token: not valid yet, until %s (nbf)", nbf.UTC().Format(time.RFC3339))
}

// clip shortens caller-supplied text quoted in an error message.
func clip(s string) string {
	const max = 100
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// cacheEntry is a verified token.
type cacheEntry struct {
	p        *openatp.Principal
	from     time.Time // nbf - leeway; zero if the token has no nbf
	until    time.Time // exp + leeway
	issHost  string    // lower-case host name of the issuer
	loopback bool      // issHost is a loopback name
	anyHost  bool      // issHost is one of Options.Hostnames
}

// check applies the per-request checks of a verified token: its validity
// period at now and its issuer host against the request's host.
func (e *cacheEntry) check(now time.Time, host string) error {
	if !now.Before(e.until) {
		return errExpired(e.until.Add(-leeway))
	}
	if now.Before(e.from) {
		return errNotYet(e.from.Add(leeway))
	}
	if e.anyHost || strings.EqualFold(e.issHost, host) || (e.loopback && isLoopback(host)) {
		return nil
	}
	return unauthorized("invalid token: issuer host %q is not accepted on host %q", e.issHost, clip(host))
}

// tokenCache maps raw tokens to their verification. It is bounded: when
// full, expired entries are dropped, and if that is not enough, all.
type tokenCache struct {
	mu  sync.RWMutex
	m   map[string]*cacheEntry
	max int
}

func (c *tokenCache) init(max int) {
	c.max = max
	c.m = make(map[string]*cacheEntry)
}

func (c *tokenCache) get(raw string) *cacheEntry {
	c.mu.RLock()
	e := c.m[raw]
	c.mu.RUnlock()
	return e
}

func (c *tokenCache) put(raw string, e *cacheEntry, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, v := range c.m {
			if !now.Before(v.until) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m)
		}
	}
	c.m[raw] = e
}

// len returns the number of cached tokens.
func (c *tokenCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
