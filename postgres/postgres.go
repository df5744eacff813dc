// Package postgres implements openatp.Store on PostgreSQL (pgx), the engine
// for several openatp replicas sharing one database.
//
// It keeps the same tables as package sqlite and behaves the same, as the
// conformance suite (package storetest) checks: times are bigint
// nanoseconds since the Unix epoch, text is compared and ordered in byte
// order (COLLATE "C"), case folding is openatp.NameKey's. The reads and
// small writes whose SQL is the same on both engines are written once
// (internal/sqlstore; their ? placeholders become $N here); this package
// holds what is PostgreSQL's own: schema, array upserts, locks, retries
// and time limits.
//
// Every write transaction bumps a one-row counter just before it commits;
// DataVersion reads it, so it changes with every committed write of any
// replica, and only then. Migrations are embedded and applied at Open in one
// transaction that first takes a transaction-scoped advisory lock: replicas
// that start together apply them once, the others wait and find nothing to
// do.
//
// Errors of an unreachable database (refused or lost connections, a server
// shutting down, a timeout) are of kind openatp.Unavailable. Connecting
// times out after 5 seconds and the small queries of the request path after
// 10 (unless the caller's context says sooner), so a stopped or hung server
// never hangs a caller.
package postgres

import (
	"context"
	"embed"
	"errors"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
	"github.com/openatp/openatp/internal/sqlstore/actionsql"
	"github.com/openatp/openatp/internal/sqlstore/eventsql"
	"github.com/openatp/openatp/internal/sqlstore/tvmsql"
	"github.com/openatp/openatp/vuln"
)

//go:embed migrations/*.sql
var migrations embed.FS

var _ openatp.Store = (*DB)(nil)

// Timeouts applied when the caller's context has no earlier deadline.
const (
	connectTimeout = 5 * time.Second  // establishing one connection
	queryTimeout   = 10 * time.Second // one query of the request path, or a small write
	versionTimeout = 5 * time.Second  // DataVersion and Ping
)

// migrationLock is the key of the advisory lock that serializes migrations
// ("openatp" in ASCII).
const migrationLock int64 = 0x6f70656e617470

// contentLock is the first key of the advisory locks that keep a tenant's
// WriteBatch transactions apart from its other content writes ("oatp").
const contentLock int32 = 0x6f617470

// lockContent takes the tenant's content-write advisory lock until the
// transaction ends: exclusive for WriteBatch, whose writes come in several
// statements whose rows are in no order across statements, so that two
// batches (or a batch and another write) cannot lock rows in opposite
// orders and deadlock; shared for AddLogons and UpsertMachines, which lock
// rows in sorted order, table by table, and so run side by side. It is
// taken after the tenant row's FOR SHARE lock, before any other.
func lockContent(ctx context.Context, tx pgx.Tx, tseq int64, exclusive bool) error {
	lock := "SELECT pg_advisory_xact_lock_shared($1, ($2 % 2147483647)::int4)"
	if exclusive {
		lock = "SELECT pg_advisory_xact_lock($1, ($2 % 2147483647)::int4)"
	}
	if _, err := tx.Exec(ctx, lock, contentLock, tseq); err != nil {
		return storeError(err, "cannot lock the tenant's content")
	}
	return nil
}

// DB is an openatp.Store on a PostgreSQL database. It is safe for
// concurrent use.
type DB struct {
	// Reader and Writer make the reads and the small writes whose SQL is
	// the same on SQLite; Store the response actions' reads and writes,
	// whose SQL is too.
	sqlstore.Reader
	sqlstore.Writer
	actionsql.Store
	// Events is the observed file and network events, whose SQL is the
	// same in both engines.
	eventsql.Events
	// Vuln is vulnerability management (vuln.Store), whose SQL is the
	// same in both engines.
	*tvmsql.Vuln

	// Now returns the current time. It stamps tenants, apps and signing keys
	// stored with a zero Created, and the IP history of machines written
	// without a LastSeen. Tests may replace it before first use.
	Now func() time.Time

	pool *pgxpool.Pool
	// ver is a small pool of its own for DataVersion, ContentVersion and
	// Ping, so that the per-request version check never queues behind
	// queries waiting for a connection of pool.
	ver *pgxpool.Pool
}

