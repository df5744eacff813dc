package ingest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/ingest"
)

// actionsJSONL returns n succeeded scans of machine 0, an hour apart.
func actionsJSONL(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"id":"00000000-0000-4000-8000-%012d","type":"RunAntiVirusScan","requestor":"app","requestorComment":"scan","status":"Succeeded","machineId":"%s","creationDateTimeUtc":"2024-01-01T%02d:00:00Z","lastUpdateDateTimeUtc":"2024-01-01T%02d:00:05Z","scope":"Quick"}`+"\n", i, mid(0), i, i)
	}
	return b.String()
}

// Machine actions import in one transaction a batch: a record the store
// refuses (an unknown machine) is named by its line and field, and
// nothing of its batch is written; the committed actions reach
// OnActions as stored.
func TestImportActions(t *testing.T) {
	ctx := context.Background()
	db, tenant := newStore(t)
	if _, err := ingest.Import(ctx, db, tenant, ingest.NewReader(strings.NewReader(machinesJSONL(0, 1)), ingest.Options{}), ingest.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	stray := strings.Replace(actionsJSONL(1), mid(0), mid(7), 1)
	stray = strings.Replace(stray, "000000000000", "000000000099", 1)
	bad := actionsJSONL(3) + stray
	_, err := ingest.Import(ctx, db, tenant, ingest.NewReader(strings.NewReader(bad), ingest.Options{Name: "a.jsonl"}), ingest.ImportOptions{})
	if err == nil || !strings.Contains(err.Error(), "a.jsonl: line 4: machineId: the tenant has no machine "+mid(7)) {
		t.Fatalf("error %v, want line 4's machineId", err)
	}
	if n, err := db.CountMachineActions(ctx, tenant, openatp.MachineActionFilter{}); err != nil || n != 0 {
		t.Fatalf("%d actions after a failed import (%v), want 0", n, err)
	}
	var stored []openatp.MachineAction
	var batches []ingest.BatchResult
	sum, err := ingest.Import(ctx, db, tenant, ingest.NewReader(strings.NewReader(actionsJSONL(5)), ingest.Options{}), ingest.ImportOptions{
		BatchSize: 2,
		OnActions: func(as []openatp.MachineAction) { stored = append(stored, as...) },
		OnBatch:   func(b ingest.BatchResult) { batches = append(batches, b) },
	})
	if err != nil || sum.Kind != ingest.Actions || sum.Records != 5 || sum.Batches != 3 || len(stored) != 5 {
		t.Fatalf("import: %+v, %d stored, %v", sum, len(stored), err)
	}
	if b := batches[1]; b.Records != 2 || b.Actions != 2 || b.FirstLine != 3 || b.LastLine != 4 {
		t.Errorf("batch 2: %+v", b)
	}
	list, err := db.MachineActions(ctx, tenant, openatp.MachineActionFilter{})
	if err != nil || len(list) != 5 || !list[4].LastUpdateDateTimeUTC.Equal(stored[4].LastUpdateDateTimeUTC) || list[4].LastUpdateDateTimeUTC.Hour() != 4 {
		t.Fatalf("stored %v, %v", list, err)
	}
}
