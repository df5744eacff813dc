package sqlstore

// The retention of observed events: the file and network events
// (written by package eventsql), the logon events and the IP history
// older than a time are deleted.

import (
	"context"
	"time"
)

// deleteChunk is the number of rows DeleteEventsBefore deletes per
// transaction: a backlog (the first sweep over a large store) is deleted
// in many short writes, each within the engine's bound on a small write,
// rather than one that holds the writer for long.
const deleteChunk = 10000

// DeleteEventsBefore deletes, in every tenant, the events (file, network
// and logon events) and the IP history rows older than t, the oldest
// first, deleteChunk rows a transaction (file and network events by
// primary key, time first in each tenant; the IP history through its time
// index; the logon events tenant by tenant, deleteLogonEventsBefore), then
// the looked-up values no file or network event names any more.
func (w Writer) DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error) {
	cut := ClampNanos(t)
	var tenants []int64
	err := w.e.Tx(ctx, func(x Execer) (bool, error) {
		var err error
		tenants, err = List(ctx, x, "cannot read the tenants", ScanInt64, "SELECT seq FROM tenants ORDER BY seq")
		return false, err
	})
	if err != nil {
		return 0, err
	}
	type del struct {
		q    string
		args []any
	}
	var dels []del
	for _, seq := range tenants {
		for _, table := range []string{"file_events", "network_events"} {
			dels = append(dels, del{"DELETE FROM " + table + " WHERE (tenant_seq, ts, device_id, report_id) IN (SELECT tenant_seq, ts, device_id, report_id FROM " +
				table + " WHERE tenant_seq = ? AND ts < ? ORDER BY ts LIMIT ?)", []any{seq, cut, deleteChunk}})
		}
	}
	dels = append(dels, del{"DELETE FROM machine_ips WHERE (tenant_seq, ip, seen, machine_id) IN (SELECT tenant_seq, ip, seen, machine_id FROM machine_ips WHERE seen < ? ORDER BY seen LIMIT ?)", []any{cut, deleteChunk}})
	var total int64
	for _, d := range dels {
		for {
			var n int64
			err := w.e.Tx(ctx, func(x Execer) (bool, error) {
				var err error
				n, err = Exec(ctx, x, "cannot delete expired events", d.q, d.args...)
				return n > 0, err
			})
			if err != nil {
				return total, err
			}
			if total += n; n < deleteChunk {
				break
			}
		}
	}
	logons, err := w.deleteLogonEventsBefore(ctx, cut)
	if err != nil {
		return total + logons, err
	}
	if total == 0 {
		return logons, nil
	}
	err = w.e.Tx(ctx, func(x Execer) (bool, error) {
		for _, k := range [][3]string{{"event_files", "file_events", "file_id"}, {"event_remotes", "network_events", "remote_id"}} {
			dict, table, key := k[0], k[1], k[2]
			if _, err := Exec(ctx, x, "cannot delete expired events", "DELETE FROM "+dict+" WHERE NOT EXISTS (SELECT 1 FROM "+table+
				" e WHERE e.tenant_seq = "+dict+".tenant_seq AND e."+key+" = "+dict+".id)"); err != nil {
				return false, err
			}
		}
		return true, nil
	})
	return total + logons, err
}
