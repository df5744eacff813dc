package timatch_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/pgtest"
	"github.com/openatp/openatp/internal/timatch"
	"github.com/openatp/openatp/postgres"
	"github.com/openatp/openatp/sqlite"
)

// TestMain runs the tests, stops the shared PostgreSQL cluster, and fails
// when a goroutine outlives them.
func TestMain(m *testing.M) { pgtest.Main(m) }

// store is what the test needs of a store engine.
type store interface {
	timatch.Store
	CreateTenant(ctx context.Context, t openatp.Tenant) error
	UpsertMachines(ctx context.Context, tenantID string, ms []openatp.Machine) error
	PutIndicators(ctx context.Context, tenantID string, ins []openatp.Indicator, now time.Time, may func(old *openatp.Indicator) error) ([]openatp.Indicator, []error, error)
	AddFileEvents(ctx context.Context, tenantID string, es []openatp.FileEvent) error
	AddNetworkEvents(ctx context.Context, tenantID string, es []openatp.NetworkEvent) error
	Close() error
}

// TestRaise, on both engines: events matched after their import and
// before (look-back) raise one alert per indicator and machine, updated
// by a later sighting; a Url indicator matches with or without scheme;
// an inactive or non-alerting indicator raises nothing.
func TestRaise(t *testing.T) {
	for _, engine := range []struct {
		name string
		open func(t *testing.T) (store, error)
	}{
		{"sqlite", func(t *testing.T) (store, error) {
			return sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "openatp.db"))
		}},
		{"postgres", func(t *testing.T) (store, error) {
			return postgres.Open(context.Background(), pgtest.NewDatabase(t))
		}},
	} {
		t.Run(engine.name, func(t *testing.T) {
			s, err := engine.open(t)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			testRaise(t, s)
		})
	}
}

func testRaise(t *testing.T, s store) {
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	tn, err := openatp.NewTenant("ti.example", now)
	must(err)
	must(s.CreateTenant(ctx, tn))
	m1, m2 := fmt.Sprintf("%040x", 1), fmt.Sprintf("%040x", 2)
	must(s.UpsertMachines(ctx, tn.ID, []openatp.Machine{{ID: m1}, {ID: m2}}))
	const hash = "3395856ce81f2b7382dee72602f798b642f14140"
	past := now.Add(-time.Hour)
	var ins []openatp.Indicator
	for _, in := range []openatp.Indicator{
		{IndicatorType: openatp.IndicatorFileSha1, IndicatorValue: hash, Action: "Audit", GenerateAlert: true, Title: "hash"},
		{IndicatorType: openatp.IndicatorURL, IndicatorValue: "EVIL.example/payload", Action: "Audit", GenerateAlert: true, Title: "url"},
		{IndicatorType: openatp.IndicatorIPAddress, IndicatorValue: "198.51.100.9", Action: "Block", Title: "quiet"},
		{IndicatorType: openatp.IndicatorDomainName, IndicatorValue: "evil.example", Action: "Audit", GenerateAlert: true, Title: "gone", ExpirationTime: &past},
	} {
		in.Description, in.Source, in.SourceType, in.CreatedBy, in.LastUpdatedBy = "d", "test", openatp.IndicatorSourceApp, "test", "test"
		must(in.Normalize())
		ins = append(ins, in)
	}
	stored, errs, err := s.PutIndicators(ctx, tn.ID, ins, now, nil)
	must(err)
	for _, e := range errs {
		must(e)
	}
	file := func(machine string, ts time.Time) openatp.FileEvent {
		e := openatp.FileEvent{Timestamp: ts, DeviceId: machine, ActionType: "FileCreated", FileName: "a.exe", SHA1: hash}
		must(e.Normalize())
		return e
	}
	conn := func(machine, url string, ts time.Time) openatp.NetworkEvent {
		e := openatp.NetworkEvent{Timestamp: ts, DeviceId: machine, ActionType: "ConnectionSuccess", RemoteIP: "198.51.100.9", RemoteUrl: url}
		must(e.Normalize())
		return e
	}
	t1, t2 := now.Add(-2*time.Hour).UTC().Round(time.Second), now.Add(-time.Hour).UTC().Round(time.Second)

	// Stored before: found by the look-back of the URL indicator.
	before := []openatp.NetworkEvent{conn(m2, "https://evil.example/payload/", t1)}
	must(s.AddNetworkEvents(ctx, tn.ID, before))
	must(timatch.LookBack(ctx, s, tn.ID, now, stored))
	// Imported after: the hash on two machines, then again on one.
	fes := []openatp.FileEvent{file(m1, t1), file(m2, t1)}
	must(s.AddFileEvents(ctx, tn.ID, fes))
	must(timatch.Events(ctx, s, tn.ID, now, fes, before))
	later := []openatp.FileEvent{file(m1, t2)}
	must(s.AddFileEvents(ctx, tn.ID, later))
	must(timatch.Events(ctx, s, tn.ID, now, later, nil))

	for _, c := range []struct {
		id          string
		title       string
		first, last time.Time
	}{
		{timatch.AlertID(stored[0].ID, m1, 1), "hash", t1, t2},
		{timatch.AlertID(stored[0].ID, m2, 1), "hash", t1, t1},
		{timatch.AlertID(stored[1].ID, m2, 1), "url", t1, t1},
	} {
		a, err := s.Alert(ctx, tn.ID, c.id)
		if err != nil || *a.Title != c.title || *a.DetectionSource != timatch.DetectionSource || !a.FirstEventTime.Equal(c.first) || !a.LastEventTime.Equal(c.last) {
			t.Errorf("alert %s: %+v, %v", c.id, a, err)
		}
	}
	n := 0
	for _, in := range stored[2:] {
		for _, m := range []string{m1, m2} {
			if _, err := s.Alert(ctx, tn.ID, timatch.AlertID(in.ID, m, 1)); !openatp.IsKind(err, openatp.NotFound) {
				n++
			}
		}
	}
	if n != 0 {
		t.Errorf("%d alerts of indicators that raise none", n)
	}
}
