// Package tvmsql is vulnerability management's SQL, the same in both of
// openatp's SQL stores (packages sqlite and postgres): the vuln.Store
// methods. An engine's DB embeds a *Vuln beside sqlstore's Reader and
// Writer and so has them as its own.
//
// It is written as package sqlstore is (its placeholders, its Querier
// and Execer, its engine's transactions). The catalog is a few tables;
// a machine's inventory is one row whose installed software is packed in
// a blob (blob.go), so that importing or scanning 4 million installations
// is 100,000 rows. What the reads derive from the whole tenant (the
// counts and scores) is computed in Go from one scan of those rows and
// kept, per tenant, until tvm_state says the catalog or the inventory
// changed: a read first reads that row (one indexed row), so no answer is
// ever stale, whichever process wrote.
package tvmsql

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
	"github.com/openatp/openatp/vuln"
)

// Vuln makes the reads and writes of vulnerability management.
type Vuln struct {
	w           sqlstore.Writer  // the engine's transactions and clock
	q           sqlstore.Querier // the engine's pool of readers
	dataVersion func(context.Context) (uint64, error)

	mu      sync.Mutex
	tenants map[int64]*tenantCache
	states  map[string]stateAt // the tenants' states as last read, by id
}

// stateAt is a tenant's state row as read at a data version.
type stateAt struct {
	data          uint64
	seq, cat, inv int64
}

// New returns vulnerability management's SQL of an engine: w and r are
// the engine's shared writes and reads (sqlstore.NewWriter, NewReader);
// dataVersion, if not nil, is the engine's openatp.Store.DataVersion
// when it costs less than a query (no system call): a read then takes a
// tenant's state as last read while it has not moved.
func New(w sqlstore.Writer, r sqlstore.Reader, dataVersion func(context.Context) (uint64, error)) *Vuln {
	return &Vuln{w: w, q: r.Querier(), dataVersion: dataVersion, tenants: map[int64]*tenantCache{}, states: map[string]stateAt{}}
}

var _ vuln.Store = (*Vuln)(nil)

// tenantCache is what a tenant's reads keep: the catalog at a catalog
// version, the counts of the whole tenant at a (catalog, inventory)
// version. mu serializes their builds, so that concurrent readers after
// a write build once.
type tenantCache struct {
	mu     sync.Mutex
	cat    *catalog
	all    *stats
	scoped map[string]*stats // the counts of Visible scopes, by key
}

// maxScopedStats bounds the Visible scopes whose counts a tenant keeps
// (all are dropped beyond it).
const maxScopedStats = 16

// maxCachedTenants bounds the tenants whose catalog and counts are kept
// (the least recently built are dropped first... simply: all, beyond it).
const maxCachedTenants = 64

// state is a tenant's row number and the versions of its catalog and
// inventory (0, 0 for a tenant that has never had either).
type state struct {
	tenant     string
	seq        int64
	catalog    int64
	inventory  int64
	cache      *tenantCache
	scope      vuln.Scope
	catalogRef *catalog
}

// begin reads a tenant's state and its catalog. NotFound if the tenant
// does not exist.
func (s *Vuln) begin(ctx context.Context, tenantID string, sc vuln.Scope) (*state, error) {
	// The data version is read before the row: a write committed after
	// it moves it again.
	var data uint64
	known := false
	if s.dataVersion != nil {
		if v, err := s.dataVersion(ctx); err == nil {
			data, known = v, true
			s.mu.Lock()
			r, ok := s.states[tenantID]
			s.mu.Unlock()
			if ok && r.data == v {
				st := &state{tenant: tenantID, seq: r.seq, catalog: r.cat, inventory: r.inv, scope: sc}
				return st, s.attach(ctx, st)
			}
		}
	}
	r, err := sqlstore.Get(ctx, s.q, "cannot read the tenant", func() error { return sqlstore.TenantNotFound(tenantID) },
		func(sc sqlstore.Scanner) (r stateAt, err error) { return r, sc.Scan(&r.seq, &r.cat, &r.inv) },
		`SELECT t.seq, COALESCE(s.catalog_version, 0), COALESCE(s.inventory_version, 0)
		FROM tenants t LEFT JOIN tvm_state s ON s.tenant_seq = t.seq WHERE t.id = ?`, tenantID)
	if err != nil {
		return nil, err
	}
	if known {
		r.data = data
		s.mu.Lock()
		if len(s.states) >= maxCachedTenants {
			clear(s.states)
		}
		s.states[tenantID] = r
		s.mu.Unlock()
	}
	st := &state{tenant: tenantID, seq: r.seq, catalog: r.cat, inventory: r.inv, scope: sc}
	return st, s.attach(ctx, st)
}

