package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
	"github.com/openatp/openatp/internal/sqlstore/huntsql"
)

// The array UPSERTs of AddLogons. Their WHERE clauses skip rows that would
// not change, so re-adding events writes nothing (and bumps no version).
const (
	upsertUsers = `INSERT INTO users AS u (tenant_seq, name_key, domain_key, account_name, account_domain, sid)
SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
ON CONFLICT (tenant_seq, name_key, domain_key) DO UPDATE SET sid = excluded.sid
WHERE u.sid = '' AND excluded.sid != ''`
	upsertRelations = `INSERT INTO user_machines AS um (tenant_seq, name_key, domain_key, machine_seq, first_seen, last_seen, logon_types)
SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int8[], $5::int8[], $6::int8[], $7::int8[])
ON CONFLICT (tenant_seq, name_key, domain_key, machine_seq) DO UPDATE SET
	first_seen = least(um.first_seen, excluded.first_seen),
	last_seen = greatest(um.last_seen, excluded.last_seen),
	logon_types = um.logon_types | excluded.logon_types
WHERE excluded.first_seen < um.first_seen OR excluded.last_seen > um.last_seen
	OR um.logon_types | excluded.logon_types != um.logon_types`
)

// AddLogons records logon events in one transaction: all or nothing. The
// events are merged in memory first, so each distinct user and relation of
// a batch costs one row of an array UPSERT. A user is matched by
// openatp.NameKey of its domain and name and keeps the spelling of its
// first event and the first non-empty SID; first and last seen of a relation
// are the minimum and maximum of its events, logon types a set. Recording
// the same events again changes nothing.
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
	return db.inTx(ctx, func(tx pgx.Tx) (bool, error) {
		// FOR SHARE: a concurrent ResetTenant or DeleteMachine waits for
		// this transaction, or this one for it, so that no relation
		// outlives its machine.
		tseq, err := tenantSeq(ctx, tx, tenantID, true)
		if err != nil || len(ls) == 0 {
			return false, err
		}
		if err := lockContent(ctx, tx, tseq, false); err != nil {
			return false, err
		}
		changed, err := writeLogons(ctx, tx, tseq, ls, agg)
		if err != nil || !changed {
			return false, err
		}
		var log sqlstore.ChangeLog
		log.Logons(agg)
		return true, bumpContent(ctx, tx, tseq, &log)
	})
}

// writeLogons writes the merged events ls of agg in tx, and reports
// whether a row changed.
func writeLogons(ctx context.Context, tx pgx.Tx, tseq int64, ls []openatp.Logon, agg *sqlstore.Batch) (bool, error) {
	machines := make(map[string]int64, len(agg.MachineIDs))
	rows, err := tx.Query(ctx, "SELECT id, seq FROM machines WHERE tenant_seq = $1 AND id = ANY($2::text[])", tseq, agg.MachineIDs)
	if err != nil {
		return false, storeError(err, "cannot read machines")
	}
	var id string
	var seq int64
	_, err = pgx.ForEachRow(rows, []any{&id, &seq}, func() error { machines[id] = seq; return nil })
	if err != nil {
		return false, storeError(err, "cannot read machines")
	}
	for i := range ls {
		if machines[ls[i].MachineID] == 0 {
			return false, sqlstore.UnknownMachine(i, ls[i].MachineID)
		}
	}
	changed := false
	for i := 0; i < len(agg.Users); i += chunkRows {
		part := agg.Users[i:min(i+chunkRows, len(agg.Users))]
		var names, domains, accounts, accountDomains, sids []string
		for _, u := range part {
			names, domains = append(names, u.NameKey), append(domains, u.DomainKey)
			accounts, accountDomains, sids = append(accounts, u.Name), append(accountDomains, u.Domain), append(sids, u.SID)
		}
		tag, err := tx.Exec(ctx, upsertUsers, tseq, names, domains, accounts, accountDomains, sids)
		if err != nil {
			return false, storeError(err, "cannot store users")
		}
		changed = changed || tag.RowsAffected() > 0
	}
	for _, r := range agg.Rels {
		r.MachineSeq = machines[r.MachineID]
	}
	sqlstore.SortRels(agg.Rels)
	for i := 0; i < len(agg.Rels); i += chunkRows {
		part := agg.Rels[i:min(i+chunkRows, len(agg.Rels))]
		var names, domains []string
		var mseqs, firsts, lasts, types []int64
		for _, r := range part {
			names, domains = append(names, r.User.NameKey), append(domains, r.User.DomainKey)
			mseqs, firsts, lasts, types = append(mseqs, r.MachineSeq), append(firsts, r.First), append(lasts, r.Last), append(types, r.Types)
		}
		tag, err := tx.Exec(ctx, upsertRelations, tseq, names, domains, mseqs, firsts, lasts, types)
		if err != nil {
			return false, storeError(err, "cannot store logons")
		}
		changed = changed || tag.RowsAffected() > 0
	}
	return changed, writeLogonEvents(ctx, tx, tseq, ls, machines)
}

