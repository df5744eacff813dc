package responseapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/internal/actionrequest"
	"github.com/openatp/openatp/mdeapi"
	"github.com/openatp/openatp/odata"
	"github.com/openatp/openatp/readmodel"
	"github.com/openatp/openatp/wire"
)

// The machine actions (issue 23; mde-reference §12.3.1): POST
// /api/machines/{id}/<action> starts one, /api/machineactions lists them,
// /api/machineactions/{id} reads one, .../cancel cancels it. Actions are
// read from the store (they are not in the read model); the machine an
// action names is found, and its device group checked, in the read model.
// A delegated mdeapi.Caller sees and acts on the actions of machines in its
// device groups only: another's action, like another's machine, does not
// exist for it.

// ActionTracker is told of every action a route creates or cancels, so
// that its lifecycle runs (package actions' Clock).
type ActionTracker interface {
	Track(tenantID string, a openatp.MachineAction)
}

// actionFailer is an ActionTracker that can make a new action end Failed
// (actions.Clock): what a fail-action fault rule asks.
type actionFailer interface {
	TrackFailing(tenantID string, a openatp.MachineAction, hresult int32)
}

// trackNew tells tracker (if any) of action a, which request r created:
// to end Failed if a fail-action fault rule applied to r
// (httpserve.ActionFault).
func trackNew(r *http.Request, tracker ActionTracker, tenantID string, a openatp.MachineAction) {
	if tracker == nil {
		return
	}
	if h, ok := httpserve.ActionFault(r.Context()); ok {
		if f, ok := tracker.(actionFailer); ok {
			f.TrackFailing(tenantID, a, h)
			return
		}
	}
	tracker.Track(tenantID, a)
}

// actionRoutes are the action routes of a machine: the path segment (as
// documented: the server matches it in any case, so XSOAR's
// stopAndQuarantineFile is StopAndQuarantineFile), the type it starts and
// its success status (offboard's is documented as 200).
var actionRoutes = []struct {
	segment, typ string
	status       int
}{
	{"isolate", openatp.ActionIsolate, http.StatusCreated},
	{"unisolate", openatp.ActionUnisolate, http.StatusCreated},
	{"runAntiVirusScan", openatp.ActionRunAntiVirusScan, http.StatusCreated},
	{"restrictCodeExecution", openatp.ActionRestrictCodeExecution, http.StatusCreated},
	{"unrestrictCodeExecution", openatp.ActionUnrestrictCodeExecution, http.StatusCreated},
	{"collectInvestigationPackage", openatp.ActionCollectInvestigationPackage, http.StatusCreated},
	{"StopAndQuarantineFile", openatp.ActionStopAndQuarantineFile, http.StatusCreated},
	{"offboard", openatp.ActionOffboard, http.StatusOK},
}

// actionRolePermission is the role permission a delegated mdeapi.Caller needs to
// start an action of type typ (mde-reference §12.3.1.2).
func actionRolePermission(typ string) string {
	if typ == openatp.ActionCollectInvestigationPackage {
		return openatp.PermAlertsInvestigation
	}
	return openatp.PermActiveRemediation
}

// handleStartAction serves POST /api/machines/{id}/<action> for actions of
// type typ: status (201, or offboard's 200) and the new action, Pending.
func handleStartAction(typ string, status int, model *readmodel.Model, store openatp.Store, authn *httpserve.Authenticator, limiter httpserve.Limiter, tracker ActionTracker) http.Handler {
	perm := []string{openatp.ActionPermission(typ)}
	endpoint := "machines/" + strings.ToLower(typ)
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, body, err := mdeapi.WriteCall(r, authn, limiter, endpoint)
		if err != nil {
			return err
		}
		if err := mdeapi.RequirePermissions(p, perm, perm); err != nil {
			return err // before the body's checks: a mdeapi.Caller without the permission learns nothing more
		}
		req := actionrequest.Request{Type: typ}
		for _, f := range []struct {
			name string
			v    *string
		}{{"Comment", &req.Comment}, {"IsolationType", &req.IsolationType}, {"ScanType", &req.ScanType}, {"Sha1", &req.Sha1}} {
			if raw, ok := body[f.name]; ok && string(raw) != "null" {
				if err := json.Unmarshal(raw, f.v); err != nil {
					return openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "%s: must be a string.", f.name)
				}
			}
		}
		if err := req.Validate(); err != nil {
			return err
		}
		view, access, err := mdeapi.ScopeFor(r, model, p, perm, perm, actionRolePermission(typ))
		if err != nil {
			return err
		}
		id := r.PathValue("id")
		mid, err := mdeapi.VisibleMachineID(view, access, id, func(v *readmodel.View, id string) (uint32, bool) { return actionMachine(v, id, access) })
		if err != nil {
			return err
		}
		a, err := req.Action(&openatp.Machine{ID: mid}, requestor(p), openatp.ActionRequestSource)
		if err != nil {
			return err
		}
		a, err = store.CreateMachineAction(r.Context(), p.TenantID, a)
		if openatp.IsKind(err, openatp.NotFound) {
			return mdeapi.MachineNotFound(id) // deleted meanwhile
		}
		if err != nil {
			return err
		}
		trackNew(r, tracker, p.TenantID, a)
		writeAction(w, r, status, &a)
		return nil
	})
}

