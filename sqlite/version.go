package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"sync"
)

// versionConn reads PRAGMA data_version on a connection of its own that
// never writes, so the value changes with every commit of any other
// connection, in this process or another. It talks to the driver
// connection directly: through database/sql a call costs several times as
// much, and DataVersion runs on every API request.
type versionConn struct {
	mu   sync.Mutex
	conn *sql.Conn
	stmt driver.Stmt // prepared on conn's driver connection
	dest [1]driver.Value
}

func newVersionConn(ctx context.Context, db *sql.DB) (*versionConn, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, unavailable(err, "cannot open the database")
	}
	v := &versionConn{conn: conn}
	err = conn.Raw(func(dc any) error {
		v.stmt, err = dc.(driver.Conn).Prepare("PRAGMA data_version")
		return err
	})
	if err != nil {
		conn.Close()
		return nil, unavailable(err, "cannot prepare PRAGMA data_version")
	}
	return v, nil
}

// get returns the current data_version.
func (v *versionConn) get() (uint64, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	var n uint64
	err := v.conn.Raw(func(any) error {
		rows, err := v.stmt.(driver.StmtQueryContext).QueryContext(context.Background(), nil)
		if err != nil {
			return err
		}
		defer rows.Close()
		if err := rows.Next(v.dest[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("PRAGMA data_version returned no row")
			}
			return err
		}
		i, ok := v.dest[0].(int64)
		if !ok {
			return errors.New("PRAGMA data_version returned a non-integer")
		}
		n = uint64(i)
		return nil
	})
	if err != nil {
		return 0, unavailable(err, "cannot read the data version")
	}
	return n, nil
}

func (v *versionConn) close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	var err error
	if v.stmt != nil {
		err = v.conn.Raw(func(any) error { return v.stmt.Close() })
		v.stmt = nil
	}
	if e := v.conn.Close(); err == nil {
		err = e
	}
	return err
}