// insertLogonEvents is the array INSERT of the logon events kept as rows:
// an event stored already is skipped. Events alone do not count as a
// change: the read model does not hold them.
const insertLogonEvents = `INSERT INTO logon_events (tenant_seq, ts, machine_seq, account_name, account_domain, logon_type, account_sid)
SELECT $1, * FROM unnest($2::int8[], $3::int8[], $4::text[], $5::text[], $6::int8[], $7::text[])
ON CONFLICT DO NOTHING`

// writeLogonEvents inserts the events ls themselves in tx, chunkRows a
// statement; machines maps each event's machine id to its machines.seq.
func writeLogonEvents(ctx context.Context, tx pgx.Tx, tseq int64, ls []openatp.Logon, machines map[string]int64) error {
	for i := 0; i < len(ls); i += chunkRows {
		part := ls[i:min(i+chunkRows, len(ls))]
		tss, mseqs, types := make([]int64, len(part)), make([]int64, len(part)), make([]int64, len(part))
		names, domains, sids := make([]string, len(part)), make([]string, len(part)), make([]string, len(part))
		for j := range part {
			l := &part[j]
			tss[j], types[j] = sqlstore.LogonEventRow(l)
			mseqs[j], names[j], domains[j], sids[j] = machines[l.MachineID], l.AccountName, l.AccountDomain, l.AccountSID
		}
		if _, err := tx.Exec(ctx, insertLogonEvents, tseq, tss, mseqs, names, domains, types, sids); err != nil {
			return storeError(err, "cannot store logon events")
		}
	}
	return nil
}

// LogonEvents calls yield with the tenant's logon events in [from, to)
// (hunting.LogonEventStore), read as they are yielded, bounded by ctx
// only (not by the request path's query timeout).
func (db *DB) LogonEvents(ctx context.Context, tenantID string, from, to time.Time, yield func(openatp.Logon) error) error {
	return sqlstore.LogonEvents(ctx, reader{q: db.pool}, tenantID, from, to, yield)
}

// Snapshot streams the whole tenant from one REPEATABLE READ, read-only
// transaction: every machine ordered by id (with its device group), then
// every (user, machine) relation ordered by user (openatp.NameKey of name,
// then of domain, in byte order), then machine id. Rows are read from the
// connection as they are handed on, never all at once. An error of machine
// or rel stops the stream and is returned as it is. NotFound if the tenant
// does not exist.
func (db *DB) Snapshot(ctx context.Context, tenantID string, machine func(openatp.Machine) error, rel func(openatp.UserMachine) error) error {
	return db.readTenant(ctx, tenantID, func(q sqlstore.Querier, tseq int64, gs []openatp.DeviceGroup) error {
		return db.Reader.Snapshot(ctx, q, tseq, gs, machine, rel)
	})
}

// readTenant runs read in one REPEATABLE READ, read-only transaction,
// with the tenant's seq and device groups read first. NotFound if the
// tenant does not exist.
func (db *DB) readTenant(ctx context.Context, tenantID string, read func(q sqlstore.Querier, tseq int64, groups []openatp.DeviceGroup) error) error {
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return storeError(err, "cannot begin a transaction")
	}
	defer rollback(ctx, tx)
	tseq, err := tenantSeq(ctx, tx, tenantID, false)
	if err != nil {
		return err
	}
	groups, err := groups(ctx, tx, tenantID)
	if err != nil {
		return err
	}
	return read(inTxReader(tx), tseq, groups)
}

