package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/pgtest"
	"github.com/openatp/openatp/postgres"
	"github.com/openatp/openatp/storetest"
)

// TestMain runs the tests, stops the shared PostgreSQL cluster, and fails
// when a goroutine outlives them.
func TestMain(m *testing.M) { pgtest.Main(m) }

// openAt opens the database at url and closes it when t ends.
func openAt(t testing.TB, url string) *postgres.DB {
	t.Helper()
	return storetest.Open(t, func(ctx context.Context) (*postgres.DB, error) { return postgres.Open(ctx, url) })
}

// TestStore runs the conformance suite; reopen opens a second pool on the
// same database, as another replica would.
func TestStore(t *testing.T) {
	newDatabase := func(t *testing.T) string { return pgtest.NewDatabase(t) }
	open := func(t *testing.T, url string) openatp.Store { return openAt(t, url) }
	// A replica of the previous version bumps the global content counter.
	previousWrite := func(t *testing.T, url string) {
		ctx := context.Background()
		old, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer old.Close(ctx)
		if _, err := old.Exec(ctx, "UPDATE data_version SET v = v + 1, c = c + 1"); err != nil {
			t.Fatal(err)
		}
	}
	storetest.RunAt(t, newDatabase, open, previousWrite,
		storetest.WithIPHistoryRows(func(t *testing.T, s openatp.Store) int { return postgres.IPHistoryRows(t, s.(*postgres.DB)) }))
}

// TestConcurrentOpen opens a new database from several goroutines at once,
// as replicas starting together would: the migrations are applied once and
// every opener can use the schema.
func TestConcurrentOpen(t *testing.T) {
	url := pgtest.NewDatabase(t)
	dbs := storetest.OpenAtOnce(t, 6, func(ctx context.Context) (*postgres.DB, error) { return postgres.Open(ctx, url) })
	if err := postgres.CheckMigrations(dbs[0]); err != nil {
		t.Error(err)
	}
}

// TestOpenErrors checks the kinds of Open's errors: a malformed URL is
// Invalid; a server that is not there is Unavailable, and said quickly.
func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := postgres.Open(ctx, "postgres://x:y@127.0.0.1:notaport/db"); !openatp.IsKind(err, openatp.Invalid) {
		t.Errorf("Open with a bad port: %v, want an Invalid error", err)
	}
	start := time.Now()
	_, err := postgres.Open(ctx, "postgres://postgres@127.0.0.1:1/db?sslmode=disable")
	if !openatp.IsKind(err, openatp.Unavailable) {
		t.Errorf("Open of a closed port: %v, want an Unavailable error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Open of a closed port took %v", d)
	}
}

// TestServerStopped stops PostgreSQL under an open store: every call fails
// with Unavailable within a bounded time, and the store works again once the
// server is back, without being reopened.
func TestServerStopped(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t)
	db := openAt(t, srv.NewDatabase(t))
	tenant := openatp.Tenant{ID: "t1", Name: "one.example"}
	if err := db.CreateTenant(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	calls := map[string]func() error{
		"DataVersion": func() error { _, err := db.DataVersion(ctx); return err },
		"Ping":        func() error { return db.Ping(ctx) },
		"Tenant":      func() error { _, err := db.Tenant(ctx, "t1"); return err },
		"UserMachines": func() error {
			_, err := db.UserMachines(ctx, "t1", openatp.UserRef{Name: "alice"})
			return err
		},
		"SetSetting": func() error { return db.SetSetting(ctx, "a", "b") },
		"Snapshot": func() error {
			return db.Snapshot(ctx, "t1", func(openatp.Machine) error { return nil }, func(openatp.UserMachine) error { return nil })
		},
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		if !openatp.IsKind(err, openatp.Unavailable) {
			t.Errorf("%s with the server stopped: %v, want an Unavailable error", name, err)
		}
		if d := time.Since(start); d > 6*time.Second {
			t.Errorf("%s took %v to fail", name, d)
		}
	}
	srv.Restart(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := db.Tenant(ctx, "t1")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping after the restart: %v", err)
	}
}

// BenchmarkDataVersion measures the call the API makes on every request
// (shared between concurrent ones).
func BenchmarkDataVersion(b *testing.B) {
	db := openAt(b, pgtest.NewDatabase(b))
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := db.DataVersion(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
