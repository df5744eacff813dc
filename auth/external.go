package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/openatp/openatp"
)

// ExternalIssuer is a real OIDC issuer (Entra ID, Keycloak, ...) a tenant
// trusts: tokens whose iss is Issuer are verified with the keys published
// at JWKSURL and belong to TenantID. When Tid is set, the token's tid claim
// must equal it (an Entra ID tenant id).
type ExternalIssuer struct {
	TenantID string `json:"tenant"`
	Issuer   string `json:"issuer"`
	JWKSURL  string `json:"jwks_url"`
	Tid      string `json:"tid,omitempty"`
}

const issuerSettingPrefix = "external_issuer:"

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

// externalKeys holds one keyfunc per JWKS URL: keys are fetched once,
// cached, and fetched again (rate-limited) when a token names an unknown kid.
type externalKeys struct {
	mu  sync.Mutex
	kfs map[string]keyfunc.Keyfunc
}

func (e *externalKeys) get(ctx context.Context, log *slog.Logger, jwksURL string) (keyfunc.Keyfunc, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if kf, ok := e.kfs[jwksURL]; ok {
		return kf, nil
	}
	kf, err := keyfunc.NewDefaultOverrideCtx(context.WithoutCancel(ctx), []string{jwksURL}, keyfunc.Override{
		HTTPTimeout: 10 * time.Second,
		// A token naming an unknown kid fetches the set again, at most
		// every 10 s. RateLimitWaitMax bounds the wait for that budget
		// and the fetch together (jwkset runs both under one deadline): a
		// request waits only when the budget comes back within it (the
		// limiter refuses at once otherwise), and the fetch has the rest.
		// It was 1 ms, which failed every fetch on a busy machine.
		RefreshUnknownKID: rate.NewLimiter(rate.Every(10*time.Second), 1),
		RateLimitWaitMax:  3 * time.Second,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				log.Warn("auth: cannot refresh an external issuer's keys", "jwks_url", u, "error", err)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	if e.kfs == nil {
		e.kfs = map[string]keyfunc.Keyfunc{}
	}
	e.kfs[jwksURL] = kf
	return kf, nil
}

// verifyExternal verifies a token of a trusted external issuer and maps it
// to a principal the same way as a built-in token: "scp" (Entra ID) or
// "scope" (Keycloak and others) makes it delegated, "roles" carries
// application permissions, "groups" the user's groups.
func (s *Service) verifyExternal(ctx context.Context, raw string, x *ExternalIssuer) (*cacheEntry, error) {
	kf, err := s.external.get(ctx, s.log, x.JWKSURL)
	if err != nil {
		return nil, &openatp.Error{Kind: openatp.Unavailable, Message: "cannot fetch the keys of issuer " + x.Issuer, Err: err}
	}
	var c tokenClaims
	p := jwt.NewParser(jwt.WithValidMethods(externalAlgs), jwt.WithIssuer(x.Issuer), jwt.WithLeeway(leeway),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.now))
	tok, err := p.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		k, err := kf.Keyfunc(t)
		if err != nil {
			return nil, unauthorized("invalid token: signing key not in the JWKS of issuer %s", x.Issuer)
		}
		return k, nil
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