// Open connects to the database at url (postgres://user:pass@host:port/db
// ?sslmode=..., or any form pgx accepts, including its pool_max_conns and
// connect_timeout parameters) and brings its schema up to date. Several
// processes may open the same database at once.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, &openatp.Error{Kind: openatp.Invalid, Message: "postgres: cannot parse the database URL", Err: err}
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	if !hasParam(url, "pool_max_conns") {
		cfg.MaxConns = int32(max(8, 4*runtime.GOMAXPROCS(0)))
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "openatp"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, storeError(err, "cannot connect to the database")
	}
	vcfg := cfg.Copy()
	vcfg.MaxConns = 2
	ver, err := pgxpool.NewWithConfig(ctx, vcfg)
	if err != nil {
		pool.Close()
		return nil, storeError(err, "cannot connect to the database")
	}
	db := &DB{Now: time.Now, pool: pool, ver: ver}
	db.Reader = sqlstore.NewReader(reader{q: pool, timeout: queryTimeout}, scanMachines)
	db.Writer = sqlstore.NewWriter(sqlstore.WriteEngine{Tx: db.smallTx, Now: db.now, Renumber: renumber,
		TenantSeq: "SELECT seq FROM tenants WHERE id = ? FOR SHARE", LockTenant: "SELECT seq FROM tenants WHERE id = ? FOR UPDATE"})
	db.Store = actionsql.New(db.Writer, db.Reader)
	db.Events = eventsql.New(db.Writer, db.Reader, eventsql.Dialect{Texts: "SELECT unnest(?::text[])",
		TextsArg: func(ts []string) any { return ts }})
	db.Vuln = tvmsql.New(db.Writer, db.Reader, nil)
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// hasParam reports whether the connection string sets the parameter name,
// in URL (?name=) or keyword/value (name=) form.
func hasParam(s, name string) bool {
	for i := 0; i+len(name) < len(s); i++ {
		if s[i:i+len(name)] == name && s[i+len(name)] == '=' && (i == 0 || s[i-1] == '?' || s[i-1] == '&' || s[i-1] == ' ') {
			return true
		}
	}
	return false
}

// Close closes every connection, waiting for running queries to finish.
func (db *DB) Close() error {
	db.ver.Close()
	db.pool.Close()
	return nil
}

// Ping reports whether the database answers a query. Unavailable if not.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := withTimeout(ctx, versionTimeout)
	defer cancel()
	var n int
	if err := db.ver.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil {
		return storeError(err, "PostgreSQL did not answer")
	}
	return nil
}

// DataVersion returns the counter that every write transaction of every
// replica bumps before it commits. One indexed single-row read. Unavailable
// if the database cannot be reached within 5 seconds.
func (db *DB) DataVersion(ctx context.Context) (uint64, error) {
	ctx, cancel := withTimeout(ctx, versionTimeout)
	defer cancel()
	var v int64
	if err := db.ver.QueryRow(ctx, "SELECT v FROM data_version").Scan(&v); err != nil {
		return 0, storeError(err, "cannot read the data version")
	}
	return uint64(v), nil
}

// ContentVersion returns the counter of the tenant's content writes (see
// openatp.Store.ContentVersion; 0 for a tenant that does not exist or has
// never had content), combined with the global counter that replicas of
// the previous version bump on every write (migration 0004). Unavailable
// if the database cannot be reached within 5 seconds.
func (db *DB) ContentVersion(ctx context.Context, tenantID string) (uint64, error) {
	ctx, cancel := withTimeout(ctx, versionTimeout)
	defer cancel()
	var legacy, v int64
	if err := db.ver.QueryRow(ctx, `SELECT d.c, coalesce((SELECT c.v FROM tenant_content_version c
		JOIN tenants t ON t.seq = c.tenant_seq WHERE t.id = $1), 0) FROM data_version d`, tenantID).Scan(&legacy, &v); err != nil {
		return 0, storeError(err, "cannot read the content version")
	}
	return sqlstore.ContentVersion(legacy, v), nil
}

