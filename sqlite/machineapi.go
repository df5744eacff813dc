package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"net/netip"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// UpdateMachine changes one machine in one IMMEDIATE write transaction
// (see openatp.MachineAPIStore): every writer of the file waits while f
// runs, so concurrent updates, of this process or of others, apply one
// after the other. f runs once. An error of f is returned as it is;
// Invalid if the result does not normalize, has a time out of range or
// another id; NotFound if the tenant has no machine with that id.
func (db *DB) UpdateMachine(ctx context.Context, tenantID, id string, f func(m *openatp.Machine) error) (openatp.Machine, error) {
	return sqlstore.FirstOf(db.UpdateMachines(ctx, tenantID, []string{id}, f))
}

// UpdateMachines is UpdateMachine for several machines in one transaction
// (see openatp.MachineAPIStore): all are changed or none.
func (db *DB) UpdateMachines(ctx context.Context, tenantID string, ids []string, f func(m *openatp.Machine) error) ([]openatp.Machine, error) {
	var out []openatp.Machine
	err := db.inTx(ctx, func(tx *sql.Tx, q conn) error {
		out = out[:0]
		tseq, err := sqlstore.TenantSeq(ctx, q, tenantID)
		if err != nil {
			return err
		}
		var log sqlstore.ChangeLog
		var s machineScanner
		for _, id := range ids {
			m, err := s.scan(tx.QueryRowContext(ctx, "SELECT "+sqlstore.MachineColumns+" FROM machines m WHERE m.tenant_seq = ? AND m.id = ?", tseq, id))
			if errors.Is(err, sql.ErrNoRows) {
				return sqlstore.MachineNotFound(id)
			}
			if err != nil {
				return storeError(err, "cannot read the machine")
			}
			if m, err = m.Changed(f); err != nil {
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
	tseq, err := sqlstore.TenantSeq(ctx, db.read(), tenantID)
	if err != nil {
		return nil, err
	}
	return sqlstore.List(ctx, db.read(), "cannot read the IP history", sqlstore.ScanString, `SELECT DISTINCT machine_id FROM machine_ips
		WHERE tenant_seq = ? AND ip = ? AND seen BETWEEN ? AND ? ORDER BY machine_id`,
		tseq, openatp.IPKey(ip), sqlstore.ClampNanos(from), sqlstore.ClampNanos(to))
}
