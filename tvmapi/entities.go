package tvmapi

import (
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp/vuln"
	"github.com/openatp/openatp/wire"
)

// The JSON of the TVM entities, as the Learn pages' examples print them
// (property order included). They are written here, not in package wire:
// only these routes and their export files write them.

// The @odata.context entity sets of the answers.
const (
	setVulnerabilities   = "Vulnerabilities"
	setMachineVulns      = "Collection(Analytics.Contracts.PublicAPI.PublicVulnerabilityDto)"
	setSoftware          = "Software"
	setDistributions     = "Distributions"
	setMachineReferences = "MachineReferences"
	setMissingKBs        = "Collection(microsoft.windowsDefenderATP.api.PublicProductFixDto)"
	setRecommendations   = "Recommendations"
	setRows              = "Collection(microsoft.windowsDefenderATP.api.PublicAssetVulnerabilityDto)"
	setAssetVulns        = "Collection(microsoft.windowsDefenderATP.api.AssetVulnerability)"
	setDeltaVulns        = "Collection(microsoft.windowsDefenderATP.api.DeltaAssetVulnerability)"
	setAssetSoftware     = "Collection(microsoft.windowsDefenderATP.api.AssetSoftware)"
	setAssetNonCPE       = "Collection(microsoft.windowsDefenderATP.api.AssetNonCpeSoftware)"
	setExportFiles       = "microsoft.windowsDefenderATP.api.ExportFilesResponse"
)

func appendFloat(b []byte, f float64) []byte { return strconv.AppendFloat(b, f, 'f', -1, 64) }

func appendStrings(b []byte, vs []string) []byte {
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = wire.AppendString(b, v)
	}
	return append(b, ']')
}

// appendOpt appends s as a JSON string, or null when empty.
func appendOpt(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return wire.AppendString(b, s)
}

// appendVulnerability appends a PublicVulnerabilityDto.
func appendVulnerability(b []byte, v *vuln.Vulnerability) []byte {
	b = append(b, `{"id":`...)
	b = wire.AppendString(b, v.ID)
	b = append(b, `,"name":`...)
	name := v.Name
	if name == "" {
		name = v.ID
	}
	b = wire.AppendString(b, name)
	b = append(b, `,"description":`...)
	b = wire.AppendString(b, v.Description)
	b = append(b, `,"severity":`...)
	b = wire.AppendString(b, v.Severity)
	b = append(b, `,"cvssV3":`...)
	b = appendCVSS(b, v.CVSSV3)
	b = append(b, `,"cvssVector":null,"exposedMachines":`...)
	b = strconv.AppendInt(b, int64(v.ExposedMachines), 10)
	b = append(b, `,"publishedOn":`...)
	b = appendTime(b, v.PublishedOn)
	b = append(b, `,"updatedOn":`...)
	b = appendTime(b, v.UpdatedOn)
	b = append(b, `,"firstDetected":null,"patchFirstAvailable":null,"publicExploit":`...)
	b = strconv.AppendBool(b, v.PublicExploit)
	b = append(b, `,"exploitVerified":`...)
	b = strconv.AppendBool(b, v.ExploitVerified)
	b = append(b, `,"exploitInKit":`...)
	b = strconv.AppendBool(b, v.ExploitInKit)
	b = append(b, `,"exploitTypes":`...)
	b = appendStrings(b, v.ExploitTypes)
	b = append(b, `,"exploitUris":`...)
	b = appendStrings(b, v.ExploitURIs)
	// The $metadata's later properties (mde-client reads them all):
	// openatp keeps no vector, EPSS or exceptions.
	b = append(b, `,"cveSupportability":null,"tags":[],"epss":0,"status":`...)
	if v.ExposedMachines > 0 {
		return append(b, `"RemediationRequired"}`...)
	}
	return append(b, `"NoActionRequired"}`...)
}

// appendCVSS appends a CVSS v3 score, 0 when the catalog has none (the
// property is not nullable).
func appendCVSS(b []byte, score *float64) []byte {
	if score == nil {
		return append(b, '0')
	}
	return appendFloat(b, *score)
}

