package tvmsql

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/openatp/openatp/internal/sqlstore"
	"github.com/openatp/openatp/vuln"
)

// errStop ends a scan that has its rows.
var errStop = errors.New("tvmsql: enough rows")

// keyAfter reports whether row key (machine, product, version, vuln) comes
// after k.
func keyAfter(k vuln.Key, machine string, product int64, version string, v int64) bool {
	if c := strings.Compare(machine, k.MachineID); c != 0 {
		return c > 0
	}
	if product != k.Product {
		return product > k.Product
	}
	if c := strings.Compare(version, k.Version); c != 0 {
		return c > 0
	}
	return v > k.Vuln
}

// scan walks the entries of st's scope from after on, in Key order,
// calling row for each (entry, affected) pair that keep accepts
// (affected nil for the inventory scan, which takes each entry once).
// It stops before the row after limit rows and returns the key of the
// last row, or zero when no row is left.
func (s *Vuln) scan(ctx context.Context, st *state, after vuln.Key, limit int, perVuln bool,
	keep func(e *entry, a *affected) bool, row func(m *machineRow, e *entry, a *affected) error) (vuln.Key, error) {
	var d decoder
	var last vuln.Key
	n := 0
	cat := st.catalogRef
	err := s.inventoryFrom(ctx, st, true, after.MachineID, func(m *machineRow) error {
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
			e := &d.e
			if !perVuln {
				if !after.IsZero() && !keyAfter(after, m.id, e.product, e.version, 0) {
					continue
				}
				if !keep(e, nil) {
					continue
				}
				if limit > 0 && n == limit {
					return errStop
				}
				if err := row(m, e, nil); err != nil {
					return err
				}
				n++
				last = vuln.Key{MachineID: m.id, Product: e.product, Version: e.version}
				continue
			}
			for _, a := range cat.affected[pv{e.product, e.version}] {
				if !after.IsZero() && !keyAfter(after, m.id, e.product, e.version, a.vuln) {
					continue
				}
				if !keep(e, &a) {
					continue
				}
				if limit > 0 && n == limit {
					return errStop
				}
				if err := row(m, e, &a); err != nil {
					return err
				}
				n++
				last = vuln.Key{MachineID: m.id, Product: e.product, Version: e.version, Vuln: a.vuln}
			}
		}
	})
	if errors.Is(err, errStop) {
		return last, nil
	}
	return vuln.Key{}, err
}

// assetRow fills r from a machine, an entry and an affected version.
func assetRow(r *vuln.AssetVulnerability, cat *catalog, m *machineRow, e *entry, a *affected) {
	v := cat.vulns[a.vuln]
	r.Key = vuln.Key{MachineID: m.id, Product: e.product, Version: e.version, Vuln: a.vuln}
	r.Machine = m.info
	r.Product, r.Version = cat.products[e.product], e.version
	r.DiskPaths, r.RegistryPaths = cat.list(e.disk), cat.list(e.reg)
	r.FirstSeen, r.LastSeen = sqlstore.FromNanos(e.first), sqlstore.FromNanos(e.last)
	r.CVEID, r.Severity, r.CVSSV3 = v.ID, v.Severity, v.CVSSV3
	r.Exploitability = v.ExploitabilityLevel()
	r.PublicExploit, r.ExploitVerified, r.ExploitInKit = v.PublicExploit, v.ExploitVerified, v.ExploitInKit
	r.FixedVersion, r.FixingKB, r.FixingKBName = a.fixed, a.kb, ""
	if u := cat.updates[a.kb]; u != nil {
		r.FixingKBName = u.Name
	}
	r.Status, r.EventTime = "", time.Time{}
}

// ScanSoftwareVulnerabilities calls fn with the rows of
// SoftwareVulnerabilitiesByMachine in Key order.
func (s *Vuln) ScanSoftwareVulnerabilities(ctx context.Context, tenantID string, sc vuln.Scope, after vuln.Key, limit int,
	fn func(*vuln.AssetVulnerability) error) (vuln.Key, error) {
	st, err := s.begin(ctx, tenantID, sc)
	if err != nil {
		return vuln.Key{}, err
	}
	var r vuln.AssetVulnerability
	return s.scan(ctx, st, after, limit, true, installed, func(m *machineRow, e *entry, a *affected) error {
		assetRow(&r, st.catalogRef, m, e, a)
		return fn(&r)
	})
}

