package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
	"github.com/openatp/openatp/internal/sqlstore/huntsql"
)

// The heads and tails of the multi-row UPSERTs of AddLogons. The WHERE
// clauses skip rows that would not change, so re-adding events writes
// nothing.
const (
	userHead = `INSERT INTO users (tenant_seq, name_key, domain_key, account_name, account_domain, sid)`
	userTail = `ON CONFLICT (tenant_seq, name_key, domain_key) DO UPDATE SET sid = excluded.sid
WHERE sid = '' AND excluded.sid != ''`
	relHead = `INSERT INTO user_machines (tenant_seq, name_key, domain_key, machine_seq, first_seen, last_seen, logon_types)`
	relTail = `ON CONFLICT (tenant_seq, name_key, domain_key, machine_seq) DO UPDATE SET
	first_seen = min(first_seen, excluded.first_seen),
	last_seen = max(last_seen, excluded.last_seen),
	logon_types = logon_types | excluded.logon_types
WHERE excluded.first_seen < first_seen OR excluded.last_seen > last_seen
	OR logon_types | excluded.logon_types != logon_types`
)

// AddLogons records logon events in one transaction: all or nothing. The
// events are merged in memory first, so each distinct user and relation of
// a batch costs one row of a multi-row UPSERT. A user is matched by
// openatp.NameKey of its domain and name and keeps the spelling of its
// first event and the first non-empty SID; first and last seen of a relation
// are the minimum and maximum of its events (a user's, of its relations),
// logon types a set.
// Recording the same events again changes nothing.
//
// Invalid, naming the index of the event ("logon 3: ...", and in an
// openatp.ItemError), if an event has an empty account name or domain, an
// unknown logon type, a zero or out-of-range timestamp, or names a machine
// the tenant does not have. NotFound if the tenant does not exist.
func (db *DB) AddLogons(ctx context.Context, tenantID string, ls []openatp.Logon) error {
	agg, err := sqlstore.Aggregate(ls)
	if err != nil {
		return err
	}
	var stored []*sqlstore.User // users upserted, cached once committed
	var tseq, gen int64
	err = db.inTx(ctx, func(tx *sql.Tx, q conn) error {
		var err error
		if tseq, gen, err = tenantSeqGen(ctx, q, tenantID); err != nil || len(ls) == 0 {
			return err
		}
		if stored, err = db.writeLogons(ctx, tx, tseq, gen, ls, agg, nil); err != nil {
			return err
		}
		var log sqlstore.ChangeLog
		log.Logons(agg)
		return bumpContent(ctx, tx, tseq, &log)
	})
	if err != nil || len(stored) == 0 {
		return err
	}
	keys := db.keys.lock(tseq, gen)
	for _, u := range stored {
		k := [2]string{u.NameKey, u.DomainKey}
		keys.users[k] = keys.users[k] || u.SID != ""
	}
	db.keys.unlock()
	return nil
}

// tenantSeqGen returns the row number and generation of a tenant.
// NotFound if none.
func tenantSeqGen(ctx context.Context, q conn, tenantID string) (tseq, gen int64, err error) {
	err = q.queryRow(ctx, []any{&tseq, &gen}, "SELECT seq, generation FROM tenants WHERE id = ?", tenantID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "tenant %s not found", sqlstore.Quote(tenantID))
	}
	if err != nil {
		return 0, 0, storeError(err, "cannot read the tenant")
	}
	return tseq, gen, nil
}

// batchKeys are the keys a WriteBatch transaction has written or read:
// they join the key cache only once it commits.
type batchKeys struct {
	machines map[string]int64
	users    map[[2]string]bool
}