// withTimeout bounds ctx by d unless it has an earlier deadline.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, in name order, in one transaction that holds an
// advisory lock: concurrent openers wait for it and then find nothing left.
func (db *DB) migrate(ctx context.Context) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return storeError(err, "cannot connect to the database")
	}
	defer rollback(ctx, tx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLock); err != nil {
		return storeError(err, "cannot lock the schema for migrations")
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name    text COLLATE "C" PRIMARY KEY,
		applied bigint NOT NULL
	)`); err != nil {
		return storeError(err, "cannot create schema_migrations")
	}
	// No arguments: the simple protocol, which runs several statements.
	err = sqlstore.Migrate(ctx, inTxReader(tx), migrations, func(ctx context.Context, text string) error {
		_, err := tx.Exec(ctx, text)
		return err
	})
	if err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return storeError(err, "committing migrations")
	}
	return nil
}

// rollback rolls tx back (after a commit: does nothing), waiting at most
// versionTimeout even when ctx has ended, so that a hung server cannot hang
// the caller.
func rollback(ctx context.Context, tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), versionTimeout)
	defer cancel()
	_ = tx.Rollback(ctx)
}

// now returns db.Now rounded to the precision openatp keeps.
func (db *DB) now() time.Time { return db.Now().UTC().Round(openatp.TimePrecision) }

// querier is what a pool and a transaction have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// maxAttempts bounds how often inTx runs a transaction that failed with a
// serialization failure or a deadlock.
const maxAttempts = 4

// inTx runs f in a READ COMMITTED write transaction and commits it if f
// returns nil. Unless f reports that it changed nothing (changed false), the
// data version is bumped last, just before the commit, so that the new
// version becomes visible with the data, and the counter's row lock is held
// only for the commit; a write of a tenant's content bumps the tenant's
// content version (bumpContent) at its end, just before. A transaction
// that fails with a serialization failure or a deadlock is run again from
// the start.
func (db *DB) inTx(ctx context.Context, f func(tx pgx.Tx) (changed bool, err error)) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = db.tryTx(ctx, f)
		if attempt == maxAttempts || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * 10 * time.Millisecond):
		}
	}
}

// tryTx runs f in a write transaction once (see inTx).
func (db *DB) tryTx(ctx context.Context, f func(tx pgx.Tx) (bool, error)) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return storeError(err, "cannot begin a transaction")
	}
	defer rollback(ctx, tx)
	changed, err := f(tx)
	if err != nil {
		return err
	}
	if changed {
		if _, err := tx.Exec(ctx, "UPDATE data_version SET v = v + 1"); err != nil {
			return storeError(err, "cannot bump the data version")
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return storeError(err, "cannot commit")
	}
	return nil
}

// bumpContent bumps the content version of the tenant of row tseq (see
// openatp.Store.ContentVersion; its first content write starts it at a
// random value) and records in the change feed what the transaction
// changed, compacting the feed every sqlstore.CompactEvery versions. The
// bump locks the tenant's counter row until the transaction ends, so
// versions commit in the order they are given.
func bumpContent(ctx context.Context, tx pgx.Tx, tseq int64, log *sqlstore.ChangeLog) error {
	var v int64
	err := tx.QueryRow(ctx, `INSERT INTO tenant_content_version (tenant_seq, v)
		VALUES ($1, floor(random() * 4503599627370496)::bigint)
		ON CONFLICT (tenant_seq) DO UPDATE SET v = tenant_content_version.v + 1
		RETURNING v`, tseq).Scan(&v)
	if err != nil {
		return storeError(err, "cannot bump the content version")
	}
	rows := log.Rows()
	ids, names, domains, alerts := make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows))
	for i, r := range rows {
		ids[i], names[i], domains[i], alerts[i] = r[0], r[1], r[2], r[3]
	}
	if _, err := tx.Exec(ctx, `INSERT INTO content_changes (tenant_seq, version, machine_id, name_key, domain_key, alert_id)
		SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[])`, tseq, v, ids, names, domains, alerts); err != nil {
		return storeError(err, "cannot record the change")
	}
	if below := sqlstore.CompactBelow(v); below > 0 {
		if _, err := tx.Exec(ctx, "DELETE FROM content_changes WHERE tenant_seq = $1 AND version <= $2", tseq, below); err != nil {
			return storeError(err, "cannot compact the change feed")
		}
	}
	return nil
}

// tenantSeq returns the row number of a tenant. NotFound if none. With lock,
// the row is locked FOR SHARE until the transaction ends, so that no reset
// of the tenant commits in between.
func tenantSeq(ctx context.Context, q querier, tenantID string, lock bool) (int64, error) {
	query := "SELECT seq FROM tenants WHERE id = $1"
	if lock {
		query += " FOR SHARE"
	}
	var seq int64
	err := q.QueryRow(ctx, query, tenantID).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "tenant %s not found", sqlstore.Quote(tenantID))
	}
	if err != nil {
		return 0, storeError(err, "cannot read the tenant")
	}
	return seq, nil
}

// fromNanos converts a stored time back.

var _ vuln.Store = (*DB)(nil)
