package openatp

import (
	"context"
	"io"
)

// TenantStore keeps tenants and their application registrations.
type TenantStore interface {
	// CreateTenant stores a new tenant. Conflict if the id or name exists.
	CreateTenant(ctx context.Context, t Tenant) error
	// Tenant finds a tenant by id or by name (ignoring case). NotFound if none.
	Tenant(ctx context.Context, idOrName string) (Tenant, error)
	// Tenants lists all tenants ordered by name.
	Tenants(ctx context.Context) ([]Tenant, error)

	// CreateApp stores a new application registration. NotFound if the
	// tenant does not exist, Conflict if the client id exists.
	CreateApp(ctx context.Context, a App) error
	// App finds an application of a tenant by client id. NotFound if none.
	App(ctx context.Context, tenantID, clientID string) (App, error)
	// Apps lists the applications of a tenant ordered by name, then client id.
	Apps(ctx context.Context, tenantID string) ([]App, error)
}

// MachineStore keeps machines, logons and device groups. Every call names
// its tenant; nothing of one tenant is ever visible through another.
type MachineStore interface {
	// UpsertMachines inserts or replaces machines by id, all or nothing.
	// Machines must be normalized (Machine.Normalize). NotFound if the
	// tenant does not exist.
	UpsertMachines(ctx context.Context, tenantID string, ms []Machine) error
	// Machine returns one machine with its device group. NotFound if none.
	Machine(ctx context.Context, tenantID, id string) (Machine, error)

	// AddLogons records logon events, all or nothing. Invalid (naming the
	// index of the event) if an event names a machine the tenant does not
	// have. Recording the same event twice changes nothing.
	AddLogons(ctx context.Context, tenantID string, ls []Logon) error

	// UserMachines returns the machines the user has logged on to, ordered
	// by machine id, with their device groups. NotFound if no user of that
	// name (and domain, when given) has a logon in the tenant.
	UserMachines(ctx context.Context, tenantID string, u UserRef) ([]Machine, error)

	// Groups returns the tenant's device groups ordered by rank, without
	// the default group.
	Groups(ctx context.Context, tenantID string) ([]DeviceGroup, error)
	// CreateGroup stores a device group. Conflict if the id or name exists.
	CreateGroup(ctx context.Context, tenantID string, g DeviceGroup) error

	// Snapshot streams the whole tenant, for in-memory indexes: first
	// every machine ordered by id (with its device group), then every
	// (user, machine) relation ordered by user then machine id. It reads
	// one consistent view.
	Snapshot(ctx context.Context, tenantID string, machine func(Machine) error, rel func(UserMachine) error) error

	// ScanTenant streams what the in-memory read model builds from, from
	// one consistent view, in the order the engine reads fastest: first
	// every machine (with its device group) in no particular order, then
	// every user with a logon, once each, with the machines it logged on
	// to (ScannedUser: by their position in the scan, not by id).
	ScanTenant(ctx context.Context, tenantID string, machine func(Machine) error, user func(ScannedUser) error) error

	// ResetTenant deletes the tenant's machines, users, logons, alerts,
	// machine actions, indicators, file and network events and groups,
	// keeping the tenant and its applications.
	ResetTenant(ctx context.Context, tenantID string) error
}

// KeyStore keeps what every replica of a deployment shares: the token
// signing keys and named settings (such as the admin key).
type KeyStore interface {
	// SigningKeys returns every signing key, newest first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// AddSigningKey stores a key; when k.Active, it becomes the only active one.
	AddSigningKey(ctx context.Context, k SigningKey) error
	// Setting returns a named setting. NotFound if unset.
	Setting(ctx context.Context, name string) (string, error)
	// Settings returns every setting whose name starts with prefix ("" for
	// all), by name: what a process keeps in memory (trusted issuers, the
	// admin key) so that unauthenticated requests never reach the store.
	Settings(ctx context.Context, prefix string) (map[string]string, error)
	// SetSettingIfAbsent stores value under name unless a value exists, and
	// returns the value now stored (so concurrent starters agree).
	SetSettingIfAbsent(ctx context.Context, name, value string) (string, error)
	// SetSetting stores value under name, replacing any previous value.
	SetSetting(ctx context.Context, name, value string) error
}

