package openatp

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

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
	PermUserReadAll         = "User.Read.All"
	// The pivots' own (issue 24): files, IP addresses, URLs and domains.
	PermFileReadAll = "File.Read.All"
	PermIPReadAll   = "Ip.Read.All"
	PermURLReadAll  = "URL.Read.All"
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

// Prepare checks a tenant about to be created (TenantStore.CreateTenant)
// and stamps it: a zero Created becomes now. Invalid if the id or the name
// is empty.
func (t *Tenant) Prepare(now time.Time) error {
	if t.ID == "" || t.Name == "" {
		return CodedErrorf(Invalid, "InvalidInput", "a tenant needs an id and a name")
	}
	if t.Created.IsZero() {
		t.Created = now
	}
	return nil
}

// Prepare checks an application registration about to be created
// (TenantStore.CreateApp) and fills in what a store keeps for what is
// missing: a zero Created becomes now, a nil SecretHash an empty one.
// Invalid if the client id is empty.
func (a *App) Prepare(now time.Time) error {
	if a.ClientID == "" {
		return CodedErrorf(Invalid, "InvalidInput", "an application needs a client id")
	}
	if a.Created.IsZero() {
		a.Created = now
	}
	if a.SecretHash == nil {
		a.SecretHash = []byte{}
	}
	return nil
}

// Prepare checks a signing key about to be stored (KeyStore.AddSigningKey)
// and fills in what a store keeps for what is missing: a zero Created
// becomes now, a nil PrivatePEM an empty one. Invalid if the id is empty.
func (k *SigningKey) Prepare(now time.Time) error {
	if k.ID == "" {
		return CodedErrorf(Invalid, "InvalidInput", "a signing key needs an id")
	}
	if k.Created.IsZero() {
		k.Created = now
	}
	if k.PrivatePEM == nil {
		k.PrivatePEM = []byte{}
	}
	return nil
}

// ApplicationPermissions and DelegatedPermissions are the permissions an
// application registration may be granted.
var (
	ApplicationPermissions = append([]string{PermMachineReadAll, PermMachineReadWriteAll, PermUserReadAll,
		PermAlertReadAll, PermAlertReadWriteAll, PermAlertsReadWriteAll}, append(ActionPermissions, PermLibraryManage, PermTiReadWrite, PermTiReadWriteAll,
		PermFileReadAll, PermIPReadAll, PermURLReadAll, "Vulnerability.Read.All", "Software.Read.All", "SecurityRecommendation.Read.All", "Score.Read.All",
		"AdvancedQuery.Read.All", "AdvancedHunting.Read.All", "ThreatHunting.Read.All")...) // TVM's (package vuln), hunting's (package hunting)
	DelegatedPermissions = append([]string{PermMachineRead, PermMachineReadWrite, PermUserReadAll,
		PermAlertRead, PermAlertReadWrite}, append(ActionPermissions, PermLibraryManage, PermTiReadWrite,
		PermFileReadAll, PermIPReadAll, PermURLReadAll, "Vulnerability.Read", "Software.Read", "SecurityRecommendation.Read", "Score.Read",
		"AdvancedQuery.Read", "AdvancedHunting.Read", "ThreatHunting.Read.All")...)
)

// NewTenant returns a tenant with a fresh id. The name must be DNS-like
// (letters, digits, '.', '-'; dots only between other characters, one at
// a time), at most 128 bytes: it is a path segment of the identity URLs,
// where "." and ".." would name another path.
func NewTenant(name string, now time.Time) (Tenant, error) {
	if name == "" || len(name) > 128 || strings.IndexFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-')
	}) >= 0 {
		return Tenant{}, Errorf(Invalid, "tenant name %q: use 1 to 128 letters, digits, '.' or '-'", clip(name))
	}
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
		return Tenant{}, Errorf(Invalid, "tenant name %q: a dot must stand between other characters, one at a time (as in contoso.onmicrosoft.com)", name)
	}
	if guidPattern.MatchString(name) {
		return Tenant{}, Errorf(Invalid, "tenant name %q: a name must not look like a tenant id", name)
	}
	return Tenant{ID: NewGUID(), Name: name, Created: now.UTC()}, nil
}

// NewApp returns an application registration with fresh ids and secret,
// and the secret itself (kept by the app, never stored).
func NewApp(tenantID, name string, roles, scopes []string, now time.Time) (App, string, error) {
	if name == "" || len(name) > 256 || !utf8.ValidString(name) {
		return App{}, "", Errorf(Invalid, "app name: use 1 to 256 characters")
	}
	for _, r := range roles {
		if !slices.Contains(ApplicationPermissions, r) {
			return App{}, "", Errorf(Invalid, "application permission %q: known ones are %s", clip(r), strings.Join(ApplicationPermissions, ", "))
		}
	}
	for _, s := range scopes {
		if !slices.Contains(DelegatedPermissions, s) {
			return App{}, "", Errorf(Invalid, "delegated permission %q: known ones are %s", clip(s), strings.Join(DelegatedPermissions, ", "))
		}
	}
	secret := NewSecret()
	a := App{
		TenantID: tenantID, ClientID: NewGUID(), ObjectID: NewGUID(), Name: name,
		SecretHash: HashSecret(secret), Roles: dedupe(roles), Scopes: dedupe(scopes), Created: now.UTC(),
	}
	return a, secret, nil
}

func dedupe(s []string) []string {
	out := []string{}
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// HashSecret is how client secrets are kept: SHA-256.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// NewGUID returns a random (version 4) GUID in lowercase canonical form.
func NewGUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// NewSecret returns a random 40-character client secret.
func NewSecret() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
	var b [40]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[b[i]&63]
	}
	return string(b[:])
}

// IsGUID reports whether s has the form of a GUID.
func IsGUID(s string) bool { return guidPattern.MatchString(s) }

// The permissions of the action routes (mde-reference §12.3.1.2), the
// same name for applications and delegated callers.
const (
	PermMachineIsolate           = "Machine.Isolate"
	PermMachineScan              = "Machine.Scan"
	PermMachineRestrictExecution = "Machine.RestrictExecution"
	PermMachineCollectForensics  = "Machine.CollectForensics"
	PermMachineStopAndQuarantine = "Machine.StopAndQuarantine"
	PermMachineOffboard          = "Machine.Offboard"
	PermMachineLiveResponse      = "Machine.LiveResponse"
)

// ActionPermissions are the permissions of the action routes: cancel
// takes any of them.
var ActionPermissions = []string{PermMachineCollectForensics, PermMachineIsolate, PermMachineRestrictExecution,
	PermMachineScan, PermMachineOffboard, PermMachineStopAndQuarantine, PermMachineLiveResponse}
