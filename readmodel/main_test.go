package readmodel

import (
	"context"
	"testing"

	"github.com/openatp/openatp"
	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them: a
// Model's builds stop with its Close, a build's indexing goroutine with
// the build.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newModel returns New(store, opts) and, when t ends (after its deferred
// calls), closes it and fails t if a view it made is still held: every
// View a test takes must be released.
func newModel(t testing.TB, store openatp.Store, opts Options) *Model {
	t.Helper()
	m := New(store, opts)
	t.Cleanup(func() {
		m.Close()
		if n := m.LiveViews(); n != 0 {
			t.Errorf("%d read-model views not released at the end of the test", n)
		}
	})
	return m
}

// A view a reader holds is counted after Close, until its release: the
// check of newModel fails a test that forgets one.
func TestUnreleasedViewIsCounted(t *testing.T) {
	ctx := context.Background()
	store, tn, _ := oneMachineTenant(t)
	model := newModel(t, store, Options{})
	defer model.Close()
	mustDo(t, model.Warm(ctx, tn.ID))
	v, err := model.View(ctx, tn.ID)
	if err != nil || v == nil {
		t.Fatalf("View = %v, %v", v, err)
	}
	if n := model.LiveViews(); n != 1 {
		t.Errorf("LiveViews = %d with the current view held by the model and the test, want 1", n)
	}
	model.Close()
	if n := model.LiveViews(); n != 1 {
		t.Errorf("after Close, LiveViews = %d with the test holding its view, want 1", n)
	}
	v.Release()
	if n := model.LiveViews(); n != 0 {
		t.Errorf("after the last release, LiveViews = %d, want 0", n)
	}
}
