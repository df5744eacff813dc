package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/ratelimit"
)

// statusClientClosedRequest is the status of a request whose client went
// away before its answer (as api.StatusClientClosedRequest).
const statusClientClosedRequest = 499

// maxBodyBytes caps the body of a token request.
const maxBodyBytes = 64 << 10

// Patterns are the ServeMux patterns NewHandler serves, for a router that
// delegates them to it:
//
//	h := auth.NewHandler(svc, logger)
//	for _, p := range auth.Patterns {
//		mux.Handle(p, h)
//	}
//
// The token endpoints take every method, so that a GET gets an OAuth error
// rather than a bare 405. Do not modify.
var Patterns = []string{
	"/{tenant}/oauth2/token",
	"/{tenant}/oauth2/v2.0/token",
	"GET /{tenant}/.well-known/openid-configuration",
	"GET /{tenant}/v2.0/.well-known/openid-configuration",
	"GET /{tenant}/discovery/keys",
	"GET /{tenant}/discovery/v2.0/keys",
	"GET /{tenant}/discovery/instance",
	"GET /common/userrealm/{upn}",
	"GET /common/UserRealm/{upn}",
}

// NewHandler returns the HTTP face of the token service, shaped like Entra
// ID: the token endpoints (v1 and v2.0), the OpenID Connect discovery
// documents and the JWKS, for every tenant ({tenant} is a tenant id or name,
// ignoring case), and the instance and user realm discovery Microsoft's
// libraries ask before a token. It serves Patterns, on whatever host the
// request names; the scheme of the URLs it writes is https when the request
// came over TLS (r.TLS), else http.
func NewHandler(svc *Service, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{svc: svc, log: logger}
	h.grants = map[string]grantFunc{
		"client_credentials": h.clientCredentials,
		"password":           h.password,
	}
	mux := http.NewServeMux()
	mux.Handle("/{tenant}/oauth2/token", h.serve(func(w http.ResponseWriter, r *http.Request) error { return h.token(w, r, 1) }))
	mux.Handle("/{tenant}/oauth2/v2.0/token", h.serve(func(w http.ResponseWriter, r *http.Request) error { return h.token(w, r, 2) }))
	mux.Handle("GET /{tenant}/.well-known/openid-configuration", h.serve(func(w http.ResponseWriter, r *http.Request) error { return h.openIDConfig(w, r, 1) }))
	mux.Handle("GET /{tenant}/v2.0/.well-known/openid-configuration", h.serve(func(w http.ResponseWriter, r *http.Request) error { return h.openIDConfig(w, r, 2) }))
	mux.Handle("GET /{tenant}/discovery/keys", h.serve(h.keys))
	mux.Handle("GET /{tenant}/discovery/v2.0/keys", h.serve(h.keys))
	mux.Handle("GET /{tenant}/discovery/instance", h.serve(h.discoverInstance))
	mux.Handle("GET /common/userrealm/{upn}", h.serve(h.userRealm))
	mux.Handle("GET /common/UserRealm/{upn}", h.serve(h.userRealm))
	return mux
}

type handler struct {
	svc    *Service
	log    *slog.Logger
	grants map[string]grantFunc
}

// serve adapts a handler that returns its error: the error is written as
// an OAuth2 error (writeError), the one place that does so.
func (h *handler) serve(fn func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.writeError(w, r, err)
		}
	})
}

// tokenRequest is a parsed request to a token endpoint.
type tokenRequest struct {
	r            *http.Request
	tenant       openatp.Tenant
	version      int    // 1 or 2: the endpoint called
	baseURL      string // scheme://host of the request
	form         url.Values
	clientID     string
	clientSecret string // empty if none was sent
}

// grantFunc issues a token for one grant type, or returns an *oauthError.
type grantFunc func(tr *tokenRequest) (*tokenResponse, error)

