package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
	"github.com/openatp/openatp/internal/sqlstore/alertscan"
)

// The multi-row upsert of alerts.
var (
	alertHead = "INSERT INTO alerts (tenant_seq, " + sqlstore.AlertInsertColumns + ")"
	alertTail = "ON CONFLICT (tenant_seq, id) DO UPDATE SET " + sqlstore.AlertUpdateSet
)

// stampAlerts advances the tenant's alert clock past its last stamp and
// now, and returns the new stamp. The caller's IMMEDIATE transaction holds
// the database's write lock, so stamps commit in order.
func (db *DB) stampAlerts(ctx context.Context, tx *sql.Tx, tseq int64) (time.Time, error) {
	var last int64
	if err := tx.QueryRowContext(ctx, "SELECT alert_clock FROM tenants WHERE seq = ?", tseq).Scan(&last); err != nil {
		return time.Time{}, storeError(err, "cannot read the alert clock")
	}
	next := sqlstore.NextStamp(last, db.Now())
	if _, err := tx.ExecContext(ctx, "UPDATE tenants SET alert_clock = ? WHERE seq = ?", next, tseq); err != nil {
		return time.Time{}, storeError(err, "cannot advance the alert clock")
	}
	return sqlstore.FromNanos(next), nil
}

// alertWrite starts an alert write in tx: it returns the tenant's row,
// its device groups and the write's stamp. NotFound if the tenant does
// not exist.
func (db *DB) alertWrite(ctx context.Context, tx *sql.Tx, q conn, tenantID string) (int64, []openatp.DeviceGroup, time.Time, error) {
	tseq, err := sqlstore.TenantSeq(ctx, q, tenantID)
	if err != nil {
		return 0, nil, time.Time{}, err
	}
	gs, err := groups(ctx, q, tenantID)
	if err != nil {
		return 0, nil, time.Time{}, err
	}
	stamp, err := db.stampAlerts(ctx, tx, tseq)
	return tseq, gs, stamp, err
}

// UpsertAlerts inserts or replaces alerts by id in one transaction (see
// openatp.AlertStore). Invalid, naming the index of the alert (in the
// message and an openatp.ItemError), if one does not normalize or has a
// time out of range; NotFound if the tenant does not exist.
func (db *DB) UpsertAlerts(ctx context.Context, tenantID string, as []openatp.Alert) error {
	return db.inTx(ctx, func(tx *sql.Tx, q conn) error {
		tseq, err := sqlstore.TenantSeq(ctx, q, tenantID)
		if err != nil || len(as) == 0 {
			return err
		}
		var log sqlstore.ChangeLog
		if err := db.writeAlerts(ctx, tx, tseq, as, &log); err != nil {
			return err
		}
		return bumpContent(ctx, tx, tseq, &log)
	})
}

// writeAlerts upserts alerts in tx, creating the machines they name that
// the tenant does not have, and records them in log.
func (db *DB) writeAlerts(ctx context.Context, tx *sql.Tx, tseq int64, as []openatp.Alert, log *sqlstore.ChangeLog) error {
	norm, latest, stampless, err := sqlstore.NormalizeAlerts(as)
	if err != nil {
		return err
	}
	var stamp int64
	if stampless {
		t, err := db.stampAlerts(ctx, tx, tseq)
		if err != nil {
			return err
		}
		stamp = t.UnixNano()
	}
	if _, err := tx.ExecContext(ctx, "UPDATE tenants SET alert_clock = max(alert_clock, ?) WHERE seq = ?", latest, tseq); err != nil {
		return storeError(err, "cannot advance the alert clock")
	}
	stub, err := tx.PrepareContext(ctx, `INSERT INTO machines (tenant_seq, id, computer_dns_name, machine_tags, ip_addresses)
		VALUES (?, ?, ?, '[]', '[]') ON CONFLICT (tenant_seq, id) DO NOTHING RETURNING id`)
	if err != nil {
		return storeError(err, "cannot store alerts")
	}
	defer stub.Close()
	stubbed := map[string]bool{}
	b := newBulk(tx, alertHead, sqlstore.AlertWidth+1, alertTail)
	for i := range norm {
		a := &norm[i]
		if !stubbed[a.MachineID] {
			stubbed[a.MachineID] = true
			var id string
			err := stub.QueryRowContext(ctx, tseq, a.MachineID, str(a.ComputerDNSName)).Scan(&id)
			switch {
			case err == nil:
				log.Machine(id)
			case !errors.Is(err, sql.ErrNoRows):
				return storeError(err, "cannot store the alert's machine")
			}
		}
		args, err := sqlstore.AlertArgs(a, stamp)
		if err != nil {
			return sqlstore.InvalidItem("alert", i, err)
		}
		if err := b.add(ctx, append([]any{tseq}, args...)...); err != nil {
			return storeError(err, "cannot store alerts")
		}
		log.Alert(a.ID)
	}
	if err := b.flush(ctx); err != nil {
		return storeError(err, "cannot store alerts")
	}
	return nil
}

