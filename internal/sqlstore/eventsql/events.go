package eventsql

import (
	"cmp"
	"context"
	"net/netip"
	"slices"
	"strconv"
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
	// values returns the looked-up values of an event's fields.
	values func(fields []any) []string
	// packed reports whether field i of an event is in rest: not the
	// identity nor a looked-up value.
	packed func(i int) bool
}

var (
	fileKind = &eventKind{what: "file event", table: "file_events", dict: "event_files", key: "file_id",
		dictCols: []string{"sha1", "sha256", "md5"},
		values: func(f []any) []string {
			return []string{*f[6].(*string), *f[7].(*string), *f[8].(*string)}
		},
		packed: func(i int) bool { return i != 0 && i != 1 && i != 6 && i != 7 && i != 8 && i != 24 }}
	networkKind = &eventKind{what: "network event", table: "network_events", dict: "event_remotes", key: "remote_id",
		dictCols: []string{"remote_ip", "remote_domain"},
		values: func(f []any) []string {
			return []string{*f[4].(*string), observable.Host(*f[6].(*string))}
		},
		packed: func(i int) bool { return i != 0 && i != 1 && i != 4 && i != 21 }}
)

// skip is the complement of packed, as packRest takes it.
func (k *eventKind) skip(i int) bool { return !k.packed(i) }

// eventRows is the number of events per INSERT (5 arguments each).
const eventRows = 500

// AddFileEvents records file events in one transaction of the tenant:
// each is normalized (again), its machine must be the tenant's, and an
// event whose (device_id, ts, report_id) is stored is skipped (ON
// CONFLICT DO NOTHING).
func (s Events) AddFileEvents(ctx context.Context, tenantID string, es []openatp.FileEvent) error {
	return addEvents(ctx, s, tenantID, fileKind, es, true)
}

// AddNetworkEvents records network events as AddFileEvents does, with
// the host of each RemoteUrl (observable.Host) as its remote domain.
func (s Events) AddNetworkEvents(ctx context.Context, tenantID string, es []openatp.NetworkEvent) error {
	return addEvents(ctx, s, tenantID, networkKind, es, true)
}

// AddNormalizedFileEvents is AddFileEvents for events the caller has
// normalized (FileEvent.Normalize), as an import's reader does: they are
// not normalized again.
func (s Events) AddNormalizedFileEvents(ctx context.Context, tenantID string, es []openatp.FileEvent) error {
	return addEvents(ctx, s, tenantID, fileKind, es, false)
}

// AddNormalizedNetworkEvents is AddNetworkEvents for normalized events.
func (s Events) AddNormalizedNetworkEvents(ctx context.Context, tenantID string, es []openatp.NetworkEvent) error {
	return addEvents(ctx, s, tenantID, networkKind, es, false)
}

// event is a pointer to an event type (FileEvent or NetworkEvent).
type event[T any] interface {
	*T
	Normalize() error
	Fields() []any
}

// addEvents takes the fields of a copy of each event (the caller's
// events are not changed), normalized first if normalize, and writes
// them (Writer.addEvents).
func addEvents[T any, P event[T]](ctx context.Context, s Events, tenantID string, k *eventKind, es []T, normalize bool) error {
	fields := make([][]any, len(es))
	for i := range es {
		e := P(new(T))
		*e = es[i]
		if normalize {
			if err := e.Normalize(); err != nil {
				return sqlstore.InvalidItem(k.what, i, err)
			}
		}
		fields[i] = e.Fields()
	}
	return s.addEvents(ctx, tenantID, k, fields)
}

// eventRow is an event as its table's row.
type eventRow struct {
	ts     int64
	device string
	report int64
	values string // the looked-up values, joined by "\x00"
	rest   []byte
}

