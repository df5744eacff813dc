package tvmapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/mdeapi"
	"github.com/openatp/openatp/odata"
	"github.com/openatp/openatp/vuln"
)

// machineSub is one of the routes under /machines/{id}.
type machineSub struct {
	name     string
	endpoint string
	pm       perms
}

var machineSubs = []machineSub{
	{"vulnerabilities", EndpointMachineVulnerabilities, vulnPerms},
	{"software", endpointTVM, softPerms},
	{"recommendations", endpointTVM, recPerms},
	{"getmissingkbs", endpointTVM, softPerms},
}

// handleMachine serves GET /api/machines/{id}/{vulnerabilities|software|
// recommendations|getmissingkbs}.
func (rt *routes) handleMachine(sub machineSub) http.Handler {
	return rt.serve(sub.endpoint, sub.pm, func(w http.ResponseWriter, r *http.Request, rd *reader) error {
		if err := mdeapi.NoQuery(r); err != nil {
			return err
		}
		id, err := rd.machine(r.PathValue("id"))
		if err != nil {
			return err
		}
		ctx, tn := r.Context(), rd.p.TenantID
		switch sub.name {
		case "vulnerabilities":
			sel, err := rt.store.MachineVulnerabilities(ctx, tn, id, rd.sc)
			if err != nil {
				return err
			}
			writeKept(w, r, setMachineVulns, sel, appendVulnerability)
		case "software":
			ss, err := rt.store.MachineSoftware(ctx, tn, id, rd.sc)
			if err != nil {
				return err
			}
			writeAll(w, r, setSoftware, ss, appendSoftware)
		case "recommendations":
			rs, err := rt.store.MachineRecommendations(ctx, tn, id, rd.sc)
			if err != nil {
				return err
			}
			writeAll(w, r, setRecommendations, rs, appendRecommendation)
		default:
			us, err := rt.store.MachineMissingKBs(ctx, tn, id, rd.sc)
			if err != nil {
				return err
			}
			writeAll(w, r, setMissingKBs, us, appendMissingKB)
		}
		return nil
	})
}

// writeAll answers a whole collection of the entity set set.
func writeAll[T any](w http.ResponseWriter, r *http.Request, set string, items []T, appendItem func([]byte, *T) []byte) {
	b, end := mdeapi.OpenCollection(make([]byte, 0, 256+512*len(items)), r, set, false, 0, "")
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendItem(b, &items[i])
	}
	mdeapi.WriteOData(w, append(b, end...))
}

// answerBufs are the buffers writeKept assembles answers in.
var answerBufs = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledAnswer is the largest buffer answerBufs keeps.
const maxPooledAnswer = 4 << 20

// writeKept answers a whole collection of the entity set set as writeAll
// does, of the same bytes: the items' kept pieces (each encoded by
// appendItem once per kept list), joined in a buffer of the pool and
// written at once.
func writeKept[T any](w http.ResponseWriter, r *http.Request, set string, sel vuln.Selection[T], appendItem func([]byte, *T) []byte) {
	bp := answerBufs.Get().(*[]byte)
	b, end := mdeapi.OpenCollection((*bp)[:0], r, set, false, 0, "")
	for i, n := range sel.Index {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, sel.List.Piece(int(n), appendItem)...)
	}
	b = append(b, end...)
	mdeapi.WriteOData(w, b)
	if cap(b) <= maxPooledAnswer {
		*bp = b[:0]
		answerBufs.Put(bp)
	}
}

// writeRefs answers machine references, each with its device group.
func writeRefs(w http.ResponseWriter, r *http.Request, rd *reader, refs []vuln.MachineRef) {
	writeAll(w, r, setMachineReferences, refs, func(b []byte, m *vuln.MachineRef) []byte {
		g := rd.group(m.ID)
		return appendMachineRef(b, m, rd.tags(m.ID), g.id, g.name)
	})
}

// listQuery parses the OData query of a catalog list: $filter on the
// schema's filterable properties, $top up to maxTop, $skip, $count;
// $orderby, $select, $expand and $skiptoken are refused.
func listQuery(r *http.Request, schema *odata.Schema, set string, maxTop int) (*odata.Query, error) {
	q, err := odata.ParseQuery(schema, r.URL.RawQuery, odata.Options{MaxTop: maxTop})
	if err != nil {
		return nil, mdeapi.ODataError(err)
	}
	if q.Select != nil || q.Expand != "" || q.SkipToken != "" || q.OrderBy != nil {
		return nil, openatp.CodedErrorf(openatp.Invalid, "ODataError", "$orderby, $select, $expand and $skiptoken are not supported on %s.", set)
	}
	return q, nil
}

