package postgres

import (
	"context"
	"testing"

	"github.com/openatp/openatp/internal/sqlstore"
)

// AppliedMigrations returns the names in db's schema_migrations table.
func AppliedMigrations(t *testing.T, db *DB) []string {
	t.Helper()
	names, err := sqlstore.List(context.Background(), reader{q: db.pool}, "cannot read schema_migrations", sqlstore.ScanString, "SELECT name FROM schema_migrations ORDER BY name")
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

// IPHistoryRows counts the rows of the IP history of all tenants.
func IPHistoryRows(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.pool.QueryRow(context.Background(), "SELECT count(*) FROM machine_ips").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
