package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// groups returns the device groups of a tenant ordered by rank, then id;
// none if the tenant does not exist.
func groups(ctx context.Context, q conn, tenantID string) ([]openatp.DeviceGroup, error) {
	return sqlstore.Groups(ctx, q, tenantID)
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
	return db.inTx(ctx, func(tx *sql.Tx, q conn) error {
		seq, err := tenantSeq(ctx, q, tenantID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO device_groups (tenant_seq, id, name, name_key, description, rank, rules, user_groups)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, seq, g.ID, g.Name, openatp.NameKey(g.Name), g.Description, g.Rank, string(rules), sqlstore.JSONList(g.UserGroups))
		if isUniqueViolation(err) {
			return &openatp.Error{Kind: openatp.Conflict, Message: "a device group with the same id or name exists already", Err: err}
		}
		if err != nil {
			return storeError(err, "cannot store the device group")
		}
		return nil
	})
}
