package httpserve

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"

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
type Authenticator struct {
	v   Verifier
	aud audienceCache
}

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
	if err := checkAudience(r.URL.Path, a.aud.get(strings.TrimSpace(tok))); err != nil {
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
func checkAPIAudience(path, raw string) error { return checkAudience(path, tokenAudiences(raw)) }

// audiences is what a token's payload says of its audience: whether it
// names Graph's, and whether another.
type audiences struct{ graph, other bool }

func tokenAudiences(raw string) audiences {
	var a audiences
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
					for _, s := range auds {
						g := strings.EqualFold(strings.TrimSuffix(s, "/"), GraphAudience)
						a.graph, a.other = a.graph || g, a.other || !g
					}
				}
			}
		}
	}
	return a
}

// checkAudience is checkAPIAudience of a token of audiences a.
func checkAudience(path string, a audiences) error {
	graphRoute := strings.HasPrefix(path, "/v1.0/") || strings.HasPrefix(path, "/beta/")
	// A token naming Graph and a Defender audience is a Defender token too.
	graphToken := a.graph && (graphRoute || !a.other)
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

// audienceCache keeps the audiences of the tokens last checked, a slot
// per token picked by its last bytes (its signature's): a client sends
// one token with every request, and reading its payload (three searches
// of it, about a kilobyte) was 1.4 % of the server's CPU per request. A
// slot is read only for the very token it was filled from, so the answer
// is tokenAudiences' exactly. Only verified tokens reach it (authenticate
// verifies first): a stream of forged tokens cannot churn it.
type audienceCache [64]atomic.Pointer[audienceEntry]

type audienceEntry struct {
	raw string
	aud audiences
}

func (c *audienceCache) get(raw string) audiences {
	if len(raw) < 2 {
		return tokenAudiences(raw)
	}
	slot := &c[(int(raw[len(raw)-1])^int(raw[len(raw)-2])<<3)%len(c)]
	if e := slot.Load(); e != nil && e.raw == raw {
		return e.aud
	}
	a := tokenAudiences(raw)
	slot.Store(&audienceEntry{raw: strings.Clone(raw), aud: a})
	return a
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
