package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/golang-jwt/jwt/v5"
	"github.com/openatp/openatp"
)

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
