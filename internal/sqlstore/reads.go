package sqlstore

import (
	"context"
	"net/netip"
	"time"

	"github.com/openatp/openatp"
)

// Reader answers the reads of openatp.Store whose SQL is the same in both
// engines. An engine's DB embeds one (NewReader) and so has these methods
// as its own; it writes a method itself only where its SQL differs.
type Reader struct {
	q        Querier
	machines func() func(Scanner) (openatp.Machine, error)
}

// NewReader returns the reads of an engine: q is its pool of readers,
// each query bounded in time as the engine bounds small reads; machines
// returns a function that reads rows of MachineColumns, reusing its
// buffers (each engine scans its driver's types its own way).
func NewReader(q Querier, machines func() func(Scanner) (openatp.Machine, error)) Reader {
	return Reader{q: q, machines: machines}
}

// Querier returns the engine's pool of readers that the reads run on.
func (r Reader) Querier() Querier { return r.q }

// TenantNotFound is the NotFound error of a tenant id.
func TenantNotFound(id string) error {
	return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "tenant %s not found", Quote(id))
}

// MachineNotFound is the NotFound error of a machine id.
func MachineNotFound(id string) error {
	return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "machine %s not found", Quote(id))
}

// TenantSeq returns the row number of a tenant. NotFound if none.
func TenantSeq(ctx context.Context, q Querier, tenantID string) (int64, error) {
	return Get(ctx, q, "cannot read the tenant", func() error { return TenantNotFound(tenantID) }, ScanInt64, "SELECT seq FROM tenants WHERE id = ?", tenantID)
}

// ScanInt64 reads a row of one integer column.
func ScanInt64(s Scanner) (v int64, err error) { return v, s.Scan(&v) }

// Groups returns the device groups of a tenant ordered by rank, then id;
// none if the tenant does not exist.
func Groups(ctx context.Context, q Querier, tenantID string) ([]openatp.DeviceGroup, error) {
	return List(ctx, q, "cannot read device groups", ScanGroup, `SELECT g.id, g.name, g.description, g.rank, g.rules, g.user_groups
		FROM device_groups g JOIN tenants t ON t.seq = g.tenant_seq
		WHERE t.id = ? ORDER BY g.rank, g.id`, tenantID)
}

// Groups returns the tenant's device groups ordered by rank, then id,
// without the default group. NotFound if the tenant does not exist.
func (r Reader) Groups(ctx context.Context, tenantID string) ([]openatp.DeviceGroup, error) {
	if _, err := TenantSeq(ctx, r.q, tenantID); err != nil {
		return nil, err
	}
	return Groups(ctx, r.q, tenantID)
}

// Tenant finds a tenant by id, or else by name ignoring case. NotFound if
// none.
func (r Reader) Tenant(ctx context.Context, idOrName string) (openatp.Tenant, error) {
	return Get(ctx, r.q, "cannot read the tenant", func() error { return TenantNotFound(idOrName) }, ScanTenant, `SELECT id, name, created FROM tenants
		WHERE id = ?1 OR name_key = ?2 ORDER BY id = ?1 DESC LIMIT 1`, idOrName, openatp.NameKey(idOrName))
}

// Tenants lists all tenants ordered by name (byte order), then id.
func (r Reader) Tenants(ctx context.Context) ([]openatp.Tenant, error) {
	return List(ctx, r.q, "cannot list tenants", ScanTenant, "SELECT id, name, created FROM tenants ORDER BY name, id")
}

// App finds an application of a tenant by client id. NotFound if the tenant
// has none with that id.
func (r Reader) App(ctx context.Context, tenantID, clientID string) (openatp.App, error) {
	notFound := func() error {
		return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "application %s not found in tenant %s", Quote(clientID), Quote(tenantID))
	}
	return Get(ctx, r.q, "cannot read the application", notFound, ScanApp, "SELECT "+AppColumns+` FROM apps a JOIN tenants t ON t.seq = a.tenant_seq
		WHERE a.client_id = ? AND t.id = ?`, clientID, tenantID)
}

// Apps lists the applications of a tenant ordered by name (byte order),
// then client id. NotFound if the tenant does not exist.
func (r Reader) Apps(ctx context.Context, tenantID string) ([]openatp.App, error) {
	if _, err := TenantSeq(ctx, r.q, tenantID); err != nil {
		return nil, err
	}
	return List(ctx, r.q, "cannot list applications", ScanApp, "SELECT "+AppColumns+` FROM apps a JOIN tenants t ON t.seq = a.tenant_seq
		WHERE t.id = ? ORDER BY a.name, a.client_id`, tenantID)
}

