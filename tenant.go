package openatp

import "time"

// Tenant is an isolated organisation. ID is a GUID (the token's tid); Name is
// a unique, human-friendly alias such as "contoso.onmicrosoft.com".
type Tenant struct {
	ID      string
	Name    string
	Created time.Time
}

// The permissions openatp knows. Application permissions appear in a token's
// "roles" claim, delegated ones in its "scp" claim.
const (
	PermMachineReadAll      = "Machine.Read.All"
	PermMachineReadWriteAll = "Machine.ReadWrite.All"
	PermMachineRead         = "Machine.Read"
	PermMachineReadWrite    = "Machine.ReadWrite"
)

// App is an application registration of a tenant. The client secret is kept
// only as its SHA-256 hash.
type App struct {
	TenantID   string
	ClientID   string // GUID
	ObjectID   string // GUID of the service principal (the token's oid)
	Name       string
	SecretHash []byte
	Roles      []string // granted application permissions
	Scopes     []string // granted delegated permissions
	Created    time.Time
}

// SigningKey is an RS256 key pair of the built-in token issuer.
type SigningKey struct {
	ID         string // kid
	PrivatePEM []byte // PKCS#8
	Created    time.Time
	Active     bool // the key new tokens are signed with
}
