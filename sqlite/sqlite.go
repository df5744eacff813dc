// Package sqlite implements openatp.Store on one SQLite file, the embedded
// default engine.
//
// The file is opened in WAL mode so that several processes (a running server
// and CLI commands) can share it: readers never block the writer, writers
// wait for each other up to a busy timeout. Within a process, all writes go
// through a single connection that begins its transactions IMMEDIATE, so a
// write transaction never fails half way because another writer got there
// first; reads use a separate pool.
//
// Times are stored as INTEGER nanoseconds since the Unix epoch, UTC. A time
// outside the range that fits (years 1678 to 2262) is Invalid.
//
// The reads and small writes whose SQL is the same on PostgreSQL are
// written once (internal/sqlstore); this package holds what is SQLite's
// own: schema, multi-row upserts, the key cache, the statement cache and
// the read model's scan.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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

// busyTimeout is how long a statement waits for another connection or
// process to release its lock before failing with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// DB is an openatp.Store on one SQLite file. It is safe for concurrent use.
type DB struct {
	// Reader and Writer make the reads and the small writes whose SQL is
	// the same on PostgreSQL; Store the response actions' reads and writes,
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

	rdb  *sql.DB // readers; transactions begin DEFERRED
	wdb  *sql.DB // one writer connection; transactions begin IMMEDIATE
	r    *stmtCache
	w    *stmtCache // the writer's large statements, kept across transactions (inTx)
	keys keyCache   // of AddLogons
	ver  *versionConn

	// shm is the mapped WAL-index header while DataVersion trusts it (nil:
	// it reads the PRAGMA); the DB holds one reference to it meanwhile
	// (dropShm releases it).
	shm           atomic.Pointer[shmWatch]
	opened        time.Time    // the monotonic clock of shmNext
	shmNext       atomic.Int64 // when the next cross-check is due, in nanoseconds since opened
	shmCheckMu    sync.Mutex
	shmChecked    bool
	shmLastPragma uint64
	shmLastHash   uint64
}

// Open opens (creating if needed, with mode 0600) the SQLite database file
// at path and brings its schema up to date. Several processes may open the
// same file at once.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" || strings.HasPrefix(path, ":memory:") || strings.Contains(path, "?") {
		return nil, openatp.Errorf(openatp.Invalid, "sqlite: %q is not a database file path", path)
	}
	// The file holds the signing keys and the admin key: readable by its
	// owner only. SQLite gives its -wal and -shm files the same mode.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, unavailable(err, "cannot create the database file")
	}
	db := &DB{Now: time.Now, opened: time.Now()}
	var err error
	if db.wdb, err = sql.Open(driverName, dsn(path, "immediate", writerCacheKiB)); err != nil {
		return nil, unavailable(err, "cannot open the database")
	}
	db.wdb.SetMaxOpenConns(1)
	db.wdb.SetMaxIdleConns(1)
	db.wdb.SetConnMaxIdleTime(0)
	db.wdb.SetConnMaxLifetime(0)
	if err := db.migrateRetrying(ctx); err != nil {
		db.wdb.Close()
		return nil, err
	}
	if db.rdb, err = sql.Open(driverName, dsn(path, "deferred", readerCacheKiB)); err != nil {
		db.wdb.Close()
		return nil, unavailable(err, "cannot open the database")
	}
	// Readers do not block each other; the bound only keeps a burst of
	// requests from opening a connection (and a page cache) each.
	n := max(8, 4*runtime.GOMAXPROCS(0))
	db.rdb.SetMaxOpenConns(n + 1) // +1: the DataVersion connection
	db.rdb.SetMaxIdleConns(n + 1)
	db.r = newStmtCache(db.rdb)
	db.w = newStmtCache(db.wdb)
	db.Reader = sqlstore.NewReader(db.read(), scanMachines)
	db.Writer = sqlstore.NewWriter(sqlstore.WriteEngine{Tx: db.smallTx, Now: db.now, Renumber: renumber,
		TenantSeq: "SELECT seq FROM tenants WHERE id = ?", LockTenant: "SELECT seq FROM tenants WHERE id = ?"})
	db.Store = actionsql.New(db.Writer, db.Reader)
	db.Events = eventsql.New(db.Writer, db.Reader, eventsql.Dialect{Texts: "SELECT value FROM json_each(?)", TextsArg: jsonTexts})
	db.Vuln = tvmsql.New(db.Writer, db.Reader, db.DataVersion)
	if db.ver, err = newVersionConn(ctx, db.rdb); err != nil {
		db.rdb.Close()
		db.wdb.Close()
		return nil, err
	}
	if _, err := db.ver.get(); err == nil { // a read maps the -shm file
		if w := openShm(path); w != nil {
			db.shm.Store(w)
		}
	}
	return db, nil
}

// Page cache sizes, in KiB: the writer's is large because bulk UPSERTs
// touch index pages all over the file.
const (
	writerCacheKiB = 64 << 10
	readerCacheKiB = 16 << 10
)

