package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/openatp/openatp"
)

// ServiceAppID is the application id of the WindowsDefenderATP service
// principal; it is accepted as an audience like the resource URIs.
const ServiceAppID = "fc780465-2017-40d4-a0c5-307022471b92"

// Audiences are the resources (token audiences) openatp accepts, in their
// canonical form. A trailing "/" and differences of case are tolerated
// (see NormalizeAudience).
var Audiences = []string{
	"https://api.securitycenter.microsoft.com",
	"https://api.securitycenter.windows.com",
	"https://api.security.microsoft.com",
	"https://securitycenter.onmicrosoft.com/windowsatpservice",
	ServiceAppID,
	// Microsoft Graph: its tokens are taken by the Graph routes only
	// (runHuntingQuery), and those take no other (httpserve checks).
	"https://graph.microsoft.com",
}

// NormalizeAudience returns the canonical form of a requested resource or a
// token audience, and whether it is one openatp accepts. One trailing "/"
// is ignored, as is case.
func NormalizeAudience(aud string) (string, bool) {
	a := strings.TrimSuffix(aud, "/")
	for _, c := range Audiences {
		if strings.EqualFold(a, c) {
			return c, true
		}
	}
	return aud, false
}

// MintRequest describes a token to issue.
type MintRequest struct {
	// Now is the time the token is issued at; zero: the service's clock.
	Now    time.Time
	Tenant openatp.Tenant
	App    openatp.App
	// BaseURL is scheme://host[:port] of the identity endpoint that was
	// called, without a trailing slash; the issuer is built on it.
	BaseURL string
	// Version is the token version: 1 (the v1 endpoint, iss <base>/<tid>/)
	// or 2 (the v2.0 endpoint, iss <base>/<tid>/v2.0).
	Version int
	// Audience is the resource requested; it must be one of Audiences
	// (NormalizeAudience).
	Audience string
	// User, when set, makes a delegated token for that user: scp holds
	// the app's delegated permissions, groups the user's groups.
	User *openatp.DirectoryUser
}

// accessClaims are the claims of an access token, in the order Entra ID
// writes them.
type accessClaims struct {
	Aud            string   `json:"aud"`
	Iss            string   `json:"iss"`
	Iat            int64    `json:"iat"`
	Nbf            int64    `json:"nbf"`
	Exp            int64    `json:"exp"`
	AppDisplayName string   `json:"app_displayname,omitempty"`
	AppID          string   `json:"appid,omitempty"`
	AppIDAcr       string   `json:"appidacr,omitempty"`
	Azp            string   `json:"azp,omitempty"`
	AzpAcr         string   `json:"azpacr,omitempty"`
	Idp            string   `json:"idp,omitempty"`
	Idtyp          string   `json:"idtyp"`
	Oid            string   `json:"oid"`
	Name           string   `json:"name,omitempty"`
	Groups         []string `json:"groups,omitempty"`
	Roles          []string `json:"roles,omitempty"`
	Scp            string   `json:"scp,omitempty"`
	Sub            string   `json:"sub"`
	Tid            string   `json:"tid"`
	Uti            string   `json:"uti"`
	UniqueName     string   `json:"unique_name,omitempty"`
	Upn            string   `json:"upn,omitempty"`
	Ver            string   `json:"ver"`
}

// Issuer returns the issuer of tokens of the given version for a tenant id,
// on base (scheme://host[:port]).
func Issuer(base, tenantID string, version int) string {
	base = strings.TrimSuffix(base, "/")
	if version == 2 {
		return base + "/" + tenantID + "/v2.0"
	}
	return base + "/" + tenantID + "/"
}

