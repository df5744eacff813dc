package api

import (
	"net/http"

	"github.com/openatp/openatp"
)

// addRoutes lists every route of the server.
func addRoutes(mux *http.ServeMux, cfg Config, idx *index) {
	authn := &authenticator{v: cfg.Verifier}
	userMachines := handleUserMachines(cfg.Store, idx, authn, cfg.Limiter, cfg.UnknownUserEmpty)
	mux.Handle("GET /api/users/{id}/machines", userMachines)
	mux.Handle("GET /api/v1.0/users/{id}/machines", userMachines)
	mux.Handle("/api/users/{id}/machines", methodNotAllowed("GET"))
	mux.Handle("/api/v1.0/users/{id}/machines", methodNotAllowed("GET"))

	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", handleReadyz(cfg.Store))

	if cfg.Identity != nil {
		for _, p := range cfg.IdentityPatterns {
			mux.Handle(p, cfg.Identity)
		}
	}
	mux.Handle("/", notFound())
}

func methodNotAllowed(allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeErrorBody(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed",
			"The HTTP method "+clipID(r.Method)+" is not allowed on this resource; use "+allow+".")
	})
}

func notFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeErrorBody(w, r, http.StatusNotFound, "NotFound", "No resource matches the path "+clipID(r.URL.EscapedPath())+".")
	})
}

func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
}

func handleReadyz(store openatp.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := store.Ping(r.Context()); err != nil {
			writeError(w, r, &openatp.Error{Kind: openatp.Unavailable, Message: "The store is not reachable.", Err: err})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ready","store":"ok"}`))
	})
}
