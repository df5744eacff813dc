package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/openatp/openatp"
)

// storeError converts an error of pgx that is not a domain error into one:
// Conflict for a unique violation, NotFound for pgx.ErrNoRows, Invalid for
// text PostgreSQL cannot store, Unavailable when the database cannot be
// reached (refused, lost or timed-out connections, a server shutting down
// or out of connections) or a deadline passed, Canceled when the caller's
// context was canceled, else Internal. msg is
// shown; for Unavailable it is followed by a short reason (the text /readyz
// shows); err is kept as the cause. A nil err is nil.
func storeError(err error, msg string) error {
	if err == nil {
		return nil
	}
	var e *openatp.Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, context.Canceled) { // the caller went away, whatever pgx wraps it in
		return &openatp.Error{Kind: openatp.Canceled, Message: "the request was canceled", Err: err}
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &openatp.Error{Kind: openatp.NotFound, Code: "ResourceNotFound", Message: msg, Err: err}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505": // unique_violation
			return &openatp.Error{Kind: openatp.Conflict, Message: msg, Err: err}
		case pe.Code == "22021" || pe.Code == "22P05": // character_not_in_repertoire, untranslatable_character
			return &openatp.Error{Kind: openatp.Invalid, Code: "InvalidInput", Message: msg + ": a text contains a character the database cannot store (NUL)", Err: err}
		case pe.Code == "57014": // query_canceled (statement_timeout, or our cancel)
			return unavailable(err, msg, "the query timed out")
		case pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03": // admin_shutdown, crash_shutdown, cannot_connect_now
			return unavailable(err, msg, "the database server is shutting down or starting up")
		case strings.HasPrefix(pe.Code, "08"): // connection exceptions
			return unavailable(err, msg, "the connection to the database failed")
		case strings.HasPrefix(pe.Code, "53"): // insufficient resources: too many connections, disk full, out of memory
			return unavailable(err, msg, "the database server is out of resources ("+pe.Message+")")
		case pe.Code == "25006": // read_only_sql_transaction: a standby, or a server in recovery
			return unavailable(err, msg, "the database is read-only (a standby?)")
		}
		return internal(err, msg)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err):
		return unavailable(err, msg, "the database did not answer in time")
	case errors.Is(err, syscall.ECONNREFUSED):
		return unavailable(err, msg, "connection refused")
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce):
		return unavailable(err, msg, "cannot connect to the database server")
	case errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.As(err, &ne),
		strings.Contains(err.Error(), "closed pool"):
		return unavailable(err, msg, "the connection to the database was lost")
	}
	return internal(err, msg)
}

// retryable reports whether a transaction failed only because of another
// one: a serialization failure or a deadlock.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

func internal(err error, msg string) error {
	return &openatp.Error{Kind: openatp.Internal, Message: msg, Err: err}
}

func unavailable(err error, msg, reason string) error {
	return &openatp.Error{Kind: openatp.Unavailable, Message: msg + ": " + reason, Err: err}
}
