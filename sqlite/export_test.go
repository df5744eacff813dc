package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/openatp/openatp/internal/sqlstore"
)

// AppliedMigrations returns the names in db's schema_migrations table.
func AppliedMigrations(t *testing.T, db *DB) []string {
	t.Helper()
	names, err := sqlstore.List(context.Background(), db.read(), "cannot read schema_migrations", sqlstore.ScanString, "SELECT name FROM schema_migrations ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// MigrationNames returns the names of the embedded migrations, in order.
func MigrationNames(t *testing.T) []string {
	t.Helper()
	names, err := sqlstore.MigrationNames(migrations)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// CrossCheckEvery sets the least time between two PRAGMA cross-checks of
// DataVersion until t ends.
func CrossCheckEvery(t *testing.T, d time.Duration) {
	old := crossCheckEvery
	crossCheckEvery = d
	t.Cleanup(func() { crossCheckEvery = old })
}

// ReadsSharedHeader reports whether DataVersion reads the WAL-index header
// from shared memory (rather than PRAGMA data_version).
func ReadsSharedHeader(db *DB) bool { return db.shm.Load() != nil }

// IPHistoryRows counts the rows of the IP history of all tenants.
func IPHistoryRows(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.rdb.QueryRow("SELECT count(*) FROM machine_ips").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// BeforeSideRead makes f run before the second transaction of every
// ScanTenant until t ends.
func BeforeSideRead(t *testing.T, f func()) {
	beforeSideRead = f
	t.Cleanup(func() { beforeSideRead = nil })
}
