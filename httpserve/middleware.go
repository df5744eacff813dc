package httpserve

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/accesslog"
	"github.com/openatp/openatp/journal"
)

// withRequest gives every request an id (the request-id header and the
// error target), recovers panics into a 500 error body, and writes one log
// line per request, with its path and query string (secrets redacted, see
// journal.RedactPath and journal.RedactQuery) and protocol.
func withRequest(logger *slog.Logger, accessLog bool, text *accesslog.Text, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &requestInfo{id: newRequestID(), logger: logger, start: start}
		ri.idHeader[0] = ri.id
		w.Header()["Request-Id"] = ri.idHeader[:] // request-id, canonical: Set's canonicalization allocated
		ri.sw.ResponseWriter = w
		sw := &ri.sw
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, ri))
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				logger.LogAttrs(r.Context(), slog.LevelError, "panic", slog.String("request_id", ri.id), slog.Any("panic", p))
				if sw.status == 0 {
					writeError(sw, r, &openatp.Error{Kind: openatp.Internal})
				}
			}
			if accessLog && text != nil {
				_ = text.Write(time.Now(), &accesslog.Line{RequestID: ri.id, Method: r.Method,
					Path: journal.RedactPath(r.URL.EscapedPath()), Query: journal.RedactQuery(r.URL.RawQuery), Proto: r.Proto,
					Tenant: ri.tenant, App: ri.app, Status: sw.status, Code: ri.errCode, Duration: time.Since(start)})
			} else if accessLog && logger.Enabled(r.Context(), slog.LevelInfo) {
				logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
					slog.String("request_id", ri.id),
					slog.String("method", r.Method),
					slog.String("path", journal.RedactPath(r.URL.EscapedPath())),
					slog.String("query", journal.RedactQuery(r.URL.RawQuery)),
					slog.String("proto", r.Proto),
					slog.String("tenant", ri.tenant),
					slog.String("app", ri.app),
					slog.Int("status", sw.status),
					slog.String("code", ri.errCode),
					slog.Duration("duration", time.Since(start)),
				)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}