// tokenResponse is the body of a successful token request, with the
// fields, order and types of Entra ID's for the endpoint's version
// (docs/compatibility.md): the v1 endpoint writes its times as strings of
// digits and adds expires_on, not_before and resource; the v2 endpoint
// writes numbers. scope is on delegated tokens only.
type tokenResponse struct {
	TokenType    string     `json:"token_type"`
	Scope        string     `json:"scope,omitempty"`
	ExpiresIn    jsonNumber `json:"expires_in"`
	ExtExpiresIn jsonNumber `json:"ext_expires_in"`
	ExpiresOn    jsonNumber `json:"expires_on,omitzero"` // v1: Unix time
	NotBefore    jsonNumber `json:"not_before,omitzero"` // v1: Unix time
	Resource     string     `json:"resource,omitempty"`  // v1: as requested
	AccessToken  string     `json:"access_token"`
	IDToken      string     `json:"id_token,omitempty"`
	ClientInfo   string     `json:"client_info,omitempty"`
}

// jsonNumber is an integer of a token answer: a JSON number, or a string
// of digits when quoted is set (Entra's v1 endpoint). The zero value is
// empty, for omitempty.
type jsonNumber struct {
	n      int64
	quoted bool
	set    bool
}

func (j jsonNumber) IsZero() bool { return !j.set }

func (j jsonNumber) MarshalJSON() ([]byte, error) {
	b := strconv.AppendInt(nil, j.n, 10)
	if j.quoted {
		return strconv.AppendQuote(nil, string(b)), nil
	}
	return b, nil
}

// newTokenResponse returns the answer for an access token minted now and
// expiring in expiresIn seconds, shaped for the request's endpoint.
func newTokenResponse(tr *tokenRequest, tok string, now time.Time, expiresIn int, resource string) *tokenResponse {
	v1 := tr.version == 1
	num := func(n int64) jsonNumber { return jsonNumber{n: n, quoted: v1, set: true} }
	resp := &tokenResponse{TokenType: "Bearer", ExpiresIn: num(int64(expiresIn)), ExtExpiresIn: num(int64(expiresIn)), AccessToken: tok}
	if v1 {
		resp.ExpiresOn = num(now.Unix() + int64(expiresIn))
		resp.NotBefore = num(now.Unix())
		resp.Resource = resource
	}
	return resp
}

// token serves POST /{tenant}/oauth2/token (version 1) and
// /{tenant}/oauth2/v2.0/token (version 2).
func (h *handler) token(w http.ResponseWriter, r *http.Request, version int) error {
	resp, err := h.tokenResponse(r, version)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (h *handler) tokenResponse(r *http.Request, version int) (*tokenResponse, error) {
	if r.Method != http.MethodPost {
		return nil, oauthErr(http.StatusBadRequest, "invalid_request", 900561,
			"The endpoint only accepts POST requests. Received a %s request.", r.Method)
	}
	if h.svc.failures != nil {
		if retry, ex := h.svc.failures.Exhausted(ratelimit.AddressKey(r.RemoteAddr)); ex {
			e := oauthErr(http.StatusTooManyRequests, "temporarily_unavailable", 50053,
				"Sign-in was blocked because it came from an IP address with too many failed sign-ins. Retry in %d seconds.", retrySeconds(retry))
			e.retryAfter = retry
			return nil, e
		}
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, oauthErr(http.StatusBadRequest, "invalid_request", 900144,
			"The request body must contain the following parameter: 'grant_type'. The body must be application/x-www-form-urlencoded, not %q.",
			clip(r.Header.Get("Content-Type")))
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, oauthErr(http.StatusBadRequest, "invalid_request", 900144,
				"The request body is larger than %d bytes.", maxBodyBytes)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) { // the server's body deadline
			return nil, oauthErr(http.StatusRequestTimeout, "invalid_request", 900144, "The request body was not received in time.")
		}
		return nil, oauthErr(http.StatusBadRequest, "invalid_request", 900144, "The request body could not be read.")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, oauthErr(http.StatusBadRequest, "invalid_request", 900144,
			"The request body is not valid application/x-www-form-urlencoded: %v.", err)
	}
	for k, v := range form {
		if len(v) > 1 {
			return nil, oauthErr(http.StatusBadRequest, "invalid_request", 90015,
				"Requested query string is invalid. The parameter '%s' is included more than once.", clip(k))
		}
	}

	t, err := h.tenant(r)
	if err != nil {
		return nil, err
	}
	tr := &tokenRequest{r: r, tenant: t, version: version, baseURL: h.baseURL(r), form: form}

	gt := form.Get("grant_type")
	if gt == "" {
		return nil, missingParam("grant_type")
	}
	grant := h.grants[gt]
	if grant == nil {
		return nil, oauthErr(http.StatusBadRequest, "unsupported_grant_type", 70003,
			"The app requested an unsupported grant type '%s'.", clip(gt))
	}

	// Client authentication: client_secret_post or client_secret_basic
	// (RFC 6749 §2.3.1: the Basic credentials are form-encoded), not both.
	tr.clientID, tr.clientSecret = form.Get("client_id"), form.Get("client_secret")
	if user, pass, ok := r.BasicAuth(); ok {
		id, err1 := url.QueryUnescape(user)
		secret, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return nil, oauthErr(http.StatusBadRequest, "invalid_request", 900144,
				"The Authorization header's client credentials are not form-encoded.")
		}
		if tr.clientSecret != "" {
			return nil, oauthErr(http.StatusBadRequest, "invalid_request", 900144,
				"The client sent its credentials both in the Authorization header and in the body; use one.")
		}
		if tr.clientID != "" && tr.clientID != id {
			return nil, oauthErr(http.StatusBadRequest, "invalid_request", 900144,
				"The client_id of the body does not match the one of the Authorization header.")
		}
		tr.clientID, tr.clientSecret = id, secret
	}
	if tr.clientID == "" {
		return nil, missingParam("client_id")
	}
	return grant(tr)
}

