// Package pivotapi holds the pivot routes of the Microsoft Defender for
// Endpoint API over the observed events and the alerts' evidence (issue
// 24): a file by its SHA-1 or SHA-256 (the File entity, its machines, its
// alerts, its statistics), an IP address and a domain (their alerts,
// machines and statistics), and the files, IP addresses and domains of an
// alert. It is built on mdeapi's shared handler parts (the Caller, the
// device-group scope, the OData envelopes); Register lists its routes and
// the program registers them beside mdeapi's on every listener.
//
// Every answer is computed from the events the store keeps (over the
// event retention) and the alerts' evidence, restricted for a delegated
// caller to the machines of the device groups it may see: the events and
// alerts of any other machine count nowhere, not in a list, a count or a
// statistic. A value with no visible event and no visible alert evidence
// is answered 404, as an unknown one.
package pivotapi

import (
	"time"

	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/mdeapi"
)

// routes are the handlers' shared parts.
type routes struct {
	cfg   mdeapi.Config
	authn *httpserve.Authenticator
	now   func() time.Time
}

// Register adds the pivot routes to mux, under /api and /api/v1.0.
func Register(mux mdeapi.Mux, cfg mdeapi.Config) {
	rt := &routes{cfg: cfg, authn: httpserve.NewAuthenticator(cfg.Verifier), now: time.Now}
	get := httpserve.MethodNotAllowed("GET")
	for _, base := range []string{"/api", "/api/v1.0"} {
		for _, k := range kinds {
			for _, sub := range k.subs {
				p := base + "/" + k.set + "/{value}"
				if sub != "" {
					p += "/" + sub
				}
				mux("GET "+p, rt.handlePivot(k, sub))
				mux(p, get)
			}
		}
		for _, k := range kinds {
			p := base + "/alerts/{id}/" + k.set
			mux("GET "+p, rt.handleAlertValues(k))
			mux(p, get)
		}
	}
}
