package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// PutUserGroup stores a user group, or renames it. Invalid if malformed;
// NotFound if the tenant does not exist.
func (db *DB) PutUserGroup(ctx context.Context, tenantID string, g openatp.UserGroup) error {
	if err := g.Validate(); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx, q conn) error {
		seq, err := tenantSeq(ctx, q, tenantID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO user_groups (tenant_seq, id, name) VALUES (?, ?, ?)
			ON CONFLICT (tenant_seq, id) DO UPDATE SET name = excluded.name`, seq, g.ID, g.Name)
		return storeError(err, "cannot store the user group")
	})
}

// CreateDirectoryUser stores a user who signs in. Conflict if the id or the
// user name (ignoring case) exists in the tenant.
func (db *DB) CreateDirectoryUser(ctx context.Context, tenantID string, u openatp.DirectoryUser) error {
	if err := openatp.ValidateUserName(u.UserName); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx, q conn) error {
		seq, err := tenantSeq(ctx, q, tenantID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO directory_users (tenant_seq, id, user_name, user_name_key, display_name, password_hash, groups)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, seq, u.ID, u.UserName, openatp.NameKey(u.UserName), u.DisplayName, sqlstore.BytesOrEmpty(u.PasswordHash), sqlstore.JSONList(u.Groups))
		if isUniqueViolation(err) {
			return &openatp.Error{Kind: openatp.Conflict, Message: "a user with the same id or user name exists already", Err: err}
		}
		return storeError(err, "cannot store the user")
	})
}

// UpdateDirectoryUser replaces the display name, password hash and groups
// of the user with u.ID. NotFound if there is none.
func (db *DB) UpdateDirectoryUser(ctx context.Context, tenantID string, u openatp.DirectoryUser) error {
	return db.inTx(ctx, func(tx *sql.Tx, q conn) error {
		seq, err := tenantSeq(ctx, q, tenantID)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE directory_users SET display_name = ?, password_hash = ?, groups = ?
			WHERE tenant_seq = ? AND id = ?`, u.DisplayName, sqlstore.BytesOrEmpty(u.PasswordHash), sqlstore.JSONList(u.Groups), seq, u.ID)
		if err != nil {
			return storeError(err, "cannot update the user")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return openatp.Errorf(openatp.NotFound, "user %s not found", sqlstore.Quote(u.ID))
		}
		return nil
	})
}

// PutRole stores a role, replacing one of the same name (ignoring case).
func (db *DB) PutRole(ctx context.Context, tenantID string, r openatp.Role) error {
	if err := r.Validate(); err != nil {
		return err
	}
	perms, _ := json.Marshal(r.Permissions)
	if r.Permissions == nil {
		perms = []byte("[]")
	}
	return db.inTx(ctx, func(tx *sql.Tx, q conn) error {
		seq, err := tenantSeq(ctx, q, tenantID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO roles (tenant_seq, name, name_key, permissions, user_groups) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (tenant_seq, name_key) DO UPDATE SET name = excluded.name, permissions = excluded.permissions, user_groups = excluded.user_groups`,
			seq, r.Name, openatp.NameKey(r.Name), string(perms), sqlstore.JSONList(r.UserGroups))
		return storeError(err, "cannot store the role")
	})
}

// DeleteRole deletes a role by name, ignoring case. NotFound if none.
func (db *DB) DeleteRole(ctx context.Context, tenantID, name string) error {
	return db.inTx(ctx, func(tx *sql.Tx, q conn) error {
		seq, err := tenantSeq(ctx, q, tenantID)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM roles WHERE tenant_seq = ? AND name_key = ?`, seq, openatp.NameKey(name))
		if err != nil {
			return storeError(err, "cannot delete the role")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return openatp.Errorf(openatp.NotFound, "role %s not found", sqlstore.Quote(name))
		}
		return nil
	})
}

// UpdateGroup replaces the name, description, rules and user groups of the
// device group with g.ID, and moves it to position g.Rank (1 = highest):
// the other groups keep their order and all ranks are renumbered 1..n.
// NotFound if there is no such group; Conflict for the default group or a
// name another group has.
func (db *DB) UpdateGroup(ctx context.Context, tenantID string, g openatp.DeviceGroup) error {
	if err := g.Validate(); err != nil {
		return err
	}
	rules, err := json.Marshal(g.Rules)
	if err != nil {
		return internal(err, "cannot encode rules")
	}
	return db.inTx(ctx, func(tx *sql.Tx, q conn) error {
		seq, err := tenantSeq(ctx, q, tenantID)
		if err != nil {
			return err
		}
		gs, err := groups(ctx, q, tenantID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(gs, func(x openatp.DeviceGroup) bool { return x.ID == g.ID })
		if i < 0 {
			return openatp.Errorf(openatp.NotFound, "device group %d not found", g.ID)
		}
		_, err = tx.ExecContext(ctx, `UPDATE device_groups SET name = ?, name_key = ?, description = ?, rules = ?, user_groups = ?
			WHERE tenant_seq = ? AND id = ?`, g.Name, openatp.NameKey(g.Name), g.Description, string(rules), sqlstore.JSONList(g.UserGroups), seq, g.ID)
		if isUniqueViolation(err) {
			return &openatp.Error{Kind: openatp.Conflict, Message: "another device group has that name", Err: err}
		}
		if err != nil {
			return storeError(err, "cannot update the device group")
		}
		ids := make([]int64, 0, len(gs))
		for _, x := range gs {
			if x.ID != g.ID {
				ids = append(ids, x.ID)
			}
		}
		pos := min(g.Rank-1, len(ids))
		ids = slices.Insert(ids, pos, g.ID)
		return renumber(ctx, tx, seq, ids)
	})
}

func renumber(ctx context.Context, tx *sql.Tx, seq int64, ids []int64) error {
	for i, id := range ids {
		if _, err := tx.ExecContext(ctx, `UPDATE device_groups SET rank = ? WHERE tenant_seq = ? AND id = ?`, i+1, seq, id); err != nil {
			return storeError(err, "cannot rank device groups")
		}
	}
	return nil
}

// DeleteGroup deletes a device group and renumbers the ranks of the others
// 1..n; its machines fall to the next matching group or the default group.
// NotFound if none; Conflict for the default group.
func (db *DB) DeleteGroup(ctx context.Context, tenantID string, id int64) error {
	if id == openatp.DefaultGroupID {
		return openatp.Errorf(openatp.Conflict, "the default device group cannot be deleted")
	}
	return db.inTx(ctx, func(tx *sql.Tx, q conn) error {
		seq, err := tenantSeq(ctx, q, tenantID)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM device_groups WHERE tenant_seq = ? AND id = ?`, seq, id)
		if err != nil {
			return storeError(err, "cannot delete the device group")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return openatp.Errorf(openatp.NotFound, "device group %d not found", id)
		}
		gs, err := groups(ctx, q, tenantID)
		if err != nil {
			return err
		}
		ids := make([]int64, len(gs))
		for i, g := range gs {
			ids[i] = g.ID
		}
		return renumber(ctx, tx, seq, ids)
	})
}
