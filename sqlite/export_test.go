package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/openatp/openatp/internal/sqlstore"
)

// CheckMigrations returns an error unless db's schema_migrations table
// records exactly the embedded migrations.
func CheckMigrations(db *DB) error {
	return sqlstore.CheckMigrations(context.Background(), db.read(), migrations)
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

// SplitScans makes every ScanTenant of a table whose seqs span at least
// n read it in two halves, and f run before the second half's
// transaction begins, until t ends.
func SplitScans(t *testing.T, n int64, f func()) {
	old := scanSplitMin
	scanSplitMin, beforeHalfRead = n, f
	t.Cleanup(func() { scanSplitMin, beforeHalfRead = old, nil })
}

// Positions maps list, a group_concat of machine seqs, to the positions of
// the machines of a scan that gave seqs in that order.
func Positions(seqs []int64, list string) ([]uint32, error) {
	p := newPositions(seqs)
	return p.list(list)
}
