package adminapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/actions"
	"github.com/openatp/openatp/httpserve"
)

// ActionTracker is told of the live actions a control concerns, so that
// the lifecycle applies the change at once (actions.Clock).
type ActionTracker interface {
	Track(tenantID string, a openatp.MachineAction)
}

// addActionControlRoutes lists the admin routes of what succeeded
// machine actions did to a machine, and those that control the lifecycle
// of machine actions, for tests (cfg.ActionControls):
//
//	GET          /_openatp/tenants/{t}/machines/{id}/state       the machine's state (machineStateJSON)
//	GET          /_openatp/tenants/{t}/actions/controls          what is set: {"unreachable", "failures", "timings"}
//	PUT, DELETE  /_openatp/tenants/{t}/machines/{id}/unreachable the machine stops answering (its actions stay Pending until TimeOut); answers again
//	POST, DELETE /_openatp/tenants/{t}/actions/failures          force a failure {"actionId"|"machineId"|"type", "errorHResult"}; remove all
//	PUT          /_openatp/tenants/{t}/actions/timings/{type}    the durations of a type ("*": every type) {"pending", "inProgress", "timeOut"}
//	DELETE       /_openatp/tenants/{t}/actions/timings           back to the defaults
//	GET, DELETE  /_openatp/tenants/{t}/actions/scripts           what RunScript answers, per library script; forget every one
//	PUT, DELETE  /_openatp/tenants/{t}/actions/scripts/{name}    set {"exitCode", "output", "errors"}; forget it
//	GET, DELETE  /_openatp/tenants/{t}/machines/{id}/files       the files placed on the machine (for GetFile); remove every one
//	PUT, DELETE  /_openatp/tenants/{t}/machines/{id}/files?path= place a file (the body's bytes); remove it
//	GET, POST, DELETE /_openatp/tenants/{t}/investigations/outcomes the states investigations end in {"investigationId"|"machineId", "state"}; set one; remove all
//
// Each change of the lifecycle applies at once to the tenant's live
// actions; scripts and files apply to the commands that run after.
func addActionControlRoutes(mux Mux, cfg Config) {
	admin := func(h func(w http.ResponseWriter, r *http.Request) (int, any, error)) http.Handler {
		return requireAdmin(cfg.Settings, cfg.AuthFailures, serveJSON(h))
	}
	store, controls := cfg.Store, cfg.ActionControls
	// control resolves the path's tenant; the controls must be on.
	control := func(r *http.Request) (openatp.Tenant, error) {
		if controls == nil {
			return openatp.Tenant{}, openatp.CodedErrorf(openatp.Conflict, "ActionControlsOff", "This server's machine actions take no controls.")
		}
		return tenantOf(r, store)
	}
	// retrack has the clock take the change for the tenant's live actions
	// (of one machine, if machineID is set).
	retrack := func(ctx context.Context, tenantID, machineID string) error {
		if cfg.ActionClock == nil {
			return nil
		}
		f := openatp.MachineActionFilter{Statuses: []string{openatp.ActionPending, openatp.ActionInProgress}}
		if machineID != "" {
			f.MachineIDs = []string{machineID}
		}
		live, err := store.MachineActions(ctx, tenantID, f)
		if err != nil {
			return err
		}
		for _, a := range live {
			cfg.ActionClock.Track(tenantID, a)
		}
		return nil
	}

	mux("GET /_openatp/tenants/{t}/machines/{id}/state", admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		t, err := tenantOf(r, store)
		if err != nil {
			return 0, nil, err
		}
		id := r.PathValue("id")
		if !openatp.ValidMachineID(id) {
			return 0, nil, openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "Machine id %s is not 40 lowercase hexadecimal characters.", clipID(id))
		}
		st, err := store.MachineState(r.Context(), t.ID, id)
		if openatp.IsKind(err, openatp.NotFound) {
			return 0, nil, openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "Machine %s was not found.", id)
		}
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, machineStateJSON{MachineID: st.MachineID, Isolated: st.Isolated, IsolationType: st.IsolationType,
			Restricted: st.Restricted, Offboarded: st.Offboarded, LastActionID: st.LastActionID, Updated: st.Updated}, nil
	}))
	mux("GET /_openatp/tenants/{t}/actions/controls", admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		t, err := control(r)
		if err != nil {
			return 0, nil, err
		}
		timings := map[string]timingJSON{}
		for typ, d := range controls.Timings.TenantTimings(t.ID) {
			if typ == "" {
				typ = "*"
			}
			timings[typ] = timingOf(d)
		}
		return http.StatusOK, map[string]any{"tenant": t.ID, "unreachable": controls.Unreachable(t.ID),
			"failures": controls.Failures(t.ID), "timings": timings}, nil
	}))
	reach := func(on bool) http.Handler {
		return admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
			t, err := control(r)
			if err != nil {
				return 0, nil, err
			}
			id := r.PathValue("id")
			if !openatp.ValidMachineID(id) {
				return 0, nil, openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "Machine id %s is not 40 lowercase hexadecimal characters.", clipID(id))
			}
			if _, err := store.Machine(r.Context(), t.ID, id); err != nil {
				if openatp.IsKind(err, openatp.NotFound) {
					return 0, nil, openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "Machine %s was not found.", id)
				}
				return 0, nil, err
			}
			controls.SetUnreachable(t.ID, id, on)
			return http.StatusNoContent, nil, retrack(r.Context(), t.ID, id)
		})
	}
	mux("PUT /_openatp/tenants/{t}/machines/{id}/unreachable", reach(true))
	mux("DELETE /_openatp/tenants/{t}/machines/{id}/unreachable", reach(false))
	mux("POST /_openatp/tenants/{t}/actions/failures", admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		t, err := control(r)
		if err != nil {
			return 0, nil, err
		}
		var f actions.Failure
		if err := decodeObject(w, r, &f); err != nil {
			return 0, nil, err
		}
		if f, err = controls.AddFailure(t.ID, f); err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, f, retrack(r.Context(), t.ID, "")
	}))
	mux("DELETE /_openatp/tenants/{t}/actions/failures", admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		t, err := control(r)
		if err != nil {
			return 0, nil, err
		}
		controls.ClearFailures(t.ID)
		return http.StatusNoContent, nil, retrack(r.Context(), t.ID, "")
	}))
	mux("PUT /_openatp/tenants/{t}/actions/timings/{type}", admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		t, err := control(r)
		if err != nil {
			return 0, nil, err
		}
		typ := r.PathValue("type")
		if typ == "*" {
			typ = ""
		} else if c, ok := openatp.CanonicalEnum(openatp.ActionTypes, typ); ok {
			typ = c
		} else {
			return 0, nil, openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "%s is not an action type (or * for every type).", clipID(typ))
		}
		var in timingJSON
		if err := decodeObject(w, r, &in); err != nil {
			return 0, nil, err
		}
		d, err := in.timing()
		if err != nil {
			return 0, nil, err
		}
		controls.Timings.Set(t.ID, typ, d)
		return http.StatusOK, timingOf(d), retrack(r.Context(), t.ID, "")
	}))
	mux("DELETE /_openatp/tenants/{t}/actions/timings", admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		t, err := control(r)
		if err != nil {
			return 0, nil, err
		}
		controls.Timings.ClearTenant(t.ID)
		return http.StatusNoContent, nil, retrack(r.Context(), t.ID, "")
	}))

	addLiveControlRoutes(mux, cfg, admin, control)
	mux("GET /_openatp/tenants/{t}/investigations/outcomes", admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		t, err := control(r)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, controls.InvestigationOutcomes(t.ID), nil
	}))
	mux("POST /_openatp/tenants/{t}/investigations/outcomes", admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		t, err := control(r)
		if err != nil {
			return 0, nil, err
		}
		var o actions.InvestigationOutcome
		if err := decodeObject(w, r, &o); err != nil {
			return 0, nil, err
		}
		if o, err = controls.SetInvestigationOutcome(t.ID, o); err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, o, nil
	}))
	mux("DELETE /_openatp/tenants/{t}/investigations/outcomes", admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		t, err := control(r)
		if err != nil {
			return 0, nil, err
		}
		controls.ClearInvestigationOutcomes(t.ID)
		return http.StatusNoContent, nil, nil
	}))

	for p, allow := range map[string]string{
		"/_openatp/tenants/{t}/investigations/outcomes":   "GET, POST, DELETE",
		"/_openatp/tenants/{t}/actions/scripts":           "GET, DELETE",
		"/_openatp/tenants/{t}/actions/scripts/{name}":    "PUT, DELETE",
		"/_openatp/tenants/{t}/machines/{id}/files":       "GET, PUT, DELETE",
		"/_openatp/tenants/{t}/machines/{id}/state":       "GET",
		"/_openatp/tenants/{t}/actions/controls":          "GET",
		"/_openatp/tenants/{t}/machines/{id}/unreachable": "PUT, DELETE",
		"/_openatp/tenants/{t}/actions/failures":          "POST, DELETE",
		"/_openatp/tenants/{t}/actions/timings/{type}":    "PUT",
		"/_openatp/tenants/{t}/actions/timings":           "DELETE",
	} {
		mux(p, requireAdmin(cfg.Settings, cfg.AuthFailures, httpserve.MethodNotAllowed(allow)))
	}
}