// addEvents checks that the tenant has the machine of every event, gives
// an event without a DeviceName its machine's computerDnsName, stores
// the looked-up values the tenant does not have yet, and inserts the
// rows in the order of their primary key, eventRows a statement.
func (s Events) addEvents(ctx context.Context, tenantID string, k *eventKind, evs [][]any) error {
	rows := make([]eventRow, len(evs))
	for i, f := range evs {
		n, err := sqlstore.Nanos("Timestamp", *f[0].(*time.Time))
		if err != nil {
			return sqlstore.InvalidItem(k.what, i, err)
		}
		rows[i] = eventRow{ts: n, device: *f[1].(*string), report: *f[len(f)-1].(*int64), values: strings.Join(k.values(f), "\x00")}
	}
	return s.w.TenantTx(ctx, tenantID, func(x sqlstore.Execer, seq int64) error {
		if len(rows) == 0 {
			return nil
		}
		names, err := eventMachines(ctx, x, seq, evs, rows)
		if err != nil {
			return err
		}
		for i, f := range evs {
			name, ok := names[rows[i].device]
			if !ok {
				return sqlstore.InvalidItem(k.what, i, openatp.InvalidField("DeviceId", "the tenant has no machine %s", sqlstore.Quote(rows[i].device)))
			}
			if dn := f[2].(*string); *dn == "" { // DeviceName: the machine's name when the event has none
				*dn = name
			}
			rows[i].rest = packRest(nil, f, k.skip)
		}
		dict, err := eventValues(ctx, x, seq, k, rows)
		if err != nil {
			return err
		}
		// In the order of the primary key (a copy: rows[i] is evs[i]'s
		// should the engine run this function again).
		rows := slices.Clone(rows)
		slices.SortFunc(rows, func(a, b eventRow) int {
			return cmp.Or(cmp.Compare(a.ts, b.ts), strings.Compare(a.device, b.device), cmp.Compare(a.report, b.report))
		})
		row := "(" + strconv.FormatInt(seq, 10) + ", ?, ?, ?, ?, ?)"
		head := "INSERT INTO " + k.table + " (tenant_seq, ts, device_id, report_id, " + k.key + ", rest) VALUES "
		tail := " ON CONFLICT (tenant_seq, ts, device_id, report_id) DO NOTHING"
		full := head + row + strings.Repeat(", "+row, eventRows-1) + tail
		args := make([]any, 0, 5*eventRows)
		for start := 0; start < len(rows); start += eventRows {
			part := rows[start:min(start+eventRows, len(rows))]
			args = args[:0]
			for i := range part {
				r := &part[i]
				args = append(args, r.ts, r.device, r.report, dict[r.values], r.rest)
			}
			q := full
			if len(part) < eventRows {
				q = head + row + strings.Repeat(", "+row, len(part)-1) + tail
			}
			if _, err := sqlstore.Exec(ctx, x, "cannot store the "+k.what+"s", q, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// eventMachines returns the computerDnsName ("" if none) of the
// machines of rows that the tenant has, by id: the names of the machines
// of events without a DeviceName; of the others, a count tells that all
// exist (one row a chunk, not one a machine), else their ids are read.
func eventMachines(ctx context.Context, x sqlstore.Execer, seq int64, evs [][]any, rows []eventRow) (map[string]string, error) {
	names := map[string]string{}
	var named, unnamed []string
	for i, f := range evs {
		if *f[2].(*string) == "" {
			unnamed = append(unnamed, rows[i].device)
		} else {
			named = append(named, rows[i].device)
		}
	}
	read := func(list string, args []any) error {
		return sqlstore.Each(ctx, x, "cannot read the machines", func(s sqlstore.Scanner) ([2]string, error) {
			var id string
			var name *string
			err := s.Scan(&id, &name)
			if name == nil {
				return [2]string{id, ""}, err
			}
			return [2]string{id, *name}, err
		}, func(m [2]string) error { names[m[0]] = m[1]; return nil },
			"SELECT id, computer_dns_name FROM machines WHERE tenant_seq = ? AND id IN "+list, append([]any{seq}, args...)...)
	}
	if err := sqlstore.InChunks(unnamed, read); err != nil {
		return nil, err
	}
	err := sqlstore.InChunks(named, func(list string, args []any) error {
		n, err := sqlstore.Get(ctx, x, "cannot read the machines", nil, sqlstore.ScanInt64,
			"SELECT count(*) FROM machines WHERE tenant_seq = ? AND id IN "+list, append([]any{seq}, args...)...)
		if err != nil || int(n) < len(args) {
			return cmp.Or(err, read(list, args))
		}
		for _, id := range args {
			if _, ok := names[id.(string)]; !ok {
				names[id.(string)] = "" // not read: its events have a DeviceName
			}
		}
		return nil
	})
	return names, err
}

// dictJoin is the join condition of VALUES v on the dictionary d.
func dictJoin(cols []string) string {
	on := make([]string, len(cols))
	for i, c := range cols {
		on[i] = "d." + c + " = v.column" + strconv.Itoa(i+1)
	}
	return strings.Join(on, " AND ")
}

// dictRows is the number of looked-up values per statement.
const dictRows = 200

// eventValues stores the looked-up values of rows that the tenant does
// not have, and returns the id of each (by eventRow.values).
func eventValues(ctx context.Context, x sqlstore.Execer, seq int64, k *eventKind, rows []eventRow) (map[string]int64, error) {
	ids := map[string]int64{}
	var distinct []string
	for i := range rows {
		if _, ok := ids[rows[i].values]; !ok {
			ids[rows[i].values] = 0
			distinct = append(distinct, rows[i].values)
		}
	}
	slices.Sort(distinct)
	cols := strings.Join(k.dictCols, ", ")
	tuple := "(?" + strings.Repeat(", ?", len(k.dictCols)-1) + ")"
	for part := range slices.Chunk(distinct, dictRows) {
		var args []any
		for _, v := range part {
			for _, s := range strings.Split(v, "\x00") {
				args = append(args, s)
			}
		}
		list := tuple + strings.Repeat(", "+tuple, len(part)-1)
		ins := "INSERT INTO " + k.dict + " (tenant_seq, " + cols + ") VALUES " + strings.ReplaceAll(list, "(?", "("+strconv.FormatInt(seq, 10)+", ?") +
			" ON CONFLICT (tenant_seq, " + cols + ") DO NOTHING"
		if _, err := sqlstore.Exec(ctx, x, "cannot store the "+k.what+"s", ins, args...); err != nil {
			return nil, err
		}
		err := sqlstore.Each(ctx, x, "cannot store the "+k.what+"s", func(s sqlstore.Scanner) (string, error) {
			vals := make([]string, len(k.dictCols))
			dest := []any{new(int64)}
			for i := range vals {
				dest = append(dest, &vals[i])
			}
			if err := s.Scan(dest...); err != nil {
				return "", err
			}
			key := strings.Join(vals, "\x00")
			ids[key] = *dest[0].(*int64)
			return key, nil
		}, func(string) error { return nil },
			"SELECT d.id, d."+strings.Join(k.dictCols, ", d.")+" FROM (VALUES "+list+") v JOIN "+k.dict+" d ON d.tenant_seq = "+strconv.FormatInt(seq, 10)+
				" AND "+dictJoin(k.dictCols), args...)
		if err != nil {
			return nil, err
		}
	}
	return ids, nil
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
