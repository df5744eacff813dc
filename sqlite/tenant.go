package sqlite

import (
	"database/sql"

	"github.com/openatp/openatp/internal/sqlstore"
)

// scanner is what *sql.Row and *sql.Rows have in common.
// scanner is a row: *sql.Row or *sql.Rows.
type scanner = sqlstore.Scanner

// collect reads every row of rows (the result of a query that returned
// err) with scan and closes rows; the list is never nil. Errors are the
// store's "msg" (an *openatp.Error of scan, such as a bad stored list, as
// it is).
func collect[T any](rows *sql.Rows, err error, msg string, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, storeError(err, msg)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, storeError(err, msg)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, storeError(err, msg)
	}
	return out, nil
}