// timingJSON is an openatp.ActionTiming in the admin API: each duration
// in Go's notation ("0s", "250ms", "10s", "24h"), every one required.
type timingJSON struct {
	Pending    *string `json:"pending"`
	InProgress *string `json:"inProgress"`
	TimeOut    *string `json:"timeOut"`
}

func timingOf(d openatp.ActionTiming) timingJSON {
	s := func(d time.Duration) *string { return openatp.Ptr(d.String()) }
	return timingJSON{Pending: s(d.Pending), InProgress: s(d.InProgress), TimeOut: s(d.TimeOut)}
}

// timing parses the durations: Invalid, naming the field, for a missing,
// malformed or negative one.
func (j timingJSON) timing() (openatp.ActionTiming, error) {
	var d openatp.ActionTiming
	for _, f := range []struct {
		name string
		v    *string
		dst  *time.Duration
	}{{"pending", j.Pending, &d.Pending}, {"inProgress", j.InProgress, &d.InProgress}, {"timeOut", j.TimeOut, &d.TimeOut}} {
		if f.v == nil {
			return d, openatp.InvalidField(f.name, "is missing (a duration such as \"10s\")")
		}
		v, err := time.ParseDuration(*f.v)
		if err != nil || v < 0 {
			return d, openatp.InvalidField(f.name, "%q is not a duration of 0 or more, such as \"10s\"", clipID(*f.v))
		}
		*f.dst = v
	}
	return d, nil
}