// SigningKeys returns every signing key, newest first (by Created, then id
// descending).
func (r Reader) SigningKeys(ctx context.Context) ([]openatp.SigningKey, error) {
	return List(ctx, r.q, "cannot read signing keys", ScanSigningKey, "SELECT id, private_pem, created, active FROM signing_keys ORDER BY created DESC, id DESC")
}

// Setting returns a named setting. NotFound if unset.
func (r Reader) Setting(ctx context.Context, name string) (string, error) {
	notFound := func() error { return openatp.Errorf(openatp.NotFound, "setting %s is not set", Quote(name)) }
	return Get(ctx, r.q, "cannot read the setting", notFound, ScanString, "SELECT value FROM settings WHERE name = ?", name)
}

// Settings returns every setting whose name starts with prefix.
func (r Reader) Settings(ctx context.Context, prefix string) (map[string]string, error) {
	ss, err := List(ctx, r.q, "cannot read the settings", ScanSetting, "SELECT name, value FROM settings WHERE substr(name, 1, length(?1)) = ?1", prefix)
	if err != nil {
		return nil, err
	}
	return SettingsMap(ss), nil
}

// tenantList lists rows of the tenant's table: query has the tenant's
// row number as its first argument. NotFound if the tenant does not exist.
func tenantList[T any](ctx context.Context, q Querier, tenantID, msg string, scan func(Scanner) (T, error), query string, args ...any) ([]T, error) {
	seq, err := TenantSeq(ctx, q, tenantID)
	if err != nil {
		return nil, err
	}
	return List(ctx, q, msg, scan, query, append([]any{seq}, args...)...)
}

// UserGroups lists the tenant's user groups ordered by name, then id (byte
// order).
func (r Reader) UserGroups(ctx context.Context, tenantID string) ([]openatp.UserGroup, error) {
	return tenantList(ctx, r.q, tenantID, "cannot read user groups", ScanUserGroup, `SELECT id, name FROM user_groups WHERE tenant_seq = ? ORDER BY name, id`)
}

// DirectoryUsers lists the tenant's users ordered by user name (ignoring
// case, byte order), then id.
func (r Reader) DirectoryUsers(ctx context.Context, tenantID string) ([]openatp.DirectoryUser, error) {
	return tenantList(ctx, r.q, tenantID, "cannot read users", ScanUser, `SELECT `+UserColumns+` FROM directory_users WHERE tenant_seq = ? ORDER BY user_name_key, id`)
}

// Roles lists the tenant's roles ordered by name (ignoring case, byte
// order).
func (r Reader) Roles(ctx context.Context, tenantID string) ([]openatp.Role, error) {
	return tenantList(ctx, r.q, tenantID, "cannot read roles", ScanRole, `SELECT name, permissions, user_groups FROM roles WHERE tenant_seq = ? ORDER BY name_key`)
}

// DirectoryUser finds a user by sign-in name, ignoring case. NotFound if
// none.
func (r Reader) DirectoryUser(ctx context.Context, tenantID, userName string) (openatp.DirectoryUser, error) {
	seq, err := TenantSeq(ctx, r.q, tenantID)
	if err != nil {
		return openatp.DirectoryUser{}, err
	}
	notFound := func() error { return openatp.Errorf(openatp.NotFound, "user %s not found", Quote(userName)) }
	return Get(ctx, r.q, "cannot read the user", notFound, ScanUser, `SELECT `+UserColumns+` FROM directory_users WHERE tenant_seq = ? AND user_name_key = ?`,
		seq, openatp.NameKey(userName))
}

// Machine returns one machine with its device group. NotFound if the tenant
// has no machine with that id.
func (r Reader) Machine(ctx context.Context, tenantID, id string) (openatp.Machine, error) {
	gs, err := Groups(ctx, r.q, tenantID)
	if err != nil {
		return openatp.Machine{}, err
	}
	m, err := Get(ctx, r.q, "cannot read the machine", func() error { return MachineNotFound(id) }, r.machines(), "SELECT "+MachineColumns+` FROM machines m
		WHERE m.tenant_seq = (SELECT seq FROM tenants WHERE id = ?) AND m.id = ?`, tenantID, id)
	if err == nil {
		openatp.AssignGroup(gs, &m)
	}
	return m, err
}

