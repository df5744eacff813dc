// Package mdeapi holds the routes of the Microsoft Defender for Endpoint
// API that openatp serves, one file set per family: users.go (a user's
// machines), machines.go and findbyip.go (the Machine API's reads),
// machinewrite.go (its writes), alerts.go and alertwrite.go (the Alert
// API); call.go and collection.go are what the handlers share (the
// Caller's authentication, permissions and rate limit; the OData
// collections and entities they write), exported for the packages of the
// families that are built on them (responseapi: machine actions, live
// response, investigations). Register lists every route of this package.
// A new family is a new file set with its own tests and its lines in
// Register, or, when it is large, a package of its own beside responseapi.
//
// Reads are answered from the read model (readmodel) when it holds the
// tenant, else from the store; the JSON is written by package wire.
package mdeapi

import (
	"net/http"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/internal/answercache"
	"github.com/openatp/openatp/readmodel"
)

// Config is what the MDE routes need.
type Config struct {
	// Store is the store as the handlers see it: writes refresh the read
	// model (readmodel.Refreshing).
	Store openatp.Store
	// Model is the in-memory read model reads are answered from.
	Model    *readmodel.Model
	Verifier httpserve.Verifier
	// Limiter applies rate limits per tenant, application and endpoint;
	// nil means no limits.
	Limiter httpserve.Limiter
	// EndpointLimiters replace Limiter for the endpoints they name (their
	// own policies, such as the documented 10 calls a minute of
	// alerts/batchUpdate: see ratelimit.Endpoints).
	EndpointLimiters map[string]httpserve.Limiter
	// Answers keeps the encoded answers of the reads the read model
	// answers (GET /api/users/{id}/machines, /api/machines and one
	// machine, /api/alerts); nil: none kept.
	Answers *answercache.Cache
	// UnknownUserEmpty answers an unknown user with 200 and an empty
	// collection (the live service since 2021) instead of 404.
	UnknownUserEmpty bool
}

// Mux is where routes are added: httpserve.Server.HandlePublic, or an
// http.ServeMux's Handle.
type Mux func(pattern string, h http.Handler)

// Register adds the routes of the MDE API to mux.
func Register(mux Mux, cfg Config) {
	authn := httpserve.NewAuthenticator(cfg.Verifier)
	userMachines := handleUserMachines(cfg.Store, cfg.Model, cfg.Answers, authn, cfg.Limiter, cfg.UnknownUserEmpty)
	mux("GET /api/users/{id}/machines", userMachines)
	mux("GET /api/v1.0/users/{id}/machines", userMachines)
	mux("/api/users/{id}/machines", httpserve.MethodNotAllowed("GET"))
	mux("/api/v1.0/users/{id}/machines", httpserve.MethodNotAllowed("GET"))

	// The Machine API: the same handlers under /api and /api/v1.0.
	model, store, lim := cfg.Model, cfg.Store, cfg.Limiter
	for _, base := range []string{"/api", "/api/v1.0"} {
		m := base + "/machines"
		mux("GET "+m, handleMachines(model, cfg.Answers, authn, lim))
		mux(m, httpserve.MethodNotAllowed("GET"))
		mux("GET "+m+"/findbytag", handleFindByTag(model, authn, lim))
		mux("POST "+m+"/AddOrRemoveTagForMultipleMachines", handleBulkTags(model, store, authn, lim))
		mux("GET "+m+"/{id}", handleMachine(model, cfg.Answers, store, authn, lim)) // and findbyip(...)
		mux("PATCH "+m+"/{id}", handlePatchMachine(model, store, authn, lim))
		mux(m+"/{id}", httpserve.MethodNotAllowed("GET, PATCH"))
		mux("GET "+m+"/{id}/logonusers", handleLogonUsers(model, store, authn, lim))
		mux(m+"/{id}/logonusers", httpserve.MethodNotAllowed("GET"))
		mux("POST "+m+"/{id}/tags", handleMachineTags(model, store, authn, lim))
		mux(m+"/{id}/tags", httpserve.MethodNotAllowed("POST"))
		mux("POST "+m+"/{id}/setDeviceValue", handleSetDeviceValue(model, store, authn, lim))
		mux(m+"/{id}/setDeviceValue", httpserve.MethodNotAllowed("POST"))
	}

	// The Alert API (issue 13): the same handlers under /api and
	// /api/v1.0. batchUpdate and CreateAlertByReference have their own,
	// tighter limits when cfg.EndpointLimiters gives them.
	limFor := func(endpoint string) httpserve.Limiter {
		if l, ok := cfg.EndpointLimiters[endpoint]; ok {
			return l
		}
		return lim
	}
	for _, base := range []string{"/api", "/api/v1.0"} {
		a := base + "/alerts"
		mux("GET "+a, handleAlerts(model, cfg.Answers, authn, lim))
		mux(a, httpserve.MethodNotAllowed("GET"))
		mux("POST "+a+"/batchUpdate", handleBatchUpdateAlerts(model, store, authn, limFor("alerts/batchUpdate")))
		create := handleCreateAlertByReference(model, store, authn, limFor("alerts/CreateAlertByReference"))
		mux("POST "+a+"/CreateAlertByReference", create)
		mux("POST "+base+"/CreateAlertByReference", create) // the 2018 path
		mux(base+"/CreateAlertByReference", httpserve.MethodNotAllowed("POST"))
		mux("GET "+a+"/{id}", handleAlert(model, authn, lim))
		mux("PATCH "+a+"/{id}", handlePatchAlert(model, store, authn, lim))
		mux(a+"/{id}", httpserve.MethodNotAllowed("GET, PATCH"))
		mux("GET "+a+"/{id}/machine", handleAlertMachine(model, authn, lim))
		mux(a+"/{id}/machine", httpserve.MethodNotAllowed("GET"))
		mux("GET "+a+"/{id}/user", handleAlertUser(model, store, authn, lim))
		mux(a+"/{id}/user", httpserve.MethodNotAllowed("GET"))
		ma := base + "/machines/{id}/alerts"
		mux("GET "+ma, handleMachineAlerts(model, authn, lim, false))
		mux(ma, httpserve.MethodNotAllowed("GET"))
		mux("GET "+ma+"/$count", handleMachineAlerts(model, authn, lim, true))
		mux(ma+"/$count", httpserve.MethodNotAllowed("GET"))
		ua := base + "/users/{id}/alerts"
		mux("GET "+ua, handleUserAlerts(model, authn, lim, cfg.UnknownUserEmpty))
		mux(ua, httpserve.MethodNotAllowed("GET"))
	}
}