// actionMachine finds the machine that the {id} of an action route names:
// a machine id or computer name (as /api/machines/{id} takes it), or the
// machine's aadDeviceId, which clients send. Of several machines with
// that aadDeviceId, the one seen last that access (nil: every one) may see
// is taken, as of several with one name.
func actionMachine(view *readmodel.View, id string, access *openatp.Access) (uint32, bool) {
	if s, ok := view.Machine(id); ok || !openatp.IsGUID(id) {
		return s, ok
	}
	// id is a GUID: it may go into the filter's quotes as it is.
	f, err := odata.Parse(wire.MachineSchema, "aadDeviceId eq '"+id+"'")
	if err != nil {
		return 0, false
	}
	page, _, _ := view.QueryMachines(readmodel.MachineQuery{Filter: f, Access: access, Top: 1,
		OrderBy: []odata.OrderKey{{Prop: wire.MLastSeen, Desc: true}}})
	if len(page) == 0 {
		return 0, false
	}
	return page[0], true
}

// requestor is who an action records as its requestor: the application's
// client id, or the signed-in user's name.
func requestor(p *openatp.Principal) string {
	if p.Delegated {
		return p.UserName
	}
	return p.ClientID
}

// actionNotFound is the answer for an action that does not exist or that
// the mdeapi.Caller may not see.
func actionNotFound(id string) error {
	return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "Machine action %s was not found", mdeapi.ClipID(id))
}

// handleMachineAction serves GET /api/machineactions/{id}.
func handleMachineAction(model *readmodel.Model, store openatp.Store, authn *httpserve.Authenticator, limiter httpserve.Limiter) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := mdeapi.Caller(r, authn, limiter, "machineactions", mdeapi.RequireMachineRead)
		if err != nil {
			return err
		}
		if err := mdeapi.NoQuery(r); err != nil {
			return err
		}
		id := r.PathValue("id")
		see, release, err := actionVisibility(r, model, p, openatp.PermViewData)
		if err != nil {
			return err
		}
		defer release()
		a, err := store.MachineAction(r.Context(), p.TenantID, strings.ToLower(id))
		if openatp.IsKind(err, openatp.NotFound) || (err == nil && see != nil && !see(a.MachineID)) {
			return actionNotFound(id)
		}
		if err != nil {
			return err
		}
		writeAction(w, r, http.StatusOK, &a)
		return nil
	})
}

// handleCancelAction serves POST /api/machineactions/{id}/cancel: 200 and
// the action, Cancelled; a final action is refused (400), an unknown one
// 404.
func handleCancelAction(model *readmodel.Model, store openatp.Store, authn *httpserve.Authenticator, limiter httpserve.Limiter, tracker ActionTracker) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, body, err := mdeapi.WriteCall(r, authn, limiter, "machineactions/cancel")
		if err != nil {
			return err
		}
		if err := mdeapi.RequirePermissions(p, openatp.ActionPermissions, openatp.ActionPermissions); err != nil {
			return err
		}
		var comment string
		if raw, ok := body["Comment"]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &comment); err != nil {
				return openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "Comment: must be a string.")
			}
		}
		id := r.PathValue("id")
		see, release, err := actionVisibility(r, model, p, openatp.PermActiveRemediation)
		if err != nil {
			return err
		}
		defer release()
		a, err := store.UpdateMachineAction(r.Context(), p.TenantID, strings.ToLower(id), func(a *openatp.MachineAction, stamp time.Time) error {
			if see != nil && !see(a.MachineID) {
				return actionNotFound(id)
			}
			return a.Cancel(requestor(p), comment, stamp)
		})
		if openatp.IsKind(err, openatp.NotFound) {
			return actionNotFound(id)
		}
		if err != nil {
			return err
		}
		if tracker != nil {
			tracker.Track(p.TenantID, a)
		}
		writeAction(w, r, http.StatusOK, &a)
		return nil
	})
}

