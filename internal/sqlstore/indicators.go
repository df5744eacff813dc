package sqlstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
)

// Custom indicators (openatp.IndicatorStore) are written and read with
// the same SQL in both engines. Table indicators holds one row an
// indicator, seq its number (the entity's id) and value_key its
// openatp.IndicatorValueKey (unique in the tenant); indicator_counters
// the last number given in each tenant, so that a number is never given
// twice. Device group names are kept one a line, their ids comma-separated.

// indicatorColumns are the columns of indicators in the order of
// scanIndicator.
const indicatorColumns = `seq, indicator_value, indicator_type, action, application, source, source_type, severity,
	title, description, recommended_actions, external_id, educate_url, created_by, created_by_source,
	created_by_display_name, last_updated_by, creation_time, last_update_time, expiration_time,
	rbac_group_names, rbac_group_ids, generate_alert`

// scanIndicator reads a row of indicatorColumns.
func scanIndicator(s Scanner) (openatp.Indicator, error) {
	var in openatp.Indicator
	var seq, created, updated int64
	var expires *int64
	var names, ids string
	err := s.Scan(&seq, &in.IndicatorValue, &in.IndicatorType, &in.Action, &in.Application, &in.Source, &in.SourceType, &in.Severity,
		&in.Title, &in.Description, &in.RecommendedActions, &in.ExternalID, &in.EducateURL, &in.CreatedBy, &in.CreatedBySource,
		&in.CreatedByDisplayName, &in.LastUpdatedBy, &created, &updated, &expires, &names, &ids, &in.GenerateAlert)
	if err != nil {
		return in, err
	}
	in.ID = strconv.FormatInt(seq, 10)
	in.CreationTime, in.LastUpdateTime = FromNanos(created), FromNanos(updated)
	if expires != nil {
		t := FromNanos(*expires)
		in.ExpirationTime = &t
	}
	if names != "" {
		in.RBACGroupNames = strings.Split(names, "\n")
	}
	if ids != "" {
		for s := range strings.SplitSeq(ids, ",") {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return in, err
			}
			in.RBACGroupIDs = append(in.RBACGroupIDs, n)
		}
	}
	return in, nil
}

// joinIDs writes device group ids comma-separated.
func joinIDs(ids []int64) string {
	b := make([]byte, 0, 8*len(ids))
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(b)
}

// Indicators returns the tenant's indicators by id, expired ones
// included.
func (r Reader) Indicators(ctx context.Context, tenantID string) ([]openatp.Indicator, error) {
	seq, err := TenantSeq(ctx, r.q, tenantID)
	if err != nil {
		return nil, err
	}
	return List(ctx, r.q, "cannot list the indicators", scanIndicator,
		"SELECT "+indicatorColumns+" FROM indicators WHERE tenant_seq = ? ORDER BY seq", seq)
}

// Indicator returns one indicator by id.
func (r Reader) Indicator(ctx context.Context, tenantID, id string) (openatp.Indicator, error) {
	n, ok := indicatorSeq(id)
	if !ok {
		if _, err := TenantSeq(ctx, r.q, tenantID); err != nil {
			return openatp.Indicator{}, err
		}
		return openatp.Indicator{}, openatp.IndicatorNotFound(id)
	}
	return Get(ctx, r.q, "cannot read the indicator", func() error { return openatp.IndicatorNotFound(id) }, scanIndicator,
		"SELECT "+indicatorColumns+" FROM indicators WHERE tenant_seq = (SELECT seq FROM tenants WHERE id = ?) AND seq = ?", tenantID, n)
}

// indicatorSeq reads an indicator id.
func indicatorSeq(id string) (int64, bool) {
	if !openatp.ValidIndicatorID(id) {
		return 0, false
	}
	n, err := strconv.ParseInt(id, 10, 64)
	return n, err == nil
}

// DeleteIndicators deletes indicators by id, all or nothing.
func (w Writer) DeleteIndicators(ctx context.Context, tenantID string, ids []string) error {
	return w.TenantTx(ctx, tenantID, func(x Execer, seq int64) error {
		for _, id := range ids {
			n, ok := indicatorSeq(id)
			if !ok {
				return openatp.IndicatorNotFound(id)
			}
			c, err := Exec(ctx, x, "cannot delete the indicator", "DELETE FROM indicators WHERE tenant_seq = ? AND seq = ?", seq, n)
			if err != nil {
				return err
			}
			if c == 0 {
				return openatp.IndicatorNotFound(id)
			}
		}
		return nil
	})
}

// PutIndicators creates or updates indicators (see openatp.IndicatorStore).
func (w Writer) PutIndicators(ctx context.Context, tenantID string, ins []openatp.Indicator, now time.Time,
	may func(old *openatp.Indicator) error) ([]openatp.Indicator, []error, error) {
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
		numbered := next
		for i := range ins {
			in := ins[i]
			st := putState{active: active, next: next}
			if err := st.put(ctx, x, seq, in, now, may); err != nil {
				return err
			}
			out[i], errs[i], active, next = st.in, st.item, st.active, st.next
		}
		if next == numbered {
			return nil
		}
		_, err = Exec(ctx, x, "cannot number the indicator", "UPDATE indicator_counters SET last_seq = ? WHERE tenant_seq = ?", next, seq)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return out, errs, nil
}

