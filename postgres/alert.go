package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
	"github.com/openatp/openatp/internal/sqlstore/alertscan"
)

// upsertAlert inserts or replaces one alert ($1 the tenant).
var upsertAlert = func() string {
	ps := make([]string, sqlstore.AlertWidth+1)
	for i := range ps {
		ps[i] = "$" + strconv.Itoa(i+1)
	}
	return "INSERT INTO alerts (tenant_seq, " + sqlstore.AlertInsertColumns + ") VALUES (" + strings.Join(ps, ", ") +
		") ON CONFLICT (tenant_seq, id) DO UPDATE SET " + sqlstore.AlertUpdateSet
}()

// alertWriteLocks takes the locks of an alert write, in the order every
// content write takes them: the tenant's row FOR SHARE, the shared content
// lock (exclusive inside WriteBatch, which took it already), then the
// tenant's alert clock row, which it holds until the transaction ends, so
// that alert writes of a tenant commit in the order of their stamps. It
// returns the clock's last stamp.
func alertWriteLocks(ctx context.Context, tx pgx.Tx, tseq int64) (int64, error) {
	var last int64
	err := tx.QueryRow(ctx, `INSERT INTO tenant_alert_clock (tenant_seq, t) VALUES ($1, 0)
		ON CONFLICT (tenant_seq) DO UPDATE SET t = tenant_alert_clock.t RETURNING t`, tseq).Scan(&last)
	if err != nil {
		return 0, storeError(err, "cannot read the alert clock")
	}
	return last, nil
}

// stampAlerts advances the tenant's alert clock (locked by
// alertWriteLocks) past last and now, and returns the new stamp.
func (db *DB) stampAlerts(ctx context.Context, tx pgx.Tx, tseq, last int64) (time.Time, error) {
	next := sqlstore.NextStamp(last, db.Now())
	if _, err := tx.Exec(ctx, "UPDATE tenant_alert_clock SET t = $2 WHERE tenant_seq = $1", tseq, next); err != nil {
		return time.Time{}, storeError(err, "cannot advance the alert clock")
	}
	return sqlstore.FromNanos(next), nil
}

// alertWrite starts an alert write in tx (UpdateAlerts, CreateAlert): the
// tenant's row and content lock, its device groups, the alert clock's
// lock, and the write's stamp. NotFound if the tenant does not exist.
func (db *DB) alertWrite(ctx context.Context, tx pgx.Tx, tenantID string) (int64, []openatp.DeviceGroup, time.Time, error) {
	tseq, err := tenantSeq(ctx, tx, tenantID, true)
	if err != nil {
		return 0, nil, time.Time{}, err
	}
	if err := lockContent(ctx, tx, tseq, false); err != nil {
		return 0, nil, time.Time{}, err
	}
	gs, err := groups(ctx, tx, tenantID)
	if err != nil {
		return 0, nil, time.Time{}, err
	}
	last, err := alertWriteLocks(ctx, tx, tseq)
	if err != nil {
		return 0, nil, time.Time{}, err
	}
	stamp, err := db.stampAlerts(ctx, tx, tseq, last)
	return tseq, gs, stamp, err
}

// UpsertAlerts inserts or replaces alerts by id in one transaction (see
// openatp.AlertStore). Invalid, naming the index of the alert (in the
// message and an openatp.ItemError), if one does not normalize or has a
// time out of range; NotFound if the tenant does not exist.
func (db *DB) UpsertAlerts(ctx context.Context, tenantID string, as []openatp.Alert) error {
	return db.inTx(ctx, func(tx pgx.Tx) (bool, error) {
		tseq, err := tenantSeq(ctx, tx, tenantID, true)
		if err != nil || len(as) == 0 {
			return false, err
		}
		if err := lockContent(ctx, tx, tseq, false); err != nil {
			return false, err
		}
		var log sqlstore.ChangeLog
		if err := db.writeAlerts(ctx, tx, tseq, as, &log); err != nil {
			return false, err
		}
		return true, bumpContent(ctx, tx, tseq, &log)
	})
}

