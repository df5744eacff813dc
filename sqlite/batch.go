package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// WriteBatch runs f in one IMMEDIATE write transaction (see
// openatp.BatchStore): f's writes commit together or not at all. The write
// lock is held while f runs, so other writers — of this process and of
// others — wait for it (up to their busy timeout). SQLite spills a large
// transaction to the WAL as it goes, so memory stays bounded by the page
// cache whatever the batch's size. NotFound if the tenant does not exist.
func (db *DB) WriteBatch(ctx context.Context, tenantID string, f func(w openatp.BatchWriter) error) error {
	var tseq, gen int64
	local := &batchKeys{machines: map[string]int64{}, users: map[[2]string]bool{}}
	err := db.inTx(ctx, func(tx *sql.Tx, q conn) error {
		var err error
		if tseq, gen, err = tenantSeqGen(ctx, q, tenantID); err != nil {
			return err
		}
		w := db.batchWriter(ctx, tx, tseq, gen, local)
		if err := f(w); err != nil {
			return err
		}
		if w.Failed != nil { // a write failed and f went on regardless
			return w.Failed
		}
		return bumpContent(ctx, tx, tseq, &w.Log)
	})
	if err != nil {
		return err
	}
	keys := db.keys.lock(tseq, gen)
	defer db.keys.unlock()
	if len(keys.machines)+len(local.machines) > maxCachedKeys {
		return nil
	}
	for id, seq := range local.machines {
		keys.machines[id] = seq
	}
	for k, sid := range local.users {
		keys.users[k] = keys.users[k] || sid
	}
	return nil
}

// batchWriter writes into tx, the transaction of WriteBatch, in the
// tenant of row tseq and generation gen; the keys it writes go to local.
func (db *DB) batchWriter(ctx context.Context, tx *sql.Tx, tseq, gen int64, local *batchKeys) *sqlstore.BatchWriter {
	return &sqlstore.BatchWriter{
		Machines: func(ms []openatp.Machine, log *sqlstore.ChangeLog) error {
			e, err := encodeMachines(ms, db.now())
			if err == nil {
				err = writeMachines(ctx, tx, tseq, e)
			}
			if err == nil {
				e.log(log)
			}
			return err
		},
		Logons: func(ls []openatp.Logon, agg *sqlstore.Batch) (bool, error) {
			_, err := db.writeLogons(ctx, tx, tseq, gen, ls, agg, local)
			return err == nil, err
		},
		Alerts: func(as []openatp.Alert, log *sqlstore.ChangeLog) error {
			return db.writeAlerts(ctx, tx, tseq, as, log)
		},
	}
}