// appendSoftware appends a Software entity. openatp raises no alert of
// software: activeAlert is false; its names are normalized; the
// distributions are their own route's.
func appendSoftware(b []byte, s *vuln.Software) []byte {
	b = append(b, `{"id":`...)
	b = wire.AppendString(b, s.ID())
	b = append(b, `,"name":`...)
	b = wire.AppendString(b, s.Name)
	b = append(b, `,"vendor":`...)
	b = wire.AppendString(b, s.Vendor)
	b = append(b, `,"weaknesses":`...)
	b = strconv.AppendInt(b, int64(s.Weaknesses), 10)
	b = append(b, `,"publicExploit":`...)
	b = strconv.AppendBool(b, s.PublicExploit)
	b = append(b, `,"activeAlert":false,"exposedMachines":`...)
	b = strconv.AppendInt(b, int64(s.ExposedMachines), 10)
	b = append(b, `,"installedMachines":`...)
	b = strconv.AppendInt(b, int64(s.InstalledMachines), 10)
	b = append(b, `,"impactScore":`...)
	b = appendFloat(b, s.ImpactScore)
	b = append(b, `,"isNormalized":true,"category":`...)
	b = wire.AppendString(b, vuln.Category(s.Product))
	return append(b, `,"distributions":null}`...)
}

// appendDistribution appends one version of a product's distribution.
func appendDistribution(b []byte, d *vuln.Distribution) []byte {
	b = append(b, `{"version":`...)
	b = wire.AppendString(b, d.Version)
	b = append(b, `,"installations":`...)
	b = strconv.AppendInt(b, int64(d.Installations), 10)
	b = append(b, `,"vulnerabilities":`...)
	b = strconv.AppendInt(b, int64(d.Vulnerabilities), 10)
	return append(b, '}')
}

// appendMachineRef appends a MachineRef (a PublicAssetDto) with the
// machine's tags (a JSON array) and device group. openatp keeps no asset
// criticality.
func appendMachineRef(b []byte, m *vuln.MachineRef, tags []byte, groupID int64, group string) []byte {
	b = append(b, `{"id":`...)
	b = wire.AppendString(b, m.ID)
	b = append(b, `,"computerDnsName":`...)
	b = wire.AppendStringPtr(b, m.ComputerDNSName)
	b = append(b, `,"osPlatform":`...)
	b = wire.AppendStringPtr(b, m.OSPlatform)
	b = append(b, `,"assetCriticalityLevel":null,"tags":`...)
	b = append(b, tags...)
	b = append(b, `,"rbacGroupName":`...)
	b = wire.AppendString(b, group)
	b = append(b, `,"rbacGroupId":`...)
	b = strconv.AppendInt(b, groupID, 10)
	return append(b, '}')
}

// appendMissingKB appends a PublicProductFixDto: cveAddressed is the
// number of vulnerabilities the update fixes.
func appendMissingKB(b []byte, u *vuln.SecurityUpdate) []byte {
	b = append(b, `{"id":`...)
	b = wire.AppendString(b, u.ID)
	b = append(b, `,"name":`...)
	b = appendOpt(b, u.Name)
	b = append(b, `,"osBuild":`...)
	if u.OSBuild == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, *u.OSBuild, 10)
	}
	b = append(b, `,"productsNames":`...)
	b = appendStrings(b, u.ProductsNames)
	b = append(b, `,"url":`...)
	b = wire.AppendString(b, u.CatalogURL())
	b = append(b, `,"machineMissedOn":`...)
	b = strconv.AppendInt(b, int64(u.MachineMissedOn), 10)
	b = append(b, `,"cveAddressed":`...)
	b = strconv.AppendInt(b, int64(len(u.CVEs)), 10)
	return append(b, '}')
}

// recommendationName is "Update <Product name>": the product's words,
// capitalized ("edge_chromium" → "Update Edge Chromium").
func recommendationName(p vuln.Product) string { return "Update " + component(p) }

