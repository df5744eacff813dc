package actionsql

import (
	"context"
	"strconv"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// The investigations (openatp.InvestigationStore) are written and read
// with the same SQL in both engines.

// investigationColumns are the columns of investigations read back, in
// the order of scanInvestigation.
const investigationColumns = `i.seq, i.start_time, i.end_time, i.state, i.cancelled_by, i.status_details, i.machine_id,
	i.computer_dns_name, i.triggering_alert_id, i.requestor, i.comment`

// scanInvestigation reads a row of investigationColumns.
func scanInvestigation(s sqlstore.Scanner) (openatp.Investigation, error) {
	var inv openatp.Investigation
	var seq, start int64
	var end *int64
	err := s.Scan(&seq, &start, &end, &inv.State, &inv.CancelledBy, &inv.StatusDetails, &inv.MachineID,
		&inv.ComputerDNSName, &inv.TriggeringAlertID, &inv.Requestor, &inv.Comment)
	inv.ID, inv.StartTime, inv.EndTime = strconv.FormatInt(seq, 10), sqlstore.FromNanos(start), sqlstore.TimeOf(end)
	return inv, err
}

// StartInvestigation stores a new Running investigation, numbered and
// stamped in the tenant's write transaction.
func (d Store) StartInvestigation(ctx context.Context, tenantID string, inv openatp.Investigation) (openatp.Investigation, error) {
	if err := inv.Normalize(); err != nil {
		return inv, err
	}
	inv.StartTime = d.w.Time().UTC().Round(openatp.TimePrecision)
	inv.State, inv.EndTime, inv.CancelledBy, inv.StatusDetails = openatp.InvestigationRunning, nil, nil, nil
	start, err := sqlstore.Nanos("startTime", inv.StartTime)
	if err != nil {
		return inv, err
	}
	err = d.w.TenantTx(ctx, tenantID, func(x sqlstore.Execer, seq int64) error {
		name, err := sqlstore.Get(ctx, x, "cannot read the machine", func() error { return sqlstore.MachineNotFound(inv.MachineID) }, scanNullString,
			"SELECT computer_dns_name FROM machines WHERE tenant_seq = ? AND id = ?", seq, inv.MachineID)
		if err != nil {
			return err
		}
		n, err := sqlstore.Get(ctx, x, "cannot number the investigation", func() error { return openatp.Errorf(openatp.Internal, "no number") }, sqlstore.ScanInt64,
			"SELECT coalesce(max(seq), 0) + 1 FROM investigations WHERE tenant_seq = ?", seq)
		if err != nil {
			return err
		}
		inv.ID, inv.ComputerDNSName = strconv.FormatInt(n, 10), name
		_, err = sqlstore.Exec(ctx, x, "cannot store the investigation", `INSERT INTO investigations (tenant_seq, seq, start_time, state,
			machine_id, computer_dns_name, triggering_alert_id, requestor, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			seq, n, start, inv.State, inv.MachineID, name, inv.TriggeringAlertID, inv.Requestor, inv.Comment)
		return err
	})
	return inv, err
}

// Investigations returns the tenant's investigations by id.
func (d Store) Investigations(ctx context.Context, tenantID string) ([]openatp.Investigation, error) {
	seq, err := sqlstore.TenantSeq(ctx, d.q, tenantID)
	if err != nil {
		return nil, err
	}
	return sqlstore.List(ctx, d.q, "cannot list investigations", scanInvestigation,
		"SELECT "+investigationColumns+" FROM investigations i WHERE i.tenant_seq = ? ORDER BY i.seq", seq)
}

// Investigation returns the investigation of an id, or else the first
// that a triggering alert id names.
func (d Store) Investigation(ctx context.Context, tenantID, id string) (openatp.Investigation, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		n = -1 // no investigation has it: only the alert id can match
	}
	return sqlstore.Get(ctx, d.q, "cannot read the investigation", func() error { return openatp.InvestigationNotFound(id) }, scanInvestigation,
		"SELECT "+investigationColumns+` FROM investigations i JOIN tenants t ON t.seq = i.tenant_seq
		WHERE t.id = ? AND (i.seq = ? OR i.triggering_alert_id = ?) ORDER BY i.seq <> ?, i.seq LIMIT 1`, tenantID, n, id, n)
}
