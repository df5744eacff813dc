package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/openatp/openatp"
)

// Groups returns the tenant's device groups ordered by rank, then id,
// without the default group. NotFound if the tenant does not exist.
func (db *DB) Groups(ctx context.Context, tenantID string) ([]openatp.DeviceGroup, error) {
	if _, err := tenantSeq(ctx, db.read(), tenantID); err != nil {
		return nil, err
	}
	return groups(ctx, db.read(), tenantID)
}

// groups returns the device groups of a tenant ordered by rank, then id;
// none if the tenant does not exist.
func groups(ctx context.Context, q conn, tenantID string) ([]openatp.DeviceGroup, error) {
	rows, err := q.query(ctx, `SELECT g.id, g.name, g.description, g.rank, g.rules
		FROM device_groups g JOIN tenants t ON t.seq = g.tenant_seq
		WHERE t.id = ? ORDER BY g.rank, g.id`, tenantID)
	if err != nil {
		return nil, storeError(err, "cannot read device groups")
	}
	defer rows.Close()
	var gs []openatp.DeviceGroup
	for rows.Next() {
		var g openatp.DeviceGroup
		var rules []byte
		if err := rows.Scan(&g.ID, &g.Name, &g.Description, &g.Rank, &rules); err != nil {
			return nil, storeError(err, "cannot read device groups")
		}
		if err := json.Unmarshal(rules, &g.Rules); err != nil {
			return nil, internal(err, "bad rules of device group "+g.Name)
		}
		gs = append(gs, g)
	}
	if err := rows.Err(); err != nil {
		return nil, storeError(err, "cannot read device groups")
	}
	return gs, nil
}

// CreateGroup stores a device group. Invalid if the id is negative, the name
// empty, the rank below 1 or a rule row names an unknown property; NotFound
// if the tenant does not exist; Conflict if the tenant has a group with the
// same id or the same name ignoring case (including the default group: id 0,
// openatp.DefaultGroupName).
func (db *DB) CreateGroup(ctx context.Context, tenantID string, g openatp.DeviceGroup) error {
	switch {
	case g.ID < 0:
		return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "id: must not be negative")
	case g.Name == "":
		return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "name: is required")
	case g.Rank < 1:
		return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "rank: must be 1 or more")
	case g.ID == openatp.DefaultGroupID || openatp.NameKey(g.Name) == openatp.NameKey(openatp.DefaultGroupName):
		return openatp.Errorf(openatp.Conflict, "the default device group exists already")
	}
	for _, row := range g.Rules {
		switch row.Property {
		case openatp.RuleName, openatp.RuleDomain, openatp.RuleTag, openatp.RuleOSPlatform:
		default:
			return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "rules: unknown property %s", quote(string(row.Property)))
		}
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
		_, err = tx.ExecContext(ctx, `INSERT INTO device_groups (tenant_seq, id, name, name_key, description, rank, rules)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, seq, g.ID, g.Name, openatp.NameKey(g.Name), g.Description, g.Rank, string(rules))
		if isUniqueViolation(err) {
			return &openatp.Error{Kind: openatp.Conflict, Message: "a device group with the same id or name exists already", Err: err}
		}
		if err != nil {
			return storeError(err, "cannot store the device group")
		}
		return nil
	})
}