// params are the DSN parameters every connection needs. busy_timeout comes
// first (both drivers apply it first) so that switching to WAL waits for a
// concurrent opener instead of failing.
func params(txlock string) url.Values {
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	q.Set("_foreign_keys", "1")
	q.Set("_txlock", txlock)
	return q
}

// Close closes the database, waiting for running queries to finish.
func (db *DB) Close() error {
	db.dropShm()
	err := db.ver.close()
	db.r.close()
	db.w.close()
	if e := db.rdb.Close(); err == nil {
		err = e
	}
	if e := db.wdb.Close(); err == nil {
		err = e
	}
	if err != nil {
		return internal(err, "closing the database")
	}
	return nil
}

// Ping reports whether the database file can be read. Unavailable if not.
func (db *DB) Ping(ctx context.Context) error {
	var n int
	if err := db.rdb.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		return unavailable(err, "the database cannot be read")
	}
	return nil
}

// ContentVersion returns the counter of the tenant's content writes (see
// openatp.Store.ContentVersion; 0 for a tenant that does not exist),
// combined with the global counter that processes of the previous version
// bump on every write (migration 0005).
func (db *DB) ContentVersion(ctx context.Context, tenantID string) (uint64, error) {
	var legacy, v int64
	err := db.read().queryRow(ctx, []any{&legacy, &v}, `SELECT (SELECT v FROM content_version WHERE id = 1),
		coalesce((SELECT content_version FROM tenants WHERE id = ?), 0)`, tenantID)
	if err != nil {
		return 0, storeError(err, "cannot read the content version")
	}
	return sqlstore.ContentVersion(legacy, v), nil
}

// crossCheckEvery is the least time between two PRAGMA cross-checks of the
// shared header (a variable for tests). A cross-check costs two read
// transactions, tens of microseconds on a large file: one per request
// was 2 % of a server's CPU at 25,000 requests a second.
var crossCheckEvery = 50 * time.Millisecond

// DataVersion returns a number that changes whenever any connection of this
// or another process has committed a write since the previous call. It
// hashes the WAL-index header in the shared -shm memory (no system call);
// where that is not possible, it reads PRAGMA data_version on a dedicated
// connection that never writes. The first call after crossCheckEvery since
// the last cross-check also reads the PRAGMA, before and after the hash: if,
// between two such checks that no commit interleaved with, the PRAGMA shows
// a commit the header did not, the header is never trusted again.
// Unavailable if the connection is lost or the DB closed.
func (db *DB) DataVersion(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, ctxError(err)
	}
	w := db.shm.Load()
	if w == nil || !w.acquire() {
		return db.ver.get()
	}
	defer w.release()
	now := int64(time.Since(db.opened))
	if due := db.shmNext.Load(); now < due || !db.shmNext.CompareAndSwap(due, now+int64(crossCheckEvery)) {
		if v, ok := w.version(); ok {
			return v, nil
		}
		return db.ver.get()
	}
	// A commit between the two PRAGMA reads may or may not be in the
	// hash: such a pair proves nothing and is not compared.
	p, err := db.ver.get()
	if err != nil {
		return 0, err
	}
	v, ok := w.version()
	if !ok {
		return p, nil
	}
	if p2, err := db.ver.get(); err != nil || p2 != p {
		return v, err
	}
	db.shmCheckMu.Lock()
	defer db.shmCheckMu.Unlock()
	if db.shmChecked && p != db.shmLastPragma && v == db.shmLastHash {
		db.dropShm() // the header missed a commit: stop trusting it
		return p, nil
	}
	db.shmChecked, db.shmLastPragma, db.shmLastHash = true, p, v
	return v, nil
}

// dropShm stops DataVersion from reading the shared header and releases
// the DB's reference to it: the header is unmapped once no call reads it.
func (db *DB) dropShm() {
	if w := db.shm.Swap(nil); w != nil {
		w.release()
	}
}

