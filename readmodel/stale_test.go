package readmodel

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/openatp/openatp"
)

// failingVersion is a store whose DataVersion fails with err while err is
// set.
type failingVersion struct {
	openatp.Store
	mu  sync.Mutex
	err error
}

func (s *failingVersion) set(err error) { s.mu.Lock(); s.err = err; s.mu.Unlock() }

func (s *failingVersion) DataVersion(ctx context.Context) (uint64, error) {
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return s.Store.DataVersion(ctx)
}

// The stale-reads window: a store failure (Unavailable or Internal) is
// answered from the view as it is up to the window's end, inclusive, after
// the last confirmed read; an answer of the store (NotFound) and a caller
// that left are not; a model that never confirmed a read has nothing to
// serve; the store's return ends it.
func TestStaleReadsWindow(t *testing.T) {
	ctx := context.Background()
	db, tn, _ := oneMachineTenant(t)
	store := &failingVersion{Store: db}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	model := newModel(t, store, Options{StaleReads: 30 * time.Second, Now: func() time.Time { return now }})

	view := func(ctx context.Context) (bool, error) {
		t.Helper()
		v, err := model.View(ctx, tn.ID)
		if v != nil {
			v.Release()
		}
		return v != nil, err
	}
	store.set(openatp.Errorf(openatp.Unavailable, "connection refused"))
	if ok, err := view(ctx); ok || !openatp.IsKind(err, openatp.Unavailable) {
		t.Fatalf("never confirmed: view %v, %v; want the error", ok, err)
	}
	store.set(nil)
	mustDo(t, model.Warm(ctx, tn.ID))

	for _, tc := range []struct {
		name  string
		err   error
		after time.Duration // since the last confirmed read
		stale bool
	}{
		{"unavailable", openatp.Errorf(openatp.Unavailable, "connection refused"), 0, true},
		{"driver error", openatp.Errorf(openatp.Internal, "disk I/O error"), 10 * time.Second, true},
		{"not found", openatp.Errorf(openatp.NotFound, "no such tenant"), 10 * time.Second, false},
		{"the window's end", openatp.Errorf(openatp.Unavailable, "connection refused"), 30 * time.Second, true},
		{"after the window", openatp.Errorf(openatp.Unavailable, "connection refused"), 30*time.Second + time.Nanosecond, false},
	} {
		store.set(nil)
		if ok, err := view(ctx); !ok || err != nil {
			t.Fatalf("%s: the store answering: %v, %v", tc.name, ok, err)
		}
		if model.ServingStale() {
			t.Errorf("%s: serving stale with the store answering", tc.name)
		}
		confirmed, answers := now, model.StaleAnswers()
		store.set(tc.err)
		now = confirmed.Add(tc.after)
		ok, err := view(ctx)
		if ok != tc.stale || (err == nil) != tc.stale || model.ServingStale() != tc.stale {
			t.Errorf("%s after %v: view %v, error %v, serving stale %v; want stale %v", tc.name, tc.after, ok, err, model.ServingStale(), tc.stale)
		}
		if want := answers + map[bool]uint64{true: 1}[tc.stale]; model.StaleAnswers() != want {
			t.Errorf("%s: %d stale answers, want %d", tc.name, model.StaleAnswers(), want)
		}
		if !tc.stale && err != tc.err {
			t.Errorf("%s: error %v, want the store's %v", tc.name, err, tc.err)
		}
		now = now.Add(time.Second)
	}

	// A caller that left gets its own error, not a stale view.
	store.set(nil)
	mustDo(t, model.Warm(ctx, tn.ID))
	store.set(openatp.Errorf(openatp.Unavailable, "connection refused"))
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if ok, err := view(gone); ok || err == nil {
		t.Errorf("a canceled read: view %v, %v; want an error", ok, err)
	}
}

// Off (StaleReads 0), a store failure is the read's error.
func TestStaleReadsOff(t *testing.T) {
	ctx := context.Background()
	db, tn, _ := oneMachineTenant(t)
	store := &failingVersion{Store: db}
	model := newModel(t, store, Options{})
	mustDo(t, model.Warm(ctx, tn.ID))
	store.set(openatp.Errorf(openatp.Unavailable, "connection refused"))
	v, err := model.View(ctx, tn.ID)
	if v != nil {
		v.Release()
	}
	if v != nil || !openatp.IsKind(err, openatp.Unavailable) || model.StaleAnswers() != 0 || model.ServingStale() {
		t.Errorf("view %v, %v, %d stale answers; want the store's error", v != nil, err, model.StaleAnswers())
	}
}
