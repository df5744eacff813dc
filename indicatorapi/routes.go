// Package indicatorapi holds the custom indicator routes of the Microsoft
// Defender for Endpoint API (issue 24, mde-reference §12.3.2), built on
// mdeapi's shared handler parts (the Caller, the OData collections): submit
// or update (POST /api/indicators), import, list with OData, read, delete
// and BatchDelete. Register lists its routes; the program registers them
// beside mdeapi's on every listener.
//
// Permissions: an application with Ti.ReadWrite sees and changes only the
// indicators it created, one with Ti.ReadWrite.All all of the tenant's; a
// delegated caller needs Ti.ReadWrite and a role with "Manage security
// settings" or "Active remediation actions", and sees only the indicators
// whose device groups (rbacGroupNames; none: every device) it may see.
// Expired indicators are answered as missing: they leave the list on
// their own, against the clock, with nothing to sweep them.
package indicatorapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/internal/answercache"
	"github.com/openatp/openatp/mdeapi"
	"github.com/openatp/openatp/readmodel"
)

// The endpoints' names for the rate limits (ratelimit.Endpoints gives
// import and BatchDelete their own, tighter limits).
const (
	endpointIndicators  = "indicators"
	endpointImport      = "indicators/import"
	endpointBatchDelete = "indicators/BatchDelete"
)

// Config is what the indicator routes need: the MDE routes'
// configuration (the store, the read model, the verifier, the limiters).
type Config struct {
	mdeapi.Config
	// Now is the clock indicators expire by; nil: time.Now.
	Now func() time.Time
}

// routes are the handlers' shared parts.
type routes struct {
	model *readmodel.Model
	store openatp.Store
	authn *httpserve.Authenticator
	lim   func(endpoint string) httpserve.Limiter
	now   func() time.Time
	// cache keeps tenants' indicators for the list, answers its encoded
	// answers (nil: none kept; see mdeapi.DataKept).
	cache   *cache
	answers *answercache.Cache
}

// Register adds the indicator routes to mux, under /api and /api/v1.0.
func Register(mux mdeapi.Mux, cfg Config) {
	rt := &routes{model: cfg.Model, store: cfg.Store, answers: cfg.Answers, authn: httpserve.NewAuthenticator(cfg.Verifier), now: cfg.Now,
		lim: func(endpoint string) httpserve.Limiter {
			if l, ok := cfg.EndpointLimiters[endpoint]; ok {
				return l
			}
			return cfg.Limiter
		}}
	if rt.now == nil {
		rt.now = time.Now
	}
	rt.cache = &cache{store: cfg.Store}
	post, one := httpserve.MethodNotAllowed("POST"), httpserve.MethodNotAllowed("GET, DELETE")
	for _, base := range []string{"/api", "/api/v1.0"} {
		in := base + "/indicators"
		mux("GET "+in, rt.handleList())
		mux("POST "+in, rt.handleSubmit())
		mux(in, httpserve.MethodNotAllowed("GET, POST"))
		mux("POST "+in+"/import", rt.handleImport())
		mux("POST "+in+"/BatchDelete", rt.handleBatchDelete())
		for _, m := range []string{"GET ", "DELETE "} { // else taken by {id}
			mux(m+in+"/import", post)
			mux(m+in+"/BatchDelete", post)
		}
		mux("GET "+in+"/{id}", rt.handleGet())
		mux("DELETE "+in+"/{id}", rt.handleDelete())
		// Any other method: import and BatchDelete take POST only, an
		// indicator GET and DELETE.
		mux(in+"/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch id := r.PathValue("id"); {
			case strings.EqualFold(id, "import"), strings.EqualFold(id, "BatchDelete"):
				post.ServeHTTP(w, r)
			default:
				one.ServeHTTP(w, r)
			}
		}))
	}
}
