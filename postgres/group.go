package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// groups returns the device groups of a tenant ordered by rank, then id;
// none if the tenant does not exist.
func groups(ctx context.Context, q querier, tenantID string) ([]openatp.DeviceGroup, error) {
	return sqlstore.Groups(ctx, reader{q: q}, tenantID)
}

// CreateGroup stores a device group. Invalid if the id is negative, the name
// empty, the rank below 1 or a rule row names an unknown property; NotFound
// if the tenant does not exist; Conflict if the tenant has a group with the
// same id or the same name ignoring case (including the default group: id 0,
// openatp.DefaultGroupName).
func (db *DB) CreateGroup(ctx context.Context, tenantID string, g openatp.DeviceGroup) error {
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
		seq, err := tenantSeq(ctx, tx, tenantID, true)
		if err != nil {
			return false, err
		}
		_, err = tx.Exec(ctx, `INSERT INTO device_groups (tenant_seq, id, name, name_key, description, rank, rules, user_groups)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, seq, g.ID, g.Name, openatp.NameKey(g.Name), g.Description, g.Rank, string(rules), sqlstore.JSONList(g.UserGroups))
		if err != nil {
			err = storeError(err, "cannot store the device group")
			if openatp.IsKind(err, openatp.Conflict) {
				return false, &openatp.Error{Kind: openatp.Conflict, Message: "a device group with the same id or name exists already", Err: err}
			}
			return false, err
		}
		return true, nil
	})
}
