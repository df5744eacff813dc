package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/observable"
)

// The observed events (openatp.EventStore) are written and read with the
// same SQL in both engines: tables file_events and network_events, whose
// columns are the events' (openatp.FileEventColumns, NetworkEventColumns)
// in snake case, in the same order, after tenant_seq.

// The columns of the event tables, in the order of the events' Fields.
var (
	fileEventCols = []string{"ts", "device_id", "device_name", "action_type", "file_name", "folder_path", "sha1", "sha256", "md5",
		"file_size", "signer", "previous_file_name", "previous_folder_path", "file_origin_url", "file_origin_ip",
		"initiating_process_account_domain", "initiating_process_account_name", "initiating_process_file_name",
		"initiating_process_folder_path", "initiating_process_sha1", "initiating_process_sha256", "initiating_process_md5",
		"initiating_process_command_line", "initiating_process_id", "report_id"}
	networkEventCols = []string{"ts", "device_id", "device_name", "action_type", "remote_ip", "remote_port", "remote_url",
		"local_ip", "local_port", "protocol", "local_ip_type", "remote_ip_type",
		"initiating_process_account_domain", "initiating_process_account_name", "initiating_process_file_name",
		"initiating_process_folder_path", "initiating_process_sha1", "initiating_process_sha256", "initiating_process_md5",
		"initiating_process_command_line", "initiating_process_id", "report_id"}
)

// eventRows is the number of events per INSERT: 26 columns a row stay
// well under either engine's bound on the arguments of a statement.
const eventRows = 200

// AddFileEvents records file events in one transaction of the tenant:
// each is normalized (again), its machine must be the tenant's, and an
// event whose (device_id, ts, report_id) is stored is skipped (ON
// CONFLICT DO NOTHING).
func (w Writer) AddFileEvents(ctx context.Context, tenantID string, es []openatp.FileEvent) error {
	rows := make([][]any, len(es))
	for i := range es {
		e := es[i]
		if err := e.Normalize(); err != nil {
			return InvalidItem("file event", i, err)
		}
		row, err := eventRow(e.Fields())
		if err != nil {
			return InvalidItem("file event", i, err)
		}
		rows[i] = row
	}
	return w.addEvents(ctx, tenantID, "file event", "file_events", fileEventCols, rows)
}

// AddNetworkEvents records network events as AddFileEvents does, with
// the host of each RemoteUrl (observable.Host) in remote_domain.
func (w Writer) AddNetworkEvents(ctx context.Context, tenantID string, es []openatp.NetworkEvent) error {
	rows := make([][]any, len(es))
	for i := range es {
		e := es[i]
		if err := e.Normalize(); err != nil {
			return InvalidItem("network event", i, err)
		}
		row, err := eventRow(e.Fields())
		if err != nil {
			return InvalidItem("network event", i, err)
		}
		rows[i] = append(row, observable.Host(e.RemoteUrl))
	}
	return w.addEvents(ctx, tenantID, "network event", "network_events", append(networkEventCols[:len(networkEventCols):len(networkEventCols)], "remote_domain"), rows)
}

// eventRow returns the column values of an event's fields: times in
// nanoseconds, absent longs nil.
func eventRow(fields []any) ([]any, error) {
	row := make([]any, len(fields))
	for i, f := range fields {
		switch v := f.(type) {
		case *time.Time:
			n, err := Nanos("Timestamp", *v)
			if err != nil {
				return nil, err
			}
			row[i] = n
		case *string:
			row[i] = *v
		case **int64:
			if *v != nil {
				row[i] = **v
			}
		case *int64:
			row[i] = *v
		}
	}
	return row, nil
}

