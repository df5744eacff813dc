package eventsql

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// The import of events: one transaction a batch (all or nothing), in
// which the batch's machines are checked with one query, its looked-up
// values interned with two statements for every dictRows distinct values
// (a batch has few: the same files and hosts recur), and its rows
// inserted in the order of the primary key (so that the table is written
// front to back), in multi-row INSERTs of a fixed set of sizes.

// maxArgs is the most arguments a statement of both engines takes:
// SQLite's limit (SQLITE_MAX_VARIABLE_NUMBER, 32,766; PostgreSQL's is
// 65,535).
const maxArgs = 32766

// rowArgs is the number of arguments of an event's row.
const rowArgs = 5

// maxRows is the most events of an INSERT: the largest power of two
// whose rows fit in maxArgs (4,096). A batch is inserted maxRows rows a
// statement, then the rest in statements of the powers of two it is the
// sum of, so that the statements are a fixed set of texts (each prepared
// once a transaction by SQLite, once a connection by pgx) whatever the
// size of the batch.
const maxRows = 4096

func init() {
	if maxRows*rowArgs > maxArgs || 2*maxRows*rowArgs <= maxArgs {
		panic("eventsql: maxRows is not the largest power of two that fits maxArgs")
	}
}

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

// eventRow is an event as its table's row.
type eventRow struct {
	ts     int64
	device string
	report int64
	values int // the index of its looked-up values in batch.values
	i      int // the event's place in the batch
	// named says that the event has a DeviceName; rest is then its
	// packed columns (packRest): arena[rest[0]:rest[1]].
	named bool
	rest  [2]int
}

// batch is a batch of events made rows before its transaction.
type batch struct {
	k    *eventKind
	rows []eventRow // in the order of the primary key
	// arena holds the packed columns of the rows.
	arena []byte
	// values are the distinct looked-up values of the events
	// (eventKind.values), byFirst the index of each by its first value
	// (one short text hashed an event), byAll by all of them when two
	// share the first.
	values  [][3]string
	byFirst map[string]int
	byAll   map[[3]string]int
	// named and unnamed are the distinct machine ids of the events with
	// and without a DeviceName, sorted; unnamed the fields of the
	// latter, which are packed once their machines' names are read.
	named, unnamed []string
	fields         map[int][]any
	// check is the named events' machine ids not confirmed yet (the
	// store's confirmed), which the transaction checks.
	check []string
}

// addEvents makes rows of the events (normalizing a copy of each first
// if normalize: the caller's events are not changed) and writes them.
func addEvents[T any, P event[T]](ctx context.Context, s Events, tenantID string, k *eventKind, es []T, normalize bool) error {
	b := batches.Get().(*batch)
	defer b.release()
	b.k, b.rows, b.arena = k, slices.Grow(b.rows[:0], len(es))[:len(es)], slices.Grow(b.arena[:0], 256*len(es))
	for i := range es {
		e := P(&es[i])
		if normalize {
			e = P(new(T))
			*e = es[i]
			if err := e.Normalize(); err != nil {
				return sqlstore.InvalidItem(k.what, i, err)
			}
		}
		if err := b.add(i, e.Fields()); err != nil {
			return err
		}
	}
	return s.addBatch(ctx, tenantID, b)
}

// batches holds the batches addEvents made, for their rows' and arena's
// memory (an import writes many batches of one size).
var batches = sync.Pool{New: func() any { return &batch{byFirst: map[string]int{}, byAll: map[[3]string]int{}} }}

// release returns b to batches, emptied (the memory of its rows and
// arena kept; a much larger batch's not).
func (b *batch) release() {
	clear(b.byFirst)
	clear(b.byAll)
	clear(b.rows) // the texts of the caller's events are not kept
	clear(b.named)
	clear(b.unnamed)
	clear(b.values)
	clear(b.check)
	if cap(b.rows) > 1<<17 {
		b.rows, b.arena = nil, nil
	}
	*b = batch{rows: b.rows[:0], arena: b.arena[:0], named: b.named[:0], unnamed: b.unnamed[:0], check: b.check[:0], values: b.values[:0], byFirst: b.byFirst, byAll: b.byAll}
	batches.Put(b)
}

// add makes event i, of fields f, row i of b.
func (b *batch) add(i int, f []any) error {
	n, err := sqlstore.Nanos("Timestamp", *f[0].(*time.Time))
	if err != nil {
		return sqlstore.InvalidItem(b.k.what, i, err)
	}
	r := eventRow{ts: n, device: *f[1].(*string), report: *f[len(f)-1].(*int64), values: b.intern(b.k.values(f)), i: i}
	if *f[2].(*string) == "" { // DeviceName: its machine's, read in the transaction
		if b.fields == nil {
			b.fields = map[int][]any{}
		}
		b.fields[i] = f
		b.unnamed = append(b.unnamed, r.device)
	} else {
		r.named, r.rest[0] = true, len(b.arena)
		b.arena = packRest(b.arena, f, b.k.skip, "")
		r.rest[1] = len(b.arena)
		b.named = append(b.named, r.device)
	}
	b.rows[i] = r
	return nil
}

