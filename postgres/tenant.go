package postgres

import (
	"github.com/jackc/pgx/v5"

	"github.com/openatp/openatp/internal/sqlstore"
)

// collect reads every row of rows (the result of a query that returned
// err) with scan and closes rows; the list is never nil. Errors are the
// store's "msg" (an *openatp.Error of scan, such as a bad stored list, as
// it is).
func collect[T any](rows pgx.Rows, err error, msg string, scan func(sqlstore.Scanner) (T, error)) ([]T, error) {
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