// addEvents checks that the tenant has the machine of every row (the
// second column), gives a row without a DeviceName (the third) its
// machine's computerDnsName, and inserts the rows, eventRows a statement.
func (w Writer) addEvents(ctx context.Context, tenantID, what, table string, cols []string, rows [][]any) error {
	return w.TenantTx(ctx, tenantID, func(x Execer, seq int64) error {
		if len(rows) == 0 {
			return nil
		}
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = r[1].(string)
		}
		names := map[string]string{} // machine id → computerDnsName ("" if none)
		err := InChunks(ids, func(list string, args []any) error {
			return Each(ctx, x, "cannot read the machines", func(s Scanner) ([2]string, error) {
				var id string
				var name *string
				err := s.Scan(&id, &name)
				if name == nil {
					return [2]string{id, ""}, err
				}
				return [2]string{id, *name}, err
			}, func(m [2]string) error { names[m[0]] = m[1]; return nil },
				"SELECT id, computer_dns_name FROM machines WHERE tenant_seq = ? AND id IN "+list, append([]any{seq}, args...)...)
		})
		if err != nil {
			return err
		}
		for i, id := range ids {
			name, ok := names[id]
			if !ok {
				return InvalidItem(what, i, openatp.InvalidField("DeviceId", "the tenant has no machine %s", Quote(id)))
			}
			if rows[i][2] == "" { // DeviceName: the machine's name when the event has none
				rows[i][2] = name
			}
		}
		row := "(?" + strings.Repeat(", ?", len(cols)) + ")"
		head := "INSERT INTO " + table + " (tenant_seq, " + strings.Join(cols, ", ") + ") VALUES "
		for start := 0; start < len(rows); start += eventRows {
			part := rows[start:min(start+eventRows, len(rows))]
			args := make([]any, 0, len(part)*(len(cols)+1))
			for _, r := range part {
				args = append(append(args, seq), r...)
			}
			q := head + row + strings.Repeat(", "+row, len(part)-1) + " ON CONFLICT (tenant_seq, device_id, ts, report_id) DO NOTHING"
			if _, err := Exec(ctx, x, "cannot store the "+what+"s", q, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// FileEvents reads the tenant's file events that match f.
func (r Reader) FileEvents(ctx context.Context, tenantID string, f openatp.EventFilter) ([]openatp.FileEvent, error) {
	if f.RemoteIP != "" || f.Domain != "" {
		return nil, openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "file events are not looked up by remote IP or domain")
	}
	var where []string
	var args []any
	if f.Hash != "" {
		col := map[int]string{40: "sha1", 64: "sha256", 32: "md5"}[len(f.Hash)]
		if col == "" {
			return nil, openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "hash %s is not a SHA-1, SHA-256 or MD5", Quote(f.Hash))
		}
		where, args = append(where, col+" = ?"), append(args, strings.ToLower(f.Hash))
	}
	return readEvents(ctx, r.q, tenantID, "file_events", fileEventCols, f, where, args, func(s Scanner) (openatp.FileEvent, error) {
		var e openatp.FileEvent
		return e, scanEvent(s, e.Fields())
	})
}

// NetworkEvents reads the tenant's network events that match f.
func (r Reader) NetworkEvents(ctx context.Context, tenantID string, f openatp.EventFilter) ([]openatp.NetworkEvent, error) {
	if f.Hash != "" {
		return nil, openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "network events are not looked up by file hash")
	}
	var where []string
	var args []any
	if f.RemoteIP != "" {
		ip := f.RemoteIP
		if k, ok := ipKey(ip); ok {
			ip = k
		}
		where, args = append(where, "remote_ip = ?"), append(args, ip)
	}
	if f.Domain != "" {
		where, args = append(where, "remote_domain = ?"), append(args, strings.TrimSuffix(strings.ToLower(f.Domain), "."))
	}
	return readEvents(ctx, r.q, tenantID, "network_events", networkEventCols, f, where, args, func(s Scanner) (openatp.NetworkEvent, error) {
		var e openatp.NetworkEvent
		return e, scanEvent(s, e.Fields())
	})
}

// readEvents lists the rows of table of the tenant that match where and
// the machine, time and limit of f.
func readEvents[T any](ctx context.Context, q Querier, tenantID, table string, cols []string, f openatp.EventFilter, where []string, args []any, scan func(Scanner) (T, error)) ([]T, error) {
	seq, err := TenantSeq(ctx, q, tenantID)
	if err != nil {
		return nil, err
	}
	where, args = append([]string{"tenant_seq = ?"}, where...), append([]any{seq}, args...)
	if f.MachineID != "" {
		where, args = append(where, "device_id = ?"), append(args, strings.ToLower(f.MachineID))
	}
	if !f.From.IsZero() {
		where, args = append(where, "ts >= ?"), append(args, ClampNanos(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "ts < ?"), append(args, ClampNanos(f.To))
	}
	query := "SELECT " + strings.Join(cols, ", ") + " FROM " + table + " WHERE " + strings.Join(where, " AND ") + " ORDER BY ts, device_id, report_id"
	if f.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, f.Limit)
	}
	return List(ctx, q, "cannot read the events", scan, query, args...)
}

// scanEvent reads a row of an event table's columns into fields.
func scanEvent(s Scanner, fields []any) error {
	dest := make([]any, len(fields))
	var ts int64
	for i, f := range fields {
		if _, ok := f.(*time.Time); ok {
			dest[i] = &ts
		} else {
			dest[i] = f
		}
	}
	if err := s.Scan(dest...); err != nil {
		return err
	}
	for _, f := range fields {
		if t, ok := f.(*time.Time); ok {
			*t = FromNanos(ts)
		}
	}
	return nil
}

// deleteChunk is the number of rows DeleteEventsBefore deletes per
// transaction: a backlog (the first sweep over a large store) is deleted
// in many short writes, each within the engine's bound on a small write,
// rather than one that holds the writer for long.
const deleteChunk = 10000

// DeleteEventsBefore deletes, in every tenant, the events (file, network
// and logon events) and the IP history rows older than t, the oldest
// first, deleteChunk rows a transaction (by primary key, through the time
// indexes; the logon events tenant by tenant, deleteLogonEventsBefore).
func (w Writer) DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error) {
	cut := ClampNanos(t)
	var total int64
	for _, q := range []string{
		"DELETE FROM file_events WHERE (tenant_seq, device_id, ts, report_id) IN (SELECT tenant_seq, device_id, ts, report_id FROM file_events WHERE ts < ? ORDER BY ts LIMIT ?)",
		"DELETE FROM network_events WHERE (tenant_seq, device_id, ts, report_id) IN (SELECT tenant_seq, device_id, ts, report_id FROM network_events WHERE ts < ? ORDER BY ts LIMIT ?)",
		"DELETE FROM machine_ips WHERE (tenant_seq, ip, seen, machine_id) IN (SELECT tenant_seq, ip, seen, machine_id FROM machine_ips WHERE seen < ? ORDER BY seen LIMIT ?)",
	} {
		for {
			var n int64
			err := w.e.Tx(ctx, func(x Execer) (bool, error) {
				var err error
				n, err = Exec(ctx, x, "cannot delete expired events", q, cut, deleteChunk)
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
	n, err := w.deleteLogonEventsBefore(ctx, cut)
	return total + n, err
}
