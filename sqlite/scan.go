package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/storeutil"
)

// ScanTenant streams the whole tenant from one read transaction in the
// order SQLite reads fastest (see openatp.MachineStore.ScanTenant): the
// machines in table order, a sequential scan rather than a lookup per
// machine from the id index; then the relations in the order of their
// primary key, which groups them by user, with each machine's id taken
// from the machines already read rather than joined. NotFound if the
// tenant does not exist.
func (db *DB) ScanTenant(ctx context.Context, tenantID string, machine func(openatp.Machine) error, rel func(openatp.UserMachine) error) error {
	tx, err := db.rdb.BeginTx(ctx, nil)
	if err != nil {
		return storeError(err, "cannot begin a transaction")
	}
	defer tx.Rollback()
	q := conn{c: db.r, tx: tx}
	tseq, err := tenantSeq(ctx, q, tenantID)
	if err != nil {
		return err
	}
	groups, err := groups(ctx, q, tenantID)
	if err != nil {
		return err
	}
	// "+m.tenant_seq" keeps SQLite from the (tenant_seq, id) index: rows
	// come in seq order, each read once.
	rows, err := tx.QueryContext(ctx, "SELECT m.seq, "+machineColumns+" FROM machines m WHERE +m.tenant_seq = ?", tseq)
	if err != nil {
		return storeError(err, "cannot read machines")
	}
	var (
		seqs []int64    // ascending: the table's order
		ids  [][20]byte // the id of machine seqs[i]
		s    machineScanner
		seq  int64
	)
	row := seqScanner{rows: rows, seq: &seq}
	for rows.Next() {
		m, err := s.scan(&row)
		if err != nil {
			rows.Close()
			return storeError(err, "cannot read machines")
		}
		var id [20]byte
		if _, err := hex.Decode(id[:], []byte(m.ID)); err != nil {
			rows.Close()
			return internal(err, "bad id of machine "+m.ID)
		}
		seqs, ids = append(seqs, seq), append(ids, id)
		openatp.AssignGroup(groups, &m)
		if err := machine(m); err != nil {
			rows.Close()
			return err
		}
	}
	if err := rows.Close(); err != nil {
		return storeError(err, "cannot read machines")
	}
	if !slices.IsSorted(seqs) {
		return internal(nil, "machines were not read in seq order")
	}
	// The users, then their relations, each in primary-key order (no
	// join, no sort: both are ordered by name key, domain key), merged.
	type user struct{ nameKey, domainKey, name, domain, sid string }
	var users []user
	rows, err = tx.QueryContext(ctx, `SELECT name_key, domain_key, account_name, account_domain, sid FROM users WHERE tenant_seq = ?`, tseq)
	if err != nil {
		return storeError(err, "cannot read users")
	}
	for rows.Next() {
		var u user
		if err := rows.Scan(&u.nameKey, &u.domainKey, &u.name, &u.domain, &u.sid); err != nil {
			rows.Close()
			return storeError(err, "cannot read users")
		}
		users = append(users, u)
	}
	if err := rows.Close(); err != nil {
		return storeError(err, "cannot read users")
	}
	byKey := func(a, b user) int {
		if c := strings.Compare(a.nameKey, b.nameKey); c != 0 {
			return c
		}
		return strings.Compare(a.domainKey, b.domainKey)
	}
	if !slices.IsSortedFunc(users, byKey) {
		return internal(nil, "users were not read in key order")
	}
	rows, err = tx.QueryContext(ctx, `SELECT name_key, domain_key, machine_seq, first_seen, last_seen, logon_types
		FROM user_machines WHERE tenant_seq = ?`, tseq)
	if err != nil {
		return storeError(err, "cannot read user machines")
	}
	defer rows.Close()
	var (
		r                     openatp.UserMachine
		key                   user // of the relation
		mseq, first, last, ty int64
		ui                    = -1 // the user of the last relation
	)
	for rows.Next() {
		if err := rows.Scan(&key.nameKey, &key.domainKey, &mseq, &first, &last, &ty); err != nil {
			return storeError(err, "cannot read user machines")
		}
		if ui < 0 || byKey(users[ui], key) != 0 {
			next := ui + 1
			for next < len(users) && byKey(users[next], key) < 0 {
				next++
			}
			if next == len(users) || byKey(users[next], key) != 0 {
				return internal(nil, "a relation names a user the tenant does not have, or relations were not read in key order")
			}
			ui = next
			r.AccountName, r.AccountDomain, r.AccountSID = users[ui].name, users[ui].domain, users[ui].sid
		}
		i, ok := slices.BinarySearch(seqs, mseq)
		if !ok {
			return internal(nil, "a relation names a machine the tenant does not have")
		}
		r.MachineID = hex.EncodeToString(ids[i][:])
		r.FirstSeen, r.LastSeen, r.LogonTypes = storeutil.FromNanos(first), storeutil.FromNanos(last), storeutil.LogonTypes(ty)
		if err := rel(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return storeError(err, "cannot read user machines")
	}
	return nil
}

// seqScanner reads a row whose first column is the machine's seq, then
// the columns a machineScanner reads.
type seqScanner struct {
	rows *sql.Rows
	seq  *int64
	dest []any
}

func (s *seqScanner) Scan(dest ...any) error {
	s.dest = append(append(s.dest[:0], s.seq), dest...)
	return s.rows.Scan(s.dest...)
}
