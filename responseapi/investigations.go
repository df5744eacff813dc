package responseapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/mdeapi"
	"github.com/openatp/openatp/odata"
	"github.com/openatp/openatp/readmodel"
	"github.com/openatp/openatp/wire"
)

// Investigations (issue 23): POST /api/machines/{id}/startInvestigation
// opens an automated investigation of a machine, GET /api/investigations
// lists them (OData), GET /api/investigations/{id} reads one (by id or
// triggering alert id). An investigation is Running for the configured
// run time after its start, then Benign (openatp.Investigation.At), or
// the state the admin API's outcome names (actions.Controls).
// Permissions as the alerts': Alert.ReadWrite.All (Alert.ReadWrite and
// "Alerts investigation") to start, the alert read permissions to read;
// delegated callers see the investigations of their device groups'
// machines only.

// The properties of Investigations for OData, in the order of the entity.
const (
	invID = iota
	invStartTime
	invEndTime
	invState
	invCancelledBy
	invStatusDetails
	invMachineID
	invComputerDNSName
	invTriggeringAlertID
)

// investigationSchema describes Investigations: $filter on the documented
// properties (startTime, id, state, machineId, triggeringAlertId), and
// $orderby on them.
var investigationSchema = func() *odata.Schema {
	return odata.NewSchema(odata.Prop("id", odata.String, true), odata.Prop("startTime", odata.Time, true), odata.Prop("endTime", odata.Time, false),
		odata.Prop("state", odata.Enum, true, openatp.InvestigationStates...), odata.Prop("cancelledBy", odata.String, false), odata.Prop("statusDetails", odata.String, false),
		odata.Prop("machineId", odata.String, true), odata.Prop("computerDnsName", odata.String, false), odata.Prop("triggeringAlertId", odata.String, true))
}()

// investigationEntity is an Investigation as an odata.Entity.
type investigationEntity struct{ v *openatp.Investigation }

func (e investigationEntity) String(prop int) (string, bool) {
	opt := func(s *string) (string, bool) {
		if s == nil {
			return "", false
		}
		return *s, true
	}
	switch prop {
	case invID:
		return e.v.ID, true
	case invState:
		return e.v.State, true
	case invCancelledBy:
		return opt(e.v.CancelledBy)
	case invStatusDetails:
		return opt(e.v.StatusDetails)
	case invMachineID:
		return e.v.MachineID, true
	case invComputerDNSName:
		return opt(e.v.ComputerDNSName)
	case invTriggeringAlertID:
		return opt(e.v.TriggeringAlertID)
	}
	return "", false
}

func (investigationEntity) Int(int) (int64, bool) { return 0, false }

func (e investigationEntity) Time(prop int) (int64, bool) {
	switch prop {
	case invStartTime:
		return e.v.StartTime.UnixNano(), true
	case invEndTime:
		if t := e.v.EndTime; t != nil {
			return t.UnixNano(), true
		}
	}
	return 0, false
}

func (investigationEntity) Bool(int) (bool, bool) { return false, false }
func (investigationEntity) Strings(int) []string  { return nil }

// handleStartInvestigation serves POST
// /api/machines/{id}/startInvestigation (Comment required): 201 and the
// new investigation, Running.
func handleStartInvestigation(model *readmodel.Model, store openatp.Store, authn *httpserve.Authenticator, limiter httpserve.Limiter) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, body, err := mdeapi.WriteCall(r, authn, limiter, "machines/startinvestigation")
		if err != nil {
			return err
		}
		if err := mdeapi.RequirePermissions(p, mdeapi.AppAlertWrite, mdeapi.DelegatedAlertWrite); err != nil {
			return err
		}
		var comment string
		if raw, ok := body["Comment"]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &comment); err != nil {
				return openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "Comment: must be a string.")
			}
		}
		if comment == "" {
			return openatp.CodedErrorf(openatp.Invalid, "MissingRequiredParameter", "Parameter Comment is missing.")
		}
		view, access, err := mdeapi.ScopeFor(r, model, p, mdeapi.AppAlertWrite, mdeapi.DelegatedAlertWrite, openatp.PermAlertsInvestigation)
		if err != nil {
			return err
		}
		id := r.PathValue("id")
		mid, err := mdeapi.VisibleMachineID(view, access, id, nil)
		if err != nil {
			return err
		}
		inv, err := store.StartInvestigation(r.Context(), p.TenantID, openatp.Investigation{MachineID: mid, Requestor: requestor(p), Comment: comment})
		if openatp.IsKind(err, openatp.NotFound) {
			return mdeapi.MachineNotFound(id)
		}
		if err != nil {
			return err
		}
		writeInvestigation(w, r, http.StatusCreated, &inv)
		return nil
	})
}

