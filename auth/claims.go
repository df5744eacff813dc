package auth

// The claims a verified token is read for, and the errors of a token
// refused: shared by the verifier of built-in tokens (verify.go), of
// external issuers' tokens (external.go) and the token cache (cache.go).

import (
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/openatp/openatp"
)

// leeway is the clock skew tolerated on exp and nbf.
const leeway = 60 * time.Second

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

// clipError is the text of err, clipped: parse errors may quote the input.
func clipError(err error) string { return clip(err.Error()) }

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
