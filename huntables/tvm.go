package huntables

import (
	"context"
	"slices"
	"strconv"

	"github.com/openatp/openatp/vuln"
)

// The vulnerability-management tables, views over what the vuln store
// keeps (vuln.Store: the catalog a tenant imports and the inventory of its
// machines). Microsoft's tables have no Timestamp: they are the state of
// now, and the data window does not apply to them.
//
// DeviceTvmSoftwareInventory is a row an installed version of a product
// on a machine (ScanSoftwareInventory), DeviceTvmSoftwareVulnerabilities a
// row an installed version and one vulnerability of it
// (ScanSoftwareVulnerabilities), both of the machines the caller may see;
// DeviceTvmSoftwareVulnerabilitiesKB a row a vulnerability of the catalog,
// which names no machine and so is the same for every caller of the
// tenant.

var deviceTvmSoftwareInventoryColumns = parseColumns(`DeviceId:string DeviceName:string OSPlatform:string
OSVersion:string OSArchitecture:string SoftwareVendor:string SoftwareName:string SoftwareVersion:string
EndOfSupportStatus:string EndOfSupportDate:datetime ProductCodeCpe:string`)

var deviceTvmSoftwareVulnerabilitiesColumns = parseColumns(`DeviceId:string DeviceName:string OSPlatform:string
OSVersion:string OSArchitecture:string SoftwareVendor:string SoftwareName:string SoftwareVersion:string
CveId:string VulnerabilitySeverityLevel:string RecommendedSecurityUpdate:string
RecommendedSecurityUpdateId:string CveTags:dynamic`)

var deviceTvmSoftwareVulnerabilitiesKBColumns = parseColumns(`CveId:string CvssScore:string
IsExploitAvailable:bool VulnerabilitySeverityLevel:string LastModifiedTime:datetime PublishedDate:datetime
VulnerabilityDescription:string AffectedSoftware:dynamic`)

// noCPE is ProductCodeCpe's value for a product without a CPE name, as
// the schema reference gives it: openatp's catalog has none.
const noCPE = "not available"

// tagNoSecurityUpdate is the CveTags entry of a vulnerability that the
// catalog names no fix for (neither a version nor a security update).
const tagNoSecurityUpdate = "NoSecurityUpdate"

// tvmPage is how many rows one read of the vuln store takes: a scan
// resumes from the last row's key, so that no read holds the store for
// the length of a query.
const tvmPage = 4096

// tvmScope returns the scope of the machines whose rows w admits and the
// caller may see; none reports that there is no such machine.
func (s *Source) tvmScope(w Where) (sc vuln.Scope, none bool) {
	switch {
	case w.DeviceIDs != nil:
		var ids []string
		for _, id := range w.DeviceIDs {
			if slot, ok := s.View.Machine(id); ok && s.View.MachineID(slot) == id && s.visible(s.View.GroupID(slot)) {
				ids = append(ids, id)
			}
		}
		return vuln.Machines(ids...), len(ids) == 0
	case s.Access == nil || s.Access.AllGroups:
		return vuln.All(), false
	}
	var ids []string
	for slot := range s.View.MachineSlots() {
		if s.visible(s.View.GroupID(slot)) {
			ids = append(ids, s.View.MachineID(slot))
		}
	}
	return vuln.Machines(ids...), len(ids) == 0
}

// scanPages calls scan a page at a time from the first row until it
// returns the zero key (the last page read).
func scanPages(ctx context.Context, scan func(after vuln.Key) (vuln.Key, error)) error {
	var after vuln.Key
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		next, err := scan(after)
		if err != nil || next.IsZero() {
			return err
		}
		after = next
	}
}

var (
	tiDeviceID   = deviceTvmSoftwareInventoryColumns.index("DeviceId")
	tiDeviceName = deviceTvmSoftwareInventoryColumns.index("DeviceName")
	tiPlatform   = deviceTvmSoftwareInventoryColumns.index("OSPlatform")
	tiOSVersion  = deviceTvmSoftwareInventoryColumns.index("OSVersion")
	tiArch       = deviceTvmSoftwareInventoryColumns.index("OSArchitecture")
	tiVendor     = deviceTvmSoftwareInventoryColumns.index("SoftwareVendor")
	tiName       = deviceTvmSoftwareInventoryColumns.index("SoftwareName")
	tiVersion    = deviceTvmSoftwareInventoryColumns.index("SoftwareVersion")
	tiCPE        = deviceTvmSoftwareInventoryColumns.index("ProductCodeCpe")
	tiTemplate   = deviceTvmSoftwareInventoryColumns.template()
)

// tvmInventory is a row an installed version of a product on a machine
// the caller may see.
func (s *Source) tvmInventory(ctx context.Context, w Where, yield func([]any) error) error {
	return s.tvmPages(ctx, w, func(sc vuln.Scope, after vuln.Key) (vuln.Key, error) {
		return s.Vuln.ScanSoftwareInventory(ctx, s.TenantID, sc, after, tvmPage, func(r *vuln.InventoryRow) error {
			row := slices.Clone(tiTemplate)
			machineColumns(row, &r.Machine, tiDeviceID, tiDeviceName, tiPlatform, tiOSVersion, tiArch)
			row[tiVendor], row[tiName], row[tiVersion], row[tiCPE] = r.Product.Vendor, r.Product.Name, r.Version, noCPE
			return yield(row)
		})
	})
}

