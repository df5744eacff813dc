package openatp_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
)

func TestMachineNormalize(t *testing.T) {
	good := func() openatp.Machine {
		return openatp.Machine{ID: strings.Repeat("a", 40), ComputerDNSName: openatp.Ptr("pc.contoso.com"),
			HealthStatus: openatp.Ptr("Active"), LastIPAddress: openatp.Ptr("10.0.0.1"),
			IPAddresses: []openatp.IPAddress{{IPAddress: "fe80::1", MACAddress: openatp.Ptr("8CEC4B897E73")}}}
	}
	m := good()
	ts := time.Date(2018, 8, 2, 16, 55, 3, 779185649, time.FixedZone("x", 2*3600))
	m.FirstSeen, m.LastSeen = &ts, &ts
	if err := m.Normalize(); err != nil {
		t.Fatal(err)
	}
	if got := m.FirstSeen.Format(time.RFC3339Nano); got != "2018-08-02T14:55:03.7791856Z" {
		t.Errorf("firstSeen normalized to %s, want UTC at 100 ns", got)
	}
	if m.MachineTags == nil {
		t.Error("nil tags not made empty")
	}
	for _, c := range []struct {
		field string
		edit  func(m *openatp.Machine)
	}{
		{"id", func(m *openatp.Machine) { m.ID = strings.Repeat("A", 40) }},
		{"id", func(m *openatp.Machine) { m.ID = "abc" }},
		{"healthStatus", func(m *openatp.Machine) { m.HealthStatus = openatp.Ptr("Fine") }},
		{"onboardingStatus", func(m *openatp.Machine) { m.OnboardingStatus = openatp.Ptr("onboarded") }},
		{"riskScore", func(m *openatp.Machine) { m.RiskScore = openatp.Ptr("Critical") }},
		{"lastIpAddress", func(m *openatp.Machine) { m.LastIPAddress = openatp.Ptr("300.1.1.1") }},
		{"ipAddresses.macAddress", func(m *openatp.Machine) { m.IPAddresses[0].MACAddress = openatp.Ptr("8c:ec:4b:89:7e:73") }},
		{"aadDeviceId", func(m *openatp.Machine) { m.AADDeviceID = openatp.Ptr("not-a-guid") }},
		{"computerDnsName", func(m *openatp.Machine) { m.ComputerDNSName = openatp.Ptr(strings.Repeat("x", 600)) }},
		{"computerDnsName", func(m *openatp.Machine) { m.ComputerDNSName = openatp.Ptr("bad\xffutf8") }},
		{"machineTags", func(m *openatp.Machine) { m.MachineTags = []string{""} }},
	} {
		m := good()
		c.edit(&m)
		err := m.Normalize()
		if openatp.KindOf(err) != openatp.Invalid || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: got %v, want an Invalid error naming the field", c.field, err)
		}
	}
}

func TestAssignGroup(t *testing.T) {
	groups := []openatp.DeviceGroup{
		{ID: 1, Name: "VIP laptops", Rank: 1, Rules: []openatp.RuleRow{
			{Property: openatp.RuleTag, Values: []string{"VIP"}},
			{Property: openatp.RuleOSPlatform, Values: []string{"Windows10", "Windows11"}},
		}},
		{ID: 2, Name: "Contoso", Rank: 2, Rules: []openatp.RuleRow{
			{Property: openatp.RuleDomain, Values: []string{"contoso.com"}},
			{Property: openatp.RuleDomain, Values: []string{"contoso.local"}},
		}},
		{ID: 3, Name: "Named", Rank: 3, Rules: []openatp.RuleRow{{Property: openatp.RuleName, Values: []string{"SRV-01"}}}},
		{ID: 4, Name: "No rule", Rank: 4},
	}
	for _, c := range []struct {
		name, os string
		tags     []string
		want     int64
	}{
		{"a.contoso.com", "Windows11", []string{"vip"}, 1}, // tag and OS both match, rank 1 first
		{"a.contoso.com", "Linux", []string{"vip"}, 2},     // OS fails the AND: next group
		{"b.CONTOSO.local", "macOS", nil, 2},               // second row of the same property
		{"srv-01.fabrikam.com", "Linux", nil, 3},           // first label
		{"srv-01", "Linux", nil, 3},                        // whole name
		{"x.fabrikam.com", "Windows10", nil, openatp.DefaultGroupID},
	} {
		m := openatp.Machine{ComputerDNSName: &c.name, OSPlatform: &c.os, MachineTags: c.tags}
		openatp.AssignGroup(groups, &m)
		if m.RBACGroupID != c.want {
			t.Errorf("%s %s %v: group %d, want %d", c.name, c.os, c.tags, m.RBACGroupID, c.want)
		}
	}
}

