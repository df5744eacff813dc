package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

// fullAlert returns an alert of machine n with every property set.
func fullAlert(id string, n int) openatp.Alert {
	p := openatp.Ptr[string]
	tp := func(h int) *time.Time { t := fixture.At(h); return &t }
	return openatp.Alert{
		ID: id, IncidentID: openatp.Ptr[int64](1126093), InvestigationID: openatp.Ptr[int64](7), AssignedTo: p("secop@contoso.com"),
		Severity: "Low", Status: "New", Classification: p("TruePositive"), Determination: p("Malware"),
		InvestigationState: p("Queued"), DetectionSource: p("WindowsDefenderAtp"), DetectorID: p("17e10bbc-3a68-474a-8aad-faef14d43952"),
		Category: p("Execution"), ThreatFamilyName: p("EICAR_Test_File"), Title: p("Low-reputation arbitrary code executed"),
		Description:       p("Binaries signed by Microsoft can be used to run low-reputation arbitrary code. Ünïcode ✓"),
		AlertCreationTime: tp(2), FirstEventTime: tp(1), LastEventTime: tp(2), LastUpdateTime: tp(3), ResolvedTime: nil,
		MachineID: fixture.MachineID(n), AADTenantID: p("a839b112-1253-6432-9bf6-94542403f21c"), ThreatName: p("Virus:DOS/EICAR_Test_File"),
		MitreTechniques: []string{"T1064", "T1085"},
		RelatedUser:     &openatp.AlertAccount{Name: "temp123", Domain: p("DOMAIN")},
		LoggedOnUsers:   []openatp.AlertAccount{{Name: "Chris Phillips", Domain: p("SE-POV-DESKTOP")}},
		Comments:        []openatp.AlertComment{{Comment: "test comment", CreatedBy: p("secop123@contoso.com"), CreatedTime: tp(2)}},
		Evidence: []openatp.Evidence{
			{EntityType: p("Process"), EvidenceCreationTime: tp(2), SHA1: p("ff836cfb1af40252bd2a2ea843032e99a5b262ed"),
				FileName: p("rundll32.exe"), FilePath: p(`C:\Windows\SysWOW64`), ProcessID: openatp.Ptr[int64](3276),
				ProcessCommandLine: p(`rundll32.exe  c:\temp\suspicious.dll,RepeatAfterMe`), ProcessCreationTime: tp(1),
				ParentProcessID: openatp.Ptr[int64](8420), ParentProcessCreationTime: tp(1), DetectionStatus: p("Detected")},
			{EntityType: p("Ip"), IPAddress: p("104.80.104.128"), RegistryValueName: p("Run")},
		},
	}
}

// minimalAlert returns an alert of machine n with only what is required.
func minimalAlert(id string, n int, title string) openatp.Alert {
	return openatp.Alert{ID: id, Severity: "Medium", Status: "New", MachineID: fixture.MachineID(n), Title: openatp.Ptr(title)}
}

func mustAlerts(t *testing.T, s openatp.Store, tenant string, as ...openatp.Alert) {
	t.Helper()
	if err := s.UpsertAlerts(ctx, tenant, as); err != nil {
		t.Fatalf("UpsertAlerts: %v", err)
	}
}

func mustAlert(t *testing.T, s openatp.Store, tenant, id string) openatp.Alert {
	t.Helper()
	a, err := s.Alert(ctx, tenant, id)
	if err != nil {
		t.Fatalf("Alert(%s): %v", id, err)
	}
	return a
}

func scanAlerts(t *testing.T, s openatp.Store, tenant string) []openatp.Alert {
	t.Helper()
	var as []openatp.Alert
	fixture.NoErr(t, s.ScanAlerts(ctx, tenant, func(a openatp.Alert) error { as = append(as, a); return nil }))
	if !slices.IsSortedFunc(as, func(a, b openatp.Alert) int { return strings.Compare(a.ID, b.ID) }) {
		t.Errorf("ScanAlerts: not ordered by id: %v", alertIDs(as))
	}
	return as
}

