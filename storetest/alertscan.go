package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

// parallelScanner is the read of alerts the read model's build uses when
// a store offers it (ScanAlertsParallel).
type parallelScanner interface {
	ScanAlertsParallel(ctx context.Context, tenantID string, workers int, f func(worker int, a *openatp.Alert) error) error
}

// The build's read of alerts reads what ScanAlerts reads but the
// machine's name and device group, each alert once (several batches of
// rows, on the workers asked for), whether the tenant is the store's only
// one or not (SQLite reads the table differently then); an error of f is returned as it is; an
// unknown tenant is NotFound.
func testAlertScanParallel(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	ps, ok := s.(parallelScanner)
	if !ok {
		t.Skip("the store has no ScanAlertsParallel")
	}
	a := fixture.MustTenant(t, s, 1, "A")
	fixture.NoErr(t, s.CreateGroup(ctx, a, openatp.DeviceGroup{ID: 5, Name: "Hosts", Rank: 1,
		Rules: []openatp.RuleRow{{Property: openatp.RuleName, Values: []string{"host1"}}}}))
	fixture.MustMachines(t, s, a, 1, 2)
	as := []openatp.Alert{fullAlert("da637472900382838869_1364969609", 1)}
	for i := range 700 {
		as = append(as, minimalAlert(fmt.Sprintf("ar%018d_%d", i, i), 1+i%2, "Automated investigation started manually"))
	}
	mustAlerts(t, s, a, as...)
	want := scanAlerts(t, s, a)
	for i := range want {
		want[i].ComputerDNSName, want[i].RBACGroupID, want[i].RBACGroupName = nil, 0, ""
	}
	check := func(what string) {
		t.Helper()
		var mu sync.Mutex
		var got []openatp.Alert
		fixture.NoErr(t, ps.ScanAlertsParallel(ctx, a, 3, func(w int, al *openatp.Alert) error {
			mu.Lock()
			defer mu.Unlock()
			if w < 0 || w >= 3 {
				t.Errorf("worker %d of 3", w)
			}
			got = append(got, *al)
			return nil
		}))
		slices.SortFunc(got, func(x, y openatp.Alert) int { return strings.Compare(x.ID, y.ID) })
		fixture.Diff(t, what, want, got)
	}
	check("parallel scan, the only tenant")
	b := fixture.MustTenant(t, s, 2, "B")
	fixture.MustMachines(t, s, b, 1)
	mustAlerts(t, s, b, minimalAlert("other", 1, "Other tenant"))
	check("parallel scan, one tenant of two")

	stop := errors.New("stop")
	if err := ps.ScanAlertsParallel(ctx, a, 2, func(int, *openatp.Alert) error { return stop }); err != stop {
		t.Errorf("an error of f: got %v, want it as it is", err)
	}
	fixture.WantKind(t, ps.ScanAlertsParallel(ctx, fixture.TenantID(9), 2, func(int, *openatp.Alert) error { return nil }), openatp.NotFound)
}