func TestResolveAccess(t *testing.T) {
	roles := []openatp.Role{
		{Name: "Viewer", Permissions: []string{openatp.PermViewData}, UserGroups: []string{"ana"}},
		{Name: "Responder", Permissions: []string{openatp.PermLiveResponseBasic}, UserGroups: []string{"resp"}},
		{Name: openatp.AdminRoleName, UserGroups: []string{"adm"}},
	}
	groups := []openatp.DeviceGroup{{ID: 1, UserGroups: []string{"ana"}}, {ID: 2, UserGroups: []string{"sec"}}, {ID: 3}}
	a := openatp.ResolveAccess([]string{"ana"}, roles, groups)
	if !a.Has(openatp.PermViewData) || a.Has(openatp.PermLiveResponseBasic) || !a.CanSee(1) || a.CanSee(2) || !a.CanSee(3) || !a.CanSee(openatp.DefaultGroupID) {
		t.Errorf("analyst: %+v", a)
	}
	if a := openatp.ResolveAccess([]string{"resp", "sec"}, roles, groups); a.Has(openatp.PermViewData) || !a.CanSee(2) {
		t.Errorf("responder: %+v", a)
	}
	if a := openatp.ResolveAccess([]string{"adm"}, roles, groups); !a.AllGroups || !a.CanSee(2) || !a.Has(openatp.PermLiveResponseAdvanced) {
		t.Errorf("administrator: %+v", a)
	}
	if a := openatp.ResolveAccess(nil, roles, groups); len(a.Permissions) != 0 {
		t.Errorf("no groups: %+v", a)
	}
}

func TestErrorKinds(t *testing.T) {
	base := errors.New("driver: boom")
	err := &openatp.Error{Kind: openatp.NotFound, Message: "user x not found", Err: base}
	wrapped := errors.Join(errors.New("context"), err)
	if openatp.KindOf(wrapped) != openatp.NotFound || !openatp.IsKind(wrapped, openatp.NotFound) || !errors.Is(wrapped, base) {
		t.Errorf("kind lost through wrapping: %v", wrapped)
	}
	if openatp.KindOf(base) != openatp.Internal || openatp.IsKind(nil, openatp.Internal) {
		t.Error("a plain error must be Internal, nil of no kind")
	}
}

func TestNewApp(t *testing.T) {
	a, secret, err := openatp.NewApp("t", "siem", []string{openatp.PermMachineReadAll, openatp.PermMachineReadAll}, nil, time.Now())
	if err != nil || len(secret) != 40 || !openatp.IsGUID(a.ClientID) || len(a.Roles) != 1 || string(a.SecretHash) != string(openatp.HashSecret(secret)) {
		t.Errorf("NewApp: %+v %q %v", a, secret, err)
	}
	if _, _, err := openatp.NewApp("t", "x", []string{"Alert.Read"}, nil, time.Now()); openatp.KindOf(err) != openatp.Invalid {
		t.Errorf("unknown permission: %v", err)
	}
	for _, name := range []string{"bad name", "", ".", "..", "...", ".contoso.com", "contoso.com.", "contoso..com", strings.Repeat("a", 129)} {
		if _, err := openatp.NewTenant(name, time.Now()); openatp.KindOf(err) != openatp.Invalid {
			t.Errorf("tenant name %q: %v, want Invalid", name, err)
		}
	}
	for _, name := range []string{"contoso.onmicrosoft.com", "a", "fabrikam-2", "x.y"} {
		if _, err := openatp.NewTenant(name, time.Now()); err != nil {
			t.Errorf("tenant name %q: %v", name, err)
		}
	}
}

// A field's validation error is a typed value: the *FieldError is in the
// chain, and the text says the field once.
func TestFieldErrorIsTyped(t *testing.T) {
	m := openatp.Machine{ID: strings.Repeat("a", 40), HealthStatus: openatp.Ptr("Fine")}
	err := m.Normalize()
	var fe *openatp.FieldError
	if !errors.As(err, &fe) || fe.Field != "healthStatus" || !strings.HasPrefix(fe.Reason, `"Fine" is not one of`) {
		t.Fatalf("Normalize: %v, FieldError %#v", err, fe)
	}
	if openatp.KindOf(err) != openatp.Invalid || err.Error() != fe.Error() {
		t.Errorf("kind %v, text %q, want Invalid and %q", openatp.KindOf(err), err, fe.Error())
	}
	if got := openatp.KindOf(fmt.Errorf("wrapped: %w", context.Canceled)); got != openatp.Canceled {
		t.Errorf("KindOf(context.Canceled) = %v", got)
	}
}

