package api

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/openatp/openatp"
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

// methodNotAllowed answers 405 with Allow: allow.
func methodNotAllowed(allow string) http.Handler {
	return handlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return methodNotAllowedError(r.Method, allow)
	})
}

// notFound answers 404.
func notFound() http.Handler {
	return handlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return openatp.CodedErrorf(openatp.NotFound, "NotFound", "No resource matches the path %s.", clipID(r.URL.EscapedPath()))
	})
}

func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
}

// readiness shares the store's ping among /readyz requests, which anyone
// may send: one ping runs at a time, and a success answers the requests of
// the next readyFor. A flood of /readyz then costs the store one ping a
// second, not one each: with PostgreSQL, pings share the small pool of
// the per-request version check, and would queue the API behind them.
type readiness struct {
	store openatp.Store
	mu    sync.Mutex // held through a ping: the requests behind it take its answer
	ok    time.Time  // when the last successful ping ended
}

const readyFor = time.Second

func (c *readiness) ping(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ok.IsZero() && time.Since(c.ok) < readyFor {
		return nil
	}
	if err := c.store.Ping(ctx); err != nil {
		return err // not kept: the next request pings again
	}
	c.ok = time.Now()
	return nil
}

// handleReadyz answers 503 when the store is unreachable. A degraded
// limiter (limiterStatus returns an error) is reported with 200: the
// replica still serves every call, counting limits alone.
func handleReadyz(ready *readiness, limiterStatus func(context.Context) error) http.Handler {
	return handlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		if err := ready.ping(r.Context()); err != nil {
			// Say why: the store's message is safe to show (its cause is not).
			msg := "The store is not reachable."
			var e *openatp.Error
			if errors.As(err, &e) && e.Message != "" {
				msg = "The store is not reachable: " + e.Message + "."
			}
			return &openatp.Error{Kind: openatp.Unavailable, Message: msg, Err: err}
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case limiterStatus == nil:
			_, _ = w.Write([]byte(`{"status":"ready","store":"ok"}`))
		case limiterStatus(r.Context()) != nil:
			_, _ = w.Write([]byte(`{"status":"degraded","store":"ok","limiter":"degraded: shared rate-limit state unreachable, counting in this replica only"}`))
		default:
			_, _ = w.Write([]byte(`{"status":"ready","store":"ok","limiter":"ok"}`))
		}
		return nil
	})
}