// Mint issues an access token for req (an application token, or a
// delegated one when req.User is set) and
// returns it with its lifetime in seconds, as the token endpoint reports it.
func (s *Service) Mint(ctx context.Context, req MintRequest) (token string, expiresIn int, err error) {
	aud, ok := NormalizeAudience(req.Audience)
	if !ok {
		return "", 0, openatp.Errorf(openatp.Invalid, "auth: audience %q is not accepted", req.Audience)
	}
	if req.Version != 1 && req.Version != 2 {
		return "", 0, openatp.Errorf(openatp.Invalid, "auth: token version %d is not 1 or 2", req.Version)
	}
	if req.Tenant.ID == "" || req.App.ClientID == "" || req.BaseURL == "" {
		return "", 0, openatp.Errorf(openatp.Invalid, "auth: mint request needs a tenant, an app and a base URL")
	}
	now := req.Now
	if now.IsZero() {
		now = s.now()
	}
	iss := Issuer(req.BaseURL, req.Tenant.ID, req.Version)
	c := accessClaims{
		Aud:            aud,
		Iss:            iss,
		Iat:            now.Unix(),
		Nbf:            now.Unix(),
		Exp:            now.Add(TokenLifetime).Unix(),
		AppDisplayName: req.App.Name,
		Idtyp:          "app",
		Oid:            req.App.ObjectID,
		Roles:          req.App.Roles,
		Sub:            req.App.ObjectID,
		Tid:            req.Tenant.ID,
		Uti:            randomID(),
	}
	if u := req.User; u != nil {
		c.Idtyp, c.Oid, c.Sub, c.Roles = "user", u.ID, u.ID, nil
		c.Scp = strings.Join(req.App.Scopes, " ")
		c.Upn, c.UniqueName, c.Name = u.UserName, u.UserName, u.DisplayName
		if len(u.Groups) > 0 {
			c.Groups = u.Groups
		}
	}
	if req.Version == 2 {
		c.Azp, c.AzpAcr, c.Ver = req.App.ClientID, "1", "2.0"
	} else {
		c.AppID, c.AppIDAcr, c.Idp, c.Ver = req.App.ClientID, "1", iss, "1.0"
	}
	ks := s.keys.Load()
	tok, err := signJWS(ks.signKID, ks.signer, c)
	if err != nil {
		return "", 0, err
	}
	return tok, int(TokenLifetime.Seconds()) - 1, nil
}

// signJWS returns the compact RS256 JWS of claims, with kid and typ JWT in its
// header.
func signJWS(kid string, key any, claims any) (string, error) {
	header, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{"RS256", kid, "JWT"})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("auth: encode claims: %w", err)
	}
	signing := b64(header) + "." + b64(payload)
	sig, err := jwt.SigningMethodRS256.Sign(signing, key)
	if err != nil {
		return "", fmt.Errorf("auth: sign token: %w", err)
	}
	return signing + "." + b64(sig), nil
}

// idClaims are the claims of an ID token, in the order Entra ID writes them.
type idClaims struct {
	Aud               string `json:"aud"`
	Iss               string `json:"iss"`
	Iat               int64  `json:"iat"`
	Nbf               int64  `json:"nbf"`
	Exp               int64  `json:"exp"`
	Name              string `json:"name,omitempty"`
	Oid               string `json:"oid"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	Sub               string `json:"sub"`
	Tid               string `json:"tid"`
	UniqueName        string `json:"unique_name,omitempty"`
	Upn               string `json:"upn,omitempty"`
	Uti               string `json:"uti"`
	Ver               string `json:"ver"`
}

// MintIDToken issues the ID token that accompanies a delegated token of
// req (req.User must be set): the user's identity for the client (aud is
// the client id), as Entra returns it to a sign-in that asked for openid.
// Its lifetime is that of the access token.
func (s *Service) MintIDToken(req MintRequest) (string, error) {
	if req.User == nil || req.Tenant.ID == "" || req.App.ClientID == "" || req.BaseURL == "" {
		return "", openatp.Errorf(openatp.Invalid, "auth: an ID token needs a tenant, an app, a user and a base URL")
	}
	now := req.Now
	if now.IsZero() {
		now = s.now()
	}
	u := req.User
	c := idClaims{
		Aud: req.App.ClientID, Iss: Issuer(req.BaseURL, req.Tenant.ID, req.Version),
		Iat: now.Unix(), Nbf: now.Unix(), Exp: now.Add(TokenLifetime).Unix(),
		Name: u.DisplayName, Oid: u.ID, Sub: u.ID, Tid: req.Tenant.ID, Uti: randomID(),
	}
	if req.Version == 2 {
		c.PreferredUsername, c.Ver = u.UserName, "2.0"
	} else {
		c.UniqueName, c.Upn, c.Ver = u.UserName, u.UserName, "1.0"
	}
	ks := s.keys.Load()
	return signJWS(ks.signKID, ks.signer, c)
}

// ClientInfo returns the client_info of a user's sign-in: base64url JSON
// naming the user's object id (uid) and tenant (utid), which MSAL asks for
// (client_info=1) to key its token cache.
func ClientInfo(tenantID string, u *openatp.DirectoryUser) string {
	b, _ := json.Marshal(struct {
		UID  string `json:"uid"`
		UTID string `json:"utid"`
	}{u.ID, tenantID})
	return b64(b)
}