// writeList answers a catalog list read whole: the items q's $filter
// keeps, paged by $skip and $top.
func writeList[T any](w http.ResponseWriter, r *http.Request, q *odata.Query, set string, all []T, match func(*T) bool, appendItem func([]byte, *T) []byte) {
	mdeapi.WriteList(w, r, q, set, all, match, func([]odata.OrderKey, *T, *T) int { return 0 }, 300, appendItem)
}

// The OData schema of /Software (filterable: id, name, vendor).
const (
	sID = iota
	sName
	sVendor
	sWeaknesses
	sPublicExploit
	sExposedMachines
)

var softwareSchema = odata.NewSchema(odata.Prop("id", odata.String, true), odata.Prop("name", odata.String, true),
	odata.Prop("vendor", odata.String, true), odata.Prop("weaknesses", odata.Int, false),
	odata.Prop("publicExploit", odata.Bool, false), odata.Prop("exposedMachines", odata.Int, false))

type softwareEntity struct{ s *vuln.Software }

func (e softwareEntity) String(p int) (string, bool) {
	switch p {
	case sID:
		return e.s.ID(), true
	case sName:
		return e.s.Name, true
	case sVendor:
		return e.s.Vendor, true
	}
	return "", false
}

func (e softwareEntity) Int(p int) (int64, bool) {
	if p == sWeaknesses {
		return int64(e.s.Weaknesses), true
	}
	return int64(e.s.ExposedMachines), true
}
func (softwareEntity) Time(int) (int64, bool)  { return 0, false }
func (e softwareEntity) Bool(int) (bool, bool) { return e.s.PublicExploit, true }
func (softwareEntity) Strings(int) []string    { return nil }

// handleSoftwareList serves GET /api/Software.
func (rt *routes) handleSoftwareList() http.Handler {
	return rt.serve(endpointTVM, softPerms, func(w http.ResponseWriter, r *http.Request, rd *reader) error {
		q, err := listQuery(r, softwareSchema, "Software", mdeapi.MaxPage)
		if err != nil {
			return err
		}
		var f vuln.SoftwareFilter
		f.IDs, _ = q.Filter.EqualityOn(sID)
		f.Names, _ = q.Filter.EqualityOn(sName)
		f.Vendors, _ = q.Filter.EqualityOn(sVendor)
		all, err := rt.store.Software(r.Context(), rd.p.TenantID, f, rd.sc)
		if err != nil {
			return err
		}
		writeList(w, r, q, setSoftware, all, func(s *vuln.Software) bool { return q.Filter.Match(softwareEntity{s}) }, appendSoftware)
		return nil
	})
}

// handleSoftware serves GET /api/Software/{id}[/{sub}].
func (rt *routes) handleSoftware(sub string) http.Handler {
	pm := softPerms
	if sub == "vulnerabilities" {
		pm = vulnPerms
	}
	return rt.serve(endpointTVM, pm, func(w http.ResponseWriter, r *http.Request, rd *reader) error {
		if err := mdeapi.NoQuery(r); err != nil {
			return err
		}
		ctx, tn, id := r.Context(), rd.p.TenantID, strings.ToLower(r.PathValue("id"))
		switch sub {
		case "":
			s, err := rt.store.SoftwareByID(ctx, tn, id, rd.sc)
			if err != nil {
				return err
			}
			mdeapi.WriteEntity(w, r, http.StatusOK, setSoftware, appendSoftware(nil, &s))
		case "distributions":
			ds, err := rt.store.SoftwareDistributions(ctx, tn, id, rd.sc)
			if err != nil {
				return err
			}
			writeAll(w, r, setDistributions, ds, appendDistribution)
		case "machineReferences":
			ms, err := rt.store.SoftwareMachines(ctx, tn, id, rd.sc)
			if err != nil {
				return err
			}
			writeRefs(w, r, rd, ms)
		case "vulnerabilities":
			vs, err := rt.store.SoftwareVulnerabilities(ctx, tn, id, rd.sc)
			if err != nil {
				return err
			}
			writeAll(w, r, setVulnerabilities, vs, appendVulnerability)
		default:
			us, err := rt.store.SoftwareMissingKBs(ctx, tn, id, rd.sc)
			if err != nil {
				return err
			}
			writeAll(w, r, setMissingKBs, us, appendMissingKB)
		}
		return nil
	})
}