// DeleteMachine deletes a machine, its relations, its IP history, its
// alerts, and the
// users left without a relation, in one transaction, and bumps the
// tenant's generation (so that no process keeps using the machine's key).
// Finding the relations scans the tenant's (user, machine) rows, and
// finding the IP history the tenant's history: there is no index by
// machine, which would slow down every logon and machine written. NotFound
// if the tenant has no machine with that id.
func (db *DB) DeleteMachine(ctx context.Context, tenantID, id string) error {
	return db.inTx(ctx, func(tx *sql.Tx, q conn) error {
		tseq, err := sqlstore.TenantSeq(ctx, q, tenantID)
		if err != nil {
			return err
		}
		var mseq int64
		err = tx.QueryRowContext(ctx, "SELECT seq FROM machines WHERE tenant_seq = ? AND id = ?", tseq, id).Scan(&mseq)
		if errors.Is(err, sql.ErrNoRows) {
			return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "machine %s not found", sqlstore.Quote(id))
		}
		if err != nil {
			return storeError(err, "cannot read the machine")
		}
		defer db.keys.forget(tseq)
		log := sqlstore.ChangeLog{}
		log.Machine(id)
		rows, err := tx.QueryContext(ctx, "SELECT name_key, domain_key FROM user_machines WHERE tenant_seq = ? AND machine_seq = ?", tseq, mseq)
		if err != nil {
			return storeError(err, "cannot read the machine's relations")
		}
		for rows.Next() {
			var name, domain string
			if err := rows.Scan(&name, &domain); err != nil {
				rows.Close()
				return storeError(err, "cannot read the machine's relations")
			}
			log.Rel(name, domain, id)
		}
		if err := rows.Close(); err != nil {
			return storeError(err, "cannot read the machine's relations")
		}
		rows, err = tx.QueryContext(ctx, "SELECT id FROM alerts WHERE tenant_seq = ? AND machine_id = ?", tseq, id)
		if err != nil {
			return storeError(err, "cannot read the machine's alerts")
		}
		for rows.Next() {
			var alert string
			if err := rows.Scan(&alert); err != nil {
				rows.Close()
				return storeError(err, "cannot read the machine's alerts")
			}
			log.Alert(alert)
		}
		if err := rows.Close(); err != nil {
			return storeError(err, "cannot read the machine's alerts")
		}
		for _, stmt := range []string{
			"UPDATE tenants SET generation = generation + 1 WHERE seq = ?1",
			`CREATE TEMP TABLE IF NOT EXISTS deleted_users (name_key TEXT, domain_key TEXT)`,
			"DELETE FROM temp.deleted_users",
			`INSERT INTO temp.deleted_users SELECT name_key, domain_key FROM user_machines
				WHERE tenant_seq = ?1 AND machine_seq = ?2`,
			"DELETE FROM user_machines WHERE tenant_seq = ?1 AND machine_seq = ?2",
			`DELETE FROM users WHERE tenant_seq = ?1 AND (name_key, domain_key) IN (SELECT name_key, domain_key FROM temp.deleted_users)
				AND NOT EXISTS (SELECT 1 FROM user_machines um WHERE um.tenant_seq = ?1
					AND um.name_key = users.name_key AND um.domain_key = users.domain_key)`,
			"DELETE FROM temp.deleted_users",
			"DELETE FROM machine_ips WHERE tenant_seq = ?1 AND machine_id = (SELECT id FROM machines WHERE seq = ?2)",
			"DELETE FROM alerts WHERE tenant_seq = ?1 AND machine_id = (SELECT id FROM machines WHERE seq = ?2)",
			"DELETE FROM tvm_inventory WHERE tenant_seq = ?1 AND machine_seq = ?2",
			"UPDATE tvm_state SET inventory_version = inventory_version + 1 WHERE tenant_seq = ?1",
			"DELETE FROM machines WHERE seq = ?2",
		} {
			if _, err := tx.ExecContext(ctx, stmt, tseq, mseq); err != nil {
				return storeError(err, "cannot delete the machine")
			}
		}
		if err := forgetFreedSeqs(ctx, tx, mseq); err != nil {
			return err
		}
		return bumpContent(ctx, tx, tseq, &log)
	})
}

// forgetFreedSeqs deletes the logon events (kept by machine seq until the
// retention) of the machines whose seqs SQLite gives out again, after a
// deletion of machines of which top was the highest seq: SQLite gives a new
// machine the highest seq plus one, so every seq above the highest left is
// free again, and the next machine must not inherit a deleted one's events
// (any tenant's: a seq is unique across tenants). Nothing when a machine of
// a higher seq is left; else one scan of the logon events.
func forgetFreedSeqs(ctx context.Context, tx *sql.Tx, top int64) error {
	var highest int64
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM machines").Scan(&highest); err != nil {
		return storeError(err, "cannot read the machines' numbers")
	}
	if highest > top {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM logon_events WHERE machine_seq > ?", highest); err != nil {
		return storeError(err, "cannot delete the logon events of deleted machines")
	}
	return nil
}

// TenantStats counts the tenant's machines, users, relations, device
// groups and alerts in one read transaction. NotFound if the tenant does not exist.
func (db *DB) TenantStats(ctx context.Context, tenantID string) (openatp.TenantStats, error) {
	var st openatp.TenantStats
	tx, err := db.rdb.BeginTx(ctx, nil)
	if err != nil {
		return st, storeError(err, "cannot begin a transaction")
	}
	defer tx.Rollback()
	tseq, err := sqlstore.TenantSeq(ctx, conn{c: db.r, tx: tx}, tenantID)
	if err != nil {
		return st, err
	}
	for _, c := range []struct {
		n     *int64
		query string
	}{
		{&st.Machines, "SELECT count(*) FROM machines WHERE tenant_seq = ?"},
		{&st.Users, "SELECT count(*) FROM users WHERE tenant_seq = ?"},
		{&st.Relations, "SELECT count(*) FROM user_machines WHERE tenant_seq = ?"},
		{&st.Groups, "SELECT count(*) FROM device_groups WHERE tenant_seq = ?"},
		{&st.Alerts, "SELECT count(*) FROM alerts WHERE tenant_seq = ?"},
	} {
		if err := tx.QueryRowContext(ctx, c.query, tseq).Scan(c.n); err != nil {
			return st, storeError(err, "cannot count")
		}
	}
	return st, nil
}
