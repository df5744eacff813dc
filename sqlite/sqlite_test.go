package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/sqlite"
	"github.com/openatp/openatp/storetest"
)

// openAt opens the database file at path and closes it when t ends.
func openAt(t testing.TB, path string) *sqlite.DB {
	t.Helper()
	return storetest.Open(t, func(ctx context.Context) (*sqlite.DB, error) { return sqlite.Open(ctx, path) })
}

func TestStore(t *testing.T) {
	newPath := func(t *testing.T) string { return filepath.Join(t.TempDir(), "openatp.db") }
	open := func(t *testing.T, path string) openatp.Store { return openAt(t, path) }
	// A process of the previous version bumps the global content counter.
	previousWrite := func(t *testing.T, path string) {
		old, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer old.Close()
		if _, err := old.Exec("UPDATE content_version SET v = v + 1 WHERE id = 1"); err != nil {
			t.Fatal(err)
		}
	}
	storetest.RunAt(t, newPath, open, previousWrite,
		storetest.WithIPHistoryRows(func(t *testing.T, s openatp.Store) int { return sqlite.IPHistoryRows(t, s.(*sqlite.DB)) }))
}

// TestTwoHandles checks that two *DB on one file (as a server and a CLI
// command would have) see each other's writes at once.
func TestTwoHandles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "openatp.db")
	a, b := openAt(t, path), openAt(t, path)
	if err := a.CreateTenant(ctx, openatp.Tenant{ID: "t1", Name: "one.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Tenant(ctx, "ONE.example"); err != nil {
		t.Fatalf("b does not see a's tenant: %v", err)
	}
	m := openatp.Machine{ID: "0123456789abcdef0123456789abcdef01234567"}
	if err := m.Normalize(); err != nil {
		t.Fatal(err)
	}
	if err := b.UpsertMachines(ctx, "t1", []openatp.Machine{m}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Machine(ctx, "t1", m.ID); err != nil {
		t.Fatalf("a does not see b's machine: %v", err)
	}
}

// TestConcurrentOpen opens a new file from several goroutines at once, as
// several processes starting together would: the schema is created once
// and every opener can use it.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "openatp.db")
	dbs := storetest.OpenAtOnce(t, 6, func(ctx context.Context) (*sqlite.DB, error) { return sqlite.Open(ctx, path) })
	if err := sqlite.CheckMigrations(dbs[0]); err != nil {
		t.Error(err)
	}
}

// TestOpenErrors checks the kinds of Open's errors.
func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, path := range []string{"", ":memory:", "x.db?mode=ro"} {
		if _, err := sqlite.Open(ctx, path); !openatp.IsKind(err, openatp.Invalid) {
			t.Errorf("Open(%q): %v, want an Invalid error", path, err)
		}
	}
	if _, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "missing", "dir", "x.db")); !openatp.IsKind(err, openatp.Unavailable) {
		t.Errorf("Open in a missing directory: %v, want an Unavailable error", err)
	}
}

// TestConcurrentWriters writes through two handles on one file at once, as
// a server and an import command would: both wait for the other's lock.
func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "openatp.db")
	dbs := []*sqlite.DB{openAt(t, path), openAt(t, path)}
	if err := dbs[0].CreateTenant(ctx, openatp.Tenant{ID: "t1", Name: "one.example"}); err != nil {
		t.Fatal(err)
	}
	var ms []openatp.Machine
	for i := range 50 {
		m := openatp.Machine{ID: fmt.Sprintf("%040x", i)}
		if err := m.Normalize(); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	if err := dbs[0].UpsertMachines(ctx, "t1", ms); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := dbs[w%2]
			for i := range 20 {
				var ls []openatp.Logon
				for j := range 50 {
					ls = append(ls, openatp.Logon{MachineID: ms[j].ID, AccountName: fmt.Sprintf("user%d", w), AccountDomain: "d",
						Timestamp: time.Unix(int64(i*100+j), 0)})
				}
				if err := db.AddLogons(ctx, "t1", ls); err != nil {
					errs <- err
					return
				}
				if err := db.UpsertMachines(ctx, "t1", ms[i:i+1]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for w := range 4 {
		got, err := dbs[(w+1)%2].UserMachines(ctx, "t1", openatp.UserRef{Name: fmt.Sprintf("USER%d", w)})
		if err != nil || len(got) != 50 {
			t.Errorf("user%d: %d machines, %v; want 50", w, len(got), err)
		}
	}
}

// TestDatabaseFileMode: a new database file, which holds the signing keys
// and the admin key, is readable by its owner only, and so are its WAL and
// shared-memory files, wherever it is (not only in the data directory).
func TestDatabaseFileMode(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "elsewhere.db")
	db := openAt(t, path)
	if err := db.SetSetting(ctx, "admin_key", "secret"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m&0o077 != 0 {
			t.Errorf("%s has mode %v, want no access for group and others", filepath.Base(p), m)
		}
	}
}