var (
	tvDeviceID   = deviceTvmSoftwareVulnerabilitiesColumns.index("DeviceId")
	tvDeviceName = deviceTvmSoftwareVulnerabilitiesColumns.index("DeviceName")
	tvPlatform   = deviceTvmSoftwareVulnerabilitiesColumns.index("OSPlatform")
	tvOSVersion  = deviceTvmSoftwareVulnerabilitiesColumns.index("OSVersion")
	tvArch       = deviceTvmSoftwareVulnerabilitiesColumns.index("OSArchitecture")
	tvVendor     = deviceTvmSoftwareVulnerabilitiesColumns.index("SoftwareVendor")
	tvName       = deviceTvmSoftwareVulnerabilitiesColumns.index("SoftwareName")
	tvVersion    = deviceTvmSoftwareVulnerabilitiesColumns.index("SoftwareVersion")
	tvCVE        = deviceTvmSoftwareVulnerabilitiesColumns.index("CveId")
	tvSeverity   = deviceTvmSoftwareVulnerabilitiesColumns.index("VulnerabilitySeverityLevel")
	tvUpdate     = deviceTvmSoftwareVulnerabilitiesColumns.index("RecommendedSecurityUpdate")
	tvUpdateID   = deviceTvmSoftwareVulnerabilitiesColumns.index("RecommendedSecurityUpdateId")
	tvTags       = deviceTvmSoftwareVulnerabilitiesColumns.index("CveTags")
	tvTemplate   = deviceTvmSoftwareVulnerabilitiesColumns.template()
)

// tvmVulnerabilities is a row an installed version of a product on a
// machine the caller may see and a vulnerability of that version.
func (s *Source) tvmVulnerabilities(ctx context.Context, w Where, yield func([]any) error) error {
	return s.tvmPages(ctx, w, func(sc vuln.Scope, after vuln.Key) (vuln.Key, error) {
		return s.Vuln.ScanSoftwareVulnerabilities(ctx, s.TenantID, sc, after, tvmPage, func(r *vuln.AssetVulnerability) error {
			row := slices.Clone(tvTemplate)
			machineColumns(row, &r.Machine, tvDeviceID, tvDeviceName, tvPlatform, tvOSVersion, tvArch)
			row[tvVendor], row[tvName], row[tvVersion] = r.Product.Vendor, r.Product.Name, r.Version
			row[tvCVE], row[tvSeverity], row[tvUpdate], row[tvUpdateID] = r.CVEID, r.Severity, r.FixingKBName, r.FixingKB
			tags := []any{}
			if r.FixedVersion == "" && r.FixingKB == "" {
				tags = append(tags, tagNoSecurityUpdate)
			}
			row[tvTags] = tags
			return yield(row)
		})
	})
}

// tvmPages calls scan a page at a time (scanPages) with the scope of the
// machines the caller may see among w's; nothing without a vuln store or
// with no machine in scope.
func (s *Source) tvmPages(ctx context.Context, w Where, scan func(sc vuln.Scope, after vuln.Key) (vuln.Key, error)) error {
	if s.Vuln == nil {
		return nil
	}
	sc, none := s.tvmScope(w)
	if none {
		return nil
	}
	return scanPages(ctx, func(after vuln.Key) (vuln.Key, error) { return scan(sc, after) })
}

// machineColumns sets the machine's columns of a TVM row.
func machineColumns(row []any, m *vuln.MachineInfo, id, name, platform, version, arch int) {
	row[id] = m.ID
	setString(row, name, m.ComputerDNSName)
	setString(row, platform, m.OSPlatform)
	setString(row, version, m.OSVersion)
	setString(row, arch, m.OSArchitecture)
}

var (
	kbCVE         = deviceTvmSoftwareVulnerabilitiesKBColumns.index("CveId")
	kbCVSS        = deviceTvmSoftwareVulnerabilitiesKBColumns.index("CvssScore")
	kbExploit     = deviceTvmSoftwareVulnerabilitiesKBColumns.index("IsExploitAvailable")
	kbSeverity    = deviceTvmSoftwareVulnerabilitiesKBColumns.index("VulnerabilitySeverityLevel")
	kbModified    = deviceTvmSoftwareVulnerabilitiesKBColumns.index("LastModifiedTime")
	kbPublished   = deviceTvmSoftwareVulnerabilitiesKBColumns.index("PublishedDate")
	kbDescription = deviceTvmSoftwareVulnerabilitiesKBColumns.index("VulnerabilityDescription")
	kbTemplate    = deviceTvmSoftwareVulnerabilitiesKBColumns.template()
)

// tvmKB is a row a vulnerability of the tenant's catalog, by id. It names
// no machine: every caller of the tenant reads the same rows (the
// exposure counts, which would depend on the caller's machines, are not
// columns of it).
func (s *Source) tvmKB(ctx context.Context, yield func([]any) error) error {
	if s.Vuln == nil {
		return nil
	}
	vs, err := s.Vuln.Vulnerabilities(ctx, s.TenantID, vuln.VulnerabilityFilter{}, vuln.All())
	if err != nil {
		return err
	}
	for i := range vs {
		v := &vs[i]
		if i%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		row := slices.Clone(kbTemplate)
		row[kbCVE], row[kbSeverity], row[kbDescription] = v.ID, v.Severity, v.Description
		if v.CVSSV3 != nil {
			row[kbCVSS] = strconv.FormatFloat(*v.CVSSV3, 'f', -1, 64)
		}
		row[kbExploit] = v.PublicExploit || v.ExploitVerified || v.ExploitInKit
		if !v.UpdatedOn.IsZero() {
			row[kbModified] = v.UpdatedOn
		}
		if !v.PublishedOn.IsZero() {
			row[kbPublished] = v.PublishedOn
		}
		if err := yield(row); err != nil {
			return err
		}
	}
	return nil
}
