package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"

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
	ctx, cancel := withTimeout(ctx, queryTimeout)
	defer cancel()
	return db.inTx(ctx, func(tx pgx.Tx) (bool, error) {
		// FOR UPDATE: concurrent re-rankings of one tenant take turns.
		seq, err := lockTenant(ctx, tx, tenantID)
		if err != nil {
			return false, err
		}
		gs, err := groups(ctx, tx, tenantID)
		if err != nil {
			return false, err
		}
		i := slices.IndexFunc(gs, func(x openatp.DeviceGroup) bool { return x.ID == g.ID })
		if i < 0 {
			return false, openatp.Errorf(openatp.NotFound, "device group %d not found", g.ID)
		}
		_, err = tx.Exec(ctx, `UPDATE device_groups SET name = $1, name_key = $2, description = $3, rules = $4, user_groups = $5
			WHERE tenant_seq = $6 AND id = $7`, g.Name, openatp.NameKey(g.Name), g.Description, string(rules), sqlstore.JSONList(g.UserGroups), seq, g.ID)
		if err != nil {
			err = storeError(err, "cannot update the device group")
			if openatp.IsKind(err, openatp.Conflict) {
				return false, &openatp.Error{Kind: openatp.Conflict, Message: "another device group has that name", Err: err}
			}
			return false, err
		}
		ids := make([]int64, 0, len(gs))
		for _, x := range gs {
			if x.ID != g.ID {
				ids = append(ids, x.ID)
			}
		}
		ids = slices.Insert(ids, min(g.Rank-1, len(ids)), g.ID)
		return true, renumber(ctx, tx, seq, ids)
	})
}

// lockTenant returns the row number of a tenant and locks its row FOR
// UPDATE until the transaction ends. NotFound if none.
func lockTenant(ctx context.Context, tx pgx.Tx, tenantID string) (int64, error) {
	var seq int64
	err := tx.QueryRow(ctx, "SELECT seq FROM tenants WHERE id = $1 FOR UPDATE", tenantID).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "tenant %s not found", sqlstore.Quote(tenantID))
	}
	if err != nil {
		return 0, storeError(err, "cannot read the tenant")
	}
	return seq, nil
}

// renumber sets the ranks of the device groups ids to 1..n in one statement.
func renumber(ctx context.Context, tx pgx.Tx, seq int64, ids []int64) error {
	_, err := tx.Exec(ctx, `UPDATE device_groups g SET rank = r.rank
		FROM unnest($2::int8[]) WITH ORDINALITY AS r (id, rank)
		WHERE g.tenant_seq = $1 AND g.id = r.id AND g.rank != r.rank`, seq, ids)
	if err != nil {
		return storeError(err, "cannot rank device groups")
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
	ctx, cancel := withTimeout(ctx, queryTimeout)
	defer cancel()
	return db.inTx(ctx, func(tx pgx.Tx) (bool, error) {
		seq, err := lockTenant(ctx, tx, tenantID)
		if err != nil {
			return false, err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM device_groups WHERE tenant_seq = $1 AND id = $2`, seq, id)
		if err != nil {
			return false, storeError(err, "cannot delete the device group")
		}
		if tag.RowsAffected() == 0 {
			return false, openatp.Errorf(openatp.NotFound, "device group %d not found", id)
		}
		gs, err := groups(ctx, tx, tenantID)
		if err != nil {
			return false, err
		}
		ids := make([]int64, len(gs))
		for i, g := range gs {
			ids[i] = g.ID
		}
		return true, renumber(ctx, tx, seq, ids)
	})
}
