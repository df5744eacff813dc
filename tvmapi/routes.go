// Package tvmapi holds the vulnerability-management (TVM) routes of the
// Microsoft Defender for Endpoint API (issue 25, mde-reference §12.3.3): a
// machine's vulnerabilities, software, recommendations and missing
// security updates; the software, vulnerability and recommendation
// catalogs with their references; the machinesVulnerabilities rows; the
// by-machine assessments (SoftwareVulnerabilitiesByMachine,
// SoftwareInventoryByMachine, their delta and their export to signed,
// expiring gzip JSON Lines files that openatp serves itself); and the
// exposure and configuration scores. It is built on mdeapi's shared
// handler parts (the Caller, the device-group scope, the OData envelopes)
// and reads a vuln.Store; Register lists its routes and the program
// registers them beside mdeapi's on every listener.
//
// Every count and list is computed in the caller's scope: an application
// sees the tenant, a delegated caller the machines of the device groups
// it may see (vuln.Scope), so that a machine outside them is neither
// listed nor counted anywhere, not even in exposedMachines, and a read of
// it is the same 404 as for a machine that does not exist.
package tvmapi

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/mdeapi"
	"github.com/openatp/openatp/readmodel"
	"github.com/openatp/openatp/vuln"
	"github.com/openatp/openatp/wire"
)

// The endpoints' names for the rate limits (ratelimit.Endpoints gives
// them their documented limits; the others share the family's).
const (
	EndpointMachineVulnerabilities = "machines/vulnerabilities"
	EndpointByMachine              = "machines/SoftwareVulnerabilitiesByMachine"
	EndpointChanges                = "machines/SoftwareVulnerabilityChangesByMachine"
	EndpointInventory              = "machines/SoftwareInventoryByMachine"
	EndpointExport                 = "machines/SoftwareVulnerabilitiesExport"
	EndpointInventoryExport        = "machines/SoftwareInventoryExport"
	EndpointNonCPE                 = "machines/SoftwareInventoryNoProductCodeByMachine"
	EndpointNonCPEExport           = "machines/SoftwareInventoryNonCpeExport"
	endpointTVM                    = "tvm"
)

// Config is what the TVM routes need: the MDE routes' configuration (the
// read model for the device groups, the verifier, the limiters) and the
// vulnerability store.
type Config struct {
	mdeapi.Config
	Settings
}

// Settings are the TVM routes' own settings.
type Settings struct {
	// Vuln is the catalog and inventory the routes read.
	Vuln vuln.Store
	// ExportKey signs the export files' URLs (HMAC-SHA256); nil: a random
	// key of this process (the URLs then fail on another replica or after
	// a restart).
	ExportKey []byte
	// MachinesPerFile is how many machines an export file holds about;
	// 0: 25,000.
	MachinesPerFile int
	// Now is the clock of the scores' time, the delta's sinceTime limit
	// and the export URLs' expiry; nil: time.Now.
	Now func() time.Time
}

// routes are the handlers' shared parts.
type routes struct {
	model *readmodel.Model
	store vuln.Store
	authn *httpserve.Authenticator
	lim   func(endpoint string) httpserve.Limiter
	key   []byte
	now   func() time.Time
	// perFile is how many machines an export file holds about.
	perFile int
}