// writeLogons writes a merged batch of events ls in tx and returns the
// users it upserted. Machine seqs and stored users are looked up in the key
// cache, then in local (the keys of the enclosing WriteBatch, if any); seqs
// read from the database go to the cache when local is nil (the rows are
// committed: this transaction writes no machines), else to local.
func (db *DB) writeLogons(ctx context.Context, tx *sql.Tx, tseq, gen int64, ls []openatp.Logon, agg *sqlstore.Batch, local *batchKeys) ([]*sqlstore.User, error) {
	// The cache is locked for the whole transaction; only transactions
	// of this process's single writer connection use it.
	keys := db.keys.lock(tseq, gen)
	defer db.keys.unlock()
	seqs := make(map[string]int64, len(agg.MachineIDs)) // machine id → machines.seq
	var unknown map[string]int64
	for _, id := range agg.MachineIDs {
		if seq := keys.machines[id]; seq != 0 {
			seqs[id] = seq
		} else if local != nil && local.machines[id] != 0 {
			seqs[id] = local.machines[id]
		} else {
			if unknown == nil {
				unknown = map[string]int64{}
			}
			unknown[id] = 0
		}
	}
	if len(unknown) > 0 {
		if err := resolveMachines(ctx, tx, tseq, unknown); err != nil {
			return nil, err
		}
		for id, seq := range unknown {
			if seq == 0 {
				continue
			}
			seqs[id] = seq
			if local == nil {
				keys.machines[id] = seq
			} else {
				local.machines[id] = seq
			}
		}
	}
	for i := range ls {
		if seqs[ls[i].MachineID] == 0 {
			return nil, sqlstore.UnknownMachine(i, ls[i].MachineID)
		}
	}
	var stored []*sqlstore.User
	for _, u := range agg.Users {
		k := [2]string{u.NameKey, u.DomainKey}
		hasSID, ok := keys.users[k]
		if local != nil {
			if l, lok := local.users[k]; lok {
				ok, hasSID = true, hasSID || l
			}
		}
		if !ok || !hasSID && u.SID != "" {
			stored = append(stored, u)
		}
	}
	// Rows in key order: the B-trees are then written front to back.
	slices.SortFunc(stored, sqlstore.CompareUsers)
	ub := newBulk(tx, userHead, 6, userTail)
	for _, u := range stored {
		if err := ub.add(ctx, tseq, u.NameKey, u.DomainKey, u.Name, u.Domain, u.SID); err != nil {
			return nil, storeError(err, "cannot store users")
		}
	}
	if err := ub.flush(ctx); err != nil {
		return nil, storeError(err, "cannot store users")
	}
	for _, r := range agg.Rels {
		r.MachineSeq = seqs[r.MachineID]
	}
	sqlstore.SortRels(agg.Rels)
	rb := newBulk(tx, relHead, 7, relTail)
	for _, r := range agg.Rels {
		if err := rb.add(ctx, tseq, r.User.NameKey, r.User.DomainKey, r.MachineSeq, r.First, r.Last, r.Types); err != nil {
			return nil, storeError(err, "cannot store logons")
		}
	}
	if err := rb.flush(ctx); err != nil {
		return nil, storeError(err, "cannot store logons")
	}
	if err := writeLogonEvents(ctx, tx, tseq, ls, seqs); err != nil {
		return nil, err
	}
	if local != nil {
		for _, u := range stored {
			k := [2]string{u.NameKey, u.DomainKey}
			local.users[k] = local.users[k] || u.SID != ""
		}
	}
	return stored, nil
}

// The multi-row INSERT of the logon events kept as rows: an event stored
// already is skipped.
const (
	logonEventHead = `INSERT INTO logon_events (tenant_seq, ts, machine_seq, account_name, account_domain, logon_type, account_sid)`
	logonEventTail = `ON CONFLICT DO NOTHING`
)

// writeLogonEvents inserts the events ls themselves in tx, in time order
// (the order of the table's key, so that its B-tree is written front to
// back); seqs maps each event's machine id to its machines.seq.
func writeLogonEvents(ctx context.Context, tx *sql.Tx, tseq int64, ls []openatp.Logon, seqs map[string]int64) error {
	type row struct {
		ts, typ int64
		i       int
	}
	rows := make([]row, len(ls))
	for i := range ls {
		ts, typ := sqlstore.LogonEventRow(&ls[i])
		rows[i] = row{ts, typ, i}
	}
	slices.SortFunc(rows, func(a, b row) int { return cmp.Compare(a.ts, b.ts) })
	eb := newBulk(tx, logonEventHead, 7, logonEventTail)
	for _, r := range rows {
		l := &ls[r.i]
		if err := eb.add(ctx, tseq, r.ts, seqs[l.MachineID], l.AccountName, l.AccountDomain, r.typ, l.AccountSID); err != nil {
			return storeError(err, "cannot store logon events")
		}
	}
	if err := eb.flush(ctx); err != nil {
		return storeError(err, "cannot store logon events")
	}
	return nil
}

