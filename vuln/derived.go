package vuln

import (
	"math"
	"slices"
	"strings"

	"github.com/openatp/openatp"
)

// What MDE computes and openatp computes too, from the catalog and the
// inventory at the time of the read, in the caller's scope (never
// stored, never imported). The formulas are written in
// docs/compatibility.md ("Vulnerability management: derived values").

// Scope is the set of machines a read may count and list: the whole
// tenant (All), given machine ids (Machines), or the machines a
// delegated caller may see (Visible: the routes resolve device groups,
// which rules assign when read, machine by machine). A machine outside
// the scope is as absent as one that does not exist: it is neither listed
// nor counted, and a per-machine read of it is NotFound.
type Scope struct {
	all      bool
	machines map[string]bool
	key      string
	sees     func(id string) bool
	ids      func() []string
}

// All is the scope of the whole tenant.
func All() Scope { return Scope{all: true} }

// Machines is the scope of the given machine ids (lower case).
func Machines(ids ...string) Scope {
	s := Scope{machines: make(map[string]bool, len(ids))}
	for _, id := range ids {
		s.machines[strings.ToLower(id)] = true
	}
	return s
}

// Visible is the scope of the machines sees reports (by lower-case id),
// asked machine by machine as a read needs them, so that a read of a few
// machines costs per machine read, not per machine of the tenant; ids
// lists them all, sorted, for a read that counts the whole scope anew.
// key names the set: two scopes of one key are the same machines (the
// caller puts in it what decides the set, such as device groups and the
// version of the data that assigns machines to them), so that a store
// may keep what it counted in one for the other while its own data is
// unchanged. sees and ids are called only during the read given the
// scope.
func Visible(key string, sees func(id string) bool, ids func() []string) Scope {
	return Scope{key: key, sees: sees, ids: ids}
}

// IsAll reports whether the scope is the whole tenant.
func (s Scope) IsAll() bool { return s.all }

// Key returns the key of a Visible scope ("" for the others: All is kept
// by the store as the tenant's, a Machines scope not at all).
func (s Scope) Key() string { return s.key }

// Sees reports whether machine id is in the scope.
func (s Scope) Sees(id string) bool {
	if s.sees != nil {
		return s.sees(id)
	}
	return s.all || s.machines[id]
}