// component is the product's name in words, capitalized.
func component(p vuln.Product) string {
	words := strings.Split(p.Name, "_")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

// appendRecommendation appends a Recommendation entity. Its status is
// Active (openatp records no exceptions), remediation by Update; the
// properties openatp has no data for are their empty values.
// hasUnpatchableCve: no fixed version or update is known for any of its
// weaknesses.
func appendRecommendation(b []byte, rc *vuln.Recommendation) []byte {
	b = append(b, `{"id":`...)
	b = wire.AppendString(b, rc.ID())
	b = append(b, `,"productName":`...)
	b = wire.AppendString(b, rc.Name)
	b = append(b, `,"recommendationName":`...)
	b = wire.AppendString(b, recommendationName(rc.Product))
	b = append(b, `,"weaknesses":`...)
	b = strconv.AppendInt(b, int64(rc.Weaknesses), 10)
	b = append(b, `,"vendor":`...)
	b = wire.AppendString(b, rc.Vendor)
	b = append(b, `,"recommendedVersion":`...)
	b = wire.AppendString(b, rc.RecommendedVersion)
	b = append(b, `,"recommendedVendor":null,"recommendedProgram":null,"recommendationCategory":`...)
	b = wire.AppendString(b, vuln.Category(rc.Product))
	b = append(b, `,"subCategory":"","severityScore":`...)
	b = appendFloat(b, rc.SeverityScore)
	b = append(b, `,"publicExploit":`...)
	b = strconv.AppendBool(b, rc.PublicExploit)
	b = append(b, `,"activeAlert":false,"associatedThreats":[],"remediationType":"Update","status":"Active","configScoreImpact":`...)
	b = appendFloat(b, rc.ConfigScoreImpact)
	b = append(b, `,"exposureImpact":`...)
	b = appendFloat(b, rc.ExposureImpact)
	b = append(b, `,"totalMachineCount":`...)
	b = strconv.AppendInt(b, int64(rc.TotalMachines), 10)
	b = append(b, `,"exposedMachinesCount":`...)
	b = strconv.AppendInt(b, int64(rc.ExposedMachines), 10)
	b = append(b, `,"nonProductivityImpactedAssets":0,"relatedComponent":`...)
	b = wire.AppendString(b, component(rc.Product))
	b = append(b, `,"hasUnpatchableCve":`...)
	b = strconv.AppendBool(b, rc.RecommendedVersion == "" && len(rc.FixingKBs) == 0)
	b = append(b, `,"tags":[],"exposedCriticalDevices":0}`...)
	return b
}

// appendRow appends a machinesVulnerabilities row
// (PublicAssetVulnerabilityDto).
func appendRow(b []byte, r *vuln.MachineVulnerabilityRow) []byte {
	b = append(b, `{"id":`...)
	b = wire.AppendString(b, r.ID())
	b = append(b, `,"cveId":`...)
	b = wire.AppendString(b, r.CVEID)
	b = append(b, `,"machineId":`...)
	b = wire.AppendString(b, r.MachineID)
	b = append(b, `,"fixingKbId":`...)
	b = appendOpt(b, r.FixingKB)
	b = append(b, `,"productName":`...)
	b = wire.AppendString(b, r.Product.Name)
	b = append(b, `,"productVendor":`...)
	b = wire.AppendString(b, r.Product.Vendor)
	b = append(b, `,"productVersion":`...)
	b = wire.AppendString(b, r.Version)
	b = append(b, `,"severity":`...)
	b = wire.AppendString(b, r.Severity)
	return append(b, '}')
}

// The by-machine rows' timestamps are "2020-12-30 14:17:26": UTC, without
// T or zone.
func appendAssessmentTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = appendDateTime(b, t.UTC(), ' ')
	return append(b, '"')
}

// appendDateTime appends t as "2006-01-02" sep "15:04:05" (a year of four
// digits), faster than Time.AppendFormat.
func appendDateTime(b []byte, t time.Time, sep byte) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, "2006-01-02"+string(sep)+"15:04:05")
	}
	two := func(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
	b = two(two(b, y/100), y%100)
	b = two(append(b, '-'), int(mo))
	b = two(append(b, '-'), d)
	b = two(append(b, sep), h)
	b = two(append(b, ':'), mi)
	return two(append(b, ':'), s)
}

// appendTime appends t as wire.AppendTime does ("2024-01-05T12:00:00.0000000Z"),
// faster.
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	b = appendDateTime(append(b, '"'), t, 'T')
	ns := t.Nanosecond() / 100
	b = append(b, '.')
	for div := 1000000; div > 0; div /= 10 {
		b = append(b, byte('0'+ns/div%10))
	}
	return append(b, 'Z', '"')
}

