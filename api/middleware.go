package api

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/openatp/openatp"
)

// requestInfo travels with a request through the middleware: its id, and
// what the handlers learn that the log line should carry.
type requestInfo struct {
	id      string
	logger  *slog.Logger
	tenant  string
	app     string
	errCode string
	base    string // scheme://host of the URLs written, when pinned (withPublicURL)
}

type infoKey struct{}

func infoOf(r *http.Request) *requestInfo {
	ri, _ := r.Context().Value(infoKey{}).(*requestInfo)
	return ri
}

// newRequestID returns a random GUID in its canonical text form.
func newRequestID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
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

// statusWriter records the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
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
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// withRequest gives every request an id (the request-id header and the
// error target), recovers panics into a 500 error body, and writes one log
// line per request, with its query string (secrets redacted, see
// redactQuery) and protocol.
func withRequest(logger *slog.Logger, accessLog bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &requestInfo{id: newRequestID(), logger: logger}
		w.Header().Set("request-id", ri.id)
		sw := &statusWriter{ResponseWriter: w}
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
			if accessLog && logger.Enabled(r.Context(), slog.LevelInfo) {
				logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
					slog.String("request_id", ri.id),
					slog.String("method", r.Method),
					slog.String("path", r.URL.EscapedPath()),
					slog.String("query", redactQuery(r.URL.RawQuery)),
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

// secretParams are the query parameters whose values the access log never
// shows: OAuth2 credentials and codes, tokens, passwords and signatures.
// Keys are compared ignoring case.
var secretParams = []string{
	"access_token", "refresh_token", "id_token", "token", "assertion", "client_assertion",
	"client_secret", "password", "code", "sig", "signature", "key", "api_key", "apikey", "secret",
}

// redactQuery returns a raw query string with the value of every secret
// parameter replaced by REDACTED, the rest byte for byte. A key that
// cannot be unescaped is compared as it is.
func redactQuery(raw string) string {
	if raw == "" {
		return ""
	}
	var b strings.Builder
	for i, part := range strings.Split(raw, "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		key, _, hasValue := strings.Cut(part, "=")
		if k, err := url.QueryUnescape(key); err == nil {
			key = k
		}
		if hasValue && slices.ContainsFunc(secretParams, func(s string) bool { return strings.EqualFold(s, key) }) {
			b.WriteString(part[:strings.IndexByte(part, '=')+1])
			b.WriteString("REDACTED")
			continue
		}
		b.WriteString(part)
	}
	return b.String()
}