// Register adds the TVM routes to mux, under /api and /api/v1.0, and the
// export files. route (/api/tvmexport/…, authenticated by its signature).
func Register(mux mdeapi.Mux, cfg Config) {
	rt := &routes{model: cfg.Model, store: cfg.Vuln, authn: httpserve.NewAuthenticator(cfg.Verifier), key: cfg.ExportKey, now: cfg.Now,
		lim: func(endpoint string) httpserve.Limiter {
			if l, ok := cfg.EndpointLimiters[endpoint]; ok {
				return l
			}
			return cfg.Limiter
		}}
	if rt.now == nil {
		rt.now = time.Now
	}
	if rt.perFile = cfg.MachinesPerFile; rt.perFile <= 0 {
		rt.perFile = machinesPerFile
	}
	if rt.key == nil {
		rt.key = make([]byte, 32)
		_, _ = rand.Read(rt.key)
	}
	get := httpserve.MethodNotAllowed("GET")
	add := func(p string, h http.Handler) {
		mux("GET "+p, h)
		mux(p, get)
	}
	// A fixed segment where mdeapi has /machines/{id} (GET, PATCH and a
	// catch-all): each other method named, so that the patterns do not
	// conflict.
	addFixed := func(p string, h http.Handler) {
		mux("GET "+p, h)
		for _, m := range []string{"POST ", "PUT ", "PATCH ", "DELETE "} {
			mux(m+p, get)
		}
	}
	for _, base := range []string{"/api", "/api/v1.0"} {
		m := base + "/machines"
		addFixed(m+"/SoftwareVulnerabilitiesByMachine", rt.handleByMachine(assessVulns))
		addFixed(m+"/SoftwareVulnerabilityChangesByMachine", rt.handleByMachine(assessChanges))
		addFixed(m+"/SoftwareInventoryByMachine", rt.handleByMachine(assessInventory))
		addFixed(m+"/SoftwareVulnerabilitiesExport", rt.handleExport(assessVulns))
		addFixed(m+"/SoftwareInventoryExport", rt.handleExport(assessInventory))
		addFixed(m+"/SoftwareInventoryNoProductCodeByMachine", rt.handleByMachine(assessNonCPE))
		addFixed(m+"/SoftwareInventoryNonCpeExport", rt.handleExport(assessNonCPE))
		for _, sub := range machineSubs {
			add(m+"/{id}/"+sub.name, rt.handleMachine(sub))
		}

		s := base + "/Software"
		add(s, rt.handleSoftwareList())
		add(s+"/{id}", rt.handleSoftware(""))
		for _, sub := range []string{"distributions", "machineReferences", "vulnerabilities", "getmissingkbs"} {
			add(s+"/{id}/"+sub, rt.handleSoftware(sub))
		}

		v := base + "/vulnerabilities"
		add(v, rt.handleVulnerabilityList())
		addFixed(v+"/machinesVulnerabilities", rt.handleMachinesVulnerabilities())
		add(v+"/{id}", rt.handleVulnerability(""))
		add(v+"/{id}/machineReferences", rt.handleVulnerability("machineReferences"))

		rc := base + "/recommendations"
		add(rc, rt.handleRecommendationList())
		add(rc+"/{id}", rt.handleRecommendation(""))
		for _, sub := range []string{"software", "machineReferences", "vulnerabilities"} {
			add(rc+"/{id}/"+sub, rt.handleRecommendation(sub))
		}

		add(base+"/exposureScore", rt.handleExposureScore(false))
		add(base+"/exposureScore/ByMachineGroups", rt.handleExposureScore(true))
		add(base+"/configurationScore", rt.handleConfigurationScore())
	}
	add("/api/tvmexport/{tenant}/{kind}/{file}", rt.handleExportFile())
}

// perms are the application and delegated permissions of a route.
type perms struct{ app, delegated []string }

var (
	vulnPerms  = perms{[]string{vuln.PermVulnerabilityReadAll}, []string{vuln.PermVulnerabilityRead}}
	softPerms  = perms{[]string{vuln.PermSoftwareReadAll}, []string{vuln.PermSoftwareRead}}
	recPerms   = perms{[]string{vuln.PermRecommendationReadAll}, []string{vuln.PermRecommendationRead}}
	scorePerms = perms{[]string{vuln.PermScoreReadAll}, []string{vuln.PermScoreRead}}
)

// reader is what a TVM read works with: the caller, the tenant's view
// (retained until done), the caller's scope and the device groups' names.
type reader struct {
	p      *openatp.Principal
	view   *readmodel.View
	access *openatp.Access // nil: the whole tenant
	sc     vuln.Scope
	names  map[int64]string
}

