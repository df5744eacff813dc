package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// WriteBatch runs f in one write transaction (see openatp.BatchStore): f's
// writes commit together or not at all. The tenant's row is locked FOR
// SHARE while f runs, so a reset or machine deletion of the tenant waits
// for it, and so do the tenant's other content writes (lockContent); writes
// of other tenants do not. Unlike other writes, a batch
// that fails with a serialization failure or a deadlock is not run again
// (f has been consumed): the error is returned. NotFound if the tenant does
// not exist (f is then not called).
func (db *DB) WriteBatch(ctx context.Context, tenantID string, f func(w openatp.BatchWriter) error) error {
	return db.tryTx(ctx, func(tx pgx.Tx) (bool, error) {
		seq, err := tenantSeq(ctx, tx, tenantID, true)
		if err != nil {
			return false, err
		}
		if err := lockContent(ctx, tx, seq, true); err != nil {
			return false, err
		}
		w := db.batchWriter(ctx, tx, seq)
		if err := f(w); err != nil {
			return false, err
		}
		if w.Failed != nil || !w.Changed { // a write failed and f went on regardless
			return false, w.Failed
		}
		return true, bumpContent(ctx, tx, seq, &w.Log)
	})
}

// batchWriter writes into tx, the transaction of WriteBatch, in the
// tenant of row tseq.
func (db *DB) batchWriter(ctx context.Context, tx pgx.Tx, tseq int64) *sqlstore.BatchWriter {
	return &sqlstore.BatchWriter{
		Machines: func(ms []openatp.Machine, log *sqlstore.ChangeLog) error {
			cols, err := encodeMachines(ms, db.now())
			if err != nil {
				return err
			}
			for _, id := range cols.id {
				log.Machine(id)
			}
			return writeMachines(ctx, tx, tseq, cols)
		},
		Logons: func(ls []openatp.Logon, agg *sqlstore.Batch) (bool, error) {
			return writeLogons(ctx, tx, tseq, ls, agg)
		},
		Alerts: func(as []openatp.Alert, log *sqlstore.ChangeLog) error {
			return db.writeAlerts(ctx, tx, tseq, as, log)
		},
	}
}