// An alert reads back as written, with its machine's name and device
// group; every engine keeps every property, nulls and empty lists
// included.
func testAlertRoundTrip(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	fixture.NoErr(t, s.CreateGroup(ctx, a, openatp.DeviceGroup{ID: 5, Name: "Hosts", Rank: 1,
		Rules: []openatp.RuleRow{{Property: openatp.RuleName, Values: []string{"host1"}}}}))
	fixture.MustMachines(t, s, a, 1, 2)
	full := fullAlert("da637472900382838869_1364969609", 1)
	min := minimalAlert("ar638180599315648136_73827727", 2, "Automated investigation started manually")
	min.LastUpdateTime = openatp.Ptr(fixture.At(5).Add(123)) // rounded to 100 ns
	mustAlerts(t, s, a, full, min)

	want := full
	fixture.NoErr(t, want.Normalize())
	want.ComputerDNSName, want.RBACGroupID, want.RBACGroupName = openatp.Ptr("host1.contoso.com"), 5, "Hosts"
	fixture.Diff(t, "full alert", want, mustAlert(t, s, a, full.ID))
	wantMin := min
	fixture.NoErr(t, wantMin.Normalize())
	wantMin.LastUpdateTime = openatp.Ptr(fixture.At(5).Add(100))
	wantMin.ComputerDNSName, wantMin.RBACGroupName = openatp.Ptr("host2.contoso.com"), openatp.DefaultGroupName
	fixture.Diff(t, "minimal alert", wantMin, mustAlert(t, s, a, min.ID))
	fixture.Diff(t, "scan", []openatp.Alert{wantMin, want}, scanAlerts(t, s, a))

	_, err := s.Alert(ctx, a, "nosuchalert")
	fixture.WantKind(t, err, openatp.NotFound)
	_, err = s.Alert(ctx, fixture.TenantID(9), full.ID)
	fixture.WantKind(t, err, openatp.NotFound)
	fixture.WantKind(t, s.ScanAlerts(ctx, fixture.TenantID(9), func(openatp.Alert) error { return nil }), openatp.NotFound)

	// Replacing by id: the latest write wins, lists included.
	full.Comments, full.Evidence, full.Status = nil, nil, "Resolved"
	mustAlerts(t, s, a, full)
	got := mustAlert(t, s, a, full.ID)
	if got.Status != "Resolved" || len(got.Comments) != 0 || got.Evidence == nil || len(got.Evidence) != 0 {
		t.Errorf("replaced alert: status %s, comments %v, evidence %v", got.Status, got.Comments, got.Evidence)
	}
	st, err := s.TenantStats(ctx, a)
	fixture.NoErr(t, err)
	if st.Alerts != 2 {
		t.Errorf("TenantStats.Alerts = %d, want 2", st.Alerts)
	}
}