// writeAlerts upserts alerts in tx (after the content lock), creating the
// machines they name that the tenant does not have, and records them in
// log.
func (db *DB) writeAlerts(ctx context.Context, tx pgx.Tx, tseq int64, as []openatp.Alert, log *sqlstore.ChangeLog) error {
	norm, latest, stampless, err := sqlstore.NormalizeAlerts(as)
	if err != nil {
		return err
	}
	last, err := alertWriteLocks(ctx, tx, tseq)
	if err != nil {
		return err
	}
	var stamp int64
	if stampless {
		t, err := db.stampAlerts(ctx, tx, tseq, last)
		if err != nil {
			return err
		}
		stamp = t.UnixNano()
	}
	if _, err := tx.Exec(ctx, "UPDATE tenant_alert_clock SET t = greatest(t, $2) WHERE tenant_seq = $1", tseq, latest); err != nil {
		return storeError(err, "cannot advance the alert clock")
	}
	// Machines first, in id order (the order machine writes lock rows in).
	names := map[string]*string{}
	for i := range norm {
		if _, ok := names[norm[i].MachineID]; !ok {
			names[norm[i].MachineID] = norm[i].ComputerDNSName
		}
	}
	ids := make([]string, 0, len(names))
	for id := range names {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var created []string
	rows, err := tx.Query(ctx, `INSERT INTO machines (tenant_seq, id, computer_dns_name, machine_tags, ip_addresses)
		SELECT $1, id, name, '[]', '[]' FROM unnest($2::text[], $3::text[]) AS s (id, name)
		ON CONFLICT (tenant_seq, id) DO NOTHING RETURNING id`, tseq, ids, func() []*string {
		ns := make([]*string, len(ids))
		for i, id := range ids {
			ns[i] = names[id]
		}
		return ns
	}())
	if err == nil {
		var id string
		_, err = pgx.ForEachRow(rows, []any{&id}, func() error { created = append(created, id); return nil })
	}
	if err != nil {
		return storeError(err, "cannot store the alerts' machines")
	}
	for _, id := range created {
		log.Machine(id)
	}
	order := make([]int, len(norm))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return strings.Compare(norm[i].ID, norm[j].ID) })
	b := &pgx.Batch{}
	for _, i := range order {
		args, err := sqlstore.AlertArgs(&norm[i], stamp)
		if err != nil {
			return sqlstore.InvalidItem("alert", i, err)
		}
		b.Queue(upsertAlert, append([]any{tseq}, args...)...)
		log.Alert(norm[i].ID)
	}
	return storeError(tx.SendBatch(ctx, b).Close(), "cannot store alerts")
}

