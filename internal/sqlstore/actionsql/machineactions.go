package actionsql

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// The machine actions (openatp.MachineActionStore) are written and read
// with the same SQL in both engines: the per-tenant action clock is a row
// of tenant_action_clock that every action write takes first (an upsert
// that returns the last stamp), which on PostgreSQL locks the row until
// the commit and on SQLite runs under the one writer's lock: either way
// the writes of a tenant's actions take turns, commit in the order of
// their stamps, and the busy check of a create sees every action
// committed before it.

// ActionColumns are the columns of the machine_actions table both
// engines write, but tenant_seq, in the order of actionArgs and
// ScanAction.
const ActionColumns = `id, type, title, requestor, requestor_comment, status, machine_id, computer_dns_name,
	creation_time, last_update_time, cancellation_requestor, cancellation_comment, cancellation_time,
	error_hresult, scope, external_id, request_source, related_file_info, commands, troubleshoot_info`

// actionWidth is the number of ActionColumns.
const actionWidth = 20

// actionColumnsA are ActionColumns of machine_actions a.
var actionColumnsA = "a." + strings.Join(strings.Fields(ActionColumns), " a.")

// insertAction inserts one action (the tenant's row number first).
var insertAction = "INSERT INTO machine_actions (tenant_seq, " + ActionColumns + ") VALUES (?" + strings.Repeat(", ?", actionWidth) + ")"

// updateAction stores what an update may change of an action.
const updateAction = `UPDATE machine_actions SET status = ?, last_update_time = ?, cancellation_requestor = ?,
	cancellation_comment = ?, cancellation_time = ?, error_hresult = ?, commands = ?, troubleshoot_info = ?
	WHERE tenant_seq = ? AND id = ?`

// liveStatuses is the SQL list of the statuses that are not final.
const liveStatuses = "('" + openatp.ActionPending + "', '" + openatp.ActionInProgress + "')"

// actionArgs returns the values of ActionColumns for a normalized action.
func actionArgs(a *openatp.MachineAction) ([]any, error) {
	created, err := sqlstore.Nanos("creationDateTimeUtc", a.CreationDateTimeUTC)
	if err != nil {
		return nil, err
	}
	updated, err := sqlstore.Nanos("lastUpdateDateTimeUtc", a.LastUpdateDateTimeUTC)
	if err != nil {
		return nil, err
	}
	var cancelled *int64
	if a.CancellationDateTimeUTC != nil {
		n, err := sqlstore.Nanos("cancellationDateTimeUtc", *a.CancellationDateTimeUTC)
		if err != nil {
			return nil, err
		}
		cancelled = &n
	}
	var file *string
	if a.RelatedFileInfo != nil {
		b, err := json.Marshal(a.RelatedFileInfo)
		if err != nil {
			return nil, sqlstore.Internal(err, "cannot encode the machine action")
		}
		file = openatp.Ptr(string(b))
	}
	commands, err := json.Marshal(a.Commands)
	if err != nil {
		return nil, sqlstore.Internal(err, "cannot encode the machine action")
	}
	return []any{a.ID, a.Type, a.Title, a.Requestor, a.RequestorComment, a.Status, a.MachineID, a.ComputerDNSName,
		created, updated, a.CancellationRequestor, a.CancellationComment, cancelled,
		int64(a.ErrorHResult), a.Scope, a.ExternalID, a.RequestSource, file, string(commands), a.TroubleshootInfo}, nil
}

// ScanAction reads a row of ActionColumns.
func ScanAction(s sqlstore.Scanner) (openatp.MachineAction, error) {
	var a openatp.MachineAction
	var created, updated, hresult int64
	var cancelled *int64
	var file *string
	var commands string
	err := s.Scan(&a.ID, &a.Type, &a.Title, &a.Requestor, &a.RequestorComment, &a.Status, &a.MachineID, &a.ComputerDNSName,
		&created, &updated, &a.CancellationRequestor, &a.CancellationComment, &cancelled,
		&hresult, &a.Scope, &a.ExternalID, &a.RequestSource, &file, &commands, &a.TroubleshootInfo)
	if err != nil {
		return a, err
	}
	a.CreationDateTimeUTC, a.LastUpdateDateTimeUTC, a.CancellationDateTimeUTC = sqlstore.FromNanos(created), sqlstore.FromNanos(updated), sqlstore.TimeOf(cancelled)
	a.ErrorHResult = int32(hresult)
	if file != nil {
		a.RelatedFileInfo = &openatp.RelatedFileInfo{}
		if err := json.Unmarshal([]byte(*file), a.RelatedFileInfo); err != nil {
			return a, sqlstore.Internal(err, "bad relatedFileInfo of machine action "+a.ID)
		}
	}
	if err := json.Unmarshal([]byte(commands), &a.Commands); err != nil {
		return a, sqlstore.Internal(err, "bad commands of machine action "+a.ID)
	}
	if a.Commands == nil {
		a.Commands = []openatp.ActionCommand{}
	}
	return a, nil
}

