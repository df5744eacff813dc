package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// reader runs the queries of package sqlstore on q (the pool or a
// transaction), their placeholders rewritten. With a timeout, each query
// is bounded by it unless the caller's context ends sooner (the pool's
// reads); without, by the caller's context only (a transaction's reads,
// such as a snapshot streamed for minutes).
type reader struct {
	q       querier
	timeout time.Duration
}

// dollars holds the queries rewritten by sqlstore.Dollar: the shared
// queries are a fixed set of texts.
var dollars sync.Map

// dollar is sqlstore.Dollar(query), rewritten once.
func dollar(query string) string {
	if v, ok := dollars.Load(query); ok {
		return v.(string)
	}
	v := sqlstore.Dollar(query)
	dollars.Store(query, v)
	return v
}

// Query runs a query written with ? placeholders.
func (r reader) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	cancel := context.CancelFunc(func() {})
	if r.timeout > 0 {
		ctx, cancel = withTimeout(ctx, r.timeout)
	}
	rows, err := r.q.Query(ctx, dollar(query), args...)
	if err != nil {
		cancel()
		return nil, err
	}
	return timedRows{rows, cancel}, nil
}

// Exec runs a statement written with ? placeholders.
func (r reader) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := r.q.Exec(ctx, dollar(query), args...)
	return tag.RowsAffected(), err
}

// Error is storeError.
func (reader) Error(err error, msg string) error { return storeError(err, msg) }

// timedRows ends the query's time limit when it is closed.
type timedRows struct {
	pgx.Rows
	cancel context.CancelFunc
}

func (r timedRows) Close() {
	r.Rows.Close()
	r.cancel()
}

// smallTx runs f in a write transaction bounded by queryTimeout: the
// transactions of the shared writes (sqlstore.Writer).
func (db *DB) smallTx(ctx context.Context, f func(x sqlstore.Execer) (bool, error)) error {
	ctx, cancel := withTimeout(ctx, queryTimeout)
	defer cancel()
	return db.inTx(ctx, func(tx pgx.Tx) (bool, error) { return f(inTxReader(tx)) })
}

// inTxReader runs the shared queries in tx.
func inTxReader(tx pgx.Tx) reader { return reader{q: tx} }

// scanMachines returns a scan of rows of sqlstore.MachineColumns.
func scanMachines() func(sqlstore.Scanner) (openatp.Machine, error) {
	var s machineScanner
	return s.scan
}