// ResetTenant deletes the tenant's machines (and their IP history), users,
// logons, machine actions, file and network events and device groups in one transaction, keeping the tenant and its
// applications. NotFound if the tenant does not exist.
func (db *DB) ResetTenant(ctx context.Context, tenantID string) error {
	return db.inTx(ctx, func(tx pgx.Tx) (bool, error) {
		// Updating the row first locks it against the FOR SHARE of
		// concurrent writers of the tenant.
		var seq int64
		err := tx.QueryRow(ctx, "UPDATE tenants SET generation = generation + 1 WHERE id = $1 RETURNING seq", tenantID).Scan(&seq)
		if err != nil {
			err = storeError(err, "cannot reset the tenant")
			if openatp.IsKind(err, openatp.NotFound) {
				return false, openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "tenant %s not found", sqlstore.Quote(tenantID))
			}
			return false, err
		}
		for _, q := range []string{
			"DELETE FROM user_machines WHERE tenant_seq = $1",
			"DELETE FROM users WHERE tenant_seq = $1",
			"DELETE FROM machines WHERE tenant_seq = $1",
			"DELETE FROM machine_ips WHERE tenant_seq = $1",
			"DELETE FROM alerts WHERE tenant_seq = $1",
			"DELETE FROM machine_actions WHERE tenant_seq = $1",
			"DELETE FROM machine_states WHERE tenant_seq = $1",
			"DELETE FROM library_files WHERE tenant_seq = $1",
			"DELETE FROM investigations WHERE tenant_seq = $1",
			"DELETE FROM indicators WHERE tenant_seq = $1",
			"DELETE FROM indicator_counters WHERE tenant_seq = $1",
			"DELETE FROM file_events WHERE tenant_seq = $1",
			"DELETE FROM network_events WHERE tenant_seq = $1",
			"DELETE FROM logon_events WHERE tenant_seq = $1",
			"DELETE FROM event_files WHERE tenant_seq = $1",
			"DELETE FROM event_remotes WHERE tenant_seq = $1",
			"DELETE FROM device_groups WHERE tenant_seq = $1",
			"DELETE FROM tvm_inventory WHERE tenant_seq = $1",
			"DELETE FROM tvm_affected WHERE tenant_seq = $1",
			"DELETE FROM tvm_vulnerabilities WHERE tenant_seq = $1",
			"DELETE FROM tvm_updates WHERE tenant_seq = $1",
			"DELETE FROM tvm_products WHERE tenant_seq = $1",
			"DELETE FROM tvm_strings WHERE tenant_seq = $1",
			// the versions move on, never back: a reader's cache of them stays exact
			"UPDATE tvm_state SET catalog_version = catalog_version + 1, inventory_version = inventory_version + 1 WHERE tenant_seq = $1",
		} {
			if _, err := tx.Exec(ctx, q, seq); err != nil {
				return false, storeError(err, "cannot reset the tenant")
			}
		}
		log := sqlstore.ChangeLog{}
		log.SetRebuild()
		return true, bumpContent(ctx, tx, seq, &log)
	})
}

// HuntDialect is PostgreSQL's part of the hunting statements (huntsql).
func (db *DB) HuntDialect() huntsql.Dialect {
	return huntsql.Dialect{
		Collate: ` COLLATE "C"`,
		Hex16:   "lpad(to_hex(%s), 16, '0')",
		InList:  "%s = ANY(?::bigint[])",
		List:    func(seqs []int64) any { return seqs },
	}
}

// HuntRows runs a hunting statement (huntsql.Store), reading its rows as
// they are yielded.
func (db *DB) HuntRows(ctx context.Context, q huntsql.Query, yield func([]any) error) error {
	return huntsql.Run(ctx, reader{q: db.pool}, q, yield)
}
