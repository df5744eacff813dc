package httpserve

import (
	"context"
	"net/http"
	"strings"

	"github.com/openatp/openatp"
)

// Verifier turns a bearer token into the caller it names. Errors are of
// kind Unauthenticated with the reason in the message.
type Verifier interface {
	Verify(ctx context.Context, raw, requestHost string) (*openatp.Principal, error)
}

// Authenticator authenticates the callers of the MDE API. The test
// double's middleware and the handlers share its answer: the first to ask
// verifies the token, once per request.
type Authenticator struct{ v Verifier }

// NewAuthenticator returns the authenticator of v's tokens.
func NewAuthenticator(v Verifier) *Authenticator { return &Authenticator{v: v} }

// Principal authenticates the request's bearer token, once per request:
// a second call gets the first one's answer.
func (a *Authenticator) Principal(r *http.Request) (*openatp.Principal, error) {
	ri := infoOf(r)
	if ri != nil && ri.authed {
		return ri.principal, ri.authErr
	}
	p, err := a.authenticate(r)
	if ri != nil {
		ri.authed, ri.principal, ri.authErr = true, p, err
		if p != nil {
			ri.tenant, ri.app, ri.user = p.TenantID, p.ClientID, p.UserName
		}
	}
	return p, err
}

func (a *Authenticator) authenticate(r *http.Request) (*openatp.Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, openatp.CodedErrorf(openatp.Unauthenticated, "Unauthorized", "Authorization header is missing. Send 'Authorization: Bearer <token>'.")
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return nil, openatp.CodedErrorf(openatp.Unauthenticated, "Unauthorized", "Authorization header is not of the form 'Bearer <token>'.")
	}
	p, err := a.v.Verify(r.Context(), strings.TrimSpace(tok), r.Host)
	if err != nil {
		if openatp.KindOf(err) == openatp.Internal {
			return nil, err
		}
		return nil, err
	}
	return p, nil
}
