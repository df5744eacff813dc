package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/demo"
)

// maxLiveTries bounds the writes of seed --live per alert asked for: with
// few machines, open alerts may absorb many new ones before earlier ones
// are resolved.
const maxLiveTries = 20

// liveTargets bounds the (user, machine) pairs seed --live draws from.
const liveTargets = 10_000

// seedLive writes n new alerts to the tenant's existing machines, one
// every pause, and after each, half the time, moves an earlier one along
// its life (New, InProgress, Resolved): every write goes through the
// store's alert writes, stamped by the tenant's alert clock, so a client
// polling "lastUpdateTime ge …" picks each one up. A new alert that an
// open one absorbs (same machine, same title) is not one of the n: it
// writes another, up to maxLiveTries times n writes in all. Each write is
// reported on stderr; a JSON summary goes to stdout.
func seedLive(ctx context.Context, env *cliEnv, sf *storeFlags, tenant string, n int, pause time.Duration, seed int64) error {
	if n <= 0 {
		return fmt.Errorf("--live needs --alerts > 0")
	}
	store, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	t, err := store.Tenant(ctx, tenant)
	if err != nil {
		return fmt.Errorf("tenant %q: %w (seed it first)", tenant, err)
	}
	// The alerts go to machines users logged on to, related to one of
	// them; to machines without users when there are none.
	type target struct{ machine, name, domain string }
	var targets, bare []target
	err = store.Snapshot(ctx, t.ID,
		func(m openatp.Machine) error {
			if len(bare) < liveTargets {
				bare = append(bare, target{machine: m.ID})
			}
			return nil
		},
		func(r openatp.UserMachine) error {
			targets = append(targets, target{r.MachineID, r.AccountName, r.AccountDomain})
			if len(targets) >= liveTargets {
				return errStop
			}
			return nil
		})
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	if len(targets) == 0 {
		targets = bare
	}
	if len(targets) == 0 {
		return fmt.Errorf("tenant %s has no machines: seed it first", t.Name)
	}
	r := rand.New(rand.NewPCG(uint64(seed), 0x11fe))
	var open []string // the stream's alerts not yet resolved
	created, updated, absorbed := 0, 0, 0
	for i := 0; created < n; i++ {
		if i >= maxLiveTries*n {
			return fmt.Errorf("seed --live: %d of %d writes were absorbed into open alerts of the same title on the same machine; %d new alerts written", absorbed, i, created)
		}
		if i > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pause):
			}
		}
		tg := targets[r.IntN(len(targets))]
		// The detections vary from run to run (a run repeating the last
		// one's would mostly be absorbed by the alerts it left open).
		a, isNew, err := store.CreateAlert(ctx, t.ID, demo.LiveAlert(seed, int(time.Now().UnixNano()%1e9)+i, t.ID, tg.machine, tg.name, tg.domain, time.Now()))
		if err != nil {
			return err
		}
		what := "created"
		if !isNew {
			what = "absorbed into"
			absorbed++
		} else {
			open = append(open, a.ID)
			created++
		}
		fmt.Fprintf(env.stderr, "seed: %s alert %s (%s, %s) on %s at %s\n", what, a.ID, a.Severity, *a.Title, a.MachineID, a.LastUpdateTime.Format(time.RFC3339Nano))
		if len(open) < 2 || r.IntN(2) == 0 {
			continue
		}
		k := r.IntN(len(open) - 1) // an earlier one
		out, err := store.UpdateAlerts(ctx, t.ID, []string{open[k]}, func(a *openatp.Alert, stamp time.Time) error {
			demo.Advance(a, r, stamp)
			return nil
		})
		if openatp.IsKind(err, openatp.NotFound) { // deleted meanwhile
			open = slices.Delete(open, k, k+1)
			continue
		}
		if err != nil {
			return err
		}
		updated++
		fmt.Fprintf(env.stderr, "seed: updated alert %s: %s at %s\n", out[0].ID, out[0].Status, out[0].LastUpdateTime.Format(time.RFC3339Nano))
		if out[0].Status == "Resolved" {
			open = slices.Delete(open, k, k+1)
		}
	}
	return printJSON(env.stdout, map[string]any{"tenant": t.ID, "name": t.Name, "created": created, "updated": updated, "absorbed": absorbed})
}