// ScanSoftwareVulnerabilityChanges is the delta form.
func (s *Vuln) ScanSoftwareVulnerabilityChanges(ctx context.Context, tenantID string, sc vuln.Scope, since time.Time, after vuln.Key, limit int,
	fn func(*vuln.AssetVulnerability) error) (vuln.Key, error) {
	st, err := s.begin(ctx, tenantID, sc)
	if err != nil {
		return vuln.Key{}, err
	}
	t := since.UnixNano()
	var r vuln.AssetVulnerability
	return s.scan(ctx, st, after, limit, true, func(e *entry, a *affected) bool { return change(e, a, t) != "" },
		func(m *machineRow, e *entry, a *affected) error {
			assetRow(&r, st.catalogRef, m, e, a)
			r.Status = change(e, a, t)
			switch r.Status {
			case vuln.StatusFixed:
				r.EventTime = sqlstore.FromNanos(e.removed)
			case vuln.StatusUpdated:
				r.EventTime = sqlstore.FromNanos(e.changed)
			default:
				r.EventTime = sqlstore.FromNanos(max(e.added, a.created))
			}
			return fn(&r)
		})
}

// installed keeps the entries still installed.
func installed(e *entry, _ *affected) bool { return e.removed == 0 }

// change is the delta status of an (entry, affected) pair since t, ""
// if it did not change: Fixed if removed after t, New if installed or
// affected after t, Updated if reported again after t.
func change(e *entry, a *affected, t int64) string {
	switch {
	case e.removed != 0:
		if e.removed > t {
			return vuln.StatusFixed
		}
		return ""
	case e.added > t || a.created > t:
		return vuln.StatusNew
	case e.changed > t:
		return vuln.StatusUpdated
	}
	return ""
}

// ScanSoftwareInventory calls fn with the rows of SoftwareInventoryByMachine.
func (s *Vuln) ScanSoftwareInventory(ctx context.Context, tenantID string, sc vuln.Scope, after vuln.Key, limit int,
	fn func(*vuln.InventoryRow) error) (vuln.Key, error) {
	st, err := s.begin(ctx, tenantID, sc)
	if err != nil {
		return vuln.Key{}, err
	}
	cat := st.catalogRef
	var r vuln.InventoryRow
	return s.scan(ctx, st, after, limit, false, installed, func(m *machineRow, e *entry, _ *affected) error {
		r = vuln.InventoryRow{Key: vuln.Key{MachineID: m.id, Product: e.product, Version: e.version}, Machine: m.info,
			Product: cat.products[e.product], Version: e.version, DiskPaths: cat.list(e.disk), RegistryPaths: cat.list(e.reg),
			FirstSeen: sqlstore.FromNanos(e.first), LastSeen: sqlstore.FromNanos(e.last), Weaknesses: len(cat.affected[pv{e.product, e.version}])}
		return fn(&r)
	})
}

// MachineVulnerabilityRows returns rows of machinesVulnerabilities.
func (s *Vuln) MachineVulnerabilityRows(ctx context.Context, tenantID string, f vuln.RowFilter, sc vuln.Scope, skip, top int) ([]vuln.MachineVulnerabilityRow, error) {
	if len(f.MachineIDs) > 0 {
		ids := make([]string, 0, len(f.MachineIDs))
		for _, id := range f.MachineIDs {
			if id = strings.ToLower(id); sc.Sees(id) {
				ids = append(ids, id)
			}
		}
		sc = vuln.Machines(ids...)
	}
	st, err := s.begin(ctx, tenantID, sc)
	if err != nil {
		return nil, err
	}
	cat := st.catalogRef
	out := []vuln.MachineVulnerabilityRow{}
	keep := func(e *entry, a *affected) bool {
		v, p := cat.vulns[a.vuln], cat.products[e.product]
		return e.removed == 0 && match(f.CVEIDs, v.ID) && match(f.FixingKBIDs, a.kb) && match(f.ProductNames, p.Name) &&
			match(f.ProductVendors, p.Vendor) && match(f.ProductVersions, e.version) && match(f.Severities, v.Severity) &&
			(f.UpdatedAfter.IsZero() || v.UpdatedOn.After(f.UpdatedAfter))
	}
	limit := 0
	if top > 0 {
		limit = skip + top
	}
	_, err = s.scan(ctx, st, vuln.Key{}, limit, true, keep, func(m *machineRow, e *entry, a *affected) error {
		if skip > 0 {
			skip--
			return nil
		}
		v := cat.vulns[a.vuln]
		out = append(out, vuln.MachineVulnerabilityRow{MachineID: m.id, CVEID: v.ID, Product: cat.products[e.product], Version: e.version,
			FixingKB: a.kb, Severity: v.Severity})
		return nil
	})
	return slices.Clip(out), err
}