// The OData schema of /vulnerabilities (get-all-vulnerabilities: $filter
// on id, name, description, publishedOn, severity and updatedOn; cvssV3,
// a double, is not filterable here: the odata package has no decimals).
const (
	vID = iota
	vName
	vDescription
	vSeverity
	vPublishedOn
	vUpdatedOn
	vExposedMachines
	vPublicExploit
)

// maxVulnerabilityTop is the largest $top of /vulnerabilities (8,000, as
// its page documents).
const maxVulnerabilityTop = 8000

var vulnerabilitySchema = odata.NewSchema(odata.Prop("id", odata.String, true), odata.Prop("name", odata.String, true),
	odata.Prop("description", odata.String, true), odata.Prop("severity", odata.Enum, true, vuln.Severities...),
	odata.Prop("publishedOn", odata.Time, true), odata.Prop("updatedOn", odata.Time, true),
	odata.Prop("exposedMachines", odata.Int, false), odata.Prop("publicExploit", odata.Bool, false))

type vulnEntity struct{ v *vuln.Vulnerability }

func (e vulnEntity) String(p int) (string, bool) {
	switch p {
	case vID:
		return e.v.ID, true
	case vName:
		if e.v.Name == "" {
			return e.v.ID, true
		}
		return e.v.Name, true
	case vDescription:
		return e.v.Description, true
	case vSeverity:
		return e.v.Severity, true
	}
	return "", false
}
func (e vulnEntity) Int(int) (int64, bool) { return int64(e.v.ExposedMachines), true }
func (e vulnEntity) Time(p int) (int64, bool) {
	if p == vPublishedOn {
		return e.v.PublishedOn.UnixNano(), true
	}
	return e.v.UpdatedOn.UnixNano(), true
}
func (e vulnEntity) Bool(int) (bool, bool) { return e.v.PublicExploit, true }
func (vulnEntity) Strings(int) []string    { return nil }

// severities maps folded severities back to their canonical spelling.
func severities(folded []string) []string {
	var out []string
	for _, f := range folded {
		for _, s := range vuln.Severities {
			if strings.EqualFold(s, f) {
				out = append(out, s)
			}
		}
	}
	if len(out) == 0 && len(folded) > 0 {
		return []string{""} // none can match
	}
	return out
}

// handleVulnerabilityList serves GET /api/vulnerabilities.
func (rt *routes) handleVulnerabilityList() http.Handler {
	return rt.serve(endpointTVM, vulnPerms, func(w http.ResponseWriter, r *http.Request, rd *reader) error {
		q, err := listQuery(r, vulnerabilitySchema, "vulnerabilities", maxVulnerabilityTop)
		if err != nil {
			return err
		}
		var f vuln.VulnerabilityFilter
		if sv, ok := q.Filter.EqualityOn(vSeverity); ok {
			f.Severities = severities(sv)
		}
		all, err := rt.store.Vulnerabilities(r.Context(), rd.p.TenantID, f, rd.sc)
		if err != nil {
			return err
		}
		writeList(w, r, q, setVulnerabilities, all, func(v *vuln.Vulnerability) bool { return q.Filter.Match(vulnEntity{v}) }, appendVulnerability)
		return nil
	})
}

// handleVulnerability serves GET /api/vulnerabilities/{id}[/machineReferences].
func (rt *routes) handleVulnerability(sub string) http.Handler {
	return rt.serve(endpointTVM, vulnPerms, func(w http.ResponseWriter, r *http.Request, rd *reader) error {
		if err := mdeapi.NoQuery(r); err != nil {
			return err
		}
		id := r.PathValue("id")
		if len(id) > 4 && strings.EqualFold(id[:4], "CVE-") {
			id = strings.ToUpper(id) // a TVM id keeps its case
		}
		if sub == "" {
			v, err := rt.store.VulnerabilityByID(r.Context(), rd.p.TenantID, id, rd.sc)
			if err != nil {
				return err
			}
			mdeapi.WriteEntity(w, r, http.StatusOK, setVulnerabilities, appendVulnerability(nil, &v))
			return nil
		}
		ms, err := rt.store.VulnerabilityMachines(r.Context(), rd.p.TenantID, id, rd.sc)
		if err != nil {
			return err
		}
		writeRefs(w, r, rd, ms)
		return nil
	})
}

// The OData schema of /recommendations (get-all-recommendations).
const (
	rID = iota
	rProductName
	rVendor
	rRecommendedVersion
	rCategory
	rSubCategory
	rRemediationType
	rStatus
	rPublicExploit
	rWeaknesses
)