// DeleteMachine deletes a machine, its relations, its IP history, its
// alerts, and the
// users left without a relation, in one transaction that locks the
// tenant's row FOR UPDATE: writers of the tenant wait, so that no logon
// recorded meanwhile refers to the deleted machine. Finding the relations
// scans the tenant's (user, machine) rows, and finding the IP history the
// tenant's history: there is no index by machine, which would slow down
// every logon and machine written. NotFound if the tenant has no machine
// with that id.
func (db *DB) DeleteMachine(ctx context.Context, tenantID, id string) error {
	return db.inTx(ctx, func(tx pgx.Tx) (bool, error) {
		tseq, err := lockTenant(ctx, tx, tenantID)
		if err != nil {
			return false, err
		}
		var mseq int64
		err = tx.QueryRow(ctx, "SELECT seq FROM machines WHERE tenant_seq = $1 AND id = $2", tseq, id).Scan(&mseq)
		if errors.Is(err, pgx.ErrNoRows) {
			return false, openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "machine %s not found", sqlstore.Quote(id))
		}
		if err != nil {
			return false, storeError(err, "cannot read the machine")
		}
		// As SQLite's: the generation tells the hunting tables that the
		// tenant may have events of a machine it no longer has.
		if _, err := tx.Exec(ctx, "UPDATE tenants SET generation = generation + 1 WHERE seq = $1", tseq); err != nil {
			return false, storeError(err, "cannot delete the machine")
		}
		var names, domains []string
		rows, err := tx.Query(ctx, "DELETE FROM user_machines WHERE tenant_seq = $1 AND machine_seq = $2 RETURNING name_key, domain_key", tseq, mseq)
		if err != nil {
			return false, storeError(err, "cannot delete the machine")
		}
		var name, domain string
		log := sqlstore.ChangeLog{}
		log.Machine(id)
		_, err = pgx.ForEachRow(rows, []any{&name, &domain}, func() error {
			names, domains = append(names, name), append(domains, domain)
			log.Rel(name, domain, id)
			return nil
		})
		if err != nil {
			return false, storeError(err, "cannot delete the machine")
		}
		// A new statement: it sees the relations deleted above as gone.
		if _, err := tx.Exec(ctx, `DELETE FROM users u USING unnest($2::text[], $3::text[]) AS d (name_key, domain_key)
			WHERE u.tenant_seq = $1 AND u.name_key = d.name_key AND u.domain_key = d.domain_key
			AND NOT EXISTS (SELECT 1 FROM user_machines um WHERE um.tenant_seq = $1
				AND um.name_key = u.name_key AND um.domain_key = u.domain_key)`, tseq, names, domains); err != nil {
			return false, storeError(err, "cannot delete the machine's users")
		}
		if _, err := tx.Exec(ctx, "DELETE FROM machine_ips WHERE tenant_seq = $1 AND machine_id = $2", tseq, id); err != nil {
			return false, storeError(err, "cannot delete the machine's IP history")
		}
		rows, err = tx.Query(ctx, "DELETE FROM alerts WHERE tenant_seq = $1 AND machine_id = $2 RETURNING id", tseq, id)
		if err == nil {
			var alert string
			_, err = pgx.ForEachRow(rows, []any{&alert}, func() error { log.Alert(alert); return nil })
		}
		if err != nil {
			return false, storeError(err, "cannot delete the machine's alerts")
		}
		for _, q := range []string{"DELETE FROM tvm_inventory WHERE tenant_seq = $1 AND machine_seq = $2",
			"UPDATE tvm_state SET inventory_version = inventory_version + 1 WHERE tenant_seq = $1 AND $2::bigint IS NOT NULL"} {
			if _, err := tx.Exec(ctx, q, tseq, mseq); err != nil {
				return false, storeError(err, "cannot delete the machine's software inventory")
			}
		}
		if _, err := tx.Exec(ctx, "DELETE FROM machines WHERE seq = $1", mseq); err != nil {
			return false, storeError(err, "cannot delete the machine")
		}
		return true, bumpContent(ctx, tx, tseq, &log)
	})
}

// TenantStats counts the tenant's machines, users, relations, device
// groups and alerts in one statement (one consistent view). NotFound if the tenant
// does not exist.
func (db *DB) TenantStats(ctx context.Context, tenantID string) (openatp.TenantStats, error) {
	ctx, cancel := withTimeout(ctx, queryTimeout)
	defer cancel()
	var st openatp.TenantStats
	err := db.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM machines WHERE tenant_seq = t.seq),
		(SELECT count(*) FROM users WHERE tenant_seq = t.seq),
		(SELECT count(*) FROM user_machines WHERE tenant_seq = t.seq),
		(SELECT count(*) FROM device_groups WHERE tenant_seq = t.seq),
		(SELECT count(*) FROM alerts WHERE tenant_seq = t.seq)
		FROM tenants t WHERE t.id = $1`, tenantID).Scan(&st.Machines, &st.Users, &st.Relations, &st.Groups, &st.Alerts)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "tenant %s not found", sqlstore.Quote(tenantID))
	}
	if err != nil {
		return st, storeError(err, "cannot count")
	}
	return st, nil
}

// lockTenant returns the row number of a tenant and locks its row FOR
// UPDATE until the transaction ends. NotFound if none.
func lockTenant(ctx context.Context, tx pgx.Tx, tenantID string) (int64, error) {
	var seq int64
	err := tx.QueryRow(ctx, "SELECT seq FROM tenants WHERE id = $1 FOR UPDATE", tenantID).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, sqlstore.TenantNotFound(tenantID)
	}
	if err != nil {
		return 0, storeError(err, "cannot read the tenant")
	}
	return seq, nil
}