// attach finds st's tenant cache and its catalog at st's catalog version
// (loading it if the cache has another).
func (s *Vuln) attach(ctx context.Context, st *state) error {
	s.mu.Lock()
	c := s.tenants[st.seq]
	if c == nil {
		if len(s.tenants) >= maxCachedTenants {
			clear(s.tenants)
		}
		c = &tenantCache{}
		s.tenants[st.seq] = c
	}
	s.mu.Unlock()
	st.cache = c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cat == nil || c.cat.version != st.catalog {
		cat, err := s.loadCatalog(ctx, st.seq, st.catalog)
		if err != nil {
			return err
		}
		c.cat = cat
	}
	st.catalogRef = c.cat
	return nil
}

// beginMachine is begin and machine in one statement: a tenant's state
// and one machine of sc with its inventory (software nil, kbs "" if it
// has none). The errors are begin's, then machine's.
func (s *Vuln) beginMachine(ctx context.Context, tenantID, machineID string, sc vuln.Scope) (*state, *machineRow, error) {
	id := strings.ToLower(machineID)
	type row struct {
		seq, cat, inv int64
		mseq          *int64
		m             machineRow
	}
	r, err := sqlstore.Get(ctx, s.q, "cannot read the machine", func() error { return sqlstore.TenantNotFound(tenantID) },
		func(sc sqlstore.Scanner) (r row, err error) {
			var mid, kbs *string
			err = sc.Scan(&r.seq, &r.cat, &r.inv, &r.mseq, &mid, &r.m.software, &kbs,
				&r.m.info.ComputerDNSName, &r.m.info.OSPlatform, &r.m.info.OSVersion, &r.m.info.OSArchitecture)
			if r.mseq != nil {
				r.m.seq, r.m.id = *r.mseq, *mid
				r.m.info.ID = r.m.id
			}
			if kbs != nil {
				r.m.kbs = *kbs
			}
			return r, err
		}, `SELECT t.seq, COALESCE(s.catalog_version, 0), COALESCE(s.inventory_version, 0),
		m.seq, m.id, i.software, i.kbs, m.computer_dns_name, m.os_platform, m.os_version, m.os_architecture
		FROM tenants t LEFT JOIN tvm_state s ON s.tenant_seq = t.seq
		LEFT JOIN machines m ON m.tenant_seq = t.seq AND m.id = ?
		LEFT JOIN tvm_inventory i ON i.tenant_seq = m.tenant_seq AND i.machine_seq = m.seq
		WHERE t.id = ?`, id, tenantID)
	if err != nil {
		return nil, nil, err
	}
	st := &state{tenant: tenantID, seq: r.seq, catalog: r.cat, inventory: r.inv, scope: sc}
	if err := s.attach(ctx, st); err != nil {
		return nil, nil, err
	}
	if !sc.Sees(id) || r.mseq == nil {
		return nil, nil, vuln.MachineNotFound(id)
	}
	return st, &r.m, nil
}

// stats returns the counts of st's scope: kept for the whole tenant and
// for a scope of a key (vuln.Visible), computed anew for another.
func (s *Vuln) stats(ctx context.Context, st *state) (*stats, error) {
	key := st.scope.Key()
	if !st.scope.IsAll() && key == "" {
		return s.buildStats(ctx, st)
	}
	c := st.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := c.all
	if key != "" {
		kept = c.scoped[key]
	}
	if kept != nil && kept.catalog == st.catalog && kept.inventory == st.inventory && kept.cat == st.catalogRef {
		return kept, nil
	}
	t, err := s.buildStats(ctx, st)
	if err != nil {
		return nil, err
	}
	if key == "" {
		c.all = t
		return t, nil
	}
	if c.scoped == nil || len(c.scoped) >= maxScopedStats {
		c.scoped = map[string]*stats{}
	}
	c.scoped[key] = t
	return t, nil
}

// pv is an installed version of a product.
type pv struct {
	product int64
	version string
}

// affected is a version of a product that a vulnerability affects.
type affected struct {
	vuln    int64
	rank    int // the vulnerability's place in the catalog by id
	fixed   string
	kb      string
	created int64
}

// catalog is a tenant's catalog as the reads use it.
type catalog struct {
	version    int64
	products   map[int64]vuln.Product
	ids        map[int64]string // software ids, by product number
	productSeq map[vuln.Product]int64
	vulns      map[int64]*vuln.Vulnerability // without Affected
	vulnSeq    map[string]int64
	affected   map[pv][]affected        // by vulnerability number
	byProduct  map[int64][]pv           // the affected versions of each product
	byRank     []int64                  // the vulnerability numbers by id
	ranks      map[int64][]versionRanks // the affected versions of each product with their vulnerabilities' places in byRank
	updates    map[string]*vuln.SecurityUpdate
	weight     map[int64]float64  // vuln.Weight of each vulnerability
	lists      map[int64][]string // the path lists of tvm_strings, by number
}

