package tvmsql

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
	"github.com/openatp/openatp/vuln"
)

// tombstoneAge is how long a removed installation is kept for the delta.
const tombstoneAge = 30 * 24 * time.Hour

// multiRows is how many rows one multi-row INSERT carries.
const multiRows = 100

// inserter runs a multi-row INSERT "head VALUES (...), ... tail" over
// rows added one at a time, multiRows rows per statement.
type inserter struct {
	x     sqlstore.Execer
	head  string
	tail  string
	width int
	msg   string
	args  []any
	full  string // the statement of multiRows rows
}

func newInserter(x sqlstore.Execer, head string, width int, tail, msg string) *inserter {
	return &inserter{x: x, head: head, tail: tail, width: width, msg: msg, args: make([]any, 0, width*multiRows)}
}

func (b *inserter) query(rows int) string {
	row := "(?" + strings.Repeat(", ?", b.width-1) + ")"
	return b.head + " VALUES " + row + strings.Repeat(", "+row, rows-1) + " " + b.tail
}

func (b *inserter) add(ctx context.Context, values ...any) error {
	b.args = append(b.args, values...)
	if len(b.args) < b.width*multiRows {
		return nil
	}
	if b.full == "" {
		b.full = b.query(multiRows)
	}
	_, err := sqlstore.Exec(ctx, b.x, b.msg, b.full, b.args...)
	b.args = b.args[:0]
	return err
}

func (b *inserter) flush(ctx context.Context) error {
	if len(b.args) == 0 {
		return nil
	}
	_, err := sqlstore.Exec(ctx, b.x, b.msg, b.query(len(b.args)/b.width), b.args...)
	b.args = b.args[:0]
	return err
}

// ensureState creates the tenant's tvm_state row.
func ensureState(ctx context.Context, x sqlstore.Execer, seq int64) error {
	_, err := sqlstore.Exec(ctx, x, "cannot store the vulnerability state", `INSERT INTO tvm_state (tenant_seq, catalog_version, inventory_version)
		VALUES (?, 0, 0) ON CONFLICT (tenant_seq) DO NOTHING`, seq)
	return err
}

// products is a tenant's products during a write: the stored ones, and
// those the write adds.
type products struct {
	seq  map[vuln.Product]int64
	last int64
	ins  *inserter
	tseq int64
	n    int // added
}

func loadProducts(ctx context.Context, x sqlstore.Execer, seq int64) (*products, error) {
	p := &products{seq: map[vuln.Product]int64{}, tseq: seq,
		ins: newInserter(x, "INSERT INTO tvm_products (tenant_seq, seq, vendor, name)", 4, "", "cannot store the software products")}
	type row struct {
		seq int64
		p   vuln.Product
	}
	err := sqlstore.Each(ctx, x, "cannot read the software products", func(sc sqlstore.Scanner) (r row, err error) {
		return r, sc.Scan(&r.seq, &r.p.Vendor, &r.p.Name)
	}, func(r row) error {
		p.seq[r.p] = r.seq
		p.last = max(p.last, r.seq)
		return nil
	}, "SELECT seq, vendor, name FROM tvm_products WHERE tenant_seq = ?", seq)
	return p, err
}

// number returns a product's number, adding the product if new.
func (p *products) number(ctx context.Context, pr vuln.Product) (int64, error) {
	if n, ok := p.seq[pr]; ok {
		return n, nil
	}
	p.last++
	p.seq[pr] = p.last
	p.n++
	return p.last, p.ins.add(ctx, p.tseq, p.last, pr.Vendor, pr.Name)
}

// strs is a tenant's path lists during a write (tvm_strings): the stored
// ones, and those the write adds.
type strs struct {
	seq  map[string]int64
	last int64
	ins  *inserter
	tseq int64
	n    int // added
}

func loadStrings(ctx context.Context, x sqlstore.Execer, seq int64) (*strs, error) {
	p := &strs{seq: map[string]int64{}, tseq: seq,
		ins: newInserter(x, "INSERT INTO tvm_strings (tenant_seq, seq, value)", 3, "", "cannot store the install paths")}
	type row struct {
		seq int64
		v   string
	}
	err := sqlstore.Each(ctx, x, "cannot read the install paths", func(sc sqlstore.Scanner) (r row, err error) {
		return r, sc.Scan(&r.seq, &r.v)
	}, func(r row) error {
		p.seq[r.v] = r.seq
		p.last = max(p.last, r.seq)
		return nil
	}, "SELECT seq, value FROM tvm_strings WHERE tenant_seq = ?", seq)
	return p, err
}