// An alert of a machine the tenant does not have creates the machine,
// named as the alert says; an import is all or nothing and names the bad
// alert.
func testUpsertAlerts(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	fixture.MustMachines(t, s, a, 1)
	stub := minimalAlert("a-1", 7, "x")
	stub.ComputerDNSName = openatp.Ptr("se-pov-desktop")
	mustAlerts(t, s, a, stub)
	m, err := s.Machine(ctx, a, fixture.MachineID(7))
	fixture.NoErr(t, err)
	if m.ComputerDNSName == nil || *m.ComputerDNSName != "se-pov-desktop" || m.LastSeen != nil {
		t.Errorf("machine created for the alert: %+v", m)
	}
	// The machine keeps its own name.
	other := minimalAlert("a-2", 7, "y")
	other.ComputerDNSName = openatp.Ptr("another-name")
	mustAlerts(t, s, a, other)
	if got := mustAlert(t, s, a, "a-2"); got.ComputerDNSName == nil || *got.ComputerDNSName != "se-pov-desktop" {
		t.Errorf("alert of an existing machine is named %v, want the machine's name", got.ComputerDNSName)
	}

	bad := []openatp.Alert{minimalAlert("b-1", 1, "ok"), minimalAlert("b 2", 1, "bad id"), minimalAlert("b-3", 9, "new machine")}
	err = s.UpsertAlerts(ctx, a, bad)
	fixture.WantKind(t, err, openatp.Invalid)
	if i, ok := openatp.ItemIndex(err); !ok || i != 1 {
		t.Errorf("ItemIndex = %d, %v; want 1", i, ok)
	}
	bad[1] = minimalAlert("b-2", 1, "bad severity")
	bad[1].Severity = "Critical"
	err = s.UpsertAlerts(ctx, a, bad)
	fixture.WantKind(t, err, openatp.Invalid)
	fixture.Contains(t, err, "severity")
	if _, err := s.Alert(ctx, a, "b-1"); !openatp.IsKind(err, openatp.NotFound) {
		t.Errorf("an alert of a refused batch was stored: %v", err)
	}
	if _, err := s.Machine(ctx, a, fixture.MachineID(9)); !openatp.IsKind(err, openatp.NotFound) {
		t.Errorf("a machine of a refused batch was stored: %v", err)
	}
	fixture.WantKind(t, s.UpsertAlerts(ctx, fixture.TenantID(9), []openatp.Alert{minimalAlert("c", 1, "")}), openatp.NotFound)

	// Inside a batch, beside the machines it names.
	err = s.WriteBatch(ctx, a, func(w openatp.BatchWriter) error {
		if err := w.UpsertMachines([]openatp.Machine{{ID: fixture.MachineID(20), ComputerDNSName: openatp.Ptr("batch.contoso.com")}}); err != nil {
			return err
		}
		return w.UpsertAlerts([]openatp.Alert{minimalAlert("w-1", 20, "in a batch")})
	})
	fixture.NoErr(t, err)
	if got := mustAlert(t, s, a, "w-1"); *got.ComputerDNSName != "batch.contoso.com" {
		t.Errorf("alert written in a batch: %+v", got)
	}
	err = s.WriteBatch(ctx, a, func(w openatp.BatchWriter) error {
		if err := w.UpsertAlerts([]openatp.Alert{minimalAlert("w-2", 20, "kept?")}); err != nil {
			return err
		}
		return errors.New("the batch fails")
	})
	if err == nil {
		t.Fatal("WriteBatch of a failing f succeeded")
	}
	if _, err := s.Alert(ctx, a, "w-2"); !openatp.IsKind(err, openatp.NotFound) {
		t.Errorf("an alert of a failed batch was stored: %v", err)
	}
}

