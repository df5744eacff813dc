package indicatorapi

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/ingest/indicatorio"
	"github.com/openatp/openatp/mdeapi"
	"github.com/openatp/openatp/observable"
	"github.com/openatp/openatp/odata"
)

// The permissions of every indicator route.
var (
	appTi       = []string{openatp.PermTiReadWrite, openatp.PermTiReadWriteAll}
	delegatedTi = []string{openatp.PermTiReadWrite}
	// rolePerms are the role permissions that let a delegated caller
	// manage indicators: "Manage security settings" (indicators
	// allow/block) or "Active remediation actions" (its Security
	// Operations part names indicators), mde-reference §4.2.
	rolePerms = []string{openatp.PermManageSecuritySettings, openatp.PermActiveRemediation}
)

func requireTi(p *openatp.Principal) error { return mdeapi.RequirePermissions(p, appTi, delegatedTi) }

// scope is what a caller may see and change of the tenant's indicators.
type scope struct {
	p *openatp.Principal
	// owner, when set, is the only creator whose indicators are visible
	// (an application with Ti.ReadWrite alone).
	owner string
	// access is a delegated caller's (nil: every device group).
	access *openatp.Access
	// groups are the tenant's device groups, the default one included.
	groups []openatp.DeviceGroup
}

// callerScope returns p's scope, or Forbidden for a delegated caller
// without the role permission.
func (rt *routes) callerScope(r *http.Request, p *openatp.Principal) (*scope, error) {
	sc := &scope{p: p}
	if !p.Delegated {
		if !p.HasAny(openatp.PermTiReadWriteAll) {
			sc.owner = p.ClientID
		}
	} else {
		view, access, err := mdeapi.MachineScope(r.Context(), rt.model, p)
		if err != nil {
			return nil, err
		}
		view.Release()
		if access != nil && !slices.ContainsFunc(rolePerms, access.Has) {
			return nil, openatp.CodedErrorf(openatp.Forbidden, "Forbidden",
				"The user %s has no role with the '%s' permission.", mdeapi.ClipID(p.UserName), rolePerms[0])
		}
		if access != nil && !access.AllGroups {
			sc.access = access
		}
	}
	return sc, nil
}

// owns reports whether the caller's application rule lets it see in.
func (sc *scope) owns(in *openatp.Indicator) bool {
	return sc.owner == "" || (in.SourceType == openatp.IndicatorSourceApp && in.CreatedBy == sc.owner)
}

// exposed reports whether the caller may see every device group of in.
func (sc *scope) exposed(in *openatp.Indicator) bool {
	if sc.access == nil {
		return true
	}
	for _, id := range in.RBACGroupIDs {
		if !sc.access.CanSee(id) {
			return false
		}
	}
	return true
}

// visible reports whether the caller sees in, active at now.
func (sc *scope) visible(in *openatp.Indicator, now time.Time) bool {
	return in.Active(now) && sc.owns(in) && sc.exposed(in)
}

// The properties of Indicators for OData, in the order of the entity.
const (
	pID = iota
	pValue
	pType
	pAction
	pApplication
	pSource
	pSourceType
	pCreatedBy
	pCreatedBySource
	pCreatedByDisplayName
	pSeverity
	pTitle
	pDescription
	pRecommendedActions
	pCreationTime
	pExpirationTime
	pLastUpdateTime
	pLastUpdatedBy
	pRBACGroupNames
	pRBACGroupIDs
	pGenerateAlert
)

// schema describes Indicators: $filter on the documented properties
// (application, createdByDisplayName, expirationTime, generateAlert,
// title, rbacGroupNames, rbacGroupIds, indicatorValue, indicatorType,
// creationTimeDateTimeUtc, createdBy, action, severity) and id,
// lastUpdateTime, sourceType; $orderby on those that are not lists.
var schema = func() *odata.Schema {
	q := odata.Prop
	return odata.NewSchema(q("id", odata.String, true), q("indicatorValue", odata.String, true),
		q("indicatorType", odata.Enum, true, openatp.IndicatorTypes...), q("action", odata.Enum, true, openatp.IndicatorActions...),
		q("application", odata.String, true), q("source", odata.String, false),
		q("sourceType", odata.Enum, true, openatp.IndicatorSourceTypes...), q("createdBy", odata.String, true),
		q("createdBySource", odata.String, false), q("createdByDisplayName", odata.String, true),
		q("severity", odata.Enum, true, openatp.IndicatorSeverities...), q("title", odata.String, true),
		q("description", odata.String, false), q("recommendedActions", odata.String, false),
		q("creationTimeDateTimeUtc", odata.Time, true), q("expirationTime", odata.Time, true),
		q("lastUpdateTime", odata.Time, true), q("lastUpdatedBy", odata.String, false),
		q("rbacGroupNames", odata.StringCollection, true), q("rbacGroupIds", odata.StringCollection, true),
		q("generateAlert", odata.Bool, true))
}()

