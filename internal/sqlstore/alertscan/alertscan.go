// Package alertscan reads a tenant's alerts for the read model's build,
// faster than sqlstore.ScanAlerts: without the join of each alert's
// machine (the read model writes an alert's machine name and device group
// from its own machines), the rows read on one goroutine and decoded
// (their columns and lists, sqlstore.AlertRow) on several.
package alertscan

import (
	"context"
	"fmt"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/lifetime"
	"github.com/openatp/openatp/internal/sqlstore"
)

// selectFrom reads the alerts of a tenant from table, without their
// machines.
func selectFrom(table string) string {
	return "SELECT " + sqlstore.AlertColumns + " FROM " + table + " WHERE a.tenant_seq = ?"
}

// batchLen is the rows of a batch handed to a decoder.
const batchLen = 256

// batch is rows as the driver gave them: each column's value, and the
// pointers rows.Scan stores them through.
type batch struct {
	n    int
	vals [batchLen][sqlstore.AlertWidth]any
	dest [batchLen][sqlstore.AlertWidth]any
}

func newBatch() *batch {
	b := &batch{}
	for i := range b.dest {
		for j := range b.dest[i] {
			b.dest[i][j] = &b.vals[i][j]
		}
	}
	return b
}

// Scan streams every alert of the tenant of row tseq in q, read from
// table (alerts as a: "alerts a", or what an engine adds to it), without
// its machine's name and device group, in no particular order: workers
// goroutines decode the rows and call f at once, each with its number (0
// to workers-1) and an alert the call may keep. An error of f stops the
// stream and is returned as it is.
func Scan(ctx context.Context, q sqlstore.Querier, table string, tseq int64, workers int, f func(worker int, a *openatp.Alert) error) error {
	const msg = "cannot read alerts"
	g := lifetime.New(ctx)
	defer g.Stop()
	work := make(chan *batch, 2*workers)
	free := make(chan *batch, 3*workers)
	for w := range max(1, workers) {
		g.Go(func(ctx context.Context) error {
			var row sqlstore.AlertRow
			var vs values
			for b := range work {
				if ctx.Err() != nil {
					continue // another failed: the rest is dropped
				}
				for i := range b.n {
					vs.v = b.vals[i][:]
					a, err := row.Scan(&vs, false, nil)
					if err != nil {
						return q.Error(err, msg)
					}
					if err := f(w, &a); err != nil {
						return err
					}
				}
				clear(b.vals[:b.n])
				b.n = 0
				select {
				case free <- b:
				default:
				}
			}
			return nil
		})
	}
	err := read(g.Context(), q, selectFrom(table), tseq, work, free)
	close(work)
	if gerr := g.Wait(); gerr != nil {
		return gerr
	}
	return err
}

// read sends the rows of the query to work in batches, reusing those
// free gives back.
func read(ctx context.Context, q sqlstore.Querier, query string, tseq int64, work chan<- *batch, free <-chan *batch) error {
	const msg = "cannot read alerts"
	rows, err := q.Query(ctx, query, tseq)
	if err != nil {
		return q.Error(err, msg)
	}
	defer rows.Close()
	b := newBatch()
	send := func() error {
		select {
		case work <- b:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		select {
		case b = <-free:
		default:
			b = newBatch()
		}
		return nil
	}
	for rows.Next() {
		if err := rows.Scan(b.dest[b.n][:]...); err != nil {
			return q.Error(err, msg)
		}
		if b.n++; b.n == batchLen {
			if err := send(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return q.Error(err, msg)
	}
	if b.n > 0 {
		return send()
	}
	return nil
}

// values is a row read: it scans its values into the destinations
// sqlstore.AlertRow gives, as the drivers would have (strings, nullable
// strings and integers).
type values struct{ v []any }

func (vs *values) Scan(dest ...any) error {
	if len(dest) != len(vs.v) {
		return fmt.Errorf("alertscan: %d destinations for %d columns", len(dest), len(vs.v))
	}
	for i, d := range dest {
		v := vs.v[i]
		switch d := d.(type) {
		case *string:
			s, ok := v.(string)
			if !ok {
				return fmt.Errorf("alertscan: column %d: %T into a string", i, v)
			}
			*d = s
		case **string:
			*d = nil
			if s, ok := v.(string); ok {
				*d = &s
			} else if v != nil {
				return fmt.Errorf("alertscan: column %d: %T into a string", i, v)
			}
		case **int64:
			*d = nil
			if n, ok := v.(int64); ok {
				*d = &n
			} else if v != nil {
				return fmt.Errorf("alertscan: column %d: %T into an integer", i, v)
			}
		default:
			return fmt.Errorf("alertscan: column %d: cannot scan into %T", i, d)
		}
	}
	return nil
}
