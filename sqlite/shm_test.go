package sqlite_test

import (
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/sqlite"
)

// DataVersion read from the shared WAL-index header changes with every
// commit of another store on the same file (another process's, in
// production), and not without one; the PRAGMA cross-check keeps it on.
func TestDataVersionFromSharedHeader(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the header is read through mmap on Unix only")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	a, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !sqlite.ReadsSharedHeader(a) {
		t.Fatal("DataVersion does not read the shared header")
	}
	tn, _ := openatp.NewTenant("shm.example", time.Now())
	if err := b.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	prev, err := a.DataVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 { // past several PRAGMA cross-checks
		same, _ := a.DataVersion(ctx)
		if same != prev {
			t.Fatalf("call %d: version changed without a commit", i)
		}
		m := openatp.Machine{ID: strings.Repeat("0", 37) + string("0123456789abcdef"[i%16]) + string("0123456789abcdef"[i/16%16]) + "0"}
		if err := m.Normalize(); err != nil {
			t.Fatal(err)
		}
		if err := b.UpsertMachines(ctx, tn.ID, []openatp.Machine{m}); err != nil {
			t.Fatal(err)
		}
		next, err := a.DataVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if next == prev {
			t.Fatalf("call %d: a commit of the other store did not change the version", i)
		}
		prev = next
	}
	if !sqlite.ReadsSharedHeader(a) {
		t.Error("the PRAGMA cross-check turned the shared header off: it missed a commit")
	}
}
