package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// Changes returns what changed in the tenant's content after content
// version since, read in one read transaction (see openatp.ChangeStore).
// NotFound if the tenant does not exist.
func (db *DB) Changes(ctx context.Context, tenantID string, since uint64, limit int) (openatp.Changes, error) {
	var ch openatp.Changes
	tx, err := db.rdb.BeginTx(ctx, nil)
	if err != nil {
		return ch, storeError(err, "cannot begin a transaction")
	}
	defer tx.Rollback()
	var tseq, legacy, v int64
	err = tx.QueryRowContext(ctx, `SELECT seq, content_version, (SELECT v FROM content_version WHERE id = 1)
		FROM tenants WHERE id = ?`, tenantID).Scan(&tseq, &v, &legacy)
	if errors.Is(err, sql.ErrNoRows) {
		return ch, openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "tenant %s not found", sqlstore.Quote(tenantID))
	}
	if err != nil {
		return ch, storeError(err, "cannot read the content version")
	}
	ch.Version = sqlstore.ContentVersion(legacy, v)
	if ch.Version == since {
		return ch, nil
	}
	raw, ok := sqlstore.FeedSince(since, legacy, v)
	if !ok {
		ch.Rebuild = true
		return ch, nil
	}
	var n, markers int64
	err = tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(machine_id = '' AND alert_id = ''), 0) FROM content_changes
		WHERE tenant_seq = ? AND version > ?`, tseq, raw).Scan(&n, &markers)
	if err != nil {
		return ch, storeError(err, "cannot read the change feed")
	}
	if markers > 0 || n > int64(limit) {
		ch.Rebuild = true
		return ch, nil
	}
	if ch.Machines, ch.Deleted, err = changedMachines(ctx, tx, tseq, raw); err != nil {
		return ch, err
	}
	if ch.Alerts, ch.DeletedAlerts, err = changedAlerts(ctx, tx, tseq, raw); err != nil {
		return ch, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT c.name_key, c.domain_key, c.machine_id,
		EXISTS (SELECT 1 FROM machines m JOIN user_machines um ON um.tenant_seq = m.tenant_seq
			AND um.name_key = c.name_key AND um.domain_key = c.domain_key AND um.machine_seq = m.seq
			WHERE m.tenant_seq = c.tenant_seq AND m.id = c.machine_id)
		FROM content_changes c WHERE c.tenant_seq = ? AND c.version > ? AND c.name_key != ''
		ORDER BY 1, 2, 3`, tseq, raw)
	if err != nil {
		return ch, storeError(err, "cannot read the change feed")
	}
	defer rows.Close()
	for rows.Next() {
		var r openatp.RelationChange
		if err := rows.Scan(&r.NameKey, &r.DomainKey, &r.MachineID, &r.Exists); err != nil {
			return ch, storeError(err, "cannot read the change feed")
		}
		ch.Relations = append(ch.Relations, r)
	}
	if err := rows.Err(); err != nil {
		return ch, storeError(err, "cannot read the change feed")
	}
	return ch, nil
}

// changedMachines reads the machines changed after feed version raw: those
// that exist, and the ids of those that do not.
func changedMachines(ctx context.Context, tx *sql.Tx, tseq, raw int64) ([]openatp.Machine, []string, error) {
	const changed = `SELECT machine_id FROM content_changes
		WHERE tenant_seq = ?1 AND version > ?2 AND name_key = '' AND machine_id != ''`
	rows, err := tx.QueryContext(ctx, "SELECT "+sqlstore.MachineColumns+" FROM machines m WHERE m.tenant_seq = ?1 AND m.id IN ("+
		changed+") ORDER BY m.id", tseq, raw)
	if err != nil {
		return nil, nil, storeError(err, "cannot read the change feed")
	}
	defer rows.Close()
	var ms []openatp.Machine
	var s machineScanner
	for rows.Next() {
		m, err := s.scan(rows)
		if err != nil {
			return nil, nil, storeError(err, "cannot read the change feed")
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, storeError(err, "cannot read the change feed")
	}
	rows, err = tx.QueryContext(ctx, "SELECT DISTINCT machine_id FROM ("+changed+`) c
		WHERE NOT EXISTS (SELECT 1 FROM machines m WHERE m.tenant_seq = ?1 AND m.id = c.machine_id)
		ORDER BY machine_id`, tseq, raw)
	if err != nil {
		return nil, nil, storeError(err, "cannot read the change feed")
	}
	defer rows.Close()
	var deleted []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, nil, storeError(err, "cannot read the change feed")
		}
		deleted = append(deleted, id)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, storeError(err, "cannot read the change feed")
	}
	return ms, deleted, nil
}

// changedAlerts reads the alerts changed after feed version raw: those
// that exist, and the ids of those that do not.
func changedAlerts(ctx context.Context, tx *sql.Tx, tseq, raw int64) ([]openatp.Alert, []string, error) {
	const changed = `SELECT alert_id FROM content_changes WHERE tenant_seq = ?1 AND version > ?2 AND alert_id != ''`
	rows, err := tx.QueryContext(ctx, "SELECT "+sqlstore.AlertColumns+" FROM alerts a WHERE a.tenant_seq = ?1 AND a.id IN ("+
		changed+") ORDER BY a.id", tseq, raw)
	var r sqlstore.AlertRow
	as, err := collect(rows, err, "cannot read the change feed", func(s scanner) (openatp.Alert, error) { return r.Scan(s, false, nil) })
	if err != nil {
		return nil, nil, err
	}
	rows, err = tx.QueryContext(ctx, "SELECT DISTINCT alert_id FROM ("+changed+`) c
		WHERE NOT EXISTS (SELECT 1 FROM alerts a WHERE a.tenant_seq = ?1 AND a.id = c.alert_id)
		ORDER BY alert_id`, tseq, raw)
	deleted, err := collect(rows, err, "cannot read the change feed", func(s scanner) (id string, err error) { return id, s.Scan(&id) })
	return as, deleted, err
}
