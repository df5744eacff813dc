package eventsql

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
	"github.com/openatp/openatp/observable"
	"github.com/openatp/openatp/sightings"
)

// The observed events (openatp.EventStore but DeleteEventsBefore, which
// sqlstore.Writer has) are written and read with the same SQL in both
// engines (migrations sqlite 0015, postgres 0014): a row
// of file_events or network_events holds an event's identity (ts,
// device_id, report_id), the id of its looked-up values in event_files
// (SHA-1, SHA-256, MD5) or event_remotes (remote IP, the host of the
// remote URL), and its other columns packed in rest (pack.go).

// eventKind describes the table of a kind of event.
type eventKind struct {
	what, table string
	// dict is the table of the looked-up values, dictCols its value
	// columns, key the events' column naming a row of it.
	dict, key string
	dictCols  []string
	// values returns the looked-up values of an event's fields (as many
	// as dictCols, the others "").
	values func(fields []any) [3]string
	// packed reports whether field i of an event is in rest: not the
	// identity nor a looked-up value.
	packed func(i int) bool
	// skip is the complement of packed, by field (packRest's).
	skip []bool
}

var (
	fileKind = &eventKind{what: "file event", table: "file_events", dict: "event_files", key: "file_id",
		dictCols: []string{"sha1", "sha256", "md5"},
		values: func(f []any) [3]string {
			return [3]string{*f[6].(*string), *f[7].(*string), *f[8].(*string)}
		},
		packed: func(i int) bool { return i != 0 && i != 1 && i != 6 && i != 7 && i != 8 && i != 24 }}
	networkKind = &eventKind{what: "network event", table: "network_events", dict: "event_remotes", key: "remote_id",
		dictCols: []string{"remote_ip", "remote_domain"},
		values: func(f []any) [3]string {
			return [3]string{*f[4].(*string), observable.Host(*f[6].(*string))}
		},
		packed: func(i int) bool { return i != 0 && i != 1 && i != 4 && i != 21 }}
)

func init() {
	for _, k := range []*eventKind{fileKind, networkKind} {
		k.skip = make([]bool, 32)
		for i := range k.skip {
			k.skip[i] = !k.packed(i)
		}
	}
}

// eventWhere returns the conditions and arguments of f over the events
// of k (aliased e) of the tenant seq.
func eventWhere(k *eventKind, seq int64, f openatp.EventFilter) (string, []any, error) {
	where, args := []string{"e.tenant_seq = ?"}, []any{seq}
	var dict []string
	if k == fileKind {
		if f.RemoteIP != "" || f.Domain != "" {
			return "", nil, openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "file events are not looked up by remote IP or domain")
		}
		if f.Hash != "" {
			col := map[int]string{40: "sha1", 64: "sha256", 32: "md5"}[len(f.Hash)]
			if col == "" {
				return "", nil, openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "hash %s is not a SHA-1, SHA-256 or MD5", sqlstore.Quote(f.Hash))
			}
			dict, args = append(dict, col+" = ?"), append(args, strings.ToLower(f.Hash))
		}
	} else {
		if f.Hash != "" {
			return "", nil, openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "network events are not looked up by file hash")
		}
		if f.RemoteIP != "" {
			ip := f.RemoteIP
			if a, err := netip.ParseAddr(ip); err == nil {
				ip = openatp.IPKey(a)
			}
			dict, args = append(dict, "remote_ip = ?"), append(args, ip)
		}
		if f.Domain != "" {
			dict, args = append(dict, "remote_domain = ?"), append(args, strings.TrimSuffix(strings.ToLower(f.Domain), "."))
		}
	}
	if len(dict) > 0 {
		where = append(where, "e."+k.key+" IN (SELECT id FROM "+k.dict+" WHERE tenant_seq = ? AND "+strings.Join(dict, " AND ")+")")
		args = append(args[:1], append([]any{seq}, args[1:]...)...)
	}
	if f.MachineID != "" {
		where, args = append(where, "e.device_id = ?"), append(args, strings.ToLower(f.MachineID))
	}
	if !f.From.IsZero() {
		where, args = append(where, "e.ts >= ?"), append(args, sqlstore.ClampNanos(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "e.ts < ?"), append(args, sqlstore.ClampNanos(f.To))
	}
	return strings.Join(where, " AND "), args, nil
}

// FileEvents reads the tenant's file events that match f.
func (s Events) FileEvents(ctx context.Context, tenantID string, f openatp.EventFilter) ([]openatp.FileEvent, error) {
	return readEvents(ctx, s.q, tenantID, fileKind, f, func(e *openatp.FileEvent) []any { return e.Fields() })
}

