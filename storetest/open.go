package storetest

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/openatp/openatp"
)

// Open opens a store (or anything to close) with open and closes it when
// t ends: an error of either fails t.
func Open[S io.Closer](t testing.TB, open func(ctx context.Context) (S, error)) S {
	t.Helper()
	s, err := open(context.Background())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// RunAt is Run for an engine whose stores live at an address (a file
// path, a database URL): newAddr returns the address of a new, empty
// store, and open opens the store at an address (closed when t ends).
// The suite reopens a store at its address (WithReopen); previousWrite,
// when not nil, makes the write of the previous version at the address
// of a store (WithPreviousVersionWrite).
func RunAt(t *testing.T, newAddr func(t *testing.T) string, open func(t *testing.T, addr string) openatp.Store,
	previousWrite func(t *testing.T, addr string), opts ...Option) {
	var mu sync.Mutex
	addrs := map[openatp.Store]string{}
	addrOf := func(s openatp.Store) string {
		mu.Lock()
		defer mu.Unlock()
		return addrs[s]
	}
	openNew := func(t *testing.T) openatp.Store {
		addr := newAddr(t)
		s := open(t, addr)
		mu.Lock()
		addrs[s] = addr
		mu.Unlock()
		return s
	}
	opts = append(opts, WithReopen(func(t *testing.T, s openatp.Store) openatp.Store { return open(t, addrOf(s)) }))
	if previousWrite != nil {
		opts = append(opts, WithPreviousVersionWrite(func(t *testing.T, s openatp.Store) { previousWrite(t, addrOf(s)) }))
	}
	Run(t, openNew, opts...)
}

// OpenAtOnce opens n stores with open from n goroutines at once, as
// processes or replicas starting together on a new database do, and checks
// that each of them can write. They are closed when t ends.
func OpenAtOnce[S openatp.Store](t *testing.T, n int, open func(ctx context.Context) (S, error)) []S {
	t.Helper()
	ctx := context.Background()
	ss := make([]S, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { ss[i], errs[i] = open(ctx) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] == nil {
			t.Cleanup(func() { ss[i].Close() })
		}
	}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("open %d: %v", i, errs[i])
		}
	}
	for i, s := range ss {
		if err := s.SetSetting(ctx, "k", fmt.Sprint(i)); err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
	}
	return ss
}
