// Package vuln is the domain of vulnerability management (TVM, issue 25,
// mde-reference §12.3.3): the catalog a tenant imports (software
// products, vulnerabilities and the versions they affect, security
// updates), the per-machine inventory (installed software, missing
// security updates), the recommendations derived from them, and the
// values MDE computes rather than stores (exposed machines, weaknesses,
// impact, exposure and configuration scores; the formulas are in
// docs/compatibility.md, "Vulnerability management").
//
// It computes only, on the standard library and the root package; the
// stores (sqlite, postgres, through internal/sqlstore/tvmsql) implement
// Store, and the tvmapi routes read it.
package vuln

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openatp/openatp"
)

// The permissions of the TVM routes (application / delegated).
const (
	PermVulnerabilityRead     = "Vulnerability.Read"
	PermVulnerabilityReadAll  = "Vulnerability.Read.All"
	PermSoftwareRead          = "Software.Read"
	PermSoftwareReadAll       = "Software.Read.All"
	PermRecommendationRead    = "SecurityRecommendation.Read"
	PermRecommendationReadAll = "SecurityRecommendation.Read.All"
	PermScoreRead             = "Score.Read"
	PermScoreReadAll          = "Score.Read.All"
)

// The severities of a vulnerability, lowest first.
const (
	SeverityLow      = "Low"
	SeverityMedium   = "Medium"
	SeverityHigh     = "High"
	SeverityCritical = "Critical"
)

// Severities are the values of Vulnerability.Severity, lowest first.
var Severities = []string{SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

// The exploitability levels of an AssetVulnerability row, from the
// vulnerability's exploit flags (ExploitabilityLevel).
const (
	NoExploit         = "NoExploit"
	ExploitIsPublic   = "ExploitIsPublic"
	ExploitIsVerified = "ExploitIsVerified"
	ExploitIsInKit    = "ExploitIsInKit"
)

// IDSeparator joins the parts of composite ids: a software id is
// vendor-_-name, a machinesVulnerabilities row's id
// machineId-_-cveId-_-vendor-_-product-_-version-_-kb, a
// recommendation's va-_-vendor-_-name.
const IDSeparator = "-_-"

// Limits of imported records, in bytes (texts) or items (lists).
const (
	MaxName        = 256
	MaxDescription = 8192
	MaxList        = 256 // exploit types and uris, paths, CVEs of an update
)

// Product is a software product of the catalog. Vendor and Name are in
// MDE's form: lower case, words joined by '_' ("microsoft",
// "edge_chromium"); Normalize makes them so.
type Product struct {
	Vendor string
	Name   string
}

// ID is the product's MDE id, vendor-_-name.
func (p Product) ID() string { return p.Vendor + IDSeparator + p.Name }

// ParseSoftwareID splits a software id into its product; false if it is
// not of the form vendor-_-name.
func ParseSoftwareID(id string) (Product, bool) {
	v, n, ok := strings.Cut(id, IDSeparator)
	if !ok || v == "" || n == "" || strings.Contains(n, IDSeparator) {
		return Product{}, false
	}
	return Product{Vendor: v, Name: n}, true
}

// RecommendationID is the id of the recommendation to update product p:
// va-_-vendor-_-name.
func RecommendationID(p Product) string { return "va" + IDSeparator + p.ID() }

// ParseRecommendationID is the inverse of RecommendationID.
func ParseRecommendationID(id string) (Product, bool) {
	rest, ok := strings.CutPrefix(id, "va"+IDSeparator)
	if !ok {
		return Product{}, false
	}
	return ParseSoftwareID(rest)
}

// Normalize puts the product in MDE's form (trimmed, lower case, spaces
// as '_') and checks it. Invalid naming field+"Vendor"/"Name" otherwise
// (field is the record's prefix, such as "software"; "" for none).
func (p *Product) Normalize(field string) error {
	p.Vendor, p.Name = normalName(p.Vendor), normalName(p.Name)
	for _, f := range [2]struct{ name, v string }{{"vendor", p.Vendor}, {"name", p.Name}} {
		var why string
		switch {
		case f.v == "":
			why = "is required"
		case len(f.v) > MaxName || !utf8.ValidString(f.v):
			why = "at most " + itoa(MaxName) + " bytes of UTF-8"
		case strings.Contains(f.v, IDSeparator):
			why = "must not contain \"" + IDSeparator + "\""
		default:
			continue
		}
		name := f.name
		if field != "" {
			name = field + strings.ToUpper(f.name[:1]) + f.name[1:]
		}
		return openatp.InvalidField(name, "%s", why)
	}
	return nil
}

// normalID is a machine id trimmed and in lower case.
func normalID(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c <= ' ' || c >= 0x80 {
			return strings.ToLower(strings.TrimSpace(s))
		}
	}
	return s
}