// entity is an Indicator as an odata.Entity.
type entity struct{ v *openatp.Indicator }

func (e entity) String(prop int) (string, bool) {
	opt := func(s *string) (string, bool) {
		if s == nil {
			return "", false
		}
		return *s, true
	}
	v := e.v
	switch prop {
	case pID:
		return v.ID, true
	case pValue:
		return v.IndicatorValue, true
	case pType:
		return v.IndicatorType, true
	case pAction:
		return v.Action, true
	case pApplication:
		return opt(v.Application)
	case pSource:
		return v.Source, true
	case pSourceType:
		return v.SourceType, true
	case pCreatedBy:
		return v.CreatedBy, true
	case pCreatedBySource:
		return v.CreatedBySource, true
	case pCreatedByDisplayName:
		return v.CreatedByDisplayName, true
	case pSeverity:
		return v.Severity, true
	case pTitle:
		return v.Title, true
	case pDescription:
		return v.Description, true
	case pRecommendedActions:
		return opt(v.RecommendedActions)
	case pLastUpdatedBy:
		return v.LastUpdatedBy, true
	}
	return "", false
}

func (entity) Int(int) (int64, bool) { return 0, false }

func (e entity) Time(prop int) (int64, bool) {
	switch prop {
	case pCreationTime:
		return e.v.CreationTime.UnixNano(), true
	case pLastUpdateTime:
		return e.v.LastUpdateTime.UnixNano(), true
	case pExpirationTime:
		if t := e.v.ExpirationTime; t != nil {
			return t.UnixNano(), true
		}
	}
	return 0, false
}

func (e entity) Bool(prop int) (bool, bool) { return e.v.GenerateAlert, prop == pGenerateAlert }

func (e entity) Strings(prop int) []string {
	switch prop {
	case pRBACGroupNames:
		return e.v.RBACGroupNames
	case pRBACGroupIDs:
		return groupIDs(e.v.RBACGroupIDs)
	}
	return nil
}

func groupIDs(ids []int64) []string { return indicatorio.GroupIDs(ids) }

// appendIndicator appends the JSON of an indicator.
func appendIndicator(b []byte, in *openatp.Indicator) []byte {
	return indicatorio.AppendIndicator(b, in)
}

// writeEntity answers one indicator with the @odata.context of
// Indicators/$entity.
func writeEntity(w http.ResponseWriter, r *http.Request, in *openatp.Indicator) {
	mdeapi.WriteEntity(w, r, http.StatusOK, "Indicators", appendIndicator(nil, in))
}

// handleList serves GET /api/indicators: the active indicators the
// caller sees, by id, with OData $filter, $orderby, $top (≤ 10,000),
// $skip, $count and nextLink. The answer is kept (internal/answercache)
// by the request and what the caller sees, at the store's data version,
// until the first indicator it lists expires: a repeated request after
// the same checks (token, permissions, rate limit, role) writes the kept
// bytes; any write to the store makes it stale.
func (rt *routes) handleList() http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := mdeapi.Caller(r, rt.authn, rt.lim(endpointIndicators), endpointIndicators, requireTi)
		if err != nil {
			return err
		}
		// The query's errors come before a delegated caller's scope (its
		// role, its device groups, which may wait for the read model);
		// an application's scope is its token alone, and a kept answer
		// (of a valid query: only a 200 is kept) is found without
		// parsing the query again.
		var q *odata.Query
		if p.Delegated {
			if q, err = mdeapi.ListQuery(r, schema, "Indicators"); err != nil {
				return err
			}
		}
		sc, err := rt.callerScope(r, p)
		if err != nil {
			return err
		}
		now := rt.now()
		dv, dvOK := mdeapi.DataVersion(r.Context(), rt.model)
		var k mdeapi.DataKept
		if dvOK {
			k = mdeapi.KeepAt(rt.answers, r, p.TenantID, sc.access, sc.owner, dv)
			if k.Serve(w, now) {
				return nil
			}
		}
		if q == nil {
			if q, err = mdeapi.ListQuery(r, schema, "Indicators"); err != nil {
				return err
			}
		}
		all, err := rt.cache.indicators(r.Context(), p.TenantID, valueKeys(q.Filter), dv, dvOK)
		if err != nil {
			return err
		}
		var until time.Time // the first expiry of a listed indicator
		keep := func(in *openatp.Indicator) bool {
			if !sc.visible(in, now) || !q.Filter.Match(entity{in}) {
				return false
			}
			if t := in.ExpirationTime; t != nil && (until.IsZero() || t.Before(until)) {
				until = *t
			}
			return true
		}
		mdeapi.WriteList(k.Writer(w), r, q, "Indicators", all, keep,
			func(keys []odata.OrderKey, a, b *openatp.Indicator) int {
				return schema.Compare(keys, entity{a}, entity{b})
			}, 700, appendIndicator)
		k.Done(until)
		return nil
	})
}