// resolveMachines sets the value of every id in machines to its
// machines.seq in the tenant; ids the tenant does not have keep 0.
func resolveMachines(ctx context.Context, tx *sql.Tx, tenantSeq int64, machines map[string]int64) error {
	ids := make([]string, 0, len(machines))
	for id := range machines {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	list, err := json.Marshal(ids)
	if err != nil {
		return internal(err, "cannot encode machine ids")
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, seq FROM machines
		WHERE tenant_seq = ? AND id IN (SELECT value FROM json_each(?))`, tenantSeq, string(list))
	if err != nil {
		return storeError(err, "cannot read machines")
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return storeError(err, "cannot read machines")
		}
		machines[id] = seq
	}
	if err := rows.Err(); err != nil {
		return storeError(err, "cannot read machines")
	}
	return nil
}

// Snapshot streams the whole tenant from one read transaction: every
// machine ordered by id (with its device group), then every (user, machine)
// relation ordered by user (openatp.NameKey of name, then of domain, in byte
// order), then machine id. An error of machine or rel stops the stream and is
// returned as it is. NotFound if the tenant does not exist.
func (db *DB) Snapshot(ctx context.Context, tenantID string, machine func(openatp.Machine) error, rel func(openatp.UserMachine) error) error {
	return db.readTenant(ctx, tenantID, func(q sqlstore.Querier, tseq int64, gs []openatp.DeviceGroup) error {
		return db.Reader.Snapshot(ctx, q, tseq, gs, machine, rel)
	})
}

// readTenant runs read in one read transaction, with the tenant's seq and
// device groups read first. NotFound if the tenant does not exist.
func (db *DB) readTenant(ctx context.Context, tenantID string, read func(q sqlstore.Querier, tseq int64, groups []openatp.DeviceGroup) error) error {
	tx, err := db.rdb.BeginTx(ctx, nil)
	if err != nil {
		return storeError(err, "cannot begin a transaction")
	}
	defer tx.Rollback()
	q := conn{c: db.r, tx: tx}
	tseq, err := sqlstore.TenantSeq(ctx, q, tenantID)
	if err != nil {
		return err
	}
	groups, err := groups(ctx, q, tenantID)
	if err != nil {
		return err
	}
	return read(q, tseq, groups)
}

// ResetTenant deletes the tenant's machines (and their IP history and
// alerts), users, logons (relations and events), machine actions, file and network events and device groups in one transaction, keeping the tenant and its
// applications. NotFound if the tenant does not exist.
func (db *DB) ResetTenant(ctx context.Context, tenantID string) error {
	return db.inTx(ctx, func(tx *sql.Tx, q conn) error {
		seq, err := sqlstore.TenantSeq(ctx, q, tenantID)
		if err != nil {
			return err
		}
		defer db.keys.forget(seq)
		var top int64
		if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM machines WHERE tenant_seq = ?", seq).Scan(&top); err != nil {
			return storeError(err, "cannot reset the tenant")
		}
		for _, q := range []string{
			"UPDATE tenants SET generation = generation + 1 WHERE seq = ?",
			"DELETE FROM user_machines WHERE tenant_seq = ?",
			"DELETE FROM users WHERE tenant_seq = ?",
			"DELETE FROM machines WHERE tenant_seq = ?",
			"DELETE FROM machine_ips WHERE tenant_seq = ?",
			"DELETE FROM alerts WHERE tenant_seq = ?",
			"DELETE FROM machine_actions WHERE tenant_seq = ?",
			"DELETE FROM machine_states WHERE tenant_seq = ?",
			"DELETE FROM library_files WHERE tenant_seq = ?",
			"DELETE FROM investigations WHERE tenant_seq = ?",
			"DELETE FROM indicators WHERE tenant_seq = ?",
			"DELETE FROM indicator_counters WHERE tenant_seq = ?",
			"DELETE FROM file_events WHERE tenant_seq = ?",
			"DELETE FROM network_events WHERE tenant_seq = ?",
			"DELETE FROM logon_events WHERE tenant_seq = ?",
			"DELETE FROM event_files WHERE tenant_seq = ?",
			"DELETE FROM event_remotes WHERE tenant_seq = ?",
			"DELETE FROM device_groups WHERE tenant_seq = ?",
			"DELETE FROM tvm_inventory WHERE tenant_seq = ?",
			"DELETE FROM tvm_affected WHERE tenant_seq = ?",
			"DELETE FROM tvm_vulnerabilities WHERE tenant_seq = ?",
			"DELETE FROM tvm_updates WHERE tenant_seq = ?",
			"DELETE FROM tvm_products WHERE tenant_seq = ?",
			"DELETE FROM tvm_strings WHERE tenant_seq = ?",
			// the versions move on, never back: a reader's cache of them stays exact
			"UPDATE tvm_state SET catalog_version = catalog_version + 1, inventory_version = inventory_version + 1 WHERE tenant_seq = ?",
		} {
			if _, err := tx.ExecContext(ctx, q, seq); err != nil {
				return storeError(err, "cannot reset the tenant")
			}
		}
		if top > 0 {
			if err := forgetFreedSeqs(ctx, tx, top); err != nil {
				return err
			}
		}
		log := sqlstore.ChangeLog{}
		log.SetRebuild()
		return bumpContent(ctx, tx, seq, &log)
	})
}

// LogonEvents calls yield with the tenant's logon events in [from, to)
// (hunting.LogonEventStore), read on a reader connection as they are
// yielded. NotFound if the tenant does not exist.
func (db *DB) LogonEvents(ctx context.Context, tenantID string, from, to time.Time, yield func(openatp.Logon) error) error {
	return sqlstore.LogonEvents(ctx, db.read(), tenantID, from, to, yield)
}

// HuntDialect is SQLite's part of the hunting statements (huntsql).
func (db *DB) HuntDialect() huntsql.Dialect {
	return huntsql.Dialect{
		Hex16:  "printf('%%016x', %s)",
		InList: "%s IN (SELECT value FROM json_each(?))",
		List: func(seqs []int64) any {
			b, _ := json.Marshal(seqs)
			return string(b)
		},
	}
}

// HuntRows runs a hunting statement (huntsql.Store), reading its rows as
// they are yielded.
func (db *DB) HuntRows(ctx context.Context, q huntsql.Query, yield func([]any) error) error {
	return huntsql.Run(ctx, db.read(), q, yield)
}