// IDs returns the scope's machine ids, sorted (nil for All).
func (s Scope) IDs() []string {
	if s.all {
		return nil
	}
	if s.ids != nil {
		return s.ids()
	}
	ids := make([]string, 0, len(s.machines))
	for id := range s.machines {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Weight is the exposure points one (installed software, vulnerability)
// pair adds to its machine: by severity Low 1, Medium 3, High 6,
// Critical 10, doubled when an exploit is public.
func Weight(severity string, publicExploit bool) float64 {
	var w float64
	switch severity {
	case SeverityCritical:
		w = 10
	case SeverityHigh:
		w = 6
	case SeverityMedium:
		w = 3
	default:
		w = 1
	}
	if publicExploit {
		w *= 2
	}
	return w
}

// MaxMachineExposure caps a machine's exposure points.
const MaxMachineExposure = 100

// Exposure is what the exposure and configuration scores and the
// impact scores are computed from, in a scope. The store fills it with
// AddMachine, once per machine of the scope that has an inventory.
type Exposure struct {
	// Points are the exposure points of each machine (by id): the sum of
	// Weight over the (installed software, vulnerability) pairs of the
	// machine, uncapped.
	Points map[string]float64
	// Fall is, by software id, the sum over machines of how much the
	// machine's score would fall if the product's vulnerabilities were
	// fixed: min(100, S) − min(100, S − Sp), S the machine's points and Sp
	// the product's on it.
	Fall map[string]float64
	// MissingKBMachines is the number of machines missing at least one
	// security update.
	MissingKBMachines int
}

// AddMachine records one machine: the points of each of its vulnerable
// products (by software id) and whether it misses a security update.
func (e *Exposure) AddMachine(id string, products map[string]float64, missingKB bool) {
	if e.Points == nil {
		e.Points, e.Fall = map[string]float64{}, map[string]float64{}
	}
	var s float64
	for _, p := range products {
		s += p
	}
	e.Points[id] += s
	for sw, p := range products {
		e.Fall[sw] += math.Min(MaxMachineExposure, s) - math.Min(MaxMachineExposure, s-p)
	}
	if missingKB {
		e.MissingKBMachines++
	}
}

// MachineScore is a machine's exposure: min(100, its points); 0 for a
// machine without inventory.
func (e *Exposure) MachineScore(id string) float64 {
	return math.Min(MaxMachineExposure, e.Points[id])
}

// Score is the exposure score (0..100): the mean of the machine scores of
// the given machines that have an inventory (every machine of Points when
// ids is nil), rounded to two decimals; 0 without machines.
func (e *Exposure) Score(ids []string) float64 {
	var sum float64
	n := 0
	add := func(id string) {
		if p, ok := e.Points[id]; ok {
			sum += math.Min(MaxMachineExposure, p)
			n++
		}
	}
	if ids == nil {
		for id := range e.Points {
			add(id)
		}
	} else {
		for _, id := range ids {
			add(id)
		}
	}
	if n == 0 {
		return 0
	}
	return Round2(sum / float64(n))
}

// ImpactScore is how much the exposure score would fall if the
// product's vulnerabilities were fixed everywhere: Fall / N, N the
// machines with an inventory, rounded to two decimals.
func (e *Exposure) ImpactScore(softwareID string) float64 {
	if len(e.Points) == 0 {
		return 0
	}
	return Round2(e.Fall[softwareID] / float64(len(e.Points)))
}

// ConfigurationScore is the configuration score (0..1000): 1000 × the
// share of the machines with an inventory that miss no security update,
// rounded down; 0 without machines.
func (e *Exposure) ConfigurationScore() int {
	n := len(e.Points)
	if n == 0 {
		return 0
	}
	return 1000 * (n - e.MissingKBMachines) / n
}

// Round2 rounds to two decimals.
func Round2(v float64) float64 { return math.Round(v*100) / 100 }

// Software is a product as the software routes answer it, with its
// values derived in a scope (a machine's software: in the scope of that
// machine alone).
type Software struct {
	Product
	Weaknesses        int     // vulnerabilities of the versions installed in scope
	PublicExploit     bool    // one of them has a public exploit
	ExposedMachines   int     // machines in scope with a vulnerable version
	InstalledMachines int     // machines in scope with any version
	ImpactScore       float64 // Exposure.ImpactScores, in the same scope
}

// Distribution is one installed version of a product (the distributions
// route).
type Distribution struct {
	Version         string
	Installations   int // machines in scope with this version
	Vulnerabilities int // vulnerabilities of this version in the catalog
}

// Recommendation is the recommendation to update a product that has a
// vulnerable version installed in scope (one per such product): "Update
// <name>" to RecommendedVersion.
type Recommendation struct {
	Product
	RecommendedVersion string   // the highest fixed version among the installed vulnerable versions' ("" if none known)
	FixingKBs          []string // the updates that fix them, sorted
	Weaknesses         int      // as Software.Weaknesses
	PublicExploit      bool
	SeverityScore      float64 // the highest CVSS v3 score of the weaknesses (0 if none scored)
	ExposedMachines    int     // machines in scope with a vulnerable version
	TotalMachines      int     // machines in scope with the product installed
	ExposureImpact     float64 // the product's impact score
	ConfigScoreImpact  float64 // 0: openatp has no configuration assessments
}

// ID is the recommendation's id, va-_-vendor-_-name.
func (r *Recommendation) ID() string { return RecommendationID(r.Product) }

// Category is the recommendation's category: "OS" for an operating
// system (the products named as Windows, macOS and Linux distributions
// are), else "Application".
func Category(p Product) string {
	switch {
	case strings.HasPrefix(p.Name, "windows_10"), strings.HasPrefix(p.Name, "windows_11"),
		strings.HasPrefix(p.Name, "windows_server"), p.Name == "macos", p.Name == "mac_os_x",
		p.Name == "linux_kernel", strings.HasSuffix(p.Name, "_linux"):
		return "OS"
	}
	return "Application"
}

// Severity is the severity rank of s (0 Low .. 3 Critical; -1 unknown).
func Severity(s string) int { return slices.Index(Severities, s) }

// MachineNotFound is the answer for a machine that does not exist or is
// outside the caller's scope (the same answer for both).
func MachineNotFound(id string) error {
	return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "Machine %s was not found", clip(id))
}

// SoftwareNotFound is the answer for a software id that the catalog does
// not have.
func SoftwareNotFound(id string) error {
	return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "Software %s was not found", clip(id))
}

// VulnerabilityNotFound is the answer for a vulnerability id that the
// catalog does not have.
func VulnerabilityNotFound(id string) error {
	return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "Vulnerability %s was not found", clip(id))
}

// RecommendationNotFound is the answer for a recommendation that does
// not exist in the caller's scope.
func RecommendationNotFound(id string) error {
	return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "Recommendation %s was not found", clip(id))
}
