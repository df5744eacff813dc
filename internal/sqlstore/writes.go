package sqlstore

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/openatp/openatp"
)

// Execer is one of an engine's write transactions, as the shared writes
// use it.
type Execer interface {
	Querier
	// Exec runs a statement written with ? and ?N placeholders and
	// returns the number of rows it changed.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
}

// Writer makes the small writes whose SQL is the same in both engines:
// tenants, applications, signing keys, settings, directory users, user
// groups, roles and device groups. An engine's DB embeds one (NewWriter);
// the engine keeps the writes of content (machines, logons, alerts), whose
// bulk paths and locks are its own.
type Writer struct{ e WriteEngine }

// NewWriter returns the shared writes of an engine.
func NewWriter(e WriteEngine) Writer { return Writer{e} }

// WriteEngine is what the shared writes need of an engine.
type WriteEngine struct {
	// Tx runs f in one of the engine's write transactions, bounded in
	// time as the engine bounds small writes, and commits it if f returns
	// nil; f's changed false says that it changed nothing.
	Tx func(ctx context.Context, f func(x Execer) (changed bool, err error)) error
	// TenantSeq is the query, with the tenant id as its argument, that
	// reads the row number of a tenant in Tx and keeps a concurrent reset
	// of the tenant out until the commit.
	TenantSeq string
	// LockTenant is TenantSeq for a change of the tenant's device group
	// ranks: concurrent re-rankings of one tenant take turns.
	LockTenant string
	// Renumber sets the ranks of the tenant's device groups ids to 1..n
	// in x.
	Renumber func(ctx context.Context, x Execer, seq int64, ids []int64) error
	// Now returns the time stamped on what is stored without one.
	Now func() time.Time
}

// Time returns the engine's current time (WriteEngine.Now), which
// stamps what is stored without a time.
func (w Writer) Time() time.Time { return w.e.Now() }

// TenantTx runs f in Tx with the row number of the tenant. NotFound if
// the tenant does not exist.
func (w Writer) TenantTx(ctx context.Context, tenantID string, f func(x Execer, seq int64) error) error {
	return w.lockedTx(ctx, w.e.TenantSeq, tenantID, f)
}

// lockedTx runs f in Tx with the row number of the tenant read by lock.
// NotFound if the tenant does not exist.
func (w Writer) lockedTx(ctx context.Context, lock, tenantID string, f func(x Execer, seq int64) error) error {
	return w.e.Tx(ctx, func(x Execer) (bool, error) {
		seq, err := Get(ctx, x, "cannot read the tenant", func() error { return TenantNotFound(tenantID) }, ScanInt64, lock, tenantID)
		if err != nil {
			return false, err
		}
		return true, f(x, seq)
	})
}

// Conflict is err, an error of the engine, with the message msg when it is
// a Conflict (a unique key of the row is taken).
func Conflict(err error, msg string) error {
	if openatp.IsKind(err, openatp.Conflict) {
		return &openatp.Error{Kind: openatp.Conflict, Message: msg, Err: err}
	}
	return err
}

// Exec runs a statement of a write transaction x: errors are the engine's,
// with msg.
func Exec(ctx context.Context, x Execer, msg, query string, args ...any) (int64, error) {
	n, err := x.Exec(ctx, query, args...)
	return n, x.Error(err, msg)
}

// CreateTenant stores a new tenant; a zero Created becomes Now(). Invalid
// if the id or name is empty, Conflict if a tenant has the same id or the
// same name ignoring case.
func (w Writer) CreateTenant(ctx context.Context, t openatp.Tenant) error {
	if err := t.Prepare(w.e.Now()); err != nil {
		return err
	}
	created, err := Nanos("created", t.Created)
	if err != nil {
		return err
	}
	return w.e.Tx(ctx, func(x Execer) (bool, error) {
		_, err := Exec(ctx, x, "cannot store the tenant", "INSERT INTO tenants (id, name, name_key, created) VALUES (?, ?, ?, ?)",
			t.ID, t.Name, openatp.NameKey(t.Name), created)
		return true, Conflict(err, "a tenant with id "+Quote(t.ID)+" or name "+Quote(t.Name)+" exists already")
	})
}

