package readmodel

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/openatp/openatp"
)

// stale is the state of the reads answered while the store fails
// (Options.StaleReads).
type stale struct {
	lastOK  atomic.Int64  // when a read last confirmed a view against the store (Unix ns); 0: never
	state   atomic.Int32  // staleOff, staleOn or staleExpired
	answers atomic.Uint64 // reads answered from a view the store could not confirm
}

const (
	staleOff     = iota // the store answers
	staleOn             // the store fails; reads are answered from the views as they are
	staleExpired        // the store fails for longer than StaleReads; reads fail
)

// confirmed records a read whose view the store confirmed; after stale
// reads it logs, once, that reads are current again.
// Off (StaleReads 0) it costs nothing; on, one clock read, and a store to
// the shared word at most once a millisecond.
func (m *Model) confirmed() {
	if m.opts.StaleReads <= 0 {
		return
	}
	if now := m.opts.Now().UnixNano(); now-m.stale.lastOK.Load() >= int64(time.Millisecond) {
		m.stale.lastOK.Store(now)
	}
	if m.stale.state.Load() != staleOff && m.stale.state.Swap(staleOff) != staleOff {
		m.log.Info("store answers again: reads are current", "stale_answers", m.stale.answers.Load())
	}
}

// storeFailed reports whether err is the store failing (unreachable, an
// I/O or driver error) rather than an answer (NotFound, Invalid,
// Conflict...) or the caller leaving.
func storeFailed(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	k := openatp.KindOf(err)
	return k == openatp.Unavailable || k == openatp.Internal
}

// staleView answers a read whose check of the store failed with err: with
// the tenant's view as it is (retained) while Options.StaleReads allows,
// else with err. The first stale answer, the end of the window and the
// store's return (confirmed) are logged once each.
func (m *Model) staleView(ctx context.Context, t *tenant, err error) (*View, error) {
	window := m.opts.StaleReads
	if window <= 0 || !storeFailed(ctx, err) {
		return nil, err
	}
	last := m.stale.lastOK.Load()
	if last == 0 {
		return nil, err
	}
	since := m.opts.Now().Sub(time.Unix(0, last))
	if since > window {
		if m.stale.state.Swap(staleExpired) != staleExpired {
			m.log.Error("store failing for longer than the stale-reads window: reads fail", "window", window,
				"since", since.Round(time.Millisecond), "stale_answers", m.stale.answers.Load(), "error", err)
		}
		return nil, err
	}
	v := t.retainCurrent()
	if v == nil {
		return nil, err
	}
	t.touch()
	if m.stale.state.Swap(staleOn) != staleOn {
		m.log.Warn("store failing: answering reads from the read model as it is", "window", window,
			"since", since.Round(time.Millisecond), "error", err)
	}
	m.stale.answers.Add(1)
	return v, nil
}

// ServingStale reports whether the last read that found the store failing
// was answered from the read model (Options.StaleReads), and the store has
// not answered since.
func (m *Model) ServingStale() bool { return m.stale.state.Load() == staleOn }

// StaleAnswers returns the number of reads answered from a view the store
// could not confirm.
func (m *Model) StaleAnswers() uint64 { return m.stale.answers.Load() }