var recommendationSchema = odata.NewSchema(odata.Prop("id", odata.String, true), odata.Prop("productName", odata.String, true),
	odata.Prop("vendor", odata.String, true), odata.Prop("recommendedVersion", odata.String, true),
	odata.Prop("recommendationCategory", odata.String, true), odata.Prop("subCategory", odata.String, true),
	odata.Prop("remediationType", odata.String, true), odata.Prop("status", odata.String, true),
	odata.Prop("publicExploit", odata.Bool, true), odata.Prop("weaknesses", odata.Int, true))

type recEntity struct{ r *vuln.Recommendation }

func (e recEntity) String(p int) (string, bool) {
	switch p {
	case rID:
		return e.r.ID(), true
	case rProductName:
		return e.r.Name, true
	case rVendor:
		return e.r.Vendor, true
	case rRecommendedVersion:
		return e.r.RecommendedVersion, true
	case rCategory:
		return vuln.Category(e.r.Product), true
	case rSubCategory:
		return "", true
	case rRemediationType:
		return "Update", true
	case rStatus:
		return "Active", true
	}
	return "", false
}
func (e recEntity) Int(int) (int64, bool) { return int64(e.r.Weaknesses), true }
func (recEntity) Time(int) (int64, bool)  { return 0, false }
func (e recEntity) Bool(int) (bool, bool) { return e.r.PublicExploit, true }
func (recEntity) Strings(int) []string    { return nil }

// handleRecommendationList serves GET /api/recommendations.
func (rt *routes) handleRecommendationList() http.Handler {
	return rt.serve(endpointTVM, recPerms, func(w http.ResponseWriter, r *http.Request, rd *reader) error {
		q, err := listQuery(r, recommendationSchema, "recommendations", mdeapi.MaxPage)
		if err != nil {
			return err
		}
		all, err := rt.store.Recommendations(r.Context(), rd.p.TenantID, rd.sc)
		if err != nil {
			return err
		}
		writeList(w, r, q, setRecommendations, all, func(rc *vuln.Recommendation) bool { return q.Filter.Match(recEntity{rc}) }, appendRecommendation)
		return nil
	})
}

// handleRecommendation serves GET /api/recommendations/{id}[/{sub}]: the
// recommendation, its product, the machines exposed (with a vulnerable
// version), the vulnerabilities it fixes.
func (rt *routes) handleRecommendation(sub string) http.Handler {
	pm := recPerms
	if sub == "vulnerabilities" {
		pm = vulnPerms
	}
	return rt.serve(endpointTVM, pm, func(w http.ResponseWriter, r *http.Request, rd *reader) error {
		if err := mdeapi.NoQuery(r); err != nil {
			return err
		}
		ctx, tn, raw := r.Context(), rd.p.TenantID, r.PathValue("id")
		rc, err := rt.store.RecommendationByID(ctx, tn, strings.ToLower(raw), rd.sc)
		if err != nil {
			return err
		}
		sid := rc.Product.ID()
		switch sub {
		case "":
			mdeapi.WriteEntity(w, r, http.StatusOK, setRecommendations, appendRecommendation(nil, &rc))
		case "software":
			s, err := rt.store.SoftwareByID(ctx, tn, sid, rd.sc)
			if err != nil {
				return err
			}
			writeAll(w, r, setSoftware, []vuln.Software{s}, appendSoftware)
		case "machineReferences":
			ms, err := rt.exposedMachines(r, rd, rc.Product)
			if err != nil {
				return err
			}
			writeRefs(w, r, rd, ms)
		default:
			vs, err := rt.store.SoftwareVulnerabilities(ctx, tn, sid, rd.sc)
			if err != nil {
				return err
			}
			writeAll(w, r, setVulnerabilities, vs, appendVulnerability)
		}
		return nil
	})
}

// exposedMachines returns the machines of rd's scope with a vulnerable
// version of product p: those of its machinesVulnerabilities rows.
func (rt *routes) exposedMachines(r *http.Request, rd *reader, p vuln.Product) ([]vuln.MachineRef, error) {
	rows, err := rt.store.MachineVulnerabilityRows(r.Context(), rd.p.TenantID,
		vuln.RowFilter{ProductVendors: []string{p.Vendor}, ProductNames: []string{p.Name}}, rd.sc, 0, 0)
	if err != nil {
		return nil, err
	}
	exposed := map[string]bool{}
	for _, row := range rows {
		exposed[row.MachineID] = true
	}
	all, err := rt.store.SoftwareMachines(r.Context(), rd.p.TenantID, p.ID(), rd.sc)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(m vuln.MachineRef) bool { return !exposed[m.ID] }), nil
}

