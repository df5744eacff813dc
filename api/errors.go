package api

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
	openatp.Internal:        http.StatusInternalServerError,
	openatp.Invalid:         http.StatusBadRequest,
	openatp.Unauthenticated: http.StatusUnauthorized,
	openatp.Forbidden:       http.StatusForbidden,
	openatp.NotFound:        http.StatusNotFound,
	openatp.Conflict:        http.StatusConflict,
	openatp.TooManyRequests: http.StatusTooManyRequests,
	openatp.Unavailable:     http.StatusServiceUnavailable,
	openatp.Canceled:        StatusClientClosedRequest,
}

// StatusClientClosedRequest is the status logged and counted for a request
// whose client went away before its answer (nginx's and tsweb's 499): not a
// failure of the server. Nobody reads the answer.
const StatusClientClosedRequest = 499

// defaultCode is the MDE error code of a kind when the error names none.
var defaultCode = map[openatp.Kind]string{
	openatp.Internal:        "InternalServerError",
	openatp.Invalid:         "BadRequest",
	openatp.Unauthenticated: "Unauthorized",
	openatp.Forbidden:       "Forbidden",
	openatp.NotFound:        "NotFound",
	openatp.Conflict:        "Conflict",
	openatp.TooManyRequests: "TooManyRequests",
	openatp.Unavailable:     "ServiceUnavailable",
	openatp.Canceled:        "ClientClosedRequest",
}

// writeError answers with the MDE error body
// {"error":{"code":...,"message":...,"target":<request id>}}.
// Errors that are not *openatp.Error, and internal ones, are logged with
// their detail and shown only as a generic message.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var re *retryError
	if errors.As(err, &re) {
		w.Header().Set("Retry-After", strconv.Itoa(re.after))
	}
	if errors.Is(err, errBodyTimeout) {
		writeErrorBody(w, r, http.StatusRequestTimeout, "RequestTimeout", "The request body was not received in time.")
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
		} else if msg == "" {
			msg = "The service is temporarily unavailable. Retry the request later."
		}
	}
	status := statusOf[kind]
	writeErrorBody(w, r, status, code, msg)
}

// handlerFunc is a handler that returns its failure instead of writing it:
// the one adapter that writes every error answer of the API.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (f handlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := f(w, r); err != nil {
		writeError(w, r, err)
	}
}

// writeErrorBody writes an error answer with an explicit status and code.
func writeErrorBody(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	id := ""
	if ri := infoOf(r); ri != nil {
		id = ri.id
		ri.errCode = code
	}
	b := make([]byte, 0, 128+len(msg))
	b = append(b, `{"error":{"code":`...)
	b = wire.AppendString(b, code)
	b = append(b, `,"message":`...)
	b = wire.AppendString(b, msg)
	b = append(b, `,"target":`...)
	b = wire.AppendString(b, id)
	b = append(b, "}}"...)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
