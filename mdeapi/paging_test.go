package mdeapi_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/sqlite"
)

// Walking @odata.nextLink over 25,000 machines visits each exactly once,
// also while another process (another store on the same file) adds
// machines all along the walk, before and after the cursor.
func TestPagingVisitsEachOnceDuringImport(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	const n = 25_000
	ms := make([]openatp.Machine, n)
	want := map[string]bool{}
	for i := range ms {
		ms[i] = openatp.Machine{ID: fmt.Sprintf("%040x", uint64(i)*0x9e3779b97f4a7c15), MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}}
		want[ms[i].ID] = true
	}
	f.load(t, f.tenant, ms, nil)
	var base []openatp.Machine
	if err := f.store.Snapshot(ctx, f.tenant.ID, func(m openatp.Machine) error { base = append(base, m); return nil },
		func(openatp.UserMachine) error { return nil }); err != nil {
		t.Fatal(err)
	}
	for _, m := range base {
		want[m.ID] = true
	}
	other, err := sqlite.Open(ctx, f.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tok := f.token(t, f.tenant, f.app)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var added int
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(1, 1))
		for {
			select {
			case <-stop:
				return
			default:
			}
			batch := make([]openatp.Machine, 50)
			for i := range batch {
				batch[i] = openatp.Machine{ID: fmt.Sprintf("%016x%024x", rng.Uint64(), 0), MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}}
			}
			if err := other.UpsertMachines(ctx, f.tenant.ID, batch); err != nil {
				t.Error(err)
				return
			}
			added += len(batch)
		}
	})
	ids, _, _ := walk(t, f, tok, "/api/machines?$top=1000&$select=id")
	close(stop)
	wg.Wait()
	seen := map[string]int{}
	for _, id := range ids {
		seen[id]++
		if seen[id] > 1 {
			t.Fatalf("machine %s visited twice", id)
		}
	}
	for id := range want {
		if seen[id] != 1 {
			t.Fatalf("machine %s, there before the walk, visited %d times", id, seen[id])
		}
	}
	if added == 0 {
		t.Fatal("no machine was added during the walk")
	}
	t.Logf("%d machines visited; %d added during the walk, %d of them visited", len(ids), added, len(ids)-len(want))
}
