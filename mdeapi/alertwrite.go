package mdeapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/readmodel"
)

// The writes of the Alert API: PATCH /api/alerts/{id}, POST
// /api/alerts/batchUpdate and POST /api/alerts/CreateAlertByReference.
// Each needs Alert.ReadWrite.All (or the documented Alerts.ReadWrite.All)
// as an application, or Alert.ReadWrite with a role that has 'Alerts
// investigation' and access to the alert's machine as a delegated Caller;
// an alert or machine the Caller may not see is answered as one that does
// not exist. Every accepted write stamps the alerts it changes with a new
// lastUpdateTime (openatp.AlertStore).

// maxBatchAlerts is the most alerts of one batchUpdate (the service
// documents no limit; openatp takes the AddOrRemoveTag one's).
const maxBatchAlerts = 500

// The window in which CreateAlertByReference finds an event: advanced
// hunting keeps 30 days, and a clock a little ahead is forgiven.
const (
	eventRetention = 30 * 24 * time.Hour
	eventSkew      = 15 * time.Minute
)

// alertChange is what PATCH and batchUpdate change: each field set when
// the body names it (a nil value clears a nullable property).
type alertChange struct {
	status, assignedTo, classification, determination, comment **string
}

// readAlertChange reads status, assignedTo, classification, determination
// and comment from a body (names case-sensitive, as documented; enum
// values of either era in any case); other properties but those in extra
// are refused, and so is a body that names none of the five.
func readAlertChange(body map[string]json.RawMessage, extra ...string) (alertChange, error) {
	var c alertChange
	bad := func(format string, args ...any) (alertChange, error) {
		return c, openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", format, args...)
	}
	names := make([]string, 0, len(body))
	for name := range body {
		names = append(names, name)
	}
	slices.Sort(names) // the first bad property of a body is the same every time
	for _, name := range names {
		if slices.Contains(extra, name) {
			continue
		}
		v := new(string)
		var values []string
		switch name {
		case "status":
			c.status, values = &v, []string{"New", "InProgress", "Resolved"}
		case "assignedTo":
			c.assignedTo = &v
		case "classification":
			c.classification, values = &v, openatp.AlertClassifications
		case "determination":
			c.determination, values = &v, openatp.AlertDeterminations
		case "comment":
			c.comment = &v
		default:
			return bad("%s: only status, assignedTo, classification, determination and comment can be updated.", ClipID(name))
		}
		if err := json.Unmarshal(body[name], &v); err != nil {
			return bad("%s: must be a string.", name)
		}
		switch {
		case v == nil && (name == "status" || name == "comment"):
			return bad("%s: must not be null.", name)
		case v != nil && values != nil:
			canon, ok := openatp.CanonicalEnum(values, *v)
			if !ok {
				return bad("%s: %q is not one of %s.", name, ClipID(*v), strings.Join(values, ", "))
			}
			*v = canon
		case v != nil && name == "comment" && strings.TrimSpace(*v) == "":
			return bad("comment: must not be empty.")
		case v != nil && len(*v) > openatp.MaxAlertText:
			return bad("%s: is longer than %d bytes.", name, openatp.MaxAlertText)
		}
	}
	if c.status == nil && c.assignedTo == nil && c.classification == nil && c.determination == nil && c.comment == nil {
		return bad("The body names nothing to update: give status, assignedTo, classification, determination or comment.")
	}
	return c, nil
}

// apply returns the change as a function of the store's UpdateAlerts: a
// comment is added as written by by, at the stamp; resolving an alert
// sets its resolvedTime, reopening it clears it.
func (c alertChange) apply(by string) func(a *openatp.Alert, stamp time.Time) error {
	return func(a *openatp.Alert, stamp time.Time) error {
		if c.status != nil {
			switch s := **c.status; {
			case s == "Resolved" && a.Status != "Resolved":
				a.ResolvedTime = &stamp
			case s != "Resolved":
				a.ResolvedTime = nil
			}
			a.Status = **c.status
		}
		if c.assignedTo != nil {
			a.AssignedTo = *c.assignedTo
		}
		if c.classification != nil {
			a.Classification = *c.classification
		}
		if c.determination != nil {
			a.Determination = *c.determination
		}
		if c.comment != nil {
			if len(a.Comments) >= openatp.MaxAlertItems {
				return openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "comment: alert %s has %d comments, the most openatp keeps.", a.ID, openatp.MaxAlertItems)
			}
			a.Comments = append(a.Comments, openatp.AlertComment{Comment: **c.comment, CreatedBy: &by, CreatedTime: &stamp})
		}
		return nil
	}
}

