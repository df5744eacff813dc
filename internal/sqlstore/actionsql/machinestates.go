package actionsql

import (
	"context"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// The machine states (openatp.MachineState): a row of machine_states per
// machine that a succeeded action changed, written by UpdateMachineAction
// in the transaction that makes the action Succeeded, with the same SQL in
// both engines. Booleans are 0 or 1.

const stateColumns = "isolated, isolation_type, restricted, offboarded, last_action_id, updated"

// scanState reads a row of stateColumns into a state.
func scanState(s sqlstore.Scanner) (openatp.MachineState, error) {
	var st openatp.MachineState
	var isolated, restricted, offboarded int64
	var last string
	var updated int64
	if err := s.Scan(&isolated, &st.IsolationType, &restricted, &offboarded, &last, &updated); err != nil {
		return st, err
	}
	st.Isolated, st.Restricted, st.Offboarded = isolated != 0, restricted != 0, offboarded != 0
	st.LastActionID, st.Updated = &last, openatp.Ptr(sqlstore.FromNanos(updated))
	return st, nil
}

// applyActionEffect writes the effect of action b, which this write makes
// Succeeded at stamp, on its machine's state (tenant seq).
func applyActionEffect(ctx context.Context, x sqlstore.Execer, seq int64, b *openatp.MachineAction, stamp time.Time) error {
	st, err := sqlstore.Get(ctx, x, "cannot read the machine's state", func() error { return errNoState }, scanState,
		"SELECT "+stateColumns+" FROM machine_states WHERE tenant_seq = ? AND machine_id = ?", seq, b.MachineID)
	if err != nil && err != errNoState {
		return err
	}
	if !st.Apply(b, stamp) {
		return nil
	}
	n, err := sqlstore.Nanos("lastUpdateDateTimeUtc", stamp)
	if err != nil {
		return err
	}
	bit := func(v bool) int64 {
		if v {
			return 1
		}
		return 0
	}
	_, err = sqlstore.Exec(ctx, x, "cannot store the machine's state", `INSERT INTO machine_states (tenant_seq, machine_id, `+stateColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_seq, machine_id) DO UPDATE SET isolated = excluded.isolated, isolation_type = excluded.isolation_type,
		restricted = excluded.restricted, offboarded = excluded.offboarded, last_action_id = excluded.last_action_id, updated = excluded.updated`,
		seq, b.MachineID, bit(st.Isolated), st.IsolationType, bit(st.Restricted), bit(st.Offboarded), b.ID, n)
	return err
}

// errNoState is what reading a machine without a state row answers.
var errNoState = openatp.Errorf(openatp.NotFound, "no machine state")

// MachineState returns what the tenant's succeeded actions did to a
// machine (see openatp.MachineActionStore). NotFound (ResourceNotFound) if
// the tenant has no machine of that id.
func (d Store) MachineState(ctx context.Context, tenantID, machineID string) (openatp.MachineState, error) {
	machineID = strings.ToLower(machineID)
	seq, err := sqlstore.TenantSeq(ctx, d.q, tenantID)
	if err != nil {
		return openatp.MachineState{}, err
	}
	if _, err := sqlstore.Get(ctx, d.q, "cannot read the machine", func() error { return sqlstore.MachineNotFound(machineID) }, sqlstore.ScanInt64,
		"SELECT 1 FROM machines WHERE tenant_seq = ? AND id = ?", seq, machineID); err != nil {
		return openatp.MachineState{}, err
	}
	st, err := sqlstore.Get(ctx, d.q, "cannot read the machine's state", func() error { return errNoState }, scanState,
		"SELECT "+stateColumns+" FROM machine_states WHERE tenant_seq = ? AND machine_id = ?", seq, machineID)
	if err == errNoState {
		err = nil
	}
	st.MachineID = machineID
	return st, err
}