// Every alert write stamps LastUpdateTime from the tenant's alert clock:
// later than every earlier stamp, and in commit order even when writers of
// several processes race.
func testAlertClock(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	b := fixture.MustTenant(t, s, 2, "B")
	fixture.MustMachines(t, s, a, 1)
	fixture.MustMachines(t, s, b, 1)
	future := time.Now().UTC().Add(24 * time.Hour).Round(openatp.TimePrecision)
	imported := minimalAlert("imported", 1, "from the future")
	imported.LastUpdateTime = &future
	mustAlerts(t, s, a, imported, minimalAlert("stamped", 1, "stamped on import"))
	if got := mustAlert(t, s, a, "stamped").LastUpdateTime; got == nil || !got.After(time.Now().Add(-time.Hour)) || got.After(future) {
		t.Errorf("alert imported without lastUpdateTime got %v, want about now", got)
	}
	var seen time.Time
	out, err := s.UpdateAlerts(ctx, a, []string{"stamped"}, func(al *openatp.Alert, stamp time.Time) error {
		seen = stamp
		al.Status = "InProgress"
		return nil
	})
	fixture.NoErr(t, err)
	if !seen.After(future) || !out[0].LastUpdateTime.Equal(seen) || out[0].Status != "InProgress" {
		t.Errorf("update after an import up to %v: stamp %v, alert %+v", future, seen, out[0])
	}
	if got := mustAlert(t, s, a, "stamped"); !got.LastUpdateTime.Equal(seen) || got.Status != "InProgress" {
		t.Errorf("stored alert %+v, want stamp %v", got, seen)
	}
	// Another tenant's clock is its own.
	created, _, err := s.CreateAlert(ctx, b, minimalAlert("b-1", 1, "b"))
	fixture.NoErr(t, err)
	if !created.LastUpdateTime.Before(future) {
		t.Errorf("tenant B stamped %v, after tenant A's clock", created.LastUpdateTime)
	}

	// Racing writers, half through a second store on the same data when
	// the engine allows: each stamp is unique and the stamps of the
	// writes, in the order they committed, increase.
	other := s
	if su.Reopen != nil {
		other = su.Reopen(t, s)
	}
	ids := []string{"r-0", "r-1", "r-2", "r-3"}
	for _, id := range ids {
		mustAlerts(t, s, a, minimalAlert(id, 1, id))
	}
	var mu sync.Mutex
	var commits []time.Time // the stamps in the order f ran: under the write lock, the commit order
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := s
			if w%2 == 1 {
				st = other
			}
			for i := range 10 {
				id := ids[(w+i)%len(ids)]
				_, err := st.UpdateAlerts(ctx, a, []string{id}, func(al *openatp.Alert, stamp time.Time) error {
					al.AssignedTo = openatp.Ptr(fmt.Sprintf("writer %d", w))
					mu.Lock()
					commits = append(commits, stamp)
					mu.Unlock()
					return nil
				})
				if err != nil {
					t.Errorf("UpdateAlerts: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for i := 1; i < len(commits); i++ {
		if !commits[i].After(commits[i-1]) {
			t.Fatalf("stamp %d (%v) is not after the one committed before it (%v)", i, commits[i], commits[i-1])
		}
	}
	stamps := map[time.Time]string{}
	for _, al := range scanAlerts(t, s, a) {
		if prev, dup := stamps[*al.LastUpdateTime]; dup {
			t.Errorf("alerts %s and %s have the same stamp %v from different writes", prev, al.ID, al.LastUpdateTime)
		}
		stamps[*al.LastUpdateTime] = al.ID
	}
}

// UpdateAlerts is all or nothing, keeps ids and machines, and validates
// what f leaves.
func testUpdateAlerts(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	fixture.MustMachines(t, s, a, 1, 2)
	mustAlerts(t, s, a, fullAlert("x-1", 1), minimalAlert("x-2", 2, "two"))
	before := scanAlerts(t, s, a)
	set := func(al *openatp.Alert, _ time.Time) error { al.Status = "Resolved"; return nil }
	_, err := s.UpdateAlerts(ctx, a, []string{"x-1", "nosuch"}, set)
	fixture.WantKind(t, err, openatp.NotFound)
	_, err = s.UpdateAlerts(ctx, a, []string{"x-1", "x-2"}, func(al *openatp.Alert, _ time.Time) error {
		if al.ID == "x-2" {
			al.Severity = "Bad"
		}
		al.Status = "Resolved"
		return nil
	})
	fixture.WantKind(t, err, openatp.Invalid)
	_, err = s.UpdateAlerts(ctx, a, []string{"x-1"}, func(al *openatp.Alert, _ time.Time) error { al.MachineID = fixture.MachineID(2); return nil })
	fixture.WantKind(t, err, openatp.Invalid)
	boom := errors.New("boom")
	if _, err := s.UpdateAlerts(ctx, a, []string{"x-1"}, func(*openatp.Alert, time.Time) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("error of f = %v, want it as it is", err)
	}
	_, err = s.UpdateAlerts(ctx, fixture.TenantID(9), []string{"x-1"}, set)
	fixture.WantKind(t, err, openatp.NotFound)
	fixture.Diff(t, "alerts after refused updates", before, scanAlerts(t, s, a))

	// A comment added with the stamp; the machine's properties come back.
	out, err := s.UpdateAlerts(ctx, a, []string{"x-2", "x-1"}, func(al *openatp.Alert, stamp time.Time) error {
		al.Comments = append(al.Comments, openatp.AlertComment{Comment: "seen", CreatedBy: openatp.Ptr("me"), CreatedTime: &stamp})
		return nil
	})
	fixture.NoErr(t, err)
	if len(out) != 2 || out[0].ID != "x-2" || *out[0].ComputerDNSName != "host2.contoso.com" || len(out[1].Comments) != 2 {
		t.Fatalf("UpdateAlerts answered %+v", out)
	}
	fixture.Diff(t, "stored as answered", out[0], mustAlert(t, s, a, "x-2"))
}

// CreateAlert stores a new alert, or lets an open alert of the same
// machine and title absorb it.
func testCreateAlert(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	fixture.MustMachines(t, s, a, 1, 2)
	first := minimalAlert("c-1", 1, "Suspicious PowerShell")
	first.FirstEventTime, first.LastEventTime = openatp.Ptr(fixture.At(1)), openatp.Ptr(fixture.At(1))
	got, created, err := s.CreateAlert(ctx, a, first)
	fixture.NoErr(t, err)
	if !created || got.ID != "c-1" || got.LastUpdateTime == nil || !got.AlertCreationTime.Equal(*got.LastUpdateTime) ||
		*got.ComputerDNSName != "host1.contoso.com" {
		t.Fatalf("CreateAlert = %+v, %v", got, created)
	}
	fixture.Diff(t, "stored as answered", got, mustAlert(t, s, a, "c-1"))
	again := minimalAlert("c-2", 1, "SUSPICIOUS powershell")
	again.FirstEventTime, again.LastEventTime = openatp.Ptr(fixture.At(0)), openatp.Ptr(fixture.At(3))
	got2, created, err := s.CreateAlert(ctx, a, again)
	fixture.NoErr(t, err)
	if created || got2.ID != "c-1" || !got2.FirstEventTime.Equal(fixture.At(0)) || !got2.LastEventTime.Equal(fixture.At(3)) ||
		!got2.LastUpdateTime.After(*got.LastUpdateTime) {
		t.Errorf("absorbed alert = %+v, created %v", got2, created)
	}
	if _, err := s.Alert(ctx, a, "c-2"); !openatp.IsKind(err, openatp.NotFound) {
		t.Errorf("an absorbed alert was stored: %v", err)
	}
	// Another machine, another title, or a resolved alert: a new alert.
	for i, al := range []openatp.Alert{minimalAlert("c-3", 2, "Suspicious PowerShell"), minimalAlert("c-4", 1, "Other")} {
		if _, created, err := s.CreateAlert(ctx, a, al); err != nil || !created {
			t.Errorf("case %d: created %v, %v", i, created, err)
		}
	}
	_, err = s.UpdateAlerts(ctx, a, []string{"c-1"}, func(al *openatp.Alert, _ time.Time) error { al.Status = "Resolved"; return nil })
	fixture.NoErr(t, err)
	if _, created, err := s.CreateAlert(ctx, a, minimalAlert("c-5", 1, "Suspicious PowerShell")); err != nil || !created {
		t.Errorf("after the open alert was resolved: created %v, %v", created, err)
	}
	_, _, err = s.CreateAlert(ctx, a, minimalAlert("c-4", 2, "an id that exists"))
	fixture.WantKind(t, err, openatp.Conflict)
	_, _, err = s.CreateAlert(ctx, a, minimalAlert("c-6", 9, "no such machine"))
	fixture.WantKind(t, err, openatp.NotFound)
	_, _, err = s.CreateAlert(ctx, fixture.TenantID(9), minimalAlert("c-7", 1, "no such tenant"))
	fixture.WantKind(t, err, openatp.NotFound)
}

// Alerts are in the change feed; deleting a machine deletes its alerts.
func testAlertChanges(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	b := fixture.MustTenant(t, s, 2, "B")
	fixture.MustMachines(t, s, a, 1, 2)
	fixture.MustMachines(t, s, b, 1)
	mustAlerts(t, s, b, minimalAlert("b-1", 1, "other tenant"))
	v0 := contentVersion(t, s, a)
	mustAlerts(t, s, a, minimalAlert("f-1", 1, "one"), minimalAlert("f-2", 2, "two"), minimalAlert("f-3", 5, "stub"))
	ch := changes(t, s, a, v0)
	if got := alertIDs(ch.Alerts); !slices.Equal(got, []string{"f-1", "f-2", "f-3"}) || ch.Rebuild {
		t.Errorf("alerts in the feed = %v (rebuild %v)", got, ch.Rebuild)
	}
	if !slices.Equal(fixture.IDs(ch.Machines), fixture.MachineIDs(5)) {
		t.Errorf("machines in the feed = %v, want the machine created for f-3", fixture.IDs(ch.Machines))
	}
	if ch.Alerts[0].ComputerDNSName != nil || ch.Alerts[0].LastUpdateTime == nil {
		t.Errorf("alert in the feed = %+v, want its stored state without its machine's name", ch.Alerts[0])
	}
	v1 := contentVersion(t, s, a)
	_, err := s.UpdateAlerts(ctx, a, []string{"f-2"}, func(al *openatp.Alert, _ time.Time) error { al.Status = "Resolved"; return nil })
	fixture.NoErr(t, err)
	fixture.NoErr(t, s.DeleteMachine(ctx, a, fixture.MachineID(1)))
	ch = changes(t, s, a, v1)
	if got := alertIDs(ch.Alerts); !slices.Equal(got, []string{"f-2"}) || ch.Alerts[0].Status != "Resolved" {
		t.Errorf("changed alerts = %+v", ch.Alerts)
	}
	if !slices.Equal(ch.DeletedAlerts, []string{"f-1"}) || !slices.Equal(ch.Deleted, fixture.MachineIDs(1)) {
		t.Errorf("deleted alerts %v, machines %v; want f-1 with machine 1", ch.DeletedAlerts, ch.Deleted)
	}
	if _, err := s.Alert(ctx, a, "f-1"); !openatp.IsKind(err, openatp.NotFound) {
		t.Errorf("alert of a deleted machine: %v", err)
	}
	if got := alertIDs(scanAlerts(t, s, b)); !slices.Equal(got, []string{"b-1"}) {
		t.Errorf("tenant B's alerts = %v", got)
	}
	v2 := contentVersion(t, s, a)
	fixture.NoErr(t, s.ResetTenant(ctx, a))
	if ch := changes(t, s, a, v2); !ch.Rebuild {
		t.Errorf("Changes after a reset = %+v, want Rebuild", ch)
	}
	if got := scanAlerts(t, s, a); len(got) != 0 {
		t.Errorf("alerts after a reset: %v", alertIDs(got))
	}
	if got := alertIDs(scanAlerts(t, s, b)); !slices.Equal(got, []string{"b-1"}) {
		t.Errorf("tenant B's alerts after A's reset = %v", got)
	}
}

func alertIDs(as []openatp.Alert) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

// UserRelations lists the relations of a user name, in one domain or all.
func testUserRelations(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	b := fixture.MustTenant(t, s, 2, "B")
	fixture.MustMachines(t, s, a, 1, 2, 3)
	fixture.MustMachines(t, s, b, 1)
	fixture.MustLogons(t, s, a, fixture.Logon("contoso", "Alice", 2, 1, "Interactive"), fixture.Logon("contoso", "alice", 2, 3, "Network"),
		fixture.Logon("fabrikam", "ALICE", 1, 2, ""), fixture.Logon("contoso", "bob", 3, 1, ""))
	fixture.MustLogons(t, s, b, fixture.Logon("contoso", "alice", 1, 1, ""))
	got, err := s.UserRelations(ctx, a, openatp.UserRef{Name: "ALICE"})
	fixture.NoErr(t, err)
	want := []openatp.UserMachine{
		{AccountName: "Alice", AccountDomain: "contoso", AccountSID: "S-1-5-21-Alice", MachineID: fixture.MachineID(2), FirstSeen: fixture.At(1), LastSeen: fixture.At(3), LogonTypes: []string{"Interactive", "Network"}},
		{AccountName: "ALICE", AccountDomain: "fabrikam", AccountSID: "S-1-5-21-ALICE", MachineID: fixture.MachineID(1), FirstSeen: fixture.At(2), LastSeen: fixture.At(2), LogonTypes: []string{}},
	}
	fixture.Diff(t, "relations of alice", want, got, fixture.EquateEmpty)
	got, err = s.UserRelations(ctx, a, openatp.UserRef{Name: "alice", Domain: "FABRIKAM"})
	fixture.NoErr(t, err)
	fixture.Diff(t, `relations of fabrikam\alice`, want[1:], got, fixture.EquateEmpty)
	got, err = s.UserRelations(ctx, a, openatp.UserRef{Name: "nobody"})
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("relations of an unknown user = %v, %v; want an empty list", got, err)
	}
	_, err = s.UserRelations(ctx, fixture.TenantID(9), openatp.UserRef{Name: "alice"})
	fixture.WantKind(t, err, openatp.NotFound)
}
