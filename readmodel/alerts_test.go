package readmodel_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/readmodel"
	"github.com/openatp/openatp/wire"
)

// tricky is text with what a compacted or packed form must keep as it is:
// quotes, escapes, control characters, a property name with its
// punctuation, digits and hex digits first.
var tricky = []string{
	`x,"status":"y"],"evidence":{"userName":` + "\x01\n\t\\\"",
	"0123456789abcdef0123 starts like a hash",
	"2021-01-26T20:33:59Z starts like a time",
	"null",
	"ünïcödé \u2028 ✓",
	"",
}

// alertFixture returns alert i of machine machineID: with evidence of
// several kinds, comments, users and nulls, sharing most of its values
// with the other alerts (so that the dictionary is used) but for its
// tricky texts.
func alertFixture(i int, machineID string) openatp.Alert {
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
	p := openatp.Ptr[string]
	a := openatp.Alert{
		ID:         fmt.Sprintf("da%018d_%d", 637472900382838869+i, i),
		IncidentID: openatp.Ptr(int64(1000 + i)), Severity: openatp.AlertSeverities[i%5], Status: openatp.AlertStatuses[i%4],
		DetectionSource: p("WindowsDefenderAtp"), DetectorID: p("17e10bbc-3a68-474a-8aad-faef14d43952"), Category: p("Execution"),
		Title: p("Suspicious PowerShell command line"), Description: p(tricky[i%len(tricky)]),
		AlertCreationTime: &at, FirstEventTime: &at, LastEventTime: &at, LastUpdateTime: &at,
		MachineID: machineID, AADTenantID: p("a839b112-1253-6432-9bf6-94542403f21c"),
		MitreTechniques: []string{"T1059.001", "T1086"},
		RelatedUser:     &openatp.AlertAccount{Name: fmt.Sprintf("User%d", i%7), Domain: p("CONTOSO")},
		LoggedOnUsers:   []openatp.AlertAccount{{Name: fmt.Sprintf("User%d", i%7), Domain: p("CONTOSO")}},
		Comments:        []openatp.AlertComment{},
	}
	if i%3 == 0 {
		a.ID = strings.ToUpper(a.ID[:2]) + a.ID[2:] // ids with upper-case letters
		a.AssignedTo, a.InvestigationID = p("secop@contoso.com"), openatp.Ptr(int64(i))
		a.Comments = append(a.Comments, openatp.AlertComment{Comment: tricky[(i+1)%len(tricky)], CreatedBy: a.AssignedTo, CreatedTime: &at},
			openatp.AlertComment{Comment: "test comment for docs"})
	}
	if i%4 != 1 {
		a.Evidence = []openatp.Evidence{
			{EntityType: p("File"), EvidenceCreationTime: &at, SHA1: p(fmt.Sprintf("%040x", i)), SHA256: p(fmt.Sprintf("%064x", i)),
				FileName: p("invoice.docm"), FilePath: p(`C:\Users\name\Downloads`), DetectionStatus: p("Detected")},
			{EntityType: p("Process"), EvidenceCreationTime: &at, ProcessID: openatp.Ptr(int64(3276 + i)), ProcessCommandLine: p(tricky[i%len(tricky)]),
				ProcessCreationTime: &at, ParentProcessFileName: p("explorer.exe")},
			{EntityType: p("User"), AccountName: p("name"), DomainName: p("DOMAIN"), UserSID: p("S-1-5-21-11111607-1111760036-109187956-75141")},
			{},
		}
	}
	return a
}

