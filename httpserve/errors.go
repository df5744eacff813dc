package httpserve

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/wire"
)

// statusOf is the one table from error kind to HTTP status.
var statusOf = map[openatp.Kind]int{
	openatp.Internal:         http.StatusInternalServerError,
	openatp.Invalid:          http.StatusBadRequest,
	openatp.Unauthenticated:  http.StatusUnauthorized,
	openatp.Forbidden:        http.StatusForbidden,
	openatp.NotFound:         http.StatusNotFound,
	openatp.Conflict:         http.StatusConflict,
	openatp.TooManyRequests:  http.StatusTooManyRequests,
	openatp.Unavailable:      http.StatusServiceUnavailable,
	openatp.Canceled:         StatusClientClosedRequest,
	openatp.MethodNotAllowed: http.StatusMethodNotAllowed,
	openatp.RequestTimeout:   http.StatusRequestTimeout,
	openatp.TooLarge:         http.StatusRequestEntityTooLarge,
}

// UnavailableMessage is the message of every 503 whose error names no
// code of its own: a store that cannot be reached or fails. What failed is
// logged with the request id, never shown.
const UnavailableMessage = "The service is temporarily unavailable. Retry the request later."

// unavailableRetry is the Retry-After (seconds) of such a 503.
const unavailableRetry = 5

// StatusClientClosedRequest is the status logged and counted for a request
// whose client went away before its answer (nginx's and tsweb's 499): not a
// failure of the server. Nobody reads the answer.
const StatusClientClosedRequest = 499

// defaultCode is the MDE error code of a kind when the error names none.
var defaultCode = map[openatp.Kind]string{
	openatp.Internal:         "InternalServerError",
	openatp.Invalid:          "BadRequest",
	openatp.Unauthenticated:  "Unauthorized",
	openatp.Forbidden:        "Forbidden",
	openatp.NotFound:         "NotFound",
	openatp.Conflict:         "Conflict",
	openatp.TooManyRequests:  "TooManyRequests",
	openatp.Unavailable:      "ServiceUnavailable",
	openatp.Canceled:         "ClientClosedRequest",
	openatp.MethodNotAllowed: "MethodNotAllowed",
	openatp.RequestTimeout:   "RequestTimeout",
	openatp.TooLarge:         "RequestEntityTooLarge",
}

// HandlerFunc is a handler that returns its failure instead of writing it:
// the one adapter through which every error answer of the API is written.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

func (f HandlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := f(w, r); err != nil {
		writeError(w, r, err)
	}
}

// headerError is an error whose answer carries one more header: Retry-After
// (with a 429 or 503) or Allow (with a 405).
type headerError struct {
	name, value string
	err         error
}

func (e *headerError) Error() string { return e.err.Error() }
func (e *headerError) Unwrap() error { return e.err }

// RetryAfter is err, answered with Retry-After: secs.
func RetryAfter(secs int, err error) error {
	return &headerError{name: "Retry-After", value: strconv.Itoa(secs), err: err}
}

// methodNotAllowedError is the 405 answer of a resource that allows only
// the methods allow ("GET, PATCH"), with Allow: allow.
func methodNotAllowedError(method, allow string) error {
	return &headerError{name: "Allow", value: allow, err: openatp.CodedErrorf(openatp.MethodNotAllowed, "MethodNotAllowed",
		"The HTTP method %s is not allowed on this resource; use %s.", clipID(method), allow)}
}