// UserMachines returns the machines the user has logged on to, ordered by
// machine id, each once, with their device groups. The name is matched by
// openatp.NameKey in every domain of the tenant, or only in u.Domain when it
// is not empty. NotFound if no such user has a logon in the tenant (or the
// tenant does not exist).
func (r Reader) UserMachines(ctx context.Context, tenantID string, u openatp.UserRef) ([]openatp.Machine, error) {
	gs, err := Groups(ctx, r.q, tenantID)
	if err != nil {
		return nil, err
	}
	query := "SELECT " + MachineColumns + ` FROM machines m WHERE m.seq IN (
		SELECT machine_seq FROM user_machines
		WHERE tenant_seq = (SELECT seq FROM tenants WHERE id = ?) AND name_key = ?`
	args := []any{tenantID, openatp.NameKey(u.Name)}
	if u.Domain != "" {
		query += " AND domain_key = ?"
		args = append(args, openatp.NameKey(u.Domain))
	}
	scan := r.machines()
	ms, err := List(ctx, r.q, "cannot read the user's machines", func(s Scanner) (openatp.Machine, error) {
		m, err := scan(s)
		openatp.AssignGroup(gs, &m)
		return m, err
	}, query+") ORDER BY m.id", args...)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		name := u.Name
		if u.Domain != "" {
			name = u.Domain + `\` + u.Name
		}
		return nil, openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "user %s not found", Quote(name))
	}
	return ms, nil
}

// UserRelations returns the relations of the users u names, from one
// range of user_machines' primary key. NotFound if the tenant does not
// exist.
func (r Reader) UserRelations(ctx context.Context, tenantID string, u openatp.UserRef) ([]openatp.UserMachine, error) {
	query := RelationSelect + " WHERE um.tenant_seq = ? AND um.name_key = ?"
	args := []any{openatp.NameKey(u.Name)}
	if u.Domain != "" {
		query += " AND um.domain_key = ?"
		args = append(args, openatp.NameKey(u.Domain))
	}
	return tenantList(ctx, r.q, tenantID, "cannot read the user's relations", ScanRelation, query+" ORDER BY um.name_key, um.domain_key, m.id", args...)
}

// MachineUsers returns the (user, machine) relations of one machine,
// ordered by the user's name key, then domain key (byte order), read in
// one statement: the machine and its relations are of one moment. Finding
// the relations scans the tenant's (user, machine) rows: there is no index
// by machine (see the engines' DeleteMachine). NotFound if the tenant has
// no machine with that id.
func (r Reader) MachineUsers(ctx context.Context, tenantID, machineID string) ([]openatp.UserMachine, error) {
	// The LEFT JOINs keep the machine's row when it has no relation.
	var name, domain, sid *string
	var first, last, types *int64
	rows, err := List(ctx, r.q, "cannot read the machine's users", func(s Scanner) (*openatp.UserMachine, error) {
		if err := s.Scan(&name, &domain, &sid, &first, &last, &types); err != nil || name == nil || domain == nil || sid == nil || first == nil || last == nil || types == nil {
			return nil, err // nil: the machine, without relations
		}
		return &openatp.UserMachine{
			AccountName: *name, AccountDomain: *domain, AccountSID: *sid, MachineID: machineID,
			FirstSeen: FromNanos(*first), LastSeen: FromNanos(*last), LogonTypes: LogonTypes(*types),
		}, nil
	}, `SELECT u.account_name, u.account_domain, u.sid, um.first_seen, um.last_seen, um.logon_types
		FROM machines m
		LEFT JOIN user_machines um ON um.tenant_seq = m.tenant_seq AND um.machine_seq = m.seq
		LEFT JOIN users u ON u.tenant_seq = um.tenant_seq AND u.name_key = um.name_key AND u.domain_key = um.domain_key
		WHERE m.tenant_seq = (SELECT seq FROM tenants WHERE id = ?) AND m.id = ?
		ORDER BY um.name_key, um.domain_key`, tenantID, machineID)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, MachineNotFound(machineID)
	}
	out := make([]openatp.UserMachine, 0, len(rows))
	for _, r := range rows {
		if r != nil {
			out = append(out, *r)
		}
	}
	return out, nil
}

// Alert returns one alert with its machine's name and device group.
// NotFound if the tenant has no such alert.
func (r Reader) Alert(ctx context.Context, tenantID, id string) (openatp.Alert, error) {
	gs, err := Groups(ctx, r.q, tenantID)
	if err != nil {
		return openatp.Alert{}, err
	}
	var row AlertRow
	return Get(ctx, r.q, "cannot read the alert", func() error { return AlertNotFound(id) }, func(s Scanner) (openatp.Alert, error) { return row.Scan(s, true, gs) },
		AlertSelect+" WHERE a.tenant_seq = (SELECT seq FROM tenants WHERE id = ?) AND a.id = ?", tenantID, id)
}

// Snapshot streams the tenant of row tseq in q (one read transaction of
// the engine): every machine ordered by id, with its device group of gs,
// then every (user, machine) relation ordered by user (openatp.NameKey of
// name, then of domain, in byte order), then machine id. An error of
// machine or rel stops the stream and is returned as it is.
func (r Reader) Snapshot(ctx context.Context, q Querier, tseq int64, gs []openatp.DeviceGroup, machine func(openatp.Machine) error, rel func(openatp.UserMachine) error) error {
	scan := r.machines()
	err := Each(ctx, q, "cannot read machines", func(s Scanner) (openatp.Machine, error) {
		m, err := scan(s)
		if err == nil {
			openatp.AssignGroup(gs, &m)
		}
		return m, err
	}, machine, "SELECT "+MachineColumns+" FROM machines m WHERE m.tenant_seq = ? ORDER BY m.id", tseq)
	if err != nil {
		return err
	}
	return Each(ctx, q, "cannot read user machines", ScanRelation, rel, RelationSelect+" WHERE u.tenant_seq = ? ORDER BY u.name_key, u.domain_key, m.id", tseq)
}

// ScanAlerts streams in q every alert of the tenant of row tseq ordered by
// id, with its machine's name and device group of gs. An error of f stops
// the stream and is returned as it is.
func ScanAlerts(ctx context.Context, q Querier, tseq int64, gs []openatp.DeviceGroup, f func(openatp.Alert) error) error {
	var row AlertRow
	return Each(ctx, q, "cannot read alerts", func(s Scanner) (openatp.Alert, error) { return row.Scan(s, true, gs) }, f,
		AlertSelect+" WHERE a.tenant_seq = ? ORDER BY a.id", tseq)
}

// OpenAlerts reads in q the alerts of machine machineID of the tenant of
// row tseq that are not Resolved, ordered by id, with the machine's name
// and device group of gs: those that may absorb a new alert
// (openatp.AbsorbedOrNew).
func OpenAlerts(ctx context.Context, q Querier, tseq int64, machineID string, gs []openatp.DeviceGroup) ([]openatp.Alert, error) {
	var row AlertRow
	return List(ctx, q, "cannot read the machine's alerts", func(s Scanner) (openatp.Alert, error) { return row.Scan(s, true, gs) },
		AlertSelect+" WHERE a.tenant_seq = ? AND a.machine_id = ? AND a.status != 'Resolved' ORDER BY a.id", tseq, machineID)
}

// MachinesByIP returns the ids of the machines with a row of the IP
// history for ip with from ≤ seen ≤ to, ordered by id, in one statement:
// one range of the history's primary key. Invalid if ip is the zero Addr;
// NotFound if the tenant does not exist.
func (r Reader) MachinesByIP(ctx context.Context, tenantID string, ip netip.Addr, from, to time.Time) ([]string, error) {
	if !ip.IsValid() {
		return nil, openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "ip: an IP address is required")
	}
	// A tenant without a match has one row, of NULL; one that does not
	// exist, none.
	ids, err := List(ctx, r.q, "cannot read the IP history", func(s Scanner) (id *string, err error) { return id, s.Scan(&id) },
		`SELECT h.machine_id FROM tenants t
		LEFT JOIN machine_ips h ON h.tenant_seq = t.seq AND h.ip = ?2 AND h.seen BETWEEN ?3 AND ?4
		WHERE t.id = ?1 GROUP BY h.machine_id ORDER BY h.machine_id`, tenantID, openatp.IPKey(ip), ClampNanos(from), ClampNanos(to))
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, TenantNotFound(tenantID)
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != nil {
			out = append(out, *id)
		}
	}
	return out, nil
}
