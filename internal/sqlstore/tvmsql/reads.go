package tvmsql

import (
	"cmp"
	"context"
	"maps"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/openatp/openatp/vuln"
)

// installedOn returns the installed (not removed) versions of a
// machine's blob.
func installedOn(m *machineRow) ([]pv, error) {
	var d decoder
	if err := d.reset(m.software); err != nil {
		return nil, internal(err)
	}
	out := make([]pv, 0, min(d.n, len(m.software)))
	for {
		ok, err := d.next()
		if err != nil {
			return nil, internal(err)
		}
		if !ok {
			return out, nil
		}
		if d.e.removed == 0 {
			out = append(out, pv{d.e.product, d.e.version})
		}
	}
}

// vulnerability returns a copy of catalog vulnerability n with its
// exposure in t.
func (t *stats) vulnerability(n int64) vuln.Vulnerability {
	v := *t.cat.vulns[n]
	v.ExposedMachines = t.vulnHosts[n]
	return v
}

// vulnList returns the catalog's vulnerabilities by id, each with its
// exposure in t: made once per t (kept with it, and with it the routes'
// encodings of its items).
func (t *stats) vulnList() *vuln.Kept[vuln.Vulnerability] {
	t.vulnOnce.Do(func() {
		vs := make([]vuln.Vulnerability, len(t.cat.byRank))
		for i, n := range t.cat.byRank {
			vs[i] = t.vulnerability(n)
		}
		t.vulns = vuln.NewKept(vs)
	})
	return t.vulns
}

// vulnerabilities returns the distinct vulnerabilities of versions, by id:
// their places in the catalog's id order (vulnList).
func (t *stats) vulnerabilities(versions []pv) vuln.Selection[vuln.Vulnerability] {
	var lists [][]int32
	for _, p := range versions {
		for _, vr := range t.cat.ranks[p.product] {
			if vr.version == p.version {
				lists = append(lists, vr.ranks)
			}
		}
	}
	return t.selection(lists)
}

// selection returns the distinct places of lists in order: marked in a
// set of them and read back in order.
func (t *stats) selection(lists [][]int32) vuln.Selection[vuln.Vulnerability] {
	marks := make([]uint64, (len(t.cat.byRank)+63)/64)
	n := 0
	for _, l := range lists {
		for _, r := range l {
			w, bit := r/64, uint64(1)<<(r%64)
			if marks[w]&bit == 0 {
				marks[w] |= bit
				n++
			}
		}
	}
	ranks := make([]int32, 0, n)
	for w, m := range marks {
		for m != 0 {
			ranks = append(ranks, int32(w*64+bits.TrailingZeros64(m)))
			m &= m - 1
		}
	}
	return vuln.Selection[vuln.Vulnerability]{List: t.vulnList(), Index: ranks}
}

// software returns product n with its counts in t, its weaknesses those
// of versions when not nil (a machine's), else of every installed version.
func (t *stats) software(n int64, versions []pv) vuln.Software {
	sw := vuln.Software{Product: t.cat.products[n], ExposedMachines: t.exposed[n], InstalledMachines: t.installed[n],
		ImpactScore: t.exposure.ImpactScore(t.cat.ids[n])}
	if versions == nil {
		for v := range t.weak[n] {
			sw.Weaknesses++
			sw.PublicExploit = sw.PublicExploit || t.cat.vulns[v].PublicExploit
		}
		return sw
	}
	seen := map[int64]bool{}
	for _, p := range versions {
		for _, a := range t.cat.affected[p] {
			if !seen[a.vuln] {
				seen[a.vuln] = true
				sw.Weaknesses++
				sw.PublicExploit = sw.PublicExploit || t.cat.vulns[a.vuln].PublicExploit
			}
		}
	}
	return sw
}