// actionVisibility returns whether p may see the actions of a machine
// (see nil: every one) and the function that releases what it holds.
// A delegated mdeapi.Caller needs a role with rolePerm.
func actionVisibility(r *http.Request, model *readmodel.Model, p *openatp.Principal, rolePerm string) (see func(machineID string) bool, release func(), err error) {
	release = func() {}
	if !p.Delegated {
		return nil, release, nil
	}
	view, access, err := mdeapi.MachineScope(r.Context(), model, p)
	if err != nil {
		return nil, release, err
	}
	if access == nil {
		view.Release()
		return nil, release, nil
	}
	if !access.Has(rolePerm) {
		view.Release()
		return nil, release, openatp.CodedErrorf(openatp.Forbidden, "Forbidden", "The user %s has no role with the '%s' permission.", mdeapi.ClipID(p.UserName), rolePerm)
	}
	see = func(machineID string) bool {
		s, ok := view.Machine(machineID)
		return ok && access.CanSee(view.GroupID(s))
	}
	return see, view.Release, nil
}

// The properties of MachineActions for OData, in the order of the entity.
const (
	maID = iota
	maType
	maTitle
	maRequestor
	maRequestorComment
	maStatus
	maMachineID
	maComputerDNSName
	maCreation
	maLastUpdate
	maCancellationRequestor
	maCancellationComment
	maCancellation
	maErrorHResult
	maScope
	maExternalID
	maRequestSource
	maTroubleshootInfo
)

// actionSchema describes MachineActions: $filter and $orderby on the
// documented properties (id, status, machineId, type, requestor,
// creationDateTimeUtc) and lastUpdateDateTimeUtc, which clients poll on.
var actionSchema = func() *odata.Schema {
	return odata.NewSchema(odata.Prop("id", odata.String, true), odata.Prop("type", odata.Enum, true, openatp.ActionTypes...), odata.Prop("title", odata.String, false),
		odata.Prop("requestor", odata.String, true), odata.Prop("requestorComment", odata.String, false), odata.Prop("status", odata.Enum, true, openatp.ActionStatuses...),
		odata.Prop("machineId", odata.String, true), odata.Prop("computerDnsName", odata.String, false), odata.Prop("creationDateTimeUtc", odata.Time, true),
		odata.Prop("lastUpdateDateTimeUtc", odata.Time, true), odata.Prop("cancellationRequestor", odata.String, false), odata.Prop("cancellationComment", odata.String, false),
		odata.Prop("cancellationDateTimeUtc", odata.Time, false), odata.Prop("errorHResult", odata.Int, false), odata.Prop("scope", odata.String, false), odata.Prop("externalId", odata.String, false),
		odata.Prop("requestSource", odata.String, false), odata.Prop("troubleshootInfo", odata.String, false))
}()

// actionEntity is a MachineAction as an odata.Entity.
type actionEntity struct{ a *openatp.MachineAction }

func (e actionEntity) String(prop int) (string, bool) {
	a := e.a
	opt := func(s *string) (string, bool) {
		if s == nil {
			return "", false
		}
		return *s, true
	}
	switch prop {
	case maID:
		return a.ID, true
	case maType:
		return a.Type, true
	case maTitle:
		return opt(a.Title)
	case maRequestor:
		return a.Requestor, true
	case maRequestorComment:
		return a.RequestorComment, true
	case maStatus:
		return a.Status, true
	case maMachineID:
		return a.MachineID, true
	case maComputerDNSName:
		return opt(a.ComputerDNSName)
	case maCancellationRequestor:
		return opt(a.CancellationRequestor)
	case maCancellationComment:
		return opt(a.CancellationComment)
	case maScope:
		return opt(a.Scope)
	case maExternalID:
		return opt(a.ExternalID)
	case maRequestSource:
		return opt(a.RequestSource)
	case maTroubleshootInfo:
		return opt(a.TroubleshootInfo)
	}
	return "", false
}