// list returns path list n (shared: not to be changed).
func (c *catalog) list(n int64) []string {
	if l, ok := c.lists[n]; ok {
		return l
	}
	return []string{}
}

// loadCatalog reads a tenant's catalog.
func (s *Vuln) loadCatalog(ctx context.Context, seq, version int64) (*catalog, error) {
	c := &catalog{version: version, products: map[int64]vuln.Product{}, ids: map[int64]string{}, productSeq: map[vuln.Product]int64{},
		vulns: map[int64]*vuln.Vulnerability{}, vulnSeq: map[string]int64{}, affected: map[pv][]affected{},
		byProduct: map[int64][]pv{}, updates: map[string]*vuln.SecurityUpdate{}, weight: map[int64]float64{}, lists: map[int64][]string{}}
	const msg = "cannot read the vulnerability catalog"
	type product struct {
		seq int64
		p   vuln.Product
	}
	err := sqlstore.Each(ctx, s.q, msg, func(sc sqlstore.Scanner) (p product, err error) { return p, sc.Scan(&p.seq, &p.p.Vendor, &p.p.Name) },
		func(p product) error {
			c.products[p.seq], c.ids[p.seq], c.productSeq[p.p] = p.p, p.p.ID(), p.seq
			return nil
		}, "SELECT seq, vendor, name FROM tvm_products WHERE tenant_seq = ?", seq)
	if err != nil {
		return nil, err
	}
	err = sqlstore.Each(ctx, s.q, msg, scanVulnerability, func(r vrow) error {
		c.vulns[r.seq], c.vulnSeq[r.v.ID] = r.v, r.seq
		c.weight[r.seq] = vuln.Weight(r.v.Severity, r.v.PublicExploit)
		return nil
	}, "SELECT "+vulnColumns+" FROM tvm_vulnerabilities WHERE tenant_seq = ?", seq)
	if err != nil {
		return nil, err
	}
	type arow struct {
		pv pv
		a  affected
	}
	err = sqlstore.Each(ctx, s.q, msg, func(sc sqlstore.Scanner) (r arow, err error) {
		return r, sc.Scan(&r.a.vuln, &r.pv.product, &r.pv.version, &r.a.fixed, &r.a.kb, &r.a.created)
	}, func(r arow) error {
		if len(c.affected[r.pv]) == 0 {
			c.byProduct[r.pv.product] = append(c.byProduct[r.pv.product], r.pv)
		}
		c.affected[r.pv] = append(c.affected[r.pv], r.a)
		return nil
	}, "SELECT vuln_seq, product_seq, version, fixed_version, fixing_kb, created FROM tvm_affected WHERE tenant_seq = ? ORDER BY vuln_seq", seq)
	if err != nil {
		return nil, err
	}
	c.rank()
	type srow struct {
		seq int64
		v   string
	}
	err = sqlstore.Each(ctx, s.q, msg, func(sc sqlstore.Scanner) (r srow, err error) { return r, sc.Scan(&r.seq, &r.v) },
		func(r srow) error {
			c.lists[r.seq] = splitList(r.v)
			return nil
		}, "SELECT seq, value FROM tvm_strings WHERE tenant_seq = ?", seq)
	if err != nil {
		return nil, err
	}
	err = sqlstore.Each(ctx, s.q, msg, scanUpdate, func(u *vuln.SecurityUpdate) error {
		c.updates[u.ID] = u
		return nil
	}, "SELECT id, name, release_date, os_build, products_names, url, cves FROM tvm_updates WHERE tenant_seq = ?", seq)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// rank orders the vulnerabilities by id (byRank) and gives each
// affected version its vulnerability's place in that order, so that a
// read sorts numbers rather than ids.
func (c *catalog) rank() {
	c.byRank = make([]int64, 0, len(c.vulns))
	for n := range c.vulns {
		c.byRank = append(c.byRank, n)
	}
	slices.SortFunc(c.byRank, func(a, b int64) int { return strings.Compare(c.vulns[a].ID, c.vulns[b].ID) })
	ranks := make(map[int64]int, len(c.byRank))
	for i, n := range c.byRank {
		ranks[n] = i
	}
	c.ranks = make(map[int64][]versionRanks, len(c.byProduct))
	for p, affs := range c.affected {
		vr := versionRanks{version: p.version, ranks: make([]int32, len(affs))}
		for i := range affs {
			affs[i].rank = ranks[affs[i].vuln]
			vr.ranks[i] = int32(affs[i].rank)
		}
		c.ranks[p.product] = append(c.ranks[p.product], vr)
	}
}

// versionRanks is an affected version of a product and the places of its
// vulnerabilities in the catalog's id order: what a machine's
// vulnerabilities are read from, a product number's lookup and a short
// scan away.
type versionRanks struct {
	version string
	ranks   []int32
}

// vulnColumns are the columns of tvm_vulnerabilities scanVulnerability reads.
const vulnColumns = `seq, id, name, description, severity, cvss_v3, published, updated, public_exploit, exploit_verified,
	exploit_in_kit, exploit_types, exploit_uris`

// vrow is a stored vulnerability and its number.
type vrow struct {
	seq int64
	v   *vuln.Vulnerability
}

func scanVulnerability(sc sqlstore.Scanner) (r vrow, err error) {
	v := &vuln.Vulnerability{}
	var published, updated int64
	var types, uris string
	err = sc.Scan(&r.seq, &v.ID, &v.Name, &v.Description, &v.Severity, &v.CVSSV3, &published, &updated, &v.PublicExploit,
		&v.ExploitVerified, &v.ExploitInKit, &types, &uris)
	v.PublishedOn, v.UpdatedOn = sqlstore.FromNanos(published), sqlstore.FromNanos(updated)
	v.ExploitTypes, v.ExploitURIs = lines(types), lines(uris)
	r.v = v
	return r, err
}

func scanUpdate(sc sqlstore.Scanner) (*vuln.SecurityUpdate, error) {
	u := &vuln.SecurityUpdate{}
	var released int64
	var products, cves string
	err := sc.Scan(&u.ID, &u.Name, &released, &u.OSBuild, &products, &u.URL, &cves)
	u.ReleaseDate = sqlstore.FromNanos(released)
	u.ProductsNames, u.CVEs = lines(products), lines(cves)
	return u, err
}

// lines reads a list kept one item a line; never nil.
func lines(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, "\n")
}