// recommendation returns the recommendation for product n from the
// vulnerable versions given (nil: every version installed in t's scope);
// false if none is vulnerable.
func (t *stats) recommendation(n int64, versions []pv) (vuln.Recommendation, bool) {
	if versions == nil {
		for p, c := range t.versions {
			if p.product == n && c > 0 {
				versions = append(versions, p)
			}
		}
	}
	r := vuln.Recommendation{Product: t.cat.products[n], ExposedMachines: t.exposed[n], TotalMachines: t.installed[n],
		ExposureImpact: t.exposure.ImpactScore(t.cat.ids[n])}
	seen := map[int64]bool{}
	kbs := map[string]bool{}
	for _, p := range versions {
		for _, a := range t.cat.affected[p] {
			if a.fixed != "" && compareVersions(a.fixed, r.RecommendedVersion) > 0 {
				r.RecommendedVersion = a.fixed
			}
			if a.kb != "" {
				kbs[a.kb] = true
			}
			if seen[a.vuln] {
				continue
			}
			seen[a.vuln] = true
			v := t.cat.vulns[a.vuln]
			r.Weaknesses++
			r.PublicExploit = r.PublicExploit || v.PublicExploit
			if v.CVSSV3 != nil && *v.CVSSV3 > r.SeverityScore {
				r.SeverityScore = *v.CVSSV3
			}
		}
	}
	r.FixingKBs = []string{}
	for kb := range kbs {
		r.FixingKBs = append(r.FixingKBs, kb)
	}
	slices.Sort(r.FixingKBs)
	return r, r.Weaknesses > 0
}

// update returns security update id with its count in t (its id alone
// if the catalog lacks it).
func (t *stats) update(id string) vuln.SecurityUpdate {
	u := vuln.SecurityUpdate{ID: id, ProductsNames: []string{}, CVEs: []string{}}
	if c := t.cat.updates[id]; c != nil {
		u = *c
	}
	u.MachineMissedOn = t.missing[id]
	return u
}

