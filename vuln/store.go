package vuln

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
)

// Store keeps a tenant's catalog and inventory and answers the TVM
// routes' reads. It is implemented by packages sqlite and postgres
// (through internal/sqlstore/tvmsql) and checked by package storetest.
//
// Every call names its tenant: nothing of one tenant is visible through
// another. Every read takes the caller's Scope: a machine outside it is
// neither listed nor counted, and a read of it is the same NotFound as
// for a machine that does not exist. Every method returns NotFound
// (openatp.NotFound, "Tenant … was not found") for an unknown tenant,
// Canceled when ctx is canceled, Unavailable when the store cannot be
// reached, and Internal for anything else; the others are named below.
// Lists are ordered as stated and never nil-vs-empty sensitive.
type Store interface {
	// PutCatalog writes a catalog in one transaction, all or nothing:
	// products (added if new), vulnerabilities (each replacing the one of
	// its id, affected versions included), security updates (likewise).
	// Items must be normalized. Invalid under an *openatp.ItemError-like
	// message naming "vulnerabilities[i]" / "updates[i]" for an item the
	// store refuses (an id twice in one catalog).
	PutCatalog(ctx context.Context, tenantID string, c *Catalog, now time.Time) error
	// PutInventory writes an inventory import in one transaction, all or
	// nothing, reading its records with next until next returns io.EOF
	// (any other error of next is returned as it is, nothing written).
	// For every machine the records name, the machine's installed
	// software and missing updates become what the records list: what it
	// had and they do not list is removed (and reported Fixed by the
	// delta); records of one machine need not be adjacent. Records must be
	// normalized; a FirstSeen left zero keeps the stored one (now for a
	// new installation), a LastSeen left zero is now. A product the
	// catalog lacks is added to it. Invalid naming "deviceId" for a
	// machine the tenant does not have (about the last record next
	// returned), or "softwareVersion" for a version of a product listed
	// twice for one machine.
	PutInventory(ctx context.Context, tenantID string, now time.Time, next func() (*InventoryRecord, error)) error

	// MachineVulnerabilities returns the vulnerabilities of the software
	// installed on one machine, by id, each with ExposedMachines in sc:
	// places in the list of the catalog's vulnerabilities (by id, with
	// their exposure in sc) that the store keeps while the catalog, the
	// inventory and sc are unchanged, so that a read copies no
	// vulnerability and the routes encode each once. MachineNotFound if
	// the machine does not exist or sc does not see it.
	MachineVulnerabilities(ctx context.Context, tenantID, machineID string, sc Scope) (Selection[Vulnerability], error)
	// MachineSoftware returns the products installed on one machine, by
	// id: Weaknesses and PublicExploit of the version installed there,
	// ExposedMachines, InstalledMachines and ImpactScore in sc.
	// MachineNotFound as above.
	MachineSoftware(ctx context.Context, tenantID, machineID string, sc Scope) ([]Software, error)
	// MachineRecommendations returns the recommendations for the
	// vulnerable products installed on one machine, by id, with the
	// values of that machine's versions (RecommendedVersion, FixingKBs,
	// Weaknesses, SeverityScore) and the counts in sc. MachineNotFound
	// as above.
	MachineRecommendations(ctx context.Context, tenantID, machineID string, sc Scope) ([]Recommendation, error)
	// MachineMissingKBs returns the security updates one machine lacks,
	// by id, MachineMissedOn counted in sc; an update the catalog lacks
	// is returned with its id alone. MachineNotFound as above.
	MachineMissingKBs(ctx context.Context, tenantID, machineID string, sc Scope) ([]SecurityUpdate, error)

	// Software returns the products installed on at least one machine of
	// sc, by id, filtered by f, with their values in sc.
	Software(ctx context.Context, tenantID string, f SoftwareFilter, sc Scope) ([]Software, error)
	// SoftwareByID returns one product as Software does.
	// SoftwareNotFound if none is installed in sc (or the id is malformed).
	SoftwareByID(ctx context.Context, tenantID, id string, sc Scope) (Software, error)
	// SoftwareDistributions returns the versions of a product installed
	// in sc, by version. SoftwareNotFound as SoftwareByID.
	SoftwareDistributions(ctx context.Context, tenantID, id string, sc Scope) ([]Distribution, error)
	// SoftwareMachines returns the machines of sc with the product
	// installed (any version), by machine id. SoftwareNotFound as
	// SoftwareByID.
	SoftwareMachines(ctx context.Context, tenantID, id string, sc Scope) ([]MachineRef, error)
	// SoftwareVulnerabilities returns the vulnerabilities of the versions
	// of a product installed in sc, by id. SoftwareNotFound as
	// SoftwareByID.
	SoftwareVulnerabilities(ctx context.Context, tenantID, id string, sc Scope) ([]Vulnerability, error)
	// SoftwareMissingKBs returns the security updates that fix the
	// vulnerabilities of the versions of a product installed in sc, by id,
	// MachineMissedOn counted in sc. SoftwareNotFound as SoftwareByID.
	SoftwareMissingKBs(ctx context.Context, tenantID, id string, sc Scope) ([]SecurityUpdate, error)

	// Vulnerabilities returns the catalog's vulnerabilities, by id,
	// filtered by f, with ExposedMachines in sc (0 for one that no machine
	// of sc has).
	Vulnerabilities(ctx context.Context, tenantID string, f VulnerabilityFilter, sc Scope) ([]Vulnerability, error)
	// VulnerabilityByID returns one vulnerability of the catalog, as
	// Vulnerabilities does. VulnerabilityNotFound if none.
	VulnerabilityByID(ctx context.Context, tenantID, id string, sc Scope) (Vulnerability, error)
	// VulnerabilityMachines returns the machines of sc exposed to a
	// vulnerability (with an affected version installed), by machine id.
	// VulnerabilityNotFound if the catalog lacks it.
	VulnerabilityMachines(ctx context.Context, tenantID, id string, sc Scope) ([]MachineRef, error)

	// Recommendations returns one recommendation per product with a
	// vulnerable version installed in sc, by id.
	Recommendations(ctx context.Context, tenantID string, sc Scope) ([]Recommendation, error)
	// RecommendationByID returns one recommendation as Recommendations
	// does. RecommendationNotFound if none in sc (or malformed id). Its
	// software, machines and vulnerabilities are the product's
	// (SoftwareByID, SoftwareMachines limited to ExposedMachines' machines
	// by the caller, SoftwareVulnerabilities).
	RecommendationByID(ctx context.Context, tenantID, id string, sc Scope) (Recommendation, error)

	// MachineVulnerabilityRows returns the rows of
	// /vulnerabilities/machinesVulnerabilities: one per machine of sc,
	// installed version and vulnerability of it, filtered by f, ordered by
	// machine id then Key, skipping skip rows and returning at most top
	// (top <= 0: all).
	MachineVulnerabilityRows(ctx context.Context, tenantID string, f RowFilter, sc Scope, skip, top int) ([]MachineVulnerabilityRow, error)

	// ScanSoftwareVulnerabilities calls fn with the rows of
	// SoftwareVulnerabilitiesByMachine in Key order (machine id first),
	// starting after the row of key after (the zero Key: from the first),
	// at most limit rows (limit <= 0: all). It returns the key to resume
	// from, zero after the last row. The row passed to fn is reused: fn
	// must copy what it keeps. fn's error stops the scan and is returned.
	// Invalid for a key this store did not make.
	ScanSoftwareVulnerabilities(ctx context.Context, tenantID string, sc Scope, after Key, limit int, fn func(*AssetVulnerability) error) (Key, error)
	// ScanSoftwareVulnerabilityChanges is the delta form: the rows whose
	// installation or affected version changed after since, including the
	// installations removed since (Status Fixed, with the row as it was),
	// in the same order, with Status and EventTime set.
	ScanSoftwareVulnerabilityChanges(ctx context.Context, tenantID string, sc Scope, since time.Time, after Key, limit int, fn func(*AssetVulnerability) error) (Key, error)
	// ScanSoftwareInventory calls fn with the rows of
	// SoftwareInventoryByMachine (one per installed version; Key.Vuln is
	// 0) as ScanSoftwareVulnerabilities does.
	ScanSoftwareInventory(ctx context.Context, tenantID string, sc Scope, after Key, limit int, fn func(*InventoryRow) error) (Key, error)

	// Exposure returns what the exposure and configuration scores are
	// computed from, in sc.
	Exposure(ctx context.Context, tenantID string, sc Scope) (Exposure, error)
}