// clientCredentials issues an application token (grant_type=client_credentials).
func (h *handler) clientCredentials(tr *tokenRequest) (*tokenResponse, error) {
	resource, err := requestedResource(tr)
	if err != nil {
		return nil, err
	}
	app, err := h.authenticateClient(tr)
	if err != nil {
		return nil, err
	}
	aud, ok := NormalizeAudience(resource)
	if !ok {
		return nil, oauthErr(http.StatusBadRequest, "invalid_resource", 500011,
			"The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
			clip(resource), tr.tenant.Name)
	}
	now := h.svc.now()
	tok, exp, err := h.svc.Mint(tr.r.Context(), MintRequest{
		Now:      now,
		Tenant:   tr.tenant,
		App:      app,
		BaseURL:  tr.baseURL,
		Version:  tr.version,
		Audience: aud,
	})
	if err != nil {
		return nil, err
	}
	h.log.Info("auth: token issued", "tenant", tr.tenant.ID, "client_id", app.ClientID, "aud", aud, "version", tr.version)
	return newTokenResponse(tr, tok, now, exp, resource), nil
}

// password issues a delegated token for a directory user of the tenant
// (grant_type=password, the resource-owner password flow Entra ID offered
// for the documented native-app sample). The app is a public client: a
// secret is checked only when one is sent. The token's scp holds the app's
// delegated permissions.
func (h *handler) password(tr *tokenRequest) (*tokenResponse, error) {
	resource, err := requestedResource(tr)
	if err != nil {
		return nil, err
	}
	aud, ok := NormalizeAudience(resource)
	if !ok {
		return nil, oauthErr(http.StatusBadRequest, "invalid_resource", 500011,
			"The resource principal named %s was not found in the tenant named %s.", clip(resource), tr.tenant.Name)
	}
	var app openatp.App
	if tr.clientSecret != "" {
		app, err = h.authenticateClient(tr)
	} else {
		app, err = h.svc.store.App(tr.r.Context(), tr.tenant.ID, tr.clientID)
		if openatp.IsKind(err, openatp.NotFound) {
			return nil, oauthErr(http.StatusBadRequest, "unauthorized_client", 700016,
				"Application with identifier '%s' was not found in the directory '%s'.", clip(tr.clientID), tr.tenant.Name)
		}
	}
	if err != nil {
		return nil, err
	}
	username, pw := tr.form.Get("username"), tr.form.Get("password")
	if username == "" {
		return nil, missingParam("username")
	}
	if pw == "" {
		return nil, missingParam("password")
	}
	user, err := h.signIn(tr.r.Context(), tr.tenant.ID, username, pw)
	if err != nil {
		return nil, err
	}
	if len(app.Scopes) == 0 {
		return nil, oauthErr(http.StatusBadRequest, "invalid_grant", 65001,
			"The user or administrator has not consented to use the application with ID '%s': it has no delegated permissions.", app.ClientID)
	}
	now := h.svc.now()
	mr := MintRequest{Now: now, Tenant: tr.tenant, App: app, User: &user, BaseURL: tr.baseURL, Version: tr.version, Audience: aud}
	tok, exp, err := h.svc.Mint(tr.r.Context(), mr)
	if err != nil {
		return nil, err
	}
	resp := newTokenResponse(tr, tok, now, exp, resource)
	resp.Scope = grantedScope(tr, app.Scopes)
	// A sign-in gets the user's ID token as Entra gives it: always on v1,
	// on v2 when the scope asks for openid (MSAL's does).
	if tr.version == 1 || slices.Contains(strings.Fields(tr.form.Get("scope")), "openid") {
		if resp.IDToken, err = h.svc.MintIDToken(mr); err != nil {
			return nil, err
		}
	}
	if tr.form.Get("client_info") == "1" {
		resp.ClientInfo = ClientInfo(tr.tenant.ID, &user)
	}
	h.log.Info("auth: delegated token issued", "tenant", tr.tenant.ID, "client_id", app.ClientID, "user", user.UserName, "aud", aud)
	return resp, nil
}

