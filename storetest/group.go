package storetest

import (
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

func testGroups(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	tenant := fixture.MustTenant(t, s, 1, "a.example")
	g1 := openatp.DeviceGroup{ID: 10, Name: "Servers", Description: "all servers", Rank: 2,
		Rules: []openatp.RuleRow{{Property: openatp.RuleOSPlatform, Values: []string{"WindowsServer2019", "WindowsServer2022"}}}}
	g2 := openatp.DeviceGroup{ID: 20, Name: "Lab", Rank: 1, Rules: []openatp.RuleRow{{Property: openatp.RuleTag, Values: []string{"lab"}}}}
	g3 := openatp.DeviceGroup{ID: 5, Name: "Empty", Rank: 3}
	for _, g := range []openatp.DeviceGroup{g1, g2, g3} {
		fixture.NoErr(t, s.CreateGroup(ctx, tenant, g))
	}
	got, err := s.Groups(ctx, tenant)
	fixture.NoErr(t, err)
	fixture.Diff(t, "groups by rank", []openatp.DeviceGroup{g2, g1, g3}, got, fixture.EquateEmpty)

	for _, tc := range []struct {
		name string
		g    openatp.DeviceGroup
		kind openatp.Kind
	}{
		{"same id", openatp.DeviceGroup{ID: 10, Name: "Other", Rank: 4}, openatp.Conflict},
		{"same name", openatp.DeviceGroup{ID: 11, Name: "Servers", Rank: 4}, openatp.Conflict},
		{"same name ignoring case", openatp.DeviceGroup{ID: 11, Name: "SERVERS", Rank: 4}, openatp.Conflict},
		{"the default group's id", openatp.DeviceGroup{ID: openatp.DefaultGroupID, Name: "Zero", Rank: 4}, openatp.Conflict},
		{"the default group's name", openatp.DeviceGroup{ID: 12, Name: openatp.DefaultGroupName, Rank: 4}, openatp.Conflict},
		{"negative id", openatp.DeviceGroup{ID: -1, Name: "Negative", Rank: 4}, openatp.Invalid},
		{"no name", openatp.DeviceGroup{ID: 13, Rank: 4}, openatp.Invalid},
		{"rank 0", openatp.DeviceGroup{ID: 13, Name: "Rank0", Rank: 0}, openatp.Invalid},
		{"unknown property", openatp.DeviceGroup{ID: 13, Name: "Prop", Rank: 4, Rules: []openatp.RuleRow{{Property: "color", Values: []string{"red"}}}}, openatp.Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fixture.WantKind(t, s.CreateGroup(ctx, tenant, tc.g), tc.kind)
		})
	}
	fixture.WantKind(t, s.CreateGroup(ctx, fixture.TenantID(9), openatp.DeviceGroup{ID: 1, Name: "x", Rank: 1}), openatp.NotFound)
	_, err = s.Groups(ctx, fixture.TenantID(9))
	fixture.WantKind(t, err, openatp.NotFound)
}

func testGroupAssignment(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	tenant := fixture.MustTenant(t, s, 1, "a.example")
	machine := func(n int, name, platform string, tags ...string) openatp.Machine {
		return openatp.Machine{ID: fixture.MachineID(n), ComputerDNSName: &name, OSPlatform: &platform, MachineTags: tags}
	}
	ms := []openatp.Machine{
		machine(1, "web1.prod.contoso.com", "WindowsServer2022", "prod"),
		machine(2, "web2.test.contoso.com", "WindowsServer2022", "test"),
		machine(3, "laptop1.contoso.com", "Windows11", "Finance"),
		machine(4, "laptop2.fabrikam.com", "Windows11"),
		machine(5, "build1.prod.contoso.com", "Linux", "prod", "ci"),
	}
	fixture.MustUpsert(t, s, tenant, ms...)
	for _, m := range ms {
		fixture.MustLogons(t, s, tenant, openatp.Logon{MachineID: m.ID, AccountName: "admin", AccountDomain: "contoso", Timestamp: fixture.T0})
	}
	groupsOf := func(t *testing.T) map[string]int64 {
		t.Helper()
		got := map[string]int64{}
		um, err := s.UserMachines(ctx, tenant, openatp.UserRef{Name: "admin"})
		fixture.NoErr(t, err)
		snap, _ := fixture.Snapshot(t, s, tenant)
		for i, m := range um {
			got[m.ID] = m.RBACGroupID
			one, err := s.Machine(ctx, tenant, m.ID)
			fixture.NoErr(t, err)
			if one.RBACGroupID != m.RBACGroupID || one.RBACGroupName != m.RBACGroupName || snap[i].RBACGroupID != m.RBACGroupID || snap[i].RBACGroupName != m.RBACGroupName {
				t.Errorf("machine %s: group %d %q by UserMachines, %d %q by Machine, %d %q by Snapshot", m.ID,
					m.RBACGroupID, m.RBACGroupName, one.RBACGroupID, one.RBACGroupName, snap[i].RBACGroupID, snap[i].RBACGroupName)
			}
		}
		return got
	}
	want := map[string]int64{fixture.MachineID(1): 0, fixture.MachineID(2): 0, fixture.MachineID(3): 0, fixture.MachineID(4): 0, fixture.MachineID(5): 0}
	fixture.Diff(t, "groups without device groups", want, groupsOf(t))

	steps := []struct {
		name  string
		group openatp.DeviceGroup
		moved []int // machines now in group.ID
	}{
		{"tag, ignoring case", openatp.DeviceGroup{ID: 1, Name: "Finance", Rank: 5,
			Rules: []openatp.RuleRow{{Property: openatp.RuleTag, Values: []string{"finance"}}}}, []int{3}},
		{"OR within a property, AND across", openatp.DeviceGroup{ID: 2, Name: "Prod servers", Rank: 4,
			Rules: []openatp.RuleRow{
				{Property: openatp.RuleTag, Values: []string{"prod"}},
				{Property: openatp.RuleTag, Values: []string{"staging"}},
				{Property: openatp.RuleOSPlatform, Values: []string{"WindowsServer2019", "WindowsServer2022"}},
			}}, []int{1}},
		{"domain", openatp.DeviceGroup{ID: 3, Name: "Fabrikam", Rank: 6,
			Rules: []openatp.RuleRow{{Property: openatp.RuleDomain, Values: []string{"FABRIKAM.com"}}}}, []int{4}},
		{"host name prefix", openatp.DeviceGroup{ID: 4, Name: "Builders", Rank: 7,
			Rules: []openatp.RuleRow{{Property: openatp.RuleName, Values: []string{"BUILD1"}}}}, []int{5}},
		{"a higher rank takes machines over", openatp.DeviceGroup{ID: 5, Name: "Everything prod", Rank: 1,
			Rules: []openatp.RuleRow{{Property: openatp.RuleTag, Values: []string{"prod"}}}}, []int{1, 5}},
		{"a lower rank takes nothing", openatp.DeviceGroup{ID: 6, Name: "Windows 11", Rank: 9,
			Rules: []openatp.RuleRow{{Property: openatp.RuleOSPlatform, Values: []string{"Windows11"}}}}, nil},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			fixture.NoErr(t, s.CreateGroup(ctx, tenant, st.group))
			for _, n := range st.moved {
				want[fixture.MachineID(n)] = st.group.ID
			}
			fixture.Diff(t, "group ids", want, groupsOf(t))
		})
	}
}