// UpdateAlerts changes alerts in one transaction (see openatp.AlertStore).
// Alert writes of the tenant wait for each other (the alert clock's row),
// so f sees each alert as the previous write left it; a transaction that
// collided otherwise runs again, f with it.
func (db *DB) UpdateAlerts(ctx context.Context, tenantID string, ids []string, f func(a *openatp.Alert, stamp time.Time) error) ([]openatp.Alert, error) {
	var out []openatp.Alert
	err := db.inTx(ctx, func(tx pgx.Tx) (bool, error) {
		out = out[:0]
		tseq, gs, stamp, err := db.alertWrite(ctx, tx, tenantID)
		if err != nil {
			return false, err
		}
		var log sqlstore.ChangeLog
		var r sqlstore.AlertRow
		b := &pgx.Batch{}
		for _, id := range ids {
			a, err := r.Scan(tx.QueryRow(ctx, sqlstore.AlertSelect+" WHERE a.tenant_seq = $1 AND a.id = $2", tseq, id), true, gs)
			if errors.Is(err, pgx.ErrNoRows) {
				return false, sqlstore.AlertNotFound(id)
			}
			if err != nil {
				return false, storeError(err, "cannot read the alert")
			}
			stored, err := a.Changed(stamp, f)
			if err != nil {
				return false, err
			}
			args, err := sqlstore.AlertArgs(&stored, 0)
			if err != nil {
				return false, err
			}
			b.Queue(upsertAlert, append([]any{tseq}, args...)...)
			out = append(out, stored.WithMachineOf(&a))
			log.Alert(id)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return false, storeError(err, "cannot store the alert")
		}
		return true, bumpContent(ctx, tx, tseq, &log)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CreateAlert stores a new alert, or lets an open alert of the same
// machine and title absorb it (see openatp.AlertStore).
func (db *DB) CreateAlert(ctx context.Context, tenantID string, a openatp.Alert) (openatp.Alert, bool, error) {
	var out openatp.Alert
	created := false
	err := db.inTx(ctx, func(tx pgx.Tx) (bool, error) {
		tseq, gs, stamp, err := db.alertWrite(ctx, tx, tenantID)
		if err != nil {
			return false, err
		}
		m := openatp.Machine{ID: a.MachineID}
		var tags string
		err = tx.QueryRow(ctx, "SELECT computer_dns_name, os_platform, machine_tags FROM machines WHERE tenant_seq = $1 AND id = $2",
			tseq, a.MachineID).Scan(&m.ComputerDNSName, &m.OSPlatform, &tags)
		if errors.Is(err, pgx.ErrNoRows) {
			return false, sqlstore.MachineNotFound(a.MachineID)
		}
		if err != nil {
			return false, storeError(err, "cannot read the machine")
		}
		if err := json.Unmarshal([]byte(tags), &m.MachineTags); err != nil {
			return false, storeError(err, "bad machine_tags of machine "+m.ID)
		}
		openatp.AssignGroup(gs, &m)
		open, err := sqlstore.OpenAlerts(ctx, inTxReader(tx), tseq, a.MachineID, gs)
		if err != nil {
			return false, err
		}
		stored, isNew := openatp.AbsorbedOrNew(a, open, stamp)
		args, err := sqlstore.AlertArgs(&stored, 0)
		if err != nil {
			return false, err
		}
		query := upsertAlert
		if isNew {
			query = strings.Split(upsertAlert, " ON CONFLICT")[0] // a new alert must not replace one
		}
		if _, err := tx.Exec(ctx, query, append([]any{tseq}, args...)...); err != nil {
			err = storeError(err, "cannot store the alert")
			if openatp.IsKind(err, openatp.Conflict) {
				return false, openatp.CodedErrorf(openatp.Conflict, "Conflict", "alert %s exists", sqlstore.Quote(a.ID))
			}
			return false, err
		}
		var log sqlstore.ChangeLog
		log.Alert(stored.ID)
		out, created = stored.WithMachineOf(&openatp.Alert{ComputerDNSName: m.ComputerDNSName, RBACGroupID: m.RBACGroupID, RBACGroupName: m.RBACGroupName}), isNew
		return true, bumpContent(ctx, tx, tseq, &log)
	})
	return out, created, err
}

// ScanAlertsParallel streams every alert of the tenant without its
// machine's name and device group, in no particular order, from one read
// transaction: the rows decoded on workers goroutines, which call f at
// once (alertscan.Scan; the read model's build). NotFound if the tenant
// does not exist.
func (db *DB) ScanAlertsParallel(ctx context.Context, tenantID string, workers int, f func(worker int, a *openatp.Alert) error) error {
	return db.readTenant(ctx, tenantID, func(q sqlstore.Querier, tseq int64, _ []openatp.DeviceGroup) error {
		return alertscan.Scan(ctx, q, "alerts a", tseq, workers, f)
	})
}

// ScanAlerts streams every alert of the tenant with its machine's name and
// device group, ordered by id, from one REPEATABLE READ transaction. NotFound if the
// tenant does not exist.
func (db *DB) ScanAlerts(ctx context.Context, tenantID string, f func(openatp.Alert) error) error {
	return db.readTenant(ctx, tenantID, func(q sqlstore.Querier, tseq int64, gs []openatp.DeviceGroup) error {
		return sqlstore.ScanAlerts(ctx, q, tseq, gs, f)
	})
}