// RBACStore keeps who may see what: user groups (the stand-in for Entra
// security groups), directory users who sign in for delegated tokens,
// roles, and the management of device groups. Every method returns
// NotFound if the tenant does not exist.
type RBACStore interface {
	// PutUserGroup stores a user group or renames it. Invalid if malformed.
	PutUserGroup(ctx context.Context, tenantID string, g UserGroup) error
	// UserGroups lists the tenant's user groups ordered by name, then id.
	UserGroups(ctx context.Context, tenantID string) ([]UserGroup, error)
	// CreateDirectoryUser stores a user. Conflict if the id or the user
	// name (ignoring case) exists; Invalid for a malformed user name.
	CreateDirectoryUser(ctx context.Context, tenantID string, u DirectoryUser) error
	// UpdateDirectoryUser replaces the display name, password hash and
	// groups of the user with u.ID. NotFound if none.
	UpdateDirectoryUser(ctx context.Context, tenantID string, u DirectoryUser) error
	// DirectoryUser finds a user by user name, ignoring case. NotFound if none.
	DirectoryUser(ctx context.Context, tenantID, userName string) (DirectoryUser, error)
	// DirectoryUsers lists the tenant's users ordered by user name.
	DirectoryUsers(ctx context.Context, tenantID string) ([]DirectoryUser, error)
	// PutRole stores a role, replacing one of the same name (ignoring
	// case). Invalid if malformed.
	PutRole(ctx context.Context, tenantID string, r Role) error
	// Roles lists the tenant's roles ordered by name (ignoring case).
	Roles(ctx context.Context, tenantID string) ([]Role, error)
	// DeleteRole deletes a role by name, ignoring case. NotFound if none.
	DeleteRole(ctx context.Context, tenantID, name string) error
	// UpdateGroup replaces the name, description, rules and user groups of
	// the device group with g.ID and moves it to position g.Rank (1 is the
	// highest): the others keep their order, ranks are renumbered 1..n.
	// NotFound if none; Conflict for the default group or a taken name.
	UpdateGroup(ctx context.Context, tenantID string, g DeviceGroup) error
	// DeleteGroup deletes a device group. NotFound if none; Conflict for
	// the default group.
	DeleteGroup(ctx context.Context, tenantID string, id int64) error
}

// Store is everything openatp keeps. It is implemented by packages sqlite
// (the embedded default) and postgres, and checked by package storetest.
type Store interface {
	TenantStore
	MachineStore
	MachineAPIStore
	AlertStore
	MachineActionStore
	LibraryStore
	InvestigationStore
	IndicatorStore
	EventStore
	BatchStore
	ChangeStore
	KeyStore
	RBACStore
	// DataVersion returns a number that changes whenever a write that may
	// change a read has been committed, by this process or any other.
	// It is cheap: the API calls it on every request to know whether its
	// in-memory indexes are still exact.
	DataVersion(ctx context.Context) (uint64, error)
	// ContentVersion returns a number that changes with every committed
	// write that changes the tenant's machines, users, logons or alerts
	// (UpsertMachines, AddLogons, WriteBatch, UpdateMachine, DeleteMachine,
	// ResetTenant, the writes of AlertStore; it may also change when such
	// a write changed nothing),
	// and with no other write: while it is unchanged, the API can reuse
	// what it read of the tenant's content and recompute device-group
	// membership alone after an RBAC change or a write to another tenant.
	// It is the same for a tenant that does not exist and one that has
	// never had content.
	ContentVersion(ctx context.Context, tenantID string) (uint64, error)
	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
	io.Closer
}