// number returns a path list's number (0 for none), adding it if new.
func (p *strs) number(ctx context.Context, items []string) (int64, error) {
	if len(items) == 0 {
		return 0, nil
	}
	key := joinList(items)
	if n, ok := p.seq[key]; ok {
		return n, nil
	}
	p.last++
	p.seq[key] = p.last
	p.n++
	return p.last, p.ins.add(ctx, p.tseq, p.last, key)
}

// PutCatalog writes a catalog in one transaction.
func (s *Vuln) PutCatalog(ctx context.Context, tenantID string, c *vuln.Catalog, now time.Time) error {
	if err := checkCatalog(c); err != nil {
		return err
	}
	at := now.UnixNano()
	return s.w.TenantTx(ctx, tenantID, func(x sqlstore.Execer, seq int64) error {
		if err := ensureState(ctx, x, seq); err != nil {
			return err
		}
		prods, err := loadProducts(ctx, x, seq)
		if err != nil {
			return err
		}
		for _, p := range c.Products {
			if _, err := prods.number(ctx, p); err != nil {
				return err
			}
		}
		// The stored vulnerabilities' numbers, and when each affected
		// version was first written (kept when a vulnerability is replaced).
		old := map[string]int64{}
		last := int64(0)
		err = sqlstore.Each(ctx, x, "cannot read the vulnerabilities", func(sc sqlstore.Scanner) (r struct {
			seq int64
			id  string
		}, err error) {
			return r, sc.Scan(&r.seq, &r.id)
		}, func(r struct {
			seq int64
			id  string
		}) error {
			old[r.id] = r.seq
			last = max(last, r.seq)
			return nil
		}, "SELECT seq, id FROM tvm_vulnerabilities WHERE tenant_seq = ?", seq)
		if err != nil {
			return err
		}
		type akey struct {
			vuln    int64
			product int64
			version string
		}
		created := map[akey]int64{}
		if len(old) > 0 {
			err = sqlstore.Each(ctx, x, "cannot read the affected versions", func(sc sqlstore.Scanner) (r struct {
				k akey
				c int64
			}, err error) {
				return r, sc.Scan(&r.k.vuln, &r.k.product, &r.k.version, &r.c)
			}, func(r struct {
				k akey
				c int64
			}) error {
				created[r.k] = r.c
				return nil
			}, "SELECT vuln_seq, product_seq, version, created FROM tvm_affected WHERE tenant_seq = ?", seq)
			if err != nil {
				return err
			}
		}
		vins := newInserter(x, `INSERT INTO tvm_vulnerabilities (tenant_seq, seq, id, name, description, severity, cvss_v3, published,
			updated, public_exploit, exploit_verified, exploit_in_kit, exploit_types, exploit_uris)`, 14, "", "cannot store the vulnerabilities")
		ains := newInserter(x, "INSERT INTO tvm_affected (tenant_seq, vuln_seq, product_seq, version, fixed_version, fixing_kb, created)", 7, "",
			"cannot store the affected versions")
		for i := range c.Vulnerabilities {
			v := &c.Vulnerabilities[i]
			vals := []any{v.ID, v.Name, v.Description, v.Severity, v.CVSSV3, v.PublishedOn.UnixNano(), v.UpdatedOn.UnixNano(),
				v.PublicExploit, v.ExploitVerified, v.ExploitInKit, strings.Join(v.ExploitTypes, "\n"), strings.Join(v.ExploitURIs, "\n")}
			n, ok := old[v.ID]
			if ok {
				if _, err := sqlstore.Exec(ctx, x, "cannot store the vulnerability", `UPDATE tvm_vulnerabilities SET id = ?, name = ?,
					description = ?, severity = ?, cvss_v3 = ?, published = ?, updated = ?, public_exploit = ?, exploit_verified = ?,
					exploit_in_kit = ?, exploit_types = ?, exploit_uris = ? WHERE tenant_seq = ? AND seq = ?`, append(vals, seq, n)...); err != nil {
					return err
				}
				if _, err := sqlstore.Exec(ctx, x, "cannot store the vulnerability", "DELETE FROM tvm_affected WHERE tenant_seq = ? AND vuln_seq = ?", seq, n); err != nil {
					return err
				}
			} else {
				last++
				n = last
				if err := vins.add(ctx, append([]any{seq, n}, vals...)...); err != nil {
					return err
				}
			}
			for _, a := range v.Affected {
				p, err := prods.number(ctx, a.Product)
				if err != nil {
					return err
				}
				when := at
				if c, ok := created[akey{n, p, a.Version}]; ok {
					when = c
				}
				if err := ains.add(ctx, seq, n, p, a.Version, a.FixedVersion, a.FixingKB, when); err != nil {
					return err
				}
			}
		}
		uins := newInserter(x, "INSERT INTO tvm_updates (tenant_seq, id, name, release_date, os_build, products_names, url, cves)", 8,
			`ON CONFLICT (tenant_seq, id) DO UPDATE SET name = excluded.name, release_date = excluded.release_date,
			os_build = excluded.os_build, products_names = excluded.products_names, url = excluded.url, cves = excluded.cves`,
			"cannot store the security updates")
		for _, u := range c.Updates {
			if err := uins.add(ctx, seq, u.ID, u.Name, u.ReleaseDate.UnixNano(), u.OSBuild, strings.Join(u.ProductsNames, "\n"), u.URL,
				strings.Join(u.CVEs, "\n")); err != nil {
				return err
			}
		}
		for _, b := range []*inserter{prods.ins, vins, ains, uins} {
			if err := b.flush(ctx); err != nil {
				return err
			}
		}
		_, err = sqlstore.Exec(ctx, x, "cannot store the vulnerability state",
			"UPDATE tvm_state SET catalog_version = catalog_version + 1 WHERE tenant_seq = ?", seq)
		return err
	})
}

