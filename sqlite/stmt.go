package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"sync"

	"github.com/openatp/openatp/internal/sqlstore"
)

// stmtCache prepares each query once per pool. Preparing costs more than
// running most of openatp's queries (SQLite parses and plans the text every
// time), so the fixed queries of hot paths go through a cache; database/sql
// then re-prepares a cached statement lazily on each pool connection.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache { return &stmtCache{db: db, m: map[string]*sql.Stmt{}} }

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.m[query]; s != nil {
		return s, nil
	}
	s, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.m[query] = s
	return s, nil
}

// Which statements keep keeps: those of at least keptArgs arguments (the
// multi-row INSERTs of an import, whose preparing costs as much as
// running them a few times), at most keptMax of them.
const (
	keptArgs = 1024
	keptMax  = 16
)

// keep prepares on the pool, to be reused by the next transactions, the
// large statements a transaction prepared (stmts, by text), while c
// holds fewer than keptMax. The transaction has ended: with the one
// writer connection, a statement cannot be prepared on the pool while a
// transaction holds it.
func (c *stmtCache) keep(ctx context.Context, stmts map[string]*sql.Stmt) {
	for query := range stmts {
		c.mu.Lock()
		skip := c.m[query] != nil || len(c.m) >= keptMax
		c.mu.Unlock()
		if skip || strings.Count(query, "?") < keptArgs {
			continue
		}
		c.get(ctx, query) // best effort: an error leaves it to be prepared in each transaction
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.m {
		s.Close()
	}
	clear(c.m)
}

// conn runs cached statements on a pool, or inside tx when it is set.
// stmts, when set, keeps the statements a transaction prepared by their
// text: database/sql keeps each statement prepared in a transaction until
// it ends, so a long transaction (an import) that prepared each query
// anew would hold one per call.
type conn struct {
	c     *stmtCache
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
}

func (q conn) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if q.tx == nil {
		return q.c.get(ctx, query)
	}
	// Inside a transaction, use a statement the pool has prepared already;
	// preparing one on the pool would need a second connection (and the
	// writer pool has only the one tx holds).
	if s := q.stmts[query]; s != nil {
		return s, nil
	}
	if q.c != nil {
		q.c.mu.Lock()
		s := q.c.m[query]
		q.c.mu.Unlock()
		if s != nil {
			ts := q.tx.StmtContext(ctx, s)
			if q.stmts != nil {
				q.stmts[query] = ts
			}
			return ts, nil
		}
	}
	s, err := q.tx.PrepareContext(ctx, query)
	if err == nil && q.stmts != nil {
		q.stmts[query] = s
	}
	return s, err
}

// query runs a cached query.
func (q conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := q.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// queryRow runs a cached query and scans its first row into dest.
func (q conn) queryRow(ctx context.Context, dest []any, query string, args ...any) error {
	s, err := q.stmt(ctx, query)
	if err != nil {
		return err
	}
	return s.QueryRowContext(ctx, args...).Scan(dest...)
}

// Query runs a cached query of package sqlstore.
func (q conn) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return closeRows{rows}, nil
}

// Exec runs a statement in the transaction q.tx.
func (q conn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if len(args) > 0 && q.stmts != nil && !strings.Contains(query, ";") {
		// A statement with arguments is prepared once per transaction:
		// parsing a multi-row INSERT cost as much as running it.
		s, err := q.stmt(ctx, query)
		if err != nil {
			return 0, err
		}
		res, err := s.ExecContext(ctx, args...)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
	res, err := q.tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Error is storeError.
func (conn) Error(err error, msg string) error { return storeError(err, msg) }

// closeRows are *sql.Rows closed as sqlstore.Rows are.
type closeRows struct{ *sql.Rows }

func (r closeRows) Close() { r.Rows.Close() }
