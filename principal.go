package openatp

import "slices"

// Principal is the authenticated caller of a request, as read from a
// verified bearer token.
type Principal struct {
	TenantID  string
	ClientID  string   // the application (appid / azp)
	ObjectID  string   // oid: the service principal, or the signed-in user
	Roles     []string // application permissions ("roles" claim)
	Scopes    []string // delegated permissions ("scp" claim)
	Delegated bool     // a user-context token
	UserName  string   // delegated only: the signed-in user's name (upn)
	Groups    []string // delegated only: the user's group ids
}

// HasAny reports whether the principal holds any of the given permissions:
// application permissions for an application token, delegated scopes for a
// delegated one.
func (p *Principal) HasAny(perms ...string) bool {
	have := p.Roles
	if p.Delegated {
		have = p.Scopes
	}
	for _, want := range perms {
		if slices.Contains(have, want) {
			return true
		}
	}
	return false
}