func TestAlertNormalize(t *testing.T) {
	ok := openatp.Alert{ID: "da637472900382838869_1364969609", Severity: "Low", Status: "New",
		MachineID: "111E6DD8C833C8A052EA231EC1B19ADAF497B625", Classification: openatp.Ptr("Informational, expected activity")}
	if err := ok.Normalize(); err != nil {
		t.Fatal(err)
	}
	if ok.MachineID != "111e6dd8c833c8a052ea231ec1b19adaf497b625" || *ok.Classification != "InformationalExpectedActivity" ||
		ok.Evidence == nil || ok.Comments == nil || ok.MitreTechniques == nil || ok.LoggedOnUsers == nil {
		t.Errorf("normalized: %+v", ok)
	}
	for _, c := range []struct {
		field string
		f     func(a *openatp.Alert)
	}{
		{"id", func(a *openatp.Alert) { a.ID = "a/b" }},
		{"id", func(a *openatp.Alert) { a.ID = strings.Repeat("a", 129) }},
		{"machineId", func(a *openatp.Alert) { a.MachineID = "xyz" }},
		{"severity", func(a *openatp.Alert) { a.Severity = "" }},
		{"severity", func(a *openatp.Alert) { a.Severity = "low" }},
		{"status", func(a *openatp.Alert) { a.Status = "Closed" }},
		{"determination", func(a *openatp.Alert) { a.Determination = openatp.Ptr("Bogus") }},
		{"investigationState", func(a *openatp.Alert) { a.InvestigationState = openatp.Ptr("Done") }},
		{"description", func(a *openatp.Alert) { a.Description = openatp.Ptr(strings.Repeat("x", openatp.MaxAlertText+1)) }},
		{"comments.comment", func(a *openatp.Alert) { a.Comments = []openatp.AlertComment{{Comment: "\xff"}} }},
		{"relatedUser.userName", func(a *openatp.Alert) { a.RelatedUser = &openatp.AlertAccount{} }},
		{"evidence", func(a *openatp.Alert) { a.Evidence = make([]openatp.Evidence, openatp.MaxAlertItems+1) }},
	} {
		a := ok
		c.f(&a)
		err := a.Normalize()
		if openatp.KindOf(err) != openatp.Invalid || !strings.HasPrefix(err.(*openatp.Error).Message, c.field+":") {
			t.Errorf("%s: %v", c.field, err)
		}
	}
	for _, v := range openatp.AlertDeterminations {
		if got, ok := openatp.CanonicalEnum(openatp.AlertDeterminations, strings.ToUpper(v)); !ok || got != v {
			t.Errorf("CanonicalEnum(%s) = %q, %v", strings.ToUpper(v), got, ok)
		}
	}
	if got, ok := openatp.CanonicalEnum(openatp.AlertClassifications, "informational, EXPECTED activity"); !ok || got != "InformationalExpectedActivity" {
		t.Errorf("the spaced classification = %q, %v", got, ok)
	}
	if id := openatp.NewAlertID(time.Date(2021, 1, 26, 20, 33, 58, 283886900, time.UTC)); !strings.HasPrefix(id, "da637472900382838869_") || !openatp.ValidAlertID(id) {
		t.Errorf("NewAlertID = %s", id)
	}
}