// machineStateJSON is an openatp.MachineState in the admin API: updated is
// the success time of the action that changed it last (RFC 3339, UTC),
// null with lastActionId when none did.
type machineStateJSON struct {
	MachineID     string     `json:"machineId"`
	Isolated      bool       `json:"isolated"`
	IsolationType *string    `json:"isolationType"`
	Restricted    bool       `json:"restricted"`
	Offboarded    bool       `json:"offboarded"`
	LastActionID  *string    `json:"lastActionId"`
	Updated       *time.Time `json:"updated"`
}

// addLiveControlRoutes lists the admin routes of what live response
// commands find (addActionControlRoutes): the scripts and the files.
func addLiveControlRoutes(mux Mux, cfg Config, admin func(h func(w http.ResponseWriter, r *http.Request) (int, any, error)) http.Handler,
	control func(r *http.Request) (openatp.Tenant, error)) {
	store, controls := cfg.Store, cfg.ActionControls
	mux("GET /_openatp/tenants/{t}/actions/scripts", admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		t, err := control(r)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, controls.Scripts(t.ID), nil
	}))
	mux("DELETE /_openatp/tenants/{t}/actions/scripts", admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		t, err := control(r)
		if err != nil {
			return 0, nil, err
		}
		controls.RemoveScript(t.ID, "")
		return http.StatusNoContent, nil, nil
	}))
	mux("PUT /_openatp/tenants/{t}/actions/scripts/{name}", admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		t, err := control(r)
		if err != nil {
			return 0, nil, err
		}
		var in struct {
			ExitCode *int   `json:"exitCode"`
			Output   string `json:"output"`
			Errors   string `json:"errors"`
		}
		if err := decodeObject(w, r, &in); err != nil {
			return 0, nil, err
		}
		if in.ExitCode == nil {
			return 0, nil, openatp.InvalidField("exitCode", "is missing (the script's exit code, 0 for success)")
		}
		s, err := controls.SetScript(t.ID, actions.Script{Name: r.PathValue("name"), ExitCode: *in.ExitCode, Output: in.Output, Errors: in.Errors})
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, s, nil
	}))
	mux("DELETE /_openatp/tenants/{t}/actions/scripts/{name}", admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		t, err := control(r)
		if err != nil {
			return 0, nil, err
		}
		if !controls.RemoveScript(t.ID, r.PathValue("name")) {
			return 0, nil, openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "No answer is set for script %s.", clipID(r.PathValue("name")))
		}
		return http.StatusNoContent, nil, nil
	}))

	// machine resolves the path's tenant and machine, which must exist.
	machine := func(r *http.Request) (openatp.Tenant, string, error) {
		t, err := control(r)
		if err != nil {
			return t, "", err
		}
		id := r.PathValue("id")
		if !openatp.ValidMachineID(id) {
			return t, "", openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "Machine id %s is not 40 lowercase hexadecimal characters.", clipID(id))
		}
		if _, err := store.Machine(r.Context(), t.ID, id); err != nil {
			if openatp.IsKind(err, openatp.NotFound) {
				return t, "", openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "Machine %s was not found.", id)
			}
			return t, "", err
		}
		return t, id, nil
	}
	// path reads the query's path, required or not.
	path := func(r *http.Request, required bool) (string, error) {
		q := r.URL.Query()
		for k := range q {
			if k != "path" {
				return "", openatp.InvalidField(k, "is not a parameter of this route (path is)")
			}
		}
		if len(q["path"]) > 1 {
			return "", openatp.InvalidField("path", "is given twice")
		}
		p := q.Get("path")
		if required && p == "" {
			return "", openatp.InvalidField("path", "is missing (the file's path on the machine, as GetFile names it: ?path=C:\\Windows\\Temp\\x.log)")
		}
		return p, nil
	}
	mux("GET /_openatp/tenants/{t}/machines/{id}/files", admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		t, id, err := machine(r)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, controls.Files(t.ID, id), nil
	}))
	mux("PUT /_openatp/tenants/{t}/machines/{id}/files", admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		t, id, err := machine(r)
		if err != nil {
			return 0, nil, err
		}
		p, err := path(r, true)
		if err != nil {
			return 0, nil, err
		}
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, actions.MaxPlacedFile))
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return 0, nil, openatp.CodedErrorf(openatp.TooLarge, "RequestEntityTooLarge", "A file placed on a machine is at most %d MiB.", actions.MaxPlacedFile>>20)
		case errors.Is(err, httpserve.ErrBodyTimeout):
			return 0, nil, err
		case err != nil:
			return 0, nil, &openatp.Error{Kind: openatp.Invalid, Code: "InvalidRequestBody", Message: "The request body could not be read.", Err: err}
		}
		f, err := controls.PlaceFile(t.ID, id, p, b)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, f, nil
	}))
	mux("DELETE /_openatp/tenants/{t}/machines/{id}/files", admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		t, id, err := machine(r)
		if err != nil {
			return 0, nil, err
		}
		p, err := path(r, false)
		if err != nil {
			return 0, nil, err
		}
		if !controls.RemoveFile(t.ID, id, p) && p != "" {
			return 0, nil, openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "No file %s is placed on machine %s.", clipID(p), id)
		}
		return http.StatusNoContent, nil, nil
	}))
}
