package mdeapi_test

import (
	"net/url"
	"strings"
	"testing"
)

// Any $filter, $orderby, $select, $top or $skip: never a panic nor a 5xx;
// a refusal is a 400 whose message names an option and a position.
func FuzzMachineQuery(f *testing.F) {
	fx := newFixture(f, nil)
	tok := fx.token(f, fx.tenant, fx.app)
	for _, s := range []string{
		"computerDnsName eq 'mymachine1.contoso.com'", "riskScore+eq+'High'", "lastSeen gt 2018-08-01Z",
		"startswith(computerDnsName,'my')", "machineTags/any(t: t eq 'test tag 1')", "((", "id eq '", "not not x",
		"rbacGroupId eq 140 or healthStatus in ('Active','Inactive')", "lastSeen ge 2019-11-22T00:00:00%2B01:00",
	} {
		f.Add(s, "computerDnsName desc", "id", "5", "1")
	}
	f.Fuzz(func(t *testing.T, filter, orderby, sel, top, skip string) {
		q := url.Values{}
		q.Set("$filter", filter)
		if orderby != "" {
			q.Set("$orderby", orderby)
		}
		if sel != "" {
			q.Set("$select", sel)
		}
		if top != "" {
			q.Set("$top", top)
		}
		if skip != "" {
			q.Set("$skip", skip)
		}
		r := fx.do(t, "GET", "/api/machines?"+q.Encode(), tok)
		switch r.status {
		case 200:
		case 400:
			body := string(r.body)
			// Every refusal names its option; a position, where it says
			// something ($top's and $skip's refusals are of the whole value).
			if !strings.Contains(body, `"code":"ODataError"`) || !strings.Contains(body, `"message":"$`) ||
				!strings.Contains(body, "at position ") && !strings.Contains(body, `"message":"$top: `) && !strings.Contains(body, `"message":"$skip: `) {
				t.Fatalf("400 without an option and a position: %s", body)
			}
		default:
			t.Fatalf("status %d for %s: %s", r.status, q.Encode(), r.body)
		}
	})
}
