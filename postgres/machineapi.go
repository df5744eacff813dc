package postgres

import (
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// UpdateMachine changes one machine in one READ COMMITTED write
// transaction (see openatp.MachineAPIStore). The machine's row is read
// FOR UPDATE: a concurrent update of the machine, by this replica or
// another, waits for the commit and then reads what it committed. f runs
// again if the transaction is retried after a deadlock. An error of f is
// returned as it is; Invalid if the result does not normalize, has a time
// out of range or another id; NotFound if the tenant has no machine with
// that id.
func (db *DB) UpdateMachine(ctx context.Context, tenantID, id string, f func(m *openatp.Machine) error) (openatp.Machine, error) {
	return sqlstore.FirstOf(db.UpdateMachines(ctx, tenantID, []string{id}, f))
}

// UpdateMachines is UpdateMachine for several machines in one transaction
// (see openatp.MachineAPIStore): all are changed or none. The machines'
// rows are locked in id order, as UpsertMachines locks them.
func (db *DB) UpdateMachines(ctx context.Context, tenantID string, ids []string, f func(m *openatp.Machine) error) ([]openatp.Machine, error) {
	var out []openatp.Machine
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	err := db.inTx(ctx, func(tx pgx.Tx) (bool, error) {
		out = out[:0]
		// The locks of UpsertMachines, in its order: the tenant's row,
		// the shared content lock, then the machines' rows.
		tseq, err := tenantSeq(ctx, tx, tenantID, true)
		if err != nil {
			return false, err
		}
		if err := lockContent(ctx, tx, tseq, false); err != nil {
			return false, err
		}
		byID := map[string]openatp.Machine{}
		var s machineScanner
		for _, id := range sorted {
			m, err := s.scan(tx.QueryRow(ctx, "SELECT "+sqlstore.MachineColumns+" FROM machines m WHERE m.tenant_seq = $1 AND m.id = $2 FOR UPDATE", tseq, id))
			if errors.Is(err, pgx.ErrNoRows) {
				return false, sqlstore.MachineNotFound(id)
			}
			if err != nil {
				return false, storeError(err, "cannot read the machine")
			}
			byID[id] = m
		}
		cols := &machineCols{}
		var log sqlstore.ChangeLog
		for _, id := range ids {
			m, err := byID[id].Changed(f)
			if err != nil {
				return false, err
			}
			byID[id] = m
			out = append(out, m)
			log.Machine(id)
		}
		for _, id := range sorted {
			m := byID[id]
			if err := cols.add(&m); err != nil {
				return false, storeError(err, "cannot encode the machine")
			}
			if cols.history, err = sqlstore.AppendIPs(cols.history, &m, db.now()); err != nil {
				return false, err
			}
		}
		if err := writeMachines(ctx, tx, tseq, cols); err != nil {
			return false, err
		}
		return true, bumpContent(ctx, tx, tseq, &log)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
