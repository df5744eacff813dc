package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"slices"

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
	rows, err = tx.QueryContext(ctx, `SELECT u.account_name, u.account_domain, u.sid, um.machine_seq, um.first_seen, um.last_seen, um.logon_types
		FROM users u
		JOIN user_machines um ON um.tenant_seq = u.tenant_seq AND um.name_key = u.name_key AND um.domain_key = u.domain_key
		WHERE u.tenant_seq = ? ORDER BY u.name_key, u.domain_key`, tseq)
	if err != nil {
		return storeError(err, "cannot read user machines")
	}
	defer rows.Close()
	var r openatp.UserMachine
	var mseq, first, last, types int64
	for rows.Next() {
		if err := rows.Scan(&r.AccountName, &r.AccountDomain, &r.AccountSID, &mseq, &first, &last, &types); err != nil {
			return storeError(err, "cannot read user machines")
		}
		i, ok := slices.BinarySearch(seqs, mseq)
		if !ok {
			return internal(nil, "a relation names a machine the tenant does not have")
		}
		r.MachineID = hex.EncodeToString(ids[i][:])
		r.FirstSeen, r.LastSeen, r.LogonTypes = storeutil.FromNanos(first), storeutil.FromNanos(last), storeutil.LogonTypes(types)
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