// UpdateAlerts changes alerts in one IMMEDIATE write transaction (see
// openatp.AlertStore): every writer of the file waits while f runs, and f
// runs once per alert.
func (db *DB) UpdateAlerts(ctx context.Context, tenantID string, ids []string, f func(a *openatp.Alert, stamp time.Time) error) ([]openatp.Alert, error) {
	var out []openatp.Alert
	err := db.inTx(ctx, func(tx *sql.Tx, q conn) error {
		out = out[:0]
		tseq, gs, stamp, err := db.alertWrite(ctx, tx, q, tenantID)
		if err != nil {
			return err
		}
		var log sqlstore.ChangeLog
		var r sqlstore.AlertRow
		var changed []openatp.Alert
		for _, id := range ids {
			a, err := r.Scan(tx.QueryRowContext(ctx, sqlstore.AlertSelect+" WHERE a.tenant_seq = ? AND a.id = ?", tseq, id), true, gs)
			if errors.Is(err, sql.ErrNoRows) {
				return sqlstore.AlertNotFound(id)
			}
			if err != nil {
				return storeError(err, "cannot read the alert")
			}
			stored, err := a.Changed(stamp, f)
			if err != nil {
				return err
			}
			changed = append(changed, stored)
			out = append(out, stored.WithMachineOf(&a))
			log.Alert(id)
		}
		if err := db.upsertAlertRows(ctx, tx, tseq, changed); err != nil {
			return err
		}
		return bumpContent(ctx, tx, tseq, &log)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// upsertAlertRows writes normalized alerts that have a LastUpdateTime.
func (db *DB) upsertAlertRows(ctx context.Context, tx *sql.Tx, tseq int64, as []openatp.Alert) error {
	b := newBulk(tx, alertHead, sqlstore.AlertWidth+1, alertTail)
	for i := range as {
		args, err := sqlstore.AlertArgs(&as[i], 0)
		if err != nil {
			return err
		}
		if err := b.add(ctx, append([]any{tseq}, args...)...); err != nil {
			return storeError(err, "cannot store the alert")
		}
	}
	if err := b.flush(ctx); err != nil {
		return storeError(err, "cannot store the alert")
	}
	return nil
}

// CreateAlert stores a new alert, or lets an open alert of the same
// machine and title absorb it (see openatp.AlertStore), in one IMMEDIATE
// write transaction.
func (db *DB) CreateAlert(ctx context.Context, tenantID string, a openatp.Alert) (openatp.Alert, bool, error) {
	var out openatp.Alert
	created := false
	err := db.inTx(ctx, func(tx *sql.Tx, q conn) error {
		created = false
		tseq, gs, stamp, err := db.alertWrite(ctx, tx, q, tenantID)
		if err != nil {
			return err
		}
		m := openatp.Machine{ID: a.MachineID}
		var tags string
		err = tx.QueryRowContext(ctx, "SELECT computer_dns_name, os_platform, machine_tags FROM machines WHERE tenant_seq = ? AND id = ?",
			tseq, a.MachineID).Scan(&m.ComputerDNSName, &m.OSPlatform, &tags)
		if errors.Is(err, sql.ErrNoRows) {
			return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "machine %s not found", sqlstore.Quote(a.MachineID))
		}
		if err != nil {
			return storeError(err, "cannot read the machine")
		}
		if err := json.Unmarshal([]byte(tags), &m.MachineTags); err != nil {
			return internal(err, "bad machine_tags of machine "+m.ID)
		}
		openatp.AssignGroup(gs, &m)
		open, err := sqlstore.OpenAlerts(ctx, q, tseq, a.MachineID, gs)
		if err != nil {
			return err
		}
		stored, isNew := openatp.AbsorbedOrNew(a, open, stamp)
		if isNew {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM alerts WHERE tenant_seq = ? AND id = ?", tseq, a.ID).Scan(&n); err != nil {
				return storeError(err, "cannot read the alert")
			}
			if n > 0 {
				return openatp.CodedErrorf(openatp.Conflict, "Conflict", "alert %s exists", sqlstore.Quote(a.ID))
			}
		}
		if err := db.upsertAlertRows(ctx, tx, tseq, []openatp.Alert{stored}); err != nil {
			return err
		}
		var log sqlstore.ChangeLog
		log.Alert(stored.ID)
		out, created = stored.WithMachineOf(&openatp.Alert{ComputerDNSName: m.ComputerDNSName, RBACGroupID: m.RBACGroupID, RBACGroupName: m.RBACGroupName}), isNew
		return bumpContent(ctx, tx, tseq, &log)
	})
	return out, created, err
}

// ScanAlertsParallel streams every alert of the tenant without its
// machine's name and device group, in no particular order, from one read
// transaction: the rows decoded on workers goroutines, which call f at
// once (alertscan.Scan; the read model's build). NotFound if the tenant
// does not exist. The store's only tenant reads the table in its order,
// not an index's, which sends each row's lookup to a page of the table at
// random (2.6 times the reading goroutine's time, 100,000 alerts).
func (db *DB) ScanAlertsParallel(ctx context.Context, tenantID string, workers int, f func(worker int, a *openatp.Alert) error) error {
	var tenants int
	if err := db.rdb.QueryRowContext(ctx, "SELECT count(*) FROM tenants").Scan(&tenants); err != nil {
		return storeError(err, "cannot read alerts")
	}
	table := "alerts a"
	if tenants == 1 {
		table = "alerts a NOT INDEXED"
	}
	return db.readTenant(ctx, tenantID, func(q sqlstore.Querier, tseq int64, _ []openatp.DeviceGroup) error {
		return alertscan.Scan(ctx, q, table, tseq, workers, f)
	})
}

// ScanAlerts streams every alert of the tenant with its machine's name and
// device group, ordered by id, from one read transaction. NotFound if the tenant does not
// exist.
func (db *DB) ScanAlerts(ctx context.Context, tenantID string, f func(openatp.Alert) error) error {
	return db.readTenant(ctx, tenantID, func(q sqlstore.Querier, tseq int64, gs []openatp.DeviceGroup) error {
		return sqlstore.ScanAlerts(ctx, q, tseq, gs, f)
	})
}
