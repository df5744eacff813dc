package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// Changes returns what changed in the tenant's content after content
// version since, read in one REPEATABLE READ, read-only transaction (see
// openatp.ChangeStore). NotFound if the tenant does not exist.
func (db *DB) Changes(ctx context.Context, tenantID string, since uint64, limit int) (openatp.Changes, error) {
	var ch openatp.Changes
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return ch, storeError(err, "cannot begin a transaction")
	}
	defer rollback(ctx, tx)
	var tseq, legacy, v int64
	err = tx.QueryRow(ctx, `SELECT t.seq, coalesce((SELECT c.v FROM tenant_content_version c WHERE c.tenant_seq = t.seq), 0),
		(SELECT d.c FROM data_version d) FROM tenants t WHERE t.id = $1`, tenantID).Scan(&tseq, &v, &legacy)
	if errors.Is(err, pgx.ErrNoRows) {
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
	err = tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE machine_id = '' AND alert_id = '') FROM content_changes
		WHERE tenant_seq = $1 AND version > $2`, tseq, raw).Scan(&n, &markers)
	if err != nil {
		return ch, storeError(err, "cannot read the change feed")
	}
	if markers > 0 || n > int64(limit) {
		ch.Rebuild = true
		return ch, nil
	}
	const changed = `SELECT machine_id FROM content_changes
		WHERE tenant_seq = $1 AND version > $2 AND name_key = '' AND machine_id != ''`
	rows, err := tx.Query(ctx, "SELECT "+sqlstore.MachineColumns+" FROM machines m WHERE m.tenant_seq = $1 AND m.id IN ("+
		changed+") ORDER BY m.id", tseq, raw)
	if err != nil {
		return ch, storeError(err, "cannot read the change feed")
	}
	var s machineScanner
	for rows.Next() {
		m, err := s.scan(rows)
		if err != nil {
			rows.Close()
			return ch, storeError(err, "cannot read the change feed")
		}
		ch.Machines = append(ch.Machines, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return ch, storeError(err, "cannot read the change feed")
	}
	var id string
	rows, err = tx.Query(ctx, "SELECT DISTINCT machine_id FROM ("+changed+`) c
		WHERE NOT EXISTS (SELECT 1 FROM machines m WHERE m.tenant_seq = $1 AND m.id = c.machine_id)
		ORDER BY machine_id`, tseq, raw)
	if err == nil {
		_, err = pgx.ForEachRow(rows, []any{&id}, func() error {
			ch.Deleted = append(ch.Deleted, id)
			return nil
		})
	}
	if err != nil {
		return ch, storeError(err, "cannot read the change feed")
	}
	const changedAlerts = `SELECT alert_id FROM content_changes WHERE tenant_seq = $1 AND version > $2 AND alert_id != ''`
	rows, err = tx.Query(ctx, "SELECT "+sqlstore.AlertColumns+" FROM alerts a WHERE a.tenant_seq = $1 AND a.id IN ("+
		changedAlerts+") ORDER BY a.id", tseq, raw)
	if err == nil {
		var ar sqlstore.AlertRow
		ch.Alerts, err = collect(rows, nil, "cannot read the change feed", func(s sqlstore.Scanner) (openatp.Alert, error) { return ar.Scan(s, false, nil) })
	}
	if err != nil {
		return ch, storeError(err, "cannot read the change feed")
	}
	rows, err = tx.Query(ctx, "SELECT DISTINCT alert_id FROM ("+changedAlerts+`) c
		WHERE NOT EXISTS (SELECT 1 FROM alerts a WHERE a.tenant_seq = $1 AND a.id = c.alert_id)
		ORDER BY alert_id`, tseq, raw)
	if err == nil {
		_, err = pgx.ForEachRow(rows, []any{&id}, func() error {
			ch.DeletedAlerts = append(ch.DeletedAlerts, id)
			return nil
		})
	}
	if err != nil {
		return ch, storeError(err, "cannot read the change feed")
	}
	var r openatp.RelationChange
	rows, err = tx.Query(ctx, `SELECT DISTINCT c.name_key, c.domain_key, c.machine_id,
		EXISTS (SELECT 1 FROM machines m JOIN user_machines um ON um.tenant_seq = m.tenant_seq
			AND um.name_key = c.name_key AND um.domain_key = c.domain_key AND um.machine_seq = m.seq
			WHERE m.tenant_seq = c.tenant_seq AND m.id = c.machine_id)
		FROM content_changes c WHERE c.tenant_seq = $1 AND c.version > $2 AND c.name_key != ''
		ORDER BY 1, 2, 3`, tseq, raw)
	if err == nil {
		_, err = pgx.ForEachRow(rows, []any{&r.NameKey, &r.DomainKey, &r.MachineID, &r.Exists}, func() error {
			ch.Relations = append(ch.Relations, r)
			return nil
		})
	}
	if err != nil {
		return ch, storeError(err, "cannot read the change feed")
	}
	return ch, nil
}

// ScanTenant streams the tenant from Snapshot, whose order (machines by
// id; relations by user, then machine id) PostgreSQL reads without a
// lookup per row: each user's relations are gathered into one
// ScannedUser, each machine by its position in the scan.
func (db *DB) ScanTenant(ctx context.Context, tenantID string, machine func(openatp.Machine) error, user func(openatp.ScannedUser) error) error {
	positions := map[string]uint32{}
	var (
		cur          openatp.ScannedUser
		name, domain string // cur's keys
		have         bool
	)
	flush := func() error {
		if !have {
			return nil
		}
		have = false
		return user(cur)
	}
	err := db.Snapshot(ctx, tenantID, func(m openatp.Machine) error {
		positions[m.ID] = uint32(len(positions))
		return machine(m)
	}, func(r openatp.UserMachine) error {
		n, d := openatp.NameKey(r.AccountName), openatp.NameKey(r.AccountDomain)
		if !have || n != name || d != domain {
			if err := flush(); err != nil {
				return err
			}
			cur, name, domain, have = openatp.ScannedUser{AccountName: r.AccountName, AccountDomain: r.AccountDomain, AccountSID: r.AccountSID}, n, d, true
		}
		p, ok := positions[r.MachineID]
		if !ok {
			return openatp.Errorf(openatp.Internal, "a relation names machine %s, which the scan did not give", r.MachineID)
		}
		cur.Machines = append(cur.Machines, p)
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}
