package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"net/netip"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/storeutil"
)

// machineNotFound is the NotFound error of a machine id.
func machineNotFound(id string) error {
	return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "machine %s not found", storeutil.Quote(id))
}

// MachineUsers returns the (user, machine) relations of one machine,
// ordered by the user's name key, then domain key (byte order), read in
// one statement: the machine and its relations are of one moment. Finding
// the relations scans the tenant's (user, machine) rows, in that order:
// about 25 ms for the tenant of BenchmarkMachineUsers (100,000 machines,
// 500,000 logon events). An index by machine answers in 0.1 ms but costs
// a logon import a quarter more CPU time (BenchmarkAddLogons), so there
// is none (see DeleteMachine). NotFound if the tenant has no machine with
// that id.
func (db *DB) MachineUsers(ctx context.Context, tenantID, machineID string) ([]openatp.UserMachine, error) {
	// The LEFT JOINs keep the machine's row when it has no relation.
	rows, err := db.read().query(ctx, `SELECT u.account_name, u.account_domain, u.sid,
		um.first_seen, um.last_seen, um.logon_types
		FROM machines m
		LEFT JOIN user_machines um ON um.tenant_seq = m.tenant_seq AND um.machine_seq = m.seq
		LEFT JOIN users u ON u.tenant_seq = um.tenant_seq AND u.name_key = um.name_key AND u.domain_key = um.domain_key
		WHERE m.tenant_seq = (SELECT seq FROM tenants WHERE id = ?) AND m.id = ?
		ORDER BY um.name_key, um.domain_key`, tenantID, machineID)
	if err != nil {
		return nil, storeError(err, "cannot read the machine's users")
	}
	defer rows.Close()
	found := false
	out := []openatp.UserMachine{}
	for rows.Next() {
		found = true
		var name, domain, sid sql.NullString
		var first, last, types sql.NullInt64
		if err := rows.Scan(&name, &domain, &sid, &first, &last, &types); err != nil {
			return nil, storeError(err, "cannot read the machine's users")
		}
		if !name.Valid {
			continue // the machine, without relations
		}
		out = append(out, openatp.UserMachine{
			AccountName: name.String, AccountDomain: domain.String, AccountSID: sid.String, MachineID: machineID,
			FirstSeen: storeutil.FromNanos(first.Int64), LastSeen: storeutil.FromNanos(last.Int64),
			LogonTypes: storeutil.LogonTypes(types.Int64),
		})
	}
	if err := rows.Err(); err != nil {
		return nil, storeError(err, "cannot read the machine's users")
	}
	if !found {
		return nil, machineNotFound(machineID)
	}
	return out, nil
}

// UpdateMachine changes one machine in one IMMEDIATE write transaction
// (see openatp.MachineAPIStore): every writer of the file waits while f
// runs, so concurrent updates, of this process or of others, apply one
// after the other. f runs once. An error of f is returned as it is;
// Invalid if the result does not normalize, has a time out of range or
// another id; NotFound if the tenant has no machine with that id.
func (db *DB) UpdateMachine(ctx context.Context, tenantID, id string, f func(m *openatp.Machine) error) (openatp.Machine, error) {
	ms, err := db.UpdateMachines(ctx, tenantID, []string{id}, f)
	if err != nil {
		return openatp.Machine{}, err
	}
	return ms[0], nil
}

// UpdateMachines is UpdateMachine for several machines in one transaction
// (see openatp.MachineAPIStore): all are changed or none.
func (db *DB) UpdateMachines(ctx context.Context, tenantID string, ids []string, f func(m *openatp.Machine) error) ([]openatp.Machine, error) {
	var out []openatp.Machine
	err := db.inTx(ctx, func(tx *sql.Tx, q conn) error {
		out = out[:0]
		tseq, err := tenantSeq(ctx, q, tenantID)
		if err != nil {
			return err
		}
		var log storeutil.ChangeLog
		var s machineScanner
		for _, id := range ids {
			m, err := s.scan(tx.QueryRowContext(ctx, "SELECT "+machineColumns+" FROM machines m WHERE m.tenant_seq = ? AND m.id = ?", tseq, id))
			if errors.Is(err, sql.ErrNoRows) {
				return machineNotFound(id)
			}
			if err != nil {
				return storeError(err, "cannot read the machine")
			}
			if err := f(&m); err != nil {
				return err
			}
			if m.ID != id {
				return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "id: cannot be changed (from %s to %s)", storeutil.Quote(id), storeutil.Quote(m.ID))
			}
			m.RBACGroupID, m.RBACGroupName = 0, ""
			if err := m.Normalize(); err != nil {
				return err
			}
			var e encoded
			if err := e.add(&m, db.now()); err != nil {
				return storeError(err, "cannot encode the machine")
			}
			if err := writeMachines(ctx, tx, tseq, &e); err != nil {
				return err
			}
			out = append(out, m)
			log.Machine(id)
		}
		return bumpContent(ctx, tx, tseq, &log)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MachinesByIP returns the ids of the machines with a row of the IP
// history for ip with from ≤ seen ≤ to, ordered by id: one range of the
// history's primary key. Invalid if ip is the zero Addr; NotFound if the
// tenant does not exist.
func (db *DB) MachinesByIP(ctx context.Context, tenantID string, ip netip.Addr, from, to time.Time) ([]string, error) {
	if !ip.IsValid() {
		return nil, openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "ip: an IP address is required")
	}
	tseq, err := tenantSeq(ctx, db.read(), tenantID)
	if err != nil {
		return nil, err
	}
	rows, err := db.read().query(ctx, `SELECT DISTINCT machine_id FROM machine_ips
		WHERE tenant_seq = ? AND ip = ? AND seen BETWEEN ? AND ? ORDER BY machine_id`,
		tseq, openatp.IPKey(ip), storeutil.ClampNanos(from), storeutil.ClampNanos(to))
	return collect(rows, err, "cannot read the IP history", func(s scanner) (string, error) {
		var id string
		return id, s.Scan(&id)
	})
}