// intern returns the index of v in b.values, adding it if new.
func (b *batch) intern(v [3]string) int {
	if j, ok := b.byFirst[v[0]]; ok && b.values[j] == v {
		return j
	} else if ok {
		if j, ok := b.byAll[v]; ok {
			return j
		}
		b.byAll[v] = len(b.values)
	} else {
		b.byFirst[v[0]] = len(b.values)
	}
	b.values = append(b.values, v)
	return len(b.values) - 1
}

// addBatch sorts the rows of b and writes them in one transaction of the
// tenant: it checks that the tenant has the machine of every event,
// gives an event without a DeviceName its machine's computerDnsName,
// stores the looked-up values the tenant does not have yet, and inserts
// the rows.
func (s Events) addBatch(ctx context.Context, tenantID string, b *batch) error {
	slices.Sort(b.named)
	b.named = slices.Compact(b.named)
	slices.Sort(b.unnamed)
	b.unnamed = slices.Compact(b.unnamed)
	slices.SortFunc(b.rows, func(x, y eventRow) int {
		if x.ts != y.ts { // most often: the machine is not compared
			return cmp.Compare(x.ts, y.ts)
		}
		return cmp.Or(strings.Compare(x.device, y.device), cmp.Compare(x.report, y.report))
	})
	var seq, gen int64
	err := s.w.TenantTx(ctx, tenantID, func(x sqlstore.Execer, tseq int64) error {
		seq, b.check = tseq, b.check[:0]
		if len(b.rows) == 0 {
			return nil
		}
		var err error
		gen, err = sqlstore.Get(ctx, x, "cannot read the tenant", nil, sqlstore.ScanInt64, "SELECT generation FROM tenants WHERE seq = ?", seq)
		if err != nil {
			return err
		}
		names, err := s.machines(ctx, x, seq, gen, b)
		if err != nil {
			return err
		}
		dict, err := eventValues(ctx, x, seq, b.k, b.values)
		if err != nil {
			return err
		}
		return insertRows(ctx, x, seq, b, names, dict)
	})
	if err == nil && len(b.rows) > 0 { // committed: the machines checked are confirmed
		s.c.add(seq, gen, b.check)
		s.c.add(seq, gen, b.unnamed)
	}
	return err
}

