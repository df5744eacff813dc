package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

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