// compareVersions compares dotted versions part by part, numerically
// where both parts are numbers; "" is the lowest.
func compareVersions(a, b string) int {
	for a != "" || b != "" {
		var pa, pb string
		pa, a, _ = strings.Cut(a, ".")
		pb, b, _ = strings.Cut(b, ".")
		na, ea := strconv.ParseUint(pa, 10, 64)
		nb, eb := strconv.ParseUint(pb, 10, 64)
		var c int
		if ea == nil && eb == nil {
			c = cmp.Compare(na, nb)
		} else {
			c = strings.Compare(pa, pb)
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// machineReads is the start of a per-machine read: the state, the
// machine, its installed versions and the scope's counts.
func (s *Vuln) machineRead(ctx context.Context, tenantID, machineID string, sc vuln.Scope) (*stats, *machineRow, []pv, error) {
	st, m, err := s.beginMachine(ctx, tenantID, machineID, sc)
	if err != nil {
		return nil, nil, nil, err
	}
	versions, err := installedOn(m)
	if err != nil {
		return nil, nil, nil, err
	}
	t, err := s.stats(ctx, st)
	if err != nil {
		return nil, nil, nil, err
	}
	return t, m, versions, nil
}

// MachineVulnerabilities returns the vulnerabilities of one machine's software.
func (s *Vuln) MachineVulnerabilities(ctx context.Context, tenantID, machineID string, sc vuln.Scope) (vuln.Selection[vuln.Vulnerability], error) {
	// A machine with vulnerable software installed is in the counts of
	// the scope (kept, for the tenant or a scope of a key): its versions
	// are there, its inventory row not read.
	id := strings.ToLower(machineID)
	st, err := s.begin(ctx, tenantID, sc)
	if err != nil {
		return vuln.Selection[vuln.Vulnerability]{}, err
	}
	t, err := s.stats(ctx, st)
	if err != nil {
		return vuln.Selection[vuln.Vulnerability]{}, err
	}
	if places, ok := t.machineVulnerable[id]; ok && sc.Sees(id) {
		lists := make([][]int32, len(places))
		for i, p := range places {
			lists[i] = t.vulnerable[p]
		}
		return t.selection(lists), nil
	}
	// Another (none vulnerable, no inventory, unknown, out of scope): the
	// machine's row decides.
	t, _, versions, err := s.machineRead(ctx, tenantID, machineID, sc)
	if err != nil {
		return vuln.Selection[vuln.Vulnerability]{}, err
	}
	return t.vulnerabilities(versions), nil
}

// byProduct groups versions by product, in product id order.
func byProduct(t *stats, versions []pv) ([]int64, map[int64][]pv) {
	m := map[int64][]pv{}
	var ns []int64
	for _, p := range versions {
		if _, ok := m[p.product]; !ok {
			ns = append(ns, p.product)
		}
		m[p.product] = append(m[p.product], p)
	}
	slices.SortFunc(ns, func(a, b int64) int { return strings.Compare(t.cat.ids[a], t.cat.ids[b]) })
	return ns, m
}

// MachineSoftware returns the products installed on one machine.
func (s *Vuln) MachineSoftware(ctx context.Context, tenantID, machineID string, sc vuln.Scope) ([]vuln.Software, error) {
	t, _, versions, err := s.machineRead(ctx, tenantID, machineID, sc)
	if err != nil {
		return nil, err
	}
	ns, vs := byProduct(t, versions)
	out := make([]vuln.Software, 0, len(ns))
	for _, n := range ns {
		out = append(out, t.software(n, vs[n]))
	}
	return out, nil
}

// MachineRecommendations returns the recommendations of one machine.
func (s *Vuln) MachineRecommendations(ctx context.Context, tenantID, machineID string, sc vuln.Scope) ([]vuln.Recommendation, error) {
	t, _, versions, err := s.machineRead(ctx, tenantID, machineID, sc)
	if err != nil {
		return nil, err
	}
	ns, vs := byProduct(t, versions)
	out := []vuln.Recommendation{}
	for _, n := range ns {
		if r, ok := t.recommendation(n, vs[n]); ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// MachineMissingKBs returns the security updates one machine lacks.
func (s *Vuln) MachineMissingKBs(ctx context.Context, tenantID, machineID string, sc vuln.Scope) ([]vuln.SecurityUpdate, error) {
	t, m, _, err := s.machineRead(ctx, tenantID, machineID, sc)
	if err != nil {
		return nil, err
	}
	out := []vuln.SecurityUpdate{}
	for _, kb := range splitKBs(m.kbs) {
		out = append(out, t.update(kb))
	}
	return out, nil
}

// scopeStats is the start of a catalog read.
func (s *Vuln) scopeStats(ctx context.Context, tenantID string, sc vuln.Scope) (*state, *stats, error) {
	st, err := s.begin(ctx, tenantID, sc)
	if err != nil {
		return nil, nil, err
	}
	t, err := s.stats(ctx, st)
	return st, t, err
}

// Software returns the products installed in a scope.
func (s *Vuln) Software(ctx context.Context, tenantID string, f vuln.SoftwareFilter, sc vuln.Scope) ([]vuln.Software, error) {
	_, t, err := s.scopeStats(ctx, tenantID, sc)
	if err != nil {
		return nil, err
	}
	out := []vuln.Software{}
	for n, c := range t.installed {
		p := t.cat.products[n]
		if c == 0 || !match(f.IDs, t.cat.ids[n]) || !match(f.Names, p.Name) || !match(f.Vendors, p.Vendor) {
			continue
		}
		out = append(out, t.software(n, nil))
	}
	slices.SortFunc(out, func(a, b vuln.Software) int { return strings.Compare(a.ID(), b.ID()) })
	return out, nil
}

// match reports whether v is one of set (an empty set: any).
func match(set []string, v string) bool { return len(set) == 0 || slices.Contains(set, v) }

// product resolves a software id installed in t's scope.
func (t *stats) product(id string) (int64, error) {
	p, ok := vuln.ParseSoftwareID(id)
	n, known := t.cat.productSeq[p]
	if !ok || !known || t.installed[n] == 0 {
		return 0, vuln.SoftwareNotFound(id)
	}
	return n, nil
}

// SoftwareByID returns one product installed in a scope.
func (s *Vuln) SoftwareByID(ctx context.Context, tenantID, id string, sc vuln.Scope) (vuln.Software, error) {
	_, t, err := s.scopeStats(ctx, tenantID, sc)
	if err != nil {
		return vuln.Software{}, err
	}
	n, err := t.product(id)
	if err != nil {
		return vuln.Software{}, err
	}
	return t.software(n, nil), nil
}

// SoftwareDistributions returns the installed versions of a product.
func (s *Vuln) SoftwareDistributions(ctx context.Context, tenantID, id string, sc vuln.Scope) ([]vuln.Distribution, error) {
	_, t, err := s.scopeStats(ctx, tenantID, sc)
	if err != nil {
		return nil, err
	}
	n, err := t.product(id)
	if err != nil {
		return nil, err
	}
	out := []vuln.Distribution{}
	for p, c := range t.versions {
		if p.product == n && c > 0 {
			out = append(out, vuln.Distribution{Version: p.version, Installations: c, Vulnerabilities: len(t.cat.affected[p])})
		}
	}
	slices.SortFunc(out, func(a, b vuln.Distribution) int { return compareVersions(a.Version, b.Version) })
	return out, nil
}

// machinesWith returns the machines of st's scope with an installed
// version that has returns true, by id.
func (s *Vuln) machinesWith(ctx context.Context, st *state, has func(pv) bool) ([]vuln.MachineRef, error) {
	out := []vuln.MachineRef{}
	var d decoder
	err := s.eachInventory(ctx, st, true, func(m *machineRow) error {
		if err := d.reset(m.software); err != nil {
			return internal(err)
		}
		for {
			ok, err := d.next()
			if err != nil {
				return internal(err)
			}
			if !ok {
				return nil
			}
			if d.e.removed == 0 && has(pv{d.e.product, d.e.version}) {
				out = append(out, vuln.MachineRef{ID: m.id, ComputerDNSName: m.info.ComputerDNSName, OSPlatform: m.info.OSPlatform})
				return nil
			}
		}
	})
	return out, err
}

// SoftwareMachines returns the machines with a product installed.
func (s *Vuln) SoftwareMachines(ctx context.Context, tenantID, id string, sc vuln.Scope) ([]vuln.MachineRef, error) {
	st, t, err := s.scopeStats(ctx, tenantID, sc)
	if err != nil {
		return nil, err
	}
	n, err := t.product(id)
	if err != nil {
		return nil, err
	}
	return s.machinesWith(ctx, st, func(p pv) bool { return p.product == n })
}

// installedVersions returns the versions of product n installed in t's scope.
func (t *stats) installedVersions(n int64) []pv {
	var out []pv
	for p, c := range t.versions {
		if p.product == n && c > 0 {
			out = append(out, p)
		}
	}
	return out
}

// SoftwareVulnerabilities returns the vulnerabilities of a product's
// installed versions.
func (s *Vuln) SoftwareVulnerabilities(ctx context.Context, tenantID, id string, sc vuln.Scope) ([]vuln.Vulnerability, error) {
	_, t, err := s.scopeStats(ctx, tenantID, sc)
	if err != nil {
		return nil, err
	}
	n, err := t.product(id)
	if err != nil {
		return nil, err
	}
	return t.vulnerabilities(t.installedVersions(n)).Items(), nil
}

// SoftwareMissingKBs returns the updates that fix a product's installed
// versions.
func (s *Vuln) SoftwareMissingKBs(ctx context.Context, tenantID, id string, sc vuln.Scope) ([]vuln.SecurityUpdate, error) {
	_, t, err := s.scopeStats(ctx, tenantID, sc)
	if err != nil {
		return nil, err
	}
	n, err := t.product(id)
	if err != nil {
		return nil, err
	}
	kbs := map[string]bool{}
	cves := map[string]bool{}
	for _, p := range t.installedVersions(n) {
		for _, a := range t.cat.affected[p] {
			if a.kb != "" {
				kbs[a.kb] = true
			}
			cves[t.cat.vulns[a.vuln].ID] = true
		}
	}
	for id, u := range t.cat.updates {
		if slices.ContainsFunc(u.CVEs, func(c string) bool { return cves[c] }) {
			kbs[id] = true
		}
	}
	out := []vuln.SecurityUpdate{}
	for kb := range kbs {
		out = append(out, t.update(kb))
	}
	slices.SortFunc(out, func(a, b vuln.SecurityUpdate) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Vulnerabilities returns the catalog's vulnerabilities.
func (s *Vuln) Vulnerabilities(ctx context.Context, tenantID string, f vuln.VulnerabilityFilter, sc vuln.Scope) ([]vuln.Vulnerability, error) {
	_, t, err := s.scopeStats(ctx, tenantID, sc)
	if err != nil {
		return nil, err
	}
	out := []vuln.Vulnerability{}
	for n, v := range t.cat.vulns {
		if !match(f.IDs, v.ID) || !match(f.Severities, v.Severity) || !f.UpdatedAfter.IsZero() && !v.UpdatedOn.After(f.UpdatedAfter) {
			continue
		}
		out = append(out, t.vulnerability(n))
	}
	slices.SortFunc(out, func(a, b vuln.Vulnerability) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// VulnerabilityByID returns one vulnerability of the catalog.
func (s *Vuln) VulnerabilityByID(ctx context.Context, tenantID, id string, sc vuln.Scope) (vuln.Vulnerability, error) {
	_, t, err := s.scopeStats(ctx, tenantID, sc)
	if err != nil {
		return vuln.Vulnerability{}, err
	}
	n, ok := t.cat.vulnSeq[id]
	if !ok {
		return vuln.Vulnerability{}, vuln.VulnerabilityNotFound(id)
	}
	return t.vulnerability(n), nil
}

// VulnerabilityMachines returns the machines exposed to a vulnerability.
func (s *Vuln) VulnerabilityMachines(ctx context.Context, tenantID, id string, sc vuln.Scope) ([]vuln.MachineRef, error) {
	st, t, err := s.scopeStats(ctx, tenantID, sc)
	if err != nil {
		return nil, err
	}
	n, ok := t.cat.vulnSeq[id]
	if !ok {
		return nil, vuln.VulnerabilityNotFound(id)
	}
	if t.vulnHosts[n] == 0 {
		return []vuln.MachineRef{}, nil
	}
	return s.machinesWith(ctx, st, func(p pv) bool {
		return slices.ContainsFunc(t.cat.affected[p], func(a affected) bool { return a.vuln == n })
	})
}

// Recommendations returns one recommendation per vulnerable product.
func (s *Vuln) Recommendations(ctx context.Context, tenantID string, sc vuln.Scope) ([]vuln.Recommendation, error) {
	_, t, err := s.scopeStats(ctx, tenantID, sc)
	if err != nil {
		return nil, err
	}
	out := []vuln.Recommendation{}
	for n, c := range t.exposed {
		if c == 0 {
			continue
		}
		if r, ok := t.recommendation(n, nil); ok {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b vuln.Recommendation) int { return strings.Compare(a.ID(), b.ID()) })
	return out, nil
}

// RecommendationByID returns one recommendation.
func (s *Vuln) RecommendationByID(ctx context.Context, tenantID, id string, sc vuln.Scope) (vuln.Recommendation, error) {
	_, t, err := s.scopeStats(ctx, tenantID, sc)
	if err != nil {
		return vuln.Recommendation{}, err
	}
	p, ok := vuln.ParseRecommendationID(id)
	n, known := t.cat.productSeq[p]
	if !ok || !known || t.exposed[n] == 0 {
		return vuln.Recommendation{}, vuln.RecommendationNotFound(id)
	}
	r, _ := t.recommendation(n, nil)
	return r, nil
}

// Exposure returns what the scores are computed from.
func (s *Vuln) Exposure(ctx context.Context, tenantID string, sc vuln.Scope) (vuln.Exposure, error) {
	_, t, err := s.scopeStats(ctx, tenantID, sc)
	if err != nil {
		return vuln.Exposure{}, err
	}
	e := t.exposure // the counts are shared: the maps are copied
	e.Points, e.Fall = maps.Clone(e.Points), maps.Clone(e.Fall)
	return e, nil
}
