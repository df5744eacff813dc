// Package mdeapi holds the routes of the Microsoft Defender for Endpoint
// API that openatp serves, one file set per family: users.go (a user's
// machines), machines.go and findbyip.go (the Machine API's reads),
// machinewrite.go (its writes), alerts.go and alertwrite.go (the Alert
// API), machineactions.go (machine actions), libraryfiles.go (the live
// response library), liveresponse.go, investigationpackage.go, investigations.go; call.go and collection.go are what the handlers share (the caller's
// authentication, permissions and rate limit; the OData collections and
// entities they write). Register lists every route. A new family (machine
// actions, indicators, ...) is a new file set with its own tests and its
// lines in Register.
//
// Reads are answered from the read model (readmodel) when it holds the
// tenant, else from the store; the JSON is written by package wire.
package mdeapi

import (
	"net/http"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
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
	// UnknownUserEmpty answers an unknown user with 200 and an empty
	// collection (the live service since 2021) instead of 404.
	UnknownUserEmpty bool
	// Actions is told of every machine action the routes create or
	// cancel, to run its lifecycle (package actions' Clock); nil: actions
	// stay as they are written.
	Actions ActionTracker
	// MaxLibraryFile bounds the size of a file uploaded to the live
	// response library; 0 means openatp.DefaultMaxLibraryFile (the 20 MB
	// the service documents).
	MaxLibraryFile int64
	// InvestigationRunTime is how long an investigation is Running
	// before it is Benign; 0 means openatp.DefaultInvestigationRunTime.
	InvestigationRunTime time.Duration
}

// Mux is where routes are added: httpserve.Server.HandlePublic, or an
// http.ServeMux's Handle.
type Mux func(pattern string, h http.Handler)

// Register adds the routes of the MDE API to mux.
func Register(mux Mux, cfg Config) {
	authn := httpserve.NewAuthenticator(cfg.Verifier)
	userMachines := handleUserMachines(cfg.Store, cfg.Model, authn, cfg.Limiter, cfg.UnknownUserEmpty)
	mux("GET /api/users/{id}/machines", userMachines)
	mux("GET /api/v1.0/users/{id}/machines", userMachines)
	mux("/api/users/{id}/machines", httpserve.MethodNotAllowed("GET"))
	mux("/api/v1.0/users/{id}/machines", httpserve.MethodNotAllowed("GET"))

	// The Machine API: the same handlers under /api and /api/v1.0.
	model, store, lim := cfg.Model, cfg.Store, cfg.Limiter
	for _, base := range []string{"/api", "/api/v1.0"} {
		m := base + "/machines"
		mux("GET "+m, handleMachines(model, authn, lim))
		mux(m, httpserve.MethodNotAllowed("GET"))
		mux("GET "+m+"/findbytag", handleFindByTag(model, authn, lim))
		mux("POST "+m+"/AddOrRemoveTagForMultipleMachines", handleBulkTags(model, store, authn, lim))
		mux("GET "+m+"/{id}", handleMachine(model, store, authn, lim)) // and findbyip(...)
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
		mux("GET "+a, handleAlerts(model, authn, lim))
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

	// Machine actions (issue 23, machineactions.go, liveresponse.go): the
	// same handlers under /api and /api/v1.0. The result links of live
	// response are served without a token (their signature is checked).
	signer := &linkSigner{store: store}
	results := resultPath + "{tenant}/{id}/{index}"
	mux("GET "+results, handleLiveResult(store, signer))
	mux(results, httpserve.MethodNotAllowed("GET"))
	packages := packagePath + "{tenant}/{id}/" + packageFile
	mux("GET "+packages, handlePackage(store, signer))
	mux(packages, httpserve.MethodNotAllowed("GET"))
	for _, base := range []string{"/api", "/api/v1.0"} {
		lr := base + "/machines/{id}/runliveresponse"
		mux("POST "+lr, handleRunLiveResponse(model, store, authn, limFor("machines/runliveresponse"), cfg.Actions))
		mux(lr, httpserve.MethodNotAllowed("POST"))
		mux(base+"/machineactions/{id}/{call}", handleActionFunction(model, store, authn, lim, limFor("machineactions/getPackageUri"), signer))
		for _, ar := range actionRoutes {
			path := base + "/machines/{id}/" + ar.segment
			mux("POST "+path, handleStartAction(ar.typ, ar.status, model, store, authn, lim, cfg.Actions))
			mux(path, httpserve.MethodNotAllowed("POST"))
		}
		ma := base + "/machineactions"
		mux("GET "+ma, handleMachineActions(model, store, authn, lim))
		mux(ma, httpserve.MethodNotAllowed("GET"))
		mux("GET "+ma+"/{id}", handleMachineAction(model, store, authn, lim))
		mux(ma+"/{id}", httpserve.MethodNotAllowed("GET"))
		mux("POST "+ma+"/{id}/cancel", handleCancelAction(model, store, authn, lim, cfg.Actions))
		mux(ma+"/{id}/cancel", httpserve.MethodNotAllowed("POST"))
	}

	// The live response library (libraryfiles.go): the same handlers
	// under /api and /api/v1.0.
	maxFile := cfg.MaxLibraryFile
	if maxFile <= 0 {
		maxFile = openatp.DefaultMaxLibraryFile
	}
	for _, base := range []string{"/api", "/api/v1.0"} {
		lf := base + "/libraryfiles"
		mux("GET "+lf, handleLibraryFiles(model, store, authn, lim))
		mux("POST "+lf, handleUploadLibraryFile(model, store, authn, lim, maxFile))
		mux(lf, httpserve.MethodNotAllowed("GET, POST"))
		mux("DELETE "+lf+"/{fileName}", handleDeleteLibraryFile(model, store, authn, lim))
		mux(lf+"/{fileName}", httpserve.MethodNotAllowed("DELETE"))
	}

	// Investigations (investigations.go): the same handlers under /api
	// and /api/v1.0.
	run := cfg.InvestigationRunTime
	if run <= 0 {
		run = openatp.DefaultInvestigationRunTime
	}
	for _, base := range []string{"/api", "/api/v1.0"} {
		si := base + "/machines/{id}/startInvestigation"
		mux("POST "+si, handleStartInvestigation(model, store, authn, lim))
		mux(si, httpserve.MethodNotAllowed("POST"))
		iv := base + "/investigations"
		mux("GET "+iv, handleInvestigations(model, store, authn, lim, run))
		mux(iv, httpserve.MethodNotAllowed("GET"))
		mux("GET "+iv+"/{id}", handleInvestigation(model, store, authn, lim, run))
		mux(iv+"/{id}", httpserve.MethodNotAllowed("GET"))
	}
}
