// Package retention deletes what openatp keeps only for a while: the
// observed file and network events, and the machines' IP history, older
// than the retention (openatp.EventStore.DeleteEventsBefore).
//
// It sweeps: once at start, then at a fixed interval (Interval), rather
// than arming a timer for when the oldest event expires. Events come in
// with any timestamp (an import of last month's records, several
// processes writing one PostgreSQL database), so such a timer would have
// to be re-armed by every write of every process; a sweep needs no
// coordination, and is one indexed range delete per table that touches
// nothing when nothing expired. The cost is that an expired row lives on
// for up to one interval.
package retention

import (
	"context"
	"time"

	"github.com/openatp/openatp/internal/lifetime"
)

// Store is the store's deletion of expired rows.
type Store interface {
	DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error)
}

// Config says what to delete and how often.
type Config struct {
	Store Store
	// Retention is how long rows are kept: those older than now minus
	// Retention are deleted. It must be positive.
	Retention time.Duration
	// Every is the interval between sweeps; 0 is Interval(Retention).
	Every time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Swept, when set, is told of each sweep: how many rows it deleted,
	// or its error (the next sweep tries again).
	Swept func(deleted int64, err error)
}

// Interval is the default interval between sweeps of a retention: a
// thirtieth of it (a day for the default 30 days would let a row outlive
// the retention by 3%), between a minute and an hour.
func Interval(retention time.Duration) time.Duration {
	return min(max(retention/30, time.Minute), time.Hour)
}

// Sweeper sweeps in a goroutine of its own until Close.
type Sweeper struct {
	g *lifetime.Group
}

// Start sweeps once and then every c.Every, in a goroutine owned by the
// returned Sweeper, until ctx ends or Close is called.
func Start(ctx context.Context, c Config) *Sweeper {
	if c.Every <= 0 {
		c.Every = Interval(c.Retention)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	s := &Sweeper{g: lifetime.New(ctx)}
	s.g.Go(func(ctx context.Context) error {
		tick := time.NewTicker(c.Every)
		defer tick.Stop()
		for {
			n, err := Sweep(ctx, c)
			if ctx.Err() != nil {
				return nil
			}
			if c.Swept != nil {
				c.Swept(n, err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
	})
	return s
}

// Sweep deletes the rows older than c.Retention before c.Now() (or
// time.Now) once, and returns how many it deleted.
func Sweep(ctx context.Context, c Config) (int64, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	return c.Store.DeleteEventsBefore(ctx, now().Add(-c.Retention))
}

// Close stops the sweeps and waits for the one running, if any.
func (s *Sweeper) Close() error {
	s.g.Stop()
	return s.g.Wait()
}
