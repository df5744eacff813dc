package openatp

import "context"

// ChangeStore is the change feed of tenants' content: what a reader that
// holds the content at one ContentVersion must apply to hold it at the
// current one, without reading the whole tenant again. The in-memory read
// model applies it on every write it notices.
//
// The feed names what changed, not how: a machine, a (user, machine)
// relation or an alert whose state is read again, at the version the answer is for.
// Applying the same change twice, or a change a reader already saw,
// therefore changes nothing.
type ChangeStore interface {
	// Changes returns what changed in the tenant's content after content
	// version since (a value ContentVersion returned), read in one
	// consistent view together with the version it leads to. It answers
	// Rebuild instead when the feed cannot say: since is older than the
	// feed keeps (it is compacted as writes go on), the tenant was reset,
	// a batch wrote more than the feed records one by one, more than
	// limit machines, relations and alerts changed, or since is not a version of
	// this tenant's feed. NotFound if the tenant does not exist.
	Changes(ctx context.Context, tenantID string, since uint64, limit int) (Changes, error)
}

// Changes is an answer of ChangeStore.Changes.
type Changes struct {
	// Version is the content version the changes lead to.
	Version uint64
	// Rebuild says that the feed cannot answer: read a Snapshot instead.
	Rebuild bool
	// Machines are the changed machines that exist at Version, ordered by
	// id, without their device group (RBACGroupID and RBACGroupName are
	// zero).
	Machines []Machine
	// Deleted are the ids of changed machines that do not exist at
	// Version, ordered.
	Deleted []string
	// Relations are the changed (user, machine) relations, ordered by
	// user name key, domain key, then machine id.
	Relations []RelationChange
	// Alerts are the changed alerts that exist at Version, ordered by id,
	// without their machine's name and device group (ComputerDNSName is
	// nil, RBACGroupID and RBACGroupName zero).
	Alerts []Alert
	// DeletedAlerts are the ids of changed alerts that do not exist at
	// Version, ordered.
	DeletedAlerts []string
}

// RelationChange is a (user, machine) relation that changed: created,
// updated, or deleted with its machine.
type RelationChange struct {
	NameKey   string // NameKey of the account name
	DomainKey string // NameKey of the account domain
	MachineID string
	// Exists says whether the relation exists at Changes.Version.
	Exists bool
}
