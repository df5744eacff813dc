package api

import (
	"context"
	"encoding/binary"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/accesslog"
	"github.com/openatp/openatp/journal"
)

// requestInfo travels with a request through the middleware: its id, and
// what the handlers learn that the log line should carry.
type requestInfo struct {
	id      string
	logger  *slog.Logger
	tenant  string
	app     string
	user    string // the signed-in user of a delegated token
	errCode string
	base    string // scheme://host of the URLs written, when pinned (withPublicURL)
	start   time.Time

	// Held here so that a request allocates them with the rest.
	sw       statusWriter
	idHeader [1]string

	// The caller, once authenticated: the request journal and fault rules
	// learn it before the handler runs, and the handler gets the same
	// answer (authenticator.principal).
	authed    bool
	principal *openatp.Principal
	authErr   error
}

type infoKey struct{}

func infoOf(r *http.Request) *requestInfo {
	ri, _ := r.Context().Value(infoKey{}).(*requestInfo)
	return ri
}

// startOf is when the request's handling began: withRequest's clock
// reading, which the layers inside it share.
func startOf(r *http.Request) time.Time {
	if ri := infoOf(r); ri != nil {
		return ri.start
	}
	return time.Now()
}

// newRequestID returns a random GUID in its canonical text form. The bits
// come from math/rand/v2's generator (ChaCha8 seeded by the system, per
// thread): a request id names a request, it guards nothing, and
// crypto/rand's system call was 0.7 % of a server's CPU at rest.
func newRequestID() string {
	var u [16]byte
	binary.LittleEndian.PutUint64(u[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(u[8:], rand.Uint64())
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hexDigits[c>>4], hexDigits[c&0xf]
		j += 2
	}
	return string(b[:])
}

const hexDigits = "0123456789abcdef"

// statusWriter records the status code and the body bytes written.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

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