// NetworkEvents reads the tenant's network events that match f.
func (s Events) NetworkEvents(ctx context.Context, tenantID string, f openatp.EventFilter) ([]openatp.NetworkEvent, error) {
	return readEvents(ctx, s.q, tenantID, networkKind, f, func(e *openatp.NetworkEvent) []any { return e.Fields() })
}

// readEvents lists the events of kind k of the tenant that match f, in
// the order of the primary key.
func readEvents[T any](ctx context.Context, q sqlstore.Querier, tenantID string, k *eventKind, f openatp.EventFilter, fields func(*T) []any) ([]T, error) {
	seq, err := sqlstore.TenantSeq(ctx, q, tenantID)
	if err != nil {
		return nil, err
	}
	where, args, err := eventWhere(k, seq, f)
	if err != nil {
		return nil, err
	}
	if len(args) > 1 && strings.Contains(where, " IN (SELECT id FROM ") {
		// By value: the keys from the value's index (which holds them),
		// then the rows by primary key. Asked for the rows at once,
		// SQLite reads the primary key, the whole of the tenant's events,
		// rather than the index and then each row.
		where = "(e.tenant_seq, e.ts, e.device_id, e.report_id) IN (SELECT e.tenant_seq, e.ts, e.device_id, e.report_id FROM " + k.table + " e WHERE " + where + ")"
	}
	query := "SELECT e.ts, e.device_id, e.report_id, d." + strings.Join(k.dictCols, ", d.") + ", e.rest FROM " + k.table + " e JOIN " + k.dict +
		" d ON d.id = e." + k.key + " WHERE " + where +
		" ORDER BY e.ts + 0, e.device_id, e.report_id" // + 0: SQLite would read the primary key in order rather than the value's index
	if f.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, f.Limit)
	}
	return sqlstore.List(ctx, q, "cannot read the events", func(s sqlstore.Scanner) (T, error) {
		var e T
		fs := fields(&e)
		var ts int64
		var rest []byte
		dest := []any{&ts, fs[1], fs[len(fs)-1]}
		for i := range fs { // the looked-up values, in the order of dictCols
			if !k.packed(i) && i != 0 && i != 1 && i != len(fs)-1 {
				dest = append(dest, fs[i])
			}
		}
		if len(dest) < 3+len(k.dictCols) { // network: remote_domain is not a field
			dest = append(dest, new(string))
		}
		if err := s.Scan(append(dest, &rest)...); err != nil {
			return e, err
		}
		*fs[0].(*time.Time) = sqlstore.FromNanos(ts)
		return e, unpackRest(rest, fs, k.skip)
	}, query, args...)
}

// FileSightings returns, for each machine with file events that match f
// (Hash, From, To), its first and last event and their number, by
// machine id (sightings.Store).
func (s Events) FileSightings(ctx context.Context, tenantID string, f openatp.EventFilter) ([]sightings.Sighting, error) {
	return readSightings(ctx, s.q, tenantID, fileKind, f)
}

// NetworkSightings returns the sightings of the network events that match
// f (RemoteIP, Domain, From, To), as FileSightings does.
func (s Events) NetworkSightings(ctx context.Context, tenantID string, f openatp.EventFilter) ([]sightings.Sighting, error) {
	return readSightings(ctx, s.q, tenantID, networkKind, f)
}

// readSightings groups the events of a value by machine, reading the
// value's index only (it holds the primary key's columns).
func readSightings(ctx context.Context, q sqlstore.Querier, tenantID string, k *eventKind, f openatp.EventFilter) ([]sightings.Sighting, error) {
	if f.MachineID != "" || f.Limit != 0 {
		return nil, openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "sightings are not read by machine or with a limit")
	}
	seq, err := sqlstore.TenantSeq(ctx, q, tenantID)
	if err != nil {
		return nil, err
	}
	where, args, err := eventWhere(k, seq, f)
	if err != nil {
		return nil, err
	}
	return sqlstore.List(ctx, q, "cannot read the events", func(s sqlstore.Scanner) (sightings.Sighting, error) {
		var sg sightings.Sighting
		var first, last int64
		err := s.Scan(&sg.DeviceId, &first, &last, &sg.Events)
		sg.First, sg.Last = sqlstore.FromNanos(first), sqlstore.FromNanos(last)
		return sg, err
	}, "SELECT e.device_id, min(e.ts), max(e.ts), count(*) FROM "+k.table+" e WHERE "+where+" GROUP BY e.device_id ORDER BY e.device_id", args...)
}