// normalName is a vendor or product name in MDE's form.
func normalName(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c == ' ' || c == '\t' || c >= 0x80 {
			return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), " ", "_")
		}
	}
	return s // already in form: most records
}

// Affected is one version of a product that a vulnerability affects,
// with what fixes it: the version to update to and, for products updated
// by security updates (Windows), the update's id.
type Affected struct {
	Product
	Version      string
	FixedVersion string // "" when unknown: the recommendation names no version
	FixingKB     string // the security update that fixes it, "" if none
}

// Vulnerability is a vulnerability of the catalog (the
// PublicVulnerabilityDto), with the versions it affects. Its exposure
// (ExposedMachines) is computed by the store, in a caller's scope.
type Vulnerability struct {
	ID              string // a CVE id (CVE-2024-12345) or a TVM id (TVM-2020-0002)
	Name            string // "" means the id
	Description     string
	Severity        string   // one of Severities
	CVSSV3          *float64 // 0..10, nil if not scored
	PublishedOn     time.Time
	UpdatedOn       time.Time
	PublicExploit   bool
	ExploitVerified bool
	ExploitInKit    bool
	ExploitTypes    []string
	ExploitURIs     []string
	Affected        []Affected // in the catalog; not filled by the reads of Store

	ExposedMachines int // derived: machines in scope with an affected version
}

// ExploitabilityLevel is the level an AssetVulnerability row reports:
// the strongest of the vulnerability's exploit flags.
func (v *Vulnerability) ExploitabilityLevel() string {
	switch {
	case v.ExploitInKit:
		return ExploitIsInKit
	case v.ExploitVerified:
		return ExploitIsVerified
	case v.PublicExploit:
		return ExploitIsPublic
	}
	return NoExploit
}

// ValidVulnerabilityID reports whether id is a CVE id (CVE-yyyy-nnnn…)
// or a TVM id (TVM-…, letters, digits and '-').
func ValidVulnerabilityID(id string) bool {
	rest, ok := strings.CutPrefix(id, "CVE-")
	if ok {
		year, num, ok := strings.Cut(rest, "-")
		return ok && len(year) == 4 && digits(year) && len(num) >= 4 && len(num) <= 12 && digits(num)
	}
	rest, ok = strings.CutPrefix(id, "TVM-")
	if !ok || rest == "" || len(rest) > 64 {
		return false
	}
	for _, c := range rest {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-') {
			return false
		}
	}
	return true
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// Normalize checks a vulnerability as imported and fills its defaults
// (severity from the CVSS score when absent, UpdatedOn from
// PublishedOn). Invalid naming the field otherwise ("affected[2].version").
func (v *Vulnerability) Normalize() error {
	v.ID = strings.TrimSpace(v.ID)
	if v.ID == "" {
		return openatp.InvalidField("id", "is required")
	}
	if !ValidVulnerabilityID(v.ID) {
		return openatp.InvalidField("id", "%q is neither a CVE id (CVE-2024-12345) nor a TVM id (TVM-2020-0002)", clip(v.ID))
	}
	if v.CVSSV3 != nil && (*v.CVSSV3 < 0 || *v.CVSSV3 > 10) {
		return openatp.InvalidField("cvssV3", "%v is not between 0 and 10", *v.CVSSV3)
	}
	switch {
	case v.Severity == "" && v.CVSSV3 != nil:
		v.Severity = SeverityOfScore(*v.CVSSV3)
	case v.Severity == "":
		return openatp.InvalidField("severity", "is required (or cvssV3)")
	default:
		i := slices.IndexFunc(Severities, func(s string) bool { return strings.EqualFold(s, v.Severity) })
		if i < 0 {
			return openatp.InvalidField("severity", "%q is not one of %s", clip(v.Severity), strings.Join(Severities, ", "))
		}
		v.Severity = Severities[i]
	}
	if err := text("name", v.Name, MaxName); err != nil {
		return err
	}
	if err := text("description", v.Description, MaxDescription); err != nil {
		return err
	}
	if v.PublishedOn.IsZero() {
		return openatp.InvalidField("publishedOn", "is required")
	}
	if v.UpdatedOn.IsZero() {
		v.UpdatedOn = v.PublishedOn
	}
	if v.UpdatedOn.Before(v.PublishedOn) {
		return openatp.InvalidField("updatedOn", "is before publishedOn")
	}
	v.PublishedOn, v.UpdatedOn = v.PublishedOn.UTC(), v.UpdatedOn.UTC()
	for _, l := range []struct {
		name string
		vs   []string
	}{{"exploitTypes", v.ExploitTypes}, {"exploitUris", v.ExploitURIs}} {
		if err := list(l.name, l.vs); err != nil {
			return err
		}
	}
	if (v.ExploitVerified || v.ExploitInKit) && !v.PublicExploit {
		v.PublicExploit = true // a verified or kit exploit is a public one
	}
	seen := make(map[string]bool, len(v.Affected))
	for i := range v.Affected {
		a := &v.Affected[i]
		field := "affected[" + itoa(i) + "]"
		if err := a.Product.Normalize(""); err != nil {
			return prefixed(field, err)
		}
		a.Version, a.FixedVersion, a.FixingKB = strings.TrimSpace(a.Version), strings.TrimSpace(a.FixedVersion), strings.TrimSpace(a.FixingKB)
		if a.Version == "" {
			return openatp.InvalidField(field+".version", "is required")
		}
		for _, f := range []struct{ name, v string }{{"version", a.Version}, {"fixedVersion", a.FixedVersion}, {"fixingKbId", a.FixingKB}} {
			if err := text(field+"."+f.name, f.v, MaxName); err != nil {
				return err
			}
		}
		if a.FixingKB != "" && !ValidKBID(a.FixingKB) {
			return openatp.InvalidField(field+".fixingKbId", "%q is not a security update id (digits)", clip(a.FixingKB))
		}
		k := a.ID() + "\x00" + a.Version
		if seen[k] {
			return openatp.InvalidField(field, "%s version %s is listed twice", a.ID(), clip(a.Version))
		}
		seen[k] = true
	}
	return nil
}