// checkCatalog refuses an id listed twice in one catalog.
func checkCatalog(c *vuln.Catalog) error {
	seen := map[string]bool{}
	for i, v := range c.Vulnerabilities {
		if seen[v.ID] {
			return itemError("vulnerabilities", i, openatp.InvalidField("id", "%s is listed twice", v.ID))
		}
		seen[v.ID] = true
	}
	clear(seen)
	for i, u := range c.Updates {
		if seen[u.ID] {
			return itemError("updates", i, openatp.InvalidField("id", "%s is listed twice", u.ID))
		}
		seen[u.ID] = true
	}
	return nil
}

// itemError is an Invalid error about item i of a list.
func itemError(list string, i int, err *openatp.Error) error {
	return &openatp.Error{Kind: openatp.Invalid, Code: err.Code, Message: fmt.Sprintf("%s[%d]: %s", list, i, err.Message),
		Err: &openatp.ItemError{Index: i, Err: err.Err}}
}

// PutInventory writes an inventory import in one transaction.
func (s *Vuln) PutInventory(ctx context.Context, tenantID string, now time.Time, next func() (*vuln.InventoryRecord, error)) error {
	at := now.Round(openatp.TimePrecision).UnixNano()
	return s.w.TenantTx(ctx, tenantID, func(x sqlstore.Execer, seq int64) error {
		if err := ensureState(ctx, x, seq); err != nil {
			return err
		}
		prods, err := loadProducts(ctx, x, seq)
		if err != nil {
			return err
		}
		paths, err := loadStrings(ctx, x, seq)
		if err != nil {
			return err
		}
		w := &inventoryWrite{ctx: ctx, x: x, tseq: seq, at: at, prods: prods, paths: paths, machines: map[string]int64{}, had: map[int64]bool{},
			done: map[int64]bool{}, seen: map[pv]bool{},
			ins: newInserter(x, "INSERT INTO tvm_inventory (tenant_seq, machine_seq, software, kbs)", 4,
				"ON CONFLICT (tenant_seq, machine_seq) DO UPDATE SET software = excluded.software, kbs = excluded.kbs",
				"cannot store the software inventory")}
		if err := w.load(); err != nil {
			return err
		}
		for {
			r, err := next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			if err := w.add(r); err != nil {
				return err
			}
		}
		if err := w.flushMachine(); err != nil {
			return err
		}
		if err := w.ins.flush(ctx); err != nil {
			return err
		}
		if err := prods.ins.flush(ctx); err != nil {
			return err
		}
		if err := paths.ins.flush(ctx); err != nil {
			return err
		}
		q := "UPDATE tvm_state SET inventory_version = inventory_version + 1 WHERE tenant_seq = ?"
		if prods.n > 0 || paths.n > 0 {
			q = "UPDATE tvm_state SET inventory_version = inventory_version + 1, catalog_version = catalog_version + 1 WHERE tenant_seq = ?"
		}
		_, err = sqlstore.Exec(ctx, x, "cannot store the vulnerability state", q, seq)
		return err
	})
}

