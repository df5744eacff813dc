package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// Changes returns what changed in the tenant's content after content
// version since, read in one read transaction (see openatp.ChangeStore).
// NotFound if the tenant does not exist.
func (db *DB) Changes(ctx context.Context, tenantID string, since uint64, limit int) (openatp.Changes, error) {
	tx, err := db.rdb.BeginTx(ctx, nil)
	if err != nil {
		return openatp.Changes{}, storeError(err, "cannot begin a transaction")
	}
	defer tx.Rollback()
	var tseq, legacy, v int64
	err = tx.QueryRowContext(ctx, `SELECT seq, content_version, (SELECT v FROM content_version WHERE id = 1)
		FROM tenants WHERE id = ?`, tenantID).Scan(&tseq, &v, &legacy)
	if errors.Is(err, sql.ErrNoRows) {
		return openatp.Changes{}, sqlstore.TenantNotFound(tenantID)
	}
	if err != nil {
		return openatp.Changes{}, storeError(err, "cannot read the content version")
	}
	return db.Reader.Changes(ctx, conn{c: db.r, tx: tx}, tseq, legacy, v, since, limit)
}