// CreateApp stores a new application registration; a zero Created becomes
// Now(). Invalid if the client id is empty, NotFound if the tenant does
// not exist, Conflict if an application (of any tenant) has the client id.
func (w Writer) CreateApp(ctx context.Context, a openatp.App) error {
	if err := a.Prepare(w.e.Now()); err != nil {
		return err
	}
	created, err := Nanos("created", a.Created)
	if err != nil {
		return err
	}
	roles, _ := json.Marshal(a.Roles)
	scopes, _ := json.Marshal(a.Scopes)
	return w.TenantTx(ctx, a.TenantID, func(x Execer, seq int64) error {
		_, err := Exec(ctx, x, "cannot store the application", `INSERT INTO apps (client_id, tenant_seq, object_id, name, secret_hash, roles, scopes, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, a.ClientID, seq, a.ObjectID, a.Name, a.SecretHash, string(roles), string(scopes), created)
		return Conflict(err, "an application with client id "+Quote(a.ClientID)+" exists already")
	})
}

// AddSigningKey stores a key; a zero Created becomes Now(). When k.Active,
// the other keys are deactivated in the same transaction. Invalid if the
// id is empty, Conflict if a key has the same id.
func (w Writer) AddSigningKey(ctx context.Context, k openatp.SigningKey) error {
	if err := k.Prepare(w.e.Now()); err != nil {
		return err
	}
	created, err := Nanos("created", k.Created)
	if err != nil {
		return err
	}
	return w.e.Tx(ctx, func(x Execer) (bool, error) {
		if k.Active {
			if _, err := Exec(ctx, x, "cannot deactivate signing keys", "UPDATE signing_keys SET active = false WHERE active"); err != nil {
				return false, err
			}
		}
		_, err := Exec(ctx, x, "cannot store the signing key", "INSERT INTO signing_keys (id, private_pem, created, active) VALUES (?, ?, ?, ?)",
			k.ID, k.PrivatePEM, created, k.Active)
		return true, Conflict(err, "a signing key with id "+Quote(k.ID)+" exists already")
	})
}

// SetSettingIfAbsent stores value under name unless a value exists, and
// returns the value now stored. It is atomic across processes and
// replicas: of concurrent callers, one value wins and all of them get it
// back (an INSERT that meets a concurrent one waits for it to commit, then
// does nothing; the SELECT after it, a new statement, sees the winner).
func (w Writer) SetSettingIfAbsent(ctx context.Context, name, value string) (string, error) {
	var v string
	err := w.e.Tx(ctx, func(x Execer) (bool, error) {
		n, err := Exec(ctx, x, "cannot store the setting", "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", name, value)
		if err != nil {
			return false, err
		}
		v, err = Get(ctx, x, "cannot read the setting", func() error { return openatp.Errorf(openatp.Internal, "setting %s vanished", Quote(name)) },
			ScanString, "SELECT value FROM settings WHERE name = ?", name)
		return n > 0, err
	})
	return v, err
}

// SetSetting stores value under name, replacing any previous value.
func (w Writer) SetSetting(ctx context.Context, name, value string) error {
	return w.e.Tx(ctx, func(x Execer) (bool, error) {
		_, err := Exec(ctx, x, "cannot store the setting", "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value", name, value)
		return true, err
	})
}

// PutUserGroup stores a user group, or renames it. Invalid if malformed;
// NotFound if the tenant does not exist.
func (w Writer) PutUserGroup(ctx context.Context, tenantID string, g openatp.UserGroup) error {
	if err := g.Validate(); err != nil {
		return err
	}
	return w.TenantTx(ctx, tenantID, func(x Execer, seq int64) error {
		_, err := Exec(ctx, x, "cannot store the user group", `INSERT INTO user_groups (tenant_seq, id, name) VALUES (?, ?, ?)
			ON CONFLICT (tenant_seq, id) DO UPDATE SET name = excluded.name`, seq, g.ID, g.Name)
		return err
	})
}

// CreateDirectoryUser stores a user who signs in. Conflict if the id or the
// user name (ignoring case) exists in the tenant.
func (w Writer) CreateDirectoryUser(ctx context.Context, tenantID string, u openatp.DirectoryUser) error {
	if err := openatp.ValidateUserName(u.UserName); err != nil {
		return err
	}
	return w.TenantTx(ctx, tenantID, func(x Execer, seq int64) error {
		_, err := Exec(ctx, x, "cannot store the user", `INSERT INTO directory_users (tenant_seq, id, user_name, user_name_key, display_name, password_hash, groups)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, seq, u.ID, u.UserName, openatp.NameKey(u.UserName), u.DisplayName, BytesOrEmpty(u.PasswordHash), JSONList(u.Groups))
		return Conflict(err, "a user with the same id or user name exists already")
	})
}

// UpdateDirectoryUser replaces the display name, password hash and groups
// of the user with u.ID. NotFound if there is none.
func (w Writer) UpdateDirectoryUser(ctx context.Context, tenantID string, u openatp.DirectoryUser) error {
	return w.TenantTx(ctx, tenantID, func(x Execer, seq int64) error {
		n, err := Exec(ctx, x, "cannot update the user", `UPDATE directory_users SET display_name = ?, password_hash = ?, groups = ?
			WHERE tenant_seq = ? AND id = ?`, u.DisplayName, BytesOrEmpty(u.PasswordHash), JSONList(u.Groups), seq, u.ID)
		if err == nil && n == 0 {
			err = openatp.Errorf(openatp.NotFound, "user %s not found", Quote(u.ID))
		}
		return err
	})
}