// investigationAt returns an investigation of a tenant as it is at now,
// if it runs for run: openatp.Investigation.At, or the lifecycle's own
// (actions.Clock.InvestigationAt, with the admin API's outcomes).
type investigationAt func(tenantID string, inv openatp.Investigation, now time.Time, run time.Duration) openatp.Investigation

// investigationsOf is the investigationAt of an ActionTracker.
func investigationsOf(tracker ActionTracker) investigationAt {
	if c, ok := tracker.(interface {
		InvestigationAt(tenantID string, inv openatp.Investigation, now time.Time, run time.Duration) openatp.Investigation
	}); ok {
		return c.InvestigationAt
	}
	return func(_ string, inv openatp.Investigation, now time.Time, run time.Duration) openatp.Investigation {
		return inv.At(now, run)
	}
}

// handleInvestigation serves GET /api/investigations/{id}: by id, or by
// the triggering alert's id, as documented.
func handleInvestigation(model *readmodel.Model, store openatp.Store, authn *httpserve.Authenticator, limiter httpserve.Limiter, run time.Duration, at investigationAt) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := mdeapi.Caller(r, authn, limiter, "investigations", mdeapi.RequireAlertRead)
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
		inv, err := store.Investigation(r.Context(), p.TenantID, id)
		if err == nil && see != nil && !see(inv.MachineID) {
			err = openatp.InvestigationNotFound(id)
		}
		if err != nil {
			return err
		}
		inv = at(p.TenantID, inv, time.Now(), run)
		writeInvestigation(w, r, http.StatusOK, &inv)
		return nil
	})
}

// handleInvestigations serves GET /api/investigations: OData $filter,
// $orderby (default: id), $top (≤ 10,000), $skip, $count.
func handleInvestigations(model *readmodel.Model, store openatp.Store, authn *httpserve.Authenticator, limiter httpserve.Limiter, run time.Duration, at investigationAt) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := mdeapi.Caller(r, authn, limiter, "investigations", mdeapi.RequireAlertRead)
		if err != nil {
			return err
		}
		q, err := mdeapi.ListQuery(r, investigationSchema, "Investigations")
		if err != nil {
			return err
		}
		see, release, err := actionVisibility(r, model, p, openatp.PermViewData)
		if err != nil {
			return err
		}
		defer release()
		all, err := store.Investigations(r.Context(), p.TenantID)
		if err != nil {
			return err
		}
		now := time.Now()
		for i := range all {
			all[i] = at(p.TenantID, all[i], now, run)
		}
		mdeapi.WriteList(w, r, q, "Investigations", all,
			func(inv *openatp.Investigation) bool {
				return q.Filter.Match(investigationEntity{inv}) && (see == nil || see(inv.MachineID))
			},
			func(keys []odata.OrderKey, a, b *openatp.Investigation) int {
				return investigationSchema.Compare(keys, investigationEntity{a}, investigationEntity{b})
			}, 320, appendInvestigation)
		return nil
	})
}

// writeInvestigation writes one investigation as a single entity.
func writeInvestigation(w http.ResponseWriter, r *http.Request, status int, inv *openatp.Investigation) {
	mdeapi.WriteEntity(w, r, status, "Investigations", appendInvestigation(nil, inv))
}

// appendInvestigation appends the JSON of an investigation, its
// properties in the order of the documented example.
func appendInvestigation(b []byte, inv *openatp.Investigation) []byte {
	b = append(b, `{"id":`...)
	b = wire.AppendString(b, inv.ID)
	b = append(b, `,"startTime":`...)
	b = wire.AppendTime(b, &inv.StartTime)
	b = append(b, `,"endTime":`...)
	b = wire.AppendTime(b, inv.EndTime)
	b = append(b, `,"state":`...)
	b = wire.AppendString(b, inv.State)
	b = append(b, `,"cancelledBy":`...)
	b = wire.AppendStringPtr(b, inv.CancelledBy)
	b = append(b, `,"statusDetails":`...)
	b = wire.AppendStringPtr(b, inv.StatusDetails)
	b = append(b, `,"machineId":`...)
	b = wire.AppendString(b, inv.MachineID)
	b = append(b, `,"computerDnsName":`...)
	b = wire.AppendStringPtr(b, inv.ComputerDNSName)
	b = append(b, `,"triggeringAlertId":`...)
	b = wire.AppendStringPtr(b, inv.TriggeringAlertID)
	return append(b, '}')
}