// actionStamp advances the tenant's action clock (taking its row, which
// orders the tenant's action writes) past its last stamp and now, and
// returns the new stamp.
// It is one statement, NextStamp in SQL: a create is a few statements,
// each of which counts.
func actionStamp(ctx context.Context, x sqlstore.Execer, seq int64, now time.Time) (time.Time, error) {
	next, err := sqlstore.Get(ctx, x, "cannot advance the action clock", func() error { return openatp.Errorf(openatp.Internal, "no action clock") }, sqlstore.ScanInt64,
		actionStampSQL, seq, sqlstore.NextStamp(0, now))
	if err != nil {
		return time.Time{}, err
	}
	return sqlstore.FromNanos(next), nil
}

// actionStampSQL advances a tenant's action clock to NextStamp(its last
// stamp, now), given the tenant's row and NextStamp(0, now), and returns
// the new stamp.
var actionStampSQL = `INSERT INTO tenant_action_clock (tenant_seq, t) VALUES (?, ?)
	ON CONFLICT (tenant_seq) DO UPDATE SET t = CASE WHEN tenant_action_clock.t + ` + strconv.FormatInt(int64(openatp.TimePrecision), 10) + ` > excluded.t
	THEN tenant_action_clock.t + ` + strconv.FormatInt(int64(openatp.TimePrecision), 10) + ` ELSE excluded.t END RETURNING t`

// CreateMachineAction stores a new Pending action, stamped by the
// tenant's action clock, with its machine's name, unless a live action
// blocks it (see openatp.MachineActionStore). Invalid if the action does
// not normalize or is not Pending.
func (d Store) CreateMachineAction(ctx context.Context, tenantID string, a openatp.MachineAction) (openatp.MachineAction, error) {
	if err := a.Normalize(); err != nil {
		return a, err
	}
	if a.Status != openatp.ActionPending || a.CancellationDateTimeUTC != nil {
		return a, openatp.InvalidField("status", "a new machine action is Pending, not %s", a.Status)
	}
	var out openatp.MachineAction
	err := d.w.TenantTx(ctx, tenantID, func(x sqlstore.Execer, seq int64) error {
		stamp, err := actionStamp(ctx, x, seq, d.w.Time())
		if err != nil {
			return err
		}
		// The machine's name and its live actions (their ids and types,
		// what the busy rule reads), in one statement.
		type row struct{ name, id, typ *string }
		rows, err := sqlstore.List(ctx, x, "cannot read the machine", func(s sqlstore.Scanner) (r row, err error) { return r, s.Scan(&r.name, &r.id, &r.typ) },
			`SELECT m.computer_dns_name, a.id, a.type FROM machines m LEFT JOIN machine_actions a
			ON a.tenant_seq = m.tenant_seq AND a.machine_id = m.id AND a.status IN `+liveStatuses+`
			WHERE m.tenant_seq = ? AND m.id = ?`, seq, a.MachineID)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return sqlstore.MachineNotFound(a.MachineID)
		}
		var live []openatp.MachineAction
		for _, r := range rows {
			if r.id != nil && r.typ != nil {
				live = append(live, openatp.MachineAction{ID: *r.id, Type: *r.typ, Status: openatp.ActionPending, MachineID: a.MachineID})
			}
		}
		if err := openatp.BusyError(&a, live); err != nil {
			return err
		}
		if a.Type == openatp.ActionLiveResponse {
			// The session bound, in the transaction that the tenant's
			// action writes take in turn: two creates cannot both take
			// the last session.
			n, err := sqlstore.Get(ctx, x, "cannot count the live response sessions", func() error { return nil }, sqlstore.ScanInt64,
				"SELECT COUNT(*) FROM machine_actions WHERE tenant_seq = ? AND type = ? AND status IN "+liveStatuses, seq, openatp.ActionLiveResponse)
			if err != nil {
				return err
			}
			if err := openatp.SessionLimitError(&a, int(n)); err != nil {
				return err
			}
		}
		b := a
		b.ComputerDNSName, b.CreationDateTimeUTC, b.LastUpdateDateTimeUTC = rows[0].name, stamp, stamp
		args, err := actionArgs(&b)
		if err != nil {
			return err
		}
		_, err = sqlstore.Exec(ctx, x, "cannot store the machine action", insertAction, append([]any{seq}, args...)...)
		if err != nil {
			return sqlstore.Conflict(err, "a machine action with id "+sqlstore.Quote(a.ID)+" exists already")
		}
		out = b
		return nil
	})
	return out, err
}