// signIn checks a directory user's password, with smart lockout: a locked
// name is refused before any check; a wrong password and an unknown user
// get the same answer after the same bcrypt work.
func (h *handler) signIn(ctx context.Context, tenantID, username, password string) (openatp.DirectoryUser, error) {
	name := lockoutKey(tenantID, username)
	if _, locked := h.svc.lockouts.locked(name, h.svc.now()); locked {
		return openatp.DirectoryUser{}, errLocked()
	}
	user, err := h.svc.store.DirectoryUser(ctx, tenantID, username)
	if err != nil && !openatp.IsKind(err, openatp.NotFound) {
		return openatp.DirectoryUser{}, err
	}
	var hash []byte // none: an unknown user, compared with a dummy hash
	if err == nil {
		hash = user.PasswordHash
	}
	ok, err := h.svc.hashing.compare(ctx, hash, password)
	if err != nil {
		return openatp.DirectoryUser{}, err
	}
	if !ok {
		h.svc.lockouts.fail(name, password, h.svc.now())
		return openatp.DirectoryUser{}, errBadCredentials()
	}
	h.svc.lockouts.succeed(name)
	return user, nil
}

// errLocked is the answer to a sign-in of a locked user name.
func errLocked() error {
	return oauthErr(http.StatusBadRequest, "invalid_grant", 50053,
		"The account is locked, you've tried to sign in too many times with an incorrect user ID or password.")
}

// errBadCredentials is the answer to a wrong password and to an unknown
// user alike.
func errBadCredentials() error {
	return oauthErr(http.StatusBadRequest, "invalid_grant", 50126,
		"Error validating credentials due to invalid username or password.")
}

