// Package sqlstore is the part of openatp's two SQL stores (packages
// sqlite and postgres) that is the same in both: the read queries whose
// SQL both engines run as it is (Reader), how values are encoded in
// columns and read back from rows, how a batch of logon events is merged
// before it is written, the change feed's and the IP history's rows.
//
// Queries are written once, with SQLite's placeholders: ? for the next
// argument, ?N for argument N. An engine with other placeholders rewrites
// them (Dollar, for PostgreSQL). What an engine does its own way (schema,
// upserts, bulk writes, locks, transactions, scans of its driver's types)
// stays in its package. The response actions' shared SQL is in package
// actionsql, beside this one.
package sqlstore

import (
	"context"
	"strconv"
	"strings"
)

// Scanner is a row of either engine: *sql.Row, *sql.Rows, pgx.Row,
// pgx.Rows. The tables have the same columns, of types both drivers scan
// alike, in both engines, so one function reads each kind of row.
type Scanner interface{ Scan(dest ...any) error }

// Rows is a result set of either engine.
type Rows interface {
	Scanner
	Next() bool
	Err() error
	Close()
}

// Querier is an engine's connection pool or transaction, as the shared
// reads use it.
type Querier interface {
	// Query runs a query written with ? and ?N placeholders. The caller
	// closes the rows.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// Error converts an error of the engine that is not an *openatp.Error
	// into one (the engine's kinds: Unavailable, Canceled, Conflict...),
	// with the message msg; nil stays nil.
	Error(err error, msg string) error
}

// Dollar rewrites the placeholders of query for PostgreSQL: ?N becomes $N
// and each bare ? the next number ($1, $2, ...). Text in quotes is left
// as it is.
func Dollar(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			b.WriteByte('$')
			if j > i+1 {
				b.WriteString(query[i+1 : j])
			} else {
				n++
				b.WriteString(strconv.Itoa(n))
			}
			i = j - 1
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// List runs query on q and reads every row with scan; the list is never
// nil. Errors are the engine's, with msg (an *openatp.Error of scan, such
// as a bad stored list, as it is).
func List[T any](ctx context.Context, q Querier, msg string, scan func(Scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, q.Error(err, msg)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, q.Error(err, msg)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, q.Error(err, msg)
	}
	return out, nil
}

// Get runs query on q and reads its first row with scan; with no row,
// the error is notFound's. Other errors are the engine's, with msg.
func Get[T any](ctx context.Context, q Querier, msg string, notFound func() error, scan func(Scanner) (T, error), query string, args ...any) (v T, err error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return v, q.Error(err, msg)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return v, q.Error(err, msg)
		}
		return v, notFound()
	}
	if v, err = scan(rows); err != nil {
		return v, q.Error(err, msg)
	}
	return v, nil
}

// Each runs query on q, reads every row with scan and calls f with it,
// stopping at the first error: f's is returned as it is, an error of
// reading rows is the engine's, with msg.
func Each[T any](ctx context.Context, q Querier, msg string, scan func(Scanner) (T, error), f func(T) error, query string, args ...any) error {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return q.Error(err, msg)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return q.Error(err, msg)
		}
		if err := f(v); err != nil {
			return err
		}
	}
	return q.Error(rows.Err(), msg)
}

// ScanString reads a row of one text column.
func ScanString(s Scanner) (v string, err error) { return v, s.Scan(&v) }

// FirstOf returns the first item of the result of a call for several
// items (made for one), or its error.
func FirstOf[T any](list []T, err error) (T, error) {
	if err != nil || len(list) == 0 {
		var zero T
		return zero, err
	}
	return list[0], nil
}

// importChunk is the number of ids an import's reads name per query.
const importChunk = 500

// InChunks calls f with the distinct values of ids, importChunk at a
// time, as the placeholders of an IN list and their arguments.
func InChunks(ids []string, f func(list string, args []any) error) error {
	seen := make(map[string]bool, len(ids))
	var args []any
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		err := f("(?"+strings.Repeat(", ?", len(args)-1)+")", args)
		args = args[:0]
		return err
	}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if args = append(args, id); len(args) == importChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