// appendMachineInfo appends the machine's properties of a by-machine row,
// from "deviceId" on, and its osVersion and osArchitecture when withOS.
func appendMachineInfo(b []byte, m *vuln.MachineInfo, g deviceGroup, withOS bool) []byte {
	b = append(b, `"deviceId":`...)
	b = wire.AppendString(b, m.ID)
	b = append(b, `,"rbacGroupId":`...)
	b = strconv.AppendInt(b, g.id, 10)
	b = append(b, `,"rbacGroupName":`...)
	b = wire.AppendString(b, g.name)
	b = append(b, `,"deviceName":`...)
	b = wire.AppendStringPtr(b, m.ComputerDNSName)
	b = append(b, `,"osPlatform":`...)
	b = wire.AppendStringPtr(b, m.OSPlatform)
	if withOS {
		b = append(b, `,"osVersion":`...)
		b = wire.AppendStringPtr(b, m.OSVersion)
		b = append(b, `,"osArchitecture":`...)
		b = wire.AppendStringPtr(b, m.OSArchitecture)
	}
	return b
}

// assetWriter writes AssetVulnerability rows (DeltaAssetVulnerability
// with their status and event time when delta). Rows come by machine,
// then installed version, then vulnerability: the JSON of a machine, of
// an installed version and of a vulnerability (with what fixes it) is
// written once and copied into each of its rows.
type assetWriter struct {
	delta bool

	machineID  string
	group      deviceGroup
	machine    []byte // "deviceId":…,"osArchitecture":… (no comma)
	machineKey []byte // the escaped machine id, for the row id

	product            vuln.Product
	version            string
	sw1, sw2, sw3, swK []byte // vendor…version; paths, times and end of support; recommendationReference; name_version for the id

	vulns map[int64]*vulnJSON // by the store's number of the vulnerability
}

// vulnJSON is the JSON of a row's vulnerability, in three parts, and
// what it depends on besides the vulnerability: the update and whether a
// fixed version is known.
type vulnJSON struct {
	v1, v2, v3, key []byte // cveId…Url; exploitabilityLevel; securityUpdateAvailable; cveId_kb for the id
	cve, kb         string
	fixed           bool
}

// maxVulnCache bounds the vulnerabilities an assetWriter remembers.
const maxVulnCache = 1 << 16

// appendBody appends s escaped as in a JSON string, without the quotes.
func appendBody(b []byte, s string) []byte {
	n := len(b)
	b = wire.AppendString(b, s)
	copy(b[n:], b[n+1:len(b)-1])
	return b[:len(b)-2]
}

func (w *assetWriter) setMachine(a *vuln.AssetVulnerability, group deviceGroup) {
	w.machineID, w.group = a.Machine.ID, group
	w.machine = appendMachineInfo(w.machine[:0], &a.Machine, group, true)
	w.machineKey = appendBody(w.machineKey[:0], a.Machine.ID)
	w.product, w.version = vuln.Product{}, "\x00" // the software's JSON is the next machine's own
}

func (w *assetWriter) setSoftware(a *vuln.AssetVulnerability) {
	w.product, w.version = a.Product, a.Version
	b := append(w.sw1[:0], `,"softwareVendor":`...)
	b = wire.AppendString(b, a.Product.Vendor)
	b = append(b, `,"softwareName":`...)
	b = wire.AppendString(b, a.Product.Name)
	b = append(b, `,"softwareVersion":`...)
	w.sw1 = wire.AppendString(b, a.Version)
	b = append(w.sw2[:0], `,"diskPaths":`...)
	b = appendStrings(b, a.DiskPaths)
	b = append(b, `,"registryPaths":`...)
	b = appendStrings(b, a.RegistryPaths)
	b = append(b, `,"lastSeenTimestamp":`...)
	b = appendAssessmentTime(b, a.LastSeen)
	b = append(b, `,"firstSeenTimestamp":`...)
	b = appendAssessmentTime(b, a.FirstSeen)
	w.sw2 = append(b, `,"endOfSupportStatus":"None","endOfSupportDate":null`...)
	b = append(w.sw3[:0], `,"recommendationReference":`...)
	w.sw3 = wire.AppendString(b, vuln.RecommendationID(a.Product))
	b = appendBody(append(w.swK[:0], '_'), a.Product.Name)
	w.swK = appendBody(append(b, '_'), a.Version)
}