// SeverityOfScore is the severity of a CVSS v3 base score (the CVSS
// v3 qualitative scale, with None counted as Low).
func SeverityOfScore(s float64) string {
	switch {
	case s >= 9:
		return SeverityCritical
	case s >= 7:
		return SeverityHigh
	case s >= 4:
		return SeverityMedium
	}
	return SeverityLow
}

// SecurityUpdate is a security update (a KB) of the catalog.
type SecurityUpdate struct {
	ID            string // the KB number, digits only ("5031356")
	Name          string // "November 2023 Security Updates"
	ReleaseDate   time.Time
	OSBuild       *int64   // the OS build it updates to, if any
	ProductsNames []string // the products it updates, in MDE's form ("windows_11")
	URL           string   // "" means the Microsoft Update Catalog search for it
	CVEs          []string // the vulnerabilities it fixes

	MachineMissedOn int // derived: machines in scope missing it
}

// ValidKBID reports whether id is a security update id: 1 to 12 digits
// (a "KB" prefix is removed by NormalizeKBID).
func ValidKBID(id string) bool { return len(id) <= 12 && digits(id) }

// NormalizeKBID removes a "KB" prefix (any case) and spaces.
func NormalizeKBID(id string) string {
	id = strings.TrimSpace(id)
	if len(id) > 2 && strings.EqualFold(id[:2], "KB") {
		id = id[2:]
	}
	return id
}

// CatalogURL is the URL reported for an update that gives none.
func (u *SecurityUpdate) CatalogURL() string {
	if u.URL != "" {
		return u.URL
	}
	return "https://catalog.update.microsoft.com/v7/site/Search.aspx?q=KB" + u.ID
}

// Normalize checks a security update as imported. Invalid naming the
// field otherwise.
func (u *SecurityUpdate) Normalize() error {
	given := strings.TrimSpace(u.ID)
	u.ID = NormalizeKBID(u.ID)
	if u.ID == "" {
		return openatp.InvalidField("id", "is required")
	}
	if !ValidKBID(u.ID) {
		return openatp.InvalidField("id", "%q is not a security update id (KB and digits)", clip(given))
	}
	if err := text("name", u.Name, MaxName); err != nil {
		return err
	}
	if strings.TrimSpace(u.Name) == "" {
		return openatp.InvalidField("name", "is required")
	}
	if u.ReleaseDate.IsZero() {
		return openatp.InvalidField("releaseDate", "is required")
	}
	u.ReleaseDate = u.ReleaseDate.UTC()
	if err := text("url", u.URL, 2048); err != nil {
		return err
	}
	if err := list("productsNames", u.ProductsNames); err != nil {
		return err
	}
	for i := range u.ProductsNames {
		u.ProductsNames[i] = normalName(u.ProductsNames[i])
	}
	if err := list("cveAddressed", u.CVEs); err != nil {
		return err
	}
	for i, c := range u.CVEs {
		if !ValidVulnerabilityID(c) {
			return openatp.InvalidField("cveAddressed["+itoa(i)+"]", "%q is neither a CVE nor a TVM id", clip(c))
		}
	}
	return nil
}

