package sqlite

import (
	"errors"
	"fmt"
	"net/url"

	sqlite3 "modernc.org/sqlite"
)

// driverName is the database/sql name of the pure-Go driver
// (docs/sqlite-driver.md says why this one).
const driverName = "sqlite"

// SQLite result codes (https://sqlite.org/rescode.html).
const (
	codeBusy             = 5
	codeLocked           = 6
	codeInterrupt        = 9
	codeIOErr            = 10
	codeCorrupt          = 11
	codeFull             = 13
	codeCantOpen         = 14
	codeNotADB           = 26
	codeConstraint       = 19
	codeConstraintPK     = 19 | 6<<8
	codeConstraintUnique = 19 | 8<<8
	codeConstraintFK     = 19 | 3<<8
	primaryCodeMask      = 0xff
)

func sqliteCode(err error) int {
	var e *sqlite3.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY
// constraint failure.
func isUniqueViolation(err error) bool {
	c := sqliteCode(err)
	return c == codeConstraintUnique || c == codeConstraintPK
}

// isInterrupt reports whether err says the statement was interrupted: the
// driver interrupts a statement whose context is done.
func isInterrupt(err error) bool { return sqliteCode(err)&primaryCodeMask == codeInterrupt }

// isIOError reports whether err says the database file cannot be read or
// written: an I/O error, a file that cannot be opened, is not (or no
// longer) a database, or a full disk. The store is then unavailable, not
// broken: the file may come back.
func isIOError(err error) bool {
	switch sqliteCode(err) & primaryCodeMask {
	case codeIOErr, codeCorrupt, codeFull, codeCantOpen, codeNotADB:
		return true
	}
	return false
}

// isBusy reports whether err says the database was locked too long.
func isBusy(err error) bool {
	c := sqliteCode(err) & primaryCodeMask
	return c == codeBusy || c == codeLocked
}

// dsn returns the data source name of the file at path.
func dsn(path, txlock string, cacheKiB int) string {
	q := params(txlock)
	q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", cacheKiB))
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", "wal_autocheckpoint(16384)")
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}
