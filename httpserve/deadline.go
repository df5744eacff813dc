package httpserve

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/openatp/openatp"
)

// DefaultBodyTimeout is the time a client has, once its request headers
// are in, to send the whole body of a request (Config.BodyTimeout): 64 KiB
// of token form or a Machine API write, at 6.4 KB/s at the slowest.
const DefaultBodyTimeout = 10 * time.Second

// bytes per second

// ErrBodyTimeout is the error of a body read past its deadline: 408.
var ErrBodyTimeout = openatp.CodedErrorf(openatp.RequestTimeout, "RequestTimeout", "The request body was not received in time.")

// withBodyDeadline gives every request that has a body a read deadline,
// timeout from now (a route whose bodies may be larger moves it with
// setBodyDeadline): a client trickling its body is cut off, the read
// fails, the answer closes the connection, and one line is logged. The
// deadline is lifted once the body is read, so that an answer streamed for
// longer is not cut (net/http cancels a request whose connection read
// times out). Requests without a body get none: their headers had
// ReadHeaderTimeout.
func withBodyDeadline(timeout time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
			rc := http.NewResponseController(w)
			if rc.SetReadDeadline(time.Now().Add(timeout)) == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc, w: w, r: r}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// SetBodyDeadline gives the request's body, if it has one, d from now
// instead.
func SetBodyDeadline(w http.ResponseWriter, r *http.Request, d time.Duration) {
	if _, ok := r.Body.(*deadlineBody); ok {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
	}
}

// deadlineBody is a request body under a read deadline.
type deadlineBody struct {
	io.ReadCloser
	rc       *http.ResponseController
	w        http.ResponseWriter
	r        *http.Request
	n        int64
	timedOut bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	switch {
	case err == io.EOF:
		_ = b.rc.SetReadDeadline(time.Time{})
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		if !b.timedOut {
			b.timedOut = true
			b.w.Header().Set("Connection", "close")
			if ri := infoOf(b.r); ri != nil && ri.logger != nil {
				ri.logger.LogAttrs(b.r.Context(), slog.LevelInfo, "slow client cut off: request body not received in time",
					slog.String("request_id", ri.id), slog.String("remote", b.r.RemoteAddr),
					slog.String("method", b.r.Method), slog.String("path", b.r.URL.EscapedPath()),
					slog.Int64("body_bytes_received", b.n))
			}
		}
		err = fmt.Errorf("%w: %w", ErrBodyTimeout, err)
	}
	return n, err
}