// putState is what PutIndicators carries from an item to the next: the
// number of active indicators and the last number given; and what
// putState.put leaves of an item: the stored indicator or its error.
type putState struct {
	active, next int64
	in           openatp.Indicator
	item         error
}

// put writes one item of PutIndicators in x; its error is the store's.
func (st *putState) put(ctx context.Context, x Execer, seq int64, in openatp.Indicator, now time.Time, may func(old *openatp.Indicator) error) error {
	st.in = in
	fail := func(err error) error { st.item = err; return nil }
	if err := in.Normalize(); err != nil {
		return fail(err)
	}
	var expires *int64
	if in.ExpirationTime != nil {
		n, err := Nanos("expirationTime", *in.ExpirationTime)
		if err != nil {
			return fail(err)
		}
		t := in.ExpirationTime.UTC()
		in.ExpirationTime, expires = &t, &n
	}
	key := openatp.IndicatorValueKey(in.IndicatorType, in.IndicatorValue)
	byKey, err := List(ctx, x, "cannot read the indicator", scanIndicator,
		"SELECT "+indicatorColumns+" FROM indicators WHERE tenant_seq = ? AND value_key = ?", seq, key)
	if err != nil {
		return err
	}
	var old *openatp.Indicator
	if in.ID != "" {
		n, ok := indicatorSeq(in.ID)
		var found []openatp.Indicator
		if ok {
			found, err = List(ctx, x, "cannot read the indicator", scanIndicator,
				"SELECT "+indicatorColumns+" FROM indicators WHERE tenant_seq = ? AND seq = ?", seq, n)
			if err != nil {
				return err
			}
		}
		if len(found) == 0 {
			return fail(openatp.IndicatorNotFound(in.ID))
		}
		old = &found[0]
		if len(byKey) > 0 && byKey[0].ID != old.ID {
			return fail(openatp.CodedErrorf(openatp.Conflict, "Conflict",
				"Indicator %s has the same indicatorType and indicatorValue.", byKey[0].ID))
		}
	} else if len(byKey) > 0 {
		old = &byKey[0]
	}
	names, ids := strings.Join(in.RBACGroupNames, "\n"), joinIDs(in.RBACGroupIDs)
	in.LastUpdateTime = now.UTC().Round(openatp.TimePrecision)
	updated := in.LastUpdateTime.UnixNano()
	isActive := in.Active(now)
	if old != nil {
		if may != nil {
			if err := may(old); err != nil {
				return fail(err)
			}
		}
		wasActive := old.Active(now)
		if isActive && !wasActive {
			if st.active >= openatp.MaxActiveIndicators {
				return fail(openatp.TooManyIndicators())
			}
			st.active++
		} else if wasActive && !isActive {
			st.active--
		}
		in.ID, in.Application, in.CreationTime = old.ID, old.Application, old.CreationTime
		in.CreatedBy, in.CreatedBySource, in.CreatedByDisplayName = old.CreatedBy, old.CreatedBySource, old.CreatedByDisplayName
		in.Source, in.SourceType = old.Source, old.SourceType
		n, _ := indicatorSeq(old.ID)
		_, err := Exec(ctx, x, "cannot store the indicator", `UPDATE indicators SET value_key = ?, indicator_value = ?, indicator_type = ?,
			action = ?, severity = ?, title = ?, description = ?, recommended_actions = ?, external_id = ?, educate_url = ?,
			last_updated_by = ?, last_update_time = ?, expiration_time = ?, rbac_group_names = ?, rbac_group_ids = ?, generate_alert = ?
			WHERE tenant_seq = ? AND seq = ?`,
			key, in.IndicatorValue, in.IndicatorType, in.Action, in.Severity, in.Title, in.Description, in.RecommendedActions,
			in.ExternalID, in.EducateURL, in.LastUpdatedBy, updated, expires, names, ids, in.GenerateAlert, seq, n)
		st.in = in
		return err
	}
	if isActive {
		if st.active >= openatp.MaxActiveIndicators {
			return fail(openatp.TooManyIndicators())
		}
		st.active++
	}
	st.next++
	in.ID, in.CreationTime = strconv.FormatInt(st.next, 10), in.LastUpdateTime
	_, err = Exec(ctx, x, "cannot store the indicator", `INSERT INTO indicators (tenant_seq, seq, value_key, indicator_value, indicator_type,
		action, application, source, source_type, severity, title, description, recommended_actions, external_id, educate_url,
		created_by, created_by_source, created_by_display_name, last_updated_by, creation_time, last_update_time, expiration_time,
		rbac_group_names, rbac_group_ids, generate_alert) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		seq, st.next, key, in.IndicatorValue, in.IndicatorType, in.Action, in.Application, in.Source, in.SourceType, in.Severity,
		in.Title, in.Description, in.RecommendedActions, in.ExternalID, in.EducateURL, in.CreatedBy, in.CreatedBySource,
		in.CreatedByDisplayName, in.LastUpdatedBy, updated, updated, expires, names, ids, in.GenerateAlert)
	st.in = in
	return err
}