// author is how an alert's comment names who wrote it: the signed-in user
// of a delegated token, "API-App:<client id>" for an application.
func author(p *openatp.Principal) string {
	if p.Delegated && p.UserName != "" {
		return p.UserName
	}
	return "API-App:" + p.ClientID
}

// alertWriteScope checks that p may change alerts and returns the
// tenant's view (retained) and p's access.
func alertWriteScope(r *http.Request, model *readmodel.Model, p *openatp.Principal) (*readmodel.View, *openatp.Access, error) {
	return ScopeFor(r, model, p, AppAlertWrite, DelegatedAlertWrite, openatp.PermAlertsInvestigation)
}

// handlePatchAlert serves PATCH /api/alerts/{id}: it answers the alert as
// the next read sees it.
func handlePatchAlert(model *readmodel.Model, store openatp.Store, authn *httpserve.Authenticator, limiter httpserve.Limiter) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, body, err := WriteCall(r, authn, limiter, "alerts")
		if err != nil {
			return err
		}
		change, err := readAlertChange(body)
		if err != nil {
			return err
		}
		view, access, err := alertWriteScope(r, model, p)
		if err != nil {
			return err
		}
		id := r.PathValue("id")
		_, err = visibleAlert(view, access, id)
		view.Release()
		if err != nil {
			return err
		}
		if _, err := store.UpdateAlerts(r.Context(), p.TenantID, []string{id}, change.apply(author(p))); err != nil {
			if openatp.IsKind(err, openatp.NotFound) {
				return alertNotFound(id) // deleted meanwhile
			}
			return err
		}
		return answerAlert(w, r, model, p.TenantID, id)
	})
}

// answerAlert writes alert id as the tenant's next read sees it.
func answerAlert(w http.ResponseWriter, r *http.Request, model *readmodel.Model, tenantID, id string) error {
	view, err := waitView(r.Context(), model, tenantID)
	if err != nil {
		return err
	}
	defer view.Release()
	s, ok := view.Alert(id)
	if !ok {
		return alertNotFound(id) // deleted meanwhile
	}
	writeAlertEntity(w, r, view, s, nil)
	return nil
}

// handleBatchUpdateAlerts serves POST /api/alerts/batchUpdate:
// {"alertIds":[…], and the fields of PATCH}. Every id is checked (exists,
// visible) before anything is written; the alerts change in one
// transaction, all or none. 200 with an empty body, as documented.
func handleBatchUpdateAlerts(model *readmodel.Model, store openatp.Store, authn *httpserve.Authenticator, limiter httpserve.Limiter) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, body, err := WriteCall(r, authn, limiter, "alerts/batchUpdate")
		if err != nil {
			return err
		}
		raw, ok := body["alertIds"]
		if !ok {
			return openatp.CodedErrorf(openatp.Invalid, "MissingRequiredParameter", "Parameter alertIds is missing.")
		}
		var ids []string
		if err := json.Unmarshal(raw, &ids); err != nil || len(ids) == 0 {
			return openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "alertIds: must be a non-empty array of alert ids.")
		}
		if len(ids) > maxBatchAlerts {
			return openatp.CodedErrorf(openatp.Invalid, "MaximumBatchSizeExceeded", "Maximum batch size exceeded. Received: %d, allowed: %d.", len(ids), maxBatchAlerts)
		}
		change, err := readAlertChange(body, "alertIds")
		if err != nil {
			return err
		}
		view, access, err := alertWriteScope(r, model, p)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := visibleAlert(view, access, id); err != nil {
				view.Release()
				return err
			}
		}
		view.Release()
		slices.Sort(ids)
		ids = slices.Compact(ids)
		if _, err := store.UpdateAlerts(r.Context(), p.TenantID, ids, change.apply(author(p))); err != nil {
			if openatp.IsKind(err, openatp.NotFound) {
				return alertNotFound(ids[0]) // deleted meanwhile; nothing was written
			}
			return err
		}
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return nil
	})
}

// The properties of a CreateAlertByReference body, all required, in the
// documented order.
var createAlertProps = []string{"eventTime", "reportId", "machineId", "severity", "title", "description", "recommendedAction", "category"}