// valueKeys are the value keys an index lookup reads for a filter that
// holds only for a few indicatorValues ("indicatorValue eq '…'", "in
// (…)"): each value under every type it is valid for, a superset of the
// indicators the filter matches (which it then checks); none for any
// other filter.
func valueKeys(f *odata.Filter) []string {
	values, ok := f.EqualityOn(pValue)
	if !ok {
		return nil
	}
	keys := make([]string, 0, len(values))
	for _, v := range values {
		v = strings.TrimSpace(v)
		for _, t := range typesOf(v) {
			keys = append(keys, openatp.IndicatorValueKey(t, v))
		}
	}
	if len(keys) == 0 {
		return []string{""} // matches no indicator
	}
	return keys
}

// typesOf returns the indicator types value may be of: at least those
// openatp.ValidateIndicatorValue accepts it for (a stored value is valid
// for its type, and so is what equals it but for case, as the filter's
// values are folded), by the same tests without building their errors.
func typesOf(v string) []string {
	var ts []string
	switch {
	case observable.IsHex(v, observable.SHA1Len):
		ts = append(ts, openatp.IndicatorFileSha1, openatp.IndicatorCertificateThumbprint)
	case observable.IsHex(v, observable.SHA256Len):
		ts = append(ts, openatp.IndicatorFileSha256)
	case observable.IsHex(v, observable.MD5Len):
		ts = append(ts, openatp.IndicatorFileMd5)
	}
	if _, ok := observable.Addr(v); ok {
		ts = append(ts, openatp.IndicatorIPAddress)
	}
	if strings.ContainsAny(v, ".:") { // a domain has two labels, a URL's host is one or an address
		if observable.IsDomain(v) {
			ts = append(ts, openatp.IndicatorDomainName)
		}
		if observable.IsURL(v) {
			ts = append(ts, openatp.IndicatorURL)
		}
	}
	return ts
}

// oneCall is the start of a call of GET or DELETE
// /api/indicators/{id}: the caller and the indicator as it sees it.
func (rt *routes) oneCall(r *http.Request) (*openatp.Principal, openatp.Indicator, error) {
	p, err := mdeapi.Caller(r, rt.authn, rt.lim(endpointIndicators), endpointIndicators, requireTi)
	if err != nil {
		return nil, openatp.Indicator{}, err
	}
	if err := mdeapi.NoQuery(r); err != nil {
		return nil, openatp.Indicator{}, err
	}
	sc, err := rt.callerScope(r, p)
	if err != nil {
		return nil, openatp.Indicator{}, err
	}
	in, err := rt.visibleIndicator(r, sc, r.PathValue("id"))
	return p, in, err
}

// visibleIndicator reads the indicator id as the caller sees it:
// IndicatorNotFound when it does not exist, has expired or is hidden.
func (rt *routes) visibleIndicator(r *http.Request, sc *scope, id string) (openatp.Indicator, error) {
	in, err := rt.store.Indicator(r.Context(), sc.p.TenantID, id)
	if err == nil && !sc.visible(&in, rt.now()) {
		err = openatp.IndicatorNotFound(id)
	}
	return in, err
}

// handleGet serves GET /api/indicators/{id}.
func (rt *routes) handleGet() http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		_, in, err := rt.oneCall(r)
		if err != nil {
			return err
		}
		writeEntity(w, r, &in)
		return nil
	})
}