func (w *assetWriter) vuln(a *vuln.AssetVulnerability) *vulnJSON {
	if j := w.vulns[a.Key.Vuln]; j != nil && j.cve == a.CVEID && j.kb == a.FixingKB && j.fixed == (a.FixedVersion != "") {
		return j
	}
	j := &vulnJSON{cve: a.CVEID, kb: a.FixingKB, fixed: a.FixedVersion != ""}
	b := append(j.v1, `,"cveId":`...)
	b = appendOpt(b, a.CVEID)
	b = append(b, `,"cvssScore":`...)
	b = appendCVSS(b, a.CVSSV3)
	b = append(b, `,"vulnerabilitySeverityLevel":`...)
	b = appendOpt(b, a.Severity)
	b = append(b, `,"recommendedSecurityUpdate":`...)
	b = appendOpt(b, a.FixingKBName)
	b = append(b, `,"recommendedSecurityUpdateId":`...)
	b = appendOpt(b, a.FixingKB)
	b = append(b, `,"recommendedSecurityUpdateUrl":`...)
	if a.FixingKB == "" {
		b = append(b, "null"...)
	} else {
		u := vuln.SecurityUpdate{ID: a.FixingKB}
		b = wire.AppendString(b, u.CatalogURL())
	}
	j.v1 = b
	lvl := a.Exploitability
	if lvl == "" {
		lvl = vuln.NoExploit
	}
	j.v2 = wire.AppendString(append(j.v2, `,"exploitabilityLevel":`...), lvl)
	j.v3 = strconv.AppendBool(append(j.v3, `,"securityUpdateAvailable":`...), a.FixingKB != "" || a.FixedVersion != "")
	j.v3 = append(j.v3, `,"cveMitigationStatus":null`...)
	b = appendBody(append(j.key, '_'), a.CVEID)
	j.key = appendBody(append(b, '_'), a.FixingKB)
	if w.vulns == nil || len(w.vulns) >= maxVulnCache {
		w.vulns = map[int64]*vulnJSON{}
	}
	w.vulns[a.Key.Vuln] = j
	return j
}

// append appends row a of a machine of device group group.
func (w *assetWriter) append(b []byte, a *vuln.AssetVulnerability, group deviceGroup) []byte {
	if a.Machine.ID != w.machineID || group != w.group || w.machine == nil {
		w.setMachine(a, group)
	}
	if a.Product != w.product || a.Version != w.version {
		w.setSoftware(a)
	}
	j := w.vuln(a)
	// The id, as the service writes it: deviceId_softwareName_softwareVersion_cveId_kb.
	b = append(b, `{"id":"`...)
	b = append(b, w.machineKey...)
	b = append(b, w.swK...)
	b = append(b, j.key...)
	b = append(b, `",`...)
	b = append(b, w.machine...)
	b = append(b, w.sw1...)
	b = append(b, j.v1...)
	b = append(b, w.sw2...)
	b = append(b, j.v2...)
	b = append(b, w.sw3...)
	b = append(b, j.v3...)
	if w.delta {
		b = append(b, `,"status":`...)
		b = wire.AppendString(b, a.Status)
		b = append(b, `,"eventTimestamp":`...)
		b = appendAssessmentTime(b, a.EventTime)
	}
	return append(b, '}')
}

// appendInventoryRow appends an AssetSoftware row. openatp keeps no
// end-of-support dates: endOfSupportStatus is "None".
func appendInventoryRow(b []byte, r *vuln.InventoryRow, group deviceGroup) []byte {
	b = append(b, '{')
	b = appendMachineInfo(b, &r.Machine, group, false)
	b = append(b, `,"softwareVendor":`...)
	b = wire.AppendString(b, r.Product.Vendor)
	b = append(b, `,"softwareName":`...)
	b = wire.AppendString(b, r.Product.Name)
	b = append(b, `,"softwareVersion":`...)
	b = wire.AppendString(b, r.Version)
	b = append(b, `,"numberOfWeaknesses":`...)
	b = strconv.AppendInt(b, int64(r.Weaknesses), 10)
	b = append(b, `,"diskPaths":`...)
	b = appendStrings(b, r.DiskPaths)
	b = append(b, `,"registryPaths":`...)
	b = appendStrings(b, r.RegistryPaths)
	b = append(b, `,"softwareFirstSeenTimestamp":`...)
	b = appendAssessmentTime(b, r.FirstSeen)
	b = append(b, `,"endOfSupportStatus":"None","endOfSupportDate":null}`...)
	return b
}
