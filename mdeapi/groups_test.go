package mdeapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/apitest"
)

// A device-group change is visible in the next answer; the read model
// then recomputes groups without rereading machines, a write to another
// tenant costs this one nothing, and a machine change is applied as a
// delta: none of them rebuilds the tenant.
func TestGroupChangesAndIndexLayers(t *testing.T) {
	var logs lockedBuffer
	f := newFixture(t, func(c *apitest.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	tok := f.token(t, f.tenant, f.app)
	ctx := context.Background()
	groupsOf := func() []string {
		t.Helper()
		if err := f.server.Warm(ctx, f.tenant.ID); err != nil {
			t.Fatal(err)
		}
		r := f.do(t, "GET", "/api/users/user1/machines", tok)
		var v struct {
			Value []struct {
				ID   string `json:"computerDnsName"`
				GID  int64  `json:"rbacGroupId"`
				Name string `json:"rbacGroupName"`
			} `json:"value"`
		}
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range v.Value {
			out = append(out, m.ID+"="+m.Name)
		}
		return out
	}
	want := func(got []string, w ...string) {
		t.Helper()
		if strings.Join(got, " ") != strings.Join(w, " ") {
			t.Errorf("groups %v, want %v", got, w)
		}
	}
	want(groupsOf(), "mymachine1.contoso.com=The-A-Team", "mymachine2.contoso.com=The-A-Team")

	// A new top-ranked group for mymachine2.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.store.CreateGroup(ctx, f.tenant.ID, openatp.DeviceGroup{ID: 7, Name: "Second", Rank: 1,
		Rules: []openatp.RuleRow{{Property: openatp.RuleName, Values: []string{"MYMACHINE2"}}}}))
	must(f.store.UpdateGroup(ctx, f.tenant.ID, openatp.DeviceGroup{ID: 7, Name: "Second", Rank: 1,
		Rules: []openatp.RuleRow{{Property: openatp.RuleName, Values: []string{"MYMACHINE2"}}}}))
	want(groupsOf(), "mymachine1.contoso.com=The-A-Team", "mymachine2.contoso.com=Second")
	// Re-ranked below The-A-Team, which also matches mymachine2.
	must(f.store.UpdateGroup(ctx, f.tenant.ID, openatp.DeviceGroup{ID: 7, Name: "Second", Rank: 2,
		Rules: []openatp.RuleRow{{Property: openatp.RuleName, Values: []string{"MYMACHINE2"}}}}))
	want(groupsOf(), "mymachine1.contoso.com=The-A-Team", "mymachine2.contoso.com=The-A-Team")
	builds := func() int { return strings.Count(logs.String(), `msg="index built"`) }
	if builds() != 1 || !strings.Contains(logs.String(), "regroup=all") {
		t.Errorf("a group change rebuilt the machines, or did not regroup them; log:\n%s", logs.String())
	}
	// Deleting The-A-Team moves both.
	must(f.store.DeleteGroup(ctx, f.tenant.ID, 140))
	want(groupsOf(), "mymachine1.contoso.com="+openatp.DefaultGroupName, "mymachine2.contoso.com=Second")

	var m openatp.Machine
	// A write to another tenant's machines does not make this one reread
	// its own: only groups are recomputed.
	other, err := openatp.NewTenant("other.example", time.Now())
	must(err)
	must(f.store.CreateTenant(ctx, other))
	om := openatp.Machine{ID: strings.Repeat("ab", 20)}
	must(om.Normalize())
	must(f.store.UpsertMachines(ctx, other.ID, []openatp.Machine{om}))
	quiet := `machines=0 deleted=0 relations=0 regroup=changed`
	before := strings.Count(logs.String(), quiet)
	want(groupsOf(), "mymachine1.contoso.com="+openatp.DefaultGroupName, "mymachine2.contoso.com=Second")
	if builds() != 1 || strings.Count(logs.String(), quiet) != before+1 {
		t.Errorf("a write to another tenant did more than check this one; log:\n%s", logs.String())
	}

	// A machine change (new tags) rereads the machines.
	m, err = f.store.Machine(ctx, f.tenant.ID, machine1)
	must(err)
	m.ComputerDNSName = openatp.Ptr("mymachine2.contoso.com")
	must(f.store.UpsertMachines(ctx, f.tenant.ID, []openatp.Machine{m}))
	want(groupsOf(), "mymachine2.contoso.com=Second", "mymachine2.contoso.com=Second")
	if builds() != 1 || !strings.Contains(logs.String(), "machines=1 deleted=0 relations=0 regroup=changed") {
		t.Errorf("a machine change was not applied as a delta; log:\n%s", logs.String())
	}
}