// migrateRetrying runs migrate, again while it finds the database busy:
// several processes opening a new file at once find it changing to WAL,
// which SQLite answers with SQLITE_BUSY at once rather than through the
// busy timeout (TestConcurrentOpen saw it in about 2 % of its runs).
func (db *DB) migrateRetrying(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		err := db.migrate(ctx)
		if err == nil || !isBusy(err) || attempt == 50 {
			return err
		}
		select {
		case <-time.After(time.Duration(attempt) * 5 * time.Millisecond):
		case <-ctx.Done():
			return err
		}
	}
}

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, in name order, in one IMMEDIATE transaction: a second
// process opening the same new file waits for the first and then finds
// nothing left to do.
func (db *DB) migrate(ctx context.Context) error {
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err, "cannot open the database")
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name    TEXT PRIMARY KEY,
		applied INTEGER NOT NULL
	)`); err != nil {
		return unavailable(err, "cannot create schema_migrations")
	}
	err = sqlstore.Migrate(ctx, conn{tx: tx}, migrations, func(ctx context.Context, text string) error {
		_, err := tx.ExecContext(ctx, text)
		return err
	})
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return unavailable(err, "committing migrations")
	}
	return nil
}

// now returns db.Now rounded to the precision openatp keeps.
func (db *DB) now() time.Time { return db.Now().UTC().Round(openatp.TimePrecision) }

// read runs cached statements on the reader pool.
func (db *DB) read() conn { return conn{c: db.r} }

// inTx runs f in a write transaction and commits it if f returns nil. q
// runs cached statements in tx. A write of a tenant's content calls
// bumpContent in it.
func (db *DB) inTx(ctx context.Context, f func(tx *sql.Tx, q conn) error) error {
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return storeError(err, "cannot begin a transaction")
	}
	defer tx.Rollback()
	q := conn{c: db.w, tx: tx, stmts: map[string]*sql.Stmt{}}
	if err := f(tx, q); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return storeError(err, "cannot commit")
	}
	db.w.keep(ctx, q.stmts)
	return nil
}

// smallTx runs f in a write transaction: the transactions of the shared
// writes (sqlstore.Writer).
func (db *DB) smallTx(ctx context.Context, f func(x sqlstore.Execer) (bool, error)) error {
	return db.inTx(ctx, func(_ *sql.Tx, q conn) error {
		_, err := f(q)
		return err
	})
}

// bumpContent bumps the content version of the tenant of row tseq (see
// openatp.Store.ContentVersion) and records in the change feed what the
// transaction changed, compacting the feed every sqlstore.CompactEvery
// versions.
func bumpContent(ctx context.Context, tx *sql.Tx, tseq int64, log *sqlstore.ChangeLog) error {
	var v int64
	err := tx.QueryRowContext(ctx, "UPDATE tenants SET content_version = content_version + 1 WHERE seq = ? RETURNING content_version", tseq).Scan(&v)
	if err != nil {
		return storeError(err, "cannot bump the content version")
	}
	b := newBulk(tx, "INSERT INTO content_changes (tenant_seq, version, machine_id, name_key, domain_key, alert_id)", 6, "")
	for _, r := range log.Rows() {
		if err := b.add(ctx, tseq, v, r[0], r[1], r[2], r[3]); err != nil {
			return storeError(err, "cannot record the change")
		}
	}
	if err := b.flush(ctx); err != nil {
		return storeError(err, "cannot record the change")
	}
	if below := sqlstore.CompactBelow(v); below > 0 {
		if _, err := tx.ExecContext(ctx, "DELETE FROM content_changes WHERE tenant_seq = ? AND version <= ?", tseq, below); err != nil {
			return storeError(err, "cannot compact the change feed")
		}
	}
	return nil
}

// fromNanos converts a stored time back.

// storeError converts an error of the driver or of database/sql that is
// not a domain error into one: Conflict for a unique violation, NotFound for
// sql.ErrNoRows, Unavailable when the database is locked or cannot be read
// (an I/O error, a file that cannot be opened or is not a database) or a
// deadline passed, Canceled when the caller's context was canceled,
// else Internal. msg is shown; err is kept as the
// cause. A nil err is nil.
func storeError(err error, msg string) error {
	if err == nil {
		return nil
	}
	var e *openatp.Error
	switch {
	case errors.As(err, &e):
		return err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ctxError(err)
	case isInterrupt(err): // the driver's answer to a canceled context
		return canceled(err)
	case errors.Is(err, sql.ErrNoRows):
		return &openatp.Error{Kind: openatp.NotFound, Code: "ResourceNotFound", Message: msg, Err: err}
	case isUniqueViolation(err):
		return &openatp.Error{Kind: openatp.Conflict, Message: msg, Err: err}
	case isBusy(err), isIOError(err), errors.Is(err, sql.ErrConnDone), strings.HasSuffix(err.Error(), "sql: database is closed"):
		return unavailable(err, msg)
	}
	return internal(err, msg)
}

// ctxError is the error of a canceled or expired context: Canceled when
// the caller went away, Unavailable when a deadline passed.
func ctxError(err error) error {
	if errors.Is(err, context.Canceled) {
		return canceled(err)
	}
	return &openatp.Error{Kind: openatp.Unavailable, Message: "the request timed out", Err: err}
}

func canceled(err error) error {
	return &openatp.Error{Kind: openatp.Canceled, Message: "the request was canceled", Err: err}
}

func internal(err error, msg string) error {
	return &openatp.Error{Kind: openatp.Internal, Message: msg, Err: err}
}

func unavailable(err error, msg string) error {
	return &openatp.Error{Kind: openatp.Unavailable, Message: msg, Err: err}
}

var _ vuln.Store = (*DB)(nil)

// jsonTexts is the JSON array of ts, as text (the argument of json_each).
func jsonTexts(ts []string) any {
	n := 2
	for _, t := range ts {
		n += len(t) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, t := range ts {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, t)
	}
	return string(append(b, ']'))
}

// appendJSONString appends s to b as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			j, _ := json.Marshal(s) // cannot fail: a string
			return append(b, j...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