// SoftwareFilter selects software (the OData $filter of /Software on id,
// name and vendor, as equality or in): each non-empty list is a set of
// accepted values, matched exactly (ids, names and vendors are lower
// case); the lists are combined with and.
type SoftwareFilter struct {
	IDs     []string
	Names   []string
	Vendors []string
}

// VulnerabilityFilter selects vulnerabilities by id, severity and update
// time, as SoftwareFilter does.
type VulnerabilityFilter struct {
	IDs          []string
	Severities   []string
	UpdatedAfter time.Time // zero: any
}

// RowFilter selects machinesVulnerabilities rows (the OData $filter of
// that route on id, cveId, machineId, fixingKbId, productName,
// productVersion, severity and productVendor, as equality or in; an id
// is split into its parts with ParseRowID by the caller), as
// SoftwareFilter does.
type RowFilter struct {
	MachineIDs      []string
	CVEIDs          []string
	FixingKBIDs     []string // "" matches rows without a fixing update
	ProductNames    []string
	ProductVendors  []string
	ProductVersions []string
	Severities      []string
	UpdatedAfter    time.Time // the vulnerability's updatedOn; zero: any
}

// MachineRef is a machine in a machineReferences answer (the route adds
// its device group).
type MachineRef struct {
	ID              string
	ComputerDNSName *string
	OSPlatform      *string
}

