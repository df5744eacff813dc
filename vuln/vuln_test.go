package vuln_test

import (
	"slices"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/vuln"
)

// A hand-computed fleet: m1 has chrome (one Critical with a public
// exploit: 20 points) and edge (one Medium: 3); m2 has chrome (20) and
// an OS with points 90; m3 has nothing vulnerable.
func TestExposure(t *testing.T) {
	chrome, edge, win := vuln.Product{Vendor: "google", Name: "chrome"}, vuln.Product{Vendor: "microsoft", Name: "edge"}, vuln.Product{Vendor: "microsoft", Name: "windows_11"}
	var e vuln.Exposure
	e.AddMachine("m1", map[string]float64{chrome.ID(): vuln.Weight(vuln.SeverityCritical, true), edge.ID(): vuln.Weight(vuln.SeverityMedium, false)}, true)
	e.AddMachine("m2", map[string]float64{chrome.ID(): 20, win.ID(): 90}, false)
	e.AddMachine("m3", nil, false)
	if e.MachineScore("m1") != 23 || e.MachineScore("m2") != 100 || e.MachineScore("m3") != 0 {
		t.Fatalf("machine scores %v, want m1 23, m2 100 (capped), m3 0", e.Points)
	}
	if got := e.Score(nil); got != 41 {
		t.Errorf("score %v, want (23+100+0)/3 = 41", got)
	}
	if got := e.Score([]string{"m1", "m3", "unknown"}); got != 11.5 {
		t.Errorf("score of m1, m3 %v, want 11.5", got)
	}
	// chrome: m1 23→3 (20), m2 100→90 (10): 30/3 = 10. windows: m2 100→20: 80/3.
	if chrome, win, edge := e.ImpactScore(chrome.ID()), e.ImpactScore(win.ID()), e.ImpactScore(edge.ID()); chrome != 10 || win != 26.67 || edge != 1 {
		t.Errorf("impact chrome %v, windows %v, edge %v; want 10, 26.67, 1", chrome, win, edge)
	}
	if got := e.ConfigurationScore(); got != 666 {
		t.Errorf("configuration score %d, want 666", got)
	}
}

func TestKey(t *testing.T) {
	k := vuln.Key{MachineID: "ab12", Product: 7, Version: "1.2.3", Vuln: 42}
	got, err := vuln.ParseKey(k.String())
	if err != nil || got != k {
		t.Fatalf("ParseKey(String) = %v, %v; want %v", got, err, k)
	}
	for _, bad := range []string{"!!", "YWJj", k.String() + "x"} {
		if _, err := vuln.ParseKey(bad); !openatp.IsKind(err, openatp.Invalid) {
			t.Errorf("ParseKey(%q): %v, want Invalid", bad, err)
		}
	}
}

func TestNormalize(t *testing.T) {
	score := 9.8
	v := vuln.Vulnerability{ID: "CVE-2024-0001", CVSSV3: &score, PublishedOn: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC),
		Affected: []vuln.Affected{{Product: vuln.Product{Vendor: "Google", Name: "Chrome"}, Version: "120.0.1"}}}
	if err := v.Normalize(); err != nil {
		t.Fatal(err)
	}
	if v.Severity != vuln.SeverityCritical || v.Affected[0].ID() != "google-_-chrome" || !v.UpdatedOn.Equal(v.PublishedOn) {
		t.Errorf("normalized %+v", v)
	}
	v.Affected = append(v.Affected, vuln.Affected{Product: vuln.Product{Vendor: "google"}, Version: "1"})
	if err := v.Normalize(); err == nil || err.Error() != "affected[1].name: is required" {
		t.Errorf("error %v, want affected[1].name: is required", err)
	}
	for _, id := range []string{"CVE-2024-1", "cve-2024-0001", "TVM-", "XYZ"} {
		if vuln.ValidVulnerabilityID(id) {
			t.Errorf("%q valid", id)
		}
	}
	if !vuln.ValidVulnerabilityID("TVM-2020-0002") || !vuln.ValidVulnerabilityID("CVE-2021-44228") {
		t.Error("valid ids refused")
	}
}

// TestPermissions: the TVM permissions are ones an application may be
// granted (the root's lists name them as text).
func TestPermissions(t *testing.T) {
	for _, p := range []string{vuln.PermVulnerabilityReadAll, vuln.PermSoftwareReadAll, vuln.PermRecommendationReadAll, vuln.PermScoreReadAll} {
		if !slices.Contains(openatp.ApplicationPermissions, p) {
			t.Errorf("application permission %s is not known", p)
		}
	}
	for _, p := range []string{vuln.PermVulnerabilityRead, vuln.PermSoftwareRead, vuln.PermRecommendationRead, vuln.PermScoreRead} {
		if !slices.Contains(openatp.DelegatedPermissions, p) {
			t.Errorf("delegated permission %s is not known", p)
		}
	}
}
