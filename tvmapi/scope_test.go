package tvmapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/ratelimit"
	"github.com/openatp/openatp/vuln"
)

// scores reads a score answer (time checked to be present).
func score(t testing.TB, r apitest.Response) float64 {
	t.Helper()
	var v struct {
		Context string `json:"@odata.context"`
		Time    string
		Score   float64
	}
	if err := json.Unmarshal(r.Body, &v); err != nil || v.Time == "" || v.Context == "" {
		t.Fatalf("score answer %s: %v", r.Body, err)
	}
	return v.Score
}

// TestScores checks the exposure and configuration scores against the
// fleet's hand-computed values (machine points: m1 29, m2 20, vault 26,
// lone 0), for the application and in the delegated scope, on both
// stores.
func TestScores(t *testing.T) {
	storesOf(t, func(t *testing.T, e *env) {
		// (29+20+26+0)/4 = 18.75; 3 of 4 machines miss no update: 750.
		if s := score(t, e.get(t, "/api/exposureScore", e.app, http.StatusOK)); s != 18.75 {
			t.Errorf("exposure score %v, want 18.75", s)
		}
		if s := score(t, e.get(t, "/api/configurationScore", e.app, http.StatusOK)); s != 750 {
			t.Errorf("configuration score %v, want 750", s)
		}
		// The-A-Team (m1, m2): 24.5; Vault: 26; the default group (lone): 0.
		r := e.get(t, "/api/exposureScore/ByMachineGroups", e.app, http.StatusOK)
		checkGroups(t, e, r, `[{"score":24.5,"rbacGroupName":"The-A-Team","rbacGroupId":140},{"score":26,"rbacGroupName":"Vault","rbacGroupId":150},
			{"score":0,"rbacGroupName":"Ungrouped machines (default)","rbacGroupId":0}]`)

		// The delegated user of The-A-Team sees m1, m2 and lone:
		// (29+20+0)/3 = 16.33; 2 of 3 miss no update: 666.
		if s := score(t, e.get(t, "/api/exposureScore", e.ana, http.StatusOK)); s != 16.33 {
			t.Errorf("delegated exposure score %v, want 16.33", s)
		}
		if s := score(t, e.get(t, "/api/configurationScore", e.ana, http.StatusOK)); s != 666 {
			t.Errorf("delegated configuration score %v, want 666", s)
		}
		r = e.get(t, "/api/exposureScore/ByMachineGroups", e.ana, http.StatusOK)
		checkGroups(t, e, r, `[{"score":24.5,"rbacGroupName":"The-A-Team","rbacGroupId":140},
			{"score":0,"rbacGroupName":"Ungrouped machines (default)","rbacGroupId":0}]`)
		apitest.CheckError(t, e.get(t, "/api/exposureScore", e.none, http.StatusForbidden), http.StatusForbidden, "Forbidden")
	})
}

// checkGroups checks a ByMachineGroups answer, its times aside.
func checkGroups(t testing.TB, e *env, r apitest.Response, want string) {
	t.Helper()
	var v struct {
		Context string `json:"@odata.context"`
		Value   []map[string]any
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatal(err)
	}
	for _, g := range v.Value {
		if _, ok := g["time"].(string); !ok {
			t.Errorf("group without time: %v", g)
		}
		delete(g, "time")
	}
	b, _ := json.Marshal(v.Value)
	jsonEq(t, e.Srv.URL, b, want)
	if v.Context != e.Srv.URL+"/api/$metadata#ExposureScore" {
		t.Errorf("context %q", v.Context)
	}
}