// begin authenticates the request, applies the endpoint's rate limit,
// checks the permissions and, for a delegated caller, its role's View
// Data, and resolves the caller's scope. done must be called.
func (rt *routes) begin(r *http.Request, endpoint string, pm perms) (*reader, error) {
	p, err := mdeapi.Caller(r, rt.authn, rt.lim(endpoint), endpoint, nil)
	if err != nil {
		return nil, err
	}
	view, access, err := mdeapi.ScopeFor(r, rt.model, p, pm.app, pm.delegated, openatp.PermViewData)
	if err != nil {
		return nil, err
	}
	rd := &reader{p: p, view: view, access: access, sc: vuln.All(), names: map[int64]string{openatp.DefaultGroupID: openatp.DefaultGroupName}}
	for _, g := range view.RBAC().Groups() {
		rd.names[g.ID] = g.Name
	}
	if access != nil && !access.AllGroups {
		rd.sc = visible(view, access)
	}
	return rd, nil
}

// visible is the scope of the machines of view in the device groups
// access may see: a machine asked about is looked up in the view (its id,
// then its group), so that a read costs per machine it reads, not per
// machine of the tenant; the whole list is made only for a store that
// counts the scope anew. Its key is the groups and the view's version
// (which changes with any machine or group, so with any group a rule
// assigns): the store keeps its counts for as long as both hold.
func visible(view *readmodel.View, access *openatp.Access) vuln.Scope {
	groups := make([]int64, 0, len(access.Groups))
	for id, ok := range access.Groups {
		if ok {
			groups = append(groups, id)
		}
	}
	slices.Sort(groups)
	epoch, content := view.Version()
	key := fmt.Sprintf("groups %v at %d.%d", groups, epoch, content)
	sees := func(id string) bool {
		s, ok := view.Machine(id)
		return ok && access.CanSee(view.GroupID(s)) && view.MachineID(s) == id
	}
	ids := func() []string {
		page, _, _ := view.QueryMachines(readmodel.MachineQuery{Access: access, Top: view.Machines() + 1})
		out := make([]string, len(page))
		for i, s := range page {
			out[i] = view.MachineID(s)
		}
		return out
	}
	return vuln.Visible(key, sees, ids)
}

// serve makes a handler of fn, called with the caller's reader for
// endpoint and pm (rt.begin), released when fn returns.
func (rt *routes) serve(endpoint string, pm perms, fn func(w http.ResponseWriter, r *http.Request, rd *reader) error) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		rd, err := rt.begin(r, endpoint, pm)
		if err != nil {
			return err
		}
		defer rd.done()
		return fn(w, r, rd)
	})
}

// done releases the view.
func (rd *reader) done() { rd.view.Release() }

// deviceGroup is a machine's device group, as the rows and references
// name it.
type deviceGroup struct {
	id   int64
	name string
}

// group returns the device group of a machine (id 0 and name "" if the
// view does not have it).
func (rd *reader) group(machineID string) deviceGroup {
	s, ok := rd.view.Machine(machineID)
	if !ok {
		return deviceGroup{}
	}
	id := rd.view.GroupID(s)
	return deviceGroup{id, rd.names[id]}
}

// tagsPrefix is how SelectMachine writes a machine with its tags alone.
const tagsPrefix = `{"machineTags":`

// tags returns the JSON array of a machine's tags ("[]" if the view does
// not have it).
func (rd *reader) tags(machineID string) []byte {
	s, ok := rd.view.Machine(machineID)
	if !ok {
		return []byte("[]")
	}
	b := rd.view.SelectMachine(nil, s, func(p int) bool { return p == wire.MMachineTags })
	if !bytes.HasPrefix(b, []byte(tagsPrefix)) || b[len(b)-1] != '}' || bytes.Equal(b[len(tagsPrefix):len(b)-1], []byte("null")) {
		return []byte("[]")
	}
	return b[len(tagsPrefix) : len(b)-1]
}

// machine resolves the {id} of a machine route (an id or a computer name)
// to the id of a machine the caller sees, else the unknown machine's 404.
func (rd *reader) machine(id string) (string, error) {
	s, ok := rd.view.Machine(id)
	if !ok || !rd.sc.Sees(rd.view.MachineID(s)) {
		return "", vuln.MachineNotFound(mdeapi.ClipID(id))
	}
	return rd.view.MachineID(s), nil
}
