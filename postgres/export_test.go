package postgres

import (
	"context"
	"testing"

	"github.com/openatp/openatp/internal/sqlstore"
)

// CheckMigrations returns an error unless db's schema_migrations table
// records exactly the embedded migrations.
func CheckMigrations(db *DB) error {
	return sqlstore.CheckMigrations(context.Background(), reader{q: db.pool}, migrations)
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