func (e actionEntity) Int(prop int) (int64, bool) {
	return int64(e.a.ErrorHResult), prop == maErrorHResult
}

func (e actionEntity) Time(prop int) (int64, bool) {
	switch prop {
	case maCreation:
		return e.a.CreationDateTimeUTC.UnixNano(), true
	case maLastUpdate:
		return e.a.LastUpdateDateTimeUTC.UnixNano(), true
	case maCancellation:
		if t := e.a.CancellationDateTimeUTC; t != nil {
			return t.UnixNano(), true
		}
	}
	return 0, false
}

func (actionEntity) Bool(int) (bool, bool) { return false, false }
func (actionEntity) Strings(int) []string  { return nil }

// storeFilter is what the store can select of a query's filter: the
// values or time bounds every match must have. The filter itself is
// applied after, so this only narrows the read.
func storeFilter(f *odata.Filter) openatp.MachineActionFilter {
	var sf openatp.MachineActionFilter
	if f == nil {
		return sf
	}
	// Equality values come folded (lower case): ids and machine ids are
	// stored so; enums take their canonical spelling back.
	if vs, ok := f.EqualityOn(maID); ok {
		sf.IDs = vs
	}
	if vs, ok := f.EqualityOn(maMachineID); ok {
		sf.MachineIDs = vs
	}
	for _, e := range []struct {
		prop   int
		values []string
		dst    *[]string
	}{{maStatus, openatp.ActionStatuses, &sf.Statuses}, {maType, openatp.ActionTypes, &sf.Types}} {
		if vs, ok := f.EqualityOn(e.prop); ok {
			*e.dst = []string{}
			for _, v := range vs {
				if c, ok := openatp.CanonicalEnum(e.values, v); ok {
					*e.dst = append(*e.dst, c)
				}
			}
			if len(*e.dst) == 0 {
				*e.dst = []string{"-"} // no value can match
			}
		}
	}
	for _, t := range []struct {
		prop int
		dst  *openatp.TimeRange
	}{{maCreation, &sf.Created}, {maLastUpdate, &sf.Updated}} {
		if lo, hi, ok := f.TimeRange(t.prop); ok {
			l, h := time.Unix(0, lo), time.Unix(0, hi)
			t.dst.From, t.dst.Until = &l, &h
		}
	}
	return sf
}

// handleMachineActions serves GET /api/machineactions with OData: $filter,
// $orderby (default lastUpdateDateTimeUtc ascending), $top (at most
// 10,000, the default), $skip, $count; @odata.nextLink while more match.
//
// The poll (a filter on lastUpdateDateTimeUtc alone, in its order) is
// answered from memory (actionIndex); any other query reads the store.
func handleMachineActions(model *readmodel.Model, store openatp.Store, authn *httpserve.Authenticator, limiter httpserve.Limiter) http.Handler {
	index := newActionIndex(store)
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := mdeapi.Caller(r, authn, limiter, "machineactions", mdeapi.RequireMachineRead)
		if err != nil {
			return err
		}
		q, err := mdeapi.ListQuery(r, actionSchema, "MachineActions")
		if err != nil {
			return err
		}
		see, release, err := actionVisibility(r, model, p, openatp.PermViewData)
		if err != nil {
			return err
		}
		defer release()
		if servable(q) {
			return index.writePage(w, r, p.TenantID, q, see)
		}
		all, err := store.MachineActions(r.Context(), p.TenantID, storeFilter(q.Filter))
		if err != nil {
			return err
		}
		mdeapi.WriteList(w, r, q, "MachineActions", all,
			func(a *openatp.MachineAction) bool {
				return q.Filter.Match(actionEntity{a}) && (see == nil || see(a.MachineID))
			},
			func(keys []odata.OrderKey, a, b *openatp.MachineAction) int {
				return actionSchema.Compare(keys, actionEntity{a}, actionEntity{b})
			}, 512, appendAction)
		return nil
	})
}

// writeAction writes one action as a single entity with status.
func writeAction(w http.ResponseWriter, r *http.Request, status int, a *openatp.MachineAction) {
	mdeapi.WriteEntity(w, r, status, "MachineActions", appendAction(nil, a))
}

// appendAction appends the JSON of an action (wire.AppendMachineAction).
func appendAction(b []byte, a *openatp.MachineAction) []byte { return wire.AppendMachineAction(b, a) }