// Catalog is what a catalog import writes, in one transaction: products
// (also created by the vulnerabilities and the inventory that name them),
// vulnerabilities (each replacing the one of the same id, its affected
// versions included) and security updates (likewise, by id).
type Catalog struct {
	Products        []Product
	Vulnerabilities []Vulnerability
	Updates         []SecurityUpdate
}

// Installed is one version of a product installed on a machine (a row
// of SoftwareInventoryByMachine).
type Installed struct {
	MachineID     string
	Product       Product
	Version       string
	DiskPaths     []string
	RegistryPaths []string
	FirstSeen     time.Time // when the store first saw this version on the machine, if not given
	LastSeen      time.Time // when last reported; the import's time if not given
}

// Normalize checks an installed software record. Invalid naming the
// field otherwise (softwareVendor, softwareName, softwareVersion, …).
func (s *Installed) Normalize() error {
	s.MachineID = normalID(s.MachineID)
	if s.MachineID == "" {
		return openatp.InvalidField("deviceId", "is required")
	}
	if err := s.Product.Normalize("software"); err != nil {
		return err
	}
	s.Version = strings.TrimSpace(s.Version)
	if s.Version == "" {
		return openatp.InvalidField("softwareVersion", "is required")
	}
	if err := text("softwareVersion", s.Version, MaxName); err != nil {
		return err
	}
	for _, l := range [2]struct {
		name string
		vs   []string
	}{{"diskPaths", s.DiskPaths}, {"registryPaths", s.RegistryPaths}} {
		if err := list(l.name, l.vs); err != nil {
			return err
		}
		for i, v := range l.vs {
			if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 }) {
				return openatp.InvalidField(l.name+"["+itoa(i)+"]", "holds a control character")
			}
		}
	}
	if !s.FirstSeen.IsZero() && !s.LastSeen.IsZero() && s.LastSeen.Before(s.FirstSeen) {
		return openatp.InvalidField("lastSeenTimestamp", "is before firstSeenTimestamp")
	}
	return nil
}

// InventoryRecord is one record of an inventory import: an installed
// version (Product set), a missing security update (MissingKB set), or
// the machine alone (neither), whose inventory the import then empties
// unless other records of it name software or updates.
type InventoryRecord struct {
	Installed
	MissingKB string
}

// Normalize checks an inventory record (Installed.Normalize for
// software; the update id for a missing update). Invalid naming the
// field otherwise.
func (r *InventoryRecord) Normalize() error {
	r.MissingKB = NormalizeKBID(r.MissingKB)
	switch {
	case r.MissingKB != "":
		r.MachineID = strings.ToLower(strings.TrimSpace(r.MachineID))
		if r.MachineID == "" {
			return openatp.InvalidField("deviceId", "is required")
		}
		if r.Product != (Product{}) || r.Version != "" {
			return openatp.InvalidField("missingKbId", "a record names either software or a missing update, not both")
		}
		if !ValidKBID(r.MissingKB) {
			return openatp.InvalidField("missingKbId", "%q is not a security update id (KB and digits)", clip("KB"+r.MissingKB))
		}
		return nil
	case r.Product == (Product{}) && r.Version == "" && len(r.DiskPaths) == 0 && len(r.RegistryPaths) == 0:
		r.MachineID = strings.ToLower(strings.TrimSpace(r.MachineID))
		if r.MachineID == "" {
			return openatp.InvalidField("deviceId", "is required")
		}
		return nil
	}
	return r.Installed.Normalize()
}

// IsMachineOnly reports whether the record names its machine alone.
func (r *InventoryRecord) IsMachineOnly() bool { return r.MissingKB == "" && r.Product == (Product{}) }

// text checks a free text's length and encoding.
func text(field, v string, max int) error {
	if len(v) > max || !utf8.ValidString(v) {
		return openatp.InvalidField(field, "at most %d bytes of UTF-8", max)
	}
	return nil
}

// list checks a list of short texts.
func list(field string, vs []string) error {
	if len(vs) > MaxList {
		return openatp.InvalidField(field, "at most %d items", MaxList)
	}
	for i, v := range vs {
		if len(v) > 2048 || !utf8.ValidString(v) {
			return text(field+"["+itoa(i)+"]", v, 2048)
		}
	}
	return nil
}

// prefixed puts field before the field an Invalid error names.
func prefixed(field string, err error) error {
	var fe *openatp.FieldError
	if e, ok := err.(*openatp.Error); ok {
		if f, ok := e.Err.(*openatp.FieldError); ok {
			fe = f
		}
	}
	if fe == nil {
		return err
	}
	return openatp.InvalidField(field+"."+fe.Field, "%s", fe.Reason)
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for ; i > 0; i /= 10 {
		n--
		b[n] = byte('0' + i%10)
	}
	return string(b[n:])
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "…"
}
