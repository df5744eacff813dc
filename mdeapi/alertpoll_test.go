package mdeapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/sqlite"
)

// change is an alert at one lastUpdateTime: what a poll sees.
type change struct {
	id      string
	updated time.Time
}

// The documented poll (mde-reference §11.2): a client that asks for
// "lastUpdateTime ge <the greatest it has seen, plus 100 ns>", page by
// page through @odata.nextLink, while another process creates alerts and
// updates others, sees every change exactly once: none missed at a page
// boundary or between polls, none twice.
func TestAlertPollSeesEveryChangeOnce(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	const initial = 600
	machines := []string{machine1, machine2, strings.Repeat("0", 39) + "1"}
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	var as []openatp.Alert
	for i := range initial {
		u := base.Add(time.Duration(i/3) * time.Second) // three alerts per stamp: ties at page boundaries
		as = append(as, openatp.Alert{ID: fmt.Sprintf("init-%05d", i), Severity: "Low", Status: "New",
			MachineID: machines[i%len(machines)], LastUpdateTime: &u})
	}
	if err := f.store.UpsertAlerts(ctx, f.tenant.ID, as); err != nil {
		t.Fatal(err)
	}
	tok := f.token(t, f.tenant, f.newApp(t, f.tenant, "siem", openatp.PermAlertReadAll))
	other, err := sqlite.Open(ctx, f.dbPath) // another process's store on the same file
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	// The writer: creates alerts, and updates the initial ones in a
	// random order (some twice), each write in its own transaction.
	var mu sync.Mutex
	final := map[string]time.Time{} // each alert's last committed state
	for _, a := range as {
		final[a.ID] = *a.LastUpdateTime
	}
	done := make(chan struct{})
	var writes int
	go func() {
		defer close(done)
		rng := rand.New(rand.NewPCG(9, 9))
		order := rng.Perm(initial)
		for i := range 200 {
			var out []openatp.Alert
			var err error
			switch {
			case i%3 == 0:
				var a openatp.Alert
				a, _, err = other.CreateAlert(ctx, f.tenant.ID, openatp.Alert{ID: fmt.Sprintf("new-%05d", i), Severity: "High",
					Status: "New", MachineID: machines[rng.IntN(len(machines))], Title: openatp.Ptr(fmt.Sprintf("new %d", i))})
				out = []openatp.Alert{a}
			default:
				ids := []string{fmt.Sprintf("init-%05d", order[i%len(order)])}
				if i%7 == 0 { // two alerts in one write
					ids = append(ids, fmt.Sprintf("init-%05d", order[(i+250)%len(order)]))
				}
				out, err = other.UpdateAlerts(ctx, f.tenant.ID, ids, func(a *openatp.Alert, _ time.Time) error {
					a.Status = []string{"InProgress", "Resolved"}[rng.IntN(2)]
					return nil
				})
			}
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			for _, a := range out {
				final[a.ID] = *a.LastUpdateTime
			}
			writes++
			mu.Unlock()
		}
	}()

	seen := map[change]int{}
	latest := map[string]time.Time{}
	var bound time.Time // the first poll asks for everything
	polls, pages := 0, 0
	poll := func() int {
		polls++
		q := url.Values{}
		q.Set("$filter", "lastUpdateTime ge "+bound.Format("2006-01-02T15:04:05.0000000Z"))
		q.Set("$select", "id,lastUpdateTime")
		q.Set("$top", "40")
		path, n := "/api/alerts?"+q.Encode(), 0
		for path != "" {
			pages++
			r := f.do(t, "GET", path, tok)
			if r.status != 200 {
				t.Fatalf("GET %s: %d %s", path, r.status, r.body)
			}
			var v struct {
				Next  string `json:"@odata.nextLink"`
				Value []struct {
					ID             string    `json:"id"`
					LastUpdateTime time.Time `json:"lastUpdateTime"`
				} `json:"value"`
			}
			if err := json.Unmarshal(r.body, &v); err != nil {
				t.Fatal(err)
			}
			for _, a := range v.Value {
				c := change{a.ID, a.LastUpdateTime}
				seen[c]++
				n++
				if a.LastUpdateTime.Before(latest[a.ID]) {
					t.Errorf("alert %s went back from %v to %v", a.ID, latest[a.ID], a.LastUpdateTime)
				}
				latest[a.ID] = a.LastUpdateTime
				if a.LastUpdateTime.After(bound.Add(-100)) {
					bound = a.LastUpdateTime.Add(100) // the next poll: strictly after it
				}
			}
			path = strings.TrimPrefix(v.Next, f.srv.URL)
		}
		return n
	}
	for {
		select {
		case <-done:
		default:
			poll()
			time.Sleep(5 * time.Millisecond) // a client polls now and then, not in a busy loop
			continue
		}
		break
	}
	poll() // after the last write
	if n := poll(); n != 0 {
		t.Errorf("a poll after everything was seen found %d changes", n)
	}
	if t.Failed() {
		return
	}
	for c, n := range seen {
		if n != 1 {
			t.Errorf("alert %s at %v seen %d times", c.id, c.updated, n)
		}
	}
	for id, u := range final {
		if seen[change{id, u}] != 1 {
			t.Errorf("the last change of alert %s (%v) was seen %d times", id, u, seen[change{id, u}])
		}
	}
	if writes < 200 || polls < 3 {
		t.Errorf("%d writes during %d polls", writes, polls)
	}
	t.Logf("%d writes; %d polls of %d pages saw %d changes, every last state once", writes, polls, pages, len(seen))
}