// TestAbsorbedOrNew checks CreateAlert's rule: the first open alert of the
// machine with the same title (ignoring case) absorbs the new one and
// widens its event times; a Resolved one does not.
func TestAbsorbedOrNew(t *testing.T) {
	at := func(h int) *time.Time { v := time.Date(2026, 1, 1, h, 0, 0, 0, time.UTC); return &v }
	stamp := *at(20)
	a := openatp.Alert{ID: "new", Title: openatp.Ptr("Malware"), FirstEventTime: at(5), LastEventTime: at(9)}
	open := []openatp.Alert{
		{ID: "resolved", Title: openatp.Ptr("malware"), Status: "Resolved"},
		{ID: "other", Title: openatp.Ptr("Phishing")},
		{ID: "open", Title: openatp.Ptr("MALWARE"), FirstEventTime: at(6), LastEventTime: at(8)},
	}
	got, isNew := openatp.AbsorbedOrNew(a, open, stamp)
	if isNew || got.ID != "open" {
		t.Fatalf("AbsorbedOrNew = %s, new %v; want the open alert, absorbing", got.ID, isNew)
	}
	if !got.FirstEventTime.Equal(*at(5)) || !got.LastEventTime.Equal(*at(9)) || !got.LastUpdateTime.Equal(stamp) {
		t.Errorf("absorbing alert times %v %v %v, want widened to 05:00 and 09:00 and stamped", got.FirstEventTime, got.LastEventTime, got.LastUpdateTime)
	}
	if !open[2].FirstEventTime.Equal(*at(6)) {
		t.Error("AbsorbedOrNew changed the open alerts it was given")
	}
	got, isNew = openatp.AbsorbedOrNew(a, open[:2], stamp)
	if !isNew || got.ID != "new" || !got.AlertCreationTime.Equal(stamp) || !got.LastUpdateTime.Equal(stamp) {
		t.Errorf("AbsorbedOrNew without a match = %s (new %v, created %v), want the new alert created and stamped at %v", got.ID, isNew, got.AlertCreationTime, stamp)
	}
}

// TestChanged checks what the update functions of UpdateAlerts and
// UpdateMachine may change.
func TestChanged(t *testing.T) {
	stamp := time.Date(2026, 1, 1, 20, 0, 0, 0, time.UTC)
	a := openatp.Alert{ID: "da1", MachineID: strings.Repeat("a", 40), Severity: "Low", Status: "New"}
	got, err := a.Changed(stamp, func(a *openatp.Alert, _ time.Time) error { a.Status = "InProgress"; return nil })
	if err != nil || got.Status != "InProgress" || !got.LastUpdateTime.Equal(stamp) || a.Status != "New" {
		t.Errorf("Alert.Changed = %+v, %v; want the status changed on a stamped copy", got, err)
	}
	if _, err := a.Changed(stamp, func(a *openatp.Alert, _ time.Time) error { a.MachineID = strings.Repeat("b", 40); return nil }); !openatp.IsKind(err, openatp.Invalid) {
		t.Errorf("Alert.Changed moving the alert: %v, want Invalid", err)
	}
	m := openatp.Machine{ID: strings.Repeat("a", 40), RBACGroupID: 3, RBACGroupName: "g"}
	gotM, err := m.Changed(func(m *openatp.Machine) error { m.DeviceValue = openatp.Ptr("High"); return nil })
	if err != nil || *gotM.DeviceValue != "High" || gotM.RBACGroupID != 0 || gotM.RBACGroupName != "" || m.DeviceValue != nil {
		t.Errorf("Machine.Changed = %+v, %v; want the value changed on a copy without its group", gotM, err)
	}
	if _, err := m.Changed(func(m *openatp.Machine) error { m.ID = strings.Repeat("b", 40); return nil }); !openatp.IsKind(err, openatp.Invalid) {
		t.Errorf("Machine.Changed changing the id: %v, want Invalid", err)
	}
	boom := errors.New("boom")
	if _, err := m.Changed(func(*openatp.Machine) error { return boom }); err != boom {
		t.Errorf("Machine.Changed with a failing f: %v, want f's error", err)
	}
}

// TestPrepare checks what CreateTenant, CreateApp and AddSigningKey fill
// in and refuse.
func TestPrepare(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := openatp.App{ClientID: "c"}
	if err := a.Prepare(now); err != nil || !a.Created.Equal(now) || a.SecretHash == nil {
		t.Errorf("App.Prepare: %+v, %v; want created now with an empty secret hash", a, err)
	}
	if err := (&openatp.App{}).Prepare(now); !openatp.IsKind(err, openatp.Invalid) {
		t.Errorf("App.Prepare without a client id: %v, want Invalid", err)
	}
	created := now.Add(-time.Hour)
	tn := openatp.Tenant{ID: "t", Name: "n", Created: created}
	if err := tn.Prepare(now); err != nil || !tn.Created.Equal(created) {
		t.Errorf("Tenant.Prepare: %+v, %v; want its own Created kept", tn, err)
	}
	if err := (&openatp.Tenant{ID: "t"}).Prepare(now); !openatp.IsKind(err, openatp.Invalid) {
		t.Errorf("Tenant.Prepare without a name: %v, want Invalid", err)
	}
	k := openatp.SigningKey{ID: "k"}
	if err := k.Prepare(now); err != nil || !k.Created.Equal(now) || k.PrivatePEM == nil {
		t.Errorf("SigningKey.Prepare: %+v, %v; want created now with an empty key", k, err)
	}
}