// inventoryWrite is one PutInventory: the records of the current machine
// are gathered, then merged with what the machine had and written.
type inventoryWrite struct {
	ctx      context.Context
	x        sqlstore.Execer
	tseq     int64
	at       int64
	prods    *products
	paths    *strs
	machines map[string]int64 // the tenant's machines, by id
	had      map[int64]bool   // machines with an inventory row before the write
	done     map[int64]bool   // machines written by this write
	ins      *inserter

	cur   int64 // the current machine, 0 before the first
	curID string
	seen  map[pv]bool
	// ahead are the stored rows of the machines after the current one
	// by id, read 500 at a time: inputs ordered by machine (exports are)
	// then read their old rows in few queries.
	ahead   map[int64]oldRow
	entries []entry
	kbs     []string
	blob    []byte
}

// load reads the tenant's machine ids and which have an inventory.
func (w *inventoryWrite) load() error {
	type row struct {
		id  string
		seq int64
		has bool
	}
	return sqlstore.Each(w.ctx, w.x, "cannot read the machines", func(sc sqlstore.Scanner) (r row, err error) {
		var inv *int64
		err = sc.Scan(&r.id, &r.seq, &inv)
		r.has = inv != nil
		return r, err
	}, func(r row) error {
		w.machines[r.id] = r.seq
		if r.has {
			w.had[r.seq] = true
		}
		return nil
	}, `SELECT m.id, m.seq, i.machine_seq FROM machines m
		LEFT JOIN tvm_inventory i ON i.tenant_seq = m.tenant_seq AND i.machine_seq = m.seq WHERE m.tenant_seq = ?`, w.tseq)
}

// add takes one record.
func (w *inventoryWrite) add(r *vuln.InventoryRecord) error {
	m, ok := w.machines[r.MachineID]
	if !ok {
		return openatp.InvalidField("deviceId", "the tenant has no machine %s", sqlstore.Quote(r.MachineID))
	}
	if m != w.cur {
		if err := w.flushMachine(); err != nil {
			return err
		}
		w.cur, w.curID = m, r.MachineID
	}
	switch {
	case r.MissingKB != "":
		w.kbs = append(w.kbs, r.MissingKB)
	case !r.IsMachineOnly():
		p, err := w.prods.number(w.ctx, r.Product)
		if err != nil {
			return err
		}
		if w.seen[pv{p, r.Version}] {
			return openatp.InvalidField("softwareVersion", "version %s of %s is listed twice for machine %s", sqlstore.Quote(r.Version),
				r.Product.ID(), r.MachineID)
		}
		w.seen[pv{p, r.Version}] = true
		e := entry{product: p, version: r.Version}
		if e.disk, err = w.paths.number(w.ctx, r.DiskPaths); err != nil {
			return err
		}
		if e.reg, err = w.paths.number(w.ctx, r.RegistryPaths); err != nil {
			return err
		}
		if !r.FirstSeen.IsZero() {
			e.first = r.FirstSeen.Round(openatp.TimePrecision).UnixNano()
		}
		e.last = w.at
		if !r.LastSeen.IsZero() {
			e.last = r.LastSeen.Round(openatp.TimePrecision).UnixNano()
		}
		w.entries = append(w.entries, e)
	}
	return nil
}

