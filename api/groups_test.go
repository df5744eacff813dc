package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/api"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A device-group change is visible in the next answer; the index then
// recomputes groups without rereading machines, and a machine change
// rereads them.
func TestGroupChangesAndIndexLayers(t *testing.T) {
	var logs lockedBuffer
	f := newFixture(t, func(c *api.Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
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
	if !strings.Contains(logs.String(), "groups_only=true") {
		t.Errorf("a group change rebuilt the machines; log:\n%s", logs.String())
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
	full, partial := strings.Count(logs.String(), "groups_only=false"), strings.Count(logs.String(), "groups_only=true")
	want(groupsOf(), "mymachine1.contoso.com="+openatp.DefaultGroupName, "mymachine2.contoso.com=Second")
	if strings.Count(logs.String(), "groups_only=false") != full || strings.Count(logs.String(), "groups_only=true") <= partial {
		t.Errorf("a write to another tenant reread this tenant's machines; log:\n%s", logs.String())
	}

	// A machine change (new tags) rereads the machines.
	m, err = f.store.Machine(ctx, f.tenant.ID, machine1)
	must(err)
	m.ComputerDNSName = openatp.Ptr("mymachine2.contoso.com")
	must(f.store.UpsertMachines(ctx, f.tenant.ID, []openatp.Machine{m}))
	before := strings.Count(logs.String(), "groups_only=false")
	want(groupsOf(), "mymachine2.contoso.com=Second", "mymachine2.contoso.com=Second")
	if strings.Count(logs.String(), "groups_only=false") <= before {
		t.Error("a machine change did not reread the machines")
	}
}