// statusError is an answer of a status no error kind has (502, 504, ...):
// the fault rules may ask for any status HTTP names.
type statusError struct {
	status        int
	code, message string
	err           error // logged
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// writeError answers with the MDE error body
// {"error":{"code":...,"message":...,"target":<request id>}}, with the
// status of the error's kind (statusOf). Errors that are not
// *openatp.Error, and internal ones, are logged with their detail and
// shown only as a generic message. A request whose client went away is
// logged at debug and counted as 499.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var he *headerError
	if errors.As(err, &he) {
		w.Header().Set(he.name, he.value)
	}
	var se *statusError
	if errors.As(err, &se) {
		writeErrorBody(w, r, se.status, se.code, se.message)
		return
	}
	kind, code, msg := openatp.Internal, "", ""
	var e *openatp.Error
	if errors.As(err, &e) {
		kind, code, msg = e.Kind, e.Code, e.Message
	}
	switch {
	case errors.Is(err, context.Canceled):
		kind = openatp.Canceled
	case errors.Is(err, context.DeadlineExceeded) && kind == openatp.Internal:
		kind = openatp.Unavailable
	}
	// A client that left makes whatever was running for it fail: that is
	// its leaving, not a failure of the server.
	if (kind == openatp.Internal || kind == openatp.Unavailable) && errors.Is(r.Context().Err(), context.Canceled) {
		kind = openatp.Canceled
	}
	if kind == openatp.Canceled {
		code, msg = "", "The client closed the request before its answer."
	}
	if code == "" {
		code = defaultCode[kind]
	}
	if kind == openatp.Canceled {
		if ri := infoOf(r); ri != nil && ri.logger != nil {
			ri.logger.LogAttrs(r.Context(), slog.LevelDebug, "client went away",
				slog.String("request_id", ri.id), slog.String("error", err.Error()))
		}
	}
	if kind == openatp.Internal || kind == openatp.Unavailable {
		if ri := infoOf(r); ri != nil && ri.logger != nil {
			ri.logger.LogAttrs(r.Context(), slog.LevelError, "request failed",
				slog.String("request_id", ri.id), slog.String("error", err.Error()))
		}
		if kind == openatp.Internal {
			msg = "An internal error occurred. Retry the request; if it persists, report it with the request id."
		} else if e == nil || e.Code == "" || msg == "" {
			// A dependency failed (the store unreachable or failing):
			// its message names what failed and how, which is for the
			// log; the caller gets the service's own answer.
			msg = UnavailableMessage
			var fc faultCause // an injected 503: its rule says Retry-After
			if he == nil && !errors.As(err, &fc) {
				w.Header().Set("Retry-After", strconv.Itoa(unavailableRetry))
			}
		}
	}
	writeErrorBody(w, r, statusOf[kind], code, msg)
}

// writeErrorBody writes the error answer; writeError alone calls it.
func writeErrorBody(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	id := ""
	if ri := infoOf(r); ri != nil {
		id = ri.id
		ri.errCode = code
	}
	b := appendErrorBody(make([]byte, 0, 128+len(msg)), code, msg, id)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// appendErrorBody is the one encoder of the MDE error body,
// {"error":{"code":...,"message":...,"target":<request id>}}.
func appendErrorBody(b []byte, code, msg, id string) []byte {
	b = append(b, `{"error":{"code":`...)
	b = wire.AppendString(b, code)
	b = append(b, `,"message":`...)
	b = wire.AppendString(b, msg)
	b = append(b, `,"target":`...)
	b = wire.AppendString(b, id)
	return append(b, "}}"...)
}

// rawErrorAnswer is a whole HTTP/1.x error answer, for a connection that
// net/http does not serve (one over the connection limit, one whose
// request net/http refused): the status line, the MDE error body under a
// new request id, the headers (each ending in "\r\n") and Connection:
// close. It returns the request id and the answer.
func rawErrorAnswer(statusLine, headers, code, msg string) (string, []byte) {
	id := newRequestID()
	body := appendErrorBody(make([]byte, 0, 128+len(msg)), code, msg, id)
	out := make([]byte, 0, 256+len(body))
	out = append(out, statusLine...)
	out = append(out, "\r\nContent-Type: application/json; charset=utf-8\r\nrequest-id: "...)
	out = append(out, id...)
	out = append(out, "\r\n"...)
	out = append(out, headers...)
	out = append(out, "Connection: close\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(body)), 10)
	out = append(out, "\r\n\r\n"...)
	return id, append(out, body...)
}

// clipID shortens an echoed id so error messages stay small.
func clipID(s string) string { return openatp.Clip(s, 100) }