// handleCreateAlertByReference serves POST /api/alerts/CreateAlertByReference.
// openatp keeps no advanced-hunting events, so the reference (machineId,
// reportId, eventTime) is checked against what an event could be: the
// machine exists and the Caller may see it, the reportId is a positive
// integer, and the eventTime lies within advanced hunting's 30 days (and
// at most 15 minutes ahead); otherwise 404 (400 for a malformed value). An
// open alert of the machine with the same title absorbs the new one (see
// openatp.AlertStore.CreateAlert). It answers the alert.
func handleCreateAlertByReference(model *readmodel.Model, store openatp.Store, authn *httpserve.Authenticator, limiter httpserve.Limiter) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, body, err := WriteCall(r, authn, limiter, "alerts/CreateAlertByReference")
		if err != nil {
			return err
		}
		bad := func(format string, args ...any) error {
			return openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", format, args...)
		}
		names := make([]string, 0, len(body))
		for name := range body {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			if !slices.Contains(createAlertProps, name) {
				return bad("%s: not a property of CreateAlertByReference (%s).", ClipID(name), strings.Join(createAlertProps, ", "))
			}
		}
		v := map[string]string{}
		for _, name := range createAlertProps {
			raw, ok := body[name]
			if !ok || string(raw) == "null" {
				return openatp.CodedErrorf(openatp.Invalid, "MissingRequiredParameter", "Parameter %s is missing.", name)
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				if name != "reportId" {
					return bad("%s: must be a string.", name)
				}
				s = string(raw) // a number
			}
			if strings.TrimSpace(s) == "" {
				return bad("%s: must not be empty.", name)
			}
			if len(s) > openatp.MaxAlertText {
				return bad("%s: is longer than %d bytes.", name, openatp.MaxAlertText)
			}
			v[name] = s
		}
		eventTime, err := time.Parse(time.RFC3339Nano, v["eventTime"])
		if err != nil {
			return bad("eventTime: %q is not a UTC time such as 2018-08-03T16:45:21.7115183Z.", ClipID(v["eventTime"]))
		}
		if n, err := strconv.ParseInt(v["reportId"], 10, 64); err != nil || n <= 0 {
			return bad("reportId: %q is not a report id (a positive integer, such as \"20776\").", ClipID(v["reportId"]))
		}
		severity, ok := openatp.CanonicalEnum([]string{"Low", "Medium", "High"}, v["severity"])
		if !ok {
			return bad("severity: %q is not one of Low, Medium, High.", ClipID(v["severity"]))
		}
		category, ok := openatp.CanonicalEnum(openatp.AlertCategories, v["category"])
		if !ok {
			return bad("category: %q is not one of %s.", ClipID(v["category"]), strings.Join(openatp.AlertCategories, ", "))
		}
		view, access, err := alertWriteScope(r, model, p)
		if err != nil {
			return err
		}
		m, ok := view.Machine(v["machineId"])
		visible := ok && view.MachineID(m) == strings.ToLower(v["machineId"]) && (access == nil || access.CanSee(view.GroupID(m)))
		view.Release()
		if !visible {
			return MachineNotFound(v["machineId"])
		}
		now := time.Now()
		if eventTime.Before(now.Add(-eventRetention)) || eventTime.After(now.Add(eventSkew)) {
			return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound",
				"No event of report %s at %s was found on machine %s: events are kept 30 days.", ClipID(v["reportId"]), ClipID(v["eventTime"]), ClipID(v["machineId"]))
		}
		et := eventTime.UTC()
		a := openatp.Alert{ID: openatp.NewAlertID(now), Severity: severity, Status: "New",
			DetectionSource: openatp.Ptr("CustomDetection"), Category: &category, Title: openatp.Ptr(v["title"]),
			Description: openatp.Ptr(v["description"]), FirstEventTime: &et, LastEventTime: &et,
			MachineID: strings.ToLower(v["machineId"]), AADTenantID: &p.TenantID}
		if err := a.Normalize(); err != nil {
			return err
		}
		stored, _, err := store.CreateAlert(r.Context(), p.TenantID, a)
		if openatp.IsKind(err, openatp.Conflict) { // the random part of the id collided: once more
			a.ID = openatp.NewAlertID(now)
			stored, _, err = store.CreateAlert(r.Context(), p.TenantID, a)
		}
		if openatp.IsKind(err, openatp.NotFound) {
			return MachineNotFound(v["machineId"]) // deleted meanwhile
		}
		if err != nil {
			return err
		}
		return answerAlert(w, r, model, p.TenantID, stored.ID)
	})
}
