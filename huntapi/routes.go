// Package huntapi holds the advanced hunting routes (issue 27,
// mde-reference §12.3.4): the MDE API's POST /api/advancedqueries/run, the
// Microsoft 365 Defender API's POST /api/advancedhunting/run and Microsoft
// Graph's POST /v1.0/security/runHuntingQuery. Each runs a KQL query
// (package kql) over the hunting tables of the caller's tenant (package
// huntables: views over the read model and the stores), for a delegated
// caller over the rows of the machines of its device groups only. It is
// built on mdeapi's shared handler parts (the Caller, its permissions and
// scope); Register lists its routes.
//
// The service's limits hold: a query sees the last 30 days (Graph: its
// Timespan), returns at most 100,000 rows, runs at most 200 s (then 400),
// and its answer is at most 124 MB (then the documented 400); a tenant
// makes at most 45 calls a minute and 1,500 an hour, and spends at most
// a configurable run time an hour (Quota: 429s with the service's bodies,
// whose code is the string "429"). A query the language refuses is a 400
// naming the operator or function and its position. A query stops when
// its client goes away.
package huntapi

import (
	"runtime"
	"time"

	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/hunting"
	"github.com/openatp/openatp/mdeapi"
	"github.com/openatp/openatp/vuln"
)

// Config is what the hunting routes need.
type Config struct {
	mdeapi.Config
	// Logons reads the logon events (the store's engine: the handlers'
	// Store is wrapped); nil: DeviceLogonEvents has no rows.
	Logons hunting.LogonEventStore
	// Vuln reads the DeviceTvm* tables; nil: they have no rows.
	Vuln vuln.Store
	// Quota counts each tenant's calls and run time; nil: no limit.
	Quota *Quota
	// Timeout bounds a query's run; 0: hunting.QueryTimeout.
	Timeout time.Duration
	// MaxResultBytes bounds an answer; 0: hunting.MaxResultBytes.
	MaxResultBytes int
	// Now is the clock of the data window; nil: time.Now.
	Now func() time.Time
	// MaxRunning bounds the queries that run at once; the others wait
	// their turn (within their time limit). 0: half the processors, at
	// least one, so that hunting leaves the other routes room.
	MaxRunning int
}

// The endpoints' names for the rate limits.
const (
	endpointMDE   = "advancedqueries/run"
	endpointM365D = "advancedhunting/run"
	endpointGraph = "security/runHuntingQuery"
)

// Register adds the hunting routes to mux (the MDE form under /api and
// /api/v1.0, the Microsoft 365 Defender form under /api) and to graph
// (Graph's under /v1.0 and /beta).
func Register(mux, graph mdeapi.Mux, cfg Config) {
	if cfg.Timeout == 0 {
		cfg.Timeout = hunting.QueryTimeout
	}
	if cfg.MaxResultBytes == 0 {
		cfg.MaxResultBytes = hunting.MaxResultBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxRunning <= 0 {
		cfg.MaxRunning = max(1, runtime.GOMAXPROCS(0)/2)
	}
	rt := &routes{cfg: cfg, authn: httpserve.NewAuthenticator(cfg.Verifier), running: make(chan struct{}, cfg.MaxRunning)}
	post := httpserve.MethodNotAllowed("POST")
	for _, base := range []string{"/api", "/api/v1.0"} {
		p := base + "/advancedqueries/run"
		mux("POST "+p, rt.handle(formMDE))
		mux(p, post)
	}
	mux("POST /api/advancedhunting/run", rt.handle(formM365D))
	mux("/api/advancedhunting/run", post)
	for _, base := range []string{"/v1.0", "/beta"} {
		p := base + "/security/runHuntingQuery"
		graph("POST "+p, rt.handle(formGraph))
		graph(p, post)
	}
}

// routes are the handlers' shared parts.
type routes struct {
	cfg     Config
	authn   *httpserve.Authenticator
	running chan struct{} // a token per query running
}

// form is one of the three APIs' ways of asking and answering.
type form struct {
	endpoint string
	// app and delegated are the permissions a token needs.
	app, delegated []string
	// schema and results name the answer's two lists.
	schema, results string
	graph           bool // Graph: Timespan in the body, an @odata.context
	stats           bool // Microsoft 365 Defender: Stats first
}

var (
	formMDE = form{endpoint: endpointMDE, schema: "Schema", results: "Results",
		app:       []string{hunting.PermAdvancedQueryReadAll},
		delegated: []string{hunting.PermAdvancedQueryRead}}
	formM365D = form{endpoint: endpointM365D, schema: "Schema", results: "Results", stats: true,
		app:       []string{hunting.PermAdvancedHuntingReadAll, hunting.PermAdvancedQueryReadAll},
		delegated: []string{hunting.PermAdvancedHuntingRead, hunting.PermAdvancedQueryRead}}
	formGraph = form{endpoint: endpointGraph, schema: "schema", results: "results", graph: true,
		app:       []string{hunting.PermThreatHuntingReadAll},
		delegated: []string{hunting.PermThreatHuntingReadAll}}
)
