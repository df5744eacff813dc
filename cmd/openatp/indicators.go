package main

import (
	"context"
	"fmt"
	"time"

	"github.com/openatp/openatp/ingest"
	"github.com/openatp/openatp/internal/indicatorio"
)

// importIndicators is `openatp import --kind indicators`: every file is
// read and checked, then all are written in one transaction
// (indicatorio.Import); a bad record writes nothing.
func importIndicators(ctx context.Context, env *cliEnv, sf *storeFlags, tenant string, files []string, format ingest.Format, dryRun bool) error {
	recs, err := indicatorio.ReadFiles(env.stdin, files, format)
	if err != nil || dryRun {
		if err != nil {
			return fmt.Errorf("%w (nothing was imported)", err)
		}
		return printJSON(env.stdout, map[string]any{"kind": "indicators", "records": len(recs)})
	}
	store, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	t, err := ensureTenant(ctx, store, tenant)
	if err != nil {
		return err
	}
	out, err := indicatorio.Import(ctx, store, t.ID, recs, time.Now())
	if err != nil {
		return fmt.Errorf("%w (nothing was imported)", err)
	}
	return printJSON(env.stdout, map[string]any{"tenant": t.ID, "name": t.Name, "kind": "indicators", "records": len(out)})
}