// TestDelegatedScope checks that a delegated caller learns nothing of a
// machine outside its device groups: not from a per-machine route (the
// unknown machine's answer), a list, a reference or a count.
func TestDelegatedScope(t *testing.T) {
	storesOf(t, func(t *testing.T, e *env) {
		unknown := strings.Repeat("9", 40)
		for _, sub := range []string{"vulnerabilities", "software", "recommendations", "getmissingkbs"} {
			hidden := e.get(t, "/api/machines/"+vault+"/"+sub, e.ana, http.StatusNotFound)
			none := e.get(t, "/api/machines/"+unknown+"/"+sub, e.ana, http.StatusNotFound)
			apitest.CheckError(t, hidden, http.StatusNotFound, "ResourceNotFound")
			var h, n struct {
				Error struct{ Code, Message string }
			}
			_ = json.Unmarshal(hidden.Body, &h)
			_ = json.Unmarshal(none.Body, &n)
			if strings.ReplaceAll(h.Error.Message, vault, "X") != strings.ReplaceAll(n.Error.Message, unknown, "X") {
				t.Errorf("%s: hidden %q, unknown %q", sub, h.Error.Message, n.Error.Message)
			}
			e.get(t, "/api/machines/"+vault+"/"+sub, e.app, http.StatusOK)
		}
		// m1's vulnerabilities: CVE-1 on m1 and m2 (not the vault), CVE-2 on m1.
		r := e.get(t, "/api/machines/"+m1+"/vulnerabilities", e.ana, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#Collection(Analytics.Contracts.PublicAPI.PublicVulnerabilityDto)",
			"value":[`+n(cve1, 2)+`,`+n(cve2, 1)+`,`+n(cve3, 1)+`]}`)
		// chrome on m1 and m2: impact ((29−3) + 20)/3 = 15.33.
		r = e.get(t, "/api/Software/google-_-chrome", e.ana, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#Software/$entity","id":"google-_-chrome","name":"chrome",
			"vendor":"google","weaknesses":2,"publicExploit":true,"activeAlert":false,"exposedMachines":2,"installedMachines":2,"impactScore":15.33,
			"isNormalized":true,"category":"Application","distributions":null}`)
		r = e.get(t, "/api/Software/google-_-chrome/machineReferences", e.ana, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#MachineReferences","value":[`+machineRef(m1)+`,`+machineRef(m2)+`]}`)
		r = e.get(t, "/api/vulnerabilities/CVE-2024-0002/machineReferences", e.ana, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#MachineReferences","value":[`+machineRef(m1)+`]}`)
		r = e.get(t, "/api/recommendations/va-_-google-_-chrome", e.ana, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#Recommendations/$entity",`+chromeRec(2, 15.33, 2, 2, "121.0")[1:])
		// 7-zip is installed on the vault and lone: the delegated user sees
		// lone's only.
		r = e.get(t, "/api/Software/igor_pavlov-_-7-zip/distributions", e.ana, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#Distributions","value":[{"version":"23.01","installations":1,"vulnerabilities":0}]}`)
	})
}

// TestKeptAnswers checks that the answers built from what the store keeps
// (the counts of a scope, a vulnerability's encoding) follow the data:
// the same bytes while nothing changes (the JSON of the documentation's
// order, compact), new counts after a machine changes device group (the
// delegated caller's scope) and after an inventory import.
func TestKeptAnswers(t *testing.T) {
	storesOf(t, func(t *testing.T, e *env) {
		compact := func(want string) []byte {
			var b bytes.Buffer
			if err := json.Compact(&b, []byte(strings.ReplaceAll(want, "URL", e.Srv.URL))); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		}
		vulns := func(token, want string) {
			t.Helper()
			for range 2 {
				r := e.get(t, "/api/machines/"+m1+"/vulnerabilities", token, http.StatusOK)
				if w := compact(want); !bytes.Equal(r.Body, w) {
					t.Fatalf("answer\n%s\nwant\n%s", r.Body, w)
				}
			}
		}
		const set = `{"@odata.context":"URL/api/$metadata#Collection(Analytics.Contracts.PublicAPI.PublicVulnerabilityDto)","value":[`
		vulns(e.ana, set+n(cve1, 2)+`,`+n(cve2, 1)+`,`+n(cve3, 1)+`]}`)
		vulns(e.app, set+n(cve1, 3)+`,`+n(cve2, 2)+`,`+n(cve3, 1)+`]}`)

		// The vault machine loses the tag of group 150: it falls into the
		// default group, which the delegated user sees.
		e.Load(t, e.Tenant, []openatp.Machine{{ID: vault, ComputerDNSName: openatp.Ptr("vault.contoso.com"), MachineTags: []string{}}}, nil)
		apitest.WaitFor(t, "the vault machine in the default group", func() bool {
			return e.Do(t, "GET", "/api/machines/"+vault+"/vulnerabilities", e.ana).Status == http.StatusOK
		})
		vulns(e.ana, set+n(cve1, 3)+`,`+n(cve2, 2)+`,`+n(cve3, 1)+`]}`)

		// m2's chrome becomes 120.0: CVE-2 on m1, m2 and the vault.
		rs := []vuln.InventoryRecord{{Installed: vuln.Installed{MachineID: m2, Product: chrome, Version: "120.0"}}}
		err := e.vs.PutInventory(context.Background(), e.Tenant.ID, time.Now(), func() (*vuln.InventoryRecord, error) {
			if len(rs) == 0 {
				return nil, io.EOF
			}
			r := &rs[0]
			rs = rs[1:]
			return r, r.Normalize()
		})
		if err != nil {
			t.Fatal(err)
		}
		vulns(e.ana, set+n(cve1, 3)+`,`+n(cve2, 3)+`,`+n(cve3, 1)+`]}`)
		vulns(e.app, set+n(cve1, 3)+`,`+n(cve2, 3)+`,`+n(cve3, 1)+`]}`)
	})
}

// TestRateLimits checks the documented limits: a machine's
// vulnerabilities 50 a minute (then 429 with Retry-After), while its
// software, on the family's 100 a minute, still answers.
func TestRateLimits(t *testing.T) {
	now := time.Now()
	clk := func() time.Time { return now }
	e := newEnv(t, false, func(c *apitest.Config) {
		c.Limiter = ratelimit.NewMemory(ratelimit.Service, clk)
		c.EndpointLimiters = map[string]httpserve.Limiter{}
		for endpoint, p := range ratelimit.Endpoints {
			c.EndpointLimiters[endpoint] = ratelimit.NewMemory(p, clk)
		}
	})
	for range 50 {
		e.get(t, "/api/machines/"+m1+"/vulnerabilities", e.app, http.StatusOK)
	}
	r := e.get(t, "/api/machines/"+m1+"/vulnerabilities", e.app, http.StatusTooManyRequests)
	apitest.CheckError(t, r, http.StatusTooManyRequests, "TooManyRequests")
	if r.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	e.get(t, "/api/machines/"+m1+"/software", e.app, http.StatusOK)
	for range 5 {
		e.get(t, "/api/machines/SoftwareVulnerabilitiesExport", e.app, http.StatusOK)
	}
	e.get(t, "/api/machines/SoftwareVulnerabilitiesExport", e.app, http.StatusTooManyRequests)
	now = now.Add(time.Minute)
	e.get(t, "/api/machines/"+m1+"/vulnerabilities", e.app, http.StatusOK)
}
