package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/openatp/openatp"
)

// TestImportEventsRaiseAlerts: openatp import of file events whose hash
// an active generateAlert indicator names raises that indicator's alert
// on the machine, and importing a later sighting updates it.
func TestImportEventsRaiseAlerts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	const machine, hash = "00000000000000000000000000000000000000a1", "3395856ce81f2b7382dee72602f798b642f14140"
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mustCLI(t, "import", "--data", data, "--tenant", "ti.example", write("machines.jsonl", `{"id":"`+machine+`","computerDnsName":"m1.example"}`+"\n"))
	s := openStore(t, data)
	tn, err := s.Tenant(ctx, "ti.example")
	if err != nil {
		t.Fatal(err)
	}
	in := openatp.Indicator{IndicatorValue: hash, IndicatorType: openatp.IndicatorFileSha1, Action: "Audit", GenerateAlert: true,
		Severity: "Low", Title: "Dropper", Description: "d", Source: "test", SourceType: openatp.IndicatorSourceApp, CreatedBy: "test", LastUpdatedBy: "test"}
	if err := in.Normalize(); err != nil {
		t.Fatal(err)
	}
	out, errs, err := s.PutIndicators(ctx, tn.ID, []openatp.Indicator{in}, time.Now(), nil)
	if err != nil || errs[0] != nil {
		t.Fatal(err, errs)
	}
	event := func(ts string, report int) string {
		return `{"Timestamp":"` + ts + `","DeviceId":"` + machine + `","ActionType":"FileCreated","FileName":"a.exe","SHA1":"` + hash + `","ReportId":` + string(rune('0'+report)) + "}\n"
	}
	id := "ti" + out[0].ID + "_" + machine
	for i, ts := range []string{"2026-03-01T10:00:00Z", "2026-03-02T10:00:00Z"} {
		mustCLI(t, "import", "--data", data, "--tenant", "ti.example", "--kind", "fileevents", write("events.jsonl", event(ts, i+1)))
		a, err := s.Alert(ctx, tn.ID, id)
		if err != nil || *a.DetectionSource != "CustomerTI" || *a.Title != "Dropper" || a.FirstEventTime.Format(time.RFC3339) != "2026-03-01T10:00:00Z" ||
			a.LastEventTime.Format(time.RFC3339) != ts {
			t.Fatalf("after importing the event of %s: %+v, %v", ts, a, err)
		}
	}
}