// flushMachine merges the current machine's records with what it had
// and queues its row.
func (w *inventoryWrite) flushMachine() error {
	if w.cur == 0 {
		return nil
	}
	m := w.cur
	slices.SortFunc(w.entries, cmpEntry)
	clear(w.seen)
	again := w.done[m]
	var old []entry
	var oldKBs string
	if w.had[m] || again {
		if again { // its row may be queued: write the queue first
			if err := w.ins.flush(w.ctx); err != nil {
				return err
			}
		}
		r, ok := w.ahead[m]
		if !ok || again {
			if err := w.readAhead(); err != nil {
				return err
			}
			r = w.ahead[m]
		}
		delete(w.ahead, m)
		var err error
		if old, err = decodeAll(r.sw); err != nil {
			return internal(err)
		}
		oldKBs = r.kbs
	}
	merged := merge(old, w.entries, w.at, again)
	kbs := w.kbs
	if again {
		kbs = append(kbs, splitKBs(oldKBs)...)
	}
	slices.Sort(kbs)
	kbs = slices.Compact(kbs)
	w.blob = appendBlob(w.blob[:0], merged, w.at)
	if err := w.ins.add(w.ctx, w.tseq, m, slices.Clone(w.blob), strings.Join(kbs, ",")); err != nil {
		return err
	}
	w.done[m] = true
	w.cur, w.entries, w.kbs = 0, w.entries[:0], w.kbs[:0]
	return nil
}

// oldRow is a machine's stored inventory row.
type oldRow struct {
	sw  []byte
	kbs string
}

// aheadRows is how many rows readAhead reads.
const aheadRows = 500

// readAhead reads the stored rows of the current machine and of the
// machines after it by id.
func (w *inventoryWrite) readAhead() error {
	if w.ahead == nil {
		w.ahead = map[int64]oldRow{}
	}
	clear(w.ahead)
	type row struct {
		seq int64
		oldRow
	}
	return sqlstore.Each(w.ctx, w.x, "cannot read the software inventory", func(sc sqlstore.Scanner) (r row, err error) {
		return r, sc.Scan(&r.seq, &r.sw, &r.kbs)
	}, func(r row) error {
		w.ahead[r.seq] = r.oldRow
		return nil
	}, `SELECT m.seq, i.software, i.kbs FROM machines m JOIN tvm_inventory i ON i.tenant_seq = m.tenant_seq AND i.machine_seq = m.seq
		WHERE m.tenant_seq = ? AND m.id >= ? ORDER BY m.id LIMIT ?`, w.tseq, w.curID, aheadRows)
}

// merge returns the entries a machine has after an import listed cur
// (sorted) for it, old being what it had: an entry of both keeps when it
// was added (and first seen, unless cur says), and changes when its
// paths or last seen do; an entry of cur alone is added; an entry of old
// alone is removed (kept as a tombstone until tombstoneAge), unless
// again (the machine's second group of records in one import: then old
// holds its first group, which stays).
func merge(old, cur []entry, at int64, again bool) []entry {
	out := make([]entry, 0, len(cur)+len(old))
	i, j := 0, 0
	for i < len(old) || j < len(cur) {
		switch {
		case j == len(cur) || i < len(old) && cmpEntry(old[i], cur[j]) < 0:
			o := old[i]
			i++
			switch {
			case o.removed == 0 && !again:
				o.removed, o.changed = at, at
			case o.removed != 0 && at-o.removed > int64(tombstoneAge):
				continue
			}
			out = append(out, o)
		case i == len(old) || cmpEntry(cur[j], old[i]) < 0:
			c := cur[j]
			j++
			c.added, c.changed = at, at
			if c.first == 0 {
				c.first = at
			}
			out = append(out, c)
		default:
			o, c := old[i], cur[j]
			i, j = i+1, j+1
			if o.removed != 0 { // installed again
				c.added, c.changed = at, at
				if c.first == 0 {
					c.first = at
				}
				out = append(out, c)
				continue
			}
			c.added, c.changed = o.added, o.changed
			if c.first == 0 {
				c.first = o.first
			}
			if c.first != o.first || c.last != o.last || c.disk != o.disk || c.reg != o.reg {
				c.changed = at
			}
			out = append(out, c)
		}
	}
	return out
}
