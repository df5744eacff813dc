package retention_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/retention"
	"github.com/openatp/openatp/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The sweeper deletes, at start and then every interval, the events and
// the IP history older than the retention, keeps the rest, reports each
// sweep, and leaves no goroutine behind once closed.
func TestSweeper(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "o.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tn, err := openatp.NewTenant("a.example", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	seen := now.Add(-40 * 24 * time.Hour)
	m := openatp.Machine{ID: "1111111111111111111111111111111111111111", LastSeen: &seen, LastIPAddress: openatp.Ptr("10.0.0.9")}
	if err := m.Normalize(); err != nil {
		t.Fatal(err)
	}
	if err := db.UpsertMachines(ctx, tn.ID, []openatp.Machine{m}); err != nil {
		t.Fatal(err)
	}
	event := func(age time.Duration) openatp.FileEvent {
		e := openatp.FileEvent{Timestamp: now.Add(-age), DeviceId: m.ID, ActionType: "FileCreated", FileName: "a.exe"}
		if err := e.Normalize(); err != nil {
			t.Fatal(err)
		}
		return e
	}
	if err := db.AddFileEvents(ctx, tn.ID, []openatp.FileEvent{event(31 * 24 * time.Hour), event(29 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var sweeps []int64
	clock := now
	s := retention.Start(ctx, retention.Config{Store: db, Retention: 30 * 24 * time.Hour, Every: 10 * time.Millisecond,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return clock },
		Swept: func(n int64, err error) {
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			sweeps = append(sweeps, n)
			if len(sweeps) == 2 {
				clock = clock.Add(2 * 24 * time.Hour) // the second event expires
			}
			mu.Unlock()
		}})
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(sweeps)
		mu.Unlock()
		if n >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	// First sweep: the old event and the IP history row (40 days); then
	// nothing; then, 2 days on, the second event.
	if len(sweeps) < 4 || sweeps[0] != 2 || sweeps[1] != 0 || sweeps[2] != 1 || sweeps[3] != 0 {
		t.Fatalf("sweeps deleted %v rows, want 2, 0, 1, 0...", sweeps)
	}
	es, err := db.FileEvents(ctx, tn.ID, openatp.EventFilter{})
	if err != nil || len(es) != 0 {
		t.Fatalf("%d events left (%v), want 0", len(es), err)
	}
	if got := retention.Interval(30 * 24 * time.Hour); got != time.Hour {
		t.Errorf("Interval(30 days) = %v, want 1h", got)
	}
	if got := retention.Interval(time.Hour); got != 2*time.Minute {
		t.Errorf("Interval(1h) = %v, want 2m", got)
	}
}