// machines checks that the tenant has the machines of b's events, and
// returns the computerDnsName ("" if none) of those of the events
// without a DeviceName: one query for each kind. InvalidItem naming the
// first event (in the batch's order) whose machine the tenant does not
// have. Of the named events' machines, only those the store has not
// confirmed at the tenant's generation gen are read (b.check).
func (s Events) machines(ctx context.Context, x sqlstore.Execer, seq, gen int64, b *batch) (map[string]string, error) {
	from := " FROM machines m WHERE m.tenant_seq = ? AND m.id IN (" + s.d.Texts + ")"
	names := map[string]string{}
	if len(b.unnamed) > 0 {
		err := sqlstore.Each(ctx, x, "cannot read the machines", func(r sqlstore.Scanner) ([2]string, error) {
			var id string
			var name *string
			err := r.Scan(&id, &name)
			if name == nil {
				return [2]string{id, ""}, err
			}
			return [2]string{id, *name}, err
		}, func(m [2]string) error { names[m[0]] = m[1]; return nil },
			"SELECT m.id, m.computer_dns_name"+from, seq, s.d.TextsArg(b.unnamed))
		if err != nil {
			return nil, err
		}
	}
	missing := len(names) < len(b.unnamed)
	if !missing {
		b.check = s.c.unconfirmed(b.check, seq, gen, b.named)
	}
	if len(b.check) > 0 && !missing {
		n, err := sqlstore.Get(ctx, x, "cannot read the machines", nil, sqlstore.ScanInt64, "SELECT count(*)"+from, seq, s.d.TextsArg(b.check))
		if err != nil {
			return nil, err
		}
		missing = int(n) < len(b.check)
	}
	if !missing {
		return names, nil
	}
	// Which: the ids of the named events' machines the tenant has, then
	// the first event whose machine is neither these nor named.
	has := map[string]bool{}
	if len(b.named) == 0 {
		b.named = nil
	}
	err := sqlstore.Each(ctx, x, "cannot read the machines", func(r sqlstore.Scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, func(id string) error { has[id] = true; return nil }, "SELECT m.id"+from, seq, s.d.TextsArg(b.named))
	if err != nil {
		return nil, err
	}
	first, device := -1, ""
	for _, r := range b.rows {
		if _, ok := names[r.device]; !ok && !has[r.device] && (first < 0 || r.i < first) {
			first, device = r.i, r.device
		}
	}
	return nil, sqlstore.InvalidItem(b.k.what, first, openatp.InvalidField("DeviceId", "the tenant has no machine %s", sqlstore.Quote(device)))
}

// insertRows inserts the rows of b, the tenant seq's, with the
// computerDnsName of their machine (names) as the DeviceName of the
// events without one, and the ids of their looked-up values (dict, by
// index in b.values).
func insertRows(ctx context.Context, x sqlstore.Execer, seq int64, b *batch, names map[string]string, dict []int64) error {
	k := b.k
	var unnamed []byte // the packed columns of the unnamed events: made anew should the engine run the transaction again
	row := "(" + strconv.FormatInt(seq, 10) + ", ?, ?, ?, ?, ?)"
	head := "INSERT INTO " + k.table + " (tenant_seq, ts, device_id, report_id, " + k.key + ", rest) VALUES " + row
	tail := " ON CONFLICT (tenant_seq, ts, device_id, report_id) DO NOTHING"
	args := make([]any, 0, rowArgs*min(len(b.rows), maxRows))
	for start := 0; start < len(b.rows); {
		n := maxRows
		for n > len(b.rows)-start {
			n /= 2
		}
		args = args[:0]
		for i := range b.rows[start : start+n] {
			r := &b.rows[start+i]
			var rest []byte
			if r.named {
				rest = b.arena[r.rest[0]:r.rest[1]:r.rest[1]]
			} else {
				at := len(unnamed)
				unnamed = packRest(unnamed, b.fields[r.i], k.skip, names[r.device])
				rest = unnamed[at:len(unnamed):len(unnamed)]
			}
			args = append(args, r.ts, r.device, r.report, dict[r.values], rest)
		}
		if _, err := sqlstore.Exec(ctx, x, "cannot store the "+k.what+"s", head+strings.Repeat(", "+row, n-1)+tail, args...); err != nil {
			return err
		}
		start += n
	}
	return nil
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

// eventValues stores the looked-up values that the tenant does not have
// (values: distinct), and returns the id of each (by index in values).
func eventValues(ctx context.Context, x sqlstore.Execer, seq int64, k *eventKind, values [][3]string) ([]int64, error) {
	at := make(map[[3]string]int, len(values))
	for i, v := range values {
		at[v] = i
	}
	ids := make([]int64, len(values))
	distinct := slices.Clone(values)
	slices.SortFunc(distinct, func(a, b [3]string) int {
		return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1]), strings.Compare(a[2], b[2]))
	})
	cols := strings.Join(k.dictCols, ", ")
	tuple := "(?" + strings.Repeat(", ?", len(k.dictCols)-1) + ")"
	for part := range slices.Chunk(distinct, dictRows) {
		var args []any
		for _, v := range part {
			for _, s := range v[:len(k.dictCols)] {
				args = append(args, s)
			}
		}
		list := tuple + strings.Repeat(", "+tuple, len(part)-1)
		ins := "INSERT INTO " + k.dict + " (tenant_seq, " + cols + ") VALUES " + strings.ReplaceAll(list, "(?", "("+strconv.FormatInt(seq, 10)+", ?") +
			" ON CONFLICT (tenant_seq, " + cols + ") DO NOTHING"
		if _, err := sqlstore.Exec(ctx, x, "cannot store the "+k.what+"s", ins, args...); err != nil {
			return nil, err
		}
		err := sqlstore.Each(ctx, x, "cannot store the "+k.what+"s", func(s sqlstore.Scanner) (struct{}, error) {
			var key [3]string
			var id int64
			dest := []any{&id}
			for i := range k.dictCols {
				dest = append(dest, &key[i])
			}
			if err := s.Scan(dest...); err != nil {
				return struct{}{}, err
			}
			if i, ok := at[key]; ok {
				ids[i] = id
			}
			return struct{}{}, nil
		}, func(struct{}) error { return nil },
			"SELECT d.id, d."+strings.Join(k.dictCols, ", d.")+" FROM (VALUES "+list+") v JOIN "+k.dict+" d ON d.tenant_seq = "+strconv.FormatInt(seq, 10)+
				" AND "+dictJoin(k.dictCols), args...)
		if err != nil {
			return nil, err
		}
	}
	return ids, nil
}
