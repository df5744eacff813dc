package api

import (
	"net/http"
)

// addRoutes lists the routes of the public API.
func addRoutes(mux *http.ServeMux, cfg Config) {
	authn := &authenticator{v: cfg.Verifier}
	userMachines := handleUserMachines(cfg.Store, cfg.Model, authn, cfg.Limiter, cfg.UnknownUserEmpty)
	mux.Handle("GET /api/users/{id}/machines", userMachines)
	mux.Handle("GET /api/v1.0/users/{id}/machines", userMachines)
	mux.Handle("/api/users/{id}/machines", methodNotAllowed("GET"))
	mux.Handle("/api/v1.0/users/{id}/machines", methodNotAllowed("GET"))

	// The Machine API: the same handlers under /api and /api/v1.0.
	model, store, lim := cfg.Model, cfg.Store, cfg.Limiter
	for _, base := range []string{"/api", "/api/v1.0"} {
		m := base + "/machines"
		mux.Handle("GET "+m, handleMachines(model, authn, lim))
		mux.Handle(m, methodNotAllowed("GET"))
		mux.Handle("GET "+m+"/findbytag", handleFindByTag(model, authn, lim))
		mux.Handle("POST "+m+"/AddOrRemoveTagForMultipleMachines", handleBulkTags(model, store, authn, lim))
		mux.Handle("GET "+m+"/{id}", handleMachine(model, store, authn, lim)) // and findbyip(...)
		mux.Handle("PATCH "+m+"/{id}", handlePatchMachine(model, store, authn, lim))
		mux.Handle(m+"/{id}", methodNotAllowed("GET, PATCH"))
		mux.Handle("GET "+m+"/{id}/logonusers", handleLogonUsers(model, store, authn, lim))
		mux.Handle(m+"/{id}/logonusers", methodNotAllowed("GET"))
		mux.Handle("POST "+m+"/{id}/tags", handleMachineTags(model, store, authn, lim))
		mux.Handle(m+"/{id}/tags", methodNotAllowed("POST"))
		mux.Handle("POST "+m+"/{id}/setDeviceValue", handleSetDeviceValue(model, store, authn, lim))
		mux.Handle(m+"/{id}/setDeviceValue", methodNotAllowed("POST"))
	}

	// The Alert API (issue 13): the same handlers under /api and
	// /api/v1.0. batchUpdate and CreateAlertByReference have their own,
	// tighter limits when cfg.EndpointLimiters gives them.
	limFor := func(endpoint string) Limiter {
		if l, ok := cfg.EndpointLimiters[endpoint]; ok {
			return l
		}
		return lim
	}
	for _, base := range []string{"/api", "/api/v1.0"} {
		a := base + "/alerts"
		mux.Handle("GET "+a, handleAlerts(model, authn, lim))
		mux.Handle(a, methodNotAllowed("GET"))
		mux.Handle("POST "+a+"/batchUpdate", handleBatchUpdateAlerts(model, store, authn, limFor("alerts/batchUpdate")))
		create := handleCreateAlertByReference(model, store, authn, limFor("alerts/CreateAlertByReference"))
		mux.Handle("POST "+a+"/CreateAlertByReference", create)
		mux.Handle("POST "+base+"/CreateAlertByReference", create) // the 2018 path
		mux.Handle(base+"/CreateAlertByReference", methodNotAllowed("POST"))
		mux.Handle("GET "+a+"/{id}", handleAlert(model, authn, lim))
		mux.Handle("PATCH "+a+"/{id}", handlePatchAlert(model, store, authn, lim))
		mux.Handle(a+"/{id}", methodNotAllowed("GET, PATCH"))
		mux.Handle("GET "+a+"/{id}/machine", handleAlertMachine(model, authn, lim))
		mux.Handle(a+"/{id}/machine", methodNotAllowed("GET"))
		mux.Handle("GET "+a+"/{id}/user", handleAlertUser(model, store, authn, lim))
		mux.Handle(a+"/{id}/user", methodNotAllowed("GET"))
		ma := base + "/machines/{id}/alerts"
		mux.Handle("GET "+ma, handleMachineAlerts(model, authn, lim, false))
		mux.Handle(ma, methodNotAllowed("GET"))
		mux.Handle("GET "+ma+"/$count", handleMachineAlerts(model, authn, lim, true))
		mux.Handle(ma+"/$count", methodNotAllowed("GET"))
		ua := base + "/users/{id}/alerts"
		mux.Handle("GET "+ua, handleUserAlerts(model, authn, lim, cfg.UnknownUserEmpty))
		mux.Handle(ua, methodNotAllowed("GET"))
	}

}

// addAdminSurface lists the routes of the admin surface: the admin API and
// /metrics, served on the public listeners or on a listener of their own
// (Server.AdminHandler).
func addAdminSurface(mux *http.ServeMux, cfg Config) {
	mux.Handle("GET /metrics", cfg.metrics.handler())
	addAdminRoutes(mux, cfg)
	addDoubleAdminRoutes(mux, cfg)
}

// addCommonRoutes lists what every listener serves: the health checks, and
// the not-found answer of every path no other route matches.
func addCommonRoutes(mux *http.ServeMux, cfg Config) {
	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", handleReadyz(cfg.readiness, cfg.LimiterStatus))
	mux.Handle("/", notFound())
}