// MachineInfo is what the by-machine rows repeat of their machine (the
// route adds its device group).
type MachineInfo struct {
	ID              string
	ComputerDNSName *string
	OSPlatform      *string
	OSVersion       *string
	OSArchitecture  *string
}

// MachineVulnerabilityRow is a row of machinesVulnerabilities (the
// PublicAssetVulnerabilityDto).
type MachineVulnerabilityRow struct {
	MachineID string
	CVEID     string
	Product   Product
	Version   string
	FixingKB  string // "" if none
	Severity  string
}

// ID is the row's id, machineId-_-cveId-_-vendor-_-product-_-version-_-kb.
func (r *MachineVulnerabilityRow) ID() string {
	return strings.Join([]string{r.MachineID, r.CVEID, r.Product.Vendor, r.Product.Name, r.Version, r.FixingKB}, IDSeparator)
}

// ParseRowID splits a machinesVulnerabilities id into its parts; false if
// it has not six parts.
func ParseRowID(id string) (MachineVulnerabilityRow, bool) {
	p := strings.Split(id, IDSeparator)
	if len(p) != 6 {
		return MachineVulnerabilityRow{}, false
	}
	return MachineVulnerabilityRow{MachineID: p[0], CVEID: p[1], Product: Product{Vendor: p[2], Name: p[3]}, Version: p[4], FixingKB: p[5]}, true
}

// The statuses of a delta row.
const (
	StatusNew     = "New"     // installed, or the version became affected, after since
	StatusFixed   = "Fixed"   // the installation was removed after since
	StatusUpdated = "Updated" // the installation was reported again (paths, last seen)
)

// AssetVulnerability is a row of SoftwareVulnerabilitiesByMachine: one
// installed version of a product on a machine and one vulnerability of it.
type AssetVulnerability struct {
	Key           Key
	Machine       MachineInfo
	Product       Product
	Version       string
	DiskPaths     []string
	RegistryPaths []string
	FirstSeen     time.Time
	LastSeen      time.Time

	CVEID           string
	Severity        string
	CVSSV3          *float64
	Exploitability  string // ExploitabilityLevel of the vulnerability
	FixedVersion    string // "" if unknown
	FixingKB        string // "" if none
	FixingKBName    string // the update's name, if the catalog has it
	PublicExploit   bool
	ExploitVerified bool
	ExploitInKit    bool

	Status    string    // delta only: StatusNew, StatusFixed, StatusUpdated
	EventTime time.Time // delta only: when the change was written
}

// InventoryRow is a row of SoftwareInventoryByMachine.
type InventoryRow struct {
	Key           Key
	Machine       MachineInfo
	Product       Product
	Version       string
	DiskPaths     []string
	RegistryPaths []string
	FirstSeen     time.Time
	LastSeen      time.Time
	Weaknesses    int // vulnerabilities of this version
}

// Key is the position of a by-machine row: the machine id, then the
// store's product and vulnerability numbers (stable while the catalog
// keeps them) and the version. It is written into a $skiptoken with
// String and read back with ParseKey.
type Key struct {
	MachineID string
	Product   int64
	Version   string
	Vuln      int64
}

// IsZero reports whether k is the zero Key (the start, or the end).
func (k Key) IsZero() bool { return k == Key{} }

// String writes the key as an opaque token (URL-safe base64, no padding).
func (k Key) String() string {
	if k.IsZero() {
		return ""
	}
	s := k.MachineID + "\x00" + strconv.FormatInt(k.Product, 10) + "\x00" + k.Version + "\x00" + strconv.FormatInt(k.Vuln, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// ParseKey reads a token of Key.String. Invalid (code InvalidInput,
// naming $skiptoken) if it is not one.
func ParseKey(token string) (Key, error) {
	bad := openatp.InvalidField("$skiptoken", "is not a token this server wrote")
	if token == "" {
		return Key{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return Key{}, bad
	}
	p := strings.Split(string(b), "\x00")
	if len(p) != 4 || p[0] == "" {
		return Key{}, bad
	}
	prod, err1 := strconv.ParseInt(p[1], 10, 64)
	v, err2 := strconv.ParseInt(p[3], 10, 64)
	if err1 != nil || err2 != nil || prod < 0 || v < 0 {
		return Key{}, bad
	}
	return Key{MachineID: p[0], Product: prod, Version: p[2], Vuln: v}, nil
}