// grantedScope returns the scope of a delegated token's answer: on v1 the
// app's delegated permissions, as Entra writes them there; on v2 each as
// <resource>/<permission>, followed by the scopes requested (openid,
// <resource>/.default...) but offline_access, as no refresh token is
// issued. The requested ones are kept so that a library caching the token
// under the scope of the answer finds it again under the scope it asks.
func grantedScope(tr *tokenRequest, perms []string) string {
	if tr.version == 1 {
		return strings.Join(perms, " ")
	}
	resource, _ := requestedResource(tr)
	var out []string
	for _, p := range perms {
		out = append(out, resource+"/"+p)
	}
	for _, sc := range strings.Fields(tr.form.Get("scope")) {
		if sc != "offline_access" && !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return strings.Join(out, " ")
}

// requestedResource returns the resource of a v1 request (resource=) or of
// a v2 client-credentials request (scope=<resource>/.default).
func requestedResource(tr *tokenRequest) (string, error) {
	if tr.version == 1 {
		res := tr.form.Get("resource")
		if res == "" {
			return "", missingParam("resource")
		}
		return res, nil
	}
	scope := tr.form.Get("scope")
	if scope == "" {
		return "", missingParam("scope")
	}
	var resource string
	for _, sc := range strings.Fields(scope) {
		switch sc {
		case "openid", "profile", "offline_access", "email":
			continue // OIDC scopes some libraries add; meaningless here
		}
		res, ok := strings.CutSuffix(sc, "/.default")
		if !ok || res == "" || resource != "" {
			return "", oauthErr(http.StatusBadRequest, "invalid_scope", 1002012,
				"The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", clip(scope))
		}
		resource = res
	}
	if resource == "" {
		return "", oauthErr(http.StatusBadRequest, "invalid_scope", 1002012,
			"The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", clip(scope))
	}
	return resource, nil
}

// authenticateClient finds the client application and checks its secret.
func (h *handler) authenticateClient(tr *tokenRequest) (openatp.App, error) {
	app, err := h.svc.store.App(tr.r.Context(), tr.tenant.ID, tr.clientID)
	if openatp.IsKind(err, openatp.NotFound) {
		return openatp.App{}, oauthErr(http.StatusBadRequest, "unauthorized_client", 700016,
			"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
			clip(tr.clientID), tr.tenant.Name)
	}
	if err != nil {
		return openatp.App{}, err
	}
	if tr.clientSecret == "" {
		return openatp.App{}, oauthErr(http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
	sum := sha256.Sum256([]byte(tr.clientSecret))
	if len(app.SecretHash) != len(sum) || subtle.ConstantTimeCompare(sum[:], app.SecretHash) != 1 {
		return openatp.App{}, oauthErr(http.StatusUnauthorized, "invalid_client", 7000215,
			"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.",
			app.ClientID)
	}
	return app, nil
}

// tenant resolves the {tenant} of the path.
func (h *handler) tenant(r *http.Request) (openatp.Tenant, error) {
	name := r.PathValue("tenant")
	t, err := h.svc.store.Tenant(r.Context(), name)
	if openatp.IsKind(err, openatp.NotFound) || (err == nil && t.ID == "") {
		return openatp.Tenant{}, oauthErr(http.StatusBadRequest, "invalid_request", 90002,
			"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", clip(name))
	}
	return t, err
}

// openIDConfig serves the OpenID Connect discovery document of a tenant.
func (h *handler) openIDConfig(w http.ResponseWriter, r *http.Request, version int) error {
	t, err := h.tenant(r)
	if err != nil {
		return err
	}
	base := h.baseURL(r)
	tb := base + "/" + t.ID
	v := ""
	if version == 2 {
		v = "/v2.0"
	}
	doc := openIDConfiguration{
		TokenEndpoint:                     tb + "/oauth2" + v + "/token",
		TokenEndpointAuthMethodsSupported: []string{"client_secret_post", "client_secret_basic"},
		JWKSURI:                           tb + "/discovery" + v + "/keys",
		ResponseModesSupported:            []string{"query", "fragment", "form_post"},
		SubjectTypesSupported:             []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		ResponseTypesSupported:            []string{"code", "id_token", "code id_token", "id_token token"},
		ScopesSupported:                   []string{"openid", "profile", "email", "offline_access"},
		Issuer:                            Issuer(base, t.ID, version),
		RequestURIParameterSupported:      false,
		AuthorizationEndpoint:             tb + "/oauth2" + v + "/authorize",
		DeviceAuthorizationEndpoint:       tb + "/oauth2" + v + "/devicecode",
		HTTPLogoutSupported:               true,
		FrontchannelLogoutSupported:       true,
		EndSessionEndpoint:                tb + "/oauth2" + v + "/logout",
		ClaimsSupported:                   []string{"sub", "iss", "aud", "exp", "iat", "nbf", "tid", "ver", "oid", "appid", "azp", "roles", "scp", "upn", "groups"},
		GrantTypesSupported:               []string{"client_credentials", "password"},
		TenantRegionScope:                 "WW",
		CloudInstanceName:                 cloudInstanceName(h.host(r)),
		CloudGraphHostName:                "graph.windows.net",
		MSGraphHost:                       "graph.microsoft.com",
	}
	if version == 1 {
		doc.DeviceAuthorizationEndpoint = ""
		doc.ScopesSupported = []string{"openid"}
		doc.MicrosoftMultiRefreshToken = true
	}
	w.Header().Set("Cache-Control", "max-age=86400, private")
	writeJSON(w, http.StatusOK, doc)
	return nil
}

// openIDConfiguration is an OpenID Connect discovery document, with the
// fields (and order) of Entra ID's.
type openIDConfiguration struct {
	TokenEndpoint                     string   `json:"token_endpoint"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	Issuer                            string   `json:"issuer"`
	MicrosoftMultiRefreshToken        bool     `json:"microsoft_multi_refresh_token,omitempty"`
	RequestURIParameterSupported      bool     `json:"request_uri_parameter_supported"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint,omitempty"`
	HTTPLogoutSupported               bool     `json:"http_logout_supported"`
	FrontchannelLogoutSupported       bool     `json:"frontchannel_logout_supported"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ClaimsSupported                   []string `json:"claims_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TenantRegionScope                 string   `json:"tenant_region_scope"`
	CloudInstanceName                 string   `json:"cloud_instance_name"`
	CloudGraphHostName                string   `json:"cloud_graph_host_name"`
	MSGraphHost                       string   `json:"msgraph_host"`
}

// keys serves the JWKS.
func (h *handler) keys(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.tenant(r); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=300, private")
	w.WriteHeader(http.StatusOK)
	w.Write(h.svc.JWKS())
	return nil
}

// writeError writes err as an OAuth2 error; an error that is not an
// *oauthError is logged and answered with a generic server error.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var oe *oauthError
	if !errors.As(err, &oe) && (openatp.IsKind(err, openatp.Canceled) || errors.Is(r.Context().Err(), context.Canceled)) {
		// The client went away: not a failure of the server. Nobody
		// reads this answer; the access log and metrics count a 499.
		h.log.Debug("auth: client went away", "path", r.URL.Path, "err", err)
		w.WriteHeader(statusClientClosedRequest)
		return
	}
	if !errors.As(err, &oe) {
		h.log.Error("auth: identity endpoint failed", "path", r.URL.Path, "err", err)
		oe = oauthErr(http.StatusInternalServerError, "server_error", 50000,
			"There was an error issuing a token or an authorization code. Please try again in a short while.")
		if openatp.IsKind(err, openatp.Unavailable) {
			// The store failing: the same text, Retry-After as the API's 503.
			oe.status, oe.code, oe.retryAfter = http.StatusServiceUnavailable, "temporarily_unavailable", 5*time.Second
		}
	} else {
		h.log.Info("auth: identity request refused", "path", r.URL.Path, "error", oe.code, "aadsts", oe.aadsts)
	}
	now := h.svc.now().UTC()
	traceID := uuid()
	body := struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
		ErrorCodes       []int  `json:"error_codes"`
		Timestamp        string `json:"timestamp"`
		TraceID          string `json:"trace_id"`
		CorrelationID    string `json:"correlation_id"`
	}{
		Error: oe.code,
		ErrorDescription: fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s",
			oe.aadsts, oe.description, traceID, traceID, now.Format("2006-01-02 15:04:05Z")),
		ErrorCodes:    []int{oe.aadsts},
		Timestamp:     now.Format("2006-01-02 15:04:05Z"),
		TraceID:       traceID,
		CorrelationID: traceID,
	}
	if h.svc.failures != nil && oe.failedSignIn() {
		h.svc.failures.Fail(ratelimit.AddressKey(r.RemoteAddr))
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	if oe.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(oe.retryAfter)))
	}
	if oe.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="openatp"`)
	}
	writeJSON(w, oe.status, body)
}

// baseURL returns the base of the URLs a request is answered with: the
// public URL when one is configured (Options.PublicURL), else
// scheme://host of the request.
func (h *handler) baseURL(r *http.Request) string {
	if h.svc.publicURL != "" {
		return h.svc.publicURL
	}
	return baseURL(r)
}

// host returns the host a request is answered as: the public URL's when
// one is configured, else the request's Host header.
func (h *handler) host(r *http.Request) string {
	if h.svc.publicHost != "" {
		return h.svc.publicHost
	}
	return r.Host
}

// baseURL returns scheme://host of a request. The scheme comes from the
// connection (r.TLS), never from a header: X-Forwarded-Proto is not
// trusted.
func baseURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

// uuid returns a random version-4 UUID.
func uuid() string {
	var b [16]byte
	randRead(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
