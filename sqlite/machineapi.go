package sqlite

import (
	"context"
	"database/sql"
	"errors"

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
