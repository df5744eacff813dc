package adminapi

import (
	"net/http"

	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/ingest"
)

// Register adds the routes of the admin API to mux: tenants, apps and
// loads (below), who may see what (addRBACAdminRoutes), and the test
// double's fault rules and request journal (addDoubleAdminRoutes), and
// the controls of the machine actions' lifecycle (addActionControlRoutes).
func Register(mux Mux, cfg Config) {
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = httpserve.DefaultBodyTimeout
	}
	store := cfg.Store
	admin := func(h http.Handler) http.Handler { return requireAdmin(cfg.Settings, cfg.AuthFailures, h) }
	// At most two bodies are checked and written at once (writes are
	// serialized by the store anyway); a body is read before its slot is
	// taken, so that a slow client holds none.
	ingestSlots := make(chan struct{}, 2)
	bodyTimeout := adminBodyTimeout(cfg.BodyTimeout)
	machines := admin(handleAdminIngest(store, ingest.Machines, ingestSlots, bodyTimeout, nil))
	mux("POST /_openatp/tenants", admin(handleCreateTenant(store)))
	mux("POST /_openatp/tenants/{t}/apps", admin(handleCreateApp(store)))
	mux("PUT /_openatp/tenants/{t}/machines", machines)
	mux("POST /_openatp/tenants/{t}/machines", machines)
	mux("POST /_openatp/tenants/{t}/logons", admin(handleAdminIngest(store, ingest.Logons, ingestSlots, bodyTimeout, nil)))
	mux("POST /_openatp/tenants/{t}/alerts", admin(handleAdminIngest(store, ingest.Alerts, ingestSlots, bodyTimeout, nil)))
	mux("POST /_openatp/tenants/{t}/machineactions", admin(handleAdminIngest(store, ingest.Actions, ingestSlots, bodyTimeout, cfg.ActionClock)))
	mux("POST /_openatp/tenants/{t}/fileevents", admin(handleAdminIngest(store, ingest.FileEvents, ingestSlots, bodyTimeout, nil)))
	mux("POST /_openatp/tenants/{t}/networkevents", admin(handleAdminIngest(store, ingest.NetworkEvents, ingestSlots, bodyTimeout, nil)))
	mux("POST /_openatp/tenants/{t}/indicators", admin(handleImportIndicators(store, ingestSlots, bodyTimeout)))
	mux("DELETE /_openatp/tenants/{t}/machines/{id}", admin(handleDeleteMachine(store)))
	mux("POST /_openatp/tenants/{t}/reset", admin(handleReset(store)))
	mux("GET /_openatp/tenants/{t}/stats", admin(handleStats(store)))
	for p, allow := range map[string]string{
		"/_openatp/tenants":                    "POST",
		"/_openatp/tenants/{t}/apps":           "POST",
		"/_openatp/tenants/{t}/machines":       "PUT, POST",
		"/_openatp/tenants/{t}/logons":         "POST",
		"/_openatp/tenants/{t}/alerts":         "POST",
		"/_openatp/tenants/{t}/machineactions": "POST",
		"/_openatp/tenants/{t}/indicators":     "POST",
		"/_openatp/tenants/{t}/machines/{id}":  "DELETE",
		"/_openatp/tenants/{t}/reset":          "POST",
		"/_openatp/tenants/{t}/stats":          "GET",
	} {
		mux(p, admin(httpserve.MethodNotAllowed(allow)))
	}
	addTVMImportRoutes(mux, cfg, admin, ingestSlots, bodyTimeout)
	addRBACAdminRoutes(mux, store, admin)
	addDoubleAdminRoutes(mux, cfg)
	addActionControlRoutes(mux, cfg)
}
