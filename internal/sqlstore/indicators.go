package sqlstore

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"

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
// included; with keys, only those of these value keys (an index lookup,
// which reads the tenant's number only when it finds none).
func (r Reader) Indicators(ctx context.Context, tenantID string, keys ...string) ([]openatp.Indicator, error) {
	if len(keys) == 0 {
		seq, err := TenantSeq(ctx, r.q, tenantID)
		if err != nil {
			return nil, err
		}
		return List(ctx, r.q, "cannot list the indicators", scanIndicator,
			"SELECT "+indicatorColumns+" FROM indicators WHERE tenant_seq = ? ORDER BY seq", seq)
	}
	out := []openatp.Indicator{}
	err := InChunks(keys, func(list string, args []any) error {
		found, err := List(ctx, r.q, "cannot list the indicators", scanIndicator, "SELECT "+indicatorColumns+
			" FROM indicators WHERE tenant_seq = (SELECT seq FROM tenants WHERE id = ?) AND value_key IN "+list, append([]any{tenantID}, args...)...)
		out = append(out, found...)
		return err
	})
	if err == nil && len(out) == 0 {
		_, err = TenantSeq(ctx, r.q, tenantID)
	}
	slices.SortFunc(out, func(a, b openatp.Indicator) int {
		n, _ := indicatorSeq(a.ID)
		m, _ := indicatorSeq(b.ID)
		return cmp.Compare(n, m)
	})
	return out, err
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
