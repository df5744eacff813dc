package adminapi

import (
	"bytes"
	"net/http"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/ingest"
	"github.com/openatp/openatp/ingest/vulnimport"
)

// addTVMImportRoutes adds the imports of vulnerability management:
// POST /_openatp/tenants/{t}/tvm/catalog (vulnerabilities, security
// updates, products) and …/tvm/inventory (installed software and missing
// updates by machine), each body in one transaction (vulnimport).
func addTVMImportRoutes(mux Mux, cfg Config, admin func(http.Handler) http.Handler, slots chan struct{}, bodyTimeout time.Duration) {
	if cfg.Vuln == nil {
		return
	}
	for _, k := range []vulnimport.Kind{vulnimport.Catalog, vulnimport.Inventory} {
		p := "/_openatp/tenants/{t}/tvm/" + k.String()
		mux("POST "+p, admin(handleTVMImport(cfg, k, slots, bodyTimeout)))
		mux(p, admin(httpserve.MethodNotAllowed("POST")))
	}
}

// handleTVMImport loads a body of kind k, as handleAdminIngest loads
// machines: read whole within bodyTimeout, then written in one
// transaction; a bad record is a 400 naming its line and property, and
// nothing of the body is stored.
func handleTVMImport(cfg Config, k vulnimport.Kind, slots chan struct{}, bodyTimeout time.Duration) http.Handler {
	return importBody(cfg.Store, slots, bodyTimeout, func(r *http.Request, t openatp.Tenant, body []byte) (int, any, error) {
		opts := ingest.BodyOptions(r.Header.Get("Content-Type"), body, ingest.Raw)
		res, err := vulnimport.Import(r.Context(), cfg.Vuln, t.ID, k, bytes.NewReader(body), opts, time.Now())
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, struct {
			Tenant string `json:"tenant"`
			vulnimport.Result
		}{t.ID, res}, nil
	})
}
