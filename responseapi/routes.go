// Package responseapi holds the response-action routes of the Microsoft
// Defender for Endpoint API, built on mdeapi's shared handler parts (the
// Caller, the OData collections): machine actions (machineactions.go),
// live response and its library (liveresponse.go, libraryfiles.go), the
// investigation package (investigationpackage.go) and investigations
// (investigations.go). Register lists its routes; the program registers
// them beside mdeapi's on every listener.
package responseapi

import (
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/mdeapi"
)

// Config is what the response-action routes need.
type Config struct {
	// The MDE routes' configuration: the store, the read model, the
	// verifier and the limiters (EndpointLimiters holds the tighter
	// limits of runliveresponse and getPackageUri).
	mdeapi.Config
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

// Register adds the response-action routes to mux.
func Register(mux mdeapi.Mux, cfg Config) {
	authn := httpserve.NewAuthenticator(cfg.Verifier)
	model, store, lim := cfg.Model, cfg.Store, cfg.Limiter
	limFor := func(endpoint string) httpserve.Limiter {
		if l, ok := cfg.EndpointLimiters[endpoint]; ok {
			return l
		}
		return lim
	}
	// Machine actions (issue 23, machineactions.go, liveresponse.go): the
	// same handlers under /api and /api/v1.0. The result links of live
	// response are served without a token (their signature is checked).
	signer := &linkSigner{store: store}
	results := resultPath + "{tenant}/{id}/{index}"
	mux("GET "+results, handleLiveResult(store, signer, resultsOf(cfg.Actions)))
	mux(results, httpserve.MethodNotAllowed("GET"))
	packages := packagePath + "{tenant}/{id}/" + packageFile
	mux("GET "+packages, handlePackage(store, signer))
	mux(packages, httpserve.MethodNotAllowed("GET"))
	for _, base := range []string{"/api", "/api/v1.0"} {
		lr := base + "/machines/{id}/runliveresponse"
		mux("POST "+lr, handleRunLiveResponse(model, store, authn, limFor("machines/runliveresponse"), cfg.Actions))
		mux(lr, httpserve.MethodNotAllowed("POST"))
		mux(base+"/machineactions/{id}/{call}", handleActionFunction(model, store, authn, lim, limFor("machineactions/getPackageUri"), signer, resultsOf(cfg.Actions)))
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
		mux("GET "+iv, handleInvestigations(model, store, authn, lim, run, investigationsOf(cfg.Actions)))
		mux(iv, httpserve.MethodNotAllowed("GET"))
		mux("GET "+iv+"/{id}", handleInvestigation(model, store, authn, lim, run, investigationsOf(cfg.Actions)))
		mux(iv+"/{id}", httpserve.MethodNotAllowed("GET"))
	}
}
