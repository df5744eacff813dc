package auth

// What the service trusts besides its own signing keys: the external
// issuers its tenants trust (stored as settings), and their key sets.

import (
	"sync"
	"sync/atomic"
	"time"
)

// trustState is what the verifier reads from memory besides the keys: the
// trusted external issuers by issuer URL, and every setting by name.
type trustState struct {
	issuers  map[string]*ExternalIssuer
	settings map[string]string
}

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

// externalKeys holds the key set of each JWKS URL.
type externalKeys struct {
	mu   sync.Mutex // guards sets; never held across the network
	sets map[string]*jwksSet
}

// jwksSet is the key set of one JWKS URL.
type jwksSet struct {
	url  string
	keys atomic.Pointer[map[string]externalKey] // by kid; nil until fetched

	mu          sync.Mutex
	fetching    chan struct{} // closed when the fetch in flight ends; nil if none
	lastUnknown time.Time     // start of the last fetch for an unknown kid
	err         error         // of the last fetch, if it failed
}

// externalKey is a public key of a JWKS, with its alg, if it names one.
type externalKey struct {
	key any
	alg string
}
