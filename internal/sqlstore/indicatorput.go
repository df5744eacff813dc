package sqlstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
)

// PutIndicators creates or updates indicators (see openatp.IndicatorStore).
func (w Writer) PutIndicators(ctx context.Context, tenantID string, ins []openatp.Indicator, now time.Time,
	may func(old *openatp.Indicator) error) ([]openatp.Indicator, []error, error) {
	return w.putIndicators(ctx, tenantID, ins, now, may, false)
}

// ImportIndicators is PutIndicators all or nothing (see
// openatp.IndicatorStore).
func (w Writer) ImportIndicators(ctx context.Context, tenantID string, ins []openatp.Indicator, now time.Time) ([]openatp.Indicator, error) {
	out, _, err := w.putIndicators(ctx, tenantID, ins, now, nil, true)
	return out, err
}

// insertChunk is the number of indicators one INSERT writes (25
// arguments each).
const insertChunk = 100

// putIndicators writes ins in one transaction in a few statements: the
// stored indicators the items name (by value key, by id) are read at
// once, the items are applied in order to that state in memory, an
// update of an indicator stored before the call is written as it comes
// (so that the unique value keys hold at every statement) and the new
// indicators at the end, insertChunk a statement. With atomic, the first
// item's error ends the call (an Invalid error naming it with an
// openatp.ItemError; other kinds as they are) and nothing is written.
func (w Writer) putIndicators(ctx context.Context, tenantID string, ins []openatp.Indicator, now time.Time,
	may func(old *openatp.Indicator) error, atomic bool) ([]openatp.Indicator, []error, error) {
	out := make([]openatp.Indicator, len(ins))
	errs := make([]error, len(ins))
	nowNs, err := Nanos("lastUpdateTime", now)
	if err != nil {
		return nil, nil, err
	}
	err = w.TenantTx(ctx, tenantID, func(x Execer, seq int64) error {
		clear(errs)
		// Writing the tenant's counter row first locks it until the
		// commit: concurrent writers of one tenant's indicators take
		// turns (PostgreSQL; SQLite has one writer), so that each reads
		// the others' numbers, values and count.
		next, err := Get(ctx, x, "cannot number the indicator", func() error { return openatp.Errorf(openatp.Internal, "no number") }, ScanInt64,
			`INSERT INTO indicator_counters (tenant_seq, last_seq) VALUES (?, 0)
			ON CONFLICT (tenant_seq) DO UPDATE SET last_seq = indicator_counters.last_seq RETURNING last_seq`, seq)
		if err != nil {
			return err
		}
		active, err := Get(ctx, x, "cannot count the indicators", func() error { return openatp.Errorf(openatp.Internal, "no count") }, ScanInt64,
			"SELECT count(*) FROM indicators WHERE tenant_seq = ? AND (expiration_time IS NULL OR expiration_time > ?)", seq, nowNs)
		if err != nil {
			return err
		}
		st := &putState{x: x, seq: seq, now: now, active: active, next: next, bySeq: map[int64]*putRow{}, byKey: map[string]*putRow{}}
		if err := st.load(ctx, ins); err != nil {
			return err
		}
		numbered := next
		for i := range ins {
			in, item, err := st.put(ctx, ins[i], may)
			if err != nil {
				return err
			}
			if item != nil && atomic {
				return itemError(i, item)
			}
			out[i], errs[i] = in, item
		}
		if err := st.insert(ctx); err != nil {
			return err
		}
		if st.next == numbered {
			return nil
		}
		_, err = Exec(ctx, x, "cannot number the indicator", "UPDATE indicator_counters SET last_seq = ? WHERE tenant_seq = ?", st.next, seq)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return out, errs, nil
}

// itemError is the error of item i of an atomic write: an Invalid error
// names the item and keeps its message; other kinds are as they are.
func itemError(i int, err error) error {
	e, ok := err.(*openatp.Error)
	if !ok || e.Kind != openatp.Invalid {
		return err
	}
	c := *e
	c.Message = "item " + strconv.Itoa(i) + ": " + e.Message
	c.Err = &openatp.ItemError{Index: i, Err: err}
	return &c
}

// putRow is an indicator as the transaction has it: stored before the
// call (written by UPDATE) or new (written by insert at the end).
type putRow struct {
	in    openatp.Indicator
	key   string
	fresh bool
}

// putState is the tenant's indicators as PutIndicators' items leave
// them: the number of active ones, the last number given, the rows the
// items named by number and value key (nil: known not to exist), and the
// new ones in order.
type putState struct {
	x            Execer
	seq          int64
	now          time.Time
	active, next int64
	bySeq        map[int64]*putRow
	byKey        map[string]*putRow
	fresh        []*putRow
}

// load reads the stored indicators the items name, by value key, then
// by number those not read yet.
func (st *putState) load(ctx context.Context, ins []openatp.Indicator) error {
	var keys []string
	for i := range ins {
		if v := strings.TrimSpace(ins[i].IndicatorValue); openatp.ValidateIndicatorValue(ins[i].IndicatorType, v) == nil {
			keys = append(keys, openatp.IndicatorValueKey(ins[i].IndicatorType, v))
		}
	}
	add := func(in openatp.Indicator) error {
		n, _ := indicatorSeq(in.ID)
		r := &putRow{in: in, key: openatp.IndicatorValueKey(in.IndicatorType, in.IndicatorValue)}
		st.bySeq[n], st.byKey[r.key] = r, r
		return nil
	}
	err := InChunks(keys, func(list string, args []any) error {
		return Each(ctx, st.x, "cannot read the indicators", scanIndicator, add,
			"SELECT "+indicatorColumns+" FROM indicators WHERE tenant_seq = ? AND value_key IN "+list, append([]any{st.seq}, args...)...)
	})
	if err != nil {
		return err
	}
	for i := range ins {
		if n, ok := indicatorSeq(ins[i].ID); ok && st.bySeq[n] == nil {
			err := Each(ctx, st.x, "cannot read the indicators", scanIndicator, add,
				"SELECT "+indicatorColumns+" FROM indicators WHERE tenant_seq = ? AND seq = ?", st.seq, n)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// put applies one item. It returns the indicator as stored or the item's
// error; the error is the store's.
func (st *putState) put(ctx context.Context, in openatp.Indicator, may func(old *openatp.Indicator) error) (openatp.Indicator, error, error) {
	if err := in.Normalize(); err != nil {
		return in, err, nil
	}
	var expires *int64
	if in.ExpirationTime != nil {
		n, err := Nanos("expirationTime", *in.ExpirationTime)
		if err != nil {
			return in, err, nil
		}
		t := in.ExpirationTime.UTC()
		in.ExpirationTime, expires = &t, &n
	}
	key := openatp.IndicatorValueKey(in.IndicatorType, in.IndicatorValue)
	byKey := st.byKey[key]
	var old *putRow
	if in.ID != "" {
		n, ok := indicatorSeq(in.ID)
		if ok {
			old = st.bySeq[n]
		}
		if old == nil {
			return in, openatp.IndicatorNotFound(in.ID), nil
		}
		if byKey != nil && byKey != old {
			return in, openatp.CodedErrorf(openatp.Conflict, "Conflict",
				"Indicator %s has the same indicatorType and indicatorValue.", byKey.in.ID), nil
		}
	} else {
		old = byKey
	}
	in.LastUpdateTime = st.now.UTC().Round(openatp.TimePrecision)
	isActive := in.Active(st.now)
	if old == nil {
		if isActive {
			if st.active >= openatp.MaxActiveIndicators {
				return in, openatp.TooManyIndicators(), nil
			}
			st.active++
		}
		st.next++
		in.ID, in.CreationTime = strconv.FormatInt(st.next, 10), in.LastUpdateTime
		r := &putRow{in: in, key: key, fresh: true}
		st.bySeq[st.next], st.byKey[key] = r, r
		st.fresh = append(st.fresh, r)
		return in, nil, nil
	}
	if may != nil {
		if err := may(&old.in); err != nil {
			return in, err, nil
		}
	}
	wasActive := old.in.Active(st.now)
	if isActive && !wasActive {
		if st.active >= openatp.MaxActiveIndicators {
			return in, openatp.TooManyIndicators(), nil
		}
		st.active++
	} else if wasActive && !isActive {
		st.active--
	}
	o := &old.in
	in.ID, in.Application, in.CreationTime = o.ID, o.Application, o.CreationTime
	in.CreatedBy, in.CreatedBySource, in.CreatedByDisplayName = o.CreatedBy, o.CreatedBySource, o.CreatedByDisplayName
	in.Source, in.SourceType = o.Source, o.SourceType
	if st.byKey[old.key] == old {
		delete(st.byKey, old.key)
	}
	old.in, old.key = in, key
	st.byKey[key] = old
	if old.fresh {
		return in, nil, nil // written by insert
	}
	n, _ := indicatorSeq(old.in.ID)
	_, err := Exec(ctx, st.x, "cannot store the indicator", `UPDATE indicators SET value_key = ?, indicator_value = ?, indicator_type = ?,
		action = ?, severity = ?, title = ?, description = ?, recommended_actions = ?, external_id = ?, educate_url = ?,
		last_updated_by = ?, last_update_time = ?, expiration_time = ?, rbac_group_names = ?, rbac_group_ids = ?, generate_alert = ?
		WHERE tenant_seq = ? AND seq = ?`,
		key, in.IndicatorValue, in.IndicatorType, in.Action, in.Severity, in.Title, in.Description, in.RecommendedActions,
		in.ExternalID, in.EducateURL, in.LastUpdatedBy, in.LastUpdateTime.UnixNano(), expires,
		strings.Join(in.RBACGroupNames, "\n"), joinIDs(in.RBACGroupIDs), in.GenerateAlert, st.seq, n)
	return in, nil, err
}

// insert writes the new indicators, insertChunk a statement.
func (st *putState) insert(ctx context.Context) error {
	const row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	for len(st.fresh) > 0 {
		chunk := st.fresh[:min(insertChunk, len(st.fresh))]
		st.fresh = st.fresh[len(chunk):]
		args := make([]any, 0, 25*len(chunk))
		for _, r := range chunk {
			in := &r.in
			n, _ := indicatorSeq(in.ID)
			var expires *int64
			if in.ExpirationTime != nil {
				e := in.ExpirationTime.UnixNano()
				expires = &e
			}
			updated := in.LastUpdateTime.UnixNano()
			args = append(args, st.seq, n, r.key, in.IndicatorValue, in.IndicatorType, in.Action, in.Application, in.Source, in.SourceType,
				in.Severity, in.Title, in.Description, in.RecommendedActions, in.ExternalID, in.EducateURL, in.CreatedBy, in.CreatedBySource,
				in.CreatedByDisplayName, in.LastUpdatedBy, in.CreationTime.UnixNano(), updated, expires,
				strings.Join(in.RBACGroupNames, "\n"), joinIDs(in.RBACGroupIDs), in.GenerateAlert)
		}
		_, err := Exec(ctx, st.x, "cannot store the indicator", `INSERT INTO indicators (tenant_seq, seq, value_key, indicator_value,
			indicator_type, action, application, source, source_type, severity, title, description, recommended_actions, external_id,
			educate_url, created_by, created_by_source, created_by_display_name, last_updated_by, creation_time, last_update_time,
			expiration_time, rbac_group_names, rbac_group_ids, generate_alert) VALUES `+row+strings.Repeat(", "+row, len(chunk)-1), args...)
		if err != nil {
			return err
		}
	}
	return nil
}
