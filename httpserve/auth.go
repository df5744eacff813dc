package httpserve

import (
	"context"
	"encoding/base64"
	"encoding/json"
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
	if err := checkAPIAudience(r.URL.Path, strings.TrimSpace(tok)); err != nil {
		return nil, err
	}
	return p, nil
}

// GraphAudience is the audience of Microsoft Graph's tokens.
const GraphAudience = "https://graph.microsoft.com"

// checkAPIAudience refuses a verified token raw issued for another API
// than the one path belongs to: Graph's routes (/v1.0/, /beta/) take only
// Graph's tokens, and the Defender APIs' routes never take one. Only the
// token's payload is looked at, and decoded only when it names Graph (in
// any of its base64 alignments): the common case costs a few substring
// searches.
func checkAPIAudience(path, raw string) error {
	graphRoute := strings.HasPrefix(path, "/v1.0/") || strings.HasPrefix(path, "/beta/")
	sawGraph, sawOther := false, false
	if _, rest, ok := strings.Cut(raw, "."); ok {
		if payload, _, ok := strings.Cut(rest, "."); ok && namesGraph(payload) {
			if b, err := base64.RawURLEncoding.DecodeString(payload); err == nil {
				var c struct {
					Aud json.RawMessage `json:"aud"`
				}
				if json.Unmarshal(b, &c) == nil {
					var auds []string
					if json.Unmarshal(c.Aud, &auds) != nil {
						auds = []string{""}
						_ = json.Unmarshal(c.Aud, &auds[0])
					}
					for _, a := range auds {
						g := strings.EqualFold(strings.TrimSuffix(a, "/"), GraphAudience)
						sawGraph, sawOther = sawGraph || g, sawOther || !g
					}
				}
			}
		}
	}
	// A token naming Graph and a Defender audience is a Defender token too.
	graphToken := sawGraph && (graphRoute || !sawOther)
	switch {
	case graphRoute && !graphToken:
		return openatp.CodedErrorf(openatp.Unauthenticated, "Unauthorized",
			"invalid token: Microsoft Graph takes tokens of the audience %s only", GraphAudience)
	case !graphRoute && graphToken:
		return openatp.CodedErrorf(openatp.Unauthenticated, "Unauthorized",
			"invalid token: a token of the audience %s is for Microsoft Graph, not this API", GraphAudience)
	}
	return nil
}

// graphB64 are the base64 (URL alphabet) forms of "graph.microsoft.com"
// at the three alignments a JSON payload may put it in, without the
// characters that depend on its neighbours.
var graphB64 = func() [3]string {
	var fs [3]string
	needle := []byte("graph.microsoft.com")
	for k := range 3 {
		enc := base64.RawURLEncoding.EncodeToString(append(make([]byte, k), needle...))
		head := (k*4 + 2) / 3
		tail := len(enc)
		if (k+len(needle))%3 != 0 {
			tail--
		}
		fs[k] = enc[head:tail]
	}
	return fs
}()

// namesGraph reports whether a base64 payload may contain Graph's host.
func namesGraph(payload string) bool {
	for _, f := range graphB64 {
		if strings.Contains(payload, f) {
			return true
		}
	}
	return false
}