func scanNullString(s sqlstore.Scanner) (v *string, err error) { return v, s.Scan(&v) }

// UpdateMachineAction changes an action in one write transaction,
// stamped by the tenant's action clock (see openatp.MachineActionStore).
func (d Store) UpdateMachineAction(ctx context.Context, tenantID, id string, f func(a *openatp.MachineAction, stamp time.Time) error) (openatp.MachineAction, error) {
	var out openatp.MachineAction
	err := d.w.TenantTx(ctx, tenantID, func(x sqlstore.Execer, seq int64) error {
		b, refused, err := updateAction1(ctx, x, seq, d.w.Time(), id, f)
		if refused != nil {
			return refused // nothing written, the clock's stamp included
		}
		out = b
		return err
	})
	return out, err
}

// UpdateMachineActions changes several actions of a tenant in one write
// transaction, each stamped by the tenant's action clock in turn (see
// openatp.MachineActionStore).
func (d Store) UpdateMachineActions(ctx context.Context, tenantID string, ids []string, f func(a *openatp.MachineAction, stamp time.Time) error) ([]openatp.MachineAction, []error, error) {
	var out []openatp.MachineAction
	var refused []error
	err := d.w.TenantTx(ctx, tenantID, func(x sqlstore.Execer, seq int64) error {
		// The transaction may run more than once: start afresh each time.
		out, refused = make([]openatp.MachineAction, len(ids)), make([]error, len(ids))
		for i, id := range ids {
			var err error
			if out[i], refused[i], err = updateAction1(ctx, x, seq, d.w.Time(), id, f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, refused, nil
}

// updateAction1 changes one action in the transaction x: it reads the
// action, stamps the write, calls f and stores what f left (see
// openatp.MachineActionStore.UpdateMachineAction). refused is the
// action's own answer, given before anything of it is written: a missing
// action, f's error, a change f may not make. err is a failure of the
// store, which ends the transaction.
func updateAction1(ctx context.Context, x sqlstore.Execer, seq int64, now time.Time, id string, f func(a *openatp.MachineAction, stamp time.Time) error) (b openatp.MachineAction, refused, err error) {
	a, err := sqlstore.Get(ctx, x, "cannot read the machine action", func() error { return errNoAction }, ScanAction,
		"SELECT "+ActionColumns+" FROM machine_actions WHERE tenant_seq = ? AND id = ?", seq, id)
	if err == errNoAction {
		return a, openatp.ActionNotFound(id), nil
	}
	if err != nil {
		return a, nil, err
	}
	stamp, err := actionStamp(ctx, x, seq, now)
	if err != nil {
		return a, nil, err
	}
	b = a
	b.Commands = append([]openatp.ActionCommand(nil), a.Commands...)
	if err := f(&b, stamp); err != nil {
		return a, err, nil
	}
	if err := openatp.CheckActionUpdate(&a, &b); err != nil {
		return a, err, nil
	}
	b.LastUpdateDateTimeUTC = stamp
	if err := b.Normalize(); err != nil {
		return a, err, nil
	}
	args, err := actionArgs(&b)
	if err != nil {
		return a, err, nil
	}
	if a.Status != openatp.ActionSucceeded && b.Status == openatp.ActionSucceeded && openatp.ChangesState(b.Type) {
		if err := applyActionEffect(ctx, x, seq, &b, stamp); err != nil {
			return a, nil, err
		}
	}
	// args: status 5, last_update 9, cancellation 10..12, hresult 13, commands 18, troubleshoot 19
	if _, err := sqlstore.Exec(ctx, x, "cannot store the machine action", updateAction,
		args[5], args[9], args[10], args[11], args[12], args[13], args[18], args[19], seq, id); err != nil {
		return a, nil, err
	}
	return b, nil, nil
}

// errNoAction is what updateAction1's read answers for a missing action.
var errNoAction = errors.New("no such action")

// MachineAction returns one action of the tenant. NotFound
// (ResourceNotFound) if the tenant has none of that id.
func (d Store) MachineAction(ctx context.Context, tenantID, id string) (openatp.MachineAction, error) {
	return sqlstore.Get(ctx, d.q, "cannot read the machine action", func() error { return openatp.ActionNotFound(id) }, ScanAction,
		"SELECT "+actionColumnsA+" FROM machine_actions a JOIN tenants t ON t.seq = a.tenant_seq WHERE t.id = ? AND a.id = ?", tenantID, id)
}

// MachineActions returns the tenant's actions f selects, in its order,
// paged. NotFound if the tenant does not exist; Invalid for an unknown
// order.
func (d Store) MachineActions(ctx context.Context, tenantID string, f openatp.MachineActionFilter) ([]openatp.MachineAction, error) {
	seq, err := sqlstore.TenantSeq(ctx, d.q, tenantID)
	if err != nil {
		return nil, err
	}
	where, args := actionWhere(seq, &f)
	var order string
	switch f.OrderBy {
	case "", "lastUpdateDateTimeUtc":
		order = "a.last_update_time"
	case "creationDateTimeUtc":
		order = "a.creation_time, a.id"
	default:
		return nil, openatp.InvalidField("$orderby", "machine actions are ordered by lastUpdateDateTimeUtc or creationDateTimeUtc, not %s", sqlstore.Quote(f.OrderBy))
	}
	if f.Desc {
		order = strings.ReplaceAll(order+",", ",", " DESC,")
		order = order[:len(order)-1]
	}
	top := int64(math.MaxInt64)
	if f.Top > 0 {
		top = int64(f.Top)
	}
	return sqlstore.List(ctx, d.q, "cannot list machine actions", ScanAction, "SELECT "+actionColumnsA+" FROM machine_actions a WHERE "+where+
		" ORDER BY "+order+" LIMIT ? OFFSET ?", append(args, top, int64(max(f.Skip, 0)))...)
}

// CountMachineActions counts the tenant's actions f selects, ignoring its
// paging. NotFound if the tenant does not exist.
func (d Store) CountMachineActions(ctx context.Context, tenantID string, f openatp.MachineActionFilter) (int, error) {
	seq, err := sqlstore.TenantSeq(ctx, d.q, tenantID)
	if err != nil {
		return 0, err
	}
	where, args := actionWhere(seq, &f)
	n, err := sqlstore.Get(ctx, d.q, "cannot count machine actions", func() error { return openatp.Errorf(openatp.Internal, "no count") }, sqlstore.ScanInt64,
		"SELECT count(*) FROM machine_actions a WHERE "+where, args...)
	return int(n), err
}

// actionWhere returns the WHERE clause of filter f over machine_actions a
// of tenant seq, and its arguments. A time out of the range kept is
// clamped to it. A list of values takes a number of
// placeholders rounded up to a power of two (the last value repeated), so
// that the query texts, which an engine may cache, are few.
func actionWhere(seq int64, f *openatp.MachineActionFilter) (string, []any) {
	var b strings.Builder
	b.WriteString("a.tenant_seq = ?")
	args := []any{seq}
	for _, l := range []struct {
		col    string
		values []string
	}{{"a.id", f.IDs}, {"a.status", f.Statuses}, {"a.machine_id", f.MachineIDs}, {"a.type", f.Types}, {"a.requestor", f.Requestors}} {
		if len(l.values) == 0 {
			continue
		}
		n := 1 << bits.Len(uint(len(l.values)-1))
		b.WriteString(" AND " + l.col + " IN (?" + strings.Repeat(", ?", n-1) + ")")
		for i := range n {
			args = append(args, l.values[min(i, len(l.values)-1)])
		}
	}
	for _, r := range []struct {
		col string
		r   openatp.TimeRange
	}{{"a.creation_time", f.Created}, {"a.last_update_time", f.Updated}} {
		for _, bound := range []struct {
			op string
			t  *time.Time
		}{{">", r.r.After}, {">=", r.r.From}, {"<", r.r.Before}, {"<=", r.r.Until}} {
			if bound.t == nil {
				continue
			}
			// A bound beyond the times a store keeps is the nearest it
			// keeps: "after year 1" is every action.
			n := int64(math.MinInt64)
			switch {
			case bound.t.After(sqlstore.MaxTime):
				n = math.MaxInt64
			case !bound.t.Before(sqlstore.MinTime):
				n = bound.t.UnixNano()
			}
			b.WriteString(" AND " + r.col + " " + bound.op + " ?")
			args = append(args, n)
		}
	}
	return b.String(), args
}

// MachineActionEpoch returns the tenant's row number, its generation
// (ResetTenant bumps it) and the count of its PutMachineActions (see
// openatp.MachineActionStore). NotFound if the tenant does not exist.
func (d Store) MachineActionEpoch(ctx context.Context, tenantID string) (openatp.ActionEpoch, error) {
	return sqlstore.Get(ctx, d.q, "cannot read the action clock", func() error { return sqlstore.TenantNotFound(tenantID) }, func(s sqlstore.Scanner) (e openatp.ActionEpoch, err error) {
		return e, s.Scan(&e.Tenant, &e.Resets, &e.Puts)
	}, `SELECT t.seq, t.generation, coalesce(c.puts, 0) FROM tenants t LEFT JOIN tenant_action_clock c ON c.tenant_seq = t.seq WHERE t.id = ?`, tenantID)
}

// LiveMachineActions streams every action of every tenant that is not
// final, with its tenant's id, in no particular order.
func (d Store) LiveMachineActions(ctx context.Context, f func(tenantID string, a openatp.MachineAction) error) error {
	type row struct {
		tenant string
		a      openatp.MachineAction
	}
	scan := func(s sqlstore.Scanner) (row, error) {
		var v row
		a, err := ScanAction(prefixed{s, &v.tenant})
		v.a = a
		return v, err
	}
	return sqlstore.Each(ctx, d.q, "cannot read the live machine actions", scan, func(v row) error { return f(v.tenant, v.a) },
		"SELECT t.id, "+actionColumnsA+" FROM machine_actions a JOIN tenants t ON t.seq = a.tenant_seq WHERE a.status IN "+liveStatuses)
}

// prefixed scans a row whose first column is read into first, the rest
// by the caller.
type prefixed struct {
	s     sqlstore.Scanner
	first *string
}

func (p prefixed) Scan(dest ...any) error { return p.s.Scan(append([]any{p.first}, dest...)...) }

// PutMachineActions stores actions as they are, replacing those of
// their ids, and advances the tenant's action clock to the latest of
// their stamps (see openatp.MachineActionStore).
func (d Store) PutMachineActions(ctx context.Context, tenantID string, as []openatp.MachineAction) error {
	norm := make([]openatp.MachineAction, len(as))
	var latest int64
	for i := range as {
		a := as[i]
		if err := a.Normalize(); err != nil {
			return sqlstore.InvalidItem("machine action", i, err)
		}
		if a.CreationDateTimeUTC.IsZero() || a.LastUpdateDateTimeUTC.IsZero() {
			return sqlstore.InvalidItem("machine action", i, openatp.InvalidField("lastUpdateDateTimeUtc", "a stored action has its creation and update times"))
		}
		if _, err := actionArgs(&a); err != nil {
			return sqlstore.InvalidItem("machine action", i, err)
		}
		latest = max(latest, a.LastUpdateDateTimeUTC.UnixNano())
		norm[i] = a
	}
	return d.w.TenantTx(ctx, tenantID, func(x sqlstore.Execer, seq int64) error {
		if len(norm) == 0 {
			return nil
		}
		// puts counts the calls (MachineActionEpoch).
		if _, err := sqlstore.Exec(ctx, x, "cannot advance the action clock", `INSERT INTO tenant_action_clock (tenant_seq, t, puts) VALUES (?, ?, 1)
			ON CONFLICT (tenant_seq) DO UPDATE SET t = CASE WHEN tenant_action_clock.t > excluded.t THEN tenant_action_clock.t ELSE excluded.t END,
			puts = tenant_action_clock.puts + 1`,
			seq, latest); err != nil {
			return err
		}
		known := map[string]bool{}
		for i := range norm {
			a := &norm[i]
			if !known[a.MachineID] {
				if _, err := sqlstore.Get(ctx, x, "cannot read the machine", func() error { return sqlstore.MachineNotFound(a.MachineID) }, scanNullString,
					"SELECT computer_dns_name FROM machines WHERE tenant_seq = ? AND id = ?", seq, a.MachineID); err != nil {
					return err
				}
				known[a.MachineID] = true
			}
			if _, err := sqlstore.Exec(ctx, x, "cannot store the machine action", "DELETE FROM machine_actions WHERE tenant_seq = ? AND id = ?", seq, a.ID); err != nil {
				return err
			}
			args, _ := actionArgs(a)
			if _, err := sqlstore.Exec(ctx, x, "cannot store the machine action", insertAction, append([]any{seq}, args...)...); err != nil {
				return err
			}
		}
		return nil
	})
}
