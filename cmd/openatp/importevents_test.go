package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
)

// TestSeedImportEvents: seed --file-events --network-events stores that
// many events on the seeded machines; seed --out writes the same events
// as JSON Lines, which import --kind reads into another data dir (with
// the machines first) to the same rows; importing again changes nothing;
// a bad record imports nothing and is named by line and column.
func TestSeedImportEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	data, out := filepath.Join(dir, "data"), filepath.Join(dir, "out")
	args := []string{"--tenant", "seeded.example", "--machines", "30", "--users", "10", "--seed", "5", "--end", "2026-03-04T05:06:07Z",
		"--file-events", "700", "--network-events", "500"}
	mustCLI(t, append([]string{"seed", "--data", data}, args...)...)
	mustCLI(t, append([]string{"seed", "--out", out}, args...)...)
	src := openStore(t, data)
	tn, err := src.Tenant(ctx, "seeded.example")
	if err != nil {
		t.Fatal(err)
	}
	files, err := src.FileEvents(ctx, tn.ID, openatp.EventFilter{})
	if err != nil || len(files) != 700 {
		t.Fatalf("%d file events seeded (%v), want 700", len(files), err)
	}
	conns, err := src.NetworkEvents(ctx, tn.ID, openatp.EventFilter{})
	if err != nil || len(conns) != 500 {
		t.Fatalf("%d network events seeded (%v), want 500", len(conns), err)
	}

	dst := filepath.Join(dir, "copy")
	fe, ne := filepath.Join(out, "fileevents.jsonl"), filepath.Join(out, "networkevents.jsonl")
	for range 2 {
		sum := mustCLI(t, "import", "--data", dst, "--tenant", "copy.example", filepath.Join(out, "machines.jsonl"), fe, ne)
		if !strings.Contains(sum, `"kind": "fileevents",`) || !strings.Contains(sum, `"records": 500,`) {
			t.Fatalf("import summary:\n%s", sum)
		}
	}
	bad := filepath.Join(dir, "bad.jsonl")
	lines := strings.SplitN(string(readFile(t, ne)), "\n", 3)
	if lines[1] = strings.Replace(lines[1], `"ActionType":"`, `"ActionType":"Quic`, 1); !strings.Contains(lines[1], "Quic") {
		t.Fatal("no ActionType in line 2")
	}
	if err := os.WriteFile(bad, []byte(lines[0]+"\n"+lines[1]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := cli(t, "import", "--data", dst, "--tenant", "copy.example", "--kind", "networkevents", bad); err == nil || !strings.Contains(err.Error()+out, "bad.jsonl: line 2: ActionType:") {
		t.Errorf("bad file: %v\n%s", err, out)
	}
	cp := openStore(t, dst)
	ctn, err := cp.Tenant(ctx, "copy.example")
	if err != nil {
		t.Fatal(err)
	}
	gotFiles, err := cp.FileEvents(ctx, ctn.ID, openatp.EventFilter{})
	if err != nil || !equalJSON(t, files, gotFiles) {
		t.Errorf("imported file events differ from the seeded ones (%v)", err)
	}
	gotConns, err := cp.NetworkEvents(ctx, ctn.ID, openatp.EventFilter{})
	if err != nil || !equalJSON(t, conns, gotConns) {
		t.Errorf("imported network events differ from the seeded ones (%v)", err)
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}

// TestServeEventRetention: serve --demo gives the demo tenant a week of
// events; with --event-retention 72h, its sweep deletes those older than
// three days at start and keeps the others.
func TestServeEventRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	data := t.TempDir()
	c := startServe(t, data, "--access-log=false", "--event-retention", "72h")
	store := openStore(t, data)
	apitestWait(t, "the sweep", func() bool {
		es, err := store.FileEvents(ctx, c.Tenant, openatp.EventFilter{To: time.Now().Add(-72 * time.Hour)})
		return err == nil && len(es) == 0
	})
	kept, err := store.FileEvents(ctx, c.Tenant, openatp.EventFilter{})
	if err != nil || len(kept) < 500 || len(kept) > 1500 {
		t.Errorf("%d of the demo's file events kept (%v), want about 3/7 of them", len(kept), err)
	}
	conns, err := store.NetworkEvents(ctx, c.Tenant, openatp.EventFilter{})
	if err != nil || len(conns) < 500 || len(conns) > 1500 {
		t.Errorf("%d of the demo's network events kept (%v), want about 3/7 of them", len(conns), err)
	}
}

// apitestWait polls cond for up to 20 s.
func apitestWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestSeedIndicators: seed --indicators stores that many indicators over
// the seeded events' values, and the look-back raises CustomerTI alerts
// for those with generateAlert that the events hold; --out refuses it.
func TestSeedIndicators(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	args := []string{"seed", "--data", data, "--tenant", "ti-seeded.example", "--machines", "30", "--users", "10", "--seed", "5",
		"--file-events", "700", "--network-events", "500", "--indicators", "200"}
	if out := mustCLI(t, args...); !strings.Contains(out, `"indicators": 200`) {
		t.Errorf("seed summary:\n%s", out)
	}
	s := openStore(t, data)
	tn, err := s.Tenant(ctx, "ti-seeded.example")
	if err != nil {
		t.Fatal(err)
	}
	ins, err := s.Indicators(ctx, tn.ID)
	if err != nil || len(ins) != 200 {
		t.Fatalf("%d indicators seeded (%v), want 200", len(ins), err)
	}
	ti := 0
	if err := s.ScanAlerts(ctx, tn.ID, func(a openatp.Alert) error {
		if a.DetectionSource != nil && *a.DetectionSource == "CustomerTI" {
			ti++
		}
		return nil
	}); err != nil || ti == 0 {
		t.Errorf("%d CustomerTI alerts raised (%v)", ti, err)
	}
	// With --out, a file that import --kind indicators reads
	// (TestImportIndicators); not with --live.
	out := t.TempDir()
	mustCLI(t, "seed", "--out", out, "--machines", "3", "--indicators", "5")
	if b, err := os.ReadFile(filepath.Join(out, "indicators.jsonl")); err != nil || strings.Count(string(b), "\n") != 5 {
		t.Errorf("seed --out --indicators: %v\n%s", err, b)
	}
	if _, err := cli(t, "seed", "--live", "--data", t.TempDir(), "--tenant", "x.example", "--indicators", "5"); err == nil {
		t.Error("seed --live --indicators: no error")
	}
}