// PutRole stores a role, replacing one of the same name (ignoring case).
func (w Writer) PutRole(ctx context.Context, tenantID string, r openatp.Role) error {
	if err := r.Validate(); err != nil {
		return err
	}
	return w.TenantTx(ctx, tenantID, func(x Execer, seq int64) error {
		_, err := Exec(ctx, x, "cannot store the role", `INSERT INTO roles (tenant_seq, name, name_key, permissions, user_groups) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (tenant_seq, name_key) DO UPDATE SET name = excluded.name, permissions = excluded.permissions, user_groups = excluded.user_groups`,
			seq, r.Name, openatp.NameKey(r.Name), JSONList(r.Permissions), JSONList(r.UserGroups))
		return err
	})
}

// DeleteRole deletes a role by name, ignoring case. NotFound if none.
func (w Writer) DeleteRole(ctx context.Context, tenantID, name string) error {
	return w.TenantTx(ctx, tenantID, func(x Execer, seq int64) error {
		n, err := Exec(ctx, x, "cannot delete the role", `DELETE FROM roles WHERE tenant_seq = ? AND name_key = ?`, seq, openatp.NameKey(name))
		if err == nil && n == 0 {
			err = openatp.Errorf(openatp.NotFound, "role %s not found", Quote(name))
		}
		return err
	})
}

// CreateGroup stores a device group. Invalid if the id is negative, the name
// empty, the rank below 1 or a rule row names an unknown property; NotFound
// if the tenant does not exist; Conflict if the tenant has a group with the
// same id or the same name ignoring case (including the default group: id 0,
// openatp.DefaultGroupName).
func (w Writer) CreateGroup(ctx context.Context, tenantID string, g openatp.DeviceGroup) error {
	if err := g.Validate(); err != nil {
		return err
	}
	rules, err := json.Marshal(g.Rules)
	if err != nil {
		return &openatp.Error{Kind: openatp.Internal, Message: "cannot encode rules", Err: err}
	}
	return w.TenantTx(ctx, tenantID, func(x Execer, seq int64) error {
		_, err := Exec(ctx, x, "cannot store the device group", `INSERT INTO device_groups (tenant_seq, id, name, name_key, description, rank, rules, user_groups)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, seq, g.ID, g.Name, openatp.NameKey(g.Name), g.Description, g.Rank, string(rules), JSONList(g.UserGroups))
		return Conflict(err, "a device group with the same id or name exists already")
	})
}

// UpdateGroup replaces the name, description, rules and user groups of the
// device group with g.ID, and moves it to position g.Rank (1 = highest):
// the other groups keep their order and all ranks are renumbered 1..n.
// NotFound if there is no such group; Conflict for the default group or a
// name another group has.
func (w Writer) UpdateGroup(ctx context.Context, tenantID string, g openatp.DeviceGroup) error {
	if err := g.Validate(); err != nil {
		return err
	}
	rules, err := json.Marshal(g.Rules)
	if err != nil {
		return &openatp.Error{Kind: openatp.Internal, Message: "cannot encode rules", Err: err}
	}
	return w.lockedTx(ctx, w.e.LockTenant, tenantID, func(x Execer, seq int64) error {
		gs, err := Groups(ctx, x, tenantID)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(gs, func(x openatp.DeviceGroup) bool { return x.ID == g.ID }) {
			return openatp.Errorf(openatp.NotFound, "device group %d not found", g.ID)
		}
		_, err = Exec(ctx, x, "cannot update the device group", `UPDATE device_groups SET name = ?, name_key = ?, description = ?, rules = ?, user_groups = ?
			WHERE tenant_seq = ? AND id = ?`, g.Name, openatp.NameKey(g.Name), g.Description, string(rules), JSONList(g.UserGroups), seq, g.ID)
		if err != nil {
			return Conflict(err, "another device group has that name")
		}
		ids := make([]int64, 0, len(gs))
		for _, x := range gs {
			if x.ID != g.ID {
				ids = append(ids, x.ID)
			}
		}
		ids = slices.Insert(ids, min(g.Rank-1, len(ids)), g.ID)
		return w.e.Renumber(ctx, x, seq, ids)
	})
}

// DeleteGroup deletes a device group and renumbers the ranks of the others
// 1..n; its machines fall to the next matching group or the default group.
// NotFound if none; Conflict for the default group.
func (w Writer) DeleteGroup(ctx context.Context, tenantID string, id int64) error {
	if id == openatp.DefaultGroupID {
		return openatp.Errorf(openatp.Conflict, "the default device group cannot be deleted")
	}
	return w.lockedTx(ctx, w.e.LockTenant, tenantID, func(x Execer, seq int64) error {
		n, err := Exec(ctx, x, "cannot delete the device group", `DELETE FROM device_groups WHERE tenant_seq = ? AND id = ?`, seq, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return openatp.Errorf(openatp.NotFound, "device group %d not found", id)
		}
		gs, err := Groups(ctx, x, tenantID)
		if err != nil {
			return err
		}
		ids := make([]int64, len(gs))
		for i, g := range gs {
			ids[i] = g.ID
		}
		return w.e.Renumber(ctx, x, seq, ids)
	})
}