// TestAlertJSON checks that the read model writes every alert's JSON,
// with and without evidence, byte for byte as wire writes the alert the
// store reads (the encoder of the SQL path), and its length as
// AlertSize says: after a build, and after a delta that renames a
// machine, changes and adds alerts.
func TestAlertJSON(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "openatp.db"))
	tn, err := openatp.NewTenant("contoso", time.Now())
	must(t, err)
	must(t, store.CreateTenant(ctx, tn))
	must(t, store.CreateGroup(ctx, tn.ID, openatp.DeviceGroup{ID: 5, Name: `Tier "0"`, Rank: 1,
		Rules: []openatp.RuleRow{{Property: openatp.RuleTag, Values: []string{"tier0"}}}}))
	var machines []openatp.Machine
	for i := range 6 {
		m := openatp.Machine{ID: fmt.Sprintf("%040x", i+1), MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}}
		if i != 5 { // the last machine has no name: its alerts show null
			m.ComputerDNSName = openatp.Ptr(fmt.Sprintf("host%d.%s", i, tricky[0]))
		}
		if i%2 == 0 {
			m.MachineTags = []string{"tier0"}
		}
		machines = append(machines, m)
	}
	must(t, store.UpsertMachines(ctx, tn.ID, machines))
	var alerts []openatp.Alert
	for i := range 60 {
		a := alertFixture(i, machines[i%len(machines)].ID)
		must(t, a.Normalize())
		alerts = append(alerts, a)
	}
	must(t, store.UpsertAlerts(ctx, tn.ID, alerts))
	model := readmodel.NewChecked(t, store, readmodel.Options{})
	defer model.Close()
	must(t, model.Warm(ctx, tn.ID))
	compareAlerts(t, model, store, tn.ID, 60)

	// A delta: a machine renamed, an alert commented, one added.
	machines[1].ComputerDNSName = openatp.Ptr("renamed.contoso.com")
	must(t, store.UpsertMachines(ctx, tn.ID, machines[1:2]))
	_, err = store.UpdateAlerts(ctx, tn.ID, []string{alerts[4].ID}, func(a *openatp.Alert, stamp time.Time) error {
		a.Comments = append(a.Comments, openatp.AlertComment{Comment: tricky[0], CreatedTime: &stamp})
		return nil
	})
	must(t, err)
	added := alertFixture(100, machines[1].ID)
	added.LastUpdateTime = nil
	must(t, added.Normalize())
	must(t, store.UpsertAlerts(ctx, tn.ID, []openatp.Alert{added}))
	compareAlerts(t, model, store, tn.ID, 61)
}

func compareAlerts(t *testing.T, model *readmodel.Model, store openatp.Store, tenantID string, want int) {
	t.Helper()
	v, err := model.View(ctx, tenantID)
	must(t, err)
	if v == nil {
		t.Fatal("no view")
	}
	defer v.Release()
	var stored []openatp.Alert
	must(t, store.ScanAlerts(ctx, tenantID, func(a openatp.Alert) error { stored = append(stored, a); return nil }))
	if len(stored) != want || v.Alerts() != want {
		t.Fatalf("%d alerts stored, %d in the view; want %d", len(stored), v.Alerts(), want)
	}
	for i := range stored {
		a := &stored[i]
		s, ok := v.Alert(a.ID)
		if !ok {
			t.Fatalf("alert %s not in the view", a.ID)
		}
		for _, ev := range []bool{true, false} {
			got, want := v.AppendAlert(nil, s, ev), wire.AppendAlert(nil, a, ev)
			if !bytes.Equal(got, want) {
				t.Fatalf("alert %s (evidence %v):\n got %s\nwant %s", a.ID, ev, got, want)
			}
			if n := v.AlertSize(s, ev); n != len(want) {
				t.Errorf("alert %s (evidence %v): AlertSize %d, JSON of %d bytes", a.ID, ev, n, len(want))
			}
		}
	}
	// The list's order: lastUpdateTime, then id.
	slices.SortFunc(stored, func(a, b openatp.Alert) int {
		if c := a.LastUpdateTime.Compare(*b.LastUpdateTime); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	page, _, _ := v.QueryAlerts(readmodel.AlertQuery{Top: want})
	for i, s := range page {
		if id := v.AlertID(s); id != stored[i].ID {
			t.Fatalf("alert %d of the list is %s, want %s", i, id, stored[i].ID)
		}
	}
}