// The OData schema of /vulnerabilities/machinesVulnerabilities.
const (
	mvID = iota
	mvCVEID
	mvMachineID
	mvFixingKBID
	mvProductName
	mvProductVersion
	mvSeverity
	mvProductVendor
)

var rowSchema = odata.NewSchema(odata.Prop("id", odata.String, true), odata.Prop("cveId", odata.String, true),
	odata.Prop("machineId", odata.String, true), odata.Prop("fixingKbId", odata.String, true),
	odata.Prop("productName", odata.String, true), odata.Prop("productVersion", odata.String, true),
	odata.Prop("severity", odata.Enum, true, vuln.Severities...), odata.Prop("productVendor", odata.String, true))

type rowEntity struct{ r *vuln.MachineVulnerabilityRow }

func (e rowEntity) String(p int) (string, bool) {
	switch p {
	case mvID:
		return e.r.ID(), true
	case mvCVEID:
		return e.r.CVEID, true
	case mvMachineID:
		return e.r.MachineID, true
	case mvFixingKBID:
		return e.r.FixingKB, e.r.FixingKB != ""
	case mvProductName:
		return e.r.Product.Name, true
	case mvProductVersion:
		return e.r.Version, true
	case mvSeverity:
		return e.r.Severity, true
	case mvProductVendor:
		return e.r.Product.Vendor, true
	}
	return "", false
}
func (rowEntity) Int(int) (int64, bool)  { return 0, false }
func (rowEntity) Time(int) (int64, bool) { return 0, false }
func (rowEntity) Bool(int) (bool, bool)  { return false, false }
func (rowEntity) Strings(int) []string   { return nil }

// handleMachinesVulnerabilities serves GET
// /api/vulnerabilities/machinesVulnerabilities. Without $filter the page
// is read from the store by $skip and $top; with one, the rows its
// equalities on machineId, productName and productVendor select are read
// and the filter applied to them.
func (rt *routes) handleMachinesVulnerabilities() http.Handler {
	return rt.serve(endpointTVM, vulnPerms, func(w http.ResponseWriter, r *http.Request, rd *reader) error {
		q, err := listQuery(r, rowSchema, "machinesVulnerabilities", mdeapi.MaxPage)
		if err != nil {
			return err
		}
		var f vuln.RowFilter
		f.MachineIDs, _ = q.Filter.EqualityOn(mvMachineID)
		f.ProductNames, _ = q.Filter.EqualityOn(mvProductName)
		f.ProductVendors, _ = q.Filter.EqualityOn(mvProductVendor)
		if sv, ok := q.Filter.EqualityOn(mvSeverity); ok {
			f.Severities = severities(sv)
		}
		if ids, ok := q.Filter.EqualityOn(mvID); ok {
			for _, id := range ids { // folded: the machine id, vendor and product are lower case already
				if row, ok := vuln.ParseRowID(id); ok {
					f.MachineIDs = append(f.MachineIDs, row.MachineID)
				}
			}
			if len(f.MachineIDs) == 0 {
				f.MachineIDs = []string{""}
			}
		}
		if q.Filter == nil && !q.Count {
			top := mdeapi.MaxPage
			if q.Top >= 0 {
				top = q.Top
			}
			if top == 0 {
				writeAll[vuln.MachineVulnerabilityRow](w, r, setRows, nil, appendRow)
				return nil
			}
			rows, err := rt.store.MachineVulnerabilityRows(r.Context(), rd.p.TenantID, f, rd.sc, q.Skip, top+1)
			if err != nil {
				return err
			}
			next := ""
			if len(rows) > top {
				rows = rows[:top]
				next = mdeapi.NextLink(r, "$skip", strconv.Itoa(q.Skip+top))
			}
			b, end := mdeapi.OpenCollection(make([]byte, 0, 256+250*len(rows)), r, setRows, false, 0, next)
			for i := range rows {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendRow(b, &rows[i])
			}
			mdeapi.WriteOData(w, append(b, end...))
			return nil
		}
		all, err := rt.store.MachineVulnerabilityRows(r.Context(), rd.p.TenantID, f, rd.sc, 0, 0)
		if err != nil {
			return err
		}
		writeList(w, r, q, setRows, all, func(row *vuln.MachineVulnerabilityRow) bool { return q.Filter.Match(rowEntity{row}) }, appendRow)
		return nil
	})
}