// stats are the counts of a scope.
type stats struct {
	catalog, inventory int64    // the versions they were computed at
	cat                *catalog // the catalog they were computed with

	machines  int                      // machines with an inventory
	installed map[int64]int            // machines with the product, by product
	exposed   map[int64]int            // machines with a vulnerable version, by product
	versions  map[pv]int               // machines with the version
	vulnHosts map[int64]int            // machines exposed, by vulnerability
	missing   map[string]int           // machines missing the update, by id
	weak      map[int64]map[int64]bool // the vulnerabilities of the installed versions, by product
	exposure  vuln.Exposure

	vulnOnce sync.Once
	vulns    *vuln.Kept[vuln.Vulnerability] // vulnList's

	// The vulnerable versions installed on each machine of the scope, so
	// that a read of a machine's vulnerabilities needs not its inventory
	// row: places in vulnerable, by machine id.
	machineVulnerable map[string][]int32
	vulnerable        [][]int32 // the catalog places (vulnList) of each vulnerable version's vulnerabilities
}

// machineChunk is how many version places buildStats allocates at once
// for the machines' lists (one allocation for many machines).
const machineChunk = 1 << 16

// buildStats computes the counts of st's scope from one scan of the
// inventory.
func (s *Vuln) buildStats(ctx context.Context, st *state) (*stats, error) {
	cat := st.catalogRef
	t := &stats{catalog: st.catalog, inventory: st.inventory, cat: cat, installed: map[int64]int{}, exposed: map[int64]int{},
		versions: map[pv]int{}, vulnHosts: map[int64]int{}, missing: map[string]int{}, weak: map[int64]map[int64]bool{}}
	var d decoder
	seenProduct := map[int64]bool{}
	seenExposed := map[int64]bool{}
	seenVuln := map[int64]bool{}
	points := map[string]float64{}
	t.machineVulnerable = map[string][]int32{}
	places := map[pv]int32{}
	var chunk []int32
	err := s.eachInventory(ctx, st, false, func(m *machineRow) error {
		if err := d.reset(m.software); err != nil {
			return err
		}
		clear(seenProduct)
		clear(seenExposed)
		clear(seenVuln)
		clear(points)
		any := false
		if n := min(d.n, len(m.software)); cap(chunk)-len(chunk) < n {
			chunk = make([]int32, 0, max(machineChunk, n))
		}
		start := len(chunk)
		for {
			ok, err := d.next()
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			if d.e.removed != 0 {
				continue
			}
			any = true
			key := pv{d.e.product, d.e.version}
			t.versions[key]++
			if !seenProduct[key.product] {
				seenProduct[key.product] = true
				t.installed[key.product]++
			}
			affs := cat.affected[key]
			if len(affs) == 0 {
				continue
			}
			if !seenExposed[key.product] {
				seenExposed[key.product] = true
				t.exposed[key.product]++
			}
			place, ok := places[key]
			if !ok {
				place = int32(len(t.vulnerable))
				places[key] = place
				ranks := make([]int32, len(affs))
				for i, a := range affs {
					ranks[i] = int32(a.rank)
				}
				t.vulnerable = append(t.vulnerable, ranks)
			}
			chunk = append(chunk, place)
			weak := t.weak[key.product]
			if weak == nil {
				weak = map[int64]bool{}
				t.weak[key.product] = weak
			}
			id := cat.ids[key.product]
			for _, a := range affs {
				weak[a.vuln] = true
				points[id] += cat.weight[a.vuln]
				if !seenVuln[a.vuln] {
					seenVuln[a.vuln] = true
					t.vulnHosts[a.vuln]++
				}
			}
		}
		if len(chunk) > start {
			t.machineVulnerable[m.id] = chunk[start:len(chunk):len(chunk)]
		}
		kbs := splitKBs(m.kbs)
		if !any && len(kbs) == 0 {
			return nil
		}
		t.machines++
		for _, kb := range kbs {
			t.missing[kb]++
		}
		t.exposure.AddMachine(m.id, points, len(kbs) > 0)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// machineRow is a machine with its inventory row.
type machineRow struct {
	seq      int64
	id       string
	info     vuln.MachineInfo
	software []byte
	kbs      string
}

// scanChunk is how many machines one query of a scan reads.
const scanChunk = 1000

// eachInventory calls f with every machine of st's scope that has an
// inventory row, by machine id (info filled when withInfo).
func (s *Vuln) eachInventory(ctx context.Context, st *state, withInfo bool, f func(*machineRow) error) error {
	return s.inventoryFrom(ctx, st, withInfo, "", f)
}

// inventoryFrom is eachInventory from machine id from on (inclusive).
func (s *Vuln) inventoryFrom(ctx context.Context, st *state, withInfo bool, from string, f func(*machineRow) error) error {
	cols := "m.seq, m.id, i.software, i.kbs"
	if withInfo {
		cols += ", m.computer_dns_name, m.os_platform, m.os_version, m.os_architecture"
	}
	scan := func(sc sqlstore.Scanner) (*machineRow, error) {
		m := &machineRow{}
		if withInfo {
			err := sc.Scan(&m.seq, &m.id, &m.software, &m.kbs, &m.info.ComputerDNSName, &m.info.OSPlatform, &m.info.OSVersion, &m.info.OSArchitecture)
			m.info.ID = m.id
			return m, err
		}
		return m, sc.Scan(&m.seq, &m.id, &m.software, &m.kbs)
	}
	const msg = "cannot read the software inventory"
	if ids := st.scope.IDs(); !st.scope.IsAll() && len(ids) <= 5000 {
		ids = slices.DeleteFunc(ids, func(id string) bool { return id < from })
		return sqlstore.InChunks(ids, func(list string, args []any) error {
			return sqlstore.Each(ctx, s.q, msg, scan, f, "SELECT "+cols+` FROM machines m
				JOIN tvm_inventory i ON i.tenant_seq = m.tenant_seq AND i.machine_seq = m.seq
				WHERE m.tenant_seq = ? AND m.id IN `+list+" ORDER BY m.id", append([]any{st.seq}, args...)...)
		})
	}
	first := true
	for {
		n, last := 0, ""
		op := ">"
		if first {
			op = ">="
		}
		err := sqlstore.Each(ctx, s.q, msg, scan, func(m *machineRow) error {
			n++
			last = m.id
			if !st.scope.Sees(m.id) {
				return nil
			}
			return f(m)
		}, "SELECT "+cols+` FROM machines m
			JOIN tvm_inventory i ON i.tenant_seq = m.tenant_seq AND i.machine_seq = m.seq
			WHERE m.tenant_seq = ? AND m.id `+op+" ? ORDER BY m.id LIMIT ?", st.seq, from, scanChunk)
		if err != nil {
			return err
		}
		if n < scanChunk {
			return nil
		}
		from, first = last, false
	}
}

// internal is an Internal error of a malformed stored value.
func internal(err error) error {
	return &openatp.Error{Kind: openatp.Internal, Message: "cannot read the software inventory", Err: err}
}
